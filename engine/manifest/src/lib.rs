//! The `Portfile.toml` schema: parsing, validation, and errors a port
//! maintainer can act on.
//!
//! ```no_run
//! # fn main() -> Result<(), wport_manifest::ManifestError> {
//! use wport_manifest::{Phase, Portfile};
//! let portfile = Portfile::load("ports/hello/Portfile.toml".as_ref())?;
//! let configure = portfile.capabilities.phase(Phase::Configure);
//! println!("{} may run {:?}", portfile.port.name, configure.programs);
//! # Ok(()) }
//! ```
//!
//! # Code map
//!
//! - [`schema`]: the validated types everyone else uses ([`Portfile`],
//!   [`Capabilities`], ...). Each field's doc shows its TOML.
//! - `raw`: the serde shape of the file, `deny_unknown_fields` everywhere,
//!   with spans. The one place the schema's keys are declared.
//! - `validate`: `raw` -> `schema`; every rule serde cannot express.
//! - [`rules`]: those rules as pure string checks (names, versions, paths,
//!   URLs, env names, programs), reusable by other tools.
//! - [`error`]: [`ManifestError`], rendered like a rustc diagnostic;
//!   `de_error` maps `toml`/serde errors onto it, `suggest` finds
//!   "did you mean" candidates, `examples` holds the example TOML quoted in
//!   help texts.
//! - `tests/cases/<case>/{Portfile.toml,expected.txt}`: one Portfile per
//!   rule and error class with its exact rendered errors (the case name
//!   starts with the [`ErrorKind::code`] it fails with, or `valid-`);
//!   `WPORT_BLESS=1 cargo test -p wport-manifest --test cases` rewrites the
//!   expected files.
//!
//! [`Portfile::parse`] returns the first error; [`Portfile::check`] returns
//! every error it can find, for linters.
//!
//! **Architecture invariant:** this crate is pure data. It depends on no
//! runtime (no wasmtime, no network, no process spawning) and does no I/O
//! beyond [`Portfile::load`] reading one file, bounded by
//! [`MAX_PORTFILE_BYTES`]. Everything the engine grants
//! a build comes from a [`Portfile`] that passed this crate's validation, and
//! anything the Portfile does not grant is denied.

#![forbid(unsafe_code)]

mod de_error;
pub mod error;
mod examples;
mod phase;
mod raw;
pub mod rules;
pub mod schema;
mod sha256;
mod suggest;
mod text;
mod validate;

use std::io::Read as _;
use std::path::Path;

use serde::Deserialize;

/// Largest Portfile accepted, in bytes, wherever one is read or parsed
/// ([`Portfile::load`], [`Portfile::parse`], [`Portfile::check`]): real ones
/// are a few kilobytes. `wport build` had no bound while `wport lint` had
/// 4 MiB, and an 8 MiB Portfile cost 43 s and 1.6 GB (issue 11, item 14).
pub const MAX_PORTFILE_BYTES: u64 = 4 << 20;

/// Most schema errors [`Portfile::check`] collects: each costs one more
/// reading of the document, and a file with hundreds of unknown keys is
/// not a Portfile with typos.
const MAX_SCHEMA_ERRORS: usize = 32;

pub use error::{ErrorKind, ManifestError};
pub use phase::{Phase, UnknownPhase};
pub use schema::{
    Build, BuildKind, BuildLimits, Capabilities, Dependencies, MAX_MEMORY_BYTES, MAX_PROCESSES,
    MAX_TIMEOUT_SECS, MIN_MEMORY_BYTES, MIN_PROCESSES, Patchfile, PhaseGrants, PortInfo, Portfile,
    Runtime, RuntimeGrants, Source, SourceLocation, StandardComponent,
};
pub use sha256::{Sha256Hex, Sha256HexError};
pub use suggest::did_you_mean;

impl Portfile {
    /// Parses and validates the text of a `Portfile.toml`. `file` is the name
    /// errors show (e.g. `ports/hello/Portfile.toml`); nothing is read from it.
    ///
    /// On failure this is the first error of [`Portfile::check`].
    pub fn parse(text: &str, file: &str) -> Result<Portfile, ManifestError> {
        Portfile::check(text, file).map_err(|mut errors| errors.swap_remove(0))
    }

    /// Like [`Portfile::parse`], reporting every problem it can find, in file
    /// order (never an empty list). A TOML syntax error stops parsing and is
    /// reported alone. Schema errors (unknown key, wrong type) are collected
    /// one by one: the offending key or value is left out and the document is
    /// read again, so a Portfile with three misspelt keys gets three errors,
    /// not three edit-and-rerun rounds (issue 14). A required key left out
    /// that way takes its table with it; a key missing from the file ends
    /// the schema pass (nothing can stand in for it). When what remains reads
    /// cleanly, each table's first broken rule is reported too.
    pub fn check(text: &str, file: &str) -> Result<Portfile, Vec<ManifestError>> {
        if text.len() as u64 > MAX_PORTFILE_BYTES {
            return Err(vec![ManifestError::too_large(
                file,
                text.len() as u64,
                true,
            )]);
        }
        let ctx = error::Ctx::new(text, file);
        let document =
            toml::de::DeTable::parse(text).map_err(|err| vec![de_error::syntax(&err, &ctx)])?;
        let mut document = document;
        let mut errors = Vec::new();
        // Names of the keys left out: a later "missing field" for one of them
        // is a consequence of leaving it out, not another mistake.
        let mut pruned: Vec<String> = Vec::new();
        let raw = loop {
            match raw::RawPortfile::deserialize(toml::de::Deserializer::from(document.clone())) {
                Ok(raw) => break Some(raw),
                Err(err) => {
                    let missing = err
                        .message()
                        .strip_prefix("missing field `")
                        .and_then(|rest| rest.split('`').next());
                    let span = err.span().unwrap_or(0..0);
                    if let Some(field) = missing {
                        // Missing because it was left out, or misspelt
                        // (`sha265` already reported with "did you mean
                        // `sha256`?"): leave out the table missing it too,
                        // and read on.
                        let consequence = pruned.iter().any(|key| key == field)
                            || did_you_mean(field, pruned.iter().map(String::as_str)).is_some();
                        if !consequence {
                            errors.push(de_error::serde(&err, &ctx));
                            break None;
                        }
                        if span.is_empty()
                            || !de_error::prune(document.get_mut(), &span, true, &mut pruned)
                        {
                            break None;
                        }
                        continue;
                    }
                    errors.push(de_error::serde(&err, &ctx));
                    if errors.len() >= MAX_SCHEMA_ERRORS
                        || !de_error::prune(document.get_mut(), &span, false, &mut pruned)
                    {
                        break None;
                    }
                }
            }
        };
        if let Some(raw) = raw {
            match validate::portfile(raw, &ctx) {
                Ok(portfile) if errors.is_empty() => return Ok(portfile),
                Ok(_) => {}
                Err(rules) => errors.extend(rules),
            }
        }
        errors.sort_by_key(|e| e.span().map_or(0, |span| span.start));
        Err(errors)
    }

    /// Reads `path` and [`Portfile::parse`]s it; errors name `path` as given.
    ///
    /// Only a regular file is read, and no more than [`MAX_PORTFILE_BYTES`]
    /// of it ([`ErrorKind::TooLarge`] past that). It is opened with
    /// `O_NONBLOCK` and checked with `fstat` after opening, so a FIFO in its
    /// place cannot block the caller (a port directory is someone else's).
    pub fn load(path: &Path) -> Result<Portfile, ManifestError> {
        let (text, file) = Portfile::read(path)?;
        Portfile::parse(&text, &file)
    }

    /// Reads `path` as [`Portfile::load`] does and [`Portfile::check`]s it:
    /// every problem of the file, for a caller that shows them all.
    pub fn load_checked(path: &Path) -> Result<Portfile, Vec<ManifestError>> {
        let (text, file) = Portfile::read(path).map_err(|e| vec![e])?;
        Portfile::check(&text, &file)
    }

    /// The text of `path` and the name errors show, with [`Portfile::load`]'s
    /// bounds.
    fn read(path: &Path) -> Result<(String, String), ManifestError> {
        use std::os::unix::fs::OpenOptionsExt as _;
        let file = path.display().to_string();
        let io = |err| ManifestError::io(&file, err);
        let handle = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(io)?;
        let meta = handle.metadata().map_err(io)?;
        if !meta.is_file() {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file",
            )));
        }
        let mut bytes = Vec::with_capacity(meta.len().min(MAX_PORTFILE_BYTES) as usize);
        handle
            .take(MAX_PORTFILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > MAX_PORTFILE_BYTES {
            return Err(ManifestError::too_large(
                &file,
                meta.len().max(bytes.len() as u64),
                false,
            ));
        }
        let text = String::from_utf8(bytes)
            .map_err(|err| io(std::io::Error::new(std::io::ErrorKind::InvalidData, err)))?;
        Ok((text, file))
    }
}
