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

use std::collections::HashSet;
use std::ffi::{CStr, CString, OsStr, c_char, c_int};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, PathBeneath, PathFd, Ruleset, RulesetAttr,
    RulesetCreatedAttr, RulesetStatus, Scope,
};

use crate::policy::{LAUNCHER, Policy};

/// The launcher itself failed (bad policy, no Landlock...).
pub const EXIT_SETUP: c_int = 125;
/// The program is there but could not be run.
pub const EXIT_CANNOT_RUN: c_int = 126;
/// The program (or its policy) is not there.
pub const EXIT_NOT_FOUND: c_int = 127;

/// The Landlock ABI whose rights the ruleset asks for: v6 (Linux 6.12):
/// file system rights up to ioctl on devices, TCP bind/connect, and the
/// abstract-unix-socket and signal scopes. On an older kernel the crate
/// leaves out what it does not know (best effort); with no Landlock at all
/// the launcher refuses.
const ABI_USED: ABI = ABI::V6;

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

/// Most rules made from the command line: a glob expanding to a million
/// names must not cost a million syscalls before the program starts.
const MAX_ARGUMENT_RULES: usize = 4096;

/// Why the launcher stops, and with which exit status.
#[derive(Debug)]
struct Failure {
    code: c_int,
    message: String,
}

fn fail(code: c_int, message: impl Into<String>) -> Failure {
    Failure {
        code,
        message: message.into(),
    }
}

/// The program's entry point: the caller's `argc`/`argv`/`envp` exactly as
/// `main` received them. Returns only on failure, with the exit status.
pub fn main(argc: c_int, argv: *const *const c_char, envp: *const *const c_char) -> c_int {
    let args = arguments(argc, argv);
    let failure = match prepare(&args) {
        Ok(Prepared::Explained) => return 0,
        Ok(Prepared::Launch { real, argv_offset }) => {
            execve(&real, argv.wrapping_add(argv_offset), envp)
        }
        Err(failure) => failure,
    };
    eprintln!("wport-launch: {}", failure.message);
    failure.code
}

/// `argv` as `OsStr`s.
#[expect(unsafe_code, reason = "reads the argv array the kernel gave main")]
fn arguments(argc: c_int, argv: *const *const c_char) -> Vec<&'static OsStr> {
    (0..usize::try_from(argc).unwrap_or(0))
        .map(|i| {
            // SAFETY: argv holds argc valid NUL-terminated strings that
            // live as long as the process (the kernel put them on the stack).
            let arg = unsafe { CStr::from_ptr(*argv.add(i)) };
            OsStr::from_bytes(arg.to_bytes())
        })
        .collect()
}

/// Replaces the process with `real`; returns only if that failed.
#[expect(unsafe_code, reason = "execve with the caller's own argv and envp")]
fn execve(real: &CStr, argv: *const *const c_char, envp: *const *const c_char) -> Failure {
    // SAFETY: `real` is NUL-terminated; `argv` is the kernel's
    // NULL-terminated array or a suffix of it (still NULL-terminated),
    // `envp` the kernel's environment array; execve returns only on error.
    unsafe { libc::execve(real.as_ptr(), argv, envp) };
    let err = std::io::Error::last_os_error();
    let code = match err.kind() {
        std::io::ErrorKind::NotFound => EXIT_NOT_FOUND,
        _ => EXIT_CANNOT_RUN,
    };
    fail(
        code,
        format!("cannot run {}: {err}", real.to_string_lossy()),
    )
}

enum Prepared {
    /// `--explain`: the rules were printed.
    Explained,
    /// Confined; run `real` with `argv` from this index on.
    Launch { real: CString, argv_offset: usize },
}

fn prepare(args: &[&OsStr]) -> Result<Prepared, Failure> {
    let exe = std::fs::read_link("/proc/self/exe").map_err(|e| {
        fail(
            EXIT_SETUP,
            format!("cannot find itself (/proc/self/exe): {e}"),
        )
    })?;
    let dir = exe
        .parent()
        .ok_or_else(|| fail(EXIT_SETUP, "the launcher has no directory"))?;
    // How it was started: through a link (a shim), or by name.
    let (name, argv_offset, explain) = match shim_name() {
        Some(name) => (name, 0, false),
        None => match args.get(1).map(|a| a.as_bytes()) {
            Some(b"--run") if args.len() >= 3 => (args[2].to_owned(), 2, false),
            Some(b"--explain") if args.len() >= 3 => (args[2].to_owned(), 2, true),
            _ => {
                return Err(fail(
                    EXIT_SETUP,
                    "run a program through its link in PREFIX/bin, or `wport-launch --run NAME [ARGS...]` \
                     (`--explain NAME [ARGS...]` prints its rules)",
                ));
            }
        },
    };
    let name_bytes = name.as_bytes();
    if name_bytes.is_empty() || name_bytes.contains(&b'/') || name == "." || name == ".." {
        return Err(fail(
            EXIT_NOT_FOUND,
            format!("{name:?} is not a program name"),
        ));
    }
    let shown = name.to_string_lossy();
    let policy_path = dir.join("policy").join(&name);
    let text = std::fs::read_to_string(&policy_path).map_err(|e| {
        let code = if e.kind() == std::io::ErrorKind::NotFound {
            EXIT_NOT_FOUND
        } else {
            EXIT_SETUP
        };
        fail(
            code,
            format!(
                "{shown}: cannot read its policy {}: {e}",
                policy_path.display()
            ),
        )
    })?;
    let policy = Policy::parse(&text).map_err(|e| {
        fail(
            EXIT_SETUP,
            format!(
                "{shown}: refusing its policy {}: {e}",
                policy_path.display()
            ),
        )
    })?;
    let real = dir.join("real").join(&name);
    // PREFIX/libexec/wport/PORT/wport-launch
    let prefix = dir
        .ancestors()
        .nth(3)
        .ok_or_else(|| {
            fail(
                EXIT_SETUP,
                "the launcher is not in PREFIX/libexec/wport/PORT",
            )
        })?
        .to_path_buf();
    let places = Places::new(prefix);
    let rules = plan(&policy, &places, &args[argv_offset + 1..], &real);
    if explain {
        print!("{}", explain_text(&shown, &policy, &places, &rules));
        return Ok(Prepared::Explained);
    }
    if !policy.network && landlock_abi() < 4 {
        private_network()?;
    }
    confine(&policy, &rules, &shown)?;
    let real = CString::new(real.as_os_str().as_bytes())
        .map_err(|_| fail(EXIT_SETUP, "a NUL in the program's path"))?;
    Ok(Prepared::Launch { real, argv_offset })
}

/// The program's name: the last link before the launcher on the path the
/// caller executed. `None` when the launcher was run by its own name.
fn shim_name() -> Option<std::ffi::OsString> {
    let execfn = rustix::param::linux_execfn();
    let mut path = PathBuf::from(OsStr::from_bytes(execfn.to_bytes()));
    // A user's chain of links to the shim is followed; a loop is not.
    for _ in 0..16 {
        let target = std::fs::read_link(&path).ok()?;
        if target.file_name() == Some(OsStr::new(LAUNCHER)) {
            return path.file_name().map(OsStr::to_owned);
        }
        path = match path.parent() {
            Some(parent) if target.is_relative() => parent.join(target),
            _ => target,
        };
    }
    None
}

/// What the placeholders stand for in this run.
#[derive(Debug)]
struct Places {
    prefix: PathBuf,
    home: Option<PathBuf>,
    cwd: Option<PathBuf>,
    tmp: Option<PathBuf>,
    xdg_config: Option<PathBuf>,
    xdg_data: Option<PathBuf>,
    xdg_cache: Option<PathBuf>,
    xdg_state: Option<PathBuf>,
    xdg_runtime: Option<PathBuf>,
}

/// An absolute path from the environment (a relative one is ignored, as
/// the XDG specification says).
fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

impl Places {
    fn new(prefix: PathBuf) -> Places {
        // Canonical, so that "is this the home directory or above it" is
        // a comparison of real paths.
        let home = env_path("HOME").map(|h| std::fs::canonicalize(&h).unwrap_or(h));
        let under_home = |rel: &str| home.as_ref().map(|h| h.join(rel));
        Places {
            prefix,
            cwd: std::env::current_dir().ok(),
            tmp: env_path("TMPDIR").or_else(|| Some(PathBuf::from("/tmp"))),
            xdg_config: env_path("XDG_CONFIG_HOME").or_else(|| under_home(".config")),
            xdg_data: env_path("XDG_DATA_HOME").or_else(|| under_home(".local/share")),
            xdg_cache: env_path("XDG_CACHE_HOME").or_else(|| under_home(".cache")),
            xdg_state: env_path("XDG_STATE_HOME").or_else(|| under_home(".local/state")),
            xdg_runtime: env_path("XDG_RUNTIME_DIR"),
            home,
        }
    }

    /// A policy path with its placeholder expanded (`None`: the place is
    /// unknown in this run, e.g. no `$XDG_RUNTIME_DIR`).
    fn expand(&self, path: &str) -> Option<PathBuf> {
        let Some(after) = path.strip_prefix('{') else {
            return Some(PathBuf::from(path));
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
            base.join(rest)
        })
    }

    /// The root, the home directory, or a directory above it: a grant
    /// there would cover `~/.ssh`, `~/.gnupg` and every dotfile.
    fn too_broad(&self, path: &Path) -> bool {
        path == Path::new("/") || self.home.as_ref().is_some_and(|h| h.starts_with(path))
    }

    /// A system tree or the prefix: readable by default, never writable
    /// because it was named or is the current directory.
    fn system(&self, path: &Path) -> bool {
        SYSTEM_READ
            .iter()
            .chain(&SYSTEM_TREES)
            .any(|tree| path.starts_with(tree))
            || path.starts_with(&self.prefix)
    }
}

/// One Landlock rule: a tree (or file) and what may be done beneath it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    path: PathBuf,
    access: BitFlags<AccessFs>,
    why: &'static str,
}

/// The rights of each kind of grant.
struct Rights {
    read: BitFlags<AccessFs>,
    write: BitFlags<AccessFs>,
    device: BitFlags<AccessFs>,
    list: BitFlags<AccessFs>,
    run: BitFlags<AccessFs>,
}

impl Rights {
    fn new(exec: bool) -> Rights {
        let execute = if exec {
            BitFlags::from(AccessFs::Execute)
        } else {
            BitFlags::EMPTY
        };
        Rights {
            read: AccessFs::ReadFile | AccessFs::ReadDir | execute,
            write: (AccessFs::from_all(ABI_USED) & !AccessFs::Execute) | execute,
            device: AccessFs::ReadFile
                | AccessFs::WriteFile
                | AccessFs::Truncate
                | AccessFs::IoctlDev,
            list: BitFlags::from(AccessFs::ReadDir),
            run: AccessFs::Execute | AccessFs::ReadFile,
        }
    }
}

/// Every rule of this run, in the order they are added.
fn plan(policy: &Policy, places: &Places, args: &[&OsStr], real: &Path) -> Vec<Rule> {
    let rights = Rights::new(policy.exec);
    let mut rules = Vec::new();
    let mut push = |path: PathBuf, access, why| rules.push(Rule { path, access, why });
    for tree in SYSTEM_READ {
        push(tree.into(), rights.read, "system");
    }
    push(places.prefix.clone(), rights.read, "prefix");
    for device in DEVICES {
        push(device.into(), rights.device, "device");
    }
    for tree in SCRATCH.iter().map(PathBuf::from).chain(places.tmp.clone()) {
        if !places.too_broad(&tree) {
            push(tree, rights.write, "tmp");
        }
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
            if raw.starts_with('{') && !path.exists() && !places.too_broad(&path) {
                use std::os::unix::fs::DirBuilderExt;
                let _ = std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(&path);
            }
            push(path, rights.write, "[runtime] write");
        }
    }
    if !policy.exec {
        // The program itself, and what the kernel runs to load it.
        push(real.to_path_buf(), rights.run, "the program");
        for interpreter in interpreters(real) {
            push(interpreter, rights.run, "its interpreter");
        }
    }
    if policy.arguments {
        argument_rules(args, places, &rights, &mut rules);
    }
    rules
}

/// Rules for the paths named on the command line: an existing file or
/// directory (for `--opt=VALUE`, the value) is granted read-write (read
/// only inside a system tree or the prefix); a name that does not exist
/// yet grants its directory, where the program will create it. Never the
/// root, the home directory or above.
fn argument_rules(args: &[&OsStr], places: &Places, rights: &Rights, rules: &mut Vec<Rule>) {
    let mut seen: HashSet<PathBuf> = rules.iter().map(|r| r.path.clone()).collect();
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
        let bytes = arg.as_bytes();
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
        let path = Path::new(OsStr::from_bytes(candidate));
        // `NAME` or `CWD/NAME`, NAME not `.` or `..`.
        let in_cwd = match path.parent() {
            Some(parent) if parent.as_os_str().is_empty() => true,
            Some(parent) => places.cwd.as_deref() == Some(parent),
            None => false,
        } && !matches!(
            path.file_name().map(OsStr::as_bytes),
            None | Some(b".") | Some(b"..")
        );
        if cwd_writable
            && in_cwd
            && std::fs::symlink_metadata(path).map_or(true, |m| !m.file_type().is_symlink())
        {
            continue;
        }
        let absolute = if path.is_absolute() {
            path.to_path_buf()
        } else {
            match &places.cwd {
                Some(cwd) => cwd.join(path),
                None => continue,
            }
        };
        let target = match std::fs::canonicalize(&absolute) {
            Ok(target) => target,
            Err(_) => match absolute.parent().map(std::fs::canonicalize) {
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
fn interpreters(program: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut next = Some(program.to_path_buf());
    for _ in 0..2 {
        let Some(path) = next.take() else { break };
        let Ok(file) = std::fs::File::open(&path) else {
            break;
        };
        let mut head = [0u8; 256];
        let Ok(n) = file.read_at(&mut head, 0) else {
            break;
        };
        let head = &head[..n];
        if let Some(line) = head.strip_prefix(b"#!") {
            let line = line.split(|&b| b == b'\n').next().unwrap_or_default();
            let word = line
                .split(|b| b.is_ascii_whitespace())
                .find(|w| !w.is_empty());
            if let Some(word) = word {
                let interpreter = PathBuf::from(OsStr::from_bytes(word));
                out.push(interpreter.clone());
                next = Some(interpreter);
            }
        } else if let Some(interpreter) = elf_interpreter(&file, head) {
            out.push(interpreter);
        }
    }
    out
}

/// `PT_INTERP` of a 64-bit little-endian ELF file.
fn elf_interpreter(file: &std::fs::File, head: &[u8]) -> Option<PathBuf> {
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
    let mut table = vec![0u8; (phentsize * phnum) as usize];
    file.read_exact_at(&mut table, phoff).ok()?;
    for entry in table.chunks_exact(phentsize as usize) {
        if u32::from_le_bytes(entry[..4].try_into().ok()?) == 3 {
            let (offset, size) = (u64_at(entry, 0x08), u64_at(entry, 0x20));
            if size == 0 || size > 4096 {
                return None;
            }
            let mut name = vec![0u8; size as usize];
            file.read_exact_at(&mut name, offset).ok()?;
            let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            name.truncate(end);
            return Some(PathBuf::from(
                <std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(name),
            ));
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
/// and listening.
#[expect(
    unsafe_code,
    reason = "unshare: the launcher is single-threaded, so no thread shares the namespaces"
)]
fn private_network() -> Result<(), Failure> {
    use rustix::thread::UnshareFlags;
    let euid = rustix::process::geteuid();
    if euid.is_root() {
        // SAFETY: single-threaded; NEWNET does not affect descriptors.
        let _ = unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNET) };
        return Ok(());
    }
    // Only from the initial user namespace: a nested launch is inside the
    // outer launch's namespaces already (its network is the outer one's),
    // and its Landlock layer forbids writing a uid map.
    match std::fs::read("/proc/self/uid_map") {
        Ok(map) if is_initial_map(&map) => {}
        _ => return Ok(()),
    }
    let uid = rustix::process::getuid().as_raw();
    let gid = rustix::process::getgid().as_raw();
    // SAFETY: single-threaded; NEWUSER|NEWNET do not affect descriptors.
    if unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWUSER | UnshareFlags::NEWNET) }
        .is_err()
    {
        return Ok(());
    }
    // From here on the process is in the new user namespace: without a map
    // it would run as the overflow uid, so a failure stops the launch.
    for (file, text) in [
        ("/proc/self/setgroups", "deny".to_owned()),
        ("/proc/self/uid_map", format!("{uid} {uid} 1")),
        ("/proc/self/gid_map", format!("{gid} {gid} 1")),
    ] {
        std::fs::write(file, text).map_err(|e| {
            fail(
                EXIT_SETUP,
                format!("writing {file} for the private network namespace: {e}"),
            )
        })?;
    }
    Ok(())
}

/// The kernel's Landlock ABI version (0: none).
#[expect(unsafe_code, reason = "the landlock_create_ruleset version query")]
fn landlock_abi() -> i64 {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: a NULL attribute with size 0 and the VERSION flag only
    // queries the ABI version; nothing is created.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    v.max(0)
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
fn confine(policy: &Policy, rules: &[Rule], name: &str) -> Result<(), Failure> {
    let setup =
        |what: &str, e: &dyn std::fmt::Display| fail(EXIT_SETUP, format!("{name}: {what}: {e}"));
    rustix::thread::set_no_new_privs(true).map_err(|e| setup("setting no_new_privs", &e))?;
    let mut ruleset = Ruleset::default()
        .handle_access(AccessFs::from_all(ABI_USED))
        .map_err(|e| setup("the Landlock ruleset", &e))?
        .scope(Scope::Signal)
        .map_err(|e| setup("the Landlock ruleset", &e))?;
    if !policy.network {
        ruleset = ruleset
            .handle_access(AccessNet::from_all(ABI_USED))
            .map_err(|e| setup("the Landlock ruleset", &e))?
            .scope(Scope::AbstractUnixSocket)
            .map_err(|e| setup("the Landlock ruleset", &e))?;
    }
    let mut created = ruleset
        .create()
        .map_err(|e| setup("creating the Landlock ruleset", &e))?;
    for rule in rules {
        // A tree this machine does not have (`/lib32`, a config directory
        // never created) is simply not granted.
        let Ok(fd) = PathFd::new(&rule.path) else {
            continue;
        };
        created = created
            .add_rule(PathBeneath::new(fd, rule.access))
            .map_err(|e| setup(&format!("granting {}", rule.path.display()), &e))?;
    }
    let status = created
        .restrict_self()
        .map_err(|e| setup("entering the Landlock domain", &e))?;
    if !policy.network {
        crate::seccomp::deny_network_sockets()
            .map_err(|e| setup("loading the seccomp filter against network sockets", &e))?;
    }
    if status.ruleset == RulesetStatus::NotEnforced {
        match user_allows_unconfined() {
            Some(config) => eprintln!(
                "wport-launch: WARNING: {name} runs UNCONFINED: this kernel has no Landlock \
                 (allowed by `unconfined-without-landlock = true` in {})",
                config.display()
            ),
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
fn user_allows_unconfined() -> Option<PathBuf> {
    let dir =
        env_path("XDG_CONFIG_HOME").or_else(|| env_path("HOME").map(|h| h.join(".config")))?;
    let file = dir.join("wport/launch.conf");
    let text = std::fs::read_to_string(&file).ok()?;
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
        places.prefix.display(),
        policy.network,
        policy.exec,
        policy.arguments
    );
    for rule in rules {
        let exists = if rule.path.exists() { "" } else { " (absent)" };
        let mut rights: Vec<&str> = Vec::new();
        for (flag, word) in [
            (AccessFs::ReadFile, "read"),
            (AccessFs::ReadDir, "list"),
            (AccessFs::WriteFile, "write"),
            (AccessFs::MakeReg, "create"),
            (AccessFs::RemoveFile, "remove"),
            (AccessFs::Execute, "execute"),
            (AccessFs::IoctlDev, "ioctl"),
        ] {
            if rule.access.contains(flag) {
                rights.push(word);
            }
        }
        out.push_str(&format!(
            "{} {} [{}]{exists}\n",
            rule.why,
            rule.path.display(),
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
            prefix: "/opt/wport".into(),
            home: Some(home.into()),
            cwd: Some(cwd.into()),
            tmp: Some("/tmp".into()),
            xdg_config: Some(format!("{home}/.config").into()),
            xdg_data: None,
            xdg_cache: None,
            xdg_state: None,
            xdg_runtime: None,
        }
    }

    #[test]
    fn expansion() {
        let p = places("/home/u", "/home/u/src");
        assert_eq!(p.expand("{home}"), Some("/home/u".into()));
        assert_eq!(
            p.expand("{xdg-config}/figlet"),
            Some("/home/u/.config/figlet".into())
        );
        assert_eq!(p.expand("{prefix}/share"), Some("/opt/wport/share".into()));
        assert_eq!(p.expand("{xdg-runtime}/x"), None);
        assert_eq!(p.expand("/var/lib/x"), Some("/var/lib/x".into()));
    }

    #[test]
    fn home_and_above_are_too_broad() {
        let p = places("/home/u", "/home/u/src");
        for broad in ["/", "/home", "/home/u"] {
            assert!(p.too_broad(Path::new(broad)), "{broad}");
        }
        for fine in ["/home/u/src", "/home/v", "/tmp", "/home/u/.ssh"] {
            assert!(!p.too_broad(Path::new(fine)), "{fine}");
        }
    }

    #[test]
    fn cwd_at_home_is_list_only() {
        let p = places("/home/u", "/home/u");
        let rules = plan(&Policy::default(), &p, &[], Path::new("/x"));
        let cwd: Vec<&Rule> = rules
            .iter()
            .filter(|r| r.path == Path::new("/home/u"))
            .collect();
        assert_eq!(cwd.len(), 1);
        assert_eq!(cwd[0].access, BitFlags::from(AccessFs::ReadDir));
    }

    #[test]
    fn initial_map() {
        assert!(is_initial_map(b"         0          0 4294967295\n"));
        assert!(!is_initial_map(b"      1000       1000          1\n"));
    }
}
