//! The repository side: a directory with `metadata/` and `targets/` that a
//! TUF client (wport's or any other) can update from.
//!
//! Signing is separate from editing, so a threshold can be met by several
//! people, each running `sign` with their own key on the same document:
//! an edit (adding targets, delegating, changing root keys) writes the role
//! at a new version with no signatures, and every later `sign` adds one.
//! Further edits before the role is signed stay in the same version.
//!
//! Root versions are kept as `N.root.json` (clients walk that chain) and
//! the newest is also `root.json`. With consistent snapshots, targets roles
//! and snapshot are also written as `VERSION.NAME.json` and targets as
//! `DIR/SHA256.NAME`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::client::{Durability, write_atomic};
use crate::error::{KeySource, Result, TrustError};
use crate::keys::{PublicKey, SecretKey};
use crate::metadata::{
    DelegatedRole, Delegations, Hashes, KeyRing, MetaFile, MetaList, RoleKeys, Root, SPEC_VERSION,
    SignatureEntry, TargetFile, Targets, add_signature, parse_envelope, sha256_hex,
};
use crate::paths::check_target_path;
use crate::time::{self, UnixTime};

/// Keys and threshold for a role at init.
#[derive(Debug, Clone)]
pub struct RoleSpec {
    /// The authorised keys.
    pub keys: Vec<PublicKey>,
    /// How many of them must sign.
    pub threshold: u64,
}

/// How long each role's metadata stays valid, in seconds.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    /// root (default one year).
    pub root: i64,
    /// targets and delegated roles (default 90 days).
    pub targets: i64,
    /// snapshot (default 7 days).
    pub snapshot: i64,
    /// timestamp (default 1 day).
    pub timestamp: i64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        const DAY: i64 = 86_400;
        Lifetimes {
            root: 365 * DAY,
            targets: 90 * DAY,
            snapshot: 7 * DAY,
            timestamp: DAY,
        }
    }
}

/// A repository directory.
#[derive(Debug, Clone)]
pub struct Repository {
    dir: PathBuf,
    /// Validity periods used by edits.
    pub lifetimes: Lifetimes,
}

fn repo_err(msg: impl Into<String>) -> TrustError {
    TrustError::Repository(msg.into())
}

/// Role names a repository creates: they become file names on the
/// repository host, so only `[A-Za-z0-9._-]`, not a top-level name, not
/// starting with a dot. (The client accepts any name and encodes it.)
pub fn check_new_role_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && !["root", "timestamp", "snapshot", "targets"].contains(&name)
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(TrustError::UnsafeRoleName {
            name: name.to_string(),
        })
    }
}

fn key_map(keys: &[PublicKey]) -> BTreeMap<String, Value> {
    keys.iter().map(|k| (k.key_id(), k.to_tuf())).collect()
}

impl Repository {
    /// Creates `dir/metadata` and `dir/targets` with root v1 and an empty
    /// targets v1, both unsigned: sign them with `sign`.
    pub fn init(
        dir: &Path,
        root: RoleSpec,
        targets: RoleSpec,
        snapshot: RoleSpec,
        timestamp: RoleSpec,
        consistent_snapshot: bool,
        now: UnixTime,
    ) -> Result<Self> {
        let repo = Repository {
            dir: dir.to_path_buf(),
            lifetimes: Lifetimes::default(),
        };
        if repo.meta_dir().join("root.json").exists() {
            return Err(repo_err(format!(
                "{} is already a repository",
                dir.display()
            )));
        }
        for d in [repo.meta_dir(), repo.targets_dir()] {
            fs::create_dir_all(&d).map_err(|e| TrustError::io("creating", &d, e))?;
        }
        let mut keys = BTreeMap::new();
        let mut roles = BTreeMap::new();
        for (name, spec) in [
            ("root", root),
            ("targets", targets),
            ("snapshot", snapshot),
            ("timestamp", timestamp),
        ] {
            if spec.threshold < 1 || spec.threshold as usize > spec.keys.len() {
                return Err(repo_err(format!(
                    "{name}: threshold {} with {} key(s)",
                    spec.threshold,
                    spec.keys.len()
                )));
            }
            keys.extend(key_map(&spec.keys));
            let mut ids: Vec<String> = spec.keys.iter().map(PublicKey::key_id).collect();
            ids.sort();
            ids.dedup();
            if (ids.len() as u64) < spec.threshold {
                return Err(repo_err(format!(
                    "{name}: the same key listed twice cannot meet threshold {}",
                    spec.threshold
                )));
            }
            roles.insert(
                name.to_string(),
                RoleKeys {
                    keyids: ids,
                    threshold: spec.threshold,
                },
            );
        }
        let root = Root {
            typ: "root".into(),
            spec_version: SPEC_VERSION.into(),
            consistent_snapshot,
            version: 1,
            expires: time::format(now + repo.lifetimes.root),
            keys,
            roles,
        };
        repo.write_root(&unsigned(&root)?, 1)?;
        let targets = Targets {
            typ: "targets".into(),
            spec_version: SPEC_VERSION.into(),
            version: 1,
            expires: time::format(now + repo.lifetimes.targets),
            targets: BTreeMap::new(),
            delegations: None,
        };
        repo.write_role("targets", &unsigned(&targets)?, 1)?;
        Ok(repo)
    }

    /// Opens an existing repository.
    pub fn open(dir: &Path) -> Result<Self> {
        let repo = Repository {
            dir: dir.to_path_buf(),
            lifetimes: Lifetimes::default(),
        };
        if !repo.meta_dir().join("root.json").is_file() {
            return Err(repo_err(format!(
                "{} has no metadata/root.json",
                dir.display()
            )));
        }
        Ok(repo)
    }

    /// `dir/metadata`.
    pub fn meta_dir(&self) -> PathBuf {
        self.dir.join("metadata")
    }
    /// `dir/targets`.
    pub fn targets_dir(&self) -> PathBuf {
        self.dir.join("targets")
    }

    fn read(&self, file: &str) -> Result<Vec<u8>> {
        let p = self.meta_dir().join(file);
        fs::read(&p).map_err(|e| TrustError::io("reading", &p, e))
    }

    /// The newest root (possibly staged, not yet signed).
    pub fn root(&self) -> Result<Root> {
        Ok(parse_envelope::<Root>(self.read("root.json")?, "root.json")?.signed)
    }

    fn consistent(&self) -> Result<bool> {
        Ok(self.root()?.consistent_snapshot)
    }

    fn write_root(&self, bytes: &[u8], version: u64) -> Result<()> {
        write_atomic(
            &self.meta_dir(),
            &format!("{version}.root.json"),
            bytes,
            0o644,
            Durability::Fsync,
        )?;
        write_atomic(
            &self.meta_dir(),
            "root.json",
            bytes,
            0o644,
            Durability::Fsync,
        )
    }

    fn write_role(&self, name: &str, bytes: &[u8], version: u64) -> Result<()> {
        write_atomic(
            &self.meta_dir(),
            &format!("{name}.json"),
            bytes,
            0o644,
            Durability::Fsync,
        )?;
        if name != "timestamp" && self.meta_dir().join("root.json").exists() && self.consistent()? {
            write_atomic(
                &self.meta_dir(),
                &format!("{version}.{name}.json"),
                bytes,
                0o644,
                Durability::Fsync,
            )?;
        }
        Ok(())
    }

    /// A targets role (top-level or delegated) as it stands.
    pub fn targets_role(&self, name: &str) -> Result<(Targets, Vec<SignatureEntry>)> {
        let env = parse_envelope::<Targets>(self.read(&format!("{name}.json"))?, name)?;
        Ok((env.signed, env.signatures))
    }

    /// Applies `edit` to a targets role: a new unsigned version when the
    /// current one carries signatures, the same version otherwise.
    pub fn edit_targets(
        &self,
        name: &str,
        now: UnixTime,
        edit: impl FnOnce(&mut Targets) -> Result<()>,
    ) -> Result<()> {
        let (mut t, sigs) = self.targets_role(name)?;
        if !sigs.is_empty() {
            t.version += 1;
        }
        t.expires = time::format(now + self.lifetimes.targets);
        edit(&mut t)?;
        self.write_role(name, &unsigned(&t)?, t.version)
    }

    /// Stages a new root version (N+1 when root N is signed) changed by
    /// `edit`; it must then be signed by the old AND new root thresholds.
    pub fn edit_root(
        &self,
        now: UnixTime,
        edit: impl FnOnce(&mut Root) -> Result<()>,
    ) -> Result<()> {
        let env = parse_envelope::<Root>(self.read("root.json")?, "root.json")?;
        let mut root = env.signed;
        if !env.signatures.is_empty() {
            root.version += 1;
        }
        root.expires = time::format(now + self.lifetimes.root);
        edit(&mut root)?;
        self.write_root(&unsigned(&root)?, root.version)
    }

    /// Replaces a top-level role's keys and threshold in a staged root.
    pub fn set_role_keys(&self, role: &str, spec: RoleSpec, now: UnixTime) -> Result<()> {
        self.edit_root(now, |root| {
            if !root.roles.contains_key(role) {
                return Err(repo_err(format!("no top-level role {role}")));
            }
            root.keys.extend(key_map(&spec.keys));
            root.roles.insert(
                role.to_string(),
                RoleKeys {
                    keyids: spec.keys.iter().map(PublicKey::key_id).collect(),
                    threshold: spec.threshold,
                },
            );
            let used: std::collections::BTreeSet<String> = root
                .roles
                .values()
                .flat_map(|r| r.keyids.iter().cloned())
                .collect();
            root.keys.retain(|id, _| used.contains(id));
            Ok(())
        })
    }

    /// Copies files into `targets/` and lists them in role `role`.
    /// `files` pairs a target path with the file to publish.
    pub fn add_targets(
        &self,
        role: &str,
        files: &[(String, PathBuf)],
        now: UnixTime,
    ) -> Result<usize> {
        let files: Vec<(String, PathBuf, Option<serde_json::Value>)> = files
            .iter()
            .map(|(t, f)| (t.clone(), f.clone(), None))
            .collect();
        self.add_targets_with_custom(role, &files, now)
    }

    /// [`Self::add_targets`], each target with its `custom` value (binary
    /// packages record their inputs there: [`crate::packages`]).
    pub fn add_targets_with_custom(
        &self,
        role: &str,
        files: &[(String, PathBuf, Option<serde_json::Value>)],
        now: UnixTime,
    ) -> Result<usize> {
        let consistent = self.consistent()?;
        let mut entries = Vec::with_capacity(files.len());
        for (target, source, custom) in files {
            check_target_path(target)?;
            let bytes =
                fs::read(source).map_err(|e| TrustError::io("reading target", source, e))?;
            let digest = sha256_hex(&bytes);
            let dest = self.targets_dir().join(target);
            let parent = dest
                .parent()
                .expect("target path has a parent")
                .to_path_buf();
            fs::create_dir_all(&parent).map_err(|e| TrustError::io("creating", &parent, e))?;
            let base = dest
                .file_name()
                .expect("checked path")
                .to_string_lossy()
                .into_owned();
            // Target copies: a torn one fails every client's length and
            // hash check, so the rename is enough.
            write_atomic(&parent, &base, &bytes, 0o644, Durability::Rename)?;
            if consistent {
                write_atomic(
                    &parent,
                    &format!("{digest}.{base}"),
                    &bytes,
                    0o644,
                    Durability::Rename,
                )?;
            }
            entries.push((
                target.clone(),
                TargetFile {
                    length: bytes.len() as u64,
                    hashes: Hashes::from([("sha256".to_string(), digest)]),
                    custom: custom.clone(),
                },
            ));
        }
        let n = entries.len();
        self.edit_targets(role, now, |t| {
            t.targets.extend(entries);
            Ok(())
        })?;
        Ok(n)
    }

    /// Removes target paths from a role (the files stay under `targets/`
    /// for clients that still hold older metadata).
    pub fn remove_targets(&self, role: &str, paths: &[String], now: UnixTime) -> Result<()> {
        self.edit_targets(role, now, |t| {
            for p in paths {
                t.targets
                    .remove(p)
                    .ok_or_else(|| repo_err(format!("{role} does not list {p}")))?;
            }
            Ok(())
        })
    }

    /// Delegates (or re-delegates, replacing keys and paths: that is how a
    /// delegated key is revoked) from `delegator` to a new or existing role
    /// `name`. A new role gets an empty, unsigned metadata file.
    pub fn delegate(
        &self,
        delegator: &str,
        name: &str,
        spec: RoleSpec,
        paths: Vec<String>,
        terminating: bool,
        now: UnixTime,
    ) -> Result<()> {
        check_new_role_name(name)?;
        if spec.threshold < 1 || spec.threshold as usize > spec.keys.len() {
            return Err(repo_err(format!(
                "{name}: threshold {} with {} key(s)",
                spec.threshold,
                spec.keys.len()
            )));
        }
        self.edit_targets(delegator, now, |t| {
            let d = t.delegations.get_or_insert_with(Delegations::default);
            d.keys.extend(key_map(&spec.keys));
            let role = DelegatedRole {
                name: name.to_string(),
                keyids: spec.keys.iter().map(PublicKey::key_id).collect(),
                threshold: spec.threshold,
                terminating,
                paths: Some(paths),
                path_hash_prefixes: None,
            };
            match d.roles.iter_mut().find(|r| r.name == name) {
                Some(r) => *r = role,
                None => d.roles.push(role),
            }
            let used: std::collections::BTreeSet<String> = d
                .roles
                .iter()
                .flat_map(|r| r.keyids.iter().cloned())
                .collect();
            d.keys.retain(|id, _| used.contains(id));
            Ok(())
        })?;
        if !self.meta_dir().join(format!("{name}.json")).exists() {
            let t = Targets {
                typ: "targets".into(),
                spec_version: SPEC_VERSION.into(),
                version: 1,
                expires: time::format(now + self.lifetimes.targets),
                targets: BTreeMap::new(),
                delegations: None,
            };
            self.write_role(name, &unsigned(&t)?, 1)?;
        }
        Ok(())
    }

    /// Adds `key`'s signature to role `role` (root: the newest, staged
    /// root version). Only a key the role authorises may sign — for root
    /// that is a key of the previous or the new root.
    pub fn sign(&self, role: &str, key: &SecretKey) -> Result<()> {
        let file = format!("{role}.json");
        let raw = self.read(&file)?;
        if role == "root" {
            let root = parse_envelope::<Root>(raw.clone(), "root.json")?.signed;
            let mut allowed = root
                .roles
                .get("root")
                .map(|r| r.keyids.clone())
                .unwrap_or_default();
            if root.version > 1 {
                let prev = parse_envelope::<Root>(
                    self.read(&format!("{}.root.json", root.version - 1))?,
                    "root.json",
                )?
                .signed;
                allowed.extend(
                    prev.roles
                        .get("root")
                        .map(|r| r.keyids.clone())
                        .unwrap_or_default(),
                );
            }
            if !allowed.contains(&key.key_id()) {
                return Err(repo_err(format!(
                    "key {} is not a root key of version {} or {}",
                    key.key_id(),
                    root.version,
                    root.version.saturating_sub(1)
                )));
            }
            let signed = add_signature(&raw, key)?;
            return self.write_root(&signed, root.version);
        }
        let version = parse_envelope::<Targets>(raw.clone(), role)
            .map(|e| e.signed.version)
            .or_else(|_| {
                parse_envelope::<crate::metadata::Snapshot>(raw.clone(), role)
                    .map(|e| e.signed.0.version)
            })
            .or_else(|_| {
                parse_envelope::<crate::metadata::Timestamp>(raw.clone(), role)
                    .map(|e| e.signed.0.version)
            })?;
        let (keyids, _) = self.authorised(role)?;
        if !keyids.contains(&key.key_id()) {
            return Err(repo_err(format!(
                "key {} is not authorised for role {role}",
                key.key_id()
            )));
        }
        let signed = add_signature(&raw, key)?;
        self.write_role(role, &signed, version)
    }

    /// The keys and threshold authorised for a role and the ring that holds
    /// them (root's for top-level roles, the delegator's otherwise).
    fn authorised(&self, role: &str) -> Result<(Vec<String>, (KeyRing, RoleKeys, KeySource))> {
        let root = self.root()?;
        if let Some(rk) = root.roles.get(role) {
            return Ok((
                rk.keyids.clone(),
                (KeyRing::new(&root.keys)?, rk.clone(), KeySource::NewRoot),
            ));
        }
        for (delegator, d) in self.delegation_tree()? {
            if d.name == role {
                let dels = self
                    .targets_role(&delegator)?
                    .0
                    .delegations
                    .unwrap_or_default();
                return Ok((
                    d.keyids.clone(),
                    (
                        KeyRing::new(&dels.keys)?,
                        RoleKeys {
                            keyids: d.keyids.clone(),
                            threshold: d.threshold,
                        },
                        KeySource::Delegator(delegator),
                    ),
                ));
            }
        }
        Err(repo_err(format!("no role {role}")))
    }

    /// Every delegation reachable from targets, as (delegator, role).
    pub fn delegation_tree(&self) -> Result<Vec<(String, DelegatedRole)>> {
        let mut out = Vec::new();
        let mut stack = vec!["targets".to_string()];
        let mut seen = std::collections::HashSet::new();
        while let Some(name) = stack.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            if let Some(d) = self.targets_role(&name)?.0.delegations {
                for r in d.roles {
                    stack.push(r.name.clone());
                    out.push((name.clone(), r));
                }
            }
        }
        Ok(out)
    }

    fn check_signed(&self, role: &str) -> Result<()> {
        let env = parse_envelope::<Targets>(self.read(&format!("{role}.json"))?, role)?;
        let (_, (ring, rk, source)) = self.authorised(role)?;
        env.verify(&ring, role, &rk, source)
    }

    /// Writes a new snapshot listing every targets role (version, length,
    /// sha256) when that listing changed or `force`, signed by `key`.
    /// Refuses while a targets role lacks its threshold of signatures.
    pub fn snapshot(&self, key: &SecretKey, now: UnixTime, force: bool) -> Result<bool> {
        let mut roles = vec!["targets".to_string()];
        roles.extend(self.delegation_tree()?.into_iter().map(|(_, d)| d.name));
        let mut meta = BTreeMap::new();
        for role in roles {
            self.check_signed(&role)?;
            let raw = self.read(&format!("{role}.json"))?;
            let version = parse_envelope::<Targets>(raw.clone(), &role)?
                .signed
                .version;
            meta.insert(
                format!("{role}.json"),
                MetaFile {
                    version,
                    length: Some(raw.len() as u64),
                    hashes: Some(Hashes::from([("sha256".to_string(), sha256_hex(&raw))])),
                },
            );
        }
        let old = self
            .read("snapshot.json")
            .ok()
            .and_then(|raw| parse_envelope::<crate::metadata::Snapshot>(raw, "snapshot").ok());
        if let Some(old) = &old
            && old.signed.0.meta == meta
            && !force
        {
            return Ok(false);
        }
        let version = old.map_or(1, |o| o.signed.0.version + 1);
        let s = MetaList {
            typ: "snapshot".into(),
            spec_version: SPEC_VERSION.into(),
            version,
            expires: time::format(now + self.lifetimes.snapshot),
            meta,
        };
        let bytes = crate::metadata::sign_document(&s, &[key])?;
        self.write_role("snapshot", &bytes, version)?;
        Ok(true)
    }

    /// Writes a new timestamp over the current snapshot, signed by `key`.
    pub fn timestamp(&self, key: &SecretKey, now: UnixTime) -> Result<u64> {
        let raw = self
            .read("snapshot.json")
            .map_err(|_| repo_err("no snapshot yet: run snapshot first"))?;
        let snap = parse_envelope::<crate::metadata::Snapshot>(raw.clone(), "snapshot")?.signed;
        let old = self
            .read("timestamp.json")
            .ok()
            .and_then(|raw| parse_envelope::<crate::metadata::Timestamp>(raw, "timestamp").ok());
        let version = old.map_or(1, |o| o.signed.0.version + 1);
        let meta = BTreeMap::from([(
            "snapshot.json".to_string(),
            MetaFile {
                version: snap.0.version,
                length: Some(raw.len() as u64),
                hashes: Some(Hashes::from([("sha256".to_string(), sha256_hex(&raw))])),
            },
        )]);
        let t = MetaList {
            typ: "timestamp".into(),
            spec_version: SPEC_VERSION.into(),
            version,
            expires: time::format(now + self.lifetimes.timestamp),
            meta,
        };
        let bytes = crate::metadata::sign_document(&t, &[key])?;
        self.write_role("timestamp", &bytes, version)?;
        Ok(version)
    }
}

fn unsigned<T: serde::Serialize>(signed: &T) -> Result<Vec<u8>> {
    crate::metadata::sign_document(signed, &[])
}

/// Lists the files of the ports under `ports_dir` (`ports/<name>/...`) as
/// (target path, file) pairs: every regular file of each port, sorted.
/// Symbolic links are refused (publishing one would publish whatever it
/// points to on the maintainer's machine); `only` restricts to some ports.
pub fn port_files(ports_dir: &Path, only: Option<&[String]>) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let mut names: Vec<String> = fs::read_dir(ports_dir)
        .map_err(|e| TrustError::io("listing", ports_dir, e))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        if only.is_some_and(|o| !o.contains(&name)) {
            continue;
        }
        walk(&ports_dir.join(&name), &format!("ports/{name}"), &mut out)?;
    }
    Ok(out)
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .map_err(|e| TrustError::io("listing", dir, e))?
        .filter_map(|e| e.ok())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        let ty = e
            .file_type()
            .map_err(|err| TrustError::io("inspecting", &path, err))?;
        let target = format!("{prefix}/{name}");
        if ty.is_symlink() {
            return Err(repo_err(format!(
                "{} is a symbolic link: ports trees publish regular files only",
                path.display()
            )));
        } else if ty.is_dir() {
            walk(&path, &target, out)?;
        } else if ty.is_file() {
            check_target_path(&target)?;
            out.push((target, path));
        }
    }
    Ok(())
}

/// Delegation patterns covering every file of one port (globs do not cross
/// `/`, so each directory depth needs its own pattern).
pub fn port_patterns(port: &str) -> Vec<String> {
    (1..=6)
        .map(|depth| format!("ports/{port}/{}", vec!["*"; depth].join("/")))
        .collect()
}
