//! `wport info --provenance NAME|FILE` and `wport verify --provenance
//! [NAME|FILE]`: a package's provenance attestation (an in-toto Statement
//! with a SLSA Provenance v1 predicate in a DSSE envelope,
//! `wport_registry::attestation`), shown and checked.
//!
//! A package file is opened as `wport install FILE` opens it (manifest
//! signature, payload digest); an installed package's manifest and
//! attestation come from the registry, which kept both when it was
//! installed. Either way the envelope's signature is checked against the
//! trusted keys before anything of the statement is shown, so a forged
//! statement never reaches the terminal as if it were the package's.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::json;
use wport::exit;
use wport_registry::attestation::{self, Attested};
use wport_registry::{Manifest, RegistryError};
use wport_trust::PublicKey;

use super::install::{PrefixArgs, open_query};

/// A package and the attestation it carries.
pub struct Loaded {
    /// `port demo, file ./demo-1.0_0.wpkg` or `port demo, installed in
    /// /opt/wport`: what errors name.
    pub what: String,
    pub manifest: Manifest,
    pub envelope: Option<Vec<u8>>,
}

/// Whether `target` names a package file rather than an installed package
/// (as `wport install` tells them apart).
pub fn is_file(target: &str) -> bool {
    target.ends_with(".wpkg") || target.contains('/')
}

/// The keys an attestation may be signed by: the trusted package keys
/// (`--keys`, default the trusted-keys directory when it exists), this
/// machine's packager key (which signs what `wport install NAME` builds
/// here) and the builders' keys of the synced repository (which sign the
/// binaries `wport install NAME` takes from it; none when nothing was
/// synced).
pub fn trusted_keys(keys: Option<&Path>) -> anyhow::Result<Vec<PublicKey>> {
    let dir = keys
        .map(Path::to_path_buf)
        .unwrap_or_else(super::package::trusted_keys_dir);
    let mut out = if keys.is_some() || dir.is_dir() {
        wport_registry::load_trusted_keys(&dir)
            .with_context(|| format!("loading trusted keys from {}", dir.display()))?
    } else {
        Vec::new()
    };
    let local = super::key::key_dir().join("packager.pub");
    if local.is_file() {
        let k = wport_trust::keys::read_public_key_file(&local)
            .with_context(|| format!("reading the local packager key {}", local.display()))?;
        if !out.iter().any(|o| o.key_id() == k.key_id()) {
            out.push(k);
        }
    }
    let trust_dir = super::key::trust_dir();
    if trust_dir.join("metadata").is_dir() {
        // A repository whose metadata expired (or was never completely
        // synced) vouches for no key: said, and the other keys still count.
        let builders =
            match wport_trust::packages::builder_keys(&trust_dir, wport_trust::time::now()) {
                Ok(keys) => keys,
                Err(e) => {
                    eprintln!(
                        "wport: warning: the builders' keys of the repository synced into {} are \
                     not trusted for this check: {e}",
                        trust_dir.display()
                    );
                    Vec::new()
                }
            };
        for k in builders {
            if !out.iter().any(|o| o.key_id() == k.key_id()) {
                out.push(k);
            }
        }
    }
    Ok(out)
}

/// Opens a package file (its manifest signed by a trusted key, its payload
/// digest checked) or an installed package's record.
pub fn load(target: &str, p: &PrefixArgs, trusted: &[PublicKey]) -> anyhow::Result<Loaded> {
    if is_file(target) {
        let path = PathBuf::from(target);
        let pkg = wport_registry::open_package(&path, trusted)
            .with_context(|| format!("verifying {}", path.display()))?;
        return Ok(Loaded {
            what: format!("port {}, file {}", pkg.manifest.name, path.display()),
            manifest: pkg.manifest.clone(),
            envelope: pkg.attestation.clone(),
        });
    }
    let prefix = open_query(p, false)?;
    let inst = prefix
        .registry()
        .package(target)?
        .ok_or_else(|| RegistryError::NotInstalled {
            package: target.to_owned(),
        })?;
    let envelope = prefix.registry().attestation(target)?;
    Ok(Loaded {
        what: format!("port {target}, installed in {}", p.prefix.display()),
        manifest: inst.manifest,
        envelope,
    })
}

/// The package carries no attestation (made before wport wrote them).
#[derive(Debug, thiserror::Error)]
#[error(
    "{what}: the package carries no provenance attestation (made by a wport before packages \
     carried one); package it again to get one"
)]
pub struct NoAttestation {
    pub what: String,
}

/// The envelope's signature checked against `trusted`, and its statement.
pub fn open(l: &Loaded, trusted: &[PublicKey]) -> anyhow::Result<Attested> {
    let env = l.envelope.as_deref().ok_or_else(|| NoAttestation {
        what: l.what.clone(),
    })?;
    Ok(attestation::open(env, trusted, &l.what)?)
}

/// Text from a signed statement as it may reach the terminal: control
/// characters escaped.
fn shown(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `wport info --provenance`.
pub fn info(target: &str, keys: Option<&Path>, as_json: bool, p: &PrefixArgs) -> i32 {
    super::install::finish((|| {
        let trusted = trusted_keys(keys)?;
        let l = load(target, p, &trusted)?;
        let a = open(&l, &trusted)?;
        let matches = attestation::check_against(&a.statement, &l.manifest);
        if as_json {
            let envelope: serde_json::Value =
                serde_json::from_slice(l.envelope.as_deref().unwrap_or_default())
                    .context("re-reading the envelope")?;
            let out = json!({
                "package": l.manifest.label(),
                "signers": a.signers,
                "matches_package": matches.is_ok(),
                "mismatch": matches.as_ref().err().map(|e| e.to_string()),
                "statement": a.statement,
                "envelope": envelope,
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&out).expect("serialisable")
            );
            return Ok(exit::SUCCESS);
        }
        print_text(&l.manifest, &a, &matches);
        Ok(exit::SUCCESS)
    })())
}

fn print_text(m: &Manifest, a: &Attested, matches: &wport_registry::Result<()>) {
    let s = &a.statement;
    let bd = &s.predicate.build_definition;
    let rd = &s.predicate.run_details;
    println!(
        "provenance of {} (in-toto Statement v1, SLSA Provenance v1, DSSE)",
        m.label()
    );
    println!("  signed by:         {} (verified)", a.signers.join(", "));
    for subject in &s.subject {
        println!(
            "  subject:           {} sha256 {}",
            shown(&subject.name),
            shown(
                subject
                    .digest
                    .get("sha256")
                    .map_or("(none)", String::as_str)
            )
        );
    }
    let versions: Vec<String> = rd
        .builder
        .version
        .iter()
        .map(|(k, v)| format!("{} {}", shown(k), shown(v)))
        .collect();
    println!(
        "  builder:           {} ({})",
        shown(&rd.builder.id),
        versions.join(", ")
    );
    println!("  build type:        {}", shown(&bd.build_type));
    let ext = &bd.external_parameters;
    println!(
        "  port:              {} {}_{} for prefix {}",
        shown(&ext.port),
        shown(&ext.version),
        ext.revision,
        shown(&ext.prefix)
    );
    println!(
        "  SOURCE_DATE_EPOCH: {}",
        bd.internal_parameters.source_date_epoch
    );
    println!("  inputs:");
    for r in &bd.resolved_dependencies {
        let digest = r.digest.get("sha256").map_or("(none)", String::as_str);
        match &r.uri {
            Some(uri) => println!(
                "    {} sha256 {} ({})",
                shown(&r.name),
                shown(digest),
                shown(uri)
            ),
            None => println!("    {} sha256 {}", shown(&r.name), shown(digest)),
        }
    }
    let calls = attestation::calls(s);
    println!(
        "  mediated calls:    {} (sha256 {}, the executor's own record)",
        calls.len(),
        attestation::calls_sha256(&calls)
    );
    for c in &calls {
        println!("    {}", shown(c));
    }
    match matches {
        Ok(()) => println!("  matches the package: yes"),
        Err(e) => println!("  matches the package: NO: {}", shown(&e.to_string())),
    }
}

/// `wport verify --provenance [NAME|FILE]`: every named (or installed)
/// package's attestation must be signed by a trusted key and match its
/// package. Exit 0 when all do, 3 when one was refused (bad signature,
/// malformed, mismatch), 1 when one carries none.
pub fn verify(target: Option<&str>, keys: Option<&Path>, p: &PrefixArgs) -> i32 {
    super::install::finish((|| {
        let trusted = trusted_keys(keys)?;
        let targets = match target {
            Some(t) => vec![t.to_owned()],
            None => open_query(p, false)?
                .registry()
                .packages()?
                .into_iter()
                .map(|(name, _, _)| name)
                .collect(),
        };
        let mut code = exit::SUCCESS;
        for t in &targets {
            let l = load(t, p, &trusted)?;
            let r = open(&l, &trusted).and_then(|a| {
                attestation::check_against(&a.statement, &l.manifest)?;
                Ok(a)
            });
            match r {
                Ok(a) => println!(
                    "{}: provenance verified: signed by {}, subject {} sha256 {}",
                    l.manifest.label(),
                    a.signers.join(", "),
                    attestation::subject_name(&l.manifest),
                    l.manifest.payload.sha256
                ),
                Err(e) => {
                    super::report(&e);
                    let c = super::package::code(&e);
                    code = if c == exit::REFUSED || code == exit::REFUSED {
                        exit::REFUSED
                    } else {
                        exit::FAILURE
                    };
                }
            }
        }
        Ok(code)
    })())
}
