//! Interoperability with other TUF implementations, and the cases the
//! external conformance suite (theupdateframework/tuf-conformance) found,
//! kept here so a regression shows without that suite:
//!
//! - repositories written and signed by python-tuf with
//!   ecdsa-sha2-nistp256 and rsassa-pss-sha256 keys sync (fixtures under
//!   `tests/data/interop/`, made once by `make_fixtures.py`; see the README
//!   there), and a wrong but well-formed signature of either type is not
//!   counted;
//! - a role reached through a second delegator is verified against that
//!   delegator's keys (`test_cached_role_is_verified_against_current_delegator`);
//! - a signatures list repeating a key id is refused
//!   (`test_duplicate_sig_keyids`);
//! - a key of a type this client does not know neither invalidates the
//!   metadata nor counts toward its threshold.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use wport_trust::keys::{ParsedKey, key_id_of, parse_key};
use wport_trust::metadata::{KeyRing, RoleKeys, SignatureEntry};
use wport_trust::sync::{init_trust_dir, sync};
use wport_trust::{Client, FileTransport, KeySource, TrustError};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/interop")
        .join(name)
}

/// A fresh trust directory trusting the fixture's root v1.
fn trust_dir_for(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let root = std::fs::read(fixture(name).join("metadata/1.root.json")).unwrap();
    init_trust_dir(&tmp.path().join("trust"), &root).unwrap();
    tmp
}

/// The synced files are the repository's, and pass the check a build
/// makes before using a port (`verify_port`, offline, from the trust
/// directory alone: the delegated role's keys and signatures included).
fn synced_files_match(trust: &Path, repo: &Path) {
    for rel in ["ports/demo/Portfile.toml", "ports/demo/files/fix.diff"] {
        assert_eq!(
            std::fs::read(trust.join("targets").join(rel)).unwrap(),
            std::fs::read(repo.join("targets").join(rel)).unwrap(),
            "{rel}"
        );
    }
    let dir = trust.join("targets/ports/demo");
    let (portfile, patch) = (dir.join("Portfile.toml"), dir.join("files/fix.diff"));
    wport_trust::port::verify_port_at(
        trust,
        "demo",
        &[("Portfile.toml", &portfile), ("files/fix.diff", &patch)],
        NOW,
    )
    .unwrap();
    std::fs::write(&patch, b"--- a/x\n+++ b/x\n+evil\n").unwrap();
    let err = wport_trust::port::verify_port_at(
        trust,
        "demo",
        &[("Portfile.toml", &portfile), ("files/fix.diff", &patch)],
        NOW,
    )
    .unwrap_err();
    assert!(
        matches!(err, TrustError::LengthMismatch { ref what, .. } if what == "ports/demo/files/fix.diff"),
        "{err:?}"
    );
}

/// Every role signed with P-256 keys (root: two of them, threshold 2;
/// snapshot's key under the older keytype spelling `ecdsa-sha2-nistp256`),
/// pretty-printed as python-tuf writes it, consistent snapshots, one
/// delegated role: syncs through the crate's sync API and file transport.
#[test]
fn python_tuf_ecdsa_repository_syncs() {
    let tmp = trust_dir_for("ecdsa");
    let trust = tmp.path().join("trust");
    let repo = fixture("ecdsa");
    let report = sync(&trust, &repo.display().to_string(), FileTransport, NOW).unwrap();
    assert_eq!((report.targets, report.fetched), (2, 2));
    synced_files_match(&trust, &repo);
    // The keys really are what the test claims.
    let root: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo.join("metadata/root.json")).unwrap()).unwrap();
    let types: Vec<&str> = root["signed"]["keys"]
        .as_object()
        .unwrap()
        .values()
        .map(|k| k["keytype"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"ecdsa") && types.contains(&"ecdsa-sha2-nistp256"));
    assert!(types.iter().all(|t| t.starts_with("ecdsa")), "{types:?}");
}

/// Every role signed with 3072-bit RSA-PSS keys (salt = digest length, as
/// securesystemslib signs), the delegated role with the largest salt, and
/// its delegation listing a key of an unknown type too.
#[test]
fn python_tuf_rsa_pss_repository_syncs() {
    let tmp = trust_dir_for("rsa");
    let trust = tmp.path().join("trust");
    let repo = fixture("rsa");
    let report = sync(&trust, &repo.display().to_string(), FileTransport, NOW).unwrap();
    assert_eq!((report.targets, report.fetched), (2, 2));
    synced_files_match(&trust, &repo);
    let targets: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo.join("metadata/targets.json")).unwrap())
            .unwrap();
    let keys = targets["signed"]["delegations"]["keys"]
        .as_object()
        .unwrap();
    let unknown: Vec<_> = keys
        .iter()
        .filter(|(_, k)| k["keytype"] == "x-unknown")
        .collect();
    assert_eq!(unknown.len(), 1);
    assert!(matches!(
        parse_key(unknown[0].0, unknown[0].1).unwrap(),
        ParsedKey::Unsupported { .. }
    ));
}

/// Serves `fixture`'s metadata, except `file` with its first signature
/// replaced by `sig` (hex).
fn with_signature(name: &str, file: &str, sig: &str) -> (tempfile::TempDir, Mirror, String) {
    let tmp = trust_dir_for(name);
    let meta = fixture(name).join("metadata");
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(meta.join(file)).unwrap()).unwrap();
    doc["signatures"][0]["sig"] = sig.into();
    let mirror = Mirror::default();
    let url = meta.display().to_string();
    mirror.serve(
        &format!("{url}/{file}"),
        serde_json::to_vec_pretty(&doc).unwrap(),
    );
    (tmp, mirror, url)
}

fn first_signature(name: &str, file: &str) -> String {
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture(name).join("metadata").join(file)).unwrap())
            .unwrap();
    doc["signatures"][0]["sig"].as_str().unwrap().to_string()
}

/// A signature that is well-formed for the key type (a real signature by
/// another key of the same type over another document, or one bit
/// flipped) is not counted: the timestamp is refused.
#[test]
fn wrong_ecdsa_and_rsa_signatures_are_not_counted() {
    for name in ["ecdsa", "rsa"] {
        let other = first_signature(name, "targets.json");
        let mut flipped = first_signature(name, "timestamp.json").into_bytes();
        let last = flipped.len() - 3;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        for bad in [other, String::from_utf8(flipped).unwrap(), String::new()] {
            let (tmp, mirror, url) = with_signature(name, "timestamp.json", &bad);
            let mut client =
                Client::open(&tmp.path().join("trust/metadata"), &url, &mirror).unwrap();
            let err = client.refresh_at(NOW).unwrap_err();
            assert!(
                matches!(err, TrustError::ThresholdNotMet { ref role, valid: 0, threshold: 1, keys: KeySource::NewRoot, .. } if role == "timestamp"),
                "{name}: {err:?}"
            );
        }
    }
}

/// Root v1 of the ecdsa fixture needs both of its root keys: one bad
/// signature leaves it below threshold when the client is initialised.
#[test]
fn ecdsa_root_threshold_counts_valid_signatures_only() {
    let meta = fixture("ecdsa").join("metadata");
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(meta.join("1.root.json")).unwrap()).unwrap();
    doc["signatures"][1]["sig"] = doc["signatures"][0]["sig"].clone();
    let tmp = tempfile::tempdir().unwrap();
    let err = init_trust_dir(
        &tmp.path().join("trust"),
        &serde_json::to_vec(&doc).unwrap(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            TrustError::ThresholdNotMet {
                valid: 1,
                threshold: 2,
                ..
            }
        ),
        "{err:?}"
    );
}

/// One P-256 key listed under both keytype spellings has two key ids; its
/// two signatures count once (CVE-2020-15093 for ecdsa keys).
#[test]
fn one_ecdsa_key_under_two_spellings_counts_once() {
    use p256::ecdsa::signature::Signer;
    use p256::pkcs8::{EncodePublicKey, LineEnding};
    let signing = p256::ecdsa::SigningKey::from_slice(&[0x42; 32]).unwrap();
    let pem = signing
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let object = |keytype: &str| serde_json::json!({"keytype": keytype, "scheme": "ecdsa-sha2-nistp256", "keyval": {"public": pem}});
    let (a, b) = (object("ecdsa"), object("ecdsa-sha2-nistp256"));
    let (id_a, id_b) = (key_id_of(&a).unwrap(), key_id_of(&b).unwrap());
    assert_ne!(id_a, id_b);
    let ring = KeyRing::new(&[(id_a.clone(), a), (id_b.clone(), b)].into()).unwrap();
    let message = b"signed bytes";
    let sig: p256::ecdsa::Signature = signing.sign(message);
    let der = hex::encode(sig.to_der().as_bytes());
    let sigs = [
        SignatureEntry {
            keyid: id_a.clone(),
            sig: der.clone(),
        },
        SignatureEntry {
            keyid: id_b.clone(),
            sig: der,
        },
    ];
    let rk = |threshold| RoleKeys {
        keyids: vec![id_a.clone(), id_b.clone()],
        threshold,
    };
    ring.check_threshold("snapshot", 1, &rk(1), message, &sigs, KeySource::NewRoot)
        .unwrap();
    let err = ring
        .check_threshold("snapshot", 1, &rk(2), message, &sigs, KeySource::NewRoot)
        .unwrap_err();
    assert!(
        matches!(
            err,
            TrustError::ThresholdNotMet {
                valid: 1,
                threshold: 2,
                ..
            }
        ),
        "{err:?}"
    );
}

/// An RSA key shorter than 2048 bits, or a key object of a type or scheme
/// this client does not know, is kept (its id is still checked) but never
/// verifies; the key types of the specification parse.
#[test]
fn key_types_and_schemes() {
    let weak_pem = std::fs::read_to_string(fixture("rsa-1024.pub.pem")).unwrap();
    let parse = |keytype: &str, scheme: &str, public: &str| {
        let object =
            serde_json::json!({"keytype": keytype, "scheme": scheme, "keyval": {"public": public}});
        parse_key(&key_id_of(&object).unwrap(), &object).unwrap()
    };
    assert!(matches!(
        parse("rsa", "rsassa-pss-sha256", &weak_pem),
        ParsedKey::Unsupported {
            reason: "RSA modulus shorter than 2048 bits"
        }
    ));
    // The same key with another padding scheme is not RSA-PSS.
    assert!(matches!(
        parse("rsa", "rsa-pkcs1v15-sha256", &weak_pem),
        ParsedKey::Unsupported { .. }
    ));
    assert!(matches!(
        parse("ecdsa", "ecdsa-sha2-nistp256", "not pem"),
        ParsedKey::Unsupported { .. }
    ));
    // A P-256 key under an RSA scheme (and the other way round) is refused.
    let root: serde_json::Value = serde_json::from_slice(
        &std::fs::read(fixture("ecdsa").join("metadata/root.json")).unwrap(),
    )
    .unwrap();
    let p256_pem = root["signed"]["keys"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()["keyval"]["public"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(matches!(
        parse("ecdsa", "ecdsa-sha2-nistp256", &p256_pem),
        ParsedKey::EcdsaP256(_)
    ));
    assert!(matches!(
        parse("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256", &p256_pem),
        ParsedKey::EcdsaP256(_)
    ));
    assert!(matches!(
        parse("rsa", "rsassa-pss-sha256", &p256_pem),
        ParsedKey::Unsupported { .. }
    ));
    assert!(matches!(
        parse("ecdsa", "ecdsa-sha2-nistp384", &p256_pem),
        ParsedKey::Unsupported { .. }
    ));
    assert!(matches!(
        parse("ed25519", "ed25519-sha512", "00"),
        ParsedKey::Unsupported { .. }
    ));
    assert!(!parse("x-unknown", "x", "00").verify(b"m", b""));
}

/// Root v2 lists a key of an unknown type among the timestamp keys (and
/// signs nothing with it): the metadata is accepted, the threshold is met
/// by the usable key. With threshold 2 the unknown key cannot make up the
/// difference, even carrying a "signature".
#[test]
fn unknown_key_type_is_unusable_but_harmless() {
    for (threshold, ok) in [(1, true), (2, false)] {
        let f = Fixture::new();
        let unknown = serde_json::json!({"keytype": "x-quantum", "scheme": "x-quantum", "keyval": {"public": "abcd"}});
        let unknown_id = key_id_of(&unknown).unwrap();
        f.repo
            .edit_root(NOW, |root| {
                root.keys.insert(unknown_id.clone(), unknown.clone());
                let ts = root.roles.get_mut("timestamp").unwrap();
                ts.keyids.push(unknown_id.clone());
                ts.threshold = threshold;
                Ok(())
            })
            .unwrap();
        for k in &f.root {
            f.repo.sign("root", k).unwrap();
        }
        f.repo.timestamp(&f.timestamp, NOW).unwrap();
        if !ok {
            // Add an entry for the unknown key: it must not count.
            let mut doc: serde_json::Value =
                serde_json::from_slice(&f.read("timestamp.json")).unwrap();
            doc["signatures"]
                .as_array_mut()
                .unwrap()
                .push(serde_json::json!({"keyid": unknown_id, "sig": "abcd"}));
            f.write("timestamp.json", &serde_json::to_vec(&doc).unwrap());
        }
        let result = f.client().refresh_at(NOW);
        if ok {
            result.unwrap();
        } else {
            let err = result.unwrap_err();
            assert!(
                matches!(err, TrustError::ThresholdNotMet { ref role, valid: 1, threshold: 2, .. } if role == "timestamp"),
                "{err:?}"
            );
        }
    }
}

/// The conformance suite's duplicate-signature case on snapshot: the one
/// valid signature appended a second time. Refused, and the snapshot is
/// not trusted.
#[test]
fn snapshot_with_a_repeated_signature_is_refused() {
    let f = Fixture::new();
    let mut doc: serde_json::Value = serde_json::from_slice(&f.read("snapshot.json")).unwrap();
    let first = doc["signatures"][0].clone();
    doc["signatures"].as_array_mut().unwrap().push(first);
    f.write("snapshot.json", &serde_json::to_vec(&doc).unwrap());
    f.retimestamp_for_current_snapshot();
    let err = f.client().refresh_at(NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::DuplicateSignatureKeyId { ref document, ref key_id }
            if document == "snapshot.json" && *key_id == f.snapshot.key_id()),
        "{err:?}"
    );
    assert!(!exists(&f.trust_dir().join("metadata/snapshot.json")));
}

/// A diamond: targets delegates `team-a/*` to parent-a and `team-b/*` to
/// parent-b; each delegates the same paths to one role, `release`, with a
/// key of its own. `release` is signed with parent-a's release key only.
/// Reached through parent-a it is trusted; reached through parent-b — in
/// the same client, after it was loaded and verified through parent-a —
/// it must meet parent-b's keys and does not.
fn diamond(sign_with_b_key_too: bool) -> Fixture {
    let f = Fixture::new();
    let (pa, pb, ra, rb) = (key(20), key(21), key(22), key(23));
    let r = &f.repo;
    // parent-b is delegated first: the repository API authorises a
    // signature on `release` by the delegator its delegation walk meets
    // first, which is then parent-a.
    r.delegate(
        "targets",
        "parent-b",
        spec(&[&pb], 1),
        vec!["team-b/*".into()],
        false,
        NOW,
    )
    .unwrap();
    r.delegate(
        "targets",
        "parent-a",
        spec(&[&pa], 1),
        vec!["team-a/*".into()],
        false,
        NOW,
    )
    .unwrap();
    r.delegate(
        "parent-a",
        "release",
        spec(&[&ra], 1),
        vec!["team-a/*".into()],
        false,
        NOW,
    )
    .unwrap();
    r.delegate(
        "parent-b",
        "release",
        spec(&[&rb], 1),
        vec!["team-b/*".into()],
        false,
        NOW,
    )
    .unwrap();
    f.add_file_to("release", "team-a/trusted.json", b"trusted A");
    f.add_file_to("release", "team-b/trusted.json", b"malicious B");
    r.sign("release", &ra).unwrap();
    if sign_with_b_key_too {
        // The repository API signs with the first delegator's keys only;
        // add parent-b's release key signature by hand.
        let raw = std::fs::read(f.meta().join("release.json")).unwrap();
        let signed = wport_trust::metadata::add_signature(&raw, &rb).unwrap();
        std::fs::write(f.meta().join("release.json"), signed).unwrap();
    }
    r.sign("parent-a", &pa).unwrap();
    r.sign("parent-b", &pb).unwrap();
    f.publish();
    f
}

#[test]
fn cached_role_is_verified_against_current_delegator() {
    let f = diamond(false);
    let mut client = f.client();
    client.refresh_at(NOW).unwrap();
    assert_eq!(client.target("team-a/trusted.json").unwrap().length, 9);
    let err = client.target("team-b/trusted.json").unwrap_err();
    assert!(
        matches!(err, TrustError::ThresholdNotMet { ref role, valid: 0, threshold: 1, keys: KeySource::Delegator(ref d), .. }
            if role == "release" && d == "parent-b"),
        "{err:?}"
    );
    // Asked first, before the role was loaded through parent-a: the same.
    let mut client = f.client();
    client.refresh_at(NOW).unwrap();
    let err = client.target("team-b/trusted.json").unwrap_err();
    assert!(
        matches!(err, TrustError::ThresholdNotMet { ref role, keys: KeySource::Delegator(ref d), .. }
            if role == "release" && d == "parent-b"),
        "{err:?}"
    );
    // Enumerating every role follows both delegations and refuses too, so
    // a sync stores nothing from it.
    let mut client = f.client();
    client.refresh_at(NOW).unwrap();
    let err = client.load_all_roles().unwrap_err();
    assert!(
        matches!(err, TrustError::ThresholdNotMet { ref role, keys: KeySource::Delegator(ref d), .. }
            if role == "release" && d == "parent-b"),
        "{err:?}"
    );
    let err = sync(&f.trust_dir(), &f.repo_url(), FileTransport, NOW).unwrap_err();
    assert!(
        matches!(err, TrustError::ThresholdNotMet { ref role, .. } if role == "release"),
        "{err:?}"
    );
    assert!(!exists(&f.trust_dir().join("targets/team-b/trusted.json")));
}

/// Signed with both delegators' release keys, the role is trusted through
/// both, for the paths each delegates.
#[test]
fn role_signed_for_both_delegators_is_trusted_through_both() {
    let f = diamond(true);
    // Top-level targets sorting before and after the delegated ones.
    f.add_file("a/first.txt", b"first");
    f.add_file("zz/last.txt", b"last");
    f.publish();
    let mut client = f.client();
    client.refresh_at(NOW).unwrap();
    client.target("team-b/trusted.json").unwrap();
    client.target("team-a/trusted.json").unwrap();
    // Every target, sorted by path: the top-level role's and the delegated
    // roles' lists merged.
    client.load_all_roles().unwrap();
    let paths: Vec<&str> = client
        .trusted_targets()
        .unwrap()
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(
        paths,
        [
            "a/first.txt",
            "ports/zlib/Portfile.toml",
            "ports/zlib/files/fix.diff",
            "team-a/trusted.json",
            "team-b/trusted.json",
            "zz/last.txt"
        ]
    );
    let report = sync(&f.trust_dir(), &f.repo_url(), FileTransport, NOW).unwrap();
    assert_eq!(report.targets, 6);
    assert_eq!(
        std::fs::read(f.trust_dir().join("targets/team-b/trusted.json")).unwrap(),
        b"malicious B"
    );
}
