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

/// The filter program (see the module's documentation). Each return
/// instruction is shared by every path that ends there (21 instructions);
/// every system call but `socket` takes seven.
fn program() -> Vec<SockFilter> {
    const LD: u16 = BPF_LD | BPF_W | BPF_ABS;
    const JEQ: u16 = BPF_JMP | BPF_JEQ | BPF_K;
    const JGE: u16 = BPF_JMP | BPF_JGE | BPF_K;
    const AND: u16 = BPF_ALU | BPF_AND | BPF_K;
    const RET: u16 = BPF_RET | BPF_K;
    // The shared returns, at the end.
    const ALLOW: usize = 17;
    const DENY_EACCES: usize = 18;
    const DENY_EAFNOSUPPORT: usize = 19;
    const DENY_ENOSYS: usize = 20;
    // A conditional jump from instruction `at`: to `yes` if the test
    // holds, else to `no` (the offsets count from the next instruction).
    let jump_at = |at: usize, code: u16, k: u32, yes: usize, no: usize| {
        jump(code, k, (yes - at - 1) as u8, (no - at - 1) as u8)
    };
    let program = vec![
        /* 0 */ stmt(LD, OFFSET_ARCH),
        /* 1 */ jump_at(1, JEQ, AUDIT_ARCH, 2, DENY_ENOSYS),
        /* 2 */ stmt(LD, OFFSET_NR),
        /* 3 */ jump_at(3, JGE, X32_SYSCALL_BIT, DENY_ENOSYS, 4),
        /* 4 */ jump_at(4, JEQ, SYS_IO_URING_SETUP, DENY_ENOSYS, 5),
        /* 5 */ jump_at(5, JEQ, SYS_SOCKET, 6, ALLOW),
        // socket(domain, type, protocol)
        /* 6 */ stmt(LD, OFFSET_ARG0),
        /* 7 */ jump_at(7, JEQ, AF_UNIX, ALLOW, 8),
        /* 8 */ jump_at(8, JEQ, AF_NETLINK, ALLOW, 9),
        /* 9 */ jump_at(9, JEQ, AF_INET, 11, 10),
        /* 10 */ jump_at(10, JEQ, AF_INET6, 11, DENY_EAFNOSUPPORT),
        // AF_INET/AF_INET6: only a TCP stream (flags masked off the type).
        /* 11 */
        stmt(LD, OFFSET_ARG1),
        /* 12 */ stmt(AND, 0xf),
        /* 13 */ jump_at(13, JEQ, SOCK_STREAM, 14, DENY_EACCES),
        /* 14 */ stmt(LD, OFFSET_ARG2),
        /* 15 */ jump_at(15, JEQ, 0, ALLOW, 16),
        /* 16 */ jump_at(16, JEQ, IPPROTO_TCP, ALLOW, DENY_EACCES),
        /* 17 */ stmt(RET, RET_ALLOW),
        /* 18 */ stmt(RET, RET_ERRNO | EACCES),
        /* 19 */ stmt(RET, RET_ERRNO | EAFNOSUPPORT),
        /* 20 */ stmt(RET, RET_ERRNO | ENOSYS),
    ];
    debug_assert_eq!(program.len(), DENY_ENOSYS + 1);
    program
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
    use super::*;

    #[test]
    fn every_jump_lands_inside_the_program() {
        let p = program();
        for (i, insn) in p.iter().enumerate() {
            let is_jump = insn.code & 0x07 == BPF_JMP;
            if is_jump {
                assert!(i + 1 + (insn.jt as usize) < p.len(), "jt of {i}");
                assert!(i + 1 + (insn.jf as usize) < p.len(), "jf of {i}");
            }
        }
        let last = p.last().unwrap();
        assert_eq!(last.code, BPF_RET | BPF_K);
    }

    /// Runs the filter on one system call, as the kernel does (only the
    /// instructions the program uses).
    fn run(arch: u32, nr: u32, args: [u32; 3]) -> u32 {
        let p = program();
        let word = |offset: u32| match offset {
            OFFSET_NR => nr,
            OFFSET_ARCH => arch,
            OFFSET_ARG0 => args[0],
            OFFSET_ARG1 => args[1],
            OFFSET_ARG2 => args[2],
            other => panic!("load of offset {other}"),
        };
        let (mut pc, mut acc) = (0, 0u32);
        loop {
            let insn = p[pc];
            pc += 1;
            match insn.code {
                c if c == BPF_LD | BPF_W | BPF_ABS => acc = word(insn.k),
                c if c == BPF_ALU | BPF_AND | BPF_K => acc &= insn.k,
                c if c == BPF_JMP | BPF_JEQ | BPF_K || c == BPF_JMP | BPF_JGE | BPF_K => {
                    let hit = if c & 0xf0 == BPF_JEQ {
                        acc == insn.k
                    } else {
                        acc >= insn.k
                    };
                    pc += usize::from(if hit { insn.jt } else { insn.jf });
                }
                c if c == BPF_RET | BPF_K => return insn.k,
                other => panic!("opcode {other:#x}"),
            }
        }
    }

    /// What each kind of call gets: the module's documentation as a table.
    #[test]
    fn decisions() {
        const SOCK_DGRAM: u32 = 2;
        const SOCK_RAW: u32 = 3;
        const SOCK_CLOEXEC: u32 = 0o2000000;
        const AF_PACKET: u32 = 17;
        const IPPROTO_SCTP: u32 = 132;
        const IPPROTO_MPTCP: u32 = 262;
        let allow = RET_ALLOW;
        let errno = |e: u32| RET_ERRNO | e;
        let socket = |domain, kind, protocol| run(AUDIT_ARCH, SYS_SOCKET, [domain, kind, protocol]);
        assert_eq!(run(AUDIT_ARCH, 0, [0; 3]), allow, "read");
        assert_eq!(run(AUDIT_ARCH ^ 1, 0, [0; 3]), errno(ENOSYS), "another ABI");
        assert_eq!(
            run(AUDIT_ARCH, X32_SYSCALL_BIT | SYS_SOCKET, [AF_UNIX, 1, 0]),
            errno(ENOSYS),
            "x32"
        );
        assert_eq!(run(AUDIT_ARCH, SYS_IO_URING_SETUP, [0; 3]), errno(ENOSYS));
        assert_eq!(socket(AF_UNIX, SOCK_DGRAM, 0), allow);
        assert_eq!(socket(AF_NETLINK, SOCK_RAW, 0), allow);
        assert_eq!(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), allow);
        assert_eq!(socket(AF_INET6, SOCK_STREAM, IPPROTO_TCP), allow);
        assert_eq!(socket(AF_INET, SOCK_DGRAM, 0), errno(EACCES));
        assert_eq!(socket(AF_INET6, SOCK_RAW, 0), errno(EACCES));
        assert_eq!(socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP), errno(EACCES));
        assert_eq!(socket(AF_INET6, SOCK_STREAM, IPPROTO_SCTP), errno(EACCES));
        assert_eq!(socket(AF_PACKET, SOCK_RAW, 0), errno(EAFNOSUPPORT));
    }
}
