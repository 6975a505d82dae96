//! Mean latency of a mediated `true` (one session, policy check, confinement,
//! audit) against a plain `std::process::Command::new("true")` spawn, in the
//! same run. Target: at most +0.5 ms per call.
//!
//! `cargo bench -p wport-exec` (as root or as a user with user namespaces);
//! N defaults to 2000, override with WPORT_BENCH_N.

#![allow(
    clippy::disallowed_methods,
    reason = "a benchmark: a plain spawn is the baseline the executor is compared with"
)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use wport_exec::{
    DirAccess, Executor, ExecutorConfig, PhaseAccess, Policy, Request, SandboxDirs, SessionOptions,
};

fn main() {
    let n: usize = std::env::var("WPORT_BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    // Started first, as the engine does: the helper forks from a small process.
    let exec = Executor::start(ExecutorConfig::default()).expect("executor");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let dirs = SandboxDirs {
        sources: tmp.path().join("sources"),
        work: tmp.path().join("work"),
        destroot: tmp.path().join("destroot"),
    };
    let id = exec.build_identity();
    for d in [&dirs.sources, &dirs.work, &dirs.destroot] {
        std::fs::create_dir(d).unwrap();
        std::os::unix::fs::chown(d, Some(id.uid), Some(id.gid)).unwrap();
    }
    let t = Instant::now();
    let session = exec
        .session(&dirs, &SessionOptions::default())
        .expect("session");
    let setup = t.elapsed();

    // The build phase's access (destroot hidden), as the engine grants it.
    let access = PhaseAccess {
        sources: DirAccess::ReadOnly,
        work: DirAccess::ReadWrite,
        destroot: DirAccess::None,
        view: None,
    };
    let policy = Policy {
        programs: vec!["true".into()],
        env: BTreeMap::new(),
        allow_loader_env: false,
        timeout: Duration::from_secs(10),
        allow_work_scripts: false,
    };
    let req = Request {
        program: "true".into(),
        args: vec![],
        cwd: "/work".into(),
        env: vec![],
        capture_stdout: false,
    };
    let mut sink = std::io::sink();

    let mut mediated = |count: usize| {
        let t = Instant::now();
        for _ in 0..count {
            let o = session
                .run(&access, &policy, &req, &mut sink)
                .expect("mediated true");
            assert!(o.status.success());
        }
        t.elapsed()
    };
    let plain = |count: usize| {
        let t = Instant::now();
        for _ in 0..count {
            let s = std::process::Command::new("true")
                .status()
                .expect("plain true");
            assert!(s.success());
        }
        t.elapsed()
    };
    // Warm up both paths (page cache, Landlock ruleset cache), then interleave
    // rounds so machine noise hits both alike.
    mediated(50);
    plain(50);
    let rounds = 10;
    let (mut m, mut p) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..rounds {
        m += mediated(n / rounds);
        p += plain(n / rounds);
    }
    let per = |d: Duration| d.as_secs_f64() * 1e3 / (n / rounds * rounds) as f64;
    let (mm, pm) = (per(m), per(p));
    println!(
        "session setup (namespaces + mount tree): {:.2} ms",
        setup.as_secs_f64() * 1e3
    );
    println!("plain    Command::new(\"true\"): {pm:.3} ms/call  (n={n})");
    println!("mediated Session::run(true):   {mm:.3} ms/call  (n={n})");
    println!("difference: {:+.3} ms/call  (target <= +0.5 ms)", mm - pm);
}
