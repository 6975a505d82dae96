//! Echoing Portfile text in messages, bounded.
//!
//! A key, a name or a URL in an error message comes from the Portfile being
//! refused, and may be megabytes long (an 8 MiB unknown key was echoed whole,
//! twice, issue 11 item 14) or hold terminal escapes. Messages quote it
//! through [`short`]: short plain text as it is, anything else as an escaped
//! prefix and its length.

use std::borrow::Cow;

/// Characters of a value shown before it is cut.
pub(crate) const SHOWN_CHARS: usize = 80;

/// `value` itself when it is at most [`SHOWN_CHARS`] characters and has no
/// control character; otherwise its first characters with control characters
/// escaped (`\u{1b}`), then `… (N bytes)`.
pub(crate) fn short(value: &str) -> Cow<'_, str> {
    let mut chars = value.chars();
    let plain = chars.by_ref().take(SHOWN_CHARS).all(|c| !c.is_control());
    if plain && chars.next().is_none() {
        return Cow::Borrowed(value);
    }
    let mut out = String::new();
    let mut cut = false;
    for (i, c) in value.chars().enumerate() {
        if i == SHOWN_CHARS {
            cut = true;
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if cut {
        out.push_str(&format!("… ({} bytes)", value.len()));
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_plain_text_is_kept() {
        assert_eq!(short("sha256"), "sha256");
        assert!(matches!(short("sha256"), Cow::Borrowed(_)));
    }

    #[test]
    fn controls_are_escaped_and_long_text_is_cut() {
        assert_eq!(short("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        let long = "k".repeat(8 << 20);
        let s = short(&long);
        assert_eq!(s, format!("{}… (8388608 bytes)", "k".repeat(SHOWN_CHARS)));
        let edge = "k".repeat(SHOWN_CHARS);
        assert_eq!(short(&edge), edge);
    }
}
