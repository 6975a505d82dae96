//! The `wport` command-line tool, as a library so tests can drive it.
//!
//! Code map: `main.rs` parses arguments (clap) and dispatches to
//! `commands/<verb>.rs`, which turn arguments into settings and call the
//! operations here: [`build`] runs a port end to end; [`check`] compares
//! two builds of it (`wport build --check`); [`embedded`] holds the
//! standard components and the demo port compiled into the binary;
//! [`exit`] documents every exit code in one place; [`output`] holds the
//! `-q`/`-v` level every verb prints by; [`view`] computes which
//! installed dependencies each phase of a build sees at the prefix;
//! [`runtime`] turns a port's `[runtime]` into the launcher and policies
//! its package ships (`wport run` is `commands/run.rs`); [`provenance`]
//! is the host's record of a build's mediated calls that a package's
//! attestation lists; [`quorum`] decides whether enough independent
//! builders attest a signed binary (k of n builders).

pub mod build;
pub mod check;
pub mod distfiles;
pub mod embedded;
pub mod exit;
pub mod native;
pub mod output;
pub mod paths;
pub mod provenance;
pub mod quorum;
pub mod resolve;
pub mod runtime;
pub mod tuf_http;
pub mod view;
