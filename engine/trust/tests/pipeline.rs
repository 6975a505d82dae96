//! The pipelined refresh (client.rs `verify_decode_stage`): a targets
//! document pinned by a hash in the verified snapshot is parsed while its
//! signatures are checked and its copy is written on a second thread.
//! Whatever fails, the error is the one the sequential order gives and the
//! trust directory gains neither the document nor a temporary file.
//!
//! The roles the top-level targets role delegates to are obtained and
//! checked on several threads ahead of the search (client.rs
//! `prefetch_top_roles`): the search still reports the first failure in its
//! own order, fetches each document once, and never takes a document
//! checked against one delegator as verified for another.

mod common;

use common::{Fixture, Mirror, NOW, key, spec};
use wport_trust::metadata::{add_signature, sha256_hex, sign_document};
use wport_trust::{KeySource, TrustError};

/// The names in the client's metadata directory.
fn trust_files(f: &Fixture) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(f.trust_dir().join("metadata"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Re-signs targets.json with `signed` (any JSON) under `keys` and pins
/// the result by hash in a new snapshot and timestamp.
fn publish_targets(f: &Fixture, signed: &serde_json::Value, keys: &[&wport_trust::SecretKey]) {
    let raw = sign_document(signed, keys).unwrap();
    // Large enough for the two-thread path (client.rs `SPLIT_FROM`).
    assert!(raw.len() > 1 << 20, "{}", raw.len());
    f.write("targets.json", &raw);
    f.resnapshot_for_current_targets();
    f.retimestamp_for_current_snapshot();
}

/// The current targets with a new version and 12,000 more (made-up)
/// targets: over 1 MiB.
fn targets_value(f: &Fixture) -> serde_json::Value {
    let mut t = serde_json::to_value(f.targets_signed()).unwrap();
    t["version"] = serde_json::json!(t["version"].as_u64().unwrap() + 1);
    for i in 0..12_000 {
        t["targets"][format!("ports/pad{i:05}/Portfile.toml")] = serde_json::json!({
            "length": i,
            "hashes": {"sha256": wport_trust::metadata::sha256_hex(format!("{i}").as_bytes())},
        });
    }
    t
}

#[test]
fn pinned_targets_with_a_bad_signature_leave_nothing() {
    let f = Fixture::new();
    let t = targets_value(&f);
    // One of the two targets keys: below the threshold of 2.
    publish_targets(&f, &t, &[&f.targets[0]]);
    let err = f.client().refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::ThresholdNotMet { ref role, valid: 1, threshold: 2, .. } if role == "targets"),
        "{err:?}"
    );
    let files = trust_files(&f);
    assert!(!files.iter().any(|n| n.contains("targets")), "{files:?}");
}

#[test]
fn pinned_targets_signed_but_malformed_leave_nothing() {
    let f = Fixture::new();
    let mut t = targets_value(&f);
    t["targets"]["ports/zlib/Portfile.toml"]["length"] = serde_json::json!("twenty");
    publish_targets(&f, &t, &[&f.targets[0], &f.targets[1]]);
    let err = f.client().refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::Malformed { ref document, ref reason } if document == "targets.json" && reason.contains("invalid type")),
        "{err:?}"
    );
    let files = trust_files(&f);
    assert!(!files.iter().any(|n| n.contains("targets")), "{files:?}");
}

#[test]
fn pinned_targets_unsigned_and_malformed_report_the_signature() {
    let f = Fixture::new();
    let mut t = targets_value(&f);
    t["targets"]["ports/zlib/Portfile.toml"]["length"] = serde_json::json!("twenty");
    publish_targets(&f, &t, &[&f.snapshot]);
    let err = f.client().refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::ThresholdNotMet { ref role, valid: 0, threshold: 2, .. } if role == "targets"),
        "{err:?}"
    );
    let files = trust_files(&f);
    assert!(!files.iter().any(|n| n.contains("targets")), "{files:?}");
}

#[test]
fn pinned_targets_that_verify_are_persisted_whole() {
    let f = Fixture::new();
    let t = targets_value(&f);
    publish_targets(&f, &t, &[&f.targets[0], &f.targets[1]]);
    let mut c = f.client();
    c.refresh_at(NOW).unwrap();
    assert_eq!(c.targets().unwrap().version, t["version"].as_u64().unwrap());
    assert_eq!(
        std::fs::read(f.trust_dir().join("metadata/targets.json")).unwrap(),
        f.read("targets.json")
    );
    let files = trust_files(&f);
    assert!(!files.iter().any(|n| n.ends_with(".tmp")), "{files:?}");
    // The persisted copy is what the next offline load trusts.
    let mut offline = f.client();
    offline.load_offline(NOW).unwrap();
    assert_eq!(
        offline.targets().unwrap().targets,
        c.targets().unwrap().targets
    );
}

#[test]
fn pinned_document_of_the_wrong_type_is_refused_as_such() {
    let f = Fixture::new();
    let mut t = targets_value(&f);
    t["_type"] = serde_json::json!("snapshot");
    publish_targets(&f, &t, &[&f.targets[0], &f.targets[1]]);
    let err = f.client().refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::WrongType { ref expected, ref found } if expected == "targets" && found == "snapshot"),
        "{err:?}"
    );
    let files = trust_files(&f);
    assert!(!files.iter().any(|n| n.contains("targets")), "{files:?}");
}

/// Two `signed` values in one envelope: the signature check would see one
/// and the typed parse might read the other. Both halves refuse it.
#[test]
fn pinned_document_with_two_signed_values_is_refused() {
    let f = Fixture::new();
    let t = targets_value(&f);
    let good = sign_document(&t, &[&f.targets[0], &f.targets[1]]).unwrap();
    let mut evil = t.clone();
    evil["targets"]["ports/zlib/Portfile.toml"]["length"] = serde_json::json!(666);
    // `{"signatures":[...],"signed":{...}}` + `,"signed":{evil}}`.
    let mut raw = good[..good.len() - 1].to_vec();
    raw.extend_from_slice(b",\"signed\":");
    raw.extend_from_slice(&serde_json::to_vec(&evil).unwrap());
    raw.push(b'}');
    f.write("targets.json", &raw);
    f.resnapshot_for_current_targets();
    let err = f.client().refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::Malformed { ref document, ref reason } if document == "targets.json" && reason.contains("duplicate field `signed`")),
        "{err:?}"
    );
    let files = trust_files(&f);
    assert!(!files.iter().any(|n| n.contains("targets")), "{files:?}");
}

/// Six roles delegated by the top-level targets role, `r1`..`r6`, each
/// with a key of its own (keys 31..36) and one file.
fn six_roles() -> Fixture {
    let f = Fixture::new();
    for n in 1..=6u8 {
        let role = format!("r{n}");
        f.repo
            .delegate(
                "targets",
                &role,
                spec(&[&key(30 + n)], 1),
                vec![format!("team{n}/*")],
                false,
                NOW,
            )
            .unwrap();
        f.add_file_to(&role, &format!("team{n}/file.txt"), role.as_bytes());
        f.repo.sign(&role, &key(30 + n)).unwrap();
    }
    f.publish();
    f
}

/// Replaces `role`'s signatures with one by `wrong` (a key its delegation
/// does not list) and pins the result in a new snapshot and timestamp: a
/// repository whose snapshot key signed what a role's key did not.
fn sign_role_with(f: &Fixture, role: &str, wrong: &wport_trust::SecretKey) {
    let file = format!("{role}.json");
    let mut doc: serde_json::Value = serde_json::from_slice(&f.read(&file)).unwrap();
    doc["signatures"] = serde_json::json!([]);
    let raw = add_signature(&serde_json::to_vec(&doc).unwrap(), wrong).unwrap();
    f.write(&file, &raw);
    let mut s = f.snapshot_signed();
    s.version += 1;
    let m = s.meta.get_mut(&file).unwrap();
    m.length = Some(raw.len() as u64);
    m.hashes = Some([("sha256".to_string(), sha256_hex(&raw))].into());
    f.write_snapshot(&s);
}

#[test]
fn delegated_roles_checked_ahead_fail_in_the_search_order() {
    let f = six_roles();
    sign_role_with(&f, "r5", &key(40));
    sign_role_with(&f, "r2", &key(41));
    let mut client = f.client();
    client.refresh_at(NOW).unwrap();
    let err = client.load_all_roles().unwrap_err();
    // r2 comes before r5 in the delegation order: its failure is the one
    // reported, though both were checked before the search reached r2.
    assert!(
        matches!(err, TrustError::ThresholdNotMet { ref role, valid: 0, threshold: 1, keys: KeySource::Delegator(ref d), .. }
            if role == "r2" && d == "targets"),
        "{err:?}"
    );
    // As in the sequential order: r1, met first, is kept; nothing from r2
    // on is.
    let files = trust_files(&f);
    assert!(files.contains(&"r1.json".to_string()), "{files:?}");
    for n in 2..=6 {
        assert!(!files.contains(&format!("r{n}.json")), "r{n}: {files:?}");
    }
    assert!(!files.iter().any(|n| n.contains(".tmp")), "{files:?}");
}

/// How many of `requested` fetch role `r{n}`'s document (`r{n}.json`, or
/// `V.r{n}.json` with consistent snapshots).
fn role_fetches(requested: &[String], n: u8) -> usize {
    let name = format!("r{n}.json");
    requested
        .iter()
        .map(|l| l.rsplit('/').next().unwrap_or(l))
        .filter(|file| *file == name || file.ends_with(&format!(".{name}")))
        .count()
}

#[test]
fn delegated_roles_checked_ahead_are_fetched_once_and_persisted() {
    let f = six_roles();
    let mirror = Mirror::default();
    let mut client = f.client_via(&mirror);
    client.refresh_at(NOW).unwrap();
    client.load_all_roles().unwrap();
    let requested = mirror.requested.borrow().clone();
    for n in 1..=6 {
        assert_eq!(role_fetches(&requested, n), 1, "r{n}: {requested:?}");
        assert_eq!(
            client.target(&format!("team{n}/file.txt")).unwrap().length,
            2
        );
    }
    let files = trust_files(&f);
    for n in 1..=6 {
        assert!(files.contains(&format!("r{n}.json")), "r{n}: {files:?}");
    }
    // A second client reuses the valid local copies: no role is fetched.
    let again = Mirror::default();
    let mut client = f.client_via(&again);
    client.refresh_at(NOW).unwrap();
    client.load_all_roles().unwrap();
    let requested = again.requested.borrow().clone();
    for n in 1..=6 {
        assert_eq!(role_fetches(&requested, n), 0, "r{n}: {requested:?}");
    }
}

/// `shared` is delegated by the top-level role (key 51) and by `r1` (key
/// 52), and signed with key 51 only. Checked ahead against the top-level
/// delegation it is good; the search meets it through r1 first, and there
/// it must fail, as in the sequential order.
#[test]
fn a_role_checked_ahead_for_the_top_level_is_not_trusted_through_another_delegator() {
    let f = Fixture::new();
    let r = &f.repo;
    r.delegate(
        "targets",
        "r1",
        spec(&[&key(50)], 1),
        vec!["a/*".into()],
        false,
        NOW,
    )
    .unwrap();
    r.delegate(
        "r1",
        "shared",
        spec(&[&key(52)], 1),
        vec!["a/*".into()],
        false,
        NOW,
    )
    .unwrap();
    r.delegate(
        "targets",
        "shared",
        spec(&[&key(51)], 1),
        vec!["b/*".into()],
        false,
        NOW,
    )
    .unwrap();
    f.add_file_to("shared", "b/file.txt", b"shared");
    // Signed as the top-level delegation asks (the repository API checks
    // the signature against that one).
    r.sign("shared", &key(51)).unwrap();
    r.sign("r1", &key(50)).unwrap();
    f.publish();
    let mut client = f.client();
    client.refresh_at(NOW).unwrap();
    let err = client.load_all_roles().unwrap_err();
    assert!(
        matches!(err, TrustError::ThresholdNotMet { ref role, keys: KeySource::Delegator(ref d), .. }
            if role == "shared" && d == "r1"),
        "{err:?}"
    );
}
