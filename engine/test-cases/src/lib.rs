//! The harness of wport's data-driven tests: a directory of cases, each a
//! directory with its input and the expected output, becomes one test per
//! case (libtest-mimic: `cargo test -p CRATE --test cases NAME` runs one,
//! `--list` lists them), and this crate owns the one bless step that
//! (re)writes the expected files.
//!
//! Run a case test binary with `WPORT_BLESS=1` to rewrite every expected
//! file from the current output; review the diff before committing it.

use std::fs;
use std::path::{Path, PathBuf};

pub use libtest_mimic::{Failed, Trial};

/// Whether this run rewrites the expected files (`WPORT_BLESS=1`).
pub fn blessing() -> bool {
    std::env::var_os("WPORT_BLESS").is_some_and(|v| v == "1")
}

/// The case directories directly under `root`, sorted by name; panics when
/// there are none (a moved directory must not pass as an empty suite).
pub fn case_dirs(root: &Path) -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = fs::read_dir(root)
        .unwrap_or_else(|e| panic!("reading {}: {e}", root.display()))
        .map(|entry| {
            entry
                .unwrap_or_else(|e| panic!("reading {}: {e}", root.display()))
                .path()
        })
        .filter(|path| path.is_dir())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases under {}", root.display());
    cases
}

/// A case's name: its directory's name.
pub fn case_name(case: &Path) -> String {
    case.file_name().unwrap().to_string_lossy().into_owned()
}

/// Compares `actual` with the case's expected file `file` (writing it first
/// when blessing); the error says which differs and shows both.
pub fn check_expected(case: &Path, file: &str, actual: &str) -> Result<(), String> {
    let path = case.join(file);
    if blessing() {
        fs::write(&path, actual).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    match fs::read_to_string(&path) {
        Ok(expected) if expected == actual => Ok(()),
        Ok(expected) => Err(format!(
            "output differs from {file}\n--- expected\n{expected}--- actual\n{actual}"
        )),
        Err(_) => Err(format!(
            "no {file} (run with WPORT_BLESS=1 to create it)\n--- actual\n{actual}"
        )),
    }
}

/// Runs `trials` as the test binary's tests, with libtest's arguments
/// (filters, `--exact`, `--list`, `--test-threads`), and exits.
pub fn run(trials: Vec<Trial>) -> ! {
    libtest_mimic::run(&libtest_mimic::Arguments::from_args(), trials).exit()
}
