//! TUF metadata and targets over http(s), for `wport sync`: wport-trust
//! asks for documents through its small `Transport` trait; this serves them
//! with wport-fetch's HTTP transport, following redirects under its policy
//! (no https -> http downgrade, no other scheme, bounded) and enforcing the
//! length bound while reading.

use std::io::Read;

use wport_fetch::transport::{
    HttpTransport, Reply, Transport as _, TransportConfig, check_redirect, resolve_location,
};
use wport_trust::TransportError;

pub struct TufHttp {
    inner: HttpTransport,
}

impl Default for TufHttp {
    fn default() -> Self {
        TufHttp {
            inner: HttpTransport::new(TransportConfig::default()),
        }
    }
}

impl wport_trust::Transport for TufHttp {
    fn fetch(&self, location: &str, max_len: u64) -> Result<Vec<u8>, TransportError> {
        let max_redirects = self.inner.config().max_redirects;
        let mut url = location.to_owned();
        for _ in 0..=max_redirects {
            match self
                .inner
                .get(&url)
                .map_err(|e| TransportError::Other(e.to_string()))?
            {
                Reply::Body { body, .. } => {
                    let mut bytes = Vec::new();
                    body.take(max_len.saturating_add(1))
                        .read_to_end(&mut bytes)
                        .map_err(|e| TransportError::Other(format!("{url}: {e}")))?;
                    if bytes.len() as u64 > max_len {
                        return Err(TransportError::TooLarge(max_len));
                    }
                    return Ok(bytes);
                }
                Reply::Redirect { location, .. } => {
                    let next = resolve_location(&url, &location).ok_or_else(|| {
                        TransportError::Other(format!("{url}: bad redirect to {location:?}"))
                    })?;
                    check_redirect(&url, &next)
                        .map_err(|e| TransportError::Other(e.to_string()))?;
                    url = next;
                }
                Reply::Status { status: 404, .. } => return Err(TransportError::NotFound),
                Reply::Status { status, .. } => {
                    return Err(TransportError::Other(format!(
                        "{url}: HTTP status {status}"
                    )));
                }
            }
        }
        Err(TransportError::Other(format!(
            "{location}: more than {max_redirects} redirects"
        )))
    }
}
