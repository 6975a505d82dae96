//! Host side: [`Executor`] owns the spawn helper, [`Session`] one build.
//!
//! The host never forks here (except once, in [`Executor::start`]): it sends
//! checked calls to the build's session init, relays the command's output to
//! the build log with a cap, and records every call in the audit trail.

use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::cgroup::CgroupParent;
use crate::confine::{self, HelperSettings, SessionLimits};
use crate::error::{BuildLimit, ExecError};
use crate::policy::{self, Prepared, Target};
use crate::sys;
use crate::trace;
use crate::wire::{
    self, CallOutcome, CallReply, CallRequest, Limit, Refusal, SessionReady, SessionReply,
    SessionRequest, TargetKind,
};
use crate::{
    AuditRecord, AuditStatus, BuildIdentity, ExecutorConfig, ExitStatus, Outcome, PhaseAccess,
    Policy, Request, SandboxDirs, SessionOptions,
};

/// Extra time the host waits past a call's limit before declaring the
/// session helper dead (it enforces the limit itself).
const HOST_GRACE: Duration = Duration::from_secs(30);

/// The spawn helper and the settings shared by all builds.
pub struct Executor {
    settings: HelperSettings,
    helper_pid: libc::pid_t,
    channel: Mutex<UnixStream>,
    /// The lease on this executor's build uid (as root with a range).
    _build_user: Option<crate::buildusers::BuildUserLease>,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("helper_pid", &self.helper_pid)
            .field("settings", &self.settings)
            .finish()
    }
}

impl Executor {
    /// Start the spawn helper.
    ///
    /// Call this first thing in `main`, before wasmtime loads and before any
    /// other thread starts: the helper is a fork of the current process, and
    /// a small, single-threaded parent makes that fork cheap and clean.
    ///
    /// Refuses with [`ExecError::Unavailable`] when the kernel has no Landlock,
    /// or when no cgroup hierarchy lets wport create build cgroups with the
    /// memory and pids controllers, unless `config.allow_unconfined` (then it
    /// warns on stderr and in every call's log). Namespace availability is
    /// checked by [`Executor::session`].
    pub fn start(config: ExecutorConfig) -> Result<Executor, ExecError> {
        let kernel_abi = sys::landlock_abi();
        let landlock_abi = config
            .landlock_abi_override
            .map_or(kernel_abi, |o| o.min(kernel_abi));
        if landlock_abi < 1 && !config.allow_unconfined {
            return Err(ExecError::Unavailable {
                reason: "Landlock is not available on this kernel (needs Linux >= 5.13 with `landlock` in the \
                         active LSM list, see /sys/kernel/security/lsm); refusing to run build tools without it. \
                         Set allow_unconfined to run with the remaining walls only"
                    .into(),
            });
        }
        if config.allow_unconfined {
            eprintln!(
                "wport: WARNING: allow_unconfined is set: native build tools may run without some kernel walls \
                 (Landlock ABI on this kernel: {landlock_abi})"
            );
        }
        for dir in &config.toolchain_path {
            if !dir.starts_with('/') || dir.contains(':') || dir.contains('\0') {
                return Err(ExecError::Unavailable {
                    reason: format!(
                        "toolchain PATH entry {dir:?} must be an absolute path without ':'"
                    ),
                });
            }
        }
        let cgroup = match CgroupParent::detect() {
            Ok(parent) => Some(parent),
            Err(reason) if config.allow_unconfined => {
                eprintln!(
                    "wport: WARNING: builds run without memory and process limits: no usable cgroup ({reason})"
                );
                None
            }
            Err(reason) => {
                return Err(ExecError::Unavailable {
                    reason: format!(
                        "no cgroup to put builds in, so their memory and processes cannot be limited: {reason}. \
                         Run wport as root, or in a cgroup v2 subtree delegated to your user with the memory \
                         and pids controllers (a program embedding wport-exec may instead set \
                         ExecutorConfig::allow_unconfined to run without these limits)"
                    ),
                });
            }
        };
        let privileged = sys::geteuid() == 0;
        // As root, a uid of our own for as long as this executor lives.
        let lease = match (&config.build_users, privileged) {
            (Some(users), true) => {
                Some(
                    crate::buildusers::lease(users).map_err(|e| ExecError::Unavailable {
                        reason: e.to_string(),
                    })?,
                )
            }
            _ => None,
        };
        let identity = if let Some(lease) = &lease {
            lease.identity
        } else if privileged {
            config.build_user
        } else {
            BuildIdentity {
                uid: sys::getuid(),
                gid: sys::getgid(),
            }
        };
        if privileged && identity.uid == 0 {
            return Err(ExecError::Unavailable {
                reason: "the build user must not be root (uid 0)".into(),
            });
        }
        let settings = HelperSettings {
            config,
            privileged,
            identity,
            landlock_abi,
            cgroup,
        };
        let (helper_pid, channel) =
            confine::spawn_helper(&settings).map_err(|e| ExecError::Unavailable {
                reason: format!("starting the spawn helper: {e}"),
            })?;
        Ok(Executor {
            settings,
            helper_pid,
            channel: Mutex::new(channel),
            _build_user: lease,
        })
    }

    /// The uid/gid every build runs as. When wport runs as root, chown the
    /// build's directories to it and call [`Executor::drop_host_privileges`].
    pub fn build_identity(&self) -> BuildIdentity {
        self.settings.identity
    }

    /// Landlock ABI version of the running kernel (0: none).
    pub fn landlock_abi(&self) -> i32 {
        self.settings.landlock_abi
    }

    /// Make the host process itself the build user (all threads, for good).
    ///
    /// Files the WASM guest writes through WASI are created by the host
    /// process; they must have the same owner as files the tools write. The
    /// helper keeps its privileges, which it needs to build namespaces. A
    /// no-op when not running as root.
    pub fn drop_host_privileges(&self) -> Result<(), ExecError> {
        if sys::geteuid() != 0 {
            return Ok(());
        }
        let BuildIdentity { uid, gid } = self.settings.identity;
        sys::become_user(uid, gid).map_err(|e| ExecError::Unavailable {
            reason: format!("dropping the host to uid {uid}: {e}"),
        })
    }

    /// Begin a build: its cgroup, namespaces and mount tree are set up once here.
    pub fn session(
        &self,
        dirs: &SandboxDirs,
        options: &SessionOptions,
    ) -> Result<Session, ExecError> {
        let unavailable = |reason: String| ExecError::Unavailable { reason };
        let limits = &self.settings.config.limits;
        let memory = options.memory.unwrap_or(limits.memory);
        let processes = options.processes.unwrap_or(limits.max_processes);
        if memory < MIN_MEMORY || processes < MIN_PROCESSES {
            return Err(unavailable(format!(
                "build limits too small to run anything: memory {memory} bytes (at least {MIN_MEMORY}), \
                 {processes} processes (at least {MIN_PROCESSES})"
            )));
        }
        let msg = SessionRequest {
            dirs: dirs.clone(),
            limits: SessionLimits { memory, processes },
            view: options.prefix_view.clone(),
        }
        .encode();
        let (reply, mut fds) = {
            let channel = self.channel.lock().unwrap_or_else(|p| p.into_inner());
            wire::send(&channel, &msg, &[])
                .map_err(|e| unavailable(format!("spawn helper gone: {e}")))?;
            wire::recv(&channel).map_err(|e| unavailable(format!("spawn helper gone: {e}")))?
        };
        let cgroups = match SessionReply::decode(&reply)
            .map_err(|e| unavailable(format!("bad reply from the spawn helper: {e}")))?
        {
            SessionReply::Ok { cgroup_dirs } => cgroup_dirs,
            SessionReply::Refused(refusal) => return Err(refused(refusal)),
        };
        if fds.len() != 2 {
            return Err(unavailable("helper sent no session channel".into()));
        }
        let done = fds.pop().expect("two descriptors");
        let fd: OwnedFd = fds.pop().expect("two descriptors");
        let channel = UnixStream::from(fd);
        let (ready, _) =
            wire::recv(&channel).map_err(|e| unavailable(format!("session setup died: {e}")))?;
        let missing = match SessionReady::decode(&ready).map_err(|e| unavailable(e.to_string()))? {
            SessionReady::Ok(missing) => missing,
            SessionReady::Refused(refusal) => return Err(refused(refusal)),
        };
        let mut missing_walls = Vec::new();
        for (is_missing, name) in [
            (missing.net_ns, "network namespace"),
            (missing.pid_ns, "pid namespace"),
            (missing.landlock, "Landlock"),
            (
                missing.cgroup,
                "a cgroup (no memory or process limit for the whole build)",
            ),
        ] {
            if is_missing {
                missing_walls.push(name);
            }
        }
        Ok(Session {
            config: self.settings.config.clone(),
            options: options.clone(),
            channel: Mutex::new(Some(channel)),
            audit: Mutex::new(Vec::new()),
            missing_walls,
            limits: (memory, processes),
            cgroups,
            done: Some(done),
        })
    }
}

/// The error for a session the helper (or the session itself) refused to make.
fn refused(refusal: Refusal) -> ExecError {
    match refusal {
        Refusal::Unavailable(reason) => ExecError::Unavailable { reason },
        Refusal::BadDir { path, reason } => ExecError::BadSandboxDir { path, reason },
    }
}

/// Smallest memory limit a build may ask for (a shell needs a few MiB).
pub const MIN_MEMORY: u64 = 16 << 20;
/// Smallest process limit a build may ask for (a shell and one command).
pub const MIN_PROCESSES: u64 = 8;

impl Drop for Executor {
    fn drop(&mut self) {
        // Closing the channel makes the helper exit; existing sessions live on
        // until their own channels close.
        let channel = self.channel.get_mut().unwrap_or_else(|p| p.into_inner());
        let _ = channel.shutdown(std::net::Shutdown::Both);
        let _ = sys::waitpid(self.helper_pid);
    }
}

/// One build's confined environment. Dropping it ends every process the
/// build still has (the session init is pid 1 of the build's namespace).
pub struct Session {
    config: ExecutorConfig,
    options: SessionOptions,
    /// None once the session init stopped answering.
    channel: Mutex<Option<UnixStream>>,
    audit: Mutex<Vec<AuditRecord>>,
    missing_walls: Vec<&'static str>,
    /// The build's memory (bytes) and process limits.
    limits: (u64, u64),
    /// Host paths of the build's cgroup directories (empty without one).
    cgroups: Vec<std::path::PathBuf>,
    /// Reaches EOF when every process of the build is gone and its cgroup
    /// removed (the keeper holding the other end has exited).
    done: Option<OwnedFd>,
}

impl Drop for Session {
    /// Ends the build: closing the channel makes the session init exit,
    /// which kills every process left in the build's pid namespace; then
    /// waits (bounded) until the keeper has seen them all go and removed
    /// the build's cgroup.
    fn drop(&mut self) {
        drop(
            self.channel
                .get_mut()
                .unwrap_or_else(|p| p.into_inner())
                .take(),
        );
        if let Some(done) = self.done.take() {
            let deadline = Instant::now() + HOST_GRACE;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                let ms = left.as_millis().min(i32::MAX as u128) as i32;
                match sys::poll(&[done.as_fd()], ms) {
                    Ok(ev) if ev[0] => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        }
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("missing_walls", &self.missing_walls)
            .finish_non_exhaustive()
    }
}

/// Start of the one line this crate writes to the build log for each call,
/// after the call's output.
pub(crate) const AUDIT_MARKER: &[u8] = b"[exec]";

/// Start of the lines after it that list what the confinement refused.
const TRACE_MARKER: &str = "[trace]";

/// Start of every line of a command's output in the build log. wport's own
/// lines start with `[`; this never does, so no output can pass for one of
/// them (issue 11, item 6: a forged `[exec]` line was counted as a call).
pub const OUTPUT_PREFIX: &str = "  | ";

/// Output relay with a cap: past it, bytes are drained and dropped, once marked.
///
/// Everything a command writes to the log is its own: each line starts with
/// [`OUTPUT_PREFIX`], and nothing in it can act on a terminal that shows the
/// log (`wport build -v`: a window-title or clipboard escape sequence):
/// ESC and the other C0 controls except tab, DEL, the C1 controls and the
/// Unicode bidirectional overrides are written as `\xNN` / `\u{NNNN}`,
/// invalid UTF-8 as `\xNN`. A carriage return starts a new marked line (a
/// progress bar stays readable, and `\r` cannot move the cursor back over
/// the marker); `\r\n` is one line end.
///
/// The cap counts bytes written to the log (and bytes captured); the call's
/// output always ends with a line end, so the audit line after it starts a
/// line of its own.
struct Relay<'a> {
    sink: &'a mut dyn Write,
    capture: Vec<u8>,
    kept: usize,
    cap: usize,
    truncated: bool,
    at_line_start: bool,
    /// The last character written was a `\r` (a following `\n` is dropped).
    after_cr: bool,
    /// The start of a UTF-8 sequence cut by a read boundary.
    pending: Vec<u8>,
}

/// Characters never written raw: C0 controls but tab and line ends, DEL, C1
/// controls, and the bidirectional embeddings, overrides and isolates that
/// reorder how a line is displayed.
fn must_escape(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

impl<'a> Relay<'a> {
    fn new(sink: &'a mut dyn Write, cap: usize) -> Self {
        Relay {
            sink,
            capture: Vec::new(),
            kept: 0,
            cap,
            truncated: false,
            at_line_start: true,
            after_cr: false,
            pending: Vec::new(),
        }
    }

    fn push(&mut self, data: &[u8], to_capture: bool) {
        if self.truncated {
            return;
        }
        if to_capture {
            let take = data.len().min(self.cap.saturating_sub(self.kept));
            self.capture.extend_from_slice(&data[..take]);
            self.kept += take;
            if take < data.len() {
                self.truncate();
            }
            return;
        }
        let out = self.escape(data);
        let room = self.cap.saturating_sub(self.kept);
        if out.len() <= room {
            // The log is best effort: a failing sink never fails the build.
            let _ = self.sink.write_all(out.as_bytes());
            self.kept += out.len();
        } else {
            let mut cut = room;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            let _ = self.sink.write_all(&out.as_bytes()[..cut]);
            self.kept += cut;
            self.at_line_start = out[..cut].ends_with('\n');
            self.truncate();
        }
    }

    fn truncate(&mut self) {
        self.truncated = true;
        self.pending.clear();
        self.end_line();
        let _ = writeln!(
            self.sink,
            "[wport: output truncated after {} bytes]",
            self.cap
        );
    }

    /// Mark and escape `data`, keeping an incomplete UTF-8 sequence at its
    /// end for the next read.
    fn escape(&mut self, data: &[u8]) -> String {
        let mut input = std::mem::take(&mut self.pending);
        input.extend_from_slice(data);
        let mut out = String::with_capacity(input.len() + 16);
        let mut chunks = input.utf8_chunks().peekable();
        while let Some(chunk) = chunks.next() {
            self.text(chunk.valid(), &mut out);
            let bad = chunk.invalid();
            // A character cut off by the end of this read: the next one
            // completes it.
            let incomplete = chunks.peek().is_none()
                && !bad.is_empty()
                && std::str::from_utf8(bad).is_err_and(|e| e.error_len().is_none());
            if incomplete {
                self.pending = bad.to_vec();
            } else {
                for b in bad {
                    self.mark(&mut out);
                    out.push_str(&format!("\\x{b:02x}"));
                    self.after_cr = false;
                }
            }
        }
        out
    }

    fn mark(&mut self, out: &mut String) {
        if self.at_line_start {
            out.push_str(OUTPUT_PREFIX);
            self.at_line_start = false;
        }
    }

    fn text(&mut self, text: &str, out: &mut String) {
        for c in text.chars() {
            match c {
                '\n' if self.after_cr => {}
                '\n' | '\r' => {
                    if self.at_line_start {
                        out.push_str(OUTPUT_PREFIX.trim_end());
                    }
                    out.push('\n');
                    self.at_line_start = true;
                }
                c if must_escape(c) => {
                    self.mark(out);
                    if (c as u32) < 0x80 {
                        out.push_str(&format!("\\x{:02x}", c as u32));
                    } else {
                        out.push_str(&format!("\\u{{{:x}}}", c as u32));
                    }
                }
                c => {
                    self.mark(out);
                    out.push(c);
                }
            }
            self.after_cr = c == '\r';
        }
    }

    /// End of the call's output: show a cut UTF-8 sequence escaped and end
    /// the last line.
    fn finish_line(&mut self) {
        if !self.pending.is_empty() && !self.truncated {
            let mut out = String::new();
            for b in std::mem::take(&mut self.pending) {
                self.mark(&mut out);
                out.push_str(&format!("\\x{b:02x}"));
            }
            let _ = self.sink.write_all(out.as_bytes());
        }
        self.end_line();
    }

    fn end_line(&mut self) {
        if !self.at_line_start {
            let _ = self.sink.write_all(b"\n");
            self.at_line_start = true;
        }
    }
}

impl Session {
    /// Walls this session runs without (non-empty only with `allow_unconfined`).
    pub fn missing_walls(&self) -> &[&'static str] {
        &self.missing_walls
    }

    /// Host paths of the build's cgroup directories (one in cgroup v2, one
    /// per controller in v1; empty when running without one). They are
    /// removed when the session is dropped.
    pub fn cgroups(&self) -> &[std::path::PathBuf] {
        &self.cgroups
    }

    /// The build's memory limit in bytes and its process limit.
    pub fn limits(&self) -> (u64, u64) {
        self.limits
    }

    /// Every call so far, allowed or not, in order.
    pub fn audit(&self) -> Vec<AuditRecord> {
        self.audit.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Run one mediated call. The command's stdout (unless captured) and
    /// stderr go to `sink`, capped; an audit line follows them.
    ///
    /// A non-zero exit is an `Ok(Outcome)`; `Err` means the call was refused
    /// or could not complete (see [`ExecError`]). Calls of one session run one
    /// at a time (concurrent callers wait); when a call ends, every process it
    /// started has been killed.
    pub fn run(
        &self,
        access: &PhaseAccess,
        policy: &Policy,
        req: &Request,
        sink: &mut dyn Write,
    ) -> Result<Outcome, ExecError> {
        let start = Instant::now();
        let prepared = policy::prepare(&self.config, &self.options, access, policy, req);
        let mut raw_trace = (Vec::new(), false);
        let (result, argv) = match prepared {
            Ok(p) => {
                let argv = p.argv.clone();
                (
                    self.execute(access, policy, req, &p, sink, &mut raw_trace),
                    argv,
                )
            }
            Err(e) => {
                let mut argv = vec![req.program.clone()];
                argv.extend(req.args.iter().cloned());
                (Err(e), argv)
            }
        };
        let duration = start.elapsed();
        let status = match &result {
            Ok(o) => match o.status {
                ExitStatus::Exited(c) => AuditStatus::Exited(c),
                ExitStatus::Signaled(s) => AuditStatus::Signaled(s),
            },
            Err(ExecError::Denied { reason, .. }) => AuditStatus::Denied(reason.clone()),
            Err(ExecError::NotFound { .. }) => AuditStatus::NotFound,
            Err(ExecError::Timeout { .. }) => AuditStatus::Timeout,
            Err(ExecError::LimitExceeded { limit, .. }) => AuditStatus::LimitExceeded(*limit),
            Err(e) => AuditStatus::Failed(e.to_string()),
        };
        // What the confinement refused, decided here on the host, after the
        // call (an ENOENT counts when the path exists on the host).
        let (records, malformed) = trace::parse(&raw_trace.0);
        let (refused, capped) = trace::classify(records, access, &mut trace::on_host);
        let trace_incomplete = raw_trace.1 || malformed || capped;
        // The call's one line in the log (issue 14: it used to be written
        // twice, here and by the sandbox), in the provenance's call format
        // (engine/cli/src/provenance.rs) plus the time; then its refusals.
        let shown = match &result {
            Ok(_) => status.to_string(),
            Err(e) => e.to_string(),
        };
        let _ = writeln!(
            sink,
            "{} {:?} argv={:?} cwd={:?} -> {shown} ({:.1} ms)",
            String::from_utf8_lossy(AUDIT_MARKER),
            req.program,
            argv.get(1..).unwrap_or_default(),
            req.cwd,
            duration.as_secs_f64() * 1e3
        );
        for r in &refused {
            let _ = writeln!(sink, "{TRACE_MARKER} refused: {r}");
        }
        if trace_incomplete {
            let _ = writeln!(
                sink,
                "{TRACE_MARKER} incomplete: some of this call's trace records were dropped \
                 (more than {} distinct refusals or {} KiB) or malformed",
                trace::MAX_DISTINCT,
                trace::MAX_BYTES >> 10
            );
        }
        self.audit
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(AuditRecord {
                program: req.program.clone(),
                argv,
                cwd: req.cwd.clone(),
                duration,
                status,
                refused: refused.clone(),
                trace_incomplete,
            });
        result.map(|mut o| {
            o.duration = duration;
            o.refused = refused;
            o
        })
    }

    fn execute(
        &self,
        access: &PhaseAccess,
        policy: &Policy,
        req: &Request,
        p: &Prepared,
        sink: &mut dyn Write,
        trace: &mut (Vec<u8>, bool),
    ) -> Result<Outcome, ExecError> {
        let program = req.program.clone();
        let failed = |reason: String| ExecError::Failed {
            program: program.clone(),
            reason,
        };
        if !self.missing_walls.is_empty() {
            let _ = writeln!(
                sink,
                "[wport] WARNING: running WITHOUT {} (allow_unconfined)",
                self.missing_walls.join(", ")
            );
        }
        let mut guard = self.channel.lock().unwrap_or_else(|e| e.into_inner());
        let Some(channel) = guard.as_ref() else {
            return Err(ExecError::Unavailable {
                reason: "this build's sandbox has stopped".into(),
            });
        };

        let (kind, target) = match &p.target {
            Target::Search(name) => (TargetKind::Search, name.as_str()),
            Target::Path(path) => (TargetKind::Path, path.as_str()),
        };
        let msg = CallRequest {
            access: *access,
            target: kind,
            program: target.to_string(),
            argv: p.argv.iter().map(|a| a.as_bytes().to_vec()).collect(),
            env: p
                .env
                .iter()
                .map(|(k, v)| format!("{k}={v}").into_bytes())
                .collect(),
            cwd: p.cwd.as_bytes().to_vec(),
            timeout_ms: policy.timeout.as_millis().min(u64::MAX as u128) as u64,
        }
        .encode();

        // stdout and stderr share one pipe (keeps their interleaving for the
        // log) unless stdout is captured.
        let (out_r, out_w) = sys::pipe().map_err(|e| failed(format!("pipe: {e}")))?;
        let err_pipe = if req.capture_stdout {
            Some(sys::pipe().map_err(|e| failed(format!("pipe: {e}")))?)
        } else {
            None
        };
        let mut fds = vec![out_w.as_fd()];
        if let Some((_, w)) = &err_pipe {
            fds.push(w.as_fd());
        }
        if let Err(e) = wire::send(channel, &msg, &fds) {
            *guard = None;
            return Err(ExecError::Unavailable {
                reason: format!("this build's sandbox has stopped: {e}"),
            });
        }
        drop(out_w);
        let err_r = err_pipe.map(|(r, _w)| r);

        let mut relay = Relay::new(sink, self.config.limits.max_output);
        let mut streams: Vec<(OwnedFd, bool)> = vec![(out_r, req.capture_stdout)];
        if let Some(r) = err_r {
            streams.push((r, false));
        }
        for (fd, _) in &streams {
            let _ = sys::set_nonblocking(fd.as_fd());
        }
        let far = Duration::from_secs(100 * 365 * 24 * 3600);
        let deadline = Instant::now() + policy.timeout.min(far) + HOST_GRACE;
        let mut reply: Option<Vec<u8>> = None;
        let mut buf = vec![0u8; 64 * 1024];
        while reply.is_none() || !streams.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                *guard = None;
                return Err(failed("the build's sandbox stopped answering".into()));
            }
            let mut pfds: Vec<BorrowedFd<'_>> = streams.iter().map(|(fd, _)| fd.as_fd()).collect();
            if reply.is_none() {
                pfds.push(channel.as_fd());
            }
            // Once the result is in, every writer is dead (the call's pid
            // namespace is gone), so EOF follows promptly.
            let ms = left.as_millis().min(i32::MAX as u128) as i32;
            let ev = sys::poll(&pfds, ms).map_err(|e| failed(format!("poll: {e}")))?;
            let mut closed = Vec::new();
            for (i, (fd, capture)) in streams.iter().enumerate() {
                if !ev[i] {
                    continue;
                }
                loop {
                    match rustix::io::read(fd, &mut buf[..]) {
                        Ok(0) => closed.push(i),
                        Ok(n) => {
                            relay.push(&buf[..n], *capture);
                            continue;
                        }
                        Err(rustix::io::Errno::INTR) => continue,
                        Err(rustix::io::Errno::AGAIN) => {}
                        Err(_) => closed.push(i),
                    }
                    break;
                }
            }
            for i in closed.into_iter().rev() {
                streams.remove(i);
            }
            if reply.is_none() && ev[ev.len() - 1] {
                match wire::recv(channel) {
                    Ok((r, _)) => reply = Some(r),
                    Err(e) => {
                        *guard = None;
                        return Err(ExecError::Unavailable {
                            reason: format!("this build's sandbox has stopped: {e}"),
                        });
                    }
                }
            }
        }
        relay.finish_line();
        let reply = reply.expect("loop exits with a reply");
        let reply = CallReply::decode(&reply)
            .map_err(|e| failed(format!("bad reply from the sandbox: {e}")))?;
        *trace = (reply.trace, reply.trace_dropped);
        let mut outcome = |status| Outcome {
            status,
            stdout: std::mem::take(&mut relay.capture),
            duration: Duration::ZERO,
            output_truncated: relay.truncated,
            refused: Vec::new(),
        };
        match reply.outcome {
            CallOutcome::Exited(code) => Ok(outcome(ExitStatus::Exited(code))),
            CallOutcome::Signaled(sig) => Ok(outcome(ExitStatus::Signaled(sig))),
            CallOutcome::Timeout => Err(ExecError::Timeout {
                program,
                limit: policy.timeout,
            }),
            CallOutcome::NotFound => Err(ExecError::NotFound {
                program,
                searched: match &p.target {
                    Target::Search(_) => self.config.toolchain_path.join(":"),
                    Target::Path(path) => path.clone(),
                },
            }),
            CallOutcome::Limit(limit) => {
                let limit = match limit {
                    Limit::Memory => BuildLimit::Memory {
                        bytes: self.limits.0,
                    },
                    Limit::Processes => BuildLimit::Processes { max: self.limits.1 },
                };
                Err(ExecError::LimitExceeded {
                    program: req.program.clone(),
                    limit,
                })
            }
            CallOutcome::Failed(reason) => Err(failed(reason)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay(chunks: &[&[u8]]) -> String {
        let mut sink = Vec::new();
        let mut r = Relay::new(&mut sink, 1 << 20);
        for c in chunks {
            r.push(c, false);
        }
        r.finish_line();
        String::from_utf8(sink).unwrap()
    }

    #[test]
    fn every_output_line_is_marked_and_cannot_pass_for_wport() {
        let forged = "[exec] \"make\" argv=[] cwd=\"/work\" -> exit 0 (1.0 ms)";
        let out = relay(&[format!("ok\n{forged}\n[trace] refused: \"sh\" write \"/x\": EROFS (read-only file system), 1 time\n[wport] building as uid 0\nx\r{forged}\n").as_bytes()]);
        assert_eq!(
            out,
            format!(
                "  | ok\n  | {forged}\n  | [trace] refused: \"sh\" write \"/x\": EROFS (read-only file system), 1 time\n  | [wport] building as uid 0\n  | x\n  | {forged}\n"
            )
        );
        assert!(out.lines().all(|l| l.starts_with("  |")), "{out}");
        // Split across reads, byte by byte; an unterminated last line is ended.
        let text = format!("{forged}\nlast");
        let bytes: Vec<&[u8]> = text.as_bytes().chunks(1).collect();
        assert_eq!(relay(&bytes), format!("  | {forged}\n  | last\n"));
        // Empty lines and CRLF.
        assert_eq!(relay(&[b"a\r\n\nb\r\n"]), "  | a\n  |\n  | b\n");
    }

    #[test]
    fn terminal_controls_and_invalid_utf8_are_escaped() {
        // Window title (OSC 0), clipboard write (OSC 52), CSI, C1 CSI, DEL,
        // a bidi override; tab and ordinary UTF-8 pass.
        let evil =
            "\x1b]0;pwned\x07\x1b]52;c;ZWNobyBoaQ==\x07\x1b[2J\u{9b}31m\x7f\u{202e}tab\there é\n";
        let out = relay(&[evil.as_bytes()]);
        assert_eq!(
            out,
            "  | \\x1b]0;pwned\\x07\\x1b]52;c;ZWNobyBoaQ==\\x07\\x1b[2J\\u{9b}31m\\x7f\\u{202e}tab\there é\n"
        );
        assert!(!out.bytes().any(|b| b < 0x20 && b != b'\n' && b != b'\t'));
        // Raw C1 bytes and other invalid UTF-8, and a sequence cut by reads.
        assert_eq!(relay(&[b"\x9b\xff ok\n"]), "  | \\x9b\\xff ok\n");
        let e_acute = "é".as_bytes();
        assert_eq!(relay(&[&e_acute[..1], &e_acute[1..], b"\n"]), "  | é\n");
        assert_eq!(relay(&[b"cut \xc3"]), "  | cut \\xc3\n");
    }

    #[test]
    fn the_cap_counts_log_bytes_and_marks_once() {
        let mut sink = Vec::new();
        let mut r = Relay::new(&mut sink, 10);
        r.push(b"0123456789abcdef\n", false);
        r.push(b"more\n", false);
        r.finish_line();
        assert!(r.truncated);
        let text = String::from_utf8(sink).unwrap();
        assert_eq!(
            text,
            "  | 012345\n[wport: output truncated after 10 bytes]\n"
        );
    }
}
