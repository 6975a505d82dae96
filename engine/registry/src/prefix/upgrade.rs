//! Upgrade: replacing an installed package by another version, revision or
//! build of it (or the same one again), under the journal.
//!
//! The registry commit ([`Registry::record_upgrade`], one SQLite
//! transaction replacing the old version's rows by the new one's) is the
//! commit point, as for install. The steps:
//!
//! 1. **Plan** against the registry and the prefix: each new entry is new,
//!    replaces the old version's entry at its path, or takes the place of
//!    an old directory that becomes a file or link; each new directory
//!    exists, is created, or takes the place of an old file or link. A path
//!    owned by another package is [`RegistryError::Conflict`], an unowned
//!    one [`RegistryError::UnownedFileExists`], as for install. Old files
//!    changed since install follow `uninstall`'s rule: one the new version
//!    would replace or move away refuses the upgrade
//!    ([`RegistryError::ChangedFiles`]) unless `force`; one only the old
//!    version had is kept and reported (removed with `force`).
//! 2. **Stage** the new payload, verified, as install does.
//! 3. **Journal** (fsynced): the new entries, the directories to create,
//!    the old entries displaced before the commit, the old directories
//!    removed before it, the old-only entries (with their records) and
//!    directories to remove after it.
//! 4. **Activate**: old entries whose path changes type are renamed into
//!    `staging/<txn>/old/<k>`, old directories that become files removed,
//!    new directories created; each new entry is moved into place, and
//!    where the old version has an entry at that path it is first
//!    hard-linked to `old/<k>` and then replaced by one `renameat` over it,
//!    so the path shows the old or the new entry at every instant. (Where a
//!    hard link is refused, the old entry is renamed aside first.)
//! 5. **Commit** the registry.
//! 6. Remove the old-only entries and directories, staging, the journal.
//!
//! Recovery: a journal whose transaction the registry records committed
//! and is carried forward (step 6, each old-only entry removed only if it
//! still matches its record); any other is rolled back: new entries whose
//! staged copy is gone are removed, created directories removed, removed
//! directories recreated, and every `old/<k>` renamed back over its path.
//! Both are idempotent, so a crash during recovery is recovered again.

use std::collections::{HashMap, HashSet};

use cap_fs_ext::DirExt;
use cap_std::fs::Dir;

use super::{InstallOptions, Journal, Op, Prefix, State};
use crate::archive::{OpenedPackage, staged_paths};
use crate::db::{Recorded, Registry};
use crate::error::{RegistryError, Result, io};
use crate::fsops::{Parents, is_not_found, rename_noreplace, rmdir_if_empty, split, unlink};
use crate::manifest::Manifest;

/// Where an upgrade keeps the displaced old entries, inside its staging
/// directory (next to the staged entries `0`, `1`, ...).
const OLD: &str = "old";

/// What [`Prefix::upgrade`] did.
#[derive(Debug, Default)]
pub struct UpgradeReport {
    /// `name-version_revision` of the version replaced.
    pub old: String,
    /// `name-version_revision` of the version now installed.
    pub new: String,
    pub files: usize,
    pub symlinks: usize,
    /// Paths the old version had that the new one replaced (in place, or
    /// with a change of type).
    pub replaced: usize,
    /// Entries only the old version had, removed.
    pub removed: usize,
    pub created_dirs: usize,
    /// Entries only the old version had that were changed since install,
    /// kept (without `force`), with what changed; no package owns them now.
    pub kept: Vec<(String, String)>,
    /// Recorded entries of the old version that were already gone.
    pub missing: Vec<String>,
}

/// The outcome of planning: what the journal records, and what the report
/// says about the old version's files.
#[derive(Default)]
struct Plan {
    created: Vec<String>,
    record_dirs: Vec<String>,
    displaced: Vec<String>,
    removed_dirs: Vec<String>,
    obsolete: Vec<(String, Recorded)>,
    remove_dirs: Vec<String>,
    kept: Vec<(String, String)>,
    missing: Vec<String>,
}

impl Prefix {
    /// Replaces the installed package of the same name by `pkg` (a newer
    /// version, revision or build; any other version too: which one is
    /// wanted is the caller's decision). The package must be installed
    /// ([`RegistryError::NotInstalled`] otherwise: a first install is
    /// [`Prefix::install`]); the new version's dependencies must be
    /// installed and may not lead back to it
    /// ([`RegistryError::DependencyCycle`]). Packages depending on it stay
    /// recorded as its dependents.
    ///
    /// A crash at any instant leaves the old or the new version wholly
    /// installed once the prefix is opened again (see the module docs).
    /// Old files changed since install are handled as `uninstall` handles
    /// them: one the new version would replace refuses the upgrade
    /// ([`RegistryError::ChangedFiles`], nothing changed) unless `force`;
    /// one only the old version had is kept and reported in
    /// [`UpgradeReport::kept`] unless `force`.
    pub fn upgrade(
        &mut self,
        pkg: &mut OpenedPackage,
        opts: &InstallOptions,
        force: bool,
    ) -> Result<UpgradeReport> {
        let m = pkg.manifest.clone();
        self.check_prefix(&m, opts)?;
        let Some(old) = self.registry.package(&m.name)? else {
            return Err(RegistryError::NotInstalled { package: m.name });
        };
        check_dependencies(&self.registry, &m)?;
        let plan = self.plan_upgrade(&m, force)?;

        // Stage: unpack, verifying every file, as install does.
        let (txn, staging) = self.stage(pkg)?;
        if let Err(e) = staging.create_dir(OLD) {
            self.remove_staging(&txn)?;
            return Err(io("creating staging", format!("{txn}/{OLD}"))(e));
        }
        let journal = Journal {
            op: Op::Upgrade,
            txn: txn.clone(),
            package: m.name.clone(),
            entries: staged_paths(&m),
            created_dirs: plan.created,
            remove_dirs: plan.remove_dirs,
            displaced: plan.displaced,
            removed_dirs: plan.removed_dirs,
            obsolete: plan.obsolete,
        };
        self.write_journal(&journal)?;
        self.step();

        let report = UpgradeReport {
            old: old.label(),
            new: m.label(),
            files: m.files.len(),
            symlinks: m.symlinks.len(),
            replaced: journal.displaced.len(),
            removed: journal.obsolete.len(),
            created_dirs: journal.created_dirs.len(),
            kept: plan.kept,
            missing: plan.missing,
        };
        if let Err(e) = self.activate_upgrade(&journal, &staging) {
            self.rollback_upgrade(&journal)?;
            self.remove_journal(&txn)?;
            return Err(e);
        }
        if let Err(e) =
            self.registry
                .record_upgrade(&m, pkg.attestation.as_deref(), &txn, &plan.record_dirs)
        {
            // As for install: settle it now by recovery's own rule (back,
            // or forward if the commit did happen); leave the journal for
            // the next command only when even that fails.
            if self.recover_one(&journal).is_ok()
                && self
                    .registry
                    .package(&m.name)
                    .ok()
                    .flatten()
                    .is_some_and(|p| p.txn == txn)
            {
                return Ok(report);
            }
            return Err(e);
        }
        self.step();
        self.finish_upgrade(&journal, false)?;
        self.remove_journal(&txn)?;
        Ok(report)
    }

    /// Decides, for every path of both versions, what the upgrade does
    /// there; refuses conflicts and (without `force`) changed files the new
    /// version would replace. Changes nothing.
    fn plan_upgrade(&self, m: &Manifest, force: bool) -> Result<Plan> {
        let name = m.name.as_str();
        let reg = &self.registry;
        let old_files: HashMap<String, Recorded> = reg.files_of(name)?.into_iter().collect();
        let old_dirs: HashSet<String> = reg.dirs_of(name)?.into_iter().collect();
        let new_entries = staged_paths(m);
        let new_set: HashSet<&str> = new_entries.iter().map(String::as_str).collect();
        let new_dirs: HashSet<&str> = m.directories.iter().map(String::as_str).collect();
        let conflict = |p: &str| -> Result<RegistryError> {
            let owner = match reg.owner(p)? {
                Some(o) => Some(o),
                None => reg.dir_owners(p)?.into_iter().find(|o| o != name),
            };
            Ok(match owner {
                Some(owner) => RegistryError::Conflict {
                    package: name.into(),
                    path: p.into(),
                    owner,
                },
                None => RegistryError::UnownedFileExists {
                    package: name.into(),
                    path: p.into(),
                },
            })
        };

        let mut plan = Plan::default();
        let mut created_set: HashSet<String> = HashSet::new();
        let mut displaced_set: HashSet<String> = HashSet::new();
        let mut changed: Vec<(String, String)> = Vec::new();
        let mut parents = Parents::new(&self.dir);

        // The new version's directories (sorted: parents first).
        for d in &m.directories {
            if created_set.contains(split(d).0) {
                plan.created.push(d.clone());
                plan.record_dirs.push(d.clone());
                created_set.insert(d.clone());
                continue;
            }
            let md = {
                let (pd, last) = parents
                    .parent(d)
                    .map_err(|_| RegistryError::ThroughSymlink { path: d.clone() })?;
                pd.symlink_metadata(last)
            };
            match md {
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(io("inspecting", d.as_str())(e)),
                Ok(md) if md.is_dir() => {
                    if !reg.dir_owners(d)?.is_empty() {
                        plan.record_dirs.push(d.clone());
                    }
                    continue;
                }
                Ok(_) => match old_files.get(d) {
                    // An old file or link becomes a directory: it moves
                    // aside, a directory takes its place.
                    Some(rec) => {
                        if let State::Changed(why) = Self::state_of(&mut parents, d, rec) {
                            changed.push((d.clone(), why));
                        }
                        plan.displaced.push(d.clone());
                        displaced_set.insert(d.clone());
                    }
                    None => return Err(conflict(d)?),
                },
            }
            plan.created.push(d.clone());
            plan.record_dirs.push(d.clone());
            created_set.insert(d.clone());
        }

        // The new version's files and links.
        for p in &new_entries {
            if let Some(owner) = reg.owner(p)?
                && owner != name
            {
                return Err(RegistryError::Conflict {
                    package: name.into(),
                    path: p.clone(),
                    owner,
                });
            }
            if created_set.contains(split(p).0) {
                continue;
            }
            let md = {
                let (pd, last) = parents
                    .parent(p)
                    .map_err(|_| RegistryError::ThroughSymlink { path: p.clone() })?;
                pd.symlink_metadata(last)
            };
            match md {
                // New, or the old version's entry is already gone.
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(io("inspecting", p.as_str())(e)),
                // The old version's file or link, replaced since by a
                // directory: not the package's to move away, even with
                // force (uninstall never removes a directory there either).
                Ok(md) if md.is_dir() && old_files.contains_key(p) => {
                    return Err(RegistryError::UnownedFileExists {
                        package: name.into(),
                        path: p.clone(),
                    });
                }
                Ok(_) if old_files.contains_key(p) => {
                    if let State::Changed(why) = Self::state_of(&mut parents, p, &old_files[p]) {
                        changed.push((p.clone(), why));
                    }
                    plan.displaced.push(p.clone());
                    displaced_set.insert(p.clone());
                }
                Ok(md) if md.is_dir() && old_dirs.contains(p) => {
                    // An old directory becomes a file or link: everything
                    // in it must be the old version's, and moves aside.
                    if let Some(other) = reg.dir_owners(p)?.into_iter().find(|o| o != name) {
                        return Err(RegistryError::Conflict {
                            package: name.into(),
                            path: p.clone(),
                            owner: other,
                        });
                    }
                    let mut queue = vec![p.clone()];
                    let mut at = 0;
                    while at < queue.len() {
                        let d = queue[at].clone();
                        at += 1;
                        plan.removed_dirs.push(d.clone());
                        let sub = crate::fsops::open_dir_nofollow(&self.dir, &d)
                            .map_err(|_| RegistryError::ThroughSymlink { path: d.clone() })?;
                        let mut names: Vec<(String, bool)> = sub
                            .entries()
                            .map_err(io("listing", d.as_str()))?
                            .filter_map(|e| {
                                let e = e.ok()?;
                                let is_dir = e.file_type().ok()?.is_dir();
                                Some((e.file_name().into_string().ok()?, is_dir))
                            })
                            .collect();
                        names.sort();
                        for (n, is_dir) in names {
                            let c = format!("{d}/{n}");
                            if let Some(rec) = old_files.get(&c) {
                                if is_dir {
                                    return Err(RegistryError::UnownedFileExists {
                                        package: name.into(),
                                        path: c,
                                    });
                                }
                                if let State::Changed(why) = Self::state_of(&mut parents, &c, rec) {
                                    changed.push((c.clone(), why));
                                }
                                plan.displaced.push(c.clone());
                                displaced_set.insert(c);
                            } else if is_dir && old_dirs.contains(&c) {
                                if let Some(other) =
                                    reg.dir_owners(&c)?.into_iter().find(|o| o != name)
                                {
                                    return Err(RegistryError::Conflict {
                                        package: name.into(),
                                        path: c,
                                        owner: other,
                                    });
                                }
                                queue.push(c);
                            } else {
                                return Err(conflict(&c)?);
                            }
                        }
                    }
                }
                Ok(_) => return Err(conflict(p)?),
            }
        }

        if !changed.is_empty() && !force {
            return Err(RegistryError::ChangedFiles {
                package: name.into(),
                changed,
            });
        }

        // Entries only the old version had: removed after the commit, by
        // uninstall's rule.
        let mut files: Vec<(&String, &Recorded)> = old_files.iter().collect();
        files.sort_by(|a, b| a.0.cmp(b.0));
        for (p, rec) in files {
            if new_set.contains(p.as_str()) || displaced_set.contains(p) {
                continue;
            }
            match Self::state_of(&mut parents, p, rec) {
                State::Same => plan.obsolete.push((p.clone(), rec.clone())),
                State::Missing => plan.missing.push(p.clone()),
                State::Changed(why) => {
                    // A path through a replaced directory is never reached.
                    // Nor is a directory that took the entry's place.
                    let removable = parents.parent(p).is_ok_and(|(pd, last)| {
                        pd.symlink_metadata(last).is_ok_and(|m| !m.is_dir())
                    });
                    if force && removable {
                        plan.obsolete.push((p.clone(), rec.clone()));
                    } else {
                        plan.kept.push((p.clone(), why));
                    }
                }
            }
        }
        let removed: HashSet<&str> = plan.removed_dirs.iter().map(String::as_str).collect();
        plan.remove_dirs = reg
            .sole_dirs_of(name)?
            .into_iter()
            .filter(|d| !new_dirs.contains(d.as_str()) && !removed.contains(d.as_str()))
            .collect();
        Ok(plan)
    }

    fn activate_upgrade(&mut self, j: &Journal, staging: &Dir) -> Result<()> {
        let dir = self
            .dir
            .try_clone()
            .map_err(io("opening the prefix", &self.root))?;
        let old = staging
            .open_dir_nofollow(OLD)
            .map_err(io("opening staging", OLD))?;
        let entries: HashSet<&str> = j.entries.iter().map(String::as_str).collect();
        let mut parents = Parents::new(&dir);
        // Old entries whose path changes type move aside.
        for (k, p) in j.displaced.iter().enumerate() {
            if entries.contains(p.as_str()) {
                continue;
            }
            let (pd, name) = parents
                .parent(p)
                .map_err(|_| RegistryError::ThroughSymlink { path: p.clone() })?;
            rename_noreplace(pd, name, &old, &k.to_string())
                .map_err(io("moving aside", p.as_str()))?;
            self.step();
        }
        // Old directories that become files or links, deepest first (now
        // empty: everything in them was the old version's and moved).
        for d in j.removed_dirs.iter().rev() {
            let (pd, name) = parents
                .parent(d)
                .map_err(|_| RegistryError::ThroughSymlink { path: d.clone() })?;
            rustix::fs::unlinkat(pd, name, rustix::fs::AtFlags::REMOVEDIR)
                .map_err(|e| io("removing directory", d.as_str())(e.into()))?;
            self.step();
        }
        parents.clear();
        for d in &j.created_dirs {
            let (pd, name) = parents
                .parent(d)
                .map_err(|_| RegistryError::ThroughSymlink { path: d.clone() })?;
            rustix::fs::mkdirat(pd, name, rustix::fs::Mode::from_raw_mode(0o755))
                .map_err(|e| io("creating directory", d.as_str())(e.into()))?;
            self.step();
        }
        // The crash-injection test also runs the fallback below (as where
        // `protected_hardlinks` refuses a link) with WPORT_TEST_NO_HARDLINK,
        // read only in builds with the test-only `fault-injection` feature.
        let no_hardlinks = cfg!(feature = "fault-injection")
            && std::env::var_os("WPORT_TEST_NO_HARDLINK").is_some();
        let displaced: HashMap<&str, usize> = j
            .displaced
            .iter()
            .enumerate()
            .map(|(k, p)| (p.as_str(), k))
            .collect();
        for (i, p) in j.entries.iter().enumerate() {
            let (pd, name) = parents
                .parent(p)
                .map_err(|_| RegistryError::ThroughSymlink { path: p.clone() })?;
            let staged = i.to_string();
            match displaced.get(p.as_str()) {
                Some(k) => {
                    let k = k.to_string();
                    // Keep the old entry for a rollback (a link is linked
                    // as a link), then replace it in one rename.
                    let linked = if no_hardlinks {
                        Err(rustix::io::Errno::PERM)
                    } else {
                        rustix::fs::linkat(pd, name, &old, k.as_str(), rustix::fs::AtFlags::empty())
                    };
                    match linked {
                        Ok(()) => {
                            self.step();
                            rustix::fs::renameat(staging, staged.as_str(), pd, name)
                                .map_err(|e| io("moving into place", p.as_str())(e.into()))?;
                        }
                        Err(_) => {
                            // No hard link here (protected_hardlinks, a
                            // file system without them): move it aside;
                            // the path is missing until the rename below.
                            rename_noreplace(pd, name, &old, &k)
                                .map_err(io("moving aside", p.as_str()))?;
                            self.step();
                            rename_noreplace(staging, &staged, pd, name)
                                .map_err(io("moving into place", p.as_str()))?;
                        }
                    }
                }
                None => rename_noreplace(staging, &staged, pd, name)
                    .map_err(io("moving into place", p.as_str()))?,
            }
            self.step();
        }
        Ok(())
    }

    /// Undoes an uncommitted upgrade: every new entry whose staged copy is
    /// gone is removed (a displaced path is restored by the rename below
    /// instead), created directories removed, removed directories
    /// recreated, and each kept old entry renamed back over its path.
    /// Idempotent: what is already undone is left as it is.
    pub(super) fn rollback_upgrade(&mut self, j: &Journal) -> Result<()> {
        let staging = self.staging(&j.txn)?;
        let dir = self
            .dir
            .try_clone()
            .map_err(io("opening the prefix", &self.root))?;
        let displaced: HashSet<&str> = j.displaced.iter().map(String::as_str).collect();
        let mut parents = Parents::new(&dir);
        if let Some(st) = &staging {
            for (i, p) in j.entries.iter().enumerate().rev() {
                if displaced.contains(p.as_str()) {
                    continue;
                }
                if let Err(e) = st.symlink_metadata(i.to_string())
                    && is_not_found(&e)
                    && let Ok((pd, name)) = parents.parent(p)
                {
                    match unlink(pd, name) {
                        Ok(()) => self.step(),
                        // Gone already, or the old directory an earlier,
                        // interrupted rollback recreated there.
                        Err(e)
                            if is_not_found(&e)
                                || e.raw_os_error()
                                    == Some(rustix::io::Errno::ISDIR.raw_os_error()) => {}
                        Err(e) => return Err(io("removing", p.as_str())(e)),
                    }
                }
            }
        }
        for d in j.created_dirs.iter().rev() {
            if let Ok((pd, name)) = parents.parent(d) {
                rmdir_if_empty(pd, name);
            }
        }
        parents.clear();
        for d in &j.removed_dirs {
            let (pd, name) = parents
                .parent(d)
                .map_err(|_| RegistryError::ThroughSymlink { path: d.clone() })?;
            match rustix::fs::mkdirat(pd, name, rustix::fs::Mode::from_raw_mode(0o755)) {
                Ok(()) => self.step(),
                Err(rustix::io::Errno::EXIST) => {}
                Err(e) => return Err(io("recreating directory", d.as_str())(e.into())),
            }
        }
        parents.clear();
        if let Some(st) = &staging {
            let old = match st.open_dir_nofollow(OLD) {
                Ok(o) => Some(o),
                Err(e) if is_not_found(&e) => None,
                Err(e) => return Err(io("opening staging", OLD)(e)),
            };
            if let Some(old) = old {
                for (k, p) in j.displaced.iter().enumerate() {
                    let k = k.to_string();
                    match old.symlink_metadata(&k) {
                        Err(e) if is_not_found(&e) => continue,
                        Err(e) => return Err(io("inspecting staging", p.as_str())(e)),
                        Ok(_) => {}
                    }
                    let (pd, name) = parents
                        .parent(p)
                        .map_err(|_| RegistryError::ThroughSymlink { path: p.clone() })?;
                    // Over the new entry, atomically; a no-op when the path
                    // still is the old entry (the same inode).
                    rustix::fs::renameat(&old, k.as_str(), pd, name)
                        .map_err(|e| io("restoring", p.as_str())(e.into()))?;
                    self.step();
                }
            }
        }
        self.remove_staging(&j.txn)
    }

    /// Carries a committed upgrade forward: removes the entries only the
    /// old version had (in recovery, `recheck`, only those still matching
    /// their record), its emptied directories, and staging (the displaced
    /// old entries).
    pub(super) fn finish_upgrade(&mut self, j: &Journal, recheck: bool) -> Result<()> {
        let dir = self
            .dir
            .try_clone()
            .map_err(io("opening the prefix", &self.root))?;
        let mut parents = Parents::new(&dir);
        for (p, rec) in &j.obsolete {
            if recheck && !matches!(Self::state_of(&mut parents, p, rec), State::Same) {
                continue;
            }
            let Ok((pd, name)) = parents.parent(p) else {
                continue;
            };
            match unlink(pd, name) {
                // A directory is never removed here (`plan_upgrade` keeps
                // one it finds; this is one made since).
                Err(e)
                    if !is_not_found(&e)
                        && e.raw_os_error() != Some(rustix::io::Errno::ISDIR.raw_os_error()) =>
                {
                    return Err(io("removing", p.as_str())(e));
                }
                _ => {}
            }
            self.step();
        }
        parents.clear();
        for d in j.remove_dirs.iter().rev() {
            if let Ok((pd, name)) = parents.parent(d) {
                rmdir_if_empty(pd, name);
            }
            self.step();
        }
        self.remove_staging(&j.txn)?;
        self.step();
        Ok(())
    }
}

/// Every dependency of `m` must be installed, and none may lead back to
/// `m` through the recorded dependencies (a cycle no uninstall could break).
fn check_dependencies(reg: &Registry, m: &Manifest) -> Result<()> {
    for d in &m.dependencies {
        if reg.package(d)?.is_none() {
            return Err(RegistryError::MissingDependency {
                package: m.name.clone(),
                dependency: d.clone(),
                hint: String::new(),
            });
        }
        // Breadth-first from `d`, remembering how each package was reached.
        let mut from: HashMap<String, String> = HashMap::new();
        let mut queue = vec![d.clone()];
        let mut at = 0;
        while at < queue.len() {
            let p = queue[at].clone();
            at += 1;
            if p == m.name {
                let mut cycle = vec![p.clone()];
                let mut c = p;
                while let Some(prev) = from.get(&c) {
                    cycle.push(prev.clone());
                    c = prev.clone();
                }
                cycle.push(m.name.clone());
                cycle.reverse();
                return Err(RegistryError::DependencyCycle {
                    package: m.name.clone(),
                    cycle,
                });
            }
            for n in reg.deps_of(&p)? {
                if n != *d && !from.contains_key(&n) {
                    from.insert(n.clone(), p.clone());
                    queue.push(n);
                }
            }
        }
    }
    Ok(())
}
