//! `wport sync --from URL|DIR`: update the local trust directory from a
//! ports repository (TUF client workflow), verify every target, and make
//! the verified ports tree available under `<trust dir>/targets/ports`.
//!
//! Binary packages are not downloaded here: `wport install` looks them up
//! and fetches them on demand from the repository this sync remembers
//! (`repository.json` in the trust directory).
//!
//! The first sync needs the repository's root.json obtained out of band
//! (`--root FILE`): trust starts from that file, never from the network.

use std::path::PathBuf;

use anyhow::{Context, bail};
use wport::exit;
use wport_trust::sync::{init_trust_dir, sync};
use wport_trust::{FileTransport, time};

#[derive(clap::Args)]
pub struct Args {
    /// The repository holding metadata/ and targets/: an https:// or
    /// http:// URL, a file:// URL or a directory.
    #[arg(long)]
    from: String,
    /// Trust directory (default: $XDG_DATA_HOME/wport/trust).
    #[arg(long)]
    trust_dir: Option<PathBuf>,
    /// First sync only: the root.json to trust.
    #[arg(long)]
    root: Option<PathBuf>,
    /// Another base URL serving the same repository's targets (repeat):
    /// binary packages are fetched from --from, then from these, each
    /// checked against its signed length and sha256.
    #[arg(long = "mirror", value_name = "URL")]
    mirrors: Vec<String>,
}

/// Where the repository a trust directory was synced from is, for binary
/// packages fetched on demand after the sync (`<trust dir>/repository.json`;
/// trust never comes from it: every byte fetched is checked against the
/// signed metadata).
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub struct Remembered {
    /// The base URL (`http(s)://` or `file://`) of `metadata/` and `targets/`.
    pub base: String,
    /// Other bases serving the same targets.
    #[serde(default)]
    pub mirrors: Vec<String>,
}

impl Remembered {
    pub fn file(trust_dir: &std::path::Path) -> PathBuf {
        trust_dir.join("repository.json")
    }

    /// What the last sync into `trust_dir` remembered (`None` before one).
    pub fn load(trust_dir: &std::path::Path) -> anyhow::Result<Option<Remembered>> {
        let path = Self::file(trust_dir);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(
                serde_json::from_slice(&bytes)
                    .with_context(|| format!("reading {}", path.display()))?,
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }
}

/// `--from` as a URL: http(s) as given, a directory as an absolute
/// `file://` URL.
fn base_url(from: &str) -> anyhow::Result<String> {
    if from.starts_with("http://") || from.starts_with("https://") {
        return Ok(from.trim_end_matches('/').to_string());
    }
    let path = from.strip_prefix("file://").unwrap_or(from);
    let abs =
        std::fs::canonicalize(path).with_context(|| format!("the repository directory {path}"))?;
    Ok(format!("file://{}", abs.display()))
}

pub fn run(args: Args) -> i32 {
    match exec(args) {
        Ok(()) => exit::SUCCESS,
        Err(e) => {
            super::report(&e);
            super::key::code(&e)
        }
    }
}

fn exec(args: Args) -> anyhow::Result<()> {
    let trust = args.trust_dir.unwrap_or_else(super::key::trust_dir);
    let remote = args.from.starts_with("http://") || args.from.starts_with("https://");
    let from = args
        .from
        .strip_prefix("file://")
        .unwrap_or(&args.from)
        .to_string();
    if let Some(root) = &args.root {
        if trust.join("metadata/root.json").exists() {
            bail!(
                "{} already trusts a root; --root is for the first sync only (root rotation happens through the repository)",
                trust.display()
            );
        }
        let bytes =
            std::fs::read(root).with_context(|| format!("reading root {}", root.display()))?;
        init_trust_dir(&trust, &bytes)
            .with_context(|| format!("initialising {} from {}", trust.display(), root.display()))?;
    }
    let report = if remote {
        sync(
            &trust,
            &from,
            wport::tuf_http::TufHttp::default(),
            time::now(),
        )
    } else {
        sync(&trust, &from, FileTransport, time::now())
    }
    .with_context(|| format!("syncing {} from {from}", trust.display()))?;
    let remembered = Remembered {
        base: base_url(&args.from)?,
        mirrors: args
            .mirrors
            .iter()
            .map(|m| base_url(m))
            .collect::<anyhow::Result<_>>()?,
    };
    let file = Remembered::file(&trust);
    let tmp = trust.join(".repository.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&remembered)?)
        .and_then(|()| std::fs::rename(&tmp, &file))
        .with_context(|| format!("writing {}", file.display()))?;
    wport::note!(
        "wport: {} trusted target(s): {} fetched, {} already current, {} untrusted file(s) removed; ports tree at {}",
        report.targets,
        report.fetched,
        report.reused,
        report.removed,
        trust.join("targets/ports").display()
    );
    Ok(())
}
