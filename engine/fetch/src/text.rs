//! Showing hostile text in messages: bounded and escaped.
//!
//! Entry names, link targets and URLs come from archives and servers. A GNU
//! long name may be a megabyte (up to [`crate::extract::MAX_METADATA_BYTES`]),
//! and any of them may hold terminal escape sequences; an error message echoing
//! them whole is a megabyte on the user's terminal (issue 11, item 14). So a
//! message shows a quoted, escaped prefix and says how long the whole was.

use std::fmt;

/// Characters of a name shown before it is cut.
pub const SHOWN_CHARS: usize = 120;

/// `"name"` with control characters, quotes and backslashes escaped (Rust
/// `escape_debug` rules); past [`SHOWN_CHARS`] characters, `"prefix…" (N bytes)`.
pub fn shown(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(SHOWN_CHARS * 2) + 24);
    out.push('"');
    let mut chars = s.char_indices();
    for (_, c) in chars.by_ref().take(SHOWN_CHARS) {
        out.extend(c.escape_debug());
    }
    if chars.next().is_some() {
        out.push_str(&format!("…\" ({} bytes)", s.len()));
    } else {
        out.push('"');
    }
    out
}

/// A raw tar entry type byte, readable: `entry type 'V' (0x56)`, or
/// `entry type 0x01` when the byte is not a printable ASCII character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeByte(pub u8);

impl fmt::Display for TypeByte {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        if b.is_ascii_graphic() {
            write!(f, "entry type '{}' (0x{b:02x})", char::from(b))
        } else {
            write!(f, "entry type 0x{b:02x}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_quoted_and_escaped() {
        assert_eq!(shown("a/b.c"), "\"a/b.c\"");
        assert_eq!(shown("x\u{1b}]0;pwn\u{7}\n"), "\"x\\u{1b}]0;pwn\\u{7}\\n\"");
    }

    #[test]
    fn long_names_are_cut_and_their_length_given() {
        let long = "é".repeat(1 << 20);
        let s = shown(&long);
        assert!(s.len() < 400, "{} bytes shown", s.len());
        assert!(s.ends_with(&format!("…\" ({} bytes)", 2 << 20)), "{s}");
        assert!(
            s.starts_with(&format!("\"{}", "é".repeat(SHOWN_CHARS))),
            "{s}"
        );
        // Exactly at the bound: nothing cut.
        let edge = "a".repeat(SHOWN_CHARS);
        assert_eq!(shown(&edge), format!("\"{edge}\""));
    }

    #[test]
    fn type_bytes_are_readable() {
        assert_eq!(TypeByte(b'V').to_string(), "entry type 'V' (0x56)");
        assert_eq!(TypeByte(1).to_string(), "entry type 0x01");
        assert_eq!(TypeByte(0xff).to_string(), "entry type 0xff");
    }
}
