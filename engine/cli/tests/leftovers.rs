//! What a hostile build leaves behind, and the host code that touches it
//! afterwards (issue 11, items 1–3), through the real `wport build`.
//!
//! - item 1: a build that `chmod 6755`s a shell and `chmod 0777`s /work and
//!   /destroot leaves no such mode anywhere in its build directory, and two
//!   concurrent builds run as different uids;
//! - item 3: the build root is checked each run (owner, mode, links), and a
//!   symlink planted where the old build directory was is removed, never
//!   followed.
//!
//! Item 2 (cleanup never climbs with `..`) is reproduced deterministically
//! in `wport-sandbox`'s `files` tests, which can stop the walk mid-way.

#![allow(
    clippy::disallowed_methods,
    reason = "an end-to-end test: runs the wport binary as a user does and tar to make a fixture"
)]

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Scratch, explain, set_mode, sha256_hex};

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// The hostile port: its distfile packed from `tests/leftovers/src/`.
fn make_port(scratch: &Scratch) -> PathBuf {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/leftovers");
    let stage = scratch.path().join("dist");
    let src = stage.join("leftovers-1.0");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::copy(fixture.join("src/Makefile"), src.join("Makefile")).unwrap();
    let port = scratch.path().join("port");
    std::fs::create_dir_all(&port).unwrap();
    let tarball = port.join("leftovers-1.0.tar.gz");
    let tar = Command::new("tar")
        .arg("-C")
        .arg(&stage)
        .args(["--owner=0", "--group=0", "-czf"])
        .arg(&tarball)
        .arg("leftovers-1.0")
        .output()
        .unwrap();
    assert!(tar.status.success(), "{tar:?}");
    let bytes = std::fs::read(&tarball).unwrap();
    let portfile = std::fs::read_to_string(fixture.join("Portfile.toml.in"))
        .unwrap()
        .replace("@SHA256@", &sha256_hex(&bytes))
        .replace("@SIZE@", &bytes.len().to_string());
    std::fs::write(port.join("Portfile.toml"), portfile).unwrap();
    port
}

/// Every entry below `root` (itself included) whose mode a build must not
/// leave: setuid, setgid, sticky, world-writable, or a group-writable
/// directory.
fn bad_modes(root: &Path) -> Vec<(PathBuf, u32)> {
    let mut bad = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(p) = todo.pop() {
        let meta = std::fs::symlink_metadata(&p).unwrap();
        if meta.file_type().is_symlink() {
            continue;
        }
        let mode = meta.mode() & 0o7777;
        let forbidden = if meta.is_dir() { 0o7022 } else { 0o7002 };
        if mode & forbidden != 0 {
            bad.push((p.clone(), mode));
        }
        if meta.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                todo.push(e.unwrap().path());
            }
        }
    }
    bad
}

fn build_dir(scratch: &Scratch) -> PathBuf {
    scratch.build_root().join("leftovers-1.0")
}

#[test]
fn no_setuid_or_world_writable_mode_survives_a_hostile_build() {
    let scratch = Scratch::new("leftovers");
    let port = make_port(&scratch);
    let out = scratch.build(&port, &[]);
    let dir = build_dir(&scratch);
    let log = dir.join("build.log");
    assert!(out.status.success(), "{}", explain(&out, Some(&log)));
    // The build did what the attack review did (so the sweep had work)...
    let text = std::fs::read_to_string(&log).unwrap();
    for line in [
        "after a native command: mode of /work/leftovers-1.0/evil narrowed from 6755 to 755",
        "after a native command: mode of /work narrowed from 777 to 755",
        "after a native command: mode of /work/leftovers-1.0/open/sticky narrowed from 1777 to 755",
        "after a native command: mode of /destroot narrowed from 777 to 755",
        "after a native command: mode of /destroot/opt/wport/bin/evil narrowed from 6755 to 755",
        "after a native command: mode of /destroot/opt/wport/uid narrowed from 666 to 664",
    ] {
        assert!(text.contains(line), "{line:?} is not in the log:\n{text}");
    }
    // ...and no such mode is left anywhere in the build directory.
    assert_eq!(bad_modes(&dir), vec![], "{}", explain(&out, Some(&log)));
    let evil = dir.join("destroot/opt/wport/bin/evil");
    assert_eq!(std::fs::metadata(&evil).unwrap().mode() & 0o7777, 0o755);
    if is_root() {
        // The build directory is root's and entered by the build's own
        // group only; the build ran as a leased uid, not the shared 65534.
        let meta = std::fs::metadata(&dir).unwrap();
        let uid: u32 = std::fs::read_to_string(dir.join("destroot/opt/wport/uid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!((meta.uid(), meta.mode() & 0o7777), (0, 0o710));
        assert_eq!(meta.gid(), uid, "the build dir's group is the build's");
        assert_ne!(uid, 65534);
        assert!(
            (60600..61100).contains(&uid),
            "uid {uid} not from the build user range"
        );
        // The build root is traversable, not listable, by other users.
        let root_mode = std::fs::metadata(scratch.build_root()).unwrap().mode() & 0o7777;
        assert_eq!(root_mode, 0o711);
    }
}

#[test]
fn concurrent_builds_run_as_different_uids() {
    if !is_root() {
        eprintln!("skipped: build uids are leased only when wport runs as root");
        return;
    }
    let (a, b) = (Scratch::new("uid-a"), Scratch::new("uid-b"));
    let (port_a, port_b) = (make_port(&a), make_port(&b));
    // Two wport processes at once, each holding its lease for its life.
    let start = |s: &Scratch, port: &Path| -> std::process::Child {
        std::fs::create_dir_all(s.cache()).unwrap();
        set_mode(&s.cache(), 0o700);
        std::fs::create_dir_all(s.build_root()).unwrap();
        Command::new(env!("CARGO_BIN_EXE_wport"))
            .args(["build", "--unsigned", "--build-root"])
            .arg(s.build_root())
            .arg(port)
            .env("XDG_CACHE_HOME", s.cache())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (ca, cb) = (start(&a, &port_a), start(&b, &port_b));
    let (oa, ob): (Output, Output) = (
        ca.wait_with_output().unwrap(),
        cb.wait_with_output().unwrap(),
    );
    let uid_of = |s: &Scratch, o: &Output| -> u32 {
        let dir = build_dir(s);
        assert!(
            o.status.success(),
            "{}",
            explain(o, Some(&dir.join("build.log")))
        );
        // Written by `id -u` inside the build, in both phases.
        let build = std::fs::read_to_string(dir.join("work/uid")).unwrap();
        let destroot = std::fs::read_to_string(dir.join("destroot/opt/wport/uid")).unwrap();
        assert_eq!(build, destroot);
        build.trim().parse().unwrap()
    };
    let (ua, ub) = (uid_of(&a, &oa), uid_of(&b, &ob));
    assert_ne!(ua, ub, "two concurrent builds ran as the same uid");
    assert!(ua != 65534 && ub != 65534);
}

/// The embedded demo port (pure WASM: no native command, fast) in `scratch`.
fn build_demo(scratch: &Scratch) -> Output {
    std::fs::create_dir_all(scratch.cache()).unwrap();
    set_mode(&scratch.cache(), 0o700);
    Command::new(env!("CARGO_BIN_EXE_wport"))
        .arg("build")
        .arg("--build-root")
        .arg(scratch.build_root())
        .env("XDG_CACHE_HOME", scratch.cache())
        .output()
        .unwrap()
}

/// A victim: root's data that a cleanup following a link would empty.
fn plant_victim(scratch: &Scratch) -> (PathBuf, Vec<(PathBuf, String, u32)>) {
    let victim = scratch.path().join("victim");
    std::fs::create_dir_all(victim.join("sub")).unwrap();
    std::fs::write(victim.join("precious"), b"root's 0600 file").unwrap();
    set_mode(&victim.join("precious"), 0o600);
    std::fs::write(victim.join("sub/more"), b"more").unwrap();
    let snap = snapshot(&victim);
    (victim, snap)
}

fn snapshot(root: &Path) -> Vec<(PathBuf, String, u32)> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(p) = todo.pop() {
        let meta = std::fs::symlink_metadata(&p).unwrap();
        let bytes = if meta.is_file() {
            sha256_hex(&std::fs::read(&p).unwrap())
        } else {
            String::new()
        };
        if meta.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                todo.push(e.unwrap().path());
            }
        }
        out.push((p, bytes, meta.mode()));
    }
    out.sort();
    out
}

#[test]
fn a_symlink_planted_at_the_old_build_dir_is_removed_not_followed() {
    let scratch = Scratch::new("planted-link");
    let (victim, before) = plant_victim(&scratch);
    std::fs::create_dir_all(scratch.build_root()).unwrap();
    let old = scratch.build_root().join("demo-1.0");
    std::os::unix::fs::symlink(&victim, &old).unwrap();
    let out = build_demo(&scratch);
    assert!(out.status.success(), "{}", explain(&out, None));
    assert_eq!(snapshot(&victim), before, "the link's target changed");
    let meta = std::fs::symlink_metadata(&old).unwrap();
    assert!(meta.is_dir(), "a fresh build directory replaced the link");
    assert!(old.join("destroot/opt/wport").is_dir());
}

#[test]
fn a_build_root_another_user_owns_is_refused() {
    if !is_root() {
        eprintln!("skipped: needs root to give the build root away");
        return;
    }
    let scratch = Scratch::new("theirs");
    let (victim, before) = plant_victim(&scratch);
    std::fs::create_dir_all(scratch.build_root()).unwrap();
    std::os::unix::fs::symlink(&victim, scratch.build_root().join("demo-1.0")).unwrap();
    std::os::unix::fs::lchown(scratch.build_root(), Some(1000), Some(1000)).unwrap();
    let out = build_demo(&scratch);
    assert_eq!(out.status.code(), Some(3), "{}", explain(&out, None));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{} is owned by uid 1000, not by uid 0 or root",
            scratch.build_root().display()
        )),
        "{stderr}"
    );
    assert_eq!(snapshot(&victim), before);
}

#[test]
fn a_build_root_others_can_write_is_refused() {
    let scratch = Scratch::new("exposed");
    let (victim, before) = plant_victim(&scratch);
    std::fs::create_dir_all(scratch.build_root()).unwrap();
    std::os::unix::fs::symlink(&victim, scratch.build_root().join("demo-1.0")).unwrap();
    set_mode(&scratch.build_root(), 0o777);
    let out = build_demo(&scratch);
    assert_eq!(out.status.code(), Some(3), "{}", explain(&out, None));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{} has mode 777, writable by other users",
            scratch.build_root().display()
        )),
        "{stderr}"
    );
    assert_eq!(snapshot(&victim), before);
    // Nothing was created or removed in it.
    assert!(
        std::fs::symlink_metadata(scratch.build_root().join("demo-1.0"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

/// /var/tmp is world-writable: another user can squat the name wport would
/// create there, or plant a link at it. Neither is followed nor used.
#[test]
fn a_squatted_or_linked_build_root_under_a_sticky_dir_is_refused() {
    let scratch = Scratch::new("squat");
    let sticky = scratch.path().join("sticky");
    std::fs::create_dir(&sticky).unwrap();
    set_mode(&sticky, 0o1777);
    let (victim, before) = plant_victim(&scratch);
    // A link where the build root's parent would be.
    std::os::unix::fs::symlink(&victim, sticky.join("wport")).unwrap();
    let root = sticky.join("wport/build");
    std::fs::create_dir_all(scratch.cache()).unwrap();
    set_mode(&scratch.cache(), 0o700);
    let out = Command::new(env!("CARGO_BIN_EXE_wport"))
        .arg("build")
        .arg("--build-root")
        .arg(&root)
        .env("XDG_CACHE_HOME", scratch.cache())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", explain(&out, None));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{} is a symlink in a directory other users can write to; it is not followed",
            sticky.join("wport").display()
        )),
        "{stderr}"
    );
    assert_eq!(snapshot(&victim), before);
    if is_root() {
        // A directory another user made there.
        std::fs::remove_file(sticky.join("wport")).unwrap();
        std::fs::create_dir(sticky.join("wport")).unwrap();
        std::os::unix::fs::lchown(sticky.join("wport"), Some(1000), Some(1000)).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_wport"))
            .arg("build")
            .arg("--build-root")
            .arg(&root)
            .env("XDG_CACHE_HOME", scratch.cache())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{}", explain(&out, None));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("is owned by uid 1000"),
            "{}",
            explain(&out, None)
        );
        assert_eq!(std::fs::read_dir(sticky.join("wport")).unwrap().count(), 0);
    }
}
