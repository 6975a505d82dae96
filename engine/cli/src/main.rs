//! `wport`: arguments in, a command out. Each verb lives in `commands/`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;

#[derive(Parser)]
#[command(name = "wport", version, about = "A ports system whose build logic cannot hurt the machine it runs on")]
struct Cli {
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Build(args) => {
            // The spawn helper is forked first, while this process is small
            // and single-threaded (before wasmtime loads). Whether it is
            // needed is known only once the Portfile is read; starting it is
            // cheap, and a failure matters only to a port that runs programs.
            let executor = wport_exec::Executor::start(wport_exec::ExecutorConfig::default());
            let executor = executor.as_ref().map_err(|e| e.to_string());
            commands::build::run(args, executor)
        }
        Command::Key(args) => commands::key::run(args),
        Command::Repo(args) => commands::repo::run(args),
        Command::Sync(args) => commands::sync::run(args),
        Command::Lint(args) => commands::lint::run(args),
    };
    ExitCode::from(code as u8)
}
