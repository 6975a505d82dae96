//! wport's trust layer: The Update Framework (TUF, specification 1.0.x)
//! for the ports tree.
//!
//! Code map:
//! - [`canonical`] — canonical JSON (what signatures cover).
//! - [`keys`] — keys in TUF's format and key ids; verification of ed25519
//!   (strict), ecdsa-sha2-nistp256 and rsassa-pss-sha256; ed25519 signing;
//!   secret key files (0600, StrictModes-style checks).
//! - [`metadata`] — the role metadata types, envelope parsing, thresholds,
//!   length/hash checks, signing.
//! - [`client`] — the client workflow of spec section 5, in order.
//! - [`repo`] — the repository side: init, add targets, sign, snapshot and
//!   timestamp.
//! - [`paths`] — role names and target paths that become file names and
//!   URLs; delegation globs.
//! - [`transport`] — the small `Transport` trait and the file transport.
//! - [`port`] — [`verify_port`], the check a build makes before it uses a
//!   port's files.
//! - [`packages`] — binary packages as targets: their inputs, target
//!   paths, and the on-demand lookup through the builders role.
//! - [`sync`] — `wport sync`: refresh a trust directory, store verified targets.
//! - [`time`] — TUF timestamps without a date library.
//!
//! **Why not `tough` or `tuf`.** Both are real TUF clients, but `tough`
//! (0.2x) is async (tokio, reqwest) and, like `tuf` (rust-tuf), brings a
//! second crypto library (ring / aws-lc-rs) next to the ed25519-dalek and
//! sha2 the rest of wport uses, and neither refuses weak ed25519 keys by
//! itself. The part of TUF a ports tree needs — ed25519, P-256 ECDSA and
//! RSA-PSS verification (RustCrypto's `p256` and `rsa`), a file or HTTP
//! transport, synchronous — is small enough to implement here against the
//! specification, with every step of section 5 visible and tested.
//!
//! **Architecture Invariant:** no network code and no wasmtime here; bytes
//! arrive through a [`transport::Transport`], bounded while read.

pub mod canonical;
pub mod client;
pub mod error;
pub mod keys;
pub mod metadata;
pub mod packages;
pub mod paths;
pub mod port;
pub mod repo;
pub mod sync;
pub mod time;
pub mod transport;

pub use client::{Client, Limits};
pub use error::{KeySource, Result, TrustError};
pub use keys::{KeyId, PublicKey, SecretKey};
pub use port::verify_port;
pub use transport::{FileTransport, Transport, TransportError};
