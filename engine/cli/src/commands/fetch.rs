//! `wport fetch PORT...`: download every remote distfile of the ports (port
//! directories or whole ports trees) into the distfile store, verified
//! against the Portfiles' sha256 and size, several at once. A mismatch is
//! quarantined and the command fails with exit code 3.

use std::path::PathBuf;
use std::time::Duration;

use wport::distfiles;
use wport::exit;
use wport_fetch::download::Origin;
use wport_fetch::transport::TransportConfig;

/// Network settings shared by `fetch` and `checksum`.
#[derive(clap::Args, Clone)]
pub struct NetArgs {
    /// Distfile store (default: $XDG_CACHE_HOME/wport/distfiles).
    #[arg(long)]
    pub distfiles: Option<PathBuf>,
    /// Quarantine directory (default: `quarantine/` beside the store).
    #[arg(long)]
    pub quarantine: Option<PathBuf>,
    /// Downloads at once.
    #[arg(short, long, default_value_t = 4)]
    pub jobs: usize,
    /// Seconds to resolve, connect and handshake.
    #[arg(long, default_value_t = 30)]
    pub connect_timeout: u64,
    /// Seconds a server may stay silent before the download is abandoned.
    #[arg(long, default_value_t = 30)]
    pub read_timeout: u64,
    /// Seconds one download (one URL, redirects included) may take in all.
    #[arg(long, default_value_t = TransportConfig::default().deadline.as_secs())]
    pub deadline: u64,
    /// Slowest average rate accepted, in bytes per second over each
    /// --min-rate-window (0: no minimum).
    #[arg(long, default_value_t = TransportConfig::default().min_rate)]
    pub min_rate: u64,
    /// Seconds over which --min-rate is averaged.
    #[arg(long, default_value_t = TransportConfig::default().min_rate_window.as_secs())]
    pub min_rate_window: u64,
}

impl NetArgs {
    pub fn fetcher(&self) -> anyhow::Result<wport_fetch::download::Fetcher> {
        let store = self.distfiles.clone().unwrap_or_else(distfiles::store_dir);
        let quarantine = self
            .quarantine
            .clone()
            .unwrap_or_else(|| distfiles::quarantine_beside(&store));
        distfiles::fetcher(
            &store,
            &quarantine,
            TransportConfig {
                connect_timeout: Duration::from_secs(self.connect_timeout),
                read_timeout: Duration::from_secs(self.read_timeout),
                deadline: Duration::from_secs(self.deadline),
                min_rate: self.min_rate,
                min_rate_window: Duration::from_secs(self.min_rate_window.max(1)),
                ..TransportConfig::default()
            },
        )
    }
}

#[derive(clap::Args)]
pub struct Args {
    /// Port directories, or ports trees (directories of port directories).
    #[arg(required = true)]
    ports: Vec<PathBuf>,
    #[command(flatten)]
    net: NetArgs,
}

pub fn run(args: Args) -> i32 {
    let ports = match distfiles::collect_ports(&args.ports) {
        Ok(p) => p,
        Err(e) => {
            super::report(&e);
            return exit::USAGE;
        }
    };
    let fetcher = match args.net.fetcher() {
        Ok(f) => f,
        Err(e) => {
            super::report(&e);
            return exit::FAILURE;
        }
    };
    let mut reqs = Vec::new();
    for (_, portfile) in &ports {
        match distfiles::requests(portfile) {
            Ok(r) => reqs.extend(r),
            Err(e) => {
                super::report(&e);
                return exit::USAGE;
            }
        }
    }
    let progress = wport::output::progress();
    let results = fetcher.fetch_all(&reqs, args.net.jobs.max(1), &progress);
    let mut code = exit::SUCCESS;
    for (req, result) in reqs.iter().zip(results) {
        match result {
            Ok(f) => {
                for rec in f.quarantined() {
                    eprintln!(
                        "warning: {} {}: {} served other bytes ({}); quarantined as {} \
                         (`wport quarantine show {}`); tell upstream: {}",
                        req.port,
                        req.file,
                        rec.mirror,
                        rec.kept_text(),
                        rec.id,
                        rec.id,
                        req.upstream_contact
                    );
                }
                let how = match &f.origin {
                    Origin::Store => "already in the store".to_owned(),
                    Origin::Downloaded { url, .. } => format!("fetched from {url}"),
                };
                println!("{} {}: {how}: {}", req.port, req.file, f.path.display());
            }
            Err(e) => {
                eprintln!("error: {e}");
                code = code.max(exit::code_of(&e).unwrap_or(exit::FAILURE));
            }
        }
    }
    code
}
