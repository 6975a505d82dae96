//! One test per attack of the TUF specification's list (section 1.5.2),
//! plus the extra cases of issue 6. Each starts from a valid published
//! repository (tests/common) and asserts the precise refusal.

mod common;

use common::*;
use wport_trust::metadata::{MetaList, Root, SignatureEntry, TargetFile, Targets, sign_document};
use wport_trust::{KeySource, SecretKey, TrustError};

fn targets_file(bytes: &[u8]) -> TargetFile {
    TargetFile {
        length: bytes.len() as u64,
        hashes: [(
            "sha256".to_string(),
            wport_trust::metadata::sha256_hex(bytes),
        )]
        .into(),
        custom: None,
    }
}

#[test]
fn valid_repository_refreshes_and_serves_its_targets() {
    let f = Fixture::new();
    let mut c = f.client();
    c.refresh_at(NOW).unwrap();
    let tf = c.target("ports/zlib/Portfile.toml").unwrap();
    let bytes = c
        .fetch_target(
            "ports/zlib/Portfile.toml",
            &tf,
            &f.tmp.path().join("repo/targets").display().to_string(),
        )
        .unwrap();
    assert_eq!(bytes, b"[port]\nname = \"zlib\"\n");
    // A second refresh with nothing new succeeds from the trusted copies.
    let mut c = f.client();
    c.refresh_at(NOW + 60).unwrap();
    assert_eq!(c.targets().unwrap().version, 1);
}

#[test]
fn consistent_snapshot_repository_works() {
    let f = Fixture::with(true);
    let mirror = Mirror::default();
    let mut c = f.client_via(&mirror);
    c.refresh_at(NOW).unwrap();
    let tf = c.target("ports/zlib/files/fix.diff").unwrap();
    c.fetch_target(
        "ports/zlib/files/fix.diff",
        &tf,
        &f.tmp.path().join("repo/targets").display().to_string(),
    )
    .unwrap();
    let asked = mirror.requested.borrow();
    assert!(
        asked.iter().any(|l| l.ends_with("/1.snapshot.json")),
        "{asked:?}"
    );
    assert!(
        asked.iter().any(|l| l.ends_with("/1.targets.json")),
        "{asked:?}"
    );
    assert!(
        asked
            .iter()
            .any(|l| l.ends_with(&format!("/files/{}.fix.diff", tf.hashes["sha256"]))),
        "{asked:?}"
    );
}

/// Arbitrary installation: even with the online snapshot and timestamp keys,
/// an attacker cannot make the client trust targets metadata they signed.
#[test]
fn arbitrary_installation() {
    let f = Fixture::new();
    let attacker = key(66);
    let mut t = f.targets_signed();
    t.version += 1;
    t.targets
        .insert("ports/evil/Portfile.toml".into(), targets_file(b"evil"));
    f.write("targets.json", &sign_document(&t, &[&attacker]).unwrap());
    f.resnapshot_for_current_targets();
    let err = f.client().refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::ThresholdNotMet { ref role, valid: 0, threshold: 2, keys: KeySource::NewRoot, .. } if role == "targets"),
        "{err:?}"
    );
    // And a file the metadata does not list is simply not a target.
    let f = Fixture::new();
    let mut c = f.client();
    c.refresh_at(NOW).unwrap();
    assert!(matches!(
        c.target("ports/evil/Portfile.toml"),
        Err(TrustError::TargetNotFound { .. })
    ));
}

/// Endless data: every document and target is read with a bound.
#[test]
fn endless_data() {
    let f = Fixture::new();
    let mirror = Mirror::default();
    mirror.serve(&f.loc("timestamp.json"), vec![b' '; 10 << 20]);
    let err = f.client_via(&mirror).refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::TooLarge { limit: 16384, .. }),
        "{err:?}"
    );
    // A root chain link, and a target longer than its trusted length.
    let mirror = Mirror::default();
    mirror.serve(&f.loc("2.root.json"), vec![b' '; 1 << 20]);
    assert!(matches!(
        f.client_via(&mirror).refresh_at(NOW),
        Err(TrustError::TooLarge { limit: 524288, .. })
    ));
    let mirror = Mirror::default();
    let base = f.tmp.path().join("repo/targets").display().to_string();
    mirror.serve(
        &format!("{base}/ports/zlib/Portfile.toml"),
        vec![b'x'; 1 << 20],
    );
    let mut c = f.client_via(&mirror);
    c.refresh_at(NOW).unwrap();
    let tf = c.target("ports/zlib/Portfile.toml").unwrap();
    assert!(
        matches!(c.fetch_target("ports/zlib/Portfile.toml", &tf, &base), Err(TrustError::TooLarge { limit, .. }) if limit == tf.length)
    );
}

/// Extraneous dependencies: a mirror adds something to what a port
/// declares (here, custom data in the targets metadata); the snapshot pins
/// the targets document's hash.
#[test]
fn extraneous_dependencies() {
    let f = Fixture::new();
    let mut doc: serde_json::Value = serde_json::from_slice(&f.read("targets.json")).unwrap();
    doc["signed"]["targets"]["ports/zlib/Portfile.toml"]["custom"] =
        serde_json::json!({"depends": ["ports/evil"]});
    let mirror = Mirror::default();
    mirror.serve(&f.loc("targets.json"), serde_json::to_vec(&doc).unwrap());
    // Longer than the length snapshot pins: refused while reading.
    let err = f.client_via(&mirror).refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::TooLarge { ref what, .. } if what.ends_with("/targets.json")),
        "{err:?}"
    );
    // Without the hash pin (a snapshot listing versions only), the
    // signature still refuses it.
    let mut s = f.snapshot_signed();
    s.version += 1;
    s.meta.get_mut("targets.json").unwrap().hashes = None;
    s.meta.get_mut("targets.json").unwrap().length = None;
    f.write_snapshot(&s);
    let err = f.client_via(&mirror).refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::ThresholdNotMet { ref role, valid: 0, .. } if role == "targets"),
        "{err:?}"
    );
}

/// Fast-forward: with the timestamp key, an attacker pushes the client to
/// timestamp v1000; honest v3 is then a rollback — until the repository
/// rotates the timestamp key, which makes the client drop the
/// fast-forwarded timestamp (spec 5.3.11).
#[test]
fn fast_forward_and_recovery_by_key_rotation() {
    let f = Fixture::new();
    let mut t = f.timestamp_signed();
    t.version = 1000;
    let mirror = Mirror::default();
    mirror.serve(
        &f.loc("timestamp.json"),
        sign_document(&t, &[&f.timestamp]).unwrap(),
    );
    f.client_via(&mirror).refresh_at(NOW).unwrap();
    f.repo.timestamp(&f.timestamp, NOW).unwrap(); // honest v2
    let err = f.client().refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::Rollback { ref role, trusted: 1000, offered: 2 } if role == "timestamp"),
        "{err:?}"
    );
    // Recovery: a new timestamp key in root v2.
    let new_ts = key(16);
    f.repo
        .set_role_keys("timestamp", spec(&[&new_ts], 1), NOW)
        .unwrap();
    for k in &f.root {
        f.repo.sign("root", k).unwrap();
    }
    f.repo.timestamp(&new_ts, NOW).unwrap();
    let mut c = f.client();
    c.refresh_at(NOW).unwrap();
    assert_eq!(c.root().version, 2);
    assert_eq!(c.timestamp().unwrap().0.version, 3);
}

/// Indefinite freeze: old, validly signed metadata past its expiry, judged
/// by the time the update started.
#[test]
fn indefinite_freeze() {
    let f = Fixture::new();
    f.client().refresh_at(NOW + 86_399).unwrap();
    let err = f.client().refresh_at(NOW + DAY).unwrap_err();
    assert!(
        matches!(err, TrustError::Expired { ref role, .. } if role == "timestamp"),
        "{err:?}"
    );
    let err = f.client().refresh_at(NOW + 366 * DAY).unwrap_err();
    assert!(
        matches!(err, TrustError::Expired { ref role, .. } if role == "root"),
        "{err:?}"
    );
    // A fresh timestamp over an expired snapshot does not help.
    f.repo.timestamp(&f.timestamp, NOW + 8 * DAY).unwrap();
    let err = f.client().refresh_at(NOW + 8 * DAY).unwrap_err();
    assert!(
        matches!(err, TrustError::Expired { ref role, .. } if role == "snapshot"),
        "{err:?}"
    );
}

/// Malicious mirrors: a mirror signs with its own key, or serves a
/// snapshot other than the one the timestamp pins.
#[test]
fn malicious_mirrors() {
    let f = Fixture::new();
    let mirror = Mirror::default();
    let mut t = f.timestamp_signed();
    t.version += 1;
    mirror.serve(
        &f.loc("timestamp.json"),
        sign_document(&t, &[&key(77)]).unwrap(),
    );
    let err = f.client_via(&mirror).refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::ThresholdNotMet { ref role, valid: 0, threshold: 1, .. } if role == "timestamp"),
        "{err:?}"
    );
    let mirror = Mirror::default();
    let mut s = f.snapshot_signed();
    s.expires = "2099-01-01T00:00:00Z".into();
    mirror.serve(
        &f.loc("snapshot.json"),
        sign_document(&s, &[&f.snapshot]).unwrap(),
    );
    let err = f.client_via(&mirror).refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::LengthMismatch { ref what, .. } | TrustError::DigestMismatch { ref what, .. } if what == "snapshot.json"),
        "{err:?}"
    );
}

/// Mix-and-match: metadata of different moments combined.
#[test]
fn mix_and_match() {
    let f = Fixture::new();
    let old_targets = f.read("targets.json");
    f.add_file("ports/zlib/files/second.diff", b"second");
    f.publish();
    let mirror = Mirror::default();
    mirror.serve(&f.loc("targets.json"), old_targets.clone());
    let err = f.client_via(&mirror).refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::LengthMismatch { ref what, .. } | TrustError::DigestMismatch { ref what, .. } if what == "targets.json"),
        "{err:?}"
    );
    // A snapshot listing versions only: the version pin refuses it.
    let mut s = f.snapshot_signed();
    s.version += 1;
    for m in s.meta.values_mut() {
        m.hashes = None;
        m.length = None;
    }
    f.write_snapshot(&s);
    let err = f.client_via(&mirror).refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::VersionMismatch { ref role, expected: 2, found: 1 } if role == "targets"),
        "{err:?}"
    );
}

/// Rollback: older timestamp, and a snapshot listing an older targets.
#[test]
fn rollback() {
    let f = Fixture::new();
    let old_timestamp = f.read("timestamp.json");
    f.add_file("ports/zlib/files/second.diff", b"second");
    f.publish();
    f.client().refresh_at(NOW).unwrap();
    let mirror = Mirror::default();
    mirror.serve(&f.loc("timestamp.json"), old_timestamp);
    let err = f.client_via(&mirror).refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::Rollback { ref role, trusted: 2, offered: 1 } if role == "timestamp"),
        "{err:?}"
    );
    // With the snapshot key: a newer snapshot pointing at older targets.
    let mut s = f.snapshot_signed();
    s.version += 1;
    let m = s.meta.get_mut("targets.json").unwrap();
    m.version = 1;
    m.hashes = None;
    m.length = None;
    f.write_snapshot(&s);
    let err = f.client().refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::Rollback { ref role, trusted: 2, offered: 1 } if role == "targets.json"),
        "{err:?}"
    );
}

/// Key compromise below threshold: one of the two targets keys (plus the
/// online keys) is not enough.
#[test]
fn key_compromise_below_threshold() {
    let f = Fixture::new();
    let mut t = f.targets_signed();
    t.version += 1;
    t.targets
        .insert("ports/zlib/Portfile.toml".into(), targets_file(b"evil"));
    f.write(
        "targets.json",
        &sign_document(&t, &[&f.targets[0]]).unwrap(),
    );
    f.resnapshot_for_current_targets();
    let err = f.client().refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::ThresholdNotMet { ref role, valid: 1, threshold: 2, .. } if role == "targets"),
        "{err:?}"
    );
}

/// Wrong software: another target's bytes under a trusted name, and a
/// document of another role under a role's name.
#[test]
fn wrong_software() {
    let f = Fixture::new();
    f.add_file("ports/bzip2/Portfile.toml", b"[port]\nname = \"bzip\"\n"); // same length as zlib's
    f.publish();
    let base = f.tmp.path().join("repo/targets").display().to_string();
    let mirror = Mirror::default();
    mirror.serve(
        &format!("{base}/ports/zlib/Portfile.toml"),
        std::fs::read(f.tmp.path().join("repo/targets/ports/bzip2/Portfile.toml")).unwrap(),
    );
    let mut c = f.client_via(&mirror);
    c.refresh_at(NOW).unwrap();
    let tf = c.target("ports/zlib/Portfile.toml").unwrap();
    let err = c
        .fetch_target("ports/zlib/Portfile.toml", &tf, &base)
        .unwrap_err();
    assert!(
        matches!(err, TrustError::DigestMismatch { ref what, ref algorithm, .. } if what == "ports/zlib/Portfile.toml" && algorithm == "sha256"),
        "{err:?}"
    );
    let mirror = Mirror::default();
    mirror.serve(&f.loc("timestamp.json"), f.read("snapshot.json"));
    let err = f.client_via(&mirror).refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::WrongType { ref expected, ref found } if expected == "timestamp" && found == "snapshot"),
        "{err:?}"
    );
}

/// CVE-2020-15093: one key's signature repeated (refused outright), and
/// one key listed under two key ids (counted once).
#[test]
fn same_key_counted_once() {
    let f = Fixture::new();
    let mut t = f.targets_signed();
    t.version += 1;
    t.targets
        .insert("ports/evil/Portfile.toml".into(), targets_file(b"evil"));
    let mut doc: serde_json::Value =
        serde_json::from_slice(&sign_document(&t, &[&f.targets[0]]).unwrap()).unwrap();
    let sig = doc["signatures"][0].clone();
    doc["signatures"] = serde_json::json!([sig.clone(), sig.clone(), sig]);
    f.write("targets.json", &serde_json::to_vec(&doc).unwrap());
    f.resnapshot_for_current_targets();
    // A signatures list repeating a key id is refused before any
    // signature is counted (spec 4.2: key ids there MUST be unique).
    let err = f.client().refresh_at(NOW).unwrap_err();
    assert!(
        matches!(
            err,
            TrustError::DuplicateSignatureKeyId { ref document, ref key_id }
                if document == "targets.json" && *key_id == f.targets[0].key_id()
        ),
        "{err:?}"
    );

    // Root v2 lists root key 0 a second time, under the id of a key object
    // that differs only in an extra field, and asks for threshold 2 of the
    // two ids: both signatures are by the same key.
    let f = Fixture::new();
    let mut root: Root = f.root_signed();
    root.version = 2;
    let k = &f.root[0];
    let mut alias = k.public().to_tuf();
    alias["x-alias"] = serde_json::json!(true);
    let alias_id = wport_trust::keys::key_id_of(&alias).unwrap();
    root.keys.insert(alias_id.clone(), alias);
    root.roles.get_mut("root").unwrap().keyids = vec![k.key_id(), alias_id.clone()];
    let mut doc: serde_json::Value =
        serde_json::from_slice(&sign_document(&root, &[k, &f.root[1]]).unwrap()).unwrap();
    let canonical = wport_trust::canonical::to_canonical(&doc["signed"]).unwrap();
    let extra = SignatureEntry {
        keyid: alias_id,
        sig: hex::encode(k.sign(&canonical)),
    };
    doc["signatures"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::to_value(extra).unwrap());
    f.write("2.root.json", &serde_json::to_vec(&doc).unwrap());
    let err = f.client().refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::ThresholdNotMet { ref role, version: 2, valid: 1, threshold: 2, keys: KeySource::NewRoot } if role == "root"),
        "{err:?}"
    );
}

fn stage_rotated_root(f: &Fixture, new: &[SecretKey; 2]) -> Root {
    let mut root = f.root_signed();
    root.version = 2;
    for k in &f.root {
        root.keys.remove(&k.key_id());
    }
    for k in new {
        root.keys.insert(k.key_id(), k.public().to_tuf());
    }
    root.roles.get_mut("root").unwrap().keyids = new.iter().map(|k| k.key_id()).collect();
    root
}

/// Root rotation needs the old AND the new threshold.
#[test]
fn root_rotation_needs_both_thresholds() {
    let f = Fixture::new();
    let new = [key(21), key(22)];
    let root = stage_rotated_root(&f, &new);
    // Only the new keys: the trusted root's threshold is not met.
    f.write(
        "2.root.json",
        &sign_document(&root, &[&new[0], &new[1]]).unwrap(),
    );
    let err = f.client().refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::ThresholdNotMet { ref role, version: 2, valid: 0, threshold: 2, keys: KeySource::TrustedRoot } if role == "root"),
        "{err:?}"
    );
    // Only the old keys: the new root's own threshold is not met.
    f.write(
        "2.root.json",
        &sign_document(&root, &[&f.root[0], &f.root[1]]).unwrap(),
    );
    let err = f.client().refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::ThresholdNotMet { ref role, version: 2, valid: 0, threshold: 2, keys: KeySource::NewRoot } if role == "root"),
        "{err:?}"
    );
    // One old key and both new: still below the old threshold.
    f.write(
        "2.root.json",
        &sign_document(&root, &[&f.root[0], &new[0], &new[1]]).unwrap(),
    );
    assert!(matches!(
        f.client().refresh_at(NOW),
        Err(TrustError::ThresholdNotMet {
            keys: KeySource::TrustedRoot,
            valid: 1,
            ..
        })
    ));
    // Both: accepted, and a skipped version is refused.
    f.write(
        "2.root.json",
        &sign_document(&root, &[&f.root[0], &f.root[1], &new[0], &new[1]]).unwrap(),
    );
    let mut c = f.client();
    c.refresh_at(NOW).unwrap();
    assert_eq!(c.root().version, 2);
    let mut r4 = root.clone();
    r4.version = 4;
    f.write(
        "3.root.json",
        &sign_document(&r4, &[&new[0], &new[1]]).unwrap(),
    );
    let err = f.client().refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::VersionMismatch { ref role, expected: 3, found: 4 } if role == "root"),
        "{err:?}"
    );
}

/// A revoked delegated key: after the maintainer's key is replaced, the
/// old key's signatures do not count, even when the repository snapshots
/// what it uploaded.
#[test]
fn revoked_delegated_key() {
    let f = Fixture::new();
    let (old, new) = (key(31), key(32));
    f.repo
        .delegate(
            "targets",
            "maint-lua",
            spec(&[&old], 1),
            wport_trust::repo::port_patterns("lua"),
            false,
            NOW,
        )
        .unwrap();
    f.add_file_to("maint-lua", "ports/lua/Portfile.toml", b"lua v1");
    f.repo.sign("maint-lua", &old).unwrap();
    f.publish();
    let mut c = f.client();
    c.refresh_at(NOW).unwrap();
    c.target("ports/lua/Portfile.toml").unwrap();
    // Revoke: re-delegate to the new key.
    f.repo
        .delegate(
            "targets",
            "maint-lua",
            spec(&[&new], 1),
            wport_trust::repo::port_patterns("lua"),
            false,
            NOW,
        )
        .unwrap();
    f.repo.sign("maint-lua", &new).unwrap();
    f.publish();
    // The holder of the old key uploads a new version of the role.
    let (mut t, _) = f.repo.targets_role("maint-lua").unwrap();
    t.version += 1;
    t.targets
        .insert("ports/lua/Portfile.toml".into(), targets_file(b"lua evil"));
    std::fs::write(
        f.meta().join("maint-lua.json"),
        sign_document(&t, &[&old]).unwrap(),
    )
    .unwrap();
    let mut s = f.snapshot_signed();
    s.version += 1;
    let raw = f.read("maint-lua.json");
    s.meta.insert(
        "maint-lua.json".into(),
        wport_trust::metadata::MetaFile {
            version: t.version,
            length: Some(raw.len() as u64),
            hashes: None,
        },
    );
    f.write_snapshot(&s);
    let mut c = f.client();
    c.refresh_at(NOW).unwrap();
    let err = c.target("ports/lua/Portfile.toml").unwrap_err();
    assert!(
        matches!(err, TrustError::ThresholdNotMet { ref role, valid: 0, threshold: 1, keys: KeySource::Delegator(ref d), .. } if role == "maint-lua" && d == "targets"),
        "{err:?}"
    );
}

/// A delegated maintainer is trusted only for its own paths, and a
/// terminating delegation ends the search.
#[test]
fn delegation_paths_and_terminating() {
    let f = Fixture::new();
    let m = key(41);
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
    f.repo
        .delegate(
            "targets",
            "catch-all",
            spec(&[&m], 1),
            vec!["ports/*/*".into()],
            false,
            NOW,
        )
        .unwrap();
    f.add_file_to("maint-lua", "ports/lua/Portfile.toml", b"lua");
    f.add_file_to("maint-lua", "ports/zlib/evil.toml", b"not lua's");
    f.add_file_to(
        "catch-all",
        "ports/lua/extra.toml",
        b"behind a terminating delegation",
    );
    f.add_file_to("catch-all", "ports/tree/Portfile.toml", b"tree");
    f.repo.sign("maint-lua", &m).unwrap();
    f.repo.sign("catch-all", &m).unwrap();
    f.publish();
    let mut c = f.client();
    c.refresh_at(NOW).unwrap();
    c.target("ports/lua/Portfile.toml").unwrap();
    c.target("ports/tree/Portfile.toml").unwrap();
    assert!(matches!(
        c.target("ports/zlib/evil.toml"),
        Err(TrustError::TargetNotFound { .. })
    ));
    assert!(matches!(
        c.target("ports/lua/extra.toml"),
        Err(TrustError::TargetNotFound { .. })
    ));
    let all = c.all_targets().unwrap();
    assert!(
        all.contains_key("ports/tree/Portfile.toml") && all.contains_key("ports/lua/Portfile.toml")
    );
    assert!(!all.contains_key("ports/zlib/evil.toml") && !all.contains_key("ports/lua/extra.toml"));
}

/// Role names with `../`, `/`, `?`, `#`: the repository refuses to create
/// them; the client encodes them into one file name and one URL segment,
/// so a hostile delegation cannot write outside the trust directory or
/// fetch another document; top-level names are refused outright.
#[test]
fn hostile_role_names() {
    let f = Fixture::new();
    let m = key(51);
    for name in ["../evil", "a/b", "x?y", "x#y", "snapshot", ""] {
        let err = f
            .repo
            .delegate(
                "targets",
                name,
                spec(&[&m], 1),
                vec!["ports/*/*".into()],
                false,
                NOW,
            )
            .unwrap_err();
        assert!(
            matches!(err, TrustError::UnsafeRoleName { .. }),
            "{name}: {err:?}"
        );
    }
    // Hand-made metadata with such names, signed by the real keys.
    let names = ["../../escaped", "a/b", "x?y", "x#y"];
    let mut t = f.targets_signed();
    t.version += 1;
    let d = t.delegations.get_or_insert_with(Default::default);
    d.keys.insert(m.key_id(), m.public().to_tuf());
    let mirror = Mirror::default();
    let mut s = f.snapshot_signed();
    s.version += 1;
    for name in names {
        d.roles.push(wport_trust::metadata::DelegatedRole {
            name: name.into(),
            keyids: vec![m.key_id()],
            threshold: 1,
            terminating: false,
            paths: Some(vec!["ports/*/*".into()]),
            path_hash_prefixes: None,
        });
        let role = Targets {
            typ: "targets".into(),
            spec_version: "1.0.31".into(),
            version: 1,
            expires: "2031-01-01T00:00:00Z".into(),
            targets: Default::default(),
            delegations: None,
        };
        let encoded = wport_trust::paths::encode_segment(name);
        mirror.serve(
            &f.loc(&format!("{encoded}.json")),
            sign_document(&role, &[&m]).unwrap(),
        );
        s.meta.insert(
            format!("{name}.json"),
            wport_trust::metadata::MetaFile {
                version: 1,
                length: None,
                hashes: None,
            },
        );
    }
    f.write(
        "targets.json",
        &sign_document(&t, &[&f.targets[0], &f.targets[1]]).unwrap(),
    );
    s.meta.get_mut("targets.json").unwrap().version = t.version;
    s.meta.get_mut("targets.json").unwrap().hashes = None;
    s.meta.get_mut("targets.json").unwrap().length = None;
    f.write_snapshot(&s);
    let mut c = f.client_via(&mirror);
    c.refresh_at(NOW).unwrap();
    assert!(matches!(
        c.target("ports/x/none"),
        Err(TrustError::TargetNotFound { .. })
    ));
    let asked = mirror.requested.borrow().clone();
    for expected in [
        "..%2F..%2Fescaped.json",
        "a%2Fb.json",
        "x%3Fy.json",
        "x%23y.json",
    ] {
        assert!(asked.contains(&f.loc(expected)), "{expected} in {asked:?}");
        assert!(f.trust_dir().join("metadata").join(expected).is_file());
    }
    assert!(
        !f.tmp.path().join("escaped.json").exists() && !f.trust_dir().join("escaped.json").exists()
    );
    // A delegated role named like a top-level role is refused.
    let mut t2 = f.targets_signed();
    t2.version += 1;
    t2.delegations.as_mut().unwrap().roles.insert(
        0,
        wport_trust::metadata::DelegatedRole {
            name: "snapshot".into(),
            keyids: vec![m.key_id()],
            threshold: 1,
            terminating: false,
            paths: Some(vec!["ports/*/*".into()]),
            path_hash_prefixes: None,
        },
    );
    f.write(
        "targets.json",
        &sign_document(&t2, &[&f.targets[0], &f.targets[1]]).unwrap(),
    );
    let mut s = f.snapshot_signed();
    s.version += 1;
    s.meta.get_mut("targets.json").unwrap().version = t2.version;
    f.write_snapshot(&s);
    let mut c = f.client_via(&mirror);
    c.refresh_at(NOW).unwrap();
    assert!(
        matches!(c.target("ports/x/none"), Err(TrustError::UnsafeRoleName { ref name }) if name == "snapshot")
    );
}

/// Local trust state writable by others is refused (StrictModes).
#[test]
fn group_writable_trust_state_refused() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::new();
    let meta = f.trust_dir().join("metadata");
    std::fs::set_permissions(
        meta.join("root.json"),
        std::fs::Permissions::from_mode(0o664),
    )
    .unwrap();
    let err = wport_trust::Client::open(&meta, "x", wport_trust::FileTransport)
        .err()
        .unwrap();
    assert!(
        matches!(err, TrustError::InsecurePermissions { mode: 0o664, .. }),
        "{err:?}"
    );
    std::fs::set_permissions(
        meta.join("root.json"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    std::fs::set_permissions(&meta, std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = wport_trust::Client::open(&meta, "x", wport_trust::FileTransport)
        .err()
        .unwrap();
    assert!(
        matches!(err, TrustError::InsecurePermissions { mode: 0o777, .. }),
        "{err:?}"
    );
}

#[allow(
    dead_code,
    reason = "type kept for readers: what a hand-made timestamp is"
)]
type Hand = MetaList;

/// Metadata written non-canonically (pretty-printed, as other TUF
/// implementations publish it) verifies through the canonical form; a
/// changed value inside it does not.
#[test]
fn pretty_printed_metadata_verifies_over_canonical_form() {
    let f = Fixture::new();
    let doc: serde_json::Value = serde_json::from_slice(&f.read("targets.json")).unwrap();
    f.write("targets.json", &serde_json::to_vec_pretty(&doc).unwrap());
    f.resnapshot_for_current_targets();
    f.client().refresh_at(NOW).unwrap();
    let mut doc = doc;
    doc["signed"]["expires"] = serde_json::json!("2099-01-01T00:00:00Z");
    f.write("targets.json", &serde_json::to_vec_pretty(&doc).unwrap());
    f.resnapshot_for_current_targets();
    let err = f.client().refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::ThresholdNotMet { ref role, valid: 0, .. } if role == "targets"),
        "{err:?}"
    );
}

/// A delegation cycle (a -> b -> a) ends; a search deeper than the limit is
/// refused rather than followed.
#[test]
fn delegation_cycles_and_depth_limit() {
    let f = Fixture::new();
    let m = key(71);
    let all = vec!["ports/*/*".to_string()];
    f.repo
        .delegate("targets", "a", spec(&[&m], 1), all.clone(), false, NOW)
        .unwrap();
    f.repo
        .delegate("a", "b", spec(&[&m], 1), all.clone(), false, NOW)
        .unwrap();
    f.repo
        .delegate("b", "a", spec(&[&m], 1), all.clone(), false, NOW)
        .unwrap();
    f.add_file_to("b", "ports/deep/Portfile.toml", b"deep");
    for r in ["a", "b"] {
        f.repo.sign(r, &m).unwrap();
    }
    f.publish();
    let mut c = f.client();
    c.refresh_at(NOW).unwrap();
    c.target("ports/deep/Portfile.toml").unwrap();
    assert!(matches!(
        c.target("ports/none/Portfile.toml"),
        Err(TrustError::TargetNotFound { .. })
    ));
    assert_eq!(c.all_targets().unwrap().len(), 3);
    // The same search with a limit of one delegated role.
    let limits = wport_trust::Limits {
        max_delegations: 1,
        ..Default::default()
    };
    let mut c = wport_trust::Client::open_with_limits(
        &f.trust_dir().join("metadata"),
        &f.meta().display().to_string(),
        wport_trust::FileTransport,
        limits,
    )
    .unwrap();
    c.refresh_at(NOW).unwrap();
    let err = c.target("ports/deep/Portfile.toml").unwrap_err();
    assert!(
        matches!(err, TrustError::TooManyDelegations { limit: 1, .. }),
        "{err:?}"
    );
}
