//! A kernel without Landlock (simulated by lowering the ABI): refused unless
//! the user opts out explicitly, and then loud, with the other walls up.

mod common;

use common::*;
use wport_exec::{DirAccess, ExecError, Executor, ExecutorConfig, PhaseAccess};

fn no_landlock(allow_unconfined: bool) -> ExecutorConfig {
    ExecutorConfig {
        landlock_abi_override: Some(0),
        allow_unconfined,
        ..ExecutorConfig::default()
    }
}

#[test]
fn refused_without_landlock_by_default() {
    let e = Executor::start(no_landlock(false)).unwrap_err();
    match &e {
        ExecError::Unavailable { reason } => {
            assert!(reason.contains("Landlock is not available"), "{reason}");
            assert!(reason.contains("allow_unconfined"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn explicit_opt_out_is_loud_and_keeps_the_other_walls() {
    let f = fixture_with(no_landlock(true));
    assert_eq!(f.exec.landlock_abi(), 0);
    assert_eq!(f.session.missing_walls(), ["Landlock"]);
    let before = snapshot(&f.victims);
    let (code, _, log) = sh(&f, "touch /usr/x; rm -f /etc/passwd; cat /etc/shadow");
    assert_ne!(code, 0);
    assert!(log.contains("WARNING: running WITHOUT Landlock"), "{log}");
    assert!(
        log.contains("Read-only file system") && log.contains("No such file"),
        "{log}"
    );
    assert_eq!(snapshot(&f.victims), before);
    // Per-phase narrowing still holds at mount level: a read-only /work is
    // a read-only mount, a hidden /destroot is not mounted at all.
    std::fs::write(f.dirs.destroot.join("installed"), b"x").unwrap();
    let ro = PhaseAccess {
        sources: DirAccess::ReadOnly,
        work: DirAccess::ReadOnly,
        destroot: DirAccess::None,
        view: None,
    };
    let mut log = Vec::new();
    let o = f
        .session
        .run(
            &ro,
            &policy(&["sh"]),
            &req(
                "sh",
                &["-c", "touch /work/x; ls -A /destroot; echo end"],
                "/work",
            ),
            &mut log,
        )
        .unwrap();
    let log = String::from_utf8_lossy(&log);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "end\n", "{log}");
    assert!(
        log.contains("touch: cannot touch '/work/x': Read-only file system"),
        "{log}"
    );
    assert!(!f.dirs.work.join("x").exists());
}
