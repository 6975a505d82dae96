//! The command child: the last steps of one call before exec.
//!
//! In order: signals and session, rlimits and the OOM score, the phase's
//! mount view, the build user, the working directory and stdio, Landlock
//! (or no_new_privs alone), seccomp, exec over the toolchain PATH. A failure
//! before exec is reported to the session init over a CLOEXEC pipe.

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use ::landlock::{RulesetCreated, RulesetStatus};
use rustix::fs::Mode;
use rustix::process::Resource;

use super::session::Call;
use super::{HelperSettings, SessionLimits};
use crate::DirAccess;
use crate::sys;
use crate::wire::{self, Stage};

/// `oom_score_adj` of every command (range -1000..=1000): half of the
/// build's memory limit's worth of extra badness, so the OOM killer prefers
/// any command over the session init.
const COMMAND_OOM_SCORE_ADJ: &str = "500";

fn report(err_w: &OwnedFd, stage: Stage, e: &io::Error) -> ! {
    let b = wire::stage_report(stage, e.raw_os_error().unwrap_or(libc::EINVAL));
    // One write of less than PIPE_BUF bytes: atomic.
    let _ = rustix::io::write(err_w, &b);
    sys::exit_now(127)
}

/// The command: last steps before exec. Never returns.
#[expect(
    clippy::too_many_arguments,
    reason = "each is a distinct piece of the call's confinement, passed by reference into a forked child"
)]
pub(super) fn command_child(
    call: &Call,
    ruleset: Option<&RulesetCreated>,
    mount_ns: Option<&OwnedFd>,
    settings: &HelperSettings,
    session_limits: SessionLimits,
    stdout: OwnedFd,
    stderr: Option<OwnedFd>,
    err_w: OwnedFd,
) -> ! {
    sys::reset_signals();
    // Failure (already a leader) is harmless.
    let _ = rustix::process::setsid();
    let limits = &settings.config.limits;
    // RLIMIT_NPROC counts per uid, machine-wide: never below the build's own
    // process limit, which its cgroup enforces per build.
    let nproc = limits.max_processes.max(session_limits.processes);
    for (res, soft, hard) in [
        (Resource::Nproc, nproc, nproc),
        (Resource::Fsize, limits.max_file_size, limits.max_file_size),
        (Resource::Core, 0, 0),
        // Not the host's (often 20,000 or more; issue 11, item 5).
        (
            Resource::Nofile,
            limits.open_files_soft.min(limits.open_files_hard),
            limits.open_files_hard,
        ),
    ] {
        if let Err(e) = sys::set_rlimit_pair(res, soft, hard) {
            report(&err_w, Stage::Rlimit, &e);
        }
    }
    // Under memory pressure, the build's commands go first: never the
    // session init (which a fork of wport makes look large), nor, when the
    // whole machine runs short, the host's own processes. Raising one's
    // own score needs no privilege.
    // As an ordinary user our /proc files belong to root while we are
    // non-dumpable (inherited from the session init); be dumpable just for
    // this write. No other process of the build exists between calls.
    if !settings.privileged {
        let _ = sys::set_dumpable(true);
    }
    let oom = std::fs::write("/proc/self/oom_score_adj", COMMAND_OOM_SCORE_ADJ);
    if !settings.privileged {
        let _ = sys::set_dumpable(false);
    }
    if let Err(e) = oom {
        report(&err_w, Stage::Rlimit, &e);
    }
    // Phase access at mount level too (while we still have the privilege
    // to change namespaces), so it holds even where Landlock does not.
    if let Some(ns) = mount_ns
        && let Err(e) = sys::setns_mount(ns)
    {
        report(&err_w, Stage::Mounts, &e);
    }
    if settings.privileged
        && let Err(e) = sys::become_user(settings.identity.uid, settings.identity.gid)
    {
        report(&err_w, Stage::User, &e);
    }
    rustix::process::umask(Mode::from_raw_mode(0o022));
    // HOME and TMPDIR (see policy::base_env) must exist; created as the build user.
    let dirs: &[&std::ffi::CStr] = match call.access.work {
        DirAccess::ReadWrite => &[c"/work/.home", c"/work/.tmp"],
        DirAccess::ReadOnly | DirAccess::None => &[c"/tmp/.home"],
    };
    for d in dirs {
        // EEXIST is fine.
        let _ = rustix::fs::mkdir(*d, Mode::from_raw_mode(0o755));
    }
    if let Err(e) = rustix::process::chdir(call.cwd.as_c_str()) {
        report(&err_w, Stage::Cwd, &e.into());
    }
    let null = match std::fs::File::open("/dev/null") {
        Ok(f) => f,
        Err(e) => report(&err_w, Stage::Stdio, &e),
    };
    let out = stdout.as_fd();
    let err = stderr.as_ref().map_or(out, |e| e.as_fd());
    for result in [
        rustix::stdio::dup2_stdin(&null),
        rustix::stdio::dup2_stdout(out),
        rustix::stdio::dup2_stderr(err),
    ] {
        if let Err(e) = result {
            report(&err_w, Stage::Stdio, &e.into());
        }
    }
    match ruleset {
        Some(rs) => {
            let status = rs
                .try_clone()
                .and_then(|rs| rs.restrict_self().map_err(io::Error::other));
            match status {
                Ok(s) if s.ruleset == RulesetStatus::NotEnforced => report(
                    &err_w,
                    Stage::Landlock,
                    &io::Error::from_raw_os_error(libc::ENOSYS),
                ),
                Ok(_) => {}
                Err(e) => report(&err_w, Stage::Landlock, &e),
            }
        }
        None => {
            if let Err(e) = sys::set_no_new_privs() {
                report(&err_w, Stage::Landlock, &e);
            }
        }
    }
    // Last: after it, only close_range and execve are left to run.
    if let Err(e) = crate::seccomp::install() {
        report(&err_w, Stage::Seccomp, &e);
    }
    if let Err(e) = sys::cloexec_from(3) {
        report(&err_w, Stage::Stdio, &e);
    }
    let mut argv: Vec<*const libc::c_char> = call.argv.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = call.env.iter().map(|a| a.as_ptr()).collect();
    envp.push(std::ptr::null());
    // Like execvp, but only over the fixed toolchain PATH: skip missing
    // entries, remember a permission error.
    let mut last: Option<io::Error> = None;
    for path in &call.candidates {
        let e = sys::execve(path, &argv, &envp);
        match e.raw_os_error() {
            Some(libc::ENOENT) | Some(libc::ENOTDIR) => {}
            Some(libc::EACCES) => last = Some(e),
            _ => {
                last = Some(e);
                break;
            }
        }
    }
    match last {
        None => report(
            &err_w,
            Stage::NotFound,
            &io::Error::from_raw_os_error(libc::ENOENT),
        ),
        Some(e) => report(&err_w, Stage::Exec, &e),
    }
}
