//! The dependency view: at the prefix path a phase sees exactly its layers,
//! read-only; nothing of any other installed package exists there.
//!
//! Runs as root (the helper's layer checks want root-owned store
//! directories). The prefix is under /var/tmp: the sandbox's own /tmp is a
//! private tmpfs, and a prefix there is refused.

#![allow(
    clippy::disallowed_methods,
    reason = "a test: setpriv runs the executor's test as an ordinary user"
)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{chown_tree, policy, req, snapshot};
use wport_exec::{
    DirAccess, ExecError, Executor, ExecutorConfig, PhaseAccess, PrefixView, SandboxDirs, Session,
    SessionOptions,
};

struct ViewFixture {
    _tmp: tempfile::TempDir,
    prefix: PathBuf,
    dirs: SandboxDirs,
    exec: Executor,
}

/// A prefix with two installed packages' live files and their store layers
/// (`a@1`: include/a.h, lib/liba.a; `b@1`: include/b.h, bin/b) and a build's
/// three directories.
fn view_fixture() -> ViewFixture {
    let tmp = tempfile::Builder::new()
        .prefix("wport-view-")
        .tempdir_in("/var/tmp")
        .unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let prefix = tmp.path().join("prefix");
    let files: &[(&str, &str, &str)] = &[
        ("a", "include/a.h", "#define A 1\n"),
        ("a", "lib/liba.a", "liba\n"),
        ("b", "include/b.h", "#define B 1\n"),
        ("b", "bin/b", "#!/bin/sh\necho b\n"),
    ];
    for (pkg, rel, body) in files {
        for root in [prefix.clone(), prefix.join(format!(".wport/store/{pkg}@1"))] {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, body).unwrap();
            let mode = if rel.starts_with("bin/") {
                0o755
            } else {
                0o644
            };
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        }
    }
    for d in ["a@1", "b@1"] {
        let l = prefix.join(".wport/store").join(d);
        for sub in ["", "include", "lib", "bin"] {
            let p = l.join(sub);
            if p.exists() {
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
    }
    let exec = Executor::start(ExecutorConfig::default()).expect("executor starts");
    let dirs = SandboxDirs {
        sources: tmp.path().join("sources"),
        work: tmp.path().join("work"),
        destroot: tmp.path().join("destroot"),
    };
    let id = exec.build_identity();
    for d in [&dirs.sources, &dirs.work, &dirs.destroot] {
        std::fs::create_dir(d).unwrap();
        chown_tree(d, id.uid, id.gid);
    }
    ViewFixture {
        _tmp: tmp,
        prefix,
        dirs,
        exec,
    }
}

impl ViewFixture {
    fn layer(&self, key: &str) -> PathBuf {
        self.prefix.join(".wport/store").join(key)
    }

    fn session(&self, views: Vec<Vec<PathBuf>>) -> Result<Session, ExecError> {
        self.exec.session(
            &self.dirs,
            &SessionOptions {
                prefix_view: Some(PrefixView {
                    prefix: self.prefix.clone(),
                    views,
                }),
                ..SessionOptions::default()
            },
        )
    }
}

fn access(view: Option<u16>) -> PhaseAccess {
    PhaseAccess {
        sources: DirAccess::ReadOnly,
        work: DirAccess::ReadWrite,
        destroot: DirAccess::ReadWrite,
        view,
    }
}

/// `sh -c script` in the phase; (exit code, stdout+stderr).
fn sh(s: &Session, view: Option<u16>, script: &str) -> (i32, String) {
    let mut log = Vec::new();
    let mut r = req("sh", &["-c", script], "/work");
    r.capture_stdout = false;
    let o = s
        .run(&access(view), &policy(&["sh"]), &r, &mut log)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&log)));
    let code = match o.status {
        wport_exec::ExitStatus::Exited(c) => c,
        wport_exec::ExitStatus::Signaled(sig) => 128 + sig,
    };
    let text: String = String::from_utf8_lossy(&log)
        .lines()
        .filter_map(|l| l.strip_prefix("  | ").or((l == "  |").then_some("")))
        .collect::<Vec<_>>()
        .join("\n");
    (code, text)
}

#[test]
fn a_phase_sees_exactly_its_granted_layers_read_only() {
    let f = view_fixture();
    let before = snapshot(&f.prefix);
    let s = f.session(vec![vec![f.layer("a@1")]]).unwrap();
    let p = f.prefix.display();
    // A's files, with A's contents; the directory lists only A's names.
    let (code, out) = sh(
        &s,
        Some(0),
        &format!("cat {p}/include/a.h && ls -A {p} {p}/include"),
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out,
        format!("#define A 1\n{p}:\ninclude\nlib\n\n{p}/include:\na.h")
    );
    // B's file and B-only directory: ENOENT (not EACCES), by test -e and by open.
    let (code, out) = sh(
        &s,
        Some(0),
        &format!(
            "test -e {p}/include/b.h; echo e=$?; test -e {p}/bin; echo d=$?; cat {p}/include/b.h"
        ),
    );
    assert_ne!(code, 0);
    assert!(out.starts_with("e=1\nd=1\n"), "{out}");
    assert!(out.ends_with("No such file or directory"), "{out}");
    // Writes fail with EROFS: a new file, a directory, a removal. (An
    // existing root-owned 0644 file is refused by its mode first: EACCES.)
    let (code, out) = sh(
        &s,
        Some(0),
        &format!(
            "touch {p}/include/new.h; mkdir {p}/x; rm -f {p}/lib/liba.a; echo x >> {p}/include/a.h"
        ),
    );
    assert_ne!(code, 0);
    assert_eq!(
        out,
        format!(
            "touch: cannot touch '{p}/include/new.h': Read-only file system\n\
             mkdir: cannot create directory '{p}/x': Read-only file system\n\
             rm: cannot remove '{p}/lib/liba.a': Read-only file system\n\
             sh: 1: cannot create {p}/include/a.h: Permission denied"
        )
    );
    // Nothing of the host's prefix (live files or store) changed.
    assert_eq!(snapshot(&f.prefix), before);
}

#[test]
fn two_layers_are_one_union_and_a_phase_granted_nothing_sees_no_file() {
    let f = view_fixture();
    let s = f
        .session(vec![vec![f.layer("a@1"), f.layer("b@1")], vec![]])
        .unwrap();
    let p = f.prefix.display();
    let (code, out) = sh(
        &s,
        Some(0),
        &format!(
            "cat {p}/include/a.h {p}/include/b.h; ls -A {p}/include; {p}/bin/b; touch {p}/include/c.h"
        ),
    );
    assert_ne!(code, 0);
    assert_eq!(
        out,
        format!(
            "#define A 1\n#define B 1\na.h\nb.h\nb\ntouch: cannot touch '{p}/include/c.h': Read-only file system"
        )
    );
    // An empty view and no view: the prefix is an empty directory, and no
    // view's mount is reachable.
    for view in [Some(1), None] {
        let (code, out) = sh(
            &s,
            view,
            &format!(
                "ls -A {p}; echo l=$?; test -e {p}/include/a.h; echo e=$?; \
                 test -e /.wport-views/0/include/a.h; echo v=$?"
            ),
        );
        assert_eq!(code, 0);
        assert_eq!(out, "l=0\ne=1\nv=1", "{view:?}");
    }
    // A phase with a view cannot reach the session's other views either.
    let (_, out) = sh(&s, Some(0), "test -e /.wport-views/0; echo v=$?");
    assert_eq!(out, "v=1");
}

#[test]
fn the_same_session_gives_each_phase_its_own_view() {
    let f = view_fixture();
    let s = f
        .session(vec![vec![f.layer("a@1")], vec![f.layer("b@1")]])
        .unwrap();
    let p = f.prefix.display();
    for _ in 0..2 {
        let (_, out) = sh(&s, Some(0), &format!("ls -A {p}/include"));
        assert_eq!(out, "a.h");
        let (_, out) = sh(&s, Some(1), &format!("ls -A {p}/include"));
        assert_eq!(out, "b.h");
    }
}

#[test]
fn a_prefix_in_the_sandboxs_own_directories_is_refused() {
    let f = view_fixture();
    for bad in [
        "/usr/local",
        "/tmp/p",
        "/work/p",
        "/etc/wport",
        "/",
        "relative",
        "/opt/../usr",
    ] {
        let err = f
            .exec
            .session(
                &f.dirs,
                &SessionOptions {
                    prefix_view: Some(PrefixView {
                        prefix: PathBuf::from(bad),
                        views: vec![],
                    }),
                    ..SessionOptions::default()
                },
            )
            .unwrap_err();
        match err {
            ExecError::BadSandboxDir { path, .. } => assert_eq!(path, Path::new(bad)),
            other => panic!("{bad}: expected BadSandboxDir, got {other}"),
        }
    }
}

#[test]
fn only_store_layers_of_the_prefix_are_mounted() {
    let f = view_fixture();
    // Not under <prefix>/.wport/store: /etc, or the build's own work dir.
    for bad in [
        PathBuf::from("/etc"),
        f.dirs.work.clone(),
        f.prefix.join("include"),
    ] {
        match f.session(vec![vec![bad.clone()]]) {
            Err(ExecError::BadSandboxDir { path, reason }) => {
                assert_eq!(path, bad);
                assert!(reason.contains("not a store layer"), "{reason}");
            }
            other => panic!("{}: expected BadSandboxDir, got {other:?}", bad.display()),
        }
    }
    // A store layer the build user could write to.
    let id = f.exec.build_identity();
    std::os::unix::fs::lchown(f.layer("b@1"), Some(id.uid), Some(id.gid)).unwrap();
    match f.session(vec![vec![f.layer("b@1")]]) {
        Err(ExecError::BadSandboxDir { path, reason }) => {
            assert_eq!(path, f.layer("b@1"));
            assert!(reason.contains("writable by the build user"), "{reason}");
        }
        other => panic!("expected BadSandboxDir, got {other:?}"),
    }
}

const INNER: &str = "WPORT_EXEC_VIEW_UNPRIVILEGED_INNER";

/// wport started by an ordinary user: the overlay is mounted in the build's
/// user namespace (overlayfs allows that since Linux 5.11), with the same
/// result. The outer test (root) makes the prefix and re-runs this test as
/// uid 1000 through `setpriv`.
#[test]
fn an_ordinary_users_build_gets_the_same_view() {
    if let Some(dir) = std::env::var_os(INNER) {
        return unprivileged_inner(Path::new(&dir));
    }
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: needs root to set up the uid-1000 run");
        return;
    }
    if std::process::Command::new("setpriv")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: setpriv not installed");
        return;
    }
    // The prefix (root-owned, readable) and build directories owned by uid 1000.
    let f = view_fixture();
    let top = f.prefix.parent().unwrap().to_path_buf();
    for d in [&f.dirs.sources, &f.dirs.work, &f.dirs.destroot] {
        chown_tree(d, 1000, 1000);
    }
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=1000", "--regid=1000", "--clear-groups", "--"])
        .arg(exe)
        .args([
            "--exact",
            "an_ordinary_users_build_gets_the_same_view",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(INNER, &top)
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

fn unprivileged_inner(top: &Path) {
    let exec = match Executor::start(ExecutorConfig::default()) {
        Ok(e) => e,
        // No delegated cgroup for uid 1000 here: run without build limits.
        Err(ExecError::Unavailable { .. }) => Executor::start(ExecutorConfig {
            allow_unconfined: true,
            ..ExecutorConfig::default()
        })
        .unwrap(),
        Err(e) => panic!("{e}"),
    };
    let prefix = top.join("prefix");
    let store = prefix.join(".wport/store");
    let dirs = SandboxDirs {
        sources: top.join("sources"),
        work: top.join("work"),
        destroot: top.join("destroot"),
    };
    let s = exec
        .session(
            &dirs,
            &SessionOptions {
                prefix_view: Some(PrefixView {
                    prefix: prefix.clone(),
                    views: vec![
                        vec![store.join("a@1"), store.join("b@1")],
                        vec![store.join("a@1")],
                    ],
                }),
                ..SessionOptions::default()
            },
        )
        .unwrap();
    let p = prefix.display();
    let (code, out) = sh(
        &s,
        Some(0),
        &format!("cat {p}/include/a.h {p}/include/b.h; touch {p}/x"),
    );
    assert_ne!(code, 0);
    assert_eq!(
        out,
        format!("#define A 1\n#define B 1\ntouch: cannot touch '{p}/x': Read-only file system")
    );
    let (_, out) = sh(
        &s,
        Some(1),
        &format!("ls -A {p}/include; test -e {p}/include/b.h; echo e=$?"),
    );
    assert_eq!(out, "a.h\ne=1");
}
