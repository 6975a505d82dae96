//! The build's mount tree and the phases' mount views.
//!
//! Once per session, [`setup_mounts`] assembles the sandbox's root (the
//! toolchain read-only, a minimal /etc, device nodes, private /tmp, /dev/shm
//! and /proc, the build directories, the prefix views) and pivots into it.
//! Once per phase access, [`narrowed_mount_ns`] makes a copy of that mount
//! namespace with the build directories as the phase may use them.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use super::{BUILD_USER_NAME, HelperSettings, in_child};
use rustix::mount::MountFlags;
use rustix::thread::UnshareFlags;

use crate::sys::{self, Forked};
use crate::trace;
use crate::wire;
use crate::{DirAccess, PhaseAccess, PrefixView, SandboxDirs};

/// Where the session keeps each view's mount until a phase's mount view
/// binds it at the prefix; detached in every phase's view, so a command
/// never sees another phase's layers.
const VIEWS_DIR: &str = "/.wport-views";

/// First components a prefix may not have: the sandbox's own directories,
/// which the view would shadow or write into (the toolchain, /etc, /dev,
/// /proc, the private /tmp, the build directories, the views' own
/// directory), and /sys.
const RESERVED_TOP: &[&str] = &[
    "usr",
    "bin",
    "sbin",
    "lib",
    "lib32",
    "lib64",
    "libx32",
    "etc",
    "dev",
    "proc",
    "sys",
    "tmp",
    "sources",
    "work",
    "destroot",
    ".wport-views",
    ".wport",
];

/// A prefix the sandbox can show a view at: absolute, normalised (no `.`,
/// `..` or empty component), not `/`, and outside [`RESERVED_TOP`].
pub(crate) fn check_prefix(prefix: &Path) -> Result<(), String> {
    let text = prefix.to_str().ok_or("not UTF-8")?;
    let Some(rest) = text.strip_prefix('/') else {
        return Err("not an absolute path".into());
    };
    if rest.is_empty() {
        return Err("the prefix cannot be `/`".into());
    }
    let parts: Vec<&str> = rest.split('/').collect();
    if parts
        .iter()
        .any(|c| c.is_empty() || *c == "." || *c == "..")
    {
        return Err("not a normalised path (empty, `.` or `..` component)".into());
    }
    if RESERVED_TOP.contains(&parts[0]) {
        return Err(format!(
            "a prefix under /{} would shadow or write into the sandbox's own /{}; \
             choose a prefix such as /opt/wport",
            parts[0], parts[0]
        ));
    }
    Ok(())
}

/// Toolchain roots bound read-only (or recreated as the same symlink).
pub(super) const TOOLCHAIN_ROOTS: &[&str] =
    &["usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"];
/// /etc entries bound read-only when present: what the loader, perl and
/// `update-alternatives`-managed tools (cc, c++, awk, ...) need. Nothing else
/// of the host's /etc (no shadow, no ssh keys, no ld.so.preload).
const ETC_BINDS: &[&str] = &[
    "alternatives",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "perl",
    "protocols",
    "services",
    "localtime",
];
/// What a command may read in /proc (besides listing directories).
pub(super) const PROC_READABLE: &[&str] = &[
    "cpuinfo",
    "meminfo",
    "stat",
    "loadavg",
    "uptime",
    "version",
    "filesystems",
    "sys",
];
/// Device nodes bound from the host's /dev.
pub(super) const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

fn mkdir(p: &Path, mode: u32) -> io::Result<()> {
    std::fs::create_dir(p)
        .map_err(|e| io::Error::new(e.kind(), format!("mkdir {}: {e}", p.display())))?;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
}

fn touch(p: &Path) -> io::Result<()> {
    std::fs::write(p, b"")
        .map_err(|e| io::Error::new(e.kind(), format!("create {}: {e}", p.display())))
}

/// Bind `src` on `dst` and remount it with `extra` flags (+ read-only when asked),
/// preserving the flags the kernel locks.
fn bind(src: &Path, dst: &Path, readonly: bool, extra: MountFlags) -> io::Result<()> {
    sys::bind(src, dst, false)?;
    let keep = sys::preserved_mount_flags(dst)?;
    let ro = if readonly {
        MountFlags::RDONLY
    } else {
        MountFlags::empty()
    };
    sys::remount_bind(dst, keep | ro | extra)
}

/// Undo mountinfo's octal escapes (`\040` for a space).
pub(crate) fn unescape_mountinfo(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Bind a host tree read-only with its submounts (a separate /usr/local, say),
/// remounting every one of them read-only.
fn bind_tree_ro(src: &Path, dst: &Path, extra: MountFlags) -> io::Result<()> {
    sys::bind(src, dst, true)?;
    let root = dst.to_string_lossy().into_owned();
    let info = std::fs::read_to_string("/oldroot/proc/self/mountinfo")?;
    for line in info.lines() {
        let Some(field) = line.split(' ').nth(4) else {
            continue;
        };
        let mount_point = unescape_mountinfo(field);
        if mount_point == root || mount_point.starts_with(&format!("{root}/")) {
            let mp = Path::new(&mount_point);
            let keep = sys::preserved_mount_flags(mp)?;
            sys::remount_bind(mp, MountFlags::RDONLY | keep | extra)?;
        }
    }
    Ok(())
}

fn passwd(settings: &HelperSettings) -> (String, String) {
    let (uid, gid) = if settings.privileged {
        (settings.identity.uid, settings.identity.gid)
    } else {
        (sys::getuid(), sys::getgid())
    };
    let mut passwd = String::new();
    let mut group = String::new();
    if uid != 0 {
        passwd.push_str("root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n");
    }
    if gid != 0 {
        group.push_str("root:x:0:\n");
    }
    passwd.push_str(&format!(
        "{BUILD_USER_NAME}:x:{uid}:{gid}:wport build user:/work/.home:/bin/sh\n"
    ));
    group.push_str(&format!("{BUILD_USER_NAME}:x:{gid}:\n"));
    (passwd, group)
}

/// Build the sandbox's root and pivot into it. Runs once per session.
pub(super) fn setup_mounts(
    dirs: &SandboxDirs,
    view: Option<&PrefixView>,
    settings: &HelperSettings,
) -> io::Result<Option<SessionView>> {
    let root = Path::new("/");
    // Nothing we mount may propagate back to the host.
    sys::make_private(root)?;
    // A scratch tmpfs becomes the root first, with the host's root under
    // /oldroot, so host paths stay reachable (as /oldroot/...) while the
    // sandbox root is assembled under /newroot.
    let base = Path::new("/tmp");
    sys::mount_fs(
        "tmpfs",
        base,
        MountFlags::NOSUID | MountFlags::NODEV,
        Some("mode=0755,size=64k"),
    )?;
    mkdir(&base.join("newroot"), 0o755)?;
    mkdir(&base.join("oldroot"), 0o755)?;
    sys::pivot_root(base, &base.join("oldroot"))?;
    std::env::set_current_dir("/")?;
    let old = |p: &Path| Path::new("/oldroot").join(p.strip_prefix("/").unwrap_or(p));
    let nr = Path::new("/newroot");
    sys::mount_fs(
        "tmpfs",
        nr,
        MountFlags::NOSUID | MountFlags::NODEV,
        Some("mode=0755,size=8m"),
    )?;

    for name in TOOLCHAIN_ROOTS {
        let host = old(&Path::new("/").join(name));
        let Ok(meta) = std::fs::symlink_metadata(&host) else {
            continue;
        };
        if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&host)?, nr.join(name))?;
        } else if meta.is_dir() {
            mkdir(&nr.join(name), 0o755)?;
            bind_tree_ro(
                &host,
                &nr.join(name),
                MountFlags::NOSUID | MountFlags::NODEV,
            )?;
        }
    }

    let etc = nr.join("etc");
    mkdir(&etc, 0o755)?;
    let (pw, gr) = passwd(settings);
    std::fs::write(etc.join("passwd"), pw)?;
    std::fs::write(etc.join("group"), gr)?;
    std::fs::write(
        etc.join("nsswitch.conf"),
        "passwd: files\ngroup: files\nhosts: files\n",
    )?;
    std::fs::write(
        etc.join("hosts"),
        "127.0.0.1 localhost wport\n::1 localhost\n",
    )?;
    std::fs::write(etc.join("hostname"), "wport\n")?;
    // The trace of refused accesses (`trace`): the library every dynamically
    // linked program of the build preloads, named here rather than in
    // LD_PRELOAD, so the build's environment stays exactly as documented and
    // the port cannot set it to something else; the FIFO it writes records
    // to, write-only to the build (see `build_ruleset`), read by the session
    // init. The root is read-only after this: neither can be replaced.
    std::fs::write(
        etc.join("ld.so.preload"),
        format!("{}\n", trace::LIBRARY_PATH),
    )?;
    let wport_dir = nr.join(trace::DIR.trim_start_matches('/'));
    mkdir(&wport_dir, 0o755)?;
    let library = nr.join(trace::LIBRARY_PATH.trim_start_matches('/'));
    std::fs::write(&library, trace::LIBRARY)?;
    std::fs::set_permissions(&library, std::fs::Permissions::from_mode(0o444))?;
    sys::mkfifo(&nr.join(trace::FIFO_PATH.trim_start_matches('/')), 0o666)?;
    for name in ETC_BINDS {
        let host = old(&Path::new("/etc").join(name));
        let Ok(meta) = std::fs::symlink_metadata(&host) else {
            continue;
        };
        let dst = etc.join(name);
        if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&host)?, &dst)?;
        } else if meta.is_dir() {
            mkdir(&dst, 0o755)?;
            bind(&host, &dst, true, MountFlags::NOSUID | MountFlags::NODEV)?;
        } else if meta.is_file() {
            touch(&dst)?;
            bind(&host, &dst, true, MountFlags::NOSUID | MountFlags::NODEV)?;
        }
    }

    let dev = nr.join("dev");
    mkdir(&dev, 0o755)?;
    for name in DEVICES {
        let host = old(&Path::new("/dev").join(name));
        if std::fs::symlink_metadata(&host).is_err() {
            continue;
        }
        touch(&dev.join(name))?;
        bind(
            &host,
            &dev.join(name),
            false,
            MountFlags::NOSUID | MountFlags::NOEXEC,
        )?;
    }
    for (link, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        std::os::unix::fs::symlink(target, dev.join(link))?;
    }

    // POSIX shared memory and semaphores (sem_open, shm_open) live here.
    let shm = dev.join("shm");
    mkdir(&shm, 0o1777)?;
    sys::mount_fs(
        "tmpfs",
        &shm,
        MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
        Some("mode=1777,size=64m"),
    )?;

    let tmp = nr.join("tmp");
    mkdir(&tmp, 0o1777)?;
    let tmp_opts = format!("mode=1777,size={}", settings.config.limits.tmp_size);
    sys::mount_fs(
        "tmpfs",
        &tmp,
        MountFlags::NOSUID | MountFlags::NODEV,
        Some(&tmp_opts),
    )?;

    let proc_dir = nr.join("proc");
    mkdir(&proc_dir, 0o555)?;
    sys::mount_fs(
        "proc",
        &proc_dir,
        MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
        None,
    )?;

    for (name, host, readonly) in [
        ("sources", &dirs.sources, true),
        ("work", &dirs.work, false),
        ("destroot", &dirs.destroot, false),
    ] {
        let dst = nr.join(name);
        mkdir(&dst, 0o755)?;
        bind(
            &old(host),
            &dst,
            readonly,
            MountFlags::NOSUID | MountFlags::NODEV,
        )?;
    }

    // The dependency views: mountpoints must exist before the root turns
    // read-only, and the layers are reachable (as /oldroot/...) only before
    // the host's root is dropped.
    let session_view = match view {
        Some(v) => Some(mount_views(v, nr, &old)?),
        None => None,
    };

    // The assembled root itself is read-only: nothing outside the three build
    // directories and /tmp is writable at mount level.
    let keep = sys::preserved_mount_flags(nr)?;
    sys::remount_bind(nr, MountFlags::RDONLY | keep)?;

    // Pivot into the new root and drop the host's root entirely.
    std::env::set_current_dir(nr)?;
    sys::pivot_root(Path::new("."), Path::new("."))?;
    sys::umount_detach(Path::new("."))?;
    std::env::set_current_dir("/")?;
    Ok(session_view)
}

/// A session's prefix views once mounted: the prefix, and for each view
/// whether it has a mount under [`VIEWS_DIR`] (an empty view has none).
#[derive(Debug)]
pub(crate) struct SessionView {
    pub(super) prefix: PathBuf,
    pub(super) mounted: Vec<bool>,
}

impl SessionView {
    pub(super) fn mount_of(&self, view: usize) -> Option<PathBuf> {
        self.mounted
            .get(view)
            .copied()
            .unwrap_or(false)
            .then(|| Path::new(VIEWS_DIR).join(view.to_string()))
    }
}

/// Make the prefix's mountpoint (an empty directory of the root) and mount
/// every non-empty view under [`VIEWS_DIR`] (a private tmpfs): one
/// read-only overlay of its layers, or a read-only bind of a single layer
/// (overlayfs needs two lower layers when it has no upper one).
///
/// Views are mounted here, once per session, because the layers are host
/// paths reachable only before `pivot_root`; each phase's mount view then
/// binds its own at the prefix and detaches [`VIEWS_DIR`] (see
/// [`narrow_mounts`]). The new mount API builds the overlay (see
/// `sys::overlay_ro`): layers are passed one by one, with no option-string
/// length limit or escaping.
fn mount_views(
    view: &PrefixView,
    nr: &Path,
    old: &dyn Fn(&Path) -> PathBuf,
) -> io::Result<SessionView> {
    let rel = view.prefix.strip_prefix("/").unwrap_or(&view.prefix);
    let mut at = nr.to_path_buf();
    for c in rel.components() {
        at.push(c);
        if !at.exists() {
            mkdir(&at, 0o755)?;
        }
    }
    let views_dir = nr.join(VIEWS_DIR.trim_start_matches('/'));
    mkdir(&views_dir, 0o700)?;
    sys::mount_fs(
        "tmpfs",
        &views_dir,
        MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
        Some("mode=0700,size=16k"),
    )?;
    let mut mounted = Vec::with_capacity(view.views.len());
    for (i, layers) in view.views.iter().enumerate() {
        if layers.is_empty() {
            mounted.push(false);
            continue;
        }
        let dst = views_dir.join(i.to_string());
        mkdir(&dst, 0o755)?;
        let hosts: Vec<PathBuf> = layers.iter().map(|l| old(l)).collect();
        if hosts.len() == 1 {
            bind(
                &hosts[0],
                &dst,
                true,
                MountFlags::NOSUID | MountFlags::NODEV,
            )?;
        } else {
            let refs: Vec<&Path> = hosts.iter().map(PathBuf::as_path).collect();
            let mnt = sys::overlay_ro(&refs)?;
            sys::move_mount_to(&mnt, &dst)?;
        }
        mounted.push(true);
    }
    Ok(SessionView {
        prefix: view.prefix.clone(),
        mounted,
    })
}

/// Build, once per phase access, a copy of the session's mount namespace
/// narrowed by [`narrow_mounts`], and keep it alive by descriptor: entering
/// it per call costs a `setns`, where creating and tearing down a namespace
/// per call was measured at +1 ms.
#[expect(unsafe_code, reason = "fork")]
pub(super) fn narrowed_mount_ns(
    access: PhaseAccess,
    view: Option<&SessionView>,
) -> io::Result<Option<OwnedFd>> {
    // With a prefix view every phase needs its own: its layers (or none) at
    // the prefix, and no other view's.
    if mount_changes(access).is_empty() && view.is_none() {
        return Ok(None);
    }
    let (ours, theirs) = UnixStream::pair()?;
    // SAFETY: the session init is single-threaded; the child only narrows
    // its own mounts, sends one descriptor and _exits.
    match unsafe { sys::fork() }? {
        Forked::Child => in_child(|| {
            drop(ours);
            let result =
                narrow_mounts(access, view).and_then(|()| std::fs::File::open("/proc/self/ns/mnt"));
            let _ = match result {
                Ok(ns) => wire::send(&theirs, &[0], &[ns.as_fd()]),
                Err(e) => wire::send(&theirs, e.to_string().as_bytes(), &[]),
            };
            sys::exit_now(0)
        }),
        Forked::Parent(pid) => {
            drop(theirs);
            let got = wire::recv(&ours);
            let _ = sys::waitpid(pid);
            let (msg, mut fds) = got?;
            match fds.pop() {
                Some(fd) => Ok(Some(fd)),
                None => Err(io::Error::other(String::from_utf8_lossy(&msg).into_owned())),
            }
        }
    }
}

fn mount_changes(access: PhaseAccess) -> Vec<(&'static str, DirAccess)> {
    // Mount-level view of the session: sources ro, work and destroot rw.
    [
        ("/sources", access.sources, DirAccess::ReadOnly),
        ("/work", access.work, DirAccess::ReadWrite),
        ("/destroot", access.destroot, DirAccess::ReadWrite),
    ]
    .into_iter()
    .filter(|(_, want, have)| want != have)
    .map(|(path, want, _)| (path, want))
    .collect()
}

/// Give the command a private copy of the build's mount namespace in which
/// the build directories are exactly as the phase may use them: absent
/// (unmounted, leaving an empty directory of the read-only root) or
/// read-only; and with a prefix view, the phase's layers at the prefix (an
/// empty directory when it has none) and nothing of [`VIEWS_DIR`]. The
/// session's own mounts are untouched.
fn narrow_mounts(access: PhaseAccess, view: Option<&SessionView>) -> io::Result<()> {
    let changes = mount_changes(access);
    sys::unshare_namespaces(UnshareFlags::NEWNS)?;
    sys::make_private(Path::new("/"))?;
    for (path, want) in changes {
        let path = Path::new(path);
        match want {
            DirAccess::None => sys::umount_detach(path)?,
            DirAccess::ReadOnly => {
                let keep = sys::preserved_mount_flags(path)?;
                sys::remount_bind(path, MountFlags::RDONLY | keep)?
            }
            DirAccess::ReadWrite => {}
        }
    }
    if let Some(v) = view {
        if let Some(src) = access.view.and_then(|i| v.mount_of(usize::from(i))) {
            // A bind of the view's mount keeps its flags (read-only, nosuid,
            // nodev); the remount restates them.
            bind(
                &src,
                &v.prefix,
                true,
                MountFlags::NOSUID | MountFlags::NODEV,
            )?;
        }
        sys::umount_detach(Path::new(VIEWS_DIR))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn mountinfo_escapes() {
        assert_eq!(
            super::unescape_mountinfo("/newroot/usr/my\\040disk"),
            "/newroot/usr/my disk"
        );
        assert_eq!(super::unescape_mountinfo("/a\\134b"), "/a\\b");
        assert_eq!(super::unescape_mountinfo("/plain"), "/plain");
        assert_eq!(super::unescape_mountinfo("/trailing\\04"), "/trailing\\04");
    }
}
