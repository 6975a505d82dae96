//! Extraction speed: `wport_fetch::extract` against GNU `tar -xf` on the same
//! archive, in the same run, best of several alternating rounds (warm page cache
//! for both).
//!
//! Usage: `cargo bench -p wport-fetch --bench extract -- [ARCHIVE...]`
//! With no archive, a synthetic source-like tree (many small text files, a few
//! larger ones) is generated and benchmarked as .tar, .tar.gz, .tar.xz, .tar.zst.
//!
//! This dev tool runs `tar` as a comparison baseline; the engine itself never
//! spawns processes outside `engine/exec`.

#![allow(
    clippy::disallowed_methods,
    reason = "a benchmark: GNU tar is the baseline extraction is compared with"
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use wport_fetch::extract::{Limits, extract};

const ROUNDS: usize = 5;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let work = tempfile::tempdir().expect("tempdir");
    let archives: Vec<PathBuf> = if args.is_empty() {
        synthetic(work.path())
    } else {
        args.iter().map(PathBuf::from).collect()
    };
    println!(
        "{:<34} {:>9} {:>7} {:>7} | {:>8} {:>8} {:>6} | {:>8} {:>8} {:>6}",
        "archive",
        "bytes",
        "entries",
        "MiB out",
        "wall ms",
        "tar",
        "ratio",
        "cpu ms",
        "tar",
        "ratio"
    );
    for a in &archives {
        bench_one(a, work.path());
    }
}

fn bench_one(archive: &Path, work: &Path) {
    let mut ours = Duration::MAX;
    let mut theirs = Duration::MAX;
    // CPU time is far steadier than wall time on a shared machine.
    let (mut ours_cpu, mut theirs_cpu) = (0u64, 0u64);
    let mut report = None;
    let runs = work.join("runs");
    std::fs::create_dir(&runs).unwrap();
    // Nothing is deleted until every round is done: ext4 makes inode allocation
    // slow for a while after many deletions (`recently_deleted`), which would
    // penalise whichever extractor runs right after a cleanup. The order also
    // alternates, for the same reason.
    for round in 0..ROUNDS {
        for ours_turn in [round % 2 == 0, round % 2 == 1] {
            if ours_turn {
                let d = runs.join(format!("ours-{round}"));
                std::fs::create_dir(&d).unwrap();
                let dir = Dir::open_ambient_dir(&d, ambient_authority()).unwrap();
                let c = cpu_ticks().0;
                let t = Instant::now();
                let r = extract(archive, &dir, &Limits::default())
                    .unwrap_or_else(|e| panic!("{}: {e}", archive.display()));
                ours = ours.min(t.elapsed());
                ours_cpu += cpu_ticks().0 - c;
                report = Some(r);
            } else {
                let d = runs.join(format!("tar-{round}"));
                std::fs::create_dir(&d).unwrap();
                let c = cpu_ticks().1;
                let t = Instant::now();
                let status = Command::new("tar")
                    .arg("-xf")
                    .arg(archive)
                    .arg("-C")
                    .arg(&d)
                    .status()
                    .expect("run tar");
                theirs = theirs.min(t.elapsed());
                theirs_cpu += cpu_ticks().1 - c;
                assert!(status.success(), "tar -xf {} failed", archive.display());
            }
        }
    }
    // Same tree as GNU tar: names, types, contents, link targets, x bits, mtimes.
    assert_eq!(
        tree(&runs.join("ours-0")),
        tree(&runs.join("tar-0")),
        "{}: trees differ from tar's",
        archive.display()
    );
    std::fs::remove_dir_all(&runs).unwrap();
    let r = report.unwrap();
    let name = archive.file_name().unwrap().to_string_lossy();
    let tick_ms = 10.0 / ROUNDS as f64; // mean over rounds; USER_HZ = 100 on Linux
    println!(
        "{:<34} {:>9} {:>7} {:>7.1} | {:>8.1} {:>8.1} {:>6.2} | {:>8.1} {:>8.1} {:>6.2}",
        name,
        std::fs::metadata(archive).unwrap().len(),
        r.entries,
        r.bytes as f64 / (1 << 20) as f64,
        ours.as_secs_f64() * 1e3,
        theirs.as_secs_f64() * 1e3,
        ours.as_secs_f64() / theirs.as_secs_f64(),
        ours_cpu as f64 * tick_ms,
        theirs_cpu as f64 * tick_ms,
        ours_cpu as f64 / (theirs_cpu.max(1)) as f64,
    );
}

/// (this process's user+system ticks, its waited-for children's), from
/// /proc/self/stat. `tar` waits for its decompressor child, so the children's
/// figure covers both.
fn cpu_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<u64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // Fields 14..=17 of proc(5) (utime stime cutime cstime); `after` starts at field 3.
    (f[11] + f[12], f[13] + f[14])
}

/// Everything that matters to a build about an extracted tree.
fn tree(root: &Path) -> Vec<(PathBuf, String)> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().to_path_buf();
            let desc = if m.file_type().is_symlink() {
                format!("link {:?}", std::fs::read_link(&p).unwrap())
            } else if m.is_dir() {
                stack.push(p.clone());
                "dir".to_string()
            } else {
                let data = std::fs::read(&p).unwrap();
                let digest = wport_fetch::Sha256::of(&data);
                format!(
                    "file x={} mtime={} {digest}",
                    m.mode() & 0o100 != 0,
                    m.mtime()
                )
            };
            out.push((rel, desc));
        }
    }
    out.sort();
    out
}

/// A deterministic source-like tree: 4,000 small text files in 200 directories
/// plus a few 4 MiB files; ~45 MiB uncompressed.
fn synthetic(work: &Path) -> Vec<PathBuf> {
    let mut b = tar::Builder::new(Vec::new());
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let words = [
        "int", "return", "static", "void", "struct", "if", "else", "for", "while", "const", "char",
        "size_t",
    ];
    let text = |n: usize, next: &mut dyn FnMut() -> u64| {
        let mut s = Vec::with_capacity(n);
        while s.len() < n {
            s.extend_from_slice(words[(next() % words.len() as u64) as usize].as_bytes());
            s.push(if next().is_multiple_of(8) {
                b'\n'
            } else {
                b' '
            });
        }
        s
    };
    for d in 0..200 {
        for f in 0..20 {
            let size = 500 + (next() % 12_000) as usize;
            let data = text(size, &mut next);
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_mtime(1_700_000_000);
            b.append_data(
                &mut h,
                format!("synth-1.0/dir{d:03}/file{f:02}.c"),
                &data[..],
            )
            .unwrap();
        }
    }
    for i in 0..4 {
        let data = text(4 << 20, &mut next);
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        b.append_data(&mut h, format!("synth-1.0/data/big{i}.txt"), &data[..])
            .unwrap();
    }
    let tar = b.into_inner().unwrap();
    let mut out = Vec::new();
    let write = |name: &str, bytes: &[u8]| {
        let p = work.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    out.push(write("synth.tar", &tar));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    out.push(write("synth.tar.gz", &gz.finish().unwrap()));
    let mut xz = xz2::write::XzEncoder::new(Vec::new(), 6);
    xz.write_all(&tar).unwrap();
    out.push(write("synth.tar.xz", &xz.finish().unwrap()));
    out.push(write(
        "synth.tar.zst",
        &zstd::stream::encode_all(&tar[..], 3).unwrap(),
    ));
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    bz.write_all(&tar).unwrap();
    out.push(write("synth.tar.bz2", &bz.finish().unwrap()));
    out
}
