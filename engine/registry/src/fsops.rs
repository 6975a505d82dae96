//! Path operations inside the prefix, through directory handles only.
//!
//! Every relative path is walked one component at a time with
//! `open_dir_nofollow`, so a directory replaced by a symbolic link (to
//! anywhere, inside the prefix or out) stops the walk; the last component is
//! always operated on with an `*at` call that does not follow it.

use std::collections::HashMap;
use std::io;

use cap_fs_ext::DirExt;
use cap_std::fs::Dir;
use rustix::fs::RenameFlags;
use wport_types::PathRules;

/// Checks a package-relative path: non-empty components, no `.`/`..`, no
/// control character (NUL, newline, ESC, DEL, C1), not absolute, no
/// trailing slash, shorter than 4096 bytes with names shorter than 256 (the
/// shared rules for package files, [`PathRules::PACKAGE`]). Control
/// characters are refused because such names are printed by
/// `contents`/`verify`/`owner` (a name holding ESC sequences would drive the
/// user's terminal) and split line-oriented tools.
pub fn safe_rel_path(p: &str) -> bool {
    PathRules::PACKAGE.check(p.as_bytes()).is_ok()
}

/// Whether `s` holds a control character (C0 including NUL and newline,
/// DEL, or C1).
pub fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// Splits `a/b/c` into (`a/b`, `c`); the parent of `c` is "".
pub fn split(p: &str) -> (&str, &str) {
    match p.rfind('/') {
        Some(i) => (&p[..i], &p[i + 1..]),
        None => ("", p),
    }
}

/// Opens `rel` (a directory) below `root` without following any link.
pub fn open_dir_nofollow(root: &Dir, rel: &str) -> io::Result<Dir> {
    let mut d = root.try_clone()?;
    if rel.is_empty() {
        return Ok(d);
    }
    for c in rel.split('/') {
        d = d.open_dir_nofollow(c)?;
    }
    Ok(d)
}

/// A cache of parent directory handles for many operations in one tree.
pub struct Parents<'a> {
    root: &'a Dir,
    cache: HashMap<String, Dir>,
}

impl<'a> Parents<'a> {
    pub fn new(root: &'a Dir) -> Self {
        Parents {
            root,
            cache: HashMap::new(),
        }
    }

    /// The directory holding `path` and its last component.
    pub fn parent<'p>(&mut self, path: &'p str) -> io::Result<(&Dir, &'p str)> {
        let (parent, name) = split(path);
        if parent.is_empty() {
            return Ok((self.root, name));
        }
        if !self.cache.contains_key(parent) {
            // Reuse the grandparent when it is cached.
            let (gp, last) = split(parent);
            let d = match self.cache.get(gp) {
                Some(g) => g.open_dir_nofollow(last)?,
                None if gp.is_empty() => self.root.open_dir_nofollow(last)?,
                None => open_dir_nofollow(self.root, parent)?,
            };
            self.cache.insert(parent.to_string(), d);
        }
        Ok((&self.cache[parent], name))
    }

    /// Forget cached handles (after directories were removed).
    pub fn clear(&mut self) {
        self.cache.clear();
    }
}

/// `renameat2(..., RENAME_NOREPLACE)`: never overwrites.
pub fn rename_noreplace(from_dir: &Dir, from: &str, to_dir: &Dir, to: &str) -> io::Result<()> {
    rustix::fs::renameat_with(from_dir, from, to_dir, to, RenameFlags::NOREPLACE)
        .map_err(io::Error::from)
}

/// Removes a file or a symbolic link (never what the link points to).
pub fn unlink(dir: &Dir, name: &str) -> io::Result<()> {
    rustix::fs::unlinkat(dir, name, rustix::fs::AtFlags::empty()).map_err(io::Error::from)
}

/// Removes an empty directory; a missing, non-empty or non-directory entry is
/// left alone and reported as `false`.
pub fn rmdir_if_empty(dir: &Dir, name: &str) -> bool {
    rustix::fs::unlinkat(dir, name, rustix::fs::AtFlags::REMOVEDIR).is_ok()
}

/// Whether `e` means "not there".
pub fn is_not_found(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound
}
