//! Verification of downloaded bytes: SHA-256 digests, declared sizes, and the
//! quarantine rule that an unverified file never reaches its final name.
//!
//! The size is checked while the bytes flow, not at the end: a source that sends
//! more than the Portfile declared is cut off at once ([`VerifyError::SizeExceeded`])
//! instead of filling the disk first. The digest can only be checked at the end,
//! so [`copy_verified`] writes to a temporary name in the destination directory and
//! renames it into place only after both checks pass.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use cap_std::fs::{Dir, OpenOptions};
use sha2::Digest as _;

/// Bytes read per step when streaming: large enough to keep syscalls rare, small
/// enough that a too-long stream is stopped within this many bytes of its limit.
const CHUNK: usize = 64 * 1024;

/// The SHA-256 digest type, shared with the Portfile schema (wport-types):
/// 64 lowercase hex digits as text.
pub use wport_types::{Sha256, Sha256Error};

/// What a Portfile pins for one distfile: its digest and its exact size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    /// The SHA-256 of the whole file.
    pub sha256: Sha256,
    /// The exact length in bytes.
    pub size: u64,
}

/// A verification failure. Every variant names the file concerned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// More bytes arrived than the declared size; reading stopped at once.
    #[error("{}: more than the declared {limit} bytes arrived; stopped reading", file.display())]
    SizeExceeded { file: PathBuf, limit: u64 },
    /// The stream ended before the declared size.
    #[error("{}: size mismatch: expected {expected} bytes, got {actual}", file.display())]
    SizeMismatch {
        file: PathBuf,
        expected: u64,
        actual: u64,
    },
    /// The size matched but the content did not.
    #[error("{}: sha256 mismatch: expected {expected}, got {actual}", file.display())]
    DigestMismatch {
        file: PathBuf,
        expected: Sha256,
        actual: Sha256,
    },
    /// The destination name is not a single plain file name.
    #[error("{}: not a plain file name (no '/', '.', '..' or NUL allowed)", file.display())]
    InvalidName { file: PathBuf },
    /// The source is a FIFO, device, socket or directory: a FIFO would block
    /// the copy for ever, a device stream for ever. Checked on the opened
    /// file, which was opened without blocking.
    #[error("{}: is a {kind}, not a regular file", file.display())]
    NotRegularFile { file: PathBuf, kind: &'static str },
    /// An I/O operation failed; `op` says which.
    #[error("{}: {op} failed: {source}", file.display())]
    Io {
        file: PathBuf,
        op: &'static str,
        #[source]
        source: io::Error,
    },
}

/// Incremental, size-bounded SHA-256 check, for callers that receive bytes in
/// pieces (a network transport). [`stream_verified`] is built on it.
pub struct Verifier {
    file: PathBuf,
    expected: Expected,
    hasher: sha2::Sha256,
    seen: u64,
}

impl Verifier {
    /// Starts checking bytes of `file` (used only to name it in errors).
    pub fn new(file: impl Into<PathBuf>, expected: &Expected) -> Self {
        Self {
            file: file.into(),
            expected: *expected,
            hasher: sha2::Sha256::new(),
            seen: 0,
        }
    }

    /// Feeds the next bytes. Fails, without hashing them, if they would take the
    /// total past the declared size: the caller must then stop reading and discard
    /// what it has.
    pub fn update(&mut self, bytes: &[u8]) -> Result<(), VerifyError> {
        let len = bytes.len() as u64;
        match self.seen.checked_add(len) {
            Some(total) if total <= self.expected.size => {
                self.seen = total;
                self.hasher.update(bytes);
                Ok(())
            }
            _ => Err(VerifyError::SizeExceeded {
                file: self.file.clone(),
                limit: self.expected.size,
            }),
        }
    }

    /// Bytes accepted so far.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// Ends the stream: checks the size, then the digest.
    pub fn finish(self) -> Result<Sha256, VerifyError> {
        if self.seen != self.expected.size {
            return Err(VerifyError::SizeMismatch {
                file: self.file,
                expected: self.expected.size,
                actual: self.seen,
            });
        }
        let actual = Sha256::from(self.hasher);
        if actual != self.expected.sha256 {
            return Err(VerifyError::DigestMismatch {
                file: self.file,
                expected: self.expected.sha256,
                actual,
            });
        }
        Ok(actual)
    }
}

/// Streams `src` into `dst` while hashing. Stops with
/// [`VerifyError::SizeExceeded`] as soon as more than `expected.size` bytes
/// arrive (the excess is never written), and ends with a size then digest check.
/// `file` names the stream in errors. Returns the number of bytes copied.
///
/// `dst` receives the bytes before the digest is known: write to a quarantine
/// location (as [`copy_verified`] does), never to the final one.
pub fn stream_verified<R: Read, W: Write>(
    mut src: R,
    mut dst: W,
    expected: &Expected,
    file: &Path,
) -> Result<u64, VerifyError> {
    let mut verifier = Verifier::new(file, expected);
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match src.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(VerifyError::Io {
                    file: file.into(),
                    op: "read",
                    source,
                });
            }
        };
        verifier.update(&buf[..n])?;
        dst.write_all(&buf[..n]).map_err(|source| VerifyError::Io {
            file: file.into(),
            op: "write",
            source,
        })?;
    }
    dst.flush().map_err(|source| VerifyError::Io {
        file: file.into(),
        op: "flush",
        source,
    })?;
    let seen = verifier.seen();
    verifier.finish()?;
    Ok(seen)
}

/// Checks that the file at `path` has exactly the expected size and digest.
pub fn verify_file(path: &Path, expected: &Expected) -> Result<(), VerifyError> {
    let file = fs::File::open(path).map_err(|source| VerifyError::Io {
        file: path.into(),
        op: "open",
        source,
    })?;
    stream_verified(file, io::sink(), expected, path).map(drop)
}

/// Copies `src` into `dst_dir` under `name`, verifying it on the way.
///
/// The bytes go to a fresh temporary name in `dst_dir` (created exclusively, so
/// nothing already there is followed or overwritten); only once size and digest
/// match is it synced and renamed to `name`, atomically replacing any previous file
/// of that name. On any failure the temporary file is removed and `name` is left
/// untouched. `name` must be a single plain file name. `src` must be a
/// regular file ([`VerifyError::NotRegularFile`] otherwise; a FIFO does not
/// block it).
pub fn copy_verified(
    src: &Path,
    dst_dir: &Dir,
    name: &str,
    expected: &Expected,
) -> Result<(), VerifyError> {
    let target = PathBuf::from(name);
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(VerifyError::InvalidName { file: target });
    }
    let (input, _) = crate::transport::open_regular(src).map_err(|e| match e {
        crate::transport::OpenRegular::Io(op, source) => VerifyError::Io {
            file: src.into(),
            op,
            source,
        },
        crate::transport::OpenRegular::NotRegular(kind) => VerifyError::NotRegularFile {
            file: src.into(),
            kind,
        },
    })?;

    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // Not derived from `name`: a 255-byte name must still have a temporary name.
    let tmp = format!(
        ".wport-partial.{}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    let out = dst_dir
        .open_with(&tmp, &opts)
        .map_err(|source| VerifyError::Io {
            file: target.clone(),
            op: "create temporary file",
            source,
        })?;

    let result = (|| {
        let mut out = io::BufWriter::with_capacity(CHUNK, out);
        stream_verified(input, &mut out, expected, src)?;
        let out = out.into_inner().map_err(|e| VerifyError::Io {
            file: target.clone(),
            op: "write",
            source: e.into_error(),
        })?;
        out.sync_all().map_err(|source| VerifyError::Io {
            file: target.clone(),
            op: "sync",
            source,
        })?;
        drop(out);
        dst_dir
            .rename(&tmp, dst_dir, name)
            .map_err(|source| VerifyError::Io {
                file: target.clone(),
                op: "rename into place",
                source,
            })
    })();
    if result.is_err() {
        // Best effort: the verification error is the one worth reporting.
        let _ = dst_dir.remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_round_trips_and_rejects_bad_text() {
        let d = Sha256::of(b"abc");
        let s = d.to_string();
        assert_eq!(
            s,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(s.parse::<Sha256>().unwrap(), d);
        assert!(s.to_uppercase().parse::<Sha256>().is_err());
        assert!(s[1..].parse::<Sha256>().is_err());
        assert!(format!("{s}0").parse::<Sha256>().is_err());
        assert!(s.replace('b', "g").parse::<Sha256>().is_err());
    }

    #[test]
    fn verifier_refuses_the_byte_past_the_size() {
        let exp = Expected {
            sha256: Sha256::of(b"ab"),
            size: 2,
        };
        let mut v = Verifier::new("x", &exp);
        v.update(b"ab").unwrap();
        assert!(matches!(
            v.update(b"c"),
            Err(VerifyError::SizeExceeded { limit: 2, .. })
        ));
    }
}
