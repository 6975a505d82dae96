//! A Portfile with several independent schema errors: `wport build` and
//! `wport lint` report every one, each with its Portfile line, instead of
//! the first and an edit-and-rerun round per mistake (issue 14).

#![allow(
    clippy::disallowed_methods,
    reason = "an end-to-end test: runs the wport binary as a user does"
)]

mod common;

use std::process::Command;

use common::{Scratch, explain};

/// A misspelt key in [port], a string where [[source]] wants a number, and
/// `program` for `programs` in [capabilities.build].
const THREE_ERRORS: &str = r#"[port]
name = "hello"
version = "2.10"
descripton = "A misspelt key"
description = "Produces a familiar, friendly greeting"
homepage = "https://www.gnu.org/software/hello/"
license = "GPL-3.0-or-later"
maintainers = ["wport developers <wport@example.invalid>"]
upstream-contact = "bug-hello@gnu.org"

[[source]]
url = "https://ftp.gnu.org/gnu/hello/hello-2.10.tar.gz"
sha256 = "31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b"
size = "725946"

[build]
standard = "autotools"

[capabilities.build]
program = ["make"]
"#;

const EXPECTED: [(&str, &str); 3] = [
    ("unknown field `descripton` in [port]", "Portfile.toml:4:1"),
    ("wrong type for `size` in [[source]]", "Portfile.toml:14:8"),
    (
        "unknown field `program` in [capabilities.build]",
        "Portfile.toml:20:1",
    ),
];

#[test]
fn build_and_lint_report_every_schema_error() {
    let scratch = Scratch::new("schema-errors");
    let port = scratch.path().join("port");
    std::fs::create_dir_all(&port).unwrap();
    std::fs::write(port.join("Portfile.toml"), THREE_ERRORS).unwrap();

    let out = scratch.build(&port, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out, None));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut at = 0;
    for (message, location) in EXPECTED {
        let found = stderr[at..]
            .find(message)
            .unwrap_or_else(|| panic!("`{message}` missing or out of order in:\n{stderr}"));
        at += found;
        assert!(stderr[at..].contains(location), "{location}: {stderr}");
    }
    assert!(
        stderr.contains("3 errors in the Portfile; nothing was built"),
        "{stderr}"
    );

    let lint = Command::new(env!("CARGO_BIN_EXE_wport"))
        .arg("lint")
        .arg(&port)
        .env("XDG_CACHE_HOME", scratch.cache())
        .output()
        .unwrap();
    assert_eq!(lint.status.code(), Some(1), "{}", explain(&lint, None));
    let stdout = String::from_utf8_lossy(&lint.stdout);
    for (message, location) in EXPECTED {
        assert!(stdout.contains(message), "{message}: {stdout}");
        assert!(stdout.contains(location), "{location}: {stdout}");
    }
}

/// A `reinplace` pattern that is not a regex is refused when the Portfile
/// is read, by `wport lint` and by `wport build` before anything is fetched
/// (no build directory is made), with the edit's line; it used to surface
/// only in the patch phase, after the fetch and the extraction (issue 14).
#[test]
fn a_bad_reinplace_regex_is_refused_before_the_build() {
    let scratch = Scratch::new("schema-reinplace");
    let port = scratch.path().join("port");
    std::fs::create_dir_all(&port).unwrap();
    let text = THREE_ERRORS
        .replace("descripton = \"A misspelt key\"\n", "")
        .replace("size = \"725946\"", "size = 725946")
        .replace("program = [\"make\"]", "programs = [\"make\"]")
        .replace(
            "standard = \"autotools\"\n",
            "standard = \"autotools\"\n\n[build.params]\nreinplace = [\"s|greeting (%s|hi| src/hello.c\"]\n",
        );
    std::fs::write(port.join("Portfile.toml"), text).unwrap();
    let message = "its pattern is not a valid regex: unclosed group";

    let out = scratch.build(&port, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out, None));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(message), "{stderr}");
    assert!(stderr.contains("Portfile.toml:19:14"), "{stderr}");
    assert!(!scratch.build_root().join("hello-2.10").exists());

    let lint = Command::new(env!("CARGO_BIN_EXE_wport"))
        .arg("lint")
        .arg(&port)
        .env("XDG_CACHE_HOME", scratch.cache())
        .output()
        .unwrap();
    assert_eq!(lint.status.code(), Some(1), "{}", explain(&lint, None));
    let stdout = String::from_utf8_lossy(&lint.stdout);
    assert!(stdout.contains(message), "{stdout}");
    assert!(stdout.contains("Portfile.toml:19:14"), "{stdout}");
}
