//! A package's provenance as a standard attestation: an in-toto Statement
//! (v1) whose predicate is SLSA Provenance v1, in a DSSE envelope signed
//! with the key that signs the package manifest.
//!
//! The attestation says *how* the package was made, in a form tools outside
//! wport read (in-toto's and SLSA's verifiers, `cosign verify-attestation`
//! style policies): the Portfile, component, patchfile and source digests,
//! the dependency packages it was built against, the builder and its
//! version, the programs the build ran (by the digest of their bytes), and
//! the list of mediated calls from the executor's own record. Its subject is
//! the package's payload (`payload.tar.zst`), by sha256: the bytes that are
//! installed, and the same bytes whichever key signs the package, so
//! independent builders of one port attest one digest (docs/TRUST.md, "k of
//! n builders").
//!
//! Nothing here does I/O: [`statement`] builds the statement from the
//! manifest and what the packager knows besides it ([`BuildFacts`]),
//! [`sign`] wraps it, [`open`] checks an envelope's signatures before its
//! payload is parsed, and [`check_against`] compares a statement with a
//! package's manifest field by field. Formats: docs/PACKAGES.md,
//! "Provenance attestation".

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use wport_trust::canonical::to_canonical;
use wport_trust::{KeyId, PublicKey, SecretKey};

use crate::error::{RegistryError, Result};
use crate::manifest::Manifest;

/// The in-toto Statement type.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The SLSA Provenance v1 predicate type.
pub const PREDICATE_TYPE: &str = "https://slsa.dev/provenance/v1";
/// DSSE payload type of an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// The build type: what `externalParameters` and `internalParameters` mean
/// (documented in docs/PACKAGES.md, "Provenance attestation").
pub const BUILD_TYPE: &str = "urn:wport:build:v1";
/// Prefix of `runDetails.builder.id`; the signing key's id follows.
pub const BUILDER_ID_PREFIX: &str = "urn:wport:builder:";
/// The byproduct that lists the mediated calls.
pub const CALLS_BYPRODUCT: &str = "mediated-calls";
/// Largest envelope read (a package's entry, a file, a TUF custom field):
/// a build of tens of thousands of calls stays far below it.
pub const MAX_ENVELOPE: u64 = 16 << 20;

/// What the packager knows besides the manifest.
#[derive(Clone, Debug, Default)]
pub struct BuildFacts {
    /// Each source: distfile name, URL as the Portfile gives it, sha256.
    pub sources: Vec<SourceFact>,
    /// Each `[[patchfile]]`: file and sha256, in the order applied.
    pub patchfiles: Vec<(String, String)>,
    /// The mediated calls, one line each (`wport::provenance::call_line`),
    /// from the executor's own record.
    pub calls: Vec<String>,
    /// The programs those calls ran, as the host resolved them.
    pub programs: Vec<ProgramFact>,
    /// The wport that built and packaged it.
    pub wport_version: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceFact {
    pub name: String,
    pub url: String,
    pub sha256: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramFact {
    /// The name the build asked for (`cc`).
    pub name: String,
    /// The file it resolved to, links followed (`/usr/bin/x86_64-linux-gnu-gcc-13`).
    pub path: String,
    pub sha256: String,
}

/// An in-toto Statement v1 (only the fields wport writes and reads; others
/// are ignored when read).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    #[serde(rename = "_type")]
    pub type_: String,
    pub subject: Vec<Resource>,
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    pub predicate: SlsaProvenance,
}

/// An in-toto ResourceDescriptor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    pub digest: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlsaProvenance {
    pub build_definition: BuildDefinition,
    pub run_details: RunDetails,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildDefinition {
    pub build_type: String,
    pub external_parameters: ExternalParameters,
    pub internal_parameters: InternalParameters,
    pub resolved_dependencies: Vec<Resource>,
}

/// What the user chose: the port and the prefix it is built for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalParameters {
    pub port: String,
    pub version: String,
    pub revision: u32,
    pub prefix: String,
}

/// What wport set: the package format, the SOURCE_DATE_EPOCH every entry
/// got, and the package dependencies recorded in the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InternalParameters {
    pub format: String,
    pub source_date_epoch: u64,
    pub dependencies: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunDetails {
    pub builder: Builder,
    #[serde(default)]
    pub byproducts: Vec<Resource>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Builder {
    pub id: String,
    #[serde(default)]
    pub version: BTreeMap<String, String>,
}

fn sha(hex: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("sha256".to_owned(), hex.to_owned())])
}

fn res(name: String, uri: Option<String>, hex: &str) -> Resource {
    Resource {
        name,
        uri,
        digest: sha(hex),
        annotations: None,
    }
}

/// The subject's name: the package's label and the entry whose digest it is.
pub fn subject_name(m: &Manifest) -> String {
    format!("{}/payload.tar.zst", m.label())
}

/// sha256 over the call lines, each followed by a newline: the manifest's
/// `mediated_calls_sha256` (`wport::provenance::record`).
pub fn calls_sha256(calls: &[String]) -> String {
    let mut h = Sha256::new();
    for c in calls {
        h.update(c.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

/// The statement for the package `m`, built by the holder of `builder`.
/// Deterministic: nothing in it depends on the clock or the build
/// directory, so two builds of one port give the same bytes.
pub fn statement(m: &Manifest, facts: &BuildFacts, builder: &KeyId) -> Statement {
    let p = &m.provenance;
    let mut deps = vec![
        res("portfile:Portfile.toml".into(), None, &p.portfile_sha256),
        res("component:build".into(), None, &p.component_sha256),
    ];
    for (file, digest) in &facts.patchfiles {
        deps.push(res(format!("patchfile:{file}"), None, digest));
    }
    for s in &facts.sources {
        deps.push(res(
            format!("source:{}", s.name),
            Some(s.url.clone()),
            &s.sha256,
        ));
    }
    for (name, digest) in &p.dependencies {
        deps.push(res(format!("package:{name}"), None, digest));
    }
    for t in &facts.programs {
        deps.push(res(
            format!("tool:{}", t.name),
            Some(format!("file://{}", t.path)),
            &t.sha256,
        ));
    }
    let calls = Resource {
        name: CALLS_BYPRODUCT.into(),
        uri: None,
        digest: sha(&p.mediated_calls_sha256),
        annotations: Some(json!({"count": p.mediated_calls, "calls": facts.calls})),
    };
    Statement {
        type_: STATEMENT_TYPE.into(),
        subject: vec![res(subject_name(m), None, &m.payload.sha256)],
        predicate_type: PREDICATE_TYPE.into(),
        predicate: SlsaProvenance {
            build_definition: BuildDefinition {
                build_type: BUILD_TYPE.into(),
                external_parameters: ExternalParameters {
                    port: m.name.clone(),
                    version: m.version.clone(),
                    revision: m.revision,
                    prefix: m.prefix.clone(),
                },
                internal_parameters: InternalParameters {
                    format: m.format.clone(),
                    source_date_epoch: m.source_date_epoch,
                    dependencies: m.dependencies.clone(),
                },
                resolved_dependencies: deps,
            },
            run_details: RunDetails {
                builder: Builder {
                    id: format!("{BUILDER_ID_PREFIX}{builder}"),
                    version: BTreeMap::from([("wport".to_owned(), facts.wport_version.clone())]),
                },
                byproducts: vec![calls],
            },
        },
    }
}

/// DSSE's pre-authentication encoding: what is signed.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// A DSSE envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// base64 of the statement's bytes.
    pub payload: String,
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    pub signatures: Vec<EnvelopeSignature>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeSignature {
    #[serde(default)]
    pub keyid: String,
    /// base64 of the ed25519 signature over [`pae`].
    pub sig: String,
}

/// The envelope's bytes: the statement as canonical JSON, signed over
/// DSSE's PAE with `key`, the envelope itself canonical JSON (ed25519 is
/// deterministic, so the bytes depend on the statement and key only).
pub fn sign(statement: &Statement, key: &SecretKey) -> Result<Vec<u8>> {
    let value = serde_json::to_value(statement).expect("a statement serialises");
    let payload = to_canonical(&value)?;
    let sig = key.sign(&pae(PAYLOAD_TYPE, &payload));
    let env = Envelope {
        payload: B64.encode(&payload),
        payload_type: PAYLOAD_TYPE.into(),
        signatures: vec![EnvelopeSignature {
            keyid: key.key_id(),
            sig: B64.encode(sig),
        }],
    };
    Ok(to_canonical(
        &serde_json::to_value(&env).expect("an envelope serialises"),
    )?)
}

/// An envelope whose signatures were checked, and its statement.
#[derive(Clone, Debug)]
pub struct Attested {
    pub statement: Statement,
    /// The trusted keys that validly signed it, each once, sorted.
    pub signers: Vec<KeyId>,
}

impl Attested {
    /// The subject's sha256 (the payload digest the signers vouch for).
    pub fn subject_sha256(&self) -> Option<&str> {
        self.statement
            .subject
            .first()
            .and_then(|s| s.digest.get("sha256"))
            .map(String::as_str)
    }
}

/// Checks an envelope against `trusted` and returns its statement. `what`
/// names the port and file in errors (`port demo, demo-1.0_0.wpkg`).
///
/// Every signature by a trusted key is verified over the PAE of the payload
/// *before* the payload is parsed; the statement must then be an in-toto
/// Statement v1 with a SLSA Provenance v1 predicate and exactly one subject.
pub fn open(bytes: &[u8], trusted: &[PublicKey], what: &str) -> Result<Attested> {
    let malformed = |reason: String| RegistryError::Malformed {
        package: what.to_owned(),
        reason: format!("provenance attestation: {reason}"),
    };
    if bytes.len() as u64 > MAX_ENVELOPE {
        return Err(RegistryError::BoundExceeded {
            package: what.to_owned(),
            what: "the size of the provenance attestation".into(),
            limit: MAX_ENVELOPE,
            actual: bytes.len() as u64,
        });
    }
    let env: Envelope = serde_json::from_slice(bytes)
        .map_err(|e| malformed(format!("not a DSSE envelope: {e}")))?;
    if env.payload_type != PAYLOAD_TYPE {
        return Err(malformed(format!(
            "payloadType {:?}, expected {PAYLOAD_TYPE:?}",
            env.payload_type
        )));
    }
    let payload = B64
        .decode(env.payload.as_bytes())
        .map_err(|e| malformed(format!("payload is not base64: {e}")))?;
    let message = pae(&env.payload_type, &payload);
    let mut signers = Vec::new();
    for s in &env.signatures {
        let Some(k) = trusted.iter().find(|k| k.key_id() == s.keyid) else {
            continue;
        };
        let Ok(sig) = B64.decode(s.sig.as_bytes()) else {
            continue;
        };
        if k.verify(&message, &sig) && !signers.contains(&s.keyid) {
            signers.push(s.keyid.clone());
        }
    }
    if signers.is_empty() {
        let ids: Vec<String> = env
            .signatures
            .iter()
            .take(16)
            .map(|s| s.keyid.chars().take(64).collect())
            .collect();
        return Err(RegistryError::SignatureRejected {
            package: what.to_owned(),
            reason: if trusted.is_empty() {
                "provenance attestation: no trusted keys are configured".into()
            } else {
                format!(
                    "provenance attestation signed by {ids:?}, none of which is a trusted key \
                     with a valid signature"
                )
            },
        });
    }
    signers.sort();
    // Authenticated: parsed.
    let statement: Statement =
        serde_json::from_slice(&payload).map_err(|e| malformed(format!("statement: {e}")))?;
    if statement.type_ != STATEMENT_TYPE {
        return Err(malformed(format!(
            "_type {:?}, expected {STATEMENT_TYPE:?}",
            statement.type_
        )));
    }
    if statement.predicate_type != PREDICATE_TYPE {
        return Err(malformed(format!(
            "predicateType {:?}, expected {PREDICATE_TYPE:?}",
            statement.predicate_type
        )));
    }
    if statement.subject.len() != 1 {
        return Err(malformed(format!(
            "{} subjects, expected exactly one (the payload)",
            statement.subject.len()
        )));
    }
    Ok(Attested { statement, signers })
}

/// The mediated calls the statement lists (empty when it lists none).
pub fn calls(s: &Statement) -> Vec<String> {
    s.predicate
        .run_details
        .byproducts
        .iter()
        .find(|b| b.name == CALLS_BYPRODUCT)
        .and_then(|b| b.annotations.as_ref())
        .and_then(|a| a.get("calls"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn digest_of(rs: &[Resource], name: &str) -> Option<String> {
    rs.iter()
        .find(|r| r.name == name)
        .and_then(|r| r.digest.get("sha256"))
        .cloned()
}

/// Compares a statement with the package it came with, on every field the
/// manifest lets one recompute: the subject (name and payload digest), the
/// port, version, revision and prefix, SOURCE_DATE_EPOCH and dependencies,
/// the Portfile, component and source digests, the dependency packages'
/// digests, and the mediated calls (the digest and count the manifest
/// signs, and the digest recomputed from the listed calls). The patchfile
/// digests, source URLs, tools and builder are not in the manifest: they
/// are shown, and trusted as far as the signature is. The first difference
/// is [`RegistryError::ProvenanceMismatch`].
pub fn check_against(s: &Statement, m: &Manifest) -> Result<()> {
    let mismatch = |field: &str, expected: String, actual: String| {
        Err(RegistryError::ProvenanceMismatch {
            package: m.label(),
            field: field.to_owned(),
            expected,
            actual,
        })
    };
    let p = &m.provenance;
    let subject = s.subject.first();
    let got_name = subject.map(|s| s.name.clone()).unwrap_or_default();
    if got_name != subject_name(m) {
        return mismatch("subject name", subject_name(m), got_name);
    }
    let got = subject
        .and_then(|s| s.digest.get("sha256").cloned())
        .unwrap_or_default();
    if got != m.payload.sha256 {
        return mismatch(
            "subject sha256 (the payload)",
            m.payload.sha256.clone(),
            got,
        );
    }
    let bd = &s.predicate.build_definition;
    if bd.build_type != BUILD_TYPE {
        return mismatch("buildType", BUILD_TYPE.into(), bd.build_type.clone());
    }
    let ext = &bd.external_parameters;
    for (field, want, have) in [
        ("externalParameters.port", &m.name, &ext.port),
        ("externalParameters.version", &m.version, &ext.version),
        ("externalParameters.prefix", &m.prefix, &ext.prefix),
    ] {
        if want != have {
            return mismatch(field, want.clone(), have.clone());
        }
    }
    if ext.revision != m.revision {
        return mismatch(
            "externalParameters.revision",
            m.revision.to_string(),
            ext.revision.to_string(),
        );
    }
    let int = &bd.internal_parameters;
    if int.source_date_epoch != m.source_date_epoch {
        return mismatch(
            "internalParameters.source_date_epoch",
            m.source_date_epoch.to_string(),
            int.source_date_epoch.to_string(),
        );
    }
    if int.dependencies != m.dependencies {
        return mismatch(
            "internalParameters.dependencies",
            m.dependencies.join(","),
            int.dependencies.join(","),
        );
    }
    let rd = &bd.resolved_dependencies;
    let mut want: Vec<(String, String)> = vec![
        ("portfile:Portfile.toml".into(), p.portfile_sha256.clone()),
        ("component:build".into(), p.component_sha256.clone()),
    ];
    want.extend(
        p.sources
            .iter()
            .map(|src| (format!("source:{}", src.name), src.sha256.clone())),
    );
    want.extend(
        p.dependencies
            .iter()
            .map(|(n, d)| (format!("package:{n}"), d.clone())),
    );
    for (name, digest) in &want {
        let have = digest_of(rd, name).unwrap_or_else(|| "(absent)".into());
        if &have != digest {
            return mismatch(
                &format!("resolvedDependencies {name}"),
                digest.clone(),
                have,
            );
        }
    }
    // Nothing listed that the manifest does not have.
    for r in rd {
        let counted = r.name.starts_with("source:") || r.name.starts_with("package:");
        if counted && !want.iter().any(|(n, _)| *n == r.name) {
            return mismatch(
                &format!("resolvedDependencies {}", r.name),
                "(absent)".into(),
                digest_of(rd, &r.name).unwrap_or_default(),
            );
        }
    }
    let by = &s.predicate.run_details.byproducts;
    let listed = digest_of(by, CALLS_BYPRODUCT).unwrap_or_else(|| "(absent)".into());
    if listed != p.mediated_calls_sha256 {
        return mismatch(
            "byproducts mediated-calls sha256",
            p.mediated_calls_sha256.clone(),
            listed,
        );
    }
    let calls = calls(s);
    let recomputed = calls_sha256(&calls);
    if recomputed != p.mediated_calls_sha256 || calls.len() as u64 != p.mediated_calls {
        return mismatch(
            "the listed mediated calls (count, sha256 recomputed)",
            format!("{} {}", p.mediated_calls, p.mediated_calls_sha256),
            format!("{} {recomputed}", calls.len()),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{FORMAT, Payload, Provenance, SourceDigest};

    fn manifest() -> Manifest {
        let calls = vec!["\"make\" argv=[] cwd=\"/work\" -> exit 0".to_owned()];
        Manifest {
            format: FORMAT.into(),
            name: "demo".into(),
            version: "1.0".into(),
            revision: 0,
            prefix: "/opt/wport".into(),
            dependencies: vec!["zlib".into()],
            source_date_epoch: 7,
            payload: Payload {
                sha256: "a".repeat(64),
                size: 1,
            },
            files: vec![],
            symlinks: vec![],
            directories: vec![],
            provenance: Provenance {
                portfile_sha256: "b".repeat(64),
                component_sha256: "c".repeat(64),
                sources: vec![SourceDigest {
                    name: "demo-1.0.tar.gz".into(),
                    sha256: "d".repeat(64),
                }],
                mediated_calls_sha256: calls_sha256(&calls),
                mediated_calls: 1,
                dependencies: BTreeMap::from([("zlib".into(), "e".repeat(64))]),
                ..Provenance::default()
            },
        }
    }

    fn facts() -> BuildFacts {
        BuildFacts {
            sources: vec![SourceFact {
                name: "demo-1.0.tar.gz".into(),
                url: "https://example.org/demo-1.0.tar.gz".into(),
                sha256: "d".repeat(64),
            }],
            patchfiles: vec![("fix.diff".into(), "f".repeat(64))],
            calls: vec!["\"make\" argv=[] cwd=\"/work\" -> exit 0".into()],
            programs: vec![],
            wport_version: "0.1.0".into(),
        }
    }

    fn key() -> SecretKey {
        SecretKey::from_seed(&[7; 32]).unwrap()
    }

    #[test]
    fn pae_is_the_dsse_encoding() {
        // The DSSE specification's own example.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }

    #[test]
    fn a_signed_statement_opens_and_matches_its_package() {
        let m = manifest();
        let s = statement(&m, &facts(), &key().key_id());
        let bytes = sign(&s, &key()).unwrap();
        assert_eq!(bytes, sign(&s, &key()).unwrap(), "deterministic");
        let a = open(&bytes, &[key().public().clone()], "port demo, x.wpkg").unwrap();
        assert_eq!(a.statement, s);
        assert_eq!(a.signers, vec![key().key_id()]);
        assert_eq!(a.subject_sha256(), Some(m.payload.sha256.as_str()));
        check_against(&a.statement, &m).unwrap();
    }

    #[test]
    fn another_key_or_an_edited_payload_is_refused() {
        let s = statement(&manifest(), &facts(), &key().key_id());
        let bytes = sign(&s, &key()).unwrap();
        let other = SecretKey::from_seed(&[8; 32]).unwrap();
        let e = open(&bytes, &[other.public().clone()], "port demo, x.wpkg").unwrap_err();
        assert!(
            matches!(&e, RegistryError::SignatureRejected { package, .. } if package == "port demo, x.wpkg"),
            "{e}"
        );
        let mut env: Envelope = serde_json::from_slice(&bytes).unwrap();
        let mut edited = s.clone();
        edited.subject[0].digest = sha(&"0".repeat(64));
        env.payload = B64.encode(serde_json::to_vec(&edited).unwrap());
        let e = open(
            &serde_json::to_vec(&env).unwrap(),
            &[key().public().clone()],
            "port demo, x.wpkg",
        )
        .unwrap_err();
        assert!(matches!(e, RegistryError::SignatureRejected { .. }), "{e}");
        let e = open(
            b"{\"payload\":1}",
            &[key().public().clone()],
            "port demo, y.json",
        )
        .unwrap_err();
        assert!(
            matches!(&e, RegistryError::Malformed { package, reason } if package == "port demo, y.json" && reason.contains("not a DSSE envelope")),
            "{e}"
        );
    }

    #[test]
    fn each_recomputable_field_is_compared() {
        let m = manifest();
        let s = statement(&m, &facts(), &key().key_id());
        let field = |edit: &dyn Fn(&mut Statement)| {
            let mut t = s.clone();
            edit(&mut t);
            match check_against(&t, &m) {
                Err(RegistryError::ProvenanceMismatch { field, .. }) => field,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(
            field(&|t| t.subject[0].digest = sha(&"0".repeat(64))),
            "subject sha256 (the payload)"
        );
        assert_eq!(
            field(&|t| t.predicate.build_definition.external_parameters.prefix = "/usr".into()),
            "externalParameters.prefix"
        );
        assert_eq!(
            field(
                &|t| t.predicate.build_definition.resolved_dependencies[0].digest =
                    sha(&"0".repeat(64))
            ),
            "resolvedDependencies portfile:Portfile.toml"
        );
        assert_eq!(
            field(&|t| t
                .predicate
                .build_definition
                .resolved_dependencies
                .retain(|r| r.name != "package:zlib")),
            "resolvedDependencies package:zlib"
        );
        assert_eq!(
            field(&|t| t.predicate.run_details.byproducts[0].annotations =
                Some(json!({"count": 1, "calls": ["\"make\" argv=[] cwd=\"/work\" -> exit 1"]}))),
            "the listed mediated calls (count, sha256 recomputed)"
        );
    }
}
