//! Phase-runner benchmarks, each printed against a native baseline measured
//! in the same run:
//!
//! 1. start-up: a cached component's store + WASI context + instantiate +
//!    one phase call, vs `fork+exec` of `/bin/true` (the cheapest native
//!    "start something" there is). Target: under 5 ms per phase.
//! 2. copying 10,000 small files: with the host bulk copy (`files.copy-tree`)
//!    and through WASI `std::fs`, vs the same copy done natively with
//!    `std::fs` and with `cp -r`. Target: host copy at most 2x native.
//!
//! Run: `cargo run --release -p wport-bench`

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wport_manifest::Phase;
use wport_sandbox::{BuildLog, BuildSpec, HostDirs, Limits, Sandbox, SandboxConfig};

const FILES: usize = 10_000;
const FILE_SIZE: usize = 1024;
const STARTS: u32 = 200;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn make_tree(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for d in 0..100 {
        let sub = dir.join(format!("d{d:03}"));
        std::fs::create_dir(&sub).unwrap();
        for f in 0..FILES / 100 {
            let body = vec![(d * 7 + f) as u8; FILE_SIZE];
            std::fs::write(sub.join(format!("f{f:03}.txt")), body).unwrap();
        }
    }
}

fn native_copy(src: &Path, dst: &Path) {
    std::fs::create_dir(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let (from, to) = (entry.path(), dst.join(entry.file_name()));
        if entry.file_type().unwrap().is_dir() {
            native_copy(&from, &to);
        } else {
            std::fs::copy(&from, &to).unwrap();
        }
    }
}

fn make_spec(root: &Path) -> Arc<BuildSpec> {
    let dirs = HostDirs {
        sources: root.join("sources"),
        work: root.join("work"),
        destroot: root.join("destroot"),
    };
    for d in [&dirs.sources, &dirs.work, &dirs.destroot] {
        std::fs::create_dir_all(d).unwrap();
    }
    Arc::new(BuildSpec {
        name: "bench".into(),
        version: "1".into(),
        revision: 0,
        prefix: "/opt/wport".into(),
        jobs: 1,
        source_date_epoch: 0,
        dirs,
        worksrc: None,
        distfiles: vec![],
        patchfiles: vec![],
        params: Default::default(),
        limits: Limits::default(),
        exec: None,
    })
}

#[allow(
    clippy::disallowed_methods,
    reason = "the benchmark's native baselines: fork+exec of /bin/true, cp -r"
)]
fn main() {
    let bytes = std::fs::read(env!("WPORT_BENCH_GUEST")).expect("the bench guest");
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let (log, _sink) = BuildLog::memory();

    // --- 1. start-up -----------------------------------------------------
    let sandbox = Sandbox::new(SandboxConfig {
        cache_dir: Some(cache.clone()),
    })
    .unwrap();
    let t = Instant::now();
    sandbox.load(&bytes).unwrap();
    let cold = t.elapsed();
    drop(sandbox);
    // A new process would start here: new engine, component mapped from the cache.
    let t = Instant::now();
    let sandbox = Sandbox::new(SandboxConfig {
        cache_dir: Some(cache),
    })
    .unwrap();
    let engine_new = t.elapsed();
    let t = Instant::now();
    let loaded = sandbox.load(&bytes).unwrap();
    let cached_load = t.elapsed();
    assert!(loaded.from_cache);

    let spec = make_spec(&tmp.path().join("start"));
    let mut phase_times = Vec::new();
    for _ in 0..STARTS {
        let t = Instant::now();
        sandbox
            .run_phase(&loaded, &spec, Phase::Patch, &log)
            .unwrap();
        phase_times.push(t.elapsed());
    }
    let mut spawn_times = Vec::new();
    for _ in 0..STARTS {
        let t = Instant::now();
        let s = std::process::Command::new("/bin/true").status().unwrap();
        assert!(s.success());
        spawn_times.push(t.elapsed());
    }
    let (phase, spawn) = (median(phase_times), median(spawn_times));

    println!("== start-up (median of {STARTS})");
    println!(
        "cold compile of the component          {:>9.2} ms",
        ms(cold)
    );
    println!(
        "new engine                             {:>9.2} ms",
        ms(engine_new)
    );
    println!(
        "load precompiled from cache            {:>9.2} ms",
        ms(cached_load)
    );
    println!(
        "store+WASI+instantiate+phase call      {:>9.3} ms   (target < 5 ms)",
        ms(phase)
    );
    println!(
        "native baseline: spawn /bin/true       {:>9.3} ms",
        ms(spawn)
    );
    println!(
        "ratio phase start / native spawn       {:>9.2}x",
        ms(phase) / ms(spawn)
    );

    // --- 2. copying 10,000 files -------------------------------------------
    let root = tmp.path().join("copy");
    let spec = make_spec(&root);
    let tree = spec.dirs.work.join("tree");
    make_tree(&tree);
    let runs = 5;
    let (mut native, mut cp, mut host, mut wasi) = (vec![], vec![], vec![], vec![]);
    for _ in 0..runs {
        for d in ["native-copy", "cp-copy", "host-copy", "wasi-copy"] {
            let _ = std::fs::remove_dir_all(spec.dirs.work.join(d));
        }
        let t = Instant::now();
        native_copy(&tree, &spec.dirs.work.join("native-copy"));
        native.push(t.elapsed());

        let t = Instant::now();
        let s = std::process::Command::new("cp")
            .arg("-r")
            .arg(&tree)
            .arg(spec.dirs.work.join("cp-copy"))
            .status()
            .unwrap();
        assert!(s.success());
        cp.push(t.elapsed());

        let t = Instant::now();
        sandbox
            .run_phase(&loaded, &spec, Phase::Configure, &log)
            .unwrap();
        host.push(t.elapsed());

        let t = Instant::now();
        sandbox
            .run_phase(&loaded, &spec, Phase::Build, &log)
            .unwrap();
        wasi.push(t.elapsed());
    }
    let count = std::fs::read_dir(spec.dirs.work.join("host-copy/d000"))
        .unwrap()
        .count();
    assert_eq!(count, FILES / 100);
    let (native, cp, host, wasi) = (median(native), median(cp), median(host), median(wasi));
    // The baseline is the faster of the two native copies.
    let base = native.min(cp);
    println!("== copy {FILES} files of {FILE_SIZE} B (median of {runs})");
    println!(
        "native std::fs copy                    {:>9.1} ms",
        ms(native)
    );
    println!("native cp -r                           {:>9.1} ms", ms(cp));
    println!(
        "baseline = faster native               {:>9.1} ms",
        ms(base)
    );
    println!(
        "guest, host bulk copy (files.copy-tree){:>9.1} ms   {:.2}x native (target <= 2x)",
        ms(host),
        ms(host) / ms(base)
    );
    println!(
        "guest, WASI std::fs file by file       {:>9.1} ms   {:.2}x native",
        ms(wasi),
        ms(wasi) / ms(base)
    );
}
