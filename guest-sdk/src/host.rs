//! Phase code on the host: an implementation of the `wport:port` imports
//! over a temporary directory, so `cargo test` in a port crate runs its
//! phases without wport, wasmtime or a sandbox (issue 14).
//!
//! Only built for targets other than wasm32; a component never contains it.
//! [`HostBuild`] lays out `sources/`, `work/NAME-VERSION/` (worksrc) and
//! `destroot/` under a fresh temporary directory, and [`HostBuild::run`]
//! runs one phase of a [`Port`] against it: `env` answers from the
//! builder, log lines are kept ([`HostBuild::log`]), native commands are
//! recorded but not run ([`HostBuild::commands`]) and a program the phase
//! was not granted is refused as the engine refuses it. The `files` calls
//! act on the real directories with the contract's checks: paths outside the
//! phase's directories, `..` and symlinks on the way are `escape`, writes
//! into `sources/` are `read-only`.
//!
//! Which directories a phase sees: `post-destroot` the destroot only;
//! `destroot` all four; the other phases all but the destroot. This is what
//! a port may rely on; the engine's sandbox is the authority, and the
//! engine's end-to-end tests remain the test of the built component.
//!
//! ```no_run
//! use wport_guest_sdk::host::HostBuild;
//! use wport_guest_sdk::env::Phase;
//! # struct MyPort; impl wport_guest_sdk::Port for MyPort {}
//! let mut build = HostBuild::new("foo", "1.0").unwrap().grant(Phase::Build, ["make"]);
//! std::fs::write(build.worksrc().join("Makefile"), "all:\n").unwrap();
//! build.run::<MyPort>(Phase::Build).unwrap();
//! assert_eq!(build.commands()[0].program, "make");
//! ```

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Component, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::Port;
use crate::bindings::wport::port::build_env::{Phase, PortDirs, PortInfo};
use crate::bindings::wport::port::exec::{Command, ExitStatus};
use crate::bindings::wport::port::files::{Error as FilesError, ErrorKind as FilesErrorKind};
use crate::bindings::wport::port::log::Level;

/// One port's directories on the host and what its phases may do.
pub struct HostBuild {
    root: PathBuf,
    port: PortInfo,
    prefix: String,
    jobs: u32,
    source_date_epoch: u64,
    params: BTreeMap<String, Vec<String>>,
    grants: Vec<(Phase, Vec<String>)>,
    patchfiles: Vec<String>,
    distfiles: Vec<String>,
    log: Vec<(Level, String)>,
    commands: Vec<Command>,
}

impl HostBuild {
    /// A fresh temporary tree for port `name` at `version`: `sources/`,
    /// `work/NAME-VERSION/` and `destroot/`, empty. Removed on drop.
    pub fn new(name: &str, version: &str) -> std::io::Result<HostBuild> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let root = std::env::temp_dir().join(format!(
            "wport-host-{name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let build = HostBuild {
            root,
            port: PortInfo {
                name: name.to_owned(),
                version: version.to_owned(),
                revision: 0,
            },
            prefix: "/opt/wport".to_owned(),
            jobs: 1,
            source_date_epoch: 0,
            params: BTreeMap::new(),
            grants: Vec::new(),
            patchfiles: Vec::new(),
            distfiles: Vec::new(),
            log: Vec::new(),
            commands: Vec::new(),
        };
        for dir in [build.sources(), build.worksrc(), build.destroot()] {
            std::fs::create_dir_all(dir)?;
        }
        Ok(build)
    }

    /// The install prefix (default `/opt/wport`).
    #[must_use]
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.to_owned();
        self
    }

    /// `jobs` (default 1).
    #[must_use]
    pub fn jobs(mut self, jobs: u32) -> Self {
        self.jobs = jobs;
        self
    }

    /// A `[build.params]` entry.
    #[must_use]
    pub fn param<S: Into<String>>(
        mut self,
        name: &str,
        values: impl IntoIterator<Item = S>,
    ) -> Self {
        self.params.insert(
            name.to_owned(),
            values.into_iter().map(Into::into).collect(),
        );
        self
    }

    /// The programs `phase` may run (`[capabilities.PHASE] programs`).
    #[must_use]
    pub fn grant<S: Into<String>>(
        mut self,
        phase: Phase,
        programs: impl IntoIterator<Item = S>,
    ) -> Self {
        self.grants
            .push((phase, programs.into_iter().map(Into::into).collect()));
        self
    }

    /// A patchfile, by its path relative to `sources/` (write it there).
    #[must_use]
    pub fn patchfile(mut self, relative: &str) -> Self {
        self.patchfiles.push(relative.to_owned());
        self
    }

    /// A distfile, by its path relative to `sources/`.
    #[must_use]
    pub fn distfile(mut self, relative: &str) -> Self {
        self.distfiles.push(relative.to_owned());
        self
    }

    /// `sources/` (read-only to the phases).
    pub fn sources(&self) -> PathBuf {
        self.root.join("sources")
    }

    /// `work/`.
    pub fn work(&self) -> PathBuf {
        self.root.join("work")
    }

    /// `work/NAME-VERSION/`, the source tree.
    pub fn worksrc(&self) -> PathBuf {
        self.work()
            .join(format!("{}-{}", self.port.name, self.port.version))
    }

    /// `destroot/`.
    pub fn destroot(&self) -> PathBuf {
        self.root.join("destroot")
    }

    /// `destroot/` + prefix: where installed files land.
    pub fn dest_prefix(&self) -> PathBuf {
        self.destroot().join(self.prefix.trim_start_matches('/'))
    }

    /// Every line the phases run so far logged, in order.
    pub fn log(&self) -> &[(Level, String)] {
        &self.log
    }

    /// Every native command the phases run so far asked for, granted or
    /// refused, in order.
    pub fn commands(&self) -> &[Command] {
        &self.commands
    }

    /// Run `phase` of `P` against this tree: the error is the message the
    /// engine would show for the phase.
    pub fn run<P: Port>(&mut self, phase: Phase) -> Result<(), String> {
        let path = |p: PathBuf| Some(p.display().to_string());
        let (sources, work, destroot) = match phase {
            Phase::PostDestroot => (false, false, true),
            Phase::Destroot => (true, true, true),
            _ => (true, true, false),
        };
        let dirs = PortDirs {
            sources: if sources { path(self.sources()) } else { None },
            work: if work { path(self.work()) } else { None },
            worksrc: if work { path(self.worksrc()) } else { None },
            destroot: if destroot {
                path(self.destroot())
            } else {
                None
            },
        };
        let in_sources = |names: &[String]| -> Vec<String> {
            if sources {
                names
                    .iter()
                    .map(|n| self.sources().join(n).display().to_string())
                    .collect()
            } else {
                Vec::new()
            }
        };
        let mut readable = Vec::new();
        let mut writable = Vec::new();
        if sources {
            readable.push(self.sources());
        }
        if work {
            writable.push(self.work());
        }
        if destroot {
            writable.push(self.destroot());
        }
        let state = State {
            port: self.port.clone(),
            phase,
            prefix: self.prefix.clone(),
            jobs: self.jobs,
            source_date_epoch: self.source_date_epoch,
            dirs,
            distfiles: in_sources(&self.distfiles),
            patchfiles: in_sources(&self.patchfiles),
            params: self.params.clone(),
            programs: self
                .grants
                .iter()
                .filter(|(p, _)| *p == phase)
                .flat_map(|(_, programs)| programs.clone())
                .collect(),
            readable,
            writable,
            log: Vec::new(),
            commands: Vec::new(),
        };
        STATE.with(|s| *s.borrow_mut() = Some(state));
        let result = match phase {
            Phase::Patch => P::patch(),
            Phase::Configure => P::configure(),
            Phase::Build => P::build(),
            Phase::Test => P::test(),
            Phase::Destroot => P::destroot(),
            Phase::PostDestroot => P::post_destroot(),
        };
        if let Some(state) = STATE.with(|s| s.borrow_mut().take()) {
            self.log.extend(state.log);
            self.commands.extend(state.commands);
        }
        result.map_err(|e| e.to_string())
    }
}

impl Drop for HostBuild {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// What the imports answer while [`HostBuild::run`] runs a phase.
struct State {
    port: PortInfo,
    phase: Phase,
    prefix: String,
    jobs: u32,
    source_date_epoch: u64,
    dirs: PortDirs,
    distfiles: Vec<String>,
    patchfiles: Vec<String>,
    params: BTreeMap<String, Vec<String>>,
    programs: Vec<String>,
    readable: Vec<PathBuf>,
    writable: Vec<PathBuf>,
    log: Vec<(Level, String)>,
    commands: Vec<Command>,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

fn with<R>(f: impl FnOnce(&mut State) -> R) -> R {
    STATE.with(|s| {
        let mut state = s.borrow_mut();
        let state = state.as_mut().expect(
            "a wport:port import was called outside HostBuild::run (on the host, phases run only through it)",
        );
        f(state)
    })
}

/// `log` on the host.
pub(crate) mod log {
    pub use crate::bindings::wport::port::log::Level;

    pub fn write(level: Level, message: &str) {
        // The panic hook may log outside a run: keep that visible.
        let kept = super::STATE.with(|s| match s.borrow_mut().as_mut() {
            Some(state) => {
                state.log.push((level, message.to_owned()));
                true
            }
            None => false,
        });
        if !kept {
            eprintln!("{message}");
        }
    }
}

/// `build-env` on the host.
pub(crate) mod build_env {
    pub use crate::bindings::wport::port::build_env::{Phase, PortDirs, PortInfo};

    use super::with;

    pub fn port() -> PortInfo {
        with(|s| s.port.clone())
    }
    pub fn current_phase() -> Phase {
        with(|s| s.phase)
    }
    pub fn prefix() -> String {
        with(|s| s.prefix.clone())
    }
    pub fn jobs() -> u32 {
        with(|s| s.jobs)
    }
    pub fn source_date_epoch() -> u64 {
        with(|s| s.source_date_epoch)
    }
    pub fn dirs() -> PortDirs {
        with(|s| s.dirs.clone())
    }
    pub fn distfiles() -> Vec<String> {
        with(|s| s.distfiles.clone())
    }
    pub fn patchfiles() -> Vec<String> {
        with(|s| s.patchfiles.clone())
    }
    pub fn param(name: &str) -> Option<Vec<String>> {
        with(|s| s.params.get(name).cloned())
    }
}

/// `exec` on the host: recorded, never run.
pub(crate) mod exec {
    pub use crate::bindings::wport::port::exec::{Command, Error, Outcome};

    use super::with;

    /// A granted program "exits 0" with no output; any other is refused as
    /// the engine refuses it.
    pub fn run(cmd: &Command) -> Result<Outcome, Error> {
        with(|s| {
            s.commands.push(cmd.clone());
            if !s.programs.contains(&cmd.program) {
                return Err(Error::Denied(format!(
                    "`{}` is not granted to the {} phase",
                    cmd.program, s.phase
                )));
            }
            Ok(Outcome {
                status: super::ExitStatus::Exited(0),
                stdout: Vec::new(),
                duration_ms: 0,
            })
        })
    }
}

/// `files` on the host, with the contract's checks.
pub(crate) mod files {
    pub use crate::bindings::wport::port::files::{Error, ErrorKind};

    use std::os::unix::fs::PermissionsExt as _;
    use std::path::{Path, PathBuf};

    use super::{FilesError, FilesErrorKind, with};

    fn error(kind: FilesErrorKind, path: &str, message: impl Into<String>) -> FilesError {
        FilesError {
            kind,
            path: path.to_owned(),
            message: message.into(),
        }
    }

    fn io(path: &str, e: std::io::Error) -> FilesError {
        let kind = match e.kind() {
            std::io::ErrorKind::NotFound => FilesErrorKind::NotFound,
            std::io::ErrorKind::AlreadyExists => FilesErrorKind::Exists,
            _ => FilesErrorKind::Io,
        };
        error(kind, path, e.to_string())
    }

    /// `path` if it lies in a directory of the phase (a writable one for
    /// `write`), with no `..` and no symlink on the way.
    fn resolve(path: &str, write: bool) -> Result<PathBuf, FilesError> {
        if path.is_empty() || path.contains('\0') {
            return Err(error(
                FilesErrorKind::Invalid,
                path,
                "empty path or NUL byte",
            ));
        }
        let p = Path::new(path);
        if p.components()
            .any(|c| matches!(c, super::Component::ParentDir))
        {
            return Err(error(FilesErrorKind::Escape, path, "`..` in the path"));
        }
        let (writable, readable) = with(|s| (s.writable.clone(), s.readable.clone()));
        let base = match writable.iter().find(|d| p.starts_with(d)) {
            Some(d) => d.clone(),
            None => match readable.iter().find(|d| p.starts_with(d)) {
                Some(_) if write => {
                    return Err(error(FilesErrorKind::ReadOnly, path, "granted read-only"));
                }
                Some(d) => d.clone(),
                None => {
                    return Err(error(
                        FilesErrorKind::Escape,
                        path,
                        "outside the directories granted to this phase",
                    ));
                }
            },
        };
        let mut at = base;
        let rest: Vec<_> = p.strip_prefix(&at).unwrap_or(p).components().collect();
        for c in rest.iter().take(rest.len().saturating_sub(1)) {
            at.push(c);
            if std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(error(FilesErrorKind::Escape, path, "a symlink on the way"));
            }
        }
        Ok(p.to_path_buf())
    }

    pub fn copy_tree(src: &str, dst: &str) -> Result<u64, FilesError> {
        let (from, to) = (resolve(src, false)?, resolve(dst, true)?);
        if std::fs::symlink_metadata(&to).is_ok() {
            return Err(error(FilesErrorKind::Exists, dst, "the destination exists"));
        }
        copy(&from, &to).map_err(|e| io(src, e))
    }

    fn copy(from: &Path, to: &Path) -> std::io::Result<u64> {
        let meta = std::fs::symlink_metadata(from)?;
        let mode = meta.permissions().mode() & 0o1777;
        if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(from)?, to)?;
            return Ok(1);
        }
        if meta.is_dir() {
            std::fs::create_dir(to)?;
            let mut n = 1;
            for entry in std::fs::read_dir(from)? {
                let entry = entry?;
                n += copy(&entry.path(), &to.join(entry.file_name()))?;
            }
            std::fs::set_permissions(to, std::fs::Permissions::from_mode(mode))?;
            return Ok(n);
        }
        std::fs::copy(from, to)?;
        std::fs::set_permissions(to, std::fs::Permissions::from_mode(mode))?;
        Ok(1)
    }

    pub fn remove_tree(path: &str) -> Result<u64, FilesError> {
        let p = resolve(path, true)?;
        let count = count(&p).map_err(|e| io(path, e))?;
        let meta = std::fs::symlink_metadata(&p).map_err(|e| io(path, e))?;
        if meta.is_dir() {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        }
        .map_err(|e| io(path, e))?;
        Ok(count)
    }

    fn count(p: &Path) -> std::io::Result<u64> {
        let meta = std::fs::symlink_metadata(p)?;
        if !meta.is_dir() {
            return Ok(1);
        }
        let mut n = 1;
        for entry in std::fs::read_dir(p)? {
            n += count(&entry?.path())?;
        }
        Ok(n)
    }

    pub fn symlink(target: &str, link: &str) -> Result<(), FilesError> {
        let l = resolve(link, true)?;
        std::os::unix::fs::symlink(target, l).map_err(|e| io(link, e))
    }

    pub fn read_link(path: &str) -> Result<String, FilesError> {
        let p = resolve(path, false)?;
        let target = std::fs::read_link(p).map_err(|e| io(path, e))?;
        Ok(target.display().to_string())
    }

    pub fn set_mode(path: &str, mode: u32) -> Result<(), FilesError> {
        let p = resolve(path, true)?;
        if mode & 0o6000 != 0 || mode > 0o1777 {
            return Err(error(
                FilesErrorKind::ReadOnly,
                path,
                "setuid/setgid are refused",
            ));
        }
        let meta = std::fs::symlink_metadata(&p).map_err(|e| io(path, e))?;
        if meta.file_type().is_symlink() {
            return Err(error(
                FilesErrorKind::Invalid,
                path,
                "a symlink has no mode of its own",
            ));
        }
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).map_err(|e| io(path, e))
    }

    pub fn get_mode(path: &str) -> Result<u32, FilesError> {
        let p = resolve(path, false)?;
        let meta = std::fs::symlink_metadata(p).map_err(|e| io(path, e))?;
        Ok(meta.permissions().mode() & 0o7777)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Context as _, ErrorKind, Result, command, env, fs};

    /// Runs `make` (granted to build) and `curl` (granted nowhere).
    struct Fetcher;
    impl Port for Fetcher {
        fn build() -> Result<()> {
            command::make(["all"])?;
            command::run("curl")
                .arg("https://example.org/")
                .status()
                .context("fetching")?;
            Ok(())
        }
        fn destroot() -> Result<()> {
            // An escape through `..` and a write into the read-only sources.
            let destroot = env::destroot()?;
            let escape =
                fs::copy(env::worksrc()?.join("a"), destroot.join("../outside")).unwrap_err();
            assert_eq!(escape.kind(), ErrorKind::Denied, "{escape}");
            let read_only = fs::delete(env::sources()?.join("x")).unwrap_err();
            assert_eq!(read_only.kind(), ErrorKind::Denied, "{read_only}");
            fs::copy(env::worksrc()?.join("a"), destroot.join("a"))?;
            Ok(())
        }
        fn post_destroot() -> Result<()> {
            env::worksrc().map(drop)
        }
    }

    #[test]
    fn exec_is_recorded_and_ungranted_programs_refused() {
        let mut build = HostBuild::new("fetcher", "1")
            .unwrap()
            .grant(Phase::Build, ["make"]);
        let err = build.run::<Fetcher>(Phase::Build).unwrap_err();
        assert!(
            err.contains("`curl` is not granted to the build phase"),
            "{err}"
        );
        let programs: Vec<&str> = build
            .commands()
            .iter()
            .map(|c| c.program.as_str())
            .collect();
        assert_eq!(programs, ["make", "curl"]);
        assert_eq!(build.commands()[0].args, ["all"]);
    }

    #[test]
    fn files_stay_in_the_phase_directories() {
        let mut build = HostBuild::new("fetcher", "1").unwrap();
        std::fs::write(build.worksrc().join("a"), "a").unwrap();
        std::fs::write(build.sources().join("x"), "x").unwrap();
        build.run::<Fetcher>(Phase::Destroot).unwrap();
        assert_eq!(std::fs::read(build.destroot().join("a")).unwrap(), b"a");
        assert!(build.sources().join("x").exists());
        // post-destroot sees the destroot only.
        let err = build.run::<Fetcher>(Phase::PostDestroot).unwrap_err();
        assert!(err.contains("no access to the worksrc directory"), "{err}");
    }
}
