//! `wport new URL|FILE` on real upstream tarballs (from
//! `$WPORT_REAL_SOURCES`, as `scripts/test` sets it): the build system is
//! detected (autotools, cmake, meson, make), the Portfile pins the tarball,
//! lints clean and builds; what only the maintainer knows is listed; an
//! existing Portfile is not replaced without --force; a tree with no build
//! system is refused; a URL is downloaded once, into the distfile store.

#![allow(
    clippy::disallowed_methods,
    reason = "an end-to-end test: runs the wport binary as a user does, tar to make fixtures and the programs it built"
)]

mod common;
#[path = "../../fetch/tests/support/server.rs"]
mod server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use common::{Scratch, explain, sha256_hex};

fn real_sources() -> PathBuf {
    PathBuf::from(std::env::var_os("WPORT_REAL_SOURCES").expect(
        "WPORT_REAL_SOURCES is not set: run the suite with scripts/test, which fetches the real tarballs",
    ))
}

fn wport(scratch: &Scratch, args: &[&std::ffi::OsStr]) -> Output {
    std::fs::create_dir_all(scratch.cache()).unwrap();
    common::set_mode(&scratch.cache(), 0o700);
    Command::new(env!("CARGO_BIN_EXE_wport"))
        .args(args)
        .env("XDG_CACHE_HOME", scratch.cache())
        .env_remove("WPORT_MAINTAINER")
        .output()
        .unwrap()
}

/// `wport new FILE --ports <scratch>/ports`; the output.
fn new_port(scratch: &Scratch, file: &Path, extra: &[&str]) -> Output {
    let ports = scratch.path().join("ports");
    let mut args: Vec<&std::ffi::OsStr> = vec!["new".as_ref(), file.as_os_str()];
    args.extend([std::ffi::OsStr::new("--ports"), ports.as_os_str()]);
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    wport(scratch, &args)
}

fn lint_clean(scratch: &Scratch, port: &Path) {
    let out = wport(scratch, &["lint".as_ref(), port.as_os_str()]);
    assert!(out.status.success(), "{}", explain(&out, None));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("0 errors, 0 warnings"),
        "{}",
        explain(&out, None)
    );
}

#[test]
fn hello_from_a_file_lints_clean_and_builds() {
    let scratch = Scratch::new("new-hello");
    let tarball = real_sources().join("hello_2.10.orig.tar.gz");
    let out = new_port(&scratch, &tarball, &[]);
    assert!(out.status.success(), "{}", explain(&out, None));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let port = scratch.path().join("ports/hello");
    assert!(
        stdout.starts_with(&format!(
            "wrote {} (autotools, hello@2.10)",
            port.join("Portfile.toml").display()
        )),
        "{stdout}"
    );
    for field in [
        "description",
        "license",
        "homepage",
        "upstream-contact",
        "maintainers",
        "url",
    ] {
        assert!(
            stdout.lines().any(|l| l.trim_start().starts_with(field)),
            "{field} not listed as to fill in:\n{stdout}"
        );
    }

    let text = std::fs::read_to_string(port.join("Portfile.toml")).unwrap();
    let bytes = std::fs::read(&tarball).unwrap();
    let portfile = wport_manifest::Portfile::parse(&text, "Portfile.toml").unwrap();
    assert_eq!(portfile.port.name, "hello");
    assert_eq!(portfile.port.version, "2.10");
    assert_eq!(portfile.sources[0].sha256.to_string(), sha256_hex(&bytes));
    assert_eq!(portfile.sources[0].size, bytes.len() as u64);
    assert_eq!(
        portfile.build.kind,
        wport_manifest::BuildKind::Standard(wport_manifest::StandardComponent::Autotools)
    );

    lint_clean(&scratch, &port);
    let out = scratch.build(&port, &["-j2"]);
    let dir = scratch.build_root().join("hello-2.10");
    assert!(
        out.status.success(),
        "{}",
        explain(&out, Some(&dir.join("build.log")))
    );
    let run = Command::new(dir.join("destroot/opt/wport/bin/hello"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&run.stdout), "Hello, world!\n");

    // A second `wport new` does not replace the maintainer's work.
    let again = new_port(&scratch, &tarball, &[]);
    assert_eq!(again.status.code(), Some(1), "{}", explain(&again, None));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("exists; pass --force to replace it"),
        "{}",
        explain(&again, None)
    );
    assert_eq!(
        std::fs::read_to_string(port.join("Portfile.toml")).unwrap(),
        text
    );
    let forced = new_port(
        &scratch,
        &tarball,
        &[
            "--force",
            "--url",
            "https://ftp.gnu.org/gnu/hello/hello-2.10.tar.gz",
            "--maintainer",
            "Alice <alice@example.org>",
        ],
    );
    assert!(forced.status.success(), "{}", explain(&forced, None));
    let text = std::fs::read_to_string(port.join("Portfile.toml")).unwrap();
    assert!(
        text.contains("url = \"https://ftp.gnu.org/gnu/hello/hello-2.10.tar.gz\"\nsha256 = "),
        "{text}"
    );
    assert!(
        text.contains("maintainers = [\"Alice <alice@example.org>\"]"),
        "{text}"
    );
    lint_clean(&scratch, &port);
}

#[test]
fn cmake_port_detected_and_built() {
    let scratch = Scratch::new("new-cjson");
    let out = new_port(
        &scratch,
        &real_sources().join("cjson_1.7.15.orig.tar.gz"),
        &[],
    );
    assert!(out.status.success(), "{}", explain(&out, None));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("(cmake, cjson@1.7.15)"),
        "{}",
        explain(&out, None)
    );
    let port = scratch.path().join("ports/cjson");
    lint_clean(&scratch, &port);
    let out = scratch.build(&port, &["-j2"]);
    let dir = scratch.build_root().join("cjson-1.7.15");
    assert!(
        out.status.success(),
        "{}",
        explain(&out, Some(&dir.join("build.log")))
    );
    assert!(
        dir.join("destroot/opt/wport/lib/libcjson.so.1.7.15")
            .is_file()
    );
}

#[test]
fn meson_and_make_ports_detected() {
    for (file, expect, name) in [
        ("serd_0.30.16.orig.tar.xz", "(meson, serd@0.30.16)", "serd"),
        ("tree_2.1.0.orig.tar.gz", "(make, tree@2.1.0)", "tree"),
    ] {
        let scratch = Scratch::new("new-detect");
        let out = new_port(&scratch, &real_sources().join(file), &[]);
        assert!(out.status.success(), "{}", explain(&out, None));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(expect),
            "{file}: {}",
            explain(&out, None)
        );
        lint_clean(&scratch, &scratch.path().join("ports").join(name));
    }
}

#[test]
fn a_tree_without_a_build_system_is_refused() {
    let scratch = Scratch::new("new-none");
    let src = scratch.path().join("src/notes-1.0");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("README"), "no build system here\n").unwrap();
    let tarball = scratch.path().join("notes-1.0.tar.gz");
    let tar = Command::new("tar")
        .arg("-czf")
        .arg(&tarball)
        .arg("-C")
        .arg(scratch.path().join("src"))
        .arg("notes-1.0")
        .output()
        .unwrap();
    assert!(tar.status.success(), "{}", explain(&tar, None));
    let out = new_port(&scratch, &tarball, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out, None));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("no configure, CMakeLists.txt, meson.build or Makefile in notes-1.0/"),
        "{}",
        explain(&out, None)
    );
    assert!(!scratch.path().join("ports/notes").exists());
}

/// A tarball URL is downloaded once (issue 14: it was downloaded twice, the
/// second time only to store it): the loopback server counts one request,
/// and the distfile store holds the bytes under the sha256 written into the
/// Portfile, so a first build finds them there.
#[test]
fn a_url_is_downloaded_once_into_the_store() {
    let scratch = Scratch::new("new-once");
    let src = scratch.path().join("src/tiny-1.0");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("Makefile"), "all:\n\ttrue\n").unwrap();
    let tarball = scratch.path().join("tiny-1.0.tar.gz");
    let tar = Command::new("tar")
        .arg("-czf")
        .arg(&tarball)
        .arg("-C")
        .arg(scratch.path().join("src"))
        .arg("tiny-1.0")
        .output()
        .unwrap();
    assert!(tar.status.success(), "{}", explain(&tar, None));
    let bytes = std::fs::read(&tarball).unwrap();
    let sha256 = sha256_hex(&bytes);

    let server = server::Server::start();
    let url = server.route(
        "/tiny-1.0.tar.gz",
        server::Route::Bytes(Arc::new(bytes.clone())),
    );
    let ports = scratch.path().join("ports");
    let out = wport(
        &scratch,
        &[
            "new".as_ref(),
            url.as_ref(),
            "--ports".as_ref(),
            ports.as_os_str(),
        ],
    );
    assert!(out.status.success(), "{}", explain(&out, None));
    assert_eq!(
        server.hits("/tiny-1.0.tar.gz"),
        1,
        "{}",
        explain(&out, None)
    );

    let text = std::fs::read_to_string(ports.join("tiny/Portfile.toml")).unwrap();
    assert!(text.contains(&format!("sha256 = \"{sha256}\"")), "{text}");
    assert!(text.contains("standard = \"make\""), "{text}");
    let stored = scratch.cache().join("wport/distfiles").join(&sha256);
    assert_eq!(
        std::fs::read(&stored).unwrap(),
        bytes,
        "{}",
        stored.display()
    );
}
