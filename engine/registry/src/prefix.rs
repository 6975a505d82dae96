//! A prefix and its registry: journaled install and uninstall, recovery,
//! verify.
//!
//! State kept by wport inside the prefix (`.wport/`):
//! - `lock`: an exclusive `flock` held by every registry-touching command;
//! - `staging/<txn>/`: an install's verified files, flat, named by their
//!   index in the journal's `entries` (same filesystem as the prefix, so
//!   moving a file into place is one `renameat`);
//! - `journal/<txn>.json`: the write-ahead plan, written (and fsynced)
//!   before the first change to the prefix.
//!
//! Install: the registry commit (one SQLite transaction) is the commit
//! point. Each move from staging is an atomic `renameat`, so the filesystem
//! itself records progress: an entry has been moved exactly when its staged
//! copy is gone. Recovery rolls an uncommitted install back (takes out what
//! was moved in, removes the directories it created) and a committed one
//! forward (removes the empty staging directory).
//!
//! Uninstall: the durable journal is the commit point. The plan lists only
//! entries that match the registry; recovery carries it forward (removing
//! what is left, re-checking each entry against the registry first), then
//! forgets the package and removes its emptied directories. Nothing is ever
//! moved out of the prefix or followed: links are removed as links.
//!
//! Upgrade (replace an installed package by another version, revision or
//! build; `prefix/upgrade.rs`): the registry commit is the commit point,
//! as for install. Before it, every old entry the new version displaces is
//! kept in `staging/<txn>/old/` (a hard link for a path replaced in place by a
//! `renameat` over it, so the path always shows the old or the new entry);
//! recovery rolls an uncommitted upgrade back by putting those back, and a
//! committed one forward by removing the entries only the old version had.

mod upgrade;

pub use upgrade::UpgradeReport;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use cap_fs_ext::{DirExt, FollowSymlinks, OpenOptionsFollowExt};
use cap_std::fs::{Dir, OpenOptions};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::archive::{OpenedPackage, staged_paths};
use crate::db::{Recorded, Registry};
use crate::error::{RegistryError, Result, io};
use crate::fsops::{Parents, is_not_found, rename_noreplace, rmdir_if_empty, split, unlink};

const STATE: &str = ".wport";

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Op {
    Install,
    Uninstall,
    Upgrade,
}

/// The write-ahead record of one transaction.
#[derive(Serialize, Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Journal {
    op: Op,
    txn: String,
    package: String,
    /// Install: paths moved in, entry `i` staged as `staging/<txn>/<i>`.
    /// Uninstall: paths to remove.
    entries: Vec<String>,
    /// Install: directories this transaction creates, parents first.
    created_dirs: Vec<String>,
    /// Uninstall, upgrade: directories to remove when empty after the
    /// commit.
    remove_dirs: Vec<String>,
    /// Upgrade: old entries displaced before the commit, `displaced[k]`
    /// kept as `staging/<txn>/old/<k>` until then: a path the new version
    /// also has (hard-linked there, then replaced by a rename over it), or
    /// one that changes type (renamed there before the new directory or
    /// entry takes its place).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    displaced: Vec<String>,
    /// Upgrade: old directories removed before the commit because the new
    /// version has a file or link there, parents first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    removed_dirs: Vec<String>,
    /// Upgrade: entries only the old version had, removed after the commit;
    /// with their record, which the registry no longer holds by then
    /// (recovery removes one only if it still matches).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    obsolete: Vec<(String, Recorded)>,
}

/// A problem `verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    Modified {
        package: String,
        path: String,
        what: String,
    },
    Missing {
        package: String,
        path: String,
    },
    Unexpected {
        package: String,
        path: String,
    },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Modified {
                package,
                path,
                what,
            } => write!(f, "modified   {path} ({package}: {what})"),
            Problem::Missing { package, path } => write!(f, "missing    {path} ({package})"),
            Problem::Unexpected { package, path } => write!(
                f,
                "unexpected {path} (in a directory of {package}, owned by no package)"
            ),
        }
    }
}

#[derive(Debug, Default)]
pub struct InstallReport {
    pub files: usize,
    pub symlinks: usize,
    pub created_dirs: usize,
}

#[derive(Debug, Default)]
pub struct UninstallReport {
    pub removed: usize,
    /// Files changed since install and kept (without `force`), with why.
    pub kept: Vec<(String, String)>,
    /// Recorded entries already gone.
    pub missing: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct InstallOptions {
    /// Install even when the package was built for another prefix.
    pub any_prefix: bool,
}

/// How [`Prefix::open_with`] treats the registry.
#[derive(Debug, Clone, Default)]
pub struct PrefixOptions {
    /// When the registry is missing or empty although the prefix had one,
    /// start a new, empty one instead of refusing: the user's explicit
    /// acknowledgement that what was installed is forgotten (its files stay,
    /// owned by no package).
    pub new_registry: bool,
}

/// The file in `.wport` recording the id of the prefix's registry.
pub const REGISTRY_ID: &str = "registry.id";

pub struct Prefix {
    root: PathBuf,
    /// The prefix as the user named it (before resolving links).
    given: PathBuf,
    dir: Dir,
    /// `.wport`; `None` when a read-only open found none (nothing was ever
    /// installed, and nothing may be written).
    state: Option<Dir>,
    registry: Registry,
    reserved: Vec<String>,
    /// Held for the life of the value: exclusive for mutations, shared for
    /// queries (absent only when a read-only prefix has no lock file).
    lock: Option<cap_std::fs::File>,
    /// `WPORT_TEST_CRASH_AT`, read only in builds with the test-only
    /// `fault-injection` feature.
    #[cfg(feature = "fault-injection")]
    crash_at: Option<u64>,
    #[cfg(feature = "fault-injection")]
    steps: u64,
    /// What recovery did when the prefix was opened.
    pub recovered: Vec<String>,
}

/// Current state of a recorded entry compared with the registry.
enum State {
    Same,
    Missing,
    Changed(String),
}

impl Prefix {
    /// Opens (creating if needed) the prefix at `root` for a mutation:
    /// takes the lock exclusively, checks the registry (present when the
    /// prefix had one, SQLite `quick_check`, the id the prefix recorded) and
    /// runs recovery. `registry` defaults to
    /// `<root>/var/wport/registry.sqlite`.
    pub fn open(root: &Path, registry: Option<&Path>) -> Result<Self> {
        Self::open_with(root, registry, &PrefixOptions::default())
    }

    /// [`Prefix::open`] with options.
    pub fn open_with(root: &Path, registry: Option<&Path>, opts: &PrefixOptions) -> Result<Self> {
        std::fs::create_dir_all(root).map_err(io("creating the prefix", root))?;
        let given = root.to_path_buf();
        let root = root
            .canonicalize()
            .map_err(io("resolving the prefix", root))?;
        let dir = Dir::open_ambient_dir(&root, cap_std::ambient_authority())
            .map_err(io("opening the prefix", &root))?;
        let had_state = dir.symlink_metadata(STATE).is_ok();
        let state = ensure_dir(&dir, STATE)?;
        ensure_dir(&state, "staging")?;
        ensure_dir(&state, "journal")?;
        let lock = open_lock(&state, &root, true)?;
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| io("locking", root.join(".wport/lock"))(e.into()))?;
        let (reg_path, reserved) = registry_path(&dir, &root, registry, true)?;
        let registry = open_registry_rw(&dir, &state, &root, &reg_path, had_state, opts)?;
        let mut p = Prefix::assemble(
            root,
            given,
            dir,
            Some(state),
            registry,
            reserved,
            Some(lock),
        );
        p.recovered = p.recover()?;
        Ok(p)
    }

    /// Opens the prefix for a query (`list`, `contents`, `owner`, `info`,
    /// `verify`): nothing is created and the registry is opened read-only.
    /// On a writable prefix the lock is taken and an interrupted
    /// transaction recovered first (that needs the registry read-write);
    /// the lock is then held shared. On a prefix this process cannot write
    /// (a read-only file system, another user's prefix) the lock is taken
    /// shared if its file exists, an interrupted transaction is an error
    /// ([`RegistryError::RecoveryNeeded`]), and the registry is opened
    /// `immutable` when its directory is not writable. With `check`, SQLite's
    /// `quick_check` runs on the registry (`verify`).
    pub fn open_query(root: &Path, registry: Option<&Path>, check: bool) -> Result<Self> {
        if std::fs::symlink_metadata(root).is_err() {
            // No prefix yet: exactly as before, it is created (empty).
            return Self::open(root, registry);
        }
        let given = root.to_path_buf();
        let root = root
            .canonicalize()
            .map_err(io("resolving the prefix", root))?;
        let dir = Dir::open_ambient_dir(&root, cap_std::ambient_authority())
            .map_err(io("opening the prefix", &root))?;
        let state = match dir.open_dir_nofollow(STATE) {
            Ok(d) => Some(d),
            Err(e) if is_not_found(&e) => None,
            Err(e) => return Err(io("opening (it must be a directory, not a link)", STATE)(e)),
        };
        let (reg_path, reserved) = registry_path(&dir, &root, registry, false)?;
        let writable = state.as_ref().is_some_and(|s| {
            rustix::fs::accessat(
                s,
                ".",
                rustix::fs::Access::WRITE_OK,
                rustix::fs::AtFlags::EACCESS,
            )
            .is_ok()
        });
        if writable && let Some(state) = &state {
            let lock = open_lock(state, &root, true)?;
            rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
                .map_err(|e| io("locking", root.join(".wport/lock"))(e.into()))?;
            if needs_recovery(state)? {
                // Recovery writes: open as a mutation would, recover, and
                // answer from that (checked) connection.
                let registry = open_registry_rw(
                    &dir,
                    state,
                    &root,
                    &reg_path,
                    true,
                    &PrefixOptions::default(),
                )?;
                let state = state.try_clone().map_err(io("opening", STATE))?;
                let mut p = Prefix::assemble(
                    root,
                    given,
                    dir,
                    Some(state),
                    registry,
                    reserved,
                    Some(lock),
                );
                p.recovered = p.recover()?;
                if let Some(l) = &p.lock {
                    rustix::fs::flock(l, rustix::fs::FlockOperation::LockShared)
                        .map_err(|e| io("locking", ".wport/lock")(e.into()))?;
                }
                return Ok(p);
            }
            // Downgrade: queries share the prefix with each other.
            rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockShared)
                .map_err(|e| io("locking", root.join(".wport/lock"))(e.into()))?;
            let registry = open_registry_ro(&dir, Some(state), &root, &reg_path, check)?;
            let state = state.try_clone().map_err(io("opening", STATE))?;
            return Ok(Prefix::assemble(
                root,
                given,
                dir,
                Some(state),
                registry,
                reserved,
                Some(lock),
            ));
        }
        // Read-only: a shared lock when there is a lock file to take it on
        // (flock needs no write access), no recovery possible.
        let lock = match &state {
            Some(s) => match open_lock(s, &root, false) {
                Ok(l) => {
                    rustix::fs::flock(&l, rustix::fs::FlockOperation::LockShared)
                        .map_err(|e| io("locking", root.join(".wport/lock"))(e.into()))?;
                    Some(l)
                }
                Err(_) => None,
            },
            None => None,
        };
        if let Some(s) = &state
            && let Some(journal) = pending(s)?
        {
            return Err(RegistryError::RecoveryNeeded {
                prefix: root,
                journal,
            });
        }
        let registry = open_registry_ro(&dir, state.as_ref(), &root, &reg_path, check)?;
        Ok(Prefix::assemble(
            root, given, dir, state, registry, reserved, lock,
        ))
    }

    fn assemble(
        root: PathBuf,
        given: PathBuf,
        dir: Dir,
        state: Option<Dir>,
        registry: Registry,
        reserved: Vec<String>,
        lock: Option<cap_std::fs::File>,
    ) -> Self {
        Prefix {
            root,
            given,
            dir,
            state,
            registry,
            reserved,
            lock,
            #[cfg(feature = "fault-injection")]
            crash_at: std::env::var("WPORT_TEST_CRASH_AT")
                .ok()
                .and_then(|v| v.parse().ok()),
            #[cfg(feature = "fault-injection")]
            steps: 0,
            recovered: Vec::new(),
        }
    }

    /// `.wport`; only a read-only open of a prefix nothing was installed in
    /// lacks it, and such a prefix is never written.
    fn state(&self) -> Result<&Dir> {
        self.state.as_ref().ok_or_else(|| {
            RegistryError::Other(format!(
                "the prefix {} was opened read-only",
                self.root.display()
            ))
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// A journal step. With the test-only `fault-injection` feature and
    /// `WPORT_TEST_CRASH_AT=N` the process aborts after the N-th
    /// (crash-injection tests); without the feature, nothing.
    fn step(&mut self) {
        #[cfg(feature = "fault-injection")]
        {
            self.steps += 1;
            if self.crash_at == Some(self.steps) {
                std::process::abort();
            }
        }
    }

    fn new_txn() -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        format!("{:x}-{:x}", now.as_nanos(), std::process::id())
    }

    fn write_journal(&self, j: &Journal) -> Result<()> {
        let jdir = self
            .state()?
            .open_dir_nofollow("journal")
            .map_err(io("opening", self.root.join(".wport/journal")))?;
        let tmp = format!("{}.tmp", j.txn);
        let body = serde_json::to_vec(j).expect("serialisable");
        let mut f = jdir
            .open_with(
                &tmp,
                OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .follow(FollowSymlinks::No),
            )
            .map_err(io("writing the journal", &tmp))?;
        f.write_all(&body)
            .and_then(|_| f.sync_all())
            .map_err(io("writing the journal", &tmp))?;
        rustix::fs::renameat(
            &jdir,
            tmp.as_str(),
            &jdir,
            format!("{}.json", j.txn).as_str(),
        )
        .map_err(|e| io("writing the journal", &tmp)(e.into()))?;
        // Directory handles may be O_PATH; fsync needs a readable descriptor.
        let sync = rustix::fs::openat(
            &jdir,
            ".",
            rustix::fs::OFlags::RDONLY
                | rustix::fs::OFlags::DIRECTORY
                | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .and_then(|fd| rustix::fs::fsync(&fd));
        sync.map_err(|e| io("syncing the journal directory", &tmp)(e.into()))?;
        Ok(())
    }

    fn remove_journal(&self, txn: &str) -> Result<()> {
        let jdir = self
            .state()?
            .open_dir_nofollow("journal")
            .map_err(io("opening", self.root.join(".wport/journal")))?;
        match unlink(&jdir, &format!("{txn}.json")) {
            Err(e) if !is_not_found(&e) => Err(io("removing the journal", txn)(e)),
            _ => Ok(()),
        }
    }

    fn remove_staging(&self, txn: &str) -> Result<()> {
        let sdir = self
            .state()?
            .open_dir_nofollow("staging")
            .map_err(io("opening", self.root.join(".wport/staging")))?;
        // cap-std's remove_dir_all removes links as links.
        match sdir.remove_dir_all(txn) {
            Err(e) if !is_not_found(&e) => Err(io("removing staging", txn)(e)),
            _ => Ok(()),
        }
    }

    /// Rolls back or forward every transaction a crash interrupted, and
    /// removes staging directories no journal refers to.
    pub fn recover(&mut self) -> Result<Vec<String>> {
        let mut done = Vec::new();
        let jdir = self
            .state()?
            .open_dir_nofollow("journal")
            .map_err(io("opening", self.root.join(".wport/journal")))?;
        let mut names: Vec<String> = jdir
            .entries()
            .map_err(io("listing", ".wport/journal"))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        names.sort();
        let mut live = HashSet::new();
        for name in names {
            if let Some(txn) = name.strip_suffix(".json") {
                let mut body = Vec::new();
                jdir.open_with(
                    &name,
                    OpenOptions::new().read(true).follow(FollowSymlinks::No),
                )
                .and_then(|mut f| f.read_to_end(&mut body))
                .map_err(io("reading the journal", &name))?;
                let j: Journal = serde_json::from_slice(&body)
                    .map_err(|e| RegistryError::Other(format!("journal {name}: {e}")))?;
                if j.txn != txn {
                    return Err(RegistryError::Other(format!(
                        "journal {name} names transaction {}",
                        j.txn
                    )));
                }
                done.push(self.recover_one(&j)?);
                live.insert(txn.to_string());
            } else {
                // A journal that never got written completely: nothing was
                // changed yet.
                let _ = unlink(&jdir, &name);
            }
        }
        let sdir = self
            .state()?
            .open_dir_nofollow("staging")
            .map_err(io("opening", ".wport/staging"))?;
        let orphans: Vec<String> = sdir
            .entries()
            .map_err(io("listing", ".wport/staging"))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        for o in orphans {
            if !live.contains(&o) {
                self.remove_staging(&o)?;
                done.push(format!("removed unfinished staging {o}"));
            }
        }
        Ok(done)
    }

    fn recover_one(&mut self, j: &Journal) -> Result<String> {
        let installed = self.registry.package(&j.package)?;
        let msg = match j.op {
            Op::Install if installed.as_ref().is_some_and(|p| p.txn == j.txn) => {
                self.remove_staging(&j.txn)?;
                format!("completed the install of {}", j.package)
            }
            Op::Install => {
                self.rollback_install(j)?;
                format!("rolled back an interrupted install of {}", j.package)
            }
            Op::Uninstall => {
                self.finish_uninstall(j, true)?;
                format!("completed the uninstall of {}", j.package)
            }
            Op::Upgrade if installed.as_ref().is_some_and(|p| p.txn == j.txn) => {
                self.finish_upgrade(j, true)?;
                format!("completed the upgrade of {}", j.package)
            }
            Op::Upgrade => {
                self.rollback_upgrade(j)?;
                format!("rolled back an interrupted upgrade of {}", j.package)
            }
        };
        self.remove_journal(&j.txn)?;
        Ok(msg)
    }

    fn staging(&self, txn: &str) -> Result<Option<Dir>> {
        let sdir = self
            .state()?
            .open_dir_nofollow("staging")
            .map_err(io("opening", ".wport/staging"))?;
        match sdir.open_dir_nofollow(txn) {
            Ok(d) => Ok(Some(d)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(io("opening staging", txn)(e)),
        }
    }

    fn rollback_install(&mut self, j: &Journal) -> Result<()> {
        if let Some(staging) = self.staging(&j.txn)? {
            let mut parents = Parents::new(&self.dir);
            for (i, p) in j.entries.iter().enumerate().rev() {
                match staging.symlink_metadata(i.to_string()) {
                    Err(e) if is_not_found(&e) => {
                        // Moved in: take it out again (as a link if it is one).
                        if let Ok((pd, name)) = parents.parent(p) {
                            let _ = unlink(pd, name);
                        }
                    }
                    _ => {}
                }
            }
        }
        let mut parents = Parents::new(&self.dir);
        for d in j.created_dirs.iter().rev() {
            if let Ok((pd, name)) = parents.parent(d) {
                rmdir_if_empty(pd, name);
            }
        }
        self.remove_staging(&j.txn)
    }

    /// Carries an uninstall forward from its journal: removes each planned
    /// entry (links as links), commits the registry, removes the emptied
    /// directories. In recovery (`recheck`), an entry is removed only if it
    /// still matches the registry, so a file changed after the crash is kept.
    fn finish_uninstall(&mut self, j: &Journal, recheck: bool) -> Result<()> {
        let recorded: Option<std::collections::HashMap<String, Recorded>> =
            if recheck && self.registry.package(&j.package)?.is_some() {
                Some(self.registry.files_of(&j.package)?.into_iter().collect())
            } else {
                None
            };
        let dir = self
            .dir
            .try_clone()
            .map_err(io("opening the prefix", &self.root))?;
        let mut parents = Parents::new(&dir);
        for p in &j.entries {
            if let Some(rec) = recorded.as_ref().and_then(|r| r.get(p))
                && !matches!(Self::state_of(&mut parents, p, rec), State::Same)
            {
                continue;
            }
            let Ok((pd, name)) = parents.parent(p) else {
                continue;
            };
            match unlink(pd, name) {
                Err(e) if !is_not_found(&e) => return Err(io("removing", p.as_str())(e)),
                _ => {}
            }
            self.step();
        }
        if self.registry.package(&j.package)?.is_some() {
            self.registry.record_uninstall(&j.package)?;
        }
        self.step();
        parents.clear();
        for d in j.remove_dirs.iter().rev() {
            if let Ok((pd, name)) = parents.parent(d) {
                rmdir_if_empty(pd, name);
            }
            self.step();
        }
        Ok(())
    }

    /// A new transaction's staging directory `.wport/staging/<txn>` with
    /// `pkg`'s payload unpacked into it, every file verified (install and
    /// upgrade both start here). On failure the staging directory is gone.
    pub(crate) fn stage(&self, pkg: &mut OpenedPackage) -> Result<(String, Dir)> {
        let txn = Self::new_txn();
        let sdir = self
            .state()?
            .open_dir_nofollow("staging")
            .map_err(io("opening", ".wport/staging"))?;
        sdir.create_dir(&txn)
            .map_err(io("creating staging", &txn))?;
        let staging = sdir
            .open_dir_nofollow(&txn)
            .map_err(io("opening staging", &txn))?;
        if let Err(e) = pkg.unpack_to_staging(&staging) {
            self.remove_staging(&txn)?;
            return Err(e);
        }
        Ok((txn, staging))
    }

    /// Installs a verified package. Its dependencies must be installed.
    pub fn install(
        &mut self,
        pkg: &mut OpenedPackage,
        opts: &InstallOptions,
    ) -> Result<InstallReport> {
        let m = pkg.manifest.clone();
        self.check_prefix(&m, opts)?;
        if let Some(p) = self.registry.package(&m.name)? {
            return Err(RegistryError::AlreadyInstalled {
                package: m.name.clone(),
                version: format!("{}_{}", p.version, p.revision),
            });
        }
        for d in &m.dependencies {
            if self.registry.package(d)?.is_none() {
                return Err(RegistryError::MissingDependency {
                    package: m.name.clone(),
                    dependency: d.clone(),
                    hint: String::new(),
                });
            }
        }

        // Plan: which directories exist, which are created; no path may be
        // owned by another package or exist unowned.
        let mut created: Vec<String> = Vec::new();
        let mut created_set: HashSet<&str> = HashSet::new();
        let mut record_dirs: Vec<String> = Vec::new();
        {
            let mut parents = Parents::new(&self.dir);
            let conflict = |reg: &Registry, p: &str| -> Result<RegistryError> {
                Ok(match reg.owner(p)? {
                    Some(owner) => RegistryError::Conflict {
                        package: m.name.clone(),
                        path: p.into(),
                        owner,
                    },
                    None => RegistryError::UnownedFileExists {
                        package: m.name.clone(),
                        path: p.into(),
                    },
                })
            };
            for d in &m.directories {
                if created_set.contains(split(d).0) {
                    created.push(d.clone());
                    created_set.insert(d);
                    record_dirs.push(d.clone());
                    continue;
                }
                let (pd, name) = parents
                    .parent(d)
                    .map_err(|_| RegistryError::ThroughSymlink { path: d.clone() })?;
                match pd.symlink_metadata(name) {
                    Err(e) if is_not_found(&e) => {
                        created.push(d.clone());
                        created_set.insert(d);
                        record_dirs.push(d.clone());
                    }
                    Err(e) => return Err(io("inspecting", d.as_str())(e)),
                    Ok(md) if md.is_dir() => {
                        if !self.registry.dir_owners(d)?.is_empty() {
                            record_dirs.push(d.clone());
                        }
                    }
                    Ok(_) => return Err(conflict(&self.registry, d)?),
                }
            }
            for p in m
                .files
                .iter()
                .map(|f| &f.path)
                .chain(m.symlinks.iter().map(|l| &l.path))
            {
                if let Some(owner) = self.registry.owner(p)? {
                    return Err(RegistryError::Conflict {
                        package: m.name.clone(),
                        path: p.clone(),
                        owner,
                    });
                }
                if created_set.contains(split(p).0) {
                    continue;
                }
                let (pd, name) = parents
                    .parent(p)
                    .map_err(|_| RegistryError::ThroughSymlink { path: p.clone() })?;
                match pd.symlink_metadata(name) {
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => return Err(io("inspecting", p.as_str())(e)),
                    Ok(_) => return Err(conflict(&self.registry, p)?),
                }
            }
        }

        // Stage: unpack, verifying every file.
        let (txn, staging) = self.stage(pkg)?;
        let journal = Journal {
            op: Op::Install,
            txn: txn.clone(),
            package: m.name.clone(),
            entries: staged_paths(&m),
            created_dirs: created,
            remove_dirs: Vec::new(),
            displaced: Vec::new(),
            removed_dirs: Vec::new(),
            obsolete: Vec::new(),
        };
        self.write_journal(&journal)?;
        self.step();

        // Activate.
        if let Err(e) = self.activate(&journal, &staging) {
            self.rollback_install(&journal)?;
            self.remove_journal(&txn)?;
            return Err(e);
        }
        if let Err(e) =
            self.registry
                .record_install(&m, pkg.attestation.as_deref(), &txn, &record_dirs)
        {
            // The commit failed (disk full, I/O error, a locked or damaged
            // database): undo the activation now, in this command, rather
            // than leave the files in the prefix until the next one. If the
            // registry does hold this transaction after all, it committed
            // and recovery rolls forward instead. When even that cannot be
            // decided, the durable journal is left for the next command.
            if self.recover_one(&journal).is_ok()
                && self
                    .registry
                    .package(&m.name)
                    .ok()
                    .flatten()
                    .is_some_and(|p| p.txn == txn)
            {
                return Ok(InstallReport {
                    files: m.files.len(),
                    symlinks: m.symlinks.len(),
                    created_dirs: journal.created_dirs.len(),
                });
            }
            return Err(e);
        }
        self.step();
        self.remove_staging(&txn)?;
        self.step();
        self.remove_journal(&txn)?;
        Ok(InstallReport {
            files: m.files.len(),
            symlinks: m.symlinks.len(),
            created_dirs: journal.created_dirs.len(),
        })
    }

    /// Refuses a package built for another prefix (unless `any_prefix`).
    fn check_prefix(&self, m: &crate::Manifest, opts: &InstallOptions) -> Result<()> {
        let root_str = self.root.to_string_lossy().into_owned();
        let given = self.given.to_string_lossy();
        let built_for = m.prefix.trim_end_matches('/');
        if !opts.any_prefix
            && built_for != root_str.trim_end_matches('/')
            && built_for != given.trim_end_matches('/')
        {
            return Err(RegistryError::WrongPrefix {
                package: m.name.clone(),
                built_for: m.prefix.clone(),
                prefix: root_str,
            });
        }
        Ok(())
    }

    fn activate(&mut self, j: &Journal, staging: &Dir) -> Result<()> {
        let dir = self
            .dir
            .try_clone()
            .map_err(io("opening the prefix", &self.root))?;
        let mut parents = Parents::new(&dir);
        for d in &j.created_dirs {
            let (pd, name) = parents
                .parent(d)
                .map_err(|_| RegistryError::ThroughSymlink { path: d.clone() })?;
            rustix::fs::mkdirat(pd, name, rustix::fs::Mode::from_raw_mode(0o755))
                .map_err(|e| io("creating directory", d.as_str())(e.into()))?;
            self.step();
        }
        for (i, p) in j.entries.iter().enumerate() {
            let (pd, name) = parents
                .parent(p)
                .map_err(|_| RegistryError::ThroughSymlink { path: p.clone() })?;
            rename_noreplace(staging, &i.to_string(), pd, name)
                .map_err(io("moving into place", p.as_str()))?;
            self.step();
        }
        Ok(())
    }

    fn state_of(parents: &mut Parents<'_>, path: &str, rec: &Recorded) -> State {
        let (pd, name) = match parents.parent(path) {
            Ok(x) => x,
            Err(e) if is_not_found(&e) => return State::Missing,
            Err(_) => {
                return State::Changed(
                    "a directory on its path is no longer a directory (a link?)".into(),
                );
            }
        };
        let md = match pd.symlink_metadata(name) {
            Ok(m) => m,
            Err(e) if is_not_found(&e) => return State::Missing,
            Err(e) => return State::Changed(format!("cannot inspect: {e}")),
        };
        match rec {
            Recorded::Link { target } => {
                if !md.file_type().is_symlink() {
                    return State::Changed("no longer a symbolic link".into());
                }
                match pd.read_link_contents(name) {
                    Ok(t) if t.as_os_str().as_encoded_bytes() == target.as_bytes() => State::Same,
                    Ok(t) => {
                        State::Changed(format!("link target is {} (was {target})", t.display()))
                    }
                    Err(e) => State::Changed(format!("cannot read link: {e}")),
                }
            }
            Recorded::File { sha256, mode, size } => {
                use cap_std::fs::PermissionsExt;
                if md.file_type().is_symlink() {
                    return State::Changed("replaced by a symbolic link".into());
                }
                if !md.is_file() {
                    return State::Changed("no longer a regular file".into());
                }
                let m = md.permissions().mode() & 0o7777;
                if m != *mode {
                    return State::Changed(format!("mode {m:o} (was {mode:o})"));
                }
                if md.len() != *size {
                    return State::Changed(format!("size {} (was {size})", md.len()));
                }
                let mut f = match pd.open_with(
                    name,
                    OpenOptions::new().read(true).follow(FollowSymlinks::No),
                ) {
                    Ok(f) => f,
                    Err(e) => return State::Changed(format!("cannot read: {e}")),
                };
                let mut h = Sha256::new();
                let mut buf = [0u8; 64 * 1024];
                loop {
                    match f.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => h.update(&buf[..n]),
                        Err(e) => return State::Changed(format!("cannot read: {e}")),
                    }
                }
                if hex::encode(h.finalize()) != *sha256 {
                    State::Changed("contents differ (sha256)".into())
                } else {
                    State::Same
                }
            }
        }
    }

    /// Uninstalls `name`: removes exactly its recorded files and links
    /// (links as links) and the directories only it recorded, when empty.
    /// Files changed since install are kept and reported unless `force`.
    pub fn uninstall(&mut self, name: &str, force: bool) -> Result<UninstallReport> {
        if self.registry.package(name)?.is_none() {
            return Err(RegistryError::NotInstalled {
                package: name.into(),
            });
        }
        let dependents = self.registry.dependents(name)?;
        if !dependents.is_empty() {
            return Err(RegistryError::HasDependents {
                package: name.into(),
                dependents,
            });
        }
        let files = self.registry.files_of(name)?;
        let mut report = UninstallReport::default();
        let mut entries = Vec::new();
        {
            let mut parents = Parents::new(&self.dir);
            for (path, rec) in &files {
                match Self::state_of(&mut parents, path, rec) {
                    State::Same => entries.push(path.clone()),
                    State::Missing => report.missing.push(path.clone()),
                    State::Changed(why) => {
                        // A path through a replaced directory is never
                        // reached, even with force.
                        let reachable = parents.parent(path).is_ok();
                        if force && reachable {
                            entries.push(path.clone());
                        } else {
                            report.kept.push((path.clone(), why));
                        }
                    }
                }
            }
        }
        let remove_dirs = self.registry.sole_dirs_of(name)?;
        let txn = Self::new_txn();
        let journal = Journal {
            op: Op::Uninstall,
            txn: txn.clone(),
            package: name.into(),
            entries,
            created_dirs: Vec::new(),
            remove_dirs,
            displaced: Vec::new(),
            removed_dirs: Vec::new(),
            obsolete: Vec::new(),
        };
        // Once the plan is durable the uninstall is committed: a crash from
        // here on is carried forward by recovery.
        self.write_journal(&journal)?;
        self.step();
        self.finish_uninstall(&journal, false)?;
        report.removed = journal.entries.len();
        self.remove_journal(&txn)?;
        Ok(report)
    }

    /// Compares installed files with the registry: every package, or one.
    pub fn verify(&self, name: Option<&str>) -> Result<Vec<Problem>> {
        let names: Vec<String> = match name {
            Some(n) => {
                if self.registry.package(n)?.is_none() {
                    return Err(RegistryError::NotInstalled { package: n.into() });
                }
                vec![n.to_string()]
            }
            None => self.registry.packages()?.into_iter().map(|p| p.0).collect(),
        };
        let mut problems = Vec::new();
        let mut parents = Parents::new(&self.dir);
        for package in &names {
            for (path, rec) in self.registry.files_of(package)? {
                match Self::state_of(&mut parents, &path, &rec) {
                    State::Same => {}
                    State::Missing => problems.push(Problem::Missing {
                        package: package.clone(),
                        path,
                    }),
                    State::Changed(what) => problems.push(Problem::Modified {
                        package: package.clone(),
                        path,
                        what,
                    }),
                }
            }
            for d in self.registry.dirs_of(package)? {
                let sub = match crate::fsops::open_dir_nofollow(&self.dir, &d) {
                    Ok(s) => s,
                    Err(e) if is_not_found(&e) => {
                        problems.push(Problem::Missing {
                            package: package.clone(),
                            path: d,
                        });
                        continue;
                    }
                    Err(_) => {
                        problems.push(Problem::Modified {
                            package: package.clone(),
                            path: d,
                            what: "no longer a directory".into(),
                        });
                        continue;
                    }
                };
                let mut names: Vec<String> = sub
                    .entries()
                    .map_err(io("listing", d.as_str()))?
                    .filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .collect();
                names.sort();
                for n in names {
                    let p = format!("{d}/{n}");
                    if !self.reserved.contains(&p) && !self.registry.is_recorded(&p)? {
                        problems.push(Problem::Unexpected {
                            package: package.clone(),
                            path: p,
                        });
                    }
                }
            }
        }
        problems.dedup();
        Ok(problems)
    }
}

/// Opens `.wport/lock` (created when `write`; read-only otherwise, which is
/// enough for `flock`).
fn open_lock(state: &Dir, root: &Path, write: bool) -> Result<cap_std::fs::File> {
    let mut o = OpenOptions::new();
    o.read(true).follow(FollowSymlinks::No);
    if write {
        o.write(true).create(true);
    }
    state
        .open_with("lock", &o)
        .map_err(io("opening the lock", root.join(".wport/lock")))
}

/// Where the registry is, and the paths wport reserves in the prefix. The
/// default registry is inside the prefix, made (with `create`) and checked
/// through handles, so a planted `var` link cannot move it elsewhere.
fn registry_path(
    dir: &Dir,
    root: &Path,
    registry: Option<&Path>,
    create: bool,
) -> Result<(PathBuf, Vec<String>)> {
    let mut reserved = vec![STATE.to_string()];
    let path = match registry {
        Some(r) => {
            if create && let Some(parent) = r.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .map_err(io("creating the registry directory", parent))?;
            }
            r.to_path_buf()
        }
        None => {
            let wport = if create {
                let var = ensure_dir(dir, "var")?;
                Some(ensure_dir(&var, "wport")?)
            } else {
                match crate::fsops::open_dir_nofollow(dir, "var/wport") {
                    Ok(d) => Some(d),
                    Err(e) if is_not_found(&e) => None,
                    Err(_) => {
                        return Err(RegistryError::ThroughSymlink {
                            path: "var/wport".into(),
                        });
                    }
                }
            };
            if let Some(wport) = wport
                && let Ok(md) = wport.symlink_metadata("registry.sqlite")
                && !md.is_file()
            {
                return Err(RegistryError::ThroughSymlink {
                    path: "var/wport/registry.sqlite".into(),
                });
            }
            reserved.push("var/wport".to_string());
            root.join("var/wport/registry.sqlite")
        }
    };
    Ok((path, reserved))
}

/// The first interrupted transaction's journal in `.wport/journal`, if any.
fn pending(state: &Dir) -> Result<Option<String>> {
    let jdir = match state.open_dir_nofollow("journal") {
        Ok(d) => d,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(io("opening", ".wport/journal")(e)),
    };
    let mut names: Vec<String> = jdir
        .entries()
        .map_err(io("listing", ".wport/journal"))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    Ok(names.into_iter().next())
}

/// Whether recovery has anything to do: a journal (complete or not) or a
/// staging directory left by a crash.
fn needs_recovery(state: &Dir) -> Result<bool> {
    for d in ["journal", "staging"] {
        match state.open_dir_nofollow(d) {
            Ok(sub) => {
                if sub.entries().map_err(io("listing", d))?.next().is_some() {
                    return Ok(true);
                }
            }
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(io("opening", d)(e)),
        }
    }
    Ok(false)
}

/// The registry id `.wport/registry.id` records, if any.
fn read_marker(state: &Dir) -> Result<Option<String>> {
    let mut f = match state.open_with(
        REGISTRY_ID,
        OpenOptions::new().read(true).follow(FollowSymlinks::No),
    ) {
        Ok(f) => f,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(io("reading", format!(".wport/{REGISTRY_ID}"))(e)),
    };
    let mut body = String::new();
    (&mut f)
        .take(256)
        .read_to_string(&mut body)
        .map_err(io("reading", format!(".wport/{REGISTRY_ID}")))?;
    Ok(Some(body.trim().to_string()))
}

/// Writes `.wport/registry.id` durably (temporary file, fsync, rename,
/// directory fsync).
fn write_marker(state: &Dir, id: &str) -> Result<()> {
    let tmp = format!("{REGISTRY_ID}.tmp");
    let _ = unlink(state, &tmp);
    let mut f = state
        .open_with(
            &tmp,
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .follow(FollowSymlinks::No),
        )
        .map_err(io("writing", format!(".wport/{tmp}")))?;
    f.write_all(format!("{id}\n").as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(io("writing", format!(".wport/{tmp}")))?;
    rustix::fs::renameat(state, tmp.as_str(), state, REGISTRY_ID)
        .map_err(|e| io("writing", format!(".wport/{REGISTRY_ID}"))(e.into()))?;
    rustix::fs::openat(
        state,
        ".",
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .and_then(|fd| rustix::fs::fsync(&fd))
    .map_err(|e| io("syncing", ".wport")(e.into()))
}

/// A fresh registry id: 16 random bytes, hex.
fn new_registry_id() -> Result<String> {
    let mut b = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .map_err(io("reading", "/dev/urandom"))?;
    Ok(hex::encode(b))
}

/// Whether the registry file is there with something in it: SQLite would
/// silently treat a missing or zero-length file as a new, empty database.
fn registry_present(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.len() > 0)
}

/// Why the prefix must have had a registry, if it shows it did: the id it
/// recorded; a journal; or (prefixes from before ids) a `.wport` that was
/// already there next to installed-looking content.
fn registry_evidence(
    dir: &Dir,
    state: Option<&Dir>,
    marker: Option<&str>,
    had_state: bool,
) -> Result<Option<String>> {
    if let Some(id) = marker {
        return Ok(Some(format!(".wport/{REGISTRY_ID} records registry {id}")));
    }
    if let Some(s) = state
        && let Some(j) = pending(s)?
    {
        return Ok(Some(format!("an interrupted transaction's journal {j}")));
    }
    if had_state {
        let others: Vec<String> = dir
            .entries()
            .map_err(io("listing", "the prefix"))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n != STATE && n != "var")
            .collect();
        if let Some(first) = others.iter().min() {
            return Ok(Some(format!(
                "wport has used it (.wport exists) and it holds {} entries, e.g. {}",
                others.len(),
                first.escape_debug()
            )));
        }
    }
    Ok(None)
}

fn missing_error(root: &Path, reg_path: &Path, evidence: String) -> RegistryError {
    RegistryError::RegistryMissing {
        path: reg_path.to_path_buf(),
        prefix: root.to_path_buf(),
        marker: root.join(STATE).join(REGISTRY_ID),
        evidence,
    }
}

/// Opens the registry for a mutation. A missing or empty registry is
/// created only for a prefix that shows no sign of having had one (or with
/// `new_registry`); an existing one must pass `quick_check` and carry the
/// id the prefix recorded. A registry from before ids gets one.
fn open_registry_rw(
    dir: &Dir,
    state: &Dir,
    root: &Path,
    reg_path: &Path,
    had_state: bool,
    opts: &PrefixOptions,
) -> Result<Registry> {
    let marker = read_marker(state)?;
    if !registry_present(reg_path) {
        if !opts.new_registry
            && let Some(ev) = registry_evidence(dir, Some(state), marker.as_deref(), had_state)?
        {
            return Err(missing_error(root, reg_path, ev));
        }
        let registry = Registry::open(reg_path, false)?;
        let id = new_registry_id()?;
        registry.set_id(&id)?;
        write_marker(state, &id)?;
        return Ok(registry);
    }
    let registry = Registry::open(reg_path, true)?;
    match (marker, registry.id()?) {
        (Some(m), Some(i)) if m == i => {}
        (Some(m), found) => {
            return Err(RegistryError::RegistryMismatch {
                path: reg_path.to_path_buf(),
                marker: root.join(STATE).join(REGISTRY_ID),
                expected: m,
                found: found.unwrap_or_else(|| "none".into()),
            });
        }
        // The marker was lost: the registry is the authority.
        (None, Some(i)) => write_marker(state, &i)?,
        (None, None) => {
            let id = new_registry_id()?;
            registry.set_id(&id)?;
            write_marker(state, &id)?;
        }
    }
    Ok(registry)
}

/// Opens the registry for a query, read-only, creating nothing.
fn open_registry_ro(
    dir: &Dir,
    state: Option<&Dir>,
    root: &Path,
    reg_path: &Path,
    check: bool,
) -> Result<Registry> {
    let marker = match state {
        Some(s) => read_marker(s)?,
        None => None,
    };
    if !registry_present(reg_path) {
        if let Some(ev) = registry_evidence(dir, state, marker.as_deref(), state.is_some())? {
            return Err(missing_error(root, reg_path, ev));
        }
        return Registry::empty(reg_path);
    }
    // SQLite needs to create the WAL index next to a WAL database; where
    // it cannot, the file is opened immutable (we hold the lock shared, or
    // nobody can write here at all).
    let immutable = reg_path
        .parent()
        .is_none_or(|d| rustix::fs::access(d, rustix::fs::Access::WRITE_OK).is_err());
    let registry = Registry::open_read_only(reg_path, immutable, check)?;
    if let Some(m) = marker {
        let found = registry.id()?;
        if found.as_deref() != Some(m.as_str()) {
            return Err(RegistryError::RegistryMismatch {
                path: reg_path.to_path_buf(),
                marker: root.join(STATE).join(REGISTRY_ID),
                expected: m,
                found: found.unwrap_or_else(|| "none".into()),
            });
        }
    }
    Ok(registry)
}

fn ensure_dir(parent: &Dir, name: &str) -> Result<Dir> {
    match parent.create_dir(name) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io("creating", name)(e)),
    }
    parent
        .open_dir_nofollow(name)
        .map_err(io("opening (it must be a directory, not a link)", name))
}
