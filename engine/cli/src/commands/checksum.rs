//! `wport checksum PORT...`: download each remote distfile and print the
//! `sha256 = ...` and `size = ...` lines that pin it, like MacPorts'
//! `port checksum`, for bumping a port to a new version. The download is not
//! checked against the Portfile's pin (the point is to learn the new one); it
//! enters the store only if it matches the pin, and is otherwise discarded.

use std::path::PathBuf;

use wport::distfiles;
use wport::exit;

#[derive(clap::Args)]
pub struct Args {
    /// Port directories, or ports trees (directories of port directories).
    #[arg(required = true)]
    ports: Vec<PathBuf>,
    /// Largest download accepted, in bytes.
    #[arg(long, default_value_t = 4 << 30)]
    max_size: u64,
    #[command(flatten)]
    net: super::fetch::NetArgs,
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
    let progress = wport::output::progress();
    let mut code = exit::SUCCESS;
    for (dir, portfile) in &ports {
        let reqs = match distfiles::requests(portfile) {
            Ok(r) => r,
            Err(e) => {
                super::report(&e);
                code = exit::USAGE;
                continue;
            }
        };
        for req in reqs {
            match fetcher.checksum(&req, args.max_size, &progress) {
                Ok(sum) => {
                    let status = if sum.matches_pin {
                        "matches the Portfile".to_owned()
                    } else {
                        format!(
                            "differs from the Portfile (sha256 {}, size {})",
                            req.expected.sha256, req.expected.size
                        )
                    };
                    println!(
                        "# {} {} ({}): {status}",
                        req.port,
                        req.file,
                        dir.join("Portfile.toml").display()
                    );
                    println!("# from {}", sum.url);
                    println!("sha256 = \"{}\"", sum.sha256);
                    println!("size = {}", sum.size);
                    for f in &sum.failed {
                        eprintln!("warning: {} {}: {f}", req.port, req.file);
                    }
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    code = code.max(exit::FAILURE);
                }
            }
        }
    }
    code
}
