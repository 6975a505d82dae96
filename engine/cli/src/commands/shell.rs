//! `wport shellenv|log|completions|man`: what a user's shell needs from
//! wport. `shellenv` prints the lines that put the prefix on PATH and
//! MANPATH (as `brew shellenv` does); `log` prints a port's last build log;
//! `completions` and `man` are generated from the clap definition in
//! `main.rs`, so they cannot drift from the verbs and flags that exist.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::CommandFactory;
use wport::exit;

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShellKind {
    Sh,
    Bash,
    Zsh,
    Fish,
}

#[derive(clap::Args)]
pub struct ShellenvArgs {
    /// The install prefix whose bin, sbin and share/man to add.
    #[arg(long, default_value = "/opt/wport")]
    prefix: PathBuf,
    /// The syntax to print (default: from $SHELL's name; sh if unknown).
    #[arg(long, value_enum)]
    shell: Option<ShellKind>,
}

#[derive(clap::Args)]
pub struct LogArgs {
    /// The port (`zlib`), or one version of it (`zlib@1.3.1`).
    port: String,
    /// Parent directory of build directories (as given to `wport build`).
    #[arg(long)]
    build_root: Option<PathBuf>,
    /// Print the log's path instead of its contents.
    #[arg(long)]
    path: bool,
}

#[derive(clap::Args)]
pub struct CompletionsArgs {
    /// The shell to write a completion script for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

#[derive(clap::Args)]
pub struct ManArgs {
    /// Directory to write wport.1 and one wport-VERB.1 per verb into.
    dir: PathBuf,
}

fn finish(r: anyhow::Result<i32>) -> i32 {
    match r {
        Ok(c) => c,
        Err(e) => {
            super::report(&e);
            exit::FAILURE
        }
    }
}

/// Single-quoted for sh and fish: no expansion inside, `'` closed, escaped
/// and reopened (fish also accepts `\'` inside quotes, but this form is
/// valid in both).
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The text `wport shellenv` prints for `prefix` in `shell`'s syntax.
pub fn shellenv_text(prefix: &Path, shell: ShellKind) -> String {
    let p = prefix.display().to_string();
    let bin = quote(&format!("{p}/bin"));
    let sbin = quote(&format!("{p}/sbin"));
    let man = quote(&format!("{p}/share/man"));
    match shell {
        // `${VAR+:$VAR}` adds the colon only when VAR is set; MANPATH's
        // trailing `:` keeps man's default search path after the prefix's.
        ShellKind::Sh | ShellKind::Bash | ShellKind::Zsh => format!(
            "export PATH={bin}:{sbin}\"${{PATH+:$PATH}}\";\n\
             export MANPATH={man}\"${{MANPATH+:$MANPATH}}:\";\n"
        ),
        // fish keeps PATH and MANPATH as lists; the empty last element of
        // MANPATH plays the trailing colon's part.
        ShellKind::Fish => format!(
            "set --global --export PATH {bin} {sbin} $PATH;\n\
             set --global --export MANPATH {man} $MANPATH '';\n"
        ),
    }
}

fn shell_from_env() -> ShellKind {
    let shell = std::env::var("SHELL").unwrap_or_default();
    match shell.rsplit('/').next().unwrap_or("") {
        "fish" => ShellKind::Fish,
        "zsh" => ShellKind::Zsh,
        "bash" => ShellKind::Bash,
        _ => ShellKind::Sh,
    }
}

pub fn shellenv(args: ShellenvArgs) -> i32 {
    finish((|| {
        if !args.prefix.is_absolute() {
            bail!(
                "the prefix {} is not an absolute path: PATH would change meaning with the working directory",
                args.prefix.display()
            );
        }
        let shell = args.shell.unwrap_or_else(shell_from_env);
        print!("{}", shellenv_text(&args.prefix, shell));
        Ok(exit::SUCCESS)
    })())
}

/// The build log of `port` under `build_root`: `NAME-VERSION/build.log`
/// for `NAME@VERSION`; for a bare name, the most recently written log of a
/// directory `NAME-*` (the newest build of that port).
pub fn find_log(build_root: &Path, port: &str) -> anyhow::Result<PathBuf> {
    if let Some((name, version)) = port.split_once('@') {
        let log = build_root
            .join(format!("{name}-{version}"))
            .join("build.log");
        if !log.is_file() {
            bail!(
                "no build log of {name} {version}: {} does not exist (build it with `wport build {name}`)",
                log.display()
            );
        }
        return Ok(log);
    }
    if port.contains('/') || port.is_empty() {
        bail!("{port:?} is not a port name");
    }
    let entries = match std::fs::read_dir(build_root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!(
                "no build log of {port}: the build root {} does not exist (nothing was built there)",
                build_root.display()
            )
        }
        Err(e) => {
            return Err(e).with_context(|| format!("reading {}", build_root.display()));
        }
    };
    let stem = format!("{port}-");
    let mut newest: Option<(std::time::SystemTime, PathBuf)> = None;
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", build_root.display()))?;
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(&stem)) else {
            continue;
        };
        // `lua-5.4.7` is lua's; `lua-readline-1.0` is not (a version
        // starts with a digit far more often than a port name's tail does,
        // and NAME@VERSION picks exactly when it does not).
        if !rest.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        let log = entry.path().join("build.log");
        let Ok(meta) = std::fs::metadata(&log) else {
            continue;
        };
        let modified = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
        if newest.as_ref().is_none_or(|(t, _)| modified > *t) {
            newest = Some((modified, log));
        }
    }
    match newest {
        Some((_, log)) => Ok(log),
        None => bail!(
            "no build log of {port} in {} (build it with `wport build {port}`, or name a version: {port}@VERSION)",
            build_root.display()
        ),
    }
}

pub fn log(args: LogArgs) -> i32 {
    finish((|| {
        let root = args.build_root.unwrap_or_else(wport::paths::build_root);
        let log = find_log(&root, &args.port)?;
        if args.path {
            println!("{}", log.display());
            return Ok(exit::SUCCESS);
        }
        let text = std::fs::read(&log).with_context(|| format!("reading {}", log.display()))?;
        let mut out = std::io::stdout().lock();
        out.write_all(&text)
            .and_then(|()| out.flush())
            .context("writing the build log to stdout")?;
        Ok(exit::SUCCESS)
    })())
}

pub fn completions(args: CompletionsArgs) -> i32 {
    let mut cmd = crate::Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "wport", &mut std::io::stdout());
    exit::SUCCESS
}

pub fn man(args: ManArgs) -> i32 {
    finish((|| {
        std::fs::create_dir_all(&args.dir)
            .with_context(|| format!("creating {}", args.dir.display()))?;
        let cmd = crate::Cli::command();
        let mut pages = vec![("wport".to_string(), cmd.clone())];
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            let name = format!("wport-{}", sub.get_name());
            // Title and NAME section say `wport-VERB`, SYNOPSIS `wport VERB`.
            let page = sub
                .clone()
                .display_name(name.clone())
                .bin_name(format!("wport {}", sub.get_name()));
            pages.push((name, page));
        }
        for (name, page) in pages {
            let mut text = Vec::new();
            clap_mangen::Man::new(page)
                .render(&mut text)
                .with_context(|| format!("rendering the man page {name}.1"))?;
            let path = args.dir.join(format!("{name}.1"));
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            println!("{}", path.display());
        }
        Ok(exit::SUCCESS)
    })())
}
