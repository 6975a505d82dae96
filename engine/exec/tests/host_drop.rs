//! The engine's start order as root: start the executor, chown the build
//! dirs to the build identity, drop the host process itself, then build.
//! Files written by the host (as WASI does for the guest) and by the tools
//! end up with one owner. Its own binary: it changes this process's uid.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use common::*;
use wport_exec::{Executor, ExecutorConfig, SandboxDirs};

#[test]
fn host_and_tools_write_as_the_same_build_user() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let exec = Executor::start(ExecutorConfig::default()).unwrap();
    let id = exec.build_identity();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let dirs = SandboxDirs {
        sources: tmp.path().join("s"),
        work: tmp.path().join("w"),
        destroot: tmp.path().join("d"),
    };
    for d in [&dirs.sources, &dirs.work, &dirs.destroot] {
        std::fs::create_dir(d).unwrap();
    }
    chown_tree(tmp.path(), id.uid, id.gid);

    exec.drop_host_privileges().unwrap();
    assert_eq!(
        (
            rustix::process::getuid().as_raw(),
            rustix::process::geteuid().as_raw(),
            rustix::process::getgid().as_raw()
        ),
        (id.uid, id.uid, id.gid)
    );
    // The helper kept what it needs: sessions still start.
    let session = exec.session(&dirs, &Default::default()).unwrap();
    std::fs::write(
        dirs.work.join("from-host"),
        b"guest wrote this through WASI\n",
    )
    .unwrap();
    let mut log = Vec::new();
    let o = session
        .run(
            &BUILD,
            &policy(&["sh"]),
            &req(
                "sh",
                &["-c", "cat from-host >> from-host-copy && rm from-host"],
                "/work",
            ),
            &mut log,
        )
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&log));
    let meta = std::fs::metadata(dirs.work.join("from-host-copy")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (id.uid, id.gid));
    // And the host can no longer read what only root may.
    assert!(std::fs::read("/etc/shadow").is_err());
}
