//! Distfiles of Portfiles, fetched through `wport-fetch`: shared by
//! `wport fetch`, `wport checksum` and `wport build`.
//!
//! The store is `<cache>/wport/distfiles/<sha256>` and the quarantine sits
//! beside it, `<cache>/wport/quarantine/<id>/`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use wport_fetch::download::{Fetcher, Request};
use wport_fetch::quarantine::Quarantine;
use wport_fetch::store::Store;
use wport_fetch::transport::{HttpTransport, TransportConfig};
use wport_fetch::verify::Expected;
use wport_manifest::{Portfile, Source, SourceLocation};

/// The default distfile store.
pub fn store_dir() -> PathBuf {
    crate::paths::cache_dir().join("distfiles")
}

/// The quarantine that goes with a store: its sibling `quarantine/`.
pub fn quarantine_beside(store: &Path) -> PathBuf {
    store.parent().unwrap_or(Path::new(".")).join("quarantine")
}

/// A fetcher over https/http/file with `config`, storing into `store`.
pub fn fetcher(
    store: &Path,
    quarantine: &Path,
    config: TransportConfig,
) -> anyhow::Result<Fetcher> {
    let store = Store::open(store)
        .with_context(|| format!("opening the distfile store {}", store.display()))?;
    Ok(Fetcher::new(
        Arc::new(HttpTransport::new(config.clone())),
        store,
        Quarantine::new(quarantine),
    )
    .with_config(&config))
}

/// The fetch request for one remote source of a port (`None` for a distfile
/// that ships in the port directory).
pub fn request(portfile: &Portfile, source: &Source) -> anyhow::Result<Option<Request>> {
    if let SourceLocation::Local(_) = source.location() {
        return Ok(None);
    }
    let expected = Expected {
        sha256: source.sha256.to_string().parse()?,
        size: source.size,
    };
    let mut urls = vec![source.url.clone()];
    urls.extend(source.mirrors.iter().cloned());
    Ok(Some(Request {
        port: format!("{}@{}", portfile.port.name, portfile.port.version),
        file: source.distfile_name().to_owned(),
        urls,
        expected,
        upstream_contact: portfile.port.upstream_contact.clone(),
    }))
}

/// Every remote source of `portfile`.
pub fn requests(portfile: &Portfile) -> anyhow::Result<Vec<Request>> {
    let mut out = Vec::new();
    for s in &portfile.sources {
        out.extend(request(portfile, s)?);
    }
    Ok(out)
}

/// The ports named on a command line: each argument is a port directory
/// (holding `Portfile.toml`) or a ports tree (a directory of port
/// directories, taken in name order). Loads and validates every Portfile.
pub fn collect_ports(args: &[PathBuf]) -> anyhow::Result<Vec<(PathBuf, Portfile)>> {
    let mut dirs = Vec::new();
    for arg in args {
        if arg.join("Portfile.toml").is_file() {
            dirs.push(arg.clone());
            continue;
        }
        let entries = std::fs::read_dir(arg).with_context(|| {
            format!(
                "{}: not a port directory (no Portfile.toml) nor a ports tree",
                arg.display()
            )
        })?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.join("Portfile.toml").is_file())
            .collect();
        if found.is_empty() {
            anyhow::bail!(
                "{}: holds no Portfile.toml, nor any port directory that does",
                arg.display()
            );
        }
        found.sort();
        dirs.extend(found);
    }
    let mut out = Vec::new();
    for dir in dirs {
        let portfile = Portfile::load(&dir.join("Portfile.toml"))?;
        out.push((dir, portfile));
    }
    Ok(out)
}
