//! Reading the files a Portfile names, without trusting the port directory.
//!
//! `wport lint` runs in CI on ports from pull requests. A port directory is
//! attacker-controlled there: `files/fix.diff` can be a symbolic link to a
//! host secret (whose digest a help text would then print) or to
//! `/dev/zero`, and a FIFO blocks the reader forever. So no symbolic link
//! is followed anywhere below the port directory, only regular files are
//! opened (with `O_NONBLOCK`, so opening a FIFO cannot block, and checked
//! with `fstat` after opening), and nothing is read past a size limit.

use std::fs::{File, OpenOptions};
use std::io::Read as _;
use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
use std::path::Path;

use rustix::fs::OFlags;
use sha2::{Digest as _, Sha256};
use wport_manifest::Sha256Hex;

/// Largest Portfile read (real ones are a few kilobytes): the manifest
/// crate's one cap, so lint and build refuse the same files.
pub(crate) const PORTFILE_LIMIT: u64 = wport_manifest::MAX_PORTFILE_BYTES;
/// Largest component or patchfile read (and hashed).
pub(crate) const FILE_LIMIT: u64 = 256 << 20;

/// Why a file was not read.
#[derive(Debug)]
pub(crate) enum Refused {
    /// It does not exist, or a directory on the way does not.
    NotFound,
    /// `at` (a prefix of the path, relative to the port) is a symbolic link.
    Link { at: String },
    /// `at` is a directory, FIFO, socket or device, not a regular file.
    NotRegular { at: String, kind: &'static str },
    /// It is larger than `limit` bytes.
    TooLarge { limit: u64 },
    /// Any other I/O error.
    Io(std::io::Error),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::NotFound => f.write_str("no such file"),
            Refused::Link { at } => {
                write!(f, "`{at}` is a symbolic link, which lint does not follow")
            }
            Refused::NotRegular { at, kind } => write!(f, "`{at}` is a {kind}, not a regular file"),
            Refused::TooLarge { limit } => write!(f, "it is larger than {limit} bytes"),
            Refused::Io(err) => write!(f, "{err}"),
        }
    }
}

fn kind(ty: std::fs::FileType) -> &'static str {
    if ty.is_dir() {
        "directory"
    } else if ty.is_fifo() {
        "FIFO"
    } else if ty.is_socket() {
        "socket"
    } else if ty.is_block_device() || ty.is_char_device() {
        "device"
    } else if ty.is_symlink() {
        "symbolic link"
    } else {
        "special file"
    }
}

fn io(err: std::io::Error) -> Refused {
    if err.kind() == std::io::ErrorKind::NotFound {
        Refused::NotFound
    } else {
        Refused::Io(err)
    }
}

/// Opens `rel` (a `/`-separated path the schema already checked: relative,
/// no `..`) below `dir`, following no link on the way; returns the open
/// regular file and its length.
fn open_in_port(dir: &Path, rel: &str) -> Result<(File, u64), Refused> {
    let mut path = dir.to_path_buf();
    let mut at = String::new();
    let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
    for (i, part) in parts.iter().enumerate() {
        path.push(part);
        if !at.is_empty() {
            at.push('/');
        }
        at.push_str(part);
        let meta = std::fs::symlink_metadata(&path).map_err(io)?;
        let ty = meta.file_type();
        if ty.is_symlink() {
            return Err(Refused::Link { at });
        }
        let last = i + 1 == parts.len();
        if !last && !ty.is_dir() {
            return Err(Refused::NotRegular { at, kind: kind(ty) });
        }
    }
    open_regular(&path, &at)
}

/// Opens `path` (its last component not followed if a link) if it is a
/// regular file. `at` names it in errors.
fn open_regular(path: &Path, at: &str) -> Result<(File, u64), Refused> {
    let file: File = OpenOptions::new()
        .read(true)
        .custom_flags((OFlags::NOFOLLOW | OFlags::NONBLOCK).bits() as i32)
        .open(path)
        .map_err(|err| {
            // ELOOP: the last component is a symbolic link.
            if err.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
                Refused::Link { at: at.to_owned() }
            } else {
                io(err)
            }
        })?;
    let meta = file.metadata().map_err(io)?;
    if !meta.file_type().is_file() {
        return Err(Refused::NotRegular {
            at: at.to_owned(),
            kind: kind(meta.file_type()),
        });
    }
    Ok((file, meta.len()))
}

fn read_limited(file: File, len: u64, limit: u64) -> Result<Vec<u8>, Refused> {
    if len > limit {
        return Err(Refused::TooLarge { limit });
    }
    let mut bytes = Vec::with_capacity(len as usize);
    // The length can change after `fstat`: bound the read itself too.
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(Refused::TooLarge { limit });
    }
    Ok(bytes)
}

/// Reads `rel` below `dir` (see `open_in_port`), at most `limit` bytes.
pub(crate) fn read_in_port(dir: &Path, rel: &str, limit: u64) -> Result<Vec<u8>, Refused> {
    let (file, len) = open_in_port(dir, rel)?;
    read_limited(file, len, limit)
}

/// Reads the file at `path` (not followed if a link), at most `limit`
/// bytes. `at` names it in errors.
pub(crate) fn read_regular(path: &Path, at: &str, limit: u64) -> Result<Vec<u8>, Refused> {
    let (file, len) = open_regular(path, at)?;
    read_limited(file, len, limit)
}

/// The sha256 and length of `rel` below `dir` (see `open_in_port`),
/// streamed: a distfile is not held in memory, and hashing stops past
/// `limit` bytes (a distfile's pinned size: past it, it cannot match).
pub(crate) fn hash_in_port(dir: &Path, rel: &str, limit: u64) -> Result<(Sha256Hex, u64), Refused> {
    let (file, _) = open_in_port(dir, rel)?;
    let mut hasher = Sha256::new();
    let mut reader = file.take(limit.saturating_add(1));
    let mut buf = vec![0u8; 64 << 10];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > limit {
            return Err(Refused::TooLarge { limit });
        }
        hasher.update(&buf[..n]);
    }
    Ok((Sha256Hex::from_bytes(hasher.finalize().into()), total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_fifos_and_directories_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::create_dir(d.join("files")).unwrap();
        std::fs::write(d.join("files/ok.diff"), b"x").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", d.join("files/secret.diff")).unwrap();
        std::os::unix::fs::symlink("files", d.join("linked")).unwrap();
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            d.join("files/fifo.diff"),
            rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR,
        )
        .unwrap();

        assert_eq!(read_in_port(d, "files/ok.diff", 10).unwrap(), b"x");
        assert!(
            matches!(read_in_port(d, "files/secret.diff", 10), Err(Refused::Link { at }) if at == "files/secret.diff")
        );
        assert!(
            matches!(read_in_port(d, "linked/ok.diff", 10), Err(Refused::Link { at }) if at == "linked")
        );
        assert!(matches!(
            read_in_port(d, "files/fifo.diff", 10),
            Err(Refused::NotRegular { kind: "FIFO", .. })
        ));
        assert!(matches!(
            read_in_port(d, "files", 10),
            Err(Refused::NotRegular {
                kind: "directory",
                ..
            })
        ));
        assert!(matches!(
            read_in_port(d, "files/none.diff", 10),
            Err(Refused::NotFound)
        ));
        assert!(matches!(
            read_in_port(d, "files/ok.diff/x", 10),
            Err(Refused::NotRegular { .. })
        ));
        assert!(matches!(
            read_in_port(d, "files/ok.diff", 0),
            Err(Refused::TooLarge { limit: 0 })
        ));
        assert!(matches!(
            hash_in_port(d, "files/ok.diff", 0),
            Err(Refused::TooLarge { limit: 0 })
        ));
        assert!(matches!(
            hash_in_port(d, "files/fifo.diff", 10),
            Err(Refused::NotRegular { .. })
        ));
        let (digest, len) = hash_in_port(d, "files/ok.diff", 1).unwrap();
        assert_eq!(
            (digest.to_string().as_str(), len),
            (
                "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",
                1
            )
        );
    }
}
