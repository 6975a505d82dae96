//! Toolchain submounts (a separate /usr/local, say) are visible in the
//! sandbox and read-only there too. The outer test re-runs this binary in a
//! throwaway mount namespace (`unshare -m`), where the inner one mounts a
//! tmpfs under /usr without touching the host's mounts.

#![allow(
    clippy::disallowed_methods,
    reason = "a test: unshare and mount make the separate /usr/local the executor must see"
)]

mod common;

use common::*;

const INNER: &str = "WPORT_EXEC_SUBMOUNT_INNER";
const SUB: &str = "/usr/local/share/wport-submount-test";

#[test]
fn toolchain_submounts_are_visible_and_read_only() {
    if std::env::var_os(INNER).is_some() {
        return inner();
    }
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: needs root for a private mount namespace");
        return;
    }
    let out = std::process::Command::new("unshare")
        .args(["-m", "--propagation", "private", "--"])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "toolchain_submounts_are_visible_and_read_only",
            "--nocapture",
        ])
        .env(INNER, "1")
        .output()
        .unwrap();
    // The mount point directory itself was created on the host's /usr.
    let _ = std::fs::remove_dir(SUB);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "{text}");
}

fn inner() {
    std::fs::create_dir_all(SUB).unwrap();
    let st = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "mode=0777", "wport-test", SUB])
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::write(format!("{SUB}/tool"), b"from a submount\n").unwrap();
    std::fs::set_permissions(
        format!("{SUB}/tool"),
        std::os::unix::fs::PermissionsExt::from_mode(0o666),
    )
    .unwrap();
    let f = fixture();
    let (code, out, log) = sh(
        &f,
        &format!("cat {SUB}/tool; echo x > {SUB}/tool; touch {SUB}/new"),
    );
    assert_ne!(code, 0);
    assert_eq!(out, "from a submount\n", "{log}");
    assert!(log.contains("Read-only file system"), "{log}");
    assert_eq!(
        std::fs::read(format!("{SUB}/tool")).unwrap(),
        b"from a submount\n"
    );
}
