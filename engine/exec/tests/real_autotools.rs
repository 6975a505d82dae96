//! A real autotools package (GNU hello) configured, built and installed
//! through the sandbox with real sh/make/cc, timed against the same steps run
//! natively. Runs when the pristine tarball is in wport's distfile cache
//! (`scripts/fetch-real-sources`); otherwise it says so and passes.

#![allow(
    clippy::disallowed_methods,
    reason = "a test: tar unpacks the fixture, and the program built is run to check it"
)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

const TARBALL: &str = "/root/.cache/wport/distfiles/hello_2.10.orig.tar.gz";

fn untar(into: &Path) {
    let st = Command::new("tar")
        .args(["xzf", TARBALL, "-C"])
        .arg(into)
        .status()
        .unwrap();
    assert!(st.success());
}

#[test]
fn gnu_hello_configure_make_install() {
    if !Path::new(TARBALL).exists() {
        eprintln!("skipped: {TARBALL} not present");
        return;
    }
    let f = fixture();
    untar(&f.dirs.work);
    let id = f.exec.build_identity();
    chown_tree(&f.dirs.work, id.uid, id.gid);
    let src = "/work/hello-2.10";
    let mut p = policy(&["./configure", "make"]);
    p.timeout = Duration::from_secs(600);
    let mut log = Vec::new();
    let t = Instant::now();
    for (prog, args) in [
        ("./configure", vec!["--prefix=/usr/local", "--disable-nls"]),
        ("make", vec![]),
        ("make", vec!["install", "DESTDIR=/destroot"]),
    ] {
        let mut r = req(prog, &args, src);
        r.capture_stdout = false;
        let o = f.session.run(&BUILD, &p, &r, &mut log).unwrap();
        assert!(
            o.status.success(),
            "{prog} {args:?} failed:\n{}",
            String::from_utf8_lossy(&log)
        );
    }
    let mediated = t.elapsed();
    let bin = f.dirs.destroot.join("usr/local/bin/hello");
    assert!(bin.is_file());
    let out = Command::new(&bin).output().unwrap();
    assert_eq!(out.stdout, b"Hello, world!\n");
    // No host path leaked into the log (the build only ever saw /work).
    let log = String::from_utf8_lossy(&log);
    assert!(
        !log.contains(&f.tmp.path().display().to_string()),
        "host path leaked into the build log"
    );
    for line in log
        .lines()
        .filter(|l| l.contains("denied") || l.contains("Permission") || l.contains("Read-only"))
    {
        eprintln!("sandbox-related line in the log: {line}");
    }

    // Same steps natively, same flags and jobs, for the ratio.
    let native = tempfile::tempdir().unwrap();
    untar(native.path());
    let dir = native.path().join("hello-2.10");
    let dest = native.path().join("dest");
    let jobs = format!(
        "-j{}",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let t = Instant::now();
    for (prog, args) in [
        (
            "./configure",
            vec!["--prefix=/usr/local".to_string(), "--disable-nls".into()],
        ),
        ("make", vec![]),
        (
            "make",
            vec!["install".into(), format!("DESTDIR={}", dest.display())],
        ),
    ] {
        let st = Command::new(prog)
            .args(&args)
            .current_dir(&dir)
            .env("MAKEFLAGS", &jobs)
            .env("LC_ALL", "C")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
    }
    let plain = t.elapsed();
    eprintln!(
        "GNU hello: native {:.2} s, mediated {:.2} s, ratio {:.3}",
        plain.as_secs_f64(),
        mediated.as_secs_f64(),
        mediated.as_secs_f64() / plain.as_secs_f64()
    );
}
