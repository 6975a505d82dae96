//! [`Sha256`]: the one SHA-256 digest type. A Portfile pins it, the fetcher
//! checks it, the distfile store names files by it, the component cache keys
//! by it.

use std::fmt;
use std::str::FromStr;

use sha2::Digest as _;

/// A SHA-256 digest. Parsed from exactly 64 lowercase hex digits and
/// displayed the same way.
///
/// Uppercase hex is refused rather than normalised so that a Portfile has one
/// spelling per digest: `grep` for a checksum finds every port that pins it,
/// and digests compare as text in reviews and diffs.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256([u8; 32]);

impl Sha256 {
    /// Wraps raw digest bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Sha256 {
        Sha256(bytes)
    }

    /// The raw digest bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The digest of an in-memory byte string.
    pub fn of(data: &[u8]) -> Sha256 {
        Sha256(sha2::Sha256::digest(data).into())
    }
}

impl From<sha2::Sha256> for Sha256 {
    /// The digest a streaming hasher has computed.
    fn from(hasher: sha2::Sha256) -> Sha256 {
        Sha256(hasher.finalize().into())
    }
}

/// Why a string is not a [`Sha256`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Sha256Error {
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

impl fmt::Display for Sha256Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sha256Error::Length { found } => {
                write!(
                    f,
                    "a sha256 digest is 64 hex digits, found {found} characters"
                )
            }
            Sha256Error::Uppercase { at } => {
                write!(
                    f,
                    "uppercase hex digit at position {}; write digests in lowercase",
                    at + 1
                )
            }
            Sha256Error::NotHex { at, found } => {
                write!(f, "{found:?} at position {} is not a hex digit", at + 1)
            }
        }
    }
}

impl std::error::Error for Sha256Error {}

impl FromStr for Sha256 {
    type Err = Sha256Error;

    fn from_str(text: &str) -> Result<Sha256, Sha256Error> {
        // Report a bad character before a bad length: "found 'g'" is more
        // useful than "found 63 characters" when both are true.
        for (at, c) in text.char_indices() {
            match c {
                '0'..='9' | 'a'..='f' => {}
                'A'..='F' => return Err(Sha256Error::Uppercase { at }),
                _ => return Err(Sha256Error::NotHex { at, found: c }),
            }
        }
        if text.len() != 64 {
            return Err(Sha256Error::Length {
                found: text.chars().count(),
            });
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
            *byte = (nibble(pair[0]) << 4) | nibble(pair[1]);
        }
        Ok(Sha256(bytes))
    }
}

fn nibble(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        _ => digit - b'a' + 10,
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    const HELLO: &str = "31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b";

    #[test]
    fn known_answer_and_round_trip() {
        // FIPS 180-2 example: SHA-256("abc").
        let d = Sha256::of(b"abc");
        assert_eq!(d.to_string(), ABC);
        assert_eq!(ABC.parse::<Sha256>(), Ok(d));
        let mut h = <sha2::Sha256 as sha2::Digest>::new();
        sha2::Digest::update(&mut h, b"abc");
        assert_eq!(Sha256::from(h), d);
        assert_eq!(format!("{d:?}"), format!("Sha256({ABC})"));
        let hello: Sha256 = HELLO.parse().unwrap();
        assert_eq!(hello.to_string(), HELLO);
        assert_eq!(hello.as_bytes()[0], 0x31);
        assert_eq!(hello.as_bytes()[31], 0x6b);
    }

    #[test]
    fn refuses_every_other_spelling() {
        assert_eq!(
            ABC.to_uppercase().parse::<Sha256>(),
            Err(Sha256Error::Uppercase { at: 0 })
        );
        assert_eq!(
            ABC[1..].parse::<Sha256>(),
            Err(Sha256Error::Length { found: 63 })
        );
        assert_eq!(
            format!("{ABC}0").parse::<Sha256>(),
            Err(Sha256Error::Length { found: 65 })
        );
        assert_eq!(
            ABC.replace('b', "g").parse::<Sha256>(),
            Err(Sha256Error::NotHex { at: 0, found: 'g' })
        );
        assert_eq!("".parse::<Sha256>(), Err(Sha256Error::Length { found: 0 }));
        // The first uppercase digit, the last bad character: positions count.
        assert_eq!(
            HELLO.to_uppercase().parse::<Sha256>(),
            Err(Sha256Error::Uppercase { at: 2 })
        );
        assert_eq!(
            format!("{}g", &HELLO[..63]).parse::<Sha256>(),
            Err(Sha256Error::NotHex { at: 63, found: 'g' })
        );
    }
}
