//! Native commands (`make`, `cc`, `./configure`) through the host's `exec`
//! interface.
//!
//! The host checks every command against the port's capability manifest and
//! confines the child; the guest only describes it. Arguments are passed as
//! given, never split or joined by a shell, and a command that fails (non-zero
//! exit, signal, denial, timeout, missing program) is an [`Error`] naming the
//! program and its arguments.
//!
//! ```no_run
//! # use wport_guest_sdk::{env, run};
//! # fn f() -> wport_guest_sdk::Result<()> {
//! run("make").arg(format!("-j{}", env::jobs())).arg("all").status()?;
//! let version = run("./tool").arg("--version").output_string()?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::env;
use crate::error::{Context, Error, ErrorKind, Result};
use crate::imports::exec;

pub use crate::bindings::wport::port::exec::ExitStatus;

/// What a finished command reported (see [`Command::outcome`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// How the child ended.
    pub status: ExitStatus,
    /// The child's stdout when it was captured (capped by the host), else empty.
    pub stdout: Vec<u8>,
    /// Wall time the child ran.
    pub duration: Duration,
}

impl Outcome {
    /// Whether the child exited with status 0.
    pub fn success(&self) -> bool {
        matches!(self.status, ExitStatus::Exited(0))
    }
}

/// A native command to run through the host: a builder like
/// `std::process::Command`. Start one with [`run`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    program: String,
    args: Vec<String>,
    cwd: Option<PathBuf>,
    env: Vec<(String, String)>,
}

/// Start building a command for `program`: a name resolved through the
/// toolchain PATH (`make`) or a path relative to the working directory
/// (`./configure`).
pub fn run(program: impl Into<String>) -> Command {
    Command::new(program)
}

impl Command {
    /// A command for `program` with no arguments, run in the worksrc directory
    /// (or the work directory when the phase has no worksrc).
    pub fn new(program: impl Into<String>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            cwd: None,
            env: Vec::new(),
        }
    }

    /// Append one argument (passed as is: spaces are not split).
    #[must_use]
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Append arguments.
    #[must_use]
    pub fn args<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Run in `dir` (a guest path in a granted directory).
    #[must_use]
    pub fn cwd(mut self, dir: impl AsRef<Path>) -> Self {
        self.cwd = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Set an environment variable for the child (the name must be declared
    /// in the Portfile, or the host denies the command).
    #[must_use]
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// The program name.
    pub fn program(&self) -> &str {
        &self.program
    }

    /// The arguments.
    pub fn get_args(&self) -> &[String] {
        &self.args
    }

    fn resolved_cwd(&self) -> Result<PathBuf> {
        match &self.cwd {
            Some(dir) => Ok(dir.clone()),
            None => env::worksrc().or_else(|_| env::work()),
        }
    }

    /// Run the command and return its raw outcome; a non-zero exit is *not*
    /// an error here (the other errors are). `capture_stdout` returns the
    /// child's stdout instead of sending it to the build log.
    pub fn outcome(&self, capture_stdout: bool) -> Result<Outcome> {
        let cwd = self
            .resolved_cwd()
            .with_context(|| format!("running `{self}`"))?;
        let cwd_str = cwd.to_str().ok_or_else(|| {
            Error::new(
                ErrorKind::Invalid,
                format!(
                    "running `{self}`: directory `{}` is not UTF-8",
                    cwd.display()
                ),
            )
        })?;
        crate::log::debug(format!("running `{self}` in {cwd_str}"));
        let out = exec::run(&exec::Command {
            program: self.program.clone(),
            args: self.args.clone(),
            cwd: cwd_str.to_owned(),
            env: self.env.clone(),
            capture_stdout,
        })
        .with_context(|| format!("`{self}` (in {cwd_str})"))?;
        Ok(Outcome {
            status: out.status,
            stdout: out.stdout,
            duration: Duration::from_millis(out.duration_ms),
        })
    }

    fn checked(&self, capture_stdout: bool) -> Result<Outcome> {
        let out = self.outcome(capture_stdout)?;
        let failure = match out.status {
            ExitStatus::Exited(0) => return Ok(out),
            ExitStatus::Exited(code) => format!("exited with status {code}"),
            ExitStatus::Signaled(sig) => format!("was killed by signal {sig}"),
        };
        let cwd = self
            .resolved_cwd()
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        Err(Error::new(
            ErrorKind::CommandFailed,
            format!("`{self}` (in {cwd}) {failure}"),
        ))
    }

    /// Run the command with its output going to the build log; error unless
    /// it exits with status 0.
    pub fn status(&self) -> Result<()> {
        self.checked(false).map(drop)
    }

    /// Run the command capturing its stdout (capped by the host); error
    /// unless it exits with status 0.
    pub fn output(&self) -> Result<Vec<u8>> {
        self.checked(true).map(|o| o.stdout)
    }

    /// Like [`Command::output`], as UTF-8 text.
    pub fn output_string(&self) -> Result<String> {
        let bytes = self.output()?;
        String::from_utf8(bytes).with_context(|| format!("output of `{self}`"))
    }
}

/// Shows the command line, quoting arguments that a reader could misparse
/// (display only: nothing is ever given to a shell).
impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&quote(&self.program))?;
        for a in &self.args {
            write!(f, " {}", quote(a))?;
        }
        Ok(())
    }
}

fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%{}".contains(c));
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Run `make <args>` in the worksrc directory. Pass `-j` yourself (e.g.
/// `format!("-j{}", env::jobs())`) where the Makefile supports it.
pub fn make<S: Into<String>>(args: impl IntoIterator<Item = S>) -> Result<()> {
    run("make").args(args).status()
}

/// Run `./configure --prefix=<prefix> <args>` in the worksrc directory.
pub fn configure<S: Into<String>>(args: impl IntoIterator<Item = S>) -> Result<()> {
    run("./configure")
        .arg(format!("--prefix={}", env::prefix()))
        .args(args)
        .status()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_only_when_needed() {
        let c = run("make")
            .arg("-j4")
            .arg("DESTDIR=/destroot")
            .arg("CFLAGS=-O2 -g")
            .arg("it's")
            .arg("");
        assert_eq!(
            c.to_string(),
            r"make -j4 DESTDIR=/destroot 'CFLAGS=-O2 -g' 'it'\''s' ''"
        );
    }
}
