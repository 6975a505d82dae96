//! The session init: pid 1 of the build's namespaces.
//!
//! Set up once (the mount tree, the trace FIFO, loopback), it serves the
//! host's calls one at a time: decodes a call, forks the command child
//! (see [`super::child`]), waits for it, for the deadline and for the host
//! at once, and clears the namespace after each call.

use std::collections::HashMap;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use ::landlock::RulesetCreated;

use super::child::command_child;
use super::helper::send_unavailable;
use super::landlock::build_ruleset;
use super::mounts::{SessionView, narrowed_mount_ns, setup_mounts};
use super::{HelperSettings, SessionLimits, in_child};
use crate::cgroup::Counters;
use crate::sys::{self, Forked};
use crate::trace;
use crate::wire::{
    self, CallOutcome, CallReply, CallRequest, Limit, MissingWalls, STAGE_REPORT_LEN, SessionReady,
    Stage, TargetKind,
};
use crate::{PhaseAccess, PrefixView, SandboxDirs};

/// Overwrite this process's command line and environment in memory.
///
/// The session init is a fork of wport: without this, `/proc/1/cmdline` in
/// the build shows the host's whole wport command line (issue 11, item 7),
/// and `/proc/1/environ` the host's environment to anyone who may read it.
/// The kernel reads both from the process's own memory, between the
/// addresses `/proc/self/stat` lists (fields 48-51); writing through
/// `/proc/self/mem` changes them without any raw pointer in this process,
/// and the kernel refuses an address outside a mapping. Nothing in the
/// session init reads its argv or environment afterwards.
fn hide_command_line() -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let after_comm = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| io::Error::other("unexpected /proc/self/stat"))?;
    let fields: Vec<u64> = after_comm
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // Field N of stat(5) is fields[N - 3] here (the first after comm is field 3).
    let field = |n: usize| fields.get(n - 3).copied().unwrap_or(0);
    let (arg_start, arg_end, env_start, env_end) = (field(48), field(49), field(50), field(51));
    if arg_start == 0 || arg_end <= arg_start || env_end < env_start {
        return Err(io::Error::other("no argument area in /proc/self/stat"));
    }
    let mem = std::fs::OpenOptions::new()
        .write(true)
        .open("/proc/self/mem")?;
    let mut args = vec![0u8; (arg_end - arg_start) as usize];
    let name = b"wport-session";
    if args.len() > name.len() {
        args[..name.len()].copy_from_slice(name);
    }
    mem.write_all_at(&args, arg_start)?;
    if env_end > env_start {
        mem.write_all_at(&vec![0u8; (env_end - env_start) as usize], env_start)?;
    }
    Ok(())
}

/// pid 1 of the build's namespaces: set up once, then serve calls until the host hangs up.
pub(super) fn session_init(
    sock: UnixStream,
    dirs: &SandboxDirs,
    view: Option<&PrefixView>,
    settings: &HelperSettings,
    missing: MissingWalls,
    limits: SessionLimits,
    counters: Option<Counters>,
) -> ! {
    if let Err(e) = hide_command_line() {
        send_unavailable(
            &sock,
            &format!("hiding the host's command line from the build: {e}"),
        );
    }
    // The OOM killer must pick the build's commands, never the session init
    // (its death would end the build): commands raise their own score (see
    // `command_child`); where the kernel lets us (CAP_SYS_RESOURCE), the
    // session init also lowers its own.
    let _ = std::fs::write("/proc/self/oom_score_adj", "-1000");
    let view = match setup_mounts(dirs, view, settings) {
        Ok(v) => v,
        Err(e) => send_unavailable(&sock, &format!("building the sandbox mount tree: {e}")),
    };
    // Both ends of the trace FIFO: the write end keeps a writer open at all
    // times, so the read end never reports a hang-up between records.
    let fifo = Path::new(trace::FIFO_PATH);
    let trace = match sys::open_fifo(fifo, false).and_then(|r| Ok((sys::open_fifo(fifo, true)?, r)))
    {
        Ok((writer, reader)) => {
            sys::set_pipe_size(&reader, 1 << 20);
            TraceReader {
                reader,
                _writer: writer,
                buf: std::cell::RefCell::new(Vec::new()),
                dropped: std::cell::Cell::new(false),
            }
        }
        Err(e) => send_unavailable(&sock, &format!("opening the trace FIFO: {e}")),
    };
    if !missing.net_ns
        && let Err(e) = sys::loopback_up()
    {
        send_unavailable(
            &sock,
            &format!("bringing up loopback in the build's network namespace: {e}"),
        );
    }
    let _ = sys::sethostname("wport");
    // Nothing the build runs may ptrace or read us, even with the same uid.
    let _ = sys::set_dumpable(false);
    let _ = sys::set_name(c"wport-session");
    let sigchld = match sys::sigchld_fd() {
        Ok(fd) => fd,
        Err(e) => send_unavailable(&sock, &format!("signalfd: {e}")),
    };
    if missing.pid_ns {
        // Without a pid namespace, orphans would escape to the host's init.
        let _ = sys::set_child_subreaper();
    }
    if wire::send(&sock, &SessionReady::Ok(missing).encode(), &[]).is_err() {
        sys::exit_now(0);
    }
    let mut server = CallServer {
        settings,
        missing,
        limits,
        counters,
        rulesets: HashMap::new(),
        mount_namespaces: HashMap::new(),
        view,
        sock: &sock,
        sigchld,
        trace,
    };
    loop {
        let (msg, fds) = match wire::recv(&sock) {
            Ok(m) => m,
            Err(_) => sys::exit_now(0),
        };
        let reply = server.handle(&msg, fds);
        if wire::send(&sock, &reply, &[]).is_err() {
            sys::exit_now(0);
        }
    }
}

/// A decoded call, ready to exec.
pub(super) struct Call {
    pub(super) access: PhaseAccess,
    pub(super) candidates: Vec<CString>,
    pub(super) argv: Vec<CString>,
    pub(super) env: Vec<CString>,
    pub(super) cwd: CString,
    timeout_ms: u64,
}

fn cstr(b: Vec<u8>) -> io::Result<CString> {
    CString::new(b).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "NUL byte"))
}

fn decode_call(msg: &[u8], toolchain: &[String]) -> io::Result<Call> {
    let CallRequest {
        access,
        target,
        program,
        argv,
        env,
        cwd,
        timeout_ms,
    } = CallRequest::decode(msg)?;
    let candidates = match target {
        TargetKind::Search => toolchain
            .iter()
            .map(|dir| cstr(format!("{dir}/{program}").into_bytes()))
            .collect::<Result<_, _>>()?,
        TargetKind::Path => vec![cstr(program.into_bytes())?],
    };
    let argv = argv.into_iter().map(cstr).collect::<Result<_, _>>()?;
    let env = env.into_iter().map(cstr).collect::<Result<_, _>>()?;
    let cwd = cstr(cwd)?;
    Ok(Call {
        access,
        candidates,
        argv,
        env,
        cwd,
        timeout_ms,
    })
}

struct CallServer<'a> {
    settings: &'a HelperSettings,
    missing: MissingWalls,
    limits: SessionLimits,
    /// The build cgroup's OOM-kill and refused-fork counters (None without a cgroup).
    counters: Option<Counters>,
    /// Landlock rulesets per phase access, built once per session; each
    /// command enforces a duplicate of the matching one.
    rulesets: HashMap<PhaseAccess, RulesetCreated>,
    /// Mount namespaces narrowed to a phase access (None: the session's own
    /// view already matches), held open by descriptor and entered per call.
    mount_namespaces: HashMap<PhaseAccess, Option<OwnedFd>>,
    /// The session's prefix views, as mounted (None: no prefix view).
    view: Option<SessionView>,
    sock: &'a UnixStream,
    /// SIGCHLD as a descriptor, so one poll waits for the command, orphans,
    /// the deadline and the host at once.
    sigchld: OwnedFd,
    trace: TraceReader,
}

/// The session init's ends of the trace FIFO and the current call's records.
struct TraceReader {
    reader: OwnedFd,
    _writer: OwnedFd,
    buf: std::cell::RefCell<Vec<u8>>,
    /// Records past [`trace::MAX_BYTES`] were dropped in this call.
    dropped: std::cell::Cell<bool>,
}

impl TraceReader {
    fn drain(&self) {
        let mut buf = self.buf.borrow_mut();
        if sys::read_available(&self.reader, &mut buf, trace::MAX_BYTES) {
            self.dropped.set(true);
        }
    }

    /// Start a call with nothing left over.
    fn clear(&self) {
        self.drain();
        self.buf.borrow_mut().clear();
        self.dropped.set(false);
    }
}

fn failed(text: String) -> CallOutcome {
    CallOutcome::Failed(text)
}

impl CallServer<'_> {
    /// Answer one call: the records the trace library wrote during it (the
    /// bytes, and whether some were dropped), then the result.
    fn handle(&mut self, msg: &[u8], fds: Vec<OwnedFd>) -> Vec<u8> {
        self.trace.clear();
        let outcome = self.handle_call(msg, fds);
        self.trace.drain();
        CallReply {
            trace: self.trace.buf.take(),
            trace_dropped: self.trace.dropped.get(),
            outcome,
        }
        .encode()
    }

    fn handle_call(&mut self, msg: &[u8], mut fds: Vec<OwnedFd>) -> CallOutcome {
        let call = match decode_call(msg, &self.settings.config.toolchain_path) {
            Ok(c) => c,
            Err(e) => return failed(format!("bad call message: {e}")),
        };
        if fds.is_empty() || fds.len() > 2 {
            return failed("call without output descriptors".into());
        }
        let stderr = if fds.len() == 2 { fds.pop() } else { None };
        let stdout = fds.pop().expect("checked above");
        if let Some(v) = call.access.view {
            let known = self
                .view
                .as_ref()
                .is_some_and(|s| usize::from(v) < s.mounted.len());
            if !known {
                return failed(format!(
                    "the phase asks for prefix view {v}, which this session does not have"
                ));
            }
        }
        if !self.missing.landlock && !self.rulesets.contains_key(&call.access) {
            match build_ruleset(self.settings.landlock_abi, call.access, self.view.as_ref()) {
                Ok(rs) => {
                    self.rulesets.insert(call.access, rs);
                }
                Err(e) => return failed(format!("building the Landlock ruleset: {e}")),
            }
        }
        if let std::collections::hash_map::Entry::Vacant(slot) =
            self.mount_namespaces.entry(call.access)
        {
            match narrowed_mount_ns(call.access, self.view.as_ref()) {
                Ok(ns) => {
                    slot.insert(ns);
                }
                Err(e) => {
                    return failed(format!(
                        "preparing the mount view for this phase's access: {e}"
                    ));
                }
            }
        }
        let ruleset = self.rulesets.get(&call.access);
        let mount_ns = self
            .mount_namespaces
            .get(&call.access)
            .and_then(Option::as_ref);
        self.run(&call, ruleset, mount_ns, stdout, stderr)
    }

    #[expect(
        unsafe_code,
        reason = "fork, and closing the session's descriptors in the child"
    )]
    fn run(
        &self,
        call: &Call,
        ruleset: Option<&RulesetCreated>,
        mount_ns: Option<&OwnedFd>,
        stdout: OwnedFd,
        stderr: Option<OwnedFd>,
    ) -> CallOutcome {
        let (err_r, err_w) = match sys::pipe() {
            Ok(p) => p,
            Err(e) => return failed(format!("pipe: {e}")),
        };
        let events_before = self.counters.as_ref().map(Counters::read);
        // SAFETY: the session init is single-threaded; the child execs or _exits.
        let child = match unsafe { sys::fork() } {
            Err(e) => return failed(format!("fork: {e}")),
            Ok(Forked::Child) => {
                drop(err_r);
                // SAFETY: nothing the build runs may hold the session channel
                // or the SIGCHLD signalfd (also closed at exec, closed here for
                // clarity); the `OwnedFd`s holding them belong to the parent's
                // frames, which this child never returns to.
                unsafe {
                    sys::close_in_child(self.sock.as_raw_fd());
                    sys::close_in_child(self.sigchld.as_raw_fd());
                    sys::close_in_child(self.trace.reader.as_raw_fd());
                    sys::close_in_child(self.trace._writer.as_raw_fd());
                }
                in_child(|| {
                    command_child(
                        call,
                        ruleset,
                        mount_ns,
                        self.settings,
                        self.limits,
                        stdout,
                        stderr,
                        err_w,
                    )
                })
            }
            Ok(Forked::Parent(pid)) => pid,
        };
        drop((stdout, stderr, err_w));

        let pid_ns = !self.missing.pid_ns;
        // Limits too large to represent (years) mean no deadline in practice.
        let far = std::time::Duration::from_secs(100 * 365 * 24 * 3600);
        let limit = std::time::Duration::from_millis(call.timeout_ms).min(far);
        let deadline = std::time::Instant::now() + limit;
        let mut status: Option<libc::c_int> = None;
        let mut timed_out = false;
        while status.is_none() {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                timed_out = true;
                break;
            }
            let ms = left.as_millis().min(i32::MAX as u128) as i32;
            let ev = sys::poll(
                &[
                    self.sigchld.as_fd(),
                    self.sock.as_fd(),
                    self.trace.reader.as_fd(),
                ],
                ms,
            )
            .unwrap_or_else(|_| vec![false; 3]);
            if ev[2] {
                // Drained while the call runs: writers never wait for room.
                self.trace.drain();
            }
            if ev[1] {
                // The host hung up (or broke protocol) mid-call. Exiting as
                // pid 1 makes the kernel kill the whole build namespace.
                self.clear(child, pid_ns);
                sys::exit_now(0);
            }
            if ev[0] {
                sys::drain_signalfd(&self.sigchld);
            }
            // Reap whatever ended: the command, or orphans reparented to us.
            while let Some((pid, st)) = sys::wait_any_nohang() {
                if pid == child {
                    status = Some(st.as_raw());
                }
            }
        }
        // End of call, normal or not: nothing it started may outlive it.
        self.clear(child, pid_ns);
        if timed_out {
            return CallOutcome::Timeout;
        }
        // Pre-exec failure reported by the command child?
        let mut report = [0u8; STAGE_REPORT_LEN];
        if sys::read_full(&err_r, &mut report) == STAGE_REPORT_LEN {
            let (stage, err) = match wire::read_stage_report(&report) {
                Ok(r) => r,
                Err(e) => return failed(format!("bad report from the command child: {e}")),
            };
            let text = match stage {
                Stage::NotFound => return CallOutcome::NotFound,
                Stage::Rlimit => format!("setting resource limits: {err}"),
                Stage::User => format!("dropping to the build user: {err}"),
                Stage::Cwd => format!(
                    "entering the working directory {}: {err}",
                    call.cwd.to_string_lossy()
                ),
                Stage::Stdio => format!("setting up stdio: {err}"),
                Stage::Landlock => format!("entering Landlock: {err}"),
                Stage::Seccomp => format!("installing the seccomp filter: {err}"),
                Stage::Mounts => format!("narrowing the mounts to the phase's access: {err}"),
                Stage::Exec => format!("exec: {err}"),
            };
            return failed(text);
        }
        let status = status.expect("loop ends with a status unless timed out");
        // A command that failed while the build hit a cgroup limit failed
        // because of it: say which limit (an OOM kill first: it also
        // explains refused forks of the dying process tree).
        let succeeded = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
        if let (Some(before), Some(c)) = (events_before, &self.counters)
            && !succeeded
        {
            let after = c.read();
            if after.oom_kills > before.oom_kills {
                return CallOutcome::Limit(Limit::Memory);
            }
            if after.pids_max > before.pids_max {
                return CallOutcome::Limit(Limit::Processes);
            }
        }
        if libc::WIFSIGNALED(status) {
            CallOutcome::Signaled(libc::WTERMSIG(status))
        } else {
            CallOutcome::Exited(libc::WEXITSTATUS(status))
        }
    }

    /// Kill every process the call left, and reap them.
    ///
    /// As pid 1 of the build's pid namespace, `kill(-1, SIGKILL)` reaches
    /// every other process in it — setsid()'d, double-forked or not — and
    /// nothing outside it; fork cannot race it (the kernel walks the task
    /// list under the lock fork needs). Everything orphaned reparents to us,
    /// so waiting until ECHILD proves the namespace is empty again.
    fn clear(&self, child: libc::pid_t, pid_ns: bool) {
        if pid_ns {
            // From pid 1 of our own namespace, that is all others in it.
            sys::kill_all_others();
            while sys::wait_any().is_ok() {}
        } else {
            // Degraded mode (allow_unconfined without a pid namespace): kill(-1)
            // would hit the host. Best effort: the command's process group.
            sys::kill_group(child);
            while sys::wait_any_nohang().is_some() {}
        }
    }
}
