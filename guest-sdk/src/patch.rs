//! Unified diffs: parsing and applying in memory (pure logic, no WIT, no I/O).
//!
//! A port's patchfiles are applied inside the sandbox, in WASM, so no native
//! `patch` binary (and no capability to run one) is needed. This module
//! owns the format; [`crate::fs::apply_patch`] does the file I/O around it.
//!
//! What is supported, following GNU `patch` where it matters:
//! - `diff -u` and `git diff` output, several files per patch, text before,
//!   between and after file sections (commit messages, `diff --git`,
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
//! Applying is all-or-nothing: [`Patch::plan`] computes every resulting file
//! in memory first, so a hunk that fails leaves the tree untouched.
//!
//! Not supported: binary patches, git renames/copies and mode changes
//! without content (ignored), context (non-unified) and ed-style diffs.

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
    /// The `---` name; `None` for `/dev/null` (the patch creates the file).
    pub old: Option<String>,
    /// The `+++` name; `None` for `/dev/null` (the patch deletes the file).
    pub new: Option<String>,
    /// The hunks, in file order.
    pub hunks: Vec<Hunk>,
    /// 1-based line of the `---` header in the patch file.
    pub line: usize,
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
}

/// The outcome of [`Patch::plan`]: what to write, and notes for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// One change per touched file, in the order the patch first touches it.
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
    /// A file name in the patch is absolute or contains `..` after stripping.
    UnsafePath {
        /// The offending name.
        name: String,
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
            Self::UnsafePath { name } => {
                write!(f, "refusing file name `{name}`: absolute or contains `..`")
            }
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

/// Parse a unified diff.
pub fn parse(text: &[u8]) -> Result<Patch, PatchError> {
    let lines: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
    let mut files = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].starts_with(b"--- ") && lines.get(i + 1).is_some_and(|l| l.starts_with(b"+++ "))
        {
            let header = i + 1;
            let old = parse_name(&lines[i][4..], header)?;
            let new = parse_name(&lines[i + 1][4..], header + 1)?;
            if old.is_none() && new.is_none() {
                return Err(parse_err(header, "both file names are /dev/null"));
            }
            i += 2;
            let mut hunks = Vec::new();
            while i < lines.len() && lines[i].starts_with(b"@@ ") {
                let (hunk, next) = parse_hunk(&lines, i)?;
                hunks.push(hunk);
                i = next;
            }
            if hunks.is_empty() {
                return Err(parse_err(header, "file header without any `@@` hunk"));
            }
            files.push(FilePatch {
                old,
                new,
                hunks,
                line: header,
            });
        } else if lines[i].starts_with(b"GIT binary patch") {
            return Err(parse_err(i + 1, "binary patches are not supported"));
        } else {
            i += 1;
        }
    }
    if files.is_empty() {
        return Err(PatchError::Empty);
    }
    Ok(Patch { files })
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

/// Git's C-style quoting: `"a\tb\303\251"`.
fn unquote_c(raw: &[u8]) -> Option<Vec<u8>> {
    let body = raw.strip_prefix(b"\"")?;
    let end = body.iter().rposition(|&b| b == b'"')?;
    let body = &body[..end];
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
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
    Some(out)
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

/// A relative path that stays below the patched directory.
fn is_safe(path: &str) -> bool {
    !path.is_empty() && !path.starts_with('/') && path.split('/').all(|c| c != "..")
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

    /// The existing file this section modifies or deletes at strip level
    /// `strip`: the old name if it exists, else the new name (like `patch`).
    fn existing_target(&self, strip: usize, exists: &dyn Fn(&str) -> bool) -> Option<String> {
        [&self.old, &self.new]
            .into_iter()
            .flatten()
            .filter_map(|n| strip_name(n, strip))
            .find(|s| is_safe(s) && exists(s))
            .map(str::to_owned)
    }
}

/// How [`Patch::plan`] reads a file: its content, `None` if it does not
/// exist, or an error message.
pub type ReadFn<'a> = dyn FnMut(&str) -> Result<Option<Vec<u8>>, String> + 'a;

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
        for strip in 0..=MAX_STRIP {
            if constrained
                .iter()
                .all(|f| f.existing_target(strip, exists).is_some())
            {
                return Ok(strip);
            }
        }
        // Report the first file that is missing at every level.
        let missing = constrained
            .iter()
            .find(|f| (0..=MAX_STRIP).all(|s| f.existing_target(s, exists).is_none()))
            .unwrap_or(&constrained[0]);
        let name = missing.display_name().to_owned();
        let tried = (0..=MAX_STRIP)
            .map(|s| strip_name(&name, s).unwrap_or("").to_owned())
            .collect();
        Err(PatchError::FileNotFound { name, tried })
    }

    /// Compute the result of applying the patch at strip level `strip`.
    ///
    /// `read` returns the current content of a relative path, `None` if it
    /// does not exist. Nothing is written: the caller carries out the
    /// returned [`Change`]s, so a failing hunk leaves the tree untouched.
    pub fn plan(&self, strip: usize, read: &mut ReadFn<'_>) -> Result<Plan, PatchError> {
        // Current state of every touched file: Some(content) or None (absent).
        let mut state: BTreeMap<String, (Option<Vec<u8>>, bool)> = BTreeMap::new();
        let mut order: Vec<String> = Vec::new();
        let mut notes = Vec::new();

        for fp in &self.files {
            let name = fp.display_name();
            // Decide the target with the in-memory state, so a second section
            // for the same file sees the first one's result.
            let mut load = |path: &str| -> Result<Option<Vec<u8>>, PatchError> {
                if let Some((content, _)) = state.get(path) {
                    return Ok(content.clone());
                }
                let content = read(path).map_err(|message| PatchError::Read {
                    file: path.to_owned(),
                    message,
                })?;
                state.insert(path.to_owned(), (content.clone(), content.is_none()));
                order.push(path.to_owned());
                Ok(content)
            };
            let candidates = [&fp.old, &fp.new]
                .into_iter()
                .flatten()
                .filter_map(|n| strip_name(n, strip))
                .collect::<Vec<_>>();
            for c in &candidates {
                if !is_safe(c) {
                    return Err(PatchError::UnsafePath {
                        name: (*c).to_owned(),
                    });
                }
            }
            let target = if fp.old.is_none() {
                let Some(path) = fp.new.as_deref().and_then(|n| strip_name(n, strip)) else {
                    return Err(PatchError::FileNotFound {
                        name: name.to_owned(),
                        tried: vec![],
                    });
                };
                if load(path)?.is_some_and(|c| !c.is_empty()) {
                    return Err(PatchError::AlreadyExists {
                        file: path.to_owned(),
                    });
                }
                path.to_owned()
            } else {
                let mut found = None;
                for c in &candidates {
                    if load(c)?.is_some() {
                        found = Some((*c).to_owned());
                        break;
                    }
                }
                found.ok_or_else(|| PatchError::FileNotFound {
                    name: name.to_owned(),
                    tried: candidates.iter().map(|c| (*c).to_owned()).collect(),
                })?
            };

            let current = state
                .get(&target)
                .and_then(|(c, _)| c.clone())
                .unwrap_or_default();
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
                entry.0 = None;
            } else {
                entry.0 = Some(result);
            }
        }

        let changes = order
            .into_iter()
            .filter_map(|path| {
                let (content, was_absent) = state.remove(&path)?;
                match (content, was_absent) {
                    (Some(content), created) => Some(Change::Write {
                        path,
                        content,
                        created,
                    }),
                    (None, false) => Some(Change::Delete { path }),
                    // Read only to probe, or created then deleted.
                    (None, true) => None,
                }
            })
            .collect();
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

    /// Parse, choose the strip level and plan against an in-memory tree.
    fn apply(patch: &str, files: &HashMap<String, Vec<u8>>) -> Result<(usize, Plan), PatchError> {
        let p = parse(patch.as_bytes())?;
        let strip = p.choose_strip(&|path| files.contains_key(path))?;
        let plan = p.plan(strip, &mut |path| Ok(files.get(path).cloned()))?;
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
                name: "../../etc/evil".into()
            }
        );
        let patch = "--- /dev/null\n+++ /etc/evil\n@@ -0,0 +1 @@\n+x\n";
        let err = apply(patch, &tree(&[])).unwrap_err();
        assert_eq!(
            err,
            PatchError::UnsafePath {
                name: "/etc/evil".into()
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
}
