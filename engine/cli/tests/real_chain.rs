//! The deepest real chain, ncurses -> readline -> lua, installed from a
//! synced, signed ports tree with one `wport install lua`, from the real
//! upstream tarballs: the consumer is linked against the prefix's
//! libraries (not the host's, which this machine also has under /usr), it
//! runs; then the bottom port gets a new revision, `wport upgrade ncurses`
//! rebuilds it and its dependents, and everything still runs.
//!
//! Needs `WPORT_REAL_SOURCES` (`scripts/test` fetches the tarballs and sets
//! it).

#![allow(
    clippy::disallowed_methods,
    reason = "an end-to-end test: runs the wport binary as a user does, the installed programs, readelf and ldd to check them"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Scratch, set_mode};

const CHAIN: [&str; 3] = ["ncurses", "readline", "lua"];

struct Env {
    scratch: Scratch,
}

impl Env {
    fn t(&self) -> &Path {
        self.scratch.path()
    }

    fn prefix(&self) -> PathBuf {
        self.t().join("prefix")
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_wport"))
            .args(args)
            .current_dir(self.t())
            .env("XDG_CONFIG_HOME", self.t().join("cfg"))
            .env("XDG_DATA_HOME", self.t().join("data"))
            .env("XDG_CACHE_HOME", self.t().join("cache"))
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        out
    }

    fn key(&self, name: &str) -> String {
        format!("cfg/wport/keys/{name}")
    }

    /// Sign the tree's current ports into the repository and sync them.
    fn publish_and_sync(&self) {
        let mut add = vec!["repo", "add", "repo", "--ports", "tree"];
        for p in CHAIN {
            add.extend_from_slice(&["--port", p]);
        }
        self.ok(&add);
        self.ok(&[
            "repo",
            "sign",
            "repo",
            "targets",
            "--key",
            &self.key("targets.key"),
        ]);
        self.ok(&[
            "repo",
            "timestamp",
            "repo",
            "--snapshot-key",
            &self.key("snap.key"),
            "--timestamp-key",
            &self.key("ts.key"),
        ]);
        self.ok(&["sync", "--from", "repo"]);
    }

    /// `wport VERB ... --prefix P --build-root B -j 2`
    fn plan_verb(&self, verb: &str, args: &[&str]) -> Output {
        let prefix = self.prefix();
        let build = self.t().join("build");
        let mut all = vec![verb];
        all.extend_from_slice(args);
        all.extend_from_slice(&[
            "--prefix",
            prefix.to_str().unwrap(),
            "--build-root",
            build.to_str().unwrap(),
        ]);
        self.run(&all)
    }

    fn prefix_verb(&self, verb: &str) -> Output {
        let prefix = self.prefix();
        self.ok(&[verb, "--prefix", prefix.to_str().unwrap()])
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

fn setup() -> Env {
    let env = Env {
        scratch: Scratch::new("chain"),
    };
    let t = env.t();
    for d in ["cfg", "cache", "build"] {
        std::fs::create_dir_all(t.join(d)).unwrap();
    }
    set_mode(&t.join("cfg"), 0o700);
    set_mode(&t.join("cache"), 0o700);
    set_mode(&t.join("build"), 0o755);
    // The ports, as the repository has them.
    for p in CHAIN {
        copy_tree(
            &common::repo().join("ports").join(p),
            &t.join("tree/ports").join(p),
        );
    }
    // Their tarballs, in the distfile store (no network here).
    let store = t.join("cache/wport/distfiles");
    std::fs::create_dir_all(&store).unwrap();
    for p in CHAIN {
        let text =
            std::fs::read_to_string(t.join("tree/ports").join(p).join("Portfile.toml")).unwrap();
        let pf = wport_manifest::Portfile::parse(&text, "Portfile.toml").unwrap();
        for s in &pf.sources {
            let sha = s.sha256.to_string();
            if s.url.contains("://") {
                std::fs::write(store.join(&sha), common::real_source(&sha)).unwrap();
            }
        }
    }
    for k in ["root", "targets", "snap", "ts"] {
        env.ok(&["key", "generate", k]);
    }
    env.ok(&[
        "repo",
        "init",
        "repo",
        "--root-key",
        &env.key("root.pub"),
        "--root-threshold",
        "1",
        "--targets-key",
        &env.key("targets.pub"),
        "--snapshot-key",
        &env.key("snap.pub"),
        "--timestamp-key",
        &env.key("ts.pub"),
    ]);
    env.ok(&[
        "repo",
        "sign",
        "repo",
        "root",
        "--key",
        &env.key("root.key"),
    ]);
    let mut add = vec!["repo", "add", "repo", "--ports", "tree"];
    for p in CHAIN {
        add.extend_from_slice(&["--port", p]);
    }
    env.ok(&add);
    env.ok(&[
        "repo",
        "sign",
        "repo",
        "targets",
        "--key",
        &env.key("targets.key"),
    ]);
    env.ok(&[
        "repo",
        "timestamp",
        "repo",
        "--snapshot-key",
        &env.key("snap.key"),
        "--timestamp-key",
        &env.key("ts.key"),
    ]);
    env.ok(&[
        "sync",
        "--from",
        "repo",
        "--root",
        "repo/metadata/1.root.json",
    ]);
    env
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name();
        // A port's guest crate is not part of the published port.
        if ["src", "Cargo.toml", "target"].contains(&name.to_str().unwrap()) {
            continue;
        }
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &to.join(&name));
        } else {
            std::fs::copy(e.path(), to.join(&name)).unwrap();
        }
    }
}

/// `readelf -d`: the dynamic section (NEEDED, RUNPATH).
fn dynamic(bin: &Path) -> String {
    let out = Command::new("readelf").arg("-d").arg(bin).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Where the loader finds `lib` for `bin` (`ldd`).
fn resolved(bin: &Path, lib: &str) -> String {
    let out = Command::new("ldd").arg(bin).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .find(|l| l.trim_start().starts_with(lib))
        .unwrap_or_else(|| panic!("ldd {} does not list {lib}:\n{stdout}", bin.display()))
        .to_owned()
}

fn lua_runs(env: &Env) {
    let out = Command::new(env.prefix().join("bin/lua"))
        .args(["-e", "print(string.format('%d', 6 * 7))"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42");
}

fn check_linked_against_the_prefix(env: &Env) {
    let lib = env.prefix().join("lib");
    // bin/lua runs through the launcher (issue 16): the binary the loader
    // links is the real one beside it.
    let lua = env.prefix().join("libexec/wport/lua/real/lua");
    let d = dynamic(&lua);
    assert!(d.contains("libreadline.so.8"), "{d}");
    assert!(
        d.contains(&format!("[{}]", lib.display())),
        "lua's RUNPATH is not the prefix's lib:\n{d}"
    );
    let rl = resolved(&lua, "libreadline.so.8");
    assert!(
        rl.contains(&format!("=> {}/libreadline.so.8", lib.display())),
        "{rl}"
    );
    // readline, in turn, takes the terminal library from ncurses' package.
    let tinfo = resolved(&lib.join("libreadline.so.8"), "libtinfo");
    assert!(
        tinfo.contains(&format!("=> {}/libtinfo", lib.display())),
        "{tinfo}"
    );
}

#[test]
fn install_the_deepest_chain_then_upgrade_its_bottom() {
    let env = setup();

    let out = env.plan_verb("install", &["lua", "-j", "2"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let pos = |n: &str| {
        stdout
            .find(&format!("--->  building {n}"))
            .unwrap_or_else(|| panic!("{n} not built:\n{}", text(&out)))
    };
    assert!(pos("ncurses") < pos("readline") && pos("readline") < pos("lua"));
    let list = String::from_utf8_lossy(&env.prefix_verb("list").stdout).into_owned();
    for p in ["ncurses 6.4_0", "readline 8.2_0", "lua 5.4.4_0"] {
        assert!(list.contains(p), "{list}");
    }
    check_linked_against_the_prefix(&env);
    lua_runs(&env);
    env.prefix_verb("verify");

    // A new revision of the bottom port, signed and synced.
    let pf = env.t().join("tree/ports/ncurses/Portfile.toml");
    let text_pf = std::fs::read_to_string(&pf).unwrap();
    std::fs::write(
        &pf,
        text_pf.replacen(
            "version = \"6.4\"\n",
            "version = \"6.4\"\nrevision = 1\n",
            1,
        ),
    )
    .unwrap();
    env.publish_and_sync();
    let out = env.plan_verb("outdated", &["--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v[0]["name"], "ncurses");
    assert_eq!(v[0]["available"], "6.4_1");

    let out = env.plan_verb("upgrade", &["ncurses", "-j", "2"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for dependent in ["readline", "lua"] {
        assert!(
            stdout.contains(&format!(
                "{dependent}: rebuilt because a library it links against is upgraded"
            )),
            "{stdout}"
        );
    }
    let list = String::from_utf8_lossy(&env.prefix_verb("list").stdout).into_owned();
    assert!(list.contains("ncurses 6.4_1"), "{list}");
    check_linked_against_the_prefix(&env);
    lua_runs(&env);
    env.prefix_verb("verify");
}
