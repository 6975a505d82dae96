//! Transports: one request for one URL, never following a redirect.
//!
//! A [`Transport`] answers a single GET with a [`Reply`]: a body to stream, a
//! redirect to consider, or a status to report. Redirects are followed by
//! [`crate::download`], not by the HTTP library, so that every hop passes
//! [`check_redirect`] (no https -> http downgrade, no other scheme) and loops
//! are caught. Tests inject their own transport, as tough's `Transport` lets
//! its tests read from disk.
//!
//! [`HttpTransport`] is ureq over rustls (webpki roots, no native TLS, no
//! content decoding: the bytes hashed are the bytes served), with a connect
//! timeout and a per-read timeout, so a stalled server fails instead of
//! hanging a build. The whole transfer of one URL also has a deadline, and the
//! body a minimum rate ([`TransportConfig::deadline`],
//! [`TransportConfig::min_rate`]; enforced while streaming by
//! [`crate::download::Fetcher`]), so a server trickling one byte a second
//! cannot hold a build for days. [`FileTransport`] serves `file://` URLs from
//! regular files only, opened so that a FIFO cannot block.

use std::fmt;
use std::io::{self, Read};
use std::path::PathBuf;
use std::time::Duration;

use crate::text::shown;

/// Timeouts and bounds of the network transports.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// Name resolution, TCP connect and TLS handshake, each.
    pub connect_timeout: Duration,
    /// Waiting for the response headers, and for each read of the body: a
    /// server that stops sending for this long fails the attempt.
    pub read_timeout: Duration,
    /// Redirects followed per URL before giving up.
    pub max_redirects: u32,
    /// The whole download of one URL, from the first request to the last
    /// byte, redirects included (default 2 hours: a 4 GiB tarball at
    /// 600 kB/s). Past it the attempt fails with
    /// [`crate::download::AttemptError::Deadline`].
    pub deadline: Duration,
    /// The slowest average rate accepted over each [`Self::min_rate_window`]
    /// of the body, in bytes per second (default 1024; 0 turns the check
    /// off). A slower body fails with [`crate::download::AttemptError::TooSlow`]
    /// (curl's `--speed-limit`). A server that sends nothing at all is
    /// caught sooner by [`Self::read_timeout`].
    pub min_rate: u64,
    /// The window of [`Self::min_rate`] (default 60 s; curl's `--speed-time`).
    pub min_rate_window: Duration,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(30),
            max_redirects: 10,
            deadline: Duration::from_secs(2 * 60 * 60),
            min_rate: 1024,
            min_rate_window: Duration::from_secs(60),
        }
    }
}

/// The URL schemes wport fetches from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Https,
    Http,
    File,
}

impl Scheme {
    /// The scheme of `url`, if it is one wport fetches from (case-insensitive).
    pub fn of(url: &str) -> Option<Scheme> {
        let (scheme, rest) = url.split_once("://")?;
        let _ = rest;
        match scheme.to_ascii_lowercase().as_str() {
            "https" => Some(Scheme::Https),
            "http" => Some(Scheme::Http),
            "file" => Some(Scheme::File),
            _ => None,
        }
    }
}

/// The body of a reply: a stream, read once.
pub type Body = Box<dyn Read + Send>;

/// What one request returned, before any redirect is followed.
pub enum Reply {
    /// 2xx (or a file): the bytes to stream.
    Body {
        status: Option<u16>,
        headers: Vec<(String, String)>,
        /// The length the server announced, if any (for progress only: the
        /// bound is always the Portfile's size).
        length: Option<u64>,
        body: Body,
    },
    /// 301, 302, 303, 307 or 308 with a `Location`.
    Redirect {
        status: u16,
        headers: Vec<(String, String)>,
        location: String,
    },
    /// Any other status: nothing to download.
    Status {
        status: u16,
        headers: Vec<(String, String)>,
    },
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Body { status, length, .. } => {
                write!(f, "Body {{ status: {status:?}, length: {length:?} }}")
            }
            Reply::Redirect {
                status, location, ..
            } => write!(f, "Redirect {{ {status} -> {location} }}"),
            Reply::Status { status, .. } => write!(f, "Status({status})"),
        }
    }
}

/// Why one request failed before any byte of a body was read. Each names the URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The scheme is not https, http or file.
    #[error("{url}: unsupported URL scheme (wport fetches https://, http:// and file:// only)")]
    UnsupportedScheme { url: String },
    /// Connecting or waiting for the response took longer than allowed.
    #[error("{url}: timed out ({what})")]
    Timeout { url: String, what: String },
    /// Resolution, connection, TLS or protocol failure.
    #[error("{url}: {message}")]
    Network { url: String, message: String },
    /// A `file://` URL could not be opened.
    #[error("{}: {op}: {source}", path.display())]
    File {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: io::Error,
    },
    /// A `file://` URL names a FIFO, a device, a socket or a directory: a
    /// FIFO would block the reader for ever, `/dev/zero` would stream for
    /// ever. Refused after opening without blocking, by the opened file's type.
    #[error("{}: is a {kind}, not a regular file; a file:// source must be a regular file", path.display())]
    NotRegularFile { path: PathBuf, kind: &'static str },
}

/// One GET for one URL, without following redirects.
pub trait Transport: Send + Sync {
    fn get(&self, url: &str) -> Result<Reply, TransportError>;
}

/// https and http through ureq (rustls), plus `file://`.
pub struct HttpTransport {
    agent: ureq::Agent,
    config: TransportConfig,
}

impl HttpTransport {
    pub fn new(config: TransportConfig) -> Self {
        let agent = ureq::Agent::config_builder()
            // We follow redirects ourselves (the downgrade and scheme policy);
            // with 0, ureq hands back the 3xx response as it is.
            .max_redirects(0)
            .max_redirects_will_error(false)
            .http_status_as_error(false)
            .timeout_resolve(Some(config.connect_timeout))
            .timeout_connect(Some(config.connect_timeout))
            .timeout_send_request(Some(config.connect_timeout))
            .timeout_recv_response(Some(config.read_timeout))
            .timeout_per_read(Some(config.read_timeout))
            // End to end, body included: a read blocked past the deadline is
            // cut too (the fetcher checks it between reads).
            .timeout_global(Some(config.deadline))
            .user_agent(concat!("wport/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        HttpTransport { agent, config }
    }

    /// The settings this transport was made with.
    pub fn config(&self) -> &TransportConfig {
        &self.config
    }
}

impl Default for HttpTransport {
    fn default() -> Self {
        HttpTransport::new(TransportConfig::default())
    }
}

fn headers_of(map: &ureq::http::HeaderMap) -> Vec<(String, String)> {
    map.iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn network_error(url: &str, e: ureq::Error) -> TransportError {
    match e {
        ureq::Error::Timeout(which) => TransportError::Timeout {
            url: url.to_owned(),
            what: which.to_string(),
        },
        ureq::Error::Io(io) if io.kind() == io::ErrorKind::TimedOut => TransportError::Timeout {
            url: url.to_owned(),
            what: io.to_string(),
        },
        other => TransportError::Network {
            url: url.to_owned(),
            message: other.to_string(),
        },
    }
}

impl Transport for HttpTransport {
    fn get(&self, url: &str) -> Result<Reply, TransportError> {
        match Scheme::of(url) {
            Some(Scheme::File) => return FileTransport.get(url),
            Some(Scheme::Https | Scheme::Http) => {}
            None => {
                return Err(TransportError::UnsupportedScheme {
                    url: url.to_owned(),
                });
            }
        }
        let response = self
            .agent
            .get(url)
            .call()
            .map_err(|e| network_error(url, e))?;
        let status = response.status().as_u16();
        let headers = headers_of(response.headers());
        if matches!(status, 301 | 302 | 303 | 307 | 308) {
            let location = response
                .headers()
                .get("location")
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            return match location {
                Some(location) => Ok(Reply::Redirect {
                    status,
                    headers,
                    location,
                }),
                None => Ok(Reply::Status { status, headers }),
            };
        }
        if !(200..300).contains(&status) {
            return Ok(Reply::Status { status, headers });
        }
        let length = response
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let url = url.to_owned();
        // Unlimited here on purpose: the bound is the Portfile's size, applied
        // by the caller as the bytes arrive (Verifier::update).
        let reader = response.into_body().into_reader();
        Ok(Reply::Body {
            status: Some(status),
            headers,
            length,
            body: Box::new(TimeoutMapped { inner: reader, url }),
        })
    }
}

/// Body reads whose timeouts say so (`io::ErrorKind::TimedOut`), whatever
/// ureq wraps them in.
struct TimeoutMapped<R> {
    inner: R,
    url: String,
}

impl<R: Read> Read for TimeoutMapped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            let timed_out = e.kind() == io::ErrorKind::TimedOut
                || e.get_ref()
                    .and_then(|inner| inner.downcast_ref::<ureq::Error>())
                    .is_some_and(|u| matches!(u, ureq::Error::Timeout(_)));
            if timed_out {
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{}: read timed out: {e}", self.url),
                )
            } else {
                e
            }
        })
    }
}

/// `file://` URLs: regular files only. The file is opened with `O_NONBLOCK`
/// (opening a FIFO for reading would otherwise wait for a writer for ever)
/// and its type checked on the open descriptor, so there is no window
/// between a check and the open for a FIFO or `/dev/zero` to be swapped in.
/// A symbolic link is followed: the URL names its path outright, so a link
/// reaches nothing the URL could not name; what it leads to must still be a
/// regular file.
#[derive(Debug, Clone, Copy, Default)]
pub struct FileTransport;

impl FileTransport {
    /// The local path of a `file://` URL: `file:///abs/path` and
    /// `file://localhost/abs/path` (RFC 8089) are both `/abs/path`; any other
    /// host, and a relative path, are not local files (`None`).
    pub fn path_of(url: &str) -> Option<PathBuf> {
        let (scheme, rest) = url.split_once("://")?;
        if !scheme.eq_ignore_ascii_case("file") {
            return None;
        }
        let rest = match rest.get(..9) {
            Some(host) if host.eq_ignore_ascii_case("localhost") => &rest[9..],
            _ => rest,
        };
        rest.starts_with('/').then(|| PathBuf::from(rest))
    }

    /// Opens `path` for reading if, once open, it is a regular file; returns it
    /// with its length.
    pub fn open_regular(path: &std::path::Path) -> Result<(std::fs::File, u64), TransportError> {
        let (file, len) = open_regular(path).map_err(|e| match e {
            OpenRegular::Io(op, source) => TransportError::File {
                path: path.to_owned(),
                op,
                source,
            },
            OpenRegular::NotRegular(kind) => TransportError::NotRegularFile {
                path: path.to_owned(),
                kind,
            },
        })?;
        Ok((file, len))
    }
}

/// Why [`open_regular`] refused.
pub(crate) enum OpenRegular {
    Io(&'static str, io::Error),
    NotRegular(&'static str),
}

/// Open for reading without blocking (`O_NONBLOCK`: a FIFO opens at once
/// instead of waiting for a writer), then check the type of what was opened.
/// Regular files ignore `O_NONBLOCK`, so reads behave as usual.
pub(crate) fn open_regular(path: &std::path::Path) -> Result<(std::fs::File, u64), OpenRegular> {
    use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| OpenRegular::Io("open", e))?;
    let meta = file.metadata().map_err(|e| OpenRegular::Io("stat", e))?;
    let t = meta.file_type();
    if t.is_file() {
        return Ok((file, meta.len()));
    }
    Err(OpenRegular::NotRegular(if t.is_dir() {
        "directory"
    } else if t.is_fifo() {
        "FIFO"
    } else if t.is_socket() {
        "socket"
    } else if t.is_char_device() {
        "character device"
    } else if t.is_block_device() {
        "block device"
    } else {
        "special file"
    }))
}

impl Transport for FileTransport {
    fn get(&self, url: &str) -> Result<Reply, TransportError> {
        let path =
            FileTransport::path_of(url).ok_or_else(|| TransportError::UnsupportedScheme {
                url: url.to_owned(),
            })?;
        let (file, len) = FileTransport::open_regular(&path)?;
        Ok(Reply::Body {
            status: None,
            headers: Vec::new(),
            length: Some(len),
            body: Box::new(file),
        })
    }
}

/// A redirect that wport refuses to follow. Redirect targets come from the
/// server: messages show them bounded and escaped ([`crate::text::shown`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedirectError {
    /// From https to plain http: the bytes would no longer be authenticated in
    /// transit (and a network attacker could choose the redirect target).
    #[error(
        "redirect from {} to {} refused: https must not be downgraded to http",
        shown(from),
        shown(to)
    )]
    Downgrade { from: String, to: String },
    /// To a scheme other than https or http (`file://`, `ftp://`, ...): a
    /// server must not make wport read a local file or speak another protocol.
    #[error(
        "redirect from {} to {} refused: only https:// and http:// redirect targets are followed",
        shown(from),
        shown(to)
    )]
    Scheme { from: String, to: String },
    /// The chain came back to a URL it already visited.
    #[error("redirect loop: {}", shown(chain))]
    Loop { chain: String },
    /// More hops than allowed.
    #[error("more than {max} redirects, starting at {}", shown(from))]
    TooMany { from: String, max: u32 },
    /// The `Location` could not be made into a URL.
    #[error(
        "redirect from {} to {} refused: not a usable URL",
        shown(from),
        shown(location)
    )]
    BadLocation { from: String, location: String },
}

/// The redirect policy: may a reply from `from` send wport to `to` (absolute)?
///
/// Only http(s) origins redirect (a file has no redirects); the target must be
/// https or http, and an https origin may only go to https.
pub fn check_redirect(from: &str, to: &str) -> Result<(), RedirectError> {
    let err_scheme = || RedirectError::Scheme {
        from: from.to_owned(),
        to: to.to_owned(),
    };
    let target = Scheme::of(to).ok_or_else(err_scheme)?;
    match (Scheme::of(from), target) {
        (_, Scheme::File) => Err(err_scheme()),
        (Some(Scheme::Https), Scheme::Http) => Err(RedirectError::Downgrade {
            from: from.to_owned(),
            to: to.to_owned(),
        }),
        (Some(Scheme::Https), Scheme::Https)
        | (Some(Scheme::Http), Scheme::Http | Scheme::Https) => Ok(()),
        (Some(Scheme::File) | None, _) => Err(err_scheme()),
    }
}

/// Resolves a `Location` header against the URL it came from (RFC 3986 in the
/// forms servers send: absolute, scheme-relative `//host/p`, absolute path
/// `/p`, relative path `p`). A fragment is dropped.
pub fn resolve_location(base: &str, location: &str) -> Option<String> {
    let location = location.trim();
    if location.is_empty() || location.chars().any(|c| c.is_control() || c == ' ') {
        return None;
    }
    let location = location.split('#').next().unwrap_or("");
    // Absolute: a scheme followed by ':'.
    if let Some((scheme, _)) = location.split_once(':') {
        let valid = scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c));
        if valid && !scheme.contains('/') {
            return Some(location.to_owned());
        }
    }
    let (scheme, rest) = base.split_once("://")?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    if let Some(net) = location.strip_prefix("//") {
        return Some(format!("{scheme}://{net}"));
    }
    if location.starts_with('/') {
        return Some(format!("{scheme}://{authority}{location}"));
    }
    let path_and_more = &rest[authority_end..];
    let path = &path_and_more[..path_and_more
        .find(['?', '#'])
        .unwrap_or(path_and_more.len())];
    if location.starts_with('?') {
        return Some(format!("{scheme}://{authority}{path}{location}"));
    }
    let dir = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "/",
    };
    Some(format!("{scheme}://{authority}{dir}{location}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_policy() {
        assert!(check_redirect("https://a/x", "https://b/y").is_ok());
        assert!(check_redirect("http://a/x", "https://b/y").is_ok());
        assert!(check_redirect("http://a/x", "http://b/y").is_ok());
        assert!(matches!(
            check_redirect("https://a/x", "http://b/y"),
            Err(RedirectError::Downgrade { .. })
        ));
        assert!(matches!(
            check_redirect("HTTPS://a/x", "Http://b/y"),
            Err(RedirectError::Downgrade { .. })
        ));
        for bad in [
            "file:///etc/passwd",
            "ftp://b/y",
            "gopher://b/",
            "data:,x",
            "javascript:x",
        ] {
            assert!(
                matches!(
                    check_redirect("http://a/x", bad),
                    Err(RedirectError::Scheme { .. })
                ),
                "{bad}"
            );
            assert!(
                matches!(
                    check_redirect("https://a/x", bad),
                    Err(RedirectError::Scheme { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn locations_resolve() {
        let base = "http://h:8/a/b/c.tar?q=1";
        assert_eq!(
            resolve_location(base, "https://x/y").unwrap(),
            "https://x/y"
        );
        assert_eq!(resolve_location(base, "//x/y").unwrap(), "http://x/y");
        assert_eq!(resolve_location(base, "/y").unwrap(), "http://h:8/y");
        assert_eq!(
            resolve_location(base, "d.tar").unwrap(),
            "http://h:8/a/b/d.tar"
        );
        assert_eq!(
            resolve_location(base, "?r").unwrap(),
            "http://h:8/a/b/c.tar?r"
        );
        assert_eq!(resolve_location("http://h", "d").unwrap(), "http://h/d");
        assert_eq!(
            resolve_location(base, "file:///etc").unwrap(),
            "file:///etc"
        );
        assert!(resolve_location(base, "").is_none());
        assert!(resolve_location(base, "a b").is_none());
    }

    #[test]
    fn a_long_redirect_target_is_not_echoed_whole() {
        let to = format!("ftp://x/{}", "\u{1b}".repeat(60 << 10));
        let e = check_redirect("http://a/x", &to).unwrap_err();
        let msg = e.to_string();
        assert!(msg.len() < 1200, "{} bytes", msg.len());
        assert!(!msg.contains('\u{1b}'), "escaped");
        assert!(msg.contains(&format!("({} bytes)", to.len())), "{msg}");
    }

    #[test]
    fn file_urls() {
        assert_eq!(
            FileTransport::path_of("file:///a/b"),
            Some(PathBuf::from("/a/b"))
        );
        assert_eq!(
            FileTransport::path_of("file://localhost/a"),
            Some(PathBuf::from("/a"))
        );
        assert_eq!(
            FileTransport::path_of("FILE://LocalHost/a"),
            Some(PathBuf::from("/a"))
        );
        assert_eq!(FileTransport::path_of("file://host/a"), None);
        assert_eq!(FileTransport::path_of("file://localhostile/a"), None);
        assert_eq!(FileTransport::path_of("file://a/b"), None);
        assert_eq!(FileTransport::path_of("https:///a"), None);
    }
}
