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

use std::collections::HashMap;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, RulesetAttr, RulesetCreated,
    RulesetCreatedAttr, RulesetStatus, Scope, path_beneath_rules,
};

use crate::cgroup::{BuildCgroup, CgroupParent, Counters};
use crate::sys::{self, Forked};
use crate::trace;
use crate::wire::{self, Decoder, Encoder};
use crate::{
    BuildIdentity, DirAccess, ExecutorConfig, MAX_LAYERS, PhaseAccess, PrefixView, SandboxDirs,
};

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

/// Whole-build limits of one session (sent with `OP_NEW_SESSION`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SessionLimits {
    pub memory: u64,
    pub processes: u64,
}

// Operations host -> helper.
pub(crate) const OP_NEW_SESSION: u8 = 1;
// Replies.
pub(crate) const REPLY_OK: u8 = 0;
pub(crate) const REPLY_UNAVAILABLE: u8 = 1;
pub(crate) const REPLY_BAD_DIR: u8 = 2;

// Call results session -> host.
pub(crate) const RES_EXITED: u8 = 0;
pub(crate) const RES_SIGNALED: u8 = 1;
pub(crate) const RES_TIMEOUT: u8 = 2;
pub(crate) const RES_NOT_FOUND: u8 = 3;
pub(crate) const RES_FAILED: u8 = 4;
/// The build reached a cgroup limit; followed by one of `LIMIT_*`.
pub(crate) const RES_LIMIT: u8 = 5;
pub(crate) const LIMIT_MEMORY: u8 = 0;
pub(crate) const LIMIT_PROCESSES: u8 = 1;

// Stages a command child can fail in before exec (reported over a CLOEXEC pipe).
const STAGE_RLIMIT: u8 = 1;
const STAGE_USER: u8 = 2;
const STAGE_CWD: u8 = 3;
const STAGE_STDIO: u8 = 4;
const STAGE_LANDLOCK: u8 = 5;
const STAGE_EXEC: u8 = 6;
const STAGE_NOT_FOUND: u8 = 7;
const STAGE_SECCOMP: u8 = 8;
const STAGE_MOUNTS: u8 = 9;

/// Walls a session could not raise (only possible with `allow_unconfined`).
pub(crate) const MISSING_NET_NS: u8 = 1;
pub(crate) const MISSING_PID_NS: u8 = 2;
pub(crate) const MISSING_LANDLOCK: u8 = 4;
pub(crate) const MISSING_CGROUP: u8 = 8;

/// Fork the spawn helper. Returns its pid and the host's end of the channel.
pub(crate) fn spawn_helper(settings: &HelperSettings) -> io::Result<(libc::pid_t, UnixStream)> {
    let (host_end, helper_end) = UnixStream::pair()?;
    // SAFETY: the child only runs `helper_main`, which never returns, uses no
    // std lock (no env, no stdio macros) and leaves with _exit. Malloc stays
    // usable after fork thanks to glibc's atfork handlers.
    match unsafe { sys::fork() }? {
        Forked::Child => {
            drop(host_end);
            in_child(|| helper_main(helper_end, settings.clone()))
        }
        Forked::Parent(pid) => Ok((pid, host_end)),
    }
}

/// Run the body of a forked child. A panic must never unwind out of it: the
/// frames above are the parent's, and the child would go on running the
/// host's code as a second copy of wport.
fn in_child(body: impl FnOnce() -> std::convert::Infallible) -> ! {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
    sys::exit_now(70)
}

/// Descriptor number the helper keeps its channel on after closing the rest.
const HELPER_FD: RawFd = 3;

fn helper_main(sock: UnixStream, settings: HelperSettings) -> ! {
    let raw = sock.into_raw_fd();
    if raw != HELPER_FD && sys::dup2(raw, HELPER_FD).is_err() {
        sys::exit_now(101);
    }
    // The host may have any number of descriptors open (other builds'
    // sockets, files, pipes): the helper must hold none of them.
    // SAFETY: the only descriptor we own from here on is HELPER_FD, below the range.
    if unsafe { sys::close_from(HELPER_FD + 1) }.is_err() {
        sys::exit_now(102);
    }
    // SAFETY: HELPER_FD is the channel, owned only by this process from now on.
    let sock = unsafe { UnixStream::from_raw_fd(HELPER_FD) };
    if let Ok(null) = std::fs::File::open("/dev/null") {
        let _ = sys::dup2(null.as_raw_fd(), 0);
        let _ = sys::dup2(null.as_raw_fd(), 1);
    }
    sys::reset_signals();
    // Sessions outlive the short-lived process that unshares for them; they
    // reparent to us and are reaped automatically.
    let _ = sys::prctl(libc::PR_SET_CHILD_SUBREAPER, 1);
    sys::ignore_sigchld(true);
    let _ = sys::prctl(libc::PR_SET_NAME, c"wport-exec".as_ptr() as libc::c_ulong);

    let mut sessions: u64 = 0;
    loop {
        let (msg, _fds) = match wire::recv(&sock) {
            Ok(m) => m,
            // Host gone: nothing left to serve.
            Err(_) => sys::exit_now(0),
        };
        sessions += 1;
        let reply = match handle_new_session(&msg, &settings, sessions) {
            Ok(NewSession {
                channel,
                done,
                cgroup_dirs,
            }) => {
                let dirs: Vec<Vec<u8>> = cgroup_dirs
                    .iter()
                    .map(|d| d.as_os_str().as_encoded_bytes().to_vec())
                    .collect();
                let r = wire::send(
                    &sock,
                    &Encoder::default().u8(REPLY_OK).list(&dirs).finish(),
                    &[channel.as_raw_fd(), done.as_raw_fd()],
                );
                drop((channel, done));
                r
            }
            Err((code, text)) => wire::send(
                &sock,
                &Encoder::default().u8(code).bytes(text.as_bytes()).finish(),
                &[],
            ),
        };
        if reply.is_err() {
            sys::exit_now(0);
        }
    }
}

fn decode_session_request(
    msg: &[u8],
) -> io::Result<(SandboxDirs, SessionLimits, Option<PrefixView>)> {
    use std::os::unix::ffi::OsStringExt;
    let mut d = Decoder::new(msg);
    if d.u8()? != OP_NEW_SESSION {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "unknown operation",
        ));
    }
    let mut path =
        || -> io::Result<PathBuf> { Ok(PathBuf::from(std::ffi::OsString::from_vec(d.bytes()?))) };
    let dirs = SandboxDirs {
        sources: path()?,
        work: path()?,
        destroot: path()?,
    };
    let limits = SessionLimits {
        memory: d.u64()?,
        processes: d.u64()?,
    };
    let view = match d.u8()? {
        0 => None,
        _ => {
            let prefix = PathBuf::from(std::ffi::OsString::from_vec(d.bytes()?));
            let n = d.u64()?;
            let mut views = Vec::new();
            for _ in 0..n.min(u16::MAX as u64 + 1) {
                views.push(
                    d.list()?
                        .into_iter()
                        .map(|b| PathBuf::from(std::ffi::OsString::from_vec(b)))
                        .collect(),
                );
            }
            Some(PrefixView { prefix, views })
        }
    };
    Ok((dirs, limits, view))
}

/// Where the session keeps each view's mount until a phase's mount view
/// binds it at the prefix; detached in every phase's view, so a command
/// never sees another phase's layers.
const VIEWS_DIR: &str = "/.wport-views";

/// First components a prefix may not have: the sandbox's own directories,
/// which the view would shadow or write into (the toolchain, /etc, /dev,
/// /proc, the private /tmp, the build directories, the views' own
/// directory), and /sys.
const RESERVED_TOP: &[&str] = &[
    "usr",
    "bin",
    "sbin",
    "lib",
    "lib32",
    "lib64",
    "libx32",
    "etc",
    "dev",
    "proc",
    "sys",
    "tmp",
    "sources",
    "work",
    "destroot",
    ".wport-views",
    ".wport",
];

/// A prefix the sandbox can show a view at: absolute, normalised (no `.`,
/// `..` or empty component), not `/`, and outside [`RESERVED_TOP`].
pub(crate) fn check_prefix(prefix: &Path) -> Result<(), String> {
    let text = prefix.to_str().ok_or("not UTF-8")?;
    let Some(rest) = text.strip_prefix('/') else {
        return Err("not an absolute path".into());
    };
    if rest.is_empty() {
        return Err("the prefix cannot be `/`".into());
    }
    let parts: Vec<&str> = rest.split('/').collect();
    if parts
        .iter()
        .any(|c| c.is_empty() || *c == "." || *c == "..")
    {
        return Err("not a normalised path (empty, `.` or `..` component)".into());
    }
    if RESERVED_TOP.contains(&parts[0]) {
        return Err(format!(
            "a prefix under /{} would shadow or write into the sandbox's own /{}; \
             choose a prefix such as /opt/wport",
            parts[0], parts[0]
        ));
    }
    Ok(())
}

/// A view's layers must be store directories of that prefix
/// (`<prefix>/.wport/store/<key>`), and, when the helper is root, not the
/// build user's nor writable by group or others: a compromised host (it runs
/// as the build user) cannot get any other directory mounted into a build.
fn check_view(view: &PrefixView, settings: &HelperSettings) -> Result<(), String> {
    check_prefix(&view.prefix).map_err(|e| format!("{}\0{e}", view.prefix.display()))?;
    let store = view.prefix.join(".wport/store");
    for layers in &view.views {
        if layers.len() > MAX_LAYERS {
            return Err(format!(
                "{}\0a view of {} layers (at most {MAX_LAYERS})",
                view.prefix.display(),
                layers.len()
            ));
        }
        for layer in layers {
            let bad = |why: String| format!("{}\0{why}", layer.display());
            let name = layer.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if layer.parent() != Some(store.as_path()) || name.is_empty() || name.starts_with('.') {
                return Err(bad(format!(
                    "not a store layer of the prefix (expected {}/<name>@<txn>)",
                    store.display()
                )));
            }
            let meta = std::fs::symlink_metadata(layer).map_err(|e| bad(e.to_string()))?;
            if !meta.is_dir() {
                return Err(bad("not a directory".into()));
            }
            if settings.privileged
                && (meta.uid() == settings.identity.uid || meta.mode() & 0o022 != 0)
            {
                return Err(bad(format!(
                    "owned by uid {} with mode {:o}: a store layer must not be writable by the build user",
                    meta.uid(),
                    meta.mode() & 0o7777
                )));
            }
        }
    }
    Ok(())
}

/// Check the build directories before binding them into a sandbox.
///
/// When the helper is root, work and destroot must belong to the build user:
/// even a compromised host process (it runs as the build user) cannot get
/// a root-owned tree such as `/` or `/etc` mounted writable into a build.
fn check_dirs(dirs: &SandboxDirs, settings: &HelperSettings) -> Result<(), String> {
    for (path, writable) in [
        (&dirs.sources, false),
        (&dirs.work, true),
        (&dirs.destroot, true),
    ] {
        let meta = std::fs::metadata(path).map_err(|e| format!("{}\0{e}", path.display()))?;
        if !meta.is_dir() {
            return Err(format!("{}\0not a directory", path.display()));
        }
        if !path.is_absolute() {
            return Err(format!("{}\0not an absolute path", path.display()));
        }
        if writable && settings.privileged && meta.uid() != settings.identity.uid {
            return Err(format!(
                "{}\0owned by uid {}, not by the build user {} (chown it to Executor::build_identity())",
                path.display(),
                meta.uid(),
                settings.identity.uid
            ));
        }
    }
    Ok(())
}

/// What the host gets for a new session.
struct NewSession {
    /// The session init's call channel.
    channel: OwnedFd,
    /// Read end of a pipe the session's keeper holds open until every
    /// process of the build is gone and its cgroup removed (EOF then).
    done: OwnedFd,
    cgroup_dirs: Vec<PathBuf>,
}

fn handle_new_session(
    msg: &[u8],
    settings: &HelperSettings,
    number: u64,
) -> Result<NewSession, (u8, String)> {
    let (dirs, limits, view) = decode_session_request(msg)
        .map_err(|e| (REPLY_UNAVAILABLE, format!("bad request: {e}")))?;
    check_dirs(&dirs, settings).map_err(|e| (REPLY_BAD_DIR, e))?;
    if let Some(v) = &view {
        check_view(v, settings).map_err(|e| (REPLY_BAD_DIR, e))?;
    }
    let cgroup = match &settings.cgroup {
        Some(parent) => {
            // SAFETY: getpid has no preconditions.
            let name = format!("wport-build-{}-{number}", unsafe { libc::getpid() });
            Some(
                parent
                    .create(&name, limits.memory, limits.processes)
                    .map_err(|e| {
                        (
                            REPLY_UNAVAILABLE,
                            format!("creating the build's cgroup: {e}"),
                        )
                    })?,
            )
        }
        None => None,
    };
    let cgroup_dirs = cgroup.as_ref().map_or(Vec::new(), |c| c.dirs().to_vec());
    let remove_cgroup = |cg: &Option<BuildCgroup>| {
        if let Some(c) = cg {
            let _ = c.remove();
        }
    };
    let (host_end, session_end) = UnixStream::pair().map_err(|e| {
        remove_cgroup(&cgroup);
        (REPLY_UNAVAILABLE, format!("socketpair: {e}"))
    })?;
    let (done_r, done_w) = sys::pipe().map_err(|e| {
        remove_cgroup(&cgroup);
        (REPLY_UNAVAILABLE, format!("pipe: {e}"))
    })?;
    // SAFETY: the helper is single-threaded; the child runs `keeper_main`,
    // which never returns.
    match unsafe { sys::fork() } {
        Err(e) => {
            remove_cgroup(&cgroup);
            Err((REPLY_UNAVAILABLE, format!("fork: {e}")))
        }
        Ok(Forked::Child) => {
            drop((host_end, done_r));
            // SAFETY: HELPER_FD is the helper's channel; this child must not keep it.
            unsafe { libc::close(HELPER_FD) };
            in_child(|| keeper_main(session_end, done_w, dirs, view, limits, cgroup, settings))
        }
        Ok(Forked::Parent(_)) => {
            drop((session_end, done_w));
            Ok(NewSession {
                channel: OwnedFd::from(host_end),
                done: done_r,
                cgroup_dirs,
            })
        }
    }
}

/// Outside the build's cgroup and namespaces: starts the session, outlives
/// every process of it (as their subreaper), then removes the cgroup and
/// exits, which closes `done` (the host waits for that when a session ends).
fn keeper_main(
    sock: UnixStream,
    done: OwnedFd,
    dirs: SandboxDirs,
    view: Option<PrefixView>,
    limits: SessionLimits,
    cgroup: Option<BuildCgroup>,
    settings: &HelperSettings,
) -> ! {
    sys::ignore_sigchld(false);
    let _ = sys::prctl(libc::PR_SET_CHILD_SUBREAPER, 1);
    let _ = sys::prctl(libc::PR_SET_NAME, c"wport-keeper".as_ptr() as libc::c_ulong);
    // SAFETY: single-threaded process; the child never returns.
    match unsafe { sys::fork() } {
        Err(e) => {
            if let Some(c) = &cgroup {
                let _ = c.remove();
            }
            send_unavailable(&sock, &format!("fork: {e}"))
        }
        Ok(Forked::Child) => {
            drop(done);
            in_child(|| session_main(sock, dirs, view, limits, cgroup.as_ref(), settings))
        }
        Ok(Forked::Parent(_)) => {
            drop(sock);
            // The session's first process exits after forking the session
            // init, which then reparents to us; wait for all of them.
            while sys::wait_any().is_ok() {}
            if let Some(c) = &cgroup {
                let _ = c.remove();
            }
            drop(done);
            sys::exit_now(0)
        }
    }
}

fn send_unavailable(sock: &UnixStream, text: &str) -> ! {
    let _ = wire::send(
        sock,
        &Encoder::default()
            .u8(REPLY_UNAVAILABLE)
            .bytes(text.as_bytes())
            .finish(),
        &[],
    );
    sys::exit_now(1)
}

/// Runs in the process that creates the build's namespaces.
fn session_main(
    sock: UnixStream,
    dirs: SandboxDirs,
    view: Option<PrefixView>,
    limits: SessionLimits,
    cgroup: Option<&BuildCgroup>,
    settings: &HelperSettings,
) -> ! {
    sys::ignore_sigchld(false);
    let allow = settings.config.allow_unconfined;
    // Into the build's cgroup first: everything forked from here on is
    // counted against its limits.
    let mut counters = None;
    if let Some(cg) = cgroup {
        // SAFETY: getpid has no preconditions.
        if let Err(e) = cg.join(unsafe { libc::getpid() }) {
            send_unavailable(&sock, &format!("joining the build's cgroup: {e}"));
        }
        match cg.counters() {
            Ok(c) => counters = Some(c),
            Err(e) => send_unavailable(&sock, &format!("opening the build's cgroup events: {e}")),
        }
    }
    if !settings.privileged {
        let (uid, gid) = (sys::getuid(), sys::getgid());
        if let Err(e) = sys::unshare(libc::CLONE_NEWUSER) {
            send_unavailable(
                &sock,
                &format!(
                    "cannot create a user namespace as uid {uid}: {e}. Unprivileged user namespaces are \
                     disabled on this host (kernel.unprivileged_userns_clone, or an AppArmor/SELinux \
                     policy); run wport as root or allow them"
                ),
            );
        }
        // Map our own uid/gid to themselves: files keep their owner inside and out.
        let maps = [
            ("/proc/self/setgroups", "deny".to_string()),
            ("/proc/self/uid_map", format!("{uid} {uid} 1")),
            ("/proc/self/gid_map", format!("{gid} {gid} 1")),
        ];
        for (file, content) in maps {
            if let Err(e) = std::fs::write(file, content) {
                send_unavailable(&sock, &format!("writing {file}: {e}"));
            }
        }
    }
    // A cgroup namespace too: /proc/self/cgroup inside shows `/`, not the
    // host's cgroup path.
    let base = libc::CLONE_NEWNS | libc::CLONE_NEWIPC | libc::CLONE_NEWUTS | libc::CLONE_NEWCGROUP;
    let mut missing = 0u8;
    if let Err(e) = sys::unshare(base | libc::CLONE_NEWNET | libc::CLONE_NEWPID) {
        if !allow {
            send_unavailable(
                &sock,
                &format!("cannot create mount/network/pid namespaces: {e}"),
            );
        }
        // Loud degradation (allow_unconfined): keep the mount namespace, which
        // the path model cannot do without, and drop what the kernel refuses.
        if sys::unshare(base | libc::CLONE_NEWNET).is_ok() {
            missing |= MISSING_PID_NS;
        } else if sys::unshare(base | libc::CLONE_NEWPID).is_ok() {
            missing |= MISSING_NET_NS;
        } else if let Err(e) = sys::unshare(base) {
            send_unavailable(
                &sock,
                &format!(
                    "cannot create a mount namespace: {e} (required even with allow_unconfined)"
                ),
            );
        } else {
            missing |= MISSING_NET_NS | MISSING_PID_NS;
        }
    }
    if settings.landlock_abi < 1 {
        missing |= MISSING_LANDLOCK;
    }
    if cgroup.is_none() {
        missing |= MISSING_CGROUP;
    }
    if let Err(e) = set_ipc_limits(limits) {
        // As root the IPC namespace's sysctls are ours to set. In a user
        // namespace that maps only the user's own uid they are read-only
        // (owned by the unmapped root); the build's memory cgroup, which
        // shared-memory pages are charged to, still bounds them.
        if settings.privileged {
            send_unavailable(
                &sock,
                &format!("setting the shared-memory limits of the build's IPC namespace: {e}"),
            );
        }
    }
    // The first child is pid 1 of the new pid namespace: the session init.
    // SAFETY: single-threaded process; the child never returns.
    match unsafe { sys::fork() } {
        Err(e) => send_unavailable(&sock, &format!("fork: {e}")),
        Ok(Forked::Child) => session_init(
            sock,
            &dirs,
            view.as_ref(),
            settings,
            missing,
            limits,
            counters,
        ),
        Ok(Forked::Parent(_)) => sys::exit_now(0),
    }
}

/// `oom_score_adj` of every command (range -1000..=1000): half of the
/// build's memory limit's worth of extra badness, so the OOM killer prefers
/// any command over the session init.
const COMMAND_OOM_SCORE_ADJ: &str = "500";

/// Segments at most in the build's IPC namespace (the kernel default is 4096).
const SHM_SEGMENTS: u64 = 256;

/// SysV shared-memory limits of the build's own IPC namespace (issue 11,
/// item 5: `shmmax` was 2^64 and segments outlived their processes).
/// Segments are bounded by the build's memory limit, and with
/// `shm_rmid_forced` a segment dies with the last process attached to it
/// (or with its creator, if nothing ever attached), so nothing the OOM
/// killer cannot free is left between calls.
fn set_ipc_limits(limits: SessionLimits) -> io::Result<()> {
    // SAFETY: sysconf has no preconditions.
    let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        n if n > 0 => n as u64,
        _ => 4096,
    };
    for (name, value) in [
        ("shmmax", limits.memory),
        ("shmall", limits.memory.div_ceil(page)),
        ("shmmni", SHM_SEGMENTS),
        ("shm_rmid_forced", 1),
    ] {
        let path = format!("/proc/sys/kernel/{name}");
        std::fs::write(&path, value.to_string())
            .map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))?;
    }
    Ok(())
}

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

/// Toolchain roots bound read-only (or recreated as the same symlink).
const TOOLCHAIN_ROOTS: &[&str] = &["usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"];
/// /etc entries bound read-only when present: what the loader, perl and
/// `update-alternatives`-managed tools (cc, c++, awk, ...) need. Nothing else
/// of the host's /etc (no shadow, no ssh keys, no ld.so.preload).
const ETC_BINDS: &[&str] = &[
    "alternatives",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "perl",
    "protocols",
    "services",
    "localtime",
];
/// What a command may read in /proc (besides listing directories).
const PROC_READABLE: &[&str] = &[
    "cpuinfo",
    "meminfo",
    "stat",
    "loadavg",
    "uptime",
    "version",
    "filesystems",
    "sys",
];
/// Device nodes bound from the host's /dev.
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

fn mkdir(p: &Path, mode: u32) -> io::Result<()> {
    std::fs::create_dir(p)
        .map_err(|e| io::Error::new(e.kind(), format!("mkdir {}: {e}", p.display())))?;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
}

fn touch(p: &Path) -> io::Result<()> {
    std::fs::write(p, b"")
        .map_err(|e| io::Error::new(e.kind(), format!("create {}: {e}", p.display())))
}

/// Bind `src` on `dst` and remount it with `extra` flags (+ read-only when asked),
/// preserving the flags the kernel locks.
fn bind(src: &Path, dst: &Path, readonly: bool, extra: libc::c_ulong) -> io::Result<()> {
    sys::mount(Some(src), dst, None, libc::MS_BIND, None)?;
    let keep = sys::preserved_mount_flags(dst)?;
    let ro = if readonly { libc::MS_RDONLY } else { 0 };
    sys::mount(
        None,
        dst,
        None,
        libc::MS_BIND | libc::MS_REMOUNT | keep | ro | extra,
        None,
    )
}

/// Undo mountinfo's octal escapes (`\040` for a space).
pub(crate) fn unescape_mountinfo(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Bind a host tree read-only with its submounts (a separate /usr/local, say),
/// remounting every one of them read-only.
fn bind_tree_ro(src: &Path, dst: &Path, extra: libc::c_ulong) -> io::Result<()> {
    sys::mount(Some(src), dst, None, libc::MS_BIND | libc::MS_REC, None)?;
    let root = dst.to_string_lossy().into_owned();
    let info = std::fs::read_to_string("/oldroot/proc/self/mountinfo")?;
    for line in info.lines() {
        let Some(field) = line.split(' ').nth(4) else {
            continue;
        };
        let mount_point = unescape_mountinfo(field);
        if mount_point == root || mount_point.starts_with(&format!("{root}/")) {
            let mp = Path::new(&mount_point);
            let keep = sys::preserved_mount_flags(mp)?;
            sys::mount(
                None,
                mp,
                None,
                libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | keep | extra,
                None,
            )?;
        }
    }
    Ok(())
}

fn passwd(settings: &HelperSettings) -> (String, String) {
    let (uid, gid) = if settings.privileged {
        (settings.identity.uid, settings.identity.gid)
    } else {
        (sys::getuid(), sys::getgid())
    };
    let mut passwd = String::new();
    let mut group = String::new();
    if uid != 0 {
        passwd.push_str("root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n");
    }
    if gid != 0 {
        group.push_str("root:x:0:\n");
    }
    passwd.push_str(&format!(
        "{BUILD_USER_NAME}:x:{uid}:{gid}:wport build user:/work/.home:/bin/sh\n"
    ));
    group.push_str(&format!("{BUILD_USER_NAME}:x:{gid}:\n"));
    (passwd, group)
}

/// Build the sandbox's root and pivot into it. Runs once per session.
fn setup_mounts(
    dirs: &SandboxDirs,
    view: Option<&PrefixView>,
    settings: &HelperSettings,
) -> io::Result<Option<SessionView>> {
    let root = Path::new("/");
    // Nothing we mount may propagate back to the host.
    sys::mount(None, root, None, libc::MS_REC | libc::MS_PRIVATE, None)?;
    // A scratch tmpfs becomes the root first, with the host's root under
    // /oldroot, so host paths stay reachable (as /oldroot/...) while the
    // sandbox root is assembled under /newroot.
    let base = Path::new("/tmp");
    sys::mount(
        Some(Path::new("tmpfs")),
        base,
        Some("tmpfs"),
        libc::MS_NOSUID | libc::MS_NODEV,
        Some("mode=0755,size=64k"),
    )?;
    mkdir(&base.join("newroot"), 0o755)?;
    mkdir(&base.join("oldroot"), 0o755)?;
    sys::pivot_root(base, &base.join("oldroot"))?;
    std::env::set_current_dir("/")?;
    let old = |p: &Path| Path::new("/oldroot").join(p.strip_prefix("/").unwrap_or(p));
    let nr = Path::new("/newroot");
    sys::mount(
        Some(Path::new("tmpfs")),
        nr,
        Some("tmpfs"),
        libc::MS_NOSUID | libc::MS_NODEV,
        Some("mode=0755,size=8m"),
    )?;

    for name in TOOLCHAIN_ROOTS {
        let host = old(&Path::new("/").join(name));
        let Ok(meta) = std::fs::symlink_metadata(&host) else {
            continue;
        };
        if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&host)?, nr.join(name))?;
        } else if meta.is_dir() {
            mkdir(&nr.join(name), 0o755)?;
            bind_tree_ro(&host, &nr.join(name), libc::MS_NOSUID | libc::MS_NODEV)?;
        }
    }

    let etc = nr.join("etc");
    mkdir(&etc, 0o755)?;
    let (pw, gr) = passwd(settings);
    std::fs::write(etc.join("passwd"), pw)?;
    std::fs::write(etc.join("group"), gr)?;
    std::fs::write(
        etc.join("nsswitch.conf"),
        "passwd: files\ngroup: files\nhosts: files\n",
    )?;
    std::fs::write(
        etc.join("hosts"),
        "127.0.0.1 localhost wport\n::1 localhost\n",
    )?;
    std::fs::write(etc.join("hostname"), "wport\n")?;
    // The trace of refused accesses (`trace`): the library every dynamically
    // linked program of the build preloads, named here rather than in
    // LD_PRELOAD, so the build's environment stays exactly as documented and
    // the port cannot set it to something else; the FIFO it writes records
    // to, write-only to the build (see `build_ruleset`), read by the session
    // init. The root is read-only after this: neither can be replaced.
    std::fs::write(
        etc.join("ld.so.preload"),
        format!("{}\n", trace::LIBRARY_PATH),
    )?;
    let wport_dir = nr.join(trace::DIR.trim_start_matches('/'));
    mkdir(&wport_dir, 0o755)?;
    let library = nr.join(trace::LIBRARY_PATH.trim_start_matches('/'));
    std::fs::write(&library, trace::LIBRARY)?;
    std::fs::set_permissions(&library, std::fs::Permissions::from_mode(0o444))?;
    sys::mkfifo(&nr.join(trace::FIFO_PATH.trim_start_matches('/')), 0o666)?;
    for name in ETC_BINDS {
        let host = old(&Path::new("/etc").join(name));
        let Ok(meta) = std::fs::symlink_metadata(&host) else {
            continue;
        };
        let dst = etc.join(name);
        if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&host)?, &dst)?;
        } else if meta.is_dir() {
            mkdir(&dst, 0o755)?;
            bind(&host, &dst, true, libc::MS_NOSUID | libc::MS_NODEV)?;
        } else if meta.is_file() {
            touch(&dst)?;
            bind(&host, &dst, true, libc::MS_NOSUID | libc::MS_NODEV)?;
        }
    }

    let dev = nr.join("dev");
    mkdir(&dev, 0o755)?;
    for name in DEVICES {
        let host = old(&Path::new("/dev").join(name));
        if std::fs::symlink_metadata(&host).is_err() {
            continue;
        }
        touch(&dev.join(name))?;
        bind(
            &host,
            &dev.join(name),
            false,
            libc::MS_NOSUID | libc::MS_NOEXEC,
        )?;
    }
    for (link, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        std::os::unix::fs::symlink(target, dev.join(link))?;
    }

    // POSIX shared memory and semaphores (sem_open, shm_open) live here.
    let shm = dev.join("shm");
    mkdir(&shm, 0o1777)?;
    sys::mount(
        Some(Path::new("tmpfs")),
        &shm,
        Some("tmpfs"),
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        Some("mode=1777,size=64m"),
    )?;

    let tmp = nr.join("tmp");
    mkdir(&tmp, 0o1777)?;
    let tmp_opts = format!("mode=1777,size={}", settings.config.limits.tmp_size);
    sys::mount(
        Some(Path::new("tmpfs")),
        &tmp,
        Some("tmpfs"),
        libc::MS_NOSUID | libc::MS_NODEV,
        Some(&tmp_opts),
    )?;

    let proc_dir = nr.join("proc");
    mkdir(&proc_dir, 0o555)?;
    sys::mount(
        Some(Path::new("proc")),
        &proc_dir,
        Some("proc"),
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        None,
    )?;

    for (name, host, readonly) in [
        ("sources", &dirs.sources, true),
        ("work", &dirs.work, false),
        ("destroot", &dirs.destroot, false),
    ] {
        let dst = nr.join(name);
        mkdir(&dst, 0o755)?;
        bind(&old(host), &dst, readonly, libc::MS_NOSUID | libc::MS_NODEV)?;
    }

    // The dependency views: mountpoints must exist before the root turns
    // read-only, and the layers are reachable (as /oldroot/...) only before
    // the host's root is dropped.
    let session_view = match view {
        Some(v) => Some(mount_views(v, nr, &old)?),
        None => None,
    };

    // The assembled root itself is read-only: nothing outside the three build
    // directories and /tmp is writable at mount level.
    let keep = sys::preserved_mount_flags(nr)?;
    sys::mount(
        None,
        nr,
        None,
        libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | keep,
        None,
    )?;

    // Pivot into the new root and drop the host's root entirely.
    std::env::set_current_dir(nr)?;
    sys::pivot_root(Path::new("."), Path::new("."))?;
    sys::umount_detach(Path::new("."))?;
    std::env::set_current_dir("/")?;
    Ok(session_view)
}

/// A session's prefix views once mounted: the prefix, and for each view
/// whether it has a mount under [`VIEWS_DIR`] (an empty view has none).
#[derive(Debug)]
pub(crate) struct SessionView {
    prefix: PathBuf,
    mounted: Vec<bool>,
}

impl SessionView {
    fn mount_of(&self, view: usize) -> Option<PathBuf> {
        self.mounted
            .get(view)
            .copied()
            .unwrap_or(false)
            .then(|| Path::new(VIEWS_DIR).join(view.to_string()))
    }
}

/// Make the prefix's mountpoint (an empty directory of the root) and mount
/// every non-empty view under [`VIEWS_DIR`] (a private tmpfs): one
/// read-only overlay of its layers, or a read-only bind of a single layer
/// (overlayfs needs two lower layers when it has no upper one).
///
/// Views are mounted here, once per session, because the layers are host
/// paths reachable only before `pivot_root`; each phase's mount view then
/// binds its own at the prefix and detaches [`VIEWS_DIR`] (see
/// [`narrow_mounts`]). The new mount API builds the overlay (see
/// `sys::overlay_ro`): layers are passed one by one, with no option-string
/// length limit or escaping.
fn mount_views(
    view: &PrefixView,
    nr: &Path,
    old: &dyn Fn(&Path) -> PathBuf,
) -> io::Result<SessionView> {
    let rel = view.prefix.strip_prefix("/").unwrap_or(&view.prefix);
    let mut at = nr.to_path_buf();
    for c in rel.components() {
        at.push(c);
        if !at.exists() {
            mkdir(&at, 0o755)?;
        }
    }
    let views_dir = nr.join(VIEWS_DIR.trim_start_matches('/'));
    mkdir(&views_dir, 0o700)?;
    sys::mount(
        Some(Path::new("tmpfs")),
        &views_dir,
        Some("tmpfs"),
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        Some("mode=0700,size=16k"),
    )?;
    let mut mounted = Vec::with_capacity(view.views.len());
    for (i, layers) in view.views.iter().enumerate() {
        if layers.is_empty() {
            mounted.push(false);
            continue;
        }
        let dst = views_dir.join(i.to_string());
        mkdir(&dst, 0o755)?;
        let hosts: Vec<PathBuf> = layers.iter().map(|l| old(l)).collect();
        if hosts.len() == 1 {
            bind(&hosts[0], &dst, true, libc::MS_NOSUID | libc::MS_NODEV)?;
        } else {
            let refs: Vec<&Path> = hosts.iter().map(PathBuf::as_path).collect();
            let mnt = sys::overlay_ro(&refs)?;
            sys::move_mount_to(&mnt, &dst)?;
        }
        mounted.push(true);
    }
    Ok(SessionView {
        prefix: view.prefix.clone(),
        mounted,
    })
}

/// pid 1 of the build's namespaces: set up once, then serve calls until the host hangs up.
fn session_init(
    sock: UnixStream,
    dirs: &SandboxDirs,
    view: Option<&PrefixView>,
    settings: &HelperSettings,
    missing: u8,
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
    let trace = match sys::open_fifo(fifo, libc::O_RDONLY)
        .and_then(|r| Ok((sys::open_fifo(fifo, libc::O_WRONLY)?, r)))
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
    if missing & MISSING_NET_NS == 0
        && let Err(e) = sys::loopback_up()
    {
        send_unavailable(
            &sock,
            &format!("bringing up loopback in the build's network namespace: {e}"),
        );
    }
    let _ = sys::sethostname("wport");
    // Nothing the build runs may ptrace or read us, even with the same uid.
    let _ = sys::prctl(libc::PR_SET_DUMPABLE, 0);
    let _ = sys::prctl(
        libc::PR_SET_NAME,
        c"wport-session".as_ptr() as libc::c_ulong,
    );
    let sigchld = match sys::sigchld_fd() {
        Ok(fd) => fd,
        Err(e) => send_unavailable(&sock, &format!("signalfd: {e}")),
    };
    if missing & MISSING_PID_NS != 0 {
        // Without a pid namespace, orphans would escape to the host's init.
        let _ = sys::prctl(libc::PR_SET_CHILD_SUBREAPER, 1);
    }
    if wire::send(
        &sock,
        &Encoder::default().u8(REPLY_OK).u8(missing).finish(),
        &[],
    )
    .is_err()
    {
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
struct Call {
    access: PhaseAccess,
    candidates: Vec<CString>,
    argv: Vec<CString>,
    env: Vec<CString>,
    cwd: CString,
    timeout_ms: u64,
}

fn access_from(b: u8) -> io::Result<DirAccess> {
    match b {
        0 => Ok(DirAccess::None),
        1 => Ok(DirAccess::ReadOnly),
        2 => Ok(DirAccess::ReadWrite),
        _ => Err(io::Error::new(io::ErrorKind::InvalidData, "bad access")),
    }
}

pub(crate) fn access_byte(a: DirAccess) -> u8 {
    match a {
        DirAccess::None => 0,
        DirAccess::ReadOnly => 1,
        DirAccess::ReadWrite => 2,
    }
}

pub(crate) const TARGET_SEARCH: u8 = 0;
pub(crate) const TARGET_PATH: u8 = 1;

fn cstr(b: Vec<u8>) -> io::Result<CString> {
    CString::new(b).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "NUL byte"))
}

fn decode_call(msg: &[u8], toolchain: &[String]) -> io::Result<Call> {
    let mut d = Decoder::new(msg);
    let access = PhaseAccess {
        sources: access_from(d.u8()?)?,
        work: access_from(d.u8()?)?,
        destroot: access_from(d.u8()?)?,
        view: match d.u64()? {
            u64::MAX => None,
            v => Some(
                u16::try_from(v)
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad view"))?,
            ),
        },
    };
    let kind = d.u8()?;
    let program = d.string()?;
    let candidates = match kind {
        TARGET_SEARCH => toolchain
            .iter()
            .map(|dir| cstr(format!("{dir}/{program}").into_bytes()))
            .collect::<Result<_, _>>()?,
        TARGET_PATH => vec![cstr(program.into_bytes())?],
        _ => return Err(io::Error::new(io::ErrorKind::InvalidData, "bad target")),
    };
    let argv = d.list()?.into_iter().map(cstr).collect::<Result<_, _>>()?;
    let env = d.list()?.into_iter().map(cstr).collect::<Result<_, _>>()?;
    let cwd = cstr(d.bytes()?)?;
    let timeout_ms = d.u64()?;
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
    missing: u8,
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

fn failed(text: String) -> Vec<u8> {
    Encoder::default()
        .u8(RES_FAILED)
        .bytes(text.as_bytes())
        .finish()
}

impl CallServer<'_> {
    /// Answer one call: the records the trace library wrote during it (the
    /// bytes, and whether some were dropped), then the result.
    fn handle(&mut self, msg: &[u8], fds: Vec<OwnedFd>) -> Vec<u8> {
        self.trace.clear();
        let result = self.handle_call(msg, fds);
        self.trace.drain();
        let mut reply = Encoder::default()
            .bytes(&self.trace.buf.borrow())
            .u8(u8::from(self.trace.dropped.get()))
            .finish();
        reply.extend_from_slice(&result);
        reply
    }

    fn handle_call(&mut self, msg: &[u8], mut fds: Vec<OwnedFd>) -> Vec<u8> {
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
        if self.missing & MISSING_LANDLOCK == 0 && !self.rulesets.contains_key(&call.access) {
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

    fn run(
        &self,
        call: &Call,
        ruleset: Option<&RulesetCreated>,
        mount_ns: Option<&OwnedFd>,
        stdout: OwnedFd,
        stderr: Option<OwnedFd>,
    ) -> Vec<u8> {
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
                // or the SIGCHLD signalfd (also closed at exec, closed here for clarity).
                unsafe {
                    libc::close(self.sock.as_raw_fd());
                    libc::close(self.sigchld.as_raw_fd());
                    libc::close(self.trace.reader.as_raw_fd());
                    libc::close(self.trace._writer.as_raw_fd());
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

        let pid_ns = self.missing & MISSING_PID_NS == 0;
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
                    (self.sigchld.as_raw_fd(), libc::POLLIN),
                    (self.sock.as_raw_fd(), libc::POLLIN),
                    (self.trace.reader.as_raw_fd(), libc::POLLIN),
                ],
                ms,
            )
            .unwrap_or_else(|_| vec![0, 0, 0]);
            if ev[2] != 0 {
                // Drained while the call runs: writers never wait for room.
                self.trace.drain();
            }
            if ev[1] != 0 {
                // The host hung up (or broke protocol) mid-call. Exiting as
                // pid 1 makes the kernel kill the whole build namespace.
                self.clear(child, pid_ns);
                sys::exit_now(0);
            }
            if ev[0] != 0 {
                sys::drain_signalfd(&self.sigchld);
            }
            // Reap whatever ended: the command, or orphans reparented to us.
            while let Some((pid, st)) = sys::wait_any_nohang() {
                if pid == child {
                    status = Some(st);
                }
            }
        }
        // End of call, normal or not: nothing it started may outlive it.
        self.clear(child, pid_ns);
        if timed_out {
            return Encoder::default().u8(RES_TIMEOUT).finish();
        }
        // Pre-exec failure reported by the command child?
        let mut report = [0u8; 5];
        if read_some(&err_r, &mut report) == 5 {
            let errno = i32::from_le_bytes(report[1..5].try_into().expect("4 bytes"));
            let err = io::Error::from_raw_os_error(errno);
            let text = match report[0] {
                STAGE_NOT_FOUND => return Encoder::default().u8(RES_NOT_FOUND).finish(),
                STAGE_RLIMIT => format!("setting resource limits: {err}"),
                STAGE_USER => format!("dropping to the build user: {err}"),
                STAGE_CWD => format!(
                    "entering the working directory {}: {err}",
                    call.cwd.to_string_lossy()
                ),
                STAGE_STDIO => format!("setting up stdio: {err}"),
                STAGE_LANDLOCK => format!("entering Landlock: {err}"),
                STAGE_SECCOMP => format!("installing the seccomp filter: {err}"),
                STAGE_MOUNTS => format!("narrowing the mounts to the phase's access: {err}"),
                _ => format!("exec: {err}"),
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
                return Encoder::default().u8(RES_LIMIT).u8(LIMIT_MEMORY).finish();
            }
            if after.pids_max > before.pids_max {
                return Encoder::default()
                    .u8(RES_LIMIT)
                    .u8(LIMIT_PROCESSES)
                    .finish();
            }
        }
        if libc::WIFSIGNALED(status) {
            Encoder::default()
                .u8(RES_SIGNALED)
                .i32(libc::WTERMSIG(status))
                .finish()
        } else {
            Encoder::default()
                .u8(RES_EXITED)
                .i32(libc::WEXITSTATUS(status))
                .finish()
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
            // SAFETY: kill(2); from pid 1 of our own namespace, -1 means "all others in it".
            unsafe { libc::kill(-1, libc::SIGKILL) };
            while sys::wait_any().is_ok() {}
        } else {
            // Degraded mode (allow_unconfined without a pid namespace): kill(-1)
            // would hit the host. Best effort: the command's process group.
            // SAFETY: kill(2) with a negative pid targets one process group.
            unsafe { libc::kill(-child, libc::SIGKILL) };
            while sys::wait_any_nohang().is_some() {}
        }
    }
}

fn read_some(fd: &OwnedFd, buf: &mut [u8]) -> usize {
    let mut got = 0;
    while got < buf.len() {
        // SAFETY: reading into the unfilled tail of `buf`.
        let n = unsafe {
            libc::read(
                fd.as_raw_fd(),
                buf[got..].as_mut_ptr().cast(),
                buf.len() - got,
            )
        };
        if n > 0 {
            got += n as usize;
        } else if n == 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            break;
        }
    }
    got
}

fn write_all_raw(fd: RawFd, buf: &[u8]) {
    // SAFETY: pointer/length describe `buf`; a pipe write of <= PIPE_BUF is atomic.
    unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
}

fn report(err_w: &OwnedFd, stage: u8, e: &io::Error) -> ! {
    let mut b = vec![stage];
    b.extend_from_slice(&e.raw_os_error().unwrap_or(libc::EINVAL).to_le_bytes());
    write_all_raw(err_w.as_raw_fd(), &b);
    sys::exit_now(127)
}

/// The command: last steps before exec. Never returns.
#[expect(
    clippy::too_many_arguments,
    reason = "each is a distinct piece of the call's confinement, passed by reference into a forked child"
)]
fn command_child(
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
    // SAFETY: setsid has no preconditions; failure (already a leader) is harmless.
    unsafe { libc::setsid() };
    let limits = &settings.config.limits;
    // RLIMIT_NPROC counts per uid, machine-wide: never below the build's own
    // process limit, which its cgroup enforces per build.
    let nproc = limits.max_processes.max(session_limits.processes);
    for (res, soft, hard) in [
        (libc::RLIMIT_NPROC, nproc, nproc),
        (
            libc::RLIMIT_FSIZE,
            limits.max_file_size,
            limits.max_file_size,
        ),
        (libc::RLIMIT_CORE, 0, 0),
        // Not the host's (often 20,000 or more; issue 11, item 5).
        (
            libc::RLIMIT_NOFILE,
            limits.open_files_soft.min(limits.open_files_hard),
            limits.open_files_hard,
        ),
    ] {
        if let Err(e) = sys::set_rlimit_pair(res, soft, hard) {
            report(&err_w, STAGE_RLIMIT, &e);
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
        let _ = sys::prctl(libc::PR_SET_DUMPABLE, 1);
    }
    let oom = std::fs::write("/proc/self/oom_score_adj", COMMAND_OOM_SCORE_ADJ);
    if !settings.privileged {
        let _ = sys::prctl(libc::PR_SET_DUMPABLE, 0);
    }
    if let Err(e) = oom {
        report(&err_w, STAGE_RLIMIT, &e);
    }
    // Phase access at mount level too (while we still have the privilege
    // to change namespaces), so it holds even where Landlock does not.
    if let Some(ns) = mount_ns
        && let Err(e) = sys::setns_mount(ns)
    {
        report(&err_w, STAGE_MOUNTS, &e);
    }
    if settings.privileged
        && let Err(e) = sys::become_user(settings.identity.uid, settings.identity.gid)
    {
        report(&err_w, STAGE_USER, &e);
    }
    // SAFETY: umask has no preconditions.
    unsafe { libc::umask(0o022) };
    // HOME and TMPDIR (see policy::base_env) must exist; created as the build user.
    let dirs: &[&std::ffi::CStr] = match call.access.work {
        DirAccess::ReadWrite => &[c"/work/.home", c"/work/.tmp"],
        DirAccess::ReadOnly | DirAccess::None => &[c"/tmp/.home"],
    };
    for d in dirs {
        // SAFETY: valid NUL-terminated path; EEXIST is fine.
        unsafe { libc::mkdir(d.as_ptr(), 0o755) };
    }
    // SAFETY: valid NUL-terminated path.
    if let Err(e) = sys::cvt(unsafe { libc::chdir(call.cwd.as_ptr()) }) {
        report(&err_w, STAGE_CWD, &e);
    }
    let null = match std::fs::File::open("/dev/null") {
        Ok(f) => f,
        Err(e) => report(&err_w, STAGE_STDIO, &e),
    };
    let out = stdout.as_raw_fd();
    let err = stderr.as_ref().map_or(out, |e| e.as_raw_fd());
    for (from, to) in [(null.as_raw_fd(), 0), (out, 1), (err, 2)] {
        if let Err(e) = sys::dup2(from, to) {
            report(&err_w, STAGE_STDIO, &e);
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
                    STAGE_LANDLOCK,
                    &io::Error::from_raw_os_error(libc::ENOSYS),
                ),
                Ok(_) => {}
                Err(e) => report(&err_w, STAGE_LANDLOCK, &e),
            }
        }
        None => {
            if let Err(e) = sys::set_no_new_privs() {
                report(&err_w, STAGE_LANDLOCK, &e);
            }
        }
    }
    // Last: after it, only close_range and execve are left to run.
    if let Err(e) = crate::seccomp::install() {
        report(&err_w, STAGE_SECCOMP, &e);
    }
    if let Err(e) = sys::cloexec_from(3) {
        report(&err_w, STAGE_STDIO, &e);
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
            STAGE_NOT_FOUND,
            &io::Error::from_raw_os_error(libc::ENOENT),
        ),
        Some(e) => report(&err_w, STAGE_EXEC, &e),
    }
}

/// Build, once per phase access, a copy of the session's mount namespace
/// narrowed by [`narrow_mounts`], and keep it alive by descriptor: entering
/// it per call costs a `setns`, where creating and tearing down a namespace
/// per call was measured at +1 ms.
fn narrowed_mount_ns(
    access: PhaseAccess,
    view: Option<&SessionView>,
) -> io::Result<Option<OwnedFd>> {
    // With a prefix view every phase needs its own: its layers (or none) at
    // the prefix, and no other view's.
    if mount_changes(access).is_empty() && view.is_none() {
        return Ok(None);
    }
    let (ours, theirs) = UnixStream::pair()?;
    // SAFETY: the session init is single-threaded; the child only narrows
    // its own mounts, sends one descriptor and _exits.
    match unsafe { sys::fork() }? {
        Forked::Child => in_child(|| {
            drop(ours);
            let result =
                narrow_mounts(access, view).and_then(|()| std::fs::File::open("/proc/self/ns/mnt"));
            let _ = match result {
                Ok(ns) => wire::send(&theirs, &[0], &[ns.as_raw_fd()]),
                Err(e) => wire::send(&theirs, e.to_string().as_bytes(), &[]),
            };
            sys::exit_now(0)
        }),
        Forked::Parent(pid) => {
            drop(theirs);
            let got = wire::recv(&ours);
            let _ = sys::waitpid(pid);
            let (msg, mut fds) = got?;
            match fds.pop() {
                Some(fd) => Ok(Some(fd)),
                None => Err(io::Error::other(String::from_utf8_lossy(&msg).into_owned())),
            }
        }
    }
}

fn mount_changes(access: PhaseAccess) -> Vec<(&'static str, DirAccess)> {
    // Mount-level view of the session: sources ro, work and destroot rw.
    [
        ("/sources", access.sources, DirAccess::ReadOnly),
        ("/work", access.work, DirAccess::ReadWrite),
        ("/destroot", access.destroot, DirAccess::ReadWrite),
    ]
    .into_iter()
    .filter(|(_, want, have)| want != have)
    .map(|(path, want, _)| (path, want))
    .collect()
}

/// Give the command a private copy of the build's mount namespace in which
/// the build directories are exactly as the phase may use them: absent
/// (unmounted, leaving an empty directory of the read-only root) or
/// read-only; and with a prefix view, the phase's layers at the prefix (an
/// empty directory when it has none) and nothing of [`VIEWS_DIR`]. The
/// session's own mounts are untouched.
fn narrow_mounts(access: PhaseAccess, view: Option<&SessionView>) -> io::Result<()> {
    let changes = mount_changes(access);
    sys::unshare(libc::CLONE_NEWNS)?;
    sys::mount(
        None,
        Path::new("/"),
        None,
        libc::MS_REC | libc::MS_PRIVATE,
        None,
    )?;
    for (path, want) in changes {
        let path = Path::new(path);
        match want {
            DirAccess::None => sys::umount_detach(path)?,
            DirAccess::ReadOnly => {
                let keep = sys::preserved_mount_flags(path)?;
                sys::mount(
                    None,
                    path,
                    None,
                    libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | keep,
                    None,
                )?
            }
            DirAccess::ReadWrite => {}
        }
    }
    if let Some(v) = view {
        if let Some(src) = access.view.and_then(|i| v.mount_of(usize::from(i))) {
            // A bind of the view's mount keeps its flags (read-only, nosuid,
            // nodev); the remount restates them.
            bind(&src, &v.prefix, true, libc::MS_NOSUID | libc::MS_NODEV)?;
        }
        sys::umount_detach(Path::new(VIEWS_DIR))?;
    }
    Ok(())
}

/// Landlock ruleset for one phase, with paths as seen inside the sandbox.
///
/// Handles every filesystem right the kernel knows, TCP bind/connect (no port
/// is allowed), and the abstract-unix-socket and signal scopes. Access is then
/// granted only beneath: the toolchain and /etc (read+exec), /proc (read),
/// device nodes (read/write), the private /tmp (all), and the three build
/// directories as the phase says.
fn build_ruleset(
    abi_version: i32,
    access: PhaseAccess,
    view: Option<&SessionView>,
) -> Result<RulesetCreated, landlock::RulesetError> {
    let abi = match abi_version {
        ..=0 => ABI::Unsupported,
        1 => ABI::V1,
        2 => ABI::V2,
        3 => ABI::V3,
        4 => ABI::V4,
        5 => ABI::V5,
        6 => ABI::V6,
        7 => ABI::V7,
        8 => ABI::V8,
        9 => ABI::V9,
        _ => ABI::V10,
    };
    let all = AccessFs::from_all(abi);
    let read = AccessFs::from_read(abi);
    let read_noexec = read & !AccessFs::Execute;
    let mut rs = landlock::Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(all)?;
    if abi_version >= 4 {
        rs = rs.handle_access(AccessNet::from_all(abi))?;
    }
    if abi_version >= 6 {
        rs = rs.scope(Scope::from_all(abi))?;
    }
    let mut created = rs.create()?;
    let existing = |paths: &[&str]| -> Vec<String> {
        paths
            .iter()
            .filter(|p| Path::new(p).exists())
            .map(|p| p.to_string())
            .collect()
    };
    let toolchain: Vec<String> = existing(
        &TOOLCHAIN_ROOTS
            .iter()
            .map(|r| format!("/{r}"))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    created = created.add_rules(path_beneath_rules(&toolchain, read))?;
    created = created.add_rules(path_beneath_rules(["/etc"], read))?;
    // /proc: a few machine-wide files builds read (CPU count, memory size,
    // kernel tunables), and directory listings. Nothing of any process:
    // `/proc/<pid>/mountinfo` shows the host paths of the build's bind
    // mounts, `/proc/1/cmdline` the session init's (issue 11, item 7).
    // Descriptors through `/proc/self/fd/N` (`/dev/fd/N`, `/dev/stdin`)
    // still work: Landlock checks the file they lead to.
    let proc_files: Vec<String> = PROC_READABLE
        .iter()
        .map(|f| format!("/proc/{f}"))
        .filter(|p| Path::new(p).exists())
        .collect();
    created = created.add_rules(path_beneath_rules(&proc_files, read_noexec))?;
    created = created.add_rules(path_beneath_rules(["/proc"], AccessFs::ReadDir))?;
    let devs: Vec<String> = DEVICES
        .iter()
        .map(|d| format!("/dev/{d}"))
        .filter(|p| Path::new(p).exists())
        .collect();
    let dev_access =
        AccessFs::ReadFile | AccessFs::WriteFile | (AccessFs::from_file(abi) & AccessFs::IoctlDev);
    created = created.add_rules(path_beneath_rules(&devs, dev_access))?;
    created = created.add_rules(path_beneath_rules(["/dev"], AccessFs::ReadDir))?;
    created = created.add_rules(path_beneath_rules(["/tmp", "/dev/shm"], all))?;
    // The trace library is read (and mapped) by the loader; the FIFO may
    // only be written: a build cannot read other processes' records off it.
    created = created.add_rules(path_beneath_rules([trace::LIBRARY_PATH], read))?;
    created = created.add_rules(path_beneath_rules([trace::FIFO_PATH], AccessFs::WriteFile))?;
    for (path, a) in [
        ("/sources", access.sources),
        ("/work", access.work),
        ("/destroot", access.destroot),
    ] {
        let rights = match a {
            DirAccess::None => continue,
            DirAccess::ReadOnly => read,
            DirAccess::ReadWrite => all,
        };
        created = created.add_rules(path_beneath_rules([path], rights))?;
    }
    // The phase's view: read and execute beneath it. The rule goes on the
    // view's own mount root (here under VIEWS_DIR; in the phase's mount view
    // the same mount is bound at the prefix): Landlock skips a mountpoint's
    // hidden directory when it walks up from a file, so a rule on the
    // prefix's directory in the session's root would never match.
    if let Some(v) = view {
        match access.view.and_then(|i| v.mount_of(usize::from(i))) {
            Some(src) => created = created.add_rules(path_beneath_rules([src], read))?,
            // The empty directory a phase without layers sees may be listed.
            None => {
                created = created.add_rules(path_beneath_rules([&v.prefix], AccessFs::ReadDir))?
            }
        }
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    #[test]
    fn mountinfo_escapes() {
        assert_eq!(
            super::unescape_mountinfo("/newroot/usr/my\\040disk"),
            "/newroot/usr/my disk"
        );
        assert_eq!(super::unescape_mountinfo("/a\\134b"), "/a\\b");
        assert_eq!(super::unescape_mountinfo("/plain"), "/plain");
        assert_eq!(super::unescape_mountinfo("/trailing\\04"), "/trailing\\04");
    }
}
