//! `wport build [PORT]`

use std::path::PathBuf;
use std::time::Duration;

use wport::build::{BuildOptions, build_port};
use wport::exit;
use wport::build::ComponentMismatch;
use wport_fetch::extract::ExtractError;
use wport_fetch::verify::VerifyError;
use wport_manifest::ManifestError;
use wport_sandbox::PhaseError;

#[derive(clap::Args)]
pub struct Args {
    /// Port directory (holding Portfile.toml). Without it, the embedded demo
    /// port is built.
    port: Option<PathBuf>,
    /// Parent directory of build directories.
    #[arg(long)]
    build_root: Option<PathBuf>,
    /// Install prefix the port is configured for.
    #[arg(long, default_value = "/opt/wport")]
    prefix: String,
    /// Parallel jobs for native build tools.
    #[arg(short, long)]
    jobs: Option<u32>,
    /// Guest time limit per phase, in seconds.
    #[arg(long)]
    phase_timeout: Option<u64>,
    /// Copy the build log to stderr while building.
    #[arg(short, long)]
    verbose: bool,
}

pub fn run(args: Args, executor: Result<&wport_exec::Executor, String>) -> i32 {
    let mut opts = BuildOptions {
        prefix: args.prefix,
        verbose: args.verbose,
        progress: !args.verbose,
        ..BuildOptions::default()
    };
    if let Some(root) = args.build_root {
        opts.build_root = root;
    }
    if let Some(j) = args.jobs {
        opts.jobs = j.max(1);
    }
    if let Some(t) = args.phase_timeout {
        opts.limits.phase_time = Duration::from_secs(t);
    }
    let port_dir = match args.port {
        Some(p) => p,
        None => {
            let dir = opts.build_root.join(".embedded").join("demo");
            if let Err(e) = wport::embedded::materialize_demo(&dir) {
                super::report(&e);
                return exit::FAILURE;
            }
            eprintln!("wport: no port given; building the embedded demo port");
            dir
        }
    };
    match build_port(&port_dir, &opts, executor) {
        Ok(done) => {
            println!("built {}", done.port);
            for p in &done.phases {
                println!("  {:<14} {:>8.1} ms", p.phase.as_str(), p.duration.as_secs_f64() * 1e3);
            }
            println!("destroot: {}", done.destroot.display());
            println!("log:      {}", done.log.display());
            exit::SUCCESS
        }
        Err(e) => {
            super::report(&e);
            exit_code(&e)
        }
    }
}

/// Map a failed build to its documented exit code (see `wport::exit`).
fn exit_code(e: &anyhow::Error) -> i32 {
    for cause in e.chain() {
        if cause.is::<ManifestError>() {
            return exit::USAGE;
        }
        if cause.is::<ComponentMismatch>() || cause.is::<wport_lint::imports::ImportError>() {
            return exit::REFUSED;
        }
        if let Some(v) = cause.downcast_ref::<VerifyError>() {
            return match v {
                VerifyError::SizeExceeded { .. }
                | VerifyError::SizeMismatch { .. }
                | VerifyError::DigestMismatch { .. } => exit::REFUSED,
                _ => exit::FAILURE,
            };
        }
        if let Some(f) = cause.downcast_ref::<wport_fetch::download::FetchError>() {
            return match f {
                wport_fetch::download::FetchError::Quarantined { .. } => exit::REFUSED,
                _ => exit::FAILURE,
            };
        }
        if let Some(x) = cause.downcast_ref::<ExtractError>() {
            return match x {
                ExtractError::UnsafePath { .. }
                | ExtractError::LinkEscape { .. }
                | ExtractError::ThroughSymlink { .. }
                | ExtractError::SpecialFile { .. }
                | ExtractError::LimitExceeded { .. } => exit::REFUSED,
                _ => exit::FAILURE,
            };
        }
        if let Some(PhaseError::Limit { .. }) = cause.downcast_ref::<PhaseError>() {
            return exit::LIMIT;
        }
    }
    exit::FAILURE
}
