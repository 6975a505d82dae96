//! `glob`: the files under a directory whose relative paths match a
//! shell-style pattern (`src/*.h`, `**/Makefile.in`, `doc/?.[0-9]`).
//!
//! The pattern is relative and made of plain components: an absolute
//! pattern or a `..` is refused, so a glob cannot name anything outside the
//! directory it is given (which is itself one of the phase's directories,
//! `env::worksrc()`, `env::destroot()`...). Links are matched as entries but
//! never followed into: a symlink planted in a source tree cannot turn
//! `**` into a walk of someone else's directory.

use std::path::{Path, PathBuf};

use crate::{Context, Error, ErrorKind, Result};

/// The paths under `dir` (joined to `dir`) whose path relative to `dir`
/// matches `pattern`, sorted. Components: `*` any run of characters but
/// `/`, `?` one character, `[abc]`/`[a-z]`/`[!a]` a class, `**` alone any
/// number of directories (zero included). Names starting with `.` are
/// matched only by a component that starts with `.` itself, as in sh.
///
/// An empty result is not an error: check it where a port needs a match.
pub fn glob(dir: impl AsRef<Path>, pattern: &str) -> Result<Vec<PathBuf>> {
    let dir = dir.as_ref();
    let parts = parse(pattern)?;
    let mut out = Vec::new();
    walk(dir, &parts, &mut out)
        .with_context(|| format!("glob `{pattern}` in {}", dir.display()))?;
    out.sort();
    out.dedup();
    Ok(out)
}

/// The pattern's components; a `..`, `.`, empty or absolute one is refused.
fn parse(pattern: &str) -> Result<Vec<&str>> {
    let refuse = |why: &str| {
        Err(Error::new(
            ErrorKind::Invalid,
            format!("glob pattern `{pattern}` {why}"),
        ))
    };
    if pattern.is_empty() {
        return refuse("is empty");
    }
    if pattern.starts_with('/') {
        return refuse("is absolute: a glob names files under its directory");
    }
    let parts: Vec<&str> = pattern.split('/').collect();
    for part in &parts {
        match *part {
            "" => return refuse("has an empty component"),
            "." | ".." => {
                return refuse("has a `.` or `..` component: a glob stays in its directory");
            }
            _ => {}
        }
    }
    Ok(parts)
}

fn walk(dir: &Path, parts: &[&str], out: &mut Vec<PathBuf>) -> Result<()> {
    let Some((first, rest)) = parts.split_first() else {
        return Ok(());
    };
    if *first == "**" {
        // Zero directories...
        if rest.is_empty() {
            out.push(dir.to_path_buf());
        } else {
            walk(dir, rest, out)?;
        }
        // ...or one more, then still `**`.
        for (path, name, is_dir) in entries(dir)? {
            if is_dir && !name.starts_with('.') {
                walk(&path, parts, out)?;
            }
        }
        return Ok(());
    }
    for (path, name, is_dir) in entries(dir)? {
        if !matches(first.as_bytes(), name.as_bytes()) {
            continue;
        }
        if rest.is_empty() {
            out.push(path);
        } else if is_dir {
            walk(&path, rest, out)?;
        }
    }
    Ok(())
}

/// `(path, name, is a real directory)` of each entry; names that are not
/// UTF-8 are skipped (no pattern could name them). A symlink is never a
/// directory here, whatever it points at.
fn entries(dir: &Path) -> Result<Vec<(PathBuf, String, bool)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let is_dir = entry.file_type()?.is_dir();
        out.push((entry.path(), name, is_dir));
    }
    Ok(out)
}

/// Whether `name` matches the component `pat` (no `/` in either).
fn matches(pat: &[u8], name: &[u8]) -> bool {
    if name.first() == Some(&b'.') && pat.first() != Some(&b'.') {
        return false;
    }
    match_from(pat, name)
}

fn match_from(pat: &[u8], name: &[u8]) -> bool {
    match pat.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|i| match_from(rest, &name[i..])),
        Some((b'?', rest)) => !name.is_empty() && match_from(rest, &name[1..]),
        Some((b'[', rest)) => match class(rest) {
            Some((set, negated, after)) => match name.split_first() {
                Some((c, tail)) => in_class(set, *c) != negated && match_from(after, tail),
                None => false,
            },
            // An unclosed `[` is a literal `[`.
            None => name.first() == Some(&b'[') && match_from(rest, &name[1..]),
        },
        Some((c, rest)) => name.first() == Some(c) && match_from(rest, &name[1..]),
    }
}

/// The body of a `[...]` class after its `[`: (members, negated, the
/// pattern after `]`), or `None` when it is not closed.
fn class(pat: &[u8]) -> Option<(&[u8], bool, &[u8])> {
    let (negated, body) = match pat.first() {
        Some(b'!' | b'^') => (true, &pat[1..]),
        _ => (false, pat),
    };
    // A `]` right after the `[` (or `[!`) is a member.
    let close = body.iter().skip(1).position(|&c| c == b']')? + 1;
    Some((&body[..close], negated, &body[close + 1..]))
}

fn in_class(set: &[u8], c: u8) -> bool {
    let mut i = 0;
    while i < set.len() {
        if i + 2 < set.len() && set[i + 1] == b'-' {
            if (set[i]..=set[i + 2]).contains(&c) {
                return true;
            }
            i += 3;
        } else {
            if set[i] == c {
                return true;
            }
            i += 1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, n: &str) -> bool {
        matches(p.as_bytes(), n.as_bytes())
    }

    #[test]
    fn components() {
        assert!(m("*.h", "lua.h"));
        assert!(!m("*.h", "lua.c"));
        assert!(m("lua?.h", "lua5.h"));
        assert!(m("[a-c]x", "bx"));
        assert!(!m("[!a-c]x", "bx"));
        assert!(m("[]]", "]"));
        assert!(m("[x", "[x"));
        assert!(!m("*", ".hidden"));
        assert!(m(".*", ".hidden"));
    }

    #[test]
    fn escapes_are_refused() {
        for bad in ["", "/etc/*", "../x", "a/../b", "a//b", "./a"] {
            let err = glob(".", bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Invalid, "{bad}");
        }
    }

    #[test]
    fn walks_without_following_links() {
        let root = std::env::temp_dir().join(format!("wport-glob-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("src/sub")).unwrap();
        std::fs::create_dir_all(root.join("outside")).unwrap();
        for f in [
            "Makefile.in",
            "src/Makefile.in",
            "src/sub/Makefile.in",
            "src/a.h",
            "outside/Makefile.in",
        ] {
            std::fs::write(root.join(f), "x").unwrap();
        }
        let tree = root.join("src");
        std::os::unix::fs::symlink(root.join("outside"), tree.join("link")).unwrap();
        let rel = |v: Vec<PathBuf>| -> Vec<String> {
            v.iter()
                .map(|p| p.strip_prefix(&tree).unwrap().display().to_string())
                .collect()
        };
        assert_eq!(
            rel(glob(&tree, "**/Makefile.in").unwrap()),
            ["Makefile.in", "sub/Makefile.in"]
        );
        assert_eq!(rel(glob(&tree, "*.h").unwrap()), ["a.h"]);
        assert_eq!(rel(glob(&tree, "link/*").unwrap()), Vec::<String>::new());
        assert_eq!(rel(glob(&tree, "l*").unwrap()), ["link"]);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
