//! `wport fetch`, `wport checksum`, `wport quarantine` and `wport build`'s
//! fetching, driven through the real binary against a loopback HTTP server
//! serving the real upstream tarballs (from `$WPORT_REAL_SOURCES`) and
//! tampered ones. Every state directory is private to the test.

#![allow(
    clippy::disallowed_methods,
    reason = "an end-to-end test: runs the wport binary as a user does and mkfifo to make a fixture"
)]

mod common;
#[path = "../../fetch/tests/support/server.rs"]
mod server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use common::{Scratch, explain, repo, sha256_hex};
use server::{Route, Server, real_source};

/// Copy `ports/<name>/Portfile.toml` into `tree/<name>/`, its `url` and
/// `mirrors` replaced by `urls`.
fn port_with_urls(tree: &Path, name: &str, urls: &[String]) -> PathBuf {
    let text =
        std::fs::read_to_string(repo().join("ports").join(name).join("Portfile.toml")).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        if line.starts_with("url = ") {
            out.push_str(&format!("url = \"{}\"\n", urls[0]));
            let mirrors: Vec<String> = urls[1..].iter().map(|u| format!("\"{u}\"")).collect();
            out.push_str(&format!("mirrors = [{}]\n", mirrors.join(", ")));
        } else if !line.starts_with("mirrors = ") {
            out.push_str(line);
            out.push('\n');
        }
    }
    let dir = tree.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Portfile.toml"), out).unwrap();
    dir
}

fn wport(scratch: &Scratch, args: &[&str]) -> Output {
    std::fs::create_dir_all(scratch.cache()).unwrap();
    Command::new(env!("CARGO_BIN_EXE_wport"))
        .args(args)
        .env("XDG_CACHE_HOME", scratch.cache())
        .output()
        .expect("running wport")
}

fn store(scratch: &Scratch) -> PathBuf {
    scratch.cache().join("wport/distfiles")
}

/// Names in a directory, sorted; the lock file the store and the quarantine
/// keep is left out.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n != ".lock")
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

const HELLO: &str = "hello_2.10.orig.tar.gz";
const TREE: &str = "tree_2.1.0.orig.tar.gz";

#[test]
fn fetch_a_ports_tree_with_a_mirror_fallback_then_from_the_store() {
    let server = Server::start();
    let scratch = Scratch::new("fetch-tree");
    let tree = scratch.path().join("ports");
    let hello = real_source(HELLO);
    let tree_tgz = real_source(TREE);
    let down = server.route("/gnu/hello-2.10.tar.gz", Route::Status(503));
    let mirror = server.route(
        "/mirror/hello-2.10.tar.gz",
        Route::Bytes(Arc::new(hello.clone())),
    );
    port_with_urls(&tree, "hello", &[down, mirror.clone()]);
    port_with_urls(
        &tree,
        "tree",
        &[server.route("/tree-2.1.0.tgz", Route::Bytes(Arc::new(tree_tgz.clone())))],
    );

    let out = wport(&scratch, &["fetch", "-j2", tree.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out, None));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "hello@2.10 hello-2.10.tar.gz: fetched from {mirror}"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("tree@2.1.0 tree-2.1.0.tgz: fetched from"),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--->  Fetched hello@2.10 hello-2.10.tar.gz"),
        "plain progress lines off a terminal: {stderr}"
    );
    let mut want = vec![sha256_hex(&hello), sha256_hex(&tree_tgz)];
    want.sort();
    assert_eq!(names(&store(&scratch)), want);

    // Again: nothing is downloaded.
    let out = wport(
        &scratch,
        &[
            "fetch",
            tree.join("hello").to_str().unwrap(),
            tree.join("tree").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out, None));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .matches("already in the store")
            .count(),
        2
    );
    assert_eq!(server.hits("/mirror/hello-2.10.tar.gz"), 1);
}

#[test]
fn tampered_tarball_is_quarantined_and_the_quarantine_verbs_work() {
    let server = Server::start();
    let scratch = Scratch::new("fetch-evil");
    let tree = scratch.path().join("ports");
    let mut evil = real_source(HELLO);
    let at = evil.len() / 2;
    evil[at] ^= 0xff;
    let url = server.route("/hello-2.10.tar.gz", Route::Bytes(Arc::new(evil.clone())));
    let port = port_with_urls(&tree, "hello", std::slice::from_ref(&url));

    let out = wport(&scratch, &["fetch", port.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", explain(&out, None));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "port hello@2.10",
        "hello-2.10.tar.gz",
        &url,
        "sha256 mismatch",
        "do NOT re-pin",
        "bug-hello@gnu.org",
        "wport quarantine show",
    ] {
        assert!(stderr.contains(needle), "lacks {needle:?}: {stderr}");
    }
    assert!(names(&store(&scratch)).is_empty(), "nothing in the store");

    let out = wport(&scratch, &["quarantine", "list"]);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out, None));
    let list = String::from_utf8_lossy(&out.stdout).into_owned();
    let id = list.split_whitespace().next().unwrap().to_owned();
    assert!(
        list.contains("hello@2.10 hello-2.10.tar.gz") && list.contains(&url),
        "{list}"
    );
    let payload = scratch
        .cache()
        .join("wport/quarantine")
        .join(&id)
        .join("payload");
    assert_eq!(std::fs::read(&payload).unwrap(), evil);

    let out = wport(&scratch, &["quarantine", "show", &id]);
    let show = String::from_utf8_lossy(&out.stdout);
    assert!(
        show.contains(&sha256_hex(&evil))
            && show.contains("\"http-status\": 200")
            && show.contains("bug-hello@gnu.org"),
        "{show}"
    );

    // A maintainer who re-pins the port to the quarantined bytes is stopped by lint.
    let text = std::fs::read_to_string(port.join("Portfile.toml")).unwrap();
    let repinned = text.replace(&sha256_hex(&real_source(HELLO)), &sha256_hex(&evil));
    assert_ne!(text, repinned);
    std::fs::write(port.join("Portfile.toml"), repinned).unwrap();
    let out = wport(&scratch, &["lint", port.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out, None));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("quarantined-checksum")
            || String::from_utf8_lossy(&out.stderr).contains("quarantined-checksum"),
        "{}",
        explain(&out, None)
    );

    // Release: a reason is required, the hold must have passed.
    let out = wport(&scratch, &["quarantine", "release", &id]);
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out, None));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a reason"));
    let out = wport(
        &scratch,
        &[
            "quarantine",
            "release",
            &id,
            "--reason",
            "upstream re-rolled it",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", explain(&out, None));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("may be released after 24h00m"),
        "{}",
        explain(&out, None)
    );
    let out = wport(
        &scratch,
        &[
            "quarantine",
            "--hold-hours",
            "0",
            "release",
            &id,
            "--reason",
            "upstream re-rolled it",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out, None));
    assert!(String::from_utf8_lossy(&out.stdout).contains("NOT added to the distfile store"));
    let out = wport(&scratch, &["quarantine", "list"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing in quarantine"));
    // Released: lint no longer objects on that ground.
    let out = wport(&scratch, &["lint", port.to_str().unwrap()]);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("quarantined-checksum"),
        "{}",
        explain(&out, None)
    );
    assert!(names(&store(&scratch)).is_empty());
}

#[test]
fn checksum_prints_the_pin_lines_of_a_new_version() {
    let server = Server::start();
    let scratch = Scratch::new("checksum");
    let tree = scratch.path().join("ports");
    // "The new version": the port still pins hello 2.10, upstream now serves tree's bytes.
    let new = real_source(TREE);
    let port = port_with_urls(
        &tree,
        "hello",
        &[server.route("/hello-2.11.tar.gz", Route::Bytes(Arc::new(new.clone())))],
    );
    let out = wport(&scratch, &["checksum", port.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out, None));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "sha256 = \"{}\"\nsize = {}\n",
            sha256_hex(&new),
            new.len()
        )),
        "{stdout}"
    );
    assert!(stdout.contains("differs from the Portfile"), "{stdout}");
    assert!(
        names(&store(&scratch)).is_empty(),
        "not the pinned bytes: not stored"
    );
    assert!(
        names(&scratch.cache().join("wport/quarantine")).is_empty(),
        "not quarantined either"
    );

    // The pinned bytes: printed, and stored.
    let port = port_with_urls(
        &tree,
        "tree",
        &[server.route("/tree.tgz", Route::Bytes(Arc::new(new.clone())))],
    );
    let out = wport(&scratch, &["checksum", port.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("matches the Portfile"),
        "{}",
        explain(&out, None)
    );
    assert_eq!(names(&store(&scratch)), vec![sha256_hex(&new)]);
}

#[test]
fn build_fetches_a_missing_distfile_and_stops_on_a_tampered_one() {
    let server = Server::start();
    let scratch = Scratch::new("build-fetch");
    let tree = scratch.path().join("ports");
    let tgz = real_source(TREE);
    let mut evil = tgz.clone();
    evil[100] ^= 1;
    let bad = server.route("/evil/tree-2.1.0.tgz", Route::Bytes(Arc::new(evil)));
    let port = port_with_urls(&tree, "tree", &[bad]);
    let out = scratch.build(&port, &["-j2"]);
    assert_eq!(out.status.code(), Some(3), "{}", explain(&out, None));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("do NOT re-pin") && stderr.contains("ice@mama.indstate.edu"),
        "{stderr}"
    );

    let good = server.route("/good/tree-2.1.0.tgz", Route::Bytes(Arc::new(tgz.clone())));
    let port = port_with_urls(&tree, "tree", &[good]);
    let out = scratch.build(&port, &["-j2"]);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out, None));
    assert_eq!(names(&store(&scratch)), vec![sha256_hex(&tgz)]);
    assert_eq!(server.hits("/good/tree-2.1.0.tgz"), 1);
}

// --- Issue 11, items 11 and 12 ---------------------------------------------------

#[test]
fn quarantine_list_reports_a_malformed_record_and_lists_the_others() {
    let server = Server::start();
    let scratch = Scratch::new("quarantine-malformed");
    let tree = scratch.path().join("ports");
    let mut evil = real_source(HELLO);
    evil[10_000] ^= 0xff;
    let url = server.route("/hello-2.10.tar.gz", Route::Bytes(Arc::new(evil.clone())));
    let port = port_with_urls(&tree, "hello", std::slice::from_ref(&url));
    let out = wport(&scratch, &["fetch", port.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", explain(&out, None));
    // The same bytes again: one item, seen twice, no second copy.
    let out = wport(&scratch, &["fetch", port.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", explain(&out, None));
    let quarantine = scratch.cache().join("wport/quarantine");
    let items = names(&quarantine);
    assert_eq!(items.len(), 1, "{items:?}");
    let id = items[0].clone();

    // A planted item whose record is garbage.
    let bad = quarantine.join("20990101T000000Z-garbage");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(bad.join("record.json"), b"\x1b]0;not json").unwrap();
    std::fs::write(bad.join("payload"), b"kept").unwrap();

    let out = wport(&scratch, &["quarantine", "list"]);
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out, None));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&id) && stdout.contains("hello@2.10 hello-2.10.tar.gz"),
        "{stdout}"
    );
    assert!(stdout.contains("seen 2 times"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("20990101T000000Z-garbage")
            && stderr.contains("malformed quarantine record"),
        "{stderr}"
    );
    // Nothing was removed: the planted item and the real one are both there.
    assert_eq!(std::fs::read(bad.join("payload")).unwrap(), b"kept");
    assert_eq!(
        std::fs::read(quarantine.join(&id).join("payload")).unwrap(),
        evil
    );
}

#[test]
fn fetch_stops_at_its_deadline_and_a_killed_fetch_leaves_no_partial() {
    let server = Server::start();
    let scratch = Scratch::new("fetch-slow");
    let tree = scratch.path().join("ports");
    let tgz = real_source(TREE);
    let slow = server.route(
        "/slow/tree-2.1.0.tgz",
        Route::Trickle {
            length: tgz.len() as u64,
            chunk: 256,
            every: std::time::Duration::from_millis(20),
        },
    );
    let port = port_with_urls(&tree, "tree", std::slice::from_ref(&slow));

    // A 1 s deadline: exit 1, the error names the port, the file and the URL.
    let out = wport(
        &scratch,
        &["fetch", "--deadline", "1", port.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out, None));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "tree@2.1.0",
        "tree-2.1.0.tgz",
        slow.as_str(),
        "deadline of 1 s",
    ] {
        assert!(stderr.contains(needle), "lacks {needle:?}: {stderr}");
    }
    assert!(
        names(&store(&scratch)).is_empty(),
        "{:?}",
        names(&store(&scratch))
    );

    // Killed mid-download (SIGKILL: no destructor runs) its partial file stays...
    let mut child = Command::new(env!("CARGO_BIN_EXE_wport"))
        .args(["fetch", port.to_str().unwrap()])
        .env("XDG_CACHE_HOME", scratch.cache())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let partial = loop {
        let found = names(&store(&scratch))
            .into_iter()
            .find(|n| n.starts_with(".partial."));
        if let Some(p) = found
            && std::fs::metadata(store(&scratch).join(&p)).is_ok_and(|m| m.len() > 0)
        {
            break p;
        }
        assert!(child.try_wait().unwrap().is_none(), "the fetch ended early");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(names(&store(&scratch)), vec![partial.clone()]);

    // ...until the next fetch, which sweeps it and stores only the tarball.
    let good = server.route("/good/tree-2.1.0.tgz", Route::Bytes(Arc::new(tgz.clone())));
    let port = port_with_urls(&tree, "tree", &[good]);
    let out = wport(&scratch, &["fetch", port.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out, None));
    assert_eq!(names(&store(&scratch)), vec![sha256_hex(&tgz)]);
}

#[test]
fn build_refuses_a_fifo_file_source_and_reads_file_localhost_as_absolute() {
    let scratch = Scratch::new("build-file-url");
    let tree = scratch.path().join("ports");
    let tgz = real_source(TREE);

    // A FIFO named by a file:// URL: refused at once (it used to hang the build).
    let fifo = scratch.path().join("tree-2.1.0.tgz");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let port = port_with_urls(&tree, "tree", &[format!("file://{}", fifo.display())]);
    let out = std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::channel();
        let (scratch, port) = (&scratch, &port);
        s.spawn(move || {
            let _ = tx.send(scratch.build(port, &["-j2"]));
        });
        match rx.recv_timeout(std::time::Duration::from_secs(120)) {
            Ok(out) => out,
            Err(_) => {
                // Unblock the reader (a writer opens, writes nothing, closes)
                // so the failure is reported instead of hanging the suite.
                drop(std::fs::OpenOptions::new().write(true).open(&fifo));
                panic!("the build blocked on a FIFO source");
            }
        }
    });
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out, None));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "tree@2.1.0",
        "tree-2.1.0.tgz",
        "is a FIFO, not a regular file",
    ] {
        assert!(stderr.contains(needle), "lacks {needle:?}: {stderr}");
    }
    assert!(
        names(&store(&scratch)).is_empty(),
        "{:?}",
        names(&store(&scratch))
    );

    // file://localhost/ABS is /ABS (it used to be read as the relative
    // path `localhost/ABS`).
    let real = scratch.path().join("real-tree-2.1.0.tgz");
    std::fs::write(&real, &tgz).unwrap();
    let port = port_with_urls(
        &tree,
        "tree",
        &[format!("file://localhost{}", real.display())],
    );
    let out = scratch.build(&port, &["-j2"]);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out, None));
    assert_eq!(names(&store(&scratch)), vec![sha256_hex(&tgz)]);
}

/// A plain tar holding one GNU sparse entry ('S'): `stored` data bytes at the
/// end of a `real`-byte file whose rest is a hole (issue 11, item 9).
fn gnu_sparse_tar(name: &str, stored: &[u8], real: u64) -> Vec<u8> {
    let mut h = [0u8; 512];
    let octal = |field: &mut [u8], v: u64| {
        let s = format!("{v:0width$o}\0", width = field.len() - 1);
        field.copy_from_slice(s.as_bytes());
    };
    h[..name.len()].copy_from_slice(name.as_bytes());
    octal(&mut h[100..108], 0o644);
    octal(&mut h[108..116], 1000);
    octal(&mut h[116..124], 1000);
    octal(&mut h[124..136], stored.len() as u64);
    octal(&mut h[136..148], 1_700_000_000);
    h[156] = b'S';
    h[257..265].copy_from_slice(b"ustar  \0");
    octal(&mut h[386..398], real - stored.len() as u64);
    octal(&mut h[398..410], stored.len() as u64);
    octal(&mut h[483..495], real);
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut tar = h.to_vec();
    tar.extend_from_slice(stored);
    tar.resize(tar.len().div_ceil(512) * 512 + 1024, 0);
    tar
}

#[test]
fn build_refuses_a_sparse_tar_entry_with_exit_3() {
    // ~2.5 KB of distfile that would have written 1 GiB of zeros into work/.
    let scratch = Scratch::new("build-sparse");
    let tree = scratch.path().join("ports");
    let archive = gnu_sparse_tar("tree-2.1.0/hole", &[7u8; 512], 1 << 30);
    let path = scratch.path().join("tree-2.1.0.tgz");
    std::fs::write(&path, &archive).unwrap();
    let port = port_with_urls(&tree, "tree", &[format!("file://{}", path.display())]);
    let text = std::fs::read_to_string(port.join("Portfile.toml")).unwrap();
    let text = text
        .replace(
            "0160c535bff2b0dc6a830b9944e981e3427380f63e748da96ced7071faebabf6",
            &sha256_hex(&archive),
        )
        .replace("size = 59189", &format!("size = {}", archive.len()));
    std::fs::write(port.join("Portfile.toml"), text).unwrap();

    let out = scratch.build(&port, &["-j2"]);
    assert_eq!(out.status.code(), Some(3), "{}", explain(&out, None));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "tree@2.1.0",
        "tree-2.1.0.tgz",
        "\"tree-2.1.0/hole\"",
        "GNU sparse file refused",
    ] {
        assert!(stderr.contains(needle), "lacks {needle:?}: {stderr}");
    }
    // Nothing of the entry was written into the build's work directory.
    // (Found by name, wherever the build layout puts it.)
    fn find_work(dir: &Path, depth: u32) -> Option<PathBuf> {
        for e in std::fs::read_dir(dir).ok()?.flatten() {
            let p = e.path();
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            if e.file_name() == "work" {
                return Some(p);
            }
            if depth > 0
                && let Some(w) = find_work(&p, depth - 1)
            {
                return Some(w);
            }
        }
        None
    }
    let work = find_work(&scratch.build_root(), 3).expect("the build's work directory");
    assert_eq!(
        std::fs::read_dir(&work).unwrap().count(),
        0,
        "{} is not empty",
        work.display()
    );
}
