//! Fetch + verify throughput: `wport_fetch::download::Fetcher` downloading
//! into a fresh store (sha256 and size checked while streaming, temporary
//! file, fsync, rename) from the loopback HTTP server and from `file://`,
//! against `sha256sum` of the same file in the same run. Best of several
//! alternating rounds, warm page cache for all.
//!
//! Usage: `cargo bench -p wport-fetch --bench fetch [-- --mib N]`
//! Files: the largest real upstream tarball in `$WPORT_REAL_SOURCES` (skipped,
//! saying so, when unset) and a generated file of N MiB (default 200).
//!
//! This dev tool runs `sha256sum` as the baseline; the engine itself never
//! spawns processes outside `engine/exec`.

#![allow(
    clippy::disallowed_methods,
    reason = "a benchmark: sha256sum is the baseline hashing is compared with"
)]

#[path = "../tests/support/server.rs"]
mod server;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use server::{Route, Server};
use wport_fetch::download::{Fetcher, Progress, Request};
use wport_fetch::quarantine::Quarantine;
use wport_fetch::store::Store;
use wport_fetch::transport::HttpTransport;
use wport_fetch::verify::Expected;

const ROUNDS: usize = 5;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mib: u64 = args
        .iter()
        .position(|a| a == "--mib")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let work = tempfile::tempdir().expect("tempdir");
    let mut files = Vec::new();
    match std::env::var_os("WPORT_REAL_SOURCES") {
        Some(dir) => {
            let largest = std::fs::read_dir(&dir)
                .expect("reading $WPORT_REAL_SOURCES")
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .max_by_key(|p| p.metadata().map_or(0, |m| m.len()));
            files.extend(largest);
        }
        None => {
            println!("WPORT_REAL_SOURCES unset: no real tarball (scripts/fetch-real-sources DIR)")
        }
    }
    files.push(generate(work.path(), mib));

    let server = Server::start();
    println!(
        "{:<32} {:>10} | {:>10} | {:>10} {:>6} | {:>10} {:>6}",
        "file", "bytes", "sha256sum", "http", "ratio", "file://", "ratio"
    );
    println!(
        "{:<32} {:>10} | {:>10} | {:>10} {:>6} | {:>10} {:>6}",
        "", "", "MB/s", "MB/s", "", "MB/s", ""
    );
    for (i, f) in files.iter().enumerate() {
        let url = server.route(&format!("/f{i}"), Route::File(f.clone()));
        bench_one(f, &url, work.path());
    }
}

/// A file of pseudo-random bytes (incompressible, like a tarball).
fn generate(dir: &Path, mib: u64) -> PathBuf {
    use std::io::Write;
    let path = dir.join(format!("generated-{mib}MiB.bin"));
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..mib {
        for chunk in block.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes());
        }
        out.write_all(&block).unwrap();
    }
    out.flush().unwrap();
    path
}

fn bench_one(file: &Path, url: &str, work: &Path) {
    let size = file.metadata().unwrap().len();
    let sha = wport_fetch::download::digest_file(file).unwrap().0;
    let expected = Expected { sha256: sha, size };
    let req = |u: String| Request {
        port: "bench".into(),
        file: "f".into(),
        urls: vec![u],
        expected,
        upstream_contact: "nobody".into(),
    };
    let file_url = format!("file://{}", file.display());
    let (mut base, mut http, mut local) = (Duration::MAX, Duration::MAX, Duration::MAX);
    let runs = work.join("runs");
    std::fs::create_dir_all(&runs).unwrap();
    let mut n = 0;
    // Nothing is deleted until all rounds are done (deletions skew whoever runs next).
    let mut fetch = |u: &str| {
        n += 1;
        let dir = runs.join(n.to_string());
        let fetcher = Fetcher::new(
            Arc::new(HttpTransport::default()),
            Store::open(dir.join("store")).unwrap(),
            Quarantine::new(dir.join("quarantine")),
        );
        let t = Instant::now();
        fetcher
            .fetch(&req(u.to_owned()), &Progress::quiet())
            .expect("the bench fetch verifies");
        t.elapsed()
    };
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let out = Command::new("sha256sum")
            .arg(file)
            .output()
            .expect("running sha256sum");
        base = base.min(t.elapsed());
        assert!(String::from_utf8_lossy(&out.stdout).starts_with(&sha.to_string()));
        http = http.min(fetch(url));
        local = local.min(fetch(&file_url));
    }
    let mbs = |d: Duration| size as f64 / d.as_secs_f64() / 1e6;
    let name = file.file_name().unwrap().to_string_lossy();
    println!(
        "{:<32} {:>10} | {:>10.0} | {:>10.0} {:>5.2}x | {:>10.0} {:>5.2}x",
        name,
        size,
        mbs(base),
        mbs(http),
        base.as_secs_f64() / http.as_secs_f64(),
        mbs(local),
        base.as_secs_f64() / local.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&runs);
}
