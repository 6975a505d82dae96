//! The launcher program every package ships
//! (`libexec/wport/PORT/wport-launch`): `no_std`, no C library, its own
//! `_start`. `build.rs` compiles this file with `panic = "abort"` into a
//! small static executable (not position-independent: nothing to relocate
//! at start-up), which `wport` embeds ([`wport_launch::PROGRAM`]) and
//! packaging copies into each package.
//!
//! Why: the launcher's cost is added to every run of every installed
//! program, and most of a small C or Rust program's start-up is the C
//! library's own (glibc probes the CPU with `cpuid`, which traps to the
//! hypervisor on a virtual machine): see `sys` and docs/BENCHMARKS.md.
//! What runs here is `launch::main` and the system calls of `sys`; the
//! kernel's argv and envp arrays are passed on to `execve` untouched, and
//! no signal disposition is changed (Rust's `std` would set SIGPIPE to
//! "ignore", which survives `execve`).

#![no_std]
#![no_main]

extern crate alloc;

mod launch;
#[allow(
    dead_code,
    reason = "the packaging half of the module (Layout) is wport's"
)]
mod policy;
mod seccomp;
mod sys;

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;

/// The kernel's entry: the stack holds argc, argv, NULL, envp, NULL, auxv.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
#[unsafe(no_mangle)]
extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        "xor ebp, ebp",
        "mov rdi, rsp",
        "and rsp, -16",
        "call {start}",
        "ud2",
        start = sym start,
    )
}

#[cfg(target_arch = "aarch64")]
#[unsafe(naked)]
#[unsafe(no_mangle)]
extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        "mov x29, #0",
        "mov x30, #0",
        "mov x0, sp",
        "and sp, x0, #-16",
        "bl {start}",
        "brk #0",
        start = sym start,
    )
}

/// `AT_EXECFN`: the path the caller passed to `execve`.
const AT_EXECFN: usize = 31;

/// The bytes of a NUL-terminated string the kernel put on the stack.
#[expect(unsafe_code, reason = "reads the kernel's NUL-terminated strings")]
unsafe fn c_bytes(p: *const u8) -> &'static [u8] {
    // SAFETY: the caller passes a NUL-terminated string that lives as long
    // as the process (argv, envp and AT_EXECFN are on the initial stack).
    unsafe { core::ffi::CStr::from_ptr(p.cast()).to_bytes() }
}

#[expect(unsafe_code, reason = "walks the initial stack the kernel laid out")]
extern "C" fn start(sp: *const usize) -> ! {
    // SAFETY: the System V initial stack: argc, argc argv pointers, NULL,
    // envp pointers, NULL, auxv pairs ending with AT_NULL.
    let startup = unsafe {
        let argc = *sp;
        let argv = sp.add(1) as *const *const u8;
        let envp = argv.add(argc + 1);
        let args = (0..argc).map(|i| c_bytes(*argv.add(i))).collect();
        let mut env = alloc::vec::Vec::new();
        let mut p = envp;
        while !(*p).is_null() {
            env.push(c_bytes(*p));
            p = p.add(1);
        }
        let mut aux = p.add(1) as *const usize;
        let mut execfn = None;
        while *aux != 0 {
            if *aux == AT_EXECFN && *aux.add(1) != 0 {
                execfn = Some(c_bytes(*aux.add(1) as *const u8));
            }
            aux = aux.add(2);
        }
        launch::Startup {
            argv,
            envp,
            args,
            env,
            execfn,
        }
    };
    sys::exit(launch::main(&startup))
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    let _ = sys::write_all(2, b"wport-launch: internal error (a bug in the launcher)\n");
    sys::exit(launch::EXIT_SETUP)
}

/// A bump allocator: the launcher lives for a fraction of a millisecond
/// and frees nothing worth reusing. A static arena first (its pages cost
/// only when touched), then anonymous mappings.
struct Bump {
    state: UnsafeCell<(usize, usize)>,
}

const ARENA: usize = 256 * 1024;

#[repr(align(4096))]
struct Arena(UnsafeCell<[u8; ARENA]>);

static HEAP: Arena = Arena(UnsafeCell::new([0; ARENA]));

// SAFETY: the launcher is single-threaded.
#[expect(unsafe_code, reason = "single-threaded program")]
unsafe impl Sync for Arena {}
// SAFETY: the launcher is single-threaded.
#[expect(unsafe_code, reason = "single-threaded program")]
unsafe impl Sync for Bump {}

#[expect(unsafe_code, reason = "the global allocator")]
unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: single-threaded, so no other reference to the state.
        let (base, end) = unsafe { &mut *self.state.get() };
        if *base == 0 {
            *base = HEAP.0.get() as usize;
            *end = *base + ARENA;
        }
        let align = layout.align();
        let start = (*base + align - 1) & !(align - 1);
        if let Some(next) = start.checked_add(layout.size()) {
            if next <= *end {
                *base = next;
                return start as *mut u8;
            }
        }
        // A fresh chunk: at least 1 MiB, so large argument lists do not
        // map once per allocation.
        let want = (layout.size() + align).max(1 << 20);
        match sys::map_anonymous(want) {
            Ok(chunk) => {
                let chunk = chunk as usize;
                let start = (chunk + align - 1) & !(align - 1);
                *base = start + layout.size();
                *end = chunk + want;
                start as *mut u8
            }
            Err(_) => core::ptr::null_mut(),
        }
    }

    unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
}

#[global_allocator]
static ALLOCATOR: Bump = Bump {
    state: UnsafeCell::new((0, 0)),
};

// The memory functions the compiler calls (no C library provides them).
// Byte loops through volatile accesses, so the optimiser cannot turn them
// back into calls to themselves; the launcher copies a few kilobytes.

#[expect(unsafe_code, reason = "memcpy for the compiler")]
#[unsafe(no_mangle)]
unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the compiler's contract: valid, non-overlapping ranges.
    unsafe {
        for i in 0..n {
            core::ptr::write_volatile(dest.add(i), core::ptr::read_volatile(src.add(i)));
        }
    }
    dest
}

#[expect(unsafe_code, reason = "memmove for the compiler")]
#[unsafe(no_mangle)]
unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the compiler's contract: valid ranges, possibly overlapping,
    // so copy backwards when the destination is above the source.
    unsafe {
        if (dest as usize) <= (src as usize) {
            for i in 0..n {
                core::ptr::write_volatile(dest.add(i), core::ptr::read_volatile(src.add(i)));
            }
        } else {
            for i in (0..n).rev() {
                core::ptr::write_volatile(dest.add(i), core::ptr::read_volatile(src.add(i)));
            }
        }
    }
    dest
}

#[expect(unsafe_code, reason = "memset for the compiler")]
#[unsafe(no_mangle)]
unsafe extern "C" fn memset(dest: *mut u8, c: i32, n: usize) -> *mut u8 {
    // SAFETY: the compiler's contract: a valid range.
    unsafe {
        for i in 0..n {
            core::ptr::write_volatile(dest.add(i), c as u8);
        }
    }
    dest
}

#[expect(unsafe_code, reason = "memcmp for the compiler")]
#[unsafe(no_mangle)]
unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: the compiler's contract: valid ranges.
    unsafe {
        for i in 0..n {
            let (x, y) = (
                core::ptr::read_volatile(a.add(i)),
                core::ptr::read_volatile(b.add(i)),
            );
            if x != y {
                return i32::from(x) - i32::from(y);
            }
        }
    }
    0
}

#[expect(unsafe_code, reason = "bcmp for the compiler")]
#[unsafe(no_mangle)]
unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: as memcmp.
    unsafe { memcmp(a, b, n) }
}

#[expect(unsafe_code, reason = "strlen for the compiler")]
#[unsafe(no_mangle)]
unsafe extern "C" fn strlen(s: *const u8) -> usize {
    let mut n = 0;
    // SAFETY: the compiler's contract: a NUL-terminated string.
    unsafe {
        while core::ptr::read_volatile(s.add(n)) != 0 {
            n += 1;
        }
    }
    n
}
