//! Issue 15, part 1: `wport build --check` builds a port twice with the
//! inputs that must not matter varied (build directory, wall clock, umask,
//! `-j`, and as root the build uid), packages both destroots and compares.
//!
//! - the demo port is reproducible: exit 0 and it says so;
//! - a port whose `make install` writes the time (and the build uid) into
//!   an installed file is not: exit 1, the report names that file, says
//!   its content differs and shows the two lines, leaves out the files that
//!   are the same (a compiled program), names the package field that
//!   differs, and both builds are kept where it says;
//! - the real ports of `ports/` (with `$WPORT_REAL_SOURCES`): the small
//!   ones are reproducible (the table in ports/README.md comes from this
//!   check).

#![allow(
    clippy::disallowed_methods,
    reason = "an end-to-end test: runs the wport binary as a user does and tar to make a fixture"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Scratch, explain, real_source, sha256_hex};

const PREFIX: &str = "/opt/wport";

/// `wport build --check` with every state directory in `scratch`.
fn check(scratch: &Scratch, port: Option<&Path>) -> Output {
    std::fs::create_dir_all(scratch.cache()).unwrap();
    common::set_mode(&scratch.cache(), 0o700);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wport"));
    cmd.args(["build", "--check", "--build-root"])
        .arg(scratch.build_root())
        .env("XDG_CACHE_HOME", scratch.cache());
    if let Some(p) = port {
        cmd.arg("--unsigned").arg(p);
    }
    cmd.output().expect("running wport")
}

#[test]
fn the_demo_port_is_reproducible() {
    let scratch = Scratch::new("check-demo");
    let out = check(&scratch, None);
    let text = explain(&out, None);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("demo@1.0 is reproducible: two builds gave identical destroots"),
        "{text}"
    );
    assert!(stdout.contains("and identical packages"), "{text}");
    // What was varied is said before the builds run.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("another build directory, a later wall clock, umask"),
        "{text}"
    );
    // The second build ran in another build directory, with twice the jobs.
    let second = scratch.build_root().join("check/demo-1.0");
    assert!(second.join("destroot").is_dir(), "{text}");
    let jobs: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("wport: check: build "))
        .collect();
    assert_eq!(jobs.len(), 2, "{text}");
}

/// A make-based port in `scratch/port` whose distfile holds `makefile`
/// (and a C program the makefile compiles).
fn make_port(scratch: &Scratch, name: &str, makefile: &str) -> PathBuf {
    let top = format!("{name}-1.0");
    let stage = scratch.path().join("dist");
    let src = stage.join(&top);
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("Makefile"), makefile).unwrap();
    std::fs::write(
        src.join("hello.c"),
        "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n",
    )
    .unwrap();
    let port = scratch.path().join("port");
    std::fs::create_dir_all(&port).unwrap();
    let tarball = port.join(format!("{top}.tar.gz"));
    let tar = Command::new("tar")
        .arg("-C")
        .arg(&stage)
        .args(["--owner=0", "--group=0", "--mtime=@0", "-czf"])
        .arg(&tarball)
        .arg(&top)
        .output()
        .unwrap();
    assert!(tar.status.success());
    let bytes = std::fs::read(&tarball).unwrap();
    let portfile = format!(
        r#"[port]
name = "{name}"
version = "1.0"
description = "A port whose build records when and as whom it ran"
homepage = "https://example.invalid/"
license = "CC0-1.0"
maintainers = ["wport developers <wport@example.invalid>"]
upstream-contact = "wport developers <wport@example.invalid>"

[[source]]
url = "{top}.tar.gz"
sha256 = "{}"
size = {}

[build]
standard = "make"

[capabilities.build]
programs = ["make"]

[capabilities.destroot]
programs = ["make"]
"#,
        sha256_hex(&bytes),
        bytes.len()
    );
    std::fs::write(port.join("Portfile.toml"), portfile).unwrap();
    port
}

#[test]
fn a_build_that_records_the_clock_is_not_reproducible() {
    let scratch = Scratch::new("check-clock");
    let port = make_port(
        &scratch,
        "stamped",
        "all:
\tcc -o hello hello.c

install:
\tmkdir -p $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/stamped
\tcp hello $(DESTDIR)$(PREFIX)/bin/hello
\techo 'the same every time' > $(DESTDIR)$(PREFIX)/share/stamped/README
\tdate +%s.%N > $(DESTDIR)$(PREFIX)/share/stamped/built-at
\tid -u > $(DESTDIR)$(PREFIX)/share/stamped/built-by
",
    );
    let out = check(&scratch, Some(&port));
    let text = explain(&out, None);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("stamped@1.0 is NOT reproducible"), "{text}");
    assert!(stdout.contains("and so do the packages"), "{text}");

    // The file is named, with what differs and the two first lines.
    let line = stdout
        .lines()
        .find(|l| {
            l.trim_start()
                .starts_with(&format!("{PREFIX}/share/stamped/built-at:"))
        })
        .unwrap_or_else(|| panic!("built-at not reported\n{text}"));
    assert!(line.ends_with(": content"), "{line}\n{text}");
    assert!(
        stdout
            .lines()
            .any(|l| l.trim_start().starts_with("line 1: \"") && l.contains("\" vs \"")),
        "the differing lines are not shown\n{text}"
    );
    // The same files are not listed: the compiled program, the README.
    assert!(!stdout.contains(&format!("{PREFIX}/bin/hello:")), "{text}");
    assert!(!stdout.contains("README"), "{text}");
    // As root each build runs as a build uid of its own: the second one
    // leased another.
    let as_root = rustix::process::geteuid().is_root();
    assert_eq!(
        stdout.contains(&format!("{PREFIX}/share/stamped/built-by: content")),
        as_root,
        "{text}"
    );
    // The package's signed manifest names the file's digest as differing.
    assert!(
        stdout.contains("manifest files[share/stamped/built-at].sha256:"),
        "{text}"
    );

    // Both builds are kept, and said where.
    let first = scratch.build_root().join("stamped-1.0");
    let second = scratch.build_root().join("check/stamped-1.0");
    assert!(
        stdout.contains("both builds are kept for inspection"),
        "{text}"
    );
    for dir in [&first, &second] {
        assert!(stdout.contains(&dir.display().to_string()), "{text}");
        let stamp = dir.join("destroot/opt/wport/share/stamped/built-at");
        assert!(stamp.is_file(), "{} missing\n{text}", stamp.display());
        assert!(dir.join("package/stamped-1.0_0.wpkg").is_file(), "{text}");
    }
    assert_ne!(
        std::fs::read(first.join("destroot/opt/wport/share/stamped/built-at")).unwrap(),
        std::fs::read(second.join("destroot/opt/wport/share/stamped/built-at")).unwrap()
    );
}

/// The pinned sha256 of a real port's first source.
fn pinned(port: &Path) -> String {
    let text = std::fs::read_to_string(port.join("Portfile.toml")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("sha256 = \""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("a pinned sha256")
        .to_owned()
}

/// The real ports without dependencies that build in a minute or so here
/// (ncurses, readline, libpng and lua take longer or need an installed
/// dependency: see ports/README.md for their results), each checked: all
/// reproducible.
#[test]
fn real_ports_are_reproducible() {
    let mut results = Vec::new();
    for name in ["zlib", "tree"] {
        let scratch = Scratch::new(&format!("check-{name}"));
        let port = common::repo().join("ports").join(name);
        scratch.seed_distfile(&real_source(&pinned(&port)));
        let out = check(&scratch, Some(&port));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        eprintln!("{name}: exit {:?}\n{stdout}", out.status.code());
        results.push((name, out.status.code(), explain(&out, None)));
    }
    for (name, code, text) in &results {
        assert_eq!(*code, Some(0), "{name} is not reproducible:\n{text}");
    }
}
