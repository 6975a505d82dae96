//! Errors of a mediated call. Security outcomes are variants, never strings.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Why the policy layer refused a call. Each variant names the grant that is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DenialReason {
    /// The program is not listed in the phase's `programs` grant.
    ProgramNotGranted,
    /// Programs are granted by bare name (resolved through the toolchain PATH)
    /// or as `./script` in the work dir; absolute or other paths never are.
    ProgramNotBareName,
    /// `./script` programs need `allow_work_scripts` in the phase's policy.
    WorkScriptsNotAllowed,
    /// A `./script` must resolve inside `/work`.
    ScriptOutsideWork { resolved: String },
    /// The working directory is not inside a directory granted to the phase.
    CwdNotGranted { cwd: String },
    /// An environment variable the manifest does not declare for this phase.
    EnvNotDeclared { name: String },
    /// A dynamic-loader variable (LD_PRELOAD, GCONV_PATH, ...) without `allow_loader_env`.
    LoaderEnv { name: String },
    /// A variable only wport sets (PATH).
    ReservedEnv { name: String },
    /// An argument, variable or path that cannot be passed to execve (NUL byte, bad name).
    Malformed { what: String },
}

impl fmt::Display for DenialReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DenialReason::ProgramNotGranted => write!(f, "not in this phase's `programs` grant"),
            DenialReason::ProgramNotBareName => write!(
                f,
                "programs are granted by bare name (found through the toolchain PATH) or as ./script in the work dir"
            ),
            DenialReason::WorkScriptsNotAllowed => {
                write!(
                    f,
                    "running scripts from the work dir needs `allow_work_scripts` for this phase"
                )
            }
            DenialReason::ScriptOutsideWork { resolved } => {
                write!(f, "script resolves to {resolved}, outside /work")
            }
            DenialReason::CwdNotGranted { cwd } => {
                write!(
                    f,
                    "working directory {cwd} is not inside a directory granted to this phase"
                )
            }
            DenialReason::EnvNotDeclared { name } => {
                write!(
                    f,
                    "environment variable {name} is not declared in this phase's `env` grant"
                )
            }
            DenialReason::LoaderEnv { name } => {
                write!(
                    f,
                    "loader variable {name} needs `allow_loader_env` for this phase"
                )
            }
            DenialReason::ReservedEnv { name } => {
                write!(f, "{name} is set by wport and cannot be overridden")
            }
            DenialReason::Malformed { what } => write!(f, "malformed request: {what}"),
        }
    }
}

/// A whole-build limit (the build's cgroup) that a call reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildLimit {
    /// The build's memory limit: the kernel's OOM killer ended a process.
    Memory { bytes: u64 },
    /// The build's process limit: a fork or clone was refused.
    Processes { max: u64 },
}

impl fmt::Display for BuildLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildLimit::Memory { bytes } if bytes % (1 << 20) == 0 => {
                write!(f, "the build's memory limit of {} MiB", bytes >> 20)
            }
            BuildLimit::Memory { bytes } => {
                write!(f, "the build's memory limit of {bytes} bytes")
            }
            BuildLimit::Processes { max } => {
                write!(f, "the build's limit of {max} processes")
            }
        }
    }
}

/// Failure of a mediated call (the command's own non-zero exit is not an error:
/// it is an [`crate::Outcome`] with that status).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    /// The policy refused the call before anything ran.
    #[error("`{program}` denied: {reason}")]
    Denied {
        program: String,
        reason: DenialReason,
    },
    /// The program is granted but not found through the toolchain PATH / in the work dir.
    #[error("`{program}` not found (searched {searched})")]
    NotFound { program: String, searched: String },
    /// The wall-clock limit elapsed; every process the call started was killed.
    #[error("`{program}` killed after the {limit:?} time limit")]
    Timeout { program: String, limit: Duration },
    /// The build reached a whole-build limit during the call (a process was
    /// killed for memory, or a fork was refused) and the command failed.
    #[error("`{program}` failed: it reached {limit}")]
    LimitExceeded { program: String, limit: BuildLimit },
    /// The confinement cannot be set up on this kernel/host, and running
    /// unconfined was not explicitly allowed.
    #[error("confinement unavailable: {reason}")]
    Unavailable { reason: String },
    /// A build directory handed to [`crate::Executor::session`] is unusable.
    #[error("sandbox directory {path}: {reason}")]
    BadSandboxDir { path: PathBuf, reason: String },
    /// Anything else that stopped the call (exec error, helper died, I/O).
    #[error("`{program}` failed: {reason}")]
    Failed { program: String, reason: String },
}
