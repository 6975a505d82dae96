//! `wport run NAME -- ARGS`: an installed program under its port's
//! `[runtime]` policy, started through the package's own launcher
//! (`libexec/wport/PORT/wport-launch --run NAME ARGS`), whatever `PATH`
//! says. The launcher replaces this process: the exit status and signals
//! are the program's.

use std::ffi::OsString;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;

use anyhow::{Context as _, bail};

#[derive(clap::Args)]
pub struct RunArgs {
    /// The installed program: PREFIX/bin/NAME.
    name: String,
    /// Its arguments, after `--`.
    #[arg(last = true, value_name = "ARGS")]
    args: Vec<OsString>,
    /// The install prefix.
    #[arg(long, default_value = "/opt/wport")]
    prefix: PathBuf,
    /// Print the rules it would run with (the launcher's --explain), and
    /// run nothing.
    #[arg(long)]
    explain: bool,
}

pub fn run(args: RunArgs) -> i32 {
    let err = match exec(&args) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    super::report(&err);
    // As env(1) and the launcher: 127 when there is nothing to run.
    127
}

#[allow(
    clippy::disallowed_methods,
    reason = "replaces this process (exec, no fork) with the package's launcher, which confines the program"
)]
fn exec(args: &RunArgs) -> anyhow::Result<std::convert::Infallible> {
    let name = &args.name;
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        bail!("`{name}` is not a program name: give the name of a program in PREFIX/bin");
    }
    let shim = args.prefix.join("bin").join(name);
    let target = match std::fs::symlink_metadata(&shim) {
        Err(e) => {
            return Err(e).with_context(|| {
                format!(
                    "no program `{name}` is installed in {} (see `wport contents PORT`)",
                    args.prefix.join("bin").display()
                )
            });
        }
        Ok(md) if md.file_type().is_symlink() => {
            std::fs::read_link(&shim).with_context(|| format!("reading {}", shim.display()))?
        }
        Ok(_) => PathBuf::new(),
    };
    let launcher = (target.file_name() == Some(wport_launch::policy::LAUNCHER.as_ref()))
        .then(|| shim.parent().map(|bin| bin.join(&target)))
        .flatten();
    let Some(launcher) = launcher else {
        if args.explain {
            bail!(
                "{} is not run through wport-launch: its port sets `confine = false`, or it was packaged \
                 before wport confined installed programs",
                shim.display()
            );
        }
        eprintln!(
            "wport: WARNING: {} runs UNCONFINED: its port sets `confine = false`, or it was packaged \
             before wport confined installed programs",
            shim.display()
        );
        let err = std::process::Command::new(&shim).args(&args.args).exec();
        return Err(err).with_context(|| format!("running {}", shim.display()));
    };
    let mode = if args.explain { "--explain" } else { "--run" };
    let err = std::process::Command::new(&launcher)
        .arg(mode)
        .arg(name)
        .args(&args.args)
        .exec();
    Err(err).with_context(|| format!("running {} through {}", name, launcher.display()))
}
