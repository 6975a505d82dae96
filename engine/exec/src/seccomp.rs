//! A small seccomp filter: the kernel interfaces a build never needs and that
//! widen the kernel attack surface or reach outside the sandbox.
//!
//! Denied with `EPERM`: creating or joining namespaces (`unshare`, `setns`,
//! namespace flags in `clone`), mount and root changes, keyrings (the build
//! uid's keyring is shared with other processes of that uid), `bpf`,
//! `userfaultfd`, `perf_event_open`, `io_uring_*`, module and kexec loading,
//! `open_by_handle_at`, quotas, accounting, swap, reboot and `syslog`.
//! `clone3` gets `ENOSYS` because its flags live in memory a filter cannot
//! read; glibc then falls back to `clone`, whose flags it can. Other
//! architectures than the one the filter was written for are killed, and the
//! x32 ABI is refused.
//!
//! Socket families are an allow list (issue 11, item 4: `AF_VSOCK` sockets
//! could be created, bound and listened on from a build, and neither the
//! network namespace nor Landlock covers them): `socket` and `socketpair`
//! pass only for `AF_UNIX`, `AF_INET` and `AF_INET6` (the build's network
//! namespace has only loopback), and `AF_NETLINK` with protocol
//! `NETLINK_ROUTE` (glibc's `getaddrinfo` asks it which address families are
//! configured). Every other family (`AF_VSOCK`, `AF_PACKET`, `AF_BLUETOOTH`,
//! `AF_ALG`, `AF_XDP`, other netlink protocols, ...) fails with
//! `EAFNOSUPPORT`, the errno of a kernel without that family, which programs
//! already handle.
//!
//! Everything else passes: apart from socket families this is a deny list on
//! top of the other walls, not a full syscall policy.

use std::io;

#[repr(C)]
struct SockFilter {
    code: u16,
    jt: u8,
    jf: u8,
    k: u32,
}

#[repr(C)]
struct SockFprog {
    len: u16,
    filter: *const SockFilter,
}

const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JEQ_K: u16 = 0x15;
const BPF_JGE_K: u16 = 0x35;
const BPF_JSET_K: u16 = 0x45;
const BPF_RET_K: u16 = 0x06;

const RET_ALLOW: u32 = 0x7fff_0000;
const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_ERRNO: u32 = 0x0005_0000;

/// Offsets in `struct seccomp_data`.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const OFF_ARG0_LO: u32 = 16;
const OFF_ARG2_LO: u32 = 32;

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xc000_003e;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xc000_00b7;

/// The x32 ABI's syscall numbers have this bit set on x86_64.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

const DENIED: &[libc::c_long] = &[
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_fsopen,
    libc::SYS_fsmount,
    libc::SYS_fsconfig,
    libc::SYS_fspick,
    libc::SYS_move_mount,
    libc::SYS_open_tree,
    libc::SYS_mount_setattr,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_bpf,
    libc::SYS_userfaultfd,
    libc::SYS_perf_event_open,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_open_by_handle_at,
    libc::SYS_quotactl,
    libc::SYS_acct,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_reboot,
    libc::SYS_syslog,
];

/// Namespace flags refused in `clone`'s first argument (CLONE_NEWTIME shares
/// its bit with the exit signal in clone(2) and exists only for clone3).
const NS_FLAGS: u32 = (libc::CLONE_NEWUSER
    | libc::CLONE_NEWNS
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWCGROUP) as u32;

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

/// Socket families a build may create (`socket`/`socketpair` first argument).
pub(crate) const ALLOWED_FAMILIES: [u32; 3] = [
    libc::AF_UNIX as u32,
    libc::AF_INET as u32,
    libc::AF_INET6 as u32,
];

/// The socket check, entered with the syscall number in the accumulator.
/// Falls through (accumulator unchanged) for every other syscall; returns
/// for `socket`/`socketpair`.
fn socket_rules() -> Vec<SockFilter> {
    let refuse = stmt(BPF_RET_K, RET_ERRNO | libc::EAFNOSUPPORT as u32);
    let mut body = vec![stmt(BPF_LD_W_ABS, OFF_ARG0_LO)];
    for family in ALLOWED_FAMILIES {
        body.push(jump(BPF_JEQ_K, family, 0, 1));
        body.push(stmt(BPF_RET_K, RET_ALLOW));
    }
    // AF_NETLINK only for NETLINK_ROUTE (protocol, third argument).
    body.push(jump(BPF_JEQ_K, libc::AF_NETLINK as u32, 0, 3));
    body.push(stmt(BPF_LD_W_ABS, OFF_ARG2_LO));
    body.push(jump(BPF_JEQ_K, libc::NETLINK_ROUTE as u32, 0, 1));
    body.push(stmt(BPF_RET_K, RET_ALLOW));
    body.push(refuse);
    let mut p = vec![
        jump(BPF_JEQ_K, libc::SYS_socket as u32, 1, 0),
        jump(BPF_JEQ_K, libc::SYS_socketpair as u32, 0, body.len() as u8),
    ];
    p.extend(body);
    p
}

fn program() -> Vec<SockFilter> {
    let mut p = vec![
        stmt(BPF_LD_W_ABS, OFF_ARCH),
        jump(BPF_JEQ_K, AUDIT_ARCH, 1, 0),
        stmt(BPF_RET_K, RET_KILL_PROCESS),
        stmt(BPF_LD_W_ABS, OFF_NR),
        jump(BPF_JGE_K, X32_SYSCALL_BIT, 0, 1),
        stmt(BPF_RET_K, RET_ERRNO | libc::ENOSYS as u32),
    ];
    for &nr in DENIED {
        p.push(jump(BPF_JEQ_K, nr as u32, 0, 1));
        p.push(stmt(BPF_RET_K, RET_ERRNO | libc::EPERM as u32));
    }
    p.extend(socket_rules());
    p.push(jump(BPF_JEQ_K, libc::SYS_clone3 as u32, 0, 1));
    p.push(stmt(BPF_RET_K, RET_ERRNO | libc::ENOSYS as u32));
    // clone: refuse namespace flags, allow the rest.
    p.push(jump(BPF_JEQ_K, libc::SYS_clone as u32, 0, 3));
    p.push(stmt(BPF_LD_W_ABS, OFF_ARG0_LO));
    p.push(jump(BPF_JSET_K, NS_FLAGS, 0, 1));
    p.push(stmt(BPF_RET_K, RET_ERRNO | libc::EPERM as u32));
    p.push(stmt(BPF_RET_K, RET_ALLOW));
    p
}

/// Whether this build of wport has a filter for the target architecture.
pub(crate) const SUPPORTED: bool = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));

/// Install the filter on the calling process (inherited by everything it
/// execs and forks). Requires no_new_privs to be set already.
#[expect(
    unsafe_code,
    reason = "prctl(PR_SET_SECCOMP) takes a pointer to the filter; rustix has no wrapper for it"
)]
pub(crate) fn install() -> io::Result<()> {
    if !SUPPORTED {
        return Ok(());
    }
    let prog = program();
    let fprog = SockFprog {
        len: prog.len() as u16,
        filter: prog.as_ptr(),
    };
    // SAFETY: `fprog` points at a valid filter array that outlives the call;
    // the kernel copies it.
    crate::sys::cvt(unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER as libc::c_ulong,
            &fprog as *const SockFprog,
        )
    })
    .map(drop)
}

#[cfg(test)]
mod tests {
    #[test]
    fn program_fits_and_jumps_stay_inside() {
        let p = super::program();
        assert!(p.len() < 4096);
        for (i, ins) in p.iter().enumerate() {
            if ins.code & 0x07 == 0x05 {
                assert!(
                    i + 1 + (ins.jt.max(ins.jf) as usize) < p.len(),
                    "jump out of program at {i}"
                );
            }
        }
        assert_eq!(p.last().unwrap().k, super::RET_ALLOW);
    }

    /// Runs the filter the way the kernel would, for one syscall.
    fn verdict(nr: i64, arg0: u32, arg2: u32) -> u32 {
        let p = super::program();
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&(nr as u32).to_le_bytes());
        data[4..8].copy_from_slice(&super::AUDIT_ARCH.to_le_bytes());
        data[16..20].copy_from_slice(&arg0.to_le_bytes());
        data[32..36].copy_from_slice(&arg2.to_le_bytes());
        let (mut pc, mut acc) = (0usize, 0u32);
        loop {
            let ins = &p[pc];
            pc += 1;
            match ins.code {
                super::BPF_LD_W_ABS => {
                    let o = ins.k as usize;
                    acc = u32::from_le_bytes(data[o..o + 4].try_into().unwrap());
                }
                super::BPF_RET_K => return ins.k,
                code => {
                    let hit = match code {
                        super::BPF_JEQ_K => acc == ins.k,
                        super::BPF_JGE_K => acc >= ins.k,
                        super::BPF_JSET_K => acc & ins.k != 0,
                        other => panic!("unknown instruction {other:#x}"),
                    };
                    pc += if hit { ins.jt } else { ins.jf } as usize;
                }
            }
        }
    }

    #[test]
    fn only_the_needed_socket_families_pass() {
        let refused = super::RET_ERRNO | libc::EAFNOSUPPORT as u32;
        for nr in [libc::SYS_socket, libc::SYS_socketpair] {
            for family in [libc::AF_UNIX, libc::AF_INET, libc::AF_INET6] {
                assert_eq!(verdict(nr, family as u32, 0), super::RET_ALLOW);
            }
            for family in [
                libc::AF_VSOCK,
                libc::AF_PACKET,
                libc::AF_BLUETOOTH,
                libc::AF_ALG,
                libc::AF_XDP,
                libc::AF_CAN,
                libc::AF_TIPC,
                libc::AF_KEY,
            ] {
                assert_eq!(verdict(nr, family as u32, 0), refused, "family {family}");
            }
            assert_eq!(
                verdict(nr, libc::AF_NETLINK as u32, libc::NETLINK_ROUTE as u32),
                super::RET_ALLOW
            );
            assert_eq!(
                verdict(
                    nr,
                    libc::AF_NETLINK as u32,
                    libc::NETLINK_KOBJECT_UEVENT as u32
                ),
                refused
            );
        }
        // Other syscalls are unaffected by the socket rules.
        assert_eq!(
            verdict(libc::SYS_read, libc::AF_VSOCK as u32, 0),
            super::RET_ALLOW
        );
        assert_eq!(
            verdict(libc::SYS_unshare, 0, 0),
            super::RET_ERRNO | libc::EPERM as u32
        );
    }
}
