//! The launcher: from the link it was started through to `execve` of the
//! real program, confined.
//!
//! Steps, in order (each failure is an exit status of its own, as env(1)
//! does: 125 the launcher failed, 126 the program cannot run, 127 it is not
//! there):
//!
//! 1. Which program: follow the `AT_EXECFN` path (what the caller passed
//!    to `execve`, so a user's own link to `PREFIX/bin/NAME` still works)
//!    link by link until the next one points at `wport-launch`; that last
//!    link's name is the program. `wport-launch --run NAME ARGS...` names it
//!    directly (`wport run`).
//! 2. Its policy, `policy/NAME` next to the launcher, and the places the
//!    placeholders stand for (`{home}` from `$HOME`, `{cwd}`, `{tmp}`, the
//!    XDG directories, `{prefix}` four levels above the launcher).
//! 3. The rules: the default (system trees read-only, a few devices, the
//!    scratch directories and the current directory read-write), the
//!    policy's paths, and the paths named on the command line. The root,
//!    the home directory and its ancestors are never granted from the
//!    current directory or an argument, since a grant covers the whole tree
//!    below it (`~/.ssh` with `~`).
//! 4. `network = false` on a kernel whose Landlock cannot restrict TCP
//!    (ABI < 4, before Linux 6.7): a private network namespace (as an
//!    ordinary user, in a new user namespace mapping only the caller's own
//!    uid and gid) when one can be had. With TCP rules it is not needed:
//!    Landlock denies TCP and the seccomp filter every other socket, for
//!    far less than the 0.6 to 1 ms a namespace costs per launch.
//! 5. `no_new_privs`, the Landlock ruleset (file system, TCP bind and
//!    connect, abstract unix sockets and signals out of the sandbox),
//!    `restrict_self`, and with `network = false` the seccomp filter
//!    (`crate::seccomp`). A kernel without Landlock: refused, unless the user
//!    wrote `unconfined-without-landlock = true` in
//!    `$XDG_CONFIG_HOME/wport/launch.conf`, and then loudly on every run.
//! 6. `execve(real/NAME, argv, envp)` with the caller's arrays as they came.
//!
//! `core` and `alloc` only, every system call through `crate::sys`: this is
//! the launcher program's (`src/program.rs`) logic, which links no C
//! library (see `sys` for why). Paths are byte strings (`Vec<u8>`), with
//! the few `Path` operations it needs below (`components`, `parent`...),
//! following `std::path`'s rules.

use alloc::borrow::ToOwned;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::policy::{LAUNCHER, Policy};
use crate::sys::{self, Errno};

/// The launcher itself failed (bad policy, no Landlock...).
pub const EXIT_SETUP: i32 = 125;
/// The program is there but could not be run.
pub const EXIT_CANNOT_RUN: i32 = 126;
/// The program (or its policy) is not there.
pub const EXIT_NOT_FOUND: i32 = 127;

// Landlock's access rights (linux/landlock.h), by the ABI that added them.
const FS_EXECUTE: u64 = 1 << 0;
const FS_WRITE_FILE: u64 = 1 << 1;
const FS_READ_FILE: u64 = 1 << 2;
const FS_READ_DIR: u64 = 1 << 3;
const FS_REMOVE_FILE: u64 = 1 << 5;
const FS_MAKE_REG: u64 = 1 << 8;
/// ABI 1: execute up to make_sym (13 rights).
const FS_ABI1: u64 = (1 << 13) - 1;
/// ABI 2: refer (linking and renaming across directories).
const FS_REFER: u64 = 1 << 13;
/// ABI 3: truncate.
const FS_TRUNCATE: u64 = 1 << 14;
/// ABI 5: ioctl on devices.
const FS_IOCTL_DEV: u64 = 1 << 15;
/// Every file system right up to ABI 6 (the ABI the ruleset asks for:
/// Linux 6.12's file system rights, TCP bind/connect, the
/// abstract-unix-socket and signal scopes). On an older kernel what it
/// does not know is left out (best effort, as the landlock crate does);
/// with no Landlock at all the launcher refuses.
const FS_ALL: u64 = FS_ABI1 | FS_REFER | FS_TRUNCATE | FS_IOCTL_DEV;
/// The rights that apply to a file that is not a directory.
const FS_FILE: u64 = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV;
/// ABI 4: TCP bind and connect.
const NET_TCP: u64 = 0b11;
/// ABI 6 scopes.
const SCOPE_ABSTRACT_UNIX_SOCKET: u64 = 1 << 0;
const SCOPE_SIGNAL: u64 = 1 << 1;

/// The file system rights a kernel of Landlock ABI `abi` knows.
fn fs_rights_of(abi: i64) -> u64 {
    let mut rights = FS_ABI1;
    if abi >= 2 {
        rights |= FS_REFER;
    }
    if abi >= 3 {
        rights |= FS_TRUNCATE;
    }
    if abi >= 5 {
        rights |= FS_IOCTL_DEV;
    }
    rights
}

/// Readable by every program (and runnable from, when it may run
/// programs): the system's own trees. `/etc` holds no secret an ordinary
/// user may read anyway; `/proc` entries of processes outside the sandbox
/// are ptrace-checked, which Landlock denies.
const SYSTEM_READ: [&str; 12] = [
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/opt",
    "/etc",
    "/nix/store",
    "/proc",
    "/sys",
];

/// Devices every program may open for reading and writing (and ioctl: a
/// pager sets terminal modes on `/dev/tty`).
const DEVICES: [&str; 8] = [
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
    "/dev/pts",
    "/dev/ptmx",
];

/// Scratch trees every program may write (shared with the user's other
/// programs anyway).
const SCRATCH: [&str; 3] = ["/tmp", "/var/tmp", "/dev/shm"];

/// Trees no argument or current directory is granted write access to:
/// they are the system's (reads are granted already).
const SYSTEM_TREES: [&str; 6] = ["/dev", "/boot", "/run", "/var/lib", "/var/cache", "/srv"];

/// Rule descriptors left open until `execve` closes them (see `confine`);
/// well below any descriptor limit (1024 by default).
const LEAVE_OPEN: usize = 64;

/// Most rules made from the command line: a glob expanding to a million
/// names must not cost a million syscalls before the program starts.
const MAX_ARGUMENT_RULES: usize = 4096;

/// Why the launcher stops, and with which exit status.
#[derive(Debug)]
struct Failure {
    code: i32,
    message: String,
}

fn fail(code: i32, message: impl Into<String>) -> Failure {
    Failure {
        code,
        message: message.into(),
    }
}

/// A path for a message.
fn show(path: &[u8]) -> String {
    String::from_utf8_lossy(path).into_owned()
}

/// What the kernel handed the process: argv and envp as arrays (for
/// `execve`, untouched) and as byte strings, and `AT_EXECFN`.
pub struct Startup {
    pub argv: *const *const u8,
    pub envp: *const *const u8,
    pub args: Vec<&'static [u8]>,
    pub env: Vec<&'static [u8]>,
    pub execfn: Option<&'static [u8]>,
}

impl Startup {
    /// The value of environment variable `name`.
    fn var(&self, name: &str) -> Option<&'static [u8]> {
        self.env.iter().find_map(|entry| {
            entry
                .strip_prefix(name.as_bytes())
                .and_then(|rest| rest.strip_prefix(b"="))
        })
    }
}

/// The program's entry point. Returns only on failure, with the exit
/// status.
pub fn main(start: &Startup) -> i32 {
    let failure = match prepare(start) {
        Ok(Prepared::Explained) => return 0,
        Ok(Prepared::Launch { real, argv_offset }) => {
            let err = sys::execve(&real, start.argv.wrapping_add(argv_offset), start.envp);
            let code = if err == sys::ENOENT {
                EXIT_NOT_FOUND
            } else {
                EXIT_CANNOT_RUN
            };
            fail(code, format!("cannot run {}: {err}", show(&real)))
        }
        Err(failure) => failure,
    };
    let _ = sys::write_all(2, format!("wport-launch: {}\n", failure.message).as_bytes());
    failure.code
}

enum Prepared {
    /// `--explain`: the rules were printed.
    Explained,
    /// Confined; run `real` with `argv` from this index on.
    Launch { real: Vec<u8>, argv_offset: usize },
}

fn prepare(start: &Startup) -> Result<Prepared, Failure> {
    let args = &start.args;
    let cwd = sys::getcwd().ok();
    let mut resolver = Resolver::default();
    // How it was started: through a link (a shim), or by name.
    let shim = start.execfn.and_then(shim_name);
    // The launcher's own path: where the shim's last link points, or
    // what was executed.
    let ran = shim
        .as_ref()
        .map(|(_, launcher)| launcher.as_slice())
        .or(start.execfn);
    let exe = launcher_path(ran, cwd.as_deref(), &mut resolver).map_err(|e| {
        fail(
            EXIT_SETUP,
            format!("cannot find itself (AT_EXECFN, /proc/self/exe): {e}"),
        )
    })?;
    let dir = parent(&exe).ok_or_else(|| fail(EXIT_SETUP, "the launcher has no directory"))?;
    let (name, argv_offset, explain) = match shim {
        Some((name, _)) => (name, 0, false),
        None => match args.get(1).copied() {
            Some(b"--run") if args.len() >= 3 => (args[2].to_vec(), 2, false),
            Some(b"--explain") if args.len() >= 3 => (args[2].to_vec(), 2, true),
            _ => {
                return Err(fail(
                    EXIT_SETUP,
                    "run a program through its link in PREFIX/bin, or `wport-launch --run NAME [ARGS...]` \
                     (`--explain NAME [ARGS...]` prints its rules)",
                ));
            }
        },
    };
    if name.is_empty() || name.contains(&b'/') || name == b"." || name == b".." {
        return Err(fail(
            EXIT_NOT_FOUND,
            format!("{:?} is not a program name", show(&name)),
        ));
    }
    let shown = show(&name);
    let policy_path = join(&join(&dir, b"policy"), &name);
    let text = sys::read_file(&policy_path)
        .map_err(|e| (e, None))
        .and_then(|bytes| {
            String::from_utf8(bytes)
                .map_err(|_| (sys::EINVAL, Some("stream did not contain valid UTF-8")))
        })
        .map_err(|(e, invalid)| {
            let code = if e == sys::ENOENT {
                EXIT_NOT_FOUND
            } else {
                EXIT_SETUP
            };
            let why = match invalid {
                Some(why) => why.to_owned(),
                None => format!("{e}"),
            };
            fail(
                code,
                format!(
                    "{shown}: cannot read its policy {}: {why}",
                    show(&policy_path)
                ),
            )
        })?;
    let policy = Policy::parse(&text).map_err(|e| {
        fail(
            EXIT_SETUP,
            format!("{shown}: refusing its policy {}: {e}", show(&policy_path)),
        )
    })?;
    let real = join(&join(&dir, b"real"), &name);
    // PREFIX/libexec/wport/PORT/wport-launch
    let prefix = parent(&dir)
        .and_then(|d| parent(&d))
        .and_then(|d| parent(&d))
        .ok_or_else(|| {
            fail(
                EXIT_SETUP,
                "the launcher is not in PREFIX/libexec/wport/PORT",
            )
        })?;
    let places = Places::new(prefix, cwd, start, &mut resolver);
    let rules = plan(
        &policy,
        &places,
        &args[argv_offset + 1..],
        &real,
        &mut resolver,
    );
    if explain {
        let _ = sys::write_all(1, explain_text(&shown, &policy, &places, &rules).as_bytes());
        return Ok(Prepared::Explained);
    }
    let abi = landlock_abi();
    if !policy.network && abi < 4 {
        private_network()?;
    }
    confine(&policy, &rules, &shown, abi, start)?;
    Ok(Prepared::Launch { real, argv_offset })
}

/// The program's name: the last link before the launcher on the path the
/// caller executed, and where that link points (the launcher, not yet
/// canonical). `None` when the launcher was run by its own name.
fn shim_name(execfn: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut path = execfn.to_vec();
    // A user's chain of links to the shim is followed; a loop is not.
    for _ in 0..16 {
        let target = sys::readlink(&path).ok()?;
        let next = match parent(&path) {
            Some(parent) if !is_absolute(&target) => join(&parent, &target),
            _ => target,
        };
        if file_name(&next) == Some(LAUNCHER.as_bytes()) {
            return file_name(&path).map(|name| (name.to_vec(), next));
        }
        path = next;
    }
    None
}

/// The launcher's own canonical path: `ran` (where the shim's link points,
/// or the path the caller executed, `AT_EXECFN`) with every link resolved,
/// which is the file the kernel just ran, as `/proc/self/exe` would say.
/// Resolved component by component: a `/proc/self` lookup builds that
/// process's proc entries first, which costs more here than the whole walk
/// (docs/BENCHMARKS.md). `/proc/self/exe` only when the kernel gave no
/// `AT_EXECFN`.
fn launcher_path(
    ran: Option<&[u8]>,
    cwd: Option<&[u8]>,
    resolver: &mut Resolver,
) -> Result<Vec<u8>, Errno> {
    let Some(ran) = ran else {
        return sys::readlink(b"/proc/self/exe");
    };
    let absolute = if is_absolute(ran) {
        ran.to_vec()
    } else {
        join(cwd.ok_or(sys::ENOENT)?, ran)
    };
    resolver.canonicalize(&absolute)
}

/// realpath(3) without `/proc`: each component of an absolute path is
/// looked up with `readlink` (`EINVAL`: it is there and not a link; a
/// link: its target takes the component's place; `..` after resolution,
/// so it goes up from where a link led, as the kernel does). Directories
/// already resolved are remembered: `tool DIR/*.c` walks `DIR` once.
#[derive(Debug, Default)]
struct Resolver {
    dirs: BTreeMap<Vec<u8>, Vec<u8>>,
}

/// Links followed in one resolution before giving up (the kernel's own
/// limit).
const MAX_LINKS: usize = 40;

impl Resolver {
    /// The canonical form of absolute `path`, which must exist.
    fn canonicalize(&mut self, path: &[u8]) -> Result<Vec<u8>, Errno> {
        if !is_absolute(path) {
            return Err(sys::EINVAL);
        }
        // The last component alone when its directory is known.
        if let (Some(dir), Some(name)) = (parent(path), file_name(path)) {
            let dir = match self.dirs.get(&dir) {
                Some(known) => known.clone(),
                None => {
                    let known = walk(&dir)?;
                    self.dirs.insert(dir, known.clone());
                    known
                }
            };
            let candidate = join(&dir, name);
            return match sys::readlink(&candidate) {
                Err(sys::EINVAL) => Ok(candidate),
                // A link: its target, from the directory already resolved.
                Ok(target) => walk_from(
                    if is_absolute(&target) {
                        b"/".to_vec()
                    } else {
                        dir
                    },
                    &target,
                ),
                Err(e) => Err(e),
            };
        }
        walk(path)
    }
}

/// Resolves absolute `path` component by component (see [`Resolver`]).
fn walk(path: &[u8]) -> Result<Vec<u8>, Errno> {
    walk_from(b"/".to_vec(), path)
}

/// Resolves `path`'s components one by one below `done`, a canonical
/// directory.
fn walk_from(mut done: Vec<u8>, path: &[u8]) -> Result<Vec<u8>, Errno> {
    // Components still to resolve, the next one last.
    let mut rest: Vec<Vec<u8>> = components(path).rev().map(<[u8]>::to_vec).collect();
    let mut links = 0;
    while let Some(c) = rest.pop() {
        if c.as_slice() == b".." {
            done = parent(&done).unwrap_or_else(|| b"/".to_vec());
            continue;
        }
        let candidate = join(&done, &c);
        match sys::readlink(&candidate) {
            Err(sys::EINVAL) => done = candidate,
            Ok(target) => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(sys::ELOOP);
                }
                rest.extend(components(&target).rev().map(<[u8]>::to_vec));
                if is_absolute(&target) {
                    done = b"/".to_vec();
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

// Paths as `std::path` sees them: components separated by one or more
// `/`, `.` components dropped (the way `Path::components` normalises).

fn is_absolute(path: &[u8]) -> bool {
    path.first() == Some(&b'/')
}

fn components(path: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    path.split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
}

/// `Path::eq`.
fn same_path(a: &[u8], b: &[u8]) -> bool {
    is_absolute(a) == is_absolute(b) && components(a).eq(components(b))
}

/// `Path::starts_with`: `base`'s components are a prefix of `path`'s.
fn starts_with(path: &[u8], base: &[u8]) -> bool {
    if is_absolute(path) != is_absolute(base) {
        return false;
    }
    let mut own = components(path);
    components(base).all(|c| own.next() == Some(c))
}

/// `Path::file_name`: the last component, unless it is `..`.
fn file_name(path: &[u8]) -> Option<&[u8]> {
    components(path).last().filter(|c| *c != b"..")
}

/// `Path::parent`: the path without its last component (`None` for the
/// root and the empty path).
fn parent(path: &[u8]) -> Option<Vec<u8>> {
    let all: Vec<&[u8]> = components(path).collect();
    let (_, init) = all.split_last()?;
    let mut out = Vec::with_capacity(path.len());
    if is_absolute(path) {
        out.push(b'/');
    }
    for (i, c) in init.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(c);
    }
    Some(out)
}

/// `Path::join`: `rel` below `base` (an absolute `rel` replaces it).
fn join(base: &[u8], rel: &[u8]) -> Vec<u8> {
    if is_absolute(rel) || base.is_empty() {
        return rel.to_vec();
    }
    let mut out = Vec::with_capacity(base.len() + 1 + rel.len());
    out.extend_from_slice(base);
    if !base.ends_with(b"/") {
        out.push(b'/');
    }
    out.extend_from_slice(rel);
    out
}

/// What the placeholders stand for in this run.
#[derive(Debug)]
struct Places {
    prefix: Vec<u8>,
    home: Option<Vec<u8>>,
    cwd: Option<Vec<u8>>,
    tmp: Option<Vec<u8>>,
    xdg_config: Option<Vec<u8>>,
    xdg_data: Option<Vec<u8>>,
    xdg_cache: Option<Vec<u8>>,
    xdg_state: Option<Vec<u8>>,
    xdg_runtime: Option<Vec<u8>>,
}

/// An absolute path from the environment (a relative one is ignored, as
/// the XDG specification says).
fn env_path(start: &Startup, name: &str) -> Option<Vec<u8>> {
    start
        .var(name)
        .filter(|p| is_absolute(p))
        .map(<[u8]>::to_vec)
}

impl Places {
    fn new(
        prefix: Vec<u8>,
        cwd: Option<Vec<u8>>,
        start: &Startup,
        resolver: &mut Resolver,
    ) -> Places {
        // Canonical, so that "is this the home directory or above it" is
        // a comparison of real paths.
        let home = env_path(start, "HOME").map(|h| resolver.canonicalize(&h).unwrap_or(h));
        let under_home = |rel: &[u8]| home.as_ref().map(|h| join(h, rel));
        Places {
            prefix,
            cwd,
            tmp: env_path(start, "TMPDIR").or_else(|| Some(b"/tmp".to_vec())),
            xdg_config: env_path(start, "XDG_CONFIG_HOME").or_else(|| under_home(b".config")),
            xdg_data: env_path(start, "XDG_DATA_HOME").or_else(|| under_home(b".local/share")),
            xdg_cache: env_path(start, "XDG_CACHE_HOME").or_else(|| under_home(b".cache")),
            xdg_state: env_path(start, "XDG_STATE_HOME").or_else(|| under_home(b".local/state")),
            xdg_runtime: env_path(start, "XDG_RUNTIME_DIR"),
            home,
        }
    }

    /// A policy path with its placeholder expanded (`None`: the place is
    /// unknown in this run, e.g. no `$XDG_RUNTIME_DIR`).
    fn expand(&self, path: &str) -> Option<Vec<u8>> {
        let Some(after) = path.strip_prefix('{') else {
            return Some(path.as_bytes().to_vec());
        };
        let (name, rest) = after.split_once('}')?;
        let base = match name {
            "prefix" => Some(&self.prefix),
            "home" => self.home.as_ref(),
            "cwd" => self.cwd.as_ref(),
            "tmp" => self.tmp.as_ref(),
            "xdg-config" => self.xdg_config.as_ref(),
            "xdg-data" => self.xdg_data.as_ref(),
            "xdg-cache" => self.xdg_cache.as_ref(),
            "xdg-state" => self.xdg_state.as_ref(),
            "xdg-runtime" => self.xdg_runtime.as_ref(),
            _ => None,
        }?;
        let rest = rest.trim_start_matches('/');
        Some(if rest.is_empty() {
            base.clone()
        } else {
            join(base, rest.as_bytes())
        })
    }

    /// The root, the home directory, or a directory above it: a grant
    /// there would cover `~/.ssh`, `~/.gnupg` and every dotfile.
    fn too_broad(&self, path: &[u8]) -> bool {
        same_path(path, b"/") || self.home.as_ref().is_some_and(|h| starts_with(h, path))
    }

    /// A system tree or the prefix: readable by default, never writable
    /// because it was named or is the current directory.
    fn system(&self, path: &[u8]) -> bool {
        SYSTEM_READ
            .iter()
            .chain(&SYSTEM_TREES)
            .any(|tree| starts_with(path, tree.as_bytes()))
            || starts_with(path, &self.prefix)
    }
}

/// One Landlock rule: a tree (or file) and what may be done beneath it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    path: Vec<u8>,
    access: u64,
    why: &'static str,
}

/// The rights of each kind of grant.
struct Rights {
    read: u64,
    write: u64,
    device: u64,
    list: u64,
    run: u64,
}

impl Rights {
    fn new(exec: bool) -> Rights {
        let execute = if exec { FS_EXECUTE } else { 0 };
        Rights {
            read: FS_READ_FILE | FS_READ_DIR | execute,
            write: (FS_ALL & !FS_EXECUTE) | execute,
            device: FS_READ_FILE | FS_WRITE_FILE | FS_TRUNCATE | FS_IOCTL_DEV,
            list: FS_READ_DIR,
            run: FS_EXECUTE | FS_READ_FILE,
        }
    }
}

/// Every rule of this run, in the order they are added.
fn plan(
    policy: &Policy,
    places: &Places,
    args: &[&[u8]],
    real: &[u8],
    resolver: &mut Resolver,
) -> Vec<Rule> {
    let rights = Rights::new(policy.exec);
    let mut rules = Vec::new();
    let mut push = |path: Vec<u8>, access, why| rules.push(Rule { path, access, why });
    for tree in SYSTEM_READ {
        push(tree.as_bytes().to_vec(), rights.read, "system");
    }
    push(places.prefix.clone(), rights.read, "prefix");
    for device in DEVICES {
        push(device.as_bytes().to_vec(), rights.device, "device");
    }
    for tree in SCRATCH.iter().map(|t| t.as_bytes().to_vec()) {
        if !places.too_broad(&tree) {
            push(tree, rights.write, "tmp");
        }
    }
    // `$TMPDIR`, unless it is one of those already (`/tmp` most often).
    if let Some(tmp) = &places.tmp
        && !places.too_broad(tmp)
        && !SCRATCH.iter().any(|t| same_path(tmp, t.as_bytes()))
    {
        push(tmp.clone(), rights.write, "tmp");
    }
    if let Some(cwd) = &places.cwd {
        if places.too_broad(cwd) {
            // `figlet hi > out` in ~ works (the shell opens `out`); the
            // program itself may list the directory, not read its files.
            push(cwd.clone(), rights.list, "cwd (list only: home or above)");
        } else if !places.system(cwd) {
            push(cwd.clone(), rights.write, "cwd");
        }
    }
    for path in &policy.read {
        if let Some(path) = places.expand(path) {
            push(path, rights.read, "[runtime] read");
        }
    }
    for raw in &policy.write {
        if let Some(path) = places.expand(raw) {
            // A granted directory below a placeholder that does not exist
            // yet (a first run's cache) is created, private, so the grant
            // has something to hold on to.
            if raw.starts_with('{') && !sys::exists(&path) && !places.too_broad(&path) {
                create_dir_all(&path);
            }
            push(path, rights.write, "[runtime] write");
        }
    }
    if !policy.exec {
        // The program itself, and what the kernel runs to load it.
        push(real.to_vec(), rights.run, "the program");
        for interpreter in interpreters(real) {
            push(interpreter, rights.run, "its interpreter");
        }
    }
    if policy.arguments {
        argument_rules(args, places, &rights, &mut rules, resolver);
    }
    rules
}

/// `mkdir -p -m 700`: each missing directory of `path`, private.
fn create_dir_all(path: &[u8]) {
    if sys::exists(path) {
        return;
    }
    if let Some(parent) = parent(path)
        && !parent.is_empty()
    {
        create_dir_all(&parent);
    }
    let _ = sys::mkdir(path, 0o700);
}

/// Rules for the paths named on the command line: an existing file or
/// directory (for `--opt=VALUE`, the value) is granted read-write (read
/// only inside a system tree or the prefix); a name that does not exist
/// yet grants its directory, where the program will create it. Never the
/// root, the home directory or above.
fn argument_rules(
    args: &[&[u8]],
    places: &Places,
    rights: &Rights,
    rules: &mut Vec<Rule>,
    resolver: &mut Resolver,
) {
    let mut seen: BTreeSet<Vec<u8>> = rules.iter().map(|r| r.path.clone()).collect();
    let mut added = 0;
    // A name directly in a current directory the program may already write
    // (`tool *.c`, or the same names made absolute) needs no rule of its
    // own: one lstat instead of a realpath and a rule per file. Not a link:
    // its target may be elsewhere.
    let cwd_writable = places
        .cwd
        .as_ref()
        .is_some_and(|cwd| !places.too_broad(cwd) && !places.system(cwd));
    for arg in args {
        let bytes: &[u8] = arg;
        let candidate = match bytes.first() {
            None => continue,
            Some(b'-') => match bytes.iter().position(|&b| b == b'=') {
                Some(i) => &bytes[i + 1..],
                None => continue,
            },
            Some(_) => bytes,
        };
        if candidate.is_empty() {
            continue;
        }
        let path = candidate;
        // `NAME` or `CWD/NAME`, NAME not `.` or `..`.
        let in_cwd = match parent(path) {
            Some(parent) if parent.is_empty() => true,
            Some(parent) => places
                .cwd
                .as_deref()
                .is_some_and(|cwd| same_path(cwd, &parent)),
            None => false,
        } && file_name(path).is_some();
        if cwd_writable
            && in_cwd
            && sys::lstat_mode(path).map_or(true, |mode| mode & sys::S_IFMT != sys::S_IFLNK)
        {
            continue;
        }
        let absolute = if is_absolute(path) {
            path.to_vec()
        } else {
            match &places.cwd {
                Some(cwd) => join(cwd, path),
                None => continue,
            }
        };
        let target = match resolver.canonicalize(&absolute) {
            Ok(target) => target,
            Err(_) => match parent(&absolute).map(|p| resolver.canonicalize(&p)) {
                Some(Ok(parent)) => parent,
                _ => continue,
            },
        };
        if places.too_broad(&target) || !seen.insert(target.clone()) {
            continue;
        }
        let access = if places.system(&target) {
            rights.read
        } else {
            rights.write
        };
        rules.push(Rule {
            path: target,
            access,
            why: "command line",
        });
        added += 1;
        if added == MAX_ARGUMENT_RULES {
            break;
        }
    }
}

/// The interpreters the kernel opens to run `program`: its `#!` line's
/// program (and that one's ELF interpreter), or its own ELF interpreter.
fn interpreters(program: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut next = Some(program.to_vec());
    for _ in 0..2 {
        let Some(path) = next.take() else { break };
        let Ok(file) = sys::open(&path, sys::O_RDONLY, 0) else {
            break;
        };
        let mut head = [0u8; 256];
        let Ok(n) = sys::pread(&file, &mut head, 0) else {
            break;
        };
        let head = &head[..n];
        if let Some(line) = head.strip_prefix(b"#!") {
            let line = line.split(|&b| b == b'\n').next().unwrap_or_default();
            let word = line
                .split(|b| b.is_ascii_whitespace())
                .find(|w| !w.is_empty());
            if let Some(word) = word {
                out.push(word.to_vec());
                next = Some(word.to_vec());
            }
        } else if let Some(interpreter) = elf_interpreter(&file, head) {
            out.push(interpreter);
        }
    }
    out
}

/// `pread` of exactly `buf.len()` bytes.
fn read_exact_at(file: &sys::Fd, buf: &mut [u8], offset: u64) -> Option<()> {
    let mut done = 0;
    while done < buf.len() {
        match sys::pread(file, &mut buf[done..], offset + done as u64) {
            Ok(0) | Err(_) => return None,
            Ok(n) => done += n,
        }
    }
    Some(())
}

/// `PT_INTERP` of a 64-bit little-endian ELF file.
fn elf_interpreter(file: &sys::Fd, head: &[u8]) -> Option<Vec<u8>> {
    if head.len() < 64 || &head[..4] != b"\x7fELF" || head[4] != 2 || head[5] != 1 {
        return None;
    }
    let u16_at = |b: &[u8], at: usize| u16::from_le_bytes([b[at], b[at + 1]]) as u64;
    let u64_at =
        |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or([0; 8]));
    let (phoff, phentsize, phnum) = (u64_at(head, 0x20), u16_at(head, 0x36), u16_at(head, 0x38));
    if phentsize < 56 || phnum > 256 {
        return None;
    }
    let mut table = alloc::vec![0u8; (phentsize * phnum) as usize];
    read_exact_at(file, &mut table, phoff)?;
    for entry in table.chunks_exact(phentsize as usize) {
        if u32::from_le_bytes(entry[..4].try_into().ok()?) == 3 {
            let (offset, size) = (u64_at(entry, 0x08), u64_at(entry, 0x20));
            if size == 0 || size > 4096 {
                return None;
            }
            let mut name = alloc::vec![0u8; size as usize];
            read_exact_at(file, &mut name, offset)?;
            let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            name.truncate(end);
            return Some(name);
        }
    }
    None
}

/// A private network namespace: only loopback, and down. As root this is
/// `unshare(CLONE_NEWNET)`; as an ordinary user it needs a new user
/// namespace too, mapping only the caller's own uid and gid (so files and
/// `id` look the same). Not available (a kernel or distribution that
/// forbids unprivileged user namespaces, or a nested launch, already inside
/// one): nothing happens, and Landlock's TCP rules still deny connecting
/// and listening. The launcher is single-threaded, so no thread shares
/// the namespaces.
fn private_network() -> Result<(), Failure> {
    if sys::geteuid() == 0 {
        let _ = sys::unshare(sys::CLONE_NEWNET);
        return Ok(());
    }
    // Only from the initial user namespace: a nested launch is inside the
    // outer launch's namespaces already (its network is the outer one's),
    // and its Landlock layer forbids writing a uid map.
    match sys::read_file(b"/proc/self/uid_map") {
        Ok(map) if is_initial_map(&map) => {}
        _ => return Ok(()),
    }
    let uid = sys::getuid();
    let gid = sys::getgid();
    if sys::unshare(sys::CLONE_NEWUSER | sys::CLONE_NEWNET).is_err() {
        return Ok(());
    }
    // From here on the process is in the new user namespace: without a map
    // it would run as the overflow uid, so a failure stops the launch.
    for (file, text) in [
        ("/proc/self/setgroups", "deny".to_owned()),
        ("/proc/self/uid_map", format!("{uid} {uid} 1")),
        ("/proc/self/gid_map", format!("{gid} {gid} 1")),
    ] {
        sys::write_file(file.as_bytes(), text.as_bytes()).map_err(|e| {
            fail(
                EXIT_SETUP,
                format!("writing {file} for the private network namespace: {e}"),
            )
        })?;
    }
    Ok(())
}

/// The kernel's Landlock ABI version (0: none).
fn landlock_abi() -> i64 {
    const LANDLOCK_CREATE_RULESET_VERSION: usize = 1;
    match sys::landlock_create_ruleset(&[], LANDLOCK_CREATE_RULESET_VERSION) {
        Ok(v) => v as i64,
        Err(_) => 0,
    }
}

/// Whether a `uid_map` is the initial namespace's (`0 0 4294967295`).
fn is_initial_map(map: &[u8]) -> bool {
    let fields: Vec<&[u8]> = map
        .split(|b| b.is_ascii_whitespace())
        .filter(|f| !f.is_empty())
        .collect();
    fields == [b"0".as_slice(), b"0", b"4294967295"]
}

/// `no_new_privs`, then the ruleset, then `restrict_self`.
fn confine(
    policy: &Policy,
    rules: &[Rule],
    name: &str,
    abi: i64,
    start: &Startup,
) -> Result<(), Failure> {
    const PR_SET_NO_NEW_PRIVS: usize = 38;
    let setup = |what: &str, e: Errno| fail(EXIT_SETUP, format!("{name}: {what}: {e}"));
    sys::prctl(PR_SET_NO_NEW_PRIVS, 1, 0).map_err(|e| setup("setting no_new_privs", e))?;
    let enforced = abi >= 1;
    if enforced {
        let fs = FS_ALL & fs_rights_of(abi);
        let net = if !policy.network && abi >= 4 {
            NET_TCP
        } else {
            0
        };
        let mut scoped = 0;
        if abi >= 6 {
            scoped |= SCOPE_SIGNAL;
            if !policy.network {
                scoped |= SCOPE_ABSTRACT_UNIX_SOCKET;
            }
        }
        // struct landlock_ruleset_attr grew with the ABI: pass only the
        // fields this kernel knows.
        let attr = [fs, net, scoped];
        let size = if abi >= 6 {
            3
        } else if abi >= 4 {
            2
        } else {
            1
        };
        let ruleset = sys::landlock_create_ruleset(&attr[..size], 0)
            .map(sys::own)
            .map_err(|e| setup("creating the Landlock ruleset", e))?;
        for (i, rule) in rules.iter().enumerate() {
            // A tree this machine does not have (`/lib32`, a config
            // directory never created) is simply not granted.
            let Ok(fd) = sys::open(&rule.path, sys::O_PATH, 0) else {
                continue;
            };
            let access = rule.access & fs;
            // A file that is not a directory takes only the file rights:
            // the kernel says EINVAL to the others (no fstat needed to
            // know beforehand).
            let added = match sys::landlock_add_path_rule(&ruleset, access, &fd) {
                Err(sys::EINVAL) if access & FS_FILE != access => {
                    if access & FS_FILE == 0 {
                        Ok(())
                    } else {
                        sys::landlock_add_path_rule(&ruleset, access & FS_FILE, &fd)
                    }
                }
                other => other,
            };
            added.map_err(|e| setup(&format!("granting {}", show(&rule.path)), e))?;
            // The default rules' descriptors are left for `execve` to
            // close (close-on-exec): a system call fewer each. Past
            // them (arguments: up to thousands), each is closed here, so
            // a long command line never meets the descriptor limit.
            if i < LEAVE_OPEN {
                fd.leave_to_exec();
            }
        }
        sys::landlock_restrict_self(&ruleset)
            .map_err(|e| setup("entering the Landlock domain", e))?;
        ruleset.leave_to_exec();
    }
    if !policy.network {
        crate::seccomp::deny_network_sockets()
            .map_err(|e| setup("loading the seccomp filter against network sockets", e))?;
    }
    if !enforced {
        match user_allows_unconfined(start) {
            Some(config) => {
                let _ = sys::write_all(
                    2,
                    format!(
                        "wport-launch: WARNING: {name} runs UNCONFINED: this kernel has no Landlock \
                         (allowed by `unconfined-without-landlock = true` in {})\n",
                        show(&config)
                    )
                    .as_bytes(),
                );
            }
            None => {
                return Err(fail(
                    EXIT_SETUP,
                    format!(
                        "{name}: refusing to run unconfined: this kernel has no Landlock (Linux 5.13 or later \
                         with `landlock` in the LSM list). To run wport's programs unconfined anyway, write \
                         `unconfined-without-landlock = true` in $XDG_CONFIG_HOME/wport/launch.conf"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The user's own opt-out of confinement on a kernel without Landlock:
/// `unconfined-without-landlock = true` in
/// `$XDG_CONFIG_HOME/wport/launch.conf` (`~/.config/wport/launch.conf`).
fn user_allows_unconfined(start: &Startup) -> Option<Vec<u8>> {
    let dir = env_path(start, "XDG_CONFIG_HOME")
        .or_else(|| env_path(start, "HOME").map(|h| join(&h, b".config")))?;
    let file = join(&dir, b"wport/launch.conf");
    let text = String::from_utf8(sys::read_file(&file).ok()?).ok()?;
    text.lines()
        .map(|l| l.split('#').next().unwrap_or_default())
        .any(|l| {
            let mut kv = l.splitn(2, '=').map(str::trim);
            kv.next() == Some("unconfined-without-landlock") && kv.next() == Some("true")
        })
        .then_some(file)
}

/// `--explain`: the policy and every rule, one per line.
fn explain_text(name: &str, policy: &Policy, places: &Places, rules: &[Rule]) -> String {
    let mut out = format!(
        "program {name}\nprefix {}\nnetwork {}\nexec {}\narguments {}\n",
        show(&places.prefix),
        policy.network,
        policy.exec,
        policy.arguments
    );
    for rule in rules {
        let exists = if sys::exists(&rule.path) {
            ""
        } else {
            " (absent)"
        };
        let mut rights: Vec<&str> = Vec::new();
        for (flag, word) in [
            (FS_READ_FILE, "read"),
            (FS_READ_DIR, "list"),
            (FS_WRITE_FILE, "write"),
            (FS_MAKE_REG, "create"),
            (FS_REMOVE_FILE, "remove"),
            (FS_EXECUTE, "execute"),
            (FS_IOCTL_DEV, "ioctl"),
        ] {
            if rule.access & flag != 0 {
                rights.push(word);
            }
        }
        out.push_str(&format!(
            "{} {} [{}]{exists}\n",
            rule.why,
            show(&rule.path),
            rights.join(",")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn places(home: &str, cwd: &str) -> Places {
        Places {
            prefix: b"/opt/wport".to_vec(),
            home: Some(home.as_bytes().to_vec()),
            cwd: Some(cwd.as_bytes().to_vec()),
            tmp: Some(b"/tmp".to_vec()),
            xdg_config: Some(format!("{home}/.config").into_bytes()),
            xdg_data: None,
            xdg_cache: None,
            xdg_state: None,
            xdg_runtime: None,
        }
    }

    #[test]
    fn expansion() {
        let p = places("/home/u", "/home/u/src");
        assert_eq!(p.expand("{home}"), Some(b"/home/u".to_vec()));
        assert_eq!(
            p.expand("{xdg-config}/figlet"),
            Some(b"/home/u/.config/figlet".to_vec())
        );
        assert_eq!(
            p.expand("{prefix}/share"),
            Some(b"/opt/wport/share".to_vec())
        );
        assert_eq!(p.expand("{xdg-runtime}/x"), None);
        assert_eq!(p.expand("/var/lib/x"), Some(b"/var/lib/x".to_vec()));
    }

    #[test]
    fn home_and_above_are_too_broad() {
        let p = places("/home/u", "/home/u/src");
        for broad in ["/", "/home", "/home/u", "/home/u/", "//home"] {
            assert!(p.too_broad(broad.as_bytes()), "{broad}");
        }
        for fine in ["/home/u/src", "/home/v", "/tmp", "/home/u/.ssh", "/hom"] {
            assert!(!p.too_broad(fine.as_bytes()), "{fine}");
        }
    }

    #[test]
    fn cwd_at_home_is_list_only() {
        let p = places("/home/u", "/home/u");
        let rules = plan(&Policy::default(), &p, &[], b"/x", &mut Resolver::default());
        let cwd: Vec<&Rule> = rules.iter().filter(|r| r.path == b"/home/u").collect();
        assert_eq!(cwd.len(), 1);
        assert_eq!(cwd[0].access, FS_READ_DIR);
    }

    #[test]
    fn initial_map() {
        assert!(is_initial_map(b"         0          0 4294967295\n"));
        assert!(!is_initial_map(b"      1000       1000          1\n"));
    }

    /// The resolver gives what `std::fs::canonicalize` (realpath) gives:
    /// links relative and absolute, chains, `..` after a link, a missing
    /// file, a loop; with the directory cache warm and cold.
    #[test]
    fn resolution_is_realpaths() {
        use std::os::unix::fs::symlink;
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap();
        let d = |p: &str| root.join(p);
        std::fs::create_dir_all(d("real/sub")).unwrap();
        std::fs::write(d("real/sub/file"), "x").unwrap();
        symlink("real", d("rel")).unwrap();
        symlink(d("real/sub"), d("abs")).unwrap();
        symlink("rel/sub", d("chain")).unwrap();
        symlink("../real", d("real/sub/up")).unwrap();
        symlink("loop2", d("loop1")).unwrap();
        symlink("loop1", d("loop2")).unwrap();
        let mut warm = Resolver::default();
        for p in [
            "real",
            "real/sub/file",
            "rel/sub/file",
            "abs/file",
            "chain/file",
            "chain/../sub",
            "real/sub/up/sub/file",
            "abs/..",
            "rel/./sub//file",
            "missing",
            "rel/missing",
            "loop1",
            "loop1/x",
            "real/sub/file/x",
        ] {
            let path = d(p);
            let expected = std::fs::canonicalize(&path).ok();
            let bytes = path.as_os_str().as_encoded_bytes();
            for got in [
                Resolver::default().canonicalize(bytes),
                warm.canonicalize(bytes),
            ] {
                assert_eq!(
                    got.ok()
                        .map(|v| std::path::PathBuf::from(String::from_utf8(v).unwrap())),
                    expected,
                    "{p}"
                );
            }
        }
    }

    /// The `std::path` operations, on the cases the launcher meets.
    #[test]
    fn paths_as_std_sees_them() {
        use std::path::Path;
        for p in [
            "/", "/a", "/a/b", "/a/b/", "a", "a/b", "..", "a/..", "/a/./b", "//a//b", "a/.",
            "../x", "/a/b/..",
        ] {
            let std = Path::new(p);
            assert_eq!(
                parent(p.as_bytes())
                    .map(|v| std::path::PathBuf::from(String::from_utf8(v).unwrap())),
                std.parent().map(Path::to_path_buf),
                "parent of {p:?}"
            );
            assert_eq!(
                file_name(p.as_bytes()),
                std.file_name().map(|n| n.as_encoded_bytes()),
                "file_name of {p:?}"
            );
            for base in ["/", "/a", "/a/b", "a", "/ab"] {
                assert_eq!(
                    starts_with(p.as_bytes(), base.as_bytes()),
                    std.starts_with(base),
                    "{p:?} starts with {base:?}"
                );
                assert_eq!(
                    same_path(p.as_bytes(), base.as_bytes()),
                    std == Path::new(base),
                    "{p:?} == {base:?}"
                );
                assert_eq!(
                    String::from_utf8(join(base.as_bytes(), p.as_bytes())).unwrap(),
                    Path::new(base).join(p).to_str().unwrap(),
                    "{base:?} joined with {p:?}"
                );
            }
        }
    }
}
