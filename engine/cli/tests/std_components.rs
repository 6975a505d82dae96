//! The standard components' parameters and the cmake and meson components,
//! by the real `wport build` on real upstream tarballs (from
//! `$WPORT_REAL_SOURCES`, as `scripts/test` sets it):
//!
//! - GNU hello with `reinplace`, `cflags`/`cppflags` and
//!   `use-parallel-build = false`: the edit is in the program that runs, the
//!   flags are what configure recorded, make ran with `-j1`;
//! - a `reinplace` pattern that matches nothing fails the build, naming the
//!   pattern and the file;
//! - a misspelt parameter key fails `wport build` before anything runs, with
//!   the Portfile's line and a did-you-mean (exit 2);
//! - ports/cjson (CMake) and ports/serd (Meson): out of source in
//!   `{work}/build`, installed by DESTDIR, and what they install works.

#![allow(
    clippy::disallowed_methods,
    reason = "an end-to-end test: runs the wport binary as a user does, cc and the programs it built"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Scratch, explain, real_source};

const HELLO_SHA256: &str = "31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b";
const PREFIX: &str = "/opt/wport";

/// A hello Portfile with `params` as its `[build.params]` body.
fn hello_port(scratch: &Scratch, params: &str) -> PathBuf {
    let dir = scratch.path().join("port");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Portfile.toml"),
        format!(
            r#"[port]
name = "hello"
version = "2.10"
description = "GNU hello with standard-component parameters"
homepage = "https://www.gnu.org/software/hello/"
license = "GPL-3.0-or-later"
maintainers = ["wport developers <wport@example.invalid>"]
upstream-contact = "bug-hello@gnu.org"

[[source]]
url = "https://ftp.gnu.org/gnu/hello/hello-2.10.tar.gz"
sha256 = "{HELLO_SHA256}"
size = 725946

[build]
standard = "autotools"

[build.params]
{params}

[capabilities.configure]
programs = ["./configure"]

[capabilities.build]
programs = ["make"]

[capabilities.destroot]
programs = ["make"]
"#
        ),
    )
    .unwrap();
    scratch.seed_distfile(&real_source(HELLO_SHA256));
    dir
}

fn build_dir(scratch: &Scratch, name_version: &str) -> PathBuf {
    scratch.build_root().join(name_version)
}

fn staged(dir: &Path, rel: &str) -> PathBuf {
    dir.join("destroot")
        .join(PREFIX.trim_start_matches('/'))
        .join(rel)
}

#[test]
fn reinplace_flags_and_serial_build() {
    let scratch = Scratch::new("std-params");
    let port = hello_port(
        &scratch,
        r#"configure-args = ["--disable-nls"]
reinplace = ["s|Hello, world!|Hello from {name} {version}!|g src/hello.c"]
cflags = ["-O1", "-g0"]
cppflags = "-DWPORT_CPPFLAGS_REACHED=1"
use-parallel-build = false"#,
    );
    let out = scratch.build(&port, &["-j2"]);
    let dir = build_dir(&scratch, "hello-2.10");
    let log_path = dir.join("build.log");
    assert!(out.status.success(), "{}", explain(&out, Some(&log_path)));
    let log = std::fs::read_to_string(&log_path).unwrap();

    // The edit is logged with its count and is in the program that runs.
    assert!(
        log.contains("reinplace `s|Hello, world!|Hello from hello 2.10!|g src/hello.c`: 1 replacement in src/hello.c"),
        "{log}"
    );
    let run = Command::new(staged(&dir, "bin/hello")).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        "Hello from hello 2.10!\n"
    );

    // configure recorded the flags the component passed.
    let makefile = std::fs::read_to_string(dir.join("work/hello-2.10/Makefile")).unwrap();
    assert!(
        makefile.contains("\nCFLAGS = -O1 -g0\n"),
        "CFLAGS not recorded"
    );
    assert!(
        makefile.contains("\nCPPFLAGS = -DWPORT_CPPFLAGS_REACHED=1\n"),
        "CPPFLAGS not recorded"
    );

    // use-parallel-build = false wins over -j2.
    let make_runs: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with(r#"[exec] "make" argv=["-j"#))
        .collect();
    assert!(!make_runs.is_empty(), "{log}");
    assert!(
        make_runs.iter().all(|l| l.contains(r#"argv=["-j1""#)),
        "{make_runs:?}"
    );
}

#[test]
fn reinplace_matching_nothing_fails_the_build() {
    let scratch = Scratch::new("std-reinplace-stale");
    let port = hello_port(
        &scratch,
        r#"reinplace = ["s|Goodbye, world!|x|g src/hello.c"]"#,
    );
    let out = scratch.build(&port, &[]);
    let dir = build_dir(&scratch, "hello-2.10");
    let log_path = dir.join("build.log");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        explain(&out, Some(&log_path))
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Goodbye, world!")
            && stderr.contains("src/hello.c")
            && stderr.contains("the pattern matches nothing"),
        "{}",
        explain(&out, Some(&log_path))
    );
    // It failed in patch: configure never ran.
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(!log.contains("./configure"), "{log}");
}

#[test]
fn misspelt_param_fails_build_with_line_and_suggestion() {
    let scratch = Scratch::new("std-typo");
    let port = hello_port(&scratch, r#"configure-arg = ["--disable-nls"]"#);
    let out = scratch.build(&port, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out, None));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown parameter `configure-arg` of the standard component `autotools`"),
        "{stderr}"
    );
    assert!(stderr.contains("Portfile.toml:19:1"), "{stderr}");
    assert!(
        stderr.contains("did you mean `configure-args`?"),
        "{stderr}"
    );
    assert!(
        !build_dir(&scratch, "hello-2.10").join("work").exists(),
        "nothing may be extracted"
    );

    // `wport lint` says the same.
    let lint = Command::new(env!("CARGO_BIN_EXE_wport"))
        .arg("lint")
        .arg(&port)
        .env("XDG_CACHE_HOME", scratch.cache())
        .output()
        .unwrap();
    assert_eq!(lint.status.code(), Some(1), "{}", explain(&lint, None));
    let stdout = String::from_utf8_lossy(&lint.stdout);
    assert!(
        stdout.contains("error[schema-unknown-field]: unknown parameter `configure-arg`")
            && stdout.contains("did you mean `configure-args`?"),
        "{}",
        explain(&lint, None)
    );
}

/// Build `ports/<name>` from its real tarball; the build directory.
fn build_real(scratch: &Scratch, name: &str) -> PathBuf {
    let port_dir = common::repo().join("ports").join(name);
    let portfile = wport_manifest::Portfile::load(&port_dir.join("Portfile.toml")).unwrap();
    for source in &portfile.sources {
        scratch.seed_distfile(&real_source(&source.sha256.to_string()));
    }
    let out = scratch.build(&port_dir, &["-j2"]);
    let dir = build_dir(
        scratch,
        &format!("{}-{}", portfile.port.name, portfile.port.version),
    );
    assert!(
        out.status.success(),
        "{}",
        explain(&out, Some(&dir.join("build.log")))
    );
    dir
}

#[test]
fn cmake_port_cjson() {
    let scratch = Scratch::new("std-cmake");
    let dir = build_real(&scratch, "cjson");
    let log = std::fs::read_to_string(dir.join("build.log")).unwrap();
    assert!(
        log.contains(r#"[exec] "cmake" argv=["-S", "/work/cJSON-1.7.15", "-B", "/work/build", "-DCMAKE_INSTALL_PREFIX=/opt/wport","#),
        "{log}"
    );
    assert!(
        log.contains(r#"[exec] "cmake" argv=["--build", "/work/build", "--parallel", "2"]"#),
        "{log}"
    );
    // Out of source: the build tree is beside the sources, not in them.
    assert!(dir.join("work/build/CMakeCache.txt").is_file());
    assert!(!dir.join("work/cJSON-1.7.15/CMakeCache.txt").exists());
    for rel in [
        "include/cjson/cJSON.h",
        "include/cjson/cJSON_Utils.h",
        "lib/libcjson.so.1.7.15",
        "lib/libcjson_utils.so.1.7.15",
        "lib/pkgconfig/libcjson.pc",
        "lib/cmake/cJSON/cJSONConfig.cmake",
    ] {
        assert!(staged(&dir, rel).is_file(), "{rel} missing");
    }
    let pc = std::fs::read_to_string(staged(&dir, "lib/pkgconfig/libcjson.pc")).unwrap();
    assert!(pc.contains("libdir=/opt/wport/lib\n"), "{pc}");

    // A program compiled against the staged headers and library parses JSON.
    let t = dir.join("linkcheck");
    std::fs::create_dir_all(&t).unwrap();
    std::fs::write(
        t.join("t.c"),
        r#"#include <stdio.h>
#include <cjson/cJSON.h>
int main(void) {
    cJSON *j = cJSON_Parse("{\"port\":\"cjson\",\"n\":42}");
    printf("%s %d\n", cJSON_GetObjectItem(j, "port")->valuestring,
           cJSON_GetObjectItem(j, "n")->valueint);
    return 0;
}
"#,
    )
    .unwrap();
    let cc = Command::new("cc")
        .arg(t.join("t.c"))
        .arg("-I")
        .arg(staged(&dir, "include"))
        .arg("-L")
        .arg(staged(&dir, "lib"))
        .arg("-lcjson")
        .arg("-o")
        .arg(t.join("t"))
        .output()
        .unwrap();
    assert!(cc.status.success(), "{}", explain(&cc, None));
    let run = Command::new(t.join("t"))
        .env("LD_LIBRARY_PATH", staged(&dir, "lib"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&run.stdout), "cjson 42\n");
}

#[test]
fn meson_port_serd() {
    let scratch = Scratch::new("std-meson");
    let dir = build_real(&scratch, "serd");
    let log = std::fs::read_to_string(dir.join("build.log")).unwrap();
    assert!(
        log.contains(r#"[exec] "meson" argv=["setup", "--prefix=/opt/wport", "--libdir=lib","#),
        "{log}"
    );
    assert!(
        log.contains(r#"[exec] "ninja" argv=["-C", "/work/build", "-j2"]"#),
        "{log}"
    );
    assert!(dir.join("work/build/build.ninja").is_file());
    for rel in [
        "bin/serdi",
        "include/serd-0/serd/serd.h",
        "lib/libserd-0.so.0.30.16",
        "lib/pkgconfig/serd-0.pc",
    ] {
        assert!(staged(&dir, rel).is_file(), "{rel} missing");
    }
    // serdi converts Turtle to N-Triples.
    let ttl = dir.join("t.ttl");
    std::fs::write(
        &ttl,
        "@prefix ex: <http://example.org/> .\nex:port ex:name \"serd\" .\n",
    )
    .unwrap();
    let run = Command::new(staged(&dir, "bin/serdi"))
        .arg(&ttl)
        .env("LD_LIBRARY_PATH", staged(&dir, "lib"))
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", explain(&run, None));
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        "<http://example.org/port> <http://example.org/name> \"serd\" .\n"
    );
}
