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

use alloc::vec;
use alloc::vec::Vec;

use crate::sys;

/// `AUDIT_ARCH_*` of the architecture the launcher was built for, and the
/// numbers of the two system calls the filter looks at.
#[cfg(target_arch = "x86_64")]
mod arch {
    pub const AUDIT_ARCH: u32 = 0xC000_003E;
    pub const SYS_SOCKET: u32 = 41;
}
#[cfg(target_arch = "aarch64")]
mod arch {
    pub const AUDIT_ARCH: u32 = 0xC000_00B7;
    pub const SYS_SOCKET: u32 = 198;
}
use arch::{AUDIT_ARCH, SYS_SOCKET};
/// The same number on every architecture.
const SYS_IO_URING_SETUP: u32 = 425;

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

// Classic BPF opcodes (linux/bpf_common.h).
const BPF_LD: u16 = 0x00;
const BPF_W: u16 = 0x00;
const BPF_ABS: u16 = 0x20;
const BPF_ALU: u16 = 0x04;
const BPF_AND: u16 = 0x50;
const BPF_JMP: u16 = 0x05;
const BPF_JEQ: u16 = 0x10;
const BPF_JGE: u16 = 0x30;
const BPF_K: u16 = 0x00;
const BPF_RET: u16 = 0x06;

const AF_UNIX: u32 = 1;
const AF_INET: u32 = 2;
const AF_INET6: u32 = 10;
const AF_NETLINK: u32 = 16;
const SOCK_STREAM: u32 = 1;
const IPPROTO_TCP: u32 = 6;
const EACCES: u32 = 13;
const ENOSYS: u32 = 38;
const EAFNOSUPPORT: u32 = 97;

const PR_SET_SECCOMP: usize = 22;
const SECCOMP_MODE_FILTER: usize = 2;

/// `struct sock_filter`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct SockFilter {
    code: u16,
    jt: u8,
    jf: u8,
    k: u32,
}

/// `struct sock_fprog`.
#[repr(C)]
struct SockFprog {
    len: u16,
    filter: *const SockFilter,
}

fn stmt(code: u16, k: u32) -> SockFilter {
    SockFilter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> SockFilter {
    SockFilter { code, jt, jf, k }
}

/// The filter program (see the module's documentation).
fn program() -> Vec<SockFilter> {
    const LD: u16 = BPF_LD | BPF_W | BPF_ABS;
    const JEQ: u16 = BPF_JMP | BPF_JEQ | BPF_K;
    const JGE: u16 = BPF_JMP | BPF_JGE | BPF_K;
    const AND: u16 = BPF_ALU | BPF_AND | BPF_K;
    const RET: u16 = BPF_RET | BPF_K;
    let errno = |e: u32| stmt(RET, RET_ERRNO | e);
    vec![
        /* 0 */ stmt(LD, OFFSET_ARCH),
        /* 1 */ jump(JEQ, AUDIT_ARCH, 1, 0),
        /* 2 */ errno(ENOSYS),
        /* 3 */ stmt(LD, OFFSET_NR),
        /* 4 */ jump(JGE, X32_SYSCALL_BIT, 0, 1),
        /* 5 */ errno(ENOSYS),
        /* 6 */ jump(JEQ, SYS_IO_URING_SETUP, 0, 1),
        /* 7 */ errno(ENOSYS),
        /* 8 */ jump(JEQ, SYS_SOCKET, 1, 0),
        /* 9 */ stmt(RET, RET_ALLOW),
        // socket(domain, type, protocol)
        /* 10 */ stmt(LD, OFFSET_ARG0),
        /* 11 */ jump(JEQ, AF_UNIX, 3, 0),
        /* 12 */ jump(JEQ, AF_NETLINK, 2, 0),
        /* 13 */ jump(JEQ, AF_INET, 3, 0),
        /* 14 */ jump(JEQ, AF_INET6, 2, 1),
        /* 15 */ stmt(RET, RET_ALLOW),
        /* 16 */ errno(EAFNOSUPPORT),
        // AF_INET/AF_INET6: only a TCP stream (flags masked off the type).
        /* 17 */
        stmt(LD, OFFSET_ARG1),
        /* 18 */ stmt(AND, 0xf),
        /* 19 */ jump(JEQ, SOCK_STREAM, 1, 0),
        /* 20 */ errno(EACCES),
        /* 21 */ stmt(LD, OFFSET_ARG2),
        /* 22 */ jump(JEQ, 0, 2, 0),
        /* 23 */ jump(JEQ, IPPROTO_TCP, 1, 0),
        /* 24 */ errno(EACCES),
        /* 25 */ stmt(RET, RET_ALLOW),
    ]
}

/// Loads the filter into this (single-threaded) process; inherited by the
/// program and everything it starts. Needs `no_new_privs`.
pub fn deny_network_sockets() -> sys::Result<()> {
    let filter = program();
    let prog = SockFprog {
        len: filter.len() as u16,
        filter: filter.as_ptr(),
    };
    // The kernel copies the program before prctl returns.
    sys::prctl(
        PR_SET_SECCOMP,
        SECCOMP_MODE_FILTER,
        &prog as *const SockFprog as usize,
    )
    .map(drop)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_jump_lands_inside_the_program() {
        let p = super::program();
        for (i, insn) in p.iter().enumerate() {
            let is_jump = insn.code & 0x07 == super::BPF_JMP;
            if is_jump {
                assert!(i + 1 + (insn.jt as usize) < p.len(), "jt of {i}");
                assert!(i + 1 + (insn.jf as usize) < p.len(), "jf of {i}");
            }
        }
        let last = p.last().unwrap();
        assert_eq!(last.code, super::BPF_RET | super::BPF_K);
    }
}
