//! The pipelined refresh (client.rs `verify_decode_stage`): a targets
//! document pinned by a hash in the verified snapshot is parsed while its
//! signatures are checked and its copy is written on a second thread.
//! Whatever fails, the error is the one the sequential order gives and the
//! trust directory gains neither the document nor a temporary file.

mod common;

use common::{Fixture, NOW};
use wport_trust::TrustError;
use wport_trust::metadata::sign_document;

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
