//! The dependency view through the real `wport build`: two tiny packages are
//! installed into a prefix, and a port whose build phase runs `cc` sees the
//! headers of what its phase is granted, and nothing of the other installed
//! package (the compiler's "No such file or directory"), until it is granted.

#![allow(
    clippy::disallowed_methods,
    reason = "an end-to-end test: runs the wport binary as a user does and tar to make a fixture"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Scratch, explain, sha256_hex};
use wport_registry::manifest::Provenance;
use wport_registry::{InstallOptions, PackageMeta, Prefix, create_package, open_package};
use wport_trust::SecretKey;

/// Build a package of `files` for `prefix` and install it there.
fn install(scratch: &Scratch, prefix: &Path, name: &str, files: &[(&str, &str)]) {
    let key = SecretKey::from_seed(&[9; 32]).unwrap();
    let tree = scratch.path().join("trees").join(name);
    for (rel, body) in files {
        let p = tree.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, body).unwrap();
        common::set_mode(&p, 0o644);
    }
    let out = scratch.path().join(format!("{name}-1.0_0.wpkg"));
    let meta = PackageMeta {
        name: name.into(),
        version: "1.0".into(),
        revision: 0,
        prefix: prefix.to_string_lossy().into_owned(),
        dependencies: vec![],
        source_date_epoch: 1_700_000_000,
        provenance: Provenance::default(),
    };
    create_package(&tree, &meta, &key, &out).unwrap();
    let mut pkg = open_package(&out, &[key.public().clone()]).unwrap();
    Prefix::open(prefix, None)
        .unwrap()
        .install(&mut pkg, &InstallOptions::default())
        .unwrap();
}

/// The port `consumer`: `main.c` includes `headers`; `[dependencies] lib`
/// declares `declared`, and the build phase is granted `granted`.
fn consumer(scratch: &Scratch, headers: &[&str], declared: &[&str], granted: &[&str]) -> PathBuf {
    // The tree the build resolves `[dependencies]` against: the port's
    // siblings (the installed packages' ports, never built here).
    let ports = scratch.path().join("ports");
    for dep in declared {
        let dir = ports.join(dep);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("Portfile.toml"),
            format!("{}\n[build]\nstandard = \"make\"\n", port_header(dep)),
        )
        .unwrap();
    }
    let port = ports.join("consumer");
    let _ = std::fs::remove_dir_all(&port);
    let src = scratch.path().join("dist/consumer-1.0");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::create_dir_all(&port).unwrap();
    let includes: String = headers
        .iter()
        .map(|h| format!("#include <{h}>\n"))
        .collect();
    std::fs::write(
        src.join("main.c"),
        format!("{includes}int main(void) {{ return ALPHA - 41; }}\n"),
    )
    .unwrap();
    std::fs::write(
        src.join("Makefile"),
        "all:\n\tcc -I$(PREFIX)/include -o consumer main.c\n\
         install:\n\tmkdir -p $(DESTDIR)$(PREFIX)/bin\n\tcp consumer $(DESTDIR)$(PREFIX)/bin/\n",
    )
    .unwrap();
    let tarball = port.join("consumer-1.0.tar.gz");
    let tar = Command::new("tar")
        .arg("-C")
        .arg(scratch.path().join("dist"))
        .args(["--owner=0", "--group=0", "-czf"])
        .arg(&tarball)
        .arg("consumer-1.0")
        .output()
        .unwrap();
    assert!(tar.status.success(), "{tar:?}");
    let bytes = std::fs::read(&tarball).unwrap();
    let list = |l: &[&str]| {
        l.iter()
            .map(|d| format!("{d:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let portfile = format!(
        r#"{header}
[[source]]
url = "consumer-1.0.tar.gz"
sha256 = "{sha}"
size = {size}

[dependencies]
lib = [{declared}]

[build]
standard = "make"

[build.params]
make-args = ["PREFIX={{prefix}}"]

[capabilities.build]
programs = ["make", "cc"]
dependencies = [{granted}]

[capabilities.destroot]
programs = ["make"]
"#,
        header = port_header("consumer"),
        sha = sha256_hex(&bytes),
        size = bytes.len(),
        declared = list(declared),
        granted = list(granted),
    );
    std::fs::write(port.join("Portfile.toml"), portfile).unwrap();
    port
}

fn port_header(name: &str) -> String {
    format!(
        r#"[port]
name = "{name}"
version = "1.0"
description = "A port of the view test"
homepage = "https://example.invalid/{name}"
license = "CC0-1.0"
maintainers = ["wport developers <wport@example.invalid>"]
upstream-contact = "wport developers <wport@example.invalid>"
"#
    )
}

struct Built {
    ok: bool,
    stderr: String,
    log: String,
    explain: String,
}

fn build(scratch: &Scratch, port: &Path, prefix: &Path) -> Built {
    let out = scratch.build(port, &["--prefix", prefix.to_str().unwrap()]);
    let log_path = scratch.build_root().join("consumer-1.0/build.log");
    Built {
        ok: out.status.success(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        log: std::fs::read_to_string(&log_path).unwrap_or_default(),
        explain: explain(&out, Some(&log_path)),
    }
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

#[test]
fn a_phase_sees_the_headers_it_is_granted_and_not_the_others() {
    if !is_root() {
        eprintln!("skipped: the store layers and the view need root here");
        return;
    }
    let scratch = Scratch::new("view");
    // The prefix is the scratch directory itself: packages are built for it.
    let prefix = scratch.path().join("prefix");
    install(
        &scratch,
        &prefix,
        "alpha",
        &[("include/alpha.h", "#define ALPHA 41\n")],
    );
    install(
        &scratch,
        &prefix,
        "beta",
        &[("include/beta.h", "#define BETA 1\n")],
    );

    // Granted alpha: it compiles against alpha's header from the prefix.
    let port = consumer(&scratch, &["alpha.h"], &["alpha"], &["alpha"]);
    let b = build(&scratch, &port, &prefix);
    assert!(b.ok, "{}", b.explain);
    assert!(
        b.log
            .contains(&format!("phase build sees at {}: alpha", prefix.display())),
        "{}",
        b.explain
    );

    // beta is installed but not declared: its header does not exist there.
    let port = consumer(&scratch, &["alpha.h", "beta.h"], &["alpha"], &["alpha"]);
    let b = build(&scratch, &port, &prefix);
    assert!(!b.ok, "{}", b.explain);
    assert!(
        b.log
            .lines()
            .any(|l| l.contains("beta.h: No such file or directory")),
        "{}",
        b.explain
    );

    // Declared and granted: the same source builds.
    let port = consumer(
        &scratch,
        &["alpha.h", "beta.h"],
        &["alpha", "beta"],
        &["alpha", "beta"],
    );
    let b = build(&scratch, &port, &prefix);
    assert!(b.ok, "{}", b.explain);
    assert!(
        b.log.contains(&format!(
            "phase build sees at {}: alpha beta",
            prefix.display()
        )),
        "{}",
        b.explain
    );
    // The build wrote nothing into the prefix: only the store grew.
    assert!(!prefix.join("bin").exists());
    let store: Vec<String> = std::fs::read_dir(prefix.join(".wport/store"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(store.len(), 2, "{store:?}");
}

#[test]
fn a_granted_dependency_that_is_not_installed_is_named_with_the_fix() {
    if !is_root() {
        eprintln!("skipped: the store layers and the view need root here");
        return;
    }
    let scratch = Scratch::new("view-missing");
    let prefix = scratch.path().join("prefix");
    install(
        &scratch,
        &prefix,
        "alpha",
        &[("include/alpha.h", "#define ALPHA 41\n")],
    );
    let port = consumer(
        &scratch,
        &["alpha.h"],
        &["alpha", "gamma"],
        &["alpha", "gamma"],
    );
    let b = build(&scratch, &port, &prefix);
    assert!(!b.ok, "{}", b.explain);
    assert!(
        b.stderr.contains(&format!(
            "phase build of port consumer is granted `gamma`, which is not installed in {}; `wport install gamma`",
            prefix.display()
        )),
        "{}",
        b.explain
    );
}
