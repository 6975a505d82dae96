//! Build users: one uid (and gid) per running build, as Nix does with its
//! `nixbld` users.
//!
//! When every build ran as the same uid (65534), a build that left a setuid
//! file made any local user that uid, and that uid could reach every
//! *concurrent* build through `/proc/PID/root` and write its destroot
//! (issue 11, item 1). Now each executor (one per `wport` process started
//! as root) leases a uid from a configured range for its whole life: a lock
//! file per uid, held with `flock` on a descriptor the process keeps open.
//! The kernel drops the lock when the process ends, however it ends, so a
//! crashed build never leaks its uid. Two builds that run at the same time
//! never share a uid, so neither can signal, ptrace or enter the other, and
//! `RLIMIT_NPROC` (counted per uid) is no longer shared between them.
//!
//! The range is numeric ids with no account: nothing can log in as them.
//! The default, 60600..=61099, sits in the block systemd documents as
//! unused (60578–61183), below its dynamic service users (61184–65519) and
//! far from the subordinate ranges `useradd` hands out (100000 and up). A
//! uid or gid that `/etc/passwd` or `/etc/group` names is skipped, and a
//! range that overlaps a subordinate range in `/etc/subuid` or `/etc/subgid`
//! is refused: whoever holds that range could become the build user inside
//! a user namespace of their own.

use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use crate::BuildIdentity;

/// The uids builds may lease when wport runs as root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildUsers {
    /// First uid of the range; its gid is the same number.
    pub first: u32,
    /// How many consecutive uids the range holds.
    pub count: u32,
    /// Directory of the lock files (one per uid), created root-owned and
    /// 0700 if missing; refused if a link, not a directory, not owned by
    /// root or writable by anyone else.
    pub lock_dir: PathBuf,
}

impl Default for BuildUsers {
    fn default() -> Self {
        BuildUsers {
            first: 60600,
            count: 500,
            lock_dir: PathBuf::from("/run/wport/build-users"),
        }
    }
}

/// Why no build user could be leased.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildUserError {
    /// Every uid of the range is leased by a running build.
    #[error(
        "all {count} build users ({first}..={last}) are in use by running builds; wait for one to end \
         or configure a larger range",
        last = first + (count - 1)
    )]
    Exhausted { first: u32, count: u32 },
    /// The range is empty, reaches uid 0 or 65534/65535, or overflows.
    #[error("the build user range {first} (+{count}) is not usable: {reason}")]
    BadRange {
        first: u32,
        count: u32,
        reason: &'static str,
    },
    /// The range overlaps a subordinate id range someone holds.
    #[error(
        "the build user range {first}..={last} overlaps {file} entry {owner}:{start}:{len}; \
         that user could become a build user in a user namespace of their own"
    )]
    OverlapsSubordinate {
        first: u32,
        last: u32,
        file: &'static str,
        owner: String,
        start: u32,
        len: u32,
    },
    /// The lock directory (or one we create it under) is unsafe to use.
    #[error("build user lock directory {}: {reason}", path.display())]
    UnsafeLockDir { path: PathBuf, reason: String },
    #[error("build user lock {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// A leased build user: the uid is this process's until the lease (and
/// every process that inherited its descriptor) is gone.
#[derive(Debug)]
pub struct BuildUserLease {
    pub identity: BuildIdentity,
    /// Holds the `flock`; close-on-exec, so no build command inherits it.
    _lock: File,
}

/// Lease the first free uid of `users`.
pub fn lease(users: &BuildUsers) -> Result<BuildUserLease, BuildUserError> {
    let BuildUsers {
        first,
        count,
        lock_dir,
    } = users;
    let (first, count) = (*first, *count);
    let bad = |reason| BuildUserError::BadRange {
        first,
        count,
        reason,
    };
    if count == 0 {
        return Err(bad("it is empty"));
    }
    let last = first.checked_add(count - 1).ok_or(bad("it overflows"))?;
    if first == 0 {
        return Err(bad("it contains root (uid 0)"));
    }
    if (first..=last).contains(&65534) || (first..=last).contains(&65535) {
        return Err(bad("it contains nobody (65534) or the 16-bit -1 (65535)"));
    }
    if last == u32::MAX {
        return Err(bad("it contains (uid_t) -1"));
    }
    for (file, path) in [
        ("/etc/subuid", "/etc/subuid"),
        ("/etc/subgid", "/etc/subgid"),
    ] {
        if let Some((owner, start, len)) = subordinate_overlap(Path::new(path), first, last) {
            return Err(BuildUserError::OverlapsSubordinate {
                first,
                last,
                file,
                owner,
                start,
                len,
            });
        }
    }
    let taken = named_ids(Path::new("/etc/passwd"))
        .into_iter()
        .chain(named_ids(Path::new("/etc/group")))
        .collect::<std::collections::BTreeSet<u32>>();
    let dir = open_lock_dir(lock_dir)?;
    for uid in first..=last {
        if taken.contains(&uid) {
            continue;
        }
        let name = uid.to_string();
        let io_err = |source| BuildUserError::Io {
            path: lock_dir.join(&name),
            source,
        };
        let fd: OwnedFd = rustix::fs::openat(
            &dir,
            name.as_str(),
            rustix::fs::OFlags::RDWR
                | rustix::fs::OFlags::CREATE
                | rustix::fs::OFlags::NOFOLLOW
                | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .map_err(|e| io_err(e.into()))?;
        match rustix::fs::flock(&fd, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {
                return Ok(BuildUserLease {
                    identity: BuildIdentity { uid, gid: uid },
                    _lock: File::from(fd),
                });
            }
            Err(rustix::io::Errno::WOULDBLOCK) => continue,
            Err(e) => return Err(io_err(e.into())),
        }
    }
    Err(BuildUserError::Exhausted { first, count })
}

/// Open (creating what is missing, root-owned and 0700) the lock directory,
/// one component at a time from `/` and never through a link: a lock
/// directory someone else could write would let them hold or free locks.
fn open_lock_dir(path: &Path) -> Result<OwnedFd, BuildUserError> {
    use rustix::fs::{Mode, OFlags};
    let unsafe_dir = |reason: String| BuildUserError::UnsafeLockDir {
        path: path.to_owned(),
        reason,
    };
    if !path.is_absolute() {
        return Err(unsafe_dir("not an absolute path".into()));
    }
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut dir = rustix::fs::open("/", flags, Mode::empty())
        .map_err(|e| unsafe_dir(format!("opening /: {e}")))?;
    let mut at = PathBuf::from("/");
    for name in path.components().skip(1) {
        at.push(name);
        let open = || rustix::fs::openat(&dir, name.as_os_str(), flags, Mode::empty());
        let next = match open() {
            Err(rustix::io::Errno::NOENT) => {
                match rustix::fs::mkdirat(&dir, name.as_os_str(), Mode::from_raw_mode(0o700)) {
                    Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                    Err(e) => return Err(unsafe_dir(format!("creating {}: {e}", at.display()))),
                }
                open()
            }
            other => other,
        }
        .map_err(|e| {
            unsafe_dir(format!(
                "opening {} (links are not followed): {e}",
                at.display()
            ))
        })?;
        let st = rustix::fs::fstat(&next)
            .map_err(|e| unsafe_dir(format!("reading {}: {e}", at.display())))?;
        // Every directory on the way must be root's and not writable by
        // others, unless sticky (as /run/user or /tmp): then only what we
        // open below it must be root's.
        let writable = st.st_mode & 0o022 != 0;
        let sticky = st.st_mode & 0o1000 != 0;
        let is_last = at == path;
        if st.st_uid != 0 || (writable && (!sticky || is_last)) {
            return Err(unsafe_dir(format!(
                "{} is owned by uid {} with mode {:o}; it must be root's and writable by root only",
                at.display(),
                st.st_uid,
                st.st_mode & 0o7777
            )));
        }
        dir = next;
    }
    Ok(dir)
}

/// uids (or gids) named in a passwd- or group-format file.
fn named_ids(file: &Path) -> Vec<u32> {
    let Ok(text) = std::fs::read_to_string(file) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| l.split(':').nth(2)?.parse().ok())
        .collect()
}

/// The first `owner:start:count` line of a subuid/subgid file that overlaps
/// `first..=last`.
fn subordinate_overlap(file: &Path, first: u32, last: u32) -> Option<(String, u32, u32)> {
    let text = std::fs::read_to_string(file).ok()?;
    parse_subordinate(&text)
        .into_iter()
        .find(|(_, start, len)| {
            let end = u64::from(*start) + u64::from(*len);
            *len > 0 && u64::from(first) < end && u64::from(last) >= u64::from(*start)
        })
}

fn parse_subordinate(text: &str) -> Vec<(String, u32, u32)> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.trim().split(':');
            let owner = f.next()?.to_owned();
            let start = f.next()?.parse().ok()?;
            let len = f.next()?.parse().ok()?;
            Some((owner, start, len))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subordinate_ranges_that_overlap_are_found() {
        let text = "alice:100000:65536\nbob:165536:65536\nbad line\n";
        let r = parse_subordinate(text);
        assert_eq!(r.len(), 2);
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("subuid");
        std::fs::write(&f, text).unwrap();
        assert_eq!(subordinate_overlap(&f, 60600, 61099), None);
        assert_eq!(
            subordinate_overlap(&f, 165535, 165536),
            Some(("alice".into(), 100000, 65536))
        );
        assert_eq!(
            subordinate_overlap(&f, 231071, 231072),
            Some(("bob".into(), 165536, 65536))
        );
        assert_eq!(subordinate_overlap(&f, 231072, 231100), None);
    }

    #[test]
    fn unusable_ranges_are_refused() {
        for (first, count) in [(0, 10), (65530, 10), (100, 0), (u32::MAX - 1, 5)] {
            let users = BuildUsers {
                first,
                count,
                lock_dir: "/nonexistent".into(),
            };
            assert!(
                matches!(lease(&users), Err(BuildUserError::BadRange { .. })),
                "{first} +{count}"
            );
        }
    }
}
