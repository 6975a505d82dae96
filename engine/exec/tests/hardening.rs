//! Issue 11, items 4, 5 and 7: what a build could still reach after the
//! walls of `walls.rs` — socket families outside the network namespace,
//! unbounded memory, SysV shared memory and descriptors, and the host's
//! command line and paths through /proc. Each test reproduces the attack and
//! asserts the precise refusal (errno text, error variant), and that nothing
//! outside the build changed.

mod common;

use std::path::PathBuf;

use common::*;
use wport_exec::{
    AuditStatus, BuildLimit, ExecError, ExecutorConfig, ExitStatus, Session, SessionOptions,
};

const MIB: u64 = 1 << 20;

fn compile_hostile(f: &Fixture) {
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/hostile.c"),
        f.dirs.work.join("hostile.c"),
    )
    .unwrap();
    let id = f.exec.build_identity();
    chown_tree(&f.dirs.work, id.uid, id.gid);
    let mut log = Vec::new();
    let o = f
        .session
        .run(
            &BUILD,
            &policy(&["cc"]),
            &req("cc", &["-o", "hostile", "hostile.c"], "/work"),
            &mut log,
        )
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&log));
}

/// Run `./hostile args` in `session`.
fn hostile(session: &Session, args: &[&str]) -> (Result<wport_exec::Outcome, ExecError>, String) {
    let mut log = Vec::new();
    let r = session.run(
        &BUILD,
        &policy(&["./hostile"]),
        &req("./hostile", args, "/work"),
        &mut log,
    );
    (r, String::from_utf8_lossy(&log).into_owned())
}

fn hostile_line(session: &Session, args: &[&str]) -> (ExitStatus, String) {
    let (r, log) = hostile(session, args);
    let o = r.unwrap_or_else(|e| panic!("{args:?}: {e}\n{log}"));
    (
        o.status,
        String::from_utf8_lossy(&o.stdout).trim().to_owned(),
    )
}

/// A second session on the fixture's directories with small whole-build limits.
fn limited(f: &Fixture, memory: u64, processes: u64) -> Session {
    f.exec
        .session(
            &f.dirs,
            &SessionOptions {
                memory: Some(memory),
                processes: Some(processes),
                ..SessionOptions::default()
            },
        )
        .expect("session starts")
}

fn sh_in(session: &Session, script: &str) -> (Result<wport_exec::Outcome, ExecError>, String) {
    let mut log = Vec::new();
    let r = session.run(
        &BUILD,
        &policy(&["sh"]),
        &req("sh", &["-c", script], "/work"),
        &mut log,
    );
    (r, String::from_utf8_lossy(&log).into_owned())
}

const EAFNOSUPPORT: &str = "Address family not supported by protocol";

#[test]
fn socket_families_a_build_does_not_need_fail_with_eafnosupport() {
    let f = fixture();
    compile_hostile(&f);
    let refused: &[(&str, &[&str])] = &[
        // AF_VSOCK (40): reachable before, bound and listened on.
        ("socket", &["40", "1", "0"]),
        ("socket", &["40", "2", "0"]),
        ("socketpair", &["40", "1", "0"]),
        // AF_PACKET (17), SOCK_RAW, ETH_P_ALL in network order.
        ("socket", &["17", "3", "768"]),
        // AF_BLUETOOTH (31), RFCOMM.
        ("socket", &["31", "1", "3"]),
        // AF_ALG (38): the kernel crypto API, open to any user.
        ("socket", &["38", "5", "0"]),
        // AF_XDP (44), AF_KEY (15), AF_TIPC (30).
        ("socket", &["44", "3", "0"]),
        ("socket", &["15", "3", "2"]),
        ("socket", &["30", "5", "0"]),
        // AF_NETLINK (16) other than NETLINK_ROUTE: kobject uevents (15).
        ("socket", &["16", "2", "15"]),
    ];
    for (call, args) in refused {
        let mut argv = vec![*call];
        argv.extend_from_slice(args);
        let (st, out) = hostile_line(&f.session, &argv);
        assert_eq!(
            (st, out),
            (
                ExitStatus::Exited(1),
                format!("{call} {}: {EAFNOSUPPORT}", args[0])
            ),
            "{argv:?}"
        );
    }
    // What builds use still works: unix sockets and pairs, TCP/UDP sockets
    // (the network namespace and Landlock decide where they may go), and
    // route netlink (getaddrinfo's AI_ADDRCONFIG).
    let allowed: &[(&str, &[&str])] = &[
        ("socketpair", &["1", "1", "0"]),
        ("socket", &["1", "2", "0"]),
        ("socket", &["2", "1", "0"]),
        ("socket", &["2", "2", "0"]),
        ("socket", &["10", "1", "0"]),
        ("socket", &["16", "3", "0"]),
    ];
    for (call, args) in allowed {
        let mut argv = vec![*call];
        argv.extend_from_slice(args);
        let (st, out) = hostile_line(&f.session, &argv);
        assert_eq!(
            (st, out),
            (ExitStatus::Exited(0), format!("{call} {}: ok", args[0])),
            "{argv:?}"
        );
    }
}

#[test]
fn memory_past_the_build_limit_is_killed_and_reported() {
    let f = fixture();
    compile_hostile(&f);
    let before = snapshot(&f.victims);
    let s = limited(&f, 64 * MIB, 64);
    assert_eq!(s.limits(), (64 * MIB, 64));
    let (r, log) = hostile(&s, &["alloc", "256"]);
    match r {
        Err(ExecError::LimitExceeded {
            program,
            limit: BuildLimit::Memory { bytes },
        }) => {
            assert_eq!((program.as_str(), bytes), ("./hostile", 64 * MIB));
        }
        other => panic!("expected the memory limit, got {other:?}\n{log}"),
    }
    assert!(
        log.contains("the build's memory limit of 64 MiB"),
        "the log names the limit:\n{log}"
    );
    let audit = s.audit();
    assert_eq!(
        audit.last().unwrap().status,
        AuditStatus::LimitExceeded(BuildLimit::Memory { bytes: 64 * MIB })
    );
    // Below the limit the same program runs, in the same session: the
    // session init survived the OOM kill.
    let (st, out) = hostile_line(&s, &["alloc", "16"]);
    assert_eq!((st, out.as_str()), (ExitStatus::Exited(0), "alloc: 16 MiB"));
    assert_eq!(snapshot(&f.victims), before);
}

#[test]
fn shared_memory_is_bounded_by_the_ipc_namespace_limits() {
    let f = fixture();
    compile_hostile(&f);
    let s = limited(&f, 64 * MIB, 64);
    // One byte past shmmax: EINVAL, as shmget(2) documents.
    let (st, out) = hostile_line(&s, &["shm", &(64 * MIB + 1).to_string()]);
    assert_eq!(
        (st, out.as_str()),
        (ExitStatus::Exited(1), "shm: Invalid argument")
    );
    let (st, out) = hostile_line(&s, &["shm", &MIB.to_string()]);
    assert_eq!((st, out.as_str()), (ExitStatus::Exited(0), "shm: ok"));
    let (r, log) = sh_in(
        &s,
        "cat /proc/sys/kernel/shmmax /proc/sys/kernel/shmall /proc/sys/kernel/shmmni /proc/sys/kernel/shm_rmid_forced",
    );
    let o = r.unwrap();
    let page = 4096u64;
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("{}\n{}\n256\n1\n", 64 * MIB, 64 * MIB / page),
        "{log}"
    );
    // The host's IPC limits are untouched.
    let host_max = std::fs::read_to_string("/proc/sys/kernel/shmmax").unwrap();
    assert_ne!(host_max.trim(), (64 * MIB).to_string());
}

#[test]
fn the_process_limit_refuses_forks_and_is_reported() {
    let f = fixture();
    let s = limited(&f, 256 * MIB, 16);
    // Forty background sleepers against a limit of 16 processes: the shell's
    // fork fails with EAGAIN, it gives up, and the call reports the limit.
    let (r, log) = sh_in(
        &s,
        "i=0; while [ $i -lt 40 ]; do sleep 600 & i=$((i+1)); done; wait",
    );
    match r {
        Err(ExecError::LimitExceeded {
            limit: BuildLimit::Processes { max },
            ..
        }) => assert_eq!(max, 16),
        other => panic!("expected the process limit, got {other:?}\n{log}"),
    }
    assert!(
        log.contains("Cannot fork") || log.contains("Resource temporarily unavailable"),
        "{log}"
    );
    // The kernel counted the refusals in the build's pids cgroup.
    let pids_events = s
        .cgroups()
        .iter()
        .map(|d| d.join("pids.events"))
        .find(|p| p.exists())
        .expect("a pids.events file");
    let events = std::fs::read_to_string(&pids_events).unwrap();
    let max: u64 = events
        .lines()
        .find_map(|l| l.strip_prefix("max "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(max > 0, "{events}");
    // Every sleeper was killed at the end of the call; the next one runs.
    let (r, log) = sh_in(&s, "ls /proc | grep -c '^[0-9]'");
    let o = r.unwrap();
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .trim()
            .parse::<u32>()
            .unwrap()
            <= 4,
        "{log}"
    );
}

#[test]
fn open_files_are_limited_per_call() {
    let f = fixture();
    let (code, out, log) = sh(&f, "ulimit -n; ulimit -Hn");
    assert_eq!((code, out.as_str()), (0, "1024\n4096\n"), "{log}");
}

#[test]
fn the_build_cgroup_holds_the_build_and_is_removed_after_it() {
    let f = fixture();
    let s = limited(&f, 96 * MIB, 48);
    let dirs: Vec<PathBuf> = s.cgroups().to_vec();
    assert!(!dirs.is_empty());
    for d in &dirs {
        assert!(d.is_dir(), "{}", d.display());
        let procs = std::fs::read_to_string(d.join("cgroup.procs")).unwrap();
        assert!(
            !procs.trim().is_empty(),
            "the session init is in {}",
            d.display()
        );
    }
    let limit_file = |name: &str| {
        dirs.iter()
            .map(|d| d.join(name))
            .find(|p| p.exists())
            .map(|p| std::fs::read_to_string(p).unwrap().trim().to_owned())
    };
    let memory = limit_file("memory.max").or_else(|| limit_file("memory.limit_in_bytes"));
    assert_eq!(memory.as_deref(), Some((96 * MIB).to_string().as_str()));
    assert_eq!(limit_file("pids.max").as_deref(), Some("48"));
    // A command runs inside it (and sees only its own cgroup namespace root).
    let (r, log) = sh_in(&s, "sleep 0.1 & wait; echo ran");
    assert_eq!(r.unwrap().stdout, b"ran\n", "{log}");
    drop(s);
    for d in &dirs {
        assert!(!d.exists(), "{} left behind", d.display());
    }
}

/// Host paths that must not appear anywhere a build can read.
fn host_paths(f: &Fixture) -> Vec<String> {
    vec![
        f.tmp.path().display().to_string(),
        std::env::current_exe().unwrap().display().to_string(),
    ]
}

#[test]
fn proc_shows_neither_the_host_command_line_nor_host_paths() {
    let f = fixture();
    let leaks = host_paths(&f);
    for file in ["/proc/1/cmdline", "/proc/self/mountinfo", "/proc/1/environ"] {
        let (code, out, log) = sh(&f, &format!("cat {file}"));
        assert_eq!(code, 1, "{file}: {log}");
        assert!(
            log.contains(&format!("cat: {file}: Permission denied")),
            "{file}: {log}"
        );
        for leak in &leaks {
            assert!(
                !out.contains(leak) && !log.contains(leak),
                "{file} shows {leak}"
            );
        }
    }
    // What builds use from /proc still works: machine-wide files,
    // listings, and descriptors through /dev/fd and /dev/stdin.
    let (code, out, log) = sh(
        &f,
        "grep -c ^processor /proc/cpuinfo >/dev/null && ls /proc >/dev/null && \
         echo piped | cat /dev/stdin && cat /dev/fd/3 3</sources/hello.c | head -c 8",
    );
    assert_eq!((code, out.as_str()), (0, "piped\n#include"), "{log}");
}

#[test]
fn without_landlock_the_session_init_still_hides_the_host_command_line() {
    let f = fixture_with(ExecutorConfig {
        allow_unconfined: true,
        landlock_abi_override: Some(0),
        ..ExecutorConfig::default()
    });
    assert!(f.session.missing_walls().contains(&"Landlock"));
    let (code, out, log) = sh(&f, "tr '\\0' ' ' < /proc/1/cmdline");
    assert_eq!(code, 0, "{log}");
    assert!(out.starts_with("wport-session "), "{out:?}");
    assert!(out.trim_end().len() == "wport-session".len(), "{out:?}");
    for leak in host_paths(&f) {
        assert!(!out.contains(&leak), "/proc/1/cmdline shows {leak}");
    }
}
