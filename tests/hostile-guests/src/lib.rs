//! Hostile guests: port components that attack the sandbox, one attack per
//! guest (`examples/<name>.rs`), each exercised by the `#[test]` of the same
//! name in `tests/tests/hostile.rs`. The build script of `wport-tests` builds
//! every `[[example]]` listed in this crate's Cargo.toml and refuses to
//! compile the test file if a guest has no test.
//!
//! # Reporting convention
//!
//! An attack phase never returns `Ok(())`: it always returns `Err(report)`,
//! where the report is one line per attempt, in the order they were made:
//!
//! ```text
//! read /etc/passwd: Err(NotFound, os 44)
//! read_dir /work/..: Err(PermissionDenied, os 63)
//! connect 127.0.0.1: Err(PermissionDenied, os 2)
//! copy-tree /etc -> /work/etc: Err(Escape)
//! ```
//!
//! - `std::io` attempts show the `io::ErrorKind` and the raw WASI errno as
//!   wasi-libc reports it (EACCES 2, ENOENT 44, ENOTCAPABLE 76, EPERM 63...),
//!   or `Ok` / `Ok(<detail>)` when the operation succeeded;
//! - `files` host calls show the WIT `error-kind` (with the message for the
//!   catch-all `io`) or `Ok(<value>)`;
//! - `note` lines record facts the test checks (a count, a value read).
//!
//! The test compares the whole report to the expected lines, so an attack
//! that is refused for a *different* reason than expected fails the test as
//! surely as one that succeeds, and a guest that stops early (a panic, a
//! missing step) cannot pass for a denial. Guests that attack a limit (time,
//! memory, resources) never return: the test asserts the precise
//! `PhaseError::Limit`; if the limit does not fire, they give up after a
//! bounded amount of work and return a report saying so. The exceptions are
//! the log attacks (`output_flood_*`, `log_forgery`), which return `Ok(())`:
//! a chatty phase must succeed, and their outcome is in the build log.
//!
//! Facts that only the test knows (the host path of the victim directory, a
//! probe path under `/tmp`, a listener's port) reach the guest as
//! `[build.params]`: see [`param`].

use std::fmt::Display;
use std::io;

pub use wport_guest_sdk::bindings::wport::port::files;
pub use wport_guest_sdk::{Error, Port, Result};

/// The lines of an attack report (see the crate docs).
#[derive(Default)]
pub struct Report {
    lines: Vec<String>,
}

/// How a `std::io` attempt ended, as a report shows it.
pub fn io_err(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => format!("Err({:?}, os {code})", e.kind()),
        // Errors without an errno (name resolution, unsupported calls) carry
        // their message instead.
        None => format!("Err({:?}: {e})", e.kind()),
    }
}

impl Report {
    pub fn new() -> Self {
        Self::default()
    }

    /// Record a `std::io` attempt as `Ok` or its error; return the value.
    pub fn io<T>(&mut self, what: impl Display, r: io::Result<T>) -> Option<T> {
        self.io_with(what, r, |_| String::new())
    }

    /// Record a `std::io` attempt, describing a success with `describe`
    /// (`Ok(<detail>)`, or plain `Ok` when it returns an empty string).
    pub fn io_with<T>(
        &mut self,
        what: impl Display,
        r: io::Result<T>,
        describe: impl FnOnce(&T) -> String,
    ) -> Option<T> {
        match r {
            Ok(v) => {
                let d = describe(&v);
                if d.is_empty() {
                    self.line(what, "Ok");
                } else {
                    self.line(what, format!("Ok({d})"));
                }
                Some(v)
            }
            Err(e) => {
                self.line(what, io_err(&e));
                None
            }
        }
    }

    /// Record a `files` host call as `Ok(<value>)` or `Err(<error-kind>)`.
    pub fn files<T: std::fmt::Debug>(
        &mut self,
        what: impl Display,
        r: std::result::Result<T, files::Error>,
    ) -> Option<T> {
        match r {
            Ok(v) => {
                self.line(what, format!("Ok({v:?})"));
                Some(v)
            }
            Err(e) => {
                let kind = format!("{:?}", e.kind);
                let kind = kind.trim_start_matches("ErrorKind::");
                if e.kind == files::ErrorKind::Io {
                    // `io` is the catch-all: its message is the precise part.
                    self.line(what, format!("Err({kind}: {})", e.message));
                } else {
                    self.line(what, format!("Err({kind})"));
                }
                None
            }
        }
    }

    /// Record a fact.
    pub fn note(&mut self, what: impl Display, value: impl Display) {
        self.line(what, value);
    }

    fn line(&mut self, what: impl Display, outcome: impl Display) {
        self.lines.push(format!("{what}: {outcome}"));
    }

    /// End the phase with the report (always an `Err`, see the crate docs).
    pub fn finish(self) -> Result<()> {
        Err(Error::msg(self.lines.join("\n")))
    }
}

/// A `[build.params]` value the test passes (the first element). Panics if
/// it is missing: the test then sees a trap naming the parameter.
pub fn param(name: &str) -> String {
    wport_guest_sdk::env::param(name)
        .and_then(|v| v.into_iter().next())
        .unwrap_or_else(|| panic!("the test did not pass the `{name}` parameter"))
}

/// Host path of the victim directory, outside every build directory.
pub fn victim() -> String {
    param("victim")
}

/// Read a file, reporting its size (a leak shows as `Ok(<n> bytes)`).
pub fn read(r: &mut Report, path: &str) -> Option<Vec<u8>> {
    r.io_with(format!("read {path}"), std::fs::read(path), |b| {
        format!("{} bytes", b.len())
    })
}

/// Describe metadata: the type and size, enough to tell the link itself
/// from what it points to.
pub fn describe(m: &std::fs::Metadata) -> String {
    let ty = if m.file_type().is_symlink() {
        "symlink"
    } else if m.is_dir() {
        "dir"
    } else {
        "file"
    };
    format!("{ty}, {} bytes", m.len())
}

/// Create or truncate a file and write a marker into it.
pub fn write(r: &mut Report, path: &str) {
    r.io(
        format!("write {path}"),
        std::fs::write(path, b"hostile guest was here\n"),
    );
}

/// List a directory, reporting how many entries it has.
pub fn list(r: &mut Report, path: &str) {
    r.io_with(
        format!("read_dir {path}"),
        std::fs::read_dir(path).and_then(|d| d.collect::<io::Result<Vec<_>>>()),
        |v| format!("{} entries", v.len()),
    );
}

/// `open(2)` with raw wasi-libc flags, for attacks Rust's `OpenOptions`
/// cannot express (a read-only open with `O_TRUNC`, `O_NOFOLLOW` with a
/// trailing slash).
pub mod raw {
    #![expect(unsafe_code, reason = "calling wasi-libc's open(2) directly")]

    use std::ffi::{CString, c_char, c_int};
    use std::io;
    use std::os::fd::{FromRawFd, OwnedFd};

    // wasi-libc's <fcntl.h> (libc-bottom-half/headers/public/__header_fcntl.h).
    pub const O_CREAT: c_int = 0x0001 << 12;
    pub const O_DIRECTORY: c_int = 0x0002 << 12;
    pub const O_TRUNC: c_int = 0x0008 << 12;
    pub const O_NOFOLLOW: c_int = 0x0100_0000;
    pub const O_RDONLY: c_int = 0x0400_0000;
    pub const O_WRONLY: c_int = 0x1000_0000;

    unsafe extern "C" {
        fn open(path: *const c_char, flags: c_int, ...) -> c_int;
        fn symlink(target: *const c_char, link: *const c_char) -> c_int;
    }

    fn cstr(s: &str) -> io::Result<CString> {
        CString::new(s).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
    }

    /// `symlink(target, link)` (std's WASI version is unstable).
    pub fn symlink_at(target: &str, link: &str) -> io::Result<()> {
        let (t, l) = (cstr(target)?, cstr(link)?);
        // SAFETY: both are valid NUL-terminated strings that outlive the call.
        if unsafe { symlink(t.as_ptr(), l.as_ptr()) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// `open(path, flags, 0o644)`.
    pub fn open_flags(path: &str, flags: c_int) -> io::Result<OwnedFd> {
        let c = cstr(path)?;
        // SAFETY: `c` is a valid NUL-terminated string that outlives the
        // call; the mode argument is read only when O_CREAT is set and is
        // passed as the `mode_t` (u32) wasi-libc expects.
        let fd = unsafe { open(c.as_ptr(), flags, 0o644 as std::ffi::c_uint) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: open(2) just returned this descriptor and nothing else owns it.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}

/// `base` followed by enough `..` to reach `/` from any depth, then `abs`:
/// the classic climb out of a preopen (`/work/../../../../etc/passwd`).
pub fn climb(base: &str, abs: &str) -> String {
    format!("{base}/{}{}", "../".repeat(16), abs.trim_start_matches('/'))
}

/// The relative symlink target that climbs from anywhere to `abs`.
pub fn climb_target(abs: &str) -> String {
    format!("{}{}", "../".repeat(16), abs.trim_start_matches('/'))
}

/// Create a symlink through WASI (`symlink-at`), as a build tool would.
pub fn wasi_symlink(r: &mut Report, target: &str, link: &str) {
    r.io(
        format!("symlink {link} -> {target}"),
        raw::symlink_at(target, link),
    );
}
