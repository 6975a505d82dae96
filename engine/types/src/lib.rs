//! The words every engine crate speaks the same way, in one leaf crate so
//! that a digest pinned by a Portfile, checked by the fetcher and recorded by
//! the registry is one type, and a path checked here is checked by one set of
//! rules everywhere.
//!
//! - [`digest`]: [`Sha256`], a SHA-256 digest that parses from and displays as
//!   64 lowercase hex digits.
//! - [`date`]: UTC civil dates (`YYYY-MM-DDTHH:MM:SSZ`) to and from Unix
//!   seconds, without a date library.
//! - [`path`]: [`RelPath`] and [`PathRules`], the one relative-path validator:
//!   a strict common core (not empty, not absolute, no NUL, no `..`) and the
//!   few options a use really needs to differ in.
//!
//! **Architecture invariant:** this crate depends on nothing of wport's and
//! does no I/O; anything that needs a file system, a clock or a network
//! belongs in the crate that owns it.

pub mod date;
pub mod digest;
pub mod path;

pub use digest::{Sha256, Sha256Error};
pub use path::{PathRules, RelPath, RelPathError};
