//! Binary packages served as TUF targets over HTTP (docs/TRUST.md, "Binary
//! packages").
//!
//! A builder (its own state directories) builds two small ports — a library
//! `libgreet` and `greeter`, which links it — with `wport install`, which
//! packages them signed with its packager key. A publisher (again its own
//! state) makes a TUF repository of the ports tree, delegates
//! `packages/*/*` to a `builders` role holding the builder's key, and
//! publishes both packages with `wport repo add-package`. A loopback HTTP
//! server serves the repository; a client syncs from it and runs
//! `wport install greeter` into the same prefix path the builder used (the
//! builder's prefix is removed first).

#![allow(
    clippy::disallowed_methods,
    reason = "an end-to-end test: runs the wport binary as a user does, tar to make fixtures and the installed programs it checks"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use common::{Scratch, set_mode, sha256_hex};

#[path = "../../fetch/tests/support/server.rs"]
mod server;

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

struct World {
    scratch: Scratch,
    srv: server::Server,
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

impl World {
    fn new(tag: &str) -> World {
        let scratch = Scratch::new(tag);
        let w = World {
            scratch,
            srv: server::Server::start(),
        };
        for who in ["builder", "publisher", "client"] {
            for d in ["cfg", "data", "cache"] {
                let p = w.path().join(who).join(d);
                std::fs::create_dir_all(&p).unwrap();
                set_mode(&p, 0o700);
            }
        }
        for d in ["tree/ports", "build", "cbuild"] {
            std::fs::create_dir_all(w.path().join(d)).unwrap();
        }
        set_mode(&w.path().join("build"), 0o755);
        set_mode(&w.path().join("cbuild"), 0o755);
        w.port(
            "libgreet",
            &[
                ("Makefile", LIBGREET_MK),
                ("greet.h", GREET_H),
                ("greet.c", GREET_C),
            ],
            "",
            "",
        );
        w.port(
            "greeter",
            &[("Makefile", GREETER_MK), ("main.c", MAIN_C)],
            "[dependencies]\nlib = [\"libgreet\"]\n",
            "dependencies = [\"libgreet\"]\n",
        );
        w
    }

    fn path(&self) -> &Path {
        self.scratch.path()
    }

    fn prefix(&self) -> PathBuf {
        self.path().join("prefix")
    }

    fn ports(&self) -> PathBuf {
        self.path().join("tree/ports")
    }

    /// `tree/ports/NAME`: a tarball of `files`, a make Portfile.
    fn port(&self, name: &str, files: &[(&str, &str)], deps: &str, grant: &str) {
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
            "[port]\nname = \"{name}\"\nversion = \"1.0\"\nrevision = 0\n\
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

    /// `wport ARGS` as `who` (its own config, data and cache directories).
    fn run(&self, who: &str, args: &[&str]) -> Output {
        let home = self.path().join(who);
        Command::new(env!("CARGO_BIN_EXE_wport"))
            .args(args)
            .current_dir(self.path())
            .env("XDG_CONFIG_HOME", home.join("cfg"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .output()
            .unwrap()
    }

    fn ok(&self, who: &str, args: &[&str]) -> Output {
        let out = self.run(who, args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        out
    }

    fn key(&self, who: &str, name: &str) -> String {
        self.path()
            .join(who)
            .join("cfg/wport/keys")
            .join(name)
            .display()
            .to_string()
    }

    /// The builder builds greeter (and libgreet) into the prefix, which
    /// packages both with its packager key; then the prefix is removed.
    fn build_packages(&self) {
        self.build_packages_as("builder", "build");
    }

    /// [`Self::build_packages`] by builder `who` (its own state and packager
    /// key) in build root `root`.
    fn build_packages_as(&self, who: &str, root: &str) {
        self.state_of(who);
        let prefix = self.prefix();
        let ports = self.ports();
        let build = self.path().join(root);
        std::fs::create_dir_all(&build).unwrap();
        set_mode(&build, 0o755);
        self.ok(
            who,
            &[
                "install",
                "greeter",
                "--unsigned",
                ports.to_str().unwrap(),
                "--prefix",
                prefix.to_str().unwrap(),
                "--build-root",
                build.to_str().unwrap(),
            ],
        );
        std::fs::remove_dir_all(&prefix).unwrap();
    }

    fn package(&self, name: &str) -> String {
        self.package_of("builder", name)
    }

    /// The package of `name` that builder `who` made.
    fn package_of(&self, who: &str, name: &str) -> String {
        self.path()
            .join(format!("{who}/cache/wport/packages/{name}-1.0_0.wpkg"))
            .display()
            .to_string()
    }

    /// `who`'s config, data and cache directories.
    fn state_of(&self, who: &str) {
        for d in ["cfg", "data", "cache"] {
            let p = self.path().join(who).join(d);
            std::fs::create_dir_all(&p).unwrap();
            set_mode(&p, 0o700);
        }
    }

    /// The publisher's repository: the ports tree, a builders role
    /// (`builder_keys`, `threshold`) for `packages/*/*`, and `packages`
    /// published, builders signed with the builder's key.
    fn publish(&self, builder_keys: &[String], threshold: u64, packages: &[&str]) {
        self.setup_repo(builder_keys, threshold);
        self.add_packages(packages);
    }

    /// The repository with the ports tree and the builders delegation.
    fn setup_repo(&self, builder_keys: &[String], threshold: u64) {
        for k in ["root", "targets", "snap", "ts"] {
            self.ok("publisher", &["key", "generate", k]);
        }
        let k = |n: &str| self.key("publisher", n);
        self.ok(
            "publisher",
            &[
                "repo",
                "init",
                "repo",
                "--root-key",
                &k("root.pub"),
                "--targets-key",
                &k("targets.pub"),
                "--snapshot-key",
                &k("snap.pub"),
                "--timestamp-key",
                &k("ts.pub"),
            ],
        );
        self.ok(
            "publisher",
            &["repo", "sign", "repo", "root", "--key", &k("root.key")],
        );
        self.ok("publisher", &["repo", "add", "repo", "--ports", "tree"]);
        let mut delegate = vec![
            "repo".to_string(),
            "delegate".into(),
            "repo".into(),
            "--name".into(),
            "builders".into(),
            "--path".into(),
            "packages/*/*".into(),
            "--threshold".into(),
            threshold.to_string(),
        ];
        for key in builder_keys {
            delegate.push("--key".into());
            delegate.push(key.clone());
        }
        let delegate: Vec<&str> = delegate.iter().map(String::as_str).collect();
        self.ok("publisher", &delegate);
        self.ok(
            "publisher",
            &[
                "repo",
                "sign",
                "repo",
                "targets",
                "--key",
                &k("targets.key"),
            ],
        );
    }

    /// `wport repo add-package` of the builder's `packages`, builders
    /// signed with the builder's key (one signature).
    fn add_and_sign(&self, packages: &[&str]) {
        let mut add = vec!["repo", "add-package", "repo"];
        let files: Vec<String> = packages.iter().map(|p| self.package(p)).collect();
        add.extend(files.iter().map(String::as_str));
        let out = self.ok("publisher", &add);
        for p in packages {
            assert!(
                stderr(&out).contains(&format!("-> packages/{p}/{p}-1.0_0-")),
                "{}",
                text(&out)
            );
        }
        let builder = self.key("builder", "packager.key");
        self.ok(
            "publisher",
            &["repo", "sign", "repo", "builders", "--key", &builder],
        );
    }

    /// [`Self::add_and_sign`], then a new snapshot and timestamp.
    fn add_packages(&self, packages: &[&str]) {
        self.add_and_sign(packages);
        self.timestamp();
    }

    fn timestamp(&self) {
        let k = |n: &str| self.key("publisher", n);
        self.ok(
            "publisher",
            &[
                "repo",
                "timestamp",
                "repo",
                "--snapshot-key",
                &k("snap.key"),
                "--timestamp-key",
                &k("ts.key"),
            ],
        );
    }

    /// Route every file of the repository (as it is on disk when served).
    fn serve(&self) -> String {
        let root = self.path().join("repo");
        let mut stack = vec![root.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                let rel = p.strip_prefix(&root).unwrap().to_str().unwrap().to_owned();
                self.srv
                    .route(&format!("/repo/{rel}"), server::Route::File(p.clone()));
            }
        }
        self.srv.url("/repo")
    }

    fn sync(&self) -> Output {
        self.sync_with(&[])
    }

    fn sync_with(&self, extra: &[&str]) -> Output {
        let url = self.serve();
        let mut args = vec!["sync", "--from", &url];
        args.extend_from_slice(extra);
        let root = self.path().join("repo/metadata/1.root.json");
        let root = root.to_str().unwrap();
        if !self
            .path()
            .join("client/data/wport/trust/metadata/root.json")
            .exists()
        {
            args.extend(["--root", root]);
        }
        self.run("client", &args)
    }

    fn install(&self, extra: &[&str]) -> Output {
        let prefix = self.prefix();
        let build = self.path().join("cbuild");
        let mut args = vec![
            "install",
            "greeter",
            "--prefix",
            prefix.to_str().unwrap(),
            "--build-root",
            build.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        self.run("client", &args)
    }

    fn installed(&self) -> String {
        let prefix = self.prefix();
        stdout(&self.ok("client", &["list", "--prefix", prefix.to_str().unwrap()]))
    }

    fn greeter_runs(&self) {
        let out = Command::new(self.prefix().join("bin/greeter"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        assert_eq!(stdout(&out).trim(), "hello from libgreet");
        let prefix = self.prefix();
        self.ok("client", &["verify", "--prefix", prefix.to_str().unwrap()]);
    }

    /// The published target path of `name`'s package.
    fn target_of(&self, name: &str) -> String {
        let dir = self.path().join("repo/targets/packages").join(name);
        let file = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .find(|f| f.ends_with(".wpkg"))
            .unwrap();
        format!("packages/{name}/{file}")
    }

    /// Nothing was built on the client.
    fn nothing_built(&self, out: &Output) {
        assert!(!stdout(out).contains("--->  building"), "{}", text(out));
        let entries = std::fs::read_dir(self.path().join("cbuild"))
            .unwrap()
            .count();
        assert_eq!(entries, 0, "the client's build root is not empty");
    }
}

#[test]
fn install_takes_signed_binaries_and_builds_nothing() {
    let w = World::new("bin-install");
    w.build_packages();
    w.publish(
        &[w.key("builder", "packager.pub")],
        1,
        &["libgreet", "greeter"],
    );
    // A mirror serves the targets too; the primary has lost greeter's.
    let greeter = w.target_of("greeter");
    let mirror = w.srv.url("/mirror");
    w.srv.route(
        &format!("/mirror/targets/{greeter}"),
        server::Route::File(w.path().join("repo/targets").join(&greeter)),
    );
    let out = w.sync_with(&["--mirror", &mirror]);
    assert!(out.status.success(), "{}", text(&out));
    w.srv.route(
        &format!("/repo/targets/{greeter}"),
        server::Route::Status(404),
    );
    // The sync took the ports tree only: no package was downloaded.
    assert_eq!(w.srv.hits(&format!("/repo/targets/{greeter}")), 0);
    assert!(
        !w.path()
            .join("client/data/wport/trust/targets/packages")
            .exists()
    );
    assert_eq!(w.srv.hits("/repo/metadata/builders.json"), 0);

    let out = w.install(&[]);
    assert!(out.status.success(), "{}", text(&out));
    let so = stdout(&out);
    let lib = so
        .find("--->  installing libgreet 1.0_0 from a signed binary")
        .unwrap_or_else(|| panic!("{}", text(&out)));
    let bin = so
        .find("--->  installing greeter 1.0_0 from a signed binary")
        .unwrap_or_else(|| panic!("{}", text(&out)));
    assert!(lib < bin, "{so}");
    w.nothing_built(&out);
    assert_eq!(w.srv.hits(&format!("/repo/targets/{greeter}")), 1);
    assert_eq!(w.srv.hits(&format!("/mirror/targets/{greeter}")), 1);
    let listed = w.installed();
    assert!(listed.contains("libgreet 1.0_0"), "{listed}");
    assert!(listed.contains("greeter 1.0_0"), "{listed}");
    w.greeter_runs();
}

#[test]
fn a_tampered_binary_is_refused_and_quarantined() {
    let w = World::new("bin-tamper");
    w.build_packages();
    w.publish(
        &[w.key("builder", "packager.pub")],
        1,
        &["libgreet", "greeter"],
    );
    assert!(w.sync().status.success());
    // The server now hands out other bytes of the same length.
    let greeter = w.target_of("greeter");
    let mut bytes = std::fs::read(w.path().join("repo/targets").join(&greeter)).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    w.srv.route(
        &format!("/repo/targets/{greeter}"),
        server::Route::Bytes(Arc::new(bytes)),
    );
    let out = w.install(&[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let err = stderr(&out);
    assert!(err.contains("quarantined as"), "{err}");
    assert!(
        err.contains("did not arrive as its TUF target describes it"),
        "{err}"
    );
    // Not built instead: served bytes that differ from a signed target are
    // an incident, not a missing binary.
    assert!(
        !stdout(&out).contains("--->  building greeter"),
        "{}",
        text(&out)
    );
    let quarantine = w.path().join("client/cache/wport/quarantine");
    let records: Vec<String> = std::fs::read_dir(&quarantine)
        .unwrap()
        .map(|e| e.unwrap().path().join("record.json"))
        .filter(|r| r.is_file())
        .map(|r| std::fs::read_to_string(r).unwrap())
        .collect();
    assert_eq!(records.len(), 1, "{records:?}");
    let file = greeter.rsplit('/').next().unwrap();
    assert!(records[0].contains(file), "{}", records[0]);
    let listed = w.installed();
    assert!(listed.contains("libgreet 1.0_0"), "{listed}");
    assert!(!listed.contains("greeter"), "{listed}");
}

#[test]
fn binaries_signed_below_the_builder_threshold_are_refused_and_built_from_source() {
    let w = World::new("bin-threshold");
    w.build_packages();
    // Two builder keys, threshold 2, and only one signature on builders.
    w.ok("publisher", &["key", "generate", "second"]);
    w.setup_repo(
        &[
            w.key("builder", "packager.pub"),
            w.key("publisher", "second.pub"),
        ],
        2,
    );
    w.add_and_sign(&["libgreet", "greeter"]);
    // `wport repo timestamp` refuses to snapshot a role below threshold...
    let k = |n: &str| w.key("publisher", n);
    let out = w.run(
        "publisher",
        &[
            "repo",
            "timestamp",
            "repo",
            "--snapshot-key",
            &k("snap.key"),
            "--timestamp-key",
            &k("ts.key"),
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    // ...but a repository can still serve one (broken or hostile tooling).
    first_snapshot(&w);
    let out = w.sync();
    assert!(
        out.status.success(),
        "the ports tree still syncs: {}",
        text(&out)
    );

    // --binary-only: refused, exit 3, nothing installed.
    let out = w.install(&["--binary-only"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let err = stderr(&out);
    assert!(err.contains("builders"), "{err}");
    assert!(err.contains("threshold"), "{err}");
    assert!(!w.installed().contains("libgreet"));

    // Default: a notice, then both built from source.
    let out = w.install(&[]);
    assert!(out.status.success(), "{}", text(&out));
    let err = stderr(&out);
    assert!(
        err.contains("NOTICE: libgreet: the signed binary index was refused"),
        "{err}"
    );
    let so = stdout(&out);
    assert!(
        so.contains(
            "--->  building libgreet (binary not available: the binary index was refused: builders"
        ),
        "{so}"
    );
    assert!(
        so.contains("--->  building greeter (binary not available"),
        "{so}"
    );
    assert!(!so.contains("from a signed binary"), "{so}");
    w.greeter_runs();
}

/// The first snapshot and timestamp of a repository whose builders role is
/// below its threshold, written by hand.
fn first_snapshot(w: &World) {
    use wport_trust::SecretKey;
    use wport_trust::repo::Repository;
    let meta = w.path().join("repo/metadata");
    let mut files = serde_json::Map::new();
    for role in ["targets", "builders"] {
        let raw = std::fs::read(meta.join(format!("{role}.json"))).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        files.insert(
            format!("{role}.json"),
            serde_json::json!({
                "version": v["signed"]["version"],
                "length": raw.len(),
                "hashes": {"sha256": sha256_hex(&raw)},
            }),
        );
    }
    let signed = serde_json::json!({
        "_type": "snapshot",
        "spec_version": "1.0.31",
        "version": 1,
        "expires": wport_trust::time::format(wport_trust::time::now() + 86_400),
        "meta": files,
    });
    let key = SecretKey::read_file(Path::new(&w.key("publisher", "snap.key"))).unwrap();
    let bytes = wport_trust::metadata::sign_document(&signed, &[&key]).unwrap();
    std::fs::write(meta.join("snapshot.json"), &bytes).unwrap();
    std::fs::write(meta.join("1.snapshot.json"), &bytes).unwrap();
    let ts = SecretKey::read_file(Path::new(&w.key("publisher", "ts.key"))).unwrap();
    Repository::open(&w.path().join("repo"))
        .unwrap()
        .timestamp(&ts, wport_trust::time::now())
        .unwrap();
}

#[test]
fn a_stale_binary_is_not_used() {
    let w = World::new("bin-stale");
    w.build_packages();
    w.publish(
        &[w.key("builder", "packager.pub")],
        1,
        &["libgreet", "greeter"],
    );
    // The greeter Portfile changes after its binary was built.
    let pf = w.ports().join("greeter/Portfile.toml");
    let mut text_pf = std::fs::read_to_string(&pf).unwrap();
    text_pf.push_str("# a maintainer's note\n");
    std::fs::write(&pf, text_pf).unwrap();
    let k = w.key("publisher", "targets.key");
    w.ok(
        "publisher",
        &[
            "repo", "add", "repo", "--ports", "tree", "--port", "greeter",
        ],
    );
    w.ok(
        "publisher",
        &["repo", "sign", "repo", "targets", "--key", &k],
    );
    w.timestamp();
    assert!(w.sync().status.success());

    // --binary-only names the port and why; exit 1 (nothing refused).
    let out = w.install(&["--binary-only"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        stderr(&out).contains("--binary-only: no signed binary of greeter fits"),
        "{}",
        text(&out)
    );

    let out = w.install(&[]);
    assert!(out.status.success(), "{}", text(&out));
    let so = stdout(&out);
    assert!(so.contains("already installed: libgreet 1.0_0"), "{so}");
    assert!(
        so.contains(
            "--->  building greeter (binary not available: the published binaries were built \
             from other inputs: greeter-1.0_0 (other Portfile))"
        ),
        "{so}"
    );
    w.greeter_runs();
}

#[test]
fn a_rolled_back_binary_index_is_refused() {
    let w = World::new("bin-rollback");
    w.build_packages();
    w.publish(&[w.key("builder", "packager.pub")], 1, &["libgreet"]);
    assert!(w.sync().status.success());
    let meta = w.path().join("repo/metadata");
    let old_builders = std::fs::read(meta.join("builders.json")).unwrap();
    let old_snapshot = std::fs::read(meta.join("snapshot.json")).unwrap();
    let old_timestamp = std::fs::read(meta.join("timestamp.json")).unwrap();
    // The index gains greeter; the client syncs that.
    w.add_packages(&["greeter"]);
    assert!(w.sync().status.success());

    // A server (or mirror) hands out the older builders.json again.
    w.srv.route(
        "/repo/metadata/builders.json",
        server::Route::Bytes(Arc::new(old_builders)),
    );
    let out = w.install(&["--binary-only"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(stderr(&out).contains("builders"), "{}", text(&out));
    let out = w.install(&[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        stdout(&out).contains(
            "--->  building libgreet (binary not available: the binary index was refused"
        ),
        "{}",
        text(&out)
    );

    // And an older snapshot with its timestamp: the sync itself refuses.
    w.srv.route(
        "/repo/metadata/snapshot.json",
        server::Route::Bytes(Arc::new(old_snapshot)),
    );
    w.srv.route(
        "/repo/metadata/timestamp.json",
        server::Route::Bytes(Arc::new(old_timestamp)),
    );
    let url = w.srv.url("/repo");
    let out = w.run("client", &["sync", "--from", &url]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        stderr(&out).contains("rollback") || stderr(&out).contains("older"),
        "{}",
        text(&out)
    );
}

/// The key id of a public key file.
fn key_id(pub_file: &str) -> String {
    wport_trust::keys::read_public_key_file(Path::new(pub_file))
        .unwrap()
        .key_id()
}

/// The payload sha256 of a package signed by `pub_file`'s key.
fn payload_of(pkg: &str, pub_file: &str) -> String {
    let key = wport_trust::keys::read_public_key_file(Path::new(pub_file)).unwrap();
    wport_registry::open_package(Path::new(pkg), &[key])
        .unwrap()
        .manifest
        .payload
        .sha256
}

/// Issue 15, part 3: k of n builders. Builders A and B build the ports in
/// separate build roots with their own keys and get the same payload
/// digests; with threshold 2 the client installs both binaries. Builder C
/// packages libgreet from the same inputs with an altered destroot; libgreet
/// published with A's and C's attestations has one agreeing builder of two:
/// the client refuses the binary naming A as agreeing and C as disagreeing
/// with its digest, exits 3 with `--binary-only` leaving nothing installed,
/// and otherwise builds libgreet from source.
#[test]
fn two_builders_agree_and_a_third_that_differs_is_named() {
    let w = World::new("bin-quorum");
    w.build_packages_as("builder", "build");
    w.build_packages_as("builder2", "build2");
    let (a_pub, b_pub) = (
        w.key("builder", "packager.pub"),
        w.key("builder2", "packager.pub"),
    );
    for name in ["libgreet", "greeter"] {
        assert_eq!(
            payload_of(&w.package_of("builder", name), &a_pub),
            payload_of(&w.package_of("builder2", name), &b_pub),
            "two builders in separate build roots built {name} differently"
        );
    }

    // Builder C: libgreet from the same inputs, its destroot altered.
    w.state_of("builder3");
    w.ok("builder3", &["key", "generate", "packager"]);
    let c_pub = w.key("builder3", "packager.pub");
    let build3 = w.path().join("build3");
    std::fs::create_dir_all(&build3).unwrap();
    set_mode(&build3, 0o755);
    let port = w.ports().join("libgreet");
    let prefix = w.prefix();
    w.ok(
        "builder3",
        &[
            "build",
            "--unsigned",
            port.to_str().unwrap(),
            "--build-root",
            build3.to_str().unwrap(),
            "--prefix",
            prefix.to_str().unwrap(),
        ],
    );
    let destroot = build3.join("libgreet-1.0/destroot");
    let header = destroot
        .join(prefix.strip_prefix("/").unwrap())
        .join("include/greet.h");
    let mut text_h = std::fs::read_to_string(&header).unwrap();
    text_h.push_str("/* not what the sources say */\n");
    std::fs::write(&header, text_h).unwrap();
    let out3 = w.path().join("out3");
    w.ok(
        "builder3",
        &[
            "package",
            "--unsigned",
            port.to_str().unwrap(),
            "--destroot",
            destroot.to_str().unwrap(),
            "--build-root",
            build3.to_str().unwrap(),
            "--prefix",
            prefix.to_str().unwrap(),
            "--key",
            &w.key("builder3", "packager.key"),
            "-o",
            out3.to_str().unwrap(),
        ],
    );
    let c_pkg = out3.join("libgreet-1.0_0.wpkg").display().to_string();
    let a_lib = payload_of(&w.package("libgreet"), &a_pub);
    let c_lib = payload_of(&c_pkg, &c_pub);
    assert_ne!(a_lib, c_lib);

    // Threshold 2 of A, B, C. A's packages with B's attestations.
    w.setup_repo(&[a_pub.clone(), b_pub.clone(), c_pub.clone()], 2);
    // An attestation that is no builder's, or no envelope, is refused by
    // add-package naming its file, and nothing is published.
    let a_key = wport_trust::keys::read_public_key_file(Path::new(&a_pub)).unwrap();
    let own = wport_registry::open_package(
        Path::new(&w.package("libgreet")),
        std::slice::from_ref(&a_key),
    )
    .unwrap()
    .attestation
    .unwrap();
    let statement = wport_registry::attestation::open(&own, &[a_key], "t")
        .unwrap()
        .statement;
    let outsider = wport_trust::SecretKey::from_seed(&[77; 32]).unwrap();
    let forged = w.path().join("outsider.intoto.json");
    std::fs::write(
        &forged,
        wport_registry::attestation::sign(&statement, &outsider).unwrap(),
    )
    .unwrap();
    let garbage = w.path().join("garbage.intoto.json");
    std::fs::write(&garbage, "{\"payload\": 1}").unwrap();
    for (file, why) in [
        (
            &forged,
            "no signature by a trusted key (provenance attestation signed by",
        ),
        (
            &garbage,
            "malformed: provenance attestation: not a DSSE envelope",
        ),
    ] {
        let out = w.run(
            "publisher",
            &[
                "repo",
                "add-package",
                "repo",
                &w.package("libgreet"),
                "--attestation",
                file.to_str().unwrap(),
            ],
        );
        assert_eq!(out.status.code(), Some(3), "{}", text(&out));
        assert!(
            stderr(&out).contains(&format!(
                "package attestation file {}: {why}",
                file.display()
            )),
            "{}",
            text(&out)
        );
        assert!(
            !w.path().join("repo/targets/packages/libgreet").exists(),
            "{}",
            text(&out)
        );
    }
    let sign_builders = || {
        for who in ["builder", "builder2"] {
            w.ok(
                "publisher",
                &[
                    "repo",
                    "sign",
                    "repo",
                    "builders",
                    "--key",
                    &w.key(who, "packager.key"),
                ],
            );
        }
        w.timestamp();
    };
    let (a_libp, a_greeter) = (w.package("libgreet"), w.package("greeter"));
    let (b_libp, b_greeter) = (
        w.package_of("builder2", "libgreet"),
        w.package_of("builder2", "greeter"),
    );
    let out = w.ok(
        "publisher",
        &[
            "repo",
            "add-package",
            "repo",
            &a_libp,
            &a_greeter,
            "--attestation",
            &b_libp,
            "--attestation",
            &b_greeter,
        ],
    );
    assert!(
        stderr(&out).contains("(2 attestation(s))"),
        "{}",
        text(&out)
    );
    sign_builders();
    let out = w.sync();
    assert!(out.status.success(), "{}", text(&out));
    let out = w.install(&["-v"]);
    assert!(out.status.success(), "{}", text(&out));
    let so = stdout(&out);
    assert!(
        so.contains("--->  installing libgreet 1.0_0 from a signed binary"),
        "{}",
        text(&out)
    );
    assert!(
        so.contains("--->  installing greeter 1.0_0 from a signed binary"),
        "{}",
        text(&out)
    );
    w.nothing_built(&out);
    let (ka, kb, kc) = (key_id(&a_pub), key_id(&b_pub), key_id(&c_pub));
    let mut agreeing = [ka.clone(), kb.clone()];
    agreeing.sort();
    assert!(
        stderr(&out).contains(
            "wport: libgreet: 2 builder key(s) of builders (threshold 2) attest the payload of \
             packages/libgreet/"
        ),
        "{}",
        text(&out)
    );
    assert!(
        stderr(&out).contains(&agreeing.join(", ")),
        "{}",
        text(&out)
    );
    w.greeter_runs();
    // The installed binary's provenance verifies against the synced
    // builders' keys: it is builder A's attestation of A's package.
    let p = prefix.to_str().unwrap();
    let out = w.run(
        "client",
        &["verify", "--provenance", "libgreet", "--prefix", p],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        stdout(&out).contains(&format!(
            "libgreet-1.0_0: provenance verified: signed by {ka}, subject \
             libgreet-1.0_0/payload.tar.zst sha256 {a_lib}"
        )),
        "{}",
        text(&out)
    );

    // libgreet again, now with A's package and C's disagreeing attestation.
    let out = w.ok(
        "publisher",
        &[
            "repo",
            "add-package",
            "repo",
            &a_libp,
            "--attestation",
            &c_pkg,
        ],
    );
    assert!(
        stderr(&out).contains(&format!("builder {kc} attests payload sha256 {c_lib}")),
        "{}",
        text(&out)
    );
    sign_builders();
    std::fs::remove_dir_all(w.prefix()).unwrap();
    let out = w.sync();
    assert!(out.status.success(), "{}", text(&out));
    let target = w.target_of("libgreet");
    let install_lib = |extra: &[&str]| {
        let build = w.path().join("cbuild");
        let mut args = vec![
            "install",
            "libgreet",
            "--prefix",
            prefix.to_str().unwrap(),
            "--build-root",
            build.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        w.run("client", &args)
    };
    let refusal = format!(
        "libgreet-1.0_0 ({target}): 1 of the 2 builder key(s) the builders role requires attest \
         its payload sha256 {a_lib}; agreeing: {ka}; disagreeing: {kc} (attests sha256 {c_lib})"
    );
    // --binary-only: exit 3, the builders named, nothing fetched or installed.
    let hits = w.srv.hits(&format!("/repo/targets/{target}"));
    let out = install_lib(&["--binary-only"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(stderr(&out).contains(&refusal), "{}", text(&out));
    assert_eq!(w.srv.hits(&format!("/repo/targets/{target}")), hits);
    assert!(!w.prefix().join("lib/libgreet.so").exists());
    let listed = w.run("client", &["list", "--prefix", prefix.to_str().unwrap()]);
    assert!(!stdout(&listed).contains("libgreet"), "{}", text(&listed));
    // Default: the notice, then a source build.
    let out = install_lib(&[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        stderr(&out).contains(&format!(
            "wport: NOTICE: libgreet: the signed binary is not installed: too few independent \
             builders attest the same package, so libgreet is built from source instead: {refusal}"
        )),
        "{}",
        text(&out)
    );
    assert!(
        stdout(&out).contains(
            "--->  building libgreet (binary not available: 1 of the 2 builders required attest it)"
        ),
        "{}",
        text(&out)
    );
    assert_eq!(w.srv.hits(&format!("/repo/targets/{target}")), hits);
    assert!(w.installed().contains("libgreet 1.0_0"));
}
