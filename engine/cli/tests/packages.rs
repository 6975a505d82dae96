//! Binary packages end to end with the real `wport` binary: byte-identical
//! packages from two builds, install/uninstall crash injection (random
//! SIGKILLs and a kill after every journal step), binary repositories and
//! dependencies, exit codes of refusals.

#![allow(
    clippy::disallowed_methods,
    reason = "an end-to-end test: runs the wport binary as a user does"
)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use wport_registry::manifest::Provenance;
use wport_registry::{PackageMeta, create_package};
use wport_trust::SecretKey;

const WPORT: &str = env!("CARGO_BIN_EXE_wport");

struct Env {
    tmp: tempfile::TempDir,
    key: SecretKey,
    prefix: PathBuf,
}

impl Env {
    fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let key = SecretKey::from_seed(&[42; 32]).unwrap();
        let keys = tmp.path().join("trusted");
        std::fs::create_dir(&keys).unwrap();
        std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::write(
            keys.join("packager.pub"),
            serde_json::to_vec(&key.public().to_tuf()).unwrap(),
        )
        .unwrap();
        key.write_file(&tmp.path().join("packager.key")).unwrap();
        let prefix = tmp.path().canonicalize().unwrap().join("prefix");
        Env { tmp, key, prefix }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.tmp.path().join(p)
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(WPORT);
        c.args(args);
        c.env("XDG_CONFIG_HOME", self.path("config"))
            .env_remove("WPORT_TEST_CRASH_AT");
        c
    }

    /// `wport VERB ... --prefix P --keys K` where the verb takes them.
    fn run(&self, args: &[&str]) -> Output {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend([
            "--prefix".into(),
            self.prefix.to_string_lossy().into_owned(),
        ]);
        if args[0] == "install" {
            all.extend([
                "--keys".into(),
                self.path("trusted").to_string_lossy().into_owned(),
            ]);
        }
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        self.cmd(&refs).output().unwrap()
    }

    fn package(&self, name: &str, deps: &[&str], nfiles: usize) -> PathBuf {
        let tree = self.path(&format!("trees/{name}"));
        for i in 0..nfiles {
            let p = tree.join(format!("share/{name}/d{}/f{i}", i % 5));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, format!("{name} file {i}\n").repeat(i % 7 + 1)).unwrap();
        }
        std::fs::create_dir_all(tree.join("bin")).unwrap();
        std::fs::write(tree.join(format!("bin/{name}")), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(
            tree.join(format!("bin/{name}")),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        std::os::unix::fs::symlink(name, tree.join(format!("bin/{name}-link"))).unwrap();
        let out_dir = self.path("repo");
        std::fs::create_dir_all(&out_dir).unwrap();
        let out = out_dir.join(format!("{name}-1.0_0.wpkg"));
        let meta = PackageMeta {
            name: name.into(),
            version: "1.0".into(),
            revision: 0,
            prefix: self.prefix.to_string_lossy().into_owned(),
            dependencies: deps.iter().map(|d| d.to_string()).collect(),
            source_date_epoch: 1_700_000_000,
            provenance: Provenance::default(),
        };
        create_package(&tree, &meta, &self.key, &out).unwrap();
        out
    }

    fn installed(&self) -> Vec<String> {
        let o = self.run(&["list"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| l.split(' ').next().unwrap().to_string())
            .collect()
    }
}

/// Every path below `root`, relative, without wport's own state.
fn listing(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd {
            let e = e.unwrap();
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if rel == ".wport" || rel == "var" || rel.starts_with("var/") {
                continue;
            }
            out.push(rel);
            if e.file_type().unwrap().is_dir() {
                walk(root, &e.path(), out);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// After a crash: the next wport run recovers; then the package is wholly
/// installed (verify clean, every file there) or wholly absent (no file of
/// it left), and no staging or journal remains. Returns whether recovery
/// had something to do.
fn check_consistent(env: &Env, full: &[String], what: &str) -> bool {
    let v = env.run(&["verify"]);
    let recovered = stderr(&v).contains("recovery:");
    assert!(
        v.status.success(),
        "{what}: verify after recovery: {}{}",
        String::from_utf8_lossy(&v.stdout),
        stderr(&v)
    );
    let now = listing(&env.prefix);
    match env.installed().as_slice() {
        [] => assert_eq!(
            now,
            Vec::<String>::new(),
            "{what}: absent package left files"
        ),
        [p] if p == "crashy" => assert_eq!(&now, full, "{what}: installed package incomplete"),
        other => panic!("{what}: unexpected packages {other:?}"),
    }
    for d in [".wport/staging", ".wport/journal"] {
        let left: Vec<_> = std::fs::read_dir(env.prefix.join(d)).unwrap().collect();
        assert!(left.is_empty(), "{what}: {d} not empty: {left:?}");
    }
    recovered
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn timed(env: &Env, args: &[&str]) -> Duration {
    let t = Instant::now();
    let o = env.run(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    t.elapsed()
}

#[test]
fn crash_injection_install_and_uninstall() {
    let env = Env::new();
    let pkg = env.package("crashy", &[], 60);
    let pkg_s = pkg.to_string_lossy().into_owned();
    let install = ["install", pkg_s.as_str()];
    let uninstall = ["uninstall", "crashy"];

    // The full tree, and how long each operation takes uninterrupted.
    let t_install = timed(&env, &install);
    let full = listing(&env.prefix);
    assert!(full.len() > 60);
    let t_uninstall = timed(&env, &uninstall);
    assert_eq!(listing(&env.prefix), Vec::<String>::new());

    // 1. A kill (abort) after every journal step, both operations.
    let mut deterministic = 0;
    for op in [&install[..], &uninstall[..]] {
        for n in 1.. {
            // Precondition: installed for uninstall, absent for install.
            let want_installed = op[0] == "uninstall";
            if (env.installed().len() == 1) != want_installed {
                timed(&env, if want_installed { &install } else { &uninstall });
            }
            let mut all: Vec<String> = op.iter().map(|s| s.to_string()).collect();
            all.extend(["--prefix".into(), env.prefix.to_string_lossy().into_owned()]);
            if op[0] == "install" {
                all.extend([
                    "--keys".into(),
                    env.path("trusted").to_string_lossy().into_owned(),
                ]);
            }
            let refs: Vec<&str> = all.iter().map(String::as_str).collect();
            let o = env
                .cmd(&refs)
                .env("WPORT_TEST_CRASH_AT", n.to_string())
                .output()
                .unwrap();
            deterministic += 1;
            check_consistent(&env, &full, &format!("{} aborted after step {n}", op[0]));
            if o.status.success() {
                break; // n is past the last step
            }
            assert!(n < 1000);
        }
    }

    // 2. Random SIGKILLs.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("crash injection seed {seed}");
    let mut rng = Rng(seed);
    let trials = 200;
    let mut mid = 0;
    for trial in 0..trials {
        let op: &[&str] = if trial % 2 == 0 { &install } else { &uninstall };
        let want_installed = op[0] == "uninstall";
        if (env.installed().len() == 1) != want_installed {
            timed(&env, if want_installed { &install } else { &uninstall });
        }
        let window = if want_installed {
            t_uninstall
        } else {
            t_install
        };
        let delay = Duration::from_micros(rng.next() % (window.as_micros() as u64 * 5 / 4 + 1));
        let mut all: Vec<String> = op.iter().map(|s| s.to_string()).collect();
        all.extend(["--prefix".into(), env.prefix.to_string_lossy().into_owned()]);
        if op[0] == "install" {
            all.extend([
                "--keys".into(),
                env.path("trusted").to_string_lossy().into_owned(),
            ]);
        }
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        let mut child = env
            .cmd(&refs)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        if check_consistent(
            &env,
            &full,
            &format!(
                "seed {seed} trial {trial}: {} killed after {delay:?}",
                op[0]
            ),
        ) {
            mid += 1;
        }
    }
    eprintln!(
        "{deterministic} step-abort trials, {trials} SIGKILL trials ({mid} interrupted a transaction that recovery then finished or undid)"
    );
    assert!(
        mid > 0,
        "no SIGKILL landed inside a transaction; the timing window is wrong"
    );
}

#[test]
fn repository_installs_dependencies_first() {
    let env = Env::new();
    let lib = env.package("libfoo", &[], 3);
    let app = env.package("app", &["libfoo"], 3);
    let key = env.path("packager.key");
    let keys = env.path("trusted");
    let repo = env.path("repo");

    // Without a repository: the missing dependency is named.
    let o = env.run(&["install", app.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("needs libfoo"), "{}", stderr(&o));
    assert!(env.installed().is_empty());

    let o = env
        .cmd(&[
            "index",
            repo.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            "--keys",
            keys.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let o = env.run(&["install", "app", "--repo", repo.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let (l, a) = (
        out.find("installed libfoo").unwrap(),
        out.find("installed app").unwrap(),
    );
    assert!(l < a, "dependency first: {out}");
    assert_eq!(env.installed(), vec!["app", "libfoo"]);

    // A package others need is refused; the dependent goes first.
    let o = env.run(&["uninstall", "libfoo"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("needed by app;"), "{}", stderr(&o));
    assert!(env.run(&["uninstall", "app"]).status.success());
    assert!(env.run(&["uninstall", "libfoo"]).status.success());
    assert_eq!(listing(&env.prefix), Vec::<String>::new());

    // A repository package changed after indexing is refused (exit 3).
    let mut bytes = std::fs::read(&lib).unwrap();
    let n = bytes.len();
    bytes[n - 2000] ^= 1;
    std::fs::write(&lib, bytes).unwrap();
    let o = env.run(&["install", "libfoo", "--repo", repo.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("sha256"), "{}", stderr(&o));

    // So is an index edited after signing.
    let idx = repo.join("index.json");
    let text = std::fs::read_to_string(&idx)
        .unwrap()
        .replace("\"version\":\"1.0\"", "\"version\":\"1.1\"");
    std::fs::write(&idx, text).unwrap();
    let o = env.run(&["install", "app", "--repo", repo.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
}

#[test]
fn cli_verify_info_owner_and_refusals() {
    let env = Env::new();
    let pkg = env.package("tool", &[], 4);
    let o = env.run(&["install", pkg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = env.run(&["verify"]);
    assert_eq!(o.status.code(), Some(0));
    let bin = env.prefix.join("bin/tool");
    let o = env.run(&["owner", bin.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("provided by tool"));
    let o = env.run(&["info", "tool"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("tool 1.0_0"));
    let o = env.run(&["contents", "tool"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("bin/tool-link -> tool"));
    std::fs::write(&bin, "#!/bin/sh\nrm -rf ~\n").unwrap();
    let o = env.run(&["verify", "tool"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("modified   bin/tool"));
    let o = env.run(&["uninstall", "tool"]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("kept"));
    assert!(bin.exists());

    // Untrusted signer: refused with exit 3 before anything is touched.
    let other = tempfile::tempdir().unwrap();
    std::fs::set_permissions(other.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let o = env
        .cmd(&[
            "install",
            pkg.to_str().unwrap(),
            "--prefix",
            env.prefix.to_str().unwrap(),
            "--keys",
            other.path().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    // A group-writable trusted key directory is refused.
    std::fs::set_permissions(env.path("trusted"), std::fs::Permissions::from_mode(0o770)).unwrap();
    let o = env.run(&["install", pkg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
}

#[test]
fn two_builds_of_the_demo_give_byte_identical_packages() {
    let env = Env::new();
    let key = env.path("packager.key");
    let mut packages = Vec::new();
    for i in 0..2 {
        let out = env.path(&format!("out{i}"));
        let o = env
            .cmd(&[
                "package",
                "--prefix",
                env.prefix.to_str().unwrap(),
                "--build-root",
                env.path(&format!("build{i}")).to_str().unwrap(),
                "--key",
                key.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        packages.push(std::fs::read(out.join("demo-1.0_0.wpkg")).unwrap());
    }
    assert!(
        packages[0] == packages[1],
        "two builds gave different packages"
    );
    // And the package installs and verifies.
    let o = env.run(&[
        "install",
        env.path("out0/demo-1.0_0.wpkg").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(env.run(&["verify"]).status.code(), Some(0));
    assert!(env.run(&["uninstall", "demo"]).status.success());
    assert_eq!(listing(&env.prefix), Vec::<String>::new());
}
