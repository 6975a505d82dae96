//! Store layers: the per-package, read-only trees a build's dependency view
//! is made of.
//!
//! A build must see, at the prefix path, exactly the files of the
//! dependencies its phase is granted (docs/CONFINEMENT.md, "The dependency
//! view"). The executor does that with one read-only overlay whose lower
//! layers are these directories, one per installed package:
//!
//! ```text
//! <prefix>/.wport/store/<name>@<txn>/   the package's recorded files, links and
//!                                        directories, as a tree relative to the prefix
//! ```
//!
//! - A layer is made once per installed package, as a hard-link farm of the
//!   live prefix's files (same file system: no data is copied). Every file is
//!   checked against the registry's size, mode and sha256 as it is linked, and
//!   every link against its recorded target: a file changed since install is
//!   refused by name ([`StoreError::Modified`]) and no layer is made, so a
//!   build never sees bytes the package did not ship.
//! - It is built in `.tmp-<key>-<pid>-<nanos>` and renamed into place with
//!   `RENAME_NOREPLACE` after a `syncfs`, so a layer either exists whole or
//!   not at all (a crash leaves only a temporary directory, which the GC
//!   removes). The key holds the install transaction, so a reinstall or an
//!   upgrade gets a new layer and never changes one a running build mounted
//!   (overlayfs forbids changing a lower layer while it is mounted).
//! - Layers are made by whoever opens the prefix (root, or its owner) with
//!   mode 0755 directories: never writable by the build user.
//! - Pins: a build holds a shared `flock` on every layer of its view
//!   ([`ViewLayers`]) until it ends; [`Prefix::gc_store`] removes a layer
//!   whose package is no longer installed at that transaction only when it
//!   can take the lock exclusively, so a layer is never removed under a
//!   build that mounted it. A layer only becomes stale through an install,
//!   uninstall or upgrade, which hold the prefix lock exclusively, while the
//!   pins are taken under the shared lock of [`Prefix::open_query`]: no pin
//!   can race the GC's decision.
//!
//! Hard links share the inode with the live file: a later in-place edit of a
//! live file (by root or the prefix owner) shows in the layer. `wport verify`
//! finds such edits; a layer is checked when it is made, not at every build
//! (that would cost a stat and a hash per file per build).

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use cap_fs_ext::{DirExt, FollowSymlinks, OpenOptionsFollowExt};
use cap_std::fs::{Dir, OpenOptions};
use rustix::fs::{AtFlags, FlockOperation, Mode, OFlags};
use sha2::{Digest, Sha256};

use crate::db::Recorded;
use crate::error::RegistryError;
use crate::fsops::{Parents, is_not_found, rename_noreplace, split};
use crate::prefix::Prefix;

/// Where layers live, relative to the prefix.
pub const STORE_DIR: &str = ".wport/store";

/// Prefix of a layer under construction (never a package name: names are
/// safe names, which cannot start with a dot).
const TMP_PREFIX: &str = ".tmp-";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A granted dependency (or one of its recorded dependencies) is not
    /// installed in the prefix.
    #[error("`{dependency}`{} is not installed in {}; `wport install {dependency}`", via(.required_by), .prefix.display())]
    NotInstalled {
        dependency: String,
        /// The installed package that records it as a dependency (`None`:
        /// it was granted directly).
        required_by: Option<String>,
        prefix: PathBuf,
    },
    /// A live file or link differs from what its package installed.
    #[error(
        "{path} in the prefix {} is not what package {package} installed ({what}); refusing to make a store layer of it. Reinstall {package} (`wport verify` lists every such file)", .prefix.display()
    )]
    Modified {
        package: String,
        path: String,
        prefix: PathBuf,
        what: String,
    },
    #[error("{action} {}: {source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

fn via(required_by: &Option<String>) -> String {
    match required_by {
        Some(p) => format!(" (a recorded dependency of `{p}`)"),
        None => String::new(),
    }
}

pub type StoreResult<T> = std::result::Result<T, StoreError>;

fn io_err(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.into();
    move |source| StoreError::Io {
        action,
        path,
        source,
    }
}

/// The layers of one view, and the pins that keep them from the GC.
#[derive(Debug)]
pub struct ViewLayers {
    /// `(package, layer directory)`, sorted by package name: the granted
    /// packages and, transitively, their recorded dependencies.
    pub layers: Vec<(String, PathBuf)>,
    /// Shared `flock`s on the layer directories, held until dropped.
    _pins: Vec<OwnedFd>,
}

impl ViewLayers {
    /// The layer directories, in order.
    pub fn dirs(&self) -> Vec<PathBuf> {
        self.layers.iter().map(|(_, p)| p.clone()).collect()
    }

    pub fn packages(&self) -> Vec<String> {
        self.layers.iter().map(|(n, _)| n.clone()).collect()
    }
}

/// What [`Prefix::gc_store`] did.
#[derive(Debug, Default)]
pub struct GcReport {
    /// Layers (and unfinished temporary directories) removed.
    pub removed: Vec<String>,
    /// Stale layers kept because a running build holds them.
    pub in_use: Vec<String>,
}

/// The store key of a package installed by `txn`.
pub fn layer_key(name: &str, txn: &str) -> String {
    format!("{name}@{txn}")
}

fn open_dir_fd(dir: &Dir, name: &str) -> std::io::Result<OwnedFd> {
    rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(Into::into)
}

impl Prefix {
    /// The store layers of a view granting `granted`: those packages plus,
    /// transitively, the dependencies the registry records for them (the
    /// `deps` table), sorted by name. Missing layers are made (and checked,
    /// see the module docs); every returned layer is pinned against
    /// [`Prefix::gc_store`] until the [`ViewLayers`] is dropped.
    ///
    /// Needs write access to `<prefix>/.wport/store` only when a layer is
    /// missing (root, or the prefix's owner).
    pub fn view_layers(&self, granted: &[String]) -> StoreResult<ViewLayers> {
        let reg = self.registry();
        let mut closure: BTreeMap<String, String> = BTreeMap::new();
        let mut todo: Vec<(String, Option<String>)> =
            granted.iter().rev().map(|g| (g.clone(), None)).collect();
        while let Some((name, required_by)) = todo.pop() {
            if closure.contains_key(&name) {
                continue;
            }
            let Some(txn) = reg.txn_of(&name)? else {
                return Err(StoreError::NotInstalled {
                    dependency: name,
                    required_by,
                    prefix: self.root().to_path_buf(),
                });
            };
            for dep in reg.deps_of(&name)?.into_iter().rev() {
                todo.push((dep, Some(name.clone())));
            }
            closure.insert(name, txn);
        }
        if closure.is_empty() {
            return Ok(ViewLayers {
                layers: Vec::new(),
                _pins: Vec::new(),
            });
        }
        let store = self.open_store(true)?;
        let store_path = self.root().join(STORE_DIR);
        let mut layers = Vec::with_capacity(closure.len());
        let mut pins = Vec::with_capacity(closure.len());
        for (name, txn) in closure {
            let key = layer_key(&name, &txn);
            let pin = match open_dir_fd(&store, &key) {
                Ok(fd) => fd,
                Err(e) if is_not_found(&e) => self.make_layer(&store, &name, &key)?,
                Err(e) => return Err(io_err("opening the store layer", store_path.join(&key))(e)),
            };
            rustix::fs::flock(&pin, FlockOperation::LockShared)
                .map_err(|e| io_err("pinning the store layer", store_path.join(&key))(e.into()))?;
            layers.push((name, store_path.join(&key)));
            pins.push(pin);
        }
        Ok(ViewLayers {
            layers,
            _pins: pins,
        })
    }

    /// Removes every layer whose package is no longer installed at that
    /// transaction, and temporary directories of layers never finished,
    /// except those a running build holds (reported in
    /// [`GcReport::in_use`]). Does nothing when the prefix has no store.
    pub fn gc_store(&self) -> StoreResult<GcReport> {
        let mut report = GcReport::default();
        let store = match self.open_store(false) {
            Ok(s) => s,
            Err(StoreError::Io { source, .. }) if is_not_found(&source) => return Ok(report),
            Err(e) => return Err(e),
        };
        let store_path = self.root().join(STORE_DIR);
        let live: std::collections::HashSet<String> = self
            .registry()
            .installed_txns()?
            .into_iter()
            .map(|(n, t)| layer_key(&n, &t))
            .collect();
        let mut names: Vec<String> = store
            .entries()
            .map_err(io_err("listing", &store_path))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        names.sort();
        for name in names {
            if live.contains(&name) {
                continue;
            }
            let fd = match open_dir_fd(&store, &name) {
                Ok(fd) => fd,
                // Not a directory: nothing wport made; leave it.
                Err(_) => continue,
            };
            if rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive).is_err() {
                report.in_use.push(name);
                continue;
            }
            // cap-std removes links as links, never what they point to.
            store.remove_dir_all(&name).map_err(io_err(
                "removing the stale store layer",
                store_path.join(&name),
            ))?;
            report.removed.push(name);
        }
        Ok(report)
    }

    fn open_store(&self, create: bool) -> StoreResult<Dir> {
        let root = self.root();
        let prefix = Dir::open_ambient_dir(root, cap_std::ambient_authority())
            .map_err(io_err("opening the prefix", root))?;
        let state = prefix
            .open_dir_nofollow(".wport")
            .map_err(io_err("opening", root.join(".wport")))?;
        if create {
            match state.create_dir("store") {
                Ok(()) => {
                    use cap_std::fs::PermissionsExt;
                    state
                        .set_permissions("store", cap_std::fs::Permissions::from_mode(0o755))
                        .map_err(io_err("creating", root.join(STORE_DIR)))?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io_err("creating", root.join(STORE_DIR))(e)),
            }
        }
        state
            .open_dir_nofollow("store")
            .map_err(io_err("opening", root.join(STORE_DIR)))
    }

    /// Make the layer `key` of `name` and return its directory, locked
    /// exclusively (the caller downgrades the lock to its pin).
    fn make_layer(&self, store: &Dir, name: &str, key: &str) -> StoreResult<OwnedFd> {
        let store_path = self.root().join(STORE_DIR);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let tmp_name = format!("{TMP_PREFIX}{key}-{}-{nanos:x}", std::process::id());
        let tmp_path = store_path.join(&tmp_name);
        store
            .create_dir(&tmp_name)
            .map_err(io_err("creating", &tmp_path))?;
        let fd = open_dir_fd(store, &tmp_name).map_err(io_err("opening", &tmp_path))?;
        // The GC skips what is locked: an unfinished layer is ours until renamed.
        rustix::fs::flock(&fd, FlockOperation::LockExclusive)
            .map_err(|e| io_err("locking", &tmp_path)(e.into()))?;
        let filled = store
            .open_dir_nofollow(&tmp_name)
            .map_err(io_err("opening", &tmp_path))
            .and_then(|tmp| {
                set_mode(&tmp, ".", 0o755, &tmp_path)?;
                self.fill_layer(&tmp, name, &tmp_path)
            })
            .and_then(|()| {
                rustix::fs::syncfs(&fd).map_err(|e| io_err("syncing", &tmp_path)(e.into()))
            });
        if let Err(e) = filled {
            let _ = store.remove_dir_all(&tmp_name);
            return Err(e);
        }
        match rename_noreplace(store, &tmp_name, store, key) {
            Ok(()) => Ok(fd),
            Err(e)
                if e.raw_os_error() == Some(rustix::io::Errno::EXIST.raw_os_error())
                    || e.raw_os_error() == Some(rustix::io::Errno::NOTEMPTY.raw_os_error()) =>
            {
                // Another build made the same layer meanwhile: use theirs.
                let _ = store.remove_dir_all(&tmp_name);
                open_dir_fd(store, key).map_err(io_err("opening", store_path.join(key)))
            }
            Err(e) => {
                let _ = store.remove_dir_all(&tmp_name);
                Err(io_err("renaming into place", store_path.join(key))(e))
            }
        }
    }

    fn fill_layer(&self, layer: &Dir, name: &str, layer_path: &Path) -> StoreResult<()> {
        let root = self.root();
        let reg = self.registry();
        let live = Dir::open_ambient_dir(root, cap_std::ambient_authority())
            .map_err(io_err("opening the prefix", root))?;
        let mut src = Parents::new(&live);
        let mut dst: HashMap<String, Dir> = HashMap::new();
        let modified = |path: &str, what: String| StoreError::Modified {
            package: name.to_string(),
            path: path.to_string(),
            prefix: root.to_path_buf(),
            what,
        };
        for d in reg.dirs_of(name)? {
            ensure_dirs(layer, &mut dst, &d, layer_path)?;
        }
        for (path, rec) in reg.files_of(name)? {
            let (parent, base) = split(&path);
            ensure_dirs(layer, &mut dst, parent, layer_path)?;
            let dp = if parent.is_empty() {
                layer
            } else {
                &dst[parent]
            };
            let (sp, sname) = match src.parent(&path) {
                Ok(x) => x,
                Err(e) if is_not_found(&e) => return Err(modified(&path, "missing".into())),
                Err(_) => {
                    return Err(modified(
                        &path,
                        "a directory on its path is not a directory (a link?)".into(),
                    ));
                }
            };
            match rec {
                Recorded::Link { target } => {
                    match sp.read_link_contents(sname) {
                        Ok(t) if t.as_os_str().as_encoded_bytes() == target.as_bytes() => {}
                        Ok(t) => {
                            return Err(modified(
                                &path,
                                format!("link target is {} (was {target})", t.display()),
                            ));
                        }
                        Err(e) if is_not_found(&e) => {
                            return Err(modified(&path, "missing".into()));
                        }
                        Err(e) => return Err(modified(&path, format!("not a link: {e}"))),
                    }
                    rustix::fs::symlinkat(target.as_str(), dp, base).map_err(|e| {
                        io_err("linking into the store layer", layer_path.join(&path))(e.into())
                    })?;
                }
                Recorded::File { sha256, mode, size } => {
                    // Link first, then check what was linked: the checked
                    // inode is the one the layer holds.
                    match rustix::fs::linkat(sp, sname, dp, base, AtFlags::empty()) {
                        Ok(()) => {}
                        Err(rustix::io::Errno::NOENT) => {
                            return Err(modified(&path, "missing".into()));
                        }
                        Err(e) => {
                            return Err(io_err(
                                "hard-linking into the store layer (the store must be on the prefix's file system)",
                                layer_path.join(&path),
                            )(e.into()));
                        }
                    }
                    check_file(dp, base, &sha256, mode, size)
                        .map_err(|what| modified(&path, what))?;
                }
            }
        }
        Ok(())
    }
}

fn set_mode(dir: &Dir, name: &str, mode: u32, path: &Path) -> StoreResult<()> {
    use cap_std::fs::PermissionsExt;
    dir.set_permissions(name, cap_std::fs::Permissions::from_mode(mode))
        .map_err(io_err("setting the mode of", path.join(name)))
}

/// `mkdir -p rel` inside the layer, through cached handles.
fn ensure_dirs(
    layer: &Dir,
    cache: &mut HashMap<String, Dir>,
    rel: &str,
    layer_path: &Path,
) -> StoreResult<()> {
    if rel.is_empty() || cache.contains_key(rel) {
        return Ok(());
    }
    let (parent, base) = split(rel);
    ensure_dirs(layer, cache, parent, layer_path)?;
    let pd = if parent.is_empty() {
        layer
    } else {
        &cache[parent]
    };
    match pd.create_dir(base) {
        Ok(()) => set_mode(pd, base, 0o755, &layer_path.join(parent))?,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_err("creating", layer_path.join(rel))(e)),
    }
    let d = pd
        .open_dir_nofollow(base)
        .map_err(io_err("opening", layer_path.join(rel)))?;
    cache.insert(rel.to_string(), d);
    Ok(())
}

/// The linked file is the recorded one: a regular file (not a link), same
/// mode, size and sha256. `Err` says what differs.
fn check_file(dir: &Dir, name: &str, sha256: &str, mode: u32, size: u64) -> Result<(), String> {
    use cap_std::fs::PermissionsExt;
    let mut f = dir
        .open_with(
            name,
            OpenOptions::new().read(true).follow(FollowSymlinks::No),
        )
        .map_err(|e| format!("cannot open it as a regular file: {e}"))?;
    let md = f.metadata().map_err(|e| format!("cannot inspect: {e}"))?;
    if !md.is_file() {
        return Err("no longer a regular file".into());
    }
    let m = md.permissions().mode() & 0o7777;
    if m != mode {
        return Err(format!("mode {m:o} (was {mode:o})"));
    }
    if md.len() != size {
        return Err(format!("size {} (was {size})", md.len()));
    }
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf).map_err(|e| format!("reading: {e}"))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    let actual = hex::encode(h.finalize());
    if actual != sha256 {
        return Err(format!("sha256 {actual} (was {sha256})"));
    }
    Ok(())
}
