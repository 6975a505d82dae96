//! A named port is built only from the synced, signed ports tree, with every
//! file verified first; a local directory needs a loud `--unsigned`.

#![allow(
    clippy::disallowed_methods,
    reason = "an end-to-end test: runs the wport binary as a user does"
)]

use std::path::Path;
use std::process::{Command, Output};

#[path = "../../fetch/tests/support/server.rs"]
mod server;

fn run(tmp: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wport"))
        .args(args)
        .current_dir(tmp)
        .env("XDG_CONFIG_HOME", tmp.join("cfg"))
        .env("XDG_DATA_HOME", tmp.join("data"))
        .env("XDG_CACHE_HOME", tmp.join("cache"))
        .output()
        .unwrap()
}

fn ok(tmp: &Path, args: &[&str]) -> Output {
    let out = run(tmp, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Publish the repository's demo port in a one-key-per-role TUF repository
/// and sync it into the trust directory.
fn publish_and_sync_demo(t: &Path) {
    publish_demo(t);
    ok(
        t,
        &[
            "sync",
            "--from",
            "repo",
            "--root",
            "repo/metadata/1.root.json",
        ],
    );
}

fn publish_demo(t: &Path) {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ports/demo");
    let tree = t.join("tree/ports/demo");
    std::fs::create_dir_all(tree.join("files")).unwrap();
    for f in [
        "Portfile.toml",
        "port.wasm",
        "wport-demo-1.0.tar.gz",
        "files/fix-typo.diff",
    ] {
        std::fs::copy(demo.join(f), tree.join(f)).unwrap();
    }
    for k in ["root", "targets", "snap", "ts"] {
        ok(t, &["key", "generate", k]);
    }
    let k = |n: &str| format!("cfg/wport/keys/{n}");
    ok(
        t,
        &[
            "repo",
            "init",
            "repo",
            "--root-key",
            &k("root.pub"),
            "--root-threshold",
            "1",
            "--targets-key",
            &k("targets.pub"),
            "--snapshot-key",
            &k("snap.pub"),
            "--timestamp-key",
            &k("ts.pub"),
        ],
    );
    ok(
        t,
        &["repo", "sign", "repo", "root", "--key", &k("root.key")],
    );
    ok(
        t,
        &["repo", "add", "repo", "--ports", "tree", "--port", "demo"],
    );
    ok(
        t,
        &[
            "repo",
            "sign",
            "repo",
            "targets",
            "--key",
            &k("targets.key"),
        ],
    );
    ok(
        t,
        &[
            "repo",
            "timestamp",
            "repo",
            "--snapshot-key",
            &k("snap.key"),
            "--timestamp-key",
            &k("ts.key"),
        ],
    );
}

fn build(t: &Path, port: &str, extra: &[&str]) -> Output {
    let root = t.join("build");
    let mut args = vec!["build", "--build-root", root.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.push(port);
    run(t, &args)
}

#[test]
fn a_named_port_is_verified_then_built() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    publish_and_sync_demo(t);
    let out = ok(
        t,
        &[
            "build",
            "--build-root",
            t.join("build").to_str().unwrap(),
            "demo",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("verified against the signed ports tree"),
        "{stderr}"
    );
    assert!(
        t.join("build/demo-1.0/destroot/opt/wport/bin/wport-hello")
            .is_file()
    );
}

#[test]
fn a_tampered_synced_file_is_refused_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    publish_and_sync_demo(t);
    let synced = t.join("data/wport/trust/targets/ports/demo");
    for (file, tamper) in [
        ("Portfile.toml", b"\n# a grant slipped in\n".as_slice()),
        ("files/fix-typo.diff", b"+ extra\n".as_slice()),
        ("port.wasm", b"\0".as_slice()),
    ] {
        let path = synced.join(file);
        let original = std::fs::read(&path).unwrap();
        let mut bytes = original.clone();
        bytes.extend_from_slice(tamper);
        std::fs::write(&path, &bytes).unwrap();
        let out = build(t, "demo", &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{file}: {stderr}");
        assert!(stderr.contains("port demo"), "{file}: {stderr}");
        assert!(
            !t.join("build/demo-1.0").exists(),
            "{file}: a build directory was made"
        );
        std::fs::write(&path, &original).unwrap();
    }
    // A file the signed tree does not list is refused too.
    std::fs::write(synced.join("files/extra.diff"), b"--- a\n+++ b\n").unwrap();
    let out = build(t, "demo", &[]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_port_missing_from_the_synced_tree_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = build(tmp.path(), "nosuchport", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("wport sync"), "{stderr}");
}

#[test]
fn a_local_directory_needs_unsigned_and_says_so_loudly() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ports/demo");
    let demo = demo.to_str().unwrap();

    let out = build(t, demo, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--unsigned"), "{stderr}");
    assert!(!t.join("build/demo-1.0").exists());

    std::fs::create_dir_all(t.join("cache")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(t.join("cache"), std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = build(t, demo, &["--unsigned"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("WARNING: building the UNSIGNED local port directory"),
        "{stderr}"
    );
}

/// `wport sync` from an http URL: the repository served by a real HTTP
/// server on loopback, then a named build from what was synced; a tampered
/// target served over http is refused and not stored.
#[test]
fn sync_over_http_then_build_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    publish_demo(t);
    let srv = server::Server::start();
    let mut files = vec![];
    let mut stack = vec![t.join("repo")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p)
            } else {
                files.push(p)
            }
        }
    }
    for f in &files {
        let rel = f
            .strip_prefix(t.join("repo"))
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        srv.route(&format!("/repo/{rel}"), server::Route::File(f.clone()));
    }
    let url = srv.url("/repo");
    ok(
        t,
        &[
            "sync",
            "--from",
            &url,
            "--root",
            "repo/metadata/1.root.json",
        ],
    );
    ok(
        t,
        &[
            "build",
            "--build-root",
            t.join("build").to_str().unwrap(),
            "demo",
        ],
    );
    assert!(
        t.join("build/demo-1.0/destroot/opt/wport/bin/wport-hello")
            .is_file()
    );

    // The server now hands out a tampered patchfile: refused, not stored.
    let synced = t.join("data/wport/trust/targets/ports/demo/files/fix-typo.diff");
    std::fs::remove_file(&synced).unwrap();
    srv.route(
        "/repo/targets/ports/demo/files/fix-typo.diff",
        server::Route::Bytes(std::sync::Arc::new(b"--- a/x\n+++ b/x\n".to_vec())),
    );
    let out = run(t, &["sync", "--from", &url]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!synced.exists());
}
