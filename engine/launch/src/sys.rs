//! The system calls the launcher makes, issued directly (no C library).
//!
//! Why no libc: the launcher runs before every installed program, and the
//! program pays its own C library start-up anyway. glibc's start-up probes
//! the CPU with `cpuid` dozens of times (features, then cache sizes), and
//! on a virtual machine each `cpuid` traps to the hypervisor: a static
//! glibc program that does nothing but `execve` costs +0.36 ms per launch
//! on the machine of docs/BENCHMARKS.md, the same program without libc
//! +0.05 ms. So the launcher program (`src/program.rs`) is `no_std`, and
//! this module is its whole interface to the kernel: a raw `syscall`
//! instruction and thin wrappers returning [`Errno`].
//!
//! Paths are byte strings, as the kernel takes them; a wrapper that needs
//! a NUL-terminated copy makes one.

use alloc::vec::Vec;
use core::fmt;

/// A failed system call's error number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub i32);

pub const ENOENT: Errno = Errno(2);
pub const EINTR: Errno = Errno(4);
pub const EINVAL: Errno = Errno(22);
pub const ENOSYS: Errno = Errno(38);
pub const ELOOP: Errno = Errno(40);

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The words std's io::Error shows for the errors a launch meets.
        let text = match self.0 {
            1 => "Operation not permitted",
            2 => "No such file or directory",
            5 => "Input/output error",
            7 => "Argument list too long",
            8 => "Exec format error",
            12 => "Cannot allocate memory",
            13 => "Permission denied",
            20 => "Not a directory",
            21 => "Is a directory",
            22 => "Invalid argument",
            26 => "Text file busy",
            36 => "File name too long",
            38 => "Function not implemented",
            40 => "Too many levels of symbolic links",
            95 => "Operation not supported",
            _ => "error",
        };
        write!(f, "{text} (os error {})", self.0)
    }
}

pub type Result<T> = core::result::Result<T, Errno>;

#[cfg(target_arch = "x86_64")]
mod nr {
    pub const READ: usize = 0;
    pub const WRITE: usize = 1;
    pub const CLOSE: usize = 3;
    pub const MMAP: usize = 9;
    pub const PREAD64: usize = 17;
    pub const EXECVE: usize = 59;
    pub const GETCWD: usize = 79;
    pub const GETUID: usize = 102;
    pub const GETGID: usize = 104;
    pub const GETEUID: usize = 107;
    pub const PRCTL: usize = 157;
    pub const EXIT_GROUP: usize = 231;
    pub const OPENAT: usize = 257;
    pub const MKDIRAT: usize = 258;
    pub const NEWFSTATAT: usize = 262;
    pub const READLINKAT: usize = 267;
    pub const UNSHARE: usize = 272;
}

#[cfg(target_arch = "aarch64")]
mod nr {
    pub const READ: usize = 63;
    pub const WRITE: usize = 64;
    pub const CLOSE: usize = 57;
    pub const MMAP: usize = 222;
    pub const PREAD64: usize = 67;
    pub const EXECVE: usize = 221;
    pub const GETCWD: usize = 17;
    pub const GETUID: usize = 174;
    pub const GETGID: usize = 176;
    pub const GETEUID: usize = 175;
    pub const PRCTL: usize = 167;
    pub const EXIT_GROUP: usize = 94;
    pub const OPENAT: usize = 56;
    pub const MKDIRAT: usize = 34;
    pub const NEWFSTATAT: usize = 79;
    pub const READLINKAT: usize = 78;
    pub const UNSHARE: usize = 97;
}

/// The same number on every architecture.
const LANDLOCK_CREATE_RULESET: usize = 444;
const LANDLOCK_ADD_RULE: usize = 445;
const LANDLOCK_RESTRICT_SELF: usize = 446;

const AT_FDCWD: isize = -100;
const AT_SYMLINK_NOFOLLOW: usize = 0x100;
pub const O_RDONLY: usize = 0;
pub const O_WRONLY: usize = 1;
pub const O_CLOEXEC: usize = 0o2000000;
pub const O_PATH: usize = 0o10000000;

/// One system call with up to six arguments; the kernel's return value
/// (a negative errno on failure).
#[cfg(target_arch = "x86_64")]
#[expect(unsafe_code, reason = "the syscall instruction")]
unsafe fn raw(n: usize, a: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: the caller passes arguments valid for system call `n`; the
    // kernel clobbers rcx and r11 only.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") n as isize => ret,
            in("rdi") a[0], in("rsi") a[1], in("rdx") a[2],
            in("r10") a[3], in("r8") a[4], in("r9") a[5],
            lateout("rcx") _, lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

#[cfg(target_arch = "aarch64")]
#[expect(unsafe_code, reason = "the svc instruction")]
unsafe fn raw(n: usize, a: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: the caller passes arguments valid for system call `n`.
    unsafe {
        core::arch::asm!(
            "svc 0",
            in("x8") n,
            inlateout("x0") a[0] as isize => ret,
            in("x1") a[1], in("x2") a[2], in("x3") a[3], in("x4") a[4], in("x5") a[5],
            options(nostack),
        );
    }
    ret
}

/// [`raw`] as a `Result`.
#[expect(
    unsafe_code,
    reason = "forwards to raw; every caller documents its pointers"
)]
unsafe fn call(n: usize, a: [usize; 6]) -> Result<usize> {
    // SAFETY: as the caller's.
    let r = unsafe { raw(n, a) };
    if (-4095..0).contains(&r) {
        Err(Errno(-r as i32))
    } else {
        Ok(r as usize)
    }
}

/// A NUL-terminated copy of `path` (an interior NUL: `EINVAL`, as the
/// kernel would treat a truncated path is not what was asked).
pub fn c_path(path: &[u8]) -> Result<Vec<u8>> {
    if path.contains(&0) {
        return Err(EINVAL);
    }
    let mut c = Vec::with_capacity(path.len() + 1);
    c.extend_from_slice(path);
    c.push(0);
    Ok(c)
}

/// An open file descriptor, closed on drop.
#[derive(Debug)]
pub struct Fd(usize);

impl Fd {
    /// Leaves the descriptor open: opened close-on-exec, it is closed by
    /// the `execve` that follows, which saves the `close` system call.
    pub fn leave_to_exec(self) {
        core::mem::forget(self);
    }
}

impl Drop for Fd {
    #[expect(unsafe_code, reason = "close of a descriptor this value owns")]
    fn drop(&mut self) {
        // SAFETY: the descriptor is ours and closed once.
        let _ = unsafe { call(nr::CLOSE, [self.0, 0, 0, 0, 0, 0]) };
    }
}

/// `openat(AT_FDCWD, path, flags | O_CLOEXEC, mode)`.
#[expect(unsafe_code, reason = "openat with a NUL-terminated path")]
pub fn open(path: &[u8], flags: usize, mode: usize) -> Result<Fd> {
    let c = c_path(path)?;
    // SAFETY: `c` is NUL-terminated and outlives the call.
    unsafe {
        call(
            nr::OPENAT,
            [
                AT_FDCWD as usize,
                c.as_ptr() as usize,
                flags | O_CLOEXEC,
                mode,
                0,
                0,
            ],
        )
    }
    .map(Fd)
}

/// `read` into `buf`, retried on `EINTR`.
#[expect(unsafe_code, reason = "read into a live buffer")]
pub fn read(fd: &Fd, buf: &mut [u8]) -> Result<usize> {
    loop {
        // SAFETY: `buf` is writable for its length.
        let r = unsafe {
            call(
                nr::READ,
                [fd.0, buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0],
            )
        };
        if r != Err(EINTR) {
            return r;
        }
    }
}

/// `pread64` into `buf` at `offset`.
#[expect(unsafe_code, reason = "pread into a live buffer")]
pub fn pread(fd: &Fd, buf: &mut [u8], offset: u64) -> Result<usize> {
    // SAFETY: `buf` is writable for its length.
    unsafe {
        call(
            nr::PREAD64,
            [
                fd.0,
                buf.as_mut_ptr() as usize,
                buf.len(),
                offset as usize,
                0,
                0,
            ],
        )
    }
}

/// The whole file at `path` (small files: policies, `/proc` entries).
pub fn read_file(path: &[u8]) -> Result<Vec<u8>> {
    let fd = open(path, O_RDONLY, 0)?;
    let mut out = Vec::with_capacity(256);
    loop {
        if out.len() == out.capacity() {
            out.reserve(out.len());
        }
        let start = out.len();
        out.resize(out.capacity(), 0);
        let n = read(&fd, &mut out[start..]);
        match n {
            Ok(0) => {
                out.truncate(start);
                return Ok(out);
            }
            Ok(n) => out.truncate(start + n),
            Err(e) => return Err(e),
        }
    }
}

/// `write` of all of `bytes` to descriptor `fd` (2: stderr).
#[expect(unsafe_code, reason = "write from a live buffer")]
pub fn write_all(fd: usize, mut bytes: &[u8]) -> Result<()> {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is readable for its length.
        match unsafe {
            call(
                nr::WRITE,
                [fd, bytes.as_ptr() as usize, bytes.len(), 0, 0, 0],
            )
        } {
            Ok(0) => return Err(Errno(5)),
            Ok(n) => bytes = &bytes[n..],
            Err(EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes `text` into the existing file at `path` (`/proc/self/uid_map`).
pub fn write_file(path: &[u8], text: &[u8]) -> Result<()> {
    let fd = open(path, O_WRONLY, 0)?;
    write_all(fd.0, text)
}

/// `readlinkat(AT_FDCWD, path)`: a link's target.
#[expect(unsafe_code, reason = "readlinkat into a live buffer")]
pub fn readlink(path: &[u8]) -> Result<Vec<u8>> {
    let c = c_path(path)?;
    let mut buf = alloc::vec![0u8; 256];
    loop {
        // SAFETY: `c` is NUL-terminated, `buf` writable for its length.
        let n = unsafe {
            call(
                nr::READLINKAT,
                [
                    AT_FDCWD as usize,
                    c.as_ptr() as usize,
                    buf.as_mut_ptr() as usize,
                    buf.len(),
                    0,
                    0,
                ],
            )
        }?;
        if n < buf.len() {
            buf.truncate(n);
            return Ok(buf);
        }
        if buf.len() >= 65536 {
            return Err(Errno(36));
        }
        let len = buf.len() * 2;
        buf.resize(len, 0);
    }
}

/// `st_mode` of `path`, not following a final link (`lstat`).
#[expect(unsafe_code, reason = "newfstatat into a local stat buffer")]
pub fn lstat_mode(path: &[u8]) -> Result<u32> {
    let c = c_path(path)?;
    // `struct stat` is 144 bytes on x86_64 and 128 on aarch64; st_mode is
    // at 24 on x86_64 and 16 on aarch64.
    let mut buf = [0u64; 18];
    // SAFETY: `c` is NUL-terminated, `buf` is larger than struct stat.
    unsafe {
        call(
            nr::NEWFSTATAT,
            [
                AT_FDCWD as usize,
                c.as_ptr() as usize,
                buf.as_mut_ptr() as usize,
                AT_SYMLINK_NOFOLLOW,
                0,
                0,
            ],
        )
    }?;
    #[cfg(target_arch = "x86_64")]
    let mode = buf[3] as u32;
    #[cfg(target_arch = "aarch64")]
    let mode = buf[2] as u32;
    Ok(mode)
}

pub const S_IFMT: u32 = 0o170000;
pub const S_IFLNK: u32 = 0o120000;

/// Whether `path` exists (following links), as `Path::exists`.
pub fn exists(path: &[u8]) -> bool {
    open(path, O_PATH, 0).is_ok()
}

/// `mkdirat(AT_FDCWD, path, mode)`.
#[expect(unsafe_code, reason = "mkdirat with a NUL-terminated path")]
pub fn mkdir(path: &[u8], mode: usize) -> Result<()> {
    let c = c_path(path)?;
    // SAFETY: `c` is NUL-terminated.
    unsafe {
        call(
            nr::MKDIRAT,
            [AT_FDCWD as usize, c.as_ptr() as usize, mode, 0, 0, 0],
        )
    }
    .map(drop)
}

/// The current directory (`getcwd`).
#[expect(unsafe_code, reason = "getcwd into a live buffer")]
pub fn getcwd() -> Result<Vec<u8>> {
    let mut buf = alloc::vec![0u8; 512];
    loop {
        // SAFETY: `buf` is writable for its length.
        match unsafe {
            call(
                nr::GETCWD,
                [buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0, 0],
            )
        } {
            Ok(n) => {
                // n counts the NUL.
                buf.truncate(n.saturating_sub(1));
                // "(unreachable)/...": a directory outside this process's
                // root; not a path the program can use.
                if buf.first() != Some(&b'/') {
                    return Err(ENOENT);
                }
                return Ok(buf);
            }
            Err(Errno(34)) if buf.len() < 65536 => {
                let len = buf.len() * 4;
                buf.resize(len, 0);
            }
            Err(e) => return Err(e),
        }
    }
}

/// `execve(path, argv, envp)`: returns only on failure.
#[expect(unsafe_code, reason = "execve with the caller's own argv and envp")]
pub fn execve(path: &[u8], argv: *const *const u8, envp: *const *const u8) -> Errno {
    let Ok(c) = c_path(path) else {
        return EINVAL;
    };
    // SAFETY: `c` is NUL-terminated; argv and envp are NULL-terminated
    // arrays of NUL-terminated strings (the kernel's own, or a suffix).
    match unsafe {
        call(
            nr::EXECVE,
            [c.as_ptr() as usize, argv as usize, envp as usize, 0, 0, 0],
        )
    } {
        Ok(_) => ENOSYS,
        Err(e) => e,
    }
}

/// `exit_group(code)`.
#[expect(unsafe_code, reason = "exit_group")]
pub fn exit(code: i32) -> ! {
    loop {
        // SAFETY: exit_group takes no pointers and does not return.
        let _ = unsafe { raw(nr::EXIT_GROUP, [code as usize, 0, 0, 0, 0, 0]) };
    }
}

/// `mmap` of fresh private anonymous memory (the allocator's chunks).
#[expect(unsafe_code, reason = "an anonymous mapping")]
pub fn map_anonymous(len: usize) -> Result<*mut u8> {
    const PROT_READ_WRITE: usize = 0x3;
    const MAP_PRIVATE_ANONYMOUS: usize = 0x02 | 0x20;
    // SAFETY: a new anonymous mapping touches no existing memory.
    unsafe {
        call(
            nr::MMAP,
            [
                0,
                len,
                PROT_READ_WRITE,
                MAP_PRIVATE_ANONYMOUS,
                usize::MAX,
                0,
            ],
        )
    }
    .map(|p| p as *mut u8)
}

#[expect(unsafe_code, reason = "identity system calls take no pointers")]
pub fn getuid() -> u32 {
    // SAFETY: no pointers.
    unsafe { raw(nr::GETUID, [0; 6]) as u32 }
}

#[expect(unsafe_code, reason = "identity system calls take no pointers")]
pub fn getgid() -> u32 {
    // SAFETY: no pointers.
    unsafe { raw(nr::GETGID, [0; 6]) as u32 }
}

#[expect(unsafe_code, reason = "identity system calls take no pointers")]
pub fn geteuid() -> u32 {
    // SAFETY: no pointers.
    unsafe { raw(nr::GETEUID, [0; 6]) as u32 }
}

pub const CLONE_NEWUSER: usize = 0x1000_0000;
pub const CLONE_NEWNET: usize = 0x4000_0000;

/// `unshare(flags)`. The launcher is single-threaded.
#[expect(unsafe_code, reason = "unshare takes no pointers")]
pub fn unshare(flags: usize) -> Result<()> {
    // SAFETY: no pointers.
    unsafe { call(nr::UNSHARE, [flags, 0, 0, 0, 0, 0]) }.map(drop)
}

/// `prctl(option, arg2, arg3)`; `arg3` may be a pointer the option reads.
#[expect(unsafe_code, reason = "prctl; the seccomp caller passes a live filter")]
pub fn prctl(option: usize, arg2: usize, arg3: usize) -> Result<usize> {
    // SAFETY: the options used (PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP with a
    // filter program alive for the call) read at most `arg3` as a pointer.
    unsafe { call(nr::PRCTL, [option, arg2, arg3, 0, 0, 0]) }
}

/// `landlock_create_ruleset(attr, size, flags)`; a NULL `attr` with the
/// version flag asks for the ABI version.
#[expect(
    unsafe_code,
    reason = "landlock_create_ruleset with a live attribute struct"
)]
pub fn landlock_create_ruleset(attr: &[u64], flags: usize) -> Result<usize> {
    let (ptr, size) = if attr.is_empty() {
        (0, 0)
    } else {
        (attr.as_ptr() as usize, core::mem::size_of_val(attr))
    };
    // SAFETY: `attr` is readable for `size` bytes.
    unsafe { call(LANDLOCK_CREATE_RULESET, [ptr, size, flags, 0, 0, 0]) }
}

/// `landlock_add_rule(ruleset, LANDLOCK_RULE_PATH_BENEATH, {access, fd})`.
#[expect(unsafe_code, reason = "landlock_add_rule with a live, packed rule")]
pub fn landlock_add_path_rule(ruleset: &Fd, access: u64, dir: &Fd) -> Result<()> {
    const LANDLOCK_RULE_PATH_BENEATH: usize = 1;
    // struct landlock_path_beneath_attr is packed: u64 then s32.
    let mut attr = [0u8; 12];
    attr[..8].copy_from_slice(&access.to_ne_bytes());
    attr[8..].copy_from_slice(&(dir.0 as i32).to_ne_bytes());
    // SAFETY: `attr` is the 12-byte packed struct, alive for the call.
    unsafe {
        call(
            LANDLOCK_ADD_RULE,
            [
                ruleset.0,
                LANDLOCK_RULE_PATH_BENEATH,
                attr.as_ptr() as usize,
                0,
                0,
                0,
            ],
        )
    }
    .map(drop)
}

/// `landlock_restrict_self(ruleset, 0)`.
#[expect(unsafe_code, reason = "landlock_restrict_self takes no pointers")]
pub fn landlock_restrict_self(ruleset: &Fd) -> Result<()> {
    // SAFETY: no pointers.
    unsafe { call(LANDLOCK_RESTRICT_SELF, [ruleset.0, 0, 0, 0, 0, 0]) }.map(drop)
}

/// A descriptor the kernel just returned, owned from now on.
pub fn own(fd: usize) -> Fd {
    Fd(fd)
}
