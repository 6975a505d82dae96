//! `wport-launch`: runs a program wport installed, confined by its port's
//! `[runtime]` table (docs/CAPABILITIES.md, "`[runtime]`").
//!
//! # Code map
//!
//! - [`policy`]: the compiled policy each package ships per program, its
//!   text format, and the package layout (`bin/NAME` is a link to
//!   `libexec/wport/PORT/wport-launch`, next to `policy/NAME` and
//!   `real/NAME`). Used by the packager (`wport`) and the launcher.
//! - [`launch`]: the launcher itself: find the program from the link it
//!   was started through, expand the policy, build the Landlock ruleset
//!   (the default trees, the policy's paths, the paths named on the
//!   command line), `no_new_privs`, and for a program without network a
//!   seccomp filter on `socket` (`seccomp`: no UDP, no other families,
//!   since Landlock covers only TCP) — or, on a kernel whose Landlock has
//!   no TCP rules, a private network namespace; then `execve` of the real
//!   program with the caller's argv and environment.
//! - `src/main.rs`: the binary, a C `main` so the caller's argv, envp and
//!   signal dispositions reach the program untouched.
//! - `src/bin/probe.rs`: a test program for `tests/launch.rs`.
//!
//! **Architecture invariant:** the launcher never forks and never runs
//! anything but the program it launches: it replaces itself in place, so
//! the process id, process group, terminal, inherited descriptors, exit
//! status and signals are the program's own. It is single-threaded, so the
//! Landlock domain it takes on (per thread) is the whole process's.

pub mod launch;
pub mod policy;
mod seccomp;

pub use policy::{Layout, Policy, PolicyError};
