//! wport started by an ordinary user: the build runs as that user inside a
//! user namespace, with the same walls. The outer test (run as root, as in
//! CI) re-runs this binary as uid 1000 through `setpriv`.

#![allow(
    clippy::disallowed_methods,
    reason = "a test: setpriv runs the executor's test as an ordinary user"
)]

mod common;

use common::*;
use wport_exec::{ExecError, ExitStatus};

const INNER: &str = "WPORT_EXEC_UNPRIVILEGED_INNER";

#[test]
fn ordinary_user_builds_in_a_user_namespace() {
    if std::env::var_os(INNER).is_some() {
        return inner();
    }
    if !rustix::process::geteuid().is_root() {
        // Already unprivileged: run the checks directly.
        return inner();
    }
    if std::process::Command::new("setpriv")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: setpriv not installed");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=1000", "--regid=1000", "--clear-groups", "--"])
        .arg(exe)
        .args([
            "--exact",
            "ordinary_user_builds_in_a_user_namespace",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(INNER, "1")
        .env("TMPDIR", "/tmp")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if text.contains("cannot create a user namespace") {
        eprintln!("skipped: unprivileged user namespaces are disabled here:\n{text}");
        return;
    }
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "{text}");
}

fn inner() {
    // An ordinary user may create build cgroups only where one is delegated
    // to it; without one wport refuses (fail closed), naming the cause, and
    // runs without the build's memory and process limits only when told to.
    let f = match wport_exec::Executor::start(wport_exec::ExecutorConfig::default()) {
        Ok(_) => fixture(),
        Err(ExecError::Unavailable { reason }) => {
            assert!(
                reason.contains("no cgroup to put builds in")
                    && reason.contains("allow_unconfined"),
                "{reason}"
            );
            let f = fixture_with(wport_exec::ExecutorConfig {
                allow_unconfined: true,
                ..wport_exec::ExecutorConfig::default()
            });
            assert_eq!(
                f.session.missing_walls(),
                ["a cgroup (no memory or process limit for the whole build)"]
            );
            assert!(f.session.cgroups().is_empty());
            f
        }
        Err(e) => panic!("{e}"),
    };
    let uid = rustix::process::getuid().as_raw();
    assert_eq!(f.exec.build_identity().uid, uid);
    let (code, out, log) = sh(&f, "id -u; touch /work/mine; cat /etc/shadow");
    assert_ne!(code, 0);
    assert!(out.starts_with(&format!("{uid}\n")), "{out}\n{log}");
    assert!(log.contains("No such file"), "{log}");
    let meta = std::fs::metadata(f.dirs.work.join("mine")).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), uid);
    let before = snapshot(&f.victims);
    let (code, _, log) = sh(
        &f,
        "touch /usr/wport-x; touch /etc/x; echo x > /sources/hello.c",
    );
    assert_ne!(code, 0, "{log}");
    assert!(
        log.contains("Read-only file system") || log.contains("Permission denied"),
        "{log}"
    );
    assert_eq!(snapshot(&f.victims), before);
    let mut p = policy(&["sh"]);
    p.timeout = std::time::Duration::from_millis(500);
    let r = f.session.run(
        &BUILD,
        &p,
        &req("sh", &["-c", "setsid sleep 987661 & sleep 987662"], "/work"),
        &mut Vec::new(),
    );
    assert!(matches!(r, Err(ExecError::Timeout { .. })), "{r:?}");
    let (code, _, _) = sh(&f, "true");
    assert_eq!(code, 0);
    let _ = ExitStatus::Exited(0);
}
