//! Writing into the destination: entry paths checked by the shared
//! relative-path core, symlink targets held inside the root, a walk of
//! directory handles opened without following links, files created with
//! `O_EXCL`, modes normalised.

use super::*;

/// A validated entry path: zero or more parent directories and a final name
/// (`None` for the destination root itself, e.g. a `./` entry).
pub(super) struct EntryPath<'a> {
    entry: &'a str,
    parents: Vec<&'a OsStr>,
    name: Option<&'a OsStr>,
}

/// Splits a stored name into normal components, refusing absolute names, `..`,
/// NUL and empty names. `.` and empty components (`a//b`) are dropped: the
/// shared relative-path core under [`PathRules::ARCHIVE`].
pub(super) fn components(raw: &[u8]) -> Option<Vec<&OsStr>> {
    let parts = PathRules::ARCHIVE.components(raw).ok()?;
    Some(parts.into_iter().map(OsStr::from_bytes).collect())
}

/// Whether a symlink in a directory `depth` levels below the root, with this
/// target, resolves inside the root.
///
/// Stricter than lexical containment: `..` may only lead the target. A `..` after
/// a normal component (`sub/../x`) would be applied by the kernel *after*
/// following `sub`, which may itself be a symlink, so lexical and real resolution
/// differ. With leading `..` only, the climb happens from the link's own
/// directory, which we reached without symlinks, so lexical is real; and every
/// symlink met while descending is itself held to this rule.
pub(super) fn link_target_inside(depth: usize, target: &[u8]) -> bool {
    if target.is_empty() || target.contains(&0) || target[0] == b'/' {
        return false;
    }
    let mut ups = 0usize;
    let mut descended = false;
    for c in target.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." if descended => return false,
            b".." => {
                ups += 1;
                if ups > depth {
                    return false;
                }
            }
            _ => descended = true,
        }
    }
    true
}

/// File mode: keep read and execute bits, drop setuid/setgid/sticky and
/// group/other write, always let the owner read and write.
pub(super) fn file_mode(mode: u32) -> u32 {
    (mode & 0o755) | 0o600
}

/// Directory mode: as for files, and the owner can always list and enter it.
pub(super) fn dir_mode(mode: u32) -> u32 {
    (mode & 0o755) | 0o700
}

pub(super) enum Existing {
    Missing,
    File,
    Dir,
    Symlink,
    Other,
}

pub(super) fn existing(dir: &Dir, name: &OsStr) -> io::Result<Existing> {
    match dir.symlink_metadata(name) {
        Ok(m) => {
            let t = m.file_type();
            Ok(if t.is_symlink() {
                Existing::Symlink
            } else if t.is_file() {
                Existing::File
            } else if t.is_dir() {
                Existing::Dir
            } else {
                Existing::Other
            })
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Existing::Missing),
        Err(e) => Err(e),
    }
}

pub(super) fn join_display(parts: &[&OsStr]) -> String {
    let mut s = String::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            s.push('/');
        }
        s.push_str(&p.to_string_lossy());
    }
    s
}

/// Per-extraction state: the destination walk, the limits and the report.
pub(super) struct Extractor<'d> {
    pub(super) archive: PathBuf,
    root: &'d Dir,
    /// Open handles for the last parent path walked, one per component: tar
    /// entries come grouped by directory, so most walks reuse all of them.
    stack: Vec<(OsString, Dir)>,
    pub(super) limits: Limits,
    pub(super) report: ExtractReport,
    top_seen: HashSet<Vec<u8>>,
    buf: Vec<u8>,
}

impl<'d> Extractor<'d> {
    pub(super) fn new(root: &'d Dir, limits: &Limits, archive: &Path) -> Self {
        Self {
            archive: archive.into(),
            root,
            stack: Vec::new(),
            limits: *limits,
            report: ExtractReport::default(),
            top_seen: HashSet::new(),
            buf: vec![0u8; COPY_BUF],
        }
    }

    /// Consumes data an entry carries but we do not use (a directory or link with a
    /// nonzero size, a PAX global header), charging it to the total-bytes budget.
    pub(super) fn drain(&mut self, entry: &mut dyn Read, name: &str) -> Result<(), ExtractError> {
        let left = self
            .limits
            .max_total_bytes
            .saturating_sub(self.report.bytes);
        let n = io::copy(&mut entry.take(left.saturating_add(1)), &mut io::sink())
            .map_err(|source| self.corrupt(name, source))?;
        if n > left {
            return Err(ExtractError::LimitExceeded {
                what: Limit::TotalBytes,
                limit: self.limits.max_total_bytes,
                entry: Some(name.into()),
            });
        }
        Ok(())
    }

    pub(super) fn corrupt(&self, entry: &str, source: io::Error) -> ExtractError {
        ExtractError::Corrupt {
            archive: self.archive.clone(),
            entry: Some(entry.into()),
            source,
        }
    }

    /// Validates an entry's name and accounts for it in the report and limits.
    pub(super) fn begin<'a>(
        &mut self,
        raw: &'a [u8],
        entry: &'a str,
        mtime: Option<u64>,
    ) -> Result<EntryPath<'a>, ExtractError> {
        let comps = components(raw).ok_or_else(|| ExtractError::UnsafePath {
            entry: entry.into(),
        })?;
        if comps.len() > MAX_PATH_DEPTH {
            return Err(ExtractError::LimitExceeded {
                what: Limit::PathDepth,
                limit: MAX_PATH_DEPTH as u64,
                entry: Some(entry.into()),
            });
        }
        self.report.entries += 1;
        if self.report.entries > self.limits.max_entries {
            return Err(ExtractError::LimitExceeded {
                what: Limit::Entries,
                limit: self.limits.max_entries,
                entry: Some(entry.into()),
            });
        }
        if let Some(first) = comps.first()
            && !self.top_seen.contains(first.as_bytes())
        {
            self.top_seen.insert(first.as_bytes().to_vec());
            self.report
                .top_level
                .push(first.to_string_lossy().into_owned());
        }
        if let Some(t) = mtime {
            self.report.max_mtime = Some(self.report.max_mtime.map_or(t, |m| m.max(t)));
        }
        let mut parents = comps;
        let name = parents.pop();
        Ok(EntryPath {
            entry,
            parents,
            name,
        })
    }

    /// Returns a handle on the entry's parent directory, creating missing
    /// directories, refusing to pass through a symlink or a non-directory.
    fn parent(&mut self, path: &EntryPath<'_>) -> Result<&Dir, ExtractError> {
        let common = self
            .stack
            .iter()
            .zip(&path.parents)
            .take_while(|((have, _), want)| have.as_os_str() == **want)
            .count();
        self.stack.truncate(common);
        for i in common..path.parents.len() {
            let comp = path.parents[i];
            let base = self.stack.last().map_or(self.root, |(_, d)| d);
            let dir = open_or_create_dir(base, comp, path.entry, &path.parents[..=i])?;
            self.stack.push((comp.to_owned(), dir));
        }
        Ok(self.stack.last().map_or(self.root, |(_, d)| d))
    }

    pub(super) fn dir(&mut self, path: &EntryPath<'_>, mode: u32) -> Result<(), ExtractError> {
        let Some(name) = path.name else { return Ok(()) }; // "./": the root itself
        let entry = path.entry;
        let parent = self.parent(path)?;
        let mut builder = DirBuilder::new();
        builder.mode(dir_mode(mode));
        match parent.create_dir_with(name, &builder) {
            Ok(()) => {
                // Only a directory we just created gets a mode, through a handle
                // opened without following links (and so independent of umask).
                set_dir_mode(parent, name, dir_mode(mode))
                    .map_err(|source| io_err(entry, "set permissions", source))
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                // Leave an existing directory's mode alone. Changing it is how
                // RUSTSEC-2026-0067 chmod-ed directories outside the root (through
                // a symlink of the same name).
                match existing(parent, name).map_err(|source| io_err(entry, "stat", source))? {
                    Existing::Dir => Ok(()),
                    taken => Err(occupied(taken, path)),
                }
            }
            Err(source) => Err(io_err(entry, "create directory", source)),
        }
    }

    /// Writes a regular file. `size` is the declared size; the copy is bounded by
    /// the limits whatever the data turns out to hold.
    pub(super) fn file(
        &mut self,
        path: &EntryPath<'_>,
        mode: u32,
        size: u64,
        data: &mut dyn Read,
        mtime: Option<u64>,
    ) -> Result<(), ExtractError> {
        let entry = path.entry;
        let Some(name) = path.name else {
            return Err(ExtractError::UnsafePath {
                entry: entry.into(),
            });
        };
        let limits = self.limits;
        let too_big = |what, limit| ExtractError::LimitExceeded {
            what,
            limit,
            entry: Some(entry.into()),
        };
        if size > limits.max_entry_bytes {
            return Err(too_big(Limit::EntryBytes, limits.max_entry_bytes));
        }
        if self.report.bytes.saturating_add(size) > limits.max_total_bytes {
            return Err(too_big(Limit::TotalBytes, limits.max_total_bytes));
        }
        let mut buf = std::mem::take(&mut self.buf);
        let result = (|| {
            let parent = self.parent(path)?;
            let file = create_file(parent, name, path)?;
            let mut out = file.into_std();
            let mut written: u64 = 0;
            loop {
                let n = match data.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(self.corrupt(entry, e)),
                };
                written += n as u64;
                if written > limits.max_entry_bytes {
                    return Err(too_big(Limit::EntryBytes, limits.max_entry_bytes));
                }
                if self.report.bytes + written > limits.max_total_bytes {
                    return Err(too_big(Limit::TotalBytes, limits.max_total_bytes));
                }
                out.write_all(&buf[..n])
                    .map_err(|source| io_err(entry, "write", source))?;
            }
            self.report.bytes += written;
            out.set_permissions(fs::Permissions::from_mode(file_mode(mode)))
                .map_err(|source| io_err(entry, "set permissions", source))?;
            if let Some(t) = mtime {
                // Builds compare mtimes (make; autotools' configure vs configure.ac).
                let when = SystemTime::UNIX_EPOCH + Duration::from_secs(t);
                out.set_times(fs::FileTimes::new().set_modified(when).set_accessed(when))
                    .map_err(|source| io_err(entry, "set mtime", source))?;
            }
            Ok(())
        })();
        self.buf = buf;
        result
    }

    pub(super) fn symlink(
        &mut self,
        path: &EntryPath<'_>,
        target: &[u8],
    ) -> Result<(), ExtractError> {
        let (entry, name) = link_entry(path)?;
        // RUSTSEC-2021-0080 / RUSTSEC-2018-0002: a link to outside, then a write
        // through it. We refuse the link itself, and (below) any write through any link.
        if !link_target_inside(path.parents.len(), target) {
            return Err(link_escape(entry, target));
        }
        let target_os = OsStr::from_bytes(target);
        let parent = self.parent(path)?;
        for attempt in 0..2 {
            match parent.symlink(target_os, name) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt == 0 => {
                    match existing(parent, name).map_err(|source| io_err(entry, "stat", source))? {
                        // Replacing a regular file by a (checked) link writes nothing through it.
                        Existing::File => parent
                            .remove_file(name)
                            .map_err(|source| io_err(entry, "remove previous file", source))?,
                        Existing::Symlink => {
                            return Err(ExtractError::Conflict {
                                entry: entry.into(),
                                existing: "symlink",
                            });
                        }
                        Existing::Dir => {
                            return Err(ExtractError::Conflict {
                                entry: entry.into(),
                                existing: "directory",
                            });
                        }
                        Existing::Other | Existing::Missing => {
                            return Err(ExtractError::Conflict {
                                entry: entry.into(),
                                existing: "special file",
                            });
                        }
                    }
                }
                Err(source) => return Err(io_err(entry, "create symlink", source)),
            }
        }
        unreachable!("the second attempt returns")
    }

    pub(super) fn hard_link(
        &mut self,
        path: &EntryPath<'_>,
        target: &[u8],
    ) -> Result<(), ExtractError> {
        let (entry, name) = link_entry(path)?;
        let escape = || link_escape(entry, target);
        // Hard link names are relative to the archive root, and must name a regular
        // file that is already there: never anything outside, never a symlink
        // (RUSTSEC-2018-0002: a hard link to /etc/passwd, then a write to it).
        let mut tcomps = components(target).ok_or_else(escape)?;
        let tname = tcomps.pop().ok_or_else(escape)?;
        let mut tdir = self
            .root
            .try_clone()
            .map_err(|source| io_err(entry, "open destination", source))?;
        for c in &tcomps {
            tdir = tdir.open_dir_nofollow(c).map_err(|_| escape())?;
        }
        match existing(&tdir, tname) {
            Ok(Existing::File) => {}
            _ => return Err(escape()),
        }
        if tcomps == path.parents && tname == name {
            return Ok(()); // a link to itself: nothing to do
        }
        let parent = self.parent(path)?;
        clear_for_file(parent, name, path)?;
        tdir.hard_link(tname, parent, name)
            .map_err(|source| io_err(entry, "create hard link", source))
    }
}

/// A link entry's path and final name; a link cannot be the root itself.
fn link_entry<'a>(path: &EntryPath<'a>) -> Result<(&'a str, &'a OsStr), ExtractError> {
    match path.name {
        Some(name) => Ok((path.entry, name)),
        None => Err(ExtractError::UnsafePath {
            entry: path.entry.into(),
        }),
    }
}

fn link_escape(entry: &str, target: &[u8]) -> ExtractError {
    ExtractError::LinkEscape {
        entry: entry.into(),
        target: String::from_utf8_lossy(target).into_owned(),
    }
}

pub(super) fn full<'a>(path: &EntryPath<'a>) -> Vec<&'a OsStr> {
    let mut v = path.parents.clone();
    v.extend(path.name);
    v
}

pub(super) fn io_err(entry: &str, op: &'static str, source: io::Error) -> ExtractError {
    ExtractError::Io {
        entry: entry.into(),
        op,
        source,
    }
}

/// Opens `comp` under `base` as a directory without following a symlink,
/// creating it if missing. `so_far` is the path up to and including `comp`.
pub(super) fn open_or_create_dir(
    base: &Dir,
    comp: &OsStr,
    entry: &str,
    so_far: &[&OsStr],
) -> Result<Dir, ExtractError> {
    let classify = |base: &Dir| -> ExtractError {
        match existing(base, comp) {
            // CVE-2025-45582: the symlink may come from an earlier archive
            // extracted into the same directory; it is refused all the same.
            Ok(Existing::Symlink) => ExtractError::ThroughSymlink {
                entry: entry.into(),
                symlink: join_display(so_far),
            },
            Ok(Existing::File) => ExtractError::Conflict {
                entry: entry.into(),
                existing: "file (where a directory is needed)",
            },
            Ok(Existing::Other) => ExtractError::Conflict {
                entry: entry.into(),
                existing: "special file (where a directory is needed)",
            },
            Ok(Existing::Dir | Existing::Missing) => io_err(
                entry,
                "open directory",
                io::Error::other(format!("cannot open {}", join_display(so_far))),
            ),
            Err(source) => io_err(entry, "stat", source),
        }
    };
    match base.open_dir_nofollow(comp) {
        Ok(d) => return Ok(d),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(_) => return Err(classify(base)),
    }
    let mut builder = DirBuilder::new();
    builder.mode(0o755);
    let created = match base.create_dir_with(comp, &builder) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
        Err(source) => return Err(io_err(entry, "create directory", source)),
    };
    let dir = base.open_dir_nofollow(comp).map_err(|_| classify(base))?;
    if created {
        set_dir_mode(base, comp, 0o755)
            .map_err(|source| io_err(entry, "set permissions", source))?;
    }
    Ok(dir)
}

/// Sets a directory's mode with `fchmod` on a read handle opened without
/// following a symlink (directory handles from `open_dir` are `O_PATH`, which
/// `fchmod` refuses).
pub(super) fn set_dir_mode(parent: &Dir, name: &OsStr, mode: u32) -> io::Result<()> {
    let mut opts = OpenOptions::new();
    opts.read(true).follow(FollowSymlinks::No).maybe_dir(true);
    let f = parent.open_with(name, &opts)?.into_std();
    if !f.metadata()?.is_dir() {
        return Err(io::Error::other("not a directory"));
    }
    f.set_permissions(fs::Permissions::from_mode(mode))
}

/// Creates `name` exclusively (`O_CREAT|O_EXCL` never follows a symlink). A
/// regular file already there is unlinked first; anything else is refused.
pub(super) fn create_file(
    parent: &Dir,
    name: &OsStr,
    path: &EntryPath<'_>,
) -> Result<cap_std::fs::File, ExtractError> {
    let entry = path.entry;
    let mut opts = OpenOptions::new();
    // 0o600 until the data is in: nobody else reads a half-written file.
    opts.write(true).create_new(true).mode(0o600);
    match parent.open_with(name, &opts) {
        Ok(f) => return Ok(f),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(source) => return Err(io_err(entry, "create file", source)),
    }
    clear_for_file(parent, name, path)?;
    parent
        .open_with(name, &opts)
        .map_err(|source| io_err(entry, "create file", source))
}

/// Make room for a regular file (or hard link) named `name` in `parent`: a
/// duplicate regular file is unlinked, so its old inode (maybe hard-linked
/// elsewhere) is not modified; a symlink, directory or special file there is
/// refused, never written through or replaced.
pub(super) fn clear_for_file(
    parent: &Dir,
    name: &OsStr,
    path: &EntryPath<'_>,
) -> Result<(), ExtractError> {
    let entry = path.entry;
    match existing(parent, name).map_err(|source| io_err(entry, "stat", source))? {
        Existing::Missing => Ok(()),
        Existing::File => parent
            .remove_file(name)
            .map_err(|source| io_err(entry, "remove previous file", source)),
        taken => Err(occupied(taken, path)),
    }
}

/// The refusal for an entry whose name something in the destination already
/// holds: a symlink is never written through, anything else is a conflict.
fn occupied(taken: Existing, path: &EntryPath<'_>) -> ExtractError {
    let entry = path.entry.into();
    let existing = match taken {
        Existing::Symlink => {
            return ExtractError::ThroughSymlink {
                entry,
                symlink: join_display(&full(path)),
            };
        }
        Existing::Dir => "directory",
        Existing::File => "file",
        Existing::Other | Existing::Missing => "special file",
    };
    ExtractError::Conflict { entry, existing }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_refuse_unsafe_names() {
        assert!(components(b"").is_none());
        assert!(components(b"/etc/passwd").is_none());
        assert!(components(b"a/../../b").is_none());
        assert!(components(b"a/..").is_none());
        assert!(components(b"a\0b").is_none());
        assert_eq!(
            components(b"./a//b/.").unwrap(),
            vec![OsStr::new("a"), OsStr::new("b")]
        );
        assert!(components(b"./").unwrap().is_empty());
    }

    #[test]
    fn link_targets() {
        assert!(link_target_inside(0, b"a/b"));
        assert!(link_target_inside(1, b"../x"));
        assert!(link_target_inside(1, b".."));
        assert!(!link_target_inside(0, b".."));
        assert!(!link_target_inside(1, b"../../x"));
        assert!(!link_target_inside(3, b"/etc"));
        assert!(!link_target_inside(3, b""));
        assert!(!link_target_inside(3, b"a/../b"));
        assert!(link_target_inside(2, b"./../.././x"));
    }

    #[test]
    fn modes() {
        assert_eq!(file_mode(0o4755), 0o755);
        assert_eq!(file_mode(0o666), 0o644);
        assert_eq!(file_mode(0o000), 0o600);
        assert_eq!(file_mode(0o700), 0o700);
        assert_eq!(dir_mode(0o1777), 0o755);
        assert_eq!(dir_mode(0o000), 0o700);
    }
}
