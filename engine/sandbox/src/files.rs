//! Host side of the `files` interface: bulk and symlink work on the phase's
//! granted directories.
//!
//! **Invariant:** every operation goes through a `cap_std::fs::Dir` handle
//! opened on one of the build's directories. A guest path is split into its
//! root (`/sources`, `/work`, `/destroot`) and a relative path that may not
//! contain `..`; cap-std then refuses any resolution that would leave the
//! handle, including through symlinks planted by the build. Trees are walked
//! one directory handle at a time and symlinks are never followed: they are
//! copied as links, removed as links, and refused as targets of `set-mode`.

use std::io;
use std::path::{Component, Path, PathBuf};
use std::time::Instant;

use cap_std::fs::{Dir, FileType};
use rustix::fs::{AtFlags, Mode, OFlags};

use crate::grants::{Access, DirGrants, Root};

/// Why a `files` call was refused; mirrors the WIT `error-kind`.
#[derive(Debug, Clone, Copy, Eq, PartialEq)]
pub enum FileErrorKind {
    NotFound,
    Escape,
    ReadOnly,
    Exists,
    Invalid,
    Limit,
    Io,
}

#[derive(Debug, Clone, Eq, PartialEq)]
pub struct FileError {
    pub kind: FileErrorKind,
    pub path: String,
    pub message: String,
}

impl FileError {
    fn new(kind: FileErrorKind, path: &str, message: impl Into<String>) -> Self {
        FileError {
            kind,
            path: path.to_owned(),
            message: message.into(),
        }
    }

    fn io(path: &str, what: &str, e: io::Error) -> Self {
        let kind = match e.kind() {
            io::ErrorKind::NotFound => FileErrorKind::NotFound,
            io::ErrorKind::AlreadyExists => FileErrorKind::Exists,
            io::ErrorKind::PermissionDenied => {
                // cap-std reports an escape through a symlink as EPERM/EACCES.
                FileErrorKind::Escape
            }
            _ => FileErrorKind::Io,
        };
        FileError::new(kind, path, format!("{what}: {e}"))
    }
}

pub type FileResult<T> = Result<T, FileError>;

/// The directories a phase may touch, as handles.
pub struct PhaseFiles {
    grants: DirGrants,
    sources: Option<Dir>,
    work: Option<Dir>,
    destroot: Option<Dir>,
    /// The watchdog's budget for one host call.
    pub call_budget: std::time::Duration,
}

/// A guest path resolved against a root handle.
struct Resolved<'a> {
    root: Root,
    dir: &'a Dir,
    rel: PathBuf,
}

/// Deepest directory nesting a tree walk follows. Real source trees stay far
/// below it; a guest-made chain deeper than this gets a `limit` error rather
/// than exhausting the host's stack or descriptors.
pub const MAX_DEPTH: usize = 256;

impl PhaseFiles {
    pub fn new(
        grants: DirGrants,
        sources: Option<Dir>,
        work: Option<Dir>,
        destroot: Option<Dir>,
        call_budget: std::time::Duration,
    ) -> Self {
        PhaseFiles {
            grants,
            sources,
            work,
            destroot,
            call_budget,
        }
    }

    fn handle(&self, root: Root) -> Option<&Dir> {
        match root {
            Root::Sources => self.sources.as_ref(),
            Root::Work => self.work.as_ref(),
            Root::Destroot => self.destroot.as_ref(),
        }
    }

    /// Split a guest path into a granted root handle and a relative path.
    fn resolve(&self, guest: &str, write: bool) -> FileResult<Resolved<'_>> {
        let (root, rel) = split_guest_path(guest)?;
        let access = self.grants.access(root);
        let dir = match (access, self.handle(root)) {
            (Access::None, _) | (_, None) => {
                return Err(FileError::new(
                    FileErrorKind::Escape,
                    guest,
                    format!("{} is not granted to this phase", root.guest_path()),
                ));
            }
            (Access::ReadOnly, Some(_)) if write => {
                return Err(FileError::new(
                    FileErrorKind::ReadOnly,
                    guest,
                    format!("{} is read-only in this phase", root.guest_path()),
                ));
            }
            (_, Some(dir)) => dir,
        };
        Ok(Resolved { root, dir, rel })
    }

    /// Open the parent directory of `rel` (following in-root links only, as
    /// cap-std does) and return it with the final name.
    fn parent<'p>(r: &Resolved<'_>, guest: &str, rel: &'p Path) -> FileResult<(Dir, &'p Path)> {
        let name = Path::new(rel.file_name().ok_or_else(|| {
            FileError::new(
                FileErrorKind::Invalid,
                guest,
                "the path names a root directory",
            )
        })?);
        let parent = rel.parent().unwrap_or(Path::new(""));
        let dir = if parent.as_os_str().is_empty() {
            r.dir.try_clone()
        } else {
            r.dir.open_dir(parent)
        }
        .map_err(|e| FileError::io(guest, "opening the parent directory", e))?;
        Ok((dir, name))
    }

    pub fn copy_tree(&self, src: &str, dst: &str) -> FileResult<u64> {
        let deadline = Watchdog::new(self.call_budget, src);
        let s = self.resolve(src, false)?;
        let d = self.resolve(dst, true)?;
        if s.root == d.root && d.rel.starts_with(&s.rel) {
            return Err(FileError::new(
                FileErrorKind::Invalid,
                dst,
                format!("cannot copy {src} into itself"),
            ));
        }
        let (src_parent, src_name) = Self::parent(&s, src, &s.rel)?;
        let (dst_parent, dst_name) = Self::parent(&d, dst, &d.rel)?;
        let meta = src_parent
            .symlink_metadata(src_name)
            .map_err(|e| FileError::io(src, "reading", e))?;
        if dst_parent.symlink_metadata(dst_name).is_ok() {
            return Err(FileError::new(
                FileErrorKind::Exists,
                dst,
                "the destination exists",
            ));
        }
        let mut count = 0;
        copy_entry(
            &src_parent,
            src_name,
            &dst_parent,
            dst_name,
            meta.file_type(),
            &deadline,
            0,
            &mut count,
        )
        .map_err(|e| e.at(src))?;
        Ok(count)
    }

    pub fn remove_tree(&self, path: &str) -> FileResult<u64> {
        let deadline = Watchdog::new(self.call_budget, path);
        let r = self.resolve(path, true)?;
        let (parent, name) = Self::parent(&r, path, &r.rel)?;
        let meta = parent
            .symlink_metadata(name)
            .map_err(|e| FileError::io(path, "reading", e))?;
        let mut count = 0;
        remove_entry(&parent, name, meta.file_type(), &deadline, 0, &mut count)
            .map_err(|e| e.at(path))?;
        Ok(count)
    }

    /// Remove FIFOs, sockets and device nodes from the writable roots.
    ///
    /// A guest's WASI `open` runs on the host thread, and opening a FIFO with
    /// no writer blocks there where no epoch deadline can reach it. Archives
    /// cannot bring such files (extraction refuses them) and WASI cannot make
    /// them, but a native command can (`mkfifo`), so the host sweeps them
    /// away before a phase's guest starts and after every native command.
    /// Returns the guest paths removed.
    pub fn purge_special_files(&self) -> Vec<String> {
        let mut removed = Vec::new();
        for (root, dir) in [(Root::Work, &self.work), (Root::Destroot, &self.destroot)] {
            if self.grants.access(root) != Access::ReadWrite {
                continue;
            }
            if let Some(dir) = dir {
                purge(dir, Path::new(root.guest_path()), &mut removed);
            }
        }
        removed
    }

    pub fn symlink(&self, target: &str, link: &str) -> FileResult<()> {
        if target.is_empty() || target.contains('\0') {
            return Err(FileError::new(
                FileErrorKind::Invalid,
                link,
                "empty target or NUL byte",
            ));
        }
        let r = self.resolve(link, true)?;
        let (parent, name) = Self::parent(&r, link, &r.rel)?;
        // The target is stored, never resolved: rustix writes it verbatim,
        // where cap-std would refuse an absolute or outward target.
        rustix::fs::symlinkat(target, &parent, name)
            .map_err(|e| FileError::io(link, "creating the symlink", io::Error::from(e)))
    }

    pub fn read_link(&self, path: &str) -> FileResult<String> {
        let r = self.resolve(path, false)?;
        let (parent, name) = Self::parent(&r, path, &r.rel)?;
        let target = rustix::fs::readlinkat(&parent, name, Vec::new())
            .map_err(|e| FileError::io(path, "reading the symlink", io::Error::from(e)))?;
        target.into_string().map_err(|_| {
            FileError::new(FileErrorKind::Invalid, path, "the link target is not UTF-8")
        })
    }

    pub fn set_mode(&self, path: &str, mode: u32) -> FileResult<()> {
        if mode & !0o1777 != 0 {
            return Err(FileError::new(
                FileErrorKind::Invalid,
                path,
                format!(
                    "mode {mode:o}: only permission bits and sticky are allowed (no setuid/setgid)"
                ),
            ));
        }
        let r = self.resolve(path, true)?;
        let (parent, name) = Self::parent(&r, path, &r.rel)?;
        let meta = parent
            .symlink_metadata(name)
            .map_err(|e| FileError::io(path, "reading", e))?;
        if meta.file_type().is_symlink() {
            return Err(FileError::new(
                FileErrorKind::Invalid,
                path,
                "is a symlink: modes of links are not set",
            ));
        }
        if mode & 0o1000 != 0 && !meta.is_dir() {
            return Err(FileError::new(
                FileErrorKind::Invalid,
                path,
                "sticky bit on a non-directory",
            ));
        }
        rustix::fs::chmodat(&parent, name, Mode::from_raw_mode(mode), AtFlags::empty())
            .map_err(|e| FileError::io(path, "setting the mode", io::Error::from(e)))
    }

    pub fn get_mode(&self, path: &str) -> FileResult<u32> {
        let r = self.resolve(path, false)?;
        let (parent, name) = Self::parent(&r, path, &r.rel)?;
        let st = rustix::fs::statat(&parent, name, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| FileError::io(path, "reading", io::Error::from(e)))?;
        Ok(st.st_mode & 0o7777)
    }
}

/// Split `/work/a/b` into (`Root::Work`, `a/b`). Refuses relative paths,
/// unknown roots, `..` anywhere and NUL bytes.
pub fn split_guest_path(guest: &str) -> FileResult<(Root, PathBuf)> {
    if guest.contains('\0') {
        return Err(FileError::new(
            FileErrorKind::Invalid,
            guest,
            "NUL byte in path",
        ));
    }
    if !guest.starts_with('/') {
        return Err(FileError::new(
            FileErrorKind::Invalid,
            guest,
            "paths must be absolute guest paths such as /work/...",
        ));
    }
    let mut components = Path::new(guest)
        .components()
        .filter(|c| !matches!(c, Component::CurDir));
    // Leading RootDir.
    components.next();
    let root = match components.next() {
        Some(Component::Normal(n)) => n.to_str().and_then(Root::from_component),
        _ => None,
    }
    .ok_or_else(|| {
        FileError::new(
            FileErrorKind::Escape,
            guest,
            "outside the build's directories",
        )
    })?;
    let mut rel = PathBuf::new();
    for c in components {
        match c {
            Component::Normal(n) => rel.push(n),
            Component::ParentDir => {
                return Err(FileError::new(
                    FileErrorKind::Escape,
                    guest,
                    "`..` is not allowed",
                ));
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    Ok((root, rel))
}

/// A host call's time budget: long tree walks stop with a `limit` error.
struct Watchdog {
    until: Instant,
    budget: std::time::Duration,
    path: String,
}

impl Watchdog {
    fn new(budget: std::time::Duration, path: &str) -> Self {
        Watchdog {
            until: Instant::now() + budget,
            budget,
            path: path.to_owned(),
        }
    }
    fn check(&self) -> FileResult<()> {
        if Instant::now() > self.until {
            return Err(FileError::new(
                FileErrorKind::Limit,
                &self.path,
                format!("host call ran past its {:?} budget", self.budget),
            ));
        }
        Ok(())
    }
}

/// Errors inside a walk carry the relative entry; `at` makes them name the
/// guest path the call was given.
trait At {
    fn at(self, guest: &str) -> FileError;
}
impl At for FileError {
    fn at(mut self, guest: &str) -> FileError {
        if self.path.is_empty() {
            self.path = guest.to_owned();
        } else if !self.path.starts_with('/') {
            self.path = format!("{}/{}", guest.trim_end_matches('/'), self.path);
        }
        self
    }
}

fn walk_err(name: &Path, what: &str, e: io::Error) -> FileError {
    FileError::io(&name.to_string_lossy(), what, e)
}

fn copy_entry(
    src_dir: &Dir,
    src: &Path,
    dst_dir: &Dir,
    dst: &Path,
    ty: FileType,
    watchdog: &Watchdog,
    depth: usize,
    count: &mut u64,
) -> FileResult<()> {
    watchdog.check()?;
    if ty.is_symlink() {
        let target = rustix::fs::readlinkat(src_dir, src, Vec::new())
            .map_err(|e| walk_err(src, "reading the symlink", e.into()))?;
        rustix::fs::symlinkat(target.as_c_str(), dst_dir, dst)
            .map_err(|e| walk_err(dst, "creating the symlink", e.into()))?;
    } else if ty.is_dir() {
        let mode = rustix::fs::statat(src_dir, src, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| walk_err(src, "reading", e.into()))?
            .st_mode;
        dst_dir
            .create_dir(dst)
            .map_err(|e| walk_err(dst, "creating the directory", e))?;
        too_deep(depth, src)?;
        let from = open_dir_nofollow(src_dir, src)?;
        let to = open_dir_nofollow(dst_dir, dst)?;
        for entry in from.entries().map_err(|e| walk_err(src, "listing", e))? {
            let entry = entry.map_err(|e| walk_err(src, "listing", e))?;
            let name = entry.file_name();
            let ty = entry.file_type().map_err(|e| walk_err(src, "listing", e))?;
            copy_entry(
                &from,
                Path::new(&name),
                &to,
                Path::new(&name),
                ty,
                watchdog,
                depth + 1,
                count,
            )
            .map_err(|e| e.at(&src.to_string_lossy()))?;
        }
        rustix::fs::fchmod(&to, Mode::from_raw_mode(mode & 0o1777))
            .map_err(|e| walk_err(dst, "setting the mode", e.into()))?;
    } else if ty.is_file() {
        // NONBLOCK: should the entry have been swapped for a FIFO since it was
        // listed, opening it must not block the host thread.
        let from = rustix::fs::openat(
            src_dir,
            src,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| walk_err(src, "opening", e.into()))?;
        let mode = rustix::fs::fstat(&from)
            .map_err(|e| walk_err(src, "reading", e.into()))?
            .st_mode;
        let to = rustix::fs::openat(
            dst_dir,
            dst,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| walk_err(dst, "creating", e.into()))?;
        let (mut from, mut to) = (std::fs::File::from(from), std::fs::File::from(to));
        io::copy(&mut from, &mut to).map_err(|e| walk_err(dst, "copying", e))?;
        // No setuid/setgid survives a copy.
        rustix::fs::fchmod(&to, Mode::from_raw_mode(mode & 0o777))
            .map_err(|e| walk_err(dst, "setting the mode", e.into()))?;
    } else {
        return Err(FileError::new(
            FileErrorKind::Invalid,
            &src.to_string_lossy(),
            "not a file, directory or symlink",
        ));
    }
    *count += 1;
    Ok(())
}

/// Remove everything inside `root` (not `root` itself), however deep the
/// tree, holding one directory descriptor at a time and never following a
/// symlink. The engine cleans a previous build with it: a guest can build a
/// directory chain far deeper than a recursive removal survives.
pub fn empty_dir(root: &Dir) -> io::Result<()> {
    let mut current = root.try_clone()?;
    let mut depth = 0usize;
    loop {
        // Remove what can be removed here; descend into the first directory.
        let mut descend = None;
        for entry in current.entries()? {
            let entry = entry?;
            let name = entry.file_name();
            if entry.file_type()?.is_dir() {
                if current.remove_dir(&name).is_err() {
                    descend = Some(name);
                    break;
                }
            } else {
                current.remove_file(&name)?;
            }
        }
        match descend {
            Some(name) => {
                // A guest may have made it read-only (`set-mode 0555`).
                let _ = rustix::fs::chmodat(
                    &current,
                    Path::new(&name),
                    Mode::from_raw_mode(0o700),
                    AtFlags::empty(),
                );
                current = open_dir_nofollow(&current, Path::new(&name))
                    .map_err(|e| io::Error::other(e.message))?;
                depth += 1;
            }
            None if depth == 0 => return Ok(()),
            None => {
                // This directory is empty now: climb and remove it.
                current = open_dir_nofollow(&current, Path::new(".."))
                    .map_err(|e| io::Error::other(e.message))?;
                depth -= 1;
            }
        }
    }
}

/// Walk a whole tree, however deep, holding one directory descriptor at a
/// time (descend by name without following links, climb back through `..`),
/// and remove every entry that is not a file, directory or symlink.
fn purge(root: &Dir, at: &Path, removed: &mut Vec<String>) {
    /// List `dir`: remove special entries, return the subdirectories.
    fn scan(dir: &Dir, at: &Path, removed: &mut Vec<String>) -> Vec<std::ffi::OsString> {
        let mut subdirs = Vec::new();
        let Ok(entries) = dir.entries() else {
            return subdirs;
        };
        for entry in entries.flatten() {
            let Ok(ty) = entry.file_type() else { continue };
            let name = entry.file_name();
            if ty.is_dir() {
                subdirs.push(name);
            } else if !ty.is_file() && !ty.is_symlink() && dir.remove_file(&name).is_ok() {
                removed.push(at.join(&name).to_string_lossy().into_owned());
            }
        }
        subdirs
    }
    let Ok(mut current) = root.try_clone() else {
        return;
    };
    let mut path = at.to_path_buf();
    let mut pending = vec![scan(&current, &path, removed)];
    while let Some(level) = pending.last_mut() {
        if let Some(name) = level.pop() {
            if let Ok(sub) = open_dir_nofollow(&current, Path::new(&name)) {
                current = sub;
                path.push(&name);
                let next = scan(&current, &path, removed);
                pending.push(next);
            }
            continue;
        }
        pending.pop();
        if pending.is_empty() {
            break;
        }
        // We entered this directory by name without following a link, and
        // nothing else runs during the sweep, so `..` is where we came from.
        match open_dir_nofollow(&current, Path::new("..")) {
            Ok(parent) => current = parent,
            Err(_) => return,
        }
        path.pop();
    }
}

fn too_deep(depth: usize, name: &Path) -> FileResult<()> {
    if depth >= MAX_DEPTH {
        return Err(FileError::new(
            FileErrorKind::Limit,
            &name.to_string_lossy(),
            format!("the tree is nested deeper than {MAX_DEPTH} directories"),
        ));
    }
    Ok(())
}

/// Open a subdirectory by one name, refusing to follow a symlink there.
fn open_dir_nofollow(dir: &Dir, name: &Path) -> FileResult<Dir> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| walk_err(name, "opening", e.into()))?;
    Ok(Dir::from_std_file(std::fs::File::from(fd)))
}

fn remove_entry(
    dir: &Dir,
    name: &Path,
    ty: FileType,
    watchdog: &Watchdog,
    depth: usize,
    count: &mut u64,
) -> FileResult<()> {
    watchdog.check()?;
    if ty.is_dir() {
        too_deep(depth, name)?;
        let sub = open_dir_nofollow(dir, name)?;
        for entry in sub.entries().map_err(|e| walk_err(name, "listing", e))? {
            let entry = entry.map_err(|e| walk_err(name, "listing", e))?;
            let child = entry.file_name();
            let ty = entry
                .file_type()
                .map_err(|e| walk_err(name, "listing", e))?;
            remove_entry(&sub, Path::new(&child), ty, watchdog, depth + 1, count)
                .map_err(|e| e.at(&name.to_string_lossy()))?;
        }
        dir.remove_dir(name)
            .map_err(|e| walk_err(name, "removing", e))?;
    } else {
        dir.remove_file(name)
            .map_err(|e| walk_err(name, "removing", e))?;
    }
    *count += 1;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_paths_split() {
        let (root, rel) = split_guest_path("/work/a/./b").unwrap();
        assert_eq!(root, Root::Work);
        assert_eq!(rel, PathBuf::from("a/b"));
        assert_eq!(split_guest_path("/destroot").unwrap().1, PathBuf::new());
    }

    #[test]
    fn guest_paths_refused() {
        for (p, kind) in [
            ("/work/../etc", FileErrorKind::Escape),
            ("/etc/passwd", FileErrorKind::Escape),
            ("/", FileErrorKind::Escape),
            ("work/a", FileErrorKind::Invalid),
            ("/work/a\0b", FileErrorKind::Invalid),
            ("/work/a/../../destroot", FileErrorKind::Escape),
        ] {
            assert_eq!(split_guest_path(p).unwrap_err().kind, kind, "{p}");
        }
    }
}
