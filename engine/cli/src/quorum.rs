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
