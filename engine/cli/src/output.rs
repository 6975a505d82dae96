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

use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

use wport_fetch::download::{Download, Progress, Reporter};

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
    let urls = match level() {
        Verbosity::Quiet => return Progress::quiet(),
        Verbosity::Normal => false,
        Verbosity::Verbose => true,
    };
    if std::io::stderr().is_terminal() {
        Progress::to(Bars {
            bars: indicatif::MultiProgress::with_draw_target(
                indicatif::ProgressDrawTarget::stderr(),
            ),
            urls,
        })
    } else {
        Progress::to(Lines)
    }
}

/// Downloads as lines on stderr, one when each starts and one when it ends
/// (every URL is named: a log is read afterwards).
struct Lines;

impl Reporter for Lines {
    fn start(&self, label: &str, url: &str, _total: u64) -> Box<dyn Download> {
        eprintln!("--->  Fetching {label} from {url}");
        Box::new(Line {
            label: label.to_owned(),
            started: Instant::now(),
        })
    }
}

struct Line {
    label: String,
    started: Instant,
}

impl Download for Line {
    fn advance(&self, _bytes: u64) {}

    fn finish(&self, result: Result<u64, &str>) {
        let label = &self.label;
        match result {
            Ok(bytes) => {
                let secs = self.started.elapsed().as_secs_f64().max(1e-6);
                eprintln!(
                    "--->  Fetched {label}: {bytes} bytes in {secs:.2} s ({:.1} MB/s)",
                    bytes as f64 / secs / 1e6
                );
            }
            Err(e) => eprintln!("--->  Failed {label}: {e}"),
        }
    }
}

/// Downloads as progress bars on stderr; with `-v` each URL is also named,
/// above the bars, as its download starts.
struct Bars {
    bars: indicatif::MultiProgress,
    urls: bool,
}

impl Reporter for Bars {
    fn start(&self, label: &str, url: &str, total: u64) -> Box<dyn Download> {
        if self.urls {
            let _ = self
                .bars
                .println(format!("--->  Fetching {label} from {url}"));
        }
        let bar = self.bars.add(indicatif::ProgressBar::new(total));
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg:30!} [{bar:30}] {bytes:>10}/{total_bytes:10} {bytes_per_sec:>12} {eta:>4}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar.set_message(label.to_owned());
        Box::new(Bar {
            bar,
            bars: self.bars.clone(),
        })
    }
}

struct Bar {
    bar: indicatif::ProgressBar,
    /// To print a failure without tearing the other bars.
    bars: indicatif::MultiProgress,
}

impl Download for Bar {
    fn advance(&self, bytes: u64) {
        self.bar.inc(bytes);
    }

    fn finish(&self, result: Result<u64, &str>) {
        match result {
            Ok(_) => self.bar.finish_and_clear(),
            Err(e) => {
                self.bar.abandon();
                let _ = self.bars.println(format!("failed: {e}"));
            }
        }
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
