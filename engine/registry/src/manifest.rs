//! The package manifest and its signature envelope.
//!
//! The manifest is signed the way TUF metadata is: the signature covers the
//! canonical JSON (wport-trust's `to_canonical`) of `signed`, and the file is
//! `{"signatures":[{"keyid":..,"sig":..}],"signed":{..}}`, itself written
//! canonically so that a package's bytes depend on nothing but its contents.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use wport_trust::canonical::to_canonical;
use wport_trust::{PublicKey, SecretKey};

use crate::error::{RegistryError, Result};
use crate::fsops::safe_rel_path;

pub const FORMAT: &str = "wport-package/1";

/// Top-level names a package may never install: wport's own state.
pub const RESERVED: &[&str] = &[".wport", "var/wport"];

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub name: String,
    pub version: String,
    pub revision: u32,
    /// The prefix the port was configured for; payload paths are relative to it.
    pub prefix: String,
    /// Packages that must be installed first (the port's lib and run
    /// dependencies), sorted.
    pub dependencies: Vec<String>,
    pub source_date_epoch: u64,
    pub payload: Payload,
    /// Sorted by path.
    pub files: Vec<FileEntry>,
    /// Sorted by path.
    pub symlinks: Vec<LinkEntry>,
    /// Sorted by path.
    pub directories: Vec<String>,
    pub provenance: Provenance,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Payload {
    /// sha256 of `payload.tar.zst`.
    pub sha256: String,
    pub size: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    pub path: String,
    pub sha256: String,
    /// 0o644 or 0o755.
    pub mode: u32,
    pub size: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LinkEntry {
    pub path: String,
    pub target: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    pub portfile_sha256: String,
    pub component_sha256: String,
    /// (distfile name, sha256), in Portfile order.
    pub sources: Vec<SourceDigest>,
    /// sha256 over the build's mediated native calls, one line per call
    /// (program, argv, cwd and how it ended; no timing), taken from the
    /// executor's own audit records, and how many there were.
    pub mediated_calls_sha256: String,
    pub mediated_calls: u64,
    /// The lib and run dependencies this package was built against, each
    /// with the payload sha256 of the package installed in the prefix at
    /// the time: with the digests above, the inputs a binary is published
    /// and matched under (docs/TRUST.md, "Binary packages"). Absent in
    /// packages without dependencies and in those made before it existed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dependencies: BTreeMap<String, String>,
    /// The Portfile's `description`, `homepage` and `license`, shown by
    /// `wport info`. Absent in packages made before they were recorded, so
    /// those still verify; empty strings are not written.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub homepage: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub license: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SourceDigest {
    pub name: String,
    pub sha256: String,
}

impl Manifest {
    /// `name-version_revision`.
    pub fn label(&self) -> String {
        format!("{}-{}_{}", self.name, self.version, self.revision)
    }

    /// Structural checks: safe, unique paths; every parent a listed
    /// directory; nothing reserved; normalised modes; hex digests.
    pub fn validate(&self) -> Result<()> {
        let bad = |reason: String| RegistryError::Malformed {
            package: self.name.clone(),
            reason,
        };
        if self.format != FORMAT {
            return Err(bad(format!(
                "format {:?}, expected {FORMAT:?}",
                self.format
            )));
        }
        if !safe_name(&self.name) || !safe_name(&self.version) {
            return Err(bad("name or version is not a safe name".into()));
        }
        for (field, text) in [
            ("description", &self.provenance.description),
            ("homepage", &self.provenance.homepage),
            ("license", &self.provenance.license),
        ] {
            // A signer's text reaches the user's terminal through `wport info`.
            if crate::fsops::has_control(text) {
                return Err(bad(format!("{field} contains a control character")));
            }
        }
        for d in &self.dependencies {
            if !safe_name(d) {
                return Err(bad(format!("dependency {d:?} is not a safe name")));
            }
        }
        let dirs: HashSet<&str> = self.directories.iter().map(String::as_str).collect();
        let mut seen = HashSet::new();
        let all = self
            .files
            .iter()
            .map(|f| f.path.as_str())
            .chain(self.symlinks.iter().map(|l| l.path.as_str()))
            .chain(self.directories.iter().map(String::as_str));
        for p in all {
            if !safe_rel_path(p) {
                return Err(RegistryError::UnsafePath {
                    package: self.name.clone(),
                    path: p.into(),
                });
            }
            if RESERVED
                .iter()
                .any(|r| p == *r || p.starts_with(&format!("{r}/")))
            {
                return Err(RegistryError::UnsafePath {
                    package: self.name.clone(),
                    path: p.into(),
                });
            }
            if !seen.insert(p) {
                return Err(bad(format!("{p} is listed twice")));
            }
            if let Some(i) = p.rfind('/')
                && !dirs.contains(&p[..i])
            {
                return Err(bad(format!("the parent of {p} is not a listed directory")));
            }
        }
        for f in &self.files {
            if f.mode != 0o644 && f.mode != 0o755 {
                return Err(bad(format!(
                    "{}: mode {:o} is not normalised",
                    f.path, f.mode
                )));
            }
            if !is_hex64(&f.sha256) {
                return Err(bad(format!("{}: sha256 is not 64 hex digits", f.path)));
            }
        }
        for l in &self.symlinks {
            if l.target.is_empty() || crate::fsops::has_control(&l.target) {
                return Err(bad(format!(
                    "{}: link target is empty or holds a control character",
                    l.path
                )));
            }
        }
        if !is_hex64(&self.payload.sha256) {
            return Err(bad("payload sha256 is not 64 hex digits".into()));
        }
        Ok(())
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("a manifest serialises")
    }
}

pub fn safe_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && !s.starts_with('.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c))
}

pub fn is_hex64(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A signed envelope's canonical bytes: `{"signatures":[..],"signed":..}`.
pub fn sign_envelope(signed: &Value, key: &SecretKey) -> Result<Vec<u8>> {
    let body = to_canonical(signed)?;
    let sig = key.sign(&body);
    let env =
        json!({"signatures": [{"keyid": key.key_id(), "sig": hex::encode(sig)}], "signed": signed});
    Ok(to_canonical(&env)?)
}

/// A signature entry as read before any signature is checked: borrowed
/// from the input, nothing else kept.
#[derive(Deserialize)]
struct SigRef<'a> {
    #[serde(borrow)]
    keyid: Option<&'a str>,
    #[serde(borrow)]
    sig: Option<&'a str>,
}

const ENVELOPE_HEAD: &[u8] = b"{\"signatures\":";
const ENVELOPE_SIGNED: &[u8] = b",\"signed\":";

/// Verifies an envelope against trusted keys and returns its `signed` part,
/// still as JSON text, for the caller to parse into its own type. `what`
/// names the document in errors.
///
/// Envelopes are written canonically by [`sign_envelope`]:
/// `{"signatures":[..],"signed":BODY}` with BODY the canonical bytes that
/// were signed. The signature is checked over BODY as it stands, *before*
/// BODY is parsed: until a trusted key vouches for it nothing of it is
/// built in memory (a 64 MiB `[0,0,...]` would otherwise become 32 M JSON
/// values, over a GiB, before any signature check). Only the signature
/// list is parsed first, into strings borrowed from the input.
pub fn verify_envelope<'a>(bytes: &'a [u8], trusted: &[PublicKey], what: &str) -> Result<&'a str> {
    let rejected = |reason: String| RegistryError::SignatureRejected {
        package: what.to_string(),
        reason,
    };
    let malformed = |reason: String| RegistryError::Malformed {
        package: what.into(),
        reason,
    };
    let rest = bytes
        .strip_prefix(ENVELOPE_HEAD)
        .ok_or_else(|| malformed("not a canonical signed envelope".into()))?;
    let mut stream = serde_json::Deserializer::from_slice(rest).into_iter::<Vec<SigRef<'a>>>();
    let sigs = match stream.next() {
        Some(Ok(s)) => s,
        Some(Err(e)) => return Err(malformed(format!("signatures: {e}"))),
        None => return Err(malformed("no signatures".into())),
    };
    let body = rest[stream.byte_offset()..]
        .strip_prefix(ENVELOPE_SIGNED)
        .and_then(|b| b.strip_suffix(b"}"))
        .ok_or_else(|| malformed("not a canonical signed envelope".into()))?;
    let body = std::str::from_utf8(body).map_err(|_| malformed("not UTF-8".into()))?;
    let mut seen_ids = BTreeSet::new();
    for s in &sigs {
        let (Some(keyid), Some(sig)) = (s.keyid, s.sig) else {
            continue;
        };
        if seen_ids.len() < 16 {
            seen_ids.insert(keyid.chars().take(64).collect::<String>());
        }
        let Ok(sig) = hex::decode(sig) else { continue };
        if let Some(k) = trusted.iter().find(|k| k.key_id() == keyid)
            && k.verify(body.as_bytes(), &sig)
        {
            return Ok(body);
        }
    }
    if trusted.is_empty() {
        return Err(rejected("no trusted keys are configured".into()));
    }
    Err(rejected(format!(
        "signed by {seen_ids:?}, none of which is a trusted key with a valid signature"
    )))
}

/// Loads the trusted public keys: every `*.pub` file in `dir`. The directory
/// and each key file must be writable by their owner only (wport-trust's
/// check for local trust state), so nobody else can plant a key.
pub fn load_trusted_keys(dir: &Path) -> Result<Vec<PublicKey>> {
    wport_trust::keys::check_owner_only_writable(dir)?;
    let mut keys = Vec::new();
    let rd = std::fs::read_dir(dir)
        .map_err(crate::error::io("reading the trusted key directory", dir))?;
    let mut paths: Vec<_> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.extension().and_then(|e| e.to_str()) != Some("pub") {
            continue;
        }
        wport_trust::keys::check_owner_only_writable(&p)?;
        keys.push(wport_trust::keys::read_public_key_file(&p)?);
    }
    Ok(keys)
}
