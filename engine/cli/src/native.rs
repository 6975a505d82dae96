//! The bridge between the sandbox's `exec` host call and `wport-exec`: turns
//! a phase and the Portfile's grants for it into the executor's policy, and
//! the executor's answers into the sandbox's.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use wport_exec::{DirAccess, ExecError, PhaseAccess, Policy, Request, Session};
use wport_manifest::{Phase, Portfile};
use wport_sandbox::grants::{Access, dir_grants};
use wport_sandbox::{BuildLog, ExecFailure, ExecOutcome, ExecRequest, ExitStatus, NativeExec};

use crate::view::BuildView;

/// Time limit of one mediated call when the Portfile sets none.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(3600);

/// Runs a build's mediated calls in one confined session.
pub struct MediatedExec {
    session: Session,
    policies: BTreeMap<Phase, Policy>,
    /// The build's dependency views (kept for their pins) and each phase's.
    view: Option<BuildView>,
}

impl MediatedExec {
    /// `view`: the dependency views the session was started with
    /// (`SessionOptions::prefix_view`), from [`crate::view::prepare`].
    pub fn new(session: Session, portfile: &Portfile, view: Option<BuildView>) -> Self {
        let policies = Phase::ALL
            .into_iter()
            .map(|phase| {
                let g = portfile.capabilities.phase(phase);
                let policy = Policy {
                    programs: g.programs.clone(),
                    env: g.env.clone(),
                    allow_loader_env: g.allow_loader_env,
                    timeout: g.timeout.unwrap_or(DEFAULT_CALL_TIMEOUT),
                    allow_work_scripts: g.programs.iter().any(|p| p.starts_with("./")),
                };
                (phase, policy)
            })
            .collect();
        MediatedExec {
            session,
            policies,
            view,
        }
    }

    pub fn session(&self) -> &Session {
        &self.session
    }
}

fn access(a: Access) -> DirAccess {
    match a {
        Access::None => DirAccess::None,
        Access::ReadOnly => DirAccess::ReadOnly,
        Access::ReadWrite => DirAccess::ReadWrite,
    }
}

/// Adapts the build log to `std::io::Write` for the child's output.
struct LogSink<'a>(&'a BuildLog);

impl Write for LogSink<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write_bytes(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl NativeExec for MediatedExec {
    fn run(
        &self,
        phase: Phase,
        request: &ExecRequest,
        log: &BuildLog,
    ) -> Result<ExecOutcome, ExecFailure> {
        let g = dir_grants(phase);
        let phase_access = PhaseAccess {
            sources: access(g.sources),
            work: access(g.work),
            destroot: access(g.destroot),
            view: self
                .view
                .as_ref()
                .and_then(|v| v.phases.get(&phase).copied()),
        };
        let req = Request {
            program: request.program.clone(),
            args: request.args.clone(),
            cwd: request.cwd.clone(),
            env: request.env.clone(),
            capture_stdout: request.capture_stdout,
        };
        let policy = &self.policies[&phase];
        match self
            .session
            .run(&phase_access, policy, &req, &mut LogSink(log))
        {
            Ok(o) => Ok(ExecOutcome {
                status: match o.status {
                    wport_exec::ExitStatus::Exited(c) => ExitStatus::Exited(c),
                    wport_exec::ExitStatus::Signaled(s) => ExitStatus::Signaled(s),
                },
                stdout: o.stdout,
                duration: o.duration,
            }),
            Err(e) => Err(match e {
                ExecError::Denied { .. } => ExecFailure::Denied(format!("{e} (phase {phase})")),
                ExecError::NotFound { .. } => ExecFailure::NotFound(e.to_string()),
                ExecError::Timeout { limit, .. } => ExecFailure::Timeout(limit),
                ExecError::Unavailable { .. } | ExecError::BadSandboxDir { .. } => {
                    ExecFailure::Unavailable(e.to_string())
                }
                ExecError::LimitExceeded { .. } => ExecFailure::LimitExceeded(e.to_string()),
                _ => ExecFailure::Failed(e.to_string()),
            }),
        }
    }
}
