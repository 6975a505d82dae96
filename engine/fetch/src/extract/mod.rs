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
//!
//! Code map: this file is the API ([`extract`], [`detect`], [`Limits`],
//! [`ExtractError`]); `stream` is the decompression stream under the tar
//! reader; `untar` and `unzip` turn each format's entries into calls on the
//! destination; `dest` is the destination (the `Extractor`: entry paths,
//! link targets, the handle walk, file creation, modes).

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

mod dest;
mod stream;
mod untar;
mod unzip;

use dest::*;
use stream::*;
use untar::*;
use unzip::*;

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
pub(super) const MAX_ZIP_LINK_TARGET: u64 = 4096;

/// Decompressed bytes handed from the decompressor thread per message.
pub(super) const CHUNK: usize = 128 * 1024;
/// Chunks in flight between the decompressor thread and the tar reader.
pub(super) const CHANNEL_DEPTH: usize = 8;
/// Buffer for copying one entry's data to disk.
pub(super) const COPY_BUF: usize = 256 * 1024;

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
pub(super) fn tar_checksum_ok(h: &[u8]) -> bool {
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
