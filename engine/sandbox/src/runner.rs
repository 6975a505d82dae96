//! The phase runner: one wasmtime engine per process, one fresh store and
//! WASI context per phase, built from the phase's grants and nothing else.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cap_std::fs::Dir;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable, ResourceTableError};
use wasmtime::{Config, Engine, OptLevel, Store, UpdateDeadline};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wport_manifest::Phase;

use crate::bindings::{Port, PortPre};
use crate::cache::{ComponentCache, Sha256};
use crate::clock::{FrozenWallClock, Seeds, SteppingClock};
use crate::exec::NativeExec;
use crate::files::PhaseFiles;
use crate::grants::{Access, DirGrants, Root, dir_grants};
use crate::log::{BuildLog, OutputBudget};
use crate::output::CapturedOutput;

/// How often the epoch advances. Deadlines are checked at this granularity.
const TICK: Duration = Duration::from_millis(10);

/// Resource limits of one phase. Every limit hit is a [`PhaseError::Limit`]
/// naming the port, the phase and the limit.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Time the port's WASM logic may take in one phase: the guest's own
    /// execution plus the `files` host calls it makes (a tree copy is the
    /// guest's work done faster). Native commands do not count here: each has
    /// its own timeout, and together they are bounded by `exec_time`.
    pub phase_time: Duration,
    /// Linear memory per instance, in bytes.
    pub memory_bytes: usize,
    /// Host resources (open files, streams, pollables) a guest may hold.
    pub resources: usize,
    /// Bytes of guest stdout+stderr kept per phase; the rest is dropped.
    pub output_bytes: u64,
    /// Watchdog budget for one `files` host call.
    pub host_call_time: Duration,
    /// Total time of a phase's native commands.
    pub exec_time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            phase_time: Duration::from_secs(300),
            memory_bytes: 1 << 30,
            resources: 1024,
            output_bytes: 8 << 20,
            host_call_time: Duration::from_secs(600),
            exec_time: Duration::from_secs(12 * 3600),
        }
    }
}

/// Which limit a phase ran into.
#[derive(Copy, Clone, Debug, Eq, PartialEq)]
pub enum LimitKind {
    /// [`Limits::phase_time`]
    Time,
    /// [`Limits::memory_bytes`]
    Memory,
    /// [`Limits::resources`]
    Resources,
    /// [`Limits::host_call_time`] or [`Limits::exec_time`]
    HostCall,
    /// A whole-build limit of the native commands (the Portfile's
    /// `[limits]`: memory or processes), reached by a mediated command.
    Build,
}

impl std::fmt::Display for LimitKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LimitKind::Time => "time",
            LimitKind::Memory => "memory",
            LimitKind::Resources => "open-resources",
            LimitKind::HostCall => "host-call time",
            LimitKind::Build => "build",
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PhaseError {
    /// The port's own logic returned an error.
    #[error("port {port}: phase {phase} failed: {message}")]
    Failed {
        port: String,
        phase: Phase,
        message: String,
    },
    /// The guest ran into a limit and was stopped.
    #[error("port {port}: phase {phase} stopped: {limit} limit exceeded ({detail})")]
    Limit {
        port: String,
        phase: Phase,
        limit: LimitKind,
        detail: String,
    },
    /// The guest trapped (a panic, an `unreachable`, a stack overflow...).
    #[error("port {port}: phase {phase} crashed: {message}")]
    Trap {
        port: String,
        phase: Phase,
        message: String,
    },
    /// The phase could not be set up (a granted directory is missing...).
    #[error("port {port}: could not set up phase {phase}: {message}")]
    Setup {
        port: String,
        phase: Phase,
        message: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("could not configure the WebAssembly engine: {0}")]
    Engine(String),
    #[error(transparent)]
    Cache(#[from] crate::cache::CacheError),
    #[error("component {sha256} is not a valid wport port component: {message}")]
    Invalid { sha256: String, message: String },
}

/// The host paths of a build's three directories.
#[derive(Clone, Debug)]
pub struct HostDirs {
    pub sources: PathBuf,
    pub work: PathBuf,
    pub destroot: PathBuf,
}

impl HostDirs {
    fn path(&self, root: Root) -> &Path {
        match root {
            Root::Sources => &self.sources,
            Root::Work => &self.work,
            Root::Destroot => &self.destroot,
        }
    }
}

/// Everything a build's phases may learn about the build.
#[derive(Clone)]
pub struct BuildSpec {
    pub name: String,
    pub version: String,
    pub revision: u32,
    pub prefix: String,
    pub jobs: u32,
    pub source_date_epoch: u64,
    pub dirs: HostDirs,
    /// The extracted source tree, relative to the work directory.
    pub worksrc: Option<String>,
    /// Distfile names, found at `/sources/distfiles/NAME`.
    pub distfiles: Vec<String>,
    /// Patchfile names in apply order, found at `/sources/patches/NAME`.
    pub patchfiles: Vec<String>,
    pub params: BTreeMap<String, Vec<String>>,
    pub limits: Limits,
    /// Runs mediated native commands; `None` refuses every `exec` call.
    pub exec: Option<Arc<dyn NativeExec>>,
}

impl BuildSpec {
    pub fn port_label(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
}

#[derive(Clone, Debug, Default)]
pub struct SandboxConfig {
    /// Where precompiled components are kept; `None` compiles in memory.
    pub cache_dir: Option<PathBuf>,
}

/// A component compiled and linked, ready to instantiate once per phase.
pub struct LoadedComponent {
    pub sha256: Sha256,
    /// Whether the precompiled form came from the on-disk cache.
    pub from_cache: bool,
    pre: PortPre<HostState>,
}

impl LoadedComponent {
    pub fn sha256_hex(&self) -> String {
        self.sha256.to_string()
    }
}

/// What a finished phase measured.
#[derive(Clone, Debug)]
pub struct PhaseReport {
    pub phase: Phase,
    /// Wall time of the whole phase, instantiation included.
    pub duration: Duration,
    /// Part of `duration` spent in host calls.
    pub host_time: Duration,
    pub output_truncated: bool,
}

/// The per-process WebAssembly runtime.
pub struct Sandbox {
    engine: Engine,
    linker: Linker<HostState>,
    cache: Option<ComponentCache>,
    loaded: Mutex<HashMap<Sha256, Arc<LoadedComponent>>>,
    stop: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
}

impl Sandbox {
    pub fn new(config: SandboxConfig) -> Result<Self, LoadError> {
        let mut cfg = Config::new();
        cfg.wasm_component_model(true)
            .epoch_interruption(true)
            .cranelift_opt_level(OptLevel::Speed)
            .parallel_compilation(true);
        let engine = Engine::new(&cfg).map_err(|e| LoadError::Engine(format!("{e:#}")))?;

        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| LoadError::Engine(format!("{e:#}")))?;
        Port::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
            .map_err(|e| LoadError::Engine(format!("{e:#}")))?;

        let cache = match &config.cache_dir {
            Some(dir) => Some(ComponentCache::open(dir, &engine)?),
            None => None,
        };

        let stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let engine = engine.clone();
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("wport-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(TICK);
                        engine.increment_epoch();
                    }
                })
                .map_err(|e| LoadError::Engine(format!("starting the epoch thread: {e}")))?
        };

        Ok(Sandbox {
            engine,
            linker,
            cache,
            loaded: Mutex::new(HashMap::new()),
            stop,
            ticker: Some(ticker),
        })
    }

    /// Compile (or fetch from the cache) and link a component.
    pub fn load(&self, bytes: &[u8]) -> Result<Arc<LoadedComponent>, LoadError> {
        let digest = Sha256::of(bytes);
        if let Some(hit) = self
            .loaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&digest)
        {
            return Ok(hit.clone());
        }
        let invalid = |e: wasmtime::Error| LoadError::Invalid {
            sha256: digest.to_string(),
            message: format!("{e:#}"),
        };
        let (component, from_cache) = match &self.cache {
            Some(cache) => cache.load(&self.engine, bytes, &digest).map_err(invalid)?,
            None => (Component::new(&self.engine, bytes).map_err(invalid)?, false),
        };
        let pre = self.linker.instantiate_pre(&component).map_err(invalid)?;
        let pre = PortPre::new(pre).map_err(invalid)?;
        let loaded = Arc::new(LoadedComponent {
            sha256: digest,
            from_cache,
            pre,
        });
        self.loaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(digest, loaded.clone());
        Ok(loaded)
    }

    /// Run one phase of `spec` in a fresh instance of `component`.
    pub fn run_phase(
        &self,
        component: &LoadedComponent,
        spec: &Arc<BuildSpec>,
        phase: Phase,
        log: &BuildLog,
    ) -> Result<PhaseReport, PhaseError> {
        let started = Instant::now();
        let port = spec.port_label();
        let setup = |message: String| PhaseError::Setup {
            port: port.clone(),
            phase,
            message,
        };
        let grants = dir_grants(phase);
        let budget = OutputBudget::new(spec.limits.output_bytes);
        let wasi = wasi_ctx(spec, phase, grants, log, &budget).map_err(setup)?;
        let files = phase_files(spec, grants).map_err(setup)?;

        let mut table = ResourceTable::new();
        table.set_max_capacity(spec.limits.resources);
        let state = HostState {
            wasi,
            table,
            limiter: Limiter {
                memory_bytes: spec.limits.memory_bytes,
                used: 0,
                hit: None,
            },
            spec: spec.clone(),
            phase,
            grants,
            files,
            log: log.clone(),
            started,
            host_time: Duration::ZERO,
            exec_time: Duration::ZERO,
            budget: budget.clone(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut ctx| {
            let s = ctx.data();
            let guest = s.started.elapsed().saturating_sub(s.exec_time);
            if guest >= s.spec.limits.phase_time {
                let detail = format!("the guest ran for {:?}", s.spec.limits.phase_time);
                ctx.data_mut().limiter.hit = Some((LimitKind::Time, detail));
                return Err(wasmtime::Error::msg("phase time limit exceeded"));
            }
            Ok(UpdateDeadline::Continue(1))
        });

        log.line(
            phase.as_str(),
            &format!(
                "phase {phase} of {port} (component {})",
                component.sha256_hex()
            ),
        );
        for swept in store.data().files.sweep() {
            log.line("wport", &swept.to_string());
        }
        let result = component
            .pre
            .instantiate(&mut store)
            .and_then(|p| call_phase(&p, &mut store, phase));
        let host_time = store.data().host_time;
        let outcome = match result {
            Ok(Ok(())) => Ok(PhaseReport {
                phase,
                duration: started.elapsed(),
                host_time,
                output_truncated: budget.truncated(),
            }),
            // A phase that failed after one of its native commands reached a
            // whole-build limit failed because of that limit: say so with
            // the limit's own error (and exit code), not the guest's words.
            Ok(Err(message)) => Err(match store.data_mut().limiter.hit.take() {
                Some((limit @ LimitKind::Build, detail)) => PhaseError::Limit {
                    port,
                    phase,
                    limit,
                    detail,
                },
                _ => PhaseError::Failed {
                    port,
                    phase,
                    message: name_wasi_errnos(&message),
                },
            }),
            Err(e) => Err(classify(e, store.data_mut(), port, phase)),
        };
        match &outcome {
            Ok(r) => log.line(
                phase.as_str(),
                &format!("phase {phase} done in {:?}", r.duration),
            ),
            Err(e) => log.line(phase.as_str(), &format!("{e}")),
        }
        outcome
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
    }
}

fn call_phase(
    p: &Port,
    store: &mut Store<HostState>,
    phase: Phase,
) -> wasmtime::Result<Result<(), String>> {
    match phase {
        Phase::Patch => p.call_patch(store),
        Phase::Configure => p.call_configure(store),
        Phase::Build => p.call_build(store),
        Phase::Test => p.call_test(store),
        Phase::Destroot => p.call_destroot(store),
        Phase::PostDestroot => p.call_post_destroot(store),
    }
}

/// Turn a trap into the precise error: a limit we recorded, a full resource
/// table, or a plain crash.
fn classify(e: wasmtime::Error, state: &mut HostState, port: String, phase: Phase) -> PhaseError {
    if let Some((limit, detail)) = state.limiter.hit.take() {
        return PhaseError::Limit {
            port,
            phase,
            limit,
            detail,
        };
    }
    let table_full = e.chain().any(|c| {
        matches!(c.downcast_ref::<ResourceTableError>(), Some(ResourceTableError::Full))
            // Some WASI paths stringify the table error before it reaches us.
            || c.to_string().contains("resource table has no free keys")
    });
    if table_full {
        return PhaseError::Limit {
            port,
            phase,
            limit: LimitKind::Resources,
            detail: format!(
                "the guest held {} host resources",
                state.spec.limits.resources
            ),
        };
    }
    PhaseError::Trap {
        port,
        phase,
        message: format!("{e:#}"),
    }
}

fn wasi_ctx(
    spec: &BuildSpec,
    phase: Phase,
    grants: DirGrants,
    log: &BuildLog,
    budget: &OutputBudget,
) -> Result<WasiCtx, String> {
    let seeds = Seeds::derive(&spec.name, &spec.version, spec.revision, phase.as_str());
    // Start from WasiCtxBuilder's secure defaults (no env, no args, stdin
    // closed, no preopens, every socket address denied) and close the rest.
    let mut b = WasiCtxBuilder::new();
    b.allow_blocking_current_thread(true)
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .socket_addr_check(|_, _| Box::pin(async { false }))
        .wall_clock(FrozenWallClock::new(spec.source_date_epoch))
        .monotonic_clock(SteppingClock::default())
        .secure_random(seeds.secure_rng())
        .insecure_random(seeds.insecure_rng())
        .insecure_random_seed(seeds.insecure_seed)
        .max_random_size(1 << 20)
        .stdout(CapturedOutput::new(
            log.clone(),
            budget.clone(),
            format!("{phase} stdout"),
        ))
        .stderr(CapturedOutput::new(
            log.clone(),
            budget.clone(),
            format!("{phase} stderr"),
        ));
    for (root, access) in grants.roots() {
        let perms = match access {
            Access::None => continue,
            Access::ReadOnly => FsPerms::ReadOnly,
            Access::ReadWrite => FsPerms::ReadWrite,
        };
        let host = spec.dirs.path(root);
        b.preopened_dir(host, root.guest_path(), perms)
            .map_err(|e| {
                format!(
                    "opening {} for {}: {e:#}",
                    host.display(),
                    root.guest_path()
                )
            })?;
    }
    Ok(b.build())
}

fn phase_files(spec: &BuildSpec, grants: DirGrants) -> Result<PhaseFiles, String> {
    let open = |root: Root| -> Result<Option<Dir>, String> {
        if grants.access(root) == Access::None {
            return Ok(None);
        }
        let path = spec.dirs.path(root);
        // The build's own directories, created by the engine: the one place
        // ambient authority is used, and only on these fixed roots.
        Dir::open_ambient_dir(path, cap_std::ambient_authority())
            .map(Some)
            .map_err(|e| format!("opening {}: {e}", path.display()))
    };
    Ok(PhaseFiles::new(
        grants,
        open(Root::Sources)?,
        open(Root::Work)?,
        open(Root::Destroot)?,
        spec.limits.host_call_time,
    ))
}

/// Per-store state: the WASI context plus what the `wport:port` host side needs.
pub(crate) struct HostState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limiter: Limiter,
    pub(crate) spec: Arc<BuildSpec>,
    pub(crate) phase: Phase,
    pub(crate) grants: DirGrants,
    pub(crate) files: PhaseFiles,
    pub(crate) log: BuildLog,
    pub(crate) started: Instant,
    /// Time spent in host calls (reported).
    pub(crate) host_time: Duration,
    /// Time spent in native commands, excluded from the phase's time limit.
    pub(crate) exec_time: Duration,
    /// The phase's output budget, shared by stdout, stderr and `log`.
    pub(crate) budget: OutputBudget,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Memory limiter that records which limit was hit, so the trap it causes
/// can be reported precisely. The cap is on the sum of all linear memories
/// of the store, so a component cannot multiply it by declaring many.
pub(crate) struct Limiter {
    memory_bytes: usize,
    /// Bytes of linear memory the store holds now.
    used: usize,
    pub(crate) hit: Option<(LimitKind, String)>,
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.used.saturating_sub(current).saturating_add(desired);
        if total > self.memory_bytes {
            self.hit = Some((
                LimitKind::Memory,
                format!(
                    "linear memory would grow to {total} bytes in all; the cap is {}",
                    self.memory_bytes
                ),
            ));
            return Err(wasmtime::Error::msg("memory limit exceeded"));
        }
        self.used = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        const MAX_TABLE_ELEMENTS: usize = 1 << 20;
        if desired > MAX_TABLE_ELEMENTS {
            self.hit = Some((
                LimitKind::Memory,
                format!(
                    "a table would grow to {desired} elements; the cap is {MAX_TABLE_ELEMENTS}"
                ),
            ));
            return Err(wasmtime::Error::msg("table limit exceeded"));
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        64
    }
    fn tables(&self) -> usize {
        64
    }
    fn memories(&self) -> usize {
        16
    }
}

/// WASI's errno names, by number (`errno` in WASI preview 1's witx, which
/// wasi-libc and Rust's std on wasm32-wasi use).
const WASI_ERRNO: [&str; 77] = [
    "SUCCESS",
    "E2BIG",
    "EACCES",
    "EADDRINUSE",
    "EADDRNOTAVAIL",
    "EAFNOSUPPORT",
    "EAGAIN",
    "EALREADY",
    "EBADF",
    "EBADMSG",
    "EBUSY",
    "ECANCELED",
    "ECHILD",
    "ECONNABORTED",
    "ECONNREFUSED",
    "ECONNRESET",
    "EDEADLK",
    "EDESTADDRREQ",
    "EDOM",
    "EDQUOT",
    "EEXIST",
    "EFAULT",
    "EFBIG",
    "EHOSTUNREACH",
    "EIDRM",
    "EILSEQ",
    "EINPROGRESS",
    "EINTR",
    "EINVAL",
    "EIO",
    "EISCONN",
    "EISDIR",
    "ELOOP",
    "EMFILE",
    "EMLINK",
    "EMSGSIZE",
    "EMULTIHOP",
    "ENAMETOOLONG",
    "ENETDOWN",
    "ENETRESET",
    "ENETUNREACH",
    "ENFILE",
    "ENOBUFS",
    "ENODEV",
    "ENOENT",
    "ENOEXEC",
    "ENOLCK",
    "ENOLINK",
    "ENOMEM",
    "ENOMSG",
    "ENOPROTOOPT",
    "ENOSPC",
    "ENOSYS",
    "ENOTCONN",
    "ENOTDIR",
    "ENOTEMPTY",
    "ENOTRECOVERABLE",
    "ENOTSOCK",
    "ENOTSUP",
    "ENOTTY",
    "ENXIO",
    "EOVERFLOW",
    "EOWNERDEAD",
    "EPERM",
    "EPIPE",
    "EPROTO",
    "EPROTONOSUPPORT",
    "EPROTOTYPE",
    "ERANGE",
    "EROFS",
    "ESPIPE",
    "ESRCH",
    "ESTALE",
    "ETIMEDOUT",
    "ETXTBSY",
    "EXDEV",
    "ENOTCAPABLE",
];

/// A guest's error message with each `(os error N)` (Rust's `io::Error`
/// text inside the guest, where N is a WASI errno: 44 is ENOENT there, not
/// Linux's 2) given its name: `(ENOENT, WASI errno 44)`.
///
/// A guest also relays errors the host made (a host function's error text,
/// with a Linux errno): one whose text before the mark is this host's own
/// description of N (`Too many levels of symbolic links (os error 40)`) is
/// left as it is, since 40 is ELOOP there, not WASI's ENETUNREACH.
pub fn name_wasi_errnos(message: &str) -> String {
    const MARK: &str = "(os error ";
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(MARK) {
        out.push_str(&rest[..at]);
        let after = &rest[at + MARK.len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let name = after[..digits]
            .parse::<usize>()
            .ok()
            .filter(|_| after[digits..].starts_with(')'))
            .filter(|n| !is_host_errno(&out, *n))
            .and_then(|n| WASI_ERRNO.get(n).map(|name| (n, *name)));
        match name {
            Some((n, name)) => {
                out.push_str(&format!("({name}, WASI errno {n})"));
                rest = &after[digits + 1..];
            }
            None => {
                out.push_str(MARK);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whether `before` ends with this host's own description of errno `n`
/// (what `std::io::Error` prints before ` (os error n)` on the host).
fn is_host_errno(before: &str, n: usize) -> bool {
    let Ok(code) = i32::try_from(n) else {
        return false;
    };
    let full = std::io::Error::from_raw_os_error(code).to_string();
    let desc = full
        .strip_suffix(&format!(" (os error {n})"))
        .unwrap_or(&full);
    !desc.is_empty() && before.ends_with(&format!("{desc} "))
}

#[cfg(test)]
mod errno_tests {
    use super::name_wasi_errnos;

    #[test]
    fn wasi_errnos_are_named() {
        assert_eq!(
            name_wasi_errnos("opening configure: No such file or directory (os error 44)"),
            "opening configure: No such file or directory (ENOENT, WASI errno 44)"
        );
        assert_eq!(
            name_wasi_errnos("a (os error 63) b (os error 76)"),
            "a (EPERM, WASI errno 63) b (ENOTCAPABLE, WASI errno 76)"
        );
        // A host error relayed by the guest keeps the host's number.
        let host = "opening the parent directory: Too many levels of symbolic links (os error 40)";
        assert_eq!(name_wasi_errnos(host), host);
        // Anything else is left as it is.
        for s in ["(os error 77)", "(os error x)", "(os error 4", "plain"] {
            assert_eq!(name_wasi_errnos(s), s);
        }
    }
}
