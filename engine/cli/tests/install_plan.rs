//! `wport install NAME...` from source, `outdated`, `upgrade`, on a small
//! local ports tree whose ports depend on each other: a library (`libgreet`,
//! a header and a shared object), a program linking it (`greeter`), a port
//! whose build fails (`broken`) and one that needs it (`needsbroken`).
//!
//! Every port is a plain Makefile driven by the standard `make` component;
//! the prefix is a scratch directory, so the packages are built for it and
//! the programs run from it.

#![allow(
    clippy::disallowed_methods,
    reason = "an end-to-end test: runs the wport binary as a user does, tar to make fixtures, the installed programs and ldd to check them"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Scratch, set_mode, sha256_hex};

struct Tree {
    scratch: Scratch,
}

const GREET_H: &str = "const char *greet(void);\n";
const GREET_C: &str =
    "#include \"greet.h\"\nconst char *greet(void) { return \"hello from libgreet\"; }\n";
const LIBGREET_MK: &str = "\
all: libgreet.so
libgreet.so: greet.c greet.h
\tcc -shared -fPIC -o libgreet.so greet.c
install:
\tmkdir -p $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include
\tcp libgreet.so $(DESTDIR)$(PREFIX)/lib/
\tcp greet.h $(DESTDIR)$(PREFIX)/include/
";
const MAIN_C: &str =
    "#include <stdio.h>\n#include <greet.h>\nint main(void) { puts(greet()); return 0; }\n";
const GREETER_MK: &str = "\
all: greeter
greeter: main.c
\tcc -I$(PREFIX)/include -o greeter main.c -L$(PREFIX)/lib -lgreet -Wl,-rpath,$(PREFIX)/lib
install:
\tmkdir -p $(DESTDIR)$(PREFIX)/bin
\tcp greeter $(DESTDIR)$(PREFIX)/bin/
";
const BROKEN_MK: &str = "\
all:
\t@echo 'broken: this build fails on purpose' >&2
\t@exit 2
install:
";

impl Tree {
    fn new(tag: &str) -> Tree {
        let scratch = Scratch::new(tag);
        for d in ["cfg", "data", "cache", "build", "ports"] {
            std::fs::create_dir_all(scratch.path().join(d)).unwrap();
        }
        set_mode(&scratch.path().join("cfg"), 0o700);
        set_mode(&scratch.path().join("cache"), 0o700);
        set_mode(&scratch.path().join("build"), 0o755);
        let t = Tree { scratch };
        t.port(
            "libgreet",
            &[
                ("Makefile", LIBGREET_MK),
                ("greet.h", GREET_H),
                ("greet.c", GREET_C),
            ],
            "",
            "",
        );
        t.port(
            "greeter",
            &[("Makefile", GREETER_MK), ("main.c", MAIN_C)],
            "[dependencies]\nlib = [\"libgreet\"]\n",
            "dependencies = [\"libgreet\"]\n",
        );
        t.port(
            "broken",
            &[("Makefile", BROKEN_MK)],
            "[dependencies]\nlib = [\"libgreet\"]\n",
            "dependencies = [\"libgreet\"]\n",
        );
        t.port(
            "needsbroken",
            &[("Makefile", GREETER_MK), ("main.c", MAIN_C)],
            "[dependencies]\nlib = [\"broken\"]\n",
            "dependencies = [\"broken\"]\n",
        );
        t
    }

    fn path(&self) -> &Path {
        self.scratch.path()
    }

    fn ports(&self) -> PathBuf {
        self.path().join("ports")
    }

    fn prefix(&self) -> PathBuf {
        self.path().join("prefix")
    }

    /// Write `ports/NAME` with a tarball of `files`, `deps` as its
    /// `[dependencies]` table and `grant` added to its build phase.
    fn port(&self, name: &str, files: &[(&str, &str)], deps: &str, grant: &str) {
        self.port_with(name, files, deps, grant, 0);
    }

    fn port_with(
        &self,
        name: &str,
        files: &[(&str, &str)],
        deps: &str,
        grant: &str,
        revision: u32,
    ) {
        let dir = self.ports().join(name);
        let src = self.path().join("src").join(format!("{name}-1.0"));
        std::fs::create_dir_all(&src).unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        for (f, text) in files {
            std::fs::write(src.join(f), text).unwrap();
        }
        let tarball = dir.join(format!("{name}-1.0.tar.gz"));
        let tar = Command::new("tar")
            .args([
                "--sort=name",
                "--mtime=@0",
                "--owner=0",
                "--group=0",
                "-czf",
            ])
            .arg(&tarball)
            .arg("-C")
            .arg(self.path().join("src"))
            .arg(format!("{name}-1.0"))
            .output()
            .unwrap();
        assert!(tar.status.success(), "{tar:?}");
        let bytes = std::fs::read(&tarball).unwrap();
        let portfile = format!(
            "[port]\nname = \"{name}\"\nversion = \"1.0\"\nrevision = {revision}\n\
             description = \"{name}: a test port\"\nhomepage = \"https://example.invalid/{name}\"\n\
             license = \"CC0-1.0\"\nmaintainers = [\"wport developers <wport@example.invalid>\"]\n\
             upstream-contact = \"wport developers <wport@example.invalid>\"\n\n\
             [[source]]\nurl = \"{name}-1.0.tar.gz\"\nsha256 = \"{}\"\nsize = {}\n\n{deps}\n\
             [build]\nstandard = \"make\"\n\n[build.params]\nmake-args = [\"PREFIX={{prefix}}\"]\n\n\
             [capabilities.build]\nprograms = [\"make\"]\n{grant}\n\
             [capabilities.destroot]\nprograms = [\"make\"]\n",
            sha256_hex(&bytes),
            bytes.len()
        );
        std::fs::write(dir.join("Portfile.toml"), portfile).unwrap();
    }

    fn wport(&self, args: &[&str]) -> Output {
        let t = self.path();
        Command::new(env!("CARGO_BIN_EXE_wport"))
            .args(args)
            .env("XDG_CONFIG_HOME", t.join("cfg"))
            .env("XDG_DATA_HOME", t.join("data"))
            .env("XDG_CACHE_HOME", t.join("cache"))
            .output()
            .unwrap()
    }

    /// `wport VERB ... --unsigned ports --prefix P --build-root B`
    fn tree_verb(&self, verb: &str, args: &[&str]) -> Output {
        let ports = self.ports();
        let prefix = self.prefix();
        let build = self.path().join("build");
        let mut all = vec![verb];
        all.extend_from_slice(args);
        all.extend_from_slice(&[
            "--unsigned",
            ports.to_str().unwrap(),
            "--prefix",
            prefix.to_str().unwrap(),
            "--build-root",
            build.to_str().unwrap(),
        ]);
        self.wport(&all)
    }

    fn prefix_verb(&self, verb: &str, args: &[&str]) -> Output {
        let prefix = self.prefix();
        let mut all = vec![verb];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--prefix", prefix.to_str().unwrap()]);
        self.wport(&all)
    }

    fn installed(&self) -> String {
        let out = self.prefix_verb("list", &[]);
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn verify_clean(&self) {
        let out = self.prefix_verb("verify", &[]);
        assert!(out.status.success(), "{}", text(&out));
    }
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn run_greeter(t: &Tree) -> String {
    let out = Command::new(t.prefix().join("bin/greeter"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The libraries `bin` loads, as the dynamic loader resolves them.
fn ldd(bin: &Path) -> String {
    let out = Command::new("ldd").arg(bin).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn install_builds_the_dependencies_first_and_links_against_the_prefix() {
    let t = Tree::new("plan-install");
    let out = t.tree_verb("install", &["greeter", "-j", "2"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lib = stdout.find("--->  building libgreet");
    let bin = stdout.find("--->  building greeter");
    assert!(lib.is_some() && bin.is_some(), "{}", text(&out));
    assert!(lib < bin, "{stdout}");
    // The packager key was made on first use, owner-only, and said so.
    let key = t.path().join("cfg/wport/keys/packager.key");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("created the local packager key"),
        "{stderr}"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let listed = t.installed();
    assert!(listed.contains("libgreet 1.0_0"), "{listed}");
    assert!(listed.contains("greeter 1.0_0"), "{listed}");
    assert_eq!(run_greeter(&t).trim(), "hello from libgreet");
    // Linked against the prefix's library, not anything of the host's.
    // bin/greeter runs through the launcher (issue 16); the linked binary
    // is the real one beside it.
    let loaded = ldd(&t.prefix().join("libexec/wport/greeter/real/greeter"));
    let want = t.prefix().join("lib/libgreet.so");
    assert!(
        loaded.contains(&format!("libgreet.so => {}", want.display())),
        "{loaded}"
    );
    t.verify_clean();

    // Installing again builds nothing.
    let again = t.tree_verb("install", &["greeter"]);
    assert!(again.status.success(), "{}", text(&again));
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(stdout.contains("already installed"), "{stdout}");
    assert!(!stdout.contains("--->  building"), "{stdout}");

    // A library others need is not uninstalled.
    let un = t.prefix_verb("uninstall", &["libgreet"]);
    assert_eq!(un.status.code(), Some(1), "{}", text(&un));
    assert!(
        String::from_utf8_lossy(&un.stderr).contains("needed by"),
        "{}",
        text(&un)
    );
    assert_eq!(run_greeter(&t).trim(), "hello from libgreet");
}

#[test]
fn a_failed_dependency_leaves_whole_packages_and_says_what_happened() {
    let t = Tree::new("plan-fail");
    let out = t.tree_verb("install", &["needsbroken"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error: port broken failed"), "{stderr}");
    let log = t.path().join("build/broken-1.0/build.log");
    assert!(
        stderr.contains(&format!("build log: {}", log.display())),
        "{stderr}"
    );
    assert!(log.is_file());
    assert!(
        stderr.contains("installed by this plan: libgreet-1.0_0"),
        "{stderr}"
    );
    assert!(
        stderr.contains("not built: needsbroken (needs broken)"),
        "{stderr}"
    );
    let listed = t.installed();
    assert_eq!(listed.trim(), "libgreet 1.0_0", "{listed}");
    t.verify_clean();
}

#[test]
fn a_dependency_cycle_is_reported_before_anything_builds() {
    let t = Tree::new("plan-cycle");
    t.port(
        "cyc-a",
        &[("Makefile", BROKEN_MK)],
        "[dependencies]\nlib = [\"cyc-b\"]\n",
        "dependencies = [\"cyc-b\"]\n",
    );
    t.port(
        "cyc-b",
        &[("Makefile", BROKEN_MK)],
        "[dependencies]\nlib = [\"cyc-a\"]\n",
        "dependencies = [\"cyc-a\"]\n",
    );
    let out = t.tree_verb("install", &["cyc-a"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cyc-a -> cyc-b -> cyc-a"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("building"));
    assert!(!t.prefix().join("var/wport").exists() || t.installed().trim().is_empty());
}

#[test]
fn upgrade_replaces_the_library_and_rebuilds_what_links_it() {
    let t = Tree::new("plan-upgrade");
    let out = t.tree_verb("install", &["greeter"]);
    assert!(out.status.success(), "{}", text(&out));

    // Nothing is outdated yet.
    let out = t.tree_verb("outdated", &["--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v, serde_json::json!([]));

    // A new revision of the library, which now says something else.
    t.port_with(
        "libgreet",
        &[
            ("Makefile", LIBGREET_MK),
            ("greet.h", GREET_H),
            (
                "greet.c",
                "#include \"greet.h\"\nconst char *greet(void) { return \"hello from libgreet, revision 1\"; }\n",
            ),
        ],
        "",
        "",
        1,
    );
    let out = t.tree_verb("outdated", &["--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v[0]["name"], "libgreet");
    assert_eq!(v[0]["installed"], "1.0_0");
    assert_eq!(v[0]["available"], "1.0_1");
    let changed: Vec<&str> = v[0]["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(changed.contains(&"revision"), "{changed:?}");
    assert!(changed.contains(&"sources"), "{changed:?}");

    let out = t.tree_verb("upgrade", &["libgreet"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("greeter: rebuilt because a library it links against is upgraded"),
        "{stdout}"
    );
    let listed = t.installed();
    assert!(listed.contains("libgreet 1.0_1"), "{listed}");
    assert!(listed.contains("greeter 1.0_0"), "{listed}");
    assert_eq!(run_greeter(&t).trim(), "hello from libgreet, revision 1");
    t.verify_clean();

    let out = t.tree_verb("upgrade", &["--all"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("nothing to upgrade"),
        "{}",
        text(&out)
    );
}

#[test]
fn clean_removes_the_ports_build_directory() {
    let t = Tree::new("plan-clean");
    let out = t.tree_verb("install", &["libgreet"]);
    assert!(out.status.success(), "{}", text(&out));
    let dir = t.path().join("build/libgreet-1.0");
    assert!(dir.is_dir());
    let ports = t.ports();
    let build = t.path().join("build");
    let out = t.wport(&[
        "clean",
        "libgreet",
        "--json",
        "--unsigned",
        ports.to_str().unwrap(),
        "--build-root",
        build.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["build_dirs"], serde_json::json!([dir]));
    assert!(!dir.exists());
    // The installed package is untouched.
    assert!(t.installed().contains("libgreet 1.0_0"));
    t.verify_clean();
}

#[test]
fn outdated_on_a_missing_prefix_is_an_error_and_creates_nothing() {
    let t = Tree::new("plan-noprefix");
    let missing = t.path().join("typo");
    let ports = t.ports();
    let out = t.wport(&[
        "outdated",
        "--unsigned",
        ports.to_str().unwrap(),
        "--prefix",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not exist"),
        "{}",
        text(&out)
    );
    assert!(!missing.exists());
}
