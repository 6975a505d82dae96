//! `wport key generate|show|list`: ed25519 keys in TUF's format.
//!
//! Secret keys are written 0600 (`NAME.key`) next to their public key
//! object (`NAME.pub`); a secret key file readable or writable by group or
//! others is refused wherever it is used.

use std::path::{Path, PathBuf};

use anyhow::Context;
use wport::exit;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Generate a key pair: DIR/NAME.key (secret, 0600) and DIR/NAME.pub.
    Generate {
        /// File name stem for the pair.
        name: String,
        /// Key directory (default: $XDG_CONFIG_HOME/wport/keys).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Print a key's id and TUF public key object.
    Show {
        /// A .pub or .key file, or the NAME given to `key generate` (its
        /// NAME.pub in the key directory).
        file: PathBuf,
        /// Key directory a NAME is looked up in (default:
        /// $XDG_CONFIG_HOME/wport/keys).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// List the keys in a key directory with their ids.
    List {
        /// Key directory (default: $XDG_CONFIG_HOME/wport/keys).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

fn xdg(var: &str, fallback: &str) -> PathBuf {
    if let Some(x) = std::env::var_os(var).filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("wport");
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(h) => PathBuf::from(h).join(fallback).join("wport"),
        None => std::env::temp_dir().join("wport"),
    }
}

/// Default key directory.
pub fn key_dir() -> PathBuf {
    xdg("XDG_CONFIG_HOME", ".config").join("keys")
}

/// Default trust directory (trusted metadata and the synced ports tree).
pub fn trust_dir() -> PathBuf {
    xdg("XDG_DATA_HOME", ".local/share").join("trust")
}

/// Exit code of a failed `key`, `repo` or `sync` (see `wport::exit::classify`):
/// trust refusals are 3; I/O, transport and a missing trusted root 1.
pub fn code(e: &anyhow::Error) -> i32 {
    exit::classify(e)
}

pub fn run(args: Args) -> i32 {
    let result = match args.command {
        Command::Generate { name, dir } => generate(&name, &dir.unwrap_or_else(key_dir)),
        Command::Show { file, dir } => show(&key_file(&file, &dir.unwrap_or_else(key_dir))),
        Command::List { dir } => list(&dir.unwrap_or_else(key_dir)),
    };
    match result {
        Ok(()) => exit::SUCCESS,
        Err(e) => {
            super::report(&e);
            code(&e)
        }
    }
}

fn generate(name: &str, dir: &Path) -> anyhow::Result<()> {
    let (secret, public, id) = wport_trust::keys::generate_key_pair(dir, name)
        .with_context(|| format!("generating key {name} in {}", dir.display()))?;
    println!("key id {id}");
    println!("secret {} (mode 0600: {})", secret.display(), advice(name));
    println!("public {}", public.display());
    Ok(())
}

/// What to do with a new secret key, by the TUF role its name suggests:
/// root and targets keys sign rarely and are kept offline; snapshot and
/// timestamp keys sign every publication (the timestamp on a schedule), so
/// they live on the machine that publishes, and only there.
fn advice(name: &str) -> &'static str {
    match name {
        "root" | "targets" => {
            "keep it offline: it signs only when the repository's keys or ports change"
        }
        "snapshot" | "timestamp" => {
            "keep it only on the machine that publishes the repository: it signs every `wport repo sign`/`timestamp`"
        }
        "packager" => "it signs the packages this machine builds; keep it on this machine",
        _ => "keep it private; a root or targets key belongs offline",
    }
}

/// `key show ARG`: ARG as a path when it names a file or has a `/`, else
/// the name given to `key generate` (DIR/NAME.pub).
fn key_file(arg: &Path, dir: &Path) -> PathBuf {
    let is_name = arg.components().count() == 1 && !arg.exists();
    if is_name {
        dir.join(arg).with_extension("pub")
    } else {
        arg.to_path_buf()
    }
}

fn show(file: &Path) -> anyhow::Result<()> {
    let key = wport_trust::keys::read_public_key_file(file)
        .with_context(|| format!("reading key {}", file.display()))?;
    println!("key id {}", key.key_id());
    println!("{}", serde_json::to_string_pretty(&key.to_tuf())?);
    Ok(())
}

fn list(dir: &Path) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("listing key directory {}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pub" || x == "key"))
        .collect();
    entries.sort();
    for path in entries {
        match wport_trust::keys::read_public_key_file(&path) {
            Ok(k) => println!("{}  {}", k.key_id(), path.display()),
            Err(e) => println!("{:64}  {} ({e})", "unreadable", path.display()),
        }
    }
    Ok(())
}
