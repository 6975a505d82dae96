//! Confinement: the spawn helper, the build's namespaces, and the per-call child.
//!
//! Two kinds of process live here, both forked, neither exec'd:
//!
//! 1. **helper** — forked by [`spawn_helper`] when the executor starts, while the
//!    host is small. Keeps the host's privileges (root, when wport starts as
//!    root) because building namespaces needs them; it only ever creates
//!    sessions, after checking the build directories.
//! 2. **session init** — one per build: pid 1 of fresh (user,) mount, network,
//!    pid, ipc and uts namespaces. Builds the mount tree once (the guest's
//!    paths, the toolchain read-only, a minimal /etc, device nodes, private
//!    /tmp, /dev/shm and /proc), pivots into it, brings loopback up, then serves calls:
//!    it forks the command, reaps it and every orphan, and at the end of each
//!    call (or at its timeout) clears the namespace with `kill(-1, SIGKILL)`,
//!    which from pid 1 reaches every process of the build, setsid()'d or not,
//!    and nothing else. The command itself sets rlimits, enters the mount
//!    view of its phase, drops to the build user, enters Landlock with
//!    no_new_privs, installs the seccomp filter and execs.
//!
//! A per-call pid namespace with its own init was measured first: the extra
//! fork and wake-up per call cost 0.3-0.9 ms on this machine kind; calls of
//! one build are sequential, so one namespace cleared after each call gives
//! the same guarantee for less.
//!
//! Order (FIELD_NOTES): namespaces → mounts/pivot_root, once per build; per
//! call: rlimits → setns(phase mount view) → setgroups/setresgid/setresuid →
//! no_new_privs + Landlock → seccomp → exec. The phase mount views (a copy of
//! the build's mount namespace with /sources, /work, /destroot unmounted or
//! read-only as the phase says) are made once per phase access and held by
//! descriptor: a fresh mount namespace per call cost over 1 ms.
//!
//! # Modules
//! - `helper`: the spawn helper, and the creation of a session: the request's
//!   checks, the build's cgroup, the keeper, the namespaces.
//! - `mounts`: the mount tree built once per session, the pivot into it, the
//!   prefix views, and the per-phase mount views.
//! - `session`: the session init: pid 1 of the build, serving calls.
//! - `child`: the per-call command child: rlimits, the build user,
//!   Landlock, seccomp, exec.
//! - `landlock`: the Landlock ruleset of a phase.

mod child;
mod helper;
mod landlock;
mod mounts;
mod session;

use crate::cgroup::CgroupParent;
use crate::sys;
use crate::{BuildIdentity, ExecutorConfig};

pub(crate) use helper::spawn_helper;
pub(crate) use mounts::unescape_mountinfo;

/// Name of the build user inside the sandbox's /etc/passwd.
pub(crate) const BUILD_USER_NAME: &str = "wport";

/// Everything the helper needs; it gets its own copy through fork.
#[derive(Clone, Debug)]
pub(crate) struct HelperSettings {
    pub config: ExecutorConfig,
    /// wport started as root: drop to `identity` per call, no user namespace.
    pub privileged: bool,
    pub identity: BuildIdentity,
    pub landlock_abi: i32,
    /// Where build cgroups are made; `None` only with `allow_unconfined`.
    pub cgroup: Option<CgroupParent>,
}

/// Whole-build limits of one session (sent with [`crate::wire::Op::NewSession`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SessionLimits {
    pub memory: u64,
    pub processes: u64,
}

/// Run the body of a forked child. A panic must never unwind out of it: the
/// frames above are the parent's, and the child would go on running the
/// host's code as a second copy of wport.
fn in_child(body: impl FnOnce() -> std::convert::Infallible) -> ! {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
    sys::exit_now(70)
}
