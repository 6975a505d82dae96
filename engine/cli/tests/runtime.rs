//! Installed programs run confined by their port's `[runtime]` (issue 16),
//! with real ports built, packaged and installed by the real `wport`:
//!
//! - the demo port: its program works unchanged through the launcher, and
//!   `wport verify` covers the launcher and its policy;
//! - a C port (`probe`, built with cc and make) installing the same program
//!   twice, as `bin/probe` (the default policy) and `bin/probe-granted`
//!   (`[runtime.programs.probe-granted]`: `~/.ssh` readable, `~/.bashrc`
//!   writable, network): reading the key, appending to `.bashrc` and
//!   connecting to a loopback listener fail with EACCES (the probe exits
//!   with the errno) under the default and succeed with the grants.
//!
//! As root (CI), every program runs through `setpriv` as uid/gid 65534:
//! confinement needs no privilege. The exact errno cases of the launcher
//! itself (children, exec = false, argv/stdin/signals) are in
//! engine/launch/tests/launch.rs.

#![allow(
    clippy::disallowed_methods,
    reason = "an end-to-end test: runs the wport binary as a user does (through setpriv as another user), the installed programs and tar"
)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Scratch, set_mode, sha256_hex};

const WPORT: &str = env!("CARGO_BIN_EXE_wport");
const NOBODY: u32 = 65534;
const EACCES: i32 = 13;

const PROBE_C: &str = r#"#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
/* Does one thing and exits with its errno (0: it worked). */
int main(int argc, char **argv) {
    char path[4096];
    if (argc < 2) return 2;
    if (argc > 2) snprintf(path, sizeof path, "%s/%s", getenv("HOME"), argv[2]);
    if (!strcmp(argv[1], "hello")) { puts("hello from probe"); return 0; }
    if (!strcmp(argv[1], "read-home")) {
        int fd = open(path, O_RDONLY);
        return fd < 0 ? errno : 0;
    }
    if (!strcmp(argv[1], "write-home")) {
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
        if (fd < 0) return errno;
        return write(fd, "probe\n", 6) == 6 ? 0 : errno;
    }
    if (!strcmp(argv[1], "connect")) {
        struct sockaddr_in a;
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0) return errno;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_port = htons(atoi(argv[2]));
        a.sin_addr.s_addr = htonl(0x7f000001);
        return connect(s, (struct sockaddr *)&a, sizeof a) ? errno : 0;
    }
    return 2;
}
"#;

const PROBE_MK: &str = "\
all: probe
probe: probe.c
\tcc -o probe probe.c
install:
\tmkdir -p $(DESTDIR)$(PREFIX)/bin
\tcp probe $(DESTDIR)$(PREFIX)/bin/probe
\tcp probe $(DESTDIR)$(PREFIX)/bin/probe-granted
";

const PROBE_RUNTIME: &str = "\
[runtime.programs.probe-granted]
network = true
read = [\"{home}/.ssh\"]
write = [\"{home}/.bashrc\"]
";

struct Env {
    scratch: Scratch,
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

impl Env {
    fn new(tag: &str) -> Env {
        let scratch = Scratch::new(tag);
        for d in [
            "cfg",
            "data",
            "cache",
            "build",
            "ports",
            "home/.ssh",
            "work",
        ] {
            std::fs::create_dir_all(scratch.path().join(d)).unwrap();
        }
        set_mode(&scratch.path().join("cfg"), 0o700);
        set_mode(&scratch.path().join("cache"), 0o700);
        set_mode(&scratch.path().join("build"), 0o755);
        let env = Env { scratch };
        std::fs::write(env.home().join(".ssh/id_ed25519"), "PRIVATE KEY\n").unwrap();
        std::fs::write(env.home().join(".bashrc"), "# mine\n").unwrap();
        if is_root() {
            for d in [
                "home",
                "home/.ssh",
                "home/.ssh/id_ed25519",
                "home/.bashrc",
                "work",
            ] {
                std::os::unix::fs::chown(env.path().join(d), Some(NOBODY), Some(NOBODY)).unwrap();
            }
        }
        env
    }

    fn path(&self) -> &Path {
        self.scratch.path()
    }

    fn prefix(&self) -> PathBuf {
        self.path().join("prefix")
    }

    fn home(&self) -> PathBuf {
        self.path().join("home")
    }

    fn wport(&self, args: &[&str]) -> Output {
        let t = self.path();
        Command::new(WPORT)
            .args(args)
            .env("XDG_CONFIG_HOME", t.join("cfg"))
            .env("XDG_DATA_HOME", t.join("data"))
            .env("XDG_CACHE_HOME", t.join("cache"))
            .output()
            .unwrap()
    }

    /// `PROGRAM ARGS` as an ordinary user would run it: in `work/`, with
    /// `HOME` set, as uid/gid 65534 when the tests run as root.
    fn user(&self, program: &Path, args: &[&str]) -> Output {
        let mut c = if is_root() {
            let mut c = Command::new("setpriv");
            c.args([
                format!("--reuid={NOBODY}"),
                format!("--regid={NOBODY}"),
                "--clear-groups".into(),
                "--".into(),
            ])
            .arg(program);
            c
        } else {
            Command::new(program)
        };
        c.args(args)
            .current_dir(self.path().join("work"))
            .env("HOME", self.home())
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_DATA_HOME")
            .env_remove("XDG_CACHE_HOME")
            .output()
            .unwrap()
    }

    fn code(&self, program: &str, args: &[&str]) -> i32 {
        let out = self.user(&self.prefix().join("bin").join(program), args);
        out.status
            .code()
            .unwrap_or_else(|| panic!("{program} {args:?}: {}", text(&out)))
    }

    /// `ports/probe`: the C probe, installed as two programs.
    fn probe_port(&self) {
        let name = "probe";
        let dir = self.path().join("ports").join(name);
        let src = self.path().join("src").join(format!("{name}-1.0"));
        std::fs::create_dir_all(&src).unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(src.join("probe.c"), PROBE_C).unwrap();
        std::fs::write(src.join("Makefile"), PROBE_MK).unwrap();
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
            "[port]\nname = \"{name}\"\nversion = \"1.0\"\n\
             description = \"{name}: a test port\"\nhomepage = \"https://example.invalid/{name}\"\n\
             license = \"CC0-1.0\"\nmaintainers = [\"wport developers <wport@example.invalid>\"]\n\
             upstream-contact = \"wport developers <wport@example.invalid>\"\n\n\
             [[source]]\nurl = \"{name}-1.0.tar.gz\"\nsha256 = \"{}\"\nsize = {}\n\n\
             [build]\nstandard = \"make\"\n\n[build.params]\nmake-args = [\"PREFIX={{prefix}}\"]\n\n\
             [capabilities.build]\nprograms = [\"make\", \"cc\"]\n\n\
             [capabilities.destroot]\nprograms = [\"make\"]\n\n{PROBE_RUNTIME}",
            sha256_hex(&bytes),
            bytes.len()
        );
        std::fs::write(dir.join("Portfile.toml"), portfile).unwrap();
    }
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_c_port_is_confined_by_its_runtime_table() {
    let env = Env::new("runtime-probe");
    env.probe_port();
    let prefix = env.prefix();
    let p = prefix.to_str().unwrap();
    let ports = env.path().join("ports");
    let build = env.path().join("build");
    let out = env.wport(&[
        "install",
        "probe",
        "--unsigned",
        ports.to_str().unwrap(),
        "--prefix",
        p,
        "--build-root",
        build.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));

    // The package's layout: links to the launcher, the real program and
    // its policy beside it, all files of the package.
    for program in ["probe", "probe-granted"] {
        let link = std::fs::read_link(prefix.join("bin").join(program)).unwrap();
        assert_eq!(link, Path::new("../libexec/wport/probe/wport-launch"));
        assert!(
            prefix
                .join("libexec/wport/probe/real")
                .join(program)
                .is_file()
        );
    }
    let policy =
        std::fs::read_to_string(prefix.join("libexec/wport/probe/policy/probe-granted")).unwrap();
    assert_eq!(
        policy,
        "wport-launch-policy 1\nnetwork 1\nexec 1\narguments 1\nread {home}/.ssh\nwrite {home}/.bashrc\n"
    );
    let contents = env.wport(&["contents", "probe", "--prefix", p]);
    assert!(
        String::from_utf8_lossy(&contents.stdout).contains("libexec/wport/probe/wport-launch"),
        "{}",
        text(&contents)
    );

    // Ordinary use is unchanged.
    let out = env.user(&prefix.join("bin/probe"), &["hello"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello from probe\n",
        "{}",
        text(&out)
    );
    assert!(out.status.success());

    // The default keeps the home directory's secrets and the network out.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    assert_eq!(env.code("probe", &["read-home", ".ssh/id_ed25519"]), EACCES);
    assert_eq!(env.code("probe", &["write-home", ".bashrc"]), EACCES);
    assert_eq!(env.code("probe", &["connect", &port]), EACCES);
    assert_eq!(
        std::fs::read_to_string(env.home().join(".bashrc")).unwrap(),
        "# mine\n"
    );
    // The same program with the grants of its own table.
    assert_eq!(
        env.code("probe-granted", &["read-home", ".ssh/id_ed25519"]),
        0
    );
    assert_eq!(env.code("probe-granted", &["write-home", ".bashrc"]), 0);
    assert_eq!(env.code("probe-granted", &["connect", &port]), 0);
    assert_eq!(
        std::fs::read_to_string(env.home().join(".bashrc")).unwrap(),
        "# mine\nprobe\n"
    );

    // `wport run` applies the same policy without PATH or the link.
    let out = env.user(
        Path::new(WPORT),
        &[
            "run",
            "probe",
            "--prefix",
            p,
            "--",
            "read-home",
            ".ssh/id_ed25519",
        ],
    );
    assert_eq!(out.status.code(), Some(EACCES), "{}", text(&out));
    let out = env.user(
        Path::new(WPORT),
        &[
            "run",
            "probe-granted",
            "--prefix",
            p,
            "--",
            "read-home",
            ".ssh/id_ed25519",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = env.wport(&["run", "nothing-here", "--prefix", p]);
    assert_eq!(out.status.code(), Some(127), "{}", text(&out));
    // --explain prints the rules a run would get, and runs nothing.
    let out = env.user(
        Path::new(WPORT),
        &[
            "run",
            "--explain",
            "probe-granted",
            "--prefix",
            p,
            "--",
            "write-home",
            ".bashrc",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let rules = String::from_utf8_lossy(&out.stdout);
    for line in [
        "program probe-granted\n",
        "network true\n",
        "system /usr [read,list,execute]\n",
        &format!(
            "[runtime] read {}/.ssh [read,list,execute]\n",
            env.home().display()
        ),
    ] {
        assert!(rules.contains(line), "no {line:?} in\n{rules}");
    }

    // The policy is a file of the signed package: widening it by hand is
    // a changed file for `wport verify`.
    let verify = env.wport(&["verify", "--prefix", p]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify));
    let tampered = prefix.join("libexec/wport/probe/policy/probe");
    let mut text_now = std::fs::read_to_string(&tampered).unwrap();
    text_now.push_str("read {home}/.ssh\n");
    std::fs::write(&tampered, text_now).unwrap();
    let verify = env.wport(&["verify", "--prefix", p]);
    assert_eq!(verify.status.code(), Some(1), "{}", text(&verify));
    assert!(
        text(&verify).contains("libexec/wport/probe/policy/probe"),
        "{}",
        text(&verify)
    );
}

#[test]
fn the_demo_works_unchanged_through_the_launcher() {
    let env = Env::new("runtime-demo");
    let key = env.path().join("packager.key");
    let keys = env.path().join("trusted");
    std::fs::create_dir_all(&keys).unwrap();
    set_mode(&keys, 0o700);
    let out = env.wport(&[
        "key",
        "generate",
        "packager",
        "--dir",
        env.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    std::fs::copy(env.path().join("packager.pub"), keys.join("packager.pub")).unwrap();
    let prefix = env.prefix();
    let p = prefix.to_str().unwrap();
    let pkgs = env.path().join("out");
    let out = env.wport(&[
        "package",
        "--prefix",
        p,
        "--build-root",
        env.path().join("build").to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "-o",
        pkgs.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let pkg = pkgs.join("demo-1.0_0.wpkg");
    let out = env.wport(&[
        "install",
        pkg.to_str().unwrap(),
        "--prefix",
        p,
        "--keys",
        keys.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));

    let real = prefix.join("libexec/wport/demo/real/wport-hello");
    assert!(std::fs::metadata(&real).unwrap().permissions().mode() & 0o111 != 0);
    for (program, args) in [
        ("wport-hello", vec![]),
        ("wport-hello", vec!["two words"]),
        // The demo's own link to bin/wport-hello.
        ("wport-hi", vec!["you"]),
    ] {
        let confined = env.user(&prefix.join("bin").join(program), &args);
        let direct = env.user(&real, &args);
        assert!(confined.status.success(), "{}", text(&confined));
        assert_eq!(confined.stdout, direct.stdout, "{program} {args:?}");
        assert!(String::from_utf8_lossy(&confined.stdout).starts_with("Hello, "));
    }
    let verify = env.wport(&["verify", "--prefix", p]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify));
    // A launcher replaced by something else is a changed file too.
    std::fs::write(
        prefix.join("libexec/wport/demo/wport-launch"),
        "#!/bin/sh\nexec \"$@\"\n",
    )
    .unwrap();
    let verify = env.wport(&["verify", "--prefix", p]);
    assert_eq!(verify.status.code(), Some(1), "{}", text(&verify));
    // Uninstalling removes the links, the launcher, the policies and the
    // real programs with the rest (--force: the launcher was changed).
    let out = env.wport(&["uninstall", "demo", "--force", "--prefix", p]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!prefix.join("bin/wport-hello").exists());
    assert!(!prefix.join("libexec/wport/demo").exists());
}
