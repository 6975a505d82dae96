//! The syscalls the sandbox needs, through rustix where it has them.
//!
//! Most wrappers here are safe calls into rustix that add what the callers
//! share: an error naming the path, a retry on `EINTR`, the flags every
//! caller wants. What rustix does not offer, or offers only with a
//! different meaning, stays on libc, each call with a `// SAFETY:` note:
//! `fork` and `execve`, descriptor-table surgery (`close_range`, `dup2`
//! onto a fixed slot, `close` in a forked child), signal dispositions and
//! `signalfd`, glibc's process-wide id change (rustix changes one thread),
//! the loopback ioctl, `kill(-1)` and the Landlock version query. Callers
//! that run between `fork` and `execve` (the helper, the session init and
//! the command child) are single-threaded, so these wrappers may allocate.

#![expect(
    unsafe_code,
    reason = "fork, execve, close_range, dup2 onto a fixed slot, signals, setxid and the few \
              calls rustix does not wrap"
)]

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use rustix::fs::{Mode, OFlags, StatVfsMountFlags};
use rustix::mount::{
    FsMountFlags, FsOpenFlags, MountAttrFlags, MountFlags, MountPropagationFlags, MoveMountFlags,
    UnmountFlags,
};
use rustix::process::{Pid, Resource, Rlimit, WaitOptions, WaitStatus};
use rustix::thread::{LinkNameSpaceType, UnshareFlags};

/// `CLOSE_RANGE_CLOEXEC` from `<linux/close_range.h>`.
const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;

pub(crate) fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// An error that says which operation on which path failed.
fn context(what: impl std::fmt::Display) -> impl FnOnce(rustix::io::Errno) -> io::Error {
    move |e| {
        let e = io::Error::from(e);
        io::Error::new(e.kind(), format!("{what}: {e}"))
    }
}

/// Result of a fork-like call.
pub(crate) enum Forked {
    Child,
    Parent(libc::pid_t),
}

/// Plain `fork(2)` through glibc (its atfork handlers keep malloc usable in the child).
///
/// # Safety
/// The caller must make sure the child only relies on state that is consistent
/// after a fork: in a multi-threaded parent, no lock other than malloc's may be
/// taken in the child (no `std::env`, no `println!`).
pub(crate) unsafe fn fork() -> io::Result<Forked> {
    // SAFETY: fork has no memory-safety preconditions of its own; the caller
    // upholds the post-fork discipline documented above.
    let pid = cvt(unsafe { libc::fork() })?;
    Ok(if pid == 0 {
        Forked::Child
    } else {
        Forked::Parent(pid)
    })
}

/// `unshare(2)` of namespaces (never of the descriptor table or the filesystem info).
pub(crate) fn unshare_namespaces(flags: UnshareFlags) -> io::Result<()> {
    let namespaces = UnshareFlags::NEWNS
        | UnshareFlags::NEWUSER
        | UnshareFlags::NEWNET
        | UnshareFlags::NEWPID
        | UnshareFlags::NEWIPC
        | UnshareFlags::NEWUTS
        | UnshareFlags::NEWCGROUP;
    assert!(namespaces.contains(flags), "only namespaces are unshared");
    // SAFETY: rustix marks unshare unsafe for `UnshareFlags::FILES`, after
    // which another thread's descriptors would be out of reach; namespace
    // flags (checked above) leave the descriptor table shared.
    unsafe { rustix::thread::unshare_unsafe(flags) }.map_err(io::Error::from)
}

/// Enter the mount namespace `ns` (root and cwd move to its root).
pub(crate) fn setns_mount(ns: &OwnedFd) -> io::Result<()> {
    rustix::thread::move_into_link_name_space(ns.as_fd(), Some(LinkNameSpaceType::Mount))
        .map_err(io::Error::from)
}

/// Mount a fresh `fstype` (`tmpfs`, `proc`) at `target`.
pub(crate) fn mount_fs(
    fstype: &str,
    target: &Path,
    flags: MountFlags,
    data: Option<&str>,
) -> io::Result<()> {
    let data = data
        .map(CString::new)
        .transpose()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "mount data with a NUL byte"))?;
    rustix::mount::mount(fstype, target, fstype, flags, data.as_deref()).map_err(context(
        format_args!("mount {fstype} on {}", target.display()),
    ))
}

/// Bind `source` at `target` (with its submounts when `recursive`).
pub(crate) fn bind(source: &Path, target: &Path, recursive: bool) -> io::Result<()> {
    if recursive {
        rustix::mount::mount_bind_recursive(source, target)
    } else {
        rustix::mount::mount_bind(source, target)
    }
    .map_err(context(format_args!(
        "mount {} on {}",
        source.display(),
        target.display()
    )))
}

/// Change the flags of the bind mount at `target` to `flags`.
pub(crate) fn remount_bind(target: &Path, flags: MountFlags) -> io::Result<()> {
    rustix::mount::mount_remount(target, MountFlags::BIND | flags, "")
        .map_err(context(format_args!("mount - on {}", target.display())))
}

/// Make every mount at and below `target` private: nothing mounted here
/// propagates to the host, and nothing the host mounts appears here.
pub(crate) fn make_private(target: &Path) -> io::Result<()> {
    rustix::mount::mount_change(
        target,
        MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
    )
    .map_err(context(format_args!("making {} private", target.display())))
}

pub(crate) fn umount_detach(target: &Path) -> io::Result<()> {
    rustix::mount::unmount(target, UnmountFlags::DETACH).map_err(io::Error::from)
}

pub(crate) fn pivot_root(new_root: &Path, put_old: &Path) -> io::Result<()> {
    rustix::process::pivot_root(new_root, put_old).map_err(io::Error::from)
}

/// The messages the kernel queued on a filesystem context (`e overlay: ...`).
fn fs_context_log(fs: &OwnedFd) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 512];
    while let Ok(n @ 1..) = rustix::io::read(fs, &mut buf[..]) {
        out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    out.join("; ")
}

/// A read-only, nosuid, nodev overlayfs of `lowers` (top first), without an
/// upper layer, as a detached mount held by the returned descriptor.
///
/// The new mount API (`fsopen`/`fsconfig`/`fsmount`, Linux 5.2) with one
/// `fsconfig("lowerdir+")` per layer (Linux 6.8): no page-size limit on the
/// option string (50 store paths of a deep prefix outgrow one page) and no
/// escaping of `:` or `,` in layer paths. Needs at least two layers (the
/// kernel's rule for an overlay without an upper layer).
pub(crate) fn overlay_ro(lowers: &[&Path]) -> io::Result<OwnedFd> {
    let fs = rustix::mount::fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC)
        .map_err(context("fsopen(overlay)"))?;
    for lower in lowers {
        rustix::mount::fsconfig_set_string(&fs, "lowerdir+", *lower).map_err(|e| {
            let e = io::Error::from(e);
            io::Error::new(
                e.kind(),
                format!(
                    "overlay layer {}: {e} ({}; layers are added with fsconfig lowerdir+, Linux >= 6.8)",
                    lower.display(),
                    fs_context_log(&fs)
                ),
            )
        })?;
    }
    rustix::mount::fsconfig_create(&fs).map_err(|e| {
        let e = io::Error::from(e);
        io::Error::new(
            e.kind(),
            format!("creating the overlay: {e} ({})", fs_context_log(&fs)),
        )
    })?;
    rustix::mount::fsmount(
        &fs,
        FsMountFlags::FSMOUNT_CLOEXEC,
        MountAttrFlags::MOUNT_ATTR_RDONLY
            | MountAttrFlags::MOUNT_ATTR_NOSUID
            | MountAttrFlags::MOUNT_ATTR_NODEV,
    )
    .map_err(context("fsmount(overlay)"))
}

/// Attach the detached mount `mnt` at `target`.
pub(crate) fn move_mount_to(mnt: &OwnedFd, target: &Path) -> io::Result<()> {
    rustix::mount::move_mount(
        mnt,
        "",
        rustix::fs::CWD,
        target,
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
    )
    .map_err(context(format_args!("move_mount to {}", target.display())))
}

/// Mount flags currently set on the mount holding `path` that a bind
/// remount must restate (the kernel refuses to clear locked ones).
pub(crate) fn preserved_mount_flags(path: &Path) -> io::Result<MountFlags> {
    let st = rustix::fs::statvfs(path).map_err(io::Error::from)?;
    let mut flags = MountFlags::empty();
    for (st_flag, ms_flag) in [
        (StatVfsMountFlags::NOSUID, MountFlags::NOSUID),
        (StatVfsMountFlags::NODEV, MountFlags::NODEV),
        (StatVfsMountFlags::NOEXEC, MountFlags::NOEXEC),
        (StatVfsMountFlags::NOATIME, MountFlags::NOATIME),
        (StatVfsMountFlags::NODIRATIME, MountFlags::NODIRATIME),
        (StatVfsMountFlags::RELATIME, MountFlags::RELATIME),
    ] {
        if st.f_flag.contains(st_flag) {
            flags |= ms_flag;
        }
    }
    Ok(flags)
}

pub(crate) fn sethostname(name: &str) -> io::Result<()> {
    rustix::system::sethostname(name.as_bytes()).map_err(io::Error::from)
}

/// Bring the loopback interface of the current network namespace up.
pub(crate) fn loopback_up() -> io::Result<()> {
    let sock = rustix::net::socket_with(
        rustix::net::AddressFamily::INET,
        rustix::net::SocketType::DGRAM,
        rustix::net::SocketFlags::CLOEXEC,
        None,
    )?;
    // SAFETY: ifreq is plain old data; all-zero is valid.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in ifr.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // rustix has no interface-flags ioctl (only its raw, unsafe `ioctl`).
    // SAFETY: SIOCGIFFLAGS reads into the ifreq we own.
    cvt(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut ifr) })?;
    // SAFETY: the union member for SIOCGIFFLAGS/SIOCSIFFLAGS is ifru_flags.
    unsafe { ifr.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short };
    // SAFETY: SIOCSIFFLAGS reads the ifreq we own.
    cvt(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &ifr) }).map(drop)
}

/// Set a resource limit's soft and hard values, never above the current
/// hard limit (raising it needs privileges an ordinary user lacks).
pub(crate) fn set_rlimit_pair(resource: Resource, soft: u64, hard: u64) -> io::Result<()> {
    // `None` is RLIM_INFINITY on both sides.
    let cur_max = rustix::process::getrlimit(resource)
        .maximum
        .unwrap_or(u64::MAX);
    let hard = hard.min(cur_max);
    let finite = |v: u64| (v != u64::MAX).then_some(v);
    rustix::process::setrlimit(
        resource,
        Rlimit {
            current: finite(soft.min(hard)),
            maximum: finite(hard),
        },
    )
    .map_err(io::Error::from)
}

/// Become `uid`/`gid` for good: supplementary groups, real, effective and saved ids.
///
/// Through glibc, which changes every thread of the process (the host calls
/// this with threads running); rustix's calls change only the calling thread.
pub(crate) fn become_user(uid: u32, gid: u32) -> io::Result<()> {
    let groups = [gid];
    // SAFETY: pointer/length describe `groups`.
    cvt(unsafe { libc::setgroups(1, groups.as_ptr()) })?;
    // SAFETY: plain id-setting syscalls.
    cvt(unsafe { libc::setresgid(gid, gid, gid) })?;
    // SAFETY: as above.
    cvt(unsafe { libc::setresuid(uid, uid, uid) })?;
    // Verify: a partial drop must never go unnoticed.
    let (mut r, mut e, mut s) = (0, 0, 0);
    // SAFETY: out-pointers to locals.
    cvt(unsafe { libc::getresuid(&mut r, &mut e, &mut s) })?;
    if (r, e, s) != (uid, uid, uid) {
        return Err(io::Error::other("setresuid did not take effect"));
    }
    Ok(())
}

pub(crate) fn getuid() -> u32 {
    rustix::process::getuid().as_raw()
}

pub(crate) fn getgid() -> u32 {
    rustix::process::getgid().as_raw()
}

pub(crate) fn geteuid() -> u32 {
    rustix::process::geteuid().as_raw()
}

pub(crate) fn getpid() -> libc::pid_t {
    rustix::process::getpid().as_raw_nonzero().get()
}

/// Become the reaper of orphaned descendants (`PR_SET_CHILD_SUBREAPER`).
pub(crate) fn set_child_subreaper() -> io::Result<()> {
    rustix::process::set_child_subreaper(Some(rustix::process::getpid())).map_err(io::Error::from)
}

/// Name this process (`PR_SET_NAME`; its only thread when called).
pub(crate) fn set_name(name: &CStr) -> io::Result<()> {
    rustix::thread::set_name(name).map_err(io::Error::from)
}

/// `PR_SET_DUMPABLE`: whether processes of the same uid may ptrace us or
/// open our /proc files.
pub(crate) fn set_dumpable(dumpable: bool) -> io::Result<()> {
    rustix::process::set_dumpable_behavior(if dumpable {
        rustix::process::DumpableBehavior::Dumpable
    } else {
        rustix::process::DumpableBehavior::NotDumpable
    })
    .map_err(io::Error::from)
}

pub(crate) fn set_no_new_privs() -> io::Result<()> {
    rustix::thread::set_no_new_privs(true).map_err(io::Error::from)
}

pub(crate) fn ignore_sigchld(ignore: bool) {
    let handler = if ignore { libc::SIG_IGN } else { libc::SIG_DFL };
    // SAFETY: installing SIG_IGN/SIG_DFL is always sound.
    unsafe { libc::signal(libc::SIGCHLD, handler) };
}

/// Reset every signal disposition and the mask, so a child starts clean.
pub(crate) fn reset_signals() {
    // SAFETY: SIG_DFL for each catchable signal and an empty mask are sound.
    unsafe {
        for sig in 1..libc::SIGRTMAX() {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

/// `kill(-1, SIGKILL)`: every process this one may signal but itself (from
/// pid 1 of a pid namespace, every other process of it). rustix's `Pid`
/// cannot say -1.
pub(crate) fn kill_all_others() {
    // SAFETY: kill(2) only sends a signal.
    unsafe { libc::kill(-1, libc::SIGKILL) };
}

/// SIGKILL to the process group `pgid`.
pub(crate) fn kill_group(pgid: libc::pid_t) {
    if let Some(pid) = Pid::from_raw(pgid) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

/// Mark every descriptor from `first` on close-on-exec.
pub(crate) fn cloexec_from(first: RawFd) -> io::Result<()> {
    // SAFETY: close_range with the CLOEXEC flag only changes fd flags.
    cvt(unsafe {
        libc::close_range(
            first as libc::c_uint,
            libc::c_uint::MAX,
            CLOSE_RANGE_CLOEXEC as libc::c_int,
        )
    })
    .map(drop)
}

/// Close every descriptor from `first` on.
///
/// # Safety
/// No live `OwnedFd` may refer to a descriptor in the range.
pub(crate) unsafe fn close_from(first: RawFd) -> io::Result<()> {
    // SAFETY: the caller guarantees nothing else owns these descriptors.
    cvt(unsafe { libc::close_range(first as libc::c_uint, libc::c_uint::MAX, 0) }).map(drop)
}

/// Close `fd` in a forked child, where the `OwnedFd` that holds it belongs
/// to the parent's frames and is never dropped here.
///
/// # Safety
/// Nothing in this process may use `fd` afterwards.
pub(crate) unsafe fn close_in_child(fd: RawFd) {
    // SAFETY: the caller guarantees nothing uses `fd` after this.
    unsafe { libc::close(fd) };
}

/// Put `fd` on descriptor number `slot`, replacing what was there.
///
/// # Safety
/// No live `OwnedFd` other than `fd`'s may refer to `slot`.
pub(crate) unsafe fn dup2(fd: RawFd, slot: RawFd) -> io::Result<()> {
    // SAFETY: the caller guarantees nothing else owns `slot`.
    cvt(unsafe { libc::dup2(fd, slot) }).map(drop)
}

pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(io::Error::from)
}

pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    let flags = rustix::fs::fcntl_getfl(fd)?;
    rustix::fs::fcntl_setfl(fd, flags | OFlags::NONBLOCK).map_err(io::Error::from)
}

/// Wait for a specific child, retrying on `EINTR`.
pub(crate) fn waitpid(pid: libc::pid_t) -> io::Result<WaitStatus> {
    let pid = Pid::from_raw(pid).ok_or_else(|| io::Error::other("waitpid: not a child pid"))?;
    loop {
        match rustix::process::waitpid(Some(pid), WaitOptions::empty()) {
            Ok(Some((_, status))) => return Ok(status),
            Ok(None) => return Err(io::Error::other("waitpid: no status")),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Wait for any child, retrying on `EINTR`; `Err` (`ECHILD`) once none is left.
pub(crate) fn wait_any() -> io::Result<(libc::pid_t, WaitStatus)> {
    loop {
        match rustix::process::wait(WaitOptions::empty()) {
            Ok(Some((pid, status))) => return Ok((pid.as_raw_nonzero().get(), status)),
            Ok(None) => return Err(io::Error::other("wait: no status")),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Reap one exited child if any, without blocking.
pub(crate) fn wait_any_nohang() -> Option<(libc::pid_t, WaitStatus)> {
    match rustix::process::wait(WaitOptions::NOHANG) {
        Ok(Some((pid, status))) => Some((pid.as_raw_nonzero().get(), status)),
        _ => None,
    }
}

/// Block SIGCHLD and return a signalfd that becomes readable when one arrives.
pub(crate) fn sigchld_fd() -> io::Result<OwnedFd> {
    // rustix has neither signalfd nor a safe sigprocmask.
    // SAFETY: building a signal set in a local and changing our own mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        cvt(libc::sigprocmask(
            libc::SIG_BLOCK,
            &set,
            std::ptr::null_mut(),
        ))?;
        let fd = cvt(libc::signalfd(
            -1,
            &set,
            libc::SFD_CLOEXEC | libc::SFD_NONBLOCK,
        ))?;
        Ok(OwnedFd::from_raw_fd(fd))
    }
}

/// Discard pending signalfd records (we reap with waitpid, not from them).
pub(crate) fn drain_signalfd(fd: &OwnedFd) {
    let mut record = [0u8; size_of::<libc::signalfd_siginfo>()];
    while let Ok(1..) = rustix::io::read(fd, &mut record[..]) {}
}

/// `poll(2)` for input on `fds` for at most `timeout_ms` (-1 = forever),
/// retrying on `EINTR`; per entry, whether it has any event (input, hang-up
/// or error).
pub(crate) fn poll(fds: &[BorrowedFd<'_>], timeout_ms: i32) -> io::Result<Vec<bool>> {
    use rustix::event::{PollFd, PollFlags, Timespec};
    let mut pfds: Vec<PollFd<'_>> = fds
        .iter()
        .map(|fd| PollFd::from_borrowed_fd(*fd, PollFlags::IN))
        .collect();
    let timeout = (timeout_ms >= 0).then(|| Timespec {
        tv_sec: i64::from(timeout_ms / 1000),
        tv_nsec: i64::from(timeout_ms % 1000) * 1_000_000,
    });
    loop {
        match rustix::event::poll(&mut pfds, timeout.as_ref()) {
            Ok(_) => return Ok(pfds.iter().map(|p| !p.revents().is_empty()).collect()),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// `execve(2)`; only returns on failure.
pub(crate) fn execve(
    path: &CStr,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
) -> io::Error {
    // SAFETY: argv and envp are NULL-terminated arrays of pointers to
    // NUL-terminated strings that live until exec replaces the image.
    unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    io::Error::last_os_error()
}

/// Landlock ABI version of the running kernel (0 when unavailable).
///
/// Neither rustix nor the landlock crate exposes the raw version number.
pub(crate) fn landlock_abi() -> i32 {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: the version query takes a null attr and size 0.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if v < 0 { 0 } else { v as i32 }
}

/// `_exit(2)`: leave a forked child without running atexit handlers or destructors.
pub(crate) fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no user-space state.
    unsafe { libc::_exit(code) }
}

/// `mkfifo(2)` with exactly `mode` (the umask is undone by a `chmod`).
pub(crate) fn mkfifo(path: &Path, mode: u32) -> io::Result<()> {
    let mode = Mode::from_raw_mode(mode);
    rustix::fs::mkfifoat(rustix::fs::CWD, path, mode)?;
    rustix::fs::chmod(path, mode).map_err(io::Error::from)
}

/// Open a FIFO without blocking and without following a link, for reading
/// or for writing (a write end opens only while a reader is).
pub(crate) fn open_fifo(path: &Path, write: bool) -> io::Result<OwnedFd> {
    let how = if write {
        OFlags::WRONLY
    } else {
        OFlags::RDONLY
    };
    rustix::fs::open(
        path,
        how | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOFOLLOW,
        Mode::empty(),
    )
    .map_err(io::Error::from)
}

/// Grow a pipe's buffer (best effort: the kernel caps it).
pub(crate) fn set_pipe_size(fd: &OwnedFd, bytes: usize) {
    let _ = rustix::pipe::fcntl_setpipe_size(fd, bytes);
}

/// Read what a non-blocking descriptor has now, appending to `buf` up to
/// `cap` bytes in all; returns whether bytes past `cap` were dropped.
pub(crate) fn read_available(fd: &OwnedFd, buf: &mut Vec<u8>, cap: usize) -> bool {
    let mut chunk = [0u8; 16 * 1024];
    let mut dropped = false;
    loop {
        match rustix::io::read(fd, &mut chunk[..]) {
            Ok(0) => return dropped,
            Ok(n) => {
                let room = cap.saturating_sub(buf.len());
                buf.extend_from_slice(&chunk[..n.min(room)]);
                dropped |= n > room;
            }
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => return dropped,
        }
    }
}

/// Read until `buf` is full or the writer is gone; returns how many bytes came.
pub(crate) fn read_full(fd: &OwnedFd, buf: &mut [u8]) -> usize {
    let mut got = 0;
    while got < buf.len() {
        match rustix::io::read(fd, &mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => break,
        }
    }
    got
}
