//! `wport-exec`: the only place in wport that spawns processes.
//!
//! A port's native tools (`sh`, `cc`, `make`, `./configure`) run through
//! [`Session::run`]: the call is checked against the phase's grants
//! ([`policy`]), then executed by a long-lived spawn helper inside kernel
//! walls (`confine`), and every call, allowed or not, leaves an
//! [`AuditRecord`].
//!
//! # Code map
//! - [`policy`]: grant check, cwd check, deterministic environment. Pure.
//! - `confine`: the spawn helper process and session creation
//!   (`confine/helper.rs`), the per-build mount tree and phase mount views
//!   (`mounts.rs`), the session init serving calls (`session.rs`), the
//!   per-call child: rlimits, uid drop, Landlock, seccomp, exec (`child.rs`),
//!   and the Landlock ruleset (`landlock.rs`).
//! - `seccomp`: a deny-list filter (namespaces, mounts, keyrings, bpf, io_uring, ...)
//!   and an allow list of socket families.
//! - `cgroup`: the per-build cgroup (memory and process limits, v2 or v1),
//!   found when the executor starts, made per session, removed after it.
//! - [`buildusers`]: the build uid each executor started as root leases from
//!   a range for its life (a `flock`ed lock file per uid), so concurrent
//!   builds never share a uid.
//! - `executor`: the host side: [`Executor`] (talks to the helper) and
//!   [`Session`] (one build; relays output, enforces caps, keeps the audit).
//! - `trace`: the trace of refused accesses: a preloaded C library
//!   (`trace/wport-trace.c`) records failed file-system calls, the host keeps
//!   those the confinement refused ([`Refusal`]), per call.
//! - `wire`: the protocol between the processes: frames, fields, and every
//!   one-byte tag (operations, replies, call results, limits, child failure
//!   stages) as an enum decoded in one place.
//! - `sys`: the syscalls the sandbox makes, through rustix where it has them;
//!   most of the crate's `unsafe` (fork, execve, close_range, signals) lives
//!   there, each use with a SAFETY note, and every other `unsafe` is an
//!   `#[expect(unsafe_code)]` with its reason.
//!
//! # Process tree
//! ```text
//! host (wport, later wasmtime) ── socketpair ── helper (forked by Executor::start; keeps root)
//!   │                                             └─ per build: session init = pid 1 of the build's
//!   │                                                (user,) mount, net, pid, ipc, uts namespaces
//!   └── socketpair (one per Session) ─────────────────  └─ per call: the command (build uid,
//!                                                          rlimits, no_new_privs, Landlock)
//! ```
//! After each call (and at its timeout) the session init kills every other
//! process of the build namespace, so nothing a call starts outlives it.
//!
//! **Architecture invariant:** nothing else in wport names `std::process` or
//! forks; the host never runs a shell on the guest's behalf and never splits
//! or joins argv.
//!
//! # How the engine uses it
//! 1. `Executor::start(config)` first thing in `main`, before wasmtime loads
//!    and before any thread exists (a small address space makes the fork cheap
//!    and the helper inherits no locks).
//! 2. As root: chown the build's work/destroot (and sources) to
//!    [`Executor::build_identity`], then [`Executor::drop_host_privileges`], so
//!    files the guest writes through WASI and files the tools write have one
//!    owner. The helper keeps root: it needs it to build namespaces.
//! 3. Per build: [`Executor::session`] (namespaces + mounts, once), then
//!    [`Session::run`] per call, [`Session::audit`] for the provenance record.

pub mod buildusers;
mod cgroup;
mod confine;
mod error;
mod executor;
pub mod policy;
mod seccomp;
mod sys;
mod trace;
mod wire;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub use buildusers::BuildUsers;
pub use error::{BuildLimit, DenialReason, ExecError};
pub use executor::{Executor, MIN_MEMORY, MIN_PROCESSES, OUTPUT_PREFIX, Session};
pub use trace::{Refusal, TraceOp};

/// Host directories of one build. The child sees them at `/sources`
/// (read-only at mount level), `/work` and `/destroot`.
#[derive(Debug, Clone)]
pub struct SandboxDirs {
    pub sources: PathBuf,
    pub work: PathBuf,
    pub destroot: PathBuf,
}

/// What a phase may do with one of the build's directories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DirAccess {
    None,
    ReadOnly,
    ReadWrite,
}

/// Per-phase access to the three build directories, decided by the engine,
/// and which dependency view the phase sees at the prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PhaseAccess {
    pub sources: DirAccess,
    pub work: DirAccess,
    pub destroot: DirAccess,
    /// Index into [`PrefixView::views`] of the session's
    /// [`SessionOptions::prefix_view`]: the layers this phase sees at the
    /// prefix path. `None`: the prefix path is an empty directory (when the
    /// session has a prefix view; without one the path does not exist).
    pub view: Option<u16>,
}

/// The dependency views of one build (docs/CONFINEMENT.md, "The
/// dependency view").
///
/// Inside every phase the prefix path shows exactly the union of the
/// phase's layers, read-only (one overlayfs, no upper layer; a single layer
/// is a read-only bind): every other file of the host's prefix is absent
/// (ENOENT), and a write is EROFS. The layers are store directories made by
/// `wport-registry` (`<prefix>/.wport/store/<name>@<txn>`); the helper
/// refuses any other directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrefixView {
    /// The prefix as builds see it and as it is on the host (packages are
    /// configured for this path). Absolute, normalised, and outside the
    /// sandbox's own directories (`/usr`, `/bin`, `/lib*`, `/sbin`, `/etc`,
    /// `/dev`, `/proc`, `/sys`, `/tmp`, `/sources`, `/work`, `/destroot`).
    pub prefix: PathBuf,
    /// Layer lists (top layer first), at most [`MAX_LAYERS`] each; a phase
    /// picks one with [`PhaseAccess::view`]. Each view is mounted once per
    /// session.
    pub views: Vec<Vec<PathBuf>>,
}

/// Most layers in one view (overlayfs' stack limit).
pub const MAX_LAYERS: usize = 500;

/// The phase's grants from the port's verified capability manifest.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Bare names (`cc`, `make`, `sh`), found only through the toolchain PATH,
    /// or `./script` paths (file names joined by `/`, no `.`/`..`) resolved
    /// from the cwd, which must stay inside `/work` (needs `allow_work_scripts`).
    pub programs: Vec<String>,
    /// Variables the manifest sets (and so declares) for this phase. A request
    /// may override a declared variable or set one of [`policy::BUILD_VARS`].
    /// `PATH` is never accepted ([`policy::RESERVED_VARS`]).
    pub env: BTreeMap<String, String>,
    /// Allow loader variables (`LD_*`, `GCONV_PATH`, ...); off by default.
    pub allow_loader_env: bool,
    /// Wall-clock limit of one call; at expiry every process of the call dies.
    pub timeout: Duration,
    pub allow_work_scripts: bool,
}

/// One call from the guest. `cwd` is a guest path (`/work/...`).
#[derive(Debug, Clone)]
pub struct Request {
    pub program: String,
    /// argv[1..]; passed to execve exactly as given.
    pub args: Vec<String>,
    pub cwd: String,
    pub env: Vec<(String, String)>,
    /// Return stdout in [`Outcome::stdout`] instead of writing it to the log.
    pub capture_stdout: bool,
}

/// How the command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(i32),
    Signaled(i32),
}

impl ExitStatus {
    pub fn success(&self) -> bool {
        *self == ExitStatus::Exited(0)
    }
}

/// Result of a call that ran.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: ExitStatus,
    /// Captured stdout (only with `capture_stdout`), at most the output cap.
    pub stdout: Vec<u8>,
    pub duration: Duration,
    /// Output went over the cap and was cut (a marker was written to the log).
    pub output_truncated: bool,
    /// Accesses the confinement refused during the call (the trace; also in
    /// the call's [`AuditRecord`]).
    pub refused: Vec<Refusal>,
}

/// Status recorded in the audit trail, including calls that never ran.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuditStatus {
    Exited(i32),
    Signaled(i32),
    Denied(DenialReason),
    NotFound,
    Timeout,
    /// The build reached one of its whole-build limits during the call.
    LimitExceeded(BuildLimit),
    Failed(String),
}

impl std::fmt::Display for AuditStatus {
    /// One stable line per status (the provenance digest is taken over it).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuditStatus::Exited(c) => write!(f, "exit {c}"),
            AuditStatus::Signaled(s) => write!(f, "signal {s}"),
            AuditStatus::Denied(r) => write!(f, "denied: {r}"),
            AuditStatus::NotFound => write!(f, "not found"),
            AuditStatus::Timeout => write!(f, "timeout"),
            AuditStatus::LimitExceeded(l) => write!(f, "limit reached: {l}"),
            AuditStatus::Failed(t) => write!(f, "failed: {t}"),
        }
    }
}

/// Provenance record of one mediated call.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub program: String,
    /// Full argv, `argv[0]` included, exactly as executed.
    pub argv: Vec<String>,
    pub cwd: String,
    pub duration: Duration,
    pub status: AuditStatus,
    /// What the trace saw the confinement refuse during the call: accesses
    /// outside the build's view, whatever the exit status
    /// (docs/CONFINEMENT.md, "Trace of refused accesses"). Best effort: a
    /// static binary is not traced, and a build can forge or suppress
    /// records. Not part of the provenance.
    pub refused: Vec<Refusal>,
    /// Some of the call's records were dropped (too many, or malformed).
    pub trace_incomplete: bool,
}

/// uid/gid that builds run as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildIdentity {
    pub uid: u32,
    pub gid: u32,
}

/// Resource limits applied to every call, and the defaults of the
/// whole-build limits ([`SessionOptions::memory`], [`SessionOptions::processes`]).
#[derive(Debug, Clone)]
pub struct Limits {
    /// RLIMIT_NPROC of the build user (fork-bomb cap; counted per uid,
    /// machine-wide), and the default of the build cgroup's `pids.max`.
    pub max_processes: u64,
    /// Default memory limit of a whole build (its cgroup's `memory.max` /
    /// `memory.limit_in_bytes`, swap included where the kernel accounts it),
    /// and the bound of the build's SysV shared memory (`kernel.shmmax`,
    /// `kernel.shmall` in its IPC namespace).
    pub memory: u64,
    /// RLIMIT_NOFILE of every call: soft and hard limit. The host's own
    /// limit (often 20,000 or more) is never inherited.
    pub open_files_soft: u64,
    pub open_files_hard: u64,
    /// RLIMIT_FSIZE: largest file a command may write.
    pub max_file_size: u64,
    /// Bytes of stdout+stderr kept per call (log and capture); the rest is
    /// drained and dropped, and a marker says so.
    pub max_output: usize,
    /// Size of the session's private `/tmp` tmpfs.
    pub tmp_size: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_processes: 1024,
            memory: DEFAULT_MEMORY,
            open_files_soft: 1024,
            open_files_hard: 4096,
            max_file_size: 8 << 30,
            max_output: 16 << 20,
            tmp_size: 1 << 30,
        }
    }
}

/// Default memory limit of one build: 4 GiB.
pub const DEFAULT_MEMORY: u64 = 4 << 30;

/// Settings fixed for the life of the executor.
#[derive(Debug, Clone)]
pub struct ExecutorConfig {
    /// Who builds run as when wport starts as root and `build_users` is
    /// `None`. Ignored otherwise: an ordinary user builds as itself, in a
    /// user namespace.
    pub build_user: BuildIdentity,
    /// The range each executor started as root leases its own build uid
    /// from, for its whole life (default: [`BuildUsers::default`]), so no
    /// two concurrent builds share a uid. `None`: every build is
    /// `build_user`.
    pub build_users: Option<BuildUsers>,
    /// The only directories programs are looked up in (guest paths, which are
    /// the host's toolchain directories mounted read-only).
    pub toolchain_path: Vec<String>,
    pub limits: Limits,
    /// Default `-jN` in MAKEFLAGS.
    pub jobs: u32,
    /// Run without the walls this kernel lacks (Landlock, network or pid
    /// namespace, a cgroup hierarchy wport may create build cgroups in)
    /// instead of refusing. Loud: every call's log says so.
    /// The mount namespace is never optional: it is what makes `/work` exist.
    pub allow_unconfined: bool,
    /// Pretend the kernel's Landlock ABI is this (tests of the refusal and
    /// degraded paths on a kernel that has Landlock). Can only lower it.
    #[doc(hidden)]
    pub landlock_abi_override: Option<i32>,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        ExecutorConfig {
            build_user: BuildIdentity {
                uid: 65534,
                gid: 65534,
            },
            build_users: Some(BuildUsers::default()),
            toolchain_path: vec!["/usr/local/bin".into(), "/usr/bin".into(), "/bin".into()],
            limits: Limits::default(),
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
            allow_unconfined: false,
            landlock_abi_override: None,
        }
    }
}

/// Per-build settings.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// SOURCE_DATE_EPOCH for reproducible builds (the port's release date).
    pub source_date_epoch: u64,
    /// Overrides [`ExecutorConfig::jobs`] for this build.
    pub jobs: Option<u32>,
    /// Memory limit of the whole build (every process of it together);
    /// `None`: [`Limits::memory`]. Reaching it ends the call with
    /// [`ExecError::LimitExceeded`].
    pub memory: Option<u64>,
    /// Most processes the build may have at once (its cgroup's `pids.max`);
    /// `None`: [`Limits::max_processes`].
    pub processes: Option<u64>,
    /// The prefix and the dependency views its phases see there; `None`:
    /// the prefix path does not exist inside the build.
    pub prefix_view: Option<PrefixView>,
}
