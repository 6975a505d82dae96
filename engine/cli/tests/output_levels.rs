//! The global `-q`/`--quiet` and `-v`/`--verbose` flags (issue 14), through
//! the real binary: every verb takes them, before or after the verb; `-q`
//! leaves out progress and notes but never an error; `-v` adds detail (each
//! phase's time, what was skipped, the build log); and only `build`, the one
//! verb that runs native commands in its own process, starts the spawn
//! helper (`package` builds through a child `wport build`).

#![allow(
    clippy::disallowed_methods,
    reason = "an end-to-end test: runs the wport binary as a user does"
)]

mod common;

use std::process::{Command, Output};

use common::{Scratch, explain};

fn wport(scratch: &Scratch, args: &[&str]) -> Output {
    std::fs::create_dir_all(scratch.cache()).unwrap();
    common::set_mode(&scratch.cache(), 0o700);
    Command::new(env!("CARGO_BIN_EXE_wport"))
        .args(args)
        .env("XDG_CACHE_HOME", scratch.cache())
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The embedded demo port, built at each level into its own build root.
fn build_demo(scratch: &Scratch, flag: Option<&str>) -> Output {
    let root = scratch.path().join(format!("build{}", flag.unwrap_or("")));
    let root = root.to_str().unwrap();
    let mut args: Vec<&str> = flag.into_iter().collect();
    args.extend(["build", "--build-root", root]);
    let out = wport(scratch, &args);
    assert!(out.status.success(), "{}", explain(&out, None));
    out
}

#[test]
fn quiet_leaves_out_progress_and_notes_verbose_adds_detail() {
    let scratch = Scratch::new("levels-build");

    let normal = build_demo(&scratch, None);
    let err = stderr(&normal);
    assert!(err.contains("--->  Configuring demo"), "{err}");
    assert!(err.contains("wport: no port given"), "{err}");
    assert!(!err.contains(" took "), "{err}");
    assert!(stdout(&normal).contains(" ms\n"), "{}", stdout(&normal));

    let quiet = build_demo(&scratch, Some("-q"));
    assert_eq!(stderr(&quiet), "", "-q printed on stderr");
    let out = stdout(&quiet);
    assert!(out.starts_with("built demo"), "{out}");
    assert!(
        out.contains("destroot: ") && !out.contains(" ms\n"),
        "{out}"
    );

    let verbose = build_demo(&scratch, Some("--verbose"));
    let err = stderr(&verbose);
    assert!(err.contains("--->  Configuring demo"), "{err}");
    assert!(err.contains("wport: demo: configure took "), "{err}");
    assert!(err.contains("test phase skipped"), "{err}");
    // The build log, copied to stderr as it is written.
    assert!(err.contains("building demo 1.0 in"), "{err}");
}

#[test]
fn quiet_still_prints_errors_and_the_flags_go_anywhere() {
    let scratch = Scratch::new("levels-error");
    // After the verb as well as before it.
    let out = wport(
        &scratch,
        &[
            "build",
            "--unsigned",
            "/nonexistent-wport-levels/zlib",
            "-q",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out, None));
    let err = stderr(&out);
    assert!(
        err.contains("error: cannot read /nonexistent-wport-levels/zlib/Portfile.toml"),
        "{err}"
    );

    let out = wport(&scratch, &["-q", "-v", "list"]);
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out, None));
    assert!(
        stderr(&out).contains("cannot be used with"),
        "{}",
        stderr(&out)
    );
}

/// `wport package` builds through a child `wport build`, so it starts no
/// spawn helper of its own; `build` does (`main` says so with `-v`, whether
/// or not the helper could start here).
#[test]
fn only_build_starts_the_spawn_helper() {
    let scratch = Scratch::new("levels-helper");
    let missing = "/nonexistent-wport-levels/zlib";
    let build = wport(&scratch, &["-v", "build", "--unsigned", missing]);
    assert!(
        stderr(&build).contains("wport: spawn helper "),
        "{}",
        explain(&build, None)
    );
    let package = wport(
        &scratch,
        &[
            "-v",
            "package",
            "--unsigned",
            missing,
            "--key",
            "/nonexistent-wport-levels/packager.key",
        ],
    );
    assert_ne!(package.status.code(), Some(0));
    assert!(
        !stderr(&package).contains("spawn helper"),
        "{}",
        explain(&package, None)
    );
}
