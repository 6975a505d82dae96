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
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use cap_std::fs::{Dir, FileType};
use rustix::fs::{AtFlags, Mode, OFlags};
use wport_types::PathRules;

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

    /// Sweep the writable roots after a native command (and before a
    /// phase's guest starts): remove FIFOs, sockets and device nodes, and
    /// narrow every mode a build must not leave behind (see [`sweep_tree`]).
    ///
    /// A guest's WASI `open` runs on the host thread, and opening a FIFO with
    /// no writer blocks there where no epoch deadline can reach it. Archives
    /// cannot bring such files (extraction refuses them) and WASI cannot make
    /// them, but a native command can (`mkfifo`). A native command can also
    /// `chmod 6755` a file or `chmod 0777 /work` (issue 11, item 1); the
    /// sweep takes those bits away before anything else runs.
    pub fn sweep(&self) -> Vec<Swept> {
        let mut swept = Vec::new();
        for (root, dir) in [(Root::Work, &self.work), (Root::Destroot, &self.destroot)] {
            if self.grants.access(root) != Access::ReadWrite {
                continue;
            }
            if let Some(dir) = dir {
                swept.extend(sweep_tree(dir, Path::new(root.guest_path())));
            }
        }
        swept
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
        // The same rule as the sweep after native commands: what a build
        // leaves must not be writable by other users (issue 11, item 1).
        let narrowed = narrow_mode(mode, meta.is_dir());
        if narrowed != mode {
            return Err(FileError::new(
                FileErrorKind::Invalid,
                path,
                format!(
                    "mode {mode:o}: a build keeps no group/world-writable directory, \
                     world-writable file or sticky bit (allowed here: {narrowed:o})"
                ),
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
/// unknown roots, `..` anywhere and NUL bytes; below the root, the path is
/// checked by the shared relative-path core (`wport_types::PathRules`).
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
    // The root is the first component that is not `.` (`//` and `/./` name
    // no component, as for the kernel).
    let mut rest = guest;
    let first = loop {
        rest = rest.trim_start_matches('/');
        let (first, tail) = rest.split_once('/').unwrap_or((rest, ""));
        rest = tail;
        if first != "." {
            break first;
        }
    };
    let root = Root::from_component(first).ok_or_else(|| {
        FileError::new(
            FileErrorKind::Escape,
            guest,
            "outside the build's directories",
        )
    })?;
    // Below the root: the shared relative-path core, `.` and empty
    // components skipped as the kernel does (NUL was refused above).
    let rest = rest.trim_start_matches('/');
    let mut rel = PathBuf::new();
    if !rest.is_empty() {
        let parts = PathRules::ARCHIVE
            .components(rest.as_bytes())
            .map_err(|_| FileError::new(FileErrorKind::Escape, guest, "`..` is not allowed"))?;
        for part in parts {
            rel.push(std::ffi::OsStr::from_bytes(part));
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

#[expect(
    clippy::too_many_arguments,
    reason = "one recursive walk: both sides, the entry, and the walk's budget"
)]
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
        rustix::fs::fchmod(&to, Mode::from_raw_mode(narrow_mode(mode & 0o7777, true)))
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
        // No setuid/setgid or world-writable mode survives a copy.
        rustix::fs::fchmod(&to, Mode::from_raw_mode(narrow_mode(mode & 0o7777, false)))
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

/// The mode a build may keep: no setuid or setgid; on a file no sticky bit
/// and no world write; on a directory no sticky bit and no group or world
/// write. Issue 11, item 1: a build that left a setuid file and a 0777
/// `/work` let any local user become the build user and write into builds.
pub fn narrow_mode(mode: u32, is_dir: bool) -> u32 {
    if is_dir { mode & 0o755 } else { mode & 0o775 }
}

/// What [`sweep_tree`] did to one entry; the build log gets a line each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Swept {
    /// A FIFO, socket or device node was removed.
    Special { path: String },
    /// A mode was narrowed (see [`narrow_mode`]).
    Mode { path: String, from: u32, to: u32 },
    /// An entry could not be checked or fixed.
    Failed { path: String, error: String },
}

impl std::fmt::Display for Swept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Swept::Special { path } => write!(
                f,
                "removed special file {path} (FIFOs, sockets and devices are not allowed)"
            ),
            Swept::Mode { path, from, to } => write!(
                f,
                "mode of {path} narrowed from {from:o} to {to:o} (no setuid/setgid, sticky or \
                 world-writable modes are kept)"
            ),
            Swept::Failed { path, error } => write!(f, "WARNING: could not sweep {path}: {error}"),
        }
    }
}

/// Sweep a whole tree, however deep, through directory handles and without
/// following a link: remove every entry that is not a file, directory or
/// symlink, and narrow every mode with [`narrow_mode`] (the root's own mode
/// included: `chmod 0777 /work`). A directory its owner cannot list or enter
/// also gets `u+rx`, or what is inside it could not be swept. `at` names
/// the root in the returned records.
pub fn sweep_tree(root: &Dir, at: &Path) -> Vec<Swept> {
    let mut out = Vec::new();
    let failed = |path: &Path, e: io::Error| Swept::Failed {
        path: path.to_string_lossy().into_owned(),
        error: e.to_string(),
    };
    match rustix::fs::fstat(root) {
        Ok(st) => {
            let to = narrow_mode(st.st_mode & 0o7777, true) | 0o500;
            if to != st.st_mode & 0o7777 {
                // Through /proc/self/fd: cap-std may hold the root as O_PATH.
                match chmod_fd(root, to) {
                    Ok(()) => out.push(Swept::Mode {
                        path: at.to_string_lossy().into_owned(),
                        from: st.st_mode & 0o7777,
                        to,
                    }),
                    Err(e) => out.push(failed(at, e)),
                }
            }
        }
        Err(e) => out.push(failed(at, e.into())),
    }
    let mut stack = match HandleStack::new(root) {
        Ok(s) => s,
        Err(e) => {
            out.push(failed(at, e));
            return out;
        }
    };
    let first = sweep_level(root, at, &mut out);
    stack.pending().extend(first);
    loop {
        let Some(name) = stack.pending().pop() else {
            if stack.pop().is_none() {
                return out;
            }
            continue;
        };
        let path = stack.path(at).join(&name);
        let entered = stack.top().and_then(|parent| {
            // The directory's own mode first: it may be 0777, or 0000 so that
            // its owner could not look inside.
            if let Some(fix) = fix_mode_at(parent, &name, &path)? {
                out.push(fix);
            }
            Ok(())
        });
        let entered = entered.and_then(|()| stack.push(name));
        match entered {
            Ok(()) => {}
            Err(e) if gone(&e) => continue,
            Err(e) => {
                out.push(failed(&path, e));
                continue;
            }
        }
        let level = match stack.top() {
            Ok(dir) => sweep_level(dir, &path, &mut out),
            Err(e) => {
                out.push(failed(&path, e));
                Vec::new()
            }
        };
        stack.pending().extend(level);
    }
}

/// Sweep the entries of one directory; return its subdirectories.
fn sweep_level(dir: &Dir, at: &Path, out: &mut Vec<Swept>) -> Vec<std::ffi::OsString> {
    let mut subdirs = Vec::new();
    let entries = match dir.entries() {
        Ok(e) => e,
        Err(e) => {
            out.push(Swept::Failed {
                path: at.to_string_lossy().into_owned(),
                error: format!("listing: {e}"),
            });
            return subdirs;
        }
    };
    for entry in entries {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name();
        let Ok(ty) = entry.file_type() else { continue };
        if ty.is_dir() {
            subdirs.push(name);
        } else if !ty.is_symlink() {
            let path = at.join(&name);
            match fix_mode_at(dir, &name, &path) {
                Ok(Some(fix)) => out.push(fix),
                Ok(None) => {}
                Err(e) if gone(&e) => {}
                Err(e) => out.push(Swept::Failed {
                    path: path.to_string_lossy().into_owned(),
                    error: e.to_string(),
                }),
            }
        }
    }
    subdirs
}

/// Check one entry of `dir` without following a link, and fix it: remove a
/// special file, narrow a file's or directory's mode. The mode is changed
/// through an `O_PATH` descriptor of the very inode that was checked (via
/// `/proc/self/fd`, checked to be procfs by `rustix-linux-procfs`), so an
/// entry swapped for a link meanwhile is never followed, and a file its
/// owner cannot read (`chmod 6000`) is still fixed.
fn fix_mode_at(dir: &Dir, name: &std::ffi::OsStr, path: &Path) -> io::Result<Option<Swept>> {
    let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
    let kind = rustix::fs::FileType::from_raw_mode(st.st_mode);
    let from = st.st_mode & 0o7777;
    let to = match kind {
        rustix::fs::FileType::Symlink => return Ok(None),
        rustix::fs::FileType::Directory => narrow_mode(from, true) | 0o500,
        rustix::fs::FileType::RegularFile => narrow_mode(from, false),
        _ => {
            rustix::fs::unlinkat(dir, name, AtFlags::empty())?;
            return Ok(Some(Swept::Special {
                path: path.to_string_lossy().into_owned(),
            }));
        }
    };
    if to == from {
        return Ok(None);
    }
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let now = rustix::fs::fstat(&fd)?;
    if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino)
        || rustix::fs::FileType::from_raw_mode(now.st_mode) != kind
    {
        // Replaced since it was checked: the next sweep sees the new entry.
        return Ok(None);
    }
    chmod_fd(&fd, to)?;
    Ok(Some(Swept::Mode {
        path: path.to_string_lossy().into_owned(),
        from,
        to,
    }))
}

/// chmod the inode an `O_PATH` descriptor holds (fchmod refuses `O_PATH`).
fn chmod_fd(fd: &impl std::os::fd::AsRawFd, mode: u32) -> io::Result<()> {
    let proc_fd = rustix_linux_procfs::proc_self_fd()?;
    rustix::fs::chmodat(
        proc_fd,
        fd.as_raw_fd().to_string(),
        Mode::from_raw_mode(mode),
        AtFlags::empty(),
    )?;
    Ok(())
}

/// Most directory handles a [`HandleStack`] keeps open at once.
const HELD: usize = 64;

/// Directory handles from a walk's root down to the directory it is in.
///
/// Walks never climb back with `..`: a directory renamed out of the tree
/// while the walk is inside it would make `..` lead somewhere else, and the
/// engine's cleanup once emptied a victim directory that way (issue 11,
/// item 2). Each level is opened by one name relative to the handle above
/// it, with `O_NOFOLLOW | O_DIRECTORY`, and everything is done relative to
/// handles the stack holds. At most [`HELD`] handles below the root stay
/// open; a shallower level's handle is dropped and, when the walk returns to
/// it, reopened by name from the nearest held ancestor. A level that can no
/// longer be reached that way was moved out of the tree (or replaced by a
/// link): it is forgotten with everything below it, never followed.
struct HandleStack {
    levels: Vec<Level>,
    /// The deepest level's path below the root, kept as levels come and go.
    rel: PathBuf,
}

struct Level {
    /// Name in the level above (empty for the root).
    name: std::ffi::OsString,
    /// `None` once dropped to bound descriptors; the root's is never dropped.
    dir: Option<Dir>,
    /// Subdirectories still to visit.
    pending: Vec<std::ffi::OsString>,
}

impl HandleStack {
    fn new(root: &Dir) -> io::Result<Self> {
        Ok(HandleStack {
            levels: vec![Level {
                name: Default::default(),
                dir: Some(root.try_clone()?),
                pending: Vec::new(),
            }],
            rel: PathBuf::new(),
        })
    }

    /// The pending subdirectories of the deepest level.
    fn pending(&mut self) -> &mut Vec<std::ffi::OsString> {
        &mut self.levels.last_mut().expect("the root level").pending
    }

    /// The deepest level's path below the root, for messages.
    fn path(&self, at: &Path) -> PathBuf {
        at.join(&self.rel)
    }

    /// The deepest level's handle, reopened by name if it was dropped.
    fn top(&mut self) -> io::Result<&Dir> {
        while self.levels.last().expect("the root level").dir.is_none() {
            let n = self.levels.len();
            let held = self
                .levels
                .iter()
                .rposition(|l| l.dir.is_some())
                .expect("the root is always held");
            let keep_from = n.saturating_sub(HELD);
            let mut cur = self.levels[held].dir.as_ref().expect("held").try_clone()?;
            for j in held + 1..n {
                match open_walk_dir(&cur, &self.levels[j].name) {
                    Ok(next) => {
                        if j >= keep_from {
                            self.levels[j].dir = Some(next.try_clone()?);
                        }
                        cur = next;
                    }
                    Err(e) if gone(&e) => {
                        // Not in the tree any more (moved away, or now a link
                        // or a file): forget it and everything below it.
                        for _ in j..n {
                            self.rel.pop();
                        }
                        self.levels.truncate(j);
                        if self.levels[j - 1].dir.is_none() {
                            self.levels[j - 1].dir = Some(cur);
                        }
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(self
            .levels
            .last()
            .and_then(|l| l.dir.as_ref())
            .expect("held"))
    }

    /// Enter the subdirectory `name` of the deepest level.
    fn push(&mut self, name: std::ffi::OsString) -> io::Result<()> {
        let dir = open_walk_dir(self.top()?, &name)?;
        self.rel.push(&name);
        self.levels.push(Level {
            name,
            dir: Some(dir),
            pending: Vec::new(),
        });
        // Only the deepest HELD levels (and the root) keep their handles.
        if self.levels.len() > HELD + 1 {
            let drop_at = self.levels.len() - HELD - 1;
            self.levels[drop_at].dir = None;
        }
        Ok(())
    }

    /// Leave the deepest level; its name in the level above, or `None` at
    /// the root.
    fn pop(&mut self) -> Option<std::ffi::OsString> {
        if self.levels.len() == 1 {
            return None;
        }
        self.rel.pop();
        self.levels.pop().map(|l| l.name)
    }
}

/// Open a subdirectory for a walk: one name, never a link.
fn open_walk_dir(parent: &Dir, name: &std::ffi::OsStr) -> io::Result<Dir> {
    let fd = rustix::fs::openat(
        parent,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    Ok(Dir::from_std_file(std::fs::File::from(fd)))
}

/// The entry is no longer there as a directory: moved away, removed, or
/// replaced by a link or a file.
fn gone(e: &io::Error) -> bool {
    matches!(
        rustix::io::Errno::from_io_error(e),
        Some(rustix::io::Errno::NOENT | rustix::io::Errno::NOTDIR | rustix::io::Errno::LOOP)
    )
}

/// Remove everything inside `root` (not `root` itself), however deep the
/// tree, never following a symlink and never climbing with `..` (see
/// [`HandleStack`]). The engine cleans a previous build with it: a guest can
/// build a directory chain far deeper than a recursive removal survives, and
/// a local user who could reach the old tree could move a directory out of
/// it mid-cleanup (issue 11, item 2). Whatever is moved out is no longer
/// touched; entries are only ever unlinked relative to a handle of the
/// directory the walk entered.
pub fn empty_dir(root: &Dir) -> io::Result<()> {
    empty_dir_observed(root, &mut |_| {})
}

/// [`empty_dir`], calling `entered` with the relative path of each
/// directory just entered: the point where tests move a directory out of
/// the tree, deterministically.
fn empty_dir_observed(root: &Dir, entered: &mut dyn FnMut(&Path)) -> io::Result<()> {
    let mut stack = HandleStack::new(root)?;
    loop {
        if let Some(name) = stack.pending().pop() {
            match enter_for_removal(&mut stack, name) {
                Ok(()) => entered(&stack.rel),
                // Moved or replaced meanwhile: the rescan below sees what is
                // there now.
                Err(e) if gone(&e) => {}
                Err(e) => return Err(e),
            }
            continue;
        }
        // Nothing pending here: remove what can be removed, queue the rest.
        let cleared = clear_level(stack.top()?);
        let subdirs = cleared.map_err(|e| in_path(&stack.rel, e))?;
        if !subdirs.is_empty() {
            stack.pending().extend(subdirs);
            continue;
        }
        // This level is empty: leave it and remove it by name from the
        // handle of the level above, which we hold.
        let Some(name) = stack.pop() else {
            return Ok(());
        };
        match rustix::fs::unlinkat(stack.top()?, &name, AtFlags::REMOVEDIR) {
            // NOENT: moved out of the tree while we were inside, so it is not
            // ours to remove. NOTEMPTY / NOTDIR: something else is there now;
            // the rescan of this level deals with it.
            Ok(())
            | Err(
                rustix::io::Errno::NOENT | rustix::io::Errno::NOTEMPTY | rustix::io::Errno::NOTDIR,
            ) => {}
            Err(e) => return Err(in_path(&stack.rel.join(&name), e.into())),
        }
    }
}

/// Enter `name` and make it writable to its owner: a guest may have made it
/// read-only (`set-mode 0555`) or even unreadable (`0000`).
fn enter_for_removal(stack: &mut HandleStack, name: std::ffi::OsString) -> io::Result<()> {
    if let Err(e) = stack.push(name.clone()) {
        if rustix::io::Errno::from_io_error(&e) != Some(rustix::io::Errno::ACCESS) {
            return Err(e);
        }
        // Not even its owner may list it: give the owner access through an
        // O_PATH descriptor of this very directory, then enter.
        let fd = rustix::fs::openat(
            stack.top()?,
            &name,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        chmod_fd(&fd, 0o700)?;
        stack.push(name)?;
    }
    let dir = stack.top()?;
    let st = rustix::fs::fstat(dir)?;
    if st.st_mode & 0o700 != 0o700 {
        rustix::fs::fchmod(dir, Mode::from_raw_mode((st.st_mode & 0o7777) | 0o700))?;
    }
    Ok(())
}

/// Unlink every entry of `dir` that can go (files, links, empty
/// directories); return the directories that still have contents.
fn clear_level(dir: &Dir) -> io::Result<Vec<std::ffi::OsString>> {
    let mut subdirs = Vec::new();
    for entry in dir.entries()? {
        let entry = entry?;
        let name = entry.file_name();
        let is_dir = entry.file_type()?.is_dir();
        let flags = if is_dir {
            AtFlags::REMOVEDIR
        } else {
            AtFlags::empty()
        };
        match rustix::fs::unlinkat(dir, &name, flags) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => {}
            Err(rustix::io::Errno::NOTEMPTY | rustix::io::Errno::EXIST) if is_dir => {
                subdirs.push(name)
            }
            Err(e) => return Err(in_path(Path::new(&name), e.into())),
        }
    }
    Ok(subdirs)
}

fn in_path(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
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
        // `//`, `/./` and a trailing `/` name no component, as for the kernel.
        let (root, rel) = split_guest_path("/.//work//a/./b/").unwrap();
        assert_eq!(root, Root::Work);
        assert_eq!(rel, PathBuf::from("a/b"));
        assert_eq!(split_guest_path("/work/").unwrap().1, PathBuf::new());
    }

    /// Every file below `root` with its bytes and mode: what "byte-identical"
    /// means for the victims below.
    fn snapshot(root: &Path) -> Vec<(PathBuf, u32, Option<Vec<u8>>)> {
        use std::os::unix::fs::MetadataExt;
        let mut out = Vec::new();
        let mut todo = vec![root.to_path_buf()];
        while let Some(p) = todo.pop() {
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let bytes = meta.is_file().then(|| std::fs::read(&p).unwrap());
            if meta.is_dir() {
                for e in std::fs::read_dir(&p).unwrap() {
                    todo.push(e.unwrap().path());
                }
            }
            out.push((p.strip_prefix(root).unwrap().to_owned(), meta.mode(), bytes));
        }
        out.sort();
        out
    }

    fn open(p: &Path) -> Dir {
        Dir::open_ambient_dir(p, cap_std::ambient_authority()).unwrap()
    }

    /// Issue 11, item 2: the old cleanup climbed back with `..` and a depth
    /// counter, so a directory moved out of the build tree while the walk
    /// was inside it made `..` lead into the victim, which was emptied.
    /// Here the walk's injection point moves `a` (the walk is in `a/b/c`)
    /// into the victim directory, as a racing local user would.
    #[test]
    fn cleanup_never_follows_a_directory_moved_out_mid_walk() {
        let tree = tempfile::tempdir().unwrap();
        let victim = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tree.path().join("a/b/c/d")).unwrap();
        for f in ["a/1", "a/b/2", "a/b/c/3", "a/b/c/d/4", "top"] {
            std::fs::write(tree.path().join(f), f).unwrap();
        }
        std::fs::create_dir(victim.path().join("sub")).unwrap();
        std::fs::write(victim.path().join("keep"), b"root's data").unwrap();
        std::fs::write(victim.path().join("sub/deeper"), b"more").unwrap();
        let before = snapshot(victim.path());

        let moved = victim.path().join("moved");
        let mut entered = Vec::new();
        empty_dir_observed(&open(tree.path()), &mut |rel| {
            entered.push(rel.to_owned());
            if rel == Path::new("a/b/c") {
                std::fs::rename(tree.path().join("a"), &moved).unwrap();
            }
        })
        .unwrap();

        assert!(entered.contains(&PathBuf::from("a/b/c")), "{entered:?}");
        // The victim's own files are byte-identical; what was moved in is
        // the build's own directory, emptied below where the walk was.
        let mut after = snapshot(victim.path());
        after.retain(|(p, ..)| !p.starts_with("moved"));
        assert_eq!(after, before);
        assert_eq!(std::fs::read_dir(tree.path()).unwrap().count(), 0);
    }

    /// The same race against the bounded handle stack: below HELD levels
    /// the walk drops shallow handles and reopens them by name, so a level
    /// moved out while its handle was dropped must be forgotten, not found
    /// through `..` or followed through a link put in its place.
    #[test]
    fn cleanup_forgets_a_dropped_level_moved_out_and_replaced_by_a_link() {
        let tree = tempfile::tempdir().unwrap();
        let victim = tempfile::tempdir().unwrap();
        std::fs::write(victim.path().join("keep"), b"root's data").unwrap();
        let mut deep = tree.path().to_path_buf();
        for i in 0..HELD + 10 {
            deep.push(format!("{i}"));
        }
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(deep.join("f"), b"x").unwrap();
        let before = snapshot(victim.path());
        let bottom: PathBuf = (0..HELD + 10).map(|i| i.to_string()).collect();
        let away = tempfile::tempdir().unwrap();
        empty_dir_observed(&open(tree.path()), &mut |rel| {
            if rel == bottom {
                // Level 0 is far above the held window by now.
                std::fs::rename(tree.path().join("0"), away.path().join("0")).unwrap();
                std::os::unix::fs::symlink(victim.path(), tree.path().join("0")).unwrap();
            }
        })
        .unwrap();
        assert_eq!(snapshot(victim.path()), before);
        assert_eq!(std::fs::read_dir(tree.path()).unwrap().count(), 0);
    }

    /// Issue 11, item 1: what a native command leaves is swept: setuid and
    /// setgid files (even one its owner cannot read), a world-writable root
    /// and subdirectory, a sticky file, special files; links are not
    /// followed and their targets keep their modes.
    #[test]
    fn sweep_narrows_every_mode_a_build_must_not_keep() {
        use std::os::unix::fs::PermissionsExt;
        let tree = tempfile::tempdir().unwrap();
        let victim = tempfile::NamedTempFile::new().unwrap();
        let t = tree.path();
        let set = |p: &Path, m: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
        };
        std::fs::create_dir_all(t.join("d/e")).unwrap();
        for (f, m) in [
            ("suid", 0o6755),
            ("d/sgid", 0o2711),
            ("d/e/unreadable", 0o6000),
            ("d/sticky", 0o1644),
            ("d/open", 0o666),
        ] {
            std::fs::write(t.join(f), b"x").unwrap();
            set(&t.join(f), m);
        }
        set(victim.path(), 0o4777);
        std::os::unix::fs::symlink(victim.path(), t.join("d/link")).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            t.join("d/fifo"),
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        set(&t.join("d/e"), 0o3777);
        set(&t.join("d"), 0o000);
        set(t, 0o777);

        let swept = sweep_tree(&open(t), Path::new("/work"));
        let mode = |p: &Path| std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(t), 0o755);
        assert_eq!(mode(&t.join("suid")), 0o755);
        assert_eq!(mode(&t.join("d")), 0o500);
        assert_eq!(mode(&t.join("d/sgid")), 0o711);
        assert_eq!(mode(&t.join("d/e")), 0o755);
        assert_eq!(mode(&t.join("d/e/unreadable")), 0o000);
        assert_eq!(mode(&t.join("d/sticky")), 0o644);
        assert_eq!(mode(&t.join("d/open")), 0o664);
        assert!(!t.join("d/fifo").exists());
        assert_eq!(
            mode(victim.path()),
            0o4777,
            "the link's target is not touched"
        );
        assert!(swept.contains(&Swept::Mode {
            path: "/work/suid".into(),
            from: 0o6755,
            to: 0o755
        }));
        assert!(swept.contains(&Swept::Special {
            path: "/work/d/fifo".into()
        }));
        assert!(
            !swept.iter().any(|s| matches!(s, Swept::Failed { .. })),
            "{swept:?}"
        );
        // A second sweep finds nothing left to do.
        assert_eq!(sweep_tree(&open(t), Path::new("/work")), vec![]);
    }

    #[test]
    fn sweep_reaches_below_the_held_window() {
        use std::os::unix::fs::PermissionsExt;
        let tree = tempfile::tempdir().unwrap();
        let mut deep = tree.path().to_path_buf();
        for _ in 0..HELD * 3 {
            deep.push("d");
        }
        std::fs::create_dir_all(&deep).unwrap();
        // On the way back up, every dropped level is reopened by name.
        let mut p = deep.clone();
        while p != tree.path() {
            std::fs::write(p.join("f"), b"x").unwrap();
            std::fs::set_permissions(p.join("f"), std::fs::Permissions::from_mode(0o4755)).unwrap();
            p.pop();
        }
        let swept = sweep_tree(&open(tree.path()), Path::new("/work"));
        assert_eq!(swept.len(), HELD * 3, "{swept:?}");
        assert!(
            swept
                .iter()
                .all(|s| matches!(s, Swept::Mode { to: 0o755, .. }))
        );
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
            ("/./../work", FileErrorKind::Escape),
            ("//", FileErrorKind::Escape),
        ] {
            assert_eq!(split_guest_path(p).unwrap_err().kind, kind, "{p}");
        }
    }
}
