//! The `wport-launch` binary. A C `main` instead of Rust's: Rust's runtime
//! sets SIGPIPE to "ignore" before `main`, and an ignored signal stays
//! ignored across `execve`, so `prog | head` would change behaviour. Here
//! the program gets the caller's argv, environment and signal dispositions
//! exactly as they were.

#![no_main]

use std::ffi::{c_char, c_int};

#[expect(
    unsafe_code,
    reason = "the C entry point: argv and envp come from the kernel"
)]
#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char, envp: *const *const c_char) -> c_int {
    wport_launch::launch::main(argc, argv, envp)
}
