//! The bridge between the sandbox's `exec` host call and `wport-exec`: turns
//! a phase and the Portfile's grants for it into the executor's policy, and
//! the executor's answers into the sandbox's; and at the end of a build, the
//! report of what the confinement refused its commands ([`RefusalReport`]).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use wport_exec::{
    AuditRecord, DirAccess, ExecError, PhaseAccess, Policy, Refusal, Request, Session,
};
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
    /// The phase of each call, in the order of the session's audit records.
    call_phases: Mutex<Vec<Phase>>,
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
            call_phases: Mutex::new(Vec::new()),
        }
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    /// What the confinement refused the build's commands so far, merged
    /// over its calls.
    pub fn refusals(&self) -> RefusalReport {
        let phases = self
            .call_phases
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        RefusalReport::new(phases.into_iter().zip(self.session.audit()))
    }
}

/// The trace of refused accesses of one build (docs/CONFINEMENT.md, "Trace
/// of refused accesses"): one entry per distinct (phase, mediated program,
/// process, operation, path, errno), with the count summed over calls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefusalReport {
    pub entries: Vec<RefusalEntry>,
    /// Calls whose trace was incomplete (records dropped or malformed).
    pub incomplete_calls: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalEntry {
    pub phase: Phase,
    /// The mediated command (`make`, `sh`) the refused process ran under.
    pub program: String,
    pub refusal: Refusal,
}

/// Entries shown on stderr; the log has them all.
const SHOWN_ON_STDERR: usize = 10;

impl RefusalReport {
    pub fn new(calls: impl IntoIterator<Item = (Phase, AuditRecord)>) -> Self {
        let mut report = RefusalReport::default();
        for (phase, call) in calls {
            report.incomplete_calls += usize::from(call.trace_incomplete);
            for r in call.refused {
                let same = report.entries.iter_mut().find(|e| {
                    e.phase == phase
                        && e.program == call.program
                        && e.refusal.process == r.process
                        && e.refusal.op == r.op
                        && e.refusal.path == r.path
                        && e.refusal.errno == r.errno
                });
                match same {
                    Some(e) => e.refusal.count += r.count,
                    None => report.entries.push(RefusalEntry {
                        phase,
                        program: call.program.clone(),
                        refusal: r,
                    }),
                }
            }
        }
        report
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.incomplete_calls == 0
    }

    /// Refused accesses in all (the sum of the counts).
    pub fn total(&self) -> u64 {
        self.entries.iter().map(|e| e.refusal.count).sum()
    }

    fn headline(&self) -> String {
        let total = self.total();
        let mut text = format!(
            "{total} access{} outside the build's view {} refused",
            if total == 1 { "" } else { "es" },
            if total == 1 { "was" } else { "were" }
        );
        if self.incomplete_calls > 0 {
            text.push_str(&format!(
                " (the trace of {} call{} is incomplete)",
                self.incomplete_calls,
                if self.incomplete_calls == 1 { "" } else { "s" }
            ));
        }
        text
    }

    /// The build log's summary lines (after `[wport] `): the headline, then
    /// every entry.
    pub fn log_lines(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "{}; the commands went on (trace of refused accesses):",
            self.headline()
        )];
        lines.extend(self.entries.iter().map(|e| format!("  {e}")));
        lines
    }

    /// The summary `wport build` prints on stderr at the end, failed or not.
    pub fn stderr_text(&self, log: &Path) -> String {
        let mut text = format!("wport: warning: {}:\n", self.headline());
        for e in self.entries.iter().take(SHOWN_ON_STDERR) {
            text.push_str(&format!("  {e}\n"));
        }
        let more = self.entries.len().saturating_sub(SHOWN_ON_STDERR);
        if more > 0 {
            text.push_str(&format!("  and {more} more\n"));
        }
        text.push_str(&format!(
            "  (each under its command in the build log: {})\n",
            log.display()
        ));
        text
    }
}

impl std::fmt::Display for RefusalEntry {
    /// `phase build, `make`: "touch" write "/usr/local/x": EROFS (...), 1 time`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "phase {}, `{}`: {}",
            self.phase,
            self.program.escape_debug(),
            self.refusal
        )
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
        // Held across the call: the phase is pushed in the order the
        // session records its calls.
        let mut phases = self.call_phases.lock().unwrap_or_else(|p| p.into_inner());
        let result = self
            .session
            .run(&phase_access, policy, &req, &mut LogSink(log));
        phases.push(phase);
        drop(phases);
        match result {
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
