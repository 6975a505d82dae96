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
//! socket on loopback).

use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;

fn errno(err: &std::io::Error) -> i32 {
    eprintln!("probe: {err}");
    err.raw_os_error().unwrap_or(255)
}

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
