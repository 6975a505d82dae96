//! The spawn helper and the creation of a session.
//!
//! The helper checks a new session's request (build directories, prefix
//! view), makes the build's cgroup, and forks the session's keeper, which
//! forks the process that creates the build's namespaces and then the
//! session init (see [`super::session`]).

use std::io;
use std::os::fd::{AsFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use super::mounts::check_prefix;
use super::session::session_init;
use super::{HelperSettings, SessionLimits, in_child};
use crate::cgroup::BuildCgroup;
use rustix::thread::UnshareFlags;

use crate::sys::{self, Forked};
use crate::wire::{self, MissingWalls, Refusal, SessionReady, SessionReply, SessionRequest};
use crate::{MAX_LAYERS, PrefixView, SandboxDirs};

/// Fork the spawn helper. Returns its pid and the host's end of the channel.
#[expect(unsafe_code, reason = "fork")]
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

/// Descriptor number the helper keeps its channel on after closing the rest.
const HELPER_FD: RawFd = 3;

#[expect(
    unsafe_code,
    reason = "moving the channel to a fixed descriptor and closing every other one"
)]
fn helper_main(sock: UnixStream, settings: HelperSettings) -> ! {
    let raw = sock.into_raw_fd();
    // SAFETY: nothing owns HELPER_FD but possibly our channel (then we skip
    // this); whatever the host had there is closed below anyway.
    if raw != HELPER_FD && unsafe { sys::dup2(raw, HELPER_FD) }.is_err() {
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
        let _ = rustix::stdio::dup2_stdin(&null);
        let _ = rustix::stdio::dup2_stdout(&null);
    }
    sys::reset_signals();
    // Sessions outlive the short-lived process that unshares for them; they
    // reparent to us and are reaped automatically.
    let _ = sys::set_child_subreaper();
    sys::ignore_sigchld(true);
    let _ = sys::set_name(c"wport-exec");

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
                let r = wire::send(
                    &sock,
                    &SessionReply::Ok { cgroup_dirs }.encode(),
                    &[channel.as_fd(), done.as_fd()],
                );
                drop((channel, done));
                r
            }
            Err(refusal) => wire::send(&sock, &SessionReply::Refused(refusal).encode(), &[]),
        };
        if reply.is_err() {
            sys::exit_now(0);
        }
    }
}

/// A view's layers must be store directories of that prefix
/// (`<prefix>/.wport/store/<key>`), and, when the helper is root, not the
/// build user's nor writable by group or others: a compromised host (it runs
/// as the build user) cannot get any other directory mounted into a build.
fn check_view(view: &PrefixView, settings: &HelperSettings) -> Result<(), Refusal> {
    check_prefix(&view.prefix).map_err(|e| Refusal::bad_dir(&view.prefix, e))?;
    let store = view.prefix.join(".wport/store");
    for layers in &view.views {
        if layers.len() > MAX_LAYERS {
            return Err(Refusal::bad_dir(
                &view.prefix,
                format!("a view of {} layers (at most {MAX_LAYERS})", layers.len()),
            ));
        }
        for layer in layers {
            let bad = |why: String| Refusal::bad_dir(layer, why);
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
fn check_dirs(dirs: &SandboxDirs, settings: &HelperSettings) -> Result<(), Refusal> {
    for (path, writable) in [
        (&dirs.sources, false),
        (&dirs.work, true),
        (&dirs.destroot, true),
    ] {
        let bad = |why: String| Refusal::bad_dir(path, why);
        let meta = std::fs::metadata(path).map_err(|e| bad(e.to_string()))?;
        if !meta.is_dir() {
            return Err(bad("not a directory".into()));
        }
        if !path.is_absolute() {
            return Err(bad("not an absolute path".into()));
        }
        if writable && settings.privileged && meta.uid() != settings.identity.uid {
            return Err(bad(format!(
                "owned by uid {}, not by the build user {} (chown it to Executor::build_identity())",
                meta.uid(),
                settings.identity.uid
            )));
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

#[expect(
    unsafe_code,
    reason = "fork, and closing the helper's channel in the child"
)]
fn handle_new_session(
    msg: &[u8],
    settings: &HelperSettings,
    number: u64,
) -> Result<NewSession, Refusal> {
    let SessionRequest { dirs, limits, view } = SessionRequest::decode(msg)
        .map_err(|e| Refusal::Unavailable(format!("bad request: {e}")))?;
    check_dirs(&dirs, settings)?;
    if let Some(v) = &view {
        check_view(v, settings)?;
    }
    let cgroup = match &settings.cgroup {
        Some(parent) => {
            let name = format!("wport-build-{}-{number}", sys::getpid());
            Some(
                parent
                    .create(&name, limits.memory, limits.processes)
                    .map_err(|e| {
                        Refusal::Unavailable(format!("creating the build's cgroup: {e}"))
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
        Refusal::Unavailable(format!("socketpair: {e}"))
    })?;
    let (done_r, done_w) = sys::pipe().map_err(|e| {
        remove_cgroup(&cgroup);
        Refusal::Unavailable(format!("pipe: {e}"))
    })?;
    // SAFETY: the helper is single-threaded; the child runs `keeper_main`,
    // which never returns.
    match unsafe { sys::fork() } {
        Err(e) => {
            remove_cgroup(&cgroup);
            Err(Refusal::Unavailable(format!("fork: {e}")))
        }
        Ok(Forked::Child) => {
            drop((host_end, done_r));
            // SAFETY: HELPER_FD is the helper's channel; this child must not keep it.
            unsafe { sys::close_in_child(HELPER_FD) };
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
#[expect(unsafe_code, reason = "fork")]
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
    let _ = sys::set_child_subreaper();
    let _ = sys::set_name(c"wport-keeper");
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

pub(super) fn send_unavailable(sock: &UnixStream, text: &str) -> ! {
    let refusal = SessionReady::Refused(Refusal::Unavailable(text.into()));
    let _ = wire::send(sock, &refusal.encode(), &[]);
    sys::exit_now(1)
}

/// Runs in the process that creates the build's namespaces.
#[expect(unsafe_code, reason = "fork")]
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
        if let Err(e) = cg.join(sys::getpid()) {
            send_unavailable(&sock, &format!("joining the build's cgroup: {e}"));
        }
        match cg.counters() {
            Ok(c) => counters = Some(c),
            Err(e) => send_unavailable(&sock, &format!("opening the build's cgroup events: {e}")),
        }
    }
    if !settings.privileged {
        let (uid, gid) = (sys::getuid(), sys::getgid());
        if let Err(e) = sys::unshare_namespaces(UnshareFlags::NEWUSER) {
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
    let base =
        UnshareFlags::NEWNS | UnshareFlags::NEWIPC | UnshareFlags::NEWUTS | UnshareFlags::NEWCGROUP;
    let mut missing = MissingWalls::default();
    if let Err(e) = sys::unshare_namespaces(base | UnshareFlags::NEWNET | UnshareFlags::NEWPID) {
        if !allow {
            send_unavailable(
                &sock,
                &format!("cannot create mount/network/pid namespaces: {e}"),
            );
        }
        // Loud degradation (allow_unconfined): keep the mount namespace, which
        // the path model cannot do without, and drop what the kernel refuses.
        if sys::unshare_namespaces(base | UnshareFlags::NEWNET).is_ok() {
            missing.pid_ns = true;
        } else if sys::unshare_namespaces(base | UnshareFlags::NEWPID).is_ok() {
            missing.net_ns = true;
        } else if let Err(e) = sys::unshare_namespaces(base) {
            send_unavailable(
                &sock,
                &format!(
                    "cannot create a mount namespace: {e} (required even with allow_unconfined)"
                ),
            );
        } else {
            missing.net_ns = true;
            missing.pid_ns = true;
        }
    }
    if settings.landlock_abi < 1 {
        missing.landlock = true;
    }
    if cgroup.is_none() {
        missing.cgroup = true;
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

/// Segments at most in the build's IPC namespace (the kernel default is 4096).
const SHM_SEGMENTS: u64 = 256;

/// SysV shared-memory limits of the build's own IPC namespace (issue 11,
/// item 5: `shmmax` was 2^64 and segments outlived their processes).
/// Segments are bounded by the build's memory limit, and with
/// `shm_rmid_forced` a segment dies with the last process attached to it
/// (or with its creator, if nothing ever attached), so nothing the OOM
/// killer cannot free is left between calls.
fn set_ipc_limits(limits: SessionLimits) -> io::Result<()> {
    let page = rustix::param::page_size() as u64;
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
