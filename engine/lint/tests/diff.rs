//! The capability diff: gains fail review, losses and source changes do not.

use std::path::{Path, PathBuf};
use std::time::Duration;

use wport_lint::Linter;
use wport_lint::diff::{self, CapabilityDiff, DiffOptions, Direction, Side};
use wport_manifest::Phase;

const PORT: &str = r#"[port]
name = "hello"
version = "VERSION"
description = "The GNU greeting program"
homepage = "https://www.gnu.org/software/hello/"
license = "GPL-3.0-or-later"
maintainers = ["Alice <alice@example.org>"]
upstream-contact = "bug-hello@gnu.org"

[[source]]
url = "https://ftp.gnu.org/gnu/hello/hello-VERSION.tar.gz"
sha256 = "31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b"
size = 725946
"#;

const AUTOTOOLS: &str = r#"
[build]
standard = "autotools"

[capabilities.configure]
programs = ["./configure"]
env = { CFLAGS = "-O2" }

[capabilities.build]
programs = ["make"]

[capabilities.destroot]
programs = ["make"]
"#;

/// Writes a port directory holding `portfile` (and `files`) under `tmp`.
fn port(tmp: &Path, name: &str, portfile: &str, files: &[(&str, &[u8])]) -> PathBuf {
    let dir = tmp.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Portfile.toml"), portfile).unwrap();
    for (rel, bytes) in files {
        std::fs::write(dir.join(rel), bytes).unwrap();
    }
    dir
}

fn run(old: &str, new: &str) -> CapabilityDiff {
    let tmp = tempfile::tempdir().unwrap();
    let a = port(tmp.path(), "old", old, &[]);
    let b = port(tmp.path(), "new", new, &[]);
    let linter = Linter::new();
    let a = Side::load(&linter, &a).unwrap();
    let b = Side::load(&linter, &b).unwrap();
    diff::diff(&a, &b, &DiffOptions::default())
}

fn v(version: &str, build: &str) -> String {
    PORT.replace("VERSION", version) + build
}

fn entries(d: &CapabilityDiff, direction: Direction) -> Vec<(Option<Phase>, &str, &str)> {
    d.entries
        .iter()
        .filter(|e| e.direction == direction)
        .map(|e| (e.phase, e.what, e.detail.as_str()))
        .collect()
}

#[test]
fn the_same_port_diffs_empty() {
    let d = run(&v("2.10", AUTOTOOLS), &v("2.10", AUTOTOOLS));
    assert!(d.entries.is_empty(), "{d:?}");
    assert!(!d.escalates());
}

#[test]
fn a_version_bump_changes_sources_but_gains_nothing() {
    let new = v("2.12", AUTOTOOLS).replace("31e066137a", "cf04af86dc");
    let d = run(&v("2.10", AUTOTOOLS), &new);
    assert!(!d.escalates(), "{d:?}");
    let changes = entries(&d, Direction::Change);
    assert!(
        changes
            .iter()
            .all(|(phase, what, _)| phase.is_none() && *what == "source"),
        "{changes:?}"
    );
    assert!(
        changes
            .iter()
            .any(|(_, _, detail)| detail.contains("hello-2.12.tar.gz")),
        "{changes:?}"
    );
}

#[test]
fn v2_now_wants_curl() {
    let new = v(
        "2.12",
        &AUTOTOOLS.replace(r#"programs = ["make"]"#, r#"programs = ["make", "curl"]"#),
    );
    let d = run(&v("2.10", AUTOTOOLS), &new);
    assert!(d.escalates());
    // Both `make` grants changed: build and destroot each gain curl.
    assert_eq!(
        entries(&d, Direction::Gain),
        [
            (Some(Phase::Build), "program", "`curl`"),
            (Some(Phase::Destroot), "program", "`curl`")
        ]
    );
}

#[test]
fn dropping_a_grant_is_a_loss_and_passes() {
    let new = v(
        "2.10",
        &AUTOTOOLS.replace("\n[capabilities.destroot]\nprograms = [\"make\"]\n", ""),
    );
    let d = run(&v("2.10", AUTOTOOLS), &new);
    assert!(!d.escalates(), "{d:?}");
    assert_eq!(
        entries(&d, Direction::Loss),
        [(Some(Phase::Destroot), "program", "`make`")]
    );
}

#[test]
fn env_loader_env_dependencies_and_timeout_are_gains() {
    let old = v(
        "2.10",
        &format!("\n[dependencies]\nlib = [\"zlib\"]\n{AUTOTOOLS}"),
    );
    let new = v(
        "2.10",
        &format!("\n[dependencies]\nlib = [\"zlib\"]\n{AUTOTOOLS}").replace(
            "env = { CFLAGS = \"-O2\" }",
            "env = { CFLAGS = \"-O0\", LD_LIBRARY_PATH = \"lib\" }\nallow-loader-env = true\n\
             dependencies = [\"zlib\"]\ntimeout = 7200",
        ),
    );
    let d = run(&old, &new);
    let c = Some(Phase::Configure);
    assert_eq!(
        entries(&d, Direction::Gain),
        [
            (c, "dependency", "`zlib`"),
            (c, "env", "`CFLAGS`: `-O2` -> `-O0`"),
            (c, "env", "`LD_LIBRARY_PATH=lib`"),
            (c, "allow-loader-env", "true"),
            (c, "timeout", "raised 3600s (engine default) -> 7200s"),
        ]
    );
}

#[test]
fn a_shorter_timeout_is_a_loss() {
    let new = v(
        "2.10",
        &AUTOTOOLS.replace(
            "env = { CFLAGS = \"-O2\" }",
            "env = { CFLAGS = \"-O2\" }\ntimeout = 60",
        ),
    );
    let d = run(&v("2.10", AUTOTOOLS), &new);
    assert!(!d.escalates(), "{d:?}");
    assert_eq!(
        entries(&d, Direction::Loss),
        [(
            Some(Phase::Configure),
            "timeout",
            "lowered 3600s (engine default) -> 60s"
        )]
    );
}

#[test]
fn the_engine_default_is_what_an_absent_timeout_compares_to() {
    let tmp = tempfile::tempdir().unwrap();
    let linter = Linter::new();
    let a = Side::load(&linter, &port(tmp.path(), "a", &v("2.10", AUTOTOOLS), &[])).unwrap();
    let new = v(
        "2.10",
        &AUTOTOOLS.replace(
            "env = { CFLAGS = \"-O2\" }",
            "timeout = 600\nenv = { CFLAGS = \"-O2\" }",
        ),
    );
    let b = Side::load(&linter, &port(tmp.path(), "b", &new, &[])).unwrap();
    let short_default = DiffOptions {
        default_timeout: Duration::from_secs(60),
    };
    assert!(diff::diff(&a, &b, &short_default).escalates());
    assert!(!diff::diff(&a, &b, &DiffOptions::default()).escalates());
}

#[test]
fn switching_the_test_phase_on_is_a_gain() {
    let new = v(
        "2.10",
        &AUTOTOOLS.replace(
            "standard = \"autotools\"",
            "standard = \"autotools\"\ntest = true",
        ),
    );
    let d = run(&v("2.10", AUTOTOOLS), &new);
    assert_eq!(
        entries(&d, Direction::Gain),
        [(None, "test-phase", "the test phase now runs")]
    );
}

#[test]
fn a_component_that_starts_importing_exec_gains_the_import() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let demo = std::fs::read(repo.join("ports/demo/port.wasm")).unwrap();
    let lua = std::fs::read(repo.join("ports/lua/port.wasm")).unwrap();
    let pin = |bytes: &[u8]| {
        use sha2::Digest as _;
        sha2::Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let build = |sha: &str, grants: &str| {
        format!("\n[build]\ncomponent = \"port.wasm\"\ncomponent-sha256 = \"{sha}\"\n{grants}")
    };
    let tmp = tempfile::tempdir().unwrap();
    let old = port(
        tmp.path(),
        "old",
        &v("1.0", &build(&pin(&demo), "")),
        &[("port.wasm", &demo)],
    );
    let new = port(
        tmp.path(),
        "new",
        &v(
            "1.1",
            &build(
                &pin(&lua),
                "\n[capabilities.build]\nprograms = [\"make\"]\n",
            ),
        ),
        &[("port.wasm", &lua)],
    );
    let linter = Linter::new();
    let d = diff::diff(
        &Side::load(&linter, &old).unwrap(),
        &Side::load(&linter, &new).unwrap(),
        &DiffOptions::default(),
    );
    let gains = entries(&d, Direction::Gain);
    assert!(
        gains.contains(&(None, "import", "`wport:port/exec`")),
        "{gains:?}"
    );
    assert!(
        gains.contains(&(Some(Phase::Build), "program", "`make`")),
        "{gains:?}"
    );
    let changes = entries(&d, Direction::Change);
    assert!(
        changes.iter().any(|(_, what, _)| *what == "component"),
        "{changes:?}"
    );
}

#[test]
fn a_broken_side_is_reported_not_diffed() {
    let tmp = tempfile::tempdir().unwrap();
    let broken = port(
        tmp.path(),
        "broken",
        &v("2.10", AUTOTOOLS).replace("upstream-contact", "upstream"),
        &[],
    );
    let errors = Side::load(&Linter::new(), &broken).unwrap_err();
    assert!(
        errors.iter().all(|d| d.is_error()) && !errors.is_empty(),
        "{errors:?}"
    );
    // A Portfile path works as well as its directory.
    assert!(Side::load(&Linter::new(), &broken.join("Portfile.toml")).is_err());
}

#[test]
fn widening_runtime_is_a_gain_narrowing_a_loss() {
    let old = v(
        "2.10",
        &format!("{AUTOTOOLS}\n[runtime]\nread = [\"{{xdg-config}}/hello\"]\n"),
    );
    let new = v(
        "2.10",
        &format!(
            "{AUTOTOOLS}\n[runtime]\nexec = false\n\n[runtime.programs.hello]\nnetwork = true\nwrite = [\"{{home}}/.bashrc\"]\n"
        ),
    );
    let d = run(&old, &new);
    assert!(d.escalates(), "{d:?}");
    assert_eq!(
        entries(&d, Direction::Gain),
        [
            (None, "runtime", "[runtime.programs.hello] `network = true`"),
            (
                None,
                "runtime",
                "[runtime.programs.hello] write `{home}/.bashrc`"
            ),
        ]
    );
    assert_eq!(
        entries(&d, Direction::Loss),
        [
            (None, "runtime", "[runtime] `exec = false`"),
            (None, "runtime", "[runtime] read `{xdg-config}/hello`"),
            (None, "runtime", "[runtime.programs.hello] `exec = false`"),
            (
                None,
                "runtime",
                "[runtime.programs.hello] read `{xdg-config}/hello`"
            ),
        ]
    );
    // Opting out of confinement is the widest gain of all.
    let d = run(
        &old,
        &old.replace("[runtime]\n", "[runtime]\nconfine = false\n"),
    );
    assert_eq!(
        entries(&d, Direction::Gain),
        [(None, "runtime", "[runtime] `confine = false`")]
    );
}
