//! Replays every committed corpus file (fuzz/corpus/<target>/*) through its
//! target's body, on stable and without libFuzzer: the seeds, and every
//! input a fuzzer ever crashed on (committed as a seed), are regression
//! tests. A directory with no files fails the test, so a corpus cannot
//! silently go missing.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "md"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: no corpus files", dir.display());
    files
}

/// Runs every file of fuzz/corpus/<target>/ through `body`; fails naming
/// every input that panicked or was still running after a minute. (That is
/// a hang detector, not a speed test: the slowest seed takes milliseconds,
/// and libFuzzer's own limit per input is 10 s.)
fn replay(target: &str, body: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../corpus")
        .join(target);
    let mut failed = Vec::new();
    for file in files_in(&dir) {
        let data = std::fs::read(&file).unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let ok = std::panic::catch_unwind(|| body(&data)).is_ok();
            let _ = tx.send(ok);
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(true) => {}
            Ok(false) => failed.push(format!("{}: panicked", file.display())),
            Err(_) => failed.push(format!("{}: still running after 60 s", file.display())),
        }
    }
    assert!(failed.is_empty(), "{target}: {failed:#?}");
}

#[test]
fn portfile_corpus() {
    replay("portfile", wport_fuzz_harness::portfile);
}

#[test]
fn extract_corpus() {
    replay("extract", wport_fuzz_harness::extract);
}

#[test]
fn tuf_metadata_corpus() {
    replay("tuf_metadata", wport_fuzz_harness::tuf_metadata);
}

#[test]
fn package_corpus() {
    replay("package", wport_fuzz_harness::package);
}

#[test]
fn patch_corpus() {
    replay("patch", wport_fuzz_harness::patch);
}
