//! `wport-launch`: runs a program wport installed, confined by its port's
//! `[runtime]` table (docs/CAPABILITIES.md, "`[runtime]`").
//!
//! # Code map
//!
//! - [`policy`]: the compiled policy each package ships per program, its
//!   text format, and the package layout (`bin/NAME` is a link to
//!   `libexec/wport/PORT/wport-launch`, next to `policy/NAME` and
//!   `real/NAME`). Used by the packager (`wport`) and the launcher.
//! - [`PROGRAM`]: the launcher program itself, which `build.rs` compiles
//!   from `src/program.rs` (`no_std`, no C library, its own `_start`) and
//!   every package gets a copy of. Its modules:
//!   - `launch`: find the program from the link it was started through,
//!     expand the policy, build the Landlock ruleset (the default trees,
//!     the policy's paths, the paths named on the command line),
//!     `no_new_privs`, and for a program without network a seccomp filter
//!     on `socket` (`seccomp`: no UDP, no other families, since Landlock
//!     covers only TCP) — or, on a kernel whose Landlock has no TCP rules,
//!     a private network namespace; then `execve` of the real program with
//!     the caller's argv and environment;
//!   - `sys`: the system calls, made directly.
//!
//!   They are modules of this library too, for their unit tests (and so
//!   clippy reads them); the library itself does not run them.
//! - `src/bin/probe.rs`: a test program for `tests/launch.rs`.
//!
//! **Architecture invariant:** the launcher never forks and never runs
//! anything but the program it launches: it replaces itself in place, so
//! the process id, process group, terminal, inherited descriptors, exit
//! status and signals are the program's own. It is single-threaded, so the
//! Landlock domain it takes on (per thread) is the whole process's.

extern crate alloc;

pub mod policy;

// The launcher program's modules, here for their unit tests: the library
// calls none of them (the program does; its build denies dead code).
#[cfg(test)]
#[allow(dead_code, reason = "run by the launcher program, not by the library")]
mod launch;
#[cfg(test)]
#[allow(dead_code, reason = "run by the launcher program, not by the library")]
mod seccomp;
#[cfg(test)]
#[allow(dead_code, reason = "run by the launcher program, not by the library")]
mod sys;

pub use policy::{Layout, Policy, PolicyError};

/// The launcher program (`libexec/wport/PORT/wport-launch` in every
/// package), as `build.rs` compiled it. Empty on a target without one
/// (only Linux on x86_64 and aarch64 has Landlock and this launcher).
pub const PROGRAM: &[u8] = include_bytes!(env!("WPORT_LAUNCH_PROGRAM"));
