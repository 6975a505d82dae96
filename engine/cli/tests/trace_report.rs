//! Issue 14: a build whose native commands tried to change or read something
//! outside their view ends with a short report — which command, what path
//! and error, how many times — even when every command exited 0 and the
//! build says "built" (MacPorts' trace mode). Through the real `wport build`:
//! a port whose `make` writes to /usr/local, reads a file beside the build
//! and a header of the prefix it was not granted, and creates a directory
//! outside; its recipe lines ignore their failures, so the build succeeds.
//!
//! - stderr ends with the summary, the log has it and a `[trace]` line per
//!   refusal after the call's one `[exec]` line (docs/CONFINEMENT.md,
//!   "Trace of refused accesses");
//! - paths that exist nowhere (configure-style probes) are not reported;
//! - nothing outside the build changed;
//! - a clean build reports nothing.

#![allow(
    clippy::disallowed_methods,
    reason = "an end-to-end test: tar makes the fixture the real build starts from"
)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Scratch, explain, sha256_hex};

/// A make-based port in `scratch/port` whose distfile holds `makefile`.
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
        .args(["--owner=0", "--group=0", "-czf"])
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
description = "A port whose build reaches outside its view"
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

const INSTALL: &str = "install:
\tmkdir -p $(DESTDIR)$(PREFIX)/bin
\tcp hello $(DESTDIR)$(PREFIX)/bin/hello
";

/// Every file under `root` with its bytes (directories as `<dir>`).
fn tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            out.insert(p.clone(), b"<dir>".to_vec());
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
        } else {
            out.insert(p.clone(), std::fs::read(&p).unwrap());
        }
    }
    out
}

#[test]
fn refused_accesses_are_reported_though_the_build_succeeds() {
    let scratch = Scratch::new("trace");
    // Beside the build (not mounted in the sandbox): a file, and a prefix
    // holding another port's header, which this port is not granted.
    let outside = scratch.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("secret"), "host secret\n").unwrap();
    let prefix = scratch.path().join("prefix");
    std::fs::create_dir_all(prefix.join("include")).unwrap();
    std::fs::write(prefix.join("include/other.h"), "#define OTHER 1\n").unwrap();
    for d in [&outside, &prefix, &prefix.join("include")] {
        common::set_mode(d, 0o755);
    }
    let tag = scratch.path().file_name().unwrap().to_str().unwrap();
    let probe = format!("/usr/local/{tag}");
    let makefile = format!(
        "all:
\tcc -o hello hello.c
\t-touch {probe}
\t-cat {o}/secret
\t-cat {o}/secret
\t-cat {o}/absent
\t-mkdir {o}/newdir
\t-cat {p}/include/other.h

{INSTALL}",
        o = outside.display(),
        p = prefix.display()
    );
    let port = make_port(&scratch, "traced", &makefile);
    let before = (tree(&outside), tree(&prefix));

    let prefix_arg = prefix.display().to_string();
    let out = scratch.build(&port, &["--prefix", &prefix_arg]);
    let log_path = scratch.build_root().join("traced-1.0/build.log");
    let text = explain(&out, Some(&log_path));
    assert!(out.status.success(), "{text}");
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("built traced@1.0\n"),
        "{text}"
    );

    let hidden = "ENOENT (hidden: exists on the host, not in the build's view)";
    let o = outside.display();
    let entries = [
        format!(
            r#"phase build, `make`: "touch" write "{probe}": EROFS (read-only file system), 1 time"#
        ),
        format!(r#"phase build, `make`: "cat" read "{o}/secret": {hidden}, 2 times"#),
        format!(r#"phase build, `make`: "mkdir" mkdir "{o}/newdir": {hidden}, 1 time"#),
        format!(
            r#"phase build, `make`: "cat" read "{}/include/other.h": {hidden}, 1 time"#,
            prefix.display()
        ),
    ];
    // stderr ends with the summary, exactly.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut expected =
        String::from("wport: warning: 5 accesses outside the build's view were refused:\n");
    for e in &entries {
        expected.push_str(&format!("  {e}\n"));
    }
    expected.push_str(&format!(
        "  (each under its command in the build log: {})\n",
        log_path.display()
    ));
    assert!(stderr.ends_with(&expected), "{text}");

    // The log: the summary before the provenance line, and each refusal
    // after the one `[exec]` line of its call.
    let log = std::fs::read_to_string(&log_path).unwrap();
    let mut summary = vec![
        "[wport] 5 accesses outside the build's view were refused; the commands went on \
         (trace of refused accesses):"
            .to_string(),
    ];
    summary.extend(entries.iter().map(|e| format!("[wport]   {e}")));
    let lines: Vec<&str> = log.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == summary[0])
        .unwrap_or_else(|| panic!("no summary in:\n{log}"));
    assert_eq!(lines[at..at + summary.len()], summary[..], "{log}");
    assert!(
        lines[at + summary.len()].starts_with("[wport] mediated calls (host record): "),
        "{log}"
    );
    let calls: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("[exec] ") || l.starts_with("[trace] "))
        .collect();
    assert_eq!(calls.len(), 2 + 4, "one [exec] line per call:\n{log}");
    assert!(calls[0].starts_with(r#"[exec] "make" argv=["#), "{log}");
    assert!(calls[0].ends_with(" ms)") && calls[0].contains("-> exit 0 ("));
    assert!(calls[1].starts_with(r#"[trace] refused: "touch" write "#));
    assert!(calls[2].contains(r#""cat" read "#) && calls[2].ends_with("2 times"));
    assert!(calls[5].starts_with(r#"[exec] "make" argv=["#) && calls[5].contains("install"));
    // A path that exists nowhere is a probe, not a refusal.
    assert!(!log.contains("/absent\":"), "{log}");

    // Nothing outside the build changed.
    assert!(!Path::new(&probe).exists());
    assert_eq!((tree(&outside), tree(&prefix)), before);
}

#[test]
fn a_clean_build_reports_nothing() {
    let scratch = Scratch::new("trace-clean");
    let makefile = format!(
        "all:
\tcc -o hello hello.c
\t./hello
\ttest ! -e does-not-exist

{INSTALL}"
    );
    let port = make_port(&scratch, "untraced", &makefile);
    let out = scratch.build(&port, &[]);
    let log_path = scratch.build_root().join("untraced-1.0/build.log");
    let text = explain(&out, Some(&log_path));
    assert!(out.status.success(), "{text}");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("refused"),
        "{text}"
    );
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(!log.contains("[trace]"), "{log}");
    assert!(!log.contains("outside the build's view"), "{log}");
    assert_eq!(
        log.lines().filter(|l| l.starts_with("[exec] ")).count(),
        2,
        "{log}"
    );
}
