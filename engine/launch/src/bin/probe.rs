//! A test program for `tests/launch.rs`: does one thing the test asks for
//! and reports the outcome as its exit status (0, or the errno: EACCES is
//! 13, EPERM 1), so tests assert exact denials. Never packaged.
//!
//! `read PATH`, `write PATH` (create, append), `read-home REL` and
//! `write-home REL` (the same below `$HOME`, so the path is not on the
//! command line), `connect PORT` (TCP to 127.0.0.1), `spawn PROG ARGS...`
//! (its status; 128+N for a signal), `args` (the whole argv, argv[0]
//! included, NUL-separated to stdout, raw bytes), `cat` (stdin to stdout),
//! `exit N`, `signal N` (raise it), `ids` (uid and gid), `udp` (a UDP
//! socket on loopback), `no-landlock PROG ARGS...` (runs PROG as if the
//! kernel had no Landlock: a seccomp filter fails its system calls with
//! ENOSYS).

use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;

fn errno(err: &std::io::Error) -> i32 {
    eprintln!("probe: {err}");
    err.raw_os_error().unwrap_or(255)
}

#[allow(
    clippy::disallowed_methods,
    reason = "a test probe: spawning a child is one of the behaviours the launcher tests observe"
)]
fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let word = |i: usize| {
        args.get(i)
            .map(|a| a.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let home = std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default());
    let path = match word(1).as_str() {
        "read-home" | "write-home" => home.join(&args[2]),
        _ => args.get(2).map(Into::into).unwrap_or_default(),
    };
    let code = match word(1).as_str() {
        "read" | "read-home" => match std::fs::read(&path) {
            Ok(_) => 0,
            Err(e) => errno(&e),
        },
        "write" | "write-home" => match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
        {
            Ok(mut f) => match f.write_all(b"probe\n") {
                Ok(()) => 0,
                Err(e) => errno(&e),
            },
            Err(e) => errno(&e),
        },
        "connect" => {
            match std::net::TcpStream::connect(("127.0.0.1", word(2).parse().unwrap_or(1))) {
                Ok(_) => 0,
                Err(e) => errno(&e),
            }
        }
        "no-landlock" => no_landlock(&args[2..]),
        "udp" => match std::net::UdpSocket::bind("127.0.0.1:0") {
            Ok(_) => 0,
            Err(e) => errno(&e),
        },
        "spawn" => match std::process::Command::new(&args[2])
            .args(&args[3..])
            .status()
        {
            Ok(status) => status
                .code()
                .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
            Err(e) => errno(&e),
        },
        "args" => {
            let mut out = std::io::stdout().lock();
            for arg in &args {
                out.write_all(arg.as_bytes()).unwrap();
                out.write_all(b"\0").unwrap();
            }
            0
        }
        "cat" => {
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf).unwrap();
            std::io::stdout().write_all(&buf).unwrap();
            0
        }
        "exit" => word(2).parse().unwrap_or(255),
        "signal" => {
            let sig = rustix::process::Signal::from_named_raw(word(2).parse().unwrap_or(15));
            if let Some(sig) = sig {
                let _ = rustix::process::kill_process(rustix::process::getpid(), sig);
            }
            std::thread::sleep(std::time::Duration::from_secs(5));
            254
        }
        "ids" => {
            println!(
                "{} {}",
                rustix::process::getuid().as_raw(),
                rustix::process::getgid().as_raw()
            );
            0
        }
        _ => 2,
    };
    std::process::exit(code)
}

/// Execs `cmd` with Landlock's system calls failing with ENOSYS, as on a
/// kernel without Landlock; returns only on failure.
#[expect(unsafe_code, reason = "prctl(PR_SET_SECCOMP) with a filter program")]
#[allow(
    clippy::disallowed_methods,
    reason = "a test probe: execs the command to run it without Landlock"
)]
fn no_landlock(cmd: &[std::ffi::OsString]) -> i32 {
    use std::os::unix::process::CommandExt;
    const LD: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    const JGE: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
    const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    let op = |code, k, jt, jf| libc::sock_filter { code, jt, jf, k };
    // landlock_create_ruleset, _add_rule, _restrict_self are 444..=446.
    let first = libc::SYS_landlock_create_ruleset as u32;
    let mut filter = [
        op(LD, 0, 0, 0),
        op(JGE, first, 0, 2),
        op(JGE, first + 3, 1, 0),
        op(RET, 0x0005_0000 | libc::ENOSYS as u32, 0, 0),
        op(RET, 0x7fff_0000, 0, 0),
    ];
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_mut_ptr(),
    };
    // SAFETY: plain prctl calls; `prog` points at `filter`, alive for the
    // call, and the kernel copies it.
    let r = unsafe {
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER as libc::c_ulong,
            &prog as *const libc::sock_fprog,
        )
    };
    if r != 0 {
        return errno(&std::io::Error::last_os_error());
    }
    errno(&std::process::Command::new(&cmd[0]).args(&cmd[1..]).exec())
}
