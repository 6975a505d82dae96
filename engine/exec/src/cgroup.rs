//! The build's cgroup: one per session, holding every process of the build,
//! with a memory and a process limit.
//!
//! Issue 11, item 5: native children had no memory bound (SysV shared memory
//! in the build's IPC namespace was unlimited and outlived its processes, so
//! the OOM killer could not free it) and nothing capped a build's total
//! memory; `RLIMIT_NPROC` counts per uid, machine-wide. A cgroup bounds all of
//! it: anonymous memory, tmpfs and shared-memory pages are charged to the
//! cgroup of the process that touches them.
//!
//! Where the build cgroups go: below the cgroup wport itself runs in (read
//! from `/proc/self/cgroup`), never at a hierarchy's root, so a build stays
//! inside whatever limits the machine already puts on wport.
//!
//! - **cgroup v2** when the unified hierarchy offers the `memory` and `pids`
//!   controllers to wport's cgroup: `memory.max`, `memory.swap.max = 0`,
//!   `pids.max`; an OOM kill shows in `memory.events` (`oom_kill`), a refused
//!   fork in `pids.events` (`max`). wport's cgroup must be able to delegate
//!   them (`+memory +pids` in its `cgroup.subtree_control`): a cgroup that
//!   also holds other processes cannot (the "no internal processes" rule), so
//!   run wport in its own cgroup there (`systemd-run --scope -p Delegate=yes`).
//! - **cgroup v1** when the controllers are mounted separately (this machine
//!   kind mounts them at `/sys/fs/cgroup/{memory,pids}` with an empty unified
//!   hierarchy beside them): one cgroup in each of the `memory` and `pids`
//!   hierarchies; `memory.limit_in_bytes` (and `memory.memsw.limit_in_bytes`
//!   where swap is accounted), `pids.max`; an OOM kill shows in
//!   `memory.oom_control` (`oom_kill`), a refused fork in `pids.events`.
//!
//! The spawn helper creates the cgroup before the session exists, the
//! session's first process joins it before it forks anything, and a keeper
//! process outside it removes it once the build's last process is gone.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Controllers every build cgroup needs.
const CONTROLLERS: [&str; 2] = ["memory", "pids"];

/// Where build cgroups are created, found once when the executor starts.
#[derive(Debug, Clone)]
pub(crate) enum CgroupParent {
    /// wport's own cgroup in the unified hierarchy, delegating memory and pids.
    V2 { dir: PathBuf },
    /// wport's own cgroups in the v1 memory and pids hierarchies.
    V1 { memory: PathBuf, pids: PathBuf },
}

/// One mount of a cgroup filesystem (from `/proc/self/mountinfo`).
#[derive(Debug, PartialEq)]
struct CgroupMount {
    /// Path inside the hierarchy that is mounted (`/` unless a cgroup
    /// namespace or a bind mount shows only part of it).
    root: String,
    mount_point: PathBuf,
    v2: bool,
    /// v1: the super options, which name the controllers (`rw,memory`).
    options: Vec<String>,
}

fn parse_mounts(mountinfo: &str) -> Vec<CgroupMount> {
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let pre: Vec<&str> = pre.split(' ').collect();
        let post: Vec<&str> = post.split(' ').collect();
        if pre.len() < 5 || post.len() < 3 {
            continue;
        }
        let v2 = match post[0] {
            "cgroup2" => true,
            "cgroup" => false,
            _ => continue,
        };
        out.push(CgroupMount {
            root: crate::confine::unescape_mountinfo(pre[3]),
            mount_point: PathBuf::from(crate::confine::unescape_mountinfo(pre[4])),
            v2,
            options: post[2].split(',').map(str::to_owned).collect(),
        });
    }
    out
}

/// `/proc/self/cgroup`: (hierarchy id, controllers, path) per line.
fn parse_membership(text: &str) -> Vec<(String, Vec<String>, String)> {
    text.lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let id = parts.next()?.to_owned();
            let controllers = parts.next()?;
            let path = parts.next()?.to_owned();
            let controllers = controllers
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect();
            Some((id, controllers, path))
        })
        .collect()
}

/// The directory of cgroup `path` under `mount`, if the mount shows it.
fn dir_of(mount: &CgroupMount, path: &str) -> Option<PathBuf> {
    let rel = if mount.root == "/" {
        path
    } else {
        path.strip_prefix(mount.root.as_str())
            .filter(|r| r.is_empty() || r.starts_with('/'))?
    };
    let rel = rel.trim_start_matches('/');
    if rel.split('/').any(|c| c == "..") {
        return None;
    }
    Some(if rel.is_empty() {
        mount.mount_point.clone()
    } else {
        mount.mount_point.join(rel)
    })
}

fn words(path: &Path) -> io::Result<Vec<String>> {
    Ok(std::fs::read_to_string(path)?
        .split_whitespace()
        .map(str::to_owned)
        .collect())
}

/// Create and remove a probe child: proves build cgroups can be made here.
/// Its name is unique to this call: executors may start concurrently in one
/// process (tests do).
fn probe_writable(dir: &Path) -> Result<(), String> {
    static PROBES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = PROBES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let probe = dir.join(format!("wport-probe-{}-{n}", std::process::id()));
    std::fs::create_dir(&probe).map_err(|e| format!("cannot create {}: {e}", probe.display()))?;
    std::fs::remove_dir(&probe).map_err(|e| format!("cannot remove {}: {e}", probe.display()))
}

impl CgroupParent {
    /// Find where this process may create build cgroups: v2 if the unified
    /// hierarchy delegates memory and pids to us, else v1 if both
    /// controllers have their own hierarchy. The error says what is missing.
    pub(crate) fn detect() -> Result<CgroupParent, String> {
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
            .map_err(|e| format!("reading /proc/self/mountinfo: {e}"))?;
        let membership = std::fs::read_to_string("/proc/self/cgroup")
            .map_err(|e| format!("reading /proc/self/cgroup: {e}"))?;
        Self::detect_from(&parse_mounts(&mountinfo), &parse_membership(&membership))
    }

    fn detect_from(
        mounts: &[CgroupMount],
        membership: &[(String, Vec<String>, String)],
    ) -> Result<CgroupParent, String> {
        let v2 = match Self::detect_v2(mounts, membership) {
            Ok(p) => return Ok(p),
            Err(e) => e,
        };
        let v1 = match Self::detect_v1(mounts, membership) {
            Ok(p) => return Ok(p),
            Err(e) => e,
        };
        Err(format!("cgroup v2: {v2}; cgroup v1: {v1}"))
    }

    fn detect_v2(
        mounts: &[CgroupMount],
        membership: &[(String, Vec<String>, String)],
    ) -> Result<CgroupParent, String> {
        let path = membership
            .iter()
            .find(|(id, c, _)| id == "0" && c.is_empty())
            .map(|(_, _, p)| p.as_str())
            .ok_or("this process is in no unified-hierarchy cgroup")?;
        let dir = mounts
            .iter()
            .filter(|m| m.v2)
            .find_map(|m| dir_of(m, path))
            .ok_or_else(|| format!("the unified hierarchy holding {path} is not mounted"))?;
        let available = words(&dir.join("cgroup.controllers"))
            .map_err(|e| format!("reading {}/cgroup.controllers: {e}", dir.display()))?;
        for c in CONTROLLERS {
            if !available.iter().any(|a| a == c) {
                return Err(format!(
                    "the {c} controller is not available in {} (controllers: {:?})",
                    dir.display(),
                    available
                ));
            }
        }
        let control = dir.join("cgroup.subtree_control");
        let enabled = words(&control).map_err(|e| format!("reading {}: {e}", control.display()))?;
        if !CONTROLLERS.iter().all(|c| enabled.iter().any(|e| e == c)) {
            std::fs::write(&control, "+memory +pids").map_err(|e| {
                format!(
                    "cannot delegate memory and pids to sub-cgroups of {} ({e}); \
                     run wport in a cgroup of its own (e.g. `systemd-run --scope -p Delegate=yes`)",
                    dir.display()
                )
            })?;
        }
        probe_writable(&dir)?;
        Ok(CgroupParent::V2 { dir })
    }

    fn detect_v1(
        mounts: &[CgroupMount],
        membership: &[(String, Vec<String>, String)],
    ) -> Result<CgroupParent, String> {
        let mut dirs = Vec::new();
        for c in CONTROLLERS {
            let path = membership
                .iter()
                .find(|(_, cs, _)| cs.iter().any(|x| x == c))
                .map(|(_, _, p)| p.as_str())
                .ok_or_else(|| format!("no v1 {c} hierarchy"))?;
            let dir = mounts
                .iter()
                .filter(|m| !m.v2 && m.options.iter().any(|o| o == c))
                .find_map(|m| dir_of(m, path))
                .ok_or_else(|| format!("the v1 {c} hierarchy holding {path} is not mounted"))?;
            probe_writable(&dir)?;
            dirs.push(dir);
        }
        let pids = dirs.pop().expect("two controllers");
        let memory = dirs.pop().expect("two controllers");
        Ok(CgroupParent::V1 { memory, pids })
    }

    /// Create the cgroup `name` for one build, with its limits set.
    /// On failure nothing is left behind.
    pub(crate) fn create(
        &self,
        name: &str,
        memory: u64,
        processes: u64,
    ) -> io::Result<BuildCgroup> {
        let ctx = |what: &Path, e: io::Error| {
            io::Error::new(e.kind(), format!("{}: {e}", what.display()))
        };
        let write =
            |file: PathBuf, value: String| std::fs::write(&file, value).map_err(|e| ctx(&file, e));
        let cg = match self {
            CgroupParent::V2 { dir } => BuildCgroup {
                dirs: vec![dir.join(name)],
                memory_events: dir.join(name).join("memory.events"),
                pids_events: dir.join(name).join("pids.events"),
                oom_key: "oom_kill",
            },
            CgroupParent::V1 { memory, pids } => BuildCgroup {
                dirs: vec![memory.join(name), pids.join(name)],
                memory_events: memory.join(name).join("memory.oom_control"),
                pids_events: pids.join(name).join("pids.events"),
                oom_key: "oom_kill",
            },
        };
        let mut made = Vec::new();
        let result = (|| {
            for d in &cg.dirs {
                std::fs::create_dir(d).map_err(|e| ctx(d, e))?;
                made.push(d.clone());
            }
            match self {
                CgroupParent::V2 { .. } => {
                    let d = &cg.dirs[0];
                    write(d.join("memory.max"), memory.to_string())?;
                    let swap = d.join("memory.swap.max");
                    if swap.exists() {
                        write(swap, "0".into())?;
                    }
                    write(d.join("pids.max"), processes.to_string())?;
                }
                CgroupParent::V1 { .. } => {
                    let (m, p) = (&cg.dirs[0], &cg.dirs[1]);
                    write(m.join("memory.limit_in_bytes"), memory.to_string())?;
                    // Where swap is accounted, memory + swap gets the same
                    // bound, so swapping cannot stretch the limit.
                    let memsw = m.join("memory.memsw.limit_in_bytes");
                    if memsw.exists() {
                        write(memsw, memory.to_string())?;
                    }
                    write(p.join("pids.max"), processes.to_string())?;
                }
            }
            Ok(())
        })();
        match result {
            Ok(()) => Ok(cg),
            Err(e) => {
                for d in made.iter().rev() {
                    let _ = std::fs::remove_dir(d);
                }
                Err(e)
            }
        }
    }
}

/// One build's cgroup (one directory in v2, one per controller in v1).
#[derive(Debug)]
pub(crate) struct BuildCgroup {
    dirs: Vec<PathBuf>,
    memory_events: PathBuf,
    pids_events: PathBuf,
    oom_key: &'static str,
}

impl BuildCgroup {
    /// The cgroup directories, as host paths.
    pub(crate) fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// Move process `pid` (and so everything it forks later) into the cgroup.
    pub(crate) fn join(&self, pid: libc::pid_t) -> io::Result<()> {
        for d in &self.dirs {
            let procs = d.join("cgroup.procs");
            std::fs::write(&procs, pid.to_string())
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", procs.display())))?;
        }
        Ok(())
    }

    /// Open the event counters; they stay readable after pivot_root.
    pub(crate) fn counters(&self) -> io::Result<Counters> {
        let open = |p: &Path| {
            File::open(p).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))
        };
        Ok(Counters {
            memory: open(&self.memory_events)?,
            pids: open(&self.pids_events)?,
            oom_key: self.oom_key,
        })
    }

    /// Remove the cgroup once its processes are gone. The kernel may report
    /// it busy for a moment after the last process was reaped; retries then.
    pub(crate) fn remove(&self) -> io::Result<()> {
        for d in self.dirs.iter().rev() {
            let mut tries = 0;
            loop {
                match std::fs::remove_dir(d) {
                    Ok(()) => break,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                    Err(e) if e.raw_os_error() == Some(libc::EBUSY) && tries < 200 => {
                        tries += 1;
                        std::thread::sleep(std::time::Duration::from_millis(10));
                    }
                    Err(e) => {
                        return Err(io::Error::new(
                            e.kind(),
                            format!("removing {}: {e}", d.display()),
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

/// The build cgroup's event counters, held open by the session init.
#[derive(Debug)]
pub(crate) struct Counters {
    memory: File,
    pids: File,
    oom_key: &'static str,
}

/// Counter values at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Events {
    /// Processes the OOM killer ended in the build's cgroup.
    pub oom_kills: u64,
    /// Forks refused at `pids.max`.
    pub pids_max: u64,
}

fn counter(file: &File, key: &str) -> u64 {
    let mut buf = [0u8; 1024];
    let n = file.read_at(&mut buf, 0).unwrap_or(0);
    parse_counter(&String::from_utf8_lossy(&buf[..n]), key)
}

fn parse_counter(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(' ')?;
            (k == key).then(|| v.trim().parse().ok()).flatten()
        })
        .unwrap_or(0)
}

impl Counters {
    pub(crate) fn read(&self) -> Events {
        Events {
            oom_kills: counter(&self.memory, self.oom_key),
            pids_max: counter(&self.pids, "max"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This machine kind: v1 controllers, an empty unified hierarchy beside them.
    const V1_MOUNTS: &str = "\
30 25 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
32 30 0:28 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
33 30 0:29 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
34 30 0:30 / /sys/fs/cgroup/cpu\\040x rw,relatime - cgroup cgroup rw,cpu";
    const V1_SELF: &str = "8:pids:/\n4:memory:/process_api/abc\n1:cpu:/\n0::/\n";

    #[test]
    fn finds_the_v1_hierarchies_and_our_place_in_them() {
        let mounts = parse_mounts(V1_MOUNTS);
        assert_eq!(mounts.len(), 4);
        assert_eq!(mounts[3].mount_point, Path::new("/sys/fs/cgroup/cpu x"));
        let member = parse_membership(V1_SELF);
        let memory = mounts
            .iter()
            .find(|m| m.options.iter().any(|o| o == "memory"))
            .unwrap();
        assert_eq!(
            dir_of(memory, &member[1].2).unwrap(),
            Path::new("/sys/fs/cgroup/memory/process_api/abc")
        );
        let unified = mounts.iter().find(|m| m.v2).unwrap();
        assert_eq!(
            dir_of(unified, "/").unwrap(),
            Path::new("/sys/fs/cgroup/unified")
        );
    }

    #[test]
    fn a_partly_mounted_hierarchy_maps_only_what_it_shows() {
        let m = CgroupMount {
            root: "/user.slice".into(),
            mount_point: "/sys/fs/cgroup".into(),
            v2: true,
            options: vec![],
        };
        assert_eq!(
            dir_of(&m, "/user.slice/wport.scope").unwrap(),
            Path::new("/sys/fs/cgroup/wport.scope")
        );
        assert_eq!(dir_of(&m, "/system.slice/x"), None);
        assert_eq!(dir_of(&m, "/user.slicex"), None);
        assert_eq!(dir_of(&m, "/user.slice/../x"), None);
    }

    #[test]
    fn counters_parse_both_formats() {
        let v1 = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
        let v2 = "low 0\nhigh 0\nmax 7\noom 2\noom_kill 2\noom_group_kill 0\n";
        assert_eq!(parse_counter(v1, "oom_kill"), 3);
        assert_eq!(parse_counter(v2, "oom_kill"), 2);
        assert_eq!(parse_counter("max 5\n", "max"), 5);
        assert_eq!(parse_counter("", "max"), 0);
    }
}
