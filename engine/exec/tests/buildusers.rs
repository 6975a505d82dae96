//! Each concurrent build runs under a uid of its own (issue 11, item 1).
//!
//! The attack: every build ran as 65534, so a local user who ran a setuid
//! file one build left behind became 65534 and reached a *concurrent* build
//! through `/proc/PID/root`, then wrote into its destroot. With a leased uid
//! per executor, the uid a build could give away reaches no other build.

#![allow(
    clippy::disallowed_methods,
    reason = "a test: ls and kill observe and stop the builds it started through the executor"
)]

mod common;

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use wport_exec::buildusers::{BuildUserError, BuildUsers, lease};

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

#[test]
fn concurrent_builds_run_as_different_uids() {
    if !is_root() {
        eprintln!("skipped: build uids are leased only when wport runs as root");
        return;
    }
    let a = fixture();
    let b = fixture();
    let range = BuildUsers::default();
    let (ua, ub) = (a.exec.build_identity(), b.exec.build_identity());
    assert_ne!(ua.uid, ub.uid);
    // From inside each build.
    let (code, out_a, log) = sh(&a, "id -u; id -g");
    assert_eq!(code, 0, "{log}");
    let (code, out_b, log) = sh(&b, "id -u; id -g");
    assert_eq!(code, 0, "{log}");
    assert_eq!(out_a, format!("{}\n{}\n", ua.uid, ua.gid));
    assert_eq!(out_b, format!("{}\n{}\n", ub.uid, ub.gid));
    for uid in [ua.uid, ub.uid] {
        assert!(
            (range.first..range.first + range.count).contains(&uid),
            "{uid} is not in the build user range"
        );
    }
}

/// Find the host pid of a process of `uid` named `comm`.
fn host_pid_of(uid: u32, comm: &str) -> Option<u32> {
    for e in std::fs::read_dir("/proc").ok()? {
        let e = e.ok()?;
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(status) = std::fs::read_to_string(e.path().join("status")) else {
            continue;
        };
        let name = status.lines().next().unwrap_or("");
        let uids = status.lines().find(|l| l.starts_with("Uid:")).unwrap_or("");
        if name == format!("Name:\t{comm}")
            && uids.split_whitespace().nth(1) == Some(&uid.to_string())
        {
            return Some(pid);
        }
    }
    None
}

/// The attack itself: build A's uid (what a setuid file A left would give
/// a local user) tries to reach a command of build B through
/// `/proc/PID/root`. B's own uid can (the control: that is the hole when
/// both builds share a uid); A's cannot.
#[test]
fn a_builds_uid_cannot_reach_a_concurrent_build_through_proc() {
    if !is_root() {
        eprintln!("skipped: build uids are leased only when wport runs as root");
        return;
    }
    let a = fixture();
    let b = fixture();
    let (ua, ub) = (a.exec.build_identity(), b.exec.build_identity());
    std::fs::write(b.dirs.work.join("b-secret"), b"b").unwrap();
    std::os::unix::fs::lchown(b.dirs.work.join("b-secret"), Some(ub.uid), Some(ub.gid)).unwrap();
    std::thread::scope(|s| {
        let sleeper = s.spawn(|| sh(&b, "exec sleep 10"));
        let start = Instant::now();
        let pid = loop {
            if let Some(pid) = host_pid_of(ub.uid, "sleep") {
                break pid;
            }
            assert!(
                start.elapsed() < Duration::from_secs(8),
                "B's sleep never showed up"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let reach = |uid: u32, gid: u32| {
            Command::new("ls")
                .arg(format!("/proc/{pid}/root/work/"))
                .uid(uid)
                .gid(gid)
                .output()
                .unwrap()
        };
        let control = reach(ub.uid, ub.gid);
        let attack = reach(ua.uid, ua.gid);
        // End B's sleeper now rather than at its timeout.
        let _ = Command::new("kill")
            .arg("-KILL")
            .arg(pid.to_string())
            .status();
        let _ = sleeper.join();
        assert!(
            control.status.success()
                && String::from_utf8_lossy(&control.stdout).contains("b-secret"),
            "control: B's own uid should reach B: {control:?}"
        );
        assert_eq!(attack.status.code(), Some(2), "{attack:?}");
        assert!(
            String::from_utf8_lossy(&attack.stderr).contains("Permission denied"),
            "{attack:?}"
        );
    });
}

fn private_lock_dir() -> tempfile::TempDir {
    // tempfile makes it 0700 and ours; the parents are root's (or sticky).
    tempfile::tempdir_in("/var/tmp").unwrap()
}

#[test]
fn a_leased_uid_is_not_leased_again_until_its_holder_ends() {
    let dir = private_lock_dir();
    let users = BuildUsers {
        first: 60900,
        count: 2,
        lock_dir: dir.path().join("locks"),
    };
    let first = lease(&users).unwrap();
    let second = lease(&users).unwrap();
    assert_ne!(first.identity.uid, second.identity.uid);
    match lease(&users) {
        Err(BuildUserError::Exhausted {
            first: 60900,
            count: 2,
        }) => {}
        other => panic!("expected Exhausted, got {other:?}"),
    }
    let freed = first.identity.uid;
    drop(first);
    // The lock is the open file description, which every process holding a
    // copy of the descriptor keeps alive. The other tests of this binary fork
    // (spawn helpers, `Command`s) from their own threads, and such a child
    // holds a copy of every descriptor of the test process from its fork until
    // it closes them (close_range) or execs (CLOEXEC): on a loaded machine
    // that can outlast the `drop` above. So the lease is free once those
    // children are past that point; a lock that outlives its holder for good
    // still fails after the deadline.
    let deadline = Instant::now() + Duration::from_secs(10);
    let again = loop {
        match lease(&users) {
            Err(BuildUserError::Exhausted { .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => break other.unwrap(),
        }
    };
    assert_eq!(again.identity.uid, freed);
}

#[test]
fn a_lock_dir_another_user_controls_is_refused() {
    if !is_root() {
        eprintln!("skipped: needs root to give the directory away");
        return;
    }
    let dir = private_lock_dir();
    let theirs = dir.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    std::os::unix::fs::lchown(&theirs, Some(1000), Some(1000)).unwrap();
    let users = |lock_dir| BuildUsers {
        first: 60950,
        count: 1,
        lock_dir,
    };
    match lease(&users(theirs.clone())) {
        Err(BuildUserError::UnsafeLockDir { path, reason }) => {
            assert_eq!(path, theirs);
            assert!(reason.contains("owned by uid 1000"), "{reason}");
        }
        other => panic!("expected UnsafeLockDir, got {other:?}"),
    }
    // A link planted where the lock directory goes is not followed.
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&theirs, &link).unwrap();
    match lease(&users(link.clone())) {
        Err(BuildUserError::UnsafeLockDir { path, reason }) => {
            assert_eq!(path, link);
            assert!(reason.contains("links are not followed"), "{reason}");
        }
        other => panic!("expected UnsafeLockDir, got {other:?}"),
    }
    assert_eq!(std::fs::read_dir(&theirs).unwrap().count(), 0);
}

/// Even during a build, before the host's sweep runs, a setuid bit in the
/// build's directories has no effect: /work and /destroot are mounted
/// nosuid (and commands run with no_new_privs).
#[test]
fn a_setuid_root_file_gives_no_privilege_inside_the_build() {
    if !is_root() {
        eprintln!("skipped: needs root to plant a setuid-root file");
        return;
    }
    let f = fixture();
    let id = f.exec.build_identity();
    for dir in [&f.dirs.work, &f.dirs.destroot] {
        let planted = dir.join("suid-id");
        std::fs::copy("/usr/bin/id", &planted).unwrap();
        std::os::unix::fs::lchown(&planted, Some(0), Some(0)).unwrap();
        std::fs::set_permissions(
            &planted,
            std::os::unix::fs::PermissionsExt::from_mode(0o6755),
        )
        .unwrap();
    }
    let (code, out, log) = sh(
        &f,
        "/work/suid-id -u; /destroot/suid-id -u; /work/suid-id -g",
    );
    assert_eq!(code, 0, "{log}");
    assert_eq!(out, format!("{0}\n{0}\n{1}\n", id.uid, id.gid), "{log}");
}
