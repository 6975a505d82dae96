//! `wport-fetch`: getting a port's sources onto disk without trusting them.
//!
//! # Code map
//! - [`verify`]: the SHA-256 [`verify::Sha256`] type, the bounded hashing stream
//!   ([`verify::stream_verified`], [`verify::Verifier`]) and the two file-level
//!   operations, [`verify::verify_file`] and [`verify::copy_verified`] (quarantine: a
//!   file reaches its final name only after its size and digest match).
//! - [`transport`]: one GET per URL behind the [`transport::Transport`] trait
//!   ([`transport::HttpTransport`]: https/http through rustls, timeouts;
//!   [`transport::FileTransport`]) and the redirect policy
//!   ([`transport::check_redirect`]: no https -> http, no other scheme).
//! - [`store`]: the content-addressed distfile store, `<dir>/<sha256>`.
//! - [`quarantine`]: where mismatching downloads go, with a record; release
//!   after a hold, with a reason; [`quarantine::held_sha256s`] for the linter.
//! - [`download`]: the [`download::Fetcher`]: mirrors in order, redirects
//!   followed under policy, size bound and digest checked while streaming,
//!   quarantine on mismatch, several downloads at once with progress.
//! - [`text`]: hostile names in messages, bounded and escaped
//!   ([`text::shown`]), and tar type bytes made readable.
//! - [`extract`]: [`extract::extract`], safe extraction of tar (plain, gzip, xz,
//!   bzip2, zstd) and zip archives into a `cap_std::fs::Dir`, with
//!   [`extract::Limits`] against decompression bombs.
//!
//! **Architecture Invariant:** nothing in this crate writes inside a destination
//! through an ambient path. Every write goes through a `cap_std::fs::Dir` handle,
//! walked one component at a time without following symlinks, so neither a
//! hostile archive nor a file left in the destination by an earlier archive can
//! redirect a write outside it.
//!
//! # Example
//! ```no_run
//! use cap_std::{ambient_authority, fs::Dir};
//! use wport_fetch::{Expected, Limits, extract, verify_file};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pinned = Expected {
//!     sha256: "31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b".parse()?,
//!     size: 725_946,
//! };
//! let distfile = std::path::Path::new("distfiles/hello-2.10.tar.gz");
//! verify_file(distfile, &pinned)?;
//! // The one ambient open: the work directory itself, never anything inside it.
//! let work = Dir::open_ambient_dir("work/hello", ambient_authority())?;
//! let report = extract(distfile, &work, &Limits::default())?;
//! assert_eq!(report.top_level, ["hello-2.10"]);
//! let source_date_epoch = report.max_mtime;
//! # let _ = source_date_epoch; Ok(()) }
//! ```
//!
//! Unix only: archives carry Unix modes and symlinks, and the ports system runs on
//! Unix hosts.

#[cfg(not(unix))]
compile_error!("wport-fetch supports Unix hosts only");

pub mod download;
pub mod extract;
pub mod quarantine;
pub mod store;
pub mod text;
pub mod transport;
pub mod verify;

pub use download::{FetchError, Fetcher, Progress, Request};
pub use extract::{ExtractError, ExtractReport, Limit, Limits, extract};
pub use quarantine::{Quarantine, held_sha256s};
pub use store::Store;
pub use transport::{HttpTransport, Transport, TransportConfig};
pub use verify::{Expected, Sha256, VerifyError, copy_verified, verify_file};
