//! [`PlanError`]: why a ports tree or a set of roots cannot be planned.
//!
//! Every error about one Portfile names it and the 1-based line and column
//! of the offending name, so a maintainer can jump there; tools read the
//! fields, people read `Display` (`ports/a/Portfile.toml:12:9: ...`).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use wport_manifest::{ManifestError, Phase};

use crate::port::{DepKind, allowed_kinds};

/// What a verify callback returns when a port does not match the signed
/// tree (the CLI passes `wport_trust::verify_port`'s error through).
pub type VerifyError = Box<dyn std::error::Error + Send + Sync>;

/// One reason a tree or a plan is refused.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// `[dependencies]` names a port the tree does not have.
    #[error(
        "{}:{line}:{column}: port `{port}` declares the {kind} dependency `{dependency}`, which is not a port of the tree{}",
        portfile.display(),
        did_you_mean(suggestion)
    )]
    UnknownDependency {
        /// The port whose Portfile declares it.
        port: String,
        /// That Portfile.
        portfile: PathBuf,
        /// 1-based line of the name in `[dependencies]`.
        line: usize,
        /// 1-based column (in characters) of the name.
        column: usize,
        /// The list it is declared in.
        kind: DepKind,
        /// The name as written.
        dependency: String,
        /// The closest port name of the tree, when one is close.
        suggestion: Option<String>,
    },
    /// Ports that depend on each other in a circle. `cycle` starts and ends
    /// with the same port (the smallest name of the circle): `a -> b -> a`.
    #[error(
        "{}:{line}:{column}: dependency cycle: {}",
        portfile.display(),
        cycle.join(" -> ")
    )]
    Cycle {
        /// The ports of the circle, first repeated at the end.
        cycle: Vec<String>,
        /// The Portfile of `cycle[0]`, which declares `cycle[1]`.
        portfile: PathBuf,
        /// 1-based line of that declaration.
        line: usize,
        /// 1-based column of that declaration.
        column: usize,
    },
    /// A phase is granted a dependency whose kind that phase may not see
    /// (see [`allowed_kinds`]): a `run` dependency in `build`, anything in
    /// `post-destroot`...
    #[error(
        "{}:{line}:{column}: phase `{phase}` of port `{port}` is granted `{dependency}`, a {kind} dependency; {}",
        portfile.display(),
        allowed_text(*phase)
    )]
    WrongKind {
        /// The port.
        port: String,
        /// Its Portfile.
        portfile: PathBuf,
        /// 1-based line of the grant in `[capabilities.<phase>] dependencies`.
        line: usize,
        /// 1-based column of the grant.
        column: usize,
        /// The phase granted it.
        phase: Phase,
        /// The dependency granted.
        dependency: String,
        /// The kind it is declared as (the first list naming it).
        kind: DepKind,
    },
    /// A port asked for by name (a root, or a dependency while loading a
    /// tree lazily) has no directory in the tree.
    #[error(
        "port `{name}` is not in the ports tree {}{}",
        tree.display(),
        did_you_mean(suggestion)
    )]
    NotFound {
        /// The name asked for.
        name: String,
        /// The tree's root directory.
        tree: PathBuf,
        /// The closest port name of the tree, when one is close.
        suggestion: Option<String>,
    },
    /// A name that is not a safe port name (a root given on a command line).
    #[error("`{name}` is not a port name: {reason}")]
    BadName {
        /// The name as given.
        name: String,
        /// Why it is refused.
        reason: String,
    },
    /// The Portfile failed the schema (the error renders the snippet).
    #[error("{error}")]
    Manifest {
        /// The port (its directory name).
        port: String,
        /// The Portfile.
        portfile: PathBuf,
        /// What the schema found.
        error: ManifestError,
    },
    /// The verify callback refused the port's files: nothing of it was
    /// parsed.
    #[error(
        "port `{port}` ({}): the files do not match the signed ports tree",
        dir.display()
    )]
    Unverified {
        /// The port.
        port: String,
        /// Its directory.
        dir: PathBuf,
        /// What the callback reported.
        #[source]
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
    /// The directory `ports/<dir>` holds a Portfile whose `[port] name` is
    /// another name: looked up by name, it would stand in for a port it is
    /// not.
    #[error(
        "{}: `[port] name` is `{name}`, but the port's directory is `{directory}`; a port lives in a directory of its own name",
        portfile.display()
    )]
    NameMismatch {
        /// The Portfile.
        portfile: PathBuf,
        /// `[port] name`.
        name: String,
        /// The directory's name.
        directory: String,
    },
    /// Two ports of one tree have the same name.
    #[error(
        "two ports are named `{name}`: {} and {}",
        first.display(),
        second.display()
    )]
    DuplicatePort {
        /// The name.
        name: String,
        /// The first Portfile (in path order).
        first: PathBuf,
        /// The second.
        second: PathBuf,
    },
    /// Reading the tree failed.
    #[error("{what} {}", path.display())]
    Io {
        /// What was being done (`"listing"`, `"reading"`).
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: Arc<std::io::Error>,
    },
}

impl PlanError {
    /// The Portfile the error is about, when it is about one.
    pub fn portfile(&self) -> Option<&std::path::Path> {
        match self {
            PlanError::UnknownDependency { portfile, .. }
            | PlanError::Cycle { portfile, .. }
            | PlanError::WrongKind { portfile, .. }
            | PlanError::Manifest { portfile, .. }
            | PlanError::NameMismatch { portfile, .. } => Some(portfile),
            PlanError::DuplicatePort { second, .. } => Some(second),
            PlanError::NotFound { .. }
            | PlanError::BadName { .. }
            | PlanError::Unverified { .. }
            | PlanError::Io { .. } => None,
        }
    }

    /// 1-based line and column in [`PlanError::portfile`], when known.
    pub fn position(&self) -> Option<(usize, usize)> {
        match self {
            PlanError::UnknownDependency { line, column, .. }
            | PlanError::Cycle { line, column, .. }
            | PlanError::WrongKind { line, column, .. } => Some((*line, *column)),
            PlanError::Manifest { error, .. } => error.line().zip(error.column()),
            _ => None,
        }
    }

    /// The message without its `portfile:line:column: ` prefix, for tools
    /// that show the position themselves (lint diagnostics).
    pub fn summary(&self) -> String {
        let full = self.to_string();
        let Some(portfile) = self.portfile() else {
            return full;
        };
        let prefix = match self.position() {
            Some((line, column)) => format!("{}:{line}:{column}: ", portfile.display()),
            None => format!("{}: ", portfile.display()),
        };
        match full.strip_prefix(&prefix) {
            Some(rest) => rest.to_owned(),
            None => full,
        }
    }

    /// What the maintainer can do about it.
    pub fn help(&self) -> Option<String> {
        match self {
            PlanError::UnknownDependency { suggestion, .. } => Some(match suggestion {
                Some(_) => "fix the name, add the port to the tree, or remove the name from [dependencies]".into(),
                None => "add the port to the tree, or remove the name from [dependencies]".into(),
            }),
            PlanError::Cycle { .. } => Some(
                "a port cannot be built before itself: remove one of these dependencies (a run-time need \
                 of a build tool is often the one to drop)"
                    .into(),
            ),
            PlanError::WrongKind { phase, dependency, .. } => Some(match allowed_kinds(*phase) {
                [] => format!(
                    "remove `{dependency}` from [capabilities.{phase}] dependencies: that phase sees no dependency"
                ),
                kinds => format!(
                    "declare `{dependency}` as {} in [dependencies] if {phase} really needs it, or remove the grant",
                    kinds
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(" or ")
                ),
            }),
            PlanError::NameMismatch { name, .. } => Some(format!(
                "rename the directory to `{name}`, or fix `[port] name`"
            )),
            PlanError::DuplicatePort { .. } => Some("rename or remove one of them".into()),
            PlanError::Unverified { .. } => Some(
                "the synced copy changed after it was verified, or the repository serves files its                  signed targets do not list: run `wport sync` again, and if it persists tell the                  tree's maintainers; nothing of this port was read"
                    .into(),
            ),
            PlanError::NotFound {
                suggestion: None, ..
            } => Some(
                "look for it with `wport search TERM`; `wport sync` brings the synced tree up to date"
                    .into(),
            ),
            _ => None,
        }
    }
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(close) => format!(" (did you mean `{close}`?)"),
        None => String::new(),
    }
}

/// "post-destroot may see no dependency", "patch may only see build
/// dependencies", ...
fn allowed_text(phase: Phase) -> String {
    struct Kinds(&'static [DepKind]);
    impl fmt::Display for Kinds {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            for (i, kind) in self.0.iter().enumerate() {
                match i {
                    0 => {}
                    i if i + 1 == self.0.len() => f.write_str(" and ")?,
                    _ => f.write_str(", ")?,
                }
                write!(f, "{kind}")?;
            }
            Ok(())
        }
    }
    match allowed_kinds(phase) {
        [] => format!("{phase} may see no dependency"),
        kinds => format!("{phase} may only see {} dependencies", Kinds(kinds)),
    }
}
