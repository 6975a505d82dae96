//! Binary packages as TUF targets.
//!
//! A binary package (`.wpkg`) is published as a target under
//! `packages/<name>/<name>-<version>_<revision>-<inputs16>.wpkg`, listed
//! by a targets role delegated to builder keys with their own threshold
//! (by convention `builders`, paths `packages/*/*`). The index of binaries
//! is therefore TUF metadata like the ports tree: signed by the builders'
//! threshold, pinned by version (and hash) in the snapshot, so an older
//! index served again is a rollback the client refuses.
//!
//! What a binary is *for* is its [`Inputs`]: the digests of the Portfile,
//! the build component and the sources, the prefix it was built for, and
//! the payload digests of the packages it was built against (its lib and
//! run dependencies). Their sha256 names the target (first 16 hex digits in
//! the path) and the full inputs ride in the target's `custom` field, so a
//! client can say *why* a published binary does not fit.
//!
//! `wport sync` does not load roles that publish only binaries
//! ([`is_package_only`]) nor download `packages/` targets: a client finds a
//! binary on demand with [`find_binary`], which loads the builders role
//! then (verified against its delegation, its threshold and the snapshot's
//! version, like any delegated role) and looks one path up.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::canonical::to_canonical;
use crate::client::Client;
use crate::error::{Result, TrustError};
use crate::keys::PublicKey;
use crate::metadata::{DelegatedRole, KeyRing, TargetFile, sha256_hex};
use crate::paths::{check_target_path, delegation_matches, encode_segment, url_path};
use crate::port::metadata_dir;
use crate::time::UnixTime;
use crate::transport::{Transport, join};

/// The first component of every package target path.
pub const NAMESPACE: &str = "packages";

/// The key under which wport's data sits in a target's `custom` field.
const CUSTOM_KEY: &str = "wport-package";

/// What a binary package was built from. Two builds with equal inputs are
/// interchangeable for wport; any difference means the binary is stale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inputs {
    /// sha256 of the Portfile's bytes.
    pub portfile_sha256: String,
    /// sha256 of the build component (a port's own, or the standard one).
    pub component_sha256: String,
    /// sha256 of each source, in Portfile order.
    pub sources: Vec<String>,
    /// The prefix the package was configured and built for.
    pub prefix: String,
    /// Lib and run dependency -> payload sha256 of the package of it that
    /// was installed when this one was built.
    pub dependencies: BTreeMap<String, String>,
}

impl Inputs {
    /// sha256 (hex) of the canonical JSON of the inputs.
    pub fn digest(&self) -> String {
        let value = serde_json::to_value(self).expect("inputs are plain strings");
        let bytes = to_canonical(&value).expect("strings and maps are canonical JSON");
        sha256_hex(&bytes)
    }

    /// What differs from `other`, said for a user: `Portfile`, `component`,
    /// `sources`, `prefix`, `dependency NAME`.
    pub fn differences(&self, other: &Inputs) -> Vec<String> {
        let mut out = Vec::new();
        if self.portfile_sha256 != other.portfile_sha256 {
            out.push("Portfile".to_string());
        }
        if self.component_sha256 != other.component_sha256 {
            out.push("component".to_string());
        }
        if self.sources != other.sources {
            out.push("sources".to_string());
        }
        if self.prefix != other.prefix {
            out.push(format!("prefix {}", other.prefix));
        }
        let names: std::collections::BTreeSet<&String> = self
            .dependencies
            .keys()
            .chain(other.dependencies.keys())
            .collect();
        for n in names {
            if self.dependencies.get(n) != other.dependencies.get(n) {
                out.push(format!("dependency {n}"));
            }
        }
        out
    }
}

/// A published binary's identity, as its target's `custom` field holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageTarget {
    /// Package (port) name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Revision.
    pub revision: u32,
    /// What it was built from.
    pub inputs: Inputs,
}

impl PackageTarget {
    /// `name-version_revision`.
    pub fn label(&self) -> String {
        format!("{}-{}_{}", self.name, self.version, self.revision)
    }

    /// The deterministic target path:
    /// `packages/<name>/<name>-<version>_<revision>-<inputs16>.wpkg`.
    pub fn path(&self) -> Result<String> {
        for part in [&self.name, &self.version] {
            if part.is_empty() || encode_segment(part) != *part || part.starts_with('.') {
                return Err(TrustError::UnsafeTargetPath {
                    path: format!("{NAMESPACE}/{part}"),
                });
            }
        }
        let digest = self.inputs.digest();
        let path = format!(
            "{NAMESPACE}/{}/{}-{}_{}-{}.wpkg",
            self.name,
            self.name,
            self.version,
            self.revision,
            &digest[..16]
        );
        check_target_path(&path)?;
        Ok(path)
    }

    /// The `custom` value of the target.
    pub fn custom(&self) -> Value {
        json!({ CUSTOM_KEY: {
            "name": self.name,
            "version": self.version,
            "revision": self.revision,
            "inputs": self.inputs,
            "inputs_sha256": self.inputs.digest(),
        }})
    }

    /// [`Self::custom`], with the payload digest of the package published
    /// and the builders' provenance attestations (DSSE envelopes, each as
    /// a JSON object) vouching for it: signed with the role's metadata, so
    /// no attestation can be added, dropped or swapped without a threshold
    /// of the role's keys (docs/TRUST.md, "k of n builders").
    pub fn custom_attested(&self, payload_sha256: &str, attestations: &[Value]) -> Value {
        let mut v = self.custom();
        if let Some(o) = v.get_mut(CUSTOM_KEY).and_then(Value::as_object_mut) {
            o.insert("payload_sha256".into(), Value::from(payload_sha256));
            o.insert("attestations".into(), Value::from(attestations.to_vec()));
        }
        v
    }

    /// Reads a target's `custom` field back (`None` when it is not a
    /// package target or is malformed).
    pub fn of(tf: &TargetFile) -> Option<PackageTarget> {
        let v = tf.custom.as_ref()?.get(CUSTOM_KEY)?;
        #[derive(Deserialize)]
        struct Stored {
            name: String,
            version: String,
            revision: u32,
            inputs: Inputs,
        }
        let s: Stored = serde_json::from_value(v.clone()).ok()?;
        Some(PackageTarget {
            name: s.name,
            version: s.version,
            revision: s.revision,
            inputs: s.inputs,
        })
    }
}

/// The payload digest and attestations [`PackageTarget::custom_attested`]
/// recorded in a target (`None` and empty for a target published without).
pub fn attestations_of(tf: &TargetFile) -> (Option<String>, Vec<Value>) {
    let Some(v) = tf.custom.as_ref().and_then(|c| c.get(CUSTOM_KEY)) else {
        return (None, Vec::new());
    };
    let payload = v
        .get("payload_sha256")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let list = v
        .get("attestations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    (payload, list)
}

/// Whether `path` is in the package namespace.
pub fn is_package_path(path: &str) -> bool {
    path.strip_prefix(NAMESPACE)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// Whether a delegated role may list nothing but packages: `wport sync`
/// skips it (binaries are looked up on demand, never bulk-downloaded).
pub fn is_package_only(role: &DelegatedRole) -> bool {
    role.path_hash_prefixes.is_none()
        && role
            .paths
            .as_deref()
            .is_some_and(|p| !p.is_empty() && p.iter().all(|p| is_package_path(p)))
}

/// Where a target is served below a repository base (`BASE/targets/...`,
/// hash-prefixed in a consistent-snapshot repository).
pub fn target_location(
    base: &str,
    path: &str,
    tf: &TargetFile,
    consistent: bool,
) -> Result<String> {
    check_target_path(path)?;
    let mut rel = url_path(path);
    if consistent {
        let digest = tf.hashes.get("sha256").ok_or(TrustError::NoSupportedHash {
            what: path.to_string(),
        })?;
        rel = match rel.rsplit_once('/') {
            Some((dir, file)) => format!("{dir}/{digest}.{file}"),
            None => format!("{digest}.{rel}"),
        };
    }
    Ok(join(&join(base, "targets"), &rel))
}

/// A binary that fits.
#[derive(Debug, Clone)]
pub struct Binary {
    /// Its target path.
    pub path: String,
    /// Its trusted length and hashes.
    pub target: TargetFile,
    /// What it is.
    pub package: PackageTarget,
    /// The keys of the roles the top-level targets role delegates this
    /// path to: the package's own manifest signature must verify against
    /// one of them (a builder signs the package and the index).
    pub signers: Vec<PublicKey>,
    /// Whether the repository publishes hash-prefixed target names.
    pub consistent: bool,
    /// The first top-level role delegated this path (the builders): its
    /// keys and threshold decide how many independent builders must attest
    /// the package's payload digest. `None`: no delegation covers it.
    pub builders: Option<BuilderQuorum>,
}

/// A builders role as the k-of-n check uses it.
#[derive(Debug, Clone)]
pub struct BuilderQuorum {
    /// Its name.
    pub role: String,
    /// Its threshold: how many distinct builder keys must agree.
    pub threshold: u64,
    /// Its ed25519 keys (others cannot sign attestations).
    pub keys: Vec<PublicKey>,
}

/// Why no binary fits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    /// The repository lists no binary of this port at all.
    None,
    /// Binaries of this port exist, built from other inputs: each label and
    /// what differs.
    Stale(Vec<(String, Vec<String>)>),
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unavailable::None => f.write_str("the repository publishes no binary of it"),
            Unavailable::Stale(list) => {
                f.write_str("the published binaries were built from other inputs: ")?;
                let parts: Vec<String> = list
                    .iter()
                    .map(|(label, diff)| format!("{label} (other {})", diff.join(", ")))
                    .collect();
                f.write_str(&parts.join("; "))
            }
        }
    }
}

/// The outcome of a lookup.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// A trusted binary with exactly the wanted inputs.
    Found(Box<Binary>),
    /// None fits.
    Unavailable(Unavailable),
}

/// Looks up the binary of `wanted` through TUF: the top-level metadata as
/// last synced into `trust_dir` (re-verified now, unexpired at `now`), the
/// delegated roles on the way loaded from the trust directory or fetched
/// from `repo_base` with `transport` and verified (delegation keys,
/// threshold, snapshot version). A role that fails verification is an
/// error, never "no binary": the caller decides whether to build instead.
pub fn find_binary<T: Transport>(
    trust_dir: &Path,
    repo_base: &str,
    transport: T,
    wanted: &PackageTarget,
    now: UnixTime,
) -> Result<Lookup> {
    crate::keys::check_owner_only_writable(trust_dir)?;
    let mut client = Client::open(
        &metadata_dir(trust_dir),
        &join(repo_base, "metadata"),
        transport,
    )?;
    client.load_offline(now)?;
    let path = wanted.path()?;
    match client.target(&path) {
        Ok(tf) => {
            if PackageTarget::of(&tf).as_ref() != Some(wanted) {
                // The path names the inputs only by 64 bits of their
                // digest: the full inputs must be what we asked for.
                return Ok(Lookup::Unavailable(Unavailable::Stale(vec![(
                    wanted.label(),
                    vec!["the target's recorded inputs".to_string()],
                )])));
            }
            let signers = signers_of(&client, &path)?;
            let builders = quorum_of(&client, &path)?;
            Ok(Lookup::Found(Box::new(Binary {
                path,
                target: tf,
                package: wanted.clone(),
                signers,
                consistent: client.root().consistent_snapshot,
                builders,
            })))
        }
        Err(TrustError::TargetNotFound { .. }) => {
            // The search loaded every role trusted for this port's
            // binaries: what they list for the name explains the miss.
            let dir = format!("{NAMESPACE}/{}/", wanted.name);
            let mut stale = Vec::new();
            for (p, tf) in client.trusted_targets()? {
                if !p.starts_with(&dir) {
                    continue;
                }
                match PackageTarget::of(tf) {
                    Some(other) if other.name == wanted.name => {
                        let mut diff = Vec::new();
                        if other.version != wanted.version || other.revision != wanted.revision {
                            diff.push("version".to_string());
                        }
                        diff.extend(wanted.inputs.differences(&other.inputs));
                        stale.push((other.label(), diff));
                    }
                    _ => stale.push((p.to_string(), vec!["its record".to_string()])),
                }
            }
            Ok(Lookup::Unavailable(if stale.is_empty() {
                Unavailable::None
            } else {
                Unavailable::Stale(stale)
            }))
        }
        Err(e) => Err(e),
    }
}

/// The first top-level delegation covering `path`, with its ed25519 keys.
fn quorum_of<T: Transport>(client: &Client<T>, path: &str) -> Result<Option<BuilderQuorum>> {
    let Some(d) = client.targets().and_then(|t| t.delegations.as_ref()) else {
        return Ok(None);
    };
    let ring = KeyRing::new(&d.keys)?;
    let Some(role) = d
        .roles
        .iter()
        .find(|r| delegation_matches(r.paths.as_deref(), r.path_hash_prefixes.as_deref(), path))
    else {
        return Ok(None);
    };
    let mut keys: Vec<PublicKey> = Vec::new();
    for id in &role.keyids {
        if let Some(k) = ring.get(id)
            && !keys.iter().any(|o| o.key_id() == k.key_id())
        {
            keys.push(k.clone());
        }
    }
    Ok(Some(BuilderQuorum {
        role: role.name.clone(),
        threshold: role.threshold,
        keys,
    }))
}

/// The ed25519 keys of the top-level roles that list only binaries (the
/// builders), from the metadata last synced into `trust_dir` (re-verified
/// now, offline): the keys a binary installed from the repository, and its
/// provenance attestation, are signed with.
pub fn builder_keys(trust_dir: &Path, now: UnixTime) -> Result<Vec<PublicKey>> {
    crate::keys::check_owner_only_writable(trust_dir)?;
    let mut client = Client::open(
        &metadata_dir(trust_dir),
        "file:///nonexistent",
        crate::transport::FileTransport,
    )?;
    client.load_offline(now)?;
    let Some(d) = client.targets().and_then(|t| t.delegations.as_ref()) else {
        return Ok(Vec::new());
    };
    let ring = KeyRing::new(&d.keys)?;
    let mut out: Vec<PublicKey> = Vec::new();
    for role in d.roles.iter().filter(|r| is_package_only(r)) {
        for id in &role.keyids {
            if let Some(k) = ring.get(id)
                && !out.iter().any(|o| o.key_id() == k.key_id())
            {
                out.push(k.clone());
            }
        }
    }
    Ok(out)
}

/// The ed25519 keys of the top-level delegations covering `path`.
fn signers_of<T: Transport>(client: &Client<T>, path: &str) -> Result<Vec<PublicKey>> {
    let Some(d) = client.targets().and_then(|t| t.delegations.as_ref()) else {
        return Ok(Vec::new());
    };
    let ring = KeyRing::new(&d.keys)?;
    let mut out: Vec<PublicKey> = Vec::new();
    for role in &d.roles {
        if !delegation_matches(
            role.paths.as_deref(),
            role.path_hash_prefixes.as_deref(),
            path,
        ) {
            continue;
        }
        for id in &role.keyids {
            if let Some(k) = ring.get(id)
                && !out.iter().any(|o| o.key_id() == k.key_id())
            {
                out.push(k.clone());
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> Inputs {
        Inputs {
            portfile_sha256: "a".repeat(64),
            component_sha256: "b".repeat(64),
            sources: vec!["c".repeat(64)],
            prefix: "/opt/wport".into(),
            dependencies: BTreeMap::from([("zlib".to_string(), "d".repeat(64))]),
        }
    }

    fn pkg() -> PackageTarget {
        PackageTarget {
            name: "lua".into(),
            version: "5.4.4".into(),
            revision: 0,
            inputs: inputs(),
        }
    }

    #[test]
    fn the_path_is_deterministic_and_names_the_inputs() {
        let p = pkg().path().unwrap();
        assert_eq!(p, pkg().path().unwrap());
        let digest = inputs().digest();
        assert_eq!(
            p,
            format!("packages/lua/lua-5.4.4_0-{}.wpkg", &digest[..16])
        );
        let mut other = pkg();
        other
            .inputs
            .dependencies
            .insert("zlib".into(), "e".repeat(64));
        assert_ne!(other.path().unwrap(), p);
    }

    #[test]
    fn custom_round_trips_and_differences_are_named() {
        let tf = TargetFile {
            length: 1,
            hashes: crate::metadata::Hashes::default(),
            custom: Some(pkg().custom()),
        };
        assert_eq!(PackageTarget::of(&tf), Some(pkg()));
        let mut other = inputs();
        other.portfile_sha256 = "f".repeat(64);
        other.dependencies.insert("readline".into(), "0".repeat(64));
        assert_eq!(
            inputs().differences(&other),
            ["Portfile", "dependency readline"]
        );
    }

    #[test]
    fn names_that_would_leave_the_namespace_are_refused() {
        for bad in ["../x", "a/b", ".hidden", ""] {
            let mut p = pkg();
            p.name = bad.into();
            assert!(
                matches!(p.path(), Err(TrustError::UnsafeTargetPath { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn package_only_roles_are_recognised() {
        let role = |paths: &[&str]| DelegatedRole {
            name: "builders".into(),
            keyids: vec![],
            threshold: 1,
            terminating: false,
            paths: Some(paths.iter().map(|s| s.to_string()).collect()),
            path_hash_prefixes: None,
        };
        assert!(is_package_only(&role(&["packages/*/*"])));
        assert!(!is_package_only(&role(&["packages/*/*", "ports/lua/*"])));
        assert!(!is_package_only(&role(&["packagesx/*"])));
        assert!(!is_package_only(&role(&[])));
    }

    #[test]
    fn consistent_names_are_hash_prefixed() {
        let tf = TargetFile {
            length: 1,
            hashes: crate::metadata::Hashes::from([("sha256".to_string(), "ab".repeat(32))]),
            custom: None,
        };
        assert_eq!(
            target_location("http://h/r", "packages/lua/x.wpkg", &tf, false).unwrap(),
            "http://h/r/targets/packages/lua/x.wpkg"
        );
        assert_eq!(
            target_location("http://h/r/", "packages/lua/x.wpkg", &tf, true).unwrap(),
            format!("http://h/r/targets/packages/lua/{}.x.wpkg", "ab".repeat(32))
        );
    }
}
