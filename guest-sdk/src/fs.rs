//! File helpers with MacPorts' names, safe by construction.
//!
//! Every helper takes paths (guest paths such as `/work/hello-2.10/src`),
//! never a shell string, so a directory called `release notes` or a file
//! called `-rf` is just a name: there is no word splitting or globbing to get
//! wrong (the class of bug behind Steam's `rm -rf "$STEAMROOT/"*` deleting
//! users' home directories).
//!
//! Tree copies and removals, symlinks and permission bits go through the
//! host's `files` interface: it is much faster than WASI for trees, it never
//! follows a symlink, and it can do what WASI cannot (absolute symlinks,
//! modes). Single-file reads and writes use `std::fs` on the phase's
//! preopened directories. Every error names the path involved.

use std::path::{Path, PathBuf};

use regex::bytes::Regex;

use crate::error::{Context, Error, ErrorKind, Result};
use crate::imports::files;
use crate::patch::{self, Change};

/// A path as the UTF-8 string the host interfaces take.
fn host_path(path: &Path) -> Result<&str> {
    path.to_str().ok_or_else(|| {
        Error::new(
            ErrorKind::Invalid,
            format!("path `{}` is not UTF-8", path.display()),
        )
    })
}

/// Read a whole file, naming it on error.
pub fn read(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let path = path.as_ref();
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// Read a whole UTF-8 file, naming it on error.
pub fn read_to_string(path: impl AsRef<Path>) -> Result<String> {
    let path = path.as_ref();
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Create or truncate a file and write `contents`, naming it on error. An
/// existing file keeps its permission bits.
pub fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> Result<()> {
    let path = path.as_ref();
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))
}

/// Whether `path` exists (a dangling symlink counts: it is not followed).
pub fn exists(path: impl AsRef<Path>) -> bool {
    path.as_ref().symlink_metadata().is_ok()
}

/// Create a directory and its missing parents (`mkdir -p`).
pub fn mkdir_p(path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    std::fs::create_dir_all(path).with_context(|| format!("creating directory {}", path.display()))
}

/// Create a directory and its missing parents, then set the directory's
/// permission bits to `mode` (MacPorts' `xinstall -d -m mode`).
pub fn xinstall_dir(path: impl AsRef<Path>, mode: u32) -> Result<()> {
    let path = path.as_ref();
    mkdir_p(path)?;
    set_mode(path, mode)
}

/// Install the file `src` with permission bits `mode` (MacPorts'
/// `xinstall -m mode`), creating missing parent directories, and return
/// the installed path.
///
/// If `dst` is an existing directory the file goes into it under its own
/// name, like `install(1)`; otherwise `dst` is the new file's path. An
/// existing file is replaced. `src` is read through symlinks (the content
/// is installed, not the link).
pub fn xinstall(src: impl AsRef<Path>, dst: impl AsRef<Path>, mode: u32) -> Result<PathBuf> {
    let (src, dst) = (src.as_ref(), dst.as_ref());
    let what = || format!("installing {} to {}", src.display(), dst.display());
    let target = if dst.is_dir() {
        let name = src
            .file_name()
            .ok_or_else(|| Error::new(ErrorKind::Invalid, "source has no file name"))
            .with_context(what)?;
        dst.join(name)
    } else {
        if let Some(parent) = dst.parent().filter(|p| !p.as_os_str().is_empty()) {
            mkdir_p(parent).with_context(what)?;
        }
        dst.to_path_buf()
    };
    copy_file_contents(src, &target).with_context(what)?;
    set_mode(&target, mode).with_context(what)?;
    Ok(target)
}

/// Copy the bytes of the file `src` to `dst` (created or truncated). Not
/// `std::fs::copy`: on WASI it also tries to copy permission bits, which
/// WASI cannot set (the host's `set-mode` does that).
fn copy_file_contents(src: &Path, dst: &Path) -> Result<u64> {
    let mut from =
        std::fs::File::open(src).with_context(|| format!("opening {}", src.display()))?;
    let mut to =
        std::fs::File::create(dst).with_context(|| format!("creating {}", dst.display()))?;
    std::io::copy(&mut from, &mut to).with_context(|| format!("writing {}", dst.display()))
}

/// Set the permission bits of `path` (no setuid/setgid/sticky, world-writable
/// file or group/world-writable directory: the host refuses what a build may
/// not leave behind, as its sweep does). A symlink is not followed.
pub fn set_mode(path: impl AsRef<Path>, mode: u32) -> Result<()> {
    let path = path.as_ref();
    files::set_mode(host_path(path)?, mode)
        .with_context(|| format!("setting mode {mode:#o} on {}", path.display()))
}

/// The permission bits of `path` (a symlink is not followed).
pub fn get_mode(path: impl AsRef<Path>) -> Result<u32> {
    let path = path.as_ref();
    files::get_mode(host_path(path)?).with_context(|| format!("reading mode of {}", path.display()))
}

/// Remove a file, symlink or whole tree without following any symlink
/// (MacPorts' `delete`), returning the number of entries removed. A path
/// that does not exist is not an error (0 entries), as in MacPorts; check the
/// count if absence matters.
pub fn delete(path: impl AsRef<Path>) -> Result<u64> {
    let path = path.as_ref();
    match files::remove_tree(host_path(path)?) {
        Ok(n) => Ok(n),
        Err(e) if e.kind == files::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(Error::from(e).context(format!("deleting {}", path.display()))),
    }
}

/// Copy a file, symlink or whole tree from `src` to `dst`, which must not
/// exist (its parent must). Symlinks are copied as links, never followed;
/// modes are kept (without setuid/setgid). Returns the number of entries
/// copied. Done by the host: much faster than copying through WASI.
pub fn copy(src: impl AsRef<Path>, dst: impl AsRef<Path>) -> Result<u64> {
    let (src, dst) = (src.as_ref(), dst.as_ref());
    files::copy_tree(host_path(src)?, host_path(dst)?)
        .with_context(|| format!("copying {} to {}", src.display(), dst.display()))
}

/// Move (rename) `src` to `dst`, which must not exist. A rename is tried
/// first; when it fails (for example across two granted directories, such as
/// work to destroot) the tree is copied by the host and the source deleted.
pub fn move_path(src: impl AsRef<Path>, dst: impl AsRef<Path>) -> Result<()> {
    let (src, dst) = (src.as_ref(), dst.as_ref());
    let what = || format!("moving {} to {}", src.display(), dst.display());
    src.symlink_metadata().with_context(what)?;
    if exists(dst) {
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            format!("{} exists already", dst.display()),
        ))
        .with_context(what);
    }
    match std::fs::rename(src, dst) {
        Ok(()) => Ok(()),
        Err(rename_err) => {
            crate::log::debug(format!(
                "rename {} -> {} failed ({rename_err}); copying instead",
                src.display(),
                dst.display()
            ));
            copy(src, dst).with_context(what)?;
            files::remove_tree(host_path(src)?)
                .map(drop)
                .with_context(|| format!("removing {} after copying it", src.display()))
                .with_context(what)
        }
    }
}

/// Create a symlink at `link` whose content is `target`. The target may be
/// absolute (`/opt/wport/bin/tool`, as installed links must be) or point
/// anywhere: it is stored, never resolved. Done by the host, because WASI
/// refuses absolute targets.
pub fn symlink(target: impl AsRef<Path>, link: impl AsRef<Path>) -> Result<()> {
    let (target, link) = (target.as_ref(), link.as_ref());
    files::symlink(host_path(target)?, host_path(link)?).with_context(|| {
        format!(
            "creating symlink {} -> {}",
            link.display(),
            target.display()
        )
    })
}

/// The content of the symlink at `path`.
pub fn read_link(path: impl AsRef<Path>) -> Result<PathBuf> {
    let path = path.as_ref();
    files::read_link(host_path(path)?)
        .map(PathBuf::from)
        .with_context(|| format!("reading symlink {}", path.display()))
}

/// A compiled `reinplace` edit: a regular expression and its replacement,
/// applied to every match in whole files (like `sed -i 's/re/repl/g'`).
///
/// Patterns use the [`regex`] crate's syntax and match bytes, so files need
/// not be UTF-8; `(?m)` makes `^`/`$` match at line boundaries. `\w`, `\d`,
/// `\s` and `(?i)` are Unicode-aware; Unicode property classes (`\p{L}`)
/// are not compiled in, to keep components small. In the
/// replacement, `$1` or `${name}` insert capture groups and `$$` is a
/// literal `$` (use [`Reinplace::literal`] to replace plain text).
///
/// A file in which the pattern matches nothing is an error: the edit went
/// stale with an upstream update (Homebrew's `inreplace` fails the same
/// way; MacPorts only warns, and the stale edit ships). An edit meant for
/// only some versions or files says so with `.require_match(false)` or
/// [`reinplace_if_present`]. Every file edited is logged with its count.
#[derive(Debug, Clone)]
pub struct Reinplace {
    matcher: Matcher,
    replacement: Vec<u8>,
    require_match: bool,
}

/// Literal edits do not touch the regex engine, so a component that only
/// uses [`Reinplace::literal`] does not carry it (the linker drops it).
#[derive(Debug, Clone)]
enum Matcher {
    Regex(Regex),
    Literal(Vec<u8>),
}

impl Reinplace {
    /// A regex edit. Error if `pattern` is not a valid regex.
    pub fn new(pattern: &str, replacement: &str) -> Result<Self> {
        let re = Regex::new(pattern).with_context(|| format!("reinplace pattern `{pattern}`"))?;
        Ok(Self {
            matcher: Matcher::Regex(re),
            replacement: replacement.as_bytes().to_vec(),
            require_match: true,
        })
    }

    /// A plain-text edit: `text` is matched literally and `replacement` is
    /// inserted as is (no `$` expansion).
    ///
    /// # Panics
    /// If `text` is empty (it would match between every two bytes).
    pub fn literal(text: &str, replacement: &str) -> Self {
        assert!(
            !text.is_empty(),
            "Reinplace::literal needs a non-empty text"
        );
        Self {
            matcher: Matcher::Literal(text.as_bytes().to_vec()),
            replacement: replacement.as_bytes().to_vec(),
            require_match: true,
        }
    }

    /// The pattern, for messages.
    fn pattern(&self) -> std::borrow::Cow<'_, str> {
        match &self.matcher {
            Matcher::Regex(re) => re.as_str().into(),
            Matcher::Literal(t) => String::from_utf8_lossy(t),
        }
    }

    /// Whether a file in which the pattern matches nothing is an error (the
    /// default) or only a warning in the log (`false`, MacPorts' behaviour).
    #[must_use]
    pub fn require_match(mut self, yes: bool) -> Self {
        self.require_match = yes;
        self
    }

    /// Apply to in-memory `text`: the new text and the number of
    /// replacements.
    pub fn apply_to(&self, text: &[u8]) -> (Vec<u8>, usize) {
        match &self.matcher {
            Matcher::Regex(re) => {
                let count = re.find_iter(text).count();
                if count == 0 {
                    return (text.to_vec(), 0);
                }
                let out = re.replace_all(text, self.replacement.as_slice());
                (out.into_owned(), count)
            }
            Matcher::Literal(needle) => replace_literal(text, needle, &self.replacement),
        }
    }

    /// Edit one file in place (its permission bits are kept; it is not
    /// rewritten when nothing matches). Returns the number of replacements.
    pub fn in_file(&self, path: impl AsRef<Path>) -> Result<usize> {
        let path = path.as_ref();
        let count = self.edit_file(path)?;
        if count > 0 {
            crate::log::info(format!(
                "reinplace `{}`: {count} replacement{} in {}",
                self.pattern(),
                if count == 1 { "" } else { "s" },
                path.display()
            ));
        }
        Ok(count)
    }

    /// [`Reinplace::in_file`] without the log line of an edit, for a caller
    /// that logs the edit in its own words (the standard components log the
    /// parameter as the Portfile wrote it).
    pub(crate) fn edit_file(&self, path: &Path) -> Result<usize> {
        let what = || format!("reinplace `{}` in {}", self.pattern(), path.display());
        let text = std::fs::read(path).with_context(what)?;
        let (out, count) = self.apply_to(&text);
        if count == 0 {
            if self.require_match {
                return Err(Error::new(
                    ErrorKind::Invalid,
                    "the pattern matches nothing",
                ))
                .with_context(what);
            }
            crate::log::warn(format!("{}: changed nothing", what()));
            return Ok(0);
        }
        std::fs::write(path, out).with_context(what)?;
        Ok(count)
    }

    /// Edit every file of `files` in turn; the total number of replacements.
    pub fn in_files<P: AsRef<Path>>(&self, files: impl IntoIterator<Item = P>) -> Result<usize> {
        files
            .into_iter()
            .try_fold(0, |n, f| Ok(n + self.in_file(f)?))
    }
}

/// Replace every non-overlapping occurrence of `needle` (non-empty), left to
/// right.
fn replace_literal(text: &[u8], needle: &[u8], replacement: &[u8]) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(text.len());
    let (mut count, mut i) = (0, 0);
    while let Some(at) = text[i..].windows(needle.len()).position(|w| w == needle) {
        out.extend_from_slice(&text[i..i + at]);
        out.extend_from_slice(replacement);
        i += at + needle.len();
        count += 1;
    }
    out.extend_from_slice(&text[i..]);
    (out, count)
}

/// MacPorts' `reinplace`: replace every match of the regex `pattern` with
/// `replacement` in each of `files`, in place. Returns the total number of
/// replacements. A file where nothing matches is an error naming the
/// pattern and the file (Homebrew's `inreplace`); see
/// [`reinplace_if_present`] for an edit that may find nothing, and
/// [`Reinplace`] for the syntax.
pub fn reinplace<P: AsRef<Path>>(
    pattern: &str,
    replacement: &str,
    files: impl IntoIterator<Item = P>,
) -> Result<usize> {
    Reinplace::new(pattern, replacement)?.in_files(files)
}

/// [`reinplace`] for an edit that may legitimately find nothing (a line
/// only some releases have): a file where nothing matches is left alone
/// with a warning in the log.
pub fn reinplace_if_present<P: AsRef<Path>>(
    pattern: &str,
    replacement: &str,
    files: impl IntoIterator<Item = P>,
) -> Result<usize> {
    Reinplace::new(pattern, replacement)?
        .require_match(false)
        .in_files(files)
}

/// Apply the unified diff `patchfile` to the tree at `dir`, in pure WASM
/// (see [`crate::patch`] for the format, git's renames, copies and modes,
/// and the strip-level choice).
///
/// All hunks are checked before anything is written, so a patch that does
/// not apply, or asks for something unsupported (a binary change), leaves
/// the tree untouched; the error names the patch file, and the target file
/// and hunk or the patch line. Hunks found at an offset are logged.
pub fn apply_patch(patchfile: impl AsRef<Path>, dir: impl AsRef<Path>) -> Result<()> {
    let (patchfile, dir) = (patchfile.as_ref(), dir.as_ref());
    let pname = patchfile.file_name().map_or_else(
        || patchfile.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let what = || format!("applying {pname} to {}", dir.display());
    let to_err = |e: patch::PatchError| {
        let kind = match e {
            patch::PatchError::Read { .. } => ErrorKind::Other,
            _ => ErrorKind::Patch,
        };
        Error::new(kind, e.to_string()).context(what())
    };

    let text = read(patchfile).with_context(what)?;
    let parsed = patch::parse(&text).map_err(to_err)?;
    let strip = parsed
        .choose_strip(&|rel| dir.join(rel).symlink_metadata().is_ok_and(|m| m.is_file()))
        .map_err(to_err)?;
    let plan = parsed
        .plan(
            strip,
            &mut |rel| {
                let path = dir.join(rel);
                match path.symlink_metadata() {
                    // A name below a file (a rename of `a` to `a/b`) does
                    // not exist either.
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                        ) =>
                    {
                        Ok(None)
                    }
                    Err(e) => Err(e.to_string()),
                    Ok(m) if !m.is_file() => Err("not a regular file".to_owned()),
                    Ok(_) => std::fs::read(&path).map(Some).map_err(|e| e.to_string()),
                }
            },
            &mut |rel| get_mode(dir.join(rel)).map_err(|e| e.to_string()),
        )
        .map_err(to_err)?;

    for note in &plan.notes {
        crate::log::info(format!("{pname}: {note}"));
    }
    // Deletions first: a rename may put a file below a deleted one's name.
    let (deletes, rest): (Vec<Change>, Vec<Change>) = plan
        .changes
        .into_iter()
        .partition(|c| matches!(c, Change::Delete { .. }));
    for change in deletes.into_iter().chain(rest) {
        match change {
            Change::Write {
                path,
                content,
                created,
            } => {
                let path = dir.join(path);
                if created && let Some(parent) = path.parent() {
                    mkdir_p(parent).with_context(what)?;
                }
                write(&path, content).with_context(what)?;
            }
            Change::Delete { path: rel } => {
                let path = dir.join(&rel);
                std::fs::remove_file(&path)
                    .with_context(|| format!("deleting {}", path.display()))
                    .with_context(what)?;
                // Directories the deletion emptied go too, as with `git
                // apply` (a rename out of `old/` leaves no `old/`); a
                // later write recreates what it needs.
                for parent in Path::new(&rel).ancestors().skip(1) {
                    if parent.as_os_str().is_empty()
                        || std::fs::remove_dir(dir.join(parent)).is_err()
                    {
                        break;
                    }
                }
            }
            Change::SetMode { path, mode } => {
                set_mode(dir.join(path), mode).with_context(what)?;
            }
        }
    }
    crate::log::debug(format!("{pname} applied with -p{strip}"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_matching_nothing_fails_by_default() {
        let path = std::env::temp_dir().join(format!("wport-reinplace-{}", std::process::id()));
        std::fs::write(&path, "#define ROOT \"/usr/local/\"\n").unwrap();
        let stale = Reinplace::literal("/opt/local/", "/opt/wport/");
        let err = stale.edit_file(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Invalid);
        let message = format!("{err:#}");
        assert!(
            message.contains("reinplace `/opt/local/`") && message.contains("matches nothing"),
            "{message}"
        );
        let err = reinplace("/opt/(local)/", "x", [&path]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Invalid);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "#define ROOT \"/usr/local/\"\n",
            "the file is untouched"
        );
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn reinplace_regex_with_groups() {
        let r = Reinplace::new(r"(?m)^prefix=(.*)$", "prefix=/opt/wport # was $1").unwrap();
        let (out, n) = r.apply_to(b"a\nprefix=/usr/local\nb\n");
        assert_eq!(n, 1);
        assert_eq!(out, b"a\nprefix=/opt/wport # was /usr/local\nb\n");
    }

    #[test]
    fn reinplace_replaces_every_match() {
        let r = Reinplace::new("@PREFIX@", "/opt/wport").unwrap();
        let (out, n) = r.apply_to(b"@PREFIX@/bin:@PREFIX@/sbin");
        assert_eq!(
            (out.as_slice(), n),
            (&b"/opt/wport/bin:/opt/wport/sbin"[..], 2)
        );
    }

    #[test]
    fn reinplace_literal_does_not_expand() {
        let r = Reinplace::literal("cost: $5 (.*)", "price: $1");
        let (out, n) = r.apply_to(b"cost: $5 (.*) total");
        assert_eq!((out.as_slice(), n), (&b"price: $1 total"[..], 1));
    }

    #[test]
    fn reinplace_literal_edges() {
        let r = Reinplace::literal("aa", "b");
        assert_eq!(r.apply_to(b"aaaaa"), (b"bba".to_vec(), 2));
        assert_eq!(r.apply_to(b""), (b"".to_vec(), 0));
        assert_eq!(r.apply_to(b"a"), (b"a".to_vec(), 0));
        let r = Reinplace::literal("@PREFIX@", "");
        assert_eq!(r.apply_to(b"x@PREFIX@y@PREFIX@"), (b"xy".to_vec(), 2));
    }

    #[test]
    fn reinplace_works_on_non_utf8() {
        let r = Reinplace::new("caf\u{e9}|x", "y").unwrap();
        let (out, n) = r.apply_to(b"\xff x \xfe");
        assert_eq!((out.as_slice(), n), (&b"\xff y \xfe"[..], 1));
    }

    #[test]
    fn reinplace_bad_regex_is_invalid() {
        let e = Reinplace::new("(unclosed", "x").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Invalid);
        assert!(
            e.to_string()
                .starts_with("reinplace pattern `(unclosed`: bad regular expression")
        );
    }
}
