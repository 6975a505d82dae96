//! Issue 11, items 5 and 6, end to end through the real `wport` binary: a
//! port whose build prints wport's own kinds of lines (`[exec] ...`,
//! `[sources] ... verified`, `[wport] building as uid 0`) and terminal
//! escape sequences (window title, clipboard write), and a port whose build
//! needs more memory than its `[limits]` give it.
//!
//! - The build log shows every output line marked as the command's (`  | `)
//!   and the escapes escaped; `-v` copies nothing that drives a terminal.
//! - The signed package's provenance counts exactly the calls the executor
//!   ran (the forged `[exec]` line used to be counted: 3 calls for 2), also
//!   when the destroot is packaged later from the build's directory.
//! - A build past its memory limit fails with the error naming the limit.

#![allow(
    clippy::disallowed_methods,
    reason = "an end-to-end test: runs the wport binary as a user does and tar to make a fixture"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Scratch, explain, sha256_hex};

const FORGED_EXEC: &str = r#"[exec] "make" argv=["forged"] cwd="/work" -> exit 0 (1 ms)"#;

const HOSTILE_MAKEFILE: &str = r#"all:
	@printf '%s\n' '[exec] "make" argv=["forged"] cwd="/work" -> exit 0 (1 ms)'
	@printf '%s\n' '[sources] evil.tar.gz: sha256 verified' '[wport] building as uid 0'
	@printf '\033]0;pwned\007\033]52;c;ZWNobyBoaQ==\007title\n'
	@printf 'no newline at the end'

install:
	mkdir -p $(DESTDIR)$(PREFIX)/bin
	printf '#!/bin/sh\necho hostile\n' > $(DESTDIR)$(PREFIX)/bin/hostile
	chmod 755 $(DESTDIR)$(PREFIX)/bin/hostile
"#;

const HUNGRY_MAKEFILE: &str = r#"all:
	cc -o eat eat.c
	./eat 256

install:
	mkdir -p $(DESTDIR)$(PREFIX)/bin
"#;

const EAT_C: &str = r#"#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
    long mib = atol(argv[1]);
    for (long i = 0; i < mib; i++) {
        char *p = malloc(1 << 20);
        if (!p) return 1;
        memset(p, 1, 1 << 20);
    }
    printf("ate %ld MiB\n", mib);
    return 0;
}
"#;

/// A port in `scratch`: its distfile packed from `files`, a Portfile with
/// `extra` appended. Returns the port directory.
fn make_port(scratch: &Scratch, name: &str, files: &[(&str, &str)], extra: &str) -> PathBuf {
    let top = format!("{name}-1.0");
    let stage = scratch.path().join("dist");
    let src = stage.join(&top);
    std::fs::create_dir_all(&src).unwrap();
    for (file, text) in files {
        std::fs::write(src.join(file), text).unwrap();
    }
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
    assert!(
        tar.status.success(),
        "{}",
        String::from_utf8_lossy(&tar.stderr)
    );
    let bytes = std::fs::read(&tarball).unwrap();
    let portfile = format!(
        r#"[port]
name = "{name}"
version = "1.0"
description = "A port whose build misbehaves"
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
{extra}"#,
        sha256_hex(&bytes),
        bytes.len()
    );
    std::fs::write(port.join("Portfile.toml"), portfile).unwrap();
    port
}

fn log_of(scratch: &Scratch, name: &str) -> PathBuf {
    scratch.build_root().join(format!("{name}-1.0/build.log"))
}

/// The log's lines wport wrote for mediated calls (`[exec] ...`).
fn real_exec_lines(log: &str) -> usize {
    log.lines().filter(|l| l.starts_with("[exec] ")).count()
}

fn package(scratch: &Scratch, port: &Path, key: &Path, extra: &[&str]) -> Output {
    // As root, `wport package` writes the package after dropping to the
    // build user (the port runs native programs): the output directory
    // must be writable for it.
    let out = scratch.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::set_permissions(&out, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    Command::new(env!("CARGO_BIN_EXE_wport"))
        .arg("package")
        .arg("--unsigned")
        .arg("--build-root")
        .arg(scratch.build_root())
        .arg("--key")
        .arg(key)
        .arg("-o")
        .arg(scratch.path().join("out"))
        .args(extra)
        .arg(port)
        .env("XDG_CACHE_HOME", scratch.cache())
        .output()
        .unwrap()
}

fn provenance_calls(scratch: &Scratch, key: &wport_trust::SecretKey) -> u64 {
    let pkg = scratch.path().join("out/hostile-out-1.0_0.wpkg");
    let opened = wport_registry::open_package(&pkg, &[key.public().clone()])
        .unwrap_or_else(|e| panic!("{}: {e}", pkg.display()));
    opened.manifest.provenance.mediated_calls
}

#[test]
fn forged_lines_and_escapes_are_marked_and_not_counted() {
    let scratch = Scratch::new("hostile-out");
    let port = make_port(
        &scratch,
        "hostile-out",
        &[("Makefile", HOSTILE_MAKEFILE)],
        "",
    );
    // `-v` copies the log to stderr: the user's terminal.
    let out = scratch.build(&port, &["-v"]);
    let log_path = log_of(&scratch, "hostile-out");
    assert!(out.status.success(), "{}", explain(&out, Some(&log_path)));
    let log = std::fs::read_to_string(&log_path).unwrap();

    // Every forged line is there, marked as the command's.
    for forged in [
        FORGED_EXEC,
        "[sources] evil.tar.gz: sha256 verified",
        "[wport] building as uid 0",
    ] {
        assert!(
            log.lines().any(|l| l == format!("  | {forged}")),
            "{forged:?} not marked in:\n{log}"
        );
        assert!(
            !log.lines().any(|l| l == forged),
            "{forged:?} unmarked:\n{log}"
        );
    }
    // Escapes are shown, not executed, in the log and on the terminal.
    assert!(
        log.contains(r"  | \x1b]0;pwned\x07\x1b]52;c;ZWNobyBoaQ==\x07title"),
        "{log}"
    );
    assert!(log.contains("  | no newline at the end\n"), "{log}");
    for (what, bytes) in [("build.log", log.as_bytes()), ("stderr", &out.stderr[..])] {
        assert!(
            !bytes.iter().any(|&b| b == 0x1b || b == 0x07 || b == b'\r'),
            "{what} holds terminal control bytes"
        );
    }

    // Provenance: exactly the calls the executor ran. The standard make
    // component runs `make` and `make install`: 2, though the log holds a
    // third line that reads like an `[exec]` record.
    let tmp = tempfile::tempdir().unwrap();
    let key = wport_trust::SecretKey::from_seed(&[7; 32]).unwrap();
    let key_path = tmp.path().join("packager.key");
    key.write_file(&key_path).unwrap();
    let real = real_exec_lines(&log);
    assert_eq!(real, 2, "{log}");
    assert_eq!(log.matches("[exec] ").count(), 3, "{log}");
    let o = package(&scratch, &port, &key_path, &[]);
    assert!(o.status.success(), "{}", explain(&o, Some(&log_path)));
    assert_eq!(provenance_calls(&scratch, &key), 2);

    // Packaging the same destroot later reads the host's record back from
    // the build's log, not its `[exec]`-looking lines.
    std::fs::remove_dir_all(scratch.path().join("out")).unwrap();
    let destroot = scratch.build_root().join("hostile-out-1.0/destroot");
    let o = package(
        &scratch,
        &port,
        &key_path,
        &["--destroot", destroot.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", explain(&o, Some(&log_path)));
    assert_eq!(provenance_calls(&scratch, &key), 2);
}

#[test]
fn a_build_past_its_memory_limit_fails_naming_the_limit() {
    let scratch = Scratch::new("hungry");
    let port = make_port(
        &scratch,
        "hungry",
        &[("Makefile", HUNGRY_MAKEFILE), ("eat.c", EAT_C)],
        "\n[limits]\nmemory = \"64MiB\"\nprocesses = 64\n",
    );
    let out = scratch.build(&port, &[]);
    let log_path = log_of(&scratch, "hungry");
    let text = explain(&out, Some(&log_path));
    // Exit 4, "a sandbox limit" (engine/cli/src/exit.rs), and the error
    // names the limit, not just the guest's failure.
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert!(
        text.contains("stopped: build limit exceeded (`make` failed: it reached the build's memory limit of 64 MiB)"),
        "{text}"
    );
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains("[wport] build limits: memory 64 MiB, 64 processes\n"),
        "{log}"
    );
    assert!(
        log.contains("`make` failed: it reached the build's memory limit of 64 MiB"),
        "{log}"
    );
    assert!(!log.contains("ate 256 MiB"), "{log}");
    // (The build cgroup's removal is asserted in wport-exec's
    // `hardening::the_build_cgroup_holds_the_build_and_is_removed_after_it`.)
}
