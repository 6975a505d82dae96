//! `wport-tuf-client`: wport's TUF client behind the common TUF client
//! test protocol, so external conformance suites can drive it.
//!
//! ```text
//! wport-tuf-client --metadata-dir DIR init TRUSTED_ROOT_FILE
//! wport-tuf-client --metadata-dir DIR --metadata-url URL refresh
//! wport-tuf-client --metadata-dir DIR --metadata-url URL \
//!     --target-name PATH [--target-name PATH...] --target-base-url URL \
//!     --target-dir DIR download
//! ```
//!
//! Exit 0 on full success, 1 otherwise (the reason goes to stderr).
//! Metadata is stored under non-versioned names (`root.json`,
//! `timestamp.json`, `snapshot.json`, `targets.json`, `<role>.json` with
//! the role name percent-encoded). A downloaded target is stored as
//! `TARGET_DIR/<percent-encoded target path>`; a cached copy whose length
//! and hashes match is reused without fetching.
//!
//! URLs: `file://` URLs and plain paths are read from disk; `http://` URLs
//! through a minimal HTTP client (ureq, no TLS: conformance suites serve on
//! loopback). `https://` is not supported by this binary; wport's own HTTPS
//! transport belongs to wport-fetch.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use wport_trust::{Client, FileTransport, Transport, TransportError};

#[derive(Parser)]
#[command(
    name = "wport-tuf-client",
    about = "wport's TUF client (conformance test protocol)"
)]
struct Cli {
    #[arg(long)]
    metadata_dir: PathBuf,
    #[arg(long)]
    metadata_url: Option<String>,
    #[arg(long = "target-name")]
    target_names: Vec<String>,
    #[arg(long)]
    target_base_url: Option<String>,
    #[arg(long)]
    target_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Trust the given root.json (no network).
    Init { trusted_root: PathBuf },
    /// Update the top-level metadata.
    Refresh,
    /// Refresh, then fetch and verify each --target-name in order.
    Download,
}

/// file:// URLs and paths from disk, http:// through ureq, both bounded.
struct UrlTransport {
    http: ureq::Agent,
}

impl UrlTransport {
    fn new() -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(std::time::Duration::from_secs(30)))
            .build();
        UrlTransport {
            http: config.into(),
        }
    }
}

impl Transport for UrlTransport {
    fn fetch(&self, location: &str, max_len: u64) -> Result<Vec<u8>, TransportError> {
        if location.starts_with("https://") {
            return Err(TransportError::Other(
                "https is not supported by wport-tuf-client".into(),
            ));
        }
        if !location.starts_with("http://") {
            return FileTransport.fetch(location, max_len);
        }
        let mut response = self
            .http
            .get(location)
            .call()
            .map_err(|e| TransportError::Other(e.to_string()))?;
        match response.status().as_u16() {
            200 => {}
            403 | 404 => return Err(TransportError::NotFound),
            other => return Err(TransportError::Other(format!("HTTP status {other}"))),
        }
        let mut buf = Vec::new();
        // The bound is enforced on the bytes read, whatever Content-Length says.
        let reader = response.body_mut().with_config().limit(u64::MAX).reader();
        reader
            .take(max_len.saturating_add(1))
            .read_to_end(&mut buf)
            .map_err(|e| TransportError::Other(e.to_string()))?;
        if buf.len() as u64 > max_len {
            return Err(TransportError::TooLarge(max_len));
        }
        Ok(buf)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wport-tuf-client: {e}");
            ExitCode::from(1)
        }
    }
}

fn required<'a, T: ?Sized>(value: Option<&'a T>, flag: &str) -> Result<&'a T, String> {
    value.ok_or_else(|| format!("{flag} is required"))
}

fn run(cli: Cli) -> Result<(), String> {
    match &cli.command {
        Command::Init { trusted_root } => {
            let bytes = std::fs::read(trusted_root)
                .map_err(|e| format!("reading {}: {e}", trusted_root.display()))?;
            Client::<UrlTransport>::init(&cli.metadata_dir, &bytes).map_err(|e| e.to_string())
        }
        Command::Refresh => {
            refreshed(&cli)?;
            Ok(())
        }
        Command::Download => {
            let mut client = refreshed(&cli)?;
            let base = required(cli.target_base_url.as_deref(), "--target-base-url")?;
            let dir = required(cli.target_dir.as_deref(), "--target-dir")?;
            for name in &cli.target_names {
                download(&mut client, name, base, dir).map_err(|e| format!("{name}: {e}"))?;
            }
            Ok(())
        }
    }
}

fn refreshed(cli: &Cli) -> Result<Client<UrlTransport>, String> {
    let url = required(cli.metadata_url.as_deref(), "--metadata-url")?;
    let mut client =
        Client::open(&cli.metadata_dir, url, UrlTransport::new()).map_err(|e| e.to_string())?;
    client.refresh().map_err(|e| e.to_string())?;
    Ok(client)
}

fn download(
    client: &mut Client<UrlTransport>,
    name: &str,
    base: &str,
    dir: &Path,
) -> Result<(), wport_trust::TrustError> {
    let tf = client.target(name)?;
    let local = dir.join(wport_trust::paths::encode_segment(name));
    if local.is_file() && wport_trust::client::verify_file(name, &local, &tf).is_ok() {
        return Ok(());
    }
    let bytes = client.fetch_target(name, &tf, base)?;
    std::fs::write(&local, bytes).map_err(|e| wport_trust::TrustError::Io {
        action: "writing target",
        path: local.clone(),
        source: e,
    })
}
