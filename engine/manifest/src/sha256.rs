//! [`Sha256Hex`]: a SHA-256 digest as written in a Portfile.

use std::fmt;
use std::str::FromStr;

/// A SHA-256 digest. Parsed from exactly 64 lowercase hex digits and
/// displayed the same way.
///
/// Uppercase hex is refused rather than normalised so that a Portfile has one
/// spelling per digest: `grep` for a checksum finds every port that pins it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Hex([u8; 32]);

impl Sha256Hex {
    /// Wraps raw digest bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Sha256Hex {
        Sha256Hex(bytes)
    }

    /// The raw digest bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Why a string is not a [`Sha256Hex`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Sha256HexError {
    /// Not 64 characters long.
    Length {
        /// The length found, in characters.
        found: usize,
    },
    /// An uppercase hex digit (only lowercase is accepted).
    Uppercase {
        /// Byte offset of the first uppercase digit.
        at: usize,
    },
    /// A character that is not a hex digit.
    NotHex {
        /// Byte offset of the offending character.
        at: usize,
        /// The character.
        found: char,
    },
}

impl fmt::Display for Sha256HexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sha256HexError::Length { found } => {
                write!(
                    f,
                    "a sha256 digest is 64 hex digits, found {found} characters"
                )
            }
            Sha256HexError::Uppercase { at } => {
                write!(
                    f,
                    "uppercase hex digit at position {}; write digests in lowercase",
                    at + 1
                )
            }
            Sha256HexError::NotHex { at, found } => {
                write!(f, "{found:?} at position {} is not a hex digit", at + 1)
            }
        }
    }
}

impl std::error::Error for Sha256HexError {}

impl FromStr for Sha256Hex {
    type Err = Sha256HexError;

    fn from_str(text: &str) -> Result<Sha256Hex, Sha256HexError> {
        // Report a bad character before a bad length: "found 'g'" is more
        // useful than "found 63 characters" when both are true.
        for (at, c) in text.char_indices() {
            match c {
                '0'..='9' | 'a'..='f' => {}
                'A'..='F' => return Err(Sha256HexError::Uppercase { at }),
                _ => return Err(Sha256HexError::NotHex { at, found: c }),
            }
        }
        if text.len() != 64 {
            return Err(Sha256HexError::Length {
                found: text.chars().count(),
            });
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
            *byte = (nibble(pair[0]) << 4) | nibble(pair[1]);
        }
        Ok(Sha256Hex(bytes))
    }
}

fn nibble(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        _ => digit - b'a' + 10,
    }
}

impl fmt::Display for Sha256Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Sha256Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Hex({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO: &str = "31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b";

    #[test]
    fn round_trips_lowercase_hex() {
        let digest: Sha256Hex = HELLO.parse().unwrap();
        assert_eq!(digest.to_string(), HELLO);
        assert_eq!(digest.as_bytes()[0], 0x31);
        assert_eq!(digest.as_bytes()[31], 0x6b);
    }

    #[test]
    fn refuses_uppercase_short_and_non_hex() {
        assert_eq!(
            HELLO.to_uppercase().parse::<Sha256Hex>(),
            Err(Sha256HexError::Uppercase { at: 2 })
        );
        assert_eq!(
            HELLO[..63].parse::<Sha256Hex>(),
            Err(Sha256HexError::Length { found: 63 })
        );
        assert_eq!(
            "".parse::<Sha256Hex>(),
            Err(Sha256HexError::Length { found: 0 })
        );
        let bad = format!("{}g", &HELLO[..63]);
        assert_eq!(
            bad.parse::<Sha256Hex>(),
            Err(Sha256HexError::NotHex { at: 63, found: 'g' })
        );
    }
}
