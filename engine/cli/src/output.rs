//! How much wport says besides each verb's results: the global `-q/--quiet`
//! and `-v/--verbose` flags, decided once in `main` and read here by every
//! verb, so no verb has flags of its own for it.
//!
//! | level | progress (`--->` steps, download bars or lines) | notes ([`note!`]) | detail ([`detail!`]) | warnings, errors |
//! |-------|:---:|:---:|:---:|:---:|
//! | `-q`  | no  | no  | no  | yes |
//! | default | yes | yes | no | yes |
//! | `-v`  | yes | yes | yes | yes |
//!
//! Notes are what wport tells the user besides the result: which port is
//! built, that a tree is read unsigned, what to do next after a `repo`
//! step. Detail is what someone chasing a problem wants: each URL fetched,
//! each phase's time as it ends, what was skipped and why, and for `build`
//! a copy of the build log on stderr. Warnings and errors are never
//! silenced: `-q` is for scripts, which still need to hear why something
//! failed or was not verified. A verb's results (stdout: `list`, `built X`,
//! a package path) are printed at every level.

use std::sync::atomic::{AtomicU8, Ordering};

use wport_fetch::download::Progress;

/// How much wport says on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `-q`: warnings and errors only.
    Quiet = 0,
    /// Progress and notes.
    Normal = 1,
    /// `-v`: also detail.
    Verbose = 2,
}

static LEVEL: AtomicU8 = AtomicU8::new(Verbosity::Normal as u8);

/// Set the level for the rest of the process (`main`, from the flags).
pub fn set(level: Verbosity) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// The level `main` set ([`Verbosity::Normal`] in a library caller).
pub fn level() -> Verbosity {
    match LEVEL.load(Ordering::Relaxed) {
        0 => Verbosity::Quiet,
        1 => Verbosity::Normal,
        _ => Verbosity::Verbose,
    }
}

/// Whether progress and notes are shown (not `-q`).
pub fn shows_notes() -> bool {
    level() >= Verbosity::Normal
}

/// Whether detail is shown (`-v`).
pub fn shows_detail() -> bool {
    level() >= Verbosity::Verbose
}

/// Download progress at this level: none with `-q`; bars on a terminal,
/// lines otherwise; with `-v`, every URL tried is also named as it starts.
pub fn progress() -> Progress {
    match level() {
        Verbosity::Quiet => Progress::quiet(),
        Verbosity::Normal => Progress::auto(),
        Verbosity::Verbose => Progress::auto().naming_urls(),
    }
}

/// The flag that gives a child `wport` (a build run by `package`,
/// `install` or `upgrade`) this process's level, if it is not the default.
pub fn child_flag() -> Option<&'static str> {
    match level() {
        Verbosity::Quiet => Some("--quiet"),
        Verbosity::Normal => None,
        Verbosity::Verbose => Some("--verbose"),
    }
}

/// A note on stderr (a line, as `eprintln!`), unless `-q`.
#[macro_export]
macro_rules! note {
    ($($arg:tt)*) => {
        if $crate::output::shows_notes() {
            eprintln!($($arg)*);
        }
    };
}

/// A detail line on stderr (as `eprintln!`), only with `-v`.
#[macro_export]
macro_rules! detail {
    ($($arg:tt)*) => {
        if $crate::output::shows_detail() {
            eprintln!($($arg)*);
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_ordered_and_read_back() {
        assert!(Verbosity::Quiet < Verbosity::Normal && Verbosity::Normal < Verbosity::Verbose);
        for l in [Verbosity::Quiet, Verbosity::Verbose, Verbosity::Normal] {
            set(l);
            assert_eq!(level(), l);
            assert_eq!(shows_notes(), l != Verbosity::Quiet);
            assert_eq!(shows_detail(), l == Verbosity::Verbose);
        }
    }
}
