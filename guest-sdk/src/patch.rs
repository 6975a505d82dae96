//! Unified diffs: parsing and applying in memory (pure logic, no WIT, no I/O).
//!
//! A port's patchfiles are applied inside the sandbox, in WASM, so no native
//! `patch` binary (and no capability to run one) is needed. This module
//! owns the format; [`crate::fs::apply_patch`] does the file I/O around it.
//!
//! What is supported, following GNU `patch` where it matters:
//! - `diff -u` and `git diff` / `git format-patch` output, several files per
//!   patch, text before, between and after file sections (commit messages,
//!   `index` lines) is ignored;
//! - new files (`--- /dev/null`) and deleted files (`+++ /dev/null`);
//! - `\ No newline at end of file`, CRLF lines (compared exactly);
//! - names with a tab-separated timestamp, and git's C-quoted names;
//! - the strip level (`-pN`) is chosen like `patch` does: the lowest of
//!   0..=3 for which every file the patch modifies or deletes exists;
//! - a hunk that does not sit at its recorded line is searched for at the
//!   nearest exact match (an *offset*); there is no fuzz: every context line
//!   must match exactly.
//!
//! Git's extended headers, following `git apply` (a section starts at its
//! `diff --git` line; a header this module does not know ends the header):
//! - `rename from`/`rename to` and `copy from`/`copy to`, with or without
//!   hunks (`similarity index` and `dissimilarity index` are informational).
//!   Those names have no `a/`/`b/` prefix, so at strip level N they lose
//!   N-1 components, as in `git apply`. The new name must not exist;
//! - `new file mode`, `deleted file mode` and `old mode`/`new mode`, also
//!   without hunks (an empty new file, a mode change). Git knows two modes
//!   for a file, 644 and 755, and so does this module: a mode is applied as
//!   one of those ([`Change::SetMode`]), and a renamed or copied file keeps
//!   the executable bit of its source unless the patch gives a new mode. The
//!   old mode is not checked (`git apply` only warns about it);
//! - refused with [`PatchError::Unsupported`], naming the line and the file,
//!   rather than skipped: binary changes (`GIT binary patch`, and `Binary
//!   files ... differ`, which says the diff left a change out), symlinks
//!   (mode 120000) and submodules (mode 160000).
//!
//! Every file name must stay below the patched directory after stripping:
//! an absolute name, a `.` or `..` component, an empty component or a NUL
//! byte is refused with [`PatchError::UnsafePath`].
//!
//! Applying is all-or-nothing: [`Patch::plan`] computes every resulting file
//! in memory first, so a hunk that fails leaves the tree untouched.
//!
//! Not supported: context (non-unified) and ed-style diffs, fuzz.
//!
//! Why not a parsing crate: `diffy` 0.5 (maintained, no default
//! dependencies) parses git's extended headers, and was weighed for this.
//! But its hunks do not record where they are in the patch file and its
//! parse errors carry a byte offset and an opaque kind, while wport's
//! messages name the patch line of the section or hunk; it needs the format
//! (unified or git) chosen before parsing, where patchfiles mix both; and the
//! part that matters for correctness, the hunk matcher, would stay here
//! anyway (offsets, GNU patch's anchoring of short-context hunks, checked
//! against GNU `patch` by `differential_against_diff_u` and fuzzed by
//! `fuzz/fuzz_targets/patch.rs`). The git headers are a few line prefixes,
//! so parsing them here costs less than a dependency compiled into every
//! component.

use std::collections::BTreeMap;
use std::fmt;

/// Highest strip level tried when choosing one automatically.
pub const MAX_STRIP: usize = 3;

/// A parsed unified diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch {
    /// The file sections, in patch order.
    pub files: Vec<FilePatch>,
}

/// The changes to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePatch {
    /// The old name: the `---` name, git's `rename from`/`copy from` name,
    /// or for a git section without `---` the first `diff --git` name;
    /// `None` when the patch creates the file (`/dev/null`, `new file
    /// mode`).
    pub old: Option<String>,
    /// The new name, likewise; `None` when the patch deletes the file.
    pub new: Option<String>,
    /// The hunks, in file order (none for a git rename, copy or mode change
    /// without content changes, or an empty new or deleted file).
    pub hunks: Vec<Hunk>,
    /// 1-based line of the section in the patch file: its `diff --git`
    /// line, or the `---` header of a plain unified diff.
    pub line: usize,
    /// A git rename or copy: `old` is the source and `new` the destination,
    /// both without git's `a/`/`b/` prefix.
    pub copy: Option<CopyKind>,
    /// The mode the file gets (git's `new mode` or `new file mode`): 0o644
    /// or 0o755.
    pub new_mode: Option<u32>,
}

/// What a git section does with its source file besides patching it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyKind {
    /// `rename from`/`rename to`: the source is removed.
    Rename,
    /// `copy from`/`copy to`: the source stays.
    Copy,
}

/// One `@@ -a,b +c,d @@` hunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    /// First old line (1-based; for an empty old side, the line after which
    /// the new lines go).
    pub old_start: usize,
    /// Number of old lines.
    pub old_len: usize,
    /// First new line.
    pub new_start: usize,
    /// Number of new lines.
    pub new_len: usize,
    /// Body lines, each with its line terminator unless the patch says
    /// `\ No newline at end of file`.
    pub lines: Vec<Line>,
    /// 1-based line of the `@@` header in the patch file.
    pub line: usize,
}

/// A line of a hunk body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// ` ` unchanged context.
    Context(Vec<u8>),
    /// `-` removed.
    Remove(Vec<u8>),
    /// `+` added.
    Add(Vec<u8>),
}

/// A change [`Patch::plan`] decided on, to be carried out by the caller.
///
/// Carry out every `Delete` first, then the `Write`s and `SetMode`s in
/// order: a rename can put a file where a deleted file was a directory's
/// name (`a` to `a/b`), and a mode is set after its file is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Write `content` to `path` (relative to the patched directory).
    Write {
        /// Relative path.
        path: String,
        /// The whole new content.
        content: Vec<u8>,
        /// The file did not exist before.
        created: bool,
    },
    /// Remove the file at `path`.
    Delete {
        /// Relative path.
        path: String,
    },
    /// Set the permission bits of the file at `path` (0o644 or 0o755).
    SetMode {
        /// Relative path.
        path: String,
        /// The permission bits.
        mode: u32,
    },
}

/// The outcome of [`Patch::plan`]: what to write, and notes for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// One `Write` or `Delete` per file whose content the patch changes, in
    /// the order the patch first touches it, then one `SetMode` per file
    /// the patch gives a mode.
    pub changes: Vec<Change>,
    /// Human-readable remarks such as hunks applied at an offset.
    pub notes: Vec<String>,
}

/// Why a patch could not be parsed or applied.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PatchError {
    /// The patch text is malformed at `line` (1-based).
    Parse {
        /// Line in the patch file.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The patch contains no `---`/`+++` file section.
    Empty,
    /// No strip level in 0..=3 finds every file to patch.
    FileNotFound {
        /// The `---`/`+++` name of the first file that is missing.
        name: String,
        /// The relative paths tried, one per strip level.
        tried: Vec<String>,
    },
    /// A file name in the patch does not stay below the patched directory
    /// after stripping: absolute, a `.`, `..` or empty component, or a NUL
    /// byte.
    UnsafePath {
        /// The offending name, after stripping.
        name: String,
        /// 1-based line of the file's section in the patch.
        line: usize,
    },
    /// The patch asks for something this applier does not do: a binary
    /// change, a symlink or a submodule.
    Unsupported {
        /// 1-based line in the patch file.
        line: usize,
        /// The file the section is for, as the patch names it.
        file: String,
        /// What it asks for.
        what: String,
    },
    /// A hunk's context or removed lines do not match the file.
    HunkFailed {
        /// Relative path of the target file.
        file: String,
        /// 1-based hunk number within the file section.
        hunk: usize,
        /// The hunk's old start line.
        line: usize,
        /// Why, e.g. the first line that differs at the expected position.
        reason: String,
    },
    /// The patch creates a file that exists already.
    AlreadyExists {
        /// Relative path.
        file: String,
    },
    /// The patch deletes a file but the file has content the patch does not
    /// account for.
    DeleteNotEmpty {
        /// Relative path.
        file: String,
    },
    /// Reading a target file failed.
    Read {
        /// Relative path.
        file: String,
        /// The I/O error.
        message: String,
    },
}

impl fmt::Display for PatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Parse { line, message } => write!(f, "malformed patch at line {line}: {message}"),
            Self::Empty => write!(f, "no unified diff found (no `---`/`+++` file headers)"),
            Self::FileNotFound { name, tried } => write!(
                f,
                "cannot find file to patch `{name}` (tried {})",
                tried
                    .iter()
                    .enumerate()
                    .map(|(i, t)| format!("-p{i} `{t}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Self::UnsafePath { name, line } => write!(
                f,
                "line {line}: refusing file name `{}`: {}",
                show_name(name),
                unsafe_reason(name).unwrap_or("not a safe relative path")
            ),
            Self::Unsupported { line, file, what } => write!(
                f,
                "line {line}: `{file}`: {what} is not supported; ship the file in the \
                 port's files/ and install it from a `patch` phase instead"
            ),
            Self::HunkFailed {
                file,
                hunk,
                line,
                reason,
            } => write!(
                f,
                "{file}: hunk #{hunk} (at line {line}) does not apply: {reason}"
            ),
            Self::AlreadyExists { file } => {
                write!(
                    f,
                    "{file}: the patch creates this file but it exists already"
                )
            }
            Self::DeleteNotEmpty { file } => write!(
                f,
                "{file}: the patch deletes this file but it has other content"
            ),
            Self::Read { file, message } => write!(f, "{file}: {message}"),
        }
    }
}

impl std::error::Error for PatchError {}

fn parse_err(line: usize, message: impl Into<String>) -> PatchError {
    PatchError::Parse {
        line,
        message: message.into(),
    }
}

/// Whether `lines[i]` starts a `---`/`+++` file header.
fn is_file_header(lines: &[&[u8]], i: usize) -> bool {
    lines[i].starts_with(b"--- ") && lines.get(i + 1).is_some_and(|l| l.starts_with(b"+++ "))
}

/// Parse a unified diff.
pub fn parse(text: &[u8]) -> Result<Patch, PatchError> {
    let lines: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
    let mut files = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].starts_with(b"diff --git ") {
            let (fp, next) = parse_git_section(&lines, i)?;
            files.push(fp);
            i = next;
        } else if is_file_header(&lines, i) {
            let header = i + 1;
            let (Unified { old, new, hunks }, next) = parse_unified_section(&lines, i)?;
            files.push(FilePatch {
                old,
                new,
                hunks,
                line: header,
                copy: None,
                new_mode: None,
            });
            i = next;
        } else if let Some(what) = binary_marker(lines[i]) {
            // `diff -r` says this for a binary file it left out: applying
            // the rest would quietly miss that change.
            return Err(PatchError::Unsupported {
                line: i + 1,
                file: binary_files_name(lines[i]),
                what: what.to_owned(),
            });
        } else {
            i += 1;
        }
    }
    if files.is_empty() {
        return Err(PatchError::Empty);
    }
    Ok(Patch { files })
}

/// `Some(description)` if `line` is one of the two ways diffs show a binary
/// change.
fn binary_marker(line: &[u8]) -> Option<&'static str> {
    let line = trim_eol(line);
    if line == b"GIT binary patch" {
        Some("a binary patch (`GIT binary patch`)")
    } else if line.starts_with(b"Binary files ") && line.ends_with(b" differ") {
        Some("a binary change (`Binary files ... differ`)")
    } else {
        None
    }
}

/// The first name of a `Binary files X and Y differ` line, for a message.
fn binary_files_name(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(trim_eol(line));
    let Some(rest) = text.strip_prefix("Binary files ") else {
        return "(unknown)".to_owned();
    };
    rest.split(" and ")
        .next()
        .unwrap_or(rest)
        .trim_end_matches(" differ")
        .to_owned()
}

/// A `---`/`+++` header and its hunks.
struct Unified {
    /// The `---` name, `None` for `/dev/null`.
    old: Option<String>,
    /// The `+++` name, `None` for `/dev/null`.
    new: Option<String>,
    hunks: Vec<Hunk>,
}

/// The `---`/`+++` header at `lines[at]` and its hunks, and the index of the
/// first line after them.
fn parse_unified_section(lines: &[&[u8]], at: usize) -> Result<(Unified, usize), PatchError> {
    let header = at + 1;
    let old = parse_name(&lines[at][4..], header)?;
    let new = parse_name(&lines[at + 1][4..], header + 1)?;
    if old.is_none() && new.is_none() {
        return Err(parse_err(header, "both file names are /dev/null"));
    }
    let mut i = at + 2;
    let mut hunks = Vec::new();
    while i < lines.len() && lines[i].starts_with(b"@@ ") {
        let (hunk, next) = parse_hunk(lines, i)?;
        hunks.push(hunk);
        i = next;
    }
    if hunks.is_empty() {
        return Err(parse_err(header, "file header without any `@@` hunk"));
    }
    Ok((Unified { old, new, hunks }, i))
}

/// A git section: the `diff --git` line at `lines[at]`, its extended
/// headers and its `---`/`+++` header and hunks if it has content changes.
/// Returns the section and the index of the first line after it.
fn parse_git_section(lines: &[&[u8]], at: usize) -> Result<(FilePatch, usize), PatchError> {
    let line = at + 1;
    let raw = trim_eol(lines[at]);
    let git_names = split_git_names(&raw[b"diff --git ".len()..]);
    let shown = match &git_names {
        Some((_, b)) => b.clone(),
        None => String::from_utf8_lossy(&raw[b"diff --git ".len()..]).into_owned(),
    };
    let unsupported = |line: usize, what: String| PatchError::Unsupported {
        line,
        file: shown.clone(),
        what,
    };

    let (mut created, mut deleted) = (false, false);
    let mut new_mode = None;
    let mut from: Option<(CopyKind, String)> = None;
    let mut to: Option<(CopyKind, String)> = None;
    let mut i = at + 1;
    while let Some(&l) = lines.get(i) {
        let l = trim_eol(l);
        let n = i + 1;
        let mode = |rest: &[u8]| -> Result<u32, PatchError> {
            match git_mode(rest).map_err(|()| parse_err(n, "bad file mode"))? {
                GitMode::File(m) => Ok(m),
                GitMode::Symlink => Err(unsupported(n, "a symlink (mode 120000)".to_owned())),
                GitMode::Submodule => Err(unsupported(n, "a submodule (mode 160000)".to_owned())),
            }
        };
        let name = |rest: &[u8]| -> Result<String, PatchError> {
            let bytes = if rest.first() == Some(&b'"') {
                unquote_c(rest).ok_or_else(|| parse_err(n, "badly quoted file name"))?
            } else {
                rest.to_vec()
            };
            let name =
                String::from_utf8(bytes).map_err(|_| parse_err(n, "file name is not UTF-8"))?;
            if name.is_empty() {
                return Err(parse_err(n, "empty file name"));
            }
            Ok(name)
        };
        if let Some(rest) = l.strip_prefix(b"old mode ") {
            mode(rest)?;
        } else if let Some(rest) = l.strip_prefix(b"new mode ") {
            new_mode = Some(mode(rest)?);
        } else if let Some(rest) = l.strip_prefix(b"deleted file mode ") {
            mode(rest)?;
            deleted = true;
        } else if let Some(rest) = l.strip_prefix(b"new file mode ") {
            new_mode = Some(mode(rest)?);
            created = true;
        } else if let Some(rest) = l.strip_prefix(b"rename from ") {
            from = Some((CopyKind::Rename, name(rest)?));
        } else if let Some(rest) = l.strip_prefix(b"rename to ") {
            to = Some((CopyKind::Rename, name(rest)?));
        } else if let Some(rest) = l.strip_prefix(b"copy from ") {
            from = Some((CopyKind::Copy, name(rest)?));
        } else if let Some(rest) = l.strip_prefix(b"copy to ") {
            to = Some((CopyKind::Copy, name(rest)?));
        } else if l.starts_with(b"similarity index ")
            || l.starts_with(b"dissimilarity index ")
            || l.starts_with(b"index ")
        {
        } else if let Some(what) = binary_marker(l) {
            return Err(unsupported(n, what.to_owned()));
        } else {
            break;
        }
        i += 1;
    }

    let (mut old, mut new, hunks) = if i < lines.len() && is_file_header(lines, i) {
        let (Unified { old, new, hunks }, next) = parse_unified_section(lines, i)?;
        i = next;
        (old, new, hunks)
    } else {
        let (a, b) = git_names.clone().unzip();
        (a, b, Vec::new())
    };
    let copy = match (from, to) {
        (None, None) => None,
        (Some((kind, src)), Some((kind_to, dst))) if kind == kind_to => {
            // The rename/copy names are authoritative, as in `git apply`.
            (old, new) = (Some(src), Some(dst));
            Some(kind)
        }
        _ => {
            return Err(parse_err(
                line,
                "a rename or copy needs both its `from` and `to` lines, of the same kind",
            ));
        }
    };
    if created {
        if copy.is_some() || (old.is_some() && !hunks.is_empty()) {
            return Err(parse_err(
                line,
                "`new file mode` on a file that has an old name",
            ));
        }
        old = None;
    }
    if deleted {
        if copy.is_some() || (new.is_some() && !hunks.is_empty()) {
            return Err(parse_err(
                line,
                "`deleted file mode` on a file that has a new name",
            ));
        }
        new = None;
    }
    if created && deleted {
        return Err(parse_err(line, "a file both created and deleted"));
    }
    if old.is_none() && new.is_none() {
        return Err(parse_err(
            line,
            "cannot tell the file name from the `diff --git` line (quote names with spaces)",
        ));
    }
    if hunks.is_empty() && copy.is_none() && new_mode.is_none() && !created && !deleted {
        return Err(parse_err(
            line,
            "a `diff --git` section without any change (no hunk, rename, copy or mode)",
        ));
    }
    Ok((
        FilePatch {
            old,
            new,
            hunks,
            line,
            copy,
            new_mode,
        },
        i,
    ))
}

/// A mode in a git extended header.
enum GitMode {
    /// A regular file, as 0o644 or 0o755.
    File(u32),
    Symlink,
    Submodule,
}

/// Parse git's octal mode (`100644`). Like git, a regular file is 0o755
/// when its owner may execute it and 0o644 otherwise.
fn git_mode(raw: &[u8]) -> Result<GitMode, ()> {
    let text = std::str::from_utf8(raw.trim_ascii()).map_err(drop)?;
    let mode = u32::from_str_radix(text, 8).map_err(drop)?;
    match mode & 0o170_000 {
        0o100_000 => Ok(GitMode::File(if mode & 0o100 != 0 { 0o755 } else { 0o644 })),
        0o120_000 => Ok(GitMode::Symlink),
        0o160_000 => Ok(GitMode::Submodule),
        _ => Err(()),
    }
}

/// The two names of a `diff --git A B` line (after `diff --git `), with
/// their prefixes. Quoted names are unambiguous; for unquoted names with
/// spaces the split is the one where both sides name the same file (the
/// same after their first component, or the same with `--no-prefix`), as
/// `git apply` does. `None` when no split fits: a rename's names come from
/// its `rename from`/`rename to` lines instead.
fn split_git_names(rest: &[u8]) -> Option<(String, String)> {
    let utf8 = |b: Vec<u8>| String::from_utf8(b).ok().filter(|s| !s.is_empty());
    if rest.first() == Some(&b'"') {
        let (a, after) = unquote_prefix(rest)?;
        let after = after.strip_prefix(b" ")?;
        let b = if after.first() == Some(&b'"') {
            let (b, tail) = unquote_prefix(after)?;
            tail.is_empty().then_some(b)?
        } else {
            after.to_vec()
        };
        return Some((utf8(a)?, utf8(b)?));
    }
    if let Some(q) = rest.windows(2).position(|w| w == b" \"") {
        let (b, tail) = unquote_prefix(&rest[q + 1..])?;
        return tail
            .is_empty()
            .then(|| Some((utf8(rest[..q].to_vec())?, utf8(b)?)))?;
    }
    let text = std::str::from_utf8(rest).ok()?;
    text.match_indices(' ').find_map(|(p, _)| {
        let (a, b) = (&text[..p], &text[p + 1..]);
        let same = a == b || (strip_name(a, 1).is_some() && strip_name(a, 1) == strip_name(b, 1));
        same.then(|| (a.to_owned(), b.to_owned()))
    })
}

/// The file name of a `---`/`+++` header (after the 4-byte marker), or
/// `None` for `/dev/null`.
fn parse_name(raw: &[u8], line: usize) -> Result<Option<String>, PatchError> {
    let raw = trim_eol(raw);
    let name = if raw.first() == Some(&b'"') {
        unquote_c(raw).ok_or_else(|| parse_err(line, "badly quoted file name"))?
    } else {
        // diff -u appends "\t<timestamp>"; the name is what comes before.
        let end = raw.iter().position(|&b| b == b'\t').unwrap_or(raw.len());
        let name = &raw[..end];
        name.trim_ascii_end().to_vec()
    };
    let name = String::from_utf8(name).map_err(|_| parse_err(line, "file name is not UTF-8"))?;
    if name.is_empty() {
        return Err(parse_err(line, "empty file name"));
    }
    Ok((name != "/dev/null").then_some(name))
}

/// Git's C-style quoting: `"a\tb\303\251"`; what follows the closing quote
/// (a timestamp) is ignored.
fn unquote_c(raw: &[u8]) -> Option<Vec<u8>> {
    unquote_prefix(raw).map(|(name, _)| name)
}

/// The C-quoted string at the start of `raw` and what follows its closing
/// quote.
fn unquote_prefix(raw: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    let body = raw.strip_prefix(b"\"")?;
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    loop {
        let b = *body.get(i)?;
        if b == b'"' {
            return Some((out, &body[i + 1..]));
        }
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let e = *body.get(i + 1)?;
        i += 2;
        out.push(match e {
            b'n' => b'\n',
            b't' => b'\t',
            b'r' => b'\r',
            b'a' => 7,
            b'b' => 8,
            b'f' => 12,
            b'v' => 11,
            b'\\' => b'\\',
            b'"' => b'"',
            b'0'..=b'7' => {
                let digits = body.get(i - 1..i + 2)?;
                i += 2;
                let mut v: u32 = 0;
                for &d in digits {
                    if !(b'0'..=b'7').contains(&d) {
                        return None;
                    }
                    v = v * 8 + u32::from(d - b'0');
                }
                u8::try_from(v).ok()?
            }
            _ => return None,
        });
    }
}

fn trim_eol(l: &[u8]) -> &[u8] {
    let l = l.strip_suffix(b"\n").unwrap_or(l);
    l.strip_suffix(b"\r").unwrap_or(l)
}

/// `-a,b` / `+c,d` range; a missing length is 1.
fn parse_range(s: &str) -> Option<(usize, usize)> {
    match s.split_once(',') {
        Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
        None => Some((s.parse().ok()?, 1)),
    }
}

/// Parse the hunk starting at `lines[at]` (an `@@` line); returns the hunk and
/// the index of the first line after it.
fn parse_hunk(lines: &[&[u8]], at: usize) -> Result<(Hunk, usize), PatchError> {
    let line_no = at + 1;
    let header = std::str::from_utf8(trim_eol(lines[at]))
        .map_err(|_| parse_err(line_no, "hunk header is not UTF-8"))?;
    let bad = || parse_err(line_no, format!("bad hunk header `{header}`"));
    let mut parts = header.split(' ');
    let (Some("@@"), Some(old), Some(new), Some("@@")) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let (old_start, old_len) = old
        .strip_prefix('-')
        .and_then(parse_range)
        .ok_or_else(bad)?;
    let (new_start, new_len) = new
        .strip_prefix('+')
        .and_then(parse_range)
        .ok_or_else(bad)?;
    if (old_len > 0 && old_start == 0) || (new_len > 0 && new_start == 0) {
        return Err(bad());
    }

    let (mut old_left, mut new_left) = (old_len, new_len);
    let mut body = Vec::new();
    let mut i = at + 1;
    while old_left > 0 || new_left > 0 {
        let Some(&l) = lines.get(i) else {
            return Err(parse_err(
                i,
                format!(
                    "hunk `{header}` ends early ({old_left} old and {new_left} new lines missing)"
                ),
            ));
        };
        let (kind, rest) = match l.first() {
            Some(b' ') => (b' ', &l[1..]),
            Some(b'-') => (b'-', &l[1..]),
            Some(b'+') => (b'+', &l[1..]),
            // An empty line stands for an empty context line (some mailers
            // and editors strip the trailing space).
            Some(b'\n') | Some(b'\r') => (b' ', l),
            Some(b'\\') => {
                strip_last_newline(&mut body, i + 1)?;
                i += 1;
                continue;
            }
            _ => {
                return Err(parse_err(
                    i + 1,
                    format!(
                        "unexpected line in hunk `{header}` ({old_left} old and {new_left} new lines still expected)"
                    ),
                ));
            }
        };
        let count_err = || {
            parse_err(
                i + 1,
                format!("hunk `{header}` has more lines than its header says"),
            )
        };
        match kind {
            b' ' => {
                old_left = old_left.checked_sub(1).ok_or_else(count_err)?;
                new_left = new_left.checked_sub(1).ok_or_else(count_err)?;
                body.push(Line::Context(rest.to_vec()));
            }
            b'-' => {
                old_left = old_left.checked_sub(1).ok_or_else(count_err)?;
                body.push(Line::Remove(rest.to_vec()));
            }
            _ => {
                new_left = new_left.checked_sub(1).ok_or_else(count_err)?;
                body.push(Line::Add(rest.to_vec()));
            }
        }
        i += 1;
    }
    if lines.get(i).is_some_and(|l| l.starts_with(b"\\")) {
        strip_last_newline(&mut body, i + 1)?;
        i += 1;
    }
    Ok((
        Hunk {
            old_start,
            old_len,
            new_start,
            new_len,
            lines: body,
            line: line_no,
        },
        i,
    ))
}

/// Apply `\ No newline at end of file` to the line before it.
fn strip_last_newline(body: &mut [Line], line: usize) -> Result<(), PatchError> {
    let last = match body.last_mut() {
        Some(Line::Context(l) | Line::Remove(l) | Line::Add(l)) => l,
        None => {
            return Err(parse_err(
                line,
                "`\\ No newline` marker without a line before it",
            ));
        }
    };
    if last.ends_with(b"\n") {
        last.pop();
        if last.ends_with(b"\r") {
            last.pop();
        }
    }
    Ok(())
}

/// Remove `n` leading components from `name` like `patch -pN` (runs of `/`
/// count as one separator). `None` if the name has too few components.
pub fn strip_name(name: &str, n: usize) -> Option<&str> {
    let mut rest = name;
    for _ in 0..n {
        let i = rest.find('/')?;
        rest = rest[i..].trim_start_matches('/');
    }
    (!rest.is_empty()).then_some(rest)
}

/// Why `path` (a name after stripping) would not stay below the patched
/// directory, or `None` if it is a plain relative path. `.` is refused with
/// `..`: no tool writes it in a diff between two trees, and `a/./b` next to
/// `a/b` would be two names for one file in the plan.
fn unsafe_reason(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        Some("it is empty")
    } else if path.starts_with('/') {
        Some("it is absolute")
    } else if path.contains('\0') {
        Some("it contains a NUL byte")
    } else if path.split('/').any(|c| c == "..") {
        Some("it has a `..` component")
    } else if path.split('/').any(|c| c == ".") {
        Some("it has a `.` component")
    } else if path.split('/').any(str::is_empty) {
        Some("it has an empty component")
    } else {
        None
    }
}

/// A name for a message: control characters (a NUL, a newline) escaped,
/// the rest as it is (`char::escape_debug` would do, but its Unicode tables
/// cost every component ~2.5 KB).
fn show_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn is_safe(path: &str) -> bool {
    unsafe_reason(path).is_none()
}

/// Git's mode for a file whose permission bits are `bits`.
fn canonical_mode(bits: u32) -> u32 {
    if bits & 0o100 != 0 { 0o755 } else { 0o644 }
}

impl FilePatch {
    /// The name used to report this section: the old name unless the file is
    /// being created.
    pub fn display_name(&self) -> &str {
        self.old
            .as_deref()
            .or(self.new.as_deref())
            .unwrap_or("/dev/null")
    }

    /// `name` (this section's old or new name) at strip level `strip`. A
    /// rename's or copy's names have no `a/`/`b/` prefix, so they lose one
    /// component less, as in `git apply`.
    pub fn strip(&self, name: &str, strip: usize) -> Option<String> {
        let strip = if self.copy.is_some() {
            strip.saturating_sub(1)
        } else {
            strip
        };
        strip_name(name, strip).map(str::to_owned)
    }

    /// The names this section may patch, at strip level `strip`: the old
    /// name, then (not for a rename or copy) the new one, like `patch`.
    fn candidates(&self, strip: usize) -> Vec<String> {
        let new = if self.copy.is_some() {
            &None
        } else {
            &self.new
        };
        [&self.old, new]
            .into_iter()
            .flatten()
            .filter_map(|n| self.strip(n, strip))
            .collect()
    }

    /// The existing file this section modifies or deletes at strip level
    /// `strip`: the old name if it exists, else the new name (like `patch`).
    fn existing_target(&self, strip: usize, exists: &dyn Fn(&str) -> bool) -> Option<String> {
        self.candidates(strip)
            .into_iter()
            .find(|s| is_safe(s) && exists(s))
    }
}

/// How [`Patch::plan`] reads a file: its content, `None` if it does not
/// exist, or an error message.
pub type ReadFn<'a> = dyn FnMut(&str) -> Result<Option<Vec<u8>>, String> + 'a;

/// How [`Patch::plan`] reads the permission bits of an existing file, or an
/// error message. Asked only for the source of a git rename or copy that
/// does not give the new file a mode, so the new file keeps the source's
/// executable bit.
pub type ModeFn<'a> = dyn FnMut(&str) -> Result<u32, String> + 'a;

/// A touched file in [`Patch::plan`].
struct Entry {
    /// Current content, `None` if absent.
    content: Option<Vec<u8>>,
    /// Absent before the patch.
    was_absent: bool,
    /// Its content was written or deleted (not only read, as a copy's
    /// source or a probed name).
    changed: bool,
    /// The mode to set, if the patch decides one.
    mode: Option<u32>,
}

impl Patch {
    /// Choose the strip level like `patch`: the lowest of 0..=3 for which
    /// every file the patch modifies or deletes exists. `exists` answers for
    /// a path relative to the patched directory.
    ///
    /// A patch that only creates files has nothing to check: the level is 1
    /// when every name starts with git's `a/` or `b/`, else 0.
    pub fn choose_strip(&self, exists: &dyn Fn(&str) -> bool) -> Result<usize, PatchError> {
        let constrained: Vec<&FilePatch> = self.files.iter().filter(|f| f.old.is_some()).collect();
        if constrained.is_empty() {
            let gitlike = self.files.iter().all(|f| {
                [&f.old, &f.new]
                    .into_iter()
                    .flatten()
                    .all(|n| n.starts_with("a/") || n.starts_with("b/"))
            });
            return Ok(usize::from(gitlike));
        }
        // Per level, the sections whose file is missing.
        let missing: Vec<Vec<usize>> = (0..=MAX_STRIP)
            .map(|strip| self.missing_at(strip, exists))
            .collect();
        if let Some(strip) = missing.iter().position(Vec::is_empty) {
            return Ok(strip);
        }
        // Report the first file that is missing at every level.
        let missing = missing[0]
            .iter()
            .find(|i| missing.iter().all(|m| m.contains(i)))
            .map_or(constrained[0], |&i| &self.files[i]);
        let name = missing.display_name().to_owned();
        let tried = (0..=MAX_STRIP)
            .map(|s| missing.strip(&name, s).unwrap_or_default())
            .collect();
        Err(PatchError::FileNotFound { name, tried })
    }

    /// The indices of the sections whose file to modify, delete, rename or
    /// copy is missing at strip level `strip`. A file that an earlier
    /// section creates, renames or copies to counts as existing (git's
    /// rename followed by a change under the new name).
    fn missing_at(&self, strip: usize, exists: &dyn Fn(&str) -> bool) -> Vec<usize> {
        let mut created = std::collections::BTreeSet::new();
        let mut missing = Vec::new();
        for (i, f) in self.files.iter().enumerate() {
            if f.old.is_some()
                && f.existing_target(strip, &|s| exists(s) || created.contains(s))
                    .is_none()
            {
                missing.push(i);
            }
            if (f.old.is_none() || f.copy.is_some())
                && let Some(new) = f.new.as_deref().and_then(|n| f.strip(n, strip))
            {
                created.insert(new);
            }
        }
        missing
    }

    /// Compute the result of applying the patch at strip level `strip`.
    ///
    /// `read` returns the current content of a relative path, `None` if it
    /// does not exist; `mode_of` its permission bits (see [`ModeFn`]).
    /// Nothing is written: the caller carries out the returned [`Change`]s,
    /// so a failing hunk leaves the tree untouched.
    pub fn plan(
        &self,
        strip: usize,
        read: &mut ReadFn<'_>,
        mode_of: &mut ModeFn<'_>,
    ) -> Result<Plan, PatchError> {
        // Current state of every file read or touched, in first-touch order.
        let mut state: BTreeMap<String, Entry> = BTreeMap::new();
        let mut order: Vec<String> = Vec::new();
        let mut notes = Vec::new();

        for fp in &self.files {
            let name = fp.display_name();
            // Decide the target with the in-memory state, so a second section
            // for the same file sees the first one's result.
            let mut load = |path: &str| -> Result<Option<Vec<u8>>, PatchError> {
                if let Some(entry) = state.get(path) {
                    return Ok(entry.content.clone());
                }
                let content = read(path).map_err(|message| PatchError::Read {
                    file: path.to_owned(),
                    message,
                })?;
                state.insert(
                    path.to_owned(),
                    Entry {
                        content: content.clone(),
                        was_absent: content.is_none(),
                        changed: false,
                        mode: None,
                    },
                );
                order.push(path.to_owned());
                Ok(content)
            };
            for n in [&fp.old, &fp.new].into_iter().flatten() {
                if let Some(s) = fp.strip(n, strip)
                    && !is_safe(&s)
                {
                    return Err(PatchError::UnsafePath {
                        name: s,
                        line: fp.line,
                    });
                }
            }
            let too_short = || PatchError::FileNotFound {
                name: name.to_owned(),
                tried: vec![],
            };
            // The content the hunks apply to, and the file the result goes to.
            let (current, target) = if let Some(kind) = fp.copy {
                let (Some(src), Some(dst)) = (
                    fp.old.as_deref().and_then(|n| fp.strip(n, strip)),
                    fp.new.as_deref().and_then(|n| fp.strip(n, strip)),
                ) else {
                    return Err(too_short());
                };
                let Some(content) = load(&src)? else {
                    return Err(PatchError::FileNotFound {
                        name: name.to_owned(),
                        tried: vec![src],
                    });
                };
                if load(&dst)?.is_some() {
                    return Err(PatchError::AlreadyExists { file: dst });
                }
                let src_entry = &state[&src];
                let mode = match (fp.new_mode, src_entry.mode, src_entry.was_absent) {
                    (Some(m), _, _) | (None, Some(m), _) => Some(m),
                    (None, None, false) => {
                        Some(canonical_mode(mode_of(&src).map_err(|message| {
                            PatchError::Read {
                                file: src.clone(),
                                message,
                            }
                        })?))
                    }
                    // Created by an earlier section without a mode.
                    (None, None, true) => None,
                };
                state.get_mut(&dst).expect("destination was loaded").mode = mode;
                if kind == CopyKind::Rename {
                    let src_entry = state.get_mut(&src).expect("source was loaded");
                    src_entry.content = None;
                    src_entry.changed = true;
                    src_entry.mode = None;
                }
                (content, dst)
            } else if fp.old.is_none() {
                let Some(path) = fp.new.as_deref().and_then(|n| fp.strip(n, strip)) else {
                    return Err(too_short());
                };
                let content = load(&path)?;
                if content.as_ref().is_some_and(|c| !c.is_empty()) {
                    return Err(PatchError::AlreadyExists { file: path });
                }
                (content.unwrap_or_default(), path)
            } else {
                let candidates = fp.candidates(strip);
                let mut found = None;
                for c in &candidates {
                    if let Some(content) = load(c)? {
                        found = Some((content, c.clone()));
                        break;
                    }
                }
                found.ok_or_else(|| PatchError::FileNotFound {
                    name: name.to_owned(),
                    tried: candidates.clone(),
                })?
            };

            let (result, offsets) =
                apply_hunks(&current, &fp.hunks).map_err(|(hunk, reason)| {
                    PatchError::HunkFailed {
                        file: target.clone(),
                        hunk: hunk + 1,
                        line: fp.hunks[hunk].old_start,
                        reason,
                    }
                })?;
            for (i, off) in offsets.iter().enumerate() {
                if *off != 0 {
                    notes.push(format!(
                        "{target}: hunk #{} applied at offset {off:+} line{}",
                        i + 1,
                        if off.abs() == 1 { "" } else { "s" }
                    ));
                }
            }
            let entry = state.get_mut(&target).expect("target was loaded");
            if fp.new.is_none() {
                if !result.is_empty() {
                    return Err(PatchError::DeleteNotEmpty { file: target });
                }
                entry.content = None;
                entry.mode = None;
                entry.changed = true;
            } else {
                // A mode-only section leaves the content as it is.
                entry.changed |= !fp.hunks.is_empty() || entry.content.is_none();
                entry.content = Some(result);
                if fp.copy.is_none() && fp.new_mode.is_some() {
                    entry.mode = fp.new_mode;
                }
            }
        }

        let mut changes = Vec::new();
        let mut modes = Vec::new();
        for path in order {
            let Some(entry) = state.remove(&path) else {
                continue;
            };
            if let (Some(_), Some(mode)) = (&entry.content, entry.mode) {
                modes.push(Change::SetMode {
                    path: path.clone(),
                    mode,
                });
            }
            if !entry.changed {
                continue;
            }
            match (entry.content, entry.was_absent) {
                (Some(content), created) => changes.push(Change::Write {
                    path,
                    content,
                    created,
                }),
                (None, false) => changes.push(Change::Delete { path }),
                // Created then deleted.
                (None, true) => {}
            }
        }
        changes.extend(modes);
        Ok(Plan { changes, notes })
    }
}

/// Apply `hunks` to `content`. On success, the new content and each hunk's
/// offset in lines; on failure, the failing hunk's index and why.
pub fn apply_hunks(
    content: &[u8],
    hunks: &[Hunk],
) -> Result<(Vec<u8>, Vec<isize>), (usize, String)> {
    let lines: Vec<&[u8]> = content.split_inclusive(|&b| b == b'\n').collect();
    let mut out = Vec::with_capacity(content.len());
    let mut cursor = 0usize; // first line not yet copied to `out`
    let mut offset = 0isize; // offset found for the previous hunk
    let mut offsets = Vec::with_capacity(hunks.len());

    for (k, h) in hunks.iter().enumerate() {
        let old: Vec<&[u8]> = h
            .lines
            .iter()
            .filter_map(|l| match l {
                Line::Context(t) | Line::Remove(t) => Some(t.as_slice()),
                Line::Add(_) => None,
            })
            .collect();
        // 0-based index where the old lines start in the original file.
        let recorded = if h.old_len == 0 {
            h.old_start
        } else {
            h.old_start - 1
        };
        // Saturating: a hunk may claim any line number up to usize::MAX.
        let recorded_i = isize::try_from(recorded).unwrap_or(isize::MAX);
        let expected = recorded_i.saturating_add(offset);
        // Like GNU patch: a hunk with less leading than trailing context was
        // cut short by the start of the file, so it can only match there;
        // less trailing context means it belongs at the end of the file.
        let leading = h
            .lines
            .iter()
            .take_while(|l| matches!(l, Line::Context(_)))
            .count();
        let trailing = h
            .lines
            .iter()
            .rev()
            .take_while(|l| matches!(l, Line::Context(_)))
            .count();
        let anchor = match leading.cmp(&trailing) {
            std::cmp::Ordering::Less => Some((0, "start")),
            std::cmp::Ordering::Greater => lines.len().checked_sub(old.len()).map(|p| (p, "end")),
            std::cmp::Ordering::Equal => None,
        };
        let pos = if let Some((p, _)) = anchor {
            // `get`: a file shorter than the hunk has no such slice (found
            // by the fuzz target `patch`: this indexed past the end and
            // panicked).
            (p >= cursor && lines.get(p..p + old.len()) == Some(old.as_slice())).then_some(p)
        } else if old.is_empty() {
            // Pure insertion without context: only the exact place will do.
            let p = usize::try_from(expected).unwrap_or(0);
            (p >= cursor && p <= lines.len()).then_some(p)
        } else {
            find_nearest(&lines, &old, cursor, expected)
        };
        let Some(pos) = pos else {
            let reason = match anchor {
                Some((p, place)) => format!(
                    "context does not match at the {place} of the file, where a hunk with \
                     less {} context must sit ({})",
                    if place == "start" {
                        "leading"
                    } else {
                        "trailing"
                    },
                    mismatch_detail(&lines, &old, p as isize)
                ),
                None => format!(
                    "context not found anywhere in the file ({})",
                    mismatch_detail(&lines, &old, expected)
                ),
            };
            return Err((k, reason));
        };
        for l in &lines[cursor..pos] {
            push_line(&mut out, l);
        }
        for l in &h.lines {
            if let Line::Context(t) | Line::Add(t) = l {
                push_line(&mut out, t);
            }
        }
        cursor = pos + old.len();
        offset = (pos as isize).saturating_sub(recorded_i);
        offsets.push(offset);
    }
    for l in &lines[cursor..] {
        push_line(&mut out, l);
    }
    Ok((out, offsets))
}

/// Append `line`; a line the patch marked "no newline at end of file" that
/// ends up followed by more lines gets its newline back (as GNU patch does)
/// rather than being glued to the next line.
fn push_line(out: &mut Vec<u8>, line: &[u8]) {
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.extend_from_slice(line);
}

/// The start index nearest to `expected` (at or after `min`) where `old`
/// matches `lines` exactly; ties go to the later position, like `patch`.
fn find_nearest(lines: &[&[u8]], old: &[&[u8]], min: usize, expected: isize) -> Option<usize> {
    let last = lines.len().checked_sub(old.len())?;
    if min > last {
        return None;
    }
    let (min, last) = (min as isize, last as isize);
    // Only [min, last] can match; starting from the clamped position finds
    // the same nearest match (ties still go to the later one) and bounds
    // the search by the file's length, not by a line number the patch
    // claims (`@@ -1000000000000000000,1` made this loop for ever).
    let expected = expected.clamp(min, last);
    let matches =
        |p: isize| (min..=last).contains(&p) && lines[p as usize..p as usize + old.len()] == *old;
    let span = (expected - min).abs().max((last - expected).abs());
    (0..=span)
        .flat_map(|d| [expected + d, expected - d])
        .find(|&p| matches(p))
        .map(|p| p as usize)
}

/// Explain a failed hunk: the first line that differs at the place it was
/// expected.
fn mismatch_detail(lines: &[&[u8]], old: &[&[u8]], expected: isize) -> String {
    let Ok(start) = usize::try_from(expected) else {
        return "its place is before the start of the file".to_owned();
    };
    for (i, want) in old.iter().enumerate() {
        let at = start + i;
        match lines.get(at) {
            None => {
                return format!(
                    "the file ends at line {}, before expected line {} `{}`",
                    lines.len(),
                    at + 1,
                    show(want)
                );
            }
            Some(got) if got != want => {
                return format!(
                    "at line {}: expected `{}`, found `{}`",
                    at + 1,
                    show(want),
                    show(got)
                );
            }
            Some(_) => {}
        }
    }
    "it would overlap an earlier hunk".to_owned()
}

/// A line for an error message: without its terminator, lossily decoded,
/// shortened.
fn show(line: &[u8]) -> String {
    let s = String::from_utf8_lossy(trim_eol(line));
    let mut s: String = s.chars().take(80).collect();
    if line.len() > 80 {
        s.push('…');
    }
    if line.ends_with(b"\r\n") {
        s.push_str("\\r");
    } else if !line.ends_with(b"\n") {
        s.push_str(" (no newline at end)");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn tree(files: &[(&str, &str)]) -> HashMap<String, Vec<u8>> {
        files
            .iter()
            .map(|(p, c)| ((*p).to_owned(), c.as_bytes().to_vec()))
            .collect()
    }

    /// Parse, choose the strip level and plan against an in-memory tree
    /// whose files have mode 0o644.
    fn apply(patch: &str, files: &HashMap<String, Vec<u8>>) -> Result<(usize, Plan), PatchError> {
        apply_modes(patch, files, &[])
    }

    /// [`apply`] with the modes of some files given.
    fn apply_modes(
        patch: &str,
        files: &HashMap<String, Vec<u8>>,
        modes: &[(&str, u32)],
    ) -> Result<(usize, Plan), PatchError> {
        let p = parse(patch.as_bytes())?;
        let strip = p.choose_strip(&|path| files.contains_key(path))?;
        let plan = p.plan(
            strip,
            &mut |path| Ok(files.get(path).cloned()),
            &mut |path| {
                assert!(files.contains_key(path), "mode of missing {path}");
                Ok(modes
                    .iter()
                    .find(|(p, _)| *p == path)
                    .map_or(0o644, |(_, m)| *m))
            },
        )?;
        Ok((strip, plan))
    }

    fn written(plan: &Plan, path: &str) -> String {
        plan.changes
            .iter()
            .find_map(|c| match c {
                Change::Write {
                    path: p, content, ..
                } if p == path => Some(String::from_utf8(content.clone()).unwrap()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{path} not written: {plan:?}"))
    }

    const README: &str = "line 1\nline 2\nThsi is a typo\nline 4\nline 5\n";

    const GIT_PATCH: &str = "\
From: someone
Subject: fix typo

diff --git a/README b/README
index 1234567..89abcde 100644
--- a/README
+++ b/README
@@ -1,5 +1,5 @@
 line 1
 line 2
-Thsi is a typo
+This is a typo
 line 4
 line 5
";

    /// Found by the fuzz target `patch`: a hunk anchored at the start of
    /// the file (less leading than trailing context) with more old lines
    /// than the file has indexed past its end and panicked.
    #[test]
    fn start_anchored_hunk_longer_than_the_file_fails_cleanly() {
        let patch = "--- a/f\n+++ b/f\n@@ -1,3 +1 @@\n-x\n-y\n z\n";
        let err = apply(patch, &tree(&[("f", "x\n")])).unwrap_err();
        assert!(
            matches!(err, PatchError::HunkFailed { ref file, hunk: 1, line: 1, .. } if file == "f"),
            "{err:?}"
        );
    }

    /// A hunk claiming a line number near usize::MAX: the nearest-match
    /// search is bounded by the file, not by that number (it looped for
    /// ever), and the offset arithmetic saturates instead of overflowing.
    #[test]
    fn huge_hunk_line_numbers_fail_or_apply_without_looping() {
        let files = tree(&[("f", "a\nb\nc\n")]);
        let patch =
            "--- a/f\n+++ b/f\n@@ -1000000000000000000,2 +1000000000000000000,2 @@\n b\n-c\n+C\n";
        let (_, plan) = apply(patch, &files).unwrap();
        assert_eq!(written(&plan, "f"), "a\nb\nC\n");
        assert!(!plan.notes.is_empty(), "applied at an offset: {plan:?}");
        let patch = format!(
            "--- a/f\n+++ b/f\n@@ -1,1 +1,1 @@\n-a\n+A\n@@ -{m},1 +{m},1 @@\n-c\n+C\n",
            m = usize::MAX
        );
        let (_, plan) = apply(&patch, &files).unwrap();
        assert_eq!(written(&plan, "f"), "A\nb\nC\n");
        let patch = "--- a/f\n+++ b/f\n@@ -1000000000000000000,1 +1,1 @@\n-zzz\n+y\n";
        assert!(matches!(
            apply(patch, &files),
            Err(PatchError::HunkFailed { hunk: 1, .. })
        ));
    }

    #[test]
    fn git_style_patch_strips_one() {
        let files = tree(&[("README", README)]);
        let (strip, plan) = apply(GIT_PATCH, &files).unwrap();
        assert_eq!(strip, 1);
        assert_eq!(
            written(&plan, "README"),
            "line 1\nline 2\nThis is a typo\nline 4\nline 5\n"
        );
        assert!(plan.notes.is_empty());
    }

    #[test]
    fn plain_names_strip_zero() {
        let patch = GIT_PATCH
            .replace("a/README", "README")
            .replace("b/README", "README");
        let (strip, _) = apply(&patch, &tree(&[("README", README)])).unwrap();
        assert_eq!(strip, 0);
    }

    #[test]
    fn deeper_prefix_strips_more() {
        let patch = GIT_PATCH
            .replace("a/README", "orig/pkg-1.0/src/README")
            .replace("b/README", "new/pkg-1.0/src/README");
        let (strip, plan) = apply(&patch, &tree(&[("src/README", README)])).unwrap();
        assert_eq!(strip, 2);
        assert!(written(&plan, "src/README").contains("This is"));
    }

    #[test]
    fn missing_file_names_every_level_tried() {
        let err = apply(GIT_PATCH, &tree(&[("OTHER", README)])).unwrap_err();
        assert_eq!(
            err,
            PatchError::FileNotFound {
                name: "a/README".into(),
                tried: vec!["a/README".into(), "README".into(), "".into(), "".into()],
            }
        );
        assert!(err.to_string().contains("-p1 `README`"));
    }

    #[test]
    fn hunk_at_an_offset_is_found() {
        let shifted = format!("new a\nnew b\nnew c\n{README}");
        let (_, plan) = apply(GIT_PATCH, &tree(&[("README", &shifted)])).unwrap();
        assert!(written(&plan, "README").starts_with("new a\nnew b\nnew c\nline 1"));
        assert!(written(&plan, "README").contains("This is"));
        assert_eq!(
            plan.notes,
            vec!["README: hunk #1 applied at offset +3 lines"]
        );
    }

    #[test]
    fn context_mismatch_names_file_hunk_and_line() {
        let changed = README.replace("line 4", "line four");
        let err = apply(GIT_PATCH, &tree(&[("README", &changed)])).unwrap_err();
        assert_eq!(
            err,
            PatchError::HunkFailed {
                file: "README".into(),
                hunk: 1,
                line: 1,
                reason: "context not found anywhere in the file (at line 4: expected `line 4`, found `line four`)".into(),
            }
        );
    }

    #[test]
    fn second_hunk_failure_leaves_nothing_written() {
        let patch = "\
--- a/f
+++ b/f
@@ -1,2 +1,2 @@
-one
+ONE
 two
@@ -9,2 +9,2 @@
 nine
-ten
+TEN
";
        let content = "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nzehn\n";
        let err = apply(patch, &tree(&[("f", content)])).unwrap_err();
        assert!(
            matches!(
                err,
                PatchError::HunkFailed {
                    hunk: 2,
                    line: 9,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn several_files_new_and_deleted() {
        let patch = "\
--- a/src/main.c
+++ b/src/main.c
@@ -1,3 +1,3 @@
 #include <stdio.h>
-int main() { puts(\"helo\"); }
+int main() { puts(\"hello\"); }
 /* end */
--- /dev/null
+++ b/NEWS
@@ -0,0 +1,2 @@
+1.0.1
+- fixed greeting
--- a/obsolete.txt
+++ /dev/null
@@ -1,2 +0,0 @@
-old
-stuff
";
        let files = tree(&[
            (
                "src/main.c",
                "#include <stdio.h>\nint main() { puts(\"helo\"); }\n/* end */\n",
            ),
            ("obsolete.txt", "old\nstuff\n"),
        ]);
        let (strip, plan) = apply(patch, &files).unwrap();
        assert_eq!(strip, 1);
        assert_eq!(
            plan.changes,
            vec![
                Change::Write {
                    path: "src/main.c".into(),
                    content: b"#include <stdio.h>\nint main() { puts(\"hello\"); }\n/* end */\n"
                        .to_vec(),
                    created: false,
                },
                Change::Write {
                    path: "NEWS".into(),
                    content: b"1.0.1\n- fixed greeting\n".to_vec(),
                    created: true,
                },
                Change::Delete {
                    path: "obsolete.txt".into()
                },
            ]
        );
    }

    #[test]
    fn creating_an_existing_file_fails() {
        let patch = "--- /dev/null\n+++ b/NEWS\n@@ -0,0 +1 @@\n+x\n";
        let err = apply(patch, &tree(&[("NEWS", "already\n")])).unwrap_err();
        assert_eq!(
            err,
            PatchError::AlreadyExists {
                file: "NEWS".into()
            }
        );
    }

    #[test]
    fn deleting_a_changed_file_fails() {
        let patch = "--- a/old\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n";
        let err = apply(patch, &tree(&[("old", "x\ny\n")])).unwrap_err();
        assert_eq!(err, PatchError::DeleteNotEmpty { file: "old".into() });
    }

    #[test]
    fn no_newline_at_end_of_file() {
        let patch = "\
--- a/f
+++ b/f
@@ -1,2 +1,2 @@
 a
-b
\\ No newline at end of file
+c
\\ No newline at end of file
";
        let (_, plan) = apply(patch, &tree(&[("f", "a\nb")])).unwrap();
        assert_eq!(written(&plan, "f"), "a\nc");
        // The marker matters: a file that does end in a newline does not match.
        let err = apply(patch, &tree(&[("f", "a\nb\n")])).unwrap_err();
        assert!(matches!(err, PatchError::HunkFailed { .. }), "{err}");
    }

    #[test]
    fn adding_a_final_newline() {
        let patch = "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-b\n\\ No newline at end of file\n+b\n";
        let (_, plan) = apply(patch, &tree(&[("f", "b")])).unwrap();
        assert_eq!(written(&plan, "f"), "b\n");
    }

    #[test]
    fn crlf_lines_are_compared_exactly() {
        let patch = "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n x\r\n-y\r\n+z\r\n";
        let (_, plan) = apply(patch, &tree(&[("f", "x\r\ny\r\n")])).unwrap();
        assert_eq!(written(&plan, "f"), "x\r\nz\r\n");
        let err = apply(patch, &tree(&[("f", "x\ny\n")])).unwrap_err();
        assert!(
            err.to_string().contains("expected `x\\r`, found `x`"),
            "{err}"
        );
    }

    #[test]
    fn timestamps_and_tabs_in_names() {
        let patch = "\
--- hello-1.0/src/a.c\t2024-01-01 00:00:00.000000000 +0000
+++ hello-1.0.new/src/a.c\t2024-01-02 00:00:00.000000000 +0000
@@ -1 +1 @@
-x
+y
";
        let (strip, plan) = apply(patch, &tree(&[("src/a.c", "x\n")])).unwrap();
        assert_eq!(strip, 1);
        assert_eq!(written(&plan, "src/a.c"), "y\n");
    }

    #[test]
    fn git_quoted_names() {
        let patch = "--- \"a/docs/release notes/caf\\303\\251.txt\"\n+++ \"b/docs/release notes/caf\\303\\251.txt\"\n@@ -1 +1 @@\n-x\n+y\n";
        let (_, plan) = apply(patch, &tree(&[("docs/release notes/café.txt", "x\n")])).unwrap();
        assert_eq!(written(&plan, "docs/release notes/café.txt"), "y\n");
    }

    #[test]
    fn unquoted_names_with_spaces() {
        let patch = "--- a/release notes/x.txt\n+++ b/release notes/x.txt\n@@ -1 +1 @@\n-x\n+y\n";
        let (_, plan) = apply(patch, &tree(&[("release notes/x.txt", "x\n")])).unwrap();
        assert_eq!(written(&plan, "release notes/x.txt"), "y\n");
    }

    #[test]
    fn dotdot_names_are_refused() {
        let patch = "--- /dev/null\n+++ ../../etc/evil\n@@ -0,0 +1 @@\n+x\n";
        let err = apply(patch, &tree(&[])).unwrap_err();
        assert_eq!(
            err,
            PatchError::UnsafePath {
                name: "../../etc/evil".into(),
                line: 1,
            }
        );
        let patch = "--- /dev/null\n+++ /etc/evil\n@@ -0,0 +1 @@\n+x\n";
        let err = apply(patch, &tree(&[])).unwrap_err();
        assert_eq!(
            err,
            PatchError::UnsafePath {
                name: "/etc/evil".into(),
                line: 1,
            }
        );
    }

    #[test]
    fn lines_that_look_like_headers_inside_hunks() {
        // A removed line "-- x" shows as "--- x"; the hunk's counts decide.
        let patch = "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n--- x\n++++ y\n a\n";
        let (_, plan) = apply(patch, &tree(&[("f", "-- x\na\n")])).unwrap();
        assert_eq!(written(&plan, "f"), "+++ y\na\n");
    }

    #[test]
    fn two_sections_for_one_file_apply_in_turn() {
        let patch = "\
--- a/f
+++ b/f
@@ -1 +1 @@
-one
+two
--- a/f
+++ b/f
@@ -1 +1 @@
-two
+three
";
        let (_, plan) = apply(patch, &tree(&[("f", "one\n")])).unwrap();
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(written(&plan, "f"), "three\n");
    }

    #[test]
    fn truncated_hunk_is_a_parse_error() {
        let err = parse(b"--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-b\n").unwrap_err();
        assert!(matches!(err, PatchError::Parse { .. }), "{err}");
        assert!(err.to_string().contains("ends early"), "{err}");
        assert_eq!(parse(b"just text\n").unwrap_err(), PatchError::Empty);
        let err = parse(b"--- a/f\n+++ b/f\n@@ -1,x +1 @@\n").unwrap_err();
        assert!(err.to_string().contains("bad hunk header"), "{err}");
    }

    #[test]
    fn zero_context_insertion() {
        let patch = "--- a/f\n+++ b/f\n@@ -2,0 +3 @@\n+inserted\n";
        let (_, plan) = apply(patch, &tree(&[("f", "1\n2\n3\n")])).unwrap();
        assert_eq!(written(&plan, "f"), "1\n2\ninserted\n3\n");
        let patch = "--- a/f\n+++ b/f\n@@ -0,0 +1 @@\n+top\n";
        let (_, plan) = apply(patch, &tree(&[("f", "1\n")])).unwrap();
        assert_eq!(written(&plan, "f"), "top\n1\n");
    }

    #[test]
    fn offset_search_prefers_nearest_match() {
        // The context appears twice; the copy nearer the recorded line wins.
        let content = "x\nctx\nold\nend\nx\nx\nx\nctx\nold\nend\nx\n";
        let patch = "--- a/f\n+++ b/f\n@@ -7,3 +7,3 @@\n ctx\n-old\n+new\n end\n";
        let (_, plan) = apply(patch, &tree(&[("f", content)])).unwrap();
        assert_eq!(
            written(&plan, "f"),
            "x\nctx\nold\nend\nx\nx\nx\nctx\nnew\nend\nx\n"
        );
    }

    #[test]
    fn short_leading_context_anchors_at_start() {
        // One leading, two trailing context lines: diff cut the hunk at the
        // start of the file, so it cannot apply further down.
        let patch = "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n-a\n+A\n b\n c\n";
        let (_, plan) = apply(patch, &tree(&[("f", "a\nb\nc\nd\n")])).unwrap();
        assert_eq!(written(&plan, "f"), "A\nb\nc\nd\n");
        let err = apply(patch, &tree(&[("f", "new\na\nb\nc\n")])).unwrap_err();
        let PatchError::HunkFailed { reason, .. } = err else {
            panic!("{err}")
        };
        assert!(
            reason.starts_with("context does not match at the start of the file"),
            "{reason}"
        );
    }

    #[test]
    fn short_trailing_context_anchors_at_end() {
        let patch = "--- a/f\n+++ b/f\n@@ -2,2 +2,3 @@\n b\n b\n+tail\n";
        let (_, plan) = apply(patch, &tree(&[("f", "x\ny\nb\nb\n")])).unwrap();
        assert_eq!(written(&plan, "f"), "x\ny\nb\nb\ntail\n");
        let err = apply(patch, &tree(&[("f", "b\nb\nmore\n")])).unwrap_err();
        let PatchError::HunkFailed { reason, .. } = err else {
            panic!("{err}")
        };
        assert!(
            reason.starts_with("context does not match at the end of the file"),
            "{reason}"
        );
    }

    #[test]
    fn strip_name_like_patch() {
        assert_eq!(strip_name("a/b/c", 0), Some("a/b/c"));
        assert_eq!(strip_name("a/b/c", 1), Some("b/c"));
        assert_eq!(strip_name("a//b/c", 1), Some("b/c"));
        assert_eq!(strip_name("a/b/c", 2), Some("c"));
        assert_eq!(strip_name("a/b/c", 3), None);
        assert_eq!(strip_name("/abs/x", 1), Some("abs/x"));
    }

    /// Differential check against real `diff -u` and GNU `patch -F0`:
    /// random files and edits, applied to the old file and to altered
    /// copies. Needs diff(1) and patch(1) on the host (`scripts/test`
    /// installs them when missing; this test fails, never skips, without
    /// them). `WPORT_PATCH_CASES=5000` for a longer run; 5000 passed.
    #[test]
    #[allow(
        clippy::disallowed_methods,
        reason = "the test compares the applier with diff(1) and patch(1)"
    )]
    fn differential_against_diff_u() {
        let dir = std::env::temp_dir().join(format!("wport-patch-diff-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut rnd = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let cases: usize = std::env::var("WPORT_PATCH_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(500);
        for case in 0..cases {
            let words = ["a", "b", "c", "{", "}", "", "x = 1;", "return;"];
            let len = rnd(40) as usize;
            let old: Vec<String> = (0..len)
                .map(|_| words[rnd(8) as usize].to_owned())
                .collect();
            let mut new = old.clone();
            for _ in 0..=rnd(8) {
                let at = rnd(new.len() as u64 + 1) as usize;
                match rnd(3) {
                    0 if at < new.len() => {
                        new.remove(at);
                    }
                    1 if at < new.len() => new[at] = format!("changed {case}"),
                    _ => new.insert(at, format!("added {case}")),
                }
            }
            let join = |v: &[String], final_nl: bool| {
                let mut s = v.join("\n");
                if final_nl && !v.is_empty() {
                    s.push('\n');
                }
                s
            };
            let (old_nl, new_nl) = (rnd(4) != 0, rnd(4) != 0);
            let (old_text, new_text) = (join(&old, old_nl), join(&new, new_nl));
            std::fs::write(dir.join("old"), &old_text).unwrap();
            std::fs::write(dir.join("new"), &new_text).unwrap();
            let ctx = format!("-U{}", rnd(4));
            let out = std::process::Command::new("diff")
                .arg(&ctx)
                .arg("old")
                .arg("new")
                .current_dir(&dir)
                .output()
                .expect("diff(1) runs");
            if out.status.code() == Some(0) {
                continue;
            }
            let patch = parse(&out.stdout).unwrap_or_else(|e| panic!("case {case}: {e}"));
            let hunks = &patch.files[0].hunks;
            let (got, _) = apply_hunks(old_text.as_bytes(), hunks)
                .unwrap_or_else(|e| panic!("case {case} {ctx}: {e:?}"));
            assert_eq!(
                String::from_utf8(got).unwrap(),
                new_text,
                "case {case} {ctx}"
            );
            // On a target that differs from the diff's old file (lines added at
            // the top or bottom, or one line changed), the result must be
            // GNU patch's (no fuzz): same offsets, same refusals.
            let shifted = match rnd(3) {
                0 => format!("zzz 1\nzzz 2\n{old_text}"),
                1 => format!("{old_text}{}zzz 1\n", if old_nl { "" } else { "\n" }),
                _ => old_text.replacen('a', "q", 1),
            };
            std::fs::write(dir.join("target"), &shifted).unwrap();
            std::fs::write(dir.join("p.diff"), &out.stdout).unwrap();
            let gnu = std::process::Command::new("patch")
                .args([
                    "-s",
                    "-F0",
                    "--no-backup-if-mismatch",
                    "-r",
                    "-",
                    "target",
                    "p.diff",
                ])
                .current_dir(&dir)
                .output()
                .expect("patch(1) runs");
            let ours = apply_hunks(shifted.as_bytes(), hunks);
            if gnu.status.success() {
                let want = std::fs::read_to_string(dir.join("target")).unwrap();
                let (got, _) = ours.unwrap_or_else(|e| panic!("shifted case {case} {ctx}: {e:?}"));
                assert_eq!(
                    String::from_utf8(got).unwrap(),
                    want,
                    "shifted case {case} {ctx}:\n{}",
                    String::from_utf8_lossy(&out.stdout)
                );
            } else {
                assert!(
                    ours.is_err(),
                    "case {case} {ctx}: GNU patch fails, we apply"
                );
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn empty_context_line_without_space() {
        let patch = "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n\n-b\n+c\n";
        let (_, plan) = apply(patch, &tree(&[("f", "a\n\nb\n")])).unwrap();
        assert_eq!(written(&plan, "f"), "a\n\nc\n");
    }

    /// `git format-patch -M -C --find-copies-harder` of a commit that copies
    /// and edits `src.c`, deletes `gone.txt`, renames `keep.txt` and
    /// `run.sh` (into a new directory), copies the empty `empty` and makes
    /// `src.c` executable. The code before git's extended headers were read
    /// skipped every section without hunks and copied nothing.
    const GIT_RENAMES: &str = "\
From 60d8946628450049915779d850967c5be93c0c53 Mon Sep 17 00:00:00 2001
From: t <t@t>
Subject: [PATCH] change

---
 src.c => copy.c        | 2 +-
 6 files changed, 1 insertion(+), 3 deletions(-)

diff --git a/src.c b/copy.c
similarity index 85%
copy from src.c
copy to copy.c
index f9d9a01..51e7af4 100644
--- a/src.c
+++ b/copy.c
@@ -1,7 +1,7 @@
 a
 b
 c
-d
+D
 e
 f
 g
diff --git a/gone.txt b/gone.txt
deleted file mode 100644
index b77b4eb..0000000
--- a/gone.txt
+++ /dev/null
@@ -1,2 +0,0 @@
-x
-y
diff --git a/keep.txt b/kept.txt
similarity index 100%
rename from keep.txt
rename to kept.txt
diff --git a/empty b/newempty
similarity index 100%
copy from empty
copy to newempty
diff --git a/src.c b/src.c
old mode 100644
new mode 100755
diff --git a/run.sh b/tools/run.sh
similarity index 100%
rename from run.sh
rename to tools/run.sh
-- 
2.47.3
";

    fn renames_tree() -> HashMap<String, Vec<u8>> {
        tree(&[
            ("src.c", "a\nb\nc\nd\ne\nf\ng\n"),
            ("gone.txt", "x\ny\n"),
            ("keep.txt", "one\ntwo\n"),
            ("empty", ""),
            ("run.sh", "#!/bin/sh\necho hi\n"),
        ])
    }

    #[test]
    fn git_renames_copies_and_modes_apply() {
        let files = renames_tree();
        let (strip, plan) = apply_modes(GIT_RENAMES, &files, &[("run.sh", 0o775)]).unwrap();
        assert_eq!(strip, 1);
        let write = |path: &str, content: &str| Change::Write {
            path: path.into(),
            content: content.as_bytes().to_vec(),
            created: true,
        };
        let delete = |path: &str| Change::Delete { path: path.into() };
        let mode = |path: &str, mode| Change::SetMode {
            path: path.into(),
            mode,
        };
        assert_eq!(
            plan.changes,
            vec![
                write("copy.c", "a\nb\nc\nD\ne\nf\ng\n"),
                delete("gone.txt"),
                delete("keep.txt"),
                write("kept.txt", "one\ntwo\n"),
                write("newempty", ""),
                delete("run.sh"),
                write("tools/run.sh", "#!/bin/sh\necho hi\n"),
                mode("src.c", 0o755),
                // A copy or rename keeps its source's mode, as git's two.
                mode("copy.c", 0o644),
                mode("kept.txt", 0o644),
                mode("newempty", 0o644),
                mode("tools/run.sh", 0o755),
            ]
        );
        assert!(plan.notes.is_empty(), "{:?}", plan.notes);
    }

    #[test]
    fn git_rename_with_hunks_and_a_new_mode() {
        let patch = "\
diff --git a/bin/tool b/libexec/tool
old mode 100644
new mode 100755
similarity index 80%
rename from bin/tool
rename to libexec/tool
index 1234567..89abcde
--- a/bin/tool
+++ b/libexec/tool
@@ -1,2 +1,2 @@
 #!/bin/sh
-echo old
+echo new
";
        // Only rename names, which are the same at -p0 and -p1.
        let (_, plan) = apply(patch, &tree(&[("bin/tool", "#!/bin/sh\necho old\n")])).unwrap();
        assert_eq!(
            plan.changes,
            vec![
                Change::Delete {
                    path: "bin/tool".into()
                },
                Change::Write {
                    path: "libexec/tool".into(),
                    content: b"#!/bin/sh\necho new\n".to_vec(),
                    created: true,
                },
                Change::SetMode {
                    path: "libexec/tool".into(),
                    mode: 0o755
                },
            ]
        );
    }

    /// `git diff --no-prefix` names have no `a/`/`b/`: strip level 0, and a
    /// rename's names are taken as they are.
    #[test]
    fn git_rename_without_prefixes() {
        let patch = "\
diff --git docs/old.txt docs/new.txt
similarity index 100%
rename from docs/old.txt
rename to docs/new.txt
";
        let (strip, plan) = apply(patch, &tree(&[("docs/old.txt", "x\n")])).unwrap();
        assert_eq!(strip, 0);
        assert_eq!(written(&plan, "docs/new.txt"), "x\n");
        assert!(plan.changes.contains(&Change::Delete {
            path: "docs/old.txt".into()
        }));
    }

    /// A patch made one directory up (`a/pkg-1.0/...`) is applied at -p2;
    /// the rename's names lose one component.
    #[test]
    fn git_rename_at_a_deeper_strip_level() {
        let patch = "\
diff --git a/pkg-1.0/old.c b/pkg-1.0/new.c
similarity index 100%
rename from pkg-1.0/old.c
rename to pkg-1.0/new.c
";
        let (strip, plan) = apply(patch, &tree(&[("old.c", "x\n")])).unwrap();
        assert_eq!(strip, 2);
        assert_eq!(written(&plan, "new.c"), "x\n");
    }

    #[test]
    fn git_new_executable_and_empty_files_and_deleted_empty_file() {
        let patch = "\
diff --git a/configure b/configure
new file mode 100755
index 0000000..1111111
--- /dev/null
+++ b/configure
@@ -0,0 +1 @@
+#!/bin/sh
diff --git a/NEWS b/NEWS
new file mode 100644
index 0000000..e69de29
diff --git a/stamp b/stamp
deleted file mode 100644
index e69de29..0000000
";
        let (strip, plan) = apply(patch, &tree(&[("stamp", "")])).unwrap();
        assert_eq!(strip, 1);
        assert_eq!(
            plan.changes,
            vec![
                Change::Write {
                    path: "configure".into(),
                    content: b"#!/bin/sh\n".to_vec(),
                    created: true,
                },
                Change::Write {
                    path: "NEWS".into(),
                    content: vec![],
                    created: true,
                },
                Change::Delete {
                    path: "stamp".into()
                },
                Change::SetMode {
                    path: "configure".into(),
                    mode: 0o755
                },
                Change::SetMode {
                    path: "NEWS".into(),
                    mode: 0o644
                },
            ]
        );
        // A deleted file must be empty, as with hunks.
        let err = apply(patch, &tree(&[("stamp", "data\n")])).unwrap_err();
        assert_eq!(
            err,
            PatchError::DeleteNotEmpty {
                file: "stamp".into()
            }
        );
    }

    #[test]
    fn git_mode_change_alone_does_not_rewrite_the_file() {
        let patch = "diff --git a/build.sh b/build.sh\nold mode 100644\nnew mode 100755\n";
        let (_, plan) = apply(patch, &tree(&[("build.sh", "make\n")])).unwrap();
        assert_eq!(
            plan.changes,
            vec![Change::SetMode {
                path: "build.sh".into(),
                mode: 0o755
            }]
        );
        // Old git wrote group-writable modes; git reads them as its two.
        let patch = "diff --git a/f b/f\nold mode 100755\nnew mode 100664\n";
        let (_, plan) = apply(patch, &tree(&[("f", "")])).unwrap();
        assert_eq!(
            plan.changes,
            vec![Change::SetMode {
                path: "f".into(),
                mode: 0o644
            }]
        );
    }

    #[test]
    fn git_names_with_spaces_and_quotes() {
        // Unquoted names with spaces: the split where both sides agree.
        let patch =
            "diff --git a/my dir/a b.txt b/my dir/a b.txt\nold mode 100644\nnew mode 100755\n";
        let (_, plan) = apply(patch, &tree(&[("my dir/a b.txt", "")])).unwrap();
        assert_eq!(
            plan.changes,
            vec![Change::SetMode {
                path: "my dir/a b.txt".into(),
                mode: 0o755
            }]
        );
        let patch = "\
diff --git \"a/caf\\303\\251 1\" \"b/caf\\303\\251 2\"
similarity index 100%
rename from \"caf\\303\\251 1\"
rename to \"caf\\303\\251 2\"
";
        let (_, plan) = apply(patch, &tree(&[("café 1", "x\n")])).unwrap();
        assert_eq!(written(&plan, "café 2"), "x\n");
        assert_eq!(
            split_git_names(b"a/x \"b/y\\tz\""),
            Some(("a/x".into(), "b/y\tz".into()))
        );
        assert_eq!(
            split_git_names(b"a/x b/y"),
            None,
            "a rename needs its lines"
        );
    }

    #[test]
    fn git_rename_target_that_exists_or_source_that_does_not() {
        let patch = "diff --git a/x b/y\nsimilarity index 100%\nrename from x\nrename to y\n";
        let err = apply(patch, &tree(&[("x", "1\n"), ("y", "2\n")])).unwrap_err();
        assert_eq!(err, PatchError::AlreadyExists { file: "y".into() });
        let err = apply(patch, &tree(&[("z", "1\n")])).unwrap_err();
        assert!(
            matches!(err, PatchError::FileNotFound { ref name, .. } if name == "x"),
            "{err:?}"
        );
        // A rename whose hunk fails plans nothing at all.
        let patch = "\
diff --git a/x b/y
similarity index 50%
rename from x
rename to y
--- a/x
+++ b/y
@@ -1 +1 @@
-other
+new
";
        let err = apply(patch, &tree(&[("x", "1\n")])).unwrap_err();
        assert!(
            matches!(err, PatchError::HunkFailed { ref file, hunk: 1, .. } if file == "y"),
            "{err:?}"
        );
    }

    /// The rename's destination sees the renamed file's content when a
    /// later section patches it under its new name; the old name is gone.
    #[test]
    fn git_rename_then_patch_under_the_new_name() {
        let patch = "\
diff --git a/x b/y
similarity index 100%
rename from x
rename to y
diff --git a/y b/y
--- a/y
+++ b/y
@@ -1 +1 @@
-1
+2
";
        let (_, plan) = apply(patch, &tree(&[("x", "1\n")])).unwrap();
        assert_eq!(written(&plan, "y"), "2\n");
        assert!(plan.changes.contains(&Change::Delete { path: "x".into() }));
    }

    #[test]
    fn binary_changes_are_refused_with_line_and_file() {
        let patch = "\
diff --git a/README b/README
--- a/README
+++ b/README
@@ -1 +1 @@
-a
+b
diff --git a/logo.png b/logo.png
index 1111111..2222222 100644
GIT binary patch
literal 5
McmZ?wbYx&;00R>M00000

literal 0
HcmV?d00001

";
        let err = apply(patch, &tree(&[("README", "a\n"), ("logo.png", "")])).unwrap_err();
        assert_eq!(
            err,
            PatchError::Unsupported {
                line: 9,
                file: "b/logo.png".into(),
                what: "a binary patch (`GIT binary patch`)".into(),
            }
        );
        assert_eq!(
            err.to_string(),
            "line 9: `b/logo.png`: a binary patch (`GIT binary patch`) is not supported; \
             ship the file in the port's files/ and install it from a `patch` phase instead"
        );
        let patch = "\
diff --git a/logo.png b/logo.png
index 1111111..2222222 100644
Binary files a/logo.png and b/logo.png differ
";
        assert_eq!(
            parse(patch.as_bytes()).unwrap_err(),
            PatchError::Unsupported {
                line: 3,
                file: "b/logo.png".into(),
                what: "a binary change (`Binary files ... differ`)".into(),
            }
        );
        // `diff -ru` says the same for a binary file it left out.
        let patch = "\
diff -ru a/x.c b/x.c
--- a/x.c
+++ b/x.c
@@ -1 +1 @@
-a
+b
Binary files a/x.o and b/x.o differ
";
        assert_eq!(
            parse(patch.as_bytes()).unwrap_err(),
            PatchError::Unsupported {
                line: 7,
                file: "a/x.o".into(),
                what: "a binary change (`Binary files ... differ`)".into(),
            }
        );
    }

    #[test]
    fn symlinks_and_submodules_are_refused() {
        let patch = "\
diff --git a/link b/link
new file mode 120000
index 0000000..1111111
--- /dev/null
+++ b/link
@@ -0,0 +1 @@
+target
\\ No newline at end of file
";
        let err = parse(patch.as_bytes()).unwrap_err();
        assert_eq!(
            err,
            PatchError::Unsupported {
                line: 2,
                file: "b/link".into(),
                what: "a symlink (mode 120000)".into(),
            }
        );
        let patch = "\
diff --git a/vendor/lib b/vendor/lib
new file mode 160000
index 0000000..1111111
--- /dev/null
+++ b/vendor/lib
@@ -0,0 +1 @@
+Subproject commit 1111111111111111111111111111111111111111
";
        assert!(matches!(
            parse(patch.as_bytes()).unwrap_err(),
            PatchError::Unsupported { line: 2, ref what, .. } if what == "a submodule (mode 160000)"
        ));
    }

    #[test]
    fn malformed_git_sections_are_parse_errors() {
        let cases: &[(&str, usize, &str)] = &[
            (
                "diff --git a/x b/y\nrename from x\n",
                1,
                "needs both its `from` and `to` lines",
            ),
            (
                "diff --git a/x b/y\ncopy from x\nrename to y\n",
                1,
                "needs both its `from` and `to` lines",
            ),
            ("diff --git a/x b/x\nold mode 10064x\n", 2, "bad file mode"),
            (
                "diff --git a/x b/x\nindex 1111111..2222222 100644\n",
                1,
                "without any change",
            ),
        ];
        for (patch, line, message) in cases {
            let err = parse(patch.as_bytes()).unwrap_err();
            let PatchError::Parse {
                line: l,
                message: m,
            } = &err
            else {
                panic!("{patch:?}: {err:?}")
            };
            assert_eq!((l, m.contains(message)), (line, true), "{patch:?}: {err}");
        }
    }

    /// Names that would leave the patched directory, or name it twice, are
    /// refused after stripping, with the line of their section.
    #[test]
    fn unsafe_names_are_refused() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "--- /dev/null\n+++ b/src/./x.c\n@@ -0,0 +1 @@\n+x\n",
                "src/./x.c",
                "it has a `.` component",
            ),
            (
                "--- /dev/null\n+++ \"b/x\\000y\"\n@@ -0,0 +1 @@\n+x\n",
                "x\0y",
                "it contains a NUL byte",
            ),
            (
                "--- /dev/null\n+++ b/dir//x\n@@ -0,0 +1 @@\n+x\n",
                "dir//x",
                "it has an empty component",
            ),
            (
                "--- /dev/null\n+++ b/x/\n@@ -0,0 +1 @@\n+x\n",
                "x/",
                "it has an empty component",
            ),
        ];
        for (patch, name, reason) in cases {
            let err = apply(patch, &tree(&[])).unwrap_err();
            assert_eq!(
                err,
                PatchError::UnsafePath {
                    name: (*name).into(),
                    line: 1
                },
                "{patch:?}"
            );
            assert!(err.to_string().ends_with(reason), "{err}");
        }
        // A rename's names are checked as well: here the second section's.
        let patch = "\
--- a/x
+++ b/x
@@ -1 +1 @@
-1
+2
diff --git a/x b/../x
similarity index 100%
rename from x
rename to ../x
";
        let err = apply(patch, &tree(&[("x", "1\n")])).unwrap_err();
        assert_eq!(
            err,
            PatchError::UnsafePath {
                name: "../x".into(),
                line: 6
            }
        );
        assert_eq!(
            err.to_string(),
            "line 6: refusing file name `../x`: it has a `..` component"
        );
    }

    /// `./name` at -p0 is refused, so the strip level moves on to -p1,
    /// where the name is plain (diffs made with `diff -u ./a.orig ./a`).
    #[test]
    fn dot_slash_names_strip_one() {
        let patch = "--- ./src/a.c.orig\n+++ ./src/a.c\n@@ -1 +1 @@\n-x\n+y\n";
        let (strip, plan) = apply(patch, &tree(&[("src/a.c", "x\n")])).unwrap();
        assert_eq!(strip, 1);
        assert_eq!(written(&plan, "src/a.c"), "y\n");
    }
}
