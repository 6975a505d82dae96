//! Real deletions from other package managers' history, replayed through
//! real `sh` and `make` inside the sandbox.
//!
//! Every destructive command is aimed at a victim tree planted for the test
//! (in the host's real /usr/local, which the sandbox sees read-only, and in a
//! temp dir outside the build's directories), never at `/`: an empty variable
//! goes in front of a victim path. A broken wall would therefore cost only the
//! planted victims. Each victim must survive byte for byte, and the build log
//! must show what was refused.

mod common;

use std::path::PathBuf;

use common::*;

struct Victims(PathBuf);

impl Victims {
    fn in_prefix(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let p = PathBuf::from(format!(
            "/usr/local/share/wport-incident-{tag}-{}-{nanos}",
            std::process::id()
        ));
        plant(&p);
        Victims(p)
    }
    fn s(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Victims {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn write_script(f: &Fixture, name: &str, body: &str) {
    std::fs::write(f.dirs.work.join(name), body).unwrap();
    let id = f.exec.build_identity();
    chown_tree(&f.dirs.work, id.uid, id.gid);
}

fn run_sh(f: &Fixture, script: &str, args: &[&str]) -> (i32, String) {
    let mut argv = vec![script];
    argv.extend_from_slice(args);
    let mut log = Vec::new();
    let mut r = req("sh", &argv, "/work");
    r.capture_stdout = false;
    let o = f
        .session
        .run(&BUILD, &policy(&["sh"]), &r, &mut log)
        .unwrap();
    let code = match o.status {
        wport_exec::ExitStatus::Exited(c) => c,
        wport_exec::ExitStatus::Signaled(s) => 128 + s,
    };
    (code, String::from_utf8_lossy(&log).into_owned())
}

/// Steam for Linux, 2015: `rm -rf "$STEAMROOT/"*` after `cd` into a moved
/// directory failed and left STEAMROOT empty.
#[test]
fn steam_empty_steamroot() {
    let f = fixture();
    let v = Victims::in_prefix("steam");
    let before = (snapshot(&v.0), snapshot(&f.victims));
    write_script(
        &f,
        "steam.sh",
        &format!(
            "STEAMROOT=\"$(cd \"/work/moved-away\" 2>/dev/null && echo $PWD)\"\n\
             echo \"STEAMROOT=[$STEAMROOT]\"\n\
             rm -rf \"$STEAMROOT/{h}/\"*\n\
             rm -rf \"$STEAMROOT/{v}/\"*\n",
            v = v.s().trim_start_matches('/'),
            h = f.victims.display().to_string().trim_start_matches('/'),
        ),
    );
    let (code, log) = run_sh(&f, "steam.sh", &[]);
    assert!(log.contains("STEAMROOT=[]"), "{log}");
    assert_ne!(code, 0, "{log}");
    assert!(
        log.contains("Read-only file system"),
        "the log must say what was refused:\n{log}"
    );
    assert_eq!((snapshot(&v.0), snapshot(&f.victims)), before);
}

/// Bumblebee, 2011: `rm -rf /usr /lib/nvidia-current/xorg/xorg` — a stray space.
#[test]
fn bumblebee_stray_space() {
    let f = fixture();
    let v = Victims::in_prefix("bumblebee");
    let before = snapshot(&v.0);
    write_script(
        &f,
        "install.sh",
        &format!("rm -rf {v}/usr /lib/nvidia-current/xorg/xorg\n", v = v.s()),
    );
    let (code, log) = run_sh(&f, "install.sh", &[]);
    assert_ne!(code, 0, "{log}");
    assert!(log.contains("Read-only file system"), "{log}");
    assert_eq!(snapshot(&v.0), before);
    assert!(std::path::Path::new("/usr/lib").is_dir());
}

/// iTunes 2 installer, 2001: `rm -rf $2Applications/iTunes.app` with an
/// unquoted destination volume named "Disk 1" split into two paths.
#[test]
fn itunes_unquoted_destination_with_space() {
    let f = fixture();
    let v = Victims::in_prefix("itunes");
    std::fs::create_dir_all(v.0.join("Disk/System")).unwrap();
    std::fs::write(v.0.join("Disk/System/kernel"), b"the other volume\n").unwrap();
    std::fs::create_dir_all(v.0.join("Disk 1/Applications/iTunes.app")).unwrap();
    let before = snapshot(&v.0);
    write_script(
        &f,
        "postflight",
        "#!/bin/sh\nrm -rf $2Applications/iTunes.app 2>&1\nrm -rf $2\n",
    );
    let dest = format!("{}/Disk 1/", v.s());
    let (code, log) = run_sh(&f, "postflight", &["unused", &dest]);
    assert_ne!(code, 0, "{log}");
    assert!(log.contains("Read-only file system"), "{log}");
    assert_eq!(snapshot(&v.0), before);
}

/// egpu-switcher, 2019: `rm -rfd ${DESTDIR}${BINDIR}` in a Makefile's
/// uninstall target with DESTDIR empty.
#[test]
fn egpu_switcher_empty_destdir_in_makefile() {
    let f = fixture();
    let v = Victims::in_prefix("egpu");
    let before = (snapshot(&v.0), snapshot(&f.victims));
    write_script(
        &f,
        "Makefile",
        "BINDIR ?= /usr/bin\nuninstall:\n\trm -rfd ${DESTDIR}${BINDIR}\n",
    );
    let mut log = Vec::new();
    for bindir in [
        v.s().to_string(),
        f.victims.display().to_string(),
        "/usr/local/share".into(),
    ] {
        let mut r = req(
            "make",
            &["uninstall", "DESTDIR=", &format!("BINDIR={bindir}")],
            "/work",
        );
        r.capture_stdout = false;
        let o = f
            .session
            .run(&BUILD, &policy(&["make"]), &r, &mut log)
            .unwrap();
        // make reports the failed recipe: exit 2 (or 0 where the path is not visible at all).
        let _ = o;
    }
    let log = String::from_utf8_lossy(&log);
    assert!(log.contains("Read-only file system"), "{log}");
    assert!(log.contains("Error 1"), "{log}");
    assert_eq!((snapshot(&v.0), snapshot(&f.victims)), before);
    assert!(std::path::Path::new("/usr/local/share").is_dir());
    // The audit trail is the provenance record of what the build ran.
    let audit = f.session.audit();
    assert_eq!(audit.len(), 3);
    assert!(
        audit
            .iter()
            .all(|a| a.program == "make" && a.cwd == "/work")
    );
    assert_eq!(audit[0].status, wport_exec::AuditStatus::Exited(2));
}
