//! `wport key`, `wport repo`, `wport sync` and `wport-tuf-client` end to
//! end: the real binaries on a small ports tree, asserting exit codes
//! (0 success, 3 refused, 1 failure) and that nothing unverified lands.

#![allow(
    clippy::disallowed_methods,
    reason = "an end-to-end test: runs the wport binary as a user does and wport-tuf-client as a conformance suite does"
)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

fn run(tmp: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wport"))
        .args(args)
        .current_dir(tmp)
        .env("XDG_CONFIG_HOME", tmp.join("cfg"))
        .env("XDG_DATA_HOME", tmp.join("data"))
        .output()
        .unwrap()
}

fn ok(tmp: &Path, args: &[&str]) {
    let out = run(tmp, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

/// A repository of two ports, published with a 2-of-2 root and a
/// maintainer delegation.
fn published(tmp: &Path) {
    for k in ["root1", "root2", "targets", "snap", "ts", "alice"] {
        ok(tmp, &["key", "generate", k]);
    }
    let k = |n: &str| format!("cfg/wport/keys/{n}");
    for (p, body) in [
        ("ports/zlib/Portfile.toml", "zlib"),
        ("ports/zlib/files/fix.diff", "diff"),
        ("ports/lua/Portfile.toml", "lua"),
        ("ports/lua/port.wasm", "\0asm"),
    ] {
        std::fs::create_dir_all(tmp.join("tree").join(p).parent().unwrap()).unwrap();
        std::fs::write(tmp.join("tree").join(p), body).unwrap();
    }
    ok(
        tmp,
        &[
            "repo",
            "init",
            "repo",
            "--root-key",
            &k("root1.pub"),
            "--root-key",
            &k("root2.pub"),
            "--root-threshold",
            "2",
            "--targets-key",
            &k("targets.pub"),
            "--snapshot-key",
            &k("snap.pub"),
            "--timestamp-key",
            &k("ts.pub"),
        ],
    );
    ok(
        tmp,
        &["repo", "sign", "repo", "root", "--key", &k("root1.key")],
    );
    ok(
        tmp,
        &["repo", "sign", "repo", "root", "--key", &k("root2.key")],
    );
    ok(
        tmp,
        &[
            "repo",
            "delegate",
            "repo",
            "--name",
            "maint-lua",
            "--key",
            &k("alice.pub"),
            "--port",
            "lua",
            "--terminating",
        ],
    );
    ok(
        tmp,
        &["repo", "add", "repo", "--ports", "tree", "--port", "zlib"],
    );
    ok(
        tmp,
        &[
            "repo",
            "add",
            "repo",
            "--ports",
            "tree",
            "--port",
            "lua",
            "--role",
            "maint-lua",
        ],
    );
    // Unsigned targets: timestamp refuses to publish.
    let out = run(
        tmp,
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
    assert_eq!(code(&out), 3, "{}", String::from_utf8_lossy(&out.stderr));
    ok(
        tmp,
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
        tmp,
        &[
            "repo",
            "sign",
            "repo",
            "maint-lua",
            "--key",
            &k("alice.key"),
        ],
    );
    ok(
        tmp,
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

#[test]
fn publish_sync_and_refusals() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    published(t);
    // A secret key readable by others is refused.
    let key = t.join("cfg/wport/keys/alice.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(
        t,
        &[
            "repo",
            "sign",
            "repo",
            "maint-lua",
            "--key",
            "cfg/wport/keys/alice.key",
        ],
    );
    assert_eq!(code(&out), 3);
    assert!(String::from_utf8_lossy(&out.stderr).contains("accessible by group or others"));
    // First sync needs an explicit root.
    let out = run(t, &["sync", "--from", "repo"]);
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stderr));
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
    let synced = t.join("data/wport/trust/targets/ports");
    assert_eq!(
        std::fs::read(synced.join("lua/port.wasm")).unwrap(),
        b"\0asm"
    );
    assert_eq!(
        std::fs::read(synced.join("zlib/files/fix.diff")).unwrap(),
        b"diff"
    );
    // A tampered patchfile served by the repository: refused, not stored.
    std::fs::write(t.join("repo/targets/ports/zlib/files/fix.diff"), "DIFF").unwrap();
    std::fs::remove_file(synced.join("zlib/files/fix.diff")).unwrap();
    let out = run(
        t,
        &[
            "sync",
            "--from",
            &format!("file://{}", t.join("repo").display()),
        ],
    );
    assert_eq!(code(&out), 3, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!synced.join("zlib/files/fix.diff").exists());
    // Trust state writable by others is refused.
    std::fs::set_permissions(
        t.join("data/wport/trust/metadata"),
        std::fs::Permissions::from_mode(0o777),
    )
    .unwrap();
    let out = run(t, &["sync", "--from", "repo"]);
    assert_eq!(code(&out), 3, "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn conformance_client_protocol() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    published(t);
    let client = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_wport-tuf-client"))
            .args(args)
            .current_dir(t)
            .output()
            .unwrap()
    };
    let meta = t.join("client-meta");
    let targets = t.join("client-targets");
    std::fs::create_dir_all(&targets).unwrap();
    let md = meta.to_str().unwrap();
    let url = format!("file://{}", t.join("repo/metadata").display());
    let base = format!("file://{}", t.join("repo/targets").display());
    assert_eq!(
        code(&client(&[
            "--metadata-dir",
            md,
            "init",
            "repo/metadata/1.root.json"
        ])),
        0
    );
    assert_eq!(
        code(&client(&[
            "--metadata-dir",
            md,
            "--metadata-url",
            &url,
            "refresh"
        ])),
        0
    );
    for f in [
        "root.json",
        "timestamp.json",
        "snapshot.json",
        "targets.json",
    ] {
        assert!(meta.join(f).is_file(), "{f}");
    }
    let download = |name: &str| {
        client(&[
            "--metadata-dir",
            md,
            "--metadata-url",
            &url,
            "--target-name",
            name,
            "--target-base-url",
            &base,
            "--target-dir",
            targets.to_str().unwrap(),
            "download",
        ])
    };
    assert_eq!(code(&download("ports/lua/port.wasm")), 0);
    assert_eq!(
        std::fs::read(targets.join("ports%2Flua%2Fport.wasm")).unwrap(),
        b"\0asm"
    );
    assert_eq!(code(&download("ports/nope/Portfile.toml")), 1);
    std::fs::write(t.join("repo/targets/ports/zlib/Portfile.toml"), "ZLIB").unwrap();
    assert_eq!(code(&download("ports/zlib/Portfile.toml")), 1);
}
