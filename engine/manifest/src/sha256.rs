//! [`Sha256Hex`]: a SHA-256 digest as written in a Portfile — the shared
//! [`wport_types::Sha256`] under the name this crate has always used, so the
//! fetcher checks exactly the value the Portfile pinned (no conversion
//! through text).
//!
//! Uppercase hex is refused rather than normalised so that a Portfile has one
//! spelling per digest: `grep` for a checksum finds every port that pins it.

pub use wport_types::{Sha256 as Sha256Hex, Sha256Error as Sha256HexError};

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
