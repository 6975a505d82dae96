//! The content-addressed distfile store: `<dir>/<sha256>`.
//!
//! A file is named by the digest of its bytes, so a tarball shared by several
//! ports is fetched once, and a name can only ever hold the bytes it names:
//! downloads are written to a temporary name in the same directory
//! (`.partial.*`, created exclusively) and renamed to `<sha256>` only after
//! their size and digest matched the Portfile's pin.
//!
//! A fetch that is killed (SIGKILL, a power cut, Ctrl-C during a 4 GiB
//! `checksum`) never runs the destructor that removes its temporary file.
//! So each temporary file is `flock`ed by its writer for as long as it is
//! written, and [`Store::open`] sweeps every `.partial.*` whose lock it can
//! take: the kernel drops a lock when its owner dies, whatever the pid became
//! since. `<dir>/.lock` orders the two: a writer creates and locks its file
//! under a shared lock, the sweep runs under an exclusive one, so a file is
//! never seen between its creation and its lock.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::verify::{Expected, Sha256};

/// The distfile store in one directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// A file being written into the store, not yet verified. Removed on drop
/// unless it was committed or taken.
#[derive(Debug)]
pub struct Partial {
    path: Option<PathBuf>,
}

impl Partial {
    /// Where the bytes are being written.
    pub fn path(&self) -> &Path {
        self.path
            .as_deref()
            .expect("a partial file is used after it was taken")
    }

    /// Take the file out of the store's care: the caller now owns it (the
    /// quarantine moves it away).
    pub fn take(mut self) -> PathBuf {
        self.path.take().expect("taken once")
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if let Some(p) = self.path.take() {
            let _ = fs::remove_file(p);
        }
    }
}

impl Store {
    /// The store in `dir`, created (mode 0700) if missing, with the
    /// temporary files of dead writers swept ([`Store::sweep`]).
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<Store> {
        let dir = dir.into();
        create_private_dir(&dir)?;
        let store = Store { dir };
        // Best effort: a store this user may read but not write (a shared,
        // read-only cache) still serves what it holds.
        let _ = store.sweep();
        Ok(store)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the file with this digest lives (whether or not it is there).
    pub fn path(&self, sha256: &Sha256) -> PathBuf {
        self.dir.join(sha256.to_string())
    }

    /// The stored file for `expected`, if it is there as a regular file of the
    /// right size. The digest is not re-read here: the build copies it with
    /// [`crate::verify::copy_verified`], which does.
    pub fn get(&self, expected: &Expected) -> Option<PathBuf> {
        let path = self.path(&expected.sha256);
        let meta = fs::symlink_metadata(&path).ok()?;
        (meta.is_file() && meta.len() == expected.size).then_some(path)
    }

    /// A fresh temporary file in the store, opened for writing and locked
    /// (exclusively, `flock`) for as long as the returned `File` is open:
    /// keep it open until the partial is committed or taken, or a sweep may
    /// remove it.
    pub fn partial(&self) -> io::Result<(Partial, fs::File)> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "{PARTIAL_PREFIX}{}.{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = self.dir.join(name);
        let guard = self.lock_file()?;
        guard.lock_shared()?;
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        let partial = Partial { path: Some(path) };
        // Nobody else can hold it: the sweep is excluded until `guard` drops.
        file.lock()?;
        drop(guard);
        Ok((partial, file))
    }

    /// Remove every temporary file left by a writer that is gone (killed, or
    /// crashed before its destructor ran). A file whose writer is alive is
    /// locked and left alone. Returns the names removed.
    pub fn sweep(&self) -> io::Result<Vec<String>> {
        let guard = self.lock_file()?;
        guard.lock()?;
        let mut removed = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            // Only our own regular files; never follow a link planted here.
            if !name.starts_with(PARTIAL_PREFIX) || !entry.file_type()?.is_file() {
                continue;
            }
            let path = entry.path();
            let Ok((file, _)) = crate::transport::open_regular(&path) else {
                continue;
            };
            match file.try_lock() {
                Ok(()) => {
                    fs::remove_file(&path)?;
                    removed.push(name);
                }
                Err(fs::TryLockError::WouldBlock) => {}
                Err(fs::TryLockError::Error(e)) => return Err(e),
            }
        }
        Ok(removed)
    }

    /// `<dir>/.lock`, which orders [`Store::partial`] and [`Store::sweep`].
    fn lock_file(&self) -> io::Result<fs::File> {
        fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(self.dir.join(".lock"))
    }

    /// Rename a verified partial file to its digest. The caller has checked the
    /// digest while writing it; this is the only way a name appears in the store.
    pub fn commit(&self, partial: Partial, sha256: &Sha256) -> io::Result<PathBuf> {
        let target = self.path(sha256);
        let from = partial.take();
        match fs::rename(&from, &target) {
            Ok(()) => Ok(target),
            Err(e) => {
                let _ = fs::remove_file(&from);
                Err(e)
            }
        }
    }

    /// Every digest in the store (names that are not digests are ignored).
    pub fn list(&self) -> io::Result<Vec<Sha256>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            if let Ok(sha) = entry?.file_name().to_string_lossy().parse() {
                out.push(sha);
            }
        }
        out.sort_by_key(|s: &Sha256| *s.as_bytes());
        Ok(out)
    }
}

/// Names of the store's temporary files: `.partial.<pid>.<n>`.
pub const PARTIAL_PREFIX: &str = ".partial.";

/// `create_dir_all`, the last component with mode 0700: the store and the
/// quarantine are the user's own.
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        fs::create_dir_all(parent)?;
    }
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        other => other,
    }
}
