//! `wport sync`: refresh a local trust directory from a repository and make
//! the verified targets available under `<trust dir>/targets/`.
//!
//! Layout of a trust directory (owner-writable only, checked on every use):
//! `metadata/` holds the trusted metadata (`root.json`, `timestamp.json`,
//! ...), `targets/` the verified targets (`targets/ports/<name>/...`).

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use crate::client::{Client, Durability, ensure_private_dir, verify_file, write_atomic};
use crate::error::{Result, TrustError};
use crate::port::metadata_dir;
use crate::time::UnixTime;
use crate::transport::{Transport, join};

/// What a sync did.
#[derive(Debug, Default, Clone)]
pub struct SyncReport {
    /// Trusted targets after the sync.
    pub targets: usize,
    /// Targets downloaded and verified.
    pub fetched: usize,
    /// Local copies whose length and hashes already matched.
    pub reused: usize,
    /// Files removed from `targets/` because no trusted role lists them.
    pub removed: usize,
}

/// Creates a trust directory trusting `root_json` (obtained out of band).
pub fn init_trust_dir(trust_dir: &Path, root_json: &[u8]) -> Result<()> {
    ensure_private_dir(trust_dir)?;
    Client::<crate::FileTransport>::init(&metadata_dir(trust_dir), root_json)
}

/// Refreshes `trust_dir` from the repository at `repo_base` (its
/// `metadata/` and `targets/`), verifies every target, and stores the
/// targets under `trust_dir/targets`.
pub fn sync<T: Transport>(
    trust_dir: &Path,
    repo_base: &str,
    transport: T,
    now: UnixTime,
) -> Result<SyncReport> {
    ensure_private_dir(trust_dir)?;
    let mut client = Client::open(
        &metadata_dir(trust_dir),
        &join(repo_base, "metadata"),
        transport,
    )?;
    client.refresh_at(now)?;
    // Binary packages are fetched on demand by `wport install`, never in
    // bulk: roles that list only packages are not even loaded here.
    client.load_roles_where(|d| !crate::packages::is_package_only(d))?;
    let all: Vec<_> = client
        .trusted_targets()?
        .into_iter()
        .filter(|(p, _)| !crate::packages::is_package_path(p))
        .collect();
    let targets_dir = trust_dir.join("targets");
    ensure_private_dir(&targets_dir)?;
    let base = join(repo_base, "targets");
    let mut report = SyncReport {
        targets: all.len(),
        ..Default::default()
    };
    for &(path, tf) in &all {
        let dest = targets_dir.join(path);
        if dest.is_file() && verify_file(path, &dest, tf).is_ok() {
            report.reused += 1;
            continue;
        }
        let bytes = client.fetch_target(path, tf, &base)?;
        let parent = dest.parent().expect("a target path has a parent");
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(parent)
            .map_err(|e| TrustError::io("creating", parent, e))?;
        let name = dest
            .file_name()
            .expect("checked target path")
            .to_string_lossy()
            .into_owned();
        // Verified again on every use (`verify_port`), so a copy torn by a
        // crash is refused and fetched by the next sync: no fsync needed.
        write_atomic(parent, &name, &bytes, 0o644, Durability::Rename)?;
        report.fetched += 1;
    }
    let keep: std::collections::HashSet<&str> = all.iter().map(|(p, _)| *p).collect();
    report.removed = remove_untrusted(&targets_dir, &targets_dir, &keep)?;
    Ok(report)
}

fn remove_untrusted(
    root: &Path,
    dir: &Path,
    keep: &std::collections::HashSet<&str>,
) -> Result<usize> {
    let mut removed = 0;
    for entry in fs::read_dir(dir).map_err(|e| TrustError::io("listing", dir, e))? {
        let entry = entry.map_err(|e| TrustError::io("listing", dir, e))?;
        let path: PathBuf = entry.path();
        let ty = entry
            .file_type()
            .map_err(|e| TrustError::io("inspecting", &path, e))?;
        if ty.is_dir() {
            removed += remove_untrusted(root, &path, keep)?;
            let _ = fs::remove_dir(&path); // only succeeds when empty
            continue;
        }
        let rel = path
            .strip_prefix(root)
            .expect("below root")
            .to_string_lossy()
            .into_owned();
        if !keep.contains(rel.as_str()) {
            fs::remove_file(&path).map_err(|e| TrustError::io("removing untrusted", &path, e))?;
            removed += 1;
        }
    }
    Ok(removed)
}
