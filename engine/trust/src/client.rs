//! The TUF client workflow (specification 1.0.x, section 5 "Detailed
//! client workflow"), step by step and in order:
//!
//! 1. the time the update starts is read once ([`Client::refresh`]) and
//!    every expiry is checked against it (5.1);
//! 2. the trusted root is loaded from the local trust directory (5.2);
//! 3. the root chain: `N+1.root.json`, `N+2...` until one is missing, each
//!    verified with the old root's threshold AND its own, its version
//!    exactly N+1; only the final root's expiry is checked (freeze); if the
//!    timestamp or snapshot keys changed, the trusted timestamp and
//!    snapshot are deleted (fast-forward recovery) (5.3);
//! 4. timestamp: signatures, no rollback of itself or of the snapshot
//!    version it lists, expiry (5.4);
//! 5. snapshot: length/hashes from timestamp, signatures, version equal to
//!    the one timestamp lists, no metadata file rolled back or removed
//!    relative to the trusted snapshot, expiry (5.5);
//! 6. targets: length/hashes from snapshot, signatures, version equal to
//!    snapshot's, expiry (5.6);
//! 7. a target is looked up by a preorder depth-first search of the
//!    delegations, each delegated role verified like targets with the
//!    delegating role's keys, at most [`Limits::max_delegations`] roles
//!    visited, terminating delegations ending the search (5.7).
//!
//! Every document is fetched with a length bound (from the referencing
//! metadata when it lists one, else from [`Limits`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::{KeySource, Result, TrustError};
use crate::metadata::{
    DelegatedRole, Envelope, KeyRing, MetaFile, Root, SignatureEntry, Signed, Snapshot, TargetFile,
    Targets, Timestamp, Unverified, check_expiry, check_length_and_hashes, decode_pinned,
    envelope_parts, parse_envelope, parse_unverified, verify_signed,
};
use crate::paths::{DelegationIndex, check_target_path, delegated_role_file, url_path};
use crate::time::{self, UnixTime};
use crate::transport::{Transport, TransportError, join};

/// Where a search stands.
enum Step<'a> {
    Found(&'a TargetFile),
    NotFound,
    /// The search needs this delegated role (delegator, index in its list).
    Load {
        delegator: String,
        index: usize,
    },
}

/// Length bounds and search limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Any root.json.
    pub root: u64,
    /// timestamp.json.
    pub timestamp: u64,
    /// snapshot.json when timestamp lists no length (wport's own
    /// timestamps always list it).
    pub snapshot: u64,
    /// A targets role when snapshot lists no length (wport's own snapshots
    /// always list it).
    pub targets: u64,
    /// Root versions fetched in one update.
    pub max_root_rotations: u64,
    /// Delegated roles visited looking up one target.
    pub max_delegations: usize,
    /// Delegated roles loaded when enumerating every target.
    pub max_roles_total: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            root: 512 * 1024,
            timestamp: 16 * 1024,
            // Conservative bounds for documents whose length nothing signed
            // pins (python-tuf uses 2 MB and 5 MB). wport's own timestamp and
            // snapshot list every length, so these only bound a foreign
            // repository's metadata, or an attacker's: issue 11 item 15.
            snapshot: 2 * 1024 * 1024,
            targets: 8 * 1024 * 1024,
            max_root_rotations: 256,
            max_delegations: 32,
            max_roles_total: 10_000,
        }
    }
}

/// The local trust directory's metadata and a repository to update from.
pub struct Client<T> {
    dir: PathBuf,
    metadata_url: String,
    transport: T,
    limits: Limits,
    started: UnixTime,
    root: Root,
    root_keys: KeyRing,
    timestamp: Option<Timestamp>,
    snapshot: Option<Snapshot>,
    targets: Option<Targets>,
    /// Delegated roles loaded so far, one document per role name (as
    /// received: its signatures are checked again when another delegator
    /// reaches it).
    delegated: HashMap<String, Envelope<Targets>>,
    /// Role name -> the delegators whose delegation (keys, threshold) its
    /// document has been verified against. A role is trusted on a search
    /// path only through an edge listed here.
    verified_edges: HashMap<String, HashSet<String>>,
    delegation_keys: HashMap<String, KeyRing>,
    indexes: HashMap<String, DelegationIndex>,
    /// While [`Self::load_roles_where`] runs: the thread persisting the
    /// delegated roles it verifies, as (file name, document).
    writer: Option<std::sync::mpsc::Sender<(String, Vec<u8>)>>,
}

/// How far [`write_atomic`] goes to make a write survive a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    /// The file's data and the rename are flushed to disk (file fsync
    /// before the rename, directory fsync after): for the metadata that is a
    /// rollback reference, root, timestamp and snapshot. Without it a crash
    /// can leave `timestamp.json` or `snapshot.json` empty or torn under its
    /// final name, and the version it recorded is lost as a rollback
    /// reference (issue 11 item 15).
    Fsync,
    /// Atomic rename only: for top-level and delegated targets metadata,
    /// whose local copies are only a cache checked against the trusted
    /// snapshot's version (a torn one is fetched again:
    /// `torn_local_targets_is_fetched_again`), and for target files, which
    /// are checked against their trusted length and hashes every time they
    /// are used ([`verify_file`]). Their fsyncs would dominate a sync: with
    /// 50 delegated roles they tripled the refresh benchmark.
    Rename,
}

/// Writes `bytes` to `dir/name` through a temporary file and a rename, so
/// no reader ever sees half a document under its final name; with
/// [`Durability::Fsync`], a crash at any point leaves either the old or the
/// new document, complete.
pub(crate) fn write_atomic(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    mode: u32,
    durability: Durability,
) -> Result<()> {
    Staged::write(dir, name, bytes, mode, durability)?.commit()
}

/// A document written under a temporary name in its directory, not yet
/// renamed into place: [`Staged::commit`] does that; dropping it removes
/// the temporary file. Staging lets the write overlap the checks that
/// decide whether the document is kept.
#[must_use]
pub(crate) struct Staged {
    dir: PathBuf,
    tmp: PathBuf,
    path: PathBuf,
    durability: Durability,
}

impl Staged {
    pub(crate) fn write(
        dir: &Path,
        name: &str,
        bytes: &[u8],
        mode: u32,
        durability: Durability,
    ) -> Result<Staged> {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        let _ = fs::remove_file(&tmp);
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .map_err(|e| TrustError::io("creating", &tmp, e))?;
        let staged = Staged {
            dir: dir.to_path_buf(),
            tmp,
            path,
            durability,
        };
        f.write_all(bytes)
            .map_err(|e| TrustError::io("writing", &staged.tmp, e))?;
        if durability == Durability::Fsync {
            // The data must be on disk before the rename can be: otherwise the
            // rename may reach the disk first and a crash leaves an empty file
            // under the final name (ext4 without auto_da_alloc, xfs, btrfs).
            f.sync_all()
                .map_err(|e| TrustError::io("flushing to disk", &staged.tmp, e))?;
        }
        Ok(staged)
    }

    /// Renames the document into place (and, with [`Durability::Fsync`],
    /// flushes the directory).
    pub(crate) fn commit(self) -> Result<()> {
        fs::rename(&self.tmp, &self.path)
            .map_err(|e| TrustError::io("renaming into place", &self.path, e))?;
        if self.durability == Durability::Fsync {
            // The rename itself is a change to the directory.
            fs::File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| TrustError::io("flushing to disk", &self.dir, e))?;
        }
        // Renamed: nothing left for Drop to remove.
        std::mem::forget(self);
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.tmp);
    }
}

/// Splits the document `raw` (a `S::TYPE` role called `document`), checks
/// its signatures with `verify` (given the `signed` bytes, the signatures
/// and the claimed version), decodes it, and stages its persisted copy as
/// `persist` in `dir` once the signatures are good.
///
/// When `pinned` (the bytes matched a hash listed by metadata that is
/// verified already: snapshot for a targets role), the bytes are
/// authenticated before their own signatures are checked, so the work is
/// shared by two threads: this one does the typed parse of the whole
/// document in one pass, the other splits the envelope, checks the
/// signatures (for ed25519, a SHA-512 over the whole `signed` value) and
/// writes the copy. On the refresh benchmark's 8 MB of targets metadata
/// the two halves take about as long. Unpinned documents keep the order
/// split, verify, parse, write: nothing unsigned is parsed.
///
/// Errors are reported in the sequential order: the envelope, then the
/// signatures, then the typed parse.
fn verify_decode_stage<S: Signed + Send>(
    raw: Vec<u8>,
    document: &str,
    pinned: bool,
    verify: impl FnOnce(&[u8], &[SignatureEntry], u64) -> Result<()> + Send,
    persist: Option<(&Path, &str)>,
) -> Result<(Envelope<S>, Option<Staged>)> {
    let stage = |bytes: &[u8]| {
        persist
            .map(|(dir, name)| Staged::write(dir, name, bytes, 0o644, Durability::Rename))
            .transpose()
    };
    // Below this, a second thread costs more than it saves.
    const SPLIT_FROM: usize = 1 << 20;
    if !pinned || raw.len() < SPLIT_FROM {
        let doc = parse_unverified(raw, document, S::TYPE)?;
        verify(doc.signed_bytes(), doc.signatures(), doc.version())?;
        let signed = doc.decode_signed::<S>()?;
        let staged = stage(doc.raw())?;
        return Ok((doc.into_envelope(signed), staged));
    }
    let (checked, signed) = std::thread::scope(|scope| {
        let bytes = &raw[..];
        let worker = scope.spawn(move || {
            let parts = envelope_parts(bytes, document, S::TYPE)?;
            verify(
                &bytes[parts.signed_range.clone()],
                &parts.signatures,
                parts.version,
            )?;
            Ok::<_, TrustError>((parts, stage(bytes)?))
        });
        let signed = decode_pinned::<S>(bytes, document);
        let checked = worker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (checked, signed)
    });
    let (parts, staged) = checked?;
    let doc = Unverified::from_parts(raw, parts, document);
    Ok((doc.into_envelope(signed?), staged))
}

/// Whether `meta` pins a document by a hash this client checks (then a
/// document that passed [`check_length_and_hashes`] against it is
/// authenticated by the metadata that lists it).
fn pins_hash(meta: &MetaFile) -> bool {
    meta.hashes
        .as_ref()
        .is_some_and(|h| h.contains_key("sha256") || h.contains_key("sha512"))
}

/// Creates a trust directory (0755) or checks an existing one.
pub(crate) fn ensure_private_dir(dir: &Path) -> Result<()> {
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir)
            .map_err(|e| TrustError::io("creating", dir, e))?;
    }
    crate::keys::check_owner_only_writable(dir)
}

fn read_local(path: &Path, limit: u64) -> Result<Option<Vec<u8>>> {
    let file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(TrustError::io("reading", path, e)),
    };
    crate::keys::check_owner_only_writable(path)?;
    let mut buf = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| TrustError::io("reading", path, e))?;
    if buf.len() as u64 > limit {
        return Err(TrustError::TooLarge {
            what: path.display().to_string(),
            limit,
        });
    }
    Ok(Some(buf))
}

impl<T: Transport> Client<T> {
    /// Initialises `dir` with a root.json the user trusts (out of band:
    /// shipped with wport, or given explicitly). The root must be signed by
    /// its own threshold; it may be expired (the chain update moves on).
    pub fn init(dir: &Path, trusted_root: &[u8]) -> Result<()> {
        ensure_private_dir(dir)?;
        // The root given here is trusted by the user's choice; its typed
        // parse comes before its (self-)signature check because its own
        // keys are what it is checked with.
        let env: Envelope<Root> = parse_envelope(trusted_root.to_vec(), "root.json")?;
        let keys = KeyRing::new(&env.signed.keys)?;
        env.verify(&keys, "root", env.signed.role("root")?, KeySource::NewRoot)?;
        write_atomic(dir, "root.json", trusted_root, 0o644, Durability::Fsync)
    }

    /// Opens an initialised trust directory. Refuses it when it, or a
    /// metadata file in it, is writable by anyone but its owner.
    pub fn open(dir: &Path, metadata_url: &str, transport: T) -> Result<Self> {
        Self::open_with_limits(dir, metadata_url, transport, Limits::default())
    }

    /// [`Self::open`] with explicit limits.
    pub fn open_with_limits(
        dir: &Path,
        metadata_url: &str,
        transport: T,
        limits: Limits,
    ) -> Result<Self> {
        if !dir.is_dir() {
            return Err(TrustError::NotInitialized {
                dir: dir.to_path_buf(),
            });
        }
        crate::keys::check_owner_only_writable(dir)?;
        let raw = read_local(&dir.join("root.json"), limits.root)?.ok_or_else(|| {
            TrustError::NotInitialized {
                dir: dir.to_path_buf(),
            }
        })?;
        let env: Envelope<Root> = parse_envelope(raw, "root.json")?;
        let root_keys = KeyRing::new(&env.signed.keys)?;
        env.verify(
            &root_keys,
            "root",
            env.signed.role("root")?,
            KeySource::NewRoot,
        )?;
        Ok(Client {
            dir: dir.to_path_buf(),
            metadata_url: metadata_url.to_string(),
            transport,
            limits,
            started: time::now(),
            root: env.signed,
            root_keys,
            timestamp: None,
            snapshot: None,
            targets: None,
            delegated: HashMap::new(),
            verified_edges: HashMap::new(),
            delegation_keys: HashMap::new(),
            indexes: HashMap::new(),
            writer: None,
        })
    }

    /// The trusted root.
    pub fn root(&self) -> &Root {
        &self.root
    }
    /// The trusted timestamp, after a refresh.
    pub fn timestamp(&self) -> Option<&Timestamp> {
        self.timestamp.as_ref()
    }
    /// The trusted snapshot, after a refresh.
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }
    /// The trusted top-level targets, after a refresh.
    pub fn targets(&self) -> Option<&Targets> {
        self.targets.as_ref()
    }
    /// The local metadata directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Updates the top-level metadata, reading the clock once at the start.
    pub fn refresh(&mut self) -> Result<()> {
        self.refresh_at(time::now())
    }

    /// Updates the top-level metadata as if the update started at `now`
    /// (tests inject the clock here).
    pub fn refresh_at(&mut self, now: UnixTime) -> Result<()> {
        self.started = now;
        self.delegated.clear();
        self.verified_edges.clear();
        self.delegation_keys.clear();
        self.indexes.clear();
        self.update_root()?;
        self.update_timestamp()?;
        self.update_snapshot()?;
        self.update_targets()?;
        Ok(())
    }

    /// Loads the top-level metadata from the trust directory alone (no
    /// transport), with every check of a refresh except fetching: what a
    /// build uses between syncs. Fails when anything is missing,
    /// inconsistent or expired at `now`.
    pub fn load_offline(&mut self, now: UnixTime) -> Result<()> {
        self.started = now;
        check_expiry(&self.root, "root", now)?;
        let ts = self.local_top::<Timestamp>("timestamp")?.ok_or_else(|| {
            TrustError::NotInitialized {
                dir: self.dir.clone(),
            }
        })?;
        check_expiry(&ts.signed, "timestamp", now)?;
        let snap_meta =
            ts.signed
                .0
                .meta
                .get("snapshot.json")
                .cloned()
                .ok_or(TrustError::MissingMeta {
                    file: "snapshot.json".into(),
                    listed_in: "timestamp",
                })?;
        let snap =
            self.local_top::<Snapshot>("snapshot")?
                .ok_or_else(|| TrustError::NotInitialized {
                    dir: self.dir.clone(),
                })?;
        check_meta("snapshot.json", &snap, &snap_meta)?;
        check_expiry(&snap.signed, "snapshot", now)?;
        let t_meta =
            snap.signed
                .0
                .meta
                .get("targets.json")
                .cloned()
                .ok_or(TrustError::MissingMeta {
                    file: "targets.json".into(),
                    listed_in: "snapshot",
                })?;
        let targets =
            self.local_top::<Targets>("targets")?
                .ok_or_else(|| TrustError::NotInitialized {
                    dir: self.dir.clone(),
                })?;
        check_meta("targets.json", &targets, &t_meta)?;
        check_expiry(&targets.signed, "targets", now)?;
        self.timestamp = Some(ts.signed);
        self.snapshot = Some(snap.signed);
        self.targets = Some(targets.signed);
        Ok(())
    }

    fn fetch(&self, name: &str, limit: u64) -> Result<Vec<u8>> {
        let location = join(&self.metadata_url, name);
        self.transport.fetch(&location, limit).map_err(|e| match e {
            TransportError::TooLarge(limit) => TrustError::TooLarge {
                what: location.clone(),
                limit,
            },
            other => TrustError::Transport {
                location: location.clone(),
                reason: other.to_string(),
            },
        })
    }

    /// Checks a top-level role's signatures against the trusted root, then
    /// (only then) parses it into its typed form.
    fn verify_top<S: Signed>(&self, doc: Unverified, role: &str) -> Result<Envelope<S>> {
        doc.verify(
            &self.root_keys,
            role,
            self.root.role(role)?,
            KeySource::NewRoot,
        )?;
        doc.decode()
    }

    /// A top-level document from the trust directory, signature-checked
    /// against the current root (expiry not checked: old local metadata is
    /// still the reference for rollback checks).
    ///
    /// timestamp.json and snapshot.json are that reference: one that is
    /// present but unreadable, torn, empty or not signed by the current
    /// root is refused ([`TrustError::LocalMetadataInvalid`]) instead of
    /// being treated as absent, which would let an older, still unexpired
    /// state be accepted (issue 11 item 15). They are written with
    /// [`Durability::Fsync`], and deleted before a root that rotates their
    /// keys is persisted, so neither a crash nor a key rotation produces
    /// one. A local targets role is only a cache (snapshot pins its
    /// version): an invalid copy is treated as absent and fetched again.
    fn local_top<S: Signed>(&self, role: &str) -> Result<Option<Envelope<S>>> {
        let (limit, reference) = match role {
            "timestamp" => (self.limits.timestamp, true),
            "snapshot" => (self.limits.snapshot, true),
            _ => (self.limits.targets, false),
        };
        let path = self.dir.join(format!("{role}.json"));
        let checked = read_local(&path, limit).and_then(|raw| {
            raw.map(|raw| self.verify_top::<S>(parse_unverified(raw, role, S::TYPE)?, role))
                .transpose()
        });
        match checked {
            Ok(found) => Ok(found),
            // Permissions and I/O errors are reported as themselves.
            Err(e @ (TrustError::InsecurePermissions { .. } | TrustError::Io { .. })) => Err(e),
            Err(e) if reference => Err(TrustError::LocalMetadataInvalid {
                path,
                source: Box::new(e),
            }),
            Err(_) => Ok(None),
        }
    }

    /// Spec 5.3: the root chain.
    fn update_root(&mut self) -> Result<()> {
        for _ in 0..self.limits.max_root_rotations {
            let next = self.root.version + 1;
            let name = format!("{next}.root.json");
            let raw = match self
                .transport
                .fetch(&join(&self.metadata_url, &name), self.limits.root)
            {
                Ok(raw) => raw,
                Err(TransportError::NotFound) => break,
                Err(TransportError::TooLarge(limit)) => {
                    return Err(TrustError::TooLarge { what: name, limit });
                }
                Err(e) => {
                    return Err(TrustError::Transport {
                        location: name,
                        reason: e.to_string(),
                    });
                }
            };
            let doc = parse_unverified(raw, &name, "root")?;
            // 5.3.4: signed by a threshold of the trusted root's root keys
            // (before anything but `_type` and `version` is parsed).
            doc.verify(
                &self.root_keys,
                "root",
                self.root.role("root")?,
                KeySource::TrustedRoot,
            )?;
            let env: Envelope<Root> = doc.decode()?;
            // 5.3.5: and by a threshold of its own root keys.
            let new_keys = KeyRing::new(&env.signed.keys)?;
            env.verify(
                &new_keys,
                "root",
                env.signed.role("root")?,
                KeySource::NewRoot,
            )?;
            // 5.3.6: exactly N+1 (no rollback, no skipping).
            if env.signed.version != next {
                return Err(TrustError::VersionMismatch {
                    role: "root".into(),
                    expected: next,
                    found: env.signed.version,
                });
            }
            // 5.3.11 (done here, before 5.3.8): fast-forward recovery.
            // After a compromise the repository rotates the timestamp /
            // snapshot keys; the (possibly fast-forwarded) versions signed
            // by the old keys must not block newer honest ones, so the
            // trusted timestamp and snapshot are deleted. The specification
            // deletes them after the whole chain; deleting them before the
            // root that rotates their keys is persisted means a crash in
            // between cannot leave a trusted root next to a timestamp its
            // keys no longer verify, which `local_top` would refuse.
            if env.signed.roles.get("timestamp") != self.root.roles.get("timestamp")
                || env.signed.roles.get("snapshot") != self.root.roles.get("snapshot")
            {
                self.forget_timestamp_and_snapshot()?;
            }
            // 5.3.8: persist before going on.
            write_atomic(&self.dir, "root.json", &env.raw, 0o644, Durability::Fsync)?;
            self.root = env.signed;
            self.root_keys = new_keys;
        }
        // 5.3.10: the final root must not be expired (freeze attack).
        check_expiry(&self.root, "root", self.started)
    }

    /// Deletes the trusted timestamp and snapshot, durably.
    fn forget_timestamp_and_snapshot(&self) -> Result<()> {
        for name in ["timestamp.json", "snapshot.json"] {
            match fs::remove_file(self.dir.join(name)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(TrustError::io("removing", self.dir.join(name), e)),
            }
        }
        fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| TrustError::io("flushing to disk", &self.dir, e))
    }

    /// Spec 5.4: timestamp.
    fn update_timestamp(&mut self) -> Result<()> {
        let trusted = self.local_top::<Timestamp>("timestamp")?;
        let raw = self.fetch("timestamp.json", self.limits.timestamp)?;
        let env: Envelope<Timestamp> = self.verify_top(
            parse_unverified(raw, "timestamp.json", "timestamp")?,
            "timestamp",
        )?;
        let new_snap = env
            .signed
            .0
            .meta
            .get("snapshot.json")
            .ok_or(TrustError::MissingMeta {
                file: "snapshot.json".into(),
                listed_in: "timestamp",
            })?;
        if let Some(old) = &trusted {
            if env.signed.0.version < old.signed.0.version {
                return Err(TrustError::Rollback {
                    role: "timestamp".into(),
                    trusted: old.signed.0.version,
                    offered: env.signed.0.version,
                });
            }
            if let Some(old_snap) = old.signed.0.meta.get("snapshot.json")
                && new_snap.version < old_snap.version
            {
                return Err(TrustError::Rollback {
                    role: "snapshot.json".into(),
                    trusted: old_snap.version,
                    offered: new_snap.version,
                });
            }
            if env.signed.0.version == old.signed.0.version {
                // Nothing new: keep the trusted copy (5.4.3.1), but it must
                // still be unexpired.
                check_expiry(&old.signed, "timestamp", self.started)?;
                self.timestamp = Some(old.signed.clone());
                return Ok(());
            }
        }
        check_expiry(&env.signed, "timestamp", self.started)?;
        write_atomic(
            &self.dir,
            "timestamp.json",
            &env.raw,
            0o644,
            Durability::Fsync,
        )?;
        self.timestamp = Some(env.signed);
        Ok(())
    }

    fn versioned(&self, name: &str, version: u64) -> String {
        if self.root.consistent_snapshot {
            format!("{version}.{name}")
        } else {
            name.to_string()
        }
    }

    /// Spec 5.5: snapshot.
    fn update_snapshot(&mut self) -> Result<()> {
        let meta = self
            .timestamp
            .as_ref()
            .and_then(|t| t.0.meta.get("snapshot.json"))
            .cloned()
            .ok_or(TrustError::MissingMeta {
                file: "snapshot.json".into(),
                listed_in: "timestamp",
            })?;
        let trusted = self.local_top::<Snapshot>("snapshot")?;
        if let Some(local) = &trusted
            && check_meta("snapshot.json", local, &meta).is_ok()
            && check_expiry(&local.signed, "snapshot", self.started).is_ok()
        {
            self.snapshot = Some(local.signed.clone());
            return Ok(());
        }
        let raw = self.fetch(
            &self.versioned("snapshot.json", meta.version),
            meta.length.unwrap_or(self.limits.snapshot),
        )?;
        // 5.5.2: hashes and length from timestamp, before parsing.
        check_length_and_hashes(
            "snapshot.json",
            &raw,
            meta.length,
            meta.hashes.as_ref(),
            false,
        )?;
        let env: Envelope<Snapshot> = self.verify_top(
            parse_unverified(raw, "snapshot.json", "snapshot")?,
            "snapshot",
        )?;
        if env.signed.0.version != meta.version {
            return Err(TrustError::VersionMismatch {
                role: "snapshot".into(),
                expected: meta.version,
                found: env.signed.0.version,
            });
        }
        if let Some(old) = &trusted {
            for (file, old_meta) in &old.signed.0.meta {
                let Some(new_meta) = env.signed.0.meta.get(file) else {
                    return Err(TrustError::RemovedFromSnapshot { role: file.clone() });
                };
                if new_meta.version < old_meta.version {
                    return Err(TrustError::Rollback {
                        role: file.clone(),
                        trusted: old_meta.version,
                        offered: new_meta.version,
                    });
                }
            }
        }
        check_expiry(&env.signed, "snapshot", self.started)?;
        write_atomic(
            &self.dir,
            "snapshot.json",
            &env.raw,
            0o644,
            Durability::Fsync,
        )?;
        self.snapshot = Some(env.signed);
        Ok(())
    }

    /// Spec 5.6: top-level targets.
    fn update_targets(&mut self) -> Result<()> {
        let meta = self.snapshot_meta("targets.json")?;
        if let Some(local) = self.local_top::<Targets>("targets")?
            && check_meta("targets.json", &local, &meta).is_ok()
            && check_expiry(&local.signed, "targets", self.started).is_ok()
        {
            self.targets = Some(local.signed);
            return Ok(());
        }
        let raw = self.fetch(
            &self.versioned("targets.json", meta.version),
            meta.length.unwrap_or(self.limits.targets),
        )?;
        check_length_and_hashes(
            "targets.json",
            &raw,
            meta.length,
            meta.hashes.as_ref(),
            false,
        )?;
        let (ring, rk) = (&self.root_keys, self.root.role("targets")?);
        let (env, staged): (Envelope<Targets>, _) = verify_decode_stage(
            raw,
            "targets.json",
            pins_hash(&meta),
            |signed, signatures, version| {
                let source = KeySource::NewRoot;
                verify_signed(ring, "targets", version, rk, signed, signatures, source)
            },
            Some((&self.dir, "targets.json")),
        )?;
        if env.signed.version != meta.version {
            return Err(TrustError::VersionMismatch {
                role: "targets".into(),
                expected: meta.version,
                found: env.signed.version,
            });
        }
        check_expiry(&env.signed, "targets", self.started)?;
        // A cache pinned by the snapshot: see [`Durability::Rename`].
        staged.map(Staged::commit).transpose()?;
        self.targets = Some(env.signed);
        Ok(())
    }

    fn snapshot_meta(&self, file: &str) -> Result<MetaFile> {
        self.snapshot
            .as_ref()
            .and_then(|s| s.0.meta.get(file))
            .cloned()
            .ok_or(TrustError::MissingMeta {
                file: file.to_string(),
                listed_in: "snapshot",
            })
    }

    fn role(&self, name: &str) -> Option<&Targets> {
        if name == "targets" {
            self.targets.as_ref()
        } else {
            self.delegated.get(name).map(|env| &env.signed)
        }
    }

    fn keys_of(&mut self, delegator: &str) -> Result<&KeyRing> {
        if !self.delegation_keys.contains_key(delegator) {
            let empty = Default::default();
            let keys = self
                .role(delegator)
                .and_then(|t| t.delegations.as_ref())
                .map(|d| &d.keys)
                .unwrap_or(&empty);
            let ring = KeyRing::new(keys)?;
            self.delegation_keys.insert(delegator.to_string(), ring);
        }
        Ok(&self.delegation_keys[delegator])
    }

    /// Whether `role`'s document has been verified against `delegator`'s
    /// delegation to it.
    fn edge_verified(&self, delegator: &str, role: &str) -> bool {
        self.verified_edges
            .get(role)
            .is_some_and(|d| d.contains(delegator))
    }

    fn record_edge(&mut self, delegator: &str, role: &str) {
        self.verified_edges
            .entry(role.to_string())
            .or_default()
            .insert(delegator.to_string());
    }

    /// Loads a delegated targets role (5.6 applied to it, with the
    /// delegating role's keys): a valid, current local copy, else fetched.
    ///
    /// A role already loaded through another delegator is not trusted
    /// through this one until its signatures meet *this* delegation's keys
    /// and threshold: two delegators may name the same role with different
    /// keys, and a document signed only with the keys one of them lists
    /// must not gain the paths the other delegates
    /// (tuf-conformance `test_cached_role_is_verified_against_current_delegator`;
    /// python-tuf and go-tuf trust a cached role by its name alone).
    fn load_delegated(&mut self, delegator: &str, d: &DelegatedRole) -> Result<()> {
        if self.edge_verified(delegator, &d.name) {
            return Ok(());
        }
        let rk = crate::metadata::RoleKeys {
            keyids: d.keyids.clone(),
            threshold: d.threshold,
        };
        let source = KeySource::Delegator(delegator.to_string());
        if self.delegated.contains_key(&d.name) {
            self.keys_of(delegator)?;
            let ring = &self.delegation_keys[delegator];
            self.delegated[&d.name].verify(ring, &d.name, &rk, source)?;
            self.record_edge(delegator, &d.name);
            return Ok(());
        }
        let file = delegated_role_file(&d.name)?;
        let meta = self.snapshot_meta(&format!("{}.json", d.name))?;
        let started = self.started;
        // A valid local copy pinned by the current snapshot is reused.
        if let Some(raw) = read_local(
            &self.dir.join(&file),
            meta.length.unwrap_or(self.limits.targets),
        )? && let Ok(doc) = parse_unverified(raw, &d.name, "targets")
            && doc
                .verify(self.keys_of(delegator)?, &d.name, &rk, source.clone())
                .is_ok()
            && let Ok(env) = doc.decode::<Targets>()
            && check_meta(&d.name, &env, &meta).is_ok()
            && check_expiry(&env.signed, &d.name, started).is_ok()
        {
            self.delegated.insert(d.name.clone(), env);
            self.record_edge(delegator, &d.name);
            return Ok(());
        }
        let remote = if self.root.consistent_snapshot {
            format!("{}.{file}", meta.version)
        } else {
            file.clone()
        };
        let raw = self.fetch(&remote, meta.length.unwrap_or(self.limits.targets))?;
        check_length_and_hashes(&d.name, &raw, meta.length, meta.hashes.as_ref(), false)?;
        self.keys_of(delegator)?;
        let ring = &self.delegation_keys[delegator];
        let (env, staged): (Envelope<Targets>, _) = verify_decode_stage(
            raw,
            &d.name,
            pins_hash(&meta),
            |signed, signatures, version| {
                verify_signed(ring, &d.name, version, &rk, signed, signatures, source)
            },
            None,
        )?;
        if env.signed.version != meta.version {
            return Err(TrustError::VersionMismatch {
                role: d.name.clone(),
                expected: meta.version,
                found: env.signed.version,
            });
        }
        check_expiry(&env.signed, &d.name, started)?;
        debug_assert!(staged.is_none());
        // A cache pinned by the snapshot: see [`Durability::Rename`].
        // While all roles are loaded, a second thread writes the copies
        // (file creation is most of a small role's cost).
        match &self.writer {
            Some(writer) => {
                // A writer that stopped has failed: its error is reported
                // when it is joined.
                let _ = writer.send((file, env.raw.clone()));
            }
            None => write_atomic(&self.dir, &file, &env.raw, 0o644, Durability::Rename)?,
        }
        self.delegated.insert(d.name.clone(), env);
        self.record_edge(delegator, &d.name);
        Ok(())
    }

    /// Spec 5.7: the trusted description of `path`, searching the
    /// delegation tree in preorder depth-first order.
    pub fn target(&mut self, path: &str) -> Result<TargetFile> {
        check_target_path(path)?;
        if self.targets.is_none() {
            return Err(TrustError::NotInitialized {
                dir: self.dir.clone(),
            });
        }
        loop {
            let (delegator, index) = match self.search(path)? {
                Step::Found(tf) => return Ok(tf.clone()),
                Step::NotFound => {
                    return Err(TrustError::TargetNotFound {
                        path: path.to_string(),
                    });
                }
                Step::Load { delegator, index } => (delegator, index),
            };
            let d = self
                .role(&delegator)
                .and_then(|t| t.delegations.as_ref())
                .map(|d| d.roles[index].clone())
                .expect("the search only reaches loaded delegators");
            self.load_delegated(&delegator, &d)?;
            self.ensure_indexes();
        }
    }

    /// Compiles the delegations of every loaded role not yet compiled.
    fn ensure_indexes(&mut self) {
        let roles = self
            .targets
            .iter()
            .map(|t| ("targets", t))
            .chain(self.delegated.iter().map(|(n, t)| (n.as_str(), &t.signed)));
        let mut new = Vec::new();
        for (name, t) in roles {
            if let Some(d) = &t.delegations
                && !self.indexes.contains_key(name)
            {
                new.push((name.to_string(), DelegationIndex::new(&d.roles)));
            }
        }
        self.indexes.extend(new);
    }

    /// The preorder depth-first search of spec 5.7 over the roles loaded
    /// so far; stops when it needs a role that is not loaded yet, or one
    /// that is loaded but not verified against the delegator it is reached
    /// through now.
    fn search(&self, path: &str) -> Result<Step<'_>> {
        self.search_from(path, false)
    }

    /// [`Self::search`]; with `absent_from_top`, the caller knows the
    /// top-level role does not list `path` and its lookup is skipped.
    fn search_from(&self, path: &str, absent_from_top: bool) -> Result<Step<'_>> {
        // Stack of (role, how it was reached: delegator and index in the
        // delegator's list); the top-level role first.
        let mut stack: Vec<(&str, Option<(&str, usize)>)> = vec![("targets", None)];
        // At most max_delegations + 1 entries: a Vec beats hashing here.
        let mut visited: Vec<&str> = Vec::new();
        while let Some((name, via)) = stack.pop() {
            if visited.contains(&name) {
                continue;
            }
            visited.push(name);
            if visited.len() > self.limits.max_delegations + 1 {
                return Err(TrustError::TooManyDelegations {
                    limit: self.limits.max_delegations,
                    path: path.to_string(),
                });
            }
            let role = match (self.role(name), via) {
                (Some(role), None) => role,
                (Some(role), Some((delegator, _))) if self.edge_verified(delegator, name) => role,
                (_, Some((delegator, index))) => {
                    return Ok(Step::Load {
                        delegator: delegator.to_string(),
                        index,
                    });
                }
                (None, None) => unreachable!("top-level targets is loaded"),
            };
            if !(absent_from_top && via.is_none())
                && let Some(tf) = role.targets.get(path)
            {
                return Ok(Step::Found(tf));
            }
            let Some(dels) = &role.delegations else {
                continue;
            };
            let built;
            let index = match self.indexes.get(name) {
                Some(i) => i,
                None => {
                    built = DelegationIndex::new(&dels.roles);
                    &built
                }
            };
            let mut children = Vec::new();
            for i in index.matching(&dels.roles, path) {
                children.push((dels.roles[i].name.as_str(), Some((name, i))));
                if dels.roles[i].terminating {
                    // A terminating delegation ends the search after its
                    // own subtree: drop what was pending.
                    stack.clear();
                    break;
                }
            }
            stack.extend(children.into_iter().rev());
        }
        Ok(Step::NotFound)
    }

    /// Loads and verifies every delegated role reachable from the
    /// top-level targets, each against every delegator that names it (at
    /// most [`Limits::max_roles_total`] delegations followed).
    pub fn load_all_roles(&mut self) -> Result<()> {
        self.load_roles_where(|_| true)
    }

    /// [`Self::load_all_roles`], following only the delegations `keep`
    /// accepts (`wport sync` leaves out the roles that list only binary
    /// packages: they are loaded on demand, see [`crate::packages`]).
    pub fn load_roles_where(&mut self, keep: impl Fn(&DelegatedRole) -> bool) -> Result<()> {
        let dir = self.dir.clone();
        std::thread::scope(|scope| {
            let (send, receive) = std::sync::mpsc::channel::<(String, Vec<u8>)>();
            let writer = scope.spawn(move || {
                for (file, raw) in receive {
                    write_atomic(&dir, &file, &raw, 0o644, Durability::Rename)?;
                }
                Ok(())
            });
            self.writer = Some(send);
            let loaded = self.load_each_role(keep);
            // Closing the channel lets the writer finish its queue.
            self.writer = None;
            let written = writer
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            loaded.and(written)
        })
    }

    fn load_each_role(&mut self, keep: impl Fn(&DelegatedRole) -> bool) -> Result<()> {
        let top = self
            .targets
            .as_ref()
            .ok_or_else(|| TrustError::NotInitialized {
                dir: self.dir.clone(),
            })?;
        let mut queue: Vec<(String, DelegatedRole)> = top
            .delegations
            .iter()
            .flat_map(|d| {
                d.roles
                    .iter()
                    .rev()
                    .map(|r| ("targets".to_string(), r.clone()))
            })
            .collect();
        // Delegations (delegator, role) followed, and roles whose own
        // delegations are queued already (one document per role name).
        let mut seen: HashSet<(String, String)> = HashSet::new();
        let mut expanded: HashSet<String> = HashSet::new();
        while let Some((delegator, d)) = queue.pop() {
            if !keep(&d) {
                continue;
            }
            if !seen.insert((delegator.clone(), d.name.clone())) {
                continue;
            }
            if seen.len() > self.limits.max_roles_total {
                return Err(TrustError::TooManyDelegations {
                    limit: self.limits.max_roles_total,
                    path: "*".into(),
                });
            }
            self.load_delegated(&delegator, &d)?;
            if !expanded.insert(d.name.clone()) {
                continue;
            }
            if let Some(dels) = &self.delegated[&d.name].signed.delegations {
                queue.extend(dels.roles.iter().rev().map(|r| (d.name.clone(), r.clone())));
            }
        }
        self.ensure_indexes();
        Ok(())
    }

    /// Every trusted target, after [`Self::load_all_roles`]: every path any
    /// loaded role lists, resolved with the same search as
    /// [`Self::target`] (so a path listed by a role that is not trusted for
    /// it is left out, as is a path that cannot be a file name). Sorted by
    /// path.
    pub fn trusted_targets(&self) -> Result<Vec<(&str, &TargetFile)>> {
        let Some(top) = self.targets.as_ref() else {
            return Err(TrustError::NotInitialized {
                dir: self.dir.clone(),
            });
        };
        // The search looks at the top-level role first, so what it lists
        // needs no search; only paths listed by delegated roles alone do.
        let mut candidates: Vec<&str> = self
            .delegated
            .values()
            .flat_map(|t| t.signed.targets.keys())
            .map(String::as_str)
            .collect();
        // Each role's paths come sorted (a BTreeMap): a stable sort merges
        // those runs.
        candidates.sort();
        candidates.dedup();
        // Both lists are sorted: the top-level role's paths are skipped by
        // walking them alongside, not by a lookup per candidate (each a
        // descent comparing long shared prefixes), and the search then
        // skips the top-level lookup as well.
        let mut top_paths = top.targets.keys().map(String::as_str).peekable();
        let mut found = Vec::with_capacity(candidates.len());
        for path in candidates {
            while top_paths.next_if(|t| *t < path).is_some() {}
            if top_paths.peek() == Some(&path) || check_target_path(path).is_err() {
                continue;
            }
            if let Step::Found(tf) = self.search_from(path, true)? {
                found.push((path, tf));
            }
        }
        // Merged with the top-level role's own (sorted) targets in one pass.
        let mut out = Vec::with_capacity(top.targets.len() + found.len());
        let mut found = found.into_iter().peekable();
        for (path, tf) in &top.targets {
            if check_target_path(path).is_err() {
                continue;
            }
            while let Some(f) = found.next_if(|(f, _)| *f < path.as_str()) {
                out.push(f);
            }
            out.push((path.as_str(), tf));
        }
        out.extend(found);
        Ok(out)
    }

    /// [`Self::load_all_roles`] then [`Self::trusted_targets`], owned.
    pub fn all_targets(&mut self) -> Result<BTreeMap<String, TargetFile>> {
        self.load_all_roles()?;
        Ok(self
            .trusted_targets()?
            .into_iter()
            .map(|(p, t)| (p.to_string(), t.clone()))
            .collect())
    }

    /// Fetches the target `path` from `base_url`, bounded by its trusted
    /// length, and checks its length and hashes.
    pub fn fetch_target(&self, path: &str, tf: &TargetFile, base_url: &str) -> Result<Vec<u8>> {
        check_target_path(path)?;
        let mut rel = url_path(path);
        if self.root.consistent_snapshot {
            let digest = tf
                .hashes
                .get("sha256")
                .or_else(|| tf.hashes.get("sha512"))
                .ok_or(TrustError::NoSupportedHash {
                    what: path.to_string(),
                })?;
            rel = match rel.rsplit_once('/') {
                Some((dir, base)) => format!("{dir}/{digest}.{base}"),
                None => format!("{digest}.{rel}"),
            };
        }
        let location = join(base_url, &rel);
        let bytes = self
            .transport
            .fetch(&location, tf.length)
            .map_err(|e| match e {
                TransportError::TooLarge(limit) => TrustError::TooLarge {
                    what: path.to_string(),
                    limit,
                },
                other => TrustError::Transport {
                    location: location.clone(),
                    reason: other.to_string(),
                },
            })?;
        check_length_and_hashes(path, &bytes, Some(tf.length), Some(&tf.hashes), true)?;
        Ok(bytes)
    }
}

/// Checks a local or fetched document against the version (and length and
/// hashes) its referencing metadata pins.
fn check_meta<S: Signed>(what: &str, env: &Envelope<S>, meta: &MetaFile) -> Result<()> {
    check_length_and_hashes(what, &env.raw, meta.length, meta.hashes.as_ref(), false)?;
    if env.signed.version() != meta.version {
        return Err(TrustError::VersionMismatch {
            role: what.to_string(),
            expected: meta.version,
            found: env.signed.version(),
        });
    }
    Ok(())
}

/// Checks a file on disk against a trusted target description, reading at
/// most `length + 1` bytes.
pub fn verify_file(what: &str, path: &Path, tf: &TargetFile) -> Result<()> {
    let file = fs::File::open(path).map_err(|e| TrustError::io("opening", path, e))?;
    let mut buf = Vec::with_capacity(tf.length.min(64 << 20) as usize);
    file.take(tf.length.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| TrustError::io("reading", path, e))?;
    if buf.len() as u64 > tf.length {
        let actual = fs::metadata(path)
            .map(|m| m.len())
            .unwrap_or(buf.len() as u64);
        return Err(TrustError::LengthMismatch {
            what: what.to_string(),
            expected: tf.length,
            actual,
        });
    }
    check_length_and_hashes(what, &buf, Some(tf.length), Some(&tf.hashes), true)
}
