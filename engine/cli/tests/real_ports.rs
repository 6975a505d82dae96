//! The real ports of `ports/` built end to end by the real `wport build`,
//! from their real upstream tarballs: each test seeds a private distfile
//! store with the tarball its Portfile pins, builds with `-j2`, and checks
//! that the destroot holds what a MacPorts or Debian user expects and that
//! the installed programs run.
//!
//! Ports with dependencies (readline, libpng, lua) are built against a
//! prefix where `wport install` has put what they link: during their
//! `wport build` the prefix shows exactly the dependencies their phases are
//! granted, and the tests check that the result links and loads the
//! prefix's libraries, not the machine's copies under /usr (libtinfo,
//! libreadline and libz have the same sonames there).
//!
//! The tarballs are not in the repository. Get them with
//! `scripts/fetch-real-sources DIR` and point `WPORT_REAL_SOURCES` at DIR
//! (`.ci/run` does both). Without it these tests fail, saying so: a silent
//! skip would make a green run mean nothing.

#![allow(
    clippy::disallowed_methods,
    reason = "an end-to-end test: runs the wport binary as a user does, the programs it built, readelf and ldd to check them"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Scratch, explain, real_source};

/// Where the ports without dependencies are built for.
const PREFIX: &str = "/opt/wport";

/// A finished build of one real port.
struct Built {
    /// Held by builds that own their scratch directory.
    _scratch: Option<Scratch>,
    dir: PathBuf,
    /// The prefix it was built for (absolute).
    prefix: PathBuf,
}

impl Built {
    /// `destroot/<prefix>/<rel>`
    fn path(&self, rel: &str) -> PathBuf {
        self.dir
            .join("destroot")
            .join(self.prefix.strip_prefix("/").unwrap())
            .join(rel)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("build.log")).unwrap()
    }

    /// Assert that the destroot phase compiled and linked nothing: what is
    /// installed is what `build` made against the granted dependencies.
    fn assert_destroot_compiles_nothing(&self) {
        let log = self.log();
        let destroot = log
            .split("phase destroot of")
            .nth(1)
            .expect("destroot phase in the log");
        let compiles = destroot
            .lines()
            .filter(|l| {
                let l = l.trim_start_matches("  | ");
                l.starts_with("gcc ")
                    || l.starts_with("cc ")
                    || l.starts_with("libtool: compile")
                    || l.starts_with("libtool: link")
            })
            .collect::<Vec<_>>();
        assert!(
            compiles.is_empty(),
            "make install compiled or linked again:\n{}",
            compiles.join("\n")
        );
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

    /// The NEEDED libraries and the RUNPATH of an ELF file in the destroot
    /// (`readelf -d`).
    fn dynamic(&self, rel: &str) -> (Vec<String>, Option<String>) {
        let out = Command::new("readelf")
            .arg("-d")
            .arg(self.path(rel))
            .output()
            .expect("readelf (binutils) runs");
        assert!(out.status.success(), "readelf -d {rel}: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        // `0x... (NEEDED)  Shared library: [libtinfo.so.6]`
        let bracketed = |line: &str| {
            line.split_once('[')
                .and_then(|(_, rest)| rest.split_once(']'))
                .map(|(value, _)| value.to_string())
        };
        let needed = text
            .lines()
            .filter(|l| l.contains("(NEEDED)"))
            .filter_map(bracketed)
            .collect();
        let runpath = text
            .lines()
            .find(|l| l.contains("(RUNPATH)") || l.contains("(RPATH)"))
            .and_then(bracketed);
        (needed, runpath)
    }
}

/// Put the real tarball(s) `ports/<name>` pins into the scratch's distfile
/// store.
fn seed(scratch: &Scratch, name: &str) {
    let port_dir = common::repo().join("ports").join(name);
    let portfile = wport_manifest::Portfile::load(&port_dir.join("Portfile.toml")).unwrap();
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
}

/// `wport build` `ports/<name>` from its real tarball(s) in `scratch` with
/// `extra` options; the build directory.
fn build_dir(scratch: &Scratch, name: &str, extra: &[&str]) -> PathBuf {
    let port_dir = common::repo().join("ports").join(name);
    let portfile = wport_manifest::Portfile::load(&port_dir.join("Portfile.toml")).unwrap();
    seed(scratch, name);
    let out = scratch.build(&port_dir, extra);
    let dir = scratch
        .build_root()
        .join(format!("{}-{}", portfile.port.name, portfile.port.version));
    let log = dir.join("build.log");
    assert!(
        out.status.success(),
        "wport build ports/{name} failed:\n{}",
        explain(&out, Some(&log))
    );
    // The provenance record: every native command the build ran is in the log.
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.lines()
            .any(|l| l.starts_with("[exec] ") && l.contains(" cwd=")),
        "no audit record in the log of {name}:\n{log}"
    );
    // A real build that keeps to its view is refused nothing: the trace of
    // refused accesses reports nothing for it (docs/CONFINEMENT.md).
    assert!(
        !log.contains("[trace] ") && !String::from_utf8_lossy(&out.stderr).contains("refused"),
        "{name}: refused accesses reported for a clean build:\n{}",
        explain(&out, Some(&dir.join("build.log")))
    );
    dir
}

/// Build `ports/<name>` (a port without dependencies) from its real
/// tarball(s) for /opt/wport.
fn build(name: &str) -> Built {
    let scratch = Scratch::new(name);
    let dir = build_dir(&scratch, name, &["-j2"]);
    Built {
        _scratch: Some(scratch),
        dir,
        prefix: PathBuf::from(PREFIX),
    }
}

/// A prefix in a scratch directory where `wport install` (from this
/// repository's ports, unsigned) put some ports, and builds of other ports
/// for it.
struct Installed {
    scratch: Scratch,
}

impl Installed {
    fn new(ports: &[&str]) -> Installed {
        let scratch = Scratch::new("deps");
        let t = scratch.path().to_path_buf();
        for (dir, mode) in [("cfg", 0o700), ("data", 0o700), ("install", 0o755)] {
            std::fs::create_dir_all(t.join(dir)).unwrap();
            common::set_mode(&t.join(dir), mode);
        }
        for p in ports {
            seed(&scratch, p);
        }
        let installed = Installed { scratch };
        let prefix = installed.prefix();
        let out = Command::new(env!("CARGO_BIN_EXE_wport"))
            .arg("install")
            .arg("--unsigned")
            .arg(common::repo().join("ports"))
            .args(ports)
            .arg("--prefix")
            .arg(&prefix)
            .arg("--build-root")
            .arg(t.join("install"))
            .args(["-j", "2"])
            .env("XDG_CACHE_HOME", installed.scratch.cache())
            .env("XDG_CONFIG_HOME", t.join("cfg"))
            .env("XDG_DATA_HOME", t.join("data"))
            .output()
            .expect("running wport install");
        assert!(
            out.status.success(),
            "wport install {ports:?}:\n{}",
            explain(&out, None)
        );
        installed
    }

    fn prefix(&self) -> PathBuf {
        self.scratch.path().join("prefix")
    }

    /// `wport build` `ports/<name>` for this prefix: its granted
    /// dependencies are the installed ones.
    fn build(&self, name: &str) -> Built {
        let prefix = self.prefix();
        let dir = build_dir(
            &self.scratch,
            name,
            &["-j2", "--prefix", prefix.to_str().unwrap()],
        );
        Built {
            _scratch: None,
            dir,
            prefix,
        }
    }
}

/// `<prefix>/lib/<file>`, as ldd and dladdr print it.
fn lib_in(prefix: &Path, file: &str) -> String {
    format!("{}/lib/{file}", prefix.display())
}

/// Where the loader finds `lib` for `elf` (`ldd`): the path after `=>`.
fn resolved(elf: &Path, lib: &str) -> String {
    let out = Command::new("ldd").arg(elf).output().unwrap();
    assert!(out.status.success(), "ldd {}: {out:?}", elf.display());
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(lib))
        .and_then(|l| l.split_once("=> "))
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("ldd {} does not resolve {lib}:\n{stdout}", elf.display()))
        .to_string()
}

/// Compile `source` (C) against the destroot's headers and libraries, with
/// the destroot's lib directory as RUNPATH, and run it (no loader
/// variables); its stdout lines.
fn compile_and_run(b: &Built, tag: &str, source: &str, libs: &[&str]) -> Vec<String> {
    let dir = b.dir.join(tag);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("t.c"), source).unwrap();
    let lib = b.path("lib");
    let cc = Command::new("cc")
        .arg("-o")
        .arg(dir.join("t"))
        .arg(dir.join("t.c"))
        .arg(format!("-I{}", b.path("include").display()))
        .arg(format!("-L{}", lib.display()))
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .args(libs)
        .output()
        .unwrap();
    assert!(
        cc.status.success(),
        "{}",
        String::from_utf8_lossy(&cc.stderr)
    );
    let run = Command::new(dir.join("t"))
        .env("TERMINFO", b.path("share/terminfo"))
        .env_remove("TERMINFO_DIRS")
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .unwrap();
    assert!(run.status.success(), "{tag}: {run:?}");
    String::from_utf8_lossy(&run.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// The C helper the link checks share: the file a symbol was loaded from.
const FROM: &str = r#"#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
static const char *from(const char *symbol) {
    Dl_info info;
    void *p = dlsym(RTLD_DEFAULT, symbol);
    return p && dladdr(p, &info) ? info.dli_fname : "?";
}
"#;

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

#[test]
fn ncurses() {
    let b = build("ncurses");
    b.assert_files(&[
        "bin/tic",
        "bin/infocmp",
        "bin/tput",
        "bin/clear",
        "bin/reset",
        "bin/ncursesw6-config",
        "include/curses.h",
        "include/ncurses.h",
        "include/term.h",
        "include/termcap.h",
        "include/panel.h",
        "lib/libncursesw.so.6.4",
        "lib/libtinfo.so.6.4",
        "lib/libpanelw.so.6.4",
        "lib/libmenuw.so.6.4",
        "lib/libformw.so.6.4",
        "lib/pkgconfig/ncursesw.pc",
        "lib/pkgconfig/tinfo.pc",
        "share/terminfo/x/xterm",
        "share/terminfo/v/vt100",
        "share/man/man1/tput.1",
        "share/man/man3/ncurses.3x",
    ]);
    b.assert_link("lib/libncursesw.so.6", "libncursesw.so.6.4");
    b.assert_link("lib/libncursesw.so", "libncursesw.so.6");
    b.assert_link("lib/libtinfo.so.6", "libtinfo.so.6.4");
    b.assert_link("lib/terminfo", "../share/terminfo");
    // Shared libraries only (`--without-normal`).
    assert!(!b.path("lib/libncursesw.a").exists());
    // The terminfo functions are libtinfo's, and everything finds its
    // libraries in the prefix when installed (`--enable-rpath`).
    for rel in ["lib/libncursesw.so.6.4", "bin/tput", "bin/tic"] {
        let (needed, runpath) = b.dynamic(rel);
        assert!(
            needed.iter().any(|n| n == "libtinfo.so.6"),
            "{rel}: {needed:?}"
        );
        assert_eq!(runpath.as_deref(), Some("/opt/wport/lib"), "{rel}");
    }
    let pc = std::fs::read_to_string(b.path("lib/pkgconfig/ncursesw.pc")).unwrap();
    assert!(
        pc.contains("prefix=/opt/wport") && pc.contains("version=6.4."),
        "{pc}"
    );

    // The installed programs read the port's own database: TERMINFO points
    // them at the destroot (installed, the compiled-in default
    // {prefix}/share/terminfo is the same place).
    let terminfo = b.path("share/terminfo");
    let tool = |rel: &str, args: &[&str]| {
        let out = Command::new(b.path(rel))
            .args(args)
            .env("LD_LIBRARY_PATH", b.path("lib"))
            .env("TERMINFO", &terminfo)
            .env_remove("TERMINFO_DIRS")
            .output()
            .unwrap();
        assert!(out.status.success(), "{rel} {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let entry = tool("bin/infocmp", &["-1", "xterm"]);
    assert!(
        entry.contains(&format!("{}/x/xterm", terminfo.display()))
            && entry.contains("clear=\\E[H\\E[2J,"),
        "{entry}"
    );
    assert_eq!(tool("bin/tput", &["-T", "vt100", "clear"]), "\x1b[H\x1b[J");

    // A program built against the destroot's headers and libraries only
    // (the machine's own libtinfo.so.6 has the same soname, so it asks the
    // loader where the functions came from).
    let out = compile_and_run(
        &b,
        "linkcheck",
        &format!(
            "{FROM}{}",
            r#"#include <curses.h>
#include <term.h>
int main(void) {
    FILE *out = fopen("/dev/null", "w"), *in = fopen("/dev/null", "r");
    SCREEN *screen = newterm("xterm-256color", out, in);
    if (screen == NULL) return 1;
    if (!has_colors() || tigetnum("colors") != 256) return 2;
    endwin();
    delscreen(screen);
    printf("%s\n%s\n%s\n", curses_version(), from("setupterm"), from("newterm"));
    return 0;
}
"#
        ),
        &["-lncursesw", "-ltinfo", "-ldl"],
    );
    let lib = b.path("lib");
    assert_eq!(
        out,
        [
            "ncurses 6.4.20221231".to_string(),
            format!("{}/libtinfo.so.6", lib.display()),
            format!("{}/libncursesw.so.6", lib.display()),
        ]
    );
}

/// readline, libpng and lua, each built by `wport build` against a prefix
/// where `wport install` put ncurses, readline and zlib: what they link at
/// build time and load at run time is the prefix's (RUNPATH), never the
/// machine's libtinfo, libreadline or libz under /usr. (readline is also
/// installed there, but its own build is granted only ncurses.)
#[test]
fn readline_libpng_lua_against_installed_dependencies() {
    let deps = Installed::new(&["ncurses", "readline", "zlib"]);
    let prefix = deps.prefix();
    let runpath_is_prefix = |b: &Built, rel: &str| {
        let (_, runpath) = b.dynamic(rel);
        let runpath = runpath.unwrap_or_else(|| panic!("{rel} has no RUNPATH"));
        assert!(
            runpath
                .split(':')
                .all(|dir| Path::new(dir) == prefix.join("lib")),
            "{rel}: RUNPATH {runpath}"
        );
    };

    // readline: links libtinfo itself, so a consumer needs only -lreadline.
    let b = deps.build("readline");
    b.assert_files(&[
        "include/readline/readline.h",
        "include/readline/history.h",
        "lib/libreadline.so.8.2",
        "lib/libhistory.so.8.2",
        "lib/pkgconfig/readline.pc",
        "share/man/man3/readline.3",
        "share/info/readline.info",
    ]);
    b.assert_link("lib/libreadline.so.8", "libreadline.so.8.2");
    assert!(!b.path("lib/libreadline.a").exists());
    assert!(!b.path("share/readline").exists(), "examples installed");
    let (needed, _) = b.dynamic("lib/libreadline.so.8.2");
    assert!(needed.iter().any(|n| n == "libtinfo.so.6"), "{needed:?}");
    runpath_is_prefix(&b, "lib/libreadline.so.8.2");
    assert_eq!(
        resolved(&b.path("lib/libreadline.so.8.2"), "libtinfo.so.6"),
        lib_in(&prefix, "libtinfo.so.6")
    );
    b.assert_destroot_compiles_nothing();
    let pc = std::fs::read_to_string(b.path("lib/pkgconfig/readline.pc")).unwrap();
    assert!(pc.contains("Requires.private: tinfo"), "{pc}");
    let out = compile_and_run(
        &b,
        "linkcheck",
        &format!(
            "{FROM}{}",
            r#"#include <readline/readline.h>
#include <readline/history.h>
int main(void) {
    using_history();
    add_history("wport");
    if (history_length != 1) return 1;
    printf("%s\n%s\n%s\n", rl_library_version, from("readline"), from("tgetent"));
    return 0;
}
"#
        ),
        &["-lreadline", "-ldl"],
    );
    assert_eq!(
        out,
        [
            "8.2".to_string(),
            format!("{}/libreadline.so.8", b.path("lib").display()),
            lib_in(&prefix, "libtinfo.so.6"),
        ]
    );

    // libpng: zlib from the prefix.
    let b = deps.build("libpng");
    b.assert_files(&[
        "bin/pngfix",
        "bin/png-fix-itxt",
        "bin/libpng16-config",
        "include/png.h",
        "include/libpng16/png.h",
        "lib/libpng16.so.16.39.0",
        "lib/pkgconfig/libpng16.pc",
        "share/man/man3/libpng.3",
        "share/man/man5/png.5",
    ]);
    b.assert_link("lib/libpng16.so.16", "libpng16.so.16.39.0");
    b.assert_link("lib/libpng.so", "libpng16.so");
    assert!(!b.path("lib/libpng16.a").exists());
    let (needed, _) = b.dynamic("lib/libpng16.so.16.39.0");
    assert!(needed.iter().any(|n| n == "libz.so.1"), "{needed:?}");
    runpath_is_prefix(&b, "lib/libpng16.so.16.39.0");
    runpath_is_prefix(&b, "bin/pngfix");
    assert_eq!(
        resolved(&b.path("lib/libpng16.so.16.39.0"), "libz.so.1"),
        lib_in(&prefix, "libz.so.1")
    );
    // Everything was compiled in `build`, against the prefix's zlib.h: a
    // destroot that cannot see those headers recompiles all of libpng
    // against /usr's (automake's dependency files name them).
    b.assert_destroot_compiles_nothing();
    // Write a PNG (deflate) and read it back (inflate): zlib at work, and
    // loaded from the prefix.
    let out = compile_and_run(
        &b,
        "linkcheck",
        &format!(
            "{FROM}{}",
            r#"#include <stdlib.h>
#include <string.h>
#include <png.h>
int main(void) {
    static png_byte pixels[16 * 16 * 4], back[16 * 16 * 4];
    png_image image;
    png_alloc_size_t size = 0;
    for (size_t i = 0; i < sizeof pixels; i++) pixels[i] = (png_byte)(i * 7);
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = 16;
    image.height = 16;
    image.format = PNG_FORMAT_RGBA;
    if (!png_image_write_to_memory(&image, NULL, &size, 0, pixels, 0, NULL)) return 1;
    void *png = malloc(size);
    if (png == NULL || !png_image_write_to_memory(&image, png, &size, 0, pixels, 0, NULL)) return 2;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, png, size)) return 3;
    image.format = PNG_FORMAT_RGBA;
    if (!png_image_finish_read(&image, NULL, back, 0, NULL)) return 4;
    if (memcmp(back, pixels, sizeof pixels) != 0) return 5;
    printf("%s\n%s\n%s\n", png_get_libpng_ver(NULL), from("png_create_write_struct"), from("deflate"));
    return 0;
}
"#
        ),
        &["-lpng16", "-ldl"],
    );
    assert_eq!(
        out,
        [
            "1.6.39".to_string(),
            format!("{}/libpng16.so.16", b.path("lib").display()),
            lib_in(&prefix, "libz.so.1"),
        ]
    );

    // lua: the readline interpreter, readline (and through it libtinfo)
    // from the prefix.
    let b = deps.build("lua");
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
    assert!(b.log().contains("linux-readline"));
    let (needed, _) = b.dynamic("bin/lua");
    assert!(needed.iter().any(|n| n == "libreadline.so.8"), "{needed:?}");
    runpath_is_prefix(&b, "bin/lua");
    assert_eq!(
        resolved(&b.path("bin/lua"), "libreadline.so.8"),
        lib_in(&prefix, "libreadline.so.8")
    );
    assert_eq!(
        resolved(&b.path("bin/lua"), "libtinfo.so.6"),
        lib_in(&prefix, "libtinfo.so.6")
    );
    let lua = |args: &[&str]| {
        let out = Command::new(b.path("bin/lua"))
            .args(args)
            .env_remove("LD_LIBRARY_PATH")
            .output()
            .unwrap();
        assert!(out.status.success(), "lua {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(lua(&["-v"]).contains("Lua 5.4.4"));
    assert_eq!(lua(&["-e", "print(6 * 7)"]).trim(), "42");
    // configure pointed LUA_ROOT at the prefix.
    let path = lua(&["-e", "print(package.path)"]);
    assert!(
        path.contains(&format!("{}/share/lua/5.4/", prefix.display()))
            && !path.contains("/usr/local/"),
        "{path}"
    );
    // The destroot ran no native program: the component installed everything.
    let log = b.log();
    let destroot = log
        .split("phase destroot of")
        .nth(1)
        .expect("destroot phase in the log");
    assert!(
        !destroot.lines().any(|l| l.starts_with("[exec] ")),
        "destroot ran a native program:\n{destroot}"
    );
}
