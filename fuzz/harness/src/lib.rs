//! The bodies of wport's fuzz targets, as plain functions of the input
//! bytes. `fuzz/fuzz_targets/*.rs` hand them to libFuzzer; `tests/corpus.rs`
//! replays every committed corpus file through them on stable, so the seeds
//! and every crash found so far are ordinary regression tests.
//!
//! A target passes an input when the code under test returns (`Ok` or a
//! typed error) without panicking, aborting or hanging, and the property
//! the target states holds. Each function says which hostile input it
//! stands for.
//!
//! Code map: [`portfile`] (engine/manifest), [`extract`] (engine/fetch),
//! [`tuf_metadata`] (engine/trust), [`package`] (engine/registry),
//! [`patch`] (guest-sdk's unified-diff applier).

use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;

use cap_std::fs::Dir;

/// A Portfile from a ports tree: parsed and checked, and every error
/// rendered against the text (the renderer slices the text by the error's
/// span, so a wrong span would panic here).
pub fn portfile(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = wport_manifest::Portfile::parse(text, "ports/fuzz/Portfile.toml");
    match wport_manifest::Portfile::check(text, "ports/fuzz/Portfile.toml") {
        Ok(_) => assert!(parsed.is_ok(), "check accepted what parse refused"),
        Err(errors) => {
            assert!(!errors.is_empty(), "check failed with no error");
            assert!(parsed.is_err(), "parse accepted what check refused");
            for e in &errors {
                let _ = e.render(text);
                let _ = e.to_string();
            }
        }
    }
}

/// Extraction limits small enough that a bomb ends in milliseconds.
fn extract_limits() -> wport_fetch::Limits {
    wport_fetch::Limits {
        max_total_bytes: 32 << 20,
        max_entries: 4096,
        max_ratio: 200,
        max_entry_bytes: 16 << 20,
    }
}

/// A downloaded source archive (any format `extract` detects: tar, gzip,
/// xz, bzip2, zstd, zip). Whatever happens, nothing may appear next to the
/// destination directory: an entry that escaped it would.
pub fn extract(data: &[u8]) {
    let tmp = scratch();
    let archive = tmp.path().join("archive");
    std::fs::write(&archive, data).expect("writing the fuzz input");
    let dest_path = tmp.path().join("dest");
    std::fs::create_dir(&dest_path).expect("creating dest");
    let dest = Dir::open_ambient_dir(&dest_path, cap_std::ambient_authority()).expect("dest");
    let _ = wport_fetch::extract(&archive, &dest, &extract_limits());
    let mut names: Vec<String> = std::fs::read_dir(tmp.path())
        .expect("listing scratch")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["archive", "dest"],
        "an entry escaped the destination"
    );
}

/// A temporary directory (under `$TMPDIR`; scripts/fuzz points it at
/// /dev/shm when it can).
fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("creating a scratch directory")
}

/// 2030-01-01T00:00:00Z, the fixed clock of the TUF fixture.
const NOW: i64 = 1_893_456_000;

/// A small published TUF repository, built once per process: its files in
/// memory, its keys, and its version-1 root.
struct TufFixture {
    files: std::collections::HashMap<String, Vec<u8>>,
    root_v1: Vec<u8>,
    root_keys: [wport_trust::SecretKey; 2],
    targets_keys: [wport_trust::SecretKey; 2],
    snapshot: wport_trust::SecretKey,
    timestamp: wport_trust::SecretKey,
    _dir: tempfile::TempDir,
}

fn key(n: u8) -> wport_trust::SecretKey {
    wport_trust::SecretKey::from_seed(&[n; 32]).expect("seed key")
}

fn tuf_fixture() -> &'static TufFixture {
    static FIXTURE: OnceLock<TufFixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        use wport_trust::repo::{Repository, RoleSpec};
        let dir = scratch();
        let spec = |keys: &[&wport_trust::SecretKey], threshold| RoleSpec {
            keys: keys.iter().map(|k| k.public().clone()).collect(),
            threshold,
        };
        let (root_keys, targets, snapshot, timestamp) =
            ([key(1), key(2)], [key(3), key(4)], key(5), key(6));
        let repo = Repository::init(
            &dir.path().join("repo"),
            spec(&[&root_keys[0], &root_keys[1]], 2),
            spec(&[&targets[0], &targets[1]], 2),
            spec(&[&snapshot], 1),
            spec(&[&timestamp], 1),
            false,
            NOW,
        )
        .expect("repository");
        for k in &root_keys {
            repo.sign("root", k).expect("sign root");
        }
        let src = dir.path().join("Portfile.toml");
        std::fs::write(&src, b"[port]\nname = \"zlib\"\n").expect("target");
        repo.add_targets("targets", &[("ports/zlib/Portfile.toml".into(), src)], NOW)
            .expect("add");
        for k in &targets {
            repo.sign("targets", k).expect("sign targets");
        }
        repo.snapshot(&snapshot, NOW, false).expect("snapshot");
        repo.timestamp(&timestamp, NOW).expect("timestamp");
        let mut files = std::collections::HashMap::new();
        for e in std::fs::read_dir(repo.meta_dir()).expect("metadata") {
            let e = e.expect("entry");
            files.insert(
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("read"),
            );
        }
        let root_v1 = files["1.root.json"].clone();
        TufFixture {
            files,
            root_v1,
            root_keys,
            targets_keys: targets,
            snapshot,
            timestamp,
            _dir: dir,
        }
    })
}

/// The fixture repository's metadata files (name, bytes): what the seed
/// generator (`examples/seeds.rs`) turns into the tuf_metadata corpus.
pub fn tuf_fixture_files() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = tuf_fixture()
        .files
        .iter()
        .map(|(n, b)| (n.clone(), b.clone()))
        .collect();
    files.sort();
    files
}

/// The key [`package`] trusts (seed 42), for the seed generator.
pub fn package_signing_key() -> &'static wport_trust::SecretKey {
    package_key()
}

/// Serves the fixture's metadata from memory, with some files replaced.
struct Served<'a> {
    fixture: &'a TufFixture,
    overrides: std::collections::HashMap<&'static str, Vec<u8>>,
}

impl wport_trust::Transport for Served<'_> {
    fn fetch(&self, location: &str, max_len: u64) -> Result<Vec<u8>, wport_trust::TransportError> {
        let file = location.rsplit('/').next().unwrap_or(location);
        let bytes = if let Some(doc) = self.overrides.get(file) {
            doc.as_slice()
        } else {
            match self.fixture.files.get(file) {
                Some(b) => b.as_slice(),
                None => return Err(wport_trust::TransportError::NotFound),
            }
        };
        if bytes.len() as u64 > max_len {
            return Err(wport_trust::TransportError::TooLarge(max_len));
        }
        Ok(bytes.to_vec())
    }
}

/// An envelope whose `signed` is `signed_text` verbatim, signed over its
/// canonical form by `keys` (when it has one).
fn envelope(signed_text: &[u8], keys: &[&wport_trust::SecretKey]) -> Option<Vec<u8>> {
    let canonical = wport_trust::canonical::canonicalize(signed_text).ok()?;
    let sigs: Vec<serde_json::Value> = keys
        .iter()
        .map(|k| {
            let sig: String = k
                .sign(&canonical)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            serde_json::json!({"keyid": k.key_id(), "sig": sig})
        })
        .collect();
    let mut doc = b"{\"signatures\":".to_vec();
    doc.extend_from_slice(&serde_json::to_vec(&sigs).ok()?);
    doc.extend_from_slice(b",\"signed\":");
    doc.extend_from_slice(signed_text);
    doc.push(b'}');
    Some(doc)
}

/// TUF metadata as a mirror serves it. The first byte picks the case:
///
/// - 0: the rest is a whole document served as `timestamp.json` (unsigned
///   input: envelope parse, size and signature checks);
/// - 1: the rest is a `signed` value, signed by the real timestamp key and
///   served as `timestamp.json` (what a stolen online key can send: the
///   typed parse, rollback and expiry checks, the snapshot it points to);
/// - 2: the rest is a document served as `2.root.json`;
/// - 3: the rest is a `signed` value signed by both root keys, as
///   `2.root.json` (a new root: its keys, roles, thresholds);
/// - 5: the rest is a targets `signed` value, signed by both targets keys,
///   with a snapshot and a timestamp (real keys) pinning it: what the
///   targets threshold can send (typed targets, delegations, the
///   delegation search of a target lookup);
/// - otherwise: the metadata functions alone: canonical JSON from text
///   must equal canonical JSON from a parsed `Value`, and envelope
///   parsing, verification and typed decoding of every role type.
///
/// Each refresh starts from a fresh trust directory trusting root v1.
pub fn tuf_metadata(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let fixture = tuf_fixture();
    let mut overrides = std::collections::HashMap::new();
    match mode {
        0 => drop(overrides.insert("timestamp.json", rest.to_vec())),
        1 => match envelope(rest, &[&fixture.timestamp]) {
            Some(doc) => drop(overrides.insert("timestamp.json", doc)),
            None => return,
        },
        2 => drop(overrides.insert("2.root.json", rest.to_vec())),
        3 => match envelope(rest, &[&fixture.root_keys[0], &fixture.root_keys[1]]) {
            Some(doc) => drop(overrides.insert("2.root.json", doc)),
            None => return,
        },
        5 => match signed_targets_chain(fixture, rest) {
            Some(files) => overrides.extend(files),
            None => return,
        },
        _ => return tuf_functions(rest),
    }
    let trust = scratch();
    let dir = trust.path().join("metadata");
    wport_trust::Client::<Served>::init(&dir, &fixture.root_v1).expect("init");
    let served = Served { fixture, overrides };
    let mut client = wport_trust::Client::open(&dir, "mem:/metadata", served).expect("open");
    if client.refresh_at(NOW).is_ok() {
        // Whatever was accepted is now the trusted state: a target lookup
        // and an offline load over it must not panic either.
        for path in ["ports/zlib/Portfile.toml", "ports/lua/files/a.diff", "x"] {
            let _ = client.target(path);
        }
        let _ = client.load_offline(NOW);
        let _ = client.all_targets();
    }
}

/// targets.json from `signed_text` (signed by both targets keys), and a
/// snapshot and timestamp (version 2, signed by their keys) pinning it.
fn signed_targets_chain(
    fixture: &TufFixture,
    signed_text: &[u8],
) -> Option<Vec<(&'static str, Vec<u8>)>> {
    use wport_trust::metadata::{MetaFile, MetaList, sha256_hex, sign_document};
    let version = serde_json::from_slice::<serde_json::Value>(signed_text)
        .ok()?
        .get("version")?
        .as_u64()?;
    let targets = envelope(
        signed_text,
        &[&fixture.targets_keys[0], &fixture.targets_keys[1]],
    )?;
    let pin = |version, bytes: &[u8]| MetaFile {
        version,
        length: Some(bytes.len() as u64),
        hashes: Some([("sha256".to_string(), sha256_hex(bytes))].into()),
    };
    let list = |typ: &str, file: &str, meta: MetaFile| MetaList {
        typ: typ.into(),
        spec_version: "1.0.31".into(),
        version: 2,
        expires: "2031-01-01T00:00:00Z".into(),
        meta: [(file.to_string(), meta)].into(),
    };
    let snapshot = sign_document(
        &list("snapshot", "targets.json", pin(version, &targets)),
        &[&fixture.snapshot],
    )
    .ok()?;
    let timestamp = sign_document(
        &list("timestamp", "snapshot.json", pin(2, &snapshot)),
        &[&fixture.timestamp],
    )
    .ok()?;
    Some(vec![
        ("targets.json", targets),
        ("snapshot.json", snapshot),
        ("timestamp.json", timestamp),
    ])
}

fn tuf_functions(text: &[u8]) {
    use wport_trust::metadata::{Root, Snapshot, Targets, Timestamp, parse_unverified};
    let from_text = wport_trust::canonical::canonicalize(text);
    let from_value = serde_json::from_slice::<serde_json::Value>(text)
        .ok()
        .map(|v| wport_trust::canonical::to_canonical(&v));
    match (&from_text, &from_value) {
        (Ok(a), Some(Ok(b))) => assert_eq!(a, b, "canonical forms differ"),
        (Err(_), None | Some(Err(_))) => {}
        _ => panic!("canonicalize {from_text:?} but Value path {from_value:?}"),
    }
    let ring = wport_trust::metadata::KeyRing::default();
    let rk = wport_trust::metadata::RoleKeys {
        keyids: vec![],
        threshold: 1,
    };
    for typ in ["root", "timestamp", "snapshot", "targets"] {
        let Ok(doc) = parse_unverified(text.to_vec(), "fuzz", typ) else {
            continue;
        };
        let _ = doc.verify(&ring, typ, &rk, wport_trust::KeySource::NewRoot);
        match typ {
            "root" => drop(doc.decode::<Root>()),
            "timestamp" => drop(doc.decode::<Timestamp>()),
            "snapshot" => drop(doc.decode::<Snapshot>()),
            _ => drop(doc.decode::<Targets>()),
        }
    }
}

/// The key the package fixture signs with, and trusts.
fn package_key() -> &'static wport_trust::SecretKey {
    static KEY: OnceLock<wport_trust::SecretKey> = OnceLock::new();
    KEY.get_or_init(|| key(42))
}

/// A binary package given to `wport install FILE`. The first byte picks:
///
/// - even: the rest is the package file itself (unsigned input: the outer
///   tar, the manifest envelope and its signature check);
/// - odd: the rest is `manifest JSON` NUL `payload tar` — the harness
///   fills in the payload's real sha256 and size, signs the manifest with
///   the trusted key, compresses the tar and builds the package, so the
///   manifest's structure checks and the payload unpacking are reached
///   (what a holder of a packaging key can send).
///
/// Accepted packages are unpacked into a scratch staging directory.
pub fn package(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let tmp = scratch();
    let file = tmp.path().join("fuzz.wpkg");
    let bytes = if mode % 2 == 0 {
        rest.to_vec()
    } else {
        match signed_package(rest) {
            Some(b) => b,
            None => return,
        }
    };
    std::fs::write(&file, bytes).expect("writing the package");
    open_and_unpack(tmp.path(), &file);
}

fn open_and_unpack(tmp: &Path, file: &Path) {
    let trusted = [package_key().public().clone()];
    let Ok(mut pkg) = wport_registry::open_package(file, &trusted) else {
        return;
    };
    let staging_path = tmp.join("staging");
    std::fs::create_dir(&staging_path).expect("staging");
    let staging =
        Dir::open_ambient_dir(&staging_path, cap_std::ambient_authority()).expect("staging");
    let _ = pkg.unpack_to_staging(&staging);
}

/// `manifest JSON` NUL `payload tar` -> a signed package file.
fn signed_package(rest: &[u8]) -> Option<Vec<u8>> {
    use wport_registry::archive::{MANIFEST_ENTRY, PAYLOAD_ENTRY};
    let split = rest.iter().position(|&b| b == 0)?;
    let (manifest, tar) = (&rest[..split], &rest[split + 1..]);
    let mut signed: serde_json::Value = serde_json::from_slice(manifest).ok()?;
    let payload = zstd::stream::encode_all(tar, 1).ok()?;
    if let Some(p) = signed.get_mut("payload").and_then(|p| p.as_object_mut()) {
        let digest = sha256_hex(&payload);
        p.insert("sha256".into(), digest.into());
        p.insert("size".into(), (payload.len() as u64).into());
    }
    let envelope = wport_registry::manifest::sign_envelope(&signed, package_key()).ok()?;
    let mut out = tar::Builder::new(Vec::new());
    for (name, body) in [(MANIFEST_ENTRY, &envelope), (PAYLOAD_ENTRY, &payload)] {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_size(body.len() as u64);
        out.append_data(&mut h, name, body.as_slice()).ok()?;
    }
    let mut bytes = out.into_inner().ok()?;
    bytes.flush().ok()?;
    Some(bytes)
}

fn sha256_hex(bytes: &[u8]) -> String {
    wport_trust::metadata::sha256_hex(bytes)
}

/// A port's patchfile, applied by the guest SDK inside a build. Each file
/// the patch modifies is given the content its hunks expect (their context
/// and removed lines, in order), so planning reaches the hunk matcher and
/// the writer rather than stopping at "no such file"; then the first half
/// of that content, as a file that is shorter than the patch expects.
pub fn patch(data: &[u8]) {
    use wport_guest_sdk::patch::{Line, MAX_STRIP, parse};
    let Ok(p) = parse(data) else {
        return;
    };
    let _ = p.choose_strip(&|_| true);
    let _ = p.choose_strip(&|name| name.len() % 2 == 0);
    for strip in 0..=MAX_STRIP {
        let mut originals = std::collections::BTreeMap::<String, Vec<u8>>::new();
        for fp in &p.files {
            let _ = fp.display_name();
            // `FilePatch::strip`: a git rename's names lose one component less.
            let Some(old) = fp.old.as_deref().and_then(|n| fp.strip(n, strip)) else {
                continue;
            };
            let content = originals.entry(old).or_default();
            for h in &fp.hunks {
                for l in &h.lines {
                    if let Line::Context(b) | Line::Remove(b) = l {
                        content.extend_from_slice(b);
                    }
                }
            }
        }
        let mut read = |path: &str| Ok(originals.get(path).cloned());
        let _ = p.plan(strip, &mut read, &mut |_| Ok(0o644));
        let shortened: std::collections::BTreeMap<String, Vec<u8>> = originals
            .iter()
            .map(|(name, content)| {
                let lines: Vec<&[u8]> = content.split_inclusive(|&b| b == b'\n').collect();
                (name.clone(), lines[..lines.len() / 2].concat())
            })
            .collect();
        let mut read = |path: &str| Ok(shortened.get(path).cloned());
        let _ = p.plan(strip, &mut read, &mut |_| Ok(0o644));
    }
}
