//! `wport build`: a port from its Portfile to a destroot, end to end.
//!
//! 1. parse the Portfile (strict schema);
//! 2. lay out a fresh build directory: `sources/` (distfiles, patches, the
//!    port's files), `work/`, `destroot/`, `build.log`;
//! 3. copy every source and patchfile in, checking its sha256 and size while
//!    copying (nothing unverified reaches the build);
//! 4. extract the distfiles into `work/` through directory handles;
//! 5. load the build component (a standard one, or the port's own, checked
//!    against its pinned sha256) and run the phases in order, each in a fresh
//!    sandbox instance that sees only its own directories.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use cap_std::fs::Dir;
use wport_exec::{BuildIdentity, Executor, SandboxDirs, SessionOptions};
use wport_manifest::{BuildKind, Phase, Portfile, SourceLocation};
use wport_sandbox::{
    BuildLog, BuildSpec, HostDirs, Limits, LoadedComponent, NativeExec, PhaseReport, Sandbox,
    SandboxConfig,
};

use crate::native::MediatedExec;

/// Settings of one build.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// Parent of the per-port build directories.
    pub build_root: PathBuf,
    /// Precompiled-component cache; `None` compiles in memory.
    pub component_cache: Option<PathBuf>,
    /// Content-addressed distfile store consulted for remote sources.
    pub distfile_store: Option<PathBuf>,
    /// The install prefix the port is configured for; its phases see the
    /// installed dependencies they are granted there (`crate::view`).
    pub prefix: String,
    /// The prefix's install registry (default:
    /// `<prefix>/var/wport/registry.sqlite`), read when a phase is granted
    /// dependencies.
    pub registry: Option<PathBuf>,
    pub jobs: u32,
    /// Copy the build log to stderr as it is written.
    pub verbose: bool,
    /// Announce each step on stderr (`--->  Configuring hello`), as MacPorts
    /// does, and show download progress at the `-q`/`-v` level
    /// ([`crate::output`]). Each phase's time and what was skipped are
    /// said by that level alone (`-v`).
    pub progress: bool,
    pub limits: Limits,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            build_root: crate::paths::build_root(),
            component_cache: Some(crate::paths::cache_dir().join("components")),
            distfile_store: Some(crate::paths::cache_dir().join("distfiles")),
            prefix: "/opt/wport".into(),
            registry: None,
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
            verbose: false,
            progress: false,
            limits: Limits::default(),
        }
    }
}

/// Where a finished build left its results.
#[derive(Debug)]
pub struct BuildOutcome {
    pub port: String,
    pub dir: PathBuf,
    pub destroot: PathBuf,
    pub log: PathBuf,
    pub phases: Vec<PhaseReport>,
    /// The executor's record of every mediated call, allowed or not, in
    /// order (empty for a port that runs no native program): the source of
    /// the package provenance's call count and digest.
    pub mediated_calls: Vec<wport_exec::AuditRecord>,
}

/// The phases a build runs, in order.
pub fn phases(portfile: &Portfile) -> Vec<Phase> {
    Phase::ALL
        .into_iter()
        .filter(|p| *p != Phase::Test || portfile.build.test)
        .collect()
}

/// Build the port in `port_dir`.
///
/// `executor` runs the port's native commands; it must have been started
/// before anything else in the process (see `wport_exec::Executor::start`).
/// `Err` carries why it is unavailable, which only matters to a port whose
/// capabilities grant a program. When wport runs as root and the port runs
/// native commands, the build directories are handed to the build user and
/// this process drops to that user for good before the first phase.
pub fn build_port(
    port_dir: &Path,
    opts: &BuildOptions,
    executor: Result<&Executor, String>,
) -> anyhow::Result<BuildOutcome> {
    // The caller's umask must not reach the build: the files a port's WASM
    // logic creates (through WASI, in this process) got their mode from it,
    // so a user with umask 002 staged group-writable files another did not
    // (`wport build --check` found it on the demo port). Native commands
    // run with 022 (wport-exec); so does everything this process creates.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o022));
    let portfile_path = port_dir.join("Portfile.toml");
    let portfile = Portfile::load(&portfile_path)?;
    let label = format!("{}@{}", portfile.port.name, portfile.port.version);
    build_loaded(port_dir, &portfile, opts, executor).with_context(|| format!("port {label}"))
}

fn build_loaded(
    port_dir: &Path,
    portfile: &Portfile,
    opts: &BuildOptions,
    executor: Result<&Executor, String>,
) -> anyhow::Result<BuildOutcome> {
    let name = &portfile.port.name;
    // Name and version are validated as safe path components by the schema.
    let build_root = open_build_root(&opts.build_root)?;
    let layout = Layout::fresh(
        &build_root,
        &opts.build_root,
        &format!("{name}-{}", portfile.port.version),
    )?;
    let dir = layout.dir.clone();
    let log_file = layout
        .handle
        .create("build.log")
        .map(cap_std::fs::File::into_std)
        .with_context(|| format!("creating the build log {}", layout.log.display()))?;
    let log = BuildLog::new(Box::new(std::io::BufWriter::new(log_file)), opts.verbose);
    // Created now, as the log is: as root the build drops to the build
    // user before it ends, and that user cannot create files here.
    let mut record_file = layout
        .handle
        .create(crate::provenance::HOST_RECORD)
        .map(cap_std::fs::File::into_std)
        .with_context(|| {
            format!(
                "creating the host record {}",
                dir.join(crate::provenance::HOST_RECORD).display()
            )
        })?;
    log.line(
        "wport",
        &format!(
            "building {name} {} in {}",
            portfile.port.version,
            dir.display()
        ),
    );

    // Sources: verified while they are copied in.
    if opts.progress {
        eprintln!("--->  Verifying and extracting {name}");
    }
    let distfiles = stage_sources(port_dir, portfile, opts, &layout, &log)?;
    let patchfiles = stage_patchfiles(port_dir, portfile, &layout, &log)?;
    stage_port_files(port_dir, &layout)?;

    // Extraction into the work directory, through a directory handle.
    let extracted = extract_sources(portfile, &distfiles, &layout, &log)?;
    // What the host staged and extracted keeps no mode a build must not
    // leave either (extraction already narrows; this is the same rule).
    let unswept = layout.sweep(&log);
    if !unswept.is_empty() {
        bail!("could not sweep the staged tree: {}", unswept.join("; "));
    }
    let worksrc = worksrc_dir(portfile, &layout, &extracted.top_level)?;

    // The build logic.
    let (sandbox, loaded) = load_component(port_dir, portfile, opts, &log)?;

    let source_date_epoch = portfile
        .port
        .source_date_epoch
        .or(extracted.newest)
        .unwrap_or(0);
    // Native commands: a confined session, when the port runs any.
    let mediated = native_session(portfile, opts, executor, &layout, &log, source_date_epoch)?;
    let exec = mediated.clone().map(|m| -> Arc<dyn NativeExec> { m });

    let spec = Arc::new(BuildSpec {
        name: name.clone(),
        version: portfile.port.version.clone(),
        revision: portfile.port.revision,
        prefix: opts.prefix.clone(),
        jobs: opts.jobs,
        source_date_epoch,
        dirs: HostDirs {
            sources: layout.sources.clone(),
            work: layout.work.clone(),
            destroot: layout.destroot.clone(),
        },
        worksrc,
        distfiles,
        patchfiles,
        params: portfile.build.params.clone(),
        limits: opts.limits.clone(),
        exec,
    });

    // The phases, in order.
    let reports = run_phases(
        portfile,
        opts,
        &sandbox,
        &loaded,
        &spec,
        mediated.as_deref(),
        &layout,
        &log,
    )?;
    // Issue 11, item 1: nothing setuid, setgid or world-writable is left
    // in sources, work or destroot, whatever the last phase did.
    let unswept = layout.sweep(&log);
    if !unswept.is_empty() {
        let _ = log.flush();
        bail!(
            "could not sweep the build's directories (modes a build must not leave may remain): {}",
            unswept.join("; ")
        );
    }
    report_refusals(mediated.as_deref(), &log, &layout.log);
    // The host's record of the calls, and its summary as the log's last
    // line (read back by `wport package --destroot`).
    let mediated_calls =
        write_host_record(&mut record_file, mediated.as_deref(), opts, &dir, &log)?;
    log.flush()
        .with_context(|| format!("writing the build log {}", layout.log.display()))?;
    Ok(BuildOutcome {
        port: format!("{name}@{}", portfile.port.version),
        destroot: layout.destroot,
        log: layout.log,
        dir,
        phases: reports,
        mediated_calls,
    })
}

/// Extracts every distfile marked `extract` into the work directory,
/// through a directory handle; returns the top-level names (sorted, once
/// each) and the newest entry time.
fn extract_sources(
    portfile: &Portfile,
    distfiles: &[String],
    layout: &Layout,
    log: &BuildLog,
) -> anyhow::Result<Extracted> {
    let work = open_sub_dir(&layout.handle, "work")
        .with_context(|| format!("opening {}", layout.work.display()))?;
    let mut top_level = Vec::new();
    let mut newest = None;
    for (source, file) in portfile.sources.iter().zip(distfiles) {
        if !source.extract {
            continue;
        }
        let archive = layout.sources.join("distfiles").join(file);
        let report = wport_fetch::extract::extract(
            &archive,
            &work,
            &wport_fetch::extract::Limits::default(),
        )
        .with_context(|| format!("extracting distfile {file}"))?;
        log.line(
            "extract",
            &format!("{file}: {} entries, {} bytes", report.entries, report.bytes),
        );
        top_level.extend(report.top_level);
        newest = newest.max(report.max_mtime);
    }
    top_level.sort();
    top_level.dedup();
    Ok(Extracted { top_level, newest })
}

/// What extraction left in the work directory.
struct Extracted {
    top_level: Vec<String>,
    /// The newest entry time, the default `SOURCE_DATE_EPOCH`.
    newest: Option<u64>,
}

/// The directory the phases start in: `[build] worksrcdir`, else the single
/// top-level directory extraction made, else none.
fn worksrc_dir(
    portfile: &Portfile,
    layout: &Layout,
    top_level: &[String],
) -> anyhow::Result<Option<String>> {
    let worksrc = match (&portfile.build.worksrcdir, top_level) {
        (Some(w), _) => Some(w.clone()),
        (None, [single]) if layout.work.join(single).is_dir() => Some(single.clone()),
        (None, _) => None,
    };
    if let Some(w) = &worksrc
        && !layout.work.join(w).is_dir()
    {
        bail!("worksrcdir {w:?} does not exist in the extracted tree (top level: {top_level:?})");
    }
    Ok(worksrc)
}

/// The build logic: the component's bytes, checked against the Portfile's
/// capabilities before anything is compiled, then compiled (or taken from
/// the cache) and linked.
fn load_component(
    port_dir: &Path,
    portfile: &Portfile,
    opts: &BuildOptions,
    log: &BuildLog,
) -> anyhow::Result<(Sandbox, Arc<LoadedComponent>)> {
    let component = component_bytes(port_dir, portfile)?;
    // Code matches manifest: refuse, before compiling anything, a component
    // that imports what the Portfile does not grant or wport never provides.
    let imports =
        wport_lint::imports::check(&component, portfile.capabilities.grants_any_program())
            .context("the build component's imports do not match the Portfile's capabilities")?;
    log.line(
        "wport",
        &format!("component imports: {}", imports.join(", ")),
    );
    let sandbox = Sandbox::new(SandboxConfig {
        cache_dir: opts.component_cache.clone(),
    })?;
    let loaded = sandbox.load(&component)?;
    log.line(
        "wport",
        &format!(
            "component {} ({})",
            loaded.sha256_hex(),
            if loaded.from_cache {
                "precompiled, from cache"
            } else {
                "compiled"
            }
        ),
    );
    Ok((sandbox, loaded))
}

/// For a port that runs native programs: the confined session they run in
/// (the prefix view, limits and walls logged), entered as the build user
/// when wport runs as root. `None` for a port that runs none.
fn native_session(
    portfile: &Portfile,
    opts: &BuildOptions,
    executor: Result<&Executor, String>,
    layout: &Layout,
    log: &BuildLog,
    source_date_epoch: u64,
) -> anyhow::Result<Option<Arc<MediatedExec>>> {
    if !portfile.capabilities.grants_any_program() {
        return Ok(None);
    }
    let executor = executor.map_err(|reason| {
        anyhow::anyhow!(
            "this port runs native programs, but they cannot be confined here: {reason}"
        )
    })?;
    let privileged = rustix::process::geteuid().is_root();
    // Before dropping privileges: a missing store layer is made now.
    let view = crate::view::prepare(
        portfile,
        &phases(portfile),
        &opts.prefix,
        opts.registry.as_deref(),
    )?;
    if let Some(v) = &view {
        for note in &v.notes {
            log.line("wport", note);
        }
        for (phase, i) in &v.phases {
            log.line(
                "wport",
                &format!(
                    "phase {phase} sees at {}: {}",
                    opts.prefix,
                    v.packages[usize::from(*i)].join(" ")
                ),
            );
        }
    }
    if privileged {
        hand_over(layout, executor.build_identity())?;
    }
    let session = executor
        .session(
            &SandboxDirs {
                sources: layout.sources.clone(),
                work: layout.work.clone(),
                destroot: layout.destroot.clone(),
            },
            &SessionOptions {
                source_date_epoch,
                jobs: Some(opts.jobs),
                // `[limits]`; None: the executor's defaults.
                memory: portfile.limits.memory,
                processes: portfile.limits.processes,
                prefix_view: view.as_ref().map(|v| v.prefix_view.clone()),
            },
        )
        .context("setting up the confined session for native commands")?;
    let (memory, processes) = session.limits();
    log.line(
        "wport",
        &format!(
            "build limits: memory {} MiB, {processes} processes{}",
            memory >> 20,
            if session.cgroups().is_empty() {
                " (not enforced: no cgroup)"
            } else {
                ""
            }
        ),
    );
    for wall in session.missing_walls() {
        log.line(
            "wport",
            &format!("WARNING: native commands run without {wall} (allowed explicitly)"),
        );
    }
    executor
        .drop_host_privileges()
        .context("dropping privileges to the build user")?;
    if privileged {
        let id = executor.build_identity();
        log.line(
            "wport",
            &format!("building as uid {} gid {}", id.uid, id.gid),
        );
    }
    Ok(Some(Arc::new(MediatedExec::new(session, portfile, view))))
}

/// Runs the phases in order, each announced as MacPorts does; on a failure
/// the confinement's refusals are reported before the error.
#[expect(
    clippy::too_many_arguments,
    reason = "the build's parts, each borrowed from build_loaded"
)]
fn run_phases(
    portfile: &Portfile,
    opts: &BuildOptions,
    sandbox: &Sandbox,
    loaded: &LoadedComponent,
    spec: &Arc<BuildSpec>,
    mediated: Option<&MediatedExec>,
    layout: &Layout,
    log: &BuildLog,
) -> anyhow::Result<Vec<PhaseReport>> {
    let name = &portfile.port.name;
    let mut reports = Vec::new();
    if !portfile.build.test {
        crate::detail!("wport: {name}: test phase skipped ([build] test is not true)");
    }
    for phase in phases(portfile) {
        if opts.progress {
            eprintln!("--->  {} {name}", step_name(phase));
        }
        let result = sandbox.run_phase(loaded, spec, phase, log);
        if result.is_err() {
            report_refusals(mediated, log, &layout.log);
        }
        let _ = log.flush();
        let report = result?;
        crate::detail!(
            "wport: {name}: {} took {:.1} ms",
            phase.as_str(),
            report.duration.as_secs_f64() * 1e3
        );
        reports.push(report);
    }
    Ok(reports)
}

/// The host's record of the mediated calls (`host-record.json`), and its
/// summary as the log's last line (read back by `wport package
/// --destroot`). Returns the calls.
fn write_host_record(
    record_file: &mut std::fs::File,
    mediated: Option<&MediatedExec>,
    opts: &BuildOptions,
    dir: &Path,
    log: &BuildLog,
) -> anyhow::Result<Vec<wport_exec::AuditRecord>> {
    let mediated_calls = mediated.map_or(Vec::new(), |m| m.session().audit());
    let host_record = crate::provenance::HostRecord::of(
        &mediated_calls,
        opts.jobs,
        &wport_exec::ExecutorConfig::default().toolchain_path,
    );
    let record_json = serde_json::to_vec_pretty(&host_record).expect("a host record serialises");
    std::io::Write::write_all(record_file, &record_json)
        .and_then(|()| record_file.sync_all())
        .with_context(|| {
            format!(
                "writing the host record {}",
                dir.join(crate::provenance::HOST_RECORD).display()
            )
        })?;
    log.line(
        "wport",
        &crate::provenance::summary(&host_record.calls_record()),
    );
    Ok(mediated_calls)
}

/// At the end of a build, failed or not: what the confinement refused its
/// native commands, in the log and as a warning on stderr (issue 14;
/// MacPorts' trace mode warns the same way). Nothing when nothing was.
fn report_refusals(mediated: Option<&MediatedExec>, log: &BuildLog, log_path: &Path) {
    let Some(report) = mediated.map(MediatedExec::refusals) else {
        return;
    };
    if report.is_empty() {
        return;
    }
    for line in report.log_lines() {
        log.line("wport", &line);
    }
    eprint!("{}", report.stderr_text(log_path));
}

/// MacPorts' words for the steps, so the output reads the way porters expect.
fn step_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Patch => "Applying patches to",
        Phase::Configure => "Configuring",
        Phase::Build => "Building",
        Phase::Test => "Testing",
        Phase::Destroot => "Staging into destroot:",
        Phase::PostDestroot => "Finishing destroot of",
    }
}

/// The build root cannot be used safely: another user could plant or move
/// things in it (issue 11, item 3: root's default build root sat under
/// world-writable /var/tmp, and a symlink planted at an old build directory
/// made the cleanup empty its target).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildRootError {
    /// A directory on the way, or the build root itself, belongs to another
    /// user, who could rename or replace what is inside it.
    #[error(
        "build root {}: {} is owned by uid {owner}, not by uid {expected} or root; use a build root \
         only you (and root) control",
        build_root.display(), path.display()
    )]
    NotOwned {
        build_root: PathBuf,
        path: PathBuf,
        owner: u32,
        expected: u32,
    },
    /// A directory on the way (not sticky), or the build root itself, is
    /// writable by group or others.
    #[error(
        "build root {}: {} has mode {mode:o}, writable by other users; make it `chmod go-w` \
         (the build root itself: 0700, or 0711 as root)",
        build_root.display(), path.display()
    )]
    Exposed {
        build_root: PathBuf,
        path: PathBuf,
        mode: u32,
    },
    /// A symlink where a directory of the build root's path was expected,
    /// in a directory others can write to.
    #[error(
        "build root {}: {} is a symlink in a directory other users can write to; it is not followed",
        build_root.display(), path.display()
    )]
    Link { build_root: PathBuf, path: PathBuf },
    #[error("build root {}: {what} {}: {source}", build_root.display(), path.display())]
    Io {
        build_root: PathBuf,
        path: PathBuf,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
}

/// Open the build root, creating what is missing, one component at a time
/// from `/` with `O_NOFOLLOW | O_DIRECTORY`, and check it each run:
///
/// - every directory on the way is owned by root or by us; one others can
///   write to must be sticky (as /tmp and /var/tmp), and what we open below
///   it must again be root's or ours (no squatting on /var/tmp/wport);
/// - a symlink on the way is followed only where no one else could have
///   planted it (its directory is writable by its owner only);
/// - the build root itself is ours and writable by us only. Read and search
///   bits for others are taken away: 0700, or 0711 as root, whose build users
///   must traverse it to reach their own build directory (they cannot list
///   it, and each build directory is 0710 to its own build group).
///
/// The handle is what the build uses afterwards: nothing re-resolves the
/// path, so nothing swapped in later is followed.
pub fn open_build_root(path: &Path) -> Result<Dir, BuildRootError> {
    use rustix::fs::{Mode, OFlags};
    let me = rustix::process::geteuid().as_raw();
    let private = if me == 0 { 0o711 } else { 0o700 };
    let absolute = std::path::absolute(path).map_err(|source| BuildRootError::Io {
        build_root: path.to_owned(),
        path: path.to_owned(),
        what: "resolving",
        source,
    })?;
    let err = |at: &Path, what, e: rustix::io::Errno| BuildRootError::Io {
        build_root: path.to_owned(),
        path: at.to_owned(),
        what,
        source: e.into(),
    };
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let mut at = PathBuf::from("/");
    let mut dir =
        rustix::fs::open("/", flags, Mode::empty()).map_err(|e| err(&at, "opening", e))?;
    let mut parent_st = rustix::fs::fstat(&dir).map_err(|e| err(&at, "reading", e))?;
    let components: Vec<_> = absolute
        .components()
        .filter(|c| matches!(c, std::path::Component::Normal(_)))
        .collect();
    for (i, c) in components.iter().enumerate() {
        let name = c.as_os_str();
        let last = i + 1 == components.len();
        at.push(name);
        let parent_shared = parent_st.st_mode & 0o022 != 0;
        let next = match rustix::fs::openat(&dir, name, flags | OFlags::NOFOLLOW, Mode::empty()) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) => {
                match rustix::fs::mkdirat(&dir, name, Mode::from_raw_mode(private)) {
                    Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                    Err(e) => return Err(err(&at, "creating", e)),
                }
                rustix::fs::openat(&dir, name, flags | OFlags::NOFOLLOW, Mode::empty())
                    .map_err(|e| err(&at, "opening", e))?
            }
            Err(rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR) => {
                let link = rustix::fs::statat(&dir, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(|e| err(&at, "reading", e))?;
                if rustix::fs::FileType::from_raw_mode(link.st_mode)
                    != rustix::fs::FileType::Symlink
                {
                    return Err(err(&at, "opening", rustix::io::Errno::NOTDIR));
                }
                if parent_shared || last {
                    return Err(BuildRootError::Link {
                        build_root: path.to_owned(),
                        path: at,
                    });
                }
                // Planted by whoever owns this directory (root or us).
                rustix::fs::openat(&dir, name, flags, Mode::empty())
                    .map_err(|e| err(&at, "opening", e))?
            }
            Err(e) => return Err(err(&at, "opening", e)),
        };
        let st = rustix::fs::fstat(&next).map_err(|e| err(&at, "reading", e))?;
        // Root's directories may lead to ours; the build root is ours.
        let owner_ok = st.st_uid == me || (st.st_uid == 0 && !last);
        if !owner_ok {
            return Err(BuildRootError::NotOwned {
                build_root: path.to_owned(),
                path: at,
                owner: st.st_uid,
                expected: me,
            });
        }
        let mode = st.st_mode & 0o7777;
        if mode & 0o022 != 0 && (last || mode & 0o1000 == 0) {
            return Err(BuildRootError::Exposed {
                build_root: path.to_owned(),
                path: at,
                mode,
            });
        }
        if last && mode & 0o077 & !private != 0 {
            rustix::fs::fchmod(&next, Mode::from_raw_mode(mode & !0o077 | private))
                .map_err(|e| err(&at, "narrowing the mode of", e))?;
        }
        dir = next;
        parent_st = st;
    }
    Ok(Dir::from_std_file(std::fs::File::from(dir)))
}

/// The directories of one build.
struct Layout {
    /// The build directory, held: its path is only for messages and for
    /// the sandbox, which reaches it through the checked build root.
    handle: Dir,
    dir: PathBuf,
    sources: PathBuf,
    work: PathBuf,
    destroot: PathBuf,
    log: PathBuf,
}

/// Remove `name` from the (checked, held) build root `root` if it is there,
/// looking at it without following it: a symlink or a file is unlinked, a
/// directory emptied through handles ([`empty_dir`] never follows a link
/// nor climbs with `..`) and removed. Returns whether anything was there.
/// A build user may have left anything in a build directory; this is how
/// both a new build and `wport clean` take it away.
///
/// [`empty_dir`]: wport_sandbox::files::empty_dir
pub fn remove_build_entry(root: &Dir, root_path: &Path, name: &str) -> anyhow::Result<bool> {
    use rustix::fs::{AtFlags, FileType};
    let dir = root_path.join(name);
    match rustix::fs::statat(root, name, AtFlags::SYMLINK_NOFOLLOW) {
        Err(rustix::io::Errno::NOENT) => return Ok(false),
        Err(e) => {
            return Err(std::io::Error::from(e))
                .with_context(|| format!("reading the previous build {}", dir.display()));
        }
        Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {
            // Not std's remove_dir_all: a guest can leave a directory
            // chain deep enough to exhaust a recursive removal's stack or
            // descriptors, and the port could then never be rebuilt.
            let old = open_sub_dir(root, name)
                .and_then(|old| wport_sandbox::files::empty_dir(&old))
                .and_then(|()| {
                    rustix::fs::unlinkat(root, name, AtFlags::REMOVEDIR).map_err(Into::into)
                });
            old.with_context(|| format!("removing the previous build in {}", dir.display()))?;
        }
        // A link or anything else: removed as itself, never followed.
        Ok(_) => rustix::fs::unlinkat(root, name, AtFlags::empty())
            .map_err(std::io::Error::from)
            .with_context(|| format!("removing {}", dir.display()))?,
    }
    Ok(true)
}

impl Layout {
    /// Create a clean build directory `name` in the (checked, held) build
    /// root, removing what an earlier build of the same port left. Whatever
    /// is at `name` is looked at without following it: a symlink or a file
    /// is unlinked, a directory emptied through handles ([`empty_dir`]
    /// never follows a link nor climbs with `..`) and removed.
    ///
    /// [`empty_dir`]: wport_sandbox::files::empty_dir
    fn fresh(root: &Dir, root_path: &Path, name: &str) -> anyhow::Result<Layout> {
        use rustix::fs::Mode;
        let dir = root_path.join(name);
        remove_build_entry(root, root_path, name)?;
        rustix::fs::mkdirat(root, name, Mode::from_raw_mode(0o700))
            .map_err(std::io::Error::from)
            .with_context(|| format!("creating {}", dir.display()))?;
        let handle =
            open_sub_dir(root, name).with_context(|| format!("opening {}", dir.display()))?;
        for d in [
            "sources/distfiles",
            "sources/patches",
            "sources/files",
            "work",
            "destroot",
        ] {
            handle
                .create_dir_all(d)
                .with_context(|| format!("creating {}", dir.join(d).display()))?;
        }
        Ok(Layout {
            handle,
            sources: dir.join("sources"),
            work: dir.join("work"),
            destroot: dir.join("destroot"),
            log: dir.join("build.log"),
            dir,
        })
    }

    /// Sweep all three trees (see [`wport_sandbox::files::sweep_tree`]) and
    /// log what was changed. Returns what could not be swept.
    fn sweep(&self, log: &BuildLog) -> Vec<String> {
        let mut failed = Vec::new();
        for (sub, shown) in [
            ("sources", "/sources"),
            ("work", "/work"),
            ("destroot", "/destroot"),
        ] {
            let swept = match open_sub_dir(&self.handle, sub) {
                Ok(d) => wport_sandbox::files::sweep_tree(&d, Path::new(shown)),
                Err(e) => {
                    failed.push(format!("{shown}: {e}"));
                    continue;
                }
            };
            for s in swept {
                log.line("wport", &s.to_string());
                if let wport_sandbox::files::Swept::Failed { path, error } = s {
                    failed.push(format!("{path}: {error}"));
                }
            }
        }
        failed
    }
}

/// Give the build user the work tree and the destroot, and make the sources
/// readable (but not writable) to it. Runs before any build code, on the
/// tree the engine itself just extracted; `lchown` never follows a link.
fn hand_over(layout: &Layout, id: BuildIdentity) -> anyhow::Result<()> {
    fn walk(
        path: &Path,
        f: &mut dyn FnMut(&Path, &std::fs::Metadata) -> std::io::Result<()>,
    ) -> anyhow::Result<()> {
        let meta = std::fs::symlink_metadata(path)
            .with_context(|| format!("reading {}", path.display()))?;
        f(path, &meta).with_context(|| format!("preparing {}", path.display()))?;
        if meta.is_dir() {
            for entry in
                std::fs::read_dir(path).with_context(|| format!("listing {}", path.display()))?
            {
                walk(&entry?.path(), f)?;
            }
        }
        Ok(())
    }
    use std::os::unix::fs::{PermissionsExt, lchown};
    // The build directory: root's, entered by this build's group only
    // (each build has a group of its own), listed and changed by no one
    // else. Other local users cannot reach anything below it.
    std::os::unix::fs::fchown(&layout.handle, None, Some(id.gid))
        .and_then(|()| {
            rustix::fs::fchmod(&layout.handle, rustix::fs::Mode::from_raw_mode(0o710))
                .map_err(Into::into)
        })
        .with_context(|| format!("handing {} to the build group", layout.dir.display()))?;
    for dir in [&layout.work, &layout.destroot] {
        walk(dir, &mut |p, _| lchown(p, Some(id.uid), Some(id.gid)))?;
    }
    walk(&layout.sources, &mut |p, meta| {
        if meta.is_symlink() {
            return Ok(());
        }
        let mode = meta.permissions().mode();
        let readable = if meta.is_dir() {
            mode | 0o555
        } else {
            mode | 0o444
        };
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(readable & 0o755))
    })?;
    Ok(())
}

/// Open the directory `name` of `dir`: one name, never through a link.
pub(crate) fn open_sub_dir(dir: &Dir, name: &str) -> std::io::Result<Dir> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    Ok(Dir::from_std_file(std::fs::File::from(fd)))
}

fn open_dir(path: &Path) -> anyhow::Result<Dir> {
    Dir::open_ambient_dir(path, cap_std::ambient_authority())
        .with_context(|| format!("opening {}", path.display()))
}

/// Copy every distfile into `sources/distfiles`, verifying it on the way.
fn stage_sources(
    port_dir: &Path,
    portfile: &Portfile,
    opts: &BuildOptions,
    layout: &Layout,
    log: &BuildLog,
) -> anyhow::Result<Vec<String>> {
    let dest = open_dir(&layout.sources.join("distfiles"))?;
    let mut names = Vec::new();
    for source in &portfile.sources {
        let name = source.distfile_name().to_owned();
        let expected = wport_fetch::verify::Expected {
            sha256: source.sha256,
            size: source.size,
        };
        let origin = match source.location() {
            SourceLocation::Local(rel) => port_dir.join(rel),
            SourceLocation::Remote(url) => {
                match (
                    &opts.distfile_store,
                    wport_fetch::transport::FileTransport::path_of(url),
                ) {
                    // Into the store unless it is there (url, then mirrors; a
                    // mismatch is quarantined and stops the build), then copied
                    // from the store and verified again below. `file://` too:
                    // the fetcher opens only regular files, without blocking
                    // on a FIFO, with its deadline (issue 11, item 12).
                    (Some(store), _) => {
                        let req = crate::distfiles::request(portfile, source)?
                            .context("a remote source")?;
                        let fetcher = crate::distfiles::fetcher(
                            store,
                            &crate::distfiles::quarantine_beside(store),
                            wport_fetch::transport::TransportConfig::default(),
                        )?;
                        let progress = if opts.progress {
                            crate::output::progress()
                        } else {
                            wport_fetch::download::Progress::quiet()
                        };
                        let fetched = fetcher.fetch(&req, &progress)?;
                        for rec in fetched.quarantined() {
                            log.line(
                                "fetch",
                                &format!(
                                    "WARNING: {} served other bytes; quarantined as {}",
                                    rec.mirror, rec.id
                                ),
                            );
                            eprintln!(
                                "warning: {name}: {} served other bytes; quarantined as {}",
                                rec.mirror, rec.id
                            );
                        }
                        match &fetched.origin {
                            wport_fetch::download::Origin::Downloaded { url, .. } => {
                                log.line("fetch", &format!("{name}: fetched from {url}"));
                            }
                            _ => crate::detail!(
                                "wport: {name}: already in the distfile store ({}), not downloaded",
                                fetched.path.display()
                            ),
                        }
                        fetched.path
                    }
                    // No store: a local file is copied straight from its path
                    // (`file://localhost/ABS` is `/ABS`); copy_verified refuses
                    // anything but a regular file, without blocking.
                    (None, Some(path)) => path,
                    (None, None) => {
                        bail!("distfile {name}: {url} needs a distfile store to be fetched into")
                    }
                }
            }
        };
        wport_fetch::verify::copy_verified(&origin, &dest, &name, &expected)
            .with_context(|| format!("distfile {name} (from {})", origin.display()))?;
        log.line(
            "sources",
            &format!(
                "{name}: sha256 {} and size {} verified",
                source.sha256, source.size
            ),
        );
        names.push(name);
    }
    Ok(names)
}

/// Copy every patchfile from the port's files/ into `sources/patches`,
/// verifying its pinned sha256.
fn stage_patchfiles(
    port_dir: &Path,
    portfile: &Portfile,
    layout: &Layout,
    log: &BuildLog,
) -> anyhow::Result<Vec<String>> {
    let dest = open_dir(&layout.sources.join("patches"))?;
    let mut names = Vec::new();
    for patch in &portfile.patchfiles {
        let origin = port_dir.join("files").join(&patch.file);
        let size = std::fs::metadata(&origin)
            .with_context(|| format!("patchfile {}", origin.display()))?
            .len();
        let name = Path::new(&patch.file)
            .file_name()
            .context("patchfile without a file name")?
            .to_string_lossy()
            .into_owned();
        let expected = wport_fetch::verify::Expected {
            sha256: patch.sha256,
            size,
        };
        wport_fetch::verify::copy_verified(&origin, &dest, &name, &expected)
            .with_context(|| format!("patchfile {}", origin.display()))?;
        log.line(
            "sources",
            &format!("patchfile {name}: sha256 {} verified", patch.sha256),
        );
        names.push(name);
    }
    Ok(names)
}

/// Copy the port's own `files/` directory (read-only for the build).
fn stage_port_files(port_dir: &Path, layout: &Layout) -> anyhow::Result<()> {
    let src = port_dir.join("files");
    if !src.is_dir() {
        return Ok(());
    }
    copy_plain_tree(&src, &layout.sources.join("files"))
}

/// Copy regular files and directories; a port's files/ has no business
/// holding links or devices, so those are refused.
fn copy_plain_tree(src: &Path, dst: &Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(src).with_context(|| format!("listing {}", src.display()))? {
        let entry = entry?;
        let ty = entry.file_type()?;
        let (from, to) = (entry.path(), dst.join(entry.file_name()));
        if ty.is_dir() {
            std::fs::create_dir_all(&to).with_context(|| format!("creating {}", to.display()))?;
            copy_plain_tree(&from, &to)?;
        } else if ty.is_file() {
            std::fs::copy(&from, &to).with_context(|| format!("copying {}", from.display()))?;
        } else {
            bail!(
                "{}: only regular files and directories belong in a port's files/",
                from.display()
            );
        }
    }
    Ok(())
}

/// The port's own component is not the one its Portfile pins.
#[derive(Debug, thiserror::Error)]
#[error(
    "component {}: sha256 {actual} does not match the pinned {pinned}; rebuild it or re-pin it after review",
    file.display()
)]
pub struct ComponentMismatch {
    pub file: PathBuf,
    pub pinned: String,
    pub actual: String,
}

/// The component that carries the port's build logic.
fn component_bytes(port_dir: &Path, portfile: &Portfile) -> anyhow::Result<Vec<u8>> {
    match &portfile.build.kind {
        BuildKind::Standard(which) => Ok(crate::embedded::standard_component(*which).to_vec()),
        BuildKind::Component { path, sha256 } => {
            let file = port_dir.join(path);
            let bytes = std::fs::read(&file)
                .with_context(|| format!("reading the component {}", file.display()))?;
            let actual = wport_fetch::Sha256::of(&bytes);
            if actual != *sha256 {
                return Err(ComponentMismatch {
                    file,
                    pinned: sha256.to_string(),
                    actual: actual.to_string(),
                }
                .into());
            }
            Ok(bytes)
        }
    }
}
