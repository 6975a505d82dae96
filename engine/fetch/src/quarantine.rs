//! The quarantine: where a download that did not match its pin goes.
//!
//! An upstream tarball whose bytes change under a published version is what a
//! compromised release server looks like (and, more often, a careless
//! re-roll). Either way the bytes are evidence: they are neither deleted nor
//! stored under a digest, and nothing suggests re-pinning. Each item is a
//! directory `<dir>/<id>/` holding `payload` (the bytes as received, up to the
//! declared size) and `record.json` (a [`Record`]: port, URLs, expected
//! digest and size, what was kept and its digest, how much was received,
//! time, HTTP status and headers).
//!
//! The record says what the payload is, and no more (issue 11, item 11): an
//! oversized body is kept up to the pinned size and recorded as
//! [`Record::truncated`], with [`Record::received_size`] beside
//! [`Record::kept_size`], and [`Record::kept_sha256`] is the digest of the
//! kept bytes, not of anything the server served whole (so
//! [`held_sha256s`] leaves it out). The same bytes fetched again do not
//! make a second copy: the existing item counts another sighting
//! ([`Record::times_seen`], [`Record::last_seen_at`], and where they came
//! from in [`Record::also_seen`]). A record that cannot be read is reported
//! by [`Quarantine::list`] beside the others, never instead of them.
//!
//! Releasing an item says the maintainer has reviewed it; it needs a reason,
//! is refused until the item has been held for [`Quarantine::hold`] (24 hours
//! by default), appends the record and the reason to `<dir>/released.jsonl`,
//! and removes the item. It does not put the file in the distfile store.
//!
//! Time comes from a [`Clock`], so tests can hold and release without waiting.

use std::collections::HashSet;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::verify::Sha256;

/// Where time comes from.
pub trait Clock: Send + Sync {
    fn now(&self) -> SystemTime;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// The default hold before a release is accepted.
pub const DEFAULT_HOLD: Duration = Duration::from_secs(24 * 60 * 60);

/// Why the bytes were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mismatch {
    /// The size matched, the sha256 did not.
    Sha256,
    /// The stream ended before the declared size.
    ShortSize,
    /// More bytes than declared arrived; reading stopped at the limit.
    SizeExceeded,
}

/// Most distinct sources remembered in [`Record::also_seen`].
pub const MAX_ALSO_SEEN: usize = 32;

/// Another place the same quarantined bytes came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Sighting {
    pub port: String,
    pub file: String,
    pub mirror: String,
    pub final_url: String,
}

/// What `record.json` holds. Records written before `kept-*` were named
/// `actual-*` still read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Record {
    /// The item's name in the quarantine directory.
    pub id: String,
    pub port: String,
    /// The distfile name the Portfile gives.
    pub file: String,
    /// The Portfile's `url`.
    pub url: String,
    /// The entry of `url` + `mirrors` that served these bytes.
    pub mirror: String,
    /// Where the bytes came from after redirects.
    pub final_url: String,
    /// Redirects followed, in order (empty when none).
    pub redirects: Vec<String>,
    pub mismatch: Mismatch,
    pub expected_sha256: String,
    pub expected_size: u64,
    /// The sha256 of the payload as kept: of the whole body unless
    /// [`Record::truncated`], of its first [`Record::kept_size`] bytes if so.
    #[serde(alias = "actual-sha256")]
    pub kept_sha256: String,
    /// Bytes in the payload.
    #[serde(alias = "actual-size")]
    pub kept_size: u64,
    /// Bytes read from the server before reading stopped. For a truncated
    /// payload the server had at least this many (it was not read further).
    #[serde(default)]
    pub received_size: u64,
    /// The body was longer than the pinned size: reading stopped at the
    /// bound, and the payload is its first `expected-size` bytes only.
    #[serde(default)]
    pub truncated: bool,
    /// Seconds since the Unix epoch (the first time these bytes arrived).
    pub quarantined_at: u64,
    /// The same instant, `YYYY-MM-DDTHH:MM:SSZ`.
    pub quarantined_at_utc: String,
    /// How many fetches delivered these same kept bytes.
    #[serde(default = "one")]
    pub times_seen: u64,
    /// The latest of them (seconds since the epoch; 0 in old records).
    #[serde(default)]
    pub last_seen_at: u64,
    #[serde(default)]
    pub last_seen_at_utc: String,
    /// Other ports, files or mirrors that served the same bytes, first
    /// seen first, at most [`MAX_ALSO_SEEN`].
    #[serde(default)]
    pub also_seen: Vec<Sighting>,
    /// `None` for `file://`.
    pub http_status: Option<u16>,
    pub http_headers: Vec<(String, String)>,
    /// The Portfile's `upstream-contact`.
    pub upstream_contact: String,
}

/// A quarantine operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QuarantineError {
    #[error("no quarantined item {id:?} in {}", dir.display())]
    NotFound { id: String, dir: PathBuf },
    #[error("releasing {id} needs a reason (what was reviewed, what upstream said)")]
    ReasonRequired { id: String },
    /// The hold has not passed yet.
    #[error(
        "{id} has been held for {} and may be released after {} (at {release_at}); \
         use the time to scrutinise it and hear from upstream",
        human(*held), human(*hold)
    )]
    HeldTooShort {
        id: String,
        held: Duration,
        hold: Duration,
        release_at: String,
    },
    #[error("{}: {op}: {source}", path.display())]
    Io {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("{}: malformed quarantine record: {message}", path.display())]
    Malformed { path: PathBuf, message: String },
}

fn one() -> u64 {
    1
}

impl Record {
    /// What the payload is, in words: `sha256 X, N bytes`, or for a
    /// truncated one `the first N bytes of at least M received, whose sha256 is X`.
    pub fn kept_text(&self) -> String {
        if self.truncated {
            format!(
                "kept the first {} bytes of the {}+ received; sha256 of the kept prefix {}",
                self.kept_size, self.received_size, self.kept_sha256
            )
        } else {
            format!("sha256 {}, {} bytes", self.kept_sha256, self.kept_size)
        }
    }

    fn sighting(&self) -> Sighting {
        Sighting {
            port: self.port.clone(),
            file: self.file.clone(),
            mirror: self.mirror.clone(),
            final_url: self.final_url.clone(),
        }
    }
}

/// What [`Quarantine::list`] found: the readable records, and the items
/// that could not be read (each a [`QuarantineError::Malformed`] or
/// [`QuarantineError::Io`] naming its path).
#[derive(Debug, Default)]
pub struct Listing {
    pub records: Vec<Record>,
    pub unreadable: Vec<QuarantineError>,
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}h{:02}m", s / 3600, s / 60 % 60)
}

fn io_err<'a>(path: &'a Path, op: &'static str) -> impl FnOnce(io::Error) -> QuarantineError + 'a {
    move |source| QuarantineError::Io {
        path: path.to_owned(),
        op,
        source,
    }
}

/// The quarantine store in one directory.
#[derive(Clone)]
pub struct Quarantine {
    dir: PathBuf,
    hold: Duration,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Quarantine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Quarantine")
            .field("dir", &self.dir)
            .field("hold", &self.hold)
            .finish()
    }
}

/// What [`Quarantine::release`] did.
#[derive(Debug, Clone)]
pub struct Released {
    pub record: Record,
    pub reason: String,
    pub released_at: u64,
}

impl Quarantine {
    /// The quarantine in `dir` (created on first use), with the default hold
    /// and the system clock.
    pub fn new(dir: impl Into<PathBuf>) -> Quarantine {
        Quarantine {
            dir: dir.into(),
            hold: DEFAULT_HOLD,
            clock: Arc::new(SystemClock),
        }
    }

    pub fn with_hold(mut self, hold: Duration) -> Quarantine {
        self.hold = hold;
        self
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Quarantine {
        self.clock = clock;
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn hold(&self) -> Duration {
        self.hold
    }

    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// Move `payload` (a file on the same filesystem, or copied if not) into a
    /// new item with `record`, whose `id`, `quarantined_at`,
    /// `quarantined_at_utc` and sighting fields are filled in here. Returns
    /// the completed record.
    ///
    /// If an item already holds the same kept bytes (same digest, size and
    /// truncation, its payload still hashing to them), no copy is made: that
    /// item's record counts one more sighting (and where it came from, if
    /// new), `payload` is removed, and the updated record is returned.
    pub fn put(&self, payload: &Path, mut record: Record) -> Result<Record, QuarantineError> {
        crate::store::create_private_dir(&self.dir)
            .map_err(io_err(&self.dir, "create the quarantine directory"))?;
        // One writer at a time, so two fetches of the same bytes make one item.
        let _lock = self.lock(true)?;
        let now = secs(self.clock.now());
        let stamp = utc(now);
        if let Some((item, mut existing)) = self.same_bytes(&record) {
            existing.times_seen = existing.times_seen.saturating_add(1);
            existing.last_seen_at = now;
            existing.last_seen_at_utc = stamp;
            let seen = record.sighting();
            if seen != existing.sighting()
                && !existing.also_seen.contains(&seen)
                && existing.also_seen.len() < MAX_ALSO_SEEN
            {
                existing.also_seen.push(seen);
            }
            write_record(&item, &existing)?;
            let _ = fs::remove_file(payload);
            return Ok(existing);
        }
        let compact: String = stamp
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        let short = record.kept_sha256.get(..12).unwrap_or("unknown").to_owned();
        let mut made = None;
        for n in 1u32.. {
            let id = if n == 1 {
                format!("{compact}-{short}")
            } else {
                format!("{compact}-{short}-{n}")
            };
            let item = self.dir.join(&id);
            match fs::create_dir(&item) {
                Ok(()) => {
                    made = Some((id, item));
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io_err(&item, "create the quarantine item")(e)),
            }
        }
        let (id, item) = made.expect("an unused id");
        record.id = id;
        record.quarantined_at = now;
        record.quarantined_at_utc = stamp.clone();
        record.times_seen = 1;
        record.last_seen_at = now;
        record.last_seen_at_utc = stamp;
        let target = item.join("payload");
        if fs::rename(payload, &target).is_err() {
            fs::copy(payload, &target)
                .map_err(io_err(&target, "copy the payload into quarantine"))?;
            let _ = fs::remove_file(payload);
        }
        write_record(&item, &record)?;
        Ok(record)
    }

    /// The item already holding the bytes `record` describes, if any.
    fn same_bytes(&self, record: &Record) -> Option<(PathBuf, Record)> {
        fs::read_dir(&self.dir)
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter_map(|item| {
                let r = read_record(&item.join("record.json")).ok()?;
                Some((item, r))
            })
            .find(|(item, r)| {
                // The kept payload is re-hashed: evidence whose bytes changed
                // since (disk, another user of the cache) is not what this
                // fetch received, so the new bytes get their own item.
                r.kept_sha256 == record.kept_sha256
                    && r.kept_size == record.kept_size
                    && r.truncated == record.truncated
                    && fs::symlink_metadata(item.join("payload"))
                        .is_ok_and(|m| m.is_file() && m.len() == r.kept_size)
                    && crate::download::digest_file(&item.join("payload")).is_ok_and(
                        |(sha, len)| len == r.kept_size && sha.to_string() == r.kept_sha256,
                    )
            })
    }

    /// `<dir>/.lock`, held exclusively by [`Quarantine::put`] and shared by
    /// [`Quarantine::list`] (which then never sees an item half made).
    fn lock(&self, exclusive: bool) -> Result<fs::File, QuarantineError> {
        let path = self.dir.join(".lock");
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err(&path, "open the quarantine lock"))?;
        if exclusive {
            file.lock()
        } else {
            file.lock_shared()
        }
        .map_err(io_err(&path, "lock the quarantine"))?;
        Ok(file)
    }

    /// Every item, oldest first; an item whose record cannot be read (or
    /// that has none) is in [`Listing::unreadable`] and the others are
    /// listed all the same.
    pub fn list(&self) -> Result<Listing, QuarantineError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Listing::default()),
            Err(e) => return Err(io_err(&self.dir, "list the quarantine")(e)),
        };
        // Shared: never between a put's mkdir and its record. Best effort on a
        // quarantine this user can read but not write.
        let _lock = self.lock(false).ok();
        let mut out = Listing::default();
        for entry in entries {
            let entry = entry.map_err(io_err(&self.dir, "list the quarantine"))?;
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let rec = entry.path().join("record.json");
            match fs::symlink_metadata(&rec) {
                Ok(m) if m.is_file() => match read_record(&rec) {
                    Ok(r) => out.records.push(r),
                    Err(e) => out.unreadable.push(e),
                },
                Ok(_) => out.unreadable.push(QuarantineError::Malformed {
                    path: rec,
                    message: "not a regular file".to_owned(),
                }),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    out.unreadable.push(QuarantineError::Malformed {
                        path: rec,
                        message: "the item has no record (an interrupted quarantine?)".to_owned(),
                    })
                }
                Err(e) => out.unreadable.push(io_err(&rec, "stat the record")(e)),
            }
        }
        out.records
            .sort_by(|a, b| (a.quarantined_at, &a.id).cmp(&(b.quarantined_at, &b.id)));
        out.unreadable.sort_by_key(|e| e.to_string());
        Ok(out)
    }

    /// The item `id`.
    pub fn show(&self, id: &str) -> Result<Record, QuarantineError> {
        let item = self.item(id)?;
        read_record(&item.join("record.json"))
    }

    /// Where the payload of `id` is.
    pub fn payload(&self, id: &str) -> Result<PathBuf, QuarantineError> {
        Ok(self.item(id)?.join("payload"))
    }

    fn item(&self, id: &str) -> Result<PathBuf, QuarantineError> {
        let not_found = || QuarantineError::NotFound {
            id: id.to_owned(),
            dir: self.dir.clone(),
        };
        // An id is one plain name: no path tricks through the CLI.
        if id.is_empty() || id.starts_with('.') || id.contains(['/', '\0']) {
            return Err(not_found());
        }
        let item = self.dir.join(id);
        if !item.join("record.json").is_file() {
            return Err(not_found());
        }
        Ok(item)
    }

    /// Release `id` after review: needs a non-empty `reason` and a hold of at
    /// least [`Quarantine::hold`]. Logs to `released.jsonl`, removes the item.
    pub fn release(&self, id: &str, reason: &str) -> Result<Released, QuarantineError> {
        let record = self.show(id)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(QuarantineError::ReasonRequired { id: id.to_owned() });
        }
        let now = secs(self.clock.now());
        let held = Duration::from_secs(now.saturating_sub(record.quarantined_at));
        if held < self.hold {
            return Err(QuarantineError::HeldTooShort {
                id: id.to_owned(),
                held,
                hold: self.hold,
                release_at: utc(record.quarantined_at.saturating_add(self.hold.as_secs())),
            });
        }
        let released = Released {
            record,
            reason: reason.to_owned(),
            released_at: now,
        };
        let log = self.dir.join("released.jsonl");
        let line = serde_json::json!({
            "released-at": now,
            "released-at-utc": utc(now),
            "reason": released.reason,
            "record": released.record,
        });
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(io_err(&log, "open the release log"))?;
        writeln!(f, "{line}").map_err(io_err(&log, "append to the release log"))?;
        let item = self.dir.join(id);
        fs::remove_dir_all(&item).map_err(io_err(&item, "remove the released item"))?;
        Ok(released)
    }
}

/// Write `<item>/record.json` whole or not at all (temporary name, then
/// rename), so a crash never leaves half a record.
fn write_record(item: &Path, record: &Record) -> Result<(), QuarantineError> {
    let json = serde_json::to_vec_pretty(record).expect("a record serialises");
    let tmp = item.join(".record.json.tmp");
    fs::write(&tmp, json).map_err(io_err(&tmp, "write the record"))?;
    let rec = item.join("record.json");
    fs::rename(&tmp, &rec).map_err(io_err(&rec, "write the record"))
}

fn read_record(path: &Path) -> Result<Record, QuarantineError> {
    let bytes = fs::read(path).map_err(io_err(path, "read the record"))?;
    serde_json::from_slice(&bytes).map_err(|e| QuarantineError::Malformed {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// The actual sha256 of every item still in the quarantine at `dir` (not yet
/// released, whether or not its hold has passed): `wport lint` flags a
/// Portfile pinning one of them. A missing directory holds nothing; an
/// unreadable record is skipped, and so is a truncated one: its digest is
/// of a prefix, not of any file a server served (a body that was the pinned
/// file plus more would otherwise flag the right pin). So is an item whose
/// pin [`looks_like_pin_typo`] of its bytes' digest: the maintainer who
/// mistyped the pin and then pins the right digest is not held up for the
/// quarantine's hold (issue 14); bytes a server swapped cannot be made to
/// look like that.
pub fn held_sha256s(dir: &Path) -> HashSet<Sha256> {
    let Ok(entries) = fs::read_dir(dir) else {
        return HashSet::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| read_record(&e.path().join("record.json")).ok())
        .filter(|r| !r.truncated)
        .filter(|r| !looks_like_pin_typo(&r.expected_sha256, &r.kept_sha256))
        .filter_map(|r| r.kept_sha256.parse().ok())
        .collect()
}

/// The most hex characters a mistyped pin differs from the digest it meant
/// in, for [`looks_like_pin_typo`].
pub const TYPO_DISTANCE: usize = 4;

/// Whether the pinned sha256 `pinned` is a typo of `served`, the digest of
/// the bytes a server sent: both 64 hex characters, differing in at most
/// [`TYPO_DISTANCE`] positions (a mistyped or swapped character or two), or
/// equal (the pin's `size` was the typo). Bytes other than the pinned file
/// have a digest differing in about 60 of the 64 positions; making one
/// within 4 of a given pin is a near-collision of sha256, out of reach.
pub fn looks_like_pin_typo(pinned: &str, served: &str) -> bool {
    pinned.len() == 64
        && served.len() == 64
        && pinned
            .bytes()
            .chain(served.bytes())
            .all(|b| b.is_ascii_hexdigit())
        && hex_distance(pinned, served) <= TYPO_DISTANCE
}

/// In how many positions two equally long hex strings differ (ignoring case).
pub fn hex_distance(a: &str, b: &str) -> usize {
    a.bytes()
        .zip(b.bytes())
        .filter(|(x, y)| !x.eq_ignore_ascii_case(y))
        .count()
        + a.len().abs_diff(b.len())
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the epoch (proleptic Gregorian).
pub fn utc(secs: u64) -> String {
    wport_types::date::format_utc(i64::try_from(secs).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_764_165_728), "2025-11-26T14:02:08Z");
    }
}
