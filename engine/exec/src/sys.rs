//! Thin, checked wrappers over the raw Linux syscalls the sandbox needs.
//!
//! Every `unsafe` in the crate that is not about forking lives here, next to a
//! `// SAFETY:` note. The wrappers turn `-1`/errno into [`std::io::Error`] and
//! take Rust types; they add no policy. Callers that run between `fork` and
//! `execve` (the helper, the session init and the command child) are
//! single-threaded, so these wrappers may allocate.

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// `CLOSE_RANGE_CLOEXEC` from `<linux/close_range.h>`.
const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;

pub(crate) fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn cvt_long(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

pub(crate) fn cstring(p: impl AsRef<OsStr>) -> io::Result<CString> {
    CString::new(p.as_ref().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
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

pub(crate) fn unshare(flags: libc::c_int) -> io::Result<()> {
    // SAFETY: unshare only changes this process's namespace membership.
    cvt(unsafe { libc::unshare(flags) }).map(drop)
}

/// Enter the mount namespace `ns` (root and cwd move to its root).
pub(crate) fn setns_mount(ns: &OwnedFd) -> io::Result<()> {
    // SAFETY: setns on a namespace descriptor we hold.
    cvt(unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNS) }).map(drop)
}

pub(crate) fn mount(
    source: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> io::Result<()> {
    let src = source.map(cstring).transpose()?;
    let tgt = cstring(target)?;
    let fst = fstype.map(cstring).transpose()?;
    let dat = data.map(cstring).transpose()?;
    let ptr = |c: &Option<CString>| c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
    // SAFETY: all pointers are NUL-terminated strings that outlive the call, or null.
    cvt(unsafe { libc::mount(ptr(&src), tgt.as_ptr(), ptr(&fst), flags, ptr(&dat).cast()) })
        .map(drop)
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "mount {} on {}: {e}",
                    source.map_or("-".into(), |s| s.display().to_string()),
                    target.display()
                ),
            )
        })
}

pub(crate) fn umount_detach(target: &Path) -> io::Result<()> {
    let t = cstring(target)?;
    // SAFETY: valid NUL-terminated path.
    cvt(unsafe { libc::umount2(t.as_ptr(), libc::MNT_DETACH) }).map(drop)
}

pub(crate) fn pivot_root(new_root: &Path, put_old: &Path) -> io::Result<()> {
    let n = cstring(new_root)?;
    let o = cstring(put_old)?;
    // SAFETY: pivot_root takes two valid path strings.
    cvt_long(unsafe { libc::syscall(libc::SYS_pivot_root, n.as_ptr(), o.as_ptr()) }).map(drop)
}

// The new mount API (<linux/mount.h>): constants libc does not name.
const FSOPEN_CLOEXEC: libc::c_uint = 1;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 1;
const MOUNT_ATTR_RDONLY: libc::c_uint = 0x1;
const MOUNT_ATTR_NOSUID: libc::c_uint = 0x2;
const MOUNT_ATTR_NODEV: libc::c_uint = 0x4;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;

/// The messages the kernel queued on a filesystem context (`e overlay: ...`).
fn fs_context_log(fs: &OwnedFd) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        // SAFETY: reading into our own buffer from a descriptor we own.
        let n = unsafe { libc::read(fs.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            break;
        }
        out.push(String::from_utf8_lossy(&buf[..n as usize]).into_owned());
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
    // SAFETY: fsopen with a valid NUL-terminated type name.
    let fs = cvt(unsafe {
        libc::syscall(libc::SYS_fsopen, c"overlay".as_ptr(), FSOPEN_CLOEXEC) as libc::c_int
    })
    .map_err(|e| io::Error::new(e.kind(), format!("fsopen(overlay): {e}")))?;
    // SAFETY: fsopen returned a fresh descriptor that nothing else owns.
    let fs = unsafe { OwnedFd::from_raw_fd(fs) };
    let config = |key: &CStr, value: Option<&CStr>, cmd: libc::c_uint| -> io::Result<()> {
        // SAFETY: a descriptor we own and NUL-terminated strings (or null) that outlive the call.
        cvt(unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                fs.as_raw_fd(),
                cmd,
                if cmd == FSCONFIG_CMD_CREATE {
                    std::ptr::null()
                } else {
                    key.as_ptr()
                },
                value.map_or(std::ptr::null(), CStr::as_ptr),
                0,
            ) as libc::c_int
        })
        .map(drop)
    };
    for lower in lowers {
        let l = cstring(lower)?;
        config(c"lowerdir+", Some(&l), FSCONFIG_SET_STRING).map_err(|e| {
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
    config(c"", None, FSCONFIG_CMD_CREATE).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("creating the overlay: {e} ({})", fs_context_log(&fs)),
        )
    })?;
    // SAFETY: fsmount on the configured context we own.
    let m = cvt(unsafe {
        libc::syscall(
            libc::SYS_fsmount,
            fs.as_raw_fd(),
            FSMOUNT_CLOEXEC,
            MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
        ) as libc::c_int
    })
    .map_err(|e| io::Error::new(e.kind(), format!("fsmount(overlay): {e}")))?;
    // SAFETY: fsmount returned a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(m) })
}

/// Attach the detached mount `mnt` at `target`.
pub(crate) fn move_mount_to(mnt: &OwnedFd, target: &Path) -> io::Result<()> {
    let t = cstring(target)?;
    // SAFETY: a mount descriptor we own, an empty path with F_EMPTY_PATH, a valid target path.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            mnt.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        ) as libc::c_int
    })
    .map(drop)
    .map_err(|e| io::Error::new(e.kind(), format!("move_mount to {}: {e}", target.display())))
}

/// Mount flags currently set on the mount holding `path`, as `MS_*` bits that
/// must be preserved by a bind remount (the kernel refuses to clear locked ones).
pub(crate) fn preserved_mount_flags(path: &Path) -> io::Result<libc::c_ulong> {
    let p = cstring(path)?;
    // SAFETY: zeroed statvfs is a valid out-parameter.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid path and out-pointer.
    cvt(unsafe { libc::statvfs(p.as_ptr(), &mut st) })?;
    let mut flags = 0;
    for (st_flag, ms_flag) in [
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (libc::ST_RELATIME, libc::MS_RELATIME),
    ] {
        if st.f_flag & st_flag != 0 {
            flags |= ms_flag;
        }
    }
    Ok(flags)
}

pub(crate) fn sethostname(name: &str) -> io::Result<()> {
    // SAFETY: pointer and length describe `name`.
    cvt(unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) }).map(drop)
}

/// Bring the loopback interface of the current network namespace up.
pub(crate) fn loopback_up() -> io::Result<()> {
    // SAFETY: plain socket(2) call.
    let s = cvt(unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: `s` is a fresh descriptor we own.
    let sock = unsafe { OwnedFd::from_raw_fd(s) };
    // SAFETY: ifreq is plain old data; all-zero is valid.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in ifr.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads into the ifreq we own.
    cvt(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut ifr) })?;
    // SAFETY: the union member for SIOCGIFFLAGS/SIOCSIFFLAGS is ifru_flags.
    unsafe { ifr.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short };
    // SAFETY: SIOCSIFFLAGS reads the ifreq we own.
    cvt(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &ifr) }).map(drop)
}

/// Set a resource limit's soft and hard values, never above the current
/// hard limit (raising it needs privileges an ordinary user lacks).
pub(crate) fn set_rlimit_pair(
    resource: libc::__rlimit_resource_t,
    soft: u64,
    hard: u64,
) -> io::Result<()> {
    let mut cur = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `cur` is a valid rlimit struct for the kernel to fill.
    cvt(unsafe { libc::getrlimit(resource, &mut cur) })?;
    let hard = hard.min(cur.rlim_max);
    let lim = libc::rlimit {
        rlim_cur: soft.min(hard),
        rlim_max: hard,
    };
    // SAFETY: valid rlimit struct.
    cvt(unsafe { libc::setrlimit(resource, &lim) }).map(drop)
}

/// Become `uid`/`gid` for good: supplementary groups, real, effective and saved ids.
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
    // SAFETY: always succeeds.
    unsafe { libc::getuid() }
}

pub(crate) fn getgid() -> u32 {
    // SAFETY: always succeeds.
    unsafe { libc::getgid() }
}

pub(crate) fn geteuid() -> u32 {
    // SAFETY: always succeeds.
    unsafe { libc::geteuid() }
}

pub(crate) fn prctl(option: libc::c_int, arg: libc::c_ulong) -> io::Result<()> {
    // SAFETY: the options we use take one integer argument.
    cvt(unsafe {
        libc::prctl(
            option,
            arg,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    })
    .map(drop)
}

pub(crate) fn set_no_new_privs() -> io::Result<()> {
    prctl(libc::PR_SET_NO_NEW_PRIVS, 1)
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

pub(crate) fn dup2(from: RawFd, to: RawFd) -> io::Result<()> {
    // SAFETY: dup2 on descriptors; `to` is a standard slot we intend to replace.
    cvt(unsafe { libc::dup2(from, to) }).map(drop)
}

pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for two descriptors.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: the kernel just gave us these two descriptors.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

pub(crate) fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we hold.
    let flags = cvt(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
    // SAFETY: as above.
    cvt(unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) }).map(drop)
}

/// Wait for a specific child; returns the raw wait status.
pub(crate) fn waitpid(pid: libc::pid_t) -> io::Result<libc::c_int> {
    let mut status = 0;
    loop {
        // SAFETY: out-pointer to a local.
        match cvt(unsafe { libc::waitpid(pid, &mut status, 0) }) {
            Ok(_) => return Ok(status),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Wait for any child; returns (pid, raw status).
pub(crate) fn wait_any() -> io::Result<(libc::pid_t, libc::c_int)> {
    let mut status = 0;
    loop {
        // SAFETY: out-pointer to a local.
        match cvt(unsafe { libc::waitpid(-1, &mut status, 0) }) {
            Ok(pid) => return Ok((pid, status)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Reap one exited child if any, without blocking.
pub(crate) fn wait_any_nohang() -> Option<(libc::pid_t, libc::c_int)> {
    let mut status = 0;
    // SAFETY: out-pointer to a local.
    let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
    (pid > 0).then_some((pid, status))
}

/// Block SIGCHLD and return a signalfd that becomes readable when one arrives.
pub(crate) fn sigchld_fd() -> io::Result<OwnedFd> {
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
    // SAFETY: siginfo is plain old data.
    let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: reading into a local of the right size from a non-blocking fd.
        let n = unsafe {
            libc::read(
                fd.as_raw_fd(),
                (&mut info as *mut libc::signalfd_siginfo).cast(),
                size_of::<libc::signalfd_siginfo>(),
            )
        };
        if n <= 0 {
            break;
        }
    }
}

/// `poll(2)` over `fds` (fd, events) for at most `timeout_ms` (-1 = forever);
/// returns revents per entry.
pub(crate) fn poll(
    fds: &[(RawFd, libc::c_short)],
    timeout_ms: libc::c_int,
) -> io::Result<Vec<libc::c_short>> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|&(fd, events)| libc::pollfd {
            fd,
            events,
            revents: 0,
        })
        .collect();
    loop {
        // SAFETY: pointer/length describe `pfds`.
        match cvt(unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout_ms) })
        {
            Ok(_) => return Ok(pfds.iter().map(|p| p.revents).collect()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
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
    let c = cstring(path)?;
    // SAFETY: valid NUL-terminated path.
    cvt(unsafe { libc::mkfifo(c.as_ptr(), mode) })?;
    // SAFETY: as above.
    cvt(unsafe { libc::chmod(c.as_ptr(), mode) }).map(drop)
}

/// Open a FIFO without blocking and without following a link:
/// `O_RDONLY` or `O_WRONLY` (a write end opens only while a reader is).
pub(crate) fn open_fifo(path: &Path, how: libc::c_int) -> io::Result<OwnedFd> {
    let c = cstring(path)?;
    // SAFETY: valid NUL-terminated path; the flags ask for a new descriptor.
    let fd = cvt(unsafe {
        libc::open(
            c.as_ptr(),
            how | libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOFOLLOW,
        )
    })?;
    // SAFETY: the kernel just gave us this descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Grow a pipe's buffer (best effort: the kernel caps it).
pub(crate) fn set_pipe_size(fd: &OwnedFd, bytes: libc::c_int) {
    // SAFETY: fcntl on a descriptor we hold.
    unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, bytes) };
}

/// Read what a non-blocking descriptor has now, appending to `buf` up to
/// `cap` bytes in all; returns whether bytes past `cap` were dropped.
pub(crate) fn read_available(fd: &OwnedFd, buf: &mut Vec<u8>, cap: usize) -> bool {
    let mut chunk = [0u8; 16 * 1024];
    let mut dropped = false;
    loop {
        // SAFETY: reading into a local buffer of the given length.
        let n = unsafe { libc::read(fd.as_raw_fd(), chunk.as_mut_ptr().cast(), chunk.len()) };
        if n > 0 {
            let n = n as usize;
            let room = cap.saturating_sub(buf.len());
            buf.extend_from_slice(&chunk[..n.min(room)]);
            dropped |= n > room;
            continue;
        }
        if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        return dropped;
    }
}
