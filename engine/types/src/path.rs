//! [`RelPath`]: a relative path that stays inside the directory it is joined
//! to, and [`PathRules`], the one validator behind every such check in wport.
//!
//! Five places check relative paths, each for its own input: a package's file
//! list (registry), a TUF target path (trust), an archive entry (fetch), a
//! guest path below a build root (sandbox), a Portfile path (manifest). The
//! first four are these rules; all five keep a strict core that no rule set
//! can turn off:
//!
//! - not empty, and not absolute (no leading `/`);
//! - no NUL byte (the kernel would cut the name there);
//! - no `..` component: rejecting it by spelling, before any file system is
//!   asked, is what keeps `../../.ssh/id_rsa` from naming a file outside.
//!
//! Where a use truly needs to differ, [`PathRules`] says so by name:
//! archives are full of `./` prefixes and `a//b` spellings and hold names with
//! backslashes or control characters that the destination can store, so
//! [`PathRules::ARCHIVE`] skips `.` and empty components and allows those
//! bytes; a TUF target path becomes a URL and a file name, so
//! [`PathRules::TARGET`] refuses backslashes and control characters; a
//! package's file names are printed to terminals and bounded by the kernel's
//! limits, so [`PathRules::PACKAGE`] refuses control characters and overlong
//! names but keeps backslashes (real packages ship such names).
//!
//! The Portfile's rules are stricter still (a small character set per
//! component, with messages for port maintainers): wport-manifest keeps its
//! own `check_relative_path` for them, which refuses everything the core
//! refuses.

use std::fmt;

/// What a path may contain beyond the strict core, per use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathRules {
    /// `.` components and empty ones (`a//b`, `a/`): refused, or skipped as
    /// the kernel would. With [`Dots::Skip`] a path made only of them
    /// (`./`) names the base directory itself (an empty [`RelPath`]).
    pub dots: Dots,
    /// Whether Unicode control characters other than NUL (C0, DEL, C1 — in
    /// UTF-8 `C2 80`..=`C2 9F`) may appear. Such names drive terminals when
    /// printed and split line-oriented tools.
    pub control: bool,
    /// Whether `\` may appear (it is a separator on Windows and in URLs
    /// some servers normalise).
    pub backslash: bool,
    /// Longest path, in bytes.
    pub max_len: usize,
    /// Longest component, in bytes.
    pub max_component_len: usize,
}

/// What to do with `.` and empty components.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dots {
    /// Refuse them: the path has one spelling.
    Refuse,
    /// Drop them, as path resolution does.
    Skip,
}

impl PathRules {
    /// The strictest rules: the core, plus no `.` or empty components, no
    /// control characters, no backslash, and the kernel's limits (4095-byte
    /// paths, 255-byte names).
    pub const STRICT: PathRules = PathRules {
        dots: Dots::Refuse,
        control: false,
        backslash: false,
        max_len: 4095,
        max_component_len: 255,
    };

    /// A file recorded in a binary package (registry): [`PathRules::STRICT`]
    /// but backslashes are allowed.
    pub const PACKAGE: PathRules = PathRules {
        backslash: true,
        ..PathRules::STRICT
    };

    /// A TUF target path (trust): [`PathRules::STRICT`] without length
    /// limits; the signed metadata bounds its own size.
    pub const TARGET: PathRules = PathRules {
        max_len: usize::MAX,
        max_component_len: usize::MAX,
        ..PathRules::STRICT
    };

    /// An entry stored in a tar or zip archive (fetch), and a guest path
    /// below its root (sandbox): the core only; `.` and empty components are
    /// skipped, as the kernel does. Whatever else the name holds is used
    /// below a directory handle, never by an ambient path.
    pub const ARCHIVE: PathRules = PathRules {
        dots: Dots::Skip,
        control: true,
        backslash: true,
        max_len: usize::MAX,
        max_component_len: usize::MAX,
    };

    /// Checks `raw` in one pass over its bytes, without allocating (a TUF
    /// refresh checks tens of thousands of target paths).
    pub fn check(&self, raw: &[u8]) -> Result<(), RelPathError> {
        match raw.first() {
            None => return Err(RelPathError::Empty),
            Some(b'/') => return Err(RelPathError::Absolute),
            Some(_) => {}
        }
        if raw.len() > self.max_len {
            return Err(RelPathError::TooLong {
                len: raw.len(),
                max: self.max_len,
            });
        }
        let mut start = 0;
        for (at, &b) in raw.iter().enumerate() {
            match b {
                0 => return Err(RelPathError::Nul { at }),
                b'/' => {
                    self.component(&raw[start..at])?;
                    start = at + 1;
                }
                b'\\' if !self.backslash => return Err(RelPathError::Backslash { at }),
                0x01..=0x1f | 0x7f if !self.control => return Err(RelPathError::Control { at }),
                0xc2 if !self.control && matches!(raw.get(at + 1), Some(0x80..=0x9f)) => {
                    return Err(RelPathError::Control { at });
                }
                _ => {}
            }
        }
        self.component(&raw[start..])
    }

    fn component(&self, c: &[u8]) -> Result<(), RelPathError> {
        match c {
            b".." => Err(RelPathError::ParentDir),
            b"" if self.dots == Dots::Refuse => Err(RelPathError::EmptyComponent),
            b"." if self.dots == Dots::Refuse => Err(RelPathError::CurDir),
            c if c.len() > self.max_component_len => Err(RelPathError::ComponentTooLong {
                len: c.len(),
                max: self.max_component_len,
            }),
            _ => Ok(()),
        }
    }

    /// Checks `raw` and returns its components, `.` and empty ones left out
    /// (they are refused unless [`Dots::Skip`]).
    pub fn components<'a>(&self, raw: &'a [u8]) -> Result<Vec<&'a [u8]>, RelPathError> {
        self.check(raw)?;
        Ok(raw
            .split(|&b| b == b'/')
            .filter(|c| !matches!(*c, b"" | b"."))
            .collect())
    }
}

/// Why a path is not a safe relative path under some [`PathRules`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RelPathError {
    /// The path is empty.
    Empty,
    /// The path starts with `/`.
    Absolute,
    /// A NUL byte at this offset.
    Nul { at: usize },
    /// A `..` component.
    ParentDir,
    /// A `.` component (refused by [`Dots::Refuse`]).
    CurDir,
    /// An empty component: `a//b` or a trailing `/` (refused by [`Dots::Refuse`]).
    EmptyComponent,
    /// A control character at this byte offset.
    Control { at: usize },
    /// A backslash at this byte offset.
    Backslash { at: usize },
    /// The path is longer than the rules allow.
    TooLong { len: usize, max: usize },
    /// One component is longer than the rules allow.
    ComponentTooLong { len: usize, max: usize },
}

impl RelPathError {
    /// Whether the path could name something outside its base directory
    /// (as opposed to being merely malformed).
    pub fn is_escape(&self) -> bool {
        matches!(self, RelPathError::Absolute | RelPathError::ParentDir)
    }
}

impl fmt::Display for RelPathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RelPathError::Empty => f.write_str("the path is empty"),
            RelPathError::Absolute => f.write_str("the path is absolute"),
            RelPathError::Nul { at } => write!(f, "a NUL byte at byte {at}"),
            RelPathError::ParentDir => f.write_str("`..` is not allowed in a path"),
            RelPathError::CurDir => f.write_str("`.` components are not allowed in a path"),
            RelPathError::EmptyComponent => {
                f.write_str("an empty component (`//` or a trailing `/`)")
            }
            RelPathError::Control { at } => write!(f, "a control character at byte {at}"),
            RelPathError::Backslash { at } => write!(f, "a backslash at byte {at}"),
            RelPathError::TooLong { len, max } => {
                write!(f, "the path is {len} bytes long, the limit is {max}")
            }
            RelPathError::ComponentTooLong { len, max } => {
                write!(f, "a component is {len} bytes long, the limit is {max}")
            }
        }
    }
}

impl std::error::Error for RelPathError {}

/// A checked relative path: `/`-separated components, none empty, `.` or
/// `..`, no NUL, in one normal spelling (skipped components are gone). It
/// may be empty only under [`Dots::Skip`] (the base directory itself).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelPath(String);

impl RelPath {
    /// Checks `path` under `rules` and normalises its spelling.
    pub fn new(path: &str, rules: &PathRules) -> Result<RelPath, RelPathError> {
        rules.check(path.as_bytes())?;
        let normal = path
            .split('/')
            .filter(|c| !matches!(*c, "" | "."))
            .collect::<Vec<_>>()
            .join("/");
        Ok(RelPath(normal))
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the base directory itself.
    pub fn is_base(&self) -> bool {
        self.0.is_empty()
    }

    /// The components, in order.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|c| !c.is_empty())
    }

    /// `a/b/c` as (`a/b`, `c`); the parent of `c` is "".
    pub fn split_last(&self) -> (&str, &str) {
        match self.0.rfind('/') {
            Some(i) => (&self.0[..i], &self.0[i + 1..]),
            None => ("", &self.0),
        }
    }
}

impl AsRef<str> for RelPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [PathRules; 4] = [
        PathRules::STRICT,
        PathRules::PACKAGE,
        PathRules::TARGET,
        PathRules::ARCHIVE,
    ];

    #[test]
    fn the_core_holds_under_every_rule_set() {
        for rules in ALL {
            assert_eq!(rules.check(b""), Err(RelPathError::Empty));
            assert_eq!(rules.check(b"/etc/passwd"), Err(RelPathError::Absolute));
            assert_eq!(rules.check(b"a\0b"), Err(RelPathError::Nul { at: 1 }));
            for escape in [&b".."[..], b"../x", b"a/../../x", b"a/..", b"a/../b"] {
                let err = rules.check(escape).unwrap_err();
                assert_eq!(err, RelPathError::ParentDir, "{escape:?}");
                assert!(err.is_escape());
            }
            assert_eq!(rules.check(b"a/b.c/..d"), Ok(()));
        }
    }

    #[test]
    fn strict_refuses_what_the_options_allow() {
        let s = PathRules::STRICT;
        assert_eq!(s.check(b"a//b"), Err(RelPathError::EmptyComponent));
        assert_eq!(s.check(b"a/"), Err(RelPathError::EmptyComponent));
        assert_eq!(s.check(b"./a"), Err(RelPathError::CurDir));
        assert_eq!(s.check(b"a\\b"), Err(RelPathError::Backslash { at: 1 }));
        assert_eq!(s.check(b"a\nb"), Err(RelPathError::Control { at: 1 }));
        assert_eq!(s.check(b"\x7f"), Err(RelPathError::Control { at: 0 }));
        assert_eq!(
            s.check("a\u{9b}".as_bytes()),
            Err(RelPathError::Control { at: 1 })
        );
        assert_eq!(s.check("caf\u{e9}".as_bytes()), Ok(()));
        assert_eq!(
            s.check(&[b'a'; 256]),
            Err(RelPathError::ComponentTooLong { len: 256, max: 255 })
        );
        assert_eq!(s.check(&[b'a'; 255]), Ok(()));
        let long = "a/".repeat(2048) + "a";
        assert!(matches!(
            s.check(long.as_bytes()),
            Err(RelPathError::TooLong { .. })
        ));
        assert_eq!(PathRules::PACKAGE.check(b"a\\b"), Ok(()));
        assert_eq!(PathRules::TARGET.check(&[b'a'; 300]), Ok(()));
    }

    #[test]
    fn archive_rules_skip_dots_and_keep_odd_bytes() {
        let a = PathRules::ARCHIVE;
        assert_eq!(a.components(b"./a//b/./c/").unwrap(), [b"a", b"b", b"c"]);
        assert!(a.components(b"./").unwrap().is_empty());
        assert_eq!(a.check(b"./../x"), Err(RelPathError::ParentDir));
        assert_eq!(a.components(b"a\\b\n").unwrap(), [b"a\\b\n"]);
        assert_eq!(a.components(b"\xff").unwrap(), [b"\xff"]);
    }

    #[test]
    fn rel_path_normalises_and_splits() {
        let p = RelPath::new("./a//b/c", &PathRules::ARCHIVE).unwrap();
        assert_eq!(p.as_str(), "a/b/c");
        assert_eq!(p.split_last(), ("a/b", "c"));
        assert_eq!(p.components().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert!(RelPath::new(".", &PathRules::ARCHIVE).unwrap().is_base());
        let q = RelPath::new("c", &PathRules::STRICT).unwrap();
        assert_eq!(q.split_last(), ("", "c"));
        assert!(RelPath::new("a/../b", &PathRules::ARCHIVE).is_err());
    }
}
