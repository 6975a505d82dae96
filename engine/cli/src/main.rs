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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Build(args) => commands::build::run(args),
    };
    ExitCode::from(code as u8)
}
