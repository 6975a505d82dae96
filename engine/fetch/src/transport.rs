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
//! hanging a build. [`FileTransport`] serves `file://` URLs from regular files.

use std::fmt;
use std::io::{self, Read};
use std::path::PathBuf;
use std::time::Duration;

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
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(30),
            max_redirects: 10,
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
    /// A `file://` URL could not be opened, or is not a regular file.
    #[error("{}: {op}: {source}", path.display())]
    File {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: io::Error,
    },
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

/// `file://` URLs: regular files only (a FIFO or device is refused before it
/// is opened, so it cannot block or stream forever).
#[derive(Debug, Clone, Copy, Default)]
pub struct FileTransport;

impl FileTransport {
    /// The local path of a `file://` URL (`file:///abs/path` or `file://localhost/abs/path`).
    pub fn path_of(url: &str) -> Option<PathBuf> {
        let rest = url.strip_prefix("file://")?;
        let rest = rest.strip_prefix("localhost").unwrap_or(rest);
        rest.starts_with('/').then(|| PathBuf::from(rest))
    }
}

impl Transport for FileTransport {
    fn get(&self, url: &str) -> Result<Reply, TransportError> {
        let path =
            FileTransport::path_of(url).ok_or_else(|| TransportError::UnsupportedScheme {
                url: url.to_owned(),
            })?;
        let meta = std::fs::metadata(&path).map_err(|source| TransportError::File {
            path: path.clone(),
            op: "stat",
            source,
        })?;
        if !meta.is_file() {
            return Err(TransportError::File {
                path,
                op: "open",
                source: io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"),
            });
        }
        let file = std::fs::File::open(&path).map_err(|source| TransportError::File {
            path: path.clone(),
            op: "open",
            source,
        })?;
        Ok(Reply::Body {
            status: None,
            headers: Vec::new(),
            length: Some(meta.len()),
            body: Box::new(file),
        })
    }
}

/// A redirect that wport refuses to follow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedirectError {
    /// From https to plain http: the bytes would no longer be authenticated in
    /// transit (and a network attacker could choose the redirect target).
    #[error("redirect from {from} to {to} refused: https must not be downgraded to http")]
    Downgrade { from: String, to: String },
    /// To a scheme other than https or http (`file://`, `ftp://`, ...): a
    /// server must not make wport read a local file or speak another protocol.
    #[error(
        "redirect from {from} to {to} refused: only https:// and http:// redirect targets are followed"
    )]
    Scheme { from: String, to: String },
    /// The chain came back to a URL it already visited.
    #[error("redirect loop: {chain}")]
    Loop { chain: String },
    /// More hops than allowed.
    #[error("more than {max} redirects, starting at {from}")]
    TooMany { from: String, max: u32 },
    /// The `Location` could not be made into a URL.
    #[error("redirect from {from} to {location:?} refused: not a usable URL")]
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
    fn file_urls() {
        assert_eq!(
            FileTransport::path_of("file:///a/b"),
            Some(PathBuf::from("/a/b"))
        );
        assert_eq!(
            FileTransport::path_of("file://localhost/a"),
            Some(PathBuf::from("/a"))
        );
        assert_eq!(FileTransport::path_of("file://host/a"), None);
    }
}
