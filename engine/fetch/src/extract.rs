//! Safe extraction of source archives (tar, tar.gz, tar.xz, tar.bz2, tar.zst, zip)
//! into a directory handle.
//!
//! An archive is data written by someone else; extracting it must not let that
//! someone write anywhere but inside `dest`, nor exhaust the disk or memory. The
//! rules, each with its own [`ExtractError`] variant:
//!
//! - entry names are relative, without `..`, NUL or emptiness ([`ExtractError::UnsafePath`]);
//! - symlink targets are relative and stay inside `dest`, hard links name an
//!   existing regular file inside `dest` ([`ExtractError::LinkEscape`]);
//! - no entry is written through a symlink, whether an earlier entry of the same
//!   archive made it or it was already in `dest` ([`ExtractError::ThroughSymlink`],
//!   GNU tar CVE-2025-45582, tar-rs RUSTSEC-2021-0080 / RUSTSEC-2026-0067);
//! - no device nodes, fifos or sockets ([`ExtractError::SpecialFile`]);
//! - no sparse files, GNU (`S`) or PAX (`GNU.sparse.*`): their holes are
//!   written from the header's map, outside every decompression bound
//!   ([`ExtractError::Sparse`]);
//! - modes are normalised: no setuid/setgid/sticky, no group/other write, owner
//!   can always read and write (and enter directories); files keep their x bits;
//! - [`Limits`] bound total bytes, per-entry bytes, entry count, the
//!   decompression ratio and per-entry header metadata ([`ExtractError::LimitExceeded`]);
//! - existing entries are never replaced except a regular file by a later
//!   duplicate entry (which unlinks it first, so another hard link to the old
//!   file is not modified) ([`ExtractError::Conflict`]).
//!
//! How: the destination is walked one component at a time with
//! `open_dir_nofollow`, so every directory handle we hold is a real directory
//! reached without a symlink, and files are created with `O_CREAT|O_EXCL`, which
//! never follows a symlink. cap-std additionally confines every operation to
//! `dest`; we never re-open anything inside `dest` by an ambient path.
//!
//! Compressed tarballs are decompressed on their own thread, which hands 128 KiB
//! chunks over a bounded channel to the tar reader, so inflating and writing
//! overlap (as `tar -xzf` does with its `gzip` child).

use std::cell::Cell;
use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs;
use std::io::{self, BufReader, Read, Seek, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, SystemTime};

use cap_fs_ext::{
    DirExt as _, FollowSymlinks, OpenOptionsFollowExt as _, OpenOptionsMaybeDirExt as _,
};
use cap_std::fs::{Dir, DirBuilder, DirBuilderExt as _, OpenOptions, OpenOptionsExt as _};
use wport_types::PathRules;

use crate::text::{TypeByte, shown};

/// The ratio limit is only enforced once this many decompressed bytes have come
/// out: tar's zero padding makes tiny archives compress far beyond any sane ratio
/// (an empty 10 KiB tarball gzips to ~40 bytes), and a bomb needs volume to hurt.
pub const RATIO_GRACE_BYTES: u64 = 4 << 20;

/// Most header metadata (GNU long names, PAX records) the tar reader may buffer
/// for one entry. The tar crate reads those into memory whole, so without this
/// bound one header could claim gigabytes of "file name".
pub const MAX_METADATA_BYTES: u64 = 1 << 20;

/// Most components in an entry path. The walk holds one directory handle per
/// level, so this also bounds open file descriptors; real trees stay far below.
pub const MAX_PATH_DEPTH: usize = 256;

/// Longest symlink target read from a zip entry (zip stores it as file data).
const MAX_ZIP_LINK_TARGET: u64 = 4096;

/// Decompressed bytes handed from the decompressor thread per message.
const CHUNK: usize = 128 * 1024;
/// Chunks in flight between the decompressor thread and the tar reader.
const CHANNEL_DEPTH: usize = 8;
/// Buffer for copying one entry's data to disk.
const COPY_BUF: usize = 256 * 1024;

/// Resource bounds for one extraction. `Default` gives limits generous for any
/// real source tarball and fatal to decompression bombs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Total bytes of file content written (default 8 GiB).
    pub max_total_bytes: u64,
    /// Number of entries: files, directories and links (default 1,000,000).
    pub max_entries: u64,
    /// Uncompressed / compressed bytes, checked continuously once
    /// [`RATIO_GRACE_BYTES`] have been produced (default 200; real source tarballs
    /// are below 20).
    pub max_ratio: u64,
    /// Bytes of any single file (default 4 GiB).
    pub max_entry_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_total_bytes: 8 << 30,
            max_entries: 1_000_000,
            max_ratio: 200,
            max_entry_bytes: 4 << 30,
        }
    }
}

/// Which bound an archive hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// [`Limits::max_total_bytes`].
    TotalBytes,
    /// [`Limits::max_entries`].
    Entries,
    /// [`Limits::max_ratio`].
    Ratio,
    /// [`Limits::max_entry_bytes`].
    EntryBytes,
    /// [`MAX_METADATA_BYTES`] (not configurable).
    MetadataBytes,
    /// [`MAX_PATH_DEPTH`] (not configurable).
    PathDepth,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::TotalBytes => "total extracted bytes",
            Limit::Entries => "number of entries",
            Limit::Ratio => "decompression ratio",
            Limit::EntryBytes => "bytes of one entry",
            Limit::MetadataBytes => "header metadata bytes of one entry",
            Limit::PathDepth => "components in one path",
        })
    }
}

/// The archive formats [`extract`] recognises by their magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    Tar,
    TarGz,
    TarXz,
    TarBz2,
    TarZst,
    Zip,
}

/// What an extraction produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtractReport {
    /// Entries created: files, directories, symlinks, hard links.
    pub entries: u64,
    /// Bytes of file content written.
    pub bytes: u64,
    /// Distinct first path components, in order of first appearance (lossy UTF-8).
    /// A single element is the usual `name-version/` source directory.
    pub top_level: Vec<String>,
    /// Latest modification time (Unix seconds) of any entry: a deterministic
    /// `SOURCE_DATE_EPOCH` for the build.
    pub max_mtime: Option<u64>,
}

/// Why an extraction stopped. Policy outcomes are variants carrying the entry
/// name (lossy UTF-8, as stored in the archive); what was extracted before the
/// failure stays in `dest` (always inside it).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractError {
    /// The archive could not be opened or read before extraction began.
    #[error("{}: cannot read archive: {source}", archive.display())]
    Open {
        archive: PathBuf,
        #[source]
        source: io::Error,
    },
    /// No known magic bytes.
    #[error("{}: unrecognised archive format (expected tar, tar.gz, tar.xz, tar.bz2, tar.zst or zip)", archive.display())]
    UnknownFormat { archive: PathBuf },
    /// The archive (or its compression) is malformed or truncated.
    #[error("{}: corrupt archive{}: {source}", archive.display(), entry.as_ref().map(|e| format!(" at entry {}", shown(e))).unwrap_or_default())]
    Corrupt {
        archive: PathBuf,
        entry: Option<String>,
        #[source]
        source: io::Error,
    },
    /// An absolute name, a `..` component, a NUL byte or an empty name.
    #[error("entry {}: unsafe path (absolute, '..', NUL or empty)", shown(entry))]
    UnsafePath { entry: String },
    /// A symlink pointing outside `dest` (or absolute), or a hard link not naming
    /// an existing regular file inside `dest`.
    #[error(
        "entry {}: link to {} escapes the destination or names no regular file in it",
        shown(entry),
        shown(target)
    )]
    LinkEscape { entry: String, target: String },
    /// The entry's path goes through a symlink (`symlink` is the offending prefix).
    #[error("entry {}: path goes through symlink {}", shown(entry), shown(symlink))]
    ThroughSymlink { entry: String, symlink: String },
    /// A device node, fifo or socket.
    #[error("entry {}: refusing to create a {kind}", shown(entry))]
    SpecialFile { entry: String, kind: &'static str },
    /// An entry type this extractor does not handle; `kind` is the raw
    /// type byte of the header (shown as `entry type 'V' (0x56)`).
    #[error("entry {}: unsupported {}", shown(entry), TypeByte(*kind))]
    Unsupported { entry: String, kind: u8 },
    /// A sparse file (GNU type `S`, or a PAX header with `GNU.sparse.*`
    /// records). Refused: its holes are zeros that come from the header's
    /// map, not from the compressed stream, so ~200 bytes of archive would
    /// write gigabytes without ever moving the decompression ratio; and a
    /// PAX sparse file would otherwise land under its placeholder name
    /// `GNUSparseFile.N/...`. Upstream source tarballs do not use them.
    #[error(
        "{}: entry {}: {format} sparse file refused (source archives do not use sparse \
         entries; their holes would bypass the decompression bounds); repack the archive \
         without --sparse",
        archive.display(), shown(entry)
    )]
    Sparse {
        archive: PathBuf,
        entry: String,
        /// `"GNU"` (type `S`) or `"PAX"` (`GNU.sparse.*` records).
        format: &'static str,
    },
    /// A [`Limits`] bound was hit.
    #[error("{}: limit exceeded: {what} > {limit}", entry.as_deref().map_or_else(|| "archive".to_owned(), shown))]
    LimitExceeded {
        what: Limit,
        limit: u64,
        entry: Option<String>,
    },
    /// Something other than a regular file already has this name (or a parent
    /// name is not a directory); it is left alone.
    #[error("entry {}: would replace an existing {existing}", shown(entry))]
    Conflict {
        entry: String,
        existing: &'static str,
    },
    /// A filesystem operation failed.
    #[error("entry {}: {op} failed: {source}", shown(entry))]
    Io {
        entry: String,
        op: &'static str,
        #[source]
        source: io::Error,
    },
}

/// Extracts `archive` into `dest`. See the module docs for the rules.
pub fn extract(archive: &Path, dest: &Dir, limits: &Limits) -> Result<ExtractReport, ExtractError> {
    let open_err = |source| ExtractError::Open {
        archive: archive.into(),
        source,
    };
    let mut file = fs::File::open(archive).map_err(open_err)?;
    let compressed_len = file.metadata().map_err(open_err)?.len();
    let format = detect(&mut file).map_err(open_err)?;
    let format = format.ok_or_else(|| ExtractError::UnknownFormat {
        archive: archive.into(),
    })?;
    file.rewind().map_err(open_err)?;
    let mut x = Extractor::new(dest, limits, archive);
    match format {
        Format::Zip => extract_zip(file, compressed_len, &mut x)?,
        tar => extract_tar(file, tar, &mut x)?,
    }
    Ok(x.report)
}

/// Identifies an archive by its first bytes (the position is left anywhere).
pub fn detect(file: &mut fs::File) -> io::Result<Option<Format>> {
    let mut head = [0u8; 512];
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let h = &head[..n];
    Ok(if h.starts_with(&[0x1f, 0x8b]) {
        Some(Format::TarGz)
    } else if h.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Some(Format::TarXz)
    } else if h.starts_with(b"BZh") {
        Some(Format::TarBz2)
    } else if h.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some(Format::TarZst)
    } else if h.starts_with(b"PK\x03\x04") || h.starts_with(b"PK\x05\x06") {
        Some(Format::Zip)
    } else if n == 512 && (&h[257..262] == b"ustar" || tar_checksum_ok(h)) {
        Some(Format::Tar)
    } else {
        None
    })
}

/// Pre-POSIX (v7) tar has no magic; a valid header checksum is the best sign.
fn tar_checksum_ok(h: &[u8]) -> bool {
    let field = &h[148..156];
    let digits: Vec<u8> = field
        .iter()
        .copied()
        .filter(|c| (b'0'..=b'7').contains(c))
        .collect();
    if digits.is_empty() || h.iter().all(|&b| b == 0) {
        return false;
    }
    let Ok(stored) = u32::from_str_radix(std::str::from_utf8(&digits).unwrap_or("x"), 8) else {
        return false;
    };
    let sum: u32 = h[..148]
        .iter()
        .chain(&h[156..])
        .map(|&b| u32::from(b))
        .sum::<u32>()
        + 8 * 32;
    sum == stored
}

// ---------------------------------------------------------------------------
// The tar pipeline: file -> [decompressor thread] -> channel -> metered reader -> tar

/// Failures raised by the byte stream under the tar reader. The tar crate only
/// sees an `io::Error`; the typed failure waits here to be reported precisely.
enum StreamFailure {
    Limit { what: Limit, limit: u64 },
    Decode(io::Error),
}

/// Shared between the stream (owned by `tar::Archive`) and the extraction loop.
#[derive(Default)]
struct Meter {
    failure: Cell<Option<StreamFailure>>,
    /// Counting bytes toward [`MAX_METADATA_BYTES`] (only while the tar crate is
    /// reading headers, i.e. during `Entries::next`).
    armed: Cell<bool>,
    since_arm: Cell<u64>,
}

impl Meter {
    fn arm(&self) {
        self.armed.set(true);
        self.since_arm.set(0);
    }

    fn disarm(&self) {
        self.armed.set(false);
    }

    fn fail(&self, f: StreamFailure) -> io::Error {
        self.failure.set(Some(f));
        io::Error::other("archive stream stopped")
    }

    /// Accounts for `n` bytes just handed to the tar reader.
    fn count(&self, n: usize) -> io::Result<()> {
        if self.armed.get() {
            let total = self.since_arm.get() + n as u64;
            self.since_arm.set(total);
            if total > MAX_METADATA_BYTES + 1024 {
                return Err(self.fail(StreamFailure::Limit {
                    what: Limit::MetadataBytes,
                    limit: MAX_METADATA_BYTES,
                }));
            }
        }
        Ok(())
    }
}

enum Msg {
    Data(Vec<u8>, usize),
    End,
    Fail(StreamFailure),
}

/// The tar reader's end of the channel.
struct ChannelReader {
    rx: mpsc::Receiver<Msg>,
    recycle: mpsc::SyncSender<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
    len: usize,
    ended: bool,
    meter: Rc<Meter>,
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.len {
            if self.ended {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Msg::Data(buf, len)) => {
                    let old = std::mem::replace(&mut self.cur, buf);
                    // The decompressor reuses spent buffers; if it has enough, drop this one.
                    if old.len() == CHUNK {
                        let _ = self.recycle.try_send(old);
                    }
                    self.pos = 0;
                    self.len = len;
                }
                Ok(Msg::End) => self.ended = true,
                Ok(Msg::Fail(f)) => return Err(self.meter.fail(f)),
                // The thread went away without saying End: never take that for a
                // clean end of archive, or a crash would look like a short tarball.
                Err(_) => {
                    return Err(self.meter.fail(StreamFailure::Decode(io::Error::other(
                        "decompressor thread stopped unexpectedly",
                    ))));
                }
            }
        }
        let n = out.len().min(self.len - self.pos);
        out[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        self.meter.count(n)?;
        Ok(n)
    }
}

/// An uncompressed tarball read directly (no thread: there is nothing to overlap).
struct PlainReader {
    inner: BufReader<fs::File>,
    meter: Rc<Meter>,
}

impl Read for PlainReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        self.meter.count(n)?;
        Ok(n)
    }
}

/// Counts compressed bytes consumed, for the ratio check.
struct CountingReader {
    inner: fs::File,
    count: u64,
}

impl Read for CountingReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        self.count += n as u64;
        Ok(n)
    }
}

/// Runs on the decompressor thread: inflates `file`, enforces the ratio, and
/// sends chunks until the reader hangs up or the stream ends.
fn decompress(
    file: fs::File,
    format: Format,
    max_ratio: u64,
    tx: mpsc::SyncSender<Msg>,
    recycle: mpsc::Receiver<Vec<u8>>,
) {
    let input = BufReader::with_capacity(
        256 * 1024,
        CountingReader {
            inner: file,
            count: 0,
        },
    );
    // Multi-member/multi-stream decoders: `cat a.gz b.gz` is a valid .gz, as
    // GNU tar (through gzip) accepts.
    let mut decoder: Box<dyn DecoderRead> = match format {
        Format::TarGz => Box::new(flate2::bufread::MultiGzDecoder::new(input)),
        Format::TarXz => Box::new(xz2::bufread::XzDecoder::new_multi_decoder(input)),
        Format::TarBz2 => Box::new(bzip2::bufread::MultiBzDecoder::new(input)),
        Format::TarZst => match zstd::stream::read::Decoder::with_buffer(input) {
            Ok(d) => Box::new(d),
            Err(e) => {
                let _ = tx.send(Msg::Fail(StreamFailure::Decode(e)));
                return;
            }
        },
        Format::Tar | Format::Zip => unreachable!("not a compressed tarball"),
    };
    let mut produced: u64 = 0;
    loop {
        let mut buf = recycle.try_recv().unwrap_or_default();
        buf.resize(CHUNK, 0);
        let mut len = 0;
        while len < CHUNK {
            match decoder.read(&mut buf[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = tx.send(Msg::Fail(StreamFailure::Decode(e)));
                    return;
                }
            }
        }
        if len == 0 {
            let _ = tx.send(Msg::End);
            return;
        }
        produced += len as u64;
        let consumed = decoder.consumed().max(1);
        if produced > RATIO_GRACE_BYTES && produced > consumed.saturating_mul(max_ratio) {
            let _ = tx.send(Msg::Fail(StreamFailure::Limit {
                what: Limit::Ratio,
                limit: max_ratio,
            }));
            return;
        }
        if tx.send(Msg::Data(buf, len)).is_err() {
            return; // the reader stopped (error or end of archive)
        }
    }
}

/// A decoder that can say how many compressed bytes it has pulled from the file.
trait DecoderRead: Read {
    fn consumed(&self) -> u64;
}

macro_rules! consumed_via_get_ref {
    ($($t:ty),*) => {$(
        impl DecoderRead for $t {
            fn consumed(&self) -> u64 {
                self.get_ref().get_ref().count
            }
        }
    )*};
}
type Input = BufReader<CountingReader>;
consumed_via_get_ref!(
    flate2::bufread::MultiGzDecoder<Input>,
    xz2::bufread::XzDecoder<Input>,
    bzip2::bufread::MultiBzDecoder<Input>,
    zstd::stream::read::Decoder<'static, Input>
);

fn extract_tar(file: fs::File, format: Format, x: &mut Extractor<'_>) -> Result<(), ExtractError> {
    let archive = x.archive.clone();
    let archive = archive.as_path();
    let meter = Rc::new(Meter::default());
    let (stream, worker): (Box<dyn Read>, Option<thread::JoinHandle<()>>) = if format == Format::Tar
    {
        let inner = BufReader::with_capacity(256 * 1024, file);
        (
            Box::new(PlainReader {
                inner,
                meter: meter.clone(),
            }),
            None,
        )
    } else {
        let (tx, rx) = mpsc::sync_channel(CHANNEL_DEPTH);
        let (recycle_tx, recycle_rx) = mpsc::sync_channel(CHANNEL_DEPTH + 2);
        let max_ratio = x.limits.max_ratio;
        let worker = thread::Builder::new()
            .name("wport-decompress".into())
            .spawn(move || decompress(file, format, max_ratio, tx, recycle_rx))
            .map_err(|source| ExtractError::Open {
                archive: archive.into(),
                source,
            })?;
        let reader = ChannelReader {
            rx,
            recycle: recycle_tx,
            cur: Vec::new(),
            pos: 0,
            len: 0,
            ended: false,
            meter: meter.clone(),
        };
        (Box::new(reader), Some(worker))
    };

    let mut tar = tar::Archive::new(stream);
    let result = tar_loop(&mut tar, x, &meter);
    // Dropping the reader hangs up the channel, which stops the thread.
    drop(tar);
    if let Some(worker) = worker
        && worker.join().is_err()
        && result.is_ok()
    {
        return Err(ExtractError::Corrupt {
            archive: archive.into(),
            entry: None,
            source: io::Error::other("decompressor thread panicked"),
        });
    }
    result
}

fn tar_loop(
    tar: &mut tar::Archive<Box<dyn Read>>,
    x: &mut Extractor<'_>,
    meter: &Meter,
) -> Result<(), ExtractError> {
    let archive = x.archive.clone();
    // A failure of the stream itself (ratio, metadata bound, decoder) is the
    // precise cause; the tar crate's error wrapping it is only the symptom.
    let precise = |e: ExtractError, entry: Option<&str>| match meter.failure.take() {
        Some(StreamFailure::Limit { what, limit }) => ExtractError::LimitExceeded {
            what,
            limit,
            entry: entry.map(Into::into),
        },
        Some(StreamFailure::Decode(source)) => ExtractError::Corrupt {
            archive: archive.clone(),
            entry: entry.map(Into::into),
            source,
        },
        None => e,
    };
    let corrupt = |source| ExtractError::Corrupt {
        archive: archive.clone(),
        entry: None,
        source,
    };
    let mut entries = tar.entries().map_err(|e| precise(corrupt(e), None))?;
    loop {
        meter.arm();
        let next = entries.next();
        meter.disarm();
        let mut entry = match next {
            None => return Ok(()),
            Some(Ok(entry)) => entry,
            Some(Err(e)) => return Err(precise(corrupt(e), None)),
        };
        let name_bytes = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&name_bytes).into_owned();
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() {
            // Archive-wide defaults (often just a commit id from `git archive`); the
            // fields we use come from each entry's own headers.
            x.drain(&mut entry, &name)
                .map_err(|e| precise(e, Some(&name)))?;
            continue;
        }
        // Before anything of the entry is written: see ExtractError::Sparse.
        let sparse = if kind.is_gnu_sparse() {
            Some("GNU")
        } else if pax_sparse(&mut entry) {
            Some("PAX")
        } else {
            None
        };
        if let Some(format) = sparse {
            return Err(ExtractError::Sparse {
                archive: archive.clone(),
                entry: name,
                format,
            });
        }
        let mtime = tar_mtime(&mut entry);
        let mode = entry.header().mode().unwrap_or(0o644);
        let step = (|| {
            use tar::EntryType as T;
            match kind {
                // Pre-POSIX archives mark directories with a trailing slash only.
                T::Regular | T::Continuous if name_bytes.ends_with(b"/") => {
                    let path = x.begin(&name_bytes, &name, mtime)?;
                    x.dir(&path, mode)?;
                    x.drain(&mut entry, &name)
                }
                T::Regular | T::Continuous => {
                    let path = x.begin(&name_bytes, &name, mtime)?;
                    // PAX-aware: a PAX `size` record overrides the ustar field
                    // (RUSTSEC-2026-0068, RUSTSEC-2025-0111).
                    let size = entry.size();
                    x.file(&path, mode, size, &mut entry, mtime)
                }
                T::Directory => {
                    let path = x.begin(&name_bytes, &name, mtime)?;
                    x.dir(&path, mode)?;
                    x.drain(&mut entry, &name)
                }
                T::Symlink => {
                    let path = x.begin(&name_bytes, &name, mtime)?;
                    let target = entry
                        .link_name_bytes()
                        .map(|t| t.into_owned())
                        .unwrap_or_default();
                    x.symlink(&path, &target)?;
                    x.drain(&mut entry, &name)
                }
                T::Link => {
                    let path = x.begin(&name_bytes, &name, mtime)?;
                    let target = entry
                        .link_name_bytes()
                        .map(|t| t.into_owned())
                        .unwrap_or_default();
                    x.hard_link(&path, &target)?;
                    x.drain(&mut entry, &name)
                }
                T::Char => Err(ExtractError::SpecialFile {
                    entry: name.clone(),
                    kind: "character device",
                }),
                T::Block => Err(ExtractError::SpecialFile {
                    entry: name.clone(),
                    kind: "block device",
                }),
                T::Fifo => Err(ExtractError::SpecialFile {
                    entry: name.clone(),
                    kind: "fifo",
                }),
                other => Err(ExtractError::Unsupported {
                    entry: name.clone(),
                    kind: other.as_byte(),
                }),
            }
        })();
        step.map_err(|e| precise(e, Some(&name)))?;
    }
}

/// Whether the entry's PAX header carries GNU sparse records (formats 0.0,
/// 0.1 and 1.0 all use `GNU.sparse.*` keys; 1.0 also renames the entry
/// `GNUSparseFile.N/...` and puts the map in the data).
fn pax_sparse<R: Read>(entry: &mut tar::Entry<'_, R>) -> bool {
    match entry.pax_extensions() {
        Ok(Some(pax)) => pax
            .flatten()
            .any(|ext| ext.key_bytes().starts_with(b"GNU.sparse.")),
        _ => false,
    }
}

/// The entry's mtime: PAX `mtime` (which may be fractional) over the ustar field.
fn tar_mtime<R: Read>(entry: &mut tar::Entry<'_, R>) -> Option<u64> {
    if let Ok(Some(pax)) = entry.pax_extensions() {
        for ext in pax.flatten() {
            if ext.key_bytes() == b"mtime" {
                let v = ext.value().ok()?;
                let whole = v.split('.').next().unwrap_or("");
                return whole.parse::<u64>().ok();
            }
        }
    }
    entry.header().mtime().ok()
}

// ---------------------------------------------------------------------------
// zip

fn extract_zip(
    file: fs::File,
    compressed_len: u64,
    x: &mut Extractor<'_>,
) -> Result<(), ExtractError> {
    let archive = x.archive.clone();
    let corrupt = |entry: Option<String>, e: zip::result::ZipError| ExtractError::Corrupt {
        archive: archive.clone(),
        entry,
        source: io::Error::other(e),
    };
    let mut za = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| corrupt(None, e))?;
    if za.len() as u64 > x.limits.max_entries {
        return Err(ExtractError::LimitExceeded {
            what: Limit::Entries,
            limit: x.limits.max_entries,
            entry: None,
        });
    }
    let mut declared_total: u64 = 0;
    for i in 0..za.len() {
        let mut zf = za.by_index(i).map_err(|e| corrupt(None, e))?;
        let name_bytes = match zf.name() {
            Ok(n) => n.as_bytes().to_vec(),
            Err(_) => zf.name_raw().to_vec(),
        };
        let name = String::from_utf8_lossy(&name_bytes).into_owned();
        let mtime = zf.last_modified().and_then(zip_time_to_unix);
        let unix_mode = zf.unix_mode();
        const S_IFMT: u32 = 0o170000;
        let kind = unix_mode.map(|m| m & S_IFMT).unwrap_or(0);
        let special = match kind {
            0o020000 => Some("character device"),
            0o060000 => Some("block device"),
            0o010000 => Some("fifo"),
            0o140000 => Some("socket"),
            _ => None,
        };
        if let Some(kind) = special {
            return Err(ExtractError::SpecialFile { entry: name, kind });
        }
        let mode = unix_mode.map(|m| m & 0o7777);
        if kind == 0o120000 || zf.is_symlink() {
            let path = x.begin(&name_bytes, &name, mtime)?;
            let mut target = Vec::new();
            (&mut zf)
                .take(MAX_ZIP_LINK_TARGET + 1)
                .read_to_end(&mut target)
                .map_err(|source| x.corrupt(&name, source))?;
            if target.len() as u64 > MAX_ZIP_LINK_TARGET {
                return Err(ExtractError::LinkEscape {
                    entry: name,
                    target: "(over 4096 bytes)".into(),
                });
            }
            x.symlink(&path, &target)?;
        } else if kind == 0o040000 || zf.is_dir() {
            let path = x.begin(&name_bytes, &name, mtime)?;
            x.dir(&path, mode.unwrap_or(0o755))?;
        } else {
            let path = x.begin(&name_bytes, &name, mtime)?;
            let size = zf.size();
            declared_total = declared_total.saturating_add(size);
            let ratio_bomb = |produced: u64, consumed: u64| {
                produced > RATIO_GRACE_BYTES
                    && produced > consumed.max(1).saturating_mul(x.limits.max_ratio)
            };
            if ratio_bomb(size, zf.compressed_size()) || ratio_bomb(declared_total, compressed_len)
            {
                return Err(ExtractError::LimitExceeded {
                    what: Limit::Ratio,
                    limit: x.limits.max_ratio,
                    entry: Some(name),
                });
            }
            x.file(&path, mode.unwrap_or(0o644), size, &mut zf, mtime)?;
        }
    }
    Ok(())
}

/// Zip times are local civil time without a zone; read them as UTC.
fn zip_time_to_unix(t: zip::DateTime) -> Option<u64> {
    let secs = wport_types::date::unix_from_civil(
        i64::from(t.year()),
        i64::from(t.month()),
        i64::from(t.day()),
        i64::from(t.hour()),
        i64::from(t.minute()),
        i64::from(t.second()),
    );
    u64::try_from(secs).ok()
}

// ---------------------------------------------------------------------------
// Writing into the destination

/// A validated entry path: zero or more parent directories and a final name
/// (`None` for the destination root itself, e.g. a `./` entry).
struct EntryPath<'a> {
    entry: &'a str,
    parents: Vec<&'a OsStr>,
    name: Option<&'a OsStr>,
}

/// Splits a stored name into normal components, refusing absolute names, `..`,
/// NUL and empty names. `.` and empty components (`a//b`) are dropped: the
/// shared relative-path core under [`PathRules::ARCHIVE`].
fn components(raw: &[u8]) -> Option<Vec<&OsStr>> {
    let parts = PathRules::ARCHIVE.components(raw).ok()?;
    Some(parts.into_iter().map(OsStr::from_bytes).collect())
}

/// Whether a symlink in a directory `depth` levels below the root, with this
/// target, resolves inside the root.
///
/// Stricter than lexical containment: `..` may only lead the target. A `..` after
/// a normal component (`sub/../x`) would be applied by the kernel *after*
/// following `sub`, which may itself be a symlink, so lexical and real resolution
/// differ. With leading `..` only, the climb happens from the link's own
/// directory, which we reached without symlinks, so lexical is real; and every
/// symlink met while descending is itself held to this rule.
fn link_target_inside(depth: usize, target: &[u8]) -> bool {
    if target.is_empty() || target.contains(&0) || target[0] == b'/' {
        return false;
    }
    let mut ups = 0usize;
    let mut descended = false;
    for c in target.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." if descended => return false,
            b".." => {
                ups += 1;
                if ups > depth {
                    return false;
                }
            }
            _ => descended = true,
        }
    }
    true
}

/// File mode: keep read and execute bits, drop setuid/setgid/sticky and
/// group/other write, always let the owner read and write.
fn file_mode(mode: u32) -> u32 {
    (mode & 0o755) | 0o600
}

/// Directory mode: as for files, and the owner can always list and enter it.
fn dir_mode(mode: u32) -> u32 {
    (mode & 0o755) | 0o700
}

enum Existing {
    Missing,
    File,
    Dir,
    Symlink,
    Other,
}

fn existing(dir: &Dir, name: &OsStr) -> io::Result<Existing> {
    match dir.symlink_metadata(name) {
        Ok(m) => {
            let t = m.file_type();
            Ok(if t.is_symlink() {
                Existing::Symlink
            } else if t.is_file() {
                Existing::File
            } else if t.is_dir() {
                Existing::Dir
            } else {
                Existing::Other
            })
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Existing::Missing),
        Err(e) => Err(e),
    }
}

fn join_display(parts: &[&OsStr]) -> String {
    let mut s = String::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            s.push('/');
        }
        s.push_str(&p.to_string_lossy());
    }
    s
}

/// Per-extraction state: the destination walk, the limits and the report.
struct Extractor<'d> {
    archive: PathBuf,
    root: &'d Dir,
    /// Open handles for the last parent path walked, one per component: tar
    /// entries come grouped by directory, so most walks reuse all of them.
    stack: Vec<(OsString, Dir)>,
    limits: Limits,
    report: ExtractReport,
    top_seen: HashSet<Vec<u8>>,
    buf: Vec<u8>,
}

impl<'d> Extractor<'d> {
    fn new(root: &'d Dir, limits: &Limits, archive: &Path) -> Self {
        Self {
            archive: archive.into(),
            root,
            stack: Vec::new(),
            limits: *limits,
            report: ExtractReport::default(),
            top_seen: HashSet::new(),
            buf: vec![0u8; COPY_BUF],
        }
    }

    /// Consumes data an entry carries but we do not use (a directory or link with a
    /// nonzero size, a PAX global header), charging it to the total-bytes budget.
    fn drain(&mut self, entry: &mut dyn Read, name: &str) -> Result<(), ExtractError> {
        let left = self
            .limits
            .max_total_bytes
            .saturating_sub(self.report.bytes);
        let n = io::copy(&mut entry.take(left.saturating_add(1)), &mut io::sink())
            .map_err(|source| self.corrupt(name, source))?;
        if n > left {
            return Err(ExtractError::LimitExceeded {
                what: Limit::TotalBytes,
                limit: self.limits.max_total_bytes,
                entry: Some(name.into()),
            });
        }
        Ok(())
    }

    fn corrupt(&self, entry: &str, source: io::Error) -> ExtractError {
        ExtractError::Corrupt {
            archive: self.archive.clone(),
            entry: Some(entry.into()),
            source,
        }
    }

    /// Validates an entry's name and accounts for it in the report and limits.
    fn begin<'a>(
        &mut self,
        raw: &'a [u8],
        entry: &'a str,
        mtime: Option<u64>,
    ) -> Result<EntryPath<'a>, ExtractError> {
        let comps = components(raw).ok_or_else(|| ExtractError::UnsafePath {
            entry: entry.into(),
        })?;
        if comps.len() > MAX_PATH_DEPTH {
            return Err(ExtractError::LimitExceeded {
                what: Limit::PathDepth,
                limit: MAX_PATH_DEPTH as u64,
                entry: Some(entry.into()),
            });
        }
        self.report.entries += 1;
        if self.report.entries > self.limits.max_entries {
            return Err(ExtractError::LimitExceeded {
                what: Limit::Entries,
                limit: self.limits.max_entries,
                entry: Some(entry.into()),
            });
        }
        if let Some(first) = comps.first()
            && !self.top_seen.contains(first.as_bytes())
        {
            self.top_seen.insert(first.as_bytes().to_vec());
            self.report
                .top_level
                .push(first.to_string_lossy().into_owned());
        }
        if let Some(t) = mtime {
            self.report.max_mtime = Some(self.report.max_mtime.map_or(t, |m| m.max(t)));
        }
        let mut parents = comps;
        let name = parents.pop();
        Ok(EntryPath {
            entry,
            parents,
            name,
        })
    }

    /// Returns a handle on the entry's parent directory, creating missing
    /// directories, refusing to pass through a symlink or a non-directory.
    fn parent(&mut self, path: &EntryPath<'_>) -> Result<&Dir, ExtractError> {
        let common = self
            .stack
            .iter()
            .zip(&path.parents)
            .take_while(|((have, _), want)| have.as_os_str() == **want)
            .count();
        self.stack.truncate(common);
        for i in common..path.parents.len() {
            let comp = path.parents[i];
            let base = self.stack.last().map_or(self.root, |(_, d)| d);
            let dir = open_or_create_dir(base, comp, path.entry, &path.parents[..=i])?;
            self.stack.push((comp.to_owned(), dir));
        }
        Ok(self.stack.last().map_or(self.root, |(_, d)| d))
    }

    fn dir(&mut self, path: &EntryPath<'_>, mode: u32) -> Result<(), ExtractError> {
        let Some(name) = path.name else { return Ok(()) }; // "./": the root itself
        let entry = path.entry;
        let parent = self.parent(path)?;
        let mut builder = DirBuilder::new();
        builder.mode(dir_mode(mode));
        match parent.create_dir_with(name, &builder) {
            Ok(()) => {
                // Only a directory we just created gets a mode, through a handle
                // opened without following links (and so independent of umask).
                set_dir_mode(parent, name, dir_mode(mode))
                    .map_err(|source| io_err(entry, "set permissions", source))
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                // Leave an existing directory's mode alone. Changing it is how
                // RUSTSEC-2026-0067 chmod-ed directories outside the root (through
                // a symlink of the same name).
                match existing(parent, name).map_err(|source| io_err(entry, "stat", source))? {
                    Existing::Dir => Ok(()),
                    Existing::Symlink => Err(ExtractError::ThroughSymlink {
                        entry: entry.into(),
                        symlink: join_display(&full(path)),
                    }),
                    Existing::File => Err(ExtractError::Conflict {
                        entry: entry.into(),
                        existing: "file",
                    }),
                    Existing::Other | Existing::Missing => Err(ExtractError::Conflict {
                        entry: entry.into(),
                        existing: "special file",
                    }),
                }
            }
            Err(source) => Err(io_err(entry, "create directory", source)),
        }
    }

    /// Writes a regular file. `size` is the declared size; the copy is bounded by
    /// the limits whatever the data turns out to hold.
    fn file(
        &mut self,
        path: &EntryPath<'_>,
        mode: u32,
        size: u64,
        data: &mut dyn Read,
        mtime: Option<u64>,
    ) -> Result<(), ExtractError> {
        let entry = path.entry;
        let Some(name) = path.name else {
            return Err(ExtractError::UnsafePath {
                entry: entry.into(),
            });
        };
        let limits = self.limits;
        let too_big = |what, limit| ExtractError::LimitExceeded {
            what,
            limit,
            entry: Some(entry.into()),
        };
        if size > limits.max_entry_bytes {
            return Err(too_big(Limit::EntryBytes, limits.max_entry_bytes));
        }
        if self.report.bytes.saturating_add(size) > limits.max_total_bytes {
            return Err(too_big(Limit::TotalBytes, limits.max_total_bytes));
        }
        let mut buf = std::mem::take(&mut self.buf);
        let result = (|| {
            let parent = self.parent(path)?;
            let file = create_file(parent, name, path)?;
            let mut out = file.into_std();
            let mut written: u64 = 0;
            loop {
                let n = match data.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(self.corrupt(entry, e)),
                };
                written += n as u64;
                if written > limits.max_entry_bytes {
                    return Err(too_big(Limit::EntryBytes, limits.max_entry_bytes));
                }
                if self.report.bytes + written > limits.max_total_bytes {
                    return Err(too_big(Limit::TotalBytes, limits.max_total_bytes));
                }
                out.write_all(&buf[..n])
                    .map_err(|source| io_err(entry, "write", source))?;
            }
            self.report.bytes += written;
            out.set_permissions(fs::Permissions::from_mode(file_mode(mode)))
                .map_err(|source| io_err(entry, "set permissions", source))?;
            if let Some(t) = mtime {
                // Builds compare mtimes (make; autotools' configure vs configure.ac).
                let when = SystemTime::UNIX_EPOCH + Duration::from_secs(t);
                out.set_times(fs::FileTimes::new().set_modified(when).set_accessed(when))
                    .map_err(|source| io_err(entry, "set mtime", source))?;
            }
            Ok(())
        })();
        self.buf = buf;
        result
    }

    fn symlink(&mut self, path: &EntryPath<'_>, target: &[u8]) -> Result<(), ExtractError> {
        let entry = path.entry;
        let escape = || ExtractError::LinkEscape {
            entry: entry.into(),
            target: String::from_utf8_lossy(target).into_owned(),
        };
        let Some(name) = path.name else {
            return Err(ExtractError::UnsafePath {
                entry: entry.into(),
            });
        };
        // RUSTSEC-2021-0080 / RUSTSEC-2018-0002: a link to outside, then a write
        // through it. We refuse the link itself, and (below) any write through any link.
        if !link_target_inside(path.parents.len(), target) {
            return Err(escape());
        }
        let target_os = OsStr::from_bytes(target);
        let parent = self.parent(path)?;
        for attempt in 0..2 {
            match parent.symlink(target_os, name) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt == 0 => {
                    match existing(parent, name).map_err(|source| io_err(entry, "stat", source))? {
                        // Replacing a regular file by a (checked) link writes nothing through it.
                        Existing::File => parent
                            .remove_file(name)
                            .map_err(|source| io_err(entry, "remove previous file", source))?,
                        Existing::Symlink => {
                            return Err(ExtractError::Conflict {
                                entry: entry.into(),
                                existing: "symlink",
                            });
                        }
                        Existing::Dir => {
                            return Err(ExtractError::Conflict {
                                entry: entry.into(),
                                existing: "directory",
                            });
                        }
                        Existing::Other | Existing::Missing => {
                            return Err(ExtractError::Conflict {
                                entry: entry.into(),
                                existing: "special file",
                            });
                        }
                    }
                }
                Err(source) => return Err(io_err(entry, "create symlink", source)),
            }
        }
        unreachable!("the second attempt returns")
    }

    fn hard_link(&mut self, path: &EntryPath<'_>, target: &[u8]) -> Result<(), ExtractError> {
        let entry = path.entry;
        let escape = || ExtractError::LinkEscape {
            entry: entry.into(),
            target: String::from_utf8_lossy(target).into_owned(),
        };
        let Some(name) = path.name else {
            return Err(ExtractError::UnsafePath {
                entry: entry.into(),
            });
        };
        // Hard link names are relative to the archive root, and must name a regular
        // file that is already there: never anything outside, never a symlink
        // (RUSTSEC-2018-0002: a hard link to /etc/passwd, then a write to it).
        let mut tcomps = components(target).ok_or_else(escape)?;
        let tname = tcomps.pop().ok_or_else(escape)?;
        let mut tdir = self
            .root
            .try_clone()
            .map_err(|source| io_err(entry, "open destination", source))?;
        for c in &tcomps {
            tdir = tdir.open_dir_nofollow(c).map_err(|_| escape())?;
        }
        match existing(&tdir, tname) {
            Ok(Existing::File) => {}
            _ => return Err(escape()),
        }
        if tcomps == path.parents && tname == name {
            return Ok(()); // a link to itself: nothing to do
        }
        let parent = self.parent(path)?;
        clear_for_file(parent, name, path)?;
        tdir.hard_link(tname, parent, name)
            .map_err(|source| io_err(entry, "create hard link", source))
    }
}

fn full<'a>(path: &EntryPath<'a>) -> Vec<&'a OsStr> {
    let mut v = path.parents.clone();
    v.extend(path.name);
    v
}

fn io_err(entry: &str, op: &'static str, source: io::Error) -> ExtractError {
    ExtractError::Io {
        entry: entry.into(),
        op,
        source,
    }
}

/// Opens `comp` under `base` as a directory without following a symlink,
/// creating it if missing. `so_far` is the path up to and including `comp`.
fn open_or_create_dir(
    base: &Dir,
    comp: &OsStr,
    entry: &str,
    so_far: &[&OsStr],
) -> Result<Dir, ExtractError> {
    let classify = |base: &Dir| -> ExtractError {
        match existing(base, comp) {
            // CVE-2025-45582: the symlink may come from an earlier archive
            // extracted into the same directory; it is refused all the same.
            Ok(Existing::Symlink) => ExtractError::ThroughSymlink {
                entry: entry.into(),
                symlink: join_display(so_far),
            },
            Ok(Existing::File) => ExtractError::Conflict {
                entry: entry.into(),
                existing: "file (where a directory is needed)",
            },
            Ok(Existing::Other) => ExtractError::Conflict {
                entry: entry.into(),
                existing: "special file (where a directory is needed)",
            },
            Ok(Existing::Dir | Existing::Missing) => io_err(
                entry,
                "open directory",
                io::Error::other(format!("cannot open {}", join_display(so_far))),
            ),
            Err(source) => io_err(entry, "stat", source),
        }
    };
    match base.open_dir_nofollow(comp) {
        Ok(d) => return Ok(d),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(_) => return Err(classify(base)),
    }
    let mut builder = DirBuilder::new();
    builder.mode(0o755);
    let created = match base.create_dir_with(comp, &builder) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
        Err(source) => return Err(io_err(entry, "create directory", source)),
    };
    let dir = base.open_dir_nofollow(comp).map_err(|_| classify(base))?;
    if created {
        set_dir_mode(base, comp, 0o755)
            .map_err(|source| io_err(entry, "set permissions", source))?;
    }
    Ok(dir)
}

/// Sets a directory's mode with `fchmod` on a read handle opened without
/// following a symlink (directory handles from `open_dir` are `O_PATH`, which
/// `fchmod` refuses).
fn set_dir_mode(parent: &Dir, name: &OsStr, mode: u32) -> io::Result<()> {
    let mut opts = OpenOptions::new();
    opts.read(true).follow(FollowSymlinks::No).maybe_dir(true);
    let f = parent.open_with(name, &opts)?.into_std();
    if !f.metadata()?.is_dir() {
        return Err(io::Error::other("not a directory"));
    }
    f.set_permissions(fs::Permissions::from_mode(mode))
}

/// Creates `name` exclusively (`O_CREAT|O_EXCL` never follows a symlink). A
/// regular file already there is unlinked first; anything else is refused.
fn create_file(
    parent: &Dir,
    name: &OsStr,
    path: &EntryPath<'_>,
) -> Result<cap_std::fs::File, ExtractError> {
    let entry = path.entry;
    let mut opts = OpenOptions::new();
    // 0o600 until the data is in: nobody else reads a half-written file.
    opts.write(true).create_new(true).mode(0o600);
    match parent.open_with(name, &opts) {
        Ok(f) => return Ok(f),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(source) => return Err(io_err(entry, "create file", source)),
    }
    clear_for_file(parent, name, path)?;
    parent
        .open_with(name, &opts)
        .map_err(|source| io_err(entry, "create file", source))
}

/// Make room for a regular file (or hard link) named `name` in `parent`: a
/// duplicate regular file is unlinked, so its old inode (maybe hard-linked
/// elsewhere) is not modified; a symlink, directory or special file there is
/// refused, never written through or replaced.
fn clear_for_file(parent: &Dir, name: &OsStr, path: &EntryPath<'_>) -> Result<(), ExtractError> {
    let entry = path.entry;
    match existing(parent, name).map_err(|source| io_err(entry, "stat", source))? {
        Existing::Missing => Ok(()),
        Existing::File => parent
            .remove_file(name)
            .map_err(|source| io_err(entry, "remove previous file", source)),
        Existing::Symlink => Err(ExtractError::ThroughSymlink {
            entry: entry.into(),
            symlink: join_display(&full(path)),
        }),
        Existing::Dir => Err(ExtractError::Conflict {
            entry: entry.into(),
            existing: "directory",
        }),
        Existing::Other => Err(ExtractError::Conflict {
            entry: entry.into(),
            existing: "special file",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_refuse_unsafe_names() {
        assert!(components(b"").is_none());
        assert!(components(b"/etc/passwd").is_none());
        assert!(components(b"a/../../b").is_none());
        assert!(components(b"a/..").is_none());
        assert!(components(b"a\0b").is_none());
        assert_eq!(
            components(b"./a//b/.").unwrap(),
            vec![OsStr::new("a"), OsStr::new("b")]
        );
        assert!(components(b"./").unwrap().is_empty());
    }

    #[test]
    fn link_targets() {
        assert!(link_target_inside(0, b"a/b"));
        assert!(link_target_inside(1, b"../x"));
        assert!(link_target_inside(1, b".."));
        assert!(!link_target_inside(0, b".."));
        assert!(!link_target_inside(1, b"../../x"));
        assert!(!link_target_inside(3, b"/etc"));
        assert!(!link_target_inside(3, b""));
        assert!(!link_target_inside(3, b"a/../b"));
        assert!(link_target_inside(2, b"./../.././x"));
    }

    #[test]
    fn modes() {
        assert_eq!(file_mode(0o4755), 0o755);
        assert_eq!(file_mode(0o666), 0o644);
        assert_eq!(file_mode(0o000), 0o600);
        assert_eq!(file_mode(0o700), 0o700);
        assert_eq!(dir_mode(0o1777), 0o755);
        assert_eq!(dir_mode(0o000), 0o700);
    }

    #[test]
    fn zip_epoch() {
        let t = zip::DateTime::from_date_and_time(1980, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(zip_time_to_unix(t), Some(315_532_800));
        let t = zip::DateTime::from_date_and_time(2024, 2, 29, 12, 34, 56).unwrap();
        assert_eq!(zip_time_to_unix(t), Some(1_709_210_096));
    }
}
