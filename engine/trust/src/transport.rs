//! Where metadata and targets come from. The trust layer never talks to
//! the network itself: it asks a [`Transport`] for bytes with a length
//! bound, and the transport must stop reading past it (endless-data
//! attack). [`FileTransport`] serves a repository from a directory (or
//! `file://` URL); an HTTP transport lives with the network code.

use std::fs::File;
use std::io::Read;

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The document does not exist (ends the root chain walk).
    #[error("not found")]
    NotFound,
    /// More than `max_len` bytes were offered.
    #[error("longer than {0} bytes")]
    TooLarge(u64),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

/// Fetches a document: `location` is the repository's base URL or path
/// joined with the (already encoded) relative name.
pub trait Transport {
    /// At most `max_len` bytes of `location`; more is `TooLarge`, detected
    /// while reading (never by trusting a length the server announces).
    fn fetch(&self, location: &str, max_len: u64) -> Result<Vec<u8>, TransportError>;
}

impl<T: Transport + ?Sized> Transport for &T {
    fn fetch(&self, location: &str, max_len: u64) -> Result<Vec<u8>, TransportError> {
        (**self).fetch(location, max_len)
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn fetch(&self, location: &str, max_len: u64) -> Result<Vec<u8>, TransportError> {
        (**self).fetch(location, max_len)
    }
}

/// Reads locations as local paths (`file://` prefix allowed), decoding the
/// percent-encoding the client applied to names.
#[derive(Debug, Default, Clone, Copy)]
pub struct FileTransport;

/// Joins a base (URL or path) and a relative, encoded name.
pub fn join(base: &str, name: &str) -> String {
    if base.ends_with('/') {
        format!("{base}{name}")
    } else {
        format!("{base}/{name}")
    }
}

fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

impl Transport for FileTransport {
    fn fetch(&self, location: &str, max_len: u64) -> Result<Vec<u8>, TransportError> {
        use std::os::unix::ffi::OsStrExt;
        let path = location.strip_prefix("file://").unwrap_or(location);
        // Decode segment by segment: an encoded "/" (%2F) must not become a
        // separator again.
        let mut decoded = std::path::PathBuf::new();
        for (i, seg) in path.split('/').enumerate() {
            if i == 0 && seg.is_empty() {
                decoded.push("/");
                continue;
            }
            let bytes = percent_decode(seg).ok_or_else(|| {
                TransportError::Other(format!("bad percent-encoding in {location}"))
            })?;
            // A decoded separator or dot segment would let one encoded
            // name reach another directory: refuse, as a careful server does.
            if bytes.contains(&b'/') || bytes == b"." || bytes == b".." {
                return Err(TransportError::Other(format!(
                    "encoded separator or dot segment in {location}"
                )));
            }
            decoded.push(std::ffi::OsStr::from_bytes(&bytes));
        }
        let file = File::open(&decoded).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => TransportError::NotFound,
            _ => TransportError::Other(e.to_string()),
        })?;
        let mut buf = Vec::new();
        file.take(max_len.saturating_add(1))
            .read_to_end(&mut buf)
            .map_err(|e| TransportError::Other(e.to_string()))?;
        if buf.len() as u64 > max_len {
            return Err(TransportError::TooLarge(max_len));
        }
        Ok(buf)
    }
}
