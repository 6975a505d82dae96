//! `wport sync --from URL|DIR`: update the local trust directory from a
//! ports repository (TUF client workflow), verify every target, and make
//! the verified ports tree available under `<trust dir>/targets/ports`.
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
    /// The repository: a directory or file:// URL holding metadata/ and
    /// targets/.
    #[arg(long)]
    from: String,
    /// Trust directory (default: $XDG_DATA_HOME/wport/trust).
    #[arg(long)]
    trust_dir: Option<PathBuf>,
    /// First sync only: the root.json to trust.
    #[arg(long)]
    root: Option<PathBuf>,
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
    eprintln!(
        "wport: {} trusted target(s): {} fetched, {} already current, {} untrusted file(s) removed; ports tree at {}",
        report.targets,
        report.fetched,
        report.reused,
        report.removed,
        trust.join("targets/ports").display()
    );
    Ok(())
}
