//! wport's binary packages and the install registry.
//!
//! Code map:
//! - [`manifest`]: the package manifest (name, version, dependencies,
//!   every file/link/directory, provenance), its validation, and the signed
//!   envelope (wport-trust's ed25519 keys and canonical JSON).
//! - [`archive`]: creating a deterministic package from a destroot, opening
//!   and verifying one, unpacking its payload into staging while hashing.
//! - [`attestation`]: the package's provenance as an in-toto Statement
//!   with a SLSA Provenance v1 predicate in a DSSE envelope.
//! - [`db`]: the registry, a SQLite database (WAL), one transaction per
//!   operation.
//! - [`prefix`]: journaled install, uninstall and upgrade (`prefix/upgrade.rs`:
//!   replacing an installed package by another version), crash recovery,
//!   verify.
//! - [`store`]: per-package store layers (hard-link farms of installed
//!   files, checked against the registry) that a build's dependency view
//!   is mounted from, and their GC.
//! - [`repo`]: binary repositories (a directory of packages plus a signed
//!   index).
//! - [`fsops`]: path operations through directory handles that never follow
//!   a link inside the prefix.
//!
//! **Architecture Invariant:** nothing inside the prefix is reached by an
//! ambient path: the prefix is opened once, and every path below it is
//! walked one component at a time with `O_NOFOLLOW`.

pub mod archive;
pub mod attestation;
pub mod db;
pub mod error;
pub mod fsops;
pub mod manifest;
pub mod prefix;
pub mod repo;
pub mod store;

pub use archive::{
    OpenedPackage, PackageMeta, RuntimeWrap, create_package, create_package_attested,
    create_package_with, open_package, open_package_file,
};
pub use error::{RegistryError, Result};
pub use manifest::{Manifest, load_trusted_keys};
pub use prefix::{InstallOptions, Prefix, PrefixOptions, Problem, UpgradeReport};
