//! Issue 14's "Broken" list, one test per item, through the real binary:
//! output into a closed pipe, exit codes decided in one place
//! (engine/cli/src/exit.rs), queries that never create the prefix, and the
//! messages that were wrong.

#![allow(
    clippy::disallowed_methods,
    reason = "an end-to-end test: runs the wport binary as a user does and tar to make a fixture"
)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{Scratch, explain, sha256_hex};
use wport_registry::manifest::Provenance;
use wport_registry::{PackageMeta, create_package};

const WPORT: &str = env!("CARGO_BIN_EXE_wport");

fn wport(args: &[&str]) -> Command {
    let mut c = Command::new(WPORT);
    c.args(args);
    c
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A signed package of a few files, installed into `prefix`, trusted
/// through the key directory `tmp/trusted`.
fn install_tool(tmp: &Path, prefix: &Path) {
    let key = wport_trust::SecretKey::from_seed(&[14; 32]).unwrap();
    let keys = tmp.join("trusted");
    std::fs::create_dir_all(&keys).unwrap();
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(
        keys.join("packager.pub"),
        serde_json::to_vec(&key.public().to_tuf()).unwrap(),
    )
    .unwrap();
    let tree = tmp.join("tree");
    for i in 0..50 {
        let p = tree.join(format!("share/tool/f{i}"));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, format!("file {i}\n")).unwrap();
    }
    let pkg = tmp.join("tool-1.0_0.wpkg");
    let meta = PackageMeta {
        name: "tool".into(),
        version: "1.0".into(),
        revision: 0,
        prefix: prefix.to_string_lossy().into_owned(),
        dependencies: vec![],
        source_date_epoch: 1_700_000_000,
        provenance: Provenance::default(),
    };
    create_package(&tree, &meta, &key, &pkg).unwrap();
    let o = wport(&["install", pkg.to_str().unwrap(), "--prefix"])
        .arg(prefix)
        .arg("--keys")
        .arg(&keys)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Run `cmd` with its stdout a pipe whose reading end is already closed:
/// its first write fails with EPIPE (or raises SIGPIPE), deterministically.
fn into_closed_pipe(cmd: &mut Command) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    cmd.stdout(writer).stderr(Stdio::piped()).output().unwrap()
}

#[test]
fn output_into_a_closed_pipe_ends_quietly_without_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let prefix = tmp.path().canonicalize().unwrap().join("prefix");
    install_tool(tmp.path(), &prefix);
    let keys = tmp.path().join("keys");
    for name in ["root", "targets", "snapshot"] {
        let o = wport(&["key", "generate", name, "--dir"])
            .arg(&keys)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let p = prefix.to_str().unwrap();
    let k = keys.to_str().unwrap();
    let cases: [&[&str]; 5] = [
        &["contents", "tool", "--prefix", p],
        &["list", "--prefix", p],
        &["info", "tool", "--prefix", p],
        &["verify", "--prefix", p],
        &["key", "list", "--dir", k],
    ];
    for args in cases {
        let o = into_closed_pipe(&mut wport(args));
        let err = stderr(&o);
        // Ended by SIGPIPE as `cat` is, not exit 101 with a panic message.
        assert_eq!(o.status.signal(), Some(13), "wport {args:?}: {err}");
        assert!(!err.contains("panicked"), "wport {args:?}: {err}");
        assert_eq!(err, "", "wport {args:?}");
    }
}

#[test]
fn a_query_never_creates_the_prefix_it_is_pointed_at() {
    let tmp = tempfile::tempdir().unwrap();
    let typo = tmp.path().join("typo");
    let t = typo.to_str().unwrap();
    let cases: [&[&str]; 5] = [
        &["verify", "--prefix", t],
        &["list", "--prefix", t],
        &["contents", "tool", "--prefix", t],
        &["info", "tool", "--prefix", t],
        &["owner", "/x/bin/tool", "--prefix", t],
    ];
    for args in cases {
        let o = wport(args).output().unwrap();
        assert_eq!(o.status.code(), Some(1), "wport {args:?}: {}", stderr(&o));
        assert_eq!(
            stderr(&o),
            format!(
                "error: the prefix {t} does not exist (nothing is installed there; check --prefix)\n"
            ),
            "wport {args:?}"
        );
        assert!(!typo.exists(), "wport {args:?} created {t}");
    }
}

/// A local port building with make from a tarball made of `files`; its
/// sha256 pin replaced by `sha256` when given. Returns the port directory.
fn make_port(scratch: &Scratch, name: &str, files: &[(&str, &str)], extra: &str) -> PathBuf {
    let top = format!("{name}-1.0");
    let stage = scratch.path().join("dist");
    let src = stage.join(&top);
    std::fs::create_dir_all(&src).unwrap();
    for (file, text) in files {
        std::fs::write(src.join(file), text).unwrap();
    }
    let port = scratch.path().join(name);
    std::fs::create_dir_all(&port).unwrap();
    let tarball = port.join(format!("{top}.tar.gz"));
    let tar = Command::new("tar")
        .arg("-C")
        .arg(&stage)
        .args(["--owner=0", "--group=0", "-czf"])
        .arg(&tarball)
        .arg(&top)
        .output()
        .unwrap();
    assert!(tar.status.success(), "{}", stderr(&tar));
    let bytes = std::fs::read(&tarball).unwrap();
    let portfile = format!(
        r#"[port]
name = "{name}"
version = "1.0"
description = "A port for issue 14's tests"
homepage = "https://example.invalid/"
license = "CC0-1.0"
maintainers = ["wport developers <wport@example.invalid>"]
upstream-contact = "wport developers <wport@example.invalid>"

[[source]]
url = "{top}.tar.gz"
sha256 = "{}"
size = {}

[build]
standard = "make"

[capabilities.build]
programs = ["make"]

[capabilities.destroot]
programs = ["make"]
{extra}"#,
        sha256_hex(&bytes),
        bytes.len()
    );
    std::fs::write(port.join("Portfile.toml"), portfile).unwrap();
    port
}

const HUNGRY_MAKEFILE: &str =
    "all:\n\tcc -o eat eat.c\n\t./eat 256\n\ninstall:\n\tmkdir -p $(DESTDIR)$(PREFIX)/bin\n";

const EAT_C: &str = r#"#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
    for (long i = 0; i < atol(argv[1]); i++) {
        char *p = malloc(1 << 20);
        if (!p) return 1;
        memset(p, 1, 1 << 20);
    }
    return 0;
}
"#;

/// `wport build` or `wport package` of the local `port` with every state
/// directory in `scratch`.
fn build_or_package(scratch: &Scratch, verb: &str, port: &Path) -> Output {
    std::fs::create_dir_all(scratch.cache()).unwrap();
    common::set_mode(&scratch.cache(), 0o700);
    std::fs::create_dir_all(scratch.build_root()).unwrap();
    common::set_mode(&scratch.build_root(), 0o755);
    let out = scratch.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    common::set_mode(&out, 0o755);
    let key = scratch.path().join("packager.key");
    if !key.exists() {
        wport_trust::SecretKey::from_seed(&[7; 32])
            .unwrap()
            .write_file(&key)
            .unwrap();
    }
    let mut c = wport(&[verb, "--unsigned", "--build-root"]);
    c.arg(scratch.build_root());
    if verb == "package" {
        c.arg("--key").arg(&key).arg("-o").arg(&out);
    }
    c.arg(port)
        .env("XDG_CACHE_HOME", scratch.cache())
        .output()
        .unwrap()
}

/// The same cause gives the same documented code from every verb
/// (engine/cli/src/exit.rs): `package` used to turn all of these into 1.
#[test]
fn exit_codes_are_decided_in_one_place_for_every_verb() {
    let scratch = Scratch::new("exit-codes");
    let hungry = make_port(
        &scratch,
        "hungry",
        &[("Makefile", HUNGRY_MAKEFILE), ("eat.c", EAT_C)],
        "\n[limits]\nmemory = \"64MiB\"\nprocesses = 64\n",
    );
    // A pin that does not match the distfile shipped with the port.
    let typo = make_port(&scratch, "typo", &[("Makefile", "all:\n\ninstall:\n")], "");
    let pf = typo.join("Portfile.toml");
    let text = std::fs::read_to_string(&pf).unwrap();
    let pin = text.split("sha256 = \"").nth(1).unwrap()[..64].to_owned();
    std::fs::write(&pf, text.replace(&pin, &"0".repeat(64))).unwrap();

    let cases: [(&str, &Path, i32, &str); 4] = [
        ("build", &hungry, 4, "build limit exceeded"),
        ("package", &hungry, 4, "build limit exceeded"),
        ("build", &typo, 3, "sha256 mismatch"),
        ("package", &typo, 3, "sha256 mismatch"),
    ];
    for (verb, port, code, text) in cases {
        let o = build_or_package(&scratch, verb, port);
        let all = explain(&o, None);
        assert_eq!(o.status.code(), Some(code), "wport {verb} {port:?}: {all}");
        assert!(all.contains(text), "wport {verb} {port:?}: {all}");
    }

    // No trusted root: the same code (1, nothing was refused) from sync,
    // repo and build.
    let tmp = tempfile::tempdir().unwrap();
    let trust = tmp.path().join("trust");
    let repo = tmp.path().join("repo");
    let o = wport(&["sync", "--from"])
        .arg(&repo)
        .arg("--trust-dir")
        .arg(&trust)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("no trusted root"), "{}", stderr(&o));
    let o = wport(&["build", "zlib", "--trust-dir"])
        .arg(&trust)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let o = wport(&["key", "show"])
        .arg(tmp.path().join("missing.key"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

/// A failed build names its log and shows the failing command's last
/// output lines; the error says `port NAME@VERSION` once.
#[test]
fn a_failed_build_shows_its_log_and_the_last_output_lines() {
    let scratch = Scratch::new("failed-build");
    let port = make_port(
        &scratch,
        "bad",
        &[(
            "Makefile",
            "all:\n\t@echo compiling foo.c\n\t@echo 'foo.c:3: error: expected ;' >&2\n\t@false\n\ninstall:\n",
        )],
        "",
    );
    let o = build_or_package(&scratch, "build", &port);
    let log = scratch.build_root().join("bad-1.0/build.log");
    assert_eq!(o.status.code(), Some(1), "{}", explain(&o, Some(&log)));
    let err = stderr(&o);
    let tail = err.split("--->  Building bad\n").nth(1).unwrap_or(&err);
    assert_eq!(
        tail,
        format!(
            "error: port bad@1.0: phase build failed: `make -j{jobs}` (in /work/bad-1.0) exited with status 2\n\
             the build log: {}\n\
             the last 3 line(s) a native command printed:\n  \
             | compiling foo.c\n  \
             | foo.c:3: error: expected ;\n  \
             | make: *** [Makefile:4: all] Error 1\n",
            log.display(),
            jobs = tail
                .split("`make -j")
                .nth(1)
                .and_then(|t| t.split('`').next())
                .unwrap_or("?")
        )
    );
}

#[test]
fn messages_say_each_thing_once() {
    let tmp = tempfile::tempdir().unwrap();
    // A malformed Portfile: its rendered diagnostic is not prefixed twice.
    let port = tmp.path().join("p");
    std::fs::create_dir(&port).unwrap();
    std::fs::write(
        port.join("Portfile.toml"),
        "[port]\nname = \"p\"\nbogus = 1\n",
    )
    .unwrap();
    let o = wport(&["build", "--unsigned", "--build-root"])
        .arg(tmp.path().join("build"))
        .arg(&port)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("\nerror: unknown field `bogus` in [port]\n"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("error: error"), "{}", stderr(&o));
    // The same through `install`'s plan (it printed `error: error: ...`).
    let o = wport(&["install", "p", "--unsigned"])
        .arg(tmp.path())
        .arg("--prefix")
        .arg(tmp.path().join("prefix"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("\nerror: missing field `version` in [port]\n"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("error: error"), "{}", stderr(&o));
    // An io::Error is not repeated under the message that quotes it.
    let missing = tmp.path().join("missing.key");
    let o = wport(&["key", "show"]).arg(&missing).output().unwrap();
    assert_eq!(
        stderr(&o),
        format!(
            "error: reading key {m}\n  caused by: reading key file {m}: No such file or directory (os error 2)\n",
            m = missing.display()
        )
    );
}

#[test]
fn key_generate_advice_fits_the_role_and_key_show_takes_the_name() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    let advice = [
        (
            "root",
            "keep it offline: it signs only when the repository's keys or ports change",
        ),
        (
            "timestamp",
            "keep it only on the machine that publishes the repository: it signs every `wport repo sign`/`timestamp`",
        ),
        (
            "snapshot",
            "keep it only on the machine that publishes the repository: it signs every `wport repo sign`/`timestamp`",
        ),
    ];
    for (name, text) in advice {
        let o = wport(&["key", "generate", name, "--dir"])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let secret = dir.join(format!("{name}.key"));
        assert!(
            out.contains(&format!(
                "secret {} (mode 0600: {text})\n",
                secret.display()
            )),
            "{out}"
        );
        let id = out.lines().next().unwrap().strip_prefix("key id ").unwrap();
        // `key show NAME` finds DIR/NAME.pub, as `key generate NAME` wrote it.
        let o = wport(&["key", "show", name, "--dir"])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(
            String::from_utf8_lossy(&o.stdout).starts_with(&format!("key id {id}\n")),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
}

/// Issue 14: a sha256 typo quarantines the right tarball. The notice says
/// it looks like a typo and how to recover; once the pin is right, `wport
/// lint` passes it (no 24-hour wait). Bytes quarantined against a pin they
/// are no typo of are still refused by lint when pinned.
#[test]
fn a_pin_typo_is_recoverable_and_lint_accepts_the_corrected_pin() {
    let scratch = Scratch::new("pin-typo");
    std::fs::create_dir_all(scratch.cache()).unwrap();
    common::set_mode(&scratch.cache(), 0o700);
    let port = make_port(&scratch, "typo", &[("Makefile", "all:\n\ninstall:\n")], "");
    let pf = port.join("Portfile.toml");
    let tarball = port.join("typo-1.0.tar.gz");
    let right = sha256_hex(&std::fs::read(&tarball).unwrap());
    // Served over file:// (a remote source, so a mismatch is quarantined).
    let served = std::fs::read_to_string(&pf).unwrap().replace(
        "url = \"typo-1.0.tar.gz\"",
        &format!("url = \"file://{}\"", tarball.display()),
    );
    let run = |args: &[&str]| {
        wport(args)
            .arg(&port)
            .env("XDG_CACHE_HOME", scratch.cache())
            .output()
            .unwrap()
    };
    // The maintainer swapped two characters of the pin.
    let mut typo: Vec<char> = right.chars().collect();
    typo.swap(0, 1);
    if typo[0] == typo[1] {
        typo[0] = if typo[0] == 'a' { 'b' } else { 'a' };
    }
    let typo: String = typo.into_iter().collect();
    std::fs::write(&pf, served.replace(&right, &typo)).unwrap();
    let o = run(&["fetch"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    let id = err
        .split("wport quarantine show ")
        .nth(1)
        .and_then(|t| t.split('`').next())
        .unwrap()
        .to_owned();
    let size = std::fs::metadata(&tarball).unwrap().len();
    let distance = typo
        .chars()
        .zip(right.chars())
        .filter(|(a, b)| a != b)
        .count();
    assert!(
        err.contains(&format!(
            "This looks like a typo in the Portfile: its sha256 {typo} differs from the sha256 of the \
             bytes served, {right}, in {distance} character(s) only (other bytes would differ in almost all 64). \
             Check {right} against the checksum or signature upstream publishes for typo-1.0.tar.gz; if it is \
             theirs, pin it (sha256 = \"{right}\", size = {size}): `wport lint` accepts it despite this \
             item, and once the hold has passed `wport quarantine release {id} --reason \"pin typo; \
             sha256 checked against upstream's published checksum\"` clears the item."
        )),
        "{err}"
    );
    assert!(!err.contains("verified"), "{err}");
    // The corrected pin lints clean while the item is still held.
    std::fs::write(&pf, &served).unwrap();
    let o = run(&["lint"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        stderr(&o)
    );
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains("quarantined-checksum"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );

    // Another file's checksum pinned by mistake is not a typo: the right
    // bytes are quarantined against it, and pinning them is for review.
    let other = sha256_hex(b"another file");
    std::fs::write(&pf, served.replace(&right, &other)).unwrap();
    // The earlier item is the same bytes; clear the quarantine so the new
    // record carries the new pin.
    std::fs::remove_dir_all(scratch.cache().join("wport/quarantine")).unwrap();
    let o = run(&["fetch"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("If the Portfile's pin itself is wrong"),
        "{}",
        stderr(&o)
    );
    std::fs::write(&pf, &served).unwrap();
    let o = run(&["lint"]);
    let out = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("quarantined-checksum"), "{out}");
}

/// Issue 14: `wport package` of a port that runs native programs, run as
/// root into a directory only root may write, used to fail "Permission
/// denied" (the package was written after the build dropped to the build
/// user) and left a package owned by nobody. The package is now written by
/// the invoking user, whoever that is.
#[test]
fn package_writes_the_package_as_the_invoking_user() {
    use std::os::unix::fs::MetadataExt;
    let scratch = Scratch::new("package-owner");
    let port = make_port(
        &scratch,
        "good",
        &[(
            "Makefile",
            "all:\n\techo built\n\ninstall:\n\tmkdir -p $(DESTDIR)$(PREFIX)/share/good\n\techo hi > $(DESTDIR)$(PREFIX)/share/good/hi\n",
        )],
        "",
    );
    let o = build_or_package(&scratch, "package", &port);
    let out = scratch.path().join("out");
    assert_eq!(o.status.code(), Some(0), "{}", explain(&o, None));
    // The output directory is the invoking user's, mode 0755: nobody else
    // may write it.
    let me = std::fs::metadata(scratch.path().join("packager.key"))
        .unwrap()
        .uid();
    let meta = std::fs::metadata(&out).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (me, 0o755));
    let pkgs: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(pkgs.len(), 1, "{pkgs:?}");
    assert!(
        pkgs[0].to_string_lossy().ends_with("good-1.0_0.wpkg"),
        "{pkgs:?}"
    );
    assert_eq!(std::fs::metadata(&pkgs[0]).unwrap().uid(), me);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains(&format!("package: {}", pkgs[0].display())),
        "{stdout}"
    );
}
