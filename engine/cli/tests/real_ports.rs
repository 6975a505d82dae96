//! The real ports of `ports/` built end to end by the real `wport build`,
//! from their real upstream tarballs: each test seeds a private distfile
//! store with the tarball its Portfile pins, builds with `-j2`, and checks
//! that the destroot holds what a MacPorts or Debian user expects and that
//! the installed programs run.
//!
//! The tarballs are not in the repository. Get them with
//! `scripts/fetch-real-sources DIR` and point `WPORT_REAL_SOURCES` at DIR
//! (`.ci/run` does both). Without it these tests fail, saying so: a silent
//! skip would make a green run mean nothing.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Scratch, explain, sha256_hex};

const PREFIX: &str = "opt/wport";

/// The tarball with this sha256 in `$WPORT_REAL_SOURCES`.
fn real_source(sha256: &str) -> Vec<u8> {
    let dir = std::env::var_os("WPORT_REAL_SOURCES").unwrap_or_else(|| {
        panic!(
            "WPORT_REAL_SOURCES is not set. These tests build real ports from their upstream tarballs: \
             run the suite with `scripts/test` (the README's test command), which fetches them and sets it"
        )
    });
    let dir = PathBuf::from(dir);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "WPORT_REAL_SOURCES={}: {e}; run scripts/fetch-real-sources",
            dir.display()
        )
    });
    for entry in entries {
        let path = entry.unwrap().path();
        if !path.is_file() {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        if sha256_hex(&bytes) == sha256 {
            return bytes;
        }
    }
    panic!(
        "no file with sha256 {sha256} in WPORT_REAL_SOURCES={}; run `scripts/fetch-real-sources {}`",
        dir.display(),
        dir.display()
    )
}

/// A finished build of one real port.
struct Built {
    _scratch: Scratch,
    dir: PathBuf,
}

impl Built {
    /// `destroot/opt/wport/<rel>`
    fn path(&self, rel: &str) -> PathBuf {
        self.dir.join("destroot").join(PREFIX).join(rel)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("build.log")).unwrap()
    }

    fn assert_files(&self, rels: &[&str]) {
        for rel in rels {
            let p = self.path(rel);
            assert!(
                p.symlink_metadata().is_ok(),
                "{} missing from the destroot",
                p.display()
            );
        }
    }

    fn assert_link(&self, rel: &str, target: &str) {
        let p = self.path(rel);
        let t = std::fs::read_link(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert_eq!(
            t,
            Path::new(target),
            "{} is a link to {}",
            p.display(),
            t.display()
        );
    }

    /// Run an installed program against the destroot's own libraries;
    /// its stdout.
    fn run(&self, rel: &str, args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
        self.run_both(rel, args, stdin).0
    }

    /// Run an installed program; its stdout and stderr.
    fn run_both(&self, rel: &str, args: &[&str], stdin: Option<&[u8]>) -> (Vec<u8>, Vec<u8>) {
        use std::io::Write;
        let program = self.path(rel);
        let mut child = Command::new(&program)
            .args(args)
            .env("LD_LIBRARY_PATH", self.path("lib"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("running {}: {e}", program.display()));
        let mut input = child.stdin.take().unwrap();
        let data = stdin.unwrap_or_default().to_vec();
        let writer = std::thread::spawn(move || {
            let _ = input.write_all(&data);
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        assert!(
            out.status.success(),
            "{} {args:?}: {:?}\n{}",
            program.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        (out.stdout, out.stderr)
    }

    /// stdout of a program run with no input.
    fn run_text(&self, rel: &str, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.run(rel, args, None)).into_owned()
    }
}

/// Build `ports/<name>` from its real tarball(s).
fn build(name: &str) -> Built {
    let port_dir = common::repo().join("ports").join(name);
    let portfile = wport_manifest::Portfile::load(&port_dir.join("Portfile.toml")).unwrap();
    let scratch = Scratch::new(name);
    for source in &portfile.sources {
        let bytes = real_source(&source.sha256.to_string());
        assert_eq!(
            bytes.len() as u64,
            source.size,
            "{name}: size of {}",
            source.distfile_name()
        );
        scratch.seed_distfile(&bytes);
    }
    let out = scratch.build(&port_dir, &["-j2"]);
    let dir = scratch
        .build_root()
        .join(format!("{}-{}", portfile.port.name, portfile.port.version));
    let log = dir.join("build.log");
    assert!(
        out.status.success(),
        "wport build ports/{name} failed:\n{}",
        explain(&out, Some(&log))
    );
    let built = Built {
        _scratch: scratch,
        dir,
    };
    // The provenance record: every native command the build ran is in the log.
    let log = built.log();
    assert!(
        log.contains("[wport exec] cwd="),
        "no audit record in the log of {name}:\n{log}"
    );
    built
}

#[test]
fn hello() {
    let b = build("hello");
    b.assert_files(&[
        "bin/hello",
        "share/man/man1/hello.1",
        "share/info/hello.info",
    ]);
    assert!(b.run_text("bin/hello", &[]).contains("Hello, world!"));
    assert!(
        b.run_text("bin/hello", &["--version"])
            .contains("hello (GNU Hello) 2.10")
    );
}

#[test]
fn zlib() {
    let b = build("zlib");
    b.assert_files(&[
        "include/zlib.h",
        "include/zconf.h",
        "lib/libz.a",
        "lib/libz.so.1.2.13",
        "lib/pkgconfig/zlib.pc",
        "share/man/man3/zlib.3",
    ]);
    b.assert_link("lib/libz.so.1", "libz.so.1.2.13");
    b.assert_link("lib/libz.so", "libz.so.1.2.13");
    let pc = std::fs::read_to_string(b.path("lib/pkgconfig/zlib.pc")).unwrap();
    assert!(
        pc.contains("prefix=/opt/wport") && pc.contains("Version: 1.2.13"),
        "{pc}"
    );

    // No program ships with zlib: link one against the installed library
    // and headers, and run it.
    let dir = b.dir.join("linkcheck");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("t.c"),
        r#"#include <stdio.h>
#include <string.h>
#include <zlib.h>
int main(void) {
    const char *text = "wport zlib wport zlib wport zlib";
    unsigned char packed[128], back[128];
    uLongf plen = sizeof packed, blen = sizeof back;
    if (compress(packed, &plen, (const Bytef *)text, strlen(text) + 1) != Z_OK) return 1;
    if (uncompress(back, &blen, packed, plen) != Z_OK) return 2;
    if (strcmp((char *)back, text) != 0) return 3;
    printf("%s\n", zlibVersion());
    return 0;
}
"#,
    )
    .unwrap();
    let cc = Command::new("cc")
        .arg("-o")
        .arg(dir.join("t"))
        .arg(dir.join("t.c"))
        .arg(format!("-I{}", b.path("include").display()))
        .arg(format!("-L{}", b.path("lib").display()))
        .arg("-lz")
        .output()
        .unwrap();
    assert!(
        cc.status.success(),
        "{}",
        String::from_utf8_lossy(&cc.stderr)
    );
    let run = Command::new(dir.join("t"))
        .env("LD_LIBRARY_PATH", b.path("lib"))
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    assert_eq!(String::from_utf8_lossy(&run.stdout).trim(), "1.2.13");
}

#[test]
fn bzip2() {
    let b = build("bzip2");
    b.assert_files(&[
        "bin/bzip2",
        "bin/bunzip2",
        "bin/bzcat",
        "bin/bzip2recover",
        "bin/bzgrep",
        "bin/bzmore",
        "bin/bzdiff",
        "include/bzlib.h",
        "lib/libbz2.a",
        "lib/libbz2.so.1.0.8",
        "share/man/man1/bzip2.1",
        "share/man/man1/bzgrep.1",
        "share/man/man1/bzless.1",
    ]);
    // The patch's relative links (upstream links to $(PREFIX)/bin/...).
    b.assert_link("bin/bzegrep", "bzgrep");
    b.assert_link("bin/bzfgrep", "bzgrep");
    b.assert_link("bin/bzless", "bzmore");
    b.assert_link("bin/bzcmp", "bzdiff");
    b.assert_link("lib/libbz2.so.1.0", "libbz2.so.1.0.8");
    assert!(b.log().contains("patch-Makefile.diff"));

    // bzip2 prints its banner on stderr (and compresses its empty stdin).
    let version =
        String::from_utf8_lossy(&b.run_both("bin/bzip2", &["--version"], Some(b"")).1).into_owned();
    assert!(version.contains("Version 1.0.8"), "{version}");
    let text = b"wport bzip2 round trip\n".repeat(100);
    let packed = b.run("bin/bzip2", &["-c"], Some(&text));
    assert_eq!(&packed[..3], b"BZh");
    assert_eq!(b.run("bin/bzcat", &[], Some(&packed)), text);
}

#[test]
fn lua() {
    let b = build("lua");
    b.assert_files(&[
        "bin/lua",
        "bin/luac",
        "include/lua.h",
        "include/luaconf.h",
        "include/lualib.h",
        "include/lauxlib.h",
        "include/lua.hpp",
        "lib/liblua.a",
        "share/man/man1/lua.1",
        "share/man/man1/luac.1",
        "share/lua/5.4",
        "lib/lua/5.4",
    ]);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(b.path("bin/lua"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    assert!(b.run_text("bin/lua", &["-v"]).contains("Lua 5.4.4"));
    assert_eq!(b.run_text("bin/lua", &["-e", "print(6 * 7)"]).trim(), "42");
    // configure pointed LUA_ROOT at the prefix.
    let path = b.run_text("bin/lua", &["-e", "print(package.path)"]);
    assert!(
        path.contains("/opt/wport/share/lua/5.4/") && !path.contains("/usr/local/"),
        "{path}"
    );
    // The destroot ran no native program: the component installed everything.
    let log = b.log();
    let destroot = log
        .split("phase destroot of")
        .nth(1)
        .expect("destroot phase in the log");
    assert!(
        !destroot.contains("[wport exec]"),
        "destroot ran a native program:\n{destroot}"
    );
}

#[test]
fn tree() {
    let b = build("tree");
    b.assert_files(&["bin/tree", "share/man/man1/tree.1"]);
    assert!(
        b.run_text("bin/tree", &["--version"])
            .contains("tree v2.1.0")
    );
    let listing = b.run_text(
        "bin/tree",
        &["--noreport", b.path("share").to_str().unwrap()],
    );
    assert!(listing.contains("tree.1"), "{listing}");
}

#[test]
fn xz() {
    let b = build("xz");
    b.assert_files(&[
        "bin/xz",
        "bin/xzdec",
        "bin/lzmainfo",
        "bin/xzgrep",
        "bin/xzdiff",
        "include/lzma.h",
        "include/lzma/version.h",
        "lib/liblzma.a",
        "lib/liblzma.so.5.4.1",
        "lib/pkgconfig/liblzma.pc",
        "share/man/man1/xz.1",
        "share/doc/xz/README",
    ]);
    b.assert_link("bin/unxz", "xz");
    b.assert_link("bin/xzcat", "xz");
    b.assert_link("lib/liblzma.so.5", "liblzma.so.5.4.1");
    let pc = std::fs::read_to_string(b.path("lib/pkgconfig/liblzma.pc")).unwrap();
    assert!(pc.contains("prefix=/opt/wport"), "{pc}");
    let version = b.run_text("bin/xz", &["--version"]);
    assert!(
        version.contains("xz (XZ Utils) 5.4.1") && version.contains("liblzma 5.4.1"),
        "{version}"
    );
    let text = b"wport xz round trip\n".repeat(100);
    let packed = b.run("bin/xz", &["-c"], Some(&text));
    assert_eq!(&packed[..6], b"\xfd7zXZ\0");
    assert_eq!(b.run("bin/xz", &["-dc"], Some(&packed)), text);
}

#[test]
fn gzip() {
    let b = build("gzip");
    b.assert_files(&[
        "bin/gzip",
        "bin/gunzip",
        "bin/zcat",
        "bin/zgrep",
        "bin/zless",
        "share/man/man1/gzip.1",
        "share/man/man1/zcat.1",
        "share/info/gzip.info",
    ]);
    assert!(b.run_text("bin/gzip", &["--version"]).contains("gzip 1.12"));
    let text = b"wport gzip round trip\n".repeat(100);
    let packed = b.run("bin/gzip", &["-c"], Some(&text));
    assert_eq!(&packed[..2], b"\x1f\x8b");
    assert_eq!(b.run("bin/gzip", &["-dc"], Some(&packed)), text);
}
