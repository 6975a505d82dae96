//! [`Sha256Hex`]: a SHA-256 digest as written in a Portfile — the shared
//! [`wport_types::Sha256`] under the name this crate has always used, so the
//! fetcher checks exactly the value the Portfile pinned (no conversion
//! through text).
//!
//! Uppercase hex is refused rather than normalised so that a Portfile has one
//! spelling per digest: `grep` for a checksum finds every port that pins it.

pub use wport_types::{Sha256 as Sha256Hex, Sha256Error as Sha256HexError};

// Parsing, display and every refusal are tested with the type, in
// wport_types::digest.
