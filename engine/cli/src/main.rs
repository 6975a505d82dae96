//! `wport`: arguments in, a command out. Each verb lives in `commands/`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use wport::output;

mod commands;

#[derive(Parser)]
#[command(
    name = "wport",
    version,
    about = "A ports system whose build logic cannot hurt the machine it runs on"
)]
struct Cli {
    /// Print only results, warnings and errors: no progress, no notes.
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        display_order = 900
    )]
    quiet: bool,
    /// Say more: each URL fetched, each phase's time, what was skipped;
    /// `build` also copies the build log to stderr.
    #[arg(short, long, global = true, display_order = 901)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build a port from its Portfile into a destroot (no argument: the
    /// demo port embedded in wport).
    Build(commands::build::Args),
    /// Generate, show and list ed25519 signing keys (TUF key format).
    Key(commands::key::Args),
    /// Maintain a ports tree as a TUF repository (init, add, delegate,
    /// rotate, sign, timestamp).
    Repo(commands::repo::Args),
    /// Update the trusted ports tree from a repository and verify it.
    Sync(commands::sync::Args),
    /// Check Portfiles, their files and their components' imports (for
    /// maintainers and CI); or, with --diff OLD NEW, list the capabilities
    /// a new version of a port gains or loses.
    Lint(commands::lint::Args),
    /// Start a port from a source tarball URL or file: pin it, detect its build system, write a Portfile.
    New(commands::new::Args),
    /// List a port's dependencies by kind (--tree: all of them, recursively).
    Deps(commands::tree::DepsArgs),
    /// List the ports of the tree that depend on a port.
    Rdeps(commands::tree::RdepsArgs),
    /// Find ports by name or description.
    Search(commands::tree::SearchArgs),
    /// Download ports' distfiles into the store, verified against their pins
    /// (a mismatch is quarantined).
    Fetch(commands::fetch::Args),
    /// Download ports' distfiles and print the sha256/size lines that pin them.
    Checksum(commands::checksum::Args),
    /// List, show or release downloads that did not match their pins.
    Quarantine(commands::quarantine::Args),
    /// Build a port (or take --destroot) and make a signed, deterministic
    /// binary package of its destroot.
    Package(commands::package::Args),
    /// Write the signed index of a binary repository directory.
    Index(commands::package::IndexArgs),
    /// Verify and install a package file, or a package from --repo, with
    /// its dependencies.
    Install(commands::install::InstallArgs),
    /// Remove an installed package's files (changed ones kept without --force).
    Uninstall(commands::install::UninstallArgs),
    /// Compare installed files with the registry (exit 1 on problems).
    Verify(commands::install::VerifyArgs),
    /// List installed packages.
    List(commands::install::ListArgs),
    /// List the files, links and directories of an installed package.
    Contents(commands::install::NameArgs),
    /// Which package provides a path.
    Owner(commands::install::OwnerArgs),
    /// Run an installed program confined by its port's [runtime], as
    /// PREFIX/bin/NAME runs it (`wport run NAME -- ARGS`).
    Run(commands::run::RunArgs),
    /// Show an installed package's version, dependencies and provenance.
    Info(commands::install::InfoArgs),
    /// List installed ports whose synced Portfile differs (version,
    /// revision or pinned inputs).
    Outdated(commands::ports::OutdatedArgs),
    /// Rebuild outdated installed ports and replace them in place (and the
    /// installed ports linking against them).
    Upgrade(commands::ports::UpgradeArgs),
    /// Remove build directories (and with --dist, distfiles).
    Clean(commands::ports::CleanArgs),
    /// Print the shell lines that put the prefix's bin, sbin and man pages
    /// on PATH and MANPATH (`eval "$(wport shellenv)"`).
    Shellenv(commands::shell::ShellenvArgs),
    /// Print the last build log of a port.
    Log(commands::shell::LogArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(commands::shell::CompletionsArgs),
    /// Write man pages for wport and each verb into a directory.
    Man(commands::shell::ManArgs),
}

/// Give SIGPIPE back its default disposition, which Rust's runtime sets to
/// "ignore" before `main`. With it ignored, `wport contents NAME | head -1`
/// makes the next `println!` fail with EPIPE, and `println!` panics (exit
/// 101 and a panic message). Restored, the process ends quietly as `cat`,
/// `ls` and `git` do when their reader goes away. Making every print
/// fallible instead would touch every verb and still miss a panic in any
/// print added later.
///
/// Nothing else in wport relies on SIGPIPE being ignored: std's sockets
/// (wport-fetch, the TUF client) send with MSG_NOSIGNAL, and so does
/// wport-exec's channel to its spawn helper (`wire::send`).
#[expect(unsafe_code, reason = "signal(2) has no safe wrapper in std or rustix")]
fn restore_sigpipe() {
    // SAFETY: called first thing in `main`, before any thread exists; it
    // sets a disposition (SIG_DFL), installing no handler that could run.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Fork the spawn helper (`wport_exec::Executor`), the way every verb that
/// needs one starts it: `-v` says so, which is how
/// `tests/output_levels.rs` checks that only `build` does.
fn start_spawn_helper() -> Result<wport_exec::Executor, wport_exec::ExecError> {
    let executor = wport_exec::Executor::start(wport_exec::ExecutorConfig::default());
    match &executor {
        Ok(_) => wport::detail!("wport: spawn helper started"),
        Err(e) => wport::detail!("wport: spawn helper not started: {e}"),
    }
    executor
}

fn main() -> ExitCode {
    restore_sigpipe();
    let cli = Cli::parse();
    output::set(match (cli.quiet, cli.verbose) {
        (true, _) => output::Verbosity::Quiet,
        (false, true) => output::Verbosity::Verbose,
        (false, false) => output::Verbosity::Normal,
    });
    let code = match cli.command {
        // `--check` builds through two child `wport build`s, which start
        // their own helpers; this process only compares what they left.
        Command::Build(args) if args.check => commands::check::run(args),
        // Only `build` runs a port's native commands in this process, so
        // only `build` starts the spawn helper. `package`, `install` and
        // `upgrade` build through a child `wport build` (as root, a build
        // drops to the build user for good, which their own process must
        // not), and that child starts its own.
        Command::Build(args) => {
            // The spawn helper is forked first, while this process is small
            // and single-threaded (before wasmtime loads). Whether it is
            // needed is known only once the Portfile is read; starting it is
            // cheap, and a failure matters only to a port that runs programs.
            let executor = start_spawn_helper();
            let executor = executor.as_ref().map_err(|e| e.to_string());
            commands::build::run(args, executor)
        }
        Command::Key(args) => commands::key::run(args),
        Command::Repo(args) => commands::repo::run(args),
        Command::Sync(args) => commands::sync::run(args),
        Command::Lint(args) => commands::lint::run(args),
        Command::New(args) => commands::new::run(args),
        Command::Deps(args) => commands::tree::deps(args),
        Command::Rdeps(args) => commands::tree::rdeps(args),
        Command::Search(args) => commands::tree::search(args),
        Command::Fetch(args) => commands::fetch::run(args),
        Command::Checksum(args) => commands::checksum::run(args),
        Command::Quarantine(args) => commands::quarantine::run(args),
        Command::Package(args) => commands::package::run(args),
        Command::Index(args) => commands::package::run_index(args),
        Command::Install(args) => commands::install::install(args),
        Command::Uninstall(args) => commands::install::uninstall(args),
        Command::Verify(args) => commands::install::verify(args),
        Command::List(args) => commands::install::list(args),
        Command::Contents(args) => commands::install::contents(args),
        Command::Owner(args) => commands::install::owner(args),
        Command::Run(args) => commands::run::run(args),
        Command::Info(args) => commands::install::info(args),
        Command::Outdated(args) => commands::ports::run_outdated(args),
        Command::Upgrade(args) => commands::ports::upgrade(args),
        Command::Clean(args) => commands::ports::clean(args),
        Command::Shellenv(args) => commands::shell::shellenv(args),
        Command::Log(args) => commands::shell::log(args),
        Command::Completions(args) => commands::shell::completions(args),
        Command::Man(args) => commands::shell::man(args),
    };
    ExitCode::from(code as u8)
}
