//! `cargo bench -p wport-exec --bench view` (as root): the mount side of a
//! build's dependency view for 1, 10 and 50 layers of 500 files each,
//! against the same build without a view, in the same run:
//!
//! - setup: `Executor::session` (namespaces, mount tree, and with a view
//!   its overlay) + the first call of a phase (which makes the phase's mount
//!   view and Landlock ruleset), i.e. the fixed cost per build;
//! - a call after that (`true`), which must not change.
//!
//! The layers are made here as plain directories in the store's place; the
//! registry side (resolution, layer creation) is
//! `cargo bench -p wport-registry --bench view`.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use wport_exec::{
    DirAccess, Executor, ExecutorConfig, PhaseAccess, Policy, PrefixView, Request, SandboxDirs,
    SessionOptions,
};

const FILES: usize = 500;
const ROUNDS: usize = 25;
const CALLS: usize = 200;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let exec = Executor::start(ExecutorConfig::default()).expect("executor");
    let tmp = tempfile::Builder::new()
        .prefix("wport-bench-view-")
        .tempdir_in("/var/tmp")
        .unwrap();
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
    let prefix = tmp.path().join("prefix");
    let layers: Vec<PathBuf> = (0..50)
        .map(|i| {
            let layer = prefix.join(format!(".wport/store/dep{i:02}@1"));
            for f in 0..FILES {
                let dir = ["include", "lib", "share/doc", "share/man/man3"][f % 4];
                let p = layer.join(dir).join(format!("dep{i:02}-{f}.h"));
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(&p, b"/* header */\n").unwrap();
            }
            layer
        })
        .collect();
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
    let access = |view| PhaseAccess {
        sources: DirAccess::ReadOnly,
        work: DirAccess::ReadWrite,
        destroot: DirAccess::None,
        view,
    };
    let mut sink = std::io::sink();
    // (setup, per call) of one session with `n` layers (None: no view).
    let mut measure = |n: Option<usize>| -> (Duration, Duration) {
        let options = SessionOptions {
            prefix_view: n.map(|n| PrefixView {
                prefix: prefix.clone(),
                views: vec![layers[..n].to_vec()],
            }),
            ..SessionOptions::default()
        };
        let a = access(n.map(|_| 0));
        let t = Instant::now();
        let session = exec.session(&dirs, &options).expect("session");
        let o = session.run(&a, &policy, &req, &mut sink).expect("true");
        let setup = t.elapsed();
        assert!(o.status.success());
        let t = Instant::now();
        for _ in 0..CALLS {
            session.run(&a, &policy, &req, &mut sink).expect("true");
        }
        (setup, t.elapsed() / CALLS as u32)
    };
    // Warm up (page cache, the helper).
    measure(None);
    measure(Some(50));
    let cases = [None, Some(1), Some(10), Some(50)];
    let mut setup: Vec<Vec<Duration>> = vec![Vec::new(); cases.len()];
    let mut call: Vec<Vec<Duration>> = vec![Vec::new(); cases.len()];
    for _ in 0..ROUNDS {
        for (i, c) in cases.iter().enumerate() {
            let (s, k) = measure(*c);
            setup[i].push(s);
            call[i].push(k);
        }
    }
    let min = |v: &Vec<Duration>| *v.iter().min().expect("rounds");
    let (base_med, base_min) = (median(setup[0].clone()), min(&setup[0]));
    let base_call = median(call[0].clone());
    println!(
        "layers of {FILES} files | session + first call: median, min of {ROUNDS} | extra vs no view: median, min | per call after (median)"
    );
    for (i, c) in cases.iter().enumerate() {
        let (s, m) = (median(setup[i].clone()), min(&setup[i]));
        let k = median(call[i].clone());
        println!(
            "{:>7} | {:7.2} ms, {:7.2} ms | {:+6.2} ms ({:.2}x), {:+6.2} ms ({:.2}x) | {:.3} ms ({:+.3} ms)",
            c.map_or("no view".to_string(), |n| n.to_string()),
            ms(s),
            ms(m),
            ms(s) - ms(base_med),
            s.as_secs_f64() / base_med.as_secs_f64(),
            ms(m) - ms(base_min),
            m.as_secs_f64() / base_min.as_secs_f64(),
            ms(k),
            ms(k) - ms(base_call),
        );
    }
}
