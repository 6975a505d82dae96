//! The network part Landlock does not cover, for `network = false`: a
//! seccomp filter on `socket(2)`.
//!
//! Landlock (ABI 4+) denies TCP `connect` and `bind`, but not UDP (DNS,
//! QUIC, exfiltration one datagram at a time), MPTCP or SCTP (which Linux
//! no longer counts as TCP for Landlock), nor raw or other families. A
//! private network namespace would cover them, at about 0.6 ms (root) to
//! 1 ms (ordinary user) per launch on the machine of docs/BENCHMARKS.md,
//! plus the kernel's asynchronous namespace teardown; this filter costs one
//! `prctl`. It allows:
//!
//! - `AF_UNIX` and `AF_NETLINK` sockets (local IPC; interface queries);
//! - `AF_INET`/`AF_INET6` sockets of type `SOCK_STREAM` with protocol 0
//!   or TCP, which Landlock then holds to no bind and no connect;
//!
//! and fails every other `socket` call with `EACCES` (the errno Landlock
//! gives a denied connect) or `EAFNOSUPPORT` (other families).
//! `io_uring_setup` fails with `ENOSYS`: io_uring can create sockets
//! without the `socket` system call (openai/codex blocks it for the same
//! reason), and programs fall back to ordinary calls. A system call made
//! through another ABI (x32, i386 `socketcall`) fails with `ENOSYS`.

use std::io;

/// `AUDIT_ARCH_*` of the architecture the launcher was built for.
#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7;

/// x32 system calls share x86_64's audit arch with this bit set.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

const RET_ALLOW: u32 = 0x7fff_0000;
const RET_ERRNO: u32 = 0x0005_0000;

// seccomp_data: nr at 0, arch at 4, args[i] at 16 + 8 i (low 32 bits
// first on little-endian machines).
const OFFSET_NR: u32 = 0;
const OFFSET_ARCH: u32 = 4;
const OFFSET_ARG0: u32 = 16;
const OFFSET_ARG1: u32 = 24;
const OFFSET_ARG2: u32 = 32;

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// The filter program (see the module's documentation).
fn program() -> Vec<libc::sock_filter> {
    const LD: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const JGE: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
    const AND: u16 = (libc::BPF_ALU | libc::BPF_AND | libc::BPF_K) as u16;
    const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    let errno = |e: i32| stmt(RET, RET_ERRNO | e as u32);
    let socket = libc::SYS_socket as u32;
    let io_uring = libc::SYS_io_uring_setup as u32;
    vec![
        /* 0 */ stmt(LD, OFFSET_ARCH),
        /* 1 */ jump(JEQ, AUDIT_ARCH, 1, 0),
        /* 2 */ errno(libc::ENOSYS),
        /* 3 */ stmt(LD, OFFSET_NR),
        /* 4 */ jump(JGE, X32_SYSCALL_BIT, 0, 1),
        /* 5 */ errno(libc::ENOSYS),
        /* 6 */ jump(JEQ, io_uring, 0, 1),
        /* 7 */ errno(libc::ENOSYS),
        /* 8 */ jump(JEQ, socket, 1, 0),
        /* 9 */ stmt(RET, RET_ALLOW),
        // socket(domain, type, protocol)
        /* 10 */ stmt(LD, OFFSET_ARG0),
        /* 11 */ jump(JEQ, libc::AF_UNIX as u32, 3, 0),
        /* 12 */ jump(JEQ, libc::AF_NETLINK as u32, 2, 0),
        /* 13 */ jump(JEQ, libc::AF_INET as u32, 3, 0),
        /* 14 */ jump(JEQ, libc::AF_INET6 as u32, 2, 1),
        /* 15 */ stmt(RET, RET_ALLOW),
        /* 16 */ errno(libc::EAFNOSUPPORT),
        // AF_INET/AF_INET6: only a TCP stream (flags masked off the type).
        /* 17 */
        stmt(LD, OFFSET_ARG1),
        /* 18 */ stmt(AND, 0xf),
        /* 19 */ jump(JEQ, libc::SOCK_STREAM as u32, 1, 0),
        /* 20 */ errno(libc::EACCES),
        /* 21 */ stmt(LD, OFFSET_ARG2),
        /* 22 */ jump(JEQ, 0, 2, 0),
        /* 23 */ jump(JEQ, libc::IPPROTO_TCP as u32, 1, 0),
        /* 24 */ errno(libc::EACCES),
        /* 25 */ stmt(RET, RET_ALLOW),
    ]
}

/// Loads the filter into this (single-threaded) process; inherited by the
/// program and everything it starts. Needs `no_new_privs`.
#[expect(unsafe_code, reason = "prctl(PR_SET_SECCOMP) with a filter program")]
pub fn deny_network_sockets() -> io::Result<()> {
    let mut filter = program();
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_mut_ptr(),
    };
    // SAFETY: `prog` points at `filter`, alive for the call; the kernel
    // copies the program before prctl returns.
    let r = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER as libc::c_ulong,
            &prog as *const libc::sock_fprog,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_jump_lands_inside_the_program() {
        let p = super::program();
        for (i, insn) in p.iter().enumerate() {
            let is_jump = insn.code & 0x07 == libc::BPF_JMP as u16;
            if is_jump {
                assert!(i + 1 + (insn.jt as usize) < p.len(), "jt of {i}");
                assert!(i + 1 + (insn.jf as usize) < p.len(), "jf of {i}");
            }
        }
        let last = p.last().unwrap();
        assert_eq!(last.code, (libc::BPF_RET | libc::BPF_K) as u16);
    }
}
