//! Issue 15, part 2: every package carries its provenance as an in-toto
//! Statement v1 with a SLSA Provenance v1 predicate in a DSSE envelope,
//! signed by the packager's key; `wport info --provenance` shows it and
//! `wport verify --provenance` checks it against the package.
//!
//! - a make-based port packaged from two build roots gives byte-identical
//!   packages, and the attestation names the payload digest, the Portfile,
//!   the source with its URL, the patchfile, the `make` the build ran (by
//!   the digest of its bytes) and the calls of the executor's record;
//! - info and verify work on the file and, once installed, on the name;
//! - an attestation signed by another key, one whose subject names other
//!   bytes, and one that is not an envelope are each refused with exit 3,
//!   naming the port and the file.

#![allow(
    clippy::disallowed_methods,
    reason = "an end-to-end test: runs the wport binary as a user does and tar to make fixtures"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Scratch, explain, set_mode, sha256_hex};
use wport_registry::attestation;
use wport_trust::SecretKey;

/// A make-based port in `dir` (a source tarball, a patchfile) whose build
/// runs `make` twice through the executor.
pub fn make_port(scratch: &Scratch, dir: &Path, name: &str, readme: &str) -> PathBuf {
    let top = format!("{name}-1.0");
    let stage = scratch.path().join(format!("dist-{name}"));
    let src = stage.join(&top);
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(
        src.join("Makefile"),
        format!(
            "all:\n\techo built > built.txt\n\ninstall:\n\tmkdir -p $(DESTDIR)$(PREFIX)/share/{name}\n\
             \tcp built.txt README $(DESTDIR)$(PREFIX)/share/{name}/\n"
        ),
    )
    .unwrap();
    std::fs::write(src.join("README"), "typo\n").unwrap();
    std::fs::create_dir_all(dir.join("files")).unwrap();
    let tarball = dir.join(format!("{top}.tar.gz"));
    let tar = Command::new("tar")
        .arg("-C")
        .arg(&stage)
        .args(["--owner=0", "--group=0", "--mtime=@0", "-czf"])
        .arg(&tarball)
        .arg(&top)
        .output()
        .unwrap();
    assert!(tar.status.success());
    let patch = format!("--- a/README\n+++ b/README\n@@ -1 +1 @@\n-typo\n+{readme}\n");
    std::fs::write(dir.join("files/fix-readme.diff"), &patch).unwrap();
    let bytes = std::fs::read(&tarball).unwrap();
    let portfile = format!(
        r#"[port]
name = "{name}"
version = "1.0"
description = "A port whose build runs make"
homepage = "https://example.invalid/"
license = "CC0-1.0"
maintainers = ["wport developers <wport@example.invalid>"]
upstream-contact = "wport developers <wport@example.invalid>"
source-date-epoch = 1700000000

[[source]]
url = "{top}.tar.gz"
sha256 = "{}"
size = {}

[[patchfile]]
file = "fix-readme.diff"
sha256 = "{}"

[build]
standard = "make"

[capabilities.build]
programs = ["make"]

[capabilities.destroot]
programs = ["make"]
"#,
        sha256_hex(&bytes),
        bytes.len(),
        sha256_hex(patch.as_bytes()),
    );
    std::fs::write(dir.join("Portfile.toml"), portfile).unwrap();
    dir.to_path_buf()
}

/// A directory of trusted keys holding `key`'s public half.
pub fn trusted_dir(at: &Path, key: &SecretKey) -> PathBuf {
    std::fs::create_dir_all(at).unwrap();
    set_mode(at, 0o700);
    let f = at.join(format!("{}.pub", &key.key_id()[..8]));
    std::fs::write(&f, serde_json::to_vec(&key.public().to_tuf()).unwrap()).unwrap();
    set_mode(&f, 0o600);
    at.to_path_buf()
}

pub fn wport(scratch: &Scratch, args: &[&str]) -> Output {
    std::fs::create_dir_all(scratch.cache()).unwrap();
    set_mode(&scratch.cache(), 0o700);
    Command::new(env!("CARGO_BIN_EXE_wport"))
        .args(args)
        .env("XDG_CACHE_HOME", scratch.cache())
        .env("XDG_CONFIG_HOME", scratch.path().join("config"))
        .output()
        .expect("running wport")
}

/// `wport package --unsigned PORT` in build root `root`, signed with
/// `key_file`, written to `out`.
pub fn package(
    scratch: &Scratch,
    port: &Path,
    root: &Path,
    key_file: &Path,
    out: &Path,
) -> PathBuf {
    std::fs::create_dir_all(root).unwrap();
    set_mode(root, 0o755);
    let o = wport(
        scratch,
        &[
            "package",
            "--unsigned",
            port.to_str().unwrap(),
            "--build-root",
            root.to_str().unwrap(),
            "--key",
            key_file.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", explain(&o, None));
    let name = port.file_name().unwrap().to_str().unwrap();
    out.join(format!("{name}-1.0_0.wpkg"))
}

/// The package's three entries, unpacked with tar into `dir`.
fn unpack(pkg: &Path, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let o = Command::new("tar")
        .arg("-xf")
        .arg(pkg)
        .arg("-C")
        .arg(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// A package file of `dir`'s entries with `attestation` as its third.
fn repack(dir: &Path, attestation: &[u8], out: &Path) {
    std::fs::write(dir.join("+PROVENANCE"), attestation).unwrap();
    let o = Command::new("tar")
        .arg("-C")
        .arg(dir)
        .args(["--format=gnu", "-cf"])
        .arg(out)
        .args(["+MANIFEST", "payload.tar.zst", "+PROVENANCE"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn a_package_carries_a_signed_slsa_provenance_that_info_shows_and_verify_checks() {
    let scratch = Scratch::new("provenance");
    let key = SecretKey::from_seed(&[5; 32]).unwrap();
    let key_file = scratch.path().join("packager.key");
    key.write_file(&key_file).unwrap();
    let trusted = trusted_dir(&scratch.path().join("trusted"), &key);
    let port = make_port(&scratch, &scratch.path().join("prov"), "prov", "fixed");
    let a = package(
        &scratch,
        &port,
        &scratch.path().join("root-a"),
        &key_file,
        &scratch.path().join("out-a"),
    );
    let b = package(
        &scratch,
        &port,
        &scratch.path().join("elsewhere/root-b"),
        &key_file,
        &scratch.path().join("out-b"),
    );
    assert!(
        std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
        "two builds in two build roots gave different packages"
    );

    // The statement, read by the test itself.
    let pkg = wport_registry::open_package(&a, &[key.public().clone()]).unwrap();
    let m = pkg.manifest.clone();
    let envelope = pkg
        .attestation
        .clone()
        .expect("the package carries an attestation");
    let att = attestation::open(&envelope, &[key.public().clone()], "test").unwrap();
    assert_eq!(att.signers, vec![key.key_id()]);
    let s = &att.statement;
    assert_eq!(s.type_, "https://in-toto.io/Statement/v1");
    assert_eq!(s.predicate_type, "https://slsa.dev/provenance/v1");
    assert_eq!(s.subject[0].name, "prov-1.0_0/payload.tar.zst");
    assert_eq!(s.subject[0].digest["sha256"], m.payload.sha256);
    let env: serde_json::Value = serde_json::from_slice(&envelope).unwrap();
    assert_eq!(env["payloadType"], "application/vnd.in-toto+json");
    let deps = &s.predicate.build_definition.resolved_dependencies;
    let dep = |name: &str| {
        deps.iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("{name} not in {deps:#?}"))
    };
    assert_eq!(
        dep("portfile:Portfile.toml").digest["sha256"],
        sha256_hex(&std::fs::read(port.join("Portfile.toml")).unwrap())
    );
    assert_eq!(
        dep("patchfile:fix-readme.diff").digest["sha256"],
        sha256_hex(&std::fs::read(port.join("files/fix-readme.diff")).unwrap())
    );
    let source = dep("source:prov-1.0.tar.gz");
    assert_eq!(source.uri.as_deref(), Some("prov-1.0.tar.gz"));
    assert_eq!(
        source.digest["sha256"],
        sha256_hex(&std::fs::read(port.join("prov-1.0.tar.gz")).unwrap())
    );
    // The toolchain: the `make` the executor would find, by its bytes.
    let make = ["/usr/local/bin/make", "/usr/bin/make", "/bin/make"]
        .iter()
        .find_map(|p| std::fs::canonicalize(p).ok())
        .unwrap();
    let tool = dep("tool:make");
    assert_eq!(
        tool.uri.as_deref(),
        Some(format!("file://{}", make.display()).as_str())
    );
    assert_eq!(
        tool.digest["sha256"],
        sha256_hex(&std::fs::read(&make).unwrap())
    );
    // The calls, from the executor's record: make twice (build, destroot).
    let calls = attestation::calls(s);
    assert_eq!(calls.len() as u64, m.provenance.mediated_calls);
    assert_eq!(calls.len(), 2, "{calls:#?}");
    assert!(
        calls.iter().all(|c| c.starts_with("\"make\" argv=")),
        "{calls:#?}"
    );
    assert!(calls[1].contains("\"install\""), "{calls:#?}");
    assert_eq!(
        attestation::calls_sha256(&calls),
        m.provenance.mediated_calls_sha256
    );
    assert_eq!(
        s.predicate.run_details.builder.id,
        format!("urn:wport:builder:{}", key.key_id())
    );
    assert_eq!(
        s.predicate.run_details.builder.version["wport"],
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(
        s.predicate
            .build_definition
            .internal_parameters
            .source_date_epoch,
        1_700_000_000
    );

    // wport info --provenance FILE (text and JSON).
    let keys = trusted.to_str().unwrap();
    let o = wport(
        &scratch,
        &["info", "--provenance", a.to_str().unwrap(), "--keys", keys],
    );
    let text = explain(&o, None);
    assert_eq!(o.status.code(), Some(0), "{text}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    for want in [
        "provenance of prov-1.0_0 (in-toto Statement v1, SLSA Provenance v1, DSSE)",
        &format!("signed by:         {} (verified)", key.key_id()),
        &format!(
            "subject:           prov-1.0_0/payload.tar.zst sha256 {}",
            m.payload.sha256
        ),
        "    source:prov-1.0.tar.gz sha256 ",
        "mediated calls:    2 (sha256 ",
        "    \"make\" argv=",
        "matches the package: yes",
    ] {
        assert!(stdout.contains(want), "missing {want:?}\n{text}");
    }
    let o = wport(
        &scratch,
        &[
            "info",
            "--provenance",
            a.to_str().unwrap(),
            "--keys",
            keys,
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", explain(&o, None));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["matches_package"], true);
    assert_eq!(
        j["statement"]["subject"][0]["digest"]["sha256"],
        m.payload.sha256
    );
    assert_eq!(j["envelope"], env);

    // wport verify --provenance FILE.
    let o = wport(
        &scratch,
        &[
            "verify",
            "--provenance",
            a.to_str().unwrap(),
            "--keys",
            keys,
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", explain(&o, None));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(&format!(
            "prov-1.0_0: provenance verified: signed by {}, subject prov-1.0_0/payload.tar.zst sha256 {}",
            key.key_id(),
            m.payload.sha256
        )),
        "{}",
        explain(&o, None)
    );

    // Installed: the registry kept the attestation.
    let prefix = scratch.path().join("prefix");
    let p = prefix.to_str().unwrap();
    let o = wport(
        &scratch,
        &[
            "install",
            a.to_str().unwrap(),
            "--keys",
            keys,
            "--prefix",
            p,
            "--any-prefix",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", explain(&o, None));
    let o = wport(
        &scratch,
        &[
            "verify",
            "--provenance",
            "prov",
            "--keys",
            keys,
            "--prefix",
            p,
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", explain(&o, None));
    let o = wport(
        &scratch,
        &[
            "info",
            "--provenance",
            "prov",
            "--keys",
            keys,
            "--prefix",
            p,
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", explain(&o, None));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["envelope"], env);
    // Without the key that signed it, nothing is shown.
    let other = SecretKey::from_seed(&[6; 32]).unwrap();
    let other_keys = trusted_dir(&scratch.path().join("other-trusted"), &other);
    let o = wport(
        &scratch,
        &[
            "info",
            "--provenance",
            "prov",
            "--keys",
            other_keys.to_str().unwrap(),
            "--prefix",
            p,
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{}", explain(&o, None));
    assert!(o.stdout.is_empty(), "{}", explain(&o, None));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(&format!(
            "package port prov, installed in {p}: no signature by a trusted key (provenance attestation signed by"
        )),
        "{}",
        explain(&o, None)
    );
}

#[test]
fn a_forged_or_malformed_attestation_is_refused_naming_port_and_file() {
    let scratch = Scratch::new("provenance-forged");
    let key = SecretKey::from_seed(&[5; 32]).unwrap();
    let key_file = scratch.path().join("packager.key");
    key.write_file(&key_file).unwrap();
    let trusted = trusted_dir(&scratch.path().join("trusted"), &key);
    let keys = trusted.to_str().unwrap();
    let port = make_port(&scratch, &scratch.path().join("forged"), "forged", "fixed");
    let good = package(
        &scratch,
        &port,
        &scratch.path().join("root"),
        &key_file,
        &scratch.path().join("out"),
    );
    let entries = scratch.path().join("entries");
    unpack(&good, &entries);
    let envelope = std::fs::read(entries.join("+PROVENANCE")).unwrap();
    let statement = attestation::open(&envelope, &[key.public().clone()], "t")
        .unwrap()
        .statement;
    let verify = |pkg: &Path| {
        wport(
            &scratch,
            &[
                "verify",
                "--provenance",
                pkg.to_str().unwrap(),
                "--keys",
                keys,
            ],
        )
    };

    // Repacked as it was, it still verifies (the fixture is sound).
    let same = scratch.path().join("same.wpkg");
    repack(&entries, &envelope, &same);
    assert_eq!(
        verify(&same).status.code(),
        Some(0),
        "{}",
        explain(&verify(&same), None)
    );

    // 1. The same statement signed by a key nobody trusts.
    let other = SecretKey::from_seed(&[9; 32]).unwrap();
    let pkg = scratch.path().join("other-key.wpkg");
    repack(
        &entries,
        &attestation::sign(&statement, &other).unwrap(),
        &pkg,
    );
    let o = verify(&pkg);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{}", explain(&o, None));
    assert!(
        err.contains(&format!(
            "package port forged, file {}: no signature by a trusted key (provenance attestation signed by [\"{}\"]",
            pkg.display(),
            other.key_id()
        )),
        "{err}"
    );
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains("verified"),
        "{err}"
    );

    // 2. Signed by the trusted key, but its subject names other bytes.
    let mut lying = statement.clone();
    lying.subject[0]
        .digest
        .insert("sha256".into(), "0".repeat(64));
    let pkg = scratch.path().join("lying.wpkg");
    repack(&entries, &attestation::sign(&lying, &key).unwrap(), &pkg);
    let o = verify(&pkg);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{}", explain(&o, None));
    let m = wport_registry::open_package(&good, &[key.public().clone()])
        .unwrap()
        .manifest;
    assert!(
        err.contains(&format!(
            "package forged-1.0_0: the provenance attestation does not match the package: \
             subject sha256 (the payload): the package has {}, the attestation {}",
            m.payload.sha256,
            "0".repeat(64)
        )),
        "{err}"
    );

    // 3. Calls added to the list that the manifest does not sign.
    let mut padded = statement.clone();
    let three = vec!["\"make\" argv=[] cwd=\"/work\" -> exit 0"; 3];
    padded.predicate.run_details.byproducts[0].annotations =
        Some(serde_json::json!({"count": 3, "calls": three}));
    let pkg = scratch.path().join("padded.wpkg");
    repack(&entries, &attestation::sign(&padded, &key).unwrap(), &pkg);
    let o = verify(&pkg);
    assert_eq!(o.status.code(), Some(3), "{}", explain(&o, None));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("the listed mediated calls (count, sha256 recomputed)"),
        "{}",
        explain(&o, None)
    );

    // A package made before packages carried one: said, exit 1.
    let old = scratch.path().join("old.wpkg");
    let o = Command::new("tar")
        .arg("-C")
        .arg(&entries)
        .args(["--format=gnu", "-cf"])
        .arg(&old)
        .args(["+MANIFEST", "payload.tar.zst"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = verify(&old);
    assert_eq!(o.status.code(), Some(1), "{}", explain(&o, None));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(&format!(
            "port forged, file {}: the package carries no provenance attestation",
            old.display()
        )),
        "{}",
        explain(&o, None)
    );

    // 4. Not an envelope at all.
    let pkg = scratch.path().join("garbage.wpkg");
    repack(&entries, b"{\"payload\": 42}", &pkg);
    for o in [
        verify(&pkg),
        wport(
            &scratch,
            &[
                "info",
                "--provenance",
                pkg.to_str().unwrap(),
                "--keys",
                keys,
            ],
        ),
    ] {
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(3), "{}", explain(&o, None));
        assert!(
            err.contains(&format!(
                "package port forged, file {}: malformed: provenance attestation: not a DSSE envelope",
                pkg.display()
            )),
            "{err}"
        );
        assert!(o.stdout.is_empty(), "{err}");
    }
}
