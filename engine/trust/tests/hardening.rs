//! Issue 11 item 15: unsigned metadata is bounded by size and refused by
//! signature before it is parsed into typed structures, and a damaged local
//! timestamp or snapshot (the client's rollback reference) is refused, never
//! treated as absent. Each test asserts the precise `TrustError`.

mod common;

use common::*;
use wport_trust::metadata::{MetaList, Root, SignatureEntry, sign_document};
use wport_trust::{KeySource, Limits, TrustError};

/// A snapshot (and timestamp over it) that pins no length or hash for
/// targets.json: the client falls back to `Limits::targets`.
fn unpin_targets(f: &Fixture) {
    let mut s = f.snapshot_signed();
    s.version += 1;
    let m = s.meta.get_mut("targets.json").unwrap();
    m.length = None;
    m.hashes = None;
    f.write_snapshot(&s);
}

/// A timestamp that pins no length or hash for snapshot.json.
fn unpin_snapshot(f: &Fixture) {
    let mut t = f.timestamp_signed();
    t.version += 1;
    let m = t.meta.get_mut("snapshot.json").unwrap();
    m.length = None;
    m.hashes = None;
    f.write_timestamp(&t);
}

/// Unpinned documents larger than the conservative defaults are refused
/// while being read. The bytes served are not JSON at all, so `TooLarge`
/// (and not `Malformed`) shows nothing parsed them.
#[test]
fn oversized_unpinned_metadata_refused_by_size_before_any_parse() {
    let defaults = Limits::default();
    assert_eq!(defaults.timestamp, 16 << 10);
    assert_eq!(defaults.snapshot, 2 << 20);
    assert_eq!(defaults.targets, 8 << 20);

    let f = Fixture::new();
    unpin_targets(&f);
    let mirror = Mirror::default();
    mirror.serve(
        &f.loc("targets.json"),
        vec![b'x'; defaults.targets as usize + 1],
    );
    let err = f.client_via(&mirror).refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::TooLarge { ref what, limit } if what.ends_with("/targets.json") && limit == 8 << 20),
        "{err:?}"
    );

    let f = Fixture::new();
    unpin_snapshot(&f);
    let mirror = Mirror::default();
    mirror.serve(
        &f.loc("snapshot.json"),
        vec![b'x'; defaults.snapshot as usize + 1],
    );
    let err = f.client_via(&mirror).refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::TooLarge { ref what, limit } if what.ends_with("/snapshot.json") && limit == 2 << 20),
        "{err:?}"
    );

    // The same bound applies to a local copy in the trust directory (which
    // is then refused as damaged: it is the rollback reference).
    let f = Fixture::new();
    f.client().refresh_at(NOW).unwrap();
    let local = f.trust_dir().join("metadata/timestamp.json");
    std::fs::write(&local, vec![b' '; (16 << 10) + 1]).unwrap();
    let err = f.client().refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::LocalMetadataInvalid { ref source, .. } if matches!(**source, TrustError::TooLarge { limit: 16384, .. })),
        "{err:?}"
    );
}

/// A document whose `signed` is well-formed JSON of the right `_type` and
/// `version` but nothing like typed targets metadata: signed by a key the
/// root does not trust, it is refused for its signatures. Before the fix
/// the typed parse ran first and reported `Malformed` — after allocating
/// whatever the document described (58 MB -> 1.2 GB RSS).
#[test]
fn unsigned_metadata_refused_by_signature_before_typed_parse() {
    let f = Fixture::new();
    unpin_targets(&f);
    let attacker = key(66);
    // Not a valid `Targets`: `targets` is a list of strings, `expires` a
    // number, `spec_version` missing; about 3 MB, under the 8 MiB bound.
    let junk: Vec<String> = (0..150_000)
        .map(|i| format!("ports/junk/entry-{i:08}"))
        .collect();
    let signed = serde_json::json!({
        "_type": "targets",
        "version": 2,
        "expires": 7,
        "targets": junk,
    });
    let doc = sign_document(&signed, &[&attacker]).unwrap();
    assert!(doc.len() > 2 << 20 && doc.len() < 8 << 20, "{}", doc.len());
    let mirror = Mirror::default();
    mirror.serve(&f.loc("targets.json"), doc);
    let err = f.client_via(&mirror).refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::ThresholdNotMet { ref role, version: 2, valid: 0, threshold: 2, keys: KeySource::NewRoot } if role == "targets"),
        "{err:?}"
    );

    // The same for a root chain link: checked against the trusted root's
    // keys before its `keys` and `roles` are parsed.
    let f = Fixture::new();
    let signed = serde_json::json!({
        "_type": "root",
        "version": 2,
        "keys": ["not", "a", "map"],
        "roles": 0,
    });
    let mirror = Mirror::default();
    mirror.serve(
        &f.loc("2.root.json"),
        sign_document(&signed, &[&attacker]).unwrap(),
    );
    let err = f.client_via(&mirror).refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::ThresholdNotMet { ref role, version: 2, valid: 0, keys: KeySource::TrustedRoot, .. } if role == "root"),
        "{err:?}"
    );

    // `_type` and `version` are all that is read before the signatures: a
    // document of another type is refused as such, cheaply.
    let f = Fixture::new();
    let mirror = Mirror::default();
    mirror.serve(&f.loc("timestamp.json"), f.read("snapshot.json"));
    let err = f.client_via(&mirror).refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::WrongType { ref expected, ref found } if expected == "timestamp" && found == "snapshot"),
        "{err:?}"
    );
}

/// An authorised key id repeated with bad signatures costs no
/// verification at all (each would hash the whole document): a signatures
/// list naming a key id twice is refused while the envelope is split, as
/// spec 4.2 requires (key ids there MUST be unique). Keys listed under
/// several ids are tried once each (`attacks.rs::same_key_counted_once`).
#[test]
fn each_key_is_tried_once_per_document() {
    let f = Fixture::new();
    let mut t: MetaList = f.timestamp_signed();
    t.version += 1;
    let good: serde_json::Value =
        serde_json::from_slice(&sign_document(&t, &[&f.timestamp]).unwrap()).unwrap();
    let good_sig: SignatureEntry = serde_json::from_value(good["signatures"][0].clone()).unwrap();
    let mut bad_sigs: Vec<SignatureEntry> = (0..50)
        .map(|_| SignatureEntry {
            keyid: good_sig.keyid.clone(),
            sig: "00".repeat(64),
        })
        .collect();
    bad_sigs.push(good_sig.clone());
    let doc = serde_json::json!({"signed": good["signed"], "signatures": bad_sigs});
    let mirror = Mirror::default();
    mirror.serve(&f.loc("timestamp.json"), serde_json::to_vec(&doc).unwrap());
    let err = f.client_via(&mirror).refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::DuplicateSignatureKeyId { ref document, ref key_id }
            if document == "timestamp.json" && *key_id == good_sig.keyid),
        "{err:?}"
    );
    // The good signature alone is counted.
    let doc = serde_json::json!({"signed": good["signed"], "signatures": [good_sig]});
    let mirror = Mirror::default();
    mirror.serve(&f.loc("timestamp.json"), serde_json::to_vec(&doc).unwrap());
    f.client_via(&mirror).refresh_at(NOW).unwrap();
}

/// A client that trusts version 2 of everything.
fn client_at_v2() -> (Fixture, Vec<(&'static str, Vec<u8>)>) {
    let f = Fixture::new();
    let v1: Vec<(&str, Vec<u8>)> = ["timestamp.json", "snapshot.json", "targets.json"]
        .into_iter()
        .map(|n| (n, f.read(n)))
        .collect();
    f.add_file("ports/zlib/files/second.diff", b"second");
    f.publish();
    let mut c = f.client();
    c.refresh_at(NOW).unwrap();
    assert_eq!(c.timestamp().unwrap().0.version, 2);
    assert_eq!(c.targets().unwrap().version, 2);
    (f, v1)
}

fn local(f: &Fixture, file: &str) -> std::path::PathBuf {
    f.trust_dir().join("metadata").join(file)
}

fn truncate_to_half(p: &std::path::Path) {
    let bytes = std::fs::read(p).unwrap();
    std::fs::write(p, &bytes[..bytes.len() / 2]).unwrap();
}

fn truncate_to_zero(p: &std::path::Path) {
    std::fs::write(p, b"").unwrap();
}

fn assert_local_invalid(err: &TrustError, file: &str) {
    assert!(
        matches!(err, TrustError::LocalMetadataInvalid { path, source } if path.ends_with(file) && matches!(**source, TrustError::Malformed { .. })),
        "{err:?}"
    );
}

/// What a crash used to leave (only root.json was fsynced): torn or empty
/// timestamp.json and snapshot.json. Treated as absent, they let a mirror
/// serve the older, still unexpired version 1 of everything, and it was
/// accepted. Now the damaged reference is refused, during a refresh and
/// when a build loads the metadata offline.
#[test]
fn torn_local_timestamp_does_not_allow_rollback() {
    for damage in [truncate_to_half, truncate_to_zero] {
        for torn in [
            &["timestamp.json", "snapshot.json"][..],
            &["timestamp.json"],
        ] {
            let (f, v1) = client_at_v2();
            for file in torn {
                damage(&local(&f, file));
            }
            let mirror = Mirror::default();
            for (name, bytes) in v1 {
                mirror.serve(&f.loc(name), bytes);
            }
            let err = f.client_via(&mirror).refresh_at(NOW).unwrap_err();
            assert_local_invalid(&err, "timestamp.json");
            let err = f.client().load_offline(NOW).unwrap_err();
            assert_local_invalid(&err, "timestamp.json");
            // Nothing was replaced: the damaged file is still there.
            assert!(local(&f, "timestamp.json").exists());
        }
    }
}

/// A torn snapshot.json next to an intact timestamp: with the online
/// snapshot and timestamp keys an attacker publishes snapshot v3 listing
/// the older targets v1. The trusted snapshot is what refuses that
/// (`Rollback{targets.json}`); treated as absent, targets v1 was accepted.
#[test]
fn torn_local_snapshot_does_not_allow_rollback() {
    for damage in [truncate_to_half, truncate_to_zero] {
        let (f, v1) = client_at_v2();
        // The attack works against an intact snapshot first: refused.
        let (_, old_targets) = v1.iter().find(|(n, _)| *n == "targets.json").unwrap();
        f.write("targets.json", old_targets);
        let mut s = f.snapshot_signed();
        s.version += 1;
        let m = s.meta.get_mut("targets.json").unwrap();
        m.version = 1;
        m.length = Some(old_targets.len() as u64);
        m.hashes = Some(
            [(
                "sha256".to_string(),
                wport_trust::metadata::sha256_hex(old_targets),
            )]
            .into(),
        );
        f.write_snapshot(&s);
        let err = f.client().refresh_at(NOW).unwrap_err();
        assert!(
            matches!(err, TrustError::Rollback { ref role, trusted: 2, offered: 1 } if role == "targets.json"),
            "{err:?}"
        );
        damage(&local(&f, "snapshot.json"));
        let err = f.client().refresh_at(NOW).unwrap_err();
        assert_local_invalid(&err, "snapshot.json");
        let err = f.client().load_offline(NOW).unwrap_err();
        assert_local_invalid(&err, "snapshot.json");
    }
}

/// A local timestamp whose signature no longer verifies (edited on disk)
/// is refused too, and names the signature failure.
#[test]
fn local_timestamp_with_bad_signature_refused() {
    let (f, _) = client_at_v2();
    let p = local(&f, "timestamp.json");
    let text = std::fs::read_to_string(&p).unwrap();
    let edited = text.replacen("\"version\":2", "\"version\":9", 1);
    assert_ne!(text, edited);
    std::fs::write(&p, edited).unwrap();
    let err = f.client().refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::LocalMetadataInvalid { ref path, ref source } if path.ends_with("timestamp.json") && matches!(**source, TrustError::ThresholdNotMet { ref role, valid: 0, .. } if role == "timestamp")),
        "{err:?}"
    );
}

/// A damaged local targets.json is only a cache (the trusted snapshot pins
/// its version and hash): it is fetched again and the refresh succeeds.
#[test]
fn torn_local_targets_is_fetched_again() {
    let f = Fixture::new();
    f.client().refresh_at(NOW).unwrap();
    truncate_to_half(&f.trust_dir().join("metadata/targets.json"));
    let mut c = f.client();
    c.refresh_at(NOW).unwrap();
    assert_eq!(c.targets().unwrap().version, 1);
    assert_eq!(
        std::fs::read(f.trust_dir().join("metadata/targets.json")).unwrap(),
        f.read("targets.json")
    );
}

/// A key rotation of timestamp and snapshot deletes their trusted copies
/// (spec 5.3.11) before the new root is persisted, so the new root never
/// sits next to a timestamp its keys cannot verify (which would now be
/// refused as damaged).
#[test]
fn rotation_deletes_old_timestamp_before_persisting_new_root() {
    let f = Fixture::new();
    f.client().refresh_at(NOW).unwrap();
    let new_ts = key(16);
    f.repo
        .set_role_keys("timestamp", spec(&[&new_ts], 1), NOW)
        .unwrap();
    for k in &f.root {
        f.repo.sign("root", k).unwrap();
    }
    // The repository has not published a timestamp with the new key yet:
    // the update stops at the timestamp, after the root chain.
    let err = f.client().refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::ThresholdNotMet { ref role, .. } if role == "timestamp"),
        "{err:?}"
    );
    let meta = f.trust_dir().join("metadata");
    let root: Root = wport_trust::metadata::parse_envelope(
        std::fs::read(meta.join("root.json")).unwrap(),
        "root",
    )
    .unwrap()
    .signed;
    assert_eq!(root.version, 2);
    assert!(!meta.join("timestamp.json").exists());
    assert!(!meta.join("snapshot.json").exists());
    f.repo.timestamp(&new_ts, NOW).unwrap();
    f.client().refresh_at(NOW).unwrap();
}
