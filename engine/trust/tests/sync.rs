//! `sync` and `verify_port`: a synced ports tree whose Portfile, component
//! or patchfile is changed afterwards (or served changed) is refused.

mod common;

use std::path::Path;

use common::*;
use wport_trust::TrustError;
use wport_trust::port::verify_port_at;
use wport_trust::sync::sync;

fn fixture_with_component() -> Fixture {
    let f = Fixture::new();
    f.add_file("ports/zlib/port.wasm", b"\0asm\x01\0\0\0component");
    f.publish();
    f
}

fn port_files(trust: &Path) -> Vec<(&'static str, std::path::PathBuf)> {
    let dir = trust.join("targets/ports/zlib");
    vec![
        ("Portfile.toml", dir.join("Portfile.toml")),
        ("port.wasm", dir.join("port.wasm")),
        ("files/fix.diff", dir.join("files/fix.diff")),
    ]
}

fn verify(trust: &Path) -> Result<(), TrustError> {
    let files = port_files(trust);
    let refs: Vec<(&str, &Path)> = files.iter().map(|(r, p)| (*r, p.as_path())).collect();
    verify_port_at(trust, "zlib", &refs, NOW)
}

#[test]
fn sync_makes_verified_targets_available_and_reuses_them() {
    let f = fixture_with_component();
    let report = sync(
        &f.trust_dir(),
        &f.repo_url(),
        wport_trust::FileTransport,
        NOW,
    )
    .unwrap();
    assert_eq!((report.targets, report.fetched, report.reused), (3, 3, 0));
    assert_eq!(
        std::fs::read(f.trust_dir().join("targets/ports/zlib/files/fix.diff")).unwrap(),
        b"--- a\n+++ b\n"
    );
    verify(&f.trust_dir()).unwrap();
    let report = sync(
        &f.trust_dir(),
        &f.repo_url(),
        wport_trust::FileTransport,
        NOW,
    )
    .unwrap();
    assert_eq!((report.fetched, report.reused), (0, 3));
    // A file planted in the synced tree is removed by the next sync.
    std::fs::write(
        f.trust_dir().join("targets/ports/zlib/files/planted.diff"),
        b"x",
    )
    .unwrap();
    assert_eq!(
        sync(
            &f.trust_dir(),
            &f.repo_url(),
            wport_trust::FileTransport,
            NOW
        )
        .unwrap()
        .removed,
        1
    );
}

#[test]
fn tampered_files_in_a_synced_tree_are_refused() {
    for (rel, tampered) in [
        ("Portfile.toml", &b"[port]\nname = \"zlib\"\nX"[..]),
        ("port.wasm", b"\0asm\x01\0\0\0cOmponent"),
        ("files/fix.diff", b"--- a\n+++ c\n"),
    ] {
        let f = fixture_with_component();
        sync(
            &f.trust_dir(),
            &f.repo_url(),
            wport_trust::FileTransport,
            NOW,
        )
        .unwrap();
        let path = f.trust_dir().join("targets/ports/zlib").join(rel);
        std::fs::write(&path, tampered).unwrap();
        let target = format!("ports/zlib/{rel}");
        let err = verify(&f.trust_dir()).unwrap_err();
        match err {
            TrustError::DigestMismatch { ref what, .. }
            | TrustError::LengthMismatch { ref what, .. }
                if *what == target => {}
            other => panic!("{rel}: {other:?}"),
        }
        // Same length, different bytes: precisely a digest mismatch.
        if tampered.len()
            == std::fs::read(f.tmp.path().join("repo/targets").join(&target))
                .unwrap()
                .len()
        {
            assert!(
                matches!(err, TrustError::DigestMismatch { .. }),
                "{rel}: {err:?}"
            );
        }
    }
}

#[test]
fn tampered_files_served_by_the_repository_are_refused_by_sync() {
    for rel in ["Portfile.toml", "port.wasm", "files/fix.diff"] {
        let f = fixture_with_component();
        let served = f.tmp.path().join("repo/targets/ports/zlib").join(rel);
        let mut bytes = std::fs::read(&served).unwrap();
        bytes[0] ^= 0x20;
        std::fs::write(&served, &bytes).unwrap();
        let err = sync(
            &f.trust_dir(),
            &f.repo_url(),
            wport_trust::FileTransport,
            NOW,
        )
        .unwrap_err();
        assert!(
            matches!(err, TrustError::DigestMismatch { ref what, .. } if *what == format!("ports/zlib/{rel}")),
            "{rel}: {err:?}"
        );
        assert!(
            !f.trust_dir().join("targets/ports/zlib").join(rel).exists(),
            "nothing unverified is stored"
        );
    }
}

#[test]
fn unlisted_files_and_expired_metadata_are_refused_at_build_time() {
    let f = fixture_with_component();
    sync(
        &f.trust_dir(),
        &f.repo_url(),
        wport_trust::FileTransport,
        NOW,
    )
    .unwrap();
    let extra = f.tmp.path().join("extra.diff");
    std::fs::write(&extra, b"x").unwrap();
    let err =
        verify_port_at(&f.trust_dir(), "zlib", &[("files/extra.diff", &extra)], NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::TargetNotFound { ref path } if path == "ports/zlib/files/extra.diff"),
        "{err:?}"
    );
    let err =
        verify_port_at(&f.trust_dir(), "../zlib", &[("Portfile.toml", &extra)], NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::UnsafeTargetPath { .. }),
        "{err:?}"
    );
    let err = verify_port_at(
        &f.trust_dir(),
        "zlib",
        &[("../bzip2/Portfile.toml", &extra)],
        NOW,
    )
    .unwrap_err();
    assert!(
        matches!(err, TrustError::UnsafeTargetPath { .. }),
        "{err:?}"
    );
    // A build a day and a half later, without a sync: the timestamp expired.
    let files = port_files(&f.trust_dir());
    let refs: Vec<(&str, &Path)> = files.iter().map(|(r, p)| (*r, p.as_path())).collect();
    let err = verify_port_at(&f.trust_dir(), "zlib", &refs, NOW + 36 * 3600).unwrap_err();
    assert!(
        matches!(err, TrustError::Expired { ref role, .. } if role == "timestamp"),
        "{err:?}"
    );
}

#[test]
fn whole_ports_tree_published_with_a_maintainer_delegation() {
    // The repository side as `wport repo add --ports` uses it.
    let f = Fixture::new();
    let ports = f.tmp.path().join("tree/ports");
    for (p, body) in [
        ("lua/Portfile.toml", "lua"),
        ("lua/src/lib.rs", "fn main(){}"),
        ("tree/Portfile.toml", "tree"),
        ("tree/files/a.diff", "diff"),
    ] {
        std::fs::create_dir_all(ports.join(p).parent().unwrap()).unwrap();
        std::fs::write(ports.join(p), body).unwrap();
    }
    let m = key(61);
    f.repo
        .delegate(
            "targets",
            "maint-lua",
            spec(&[&m], 1),
            wport_trust::repo::port_patterns("lua"),
            true,
            NOW,
        )
        .unwrap();
    let lua = wport_trust::repo::port_files(&ports, Some(&["lua".to_string()])).unwrap();
    let others = wport_trust::repo::port_files(&ports, Some(&["tree".to_string()])).unwrap();
    assert_eq!(
        lua.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
        ["ports/lua/Portfile.toml", "ports/lua/src/lib.rs"]
    );
    f.repo.add_targets("maint-lua", &lua, NOW).unwrap();
    f.repo.add_targets("targets", &others, NOW).unwrap();
    f.repo.sign("maint-lua", &m).unwrap();
    f.publish();
    let report = sync(
        &f.trust_dir(),
        &f.repo_url(),
        wport_trust::FileTransport,
        NOW,
    )
    .unwrap();
    assert_eq!(report.targets, 6);
    let lib = f.trust_dir().join("targets/ports/lua/src/lib.rs");
    verify_port_at(&f.trust_dir(), "lua", &[("src/lib.rs", &lib)], NOW).unwrap();
    // Symlinks in a ports tree are refused when publishing.
    std::os::unix::fs::symlink("/etc/passwd", ports.join("tree/files/link")).unwrap();
    assert!(matches!(
        wport_trust::repo::port_files(&ports, None),
        Err(TrustError::Repository(_))
    ));
}
