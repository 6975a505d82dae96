//! Downloading distfiles into the store: mirrors in order, redirects under
//! policy, size bound and digest checked while streaming, quarantine on
//! mismatch, several downloads at once.
//!
//! For one [`Request`] (a port's distfile: its URL, then its mirrors), the
//! [`Fetcher`] tries each URL in turn:
//!
//! 1. follow redirects itself, each hop checked by
//!    [`check_redirect`](crate::transport::check_redirect), loops and long
//!    chains refused;
//! 2. stream the body into a temporary file in the store through a
//!    [`Verifier`]: the byte past the declared size stops the download at once;
//! 3. at the end of the stream, size then sha256: a match is renamed to
//!    `<sha256>` in the store and the fetch is done; a mismatch is moved, with
//!    a [`Record`], into the [`Quarantine`], and the next mirror is tried.
//!
//! A transfer that breaks (connection refused, timeout, 5xx, a body cut short
//! of its `Content-Length`, the deadline passed, a body slower than the
//! minimum rate) is not evidence of tampering: its partial file is removed
//! and the next mirror is tried. If no URL delivers verified bytes,
//! the error lists every attempt; if any was quarantined it is
//! [`FetchError::Quarantined`], whose message tells the maintainer what to do
//! and whom to contact.
//!
//! A fetch that succeeds from a later mirror after an earlier one was
//! quarantined still succeeds (the pinned bytes are what was asked for), and
//! [`Fetched::quarantined`] carries the records so the caller can warn.

use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::Digest as _;

use crate::quarantine::{Mismatch, Quarantine, QuarantineError, Record};
use crate::store::{Partial, Store};
use crate::transport::{
    RedirectError, Reply, Transport, TransportConfig, TransportError, check_redirect,
    resolve_location,
};
use crate::verify::{Expected, Sha256, Verifier, VerifyError};

/// Bytes per read: large enough that hashing, not syscalls, is the cost.
const CHUNK: usize = 256 * 1024;

/// One distfile of one port.
#[derive(Debug, Clone)]
pub struct Request {
    pub port: String,
    /// The distfile name (for messages and records).
    pub file: String,
    /// The Portfile's `url`, then its `mirrors`, in order.
    pub urls: Vec<String>,
    pub expected: Expected,
    /// The Portfile's `upstream-contact`, quoted when a download mismatches.
    pub upstream_contact: String,
}

/// Why one URL did not deliver the distfile.
#[derive(Debug)]
#[non_exhaustive]
pub enum AttemptError {
    Transport(TransportError),
    /// The server answered with a status that is neither success nor redirect.
    Status {
        url: String,
        status: u16,
    },
    Redirect(RedirectError),
    /// The body broke off (timeout, connection reset, shorter than its
    /// `Content-Length`); the partial file was removed.
    Transfer {
        url: String,
        source: io::Error,
    },
    /// The bytes did not match the pin; they are in quarantine.
    Quarantined {
        error: VerifyError,
        record: Box<Record>,
    },
    /// The bytes did not match the pin and could not be quarantined: they were
    /// kept at `kept` (not in the store).
    QuarantineFailed {
        error: VerifyError,
        kept: PathBuf,
        source: Box<QuarantineError>,
    },
    /// `checksum` only: more than the allowed maximum size arrived.
    TooLarge {
        url: String,
        max: u64,
    },
    /// The download of this URL took longer than
    /// [`TransportConfig::deadline`]; `received` bytes had arrived.
    Deadline {
        url: String,
        deadline: Duration,
        received: u64,
    },
    /// The body arrived slower than [`TransportConfig::min_rate`] bytes per
    /// second, on average over [`TransportConfig::min_rate_window`].
    TooSlow {
        url: String,
        min_rate: u64,
        window: Duration,
        received: u64,
    },
    /// Writing into the store failed.
    Store {
        path: PathBuf,
        op: &'static str,
        source: io::Error,
    },
}

impl fmt::Display for AttemptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttemptError::Transport(e) => write!(f, "{e}"),
            AttemptError::Status { url, status } => write!(f, "{url}: HTTP status {status}"),
            AttemptError::Redirect(e) => write!(f, "{e}"),
            AttemptError::Transfer { url, source } => write!(f, "{url}: transfer failed: {source}"),
            AttemptError::Quarantined { error, record } => {
                write!(
                    f,
                    "{}: {}; quarantined as {} ({})",
                    record.final_url,
                    mismatch_text(error),
                    record.id,
                    record.kept_text()
                )?;
                if record.times_seen > 1 {
                    write!(
                        f,
                        "; the same bytes have now been served {} times",
                        record.times_seen
                    )?;
                }
                Ok(())
            }
            AttemptError::QuarantineFailed {
                error,
                kept,
                source,
            } => write!(
                f,
                "{}; could not be quarantined ({source}); the bytes were kept at {}",
                mismatch_text(error),
                kept.display()
            ),
            AttemptError::TooLarge { url, max } => {
                write!(f, "{url}: larger than the maximum of {max} bytes")
            }
            AttemptError::Deadline {
                url,
                deadline,
                received,
            } => write!(
                f,
                "{url}: not complete after the deadline of {} s ({received} bytes received); \
                 the partial download was removed (raise --deadline for a slow link)",
                deadline.as_secs_f64()
            ),
            AttemptError::TooSlow {
                url,
                min_rate,
                window,
                received,
            } => write!(
                f,
                "{url}: slower than the minimum of {min_rate} bytes/s over {} s \
                 ({received} bytes received); the partial download was removed \
                 (see --min-rate and --min-rate-window)",
                window.as_secs_f64()
            ),
            AttemptError::Store { path, op, source } => {
                write!(f, "{}: {op}: {source}", path.display())
            }
        }
    }
}

fn mismatch_text(e: &VerifyError) -> String {
    match e {
        VerifyError::DigestMismatch {
            expected, actual, ..
        } => {
            format!("sha256 mismatch: expected {expected}, got {actual}")
        }
        VerifyError::SizeMismatch {
            expected, actual, ..
        } => {
            format!("size mismatch: expected {expected} bytes, the stream ended after {actual}")
        }
        VerifyError::SizeExceeded { limit, .. } => {
            format!("size mismatch: more than the pinned {limit} bytes arrived; stopped reading")
        }
        other => other.to_string(),
    }
}

/// One URL tried and how it failed.
#[derive(Debug)]
pub struct Attempt {
    /// The entry of `url` + `mirrors`.
    pub url: String,
    pub error: AttemptError,
}

/// A fetch failed. Every variant names the port and the file; the attempts
/// name each URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// No URL delivered the pinned bytes, and at least one delivered other
    /// bytes, now in quarantine. A security outcome: the pin was not changed.
    #[error(
        "{}",
        quarantined_message(port, file, upstream_contact, quarantine_dir, attempts)
    )]
    Quarantined {
        port: String,
        file: String,
        upstream_contact: String,
        quarantine_dir: PathBuf,
        attempts: Vec<Attempt>,
    },
    /// No URL delivered anything usable.
    #[error("port {port}: distfile {file}: could not be fetched from any of its {} URL(s):{}", attempts.len(), list(attempts))]
    Failed {
        port: String,
        file: String,
        attempts: Vec<Attempt>,
    },
    /// The Portfile gives no URL to fetch from.
    #[error("port {port}: distfile {file}: no URL to fetch it from")]
    NoUrl { port: String, file: String },
}

impl FetchError {
    /// The attempts made, in order.
    pub fn attempts(&self) -> &[Attempt] {
        match self {
            FetchError::Quarantined { attempts, .. } | FetchError::Failed { attempts, .. } => {
                attempts
            }
            FetchError::NoUrl { .. } => &[],
        }
    }

    /// The records of what this fetch put in quarantine.
    pub fn quarantined(&self) -> Vec<&Record> {
        records(self.attempts())
    }
}

fn records(attempts: &[Attempt]) -> Vec<&Record> {
    attempts
        .iter()
        .filter_map(|a| match &a.error {
            AttemptError::Quarantined { record, .. } => Some(&**record),
            _ => None,
        })
        .collect()
}

fn list(attempts: &[Attempt]) -> String {
    attempts
        .iter()
        .map(|a| {
            let via = if a.error.to_string().starts_with(&a.url) {
                String::new()
            } else {
                format!("{}: ", a.url)
            };
            format!("\n  - {via}{}", a.error)
        })
        .collect()
}

fn quarantined_message(
    port: &str,
    file: &str,
    contact: &str,
    dir: &Path,
    attempts: &[Attempt],
) -> String {
    let records = records(attempts);
    let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
    let first = ids.first().copied().unwrap_or("ID");
    // A pin a few characters away from the served bytes' digest is a typo
    // in the Portfile, not other bytes: say so, and how to recover.
    let typo = records.iter().find(|r| {
        !r.truncated && crate::quarantine::looks_like_pin_typo(&r.expected_sha256, &r.kept_sha256)
    });
    let own_pin = match typo {
        Some(r) => format!(
            "\nThis looks like a typo in the Portfile: its sha256 {} differs from the sha256 of the \
             bytes served, {}, in {} character(s) only (other bytes would differ in almost all 64). \
             Check {} against the checksum or signature upstream publishes for {file}; if it is \
             theirs, pin it (sha256 = \"{}\", size = {}): `wport lint` accepts it despite this \
             item, and once the hold has passed `wport quarantine release {} --reason \"pin typo; \
             sha256 checked against upstream's published checksum\"` clears the item.",
            r.expected_sha256,
            r.kept_sha256,
            crate::quarantine::hex_distance(&r.expected_sha256, &r.kept_sha256),
            r.kept_sha256,
            r.kept_sha256,
            r.kept_size,
            r.id,
        ),
        None => format!(
            "\nIf the Portfile's pin itself is wrong (you copied another file's checksum): check \
             the kept bytes' sha256 against the checksum or signature upstream publishes for \
             {file} before pinning it; `wport lint` reports a pin to held bytes as \
             quarantined-checksum until `wport quarantine release {first} --reason TEXT` (after \
             the hold) clears the item."
        ),
    };
    format!(
        "port {port}: distfile {file} does not match the sha256 and size its Portfile pins; \
         nothing was stored and the build stops.{}\n\
         What happened: the server sent different bytes under a published name. That is how a \
         compromised release or mirror looks, and also how a quiet re-roll of a tarball looks.\n\
         What to do: do NOT re-pin the Portfile to the new checksum. The bytes are kept, not \
         deleted, in {} (see `wport quarantine show {first}`). Scrutinise them (compare with \
         the previous tarball, check upstream's signature and announcement) and contact \
         upstream: {contact}. Once reviewed, and no sooner than the hold allows, \
         `wport quarantine release {first} --reason TEXT` clears the item.{own_pin}",
        list(attempts),
        dir.display(),
    )
}

/// Where a fetched distfile came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// It was in the store already; nothing was downloaded.
    Store,
    /// Downloaded from this entry of `url` + `mirrors` (after `redirects`).
    Downloaded {
        url: String,
        final_url: String,
        bytes: u64,
    },
}

/// A distfile now in the store.
#[derive(Debug)]
pub struct Fetched {
    /// `<store>/<sha256>`.
    pub path: PathBuf,
    pub origin: Origin,
    /// Earlier URLs that failed before one delivered (quarantined ones among them).
    pub failed: Vec<Attempt>,
}

impl Fetched {
    /// What was quarantined on the way (a mirror with other bytes).
    pub fn quarantined(&self) -> Vec<&Record> {
        records(&self.failed)
    }
}

/// The result of [`Fetcher::checksum`]: the lines to pin a new version.
#[derive(Debug, Clone)]
pub struct Checksum {
    pub sha256: Sha256,
    pub size: u64,
    /// The URL that delivered the bytes.
    pub url: String,
    /// Whether the bytes are the ones the Portfile pins (then they are in the store).
    pub matches_pin: bool,
    /// Attempts before this one that failed, as text.
    pub failed: Vec<String>,
}

/// Where a fetch reports its downloads as they go. The library says what
/// happens; the program that runs it decides how that looks (the `wport` CLI
/// draws bars on a terminal and lines otherwise, in its output module).
/// Downloads run on several threads ([`Fetcher::fetch_all`]), hence `Sync`.
pub trait Reporter: Send + Sync {
    /// A download of `label` (the distfile's name) from `url` starts;
    /// `total` is the size expected, in bytes.
    fn start(&self, label: &str, url: &str, total: u64) -> Box<dyn Download>;
}

/// One download's progress, from [`Reporter::start`].
pub trait Download: Send {
    /// `bytes` more bytes were kept.
    fn advance(&self, bytes: u64);
    /// The download ended: the bytes it kept, or why it stopped.
    fn finish(&self, result: Result<u64, &str>);
}

/// What a fetch reports its progress to: nothing ([`Progress::quiet`]) or a
/// [`Reporter`].
pub struct Progress {
    reporter: Option<Box<dyn Reporter>>,
}

impl Progress {
    /// Report nothing.
    pub fn quiet() -> Progress {
        Progress { reporter: None }
    }

    /// Report to `reporter`.
    pub fn to(reporter: impl Reporter + 'static) -> Progress {
        Progress {
            reporter: Some(Box::new(reporter)),
        }
    }

    fn start(&self, label: &str, url: &str, total: u64) -> Option<Box<dyn Download>> {
        self.reporter.as_ref().map(|r| r.start(label, url, total))
    }
}

/// Fetches distfiles into a [`Store`], quarantining mismatches.
#[derive(Clone)]
pub struct Fetcher {
    transport: Arc<dyn Transport>,
    store: Store,
    quarantine: Quarantine,
    max_redirects: u32,
    deadline: Duration,
    min_rate: u64,
    min_rate_window: Duration,
    sync: bool,
}

/// How a single URL's transfer ended: the reply's facts, the bytes read
/// from the body, and the body streamed to its end (`Ok(bytes written)`) or
/// stopped.
struct Transfer {
    status: Option<u16>,
    headers: Vec<(String, String)>,
    final_url: String,
    redirects: Vec<String>,
    received: u64,
    outcome: Result<u64, Stop>,
}

/// Why streaming stopped before the end of the body.
enum Stop {
    Verify(VerifyError),
    TooLarge(u64),
    Read(io::Error),
    Write(io::Error),
    Deadline,
    TooSlow,
}

/// What the check of one chunk says: write its first `keep` bytes, then
/// stop if `stop` says so.
struct Check {
    keep: usize,
    stop: Option<Stop>,
}

impl Fetcher {
    pub fn new(transport: Arc<dyn Transport>, store: Store, quarantine: Quarantine) -> Fetcher {
        let defaults = TransportConfig::default();
        Fetcher {
            transport,
            store,
            quarantine,
            max_redirects: defaults.max_redirects,
            deadline: defaults.deadline,
            min_rate: defaults.min_rate,
            min_rate_window: defaults.min_rate_window,
            sync: true,
        }
    }

    /// The redirect bound, deadline and minimum rate of `config` (the
    /// transport applies its own timeouts itself).
    pub fn with_config(mut self, config: &TransportConfig) -> Fetcher {
        self.max_redirects = config.max_redirects;
        self.deadline = config.deadline;
        self.min_rate = config.min_rate;
        self.min_rate_window = config.min_rate_window;
        self
    }

    /// Redirects followed per URL (default 10).
    pub fn with_max_redirects(mut self, n: u32) -> Fetcher {
        self.max_redirects = n;
        self
    }

    /// Whether a verified file is synced to disk before it is renamed into the
    /// store (default true; benchmarks compare without).
    pub fn with_sync(mut self, sync: bool) -> Fetcher {
        self.sync = sync;
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn quarantine(&self) -> &Quarantine {
        &self.quarantine
    }

    /// Open `url`, following redirects under policy. Returns the body reply,
    /// the final URL and the hops.
    fn open(&self, url: &str) -> Result<(Reply, String, Vec<String>), AttemptError> {
        let mut current = url.to_owned();
        let mut chain: Vec<String> = vec![current.clone()];
        loop {
            match self
                .transport
                .get(&current)
                .map_err(AttemptError::Transport)?
            {
                Reply::Redirect { location, .. } => {
                    let next = resolve_location(&current, &location).ok_or_else(|| {
                        AttemptError::Redirect(RedirectError::BadLocation {
                            from: current.clone(),
                            location: location.clone(),
                        })
                    })?;
                    check_redirect(&current, &next).map_err(AttemptError::Redirect)?;
                    if chain.contains(&next) {
                        chain.push(next);
                        return Err(AttemptError::Redirect(RedirectError::Loop {
                            chain: chain.join(" -> "),
                        }));
                    }
                    if chain.len() as u32 > self.max_redirects {
                        return Err(AttemptError::Redirect(RedirectError::TooMany {
                            from: url.to_owned(),
                            max: self.max_redirects,
                        }));
                    }
                    chain.push(next.clone());
                    current = next;
                }
                Reply::Status { status, .. } => {
                    return Err(AttemptError::Status {
                        url: current,
                        status,
                    });
                }
                body @ Reply::Body { .. } => {
                    let redirects = chain.split_off(1);
                    return Ok((body, current, redirects));
                }
            }
        }
    }

    /// Stream one URL into `out`, feeding every chunk to `check` before it is
    /// written, within the deadline and above the minimum rate.
    fn transfer(
        &self,
        url: &str,
        label: &str,
        out: &mut fs::File,
        progress: &Progress,
        total_hint: u64,
        mut check: impl FnMut(&[u8]) -> Check,
    ) -> Result<Transfer, AttemptError> {
        // The deadline covers the redirects and the headers too.
        let started = Instant::now();
        let (reply, final_url, redirects) = self.open(url)?;
        let Reply::Body {
            status,
            headers,
            length,
            mut body,
        } = reply
        else {
            unreachable!("open returns bodies only")
        };
        let item = progress.start(label, &final_url, length.unwrap_or(total_hint));
        let mut buf = vec![0u8; CHUNK];
        let mut total = 0u64;
        let mut received = 0u64;
        // The minimum rate is an average over each window, as curl's
        // --speed-limit/--speed-time: bursts and pauses inside a window even out.
        let mut window_start = Instant::now();
        let mut window_bytes = 0u64;
        let outcome = loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break Ok(total),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // The transport's end-to-end timeout is the deadline: say so.
                Err(_) if started.elapsed() >= self.deadline => break Err(Stop::Deadline),
                Err(e) => break Err(Stop::Read(e)),
            };
            received += n as u64;
            let Check { keep, stop } = check(&buf[..n]);
            if keep > 0 {
                if let Err(e) = out.write_all(&buf[..keep]) {
                    break Err(Stop::Write(e));
                }
                total += keep as u64;
                if let Some(item) = &item {
                    item.advance(keep as u64);
                }
            }
            if let Some(stop) = stop {
                break Err(stop);
            }
            if started.elapsed() >= self.deadline {
                break Err(Stop::Deadline);
            }
            window_bytes += n as u64;
            let window = window_start.elapsed();
            if self.min_rate > 0 && window >= self.min_rate_window {
                if (window_bytes as f64) < self.min_rate as f64 * window.as_secs_f64() {
                    break Err(Stop::TooSlow);
                }
                window_start = Instant::now();
                window_bytes = 0;
            }
        };
        if let Some(item) = &item {
            match &outcome {
                Ok(n) => item.finish(Ok(*n)),
                Err(Stop::Verify(e)) => item.finish(Err(&mismatch_text(e))),
                Err(Stop::TooLarge(max)) => item.finish(Err(&format!("larger than {max} bytes"))),
                Err(Stop::Read(e)) => item.finish(Err(&e.to_string())),
                Err(Stop::Write(e)) => item.finish(Err(&e.to_string())),
                Err(Stop::Deadline) => item.finish(Err("deadline passed")),
                Err(Stop::TooSlow) => item.finish(Err("slower than the minimum rate")),
            }
        }
        Ok(Transfer {
            status,
            headers,
            final_url,
            redirects,
            received,
            outcome,
        })
    }

    /// The error of a transfer stopped by its pace (deadline or minimum rate).
    fn pace_error(&self, stop: &Stop, url: String, received: u64) -> Option<AttemptError> {
        match stop {
            Stop::Deadline => Some(AttemptError::Deadline {
                url,
                deadline: self.deadline,
                received,
            }),
            Stop::TooSlow => Some(AttemptError::TooSlow {
                url,
                min_rate: self.min_rate,
                window: self.min_rate_window,
                received,
            }),
            _ => None,
        }
    }

    /// Fetch `req` into the store unless it is there already.
    pub fn fetch(&self, req: &Request, progress: &Progress) -> Result<Fetched, FetchError> {
        if let Some(path) = self.store.get(&req.expected) {
            // Only a verified rename puts a file there, but the disk or
            // another user of the cache may have changed it since: re-hash,
            // and fetch it anew if it no longer matches.
            if crate::verify::verify_file(&path, &req.expected).is_ok() {
                return Ok(Fetched {
                    path,
                    origin: Origin::Store,
                    failed: Vec::new(),
                });
            }
            let _ = fs::remove_file(&path);
        }
        if req.urls.is_empty() {
            return Err(FetchError::NoUrl {
                port: req.port.clone(),
                file: req.file.clone(),
            });
        }
        let label = format!("{} {}", req.port, req.file);
        let mut failed = Vec::new();
        for url in &req.urls {
            match self.fetch_one(req, url, &label, progress) {
                Ok(fetched) => {
                    return Ok(Fetched { failed, ..fetched });
                }
                Err(error) => failed.push(Attempt {
                    url: url.clone(),
                    error,
                }),
            }
            // Another process (or worker) may have stored it meanwhile.
            if let Some(path) = self.store.get(&req.expected) {
                return Ok(Fetched {
                    path,
                    origin: Origin::Store,
                    failed,
                });
            }
        }
        let any_quarantined = failed.iter().any(|a| {
            matches!(
                a.error,
                AttemptError::Quarantined { .. } | AttemptError::QuarantineFailed { .. }
            )
        });
        Err(if any_quarantined {
            FetchError::Quarantined {
                port: req.port.clone(),
                file: req.file.clone(),
                upstream_contact: req.upstream_contact.clone(),
                quarantine_dir: self.quarantine.dir().to_owned(),
                attempts: failed,
            }
        } else {
            FetchError::Failed {
                port: req.port.clone(),
                file: req.file.clone(),
                attempts: failed,
            }
        })
    }

    fn partial(&self) -> Result<(Partial, fs::File), AttemptError> {
        self.store.partial().map_err(|source| AttemptError::Store {
            path: self.store.dir().to_owned(),
            op: "create a temporary file in the distfile store",
            source,
        })
    }

    fn fetch_one(
        &self,
        req: &Request,
        url: &str,
        label: &str,
        progress: &Progress,
    ) -> Result<Fetched, AttemptError> {
        // `out` holds the partial's lock: it stays open until the file is
        // committed or quarantined, or a concurrent sweep could remove it.
        let (partial, mut out) = self.partial()?;
        let name = PathBuf::from(&req.file);
        let mut verifier = Verifier::new(&name, &req.expected);
        let Transfer {
            status,
            headers,
            final_url,
            redirects,
            received,
            outcome,
        } = self.transfer(url, label, &mut out, progress, req.expected.size, |chunk| {
            // Write what fits in the pinned size, so an oversized body keeps
            // exactly its first `size` bytes as evidence; the first byte past
            // it stops the transfer.
            let room = usize::try_from(req.expected.size - verifier.seen())
                .unwrap_or(usize::MAX)
                .min(chunk.len());
            let (fit, over) = chunk.split_at(room);
            if let Err(e) = verifier.update(fit) {
                return Check {
                    keep: 0,
                    stop: Some(Stop::Verify(e)),
                };
            }
            Check {
                keep: room,
                stop: (!over.is_empty())
                    .then(|| verifier.update(over).err().map(Stop::Verify))
                    .flatten(),
            }
        })?;
        let verified = match outcome {
            Ok(_) => verifier.finish(),
            Err(Stop::Verify(e)) => Err(e),
            Err(Stop::Read(source)) => {
                return Err(AttemptError::Transfer {
                    url: final_url,
                    source,
                });
            }
            Err(Stop::Write(source)) => {
                return Err(AttemptError::Store {
                    path: partial.path().to_owned(),
                    op: "write",
                    source,
                });
            }
            Err(Stop::TooLarge(max)) => {
                return Err(AttemptError::TooLarge {
                    url: final_url,
                    max,
                });
            }
            Err(stop @ (Stop::Deadline | Stop::TooSlow)) => {
                return Err(self
                    .pace_error(&stop, final_url, received)
                    .expect("a pace stop"));
            }
        };
        let store_err = |op| {
            let path = partial.path().to_owned();
            move |source| AttemptError::Store { path, op, source }
        };
        match verified {
            Ok(sha) => {
                if self.sync {
                    out.sync_all().map_err(store_err("sync"))?;
                }
                let path =
                    self.store
                        .commit(partial, &sha)
                        .map_err(|source| AttemptError::Store {
                            path: self.store.path(&sha),
                            op: "rename into the store",
                            source,
                        })?;
                drop(out);
                let bytes = req.expected.size;
                Ok(Fetched {
                    path,
                    origin: Origin::Downloaded {
                        url: url.to_owned(),
                        final_url,
                        bytes,
                    },
                    failed: Vec::new(),
                })
            }
            Err(error) => {
                out.flush().map_err(store_err("flush"))?;
                // The digest of the bytes as kept, read back from the file.
                let (kept_sha256, kept_size) =
                    digest_file(partial.path()).map_err(store_err("hash"))?;
                let mismatch = match &error {
                    VerifyError::SizeExceeded { .. } => Mismatch::SizeExceeded,
                    VerifyError::SizeMismatch { .. } => Mismatch::ShortSize,
                    _ => Mismatch::Sha256,
                };
                let record = Record {
                    id: String::new(),
                    port: req.port.clone(),
                    file: req.file.clone(),
                    url: req.urls[0].clone(),
                    mirror: url.to_owned(),
                    final_url,
                    redirects,
                    mismatch,
                    expected_sha256: req.expected.sha256.to_string(),
                    expected_size: req.expected.size,
                    kept_sha256: kept_sha256.to_string(),
                    kept_size,
                    received_size: received,
                    truncated: mismatch == Mismatch::SizeExceeded,
                    quarantined_at: 0,
                    quarantined_at_utc: String::new(),
                    times_seen: 1,
                    last_seen_at: 0,
                    last_seen_at_utc: String::new(),
                    also_seen: Vec::new(),
                    http_status: status,
                    http_headers: headers,
                    upstream_contact: req.upstream_contact.clone(),
                };
                let kept = partial.take();
                let result = match self.quarantine.put(&kept, record) {
                    Ok(record) => Err(AttemptError::Quarantined {
                        error,
                        record: Box::new(record),
                    }),
                    Err(source) => Err(AttemptError::QuarantineFailed {
                        error,
                        kept,
                        source: Box::new(source),
                    }),
                };
                drop(out);
                result
            }
        }
    }

    /// Download `req` to compute the lines that pin it (`port checksum`):
    /// the first URL that delivers a whole body of at most `max_size` bytes.
    /// Nothing is compared with the pin while downloading; the bytes enter the
    /// store only if they are the pinned ones, and are otherwise discarded
    /// (they are not a mismatch: the maintainer is asking what upstream serves).
    pub fn checksum(
        &self,
        req: &Request,
        max_size: u64,
        progress: &Progress,
    ) -> Result<Checksum, FetchError> {
        self.checksum_keeping(req, max_size, false, progress)
            .map(|(sum, _)| sum)
    }

    /// Download `req` once, compute the lines that pin it as
    /// [`Fetcher::checksum`] does, and put the bytes into the store under
    /// the sha256 just computed, whatever `req.expected` says: trust on
    /// first use, for `wport new`, whose pin is what the URL serves now.
    /// Returns the pin and the stored file, which is then what the new
    /// port's pin names byte for byte (no second download that a server
    /// could answer differently).
    pub fn checksum_and_store(
        &self,
        req: &Request,
        max_size: u64,
        progress: &Progress,
    ) -> Result<(Checksum, PathBuf), FetchError> {
        let (sum, path) = self.checksum_keeping(req, max_size, true, progress)?;
        Ok((sum, path.expect("kept bytes are stored")))
    }

    /// [`Fetcher::checksum`]; with `keep`, the bytes are stored even when
    /// they are not the pinned ones, and the stored path is returned.
    fn checksum_keeping(
        &self,
        req: &Request,
        max_size: u64,
        keep: bool,
        progress: &Progress,
    ) -> Result<(Checksum, Option<PathBuf>), FetchError> {
        if req.urls.is_empty() {
            return Err(FetchError::NoUrl {
                port: req.port.clone(),
                file: req.file.clone(),
            });
        }
        let label = format!("{} {}", req.port, req.file);
        let mut failed = Vec::new();
        for url in &req.urls {
            match self.checksum_one(req, url, &label, max_size, keep, progress) {
                Ok((mut sum, path)) => {
                    sum.failed = failed
                        .iter()
                        .map(|a: &Attempt| format!("{}: {}", a.url, a.error))
                        .collect();
                    return Ok((sum, path));
                }
                Err(error) => failed.push(Attempt {
                    url: url.clone(),
                    error,
                }),
            }
        }
        Err(FetchError::Failed {
            port: req.port.clone(),
            file: req.file.clone(),
            attempts: failed,
        })
    }

    fn checksum_one(
        &self,
        req: &Request,
        url: &str,
        label: &str,
        max_size: u64,
        keep: bool,
        progress: &Progress,
    ) -> Result<(Checksum, Option<PathBuf>), AttemptError> {
        let (partial, mut out) = self.partial()?;
        let mut hasher = sha2::Sha256::new();
        let mut size = 0u64;
        let Transfer {
            final_url,
            received,
            outcome,
            ..
        } = self.transfer(url, label, &mut out, progress, 0, |chunk| {
            size += chunk.len() as u64;
            if size > max_size {
                return Check {
                    keep: 0,
                    stop: Some(Stop::TooLarge(max_size)),
                };
            }
            hasher.update(chunk);
            Check {
                keep: chunk.len(),
                stop: None,
            }
        })?;
        match outcome {
            Ok(_) => {}
            Err(stop @ (Stop::Deadline | Stop::TooSlow)) => {
                return Err(self
                    .pace_error(&stop, final_url, received)
                    .expect("a pace stop"));
            }
            Err(Stop::Read(source)) => {
                return Err(AttemptError::Transfer {
                    url: final_url,
                    source,
                });
            }
            Err(Stop::TooLarge(max)) => {
                return Err(AttemptError::TooLarge {
                    url: final_url,
                    max,
                });
            }
            Err(Stop::Write(source)) => {
                return Err(AttemptError::Store {
                    path: partial.path().to_owned(),
                    op: "write",
                    source,
                });
            }
            Err(Stop::Verify(_)) => unreachable!("checksum does not verify while streaming"),
        }
        let sha256 = Sha256::from_bytes(hasher.finalize().into());
        let matches_pin = sha256 == req.expected.sha256 && size == req.expected.size;
        let mut stored = None;
        if matches_pin || keep {
            if self.sync {
                let _ = out.sync_all();
            }
            stored = Some(self.store.commit(partial, &sha256).map_err(|source| {
                AttemptError::Store {
                    path: self.store.path(&sha256),
                    op: "rename into the store",
                    source,
                }
            })?);
        }
        drop(out);
        Ok((
            Checksum {
                sha256,
                size,
                url: url.to_owned(),
                matches_pin,
                failed: Vec::new(),
            },
            stored,
        ))
    }

    /// Fetch every request, up to `jobs` at once. Requests for the same
    /// digest (one tarball used by several ports) go to the same worker, one
    /// after the other, so it is downloaded once. Results are in input order.
    pub fn fetch_all(
        &self,
        reqs: &[Request],
        jobs: usize,
        progress: &Progress,
    ) -> Vec<Result<Fetched, FetchError>> {
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for (i, r) in reqs.iter().enumerate() {
            match groups
                .iter_mut()
                .find(|g| reqs[g[0]].expected.sha256 == r.expected.sha256)
            {
                Some(g) => g.push(i),
                None => groups.push(vec![i]),
            }
        }
        let results: Vec<Mutex<Option<Result<Fetched, FetchError>>>> =
            reqs.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let workers = jobs.clamp(1, groups.len().max(1));
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| {
                    loop {
                        let g = next.fetch_add(1, Ordering::Relaxed);
                        let Some(group) = groups.get(g) else { break };
                        for &i in group {
                            let r = self.fetch(&reqs[i], progress);
                            *results[i].lock().expect("not poisoned") = Some(r);
                        }
                    }
                });
            }
        });
        results
            .into_iter()
            .map(|m| {
                m.into_inner()
                    .expect("not poisoned")
                    .expect("every request ran")
            })
            .collect()
    }
}

/// sha256 and length of a file.
pub fn digest_file(path: &Path) -> io::Result<(Sha256, u64)> {
    let mut f = fs::File::open(path)?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut n = 0u64;
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => {
                h.update(&buf[..k]);
                n += k as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((Sha256::from_bytes(h.finalize().into()), n))
}
