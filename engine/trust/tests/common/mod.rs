//! A repository and a client trust directory in a temp dir, built in code:
//! each attack test starts from a valid, published repository and breaks
//! exactly one thing.
#![allow(dead_code, reason = "each test binary uses part of the fixture")]

use std::path::{Path, PathBuf};

use wport_trust::metadata::{MetaList, Root, Targets, parse_envelope, sign_document};
use wport_trust::repo::{Repository, RoleSpec};
use wport_trust::{Client, FileTransport, SecretKey};

/// 2030-01-01T00:00:00Z: the fixed "now" of the tests.
pub const NOW: i64 = 1_893_456_000;
pub const DAY: i64 = 86_400;

pub fn key(n: u8) -> SecretKey {
    SecretKey::from_seed(&[n; 32]).unwrap()
}

pub fn spec(keys: &[&SecretKey], threshold: u64) -> RoleSpec {
    RoleSpec {
        keys: keys.iter().map(|k| k.public().clone()).collect(),
        threshold,
    }
}

pub struct Fixture {
    pub tmp: tempfile::TempDir,
    pub repo: Repository,
    /// Two root keys, threshold 2.
    pub root: [SecretKey; 2],
    /// Two targets keys, threshold 2.
    pub targets: [SecretKey; 2],
    pub snapshot: SecretKey,
    pub timestamp: SecretKey,
}

impl Fixture {
    pub fn new() -> Self {
        Self::with(false)
    }

    pub fn with(consistent: bool) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let (root, targets, snapshot, timestamp) =
            ([key(1), key(2)], [key(3), key(4)], key(5), key(6));
        let repo = Repository::init(
            &tmp.path().join("repo"),
            spec(&[&root[0], &root[1]], 2),
            spec(&[&targets[0], &targets[1]], 2),
            spec(&[&snapshot], 1),
            spec(&[&timestamp], 1),
            consistent,
            NOW,
        )
        .unwrap();
        for k in &root {
            repo.sign("root", k).unwrap();
        }
        let f = Fixture {
            tmp,
            repo,
            root,
            targets,
            snapshot,
            timestamp,
        };
        f.add_file("ports/zlib/Portfile.toml", b"[port]\nname = \"zlib\"\n");
        f.add_file("ports/zlib/files/fix.diff", b"--- a\n+++ b\n");
        f.publish();
        // The client trusts root v1 from the start.
        let root_json = std::fs::read(f.repo.meta_dir().join("1.root.json")).unwrap();
        wport_trust::sync::init_trust_dir(&f.trust_dir(), &root_json).unwrap();
        f
    }

    pub fn trust_dir(&self) -> PathBuf {
        self.tmp.path().join("trust")
    }

    pub fn meta(&self) -> PathBuf {
        self.repo.meta_dir()
    }

    pub fn repo_url(&self) -> String {
        self.tmp.path().join("repo").display().to_string()
    }

    /// Adds one target (a file written into the temp dir) to `targets`.
    pub fn add_file(&self, target: &str, bytes: &[u8]) {
        self.add_file_to("targets", target, bytes);
    }

    pub fn add_file_to(&self, role: &str, target: &str, bytes: &[u8]) {
        let src = self.tmp.path().join("src").join(target);
        std::fs::create_dir_all(src.parent().unwrap()).unwrap();
        std::fs::write(&src, bytes).unwrap();
        self.repo
            .add_targets(role, &[(target.to_string(), src)], NOW)
            .unwrap();
    }

    /// Signs targets with both targets keys, then snapshot and timestamp.
    pub fn publish(&self) {
        self.publish_at(NOW);
    }

    pub fn publish_at(&self, now: i64) {
        for k in &self.targets {
            self.repo.sign("targets", k).unwrap();
        }
        self.repo.snapshot(&self.snapshot, now, false).unwrap();
        self.repo.timestamp(&self.timestamp, now).unwrap();
    }

    /// A client on the trust directory reading the repository directly.
    pub fn client(&self) -> Client<FileTransport> {
        Client::open(
            &self.trust_dir().join("metadata"),
            &self.meta().display().to_string(),
            FileTransport,
        )
        .unwrap()
    }

    pub fn read(&self, file: &str) -> Vec<u8> {
        std::fs::read(self.meta().join(file)).unwrap()
    }

    pub fn write(&self, file: &str, bytes: &[u8]) {
        std::fs::write(self.meta().join(file), bytes).unwrap();
    }

    pub fn root_signed(&self) -> Root {
        parse_envelope::<Root>(self.read("root.json"), "root")
            .unwrap()
            .signed
    }

    pub fn targets_signed(&self) -> Targets {
        parse_envelope::<Targets>(self.read("targets.json"), "targets")
            .unwrap()
            .signed
    }

    pub fn timestamp_signed(&self) -> MetaList {
        parse_envelope::<wport_trust::metadata::Timestamp>(self.read("timestamp.json"), "timestamp")
            .unwrap()
            .signed
            .0
    }

    pub fn snapshot_signed(&self) -> MetaList {
        parse_envelope::<wport_trust::metadata::Snapshot>(self.read("snapshot.json"), "snapshot")
            .unwrap()
            .signed
            .0
    }

    /// Re-signs a hand-edited timestamp with the timestamp key.
    pub fn write_timestamp(&self, t: &MetaList) {
        self.write(
            "timestamp.json",
            &sign_document(t, &[&self.timestamp]).unwrap(),
        );
    }

    /// Points the timestamp at the current snapshot.json's bytes.
    pub fn retimestamp_for_current_snapshot(&self) {
        let raw = self.read("snapshot.json");
        // Read as plain JSON: the document may be one the client must refuse.
        let snap: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        let mut t = self.timestamp_signed();
        t.version += 1;
        let m = t.meta.get_mut("snapshot.json").unwrap();
        m.version = snap["signed"]["version"].as_u64().unwrap();
        m.length = Some(raw.len() as u64);
        m.hashes = Some(
            [(
                "sha256".to_string(),
                wport_trust::metadata::sha256_hex(&raw),
            )]
            .into(),
        );
        self.write_timestamp(&t);
    }

    /// Re-signs a hand-edited snapshot with the snapshot key, then a new
    /// timestamp over it.
    pub fn write_snapshot(&self, s: &MetaList) {
        self.write(
            "snapshot.json",
            &sign_document(s, &[&self.snapshot]).unwrap(),
        );
        self.retimestamp_for_current_snapshot();
    }

    /// Points snapshot (then timestamp) at the current targets.json bytes.
    pub fn resnapshot_for_current_targets(&self) {
        let raw = self.read("targets.json");
        // Read as plain JSON: the document may be one the client must refuse.
        let doc: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        let mut s = self.snapshot_signed();
        s.version += 1;
        let m = s.meta.get_mut("targets.json").unwrap();
        m.version = doc["signed"]["version"].as_u64().unwrap();
        m.length = Some(raw.len() as u64);
        m.hashes = Some(
            [(
                "sha256".to_string(),
                wport_trust::metadata::sha256_hex(&raw),
            )]
            .into(),
        );
        self.write_snapshot(&s);
    }
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}

/// A mirror: serves the repository directory, except for the documents it
/// overrides, and records every location asked for.
#[derive(Default)]
pub struct Mirror {
    pub overrides: std::cell::RefCell<std::collections::HashMap<String, Vec<u8>>>,
    pub requested: std::cell::RefCell<Vec<String>>,
}

impl Mirror {
    pub fn serve(&self, location: &str, bytes: Vec<u8>) {
        self.overrides
            .borrow_mut()
            .insert(location.to_string(), bytes);
    }
}

impl wport_trust::Transport for Mirror {
    fn fetch(&self, location: &str, max_len: u64) -> Result<Vec<u8>, wport_trust::TransportError> {
        self.requested.borrow_mut().push(location.to_string());
        if let Some(b) = self.overrides.borrow().get(location) {
            if b.len() as u64 > max_len {
                return Err(wport_trust::TransportError::TooLarge(max_len));
            }
            return Ok(b.clone());
        }
        wport_trust::FileTransport.fetch(location, max_len)
    }
}

impl Fixture {
    pub fn client_via<'m>(&self, mirror: &'m Mirror) -> Client<&'m Mirror> {
        Client::open(
            &self.trust_dir().join("metadata"),
            &self.meta().display().to_string(),
            mirror,
        )
        .unwrap()
    }

    /// The location the client asks for a metadata file.
    pub fn loc(&self, file: &str) -> String {
        format!("{}/{file}", self.meta().display())
    }
}
