//! k of n builders: a signed binary is installed only when at least the
//! builders role's threshold of distinct builder keys attest the same
//! payload digest as the published package (docs/TRUST.md, "k of n
//! builders").
//!
//! The builders role's metadata threshold says that k builder keys agreed
//! to *list* a target; it does not say that k machines *built* it. A
//! single builder that is compromised (or simply non-reproducible) signs
//! its own package, and the others would co-sign a listing they never
//! rebuilt. Here each builder attests, with its own key, the payload digest
//! of its own build of the same inputs (its provenance attestation,
//! `wport_registry::attestation`); the publisher carries them in the
//! target's `custom` field, covered by the role's signed metadata. The
//! client counts the builder keys whose valid attestation names the
//! target's payload digest and refuses the binary below the threshold,
//! naming who agreed and who attested something else.

use std::collections::BTreeMap;

use wport_registry::attestation;
use wport_trust::KeyId;
use wport_trust::packages::Binary;

/// The builders that agreed, when enough did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    pub role: String,
    pub threshold: u64,
    /// Builder key ids whose attestation names the payload digest, sorted.
    pub agree: Vec<KeyId>,
}

/// Too few independent builders attest the published package's digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{label} ({path}): {} of the {threshold} builder key(s) the {role} role requires attest its \
     payload sha256 {payload}{}{}{}",
    agree.len(),
    said("agreeing", agree.iter().map(|k| k.to_string()).collect()),
    said("disagreeing", disagree.iter().map(|(k, d)| format!("{k} (attests sha256 {d})")).collect()),
    said("not counted", invalid.clone()),
)]
pub struct QuorumNotMet {
    pub label: String,
    pub path: String,
    pub role: String,
    pub threshold: u64,
    /// The payload digest the target records ("(not recorded)" when none).
    pub payload: String,
    /// Builder keys that attest `payload`, sorted.
    pub agree: Vec<KeyId>,
    /// Builder keys that attest another digest, with it.
    pub disagree: Vec<(KeyId, String)>,
    /// Attestations that did not count, and why (bad signature, not a
    /// builder's key, another package, malformed).
    pub invalid: Vec<String>,
}

fn said(what: &str, items: Vec<String>) -> String {
    if items.is_empty() {
        String::new()
    } else {
        format!("; {what}: {}", items.join(", "))
    }
}

/// Decides whether `binary` has its quorum of builders.
///
/// Counted: each distinct key of the builders role that validly signed
/// (DSSE over the statement) an attestation whose subject is this package
/// (`NAME-VERSION_REVISION/payload.tar.zst`) with the target's payload
/// sha256. A key that attests two different digests for the same package
/// is counted as disagreeing only: a builder contradicting itself vouches
/// for nothing.
pub fn check(binary: &Binary) -> Result<Agreement, Box<QuorumNotMet>> {
    let label = binary.package.label();
    let subject = format!("{label}/payload.tar.zst");
    let (payload, envelopes) = wport_trust::packages::attestations_of(&binary.target);
    let (role, threshold, keys) = match &binary.builders {
        Some(b) => (b.role.clone(), b.threshold, b.keys.clone()),
        None => ("(none)".to_owned(), 1, Vec::new()),
    };
    let mut by_key: BTreeMap<KeyId, Vec<String>> = BTreeMap::new();
    let mut invalid = Vec::new();
    for (i, env) in envelopes.iter().enumerate() {
        let what = format!("attestation {} of {}", i + 1, binary.path);
        let bytes = serde_json::to_vec(env).unwrap_or_default();
        let a = match attestation::open(&bytes, &keys, &what) {
            Ok(a) => a,
            Err(e) => {
                invalid.push(e.to_string());
                continue;
            }
        };
        let name = a
            .statement
            .subject
            .first()
            .map(|s| s.name.clone())
            .unwrap_or_default();
        if name != subject {
            invalid.push(format!("{what}: its subject is {name:?}, not {subject:?}"));
            continue;
        }
        let digest = a.subject_sha256().unwrap_or_default().to_owned();
        for k in a.signers {
            let seen = by_key.entry(k).or_default();
            if !seen.contains(&digest) {
                seen.push(digest.clone());
            }
        }
    }
    let payload_shown = payload.clone().unwrap_or_else(|| "(not recorded)".into());
    let mut agree = Vec::new();
    let mut disagree = Vec::new();
    for (k, digests) in by_key {
        match (payload.as_deref(), digests.as_slice()) {
            (Some(p), [only]) if only == p => agree.push(k),
            _ => {
                for d in digests {
                    if Some(d.as_str()) != payload.as_deref() {
                        disagree.push((k.clone(), d));
                    }
                }
            }
        }
    }
    if payload.is_some() && binary.builders.is_some() && agree.len() as u64 >= threshold {
        return Ok(Agreement {
            role,
            threshold,
            agree,
        });
    }
    if binary.builders.is_none() {
        invalid.push("no top-level role is delegated this path".into());
    }
    Err(Box::new(QuorumNotMet {
        label,
        path: binary.path.clone(),
        role,
        threshold,
        payload: payload_shown,
        agree,
        disagree,
        invalid,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use wport_registry::Manifest;
    use wport_registry::attestation::BuildFacts;
    use wport_registry::manifest::{FORMAT, Payload, Provenance};
    use wport_trust::SecretKey;
    use wport_trust::metadata::TargetFile;
    use wport_trust::packages::{BuilderQuorum, Inputs, PackageTarget};

    fn key(n: u8) -> SecretKey {
        SecretKey::from_seed(&[n; 32]).unwrap()
    }

    fn manifest(name: &str, payload: &str) -> Manifest {
        Manifest {
            format: FORMAT.into(),
            name: name.into(),
            version: "1.0".into(),
            revision: 0,
            prefix: "/opt/wport".into(),
            dependencies: vec![],
            source_date_epoch: 0,
            payload: Payload {
                sha256: payload.into(),
                size: 1,
            },
            files: vec![],
            symlinks: vec![],
            directories: vec![],
            provenance: Provenance {
                mediated_calls_sha256: attestation::calls_sha256(&[]),
                ..Provenance::default()
            },
        }
    }

    /// An attestation by `k` that `name`'s payload is `payload`.
    fn att(k: &SecretKey, name: &str, payload: &str) -> serde_json::Value {
        let s = attestation::statement(
            &manifest(name, payload),
            &BuildFacts::default(),
            &k.key_id(),
        );
        serde_json::from_slice(&attestation::sign(&s, k).unwrap()).unwrap()
    }

    /// A found `lib` binary whose payload is `payload`, carrying `atts`,
    /// of a builders role of keys 1, 2 and 3 with `threshold`.
    fn binary(payload: Option<&str>, atts: Vec<serde_json::Value>, threshold: u64) -> Binary {
        let package = PackageTarget {
            name: "lib".into(),
            version: "1.0".into(),
            revision: 0,
            inputs: Inputs {
                portfile_sha256: "a".repeat(64),
                component_sha256: "b".repeat(64),
                sources: vec![],
                prefix: "/opt/wport".into(),
                dependencies: BTreeMap::new(),
            },
        };
        let custom = match payload {
            Some(p) => package.custom_attested(p, &atts),
            None => package.custom(),
        };
        Binary {
            path: package.path().unwrap(),
            target: TargetFile {
                length: 1,
                hashes: [("sha256".to_string(), "c".repeat(64))].into(),
                custom: Some(custom),
            },
            package,
            signers: vec![],
            consistent: false,
            builders: Some(BuilderQuorum {
                role: "builders".into(),
                threshold,
                keys: (1..=3).map(|n| key(n).public().clone()).collect(),
            }),
        }
    }

    #[test]
    fn the_threshold_of_distinct_builder_keys_must_attest_the_payload() {
        let (p, q) = ("1".repeat(64), "2".repeat(64));
        // Two builders agree: threshold 2 met.
        let b = binary(
            Some(&p),
            vec![att(&key(1), "lib", &p), att(&key(2), "lib", &p)],
            2,
        );
        let mut both = vec![key(1).key_id(), key(2).key_id()];
        both.sort();
        assert_eq!(check(&b).unwrap().agree, both);
        // The same builder twice is one builder.
        let b = binary(
            Some(&p),
            vec![att(&key(1), "lib", &p), att(&key(1), "lib", &p)],
            2,
        );
        let e = check(&b).unwrap_err();
        assert_eq!(e.agree, vec![key(1).key_id()]);
        // One agrees, one attests another digest: named with it.
        let b = binary(
            Some(&p),
            vec![att(&key(1), "lib", &p), att(&key(3), "lib", &q)],
            2,
        );
        let e = check(&b).unwrap_err();
        assert_eq!(e.agree, vec![key(1).key_id()]);
        assert_eq!(e.disagree, vec![(key(3).key_id(), q.clone())]);
        assert!(
            e.to_string().contains(&format!(
                "1 of the 2 builder key(s) the builders role requires attest its payload sha256 {p}; \
                 agreeing: {}; disagreeing: {} (attests sha256 {q})",
                key(1).key_id(),
                key(3).key_id()
            )),
            "{e}"
        );
    }

    #[test]
    fn contradicting_outsider_and_misdirected_attestations_do_not_count() {
        let (p, q) = ("1".repeat(64), "2".repeat(64));
        // Key 2 attests both digests: it counts as disagreeing only.
        let b = binary(
            Some(&p),
            vec![
                att(&key(1), "lib", &p),
                att(&key(2), "lib", &p),
                att(&key(2), "lib", &q),
            ],
            2,
        );
        let e = check(&b).unwrap_err();
        assert_eq!(e.agree, vec![key(1).key_id()]);
        assert_eq!(e.disagree, vec![(key(2).key_id(), q.clone())]);
        // A key outside the role, and an attestation of another package.
        let b = binary(
            Some(&p),
            vec![
                att(&key(1), "lib", &p),
                att(&key(9), "lib", &p),
                att(&key(2), "other", &p),
            ],
            2,
        );
        let e = check(&b).unwrap_err();
        assert_eq!(e.agree, vec![key(1).key_id()]);
        assert_eq!(e.invalid.len(), 2, "{:?}", e.invalid);
        assert!(
            e.invalid[0].contains("no signature by a trusted key"),
            "{e}"
        );
        assert!(
            e.invalid[1].contains("its subject is \"other-1.0_0/payload.tar.zst\""),
            "{e}"
        );
        // A target that records no payload digest has no quorum.
        let e = check(&binary(None, vec![], 1)).unwrap_err();
        assert_eq!(e.payload, "(not recorded)");
        assert!(e.agree.is_empty());
    }
}
