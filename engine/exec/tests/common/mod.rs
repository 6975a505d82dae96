//! Shared fixture: a build's three directories plus a victim tree outside them.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use wport_exec::{
    DirAccess, ExecError, Executor, ExecutorConfig, Outcome, PhaseAccess, Policy, Request,
    SandboxDirs, Session, SessionOptions,
};

pub const BUILD: PhaseAccess = PhaseAccess {
    sources: DirAccess::ReadOnly,
    work: DirAccess::ReadWrite,
    destroot: DirAccess::ReadWrite,
    view: None,
};

pub struct Fixture {
    pub tmp: tempfile::TempDir,
    pub dirs: SandboxDirs,
    /// Outside every build directory; must survive byte for byte.
    pub victims: PathBuf,
    pub exec: Executor,
    pub session: Session,
}

pub fn chown_tree(p: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(p, Some(uid), Some(gid)).unwrap();
    if p.is_dir() && !p.is_symlink() {
        for e in std::fs::read_dir(p).unwrap() {
            chown_tree(&e.unwrap().path(), uid, gid);
        }
    }
}

/// Plant a victim tree: files, a nested dir, a file with a space.
pub fn plant(victims: &Path) {
    std::fs::create_dir_all(victims.join("usr/lib/nvidia-current/xorg")).unwrap();
    std::fs::write(victims.join("precious.txt"), b"do not delete\n").unwrap();
    std::fs::write(
        victims.join("usr/lib/nvidia-current/xorg/xorg"),
        b"driver\n",
    )
    .unwrap();
    std::fs::write(victims.join("with space.txt"), b"spaced\n").unwrap();
    // World-writable, so only the sandbox (not DAC) protects it.
    for p in [
        victims.to_path_buf(),
        victims.join("usr"),
        victims.join("usr/lib"),
    ] {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    std::fs::set_permissions(
        victims.join("precious.txt"),
        std::fs::Permissions::from_mode(0o666),
    )
    .unwrap();
}

/// Snapshot (path -> contents) of a tree, to compare byte for byte.
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    fn walk(p: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        let meta = std::fs::symlink_metadata(p).unwrap();
        if meta.is_dir() {
            out.insert(p.to_path_buf(), b"<dir>".to_vec());
            for e in std::fs::read_dir(p).unwrap() {
                walk(&e.unwrap().path(), out);
            }
        } else {
            out.insert(p.to_path_buf(), std::fs::read(p).unwrap_or_default());
        }
    }
    walk(root, &mut out);
    out
}

pub fn fixture_with(config: ExecutorConfig) -> Fixture {
    let exec = Executor::start(config).expect("executor starts");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let dirs = SandboxDirs {
        sources: tmp.path().join("sources"),
        work: tmp.path().join("work"),
        destroot: tmp.path().join("destroot"),
    };
    for d in [&dirs.sources, &dirs.work, &dirs.destroot] {
        std::fs::create_dir(d).unwrap();
    }
    std::fs::write(
        dirs.sources.join("hello.c"),
        b"#include <stdio.h>\nint main(void){puts(\"hello\");return 0;}\n",
    )
    .unwrap();
    let id = exec.build_identity();
    for d in [&dirs.sources, &dirs.work, &dirs.destroot] {
        chown_tree(d, id.uid, id.gid);
    }
    let victims = tmp.path().join("victims");
    plant(&victims);
    let session = exec
        .session(&dirs, &SessionOptions::default())
        .expect("session starts");
    Fixture {
        tmp,
        dirs,
        victims,
        exec,
        session,
    }
}

pub fn fixture() -> Fixture {
    fixture_with(ExecutorConfig::default())
}

pub fn policy(programs: &[&str]) -> Policy {
    Policy {
        programs: programs.iter().map(|s| s.to_string()).collect(),
        env: BTreeMap::new(),
        allow_loader_env: false,
        timeout: Duration::from_secs(30),
        allow_work_scripts: true,
    }
}

pub fn req(program: &str, args: &[&str], cwd: &str) -> Request {
    Request {
        program: program.into(),
        args: args.iter().map(|s| s.to_string()).collect(),
        cwd: cwd.into(),
        env: vec![],
        capture_stdout: true,
    }
}

/// Output of one call: (outcome, log text).
pub fn run(f: &Fixture, program: &str, args: &[&str]) -> (Result<Outcome, ExecError>, String) {
    let mut log = Vec::new();
    let r = f.session.run(
        &BUILD,
        &policy(&[program]),
        &req(program, args, "/work"),
        &mut log,
    );
    (r, String::from_utf8_lossy(&log).into_owned())
}

/// `sh -c script` in /work; returns (exit code, stdout, log incl. stderr).
pub fn sh(f: &Fixture, script: &str) -> (i32, String, String) {
    let (r, log) = run(f, "sh", &["-c", script]);
    let o = r.unwrap_or_else(|e| panic!("sh -c {script:?}: {e}\n{log}"));
    let code = match o.status {
        wport_exec::ExitStatus::Exited(c) => c,
        wport_exec::ExitStatus::Signaled(s) => 128 + s,
    };
    (code, String::from_utf8_lossy(&o.stdout).into_owned(), log)
}
