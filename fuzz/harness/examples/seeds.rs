//! Writes the generated seeds of the tuf_metadata and package corpora:
//! `cargo run --manifest-path fuzz/Cargo.toml -p wport-fuzz-harness --example seeds`.
//! (The Portfile, archive and patch seeds are files copied from the repo
//! or made by scripts; see docs/FUZZING.md.) Run it again after a change
//! to the metadata or package format, and commit the result.

use std::path::{Path, PathBuf};

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn prefixed(mode: u8, bytes: &[u8]) -> Vec<u8> {
    let mut v = vec![mode];
    v.extend_from_slice(bytes);
    v
}

/// The `signed` value of an envelope, as its own text.
fn signed_part(doc: &[u8]) -> Vec<u8> {
    let v: serde_json::Value = serde_json::from_slice(doc).unwrap();
    serde_json::to_vec(&v["signed"]).unwrap()
}

fn main() {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../corpus");

    let tuf = corpus.join("tuf_metadata");
    for (name, bytes) in wport_fuzz_harness::tuf_fixture_files() {
        let stem = name.trim_end_matches(".json").replace('.', "-");
        match name.as_str() {
            "timestamp.json" => {
                write(&tuf, "0-timestamp", &prefixed(0, &bytes));
                write(
                    &tuf,
                    "1-timestamp-signed",
                    &prefixed(1, &signed_part(&bytes)),
                );
            }
            "2.root.json" | "root.json" => {
                write(&tuf, "2-root", &prefixed(2, &bytes));
                let mut signed: serde_json::Value =
                    serde_json::from_slice(&signed_part(&bytes)).unwrap();
                signed["version"] = 2.into();
                write(
                    &tuf,
                    "3-root-v2-signed",
                    &prefixed(3, &serde_json::to_vec(&signed).unwrap()),
                );
            }
            _ => {}
        }
        write(&tuf, &format!("4-{stem}"), &prefixed(4, &bytes));
    }

    // A package made the way `wport package` makes one: a file, a
    // directory, a symbolic link.
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    std::fs::create_dir_all(tree.join("bin")).unwrap();
    std::fs::create_dir_all(tree.join("share/doc/hello")).unwrap();
    std::fs::write(tree.join("bin/hello"), b"#!/bin/sh\necho hello\n").unwrap();
    std::fs::write(tree.join("share/doc/hello/README"), b"hello, world\n").unwrap();
    std::os::unix::fs::symlink("hello", tree.join("bin/hi")).unwrap();
    let out = tmp.path().join("hello.wpkg");
    let meta = wport_registry::PackageMeta {
        name: "hello".into(),
        version: "1.0".into(),
        revision: 0,
        prefix: "/opt/wport".into(),
        dependencies: vec![],
        source_date_epoch: 1_700_000_000,
        provenance: Default::default(),
    };
    wport_registry::create_package(
        &tree,
        &meta,
        wport_fuzz_harness::package_signing_key(),
        &out,
    )
    .unwrap();
    let pkg = std::fs::read(&out).unwrap();
    let dir = corpus.join("package");
    write(&dir, "0-hello-wpkg", &prefixed(0, &pkg));
    // The odd mode: manifest JSON, NUL, the payload's tar uncompressed.
    let mut ar = tar::Archive::new(pkg.as_slice());
    let mut parts = Vec::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut body).unwrap();
        parts.push(body);
    }
    let manifest = signed_part(&parts[0]);
    let payload = zstd::stream::decode_all(parts[1].as_slice()).unwrap();
    let mut odd = prefixed(1, &manifest);
    odd.push(0);
    odd.extend_from_slice(&payload);
    write(&dir, "1-hello-manifest-and-tar", &odd);
}
