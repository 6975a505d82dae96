//! Host side of the `wport:port` imports.
//!
//! Expected refusals (a path outside the grants, an ungranted program) are
//! WIT error values the guest can handle; host functions trap only on host
//! bugs. Time spent in long host calls is added to `host_time` so it is not
//! charged to the guest's own time limit.

use std::time::Instant;

use crate::bindings::wport::port::{build_env, exec, files, log};
use crate::exec::{ExecFailure, ExecRequest, ExitStatus};
use crate::files::{FileError, FileErrorKind, FileResult, PhaseFiles};
use crate::grants::{Access, DESTROOT, SOURCES, WORK};
use crate::runner::HostState;
use crate::runner::LimitKind;
use wport_manifest::Phase;

/// Longest log message kept from a guest (the rest is cut).
const MAX_LOG_MESSAGE: usize = 16 * 1024;
/// Longest captured stdout returned to a guest.
const MAX_CAPTURED_STDOUT: usize = 16 << 20;

impl log::Host for HostState {
    fn write(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        let level = match level {
            log::Level::Debug => "debug",
            log::Level::Info => "info",
            log::Level::Warn => "warn",
            log::Level::Error => "error",
        };
        let mut message = message;
        if message.len() > MAX_LOG_MESSAGE {
            let mut cut = MAX_LOG_MESSAGE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push_str(" [truncated]");
        }
        // Guest messages share the phase's output budget and are tagged, like
        // its stdout: a guest can neither flood the log nor forge its lines.
        self.budget
            .line(&self.log, &format!("{} {level}", self.phase), &message);
        Ok(())
    }
}

impl build_env::Host for HostState {
    fn port(&mut self) -> wasmtime::Result<build_env::PortInfo> {
        Ok(build_env::PortInfo {
            name: self.spec.name.clone(),
            version: self.spec.version.clone(),
            revision: self.spec.revision,
        })
    }

    fn current_phase(&mut self) -> wasmtime::Result<build_env::Phase> {
        Ok(match self.phase {
            Phase::Patch => build_env::Phase::Patch,
            Phase::Configure => build_env::Phase::Configure,
            Phase::Build => build_env::Phase::Build,
            Phase::Test => build_env::Phase::Test,
            Phase::Destroot => build_env::Phase::Destroot,
            Phase::PostDestroot => build_env::Phase::PostDestroot,
        })
    }

    fn prefix(&mut self) -> wasmtime::Result<String> {
        Ok(self.spec.prefix.clone())
    }

    fn jobs(&mut self) -> wasmtime::Result<u32> {
        Ok(self.spec.jobs)
    }

    fn source_date_epoch(&mut self) -> wasmtime::Result<u64> {
        Ok(self.spec.source_date_epoch)
    }

    fn dirs(&mut self) -> wasmtime::Result<build_env::PortDirs> {
        let granted = |a: Access, p: &str| (a != Access::None).then(|| p.to_owned());
        let work = granted(self.grants.work, WORK);
        Ok(build_env::PortDirs {
            sources: granted(self.grants.sources, SOURCES),
            worksrc: work.as_ref().map(|w| match &self.spec.worksrc {
                Some(rel) => format!("{w}/{rel}"),
                None => w.clone(),
            }),
            work,
            destroot: granted(self.grants.destroot, DESTROOT),
        })
    }

    fn distfiles(&mut self) -> wasmtime::Result<Vec<String>> {
        Ok(self.source_paths("distfiles", &self.spec.distfiles))
    }

    fn patchfiles(&mut self) -> wasmtime::Result<Vec<String>> {
        Ok(self.source_paths("patches", &self.spec.patchfiles))
    }

    fn param(&mut self, name: String) -> wasmtime::Result<Option<Vec<String>>> {
        Ok(self.spec.params.get(&name).cloned())
    }
}

impl HostState {
    fn source_paths(&self, sub: &str, names: &[String]) -> Vec<String> {
        if self.grants.sources == Access::None {
            return Vec::new();
        }
        names
            .iter()
            .map(|n| format!("{SOURCES}/{sub}/{n}"))
            .collect()
    }

    /// Run a host call, charging its time to `host_time`.
    fn timed<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        let t = Instant::now();
        let r = f(self);
        self.host_time += t.elapsed();
        r
    }

    /// Run a `files` tree walk under the watchdog: its budget is the smaller
    /// of the per-call limit and what is left of the phase's time. When the
    /// watchdog stops the walk, the phase traps with the limit recorded.
    fn walk<T>(
        &mut self,
        f: impl FnOnce(&PhaseFiles) -> FileResult<T>,
    ) -> wasmtime::Result<Result<T, files::Error>> {
        let limits = &self.spec.limits;
        let used = self.started.elapsed().saturating_sub(self.exec_time);
        let left = limits.phase_time.saturating_sub(used);
        let (budget, limit) = if left < limits.host_call_time {
            (left, LimitKind::Time)
        } else {
            (limits.host_call_time, LimitKind::HostCall)
        };
        self.files.call_budget = budget;
        let t = Instant::now();
        let result = self.timed(|s| f(&s.files));
        if let Err(e) = &result
            && e.kind == FileErrorKind::Limit
            && t.elapsed() >= budget
        {
            self.limiter.hit = Some((
                limit,
                format!("a files host call ran for {budget:?}: {}", e.message),
            ));
            return Err(wasmtime::Error::msg("host call watchdog"));
        }
        Ok(result.map_err(wit_file_error))
    }
}

fn wit_file_error(e: FileError) -> files::Error {
    files::Error {
        kind: match e.kind {
            FileErrorKind::NotFound => files::ErrorKind::NotFound,
            FileErrorKind::Escape => files::ErrorKind::Escape,
            FileErrorKind::ReadOnly => files::ErrorKind::ReadOnly,
            FileErrorKind::Exists => files::ErrorKind::Exists,
            FileErrorKind::Invalid => files::ErrorKind::Invalid,
            FileErrorKind::Limit => files::ErrorKind::Limit,
            FileErrorKind::Io => files::ErrorKind::Io,
        },
        path: e.path,
        message: e.message,
    }
}

impl files::Host for HostState {
    fn copy_tree(
        &mut self,
        src: String,
        dst: String,
    ) -> wasmtime::Result<Result<u64, files::Error>> {
        self.walk(|f| f.copy_tree(&src, &dst))
    }

    fn remove_tree(&mut self, path: String) -> wasmtime::Result<Result<u64, files::Error>> {
        self.walk(|f| f.remove_tree(&path))
    }

    fn symlink(
        &mut self,
        target: String,
        link: String,
    ) -> wasmtime::Result<Result<(), files::Error>> {
        Ok(self.files.symlink(&target, &link).map_err(wit_file_error))
    }

    fn read_link(&mut self, path: String) -> wasmtime::Result<Result<String, files::Error>> {
        Ok(self.files.read_link(&path).map_err(wit_file_error))
    }

    fn set_mode(&mut self, path: String, mode: u32) -> wasmtime::Result<Result<(), files::Error>> {
        Ok(self.files.set_mode(&path, mode).map_err(wit_file_error))
    }

    fn get_mode(&mut self, path: String) -> wasmtime::Result<Result<u32, files::Error>> {
        Ok(self.files.get_mode(&path).map_err(wit_file_error))
    }
}

impl exec::Host for HostState {
    fn run(&mut self, cmd: exec::Command) -> wasmtime::Result<Result<exec::Outcome, exec::Error>> {
        let request = ExecRequest {
            program: cmd.program,
            args: cmd.args,
            cwd: cmd.cwd,
            env: cmd.env,
            capture_stdout: cmd.capture_stdout,
        };
        let started = Instant::now();
        let result = self.timed(|s| match &s.spec.exec {
            Some(runner) => runner.run(s.phase, &request, &s.log),
            None => Err(ExecFailure::Unavailable(
                "this build has no native command runner; only pure-WASM phases can run".into(),
            )),
        });
        self.exec_time += started.elapsed();
        for swept in self.files.sweep() {
            self.log
                .line("wport", &format!("after a native command: {swept}"));
        }
        // The call's one `[exec]` line is the runner's (wport-exec writes it
        // after the output, with what the confinement refused). Without a
        // runner, the refusal is recorded here in the same form.
        if self.spec.exec.is_none()
            && let Err(e) = &result
        {
            self.log.line(
                "exec",
                &format!(
                    "{:?} argv={:?} cwd={:?} -> {e} ({:.1} ms)",
                    request.program,
                    request.args,
                    request.cwd,
                    started.elapsed().as_secs_f64() * 1e3
                ),
            );
        }
        if self.exec_time > self.spec.limits.exec_time {
            self.limiter.hit = Some((
                LimitKind::HostCall,
                format!(
                    "native commands ran for more than {:?} in this phase",
                    self.spec.limits.exec_time
                ),
            ));
            return Err(wasmtime::Error::msg("native command time limit"));
        }
        Ok(match result {
            Ok(mut o) => {
                o.stdout.truncate(MAX_CAPTURED_STDOUT);
                Ok(exec::Outcome {
                    status: match o.status {
                        ExitStatus::Exited(c) => exec::ExitStatus::Exited(c),
                        ExitStatus::Signaled(s) => exec::ExitStatus::Signaled(s),
                    },
                    stdout: o.stdout,
                    duration_ms: o.duration.as_millis().try_into().unwrap_or(u64::MAX),
                })
            }
            Err(e) => Err(match e {
                ExecFailure::Denied(m) => exec::Error::Denied(m),
                ExecFailure::NotFound(m) => exec::Error::NotFound(m),
                ExecFailure::Timeout(d) => {
                    exec::Error::Timeout(d.as_millis().try_into().unwrap_or(u64::MAX))
                }
                ExecFailure::Unavailable(m) => exec::Error::Unavailable(m),
                ExecFailure::Failed(m) => exec::Error::Failed(m),
                ExecFailure::LimitExceeded(m) => {
                    self.limiter.hit = Some((LimitKind::Build, m.clone()));
                    exec::Error::Failed(m)
                }
            }),
        })
    }
}
