//! The bridge from the guest's `exec` interface to whatever runs native
//! commands. The sandbox never spawns a process itself: the engine hands it a
//! [`NativeExec`] (backed by `wport-exec`, which confines the child). Without
//! one, every call is refused as `unavailable`.

use std::time::Duration;

use wport_manifest::Phase;

use crate::log::BuildLog;

/// One mediated command, as the guest asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecRequest {
    pub program: String,
    pub args: Vec<String>,
    /// Guest path of the working directory.
    pub cwd: String,
    pub env: Vec<(String, String)>,
    pub capture_stdout: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(i32),
    Signaled(i32),
}

#[derive(Debug, Clone)]
pub struct ExecOutcome {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub duration: Duration,
}

/// Why a mediated command did not run (or did not finish); mirrors the WIT
/// `exec.error` variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecFailure {
    #[error("denied: {0}")]
    Denied(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("failed: {0}")]
    Failed(String),
    /// The command reached a whole-build limit (memory, processes) and
    /// failed. The guest sees it as `failed`; the host records the limit, so
    /// a phase that then fails is a [`crate::PhaseError::Limit`].
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
}

/// Runs mediated native commands for one build.
pub trait NativeExec: Send + Sync {
    /// Run `request` for `phase`, writing the child's output (other than a
    /// captured stdout) into `log`, then the call's one `[exec]` line (what
    /// ran, where, how it ended) and anything else the runner recorded about
    /// it (`[trace]` lines). The sandbox writes no line of its own for it.
    fn run(
        &self,
        phase: Phase,
        request: &ExecRequest,
        log: &BuildLog,
    ) -> Result<ExecOutcome, ExecFailure>;
}
