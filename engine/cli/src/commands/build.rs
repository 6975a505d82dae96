//! `wport build [PORT]`

use std::path::{Path, PathBuf};
use std::time::Duration;

use wport::build::{BuildOptions, build_port};
use wport::resolve::{Origin, resolve_port};
use wport::{exit, note, output};

#[derive(clap::Args)]
pub struct Args {
    /// A port of the synced, signed ports tree (`zlib`), or with --unsigned a
    /// local port directory (`./ports/zlib`: any argument with a `/`).
    /// Without it, the demo port embedded in wport is built.
    pub(super) port: Option<String>,
    /// Build a local port directory without signature verification (loud).
    #[arg(long)]
    pub(super) unsigned: bool,
    /// Trust directory holding the synced ports tree (default: the one
    /// `wport sync` writes).
    #[arg(long)]
    pub(super) trust_dir: Option<PathBuf>,
    /// Parent directory of build directories.
    #[arg(long)]
    pub(super) build_root: Option<PathBuf>,
    /// Install prefix the port is configured for.
    #[arg(long, default_value = "/opt/wport")]
    pub(super) prefix: String,
    /// The registry of the installed dependencies the build's view is made
    /// from (default: PREFIX/var/wport/registry.sqlite).
    #[arg(long)]
    pub(super) registry: Option<PathBuf>,
    /// Parallel jobs for native build tools.
    #[arg(short, long)]
    pub(super) jobs: Option<u32>,
    /// Guest time limit per phase, in seconds.
    #[arg(long)]
    pub(super) phase_timeout: Option<u64>,
    /// Check that the port builds reproducibly: build it twice, the second
    /// time with another build directory, a later wall clock, another
    /// umask, twice the jobs and (as root) another build uid, package both
    /// and compare. Exit 0 when destroots and packages are identical, 1
    /// listing what differs (both builds are kept).
    #[arg(long)]
    pub check: bool,
    // `-v` (copy the build log to stderr while building) and `-q` are the
    // global flags (`wport::output`), read from there.
}

pub fn run(args: Args, executor: Result<&wport_exec::Executor, String>) -> i32 {
    let mut opts = BuildOptions {
        prefix: args.prefix,
        registry: args.registry,
        // -v: the build log on stderr too, as it is written.
        verbose: output::shows_detail(),
        progress: output::shows_notes(),
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
    let trust_dir = args.trust_dir.unwrap_or_else(super::key::trust_dir);
    let port = match resolve_port(
        args.port.as_deref(),
        args.unsigned,
        &trust_dir,
        &opts.build_root,
    ) {
        Ok(p) => p,
        Err(e) => {
            super::report(&e);
            return exit_code(&e);
        }
    };
    match port.origin {
        Origin::Embedded => note!("wport: no port given; building the demo port embedded in wport"),
        Origin::Signed => {
            note!("wport: every file of the port verified against the signed ports tree")
        }
        Origin::Unsigned => {}
    }
    if args.unsigned && port.origin != Origin::Unsigned {
        note!("wport: --unsigned has no effect: this port is not a local directory");
    }
    if let Err(code) = check_portfile(&port.dir) {
        return code;
    }
    if let Err(code) = check_dependencies(&port, args.port.as_deref(), &trust_dir) {
        return code;
    }
    match build_port(&port.dir, &opts, executor) {
        Ok(done) => {
            println!("built {}", done.port);
            // The phase times are a note: `-q` leaves the result alone.
            for p in done.phases.iter().filter(|_| output::shows_notes()) {
                println!(
                    "  {:<14} {:>8.1} ms",
                    p.phase.as_str(),
                    p.duration.as_secs_f64() * 1e3
                );
            }
            println!("destroot: {}", done.destroot.display());
            println!("log:      {}", done.log.display());
            exit::SUCCESS
        }
        Err(e) => {
            super::report(&e);
            explain_failure(&opts.build_root, &port.dir, &e);
            exit_code(&e)
        }
    }
}

/// After a failed phase, say where the build log is and show the last
/// lines a native command printed, which usually explain the failure
/// (MacPorts' "see the log file", with the lines a porter looks for first).
pub fn explain_failure(build_root: &Path, port_dir: &Path, e: &anyhow::Error) {
    if !e.chain().any(|c| c.is::<wport_sandbox::PhaseError>()) {
        return;
    }
    let Ok(portfile) = wport_manifest::Portfile::load(&port_dir.join("Portfile.toml")) else {
        return;
    };
    let log = build_root
        .join(format!("{}-{}", portfile.port.name, portfile.port.version))
        .join("build.log");
    if let Ok(text) = std::fs::read_to_string(&log) {
        eprint!("{}", failure_tail(&text, &log, TAIL_LINES));
    }
}

/// How many of the last output lines a failed build shows.
const TAIL_LINES: usize = 20;

/// `the build log: PATH`, then the last `n` lines of the last block of
/// native-command output in the log (lines marked `  | `, wport-exec's
/// `OUTPUT_PREFIX`), shown as they are in the log.
fn failure_tail(log: &str, path: &Path, n: usize) -> String {
    const OUTPUT: &str = "  | ";
    let lines: Vec<&str> = log.lines().collect();
    let mut out = format!("the build log: {}\n", path.display());
    if let Some(end) = lines.iter().rposition(|l| l.starts_with(OUTPUT)) {
        let mut start = end;
        while start > 0 && lines[start - 1].starts_with(OUTPUT) && end + 1 - start < n {
            start -= 1;
        }
        out.push_str(&format!(
            "the last {} line(s) a native command printed:\n",
            end + 1 - start
        ));
        for l in &lines[start..=end] {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

/// Before anything is fetched or built: the port's `[dependencies]` must
/// resolve — every name a port of the tree, no cycle through the port, no
/// phase granted a dependency of the wrong kind — with errors naming the
/// Portfile and line (exit 2; 3 when a dependency of a signed port does not
/// match the signed tree). A signed port resolves against the synced tree
/// (each dependency verified before it is parsed); `--unsigned ./ports/x`
/// against the directory holding it (`./ports`). A Portfile that fails the
/// schema is left to the build, which reports it as before.
/// A Portfile with several mistakes gets them all at once, as from
/// `wport lint`, before anything is fetched (issue 14). A single one is
/// left to the build, which reports it the same way.
fn check_portfile(dir: &Path) -> Result<(), i32> {
    match wport_manifest::Portfile::load_checked(&dir.join("Portfile.toml")) {
        Err(errors) if errors.len() > 1 => {
            for e in &errors {
                eprintln!("{e}\n");
            }
            eprintln!(
                "wport: {} errors in the Portfile; nothing was built",
                errors.len()
            );
            Err(exit::USAGE)
        }
        _ => Ok(()),
    }
}

fn check_dependencies(
    port: &wport::resolve::ResolvedPort,
    arg: Option<&str>,
    trust_dir: &std::path::Path,
) -> Result<(), i32> {
    let (mut tree, root) = match port.origin {
        // The demo port has no dependencies.
        Origin::Embedded => return Ok(()),
        Origin::Signed => {
            let name = arg.unwrap_or_default().to_owned();
            (wport::resolve::signed_tree(trust_dir), name)
        }
        Origin::Unsigned => {
            // `.` and `..` have no parent of their own: take the real path.
            let dir = if port.dir.file_name().is_some() {
                port.dir.clone()
            } else {
                std::fs::canonicalize(&port.dir).unwrap_or_else(|_| port.dir.clone())
            };
            let parent = match dir.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            let Ok(loaded) = wport_plan::Port::load(&dir) else {
                return Ok(());
            };
            let mut tree = wport_plan::Tree::local(parent);
            let name = tree.add(loaded).name.clone();
            (tree, name)
        }
    };
    match wport_plan::plan(&mut tree, &[root.as_str()]) {
        Ok(plan) => {
            if plan.len() > 1 {
                note!(
                    "wport: the dependencies of {root} resolve (build order: {})",
                    plan.order().join(", ")
                );
            }
            Ok(())
        }
        Err(errors) => {
            eprintln!("wport: the dependencies of {root} do not resolve; nothing was built");
            Err(super::tree::report_plan_errors(&errors))
        }
    }
}

/// Map a failed build to its documented exit code (see `wport::exit`).
fn exit_code(e: &anyhow::Error) -> i32 {
    exit::classify(e)
}
