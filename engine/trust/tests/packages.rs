//! Binary packages as targets of a delegated builders role: `sync` leaves
//! them (and the role) alone; [`find_binary`] finds one by its inputs,
//! explains a miss, and refuses a builders role below its threshold or
//! rolled back.

mod common;

use std::collections::BTreeMap;

use common::*;
use wport_trust::TrustError;
use wport_trust::packages::{Inputs, Lookup, PackageTarget, Unavailable, find_binary};
use wport_trust::sync::sync;

fn lua() -> PackageTarget {
    PackageTarget {
        name: "lua".into(),
        version: "5.4.4".into(),
        revision: 0,
        inputs: Inputs {
            portfile_sha256: "1".repeat(64),
            component_sha256: "2".repeat(64),
            sources: vec!["3".repeat(64)],
            prefix: "/opt/wport".into(),
            dependencies: BTreeMap::from([("readline".to_string(), "4".repeat(64))]),
        },
    }
}

/// The fixture's repository with a builders role (keys 7 and 8,
/// `threshold`) for `packages/*/*` listing lua's package, signed by
/// `signers` of them.
fn with_builders(threshold: u64, signers: &[u8]) -> Fixture {
    let f = Fixture::new();
    let (b1, b2) = (key(7), key(8));
    f.repo
        .delegate(
            "targets",
            "builders",
            spec(&[&b1, &b2], threshold),
            vec!["packages/*/*".into()],
            false,
            NOW,
        )
        .unwrap();
    add_package(&f, &lua(), b"a lua package");
    for n in signers {
        f.repo.sign("builders", &key(*n)).unwrap();
    }
    f
}

fn add_package(f: &Fixture, p: &PackageTarget, bytes: &[u8]) {
    let src = f.tmp.path().join(format!("{}.wpkg", p.label()));
    std::fs::write(&src, bytes).unwrap();
    f.repo
        .add_targets_with_custom(
            "builders",
            &[(p.path().unwrap(), src, Some(p.custom()))],
            NOW,
        )
        .unwrap();
}

fn find(f: &Fixture, p: &PackageTarget) -> Result<Lookup, TrustError> {
    find_binary(
        &f.trust_dir(),
        &f.repo_url(),
        wport_trust::FileTransport,
        p,
        NOW,
    )
}

#[test]
fn sync_skips_packages_and_the_lookup_finds_them_on_demand() {
    let f = with_builders(2, &[7, 8]);
    f.publish();
    let report = sync(
        &f.trust_dir(),
        &f.repo_url(),
        wport_trust::FileTransport,
        NOW,
    )
    .unwrap();
    // Two port files; the package is not a bulk target.
    assert_eq!(report.targets, 2);
    assert!(!f.trust_dir().join("targets/packages").exists());
    assert!(!f.trust_dir().join("metadata/builders.json").exists());

    let Lookup::Found(b) = find(&f, &lua()).unwrap() else {
        panic!("lua's binary is published");
    };
    assert_eq!(b.path, lua().path().unwrap());
    assert_eq!(b.target.length, b"a lua package".len() as u64);
    assert_eq!(b.package, lua());
    let mut ids: Vec<String> = b.signers.iter().map(|k| k.key_id()).collect();
    ids.sort();
    let mut want = vec![key(7).key_id(), key(8).key_id()];
    want.sort();
    assert_eq!(ids, want);
    // The builders role was verified and cached on the way.
    assert!(f.trust_dir().join("metadata/builders.json").exists());
}

#[test]
fn a_miss_says_which_inputs_differ() {
    let f = with_builders(1, &[7]);
    f.publish();
    sync(
        &f.trust_dir(),
        &f.repo_url(),
        wport_trust::FileTransport,
        NOW,
    )
    .unwrap();
    let mut other = lua();
    other
        .inputs
        .dependencies
        .insert("readline".into(), "5".repeat(64));
    let Lookup::Unavailable(Unavailable::Stale(list)) = find(&f, &other).unwrap() else {
        panic!("a binary of lua with other inputs is published");
    };
    assert_eq!(
        list,
        [(
            "lua-5.4.4_0".to_string(),
            vec!["dependency readline".to_string()]
        )]
    );
    let mut zlib = lua();
    zlib.name = "zlib".into();
    assert!(matches!(
        find(&f, &zlib).unwrap(),
        Lookup::Unavailable(Unavailable::None)
    ));
}

#[test]
fn a_builders_role_below_its_threshold_is_refused() {
    let f = with_builders(2, &[7]);
    // `Repository::snapshot` refuses such a role; a hostile repository
    // serves one anyway.
    assert!(matches!(
        f.repo.snapshot(&f.snapshot, NOW, false),
        Err(TrustError::ThresholdNotMet { .. })
    ));
    for k in &f.targets {
        f.repo.sign("targets", k).unwrap();
    }
    let mut s = f.snapshot_signed();
    s.version += 1;
    for role in ["targets", "builders"] {
        let raw = f.read(&format!("{role}.json"));
        let doc: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        s.meta.insert(
            format!("{role}.json"),
            wport_trust::metadata::MetaFile {
                version: doc["signed"]["version"].as_u64().unwrap(),
                length: Some(raw.len() as u64),
                hashes: Some(
                    [(
                        "sha256".to_string(),
                        wport_trust::metadata::sha256_hex(&raw),
                    )]
                    .into(),
                ),
            },
        );
    }
    f.write_snapshot(&s);
    // The ports tree syncs: the builders role is not loaded by sync.
    sync(
        &f.trust_dir(),
        &f.repo_url(),
        wport_trust::FileTransport,
        NOW,
    )
    .unwrap();
    let err = find(&f, &lua()).unwrap_err();
    assert!(
        matches!(
            &err,
            TrustError::ThresholdNotMet { role, valid: 1, threshold: 2, .. } if role == "builders"
        ),
        "{err:?}"
    );
}

#[test]
fn an_older_builders_role_is_refused() {
    let f = with_builders(1, &[7]);
    f.publish();
    let old = f.read("builders.json");
    let mut newer = lua();
    newer.revision = 1;
    add_package(&f, &newer, b"lua revision 1");
    f.repo.sign("builders", &key(7)).unwrap();
    f.publish();
    sync(
        &f.trust_dir(),
        &f.repo_url(),
        wport_trust::FileTransport,
        NOW,
    )
    .unwrap();
    // The repository serves the previous builders.json again.
    f.write("builders.json", &old);
    let err = find(&f, &lua()).unwrap_err();
    assert!(
        matches!(
            err,
            TrustError::LengthMismatch { .. }
                | TrustError::DigestMismatch { .. }
                | TrustError::VersionMismatch { .. }
        ),
        "{err:?}"
    );
}
