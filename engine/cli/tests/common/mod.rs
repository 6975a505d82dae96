//! Shared by the end-to-end tests that drive the real `wport` binary on real
//! ports: private state directories, a seeded distfile store, the build.

#![allow(
    clippy::disallowed_methods,
    reason = "an end-to-end test: runs the wport binary as a user does"
)]
#![allow(dead_code, reason = "each test binary uses a different part")]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

/// Root of the repository.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A scratch directory for one build. As root, wport hands the build
/// directories to the unprivileged build user (uid 65534), which must be
/// able to traverse every parent; `tempfile` makes its directories 0700, so
/// the top one is opened up to 0755. The cache below it stays 0700: it is
/// used by the host process before it drops privileges.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        // /var/tmp rather than /tmp: the sandbox has a private, writable
        // /tmp, so a host path under /tmp could be re-created inside it (an
        // incident's `mkdir -p $PREFIX/bin` would then succeed unseen);
        // /var/tmp does not exist inside and its root is read-only.
        let dir = tempfile::Builder::new()
            .prefix(&format!("wport-test-{tag}-"))
            .tempdir_in("/var/tmp")
            .expect("creating a scratch directory in /var/tmp");
        set_mode(dir.path(), 0o755);
        Scratch { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn cache(&self) -> PathBuf {
        self.path().join("cache")
    }

    pub fn build_root(&self) -> PathBuf {
        self.path().join("build")
    }

    /// Put `bytes` into the private distfile store under their sha256.
    pub fn seed_distfile(&self, bytes: &[u8]) -> String {
        let store = self.cache().join("wport/distfiles");
        std::fs::create_dir_all(&store).unwrap();
        set_mode(&self.cache(), 0o700);
        let sha = sha256_hex(bytes);
        std::fs::write(store.join(&sha), bytes).unwrap();
        sha
    }

    /// Run `wport build --unsigned` on the local `port_dir` with every state
    /// directory in here.
    pub fn build(&self, port_dir: &Path, extra: &[&str]) -> Output {
        std::fs::create_dir_all(self.cache()).unwrap();
        set_mode(&self.cache(), 0o700);
        std::fs::create_dir_all(self.build_root()).unwrap();
        set_mode(&self.build_root(), 0o755);
        Command::new(env!("CARGO_BIN_EXE_wport"))
            .arg("build")
            .arg("--unsigned")
            .arg("--build-root")
            .arg(self.build_root())
            .args(extra)
            .arg(port_dir)
            .env("XDG_CACHE_HOME", self.cache())
            .output()
            .expect("running wport")
    }
}

pub fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// stdout, stderr and the build log, for assertion messages.
pub fn explain(out: &Output, log: Option<&Path>) -> String {
    let log = log
        .and_then(|l| std::fs::read_to_string(l).ok())
        .map(|l| {
            // The tail is what explains a failure.
            let lines: Vec<&str> = l.lines().collect();
            lines[lines.len().saturating_sub(80)..].join("\n")
        })
        .unwrap_or_default();
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}\n--- build.log (tail)\n{log}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The real upstream tarball with this sha256, from `$WPORT_REAL_SOURCES`
/// (`scripts/test` fetches them there and sets it). Without it the test
/// fails and says so: a silent skip would make a green run mean nothing.
pub fn real_source(sha256: &str) -> Vec<u8> {
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
