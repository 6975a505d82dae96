//! The user's environment never reaches a mediated child. Its own test
//! binary: it plants variables in this process's environment first.

mod common;

use common::*;

#[test]
#[expect(
    unsafe_code,
    reason = "set_var: the test plants a hostile host environment before the helper forks"
)]
fn host_environment_is_absent() {
    // SAFETY: the only test in this binary; set before any thread of ours
    // reads the environment (the helper is forked afterwards).
    unsafe {
        std::env::set_var("LD_PRELOAD", "/nonexistent/wport-evil.so");
        std::env::set_var("SECRET", "hunter2");
        std::env::set_var("PATH", "/root/evil-bin:/usr/bin");
    }
    let f = fixture();
    let mut log = Vec::new();
    let o = f
        .session
        .run(
            &BUILD,
            &policy(&["env"]),
            &req("env", &[], "/work"),
            &mut log,
        )
        .unwrap();
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(!out.contains("SECRET") && !out.contains("hunter2"), "{out}");
    assert!(!out.contains("LD_PRELOAD"), "{out}");
    assert!(!out.contains("evil"), "{out}");
    let mut names: Vec<&str> = out.lines().map(|l| l.split_once('=').unwrap().0).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "HOME",
            "LANG",
            "LC_ALL",
            "LOGNAME",
            "MAKEFLAGS",
            "PATH",
            "SHELL",
            "SOURCE_DATE_EPOCH",
            "TMPDIR",
            "TZ",
            "USER"
        ]
    );
    assert!(out.contains("PATH=/usr/local/bin:/usr/bin:/bin\n"), "{out}");
    assert!(
        out.contains("HOME=/work/.home\n") && out.contains("TMPDIR=/work/.tmp\n"),
        "{out}"
    );
    assert!(
        out.contains("LC_ALL=C\n")
            && out.contains("TZ=UTC\n")
            && out.contains("SOURCE_DATE_EPOCH=0\n"),
        "{out}"
    );
}
