//! A kernel without Landlock (simulated by lowering the ABI): refused unless
//! the user opts out explicitly, and then loud, with the other walls up.

mod common;

use common::*;
use wport_exec::{DirAccess, ExecError, Executor, ExecutorConfig, PhaseAccess};

fn no_landlock(allow_unconfined: bool) -> ExecutorConfig {
    ExecutorConfig { landlock_abi_override: Some(0), allow_unconfined, ..ExecutorConfig::default() }
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
    assert!(log.contains("Read-only file system") && log.contains("No such file"), "{log}");
    assert_eq!(snapshot(&f.victims), before);
    // What is lost: per-phase narrowing. A read-only phase can write /work,
    // which the mount (rw for the whole build) allows. Documented in
    // docs/CONFINEMENT.md.
    let ro = PhaseAccess { sources: DirAccess::ReadOnly, work: DirAccess::ReadOnly, destroot: DirAccess::None };
    let o = f.session.run(&ro, &policy(&["touch"]), &req("touch", &["/work/x"], "/work"), &mut Vec::new()).unwrap();
    assert!(o.status.success());
}
