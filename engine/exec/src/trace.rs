//! The trace of refused accesses: what a build's native commands tried to
//! reach outside their view, reported even when they exited 0
//! (docs/CONFINEMENT.md, "Trace of refused accesses"; MacPorts' trace mode).
//!
//! Three parts:
//! - `trace/wport-trace.c`, built by `build.rs` and embedded here
//!   ([`LIBRARY`]): preloaded into every dynamically linked program of the
//!   build through the sandbox's own `/etc/ld.so.preload` (no environment
//!   variable: nothing for the port to override or for a build to record),
//!   it writes one record per failed file-system call (ENOENT, EACCES, EPERM,
//!   EROFS) to the FIFO [`FIFO_PATH`].
//! - the session init holds the FIFO's read end, drains it while the call
//!   runs and sends the bytes back with the call's result (`confine`);
//! - the host parses them here and keeps the refusals by the confinement
//!   ([`classify`]): a write-like error outside the directories the phase
//!   may write, or ENOENT for a path the view hides although it exists on
//!   the host (checked here, after the call, on the host).
//!
//! It is a report, not a wall: static binaries and raw syscalls bypass the
//! library, and a build can forge or suppress records. Nothing in it is
//! trusted for a decision; the kernel walls stand without it.

use std::collections::HashMap;
use std::path::Path;

use crate::{DirAccess, PhaseAccess};

/// The trace library, built for the target by `build.rs`.
pub(crate) const LIBRARY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/libwport-trace.so"));
/// wport's directory in the sandbox's read-only root.
pub(crate) const DIR: &str = "/.wport";
/// Where the library is inside the sandbox (named in `/etc/ld.so.preload`).
pub(crate) const LIBRARY_PATH: &str = "/.wport/trace.so";
/// The FIFO the library writes records to (write-only to the build).
pub(crate) const FIFO_PATH: &str = "/.wport/trace";
/// Bytes of records the session init keeps per call; the rest is dropped
/// and the call's trace marked incomplete.
pub(crate) const MAX_BYTES: usize = 1 << 20;
/// Distinct refusals kept per call (each ENOENT candidate costs the host a
/// `lstat`); the rest marks the trace incomplete.
pub(crate) const MAX_DISTINCT: usize = 256;
/// First byte of every record (`MAGIC` in `wport-trace.c`).
const MAGIC: u8 = 0xA7;

/// What the program was doing when the call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum TraceOp {
    /// open/fopen for reading.
    Read,
    /// open/fopen/creat for writing, creating or truncating.
    Write,
    Stat,
    /// access/faccessat: a probe. Only ENOENT of a hidden path is reported.
    Access,
    Exec,
    Chdir,
    /// opendir.
    List,
    Mkdir,
    Rmdir,
    Unlink,
    Rename,
    Link,
    Symlink,
    Chmod,
    Chown,
    Truncate,
    Utime,
    Mknod,
}

impl TraceOp {
    fn from_byte(b: u8) -> Option<TraceOp> {
        use TraceOp::*;
        Some(match b {
            1 => Read,
            2 => Write,
            3 => Stat,
            4 => Access,
            5 => Exec,
            6 => Chdir,
            7 => List,
            8 => Mkdir,
            9 => Rmdir,
            10 => Unlink,
            11 => Rename,
            12 => Link,
            13 => Symlink,
            14 => Chmod,
            15 => Chown,
            16 => Truncate,
            17 => Utime,
            18 => Mknod,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        use TraceOp::*;
        match self {
            Read => "read",
            Write => "write",
            Stat => "stat",
            Access => "access",
            Exec => "exec",
            Chdir => "chdir",
            List => "list",
            Mkdir => "mkdir",
            Rmdir => "rmdir",
            Unlink => "unlink",
            Rename => "rename",
            Link => "link",
            Symlink => "symlink",
            Chmod => "chmod",
            Chown => "chown",
            Truncate => "truncate",
            Utime => "utime",
            Mknod => "mknod",
        }
    }

    /// Makes a new name: ENOENT may mean the *directory* is hidden.
    fn creates(self) -> bool {
        use TraceOp::*;
        match self {
            Write | Mkdir | Rename | Link | Symlink | Mknod => true,
            Read | Stat | Access | Exec | Chdir | List | Rmdir | Unlink | Chmod | Chown
            | Truncate | Utime => false,
        }
    }
}

impl std::fmt::Display for TraceOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An access the confinement refused, once per distinct (process,
/// operation, path, errno) of one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The program that made the call (its short name: `touch`, `cc1`),
    /// which may be a child of the mediated command.
    pub process: String,
    pub op: TraceOp,
    /// Absolute, as the build saw it (`.` and repeated slashes folded).
    pub path: String,
    /// `ENOENT` (hidden by the view), `EACCES`, `EPERM` or `EROFS`.
    pub errno: i32,
    /// How many times the call saw this refusal.
    pub count: u64,
}

impl Refusal {
    /// `EROFS`, `EACCES`, ...
    pub fn errno_name(&self) -> &'static str {
        match self.errno {
            libc::ENOENT => "ENOENT",
            libc::EACCES => "EACCES",
            libc::EPERM => "EPERM",
            libc::EROFS => "EROFS",
            _ => "E?",
        }
    }

    /// Why it failed, in words.
    pub fn reason(&self) -> &'static str {
        match self.errno {
            libc::ENOENT => "hidden: exists on the host, not in the build's view",
            libc::EACCES => "permission denied",
            libc::EPERM => "operation not permitted",
            libc::EROFS => "read-only file system",
            _ => "refused",
        }
    }
}

impl std::fmt::Display for Refusal {
    /// `"touch" write "/usr/local/x": EROFS (read-only file system), 2 times`
    /// (process and path quoted and escaped: both come from the build).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} {} {:?}: {} ({}), {} time{}",
            self.process,
            self.op,
            self.path,
            self.errno_name(),
            self.reason(),
            self.count,
            if self.count == 1 { "" } else { "s" }
        )
    }
}

/// One record as the library wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub op: TraceOp,
    pub errno: i32,
    pub process: String,
    pub path: String,
}

/// Records in `bytes`, and whether anything in them was malformed (a build
/// can write to the FIFO; parsing stops at the first bad record).
pub(crate) fn parse(bytes: &[u8]) -> (Vec<Record>, bool) {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let Some(record) = parse_one(&mut rest) else {
            return (out, true);
        };
        out.push(record);
    }
    (out, false)
}

fn parse_one(rest: &mut &[u8]) -> Option<Record> {
    let take = |rest: &mut &[u8], n: usize| -> Option<Vec<u8>> {
        if rest.len() < n {
            return None;
        }
        let (a, b) = rest.split_at(n);
        *rest = b;
        Some(a.to_vec())
    };
    let head = take(rest, 5)?;
    if head[0] != MAGIC {
        return None;
    }
    let op = TraceOp::from_byte(head[1])?;
    let errno = i32::from(u16::from_le_bytes([head[2], head[3]]));
    let process = take(rest, usize::from(head[4]))?;
    let len = take(rest, 2)?;
    let path = take(rest, usize::from(u16::from_le_bytes([len[0], len[1]])))?;
    if path.first() != Some(&b'/') {
        return None;
    }
    Some(Record {
        op,
        errno,
        process: String::from_utf8_lossy(&process).into_owned(),
        path: String::from_utf8_lossy(&path).into_owned(),
    })
}

fn within(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Pseudo file systems (the build's own `/proc`, no `/sys`, its device
/// nodes) and wport's directory: never reported.
const PSEUDO: &[&str] = &["/proc", "/sys", "/dev", DIR];
/// The build's own directories: ENOENT there is the build's business, and
/// the names mean nothing on the host.
const OWN: &[&str] = &["/work", "/sources", "/destroot", "/tmp"];
/// Bound whole from the host: a path missing there is missing on the host.
const TOOLCHAIN: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
];
/// Generated: the rest of the host's `/etc` is absent by design, and tools
/// probe it all the time (libselinux reads `/etc/selinux/config` in every
/// coreutils program), so a missing `/etc` file is not reported.
const ETC: &[&str] = &["/etc"];

/// Is there something at `path` on the host? (`lstat` as the host process,
/// which is the build user once privileges are dropped: a path behind a
/// directory it may not search counts as there, since the build was kept
/// from a host directory either way.)
pub(crate) fn on_host(path: &Path) -> bool {
    match std::fs::symlink_metadata(path) {
        Ok(_) => true,
        Err(e) => e.kind() == std::io::ErrorKind::PermissionDenied,
    }
}

/// Keep the records that are refusals by the confinement, merged per
/// (process, op, path, errno) in order of first sight; `on_host` answers
/// whether a path exists on the host. Returns them and whether some were
/// dropped ([`MAX_DISTINCT`]).
///
/// - EACCES, EPERM, EROFS: refused, unless the path is one the phase may
///   write (`/tmp`, and `/work`, `/destroot` when read-write: failures there
///   are the build's own, such as overwriting a file it made read-only) or
///   the call was a probe (`access(W_OK)` on a read-only mount asks, it does
///   not try).
/// - ENOENT: hidden, when the path exists on the host (or, for a call that
///   creates a name, its directory does), outside the build's own
///   directories, the toolchain, which is bound whole, and the generated
///   `/etc`.
/// - Nothing under `/proc`, `/sys`, `/dev` or wport's own `/.wport`.
pub(crate) fn classify(
    records: Vec<Record>,
    access: &PhaseAccess,
    on_host: &mut dyn FnMut(&Path) -> bool,
) -> (Vec<Refusal>, bool) {
    let mut out: Vec<Refusal> = Vec::new();
    let mut index: HashMap<(String, TraceOp, String, i32), usize> = HashMap::new();
    let mut host_seen: HashMap<String, bool> = HashMap::new();
    let mut dropped = false;
    for r in records {
        let key = (r.process.clone(), r.op, r.path.clone(), r.errno);
        if let Some(&i) = index.get(&key) {
            out[i].count += 1;
            continue;
        }
        // Folding `..` by name only decides which area the path is in;
        // the host resolves the path as written.
        let folded = crate::policy::normalize(&r.path).unwrap_or_else(|| r.path.clone());
        let area = |dirs: &[&str]| dirs.iter().any(|d| within(&folded, d));
        if area(PSEUDO) {
            continue;
        }
        let keep = match r.errno {
            libc::EACCES | libc::EPERM | libc::EROFS => {
                let writable = within(&folded, "/tmp")
                    || (access.work == DirAccess::ReadWrite && within(&folded, "/work"))
                    || (access.destroot == DirAccess::ReadWrite && within(&folded, "/destroot"));
                r.op != TraceOp::Access && !writable
            }
            libc::ENOENT => {
                if area(OWN) || area(TOOLCHAIN) || area(ETC) {
                    false
                } else {
                    let mut check = |p: &str| {
                        *host_seen
                            .entry(p.to_owned())
                            .or_insert_with(|| on_host(Path::new(p)))
                    };
                    let parent = Path::new(&r.path)
                        .parent()
                        .and_then(Path::to_str)
                        .filter(|p| *p != "/")
                        .map(str::to_owned);
                    check(&r.path) || (r.op.creates() && parent.is_some_and(|p| check(&p)))
                }
            }
            _ => false,
        };
        if !keep {
            continue;
        }
        if out.len() >= MAX_DISTINCT {
            dropped = true;
            continue;
        }
        index.insert(key, out.len());
        out.push(Refusal {
            process: r.process,
            op: r.op,
            path: r.path,
            errno: r.errno,
            count: 1,
        });
    }
    (out, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(op: u8, errno: i32, process: &str, path: &str) -> Vec<u8> {
        let mut b = vec![MAGIC, op];
        b.extend_from_slice(&(errno as u16).to_le_bytes());
        b.push(process.len() as u8);
        b.extend_from_slice(process.as_bytes());
        b.extend_from_slice(&(path.len() as u16).to_le_bytes());
        b.extend_from_slice(path.as_bytes());
        b
    }

    const BUILD: PhaseAccess = PhaseAccess {
        sources: DirAccess::ReadOnly,
        work: DirAccess::ReadWrite,
        destroot: DirAccess::None,
        view: None,
    };

    #[test]
    fn records_parse_and_junk_stops_the_parse() {
        let mut bytes = record(2, libc::EROFS, "touch", "/usr/local/x");
        bytes.extend(record(1, libc::ENOENT, "cat", "/home/u/.netrc"));
        let (r, bad) = parse(&bytes);
        assert!(!bad);
        assert_eq!(
            r,
            vec![
                Record {
                    op: TraceOp::Write,
                    errno: libc::EROFS,
                    process: "touch".into(),
                    path: "/usr/local/x".into()
                },
                Record {
                    op: TraceOp::Read,
                    errno: libc::ENOENT,
                    process: "cat".into(),
                    path: "/home/u/.netrc".into()
                },
            ]
        );
        // A forged, cut or relative record ends the parse, marked.
        for junk in [
            b"[trace] forged\n".to_vec(),
            record(2, libc::EROFS, "x", "/a")[..6].to_vec(),
            record(99, libc::EROFS, "x", "/a"),
            record(2, libc::EROFS, "x", "relative"),
        ] {
            let mut b = record(2, libc::EROFS, "touch", "/usr/x");
            b.extend(junk);
            let (r, bad) = parse(&b);
            assert_eq!((r.len(), bad), (1, true));
        }
    }

    #[test]
    fn only_refusals_by_the_confinement_are_kept_and_counted() {
        let raw = [
            (TraceOp::Write, libc::EROFS, "touch", "/usr/local/x"),
            (TraceOp::Write, libc::EROFS, "touch", "/usr/local/x"),
            (TraceOp::Write, libc::EROFS, "sh", "/sources/configure"),
            // The build's own writable areas, probes, pseudo file systems.
            (TraceOp::Write, libc::EACCES, "cp", "/work/ro-file"),
            (TraceOp::Write, libc::EACCES, "cp", "/tmp/x"),
            (TraceOp::Access, libc::EROFS, "install", "/usr/bin"),
            (TraceOp::Read, libc::EACCES, "ps", "/proc/1/cmdline"),
            (TraceOp::Read, libc::ENOENT, "x", "/dev/nvidia0"),
            // Not writable in this phase: refused.
            (TraceOp::Mkdir, libc::EACCES, "mkdir", "/destroot/opt"),
            // ENOENT: only what exists on the host.
            (TraceOp::Read, libc::ENOENT, "cat", "/home/u/secret"),
            (TraceOp::Read, libc::ENOENT, "cat", "/home/u/absent"),
            (TraceOp::Write, libc::ENOENT, "sh", "/home/u/new-file"),
            (TraceOp::Stat, libc::ENOENT, "sh", "/opt/wport/include/z.h"),
            (TraceOp::Read, libc::ENOENT, "cc1", "/usr/include/nope.h"),
            (TraceOp::Read, libc::ENOENT, "make", "/work/missing"),
            (TraceOp::Access, libc::ENOENT, "sed", "/etc/selinux/config"),
            (TraceOp::Write, libc::EROFS, "sh", "/etc/profile"),
            (TraceOp::Read, libc::ENOTDIR, "make", "/home/u/secret/x"),
            (TraceOp::Read, libc::ENOENT, "cat", "/work/../home/u/secret"),
        ];
        let records = raw
            .iter()
            .map(|(op, errno, p, path)| Record {
                op: *op,
                errno: *errno,
                process: p.to_string(),
                path: path.to_string(),
            })
            .collect();
        let mut asked = Vec::new();
        let mut host = |p: &Path| {
            asked.push(p.to_path_buf());
            ["/home/u/secret", "/home/u", "/opt/wport/include/z.h"].contains(&p.to_str().unwrap())
                || p == Path::new("/work/../home/u/secret")
        };
        let (kept, dropped) = classify(records, &BUILD, &mut host);
        assert!(!dropped);
        let shown: Vec<String> = kept.iter().map(Refusal::to_string).collect();
        assert_eq!(
            shown,
            [
                r#""touch" write "/usr/local/x": EROFS (read-only file system), 2 times"#,
                r#""sh" write "/sources/configure": EROFS (read-only file system), 1 time"#,
                r#""mkdir" mkdir "/destroot/opt": EACCES (permission denied), 1 time"#,
                r#""cat" read "/home/u/secret": ENOENT (hidden: exists on the host, not in the build's view), 1 time"#,
                r#""sh" write "/home/u/new-file": ENOENT (hidden: exists on the host, not in the build's view), 1 time"#,
                r#""sh" stat "/opt/wport/include/z.h": ENOENT (hidden: exists on the host, not in the build's view), 1 time"#,
                r#""sh" write "/etc/profile": EROFS (read-only file system), 1 time"#,
                r#""cat" read "/work/../home/u/secret": ENOENT (hidden: exists on the host, not in the build's view), 1 time"#,
            ]
        );
        // Nothing of the build's own areas or the toolchain was looked up.
        assert!(
            asked.iter().all(|p| !p.starts_with("/usr")
                && !p.starts_with("/work/missing")
                && !p.starts_with("/etc")),
            "{asked:?}"
        );
    }

    #[test]
    fn distinct_refusals_are_capped() {
        let records = (0..MAX_DISTINCT + 5)
            .map(|i| Record {
                op: TraceOp::Write,
                errno: libc::EROFS,
                process: "sh".into(),
                path: format!("/usr/x{i}"),
            })
            .collect();
        let (kept, dropped) = classify(records, &BUILD, &mut |_| false);
        assert_eq!((kept.len(), dropped), (MAX_DISTINCT, true));
    }
}
