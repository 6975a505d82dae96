//! The validated Portfile, as the rest of wport sees it.
//!
//! Every value here has passed `validate`: names and versions are safe
//! path components, paths are safe relative paths, digests are well formed,
//! capability grants only name declared dependencies. Code that holds a
//! [`Portfile`] does not need to re-check any of that.
//!
//! Each field's documentation shows the TOML that produces it; the complete
//! reference for port maintainers is `docs/CAPABILITIES.md`.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::phase::Phase;
use crate::sha256::Sha256Hex;

/// A parsed and validated `Portfile.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Portfile {
    /// `[port]`: identity and metadata.
    pub port: PortInfo,
    /// `[[source]]`, in file order: the distfiles to fetch, verify and extract.
    pub sources: Vec<Source>,
    /// `[[patchfile]]`, in file order: the order they are applied in.
    pub patchfiles: Vec<Patchfile>,
    /// `[dependencies]`: other ports this one needs.
    pub dependencies: Dependencies,
    /// `[build]`: which component drives the build, and its parameters.
    pub build: Build,
    /// `[capabilities.<phase>]`: what each phase may do beyond its sandbox.
    pub capabilities: Capabilities,
    /// `[limits]`: memory and processes of the whole build.
    pub limits: BuildLimits,
    /// `[runtime]`: what the installed programs may touch when they run.
    pub runtime: Runtime,
}

/// `[runtime]`: how the programs a port installs in `PREFIX/bin` run. They
/// are started through `wport-launch`, which confines them with Landlock to
/// what this table grants, on top of a default that lets ordinary
/// command-line use work (docs/CAPABILITIES.md, "`[runtime]`").
///
/// ```toml
/// [runtime]
/// read = ["{xdg-config}/figlet"]
///
/// [runtime.programs.figlet-fetch]
/// network = true
/// write = ["{xdg-cache}/figlet"]
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Runtime {
    /// The grants of every program without its own table.
    pub port: RuntimeGrants,
    /// `[runtime.programs.NAME]`: a program's grants, already merged with
    /// the port's (its booleans replace the port's, its paths are added).
    pub programs: BTreeMap<String, RuntimeGrants>,
}

impl Runtime {
    /// The grants of the program installed as `bin/NAME`.
    pub fn program(&self, name: &str) -> &RuntimeGrants {
        self.programs.get(name).unwrap_or(&self.port)
    }

    /// The port-wide grants, then each program's, by name.
    pub fn iter(&self) -> impl Iterator<Item = (Option<&str>, &RuntimeGrants)> {
        std::iter::once((None, &self.port)).chain(
            self.programs
                .iter()
                .map(|(name, grants)| (Some(name.as_str()), grants)),
        )
    }
}

/// What one installed program may do when it runs. The default is the
/// confined default: no network, may run other programs (each confined the
/// same way), paths named on its command line granted, nothing else of the
/// home directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeGrants {
    /// `confine = false` — run unconfined (no launcher). Default true;
    /// `wport lint` flags `false`.
    pub confine: bool,
    /// `network = true` — may open TCP connections and listen. Default false.
    pub network: bool,
    /// `exec = false` — may not run other programs. Default true.
    pub exec: bool,
    /// `arguments = false` — paths named on the command line get no grant.
    /// Default true.
    pub arguments: bool,
    /// `read = ["{xdg-config}/figlet"]` — extra trees it may read: an
    /// absolute path or one starting with a placeholder (`{prefix}`,
    /// `{home}`, `{cwd}`, `{tmp}`, `{xdg-config}`, `{xdg-data}`,
    /// `{xdg-cache}`, `{xdg-state}`, `{xdg-runtime}`).
    pub read: Vec<String>,
    /// `write = ["{xdg-cache}/figlet"]` — extra trees it may read, write,
    /// create and remove files in; same forms as `read`.
    pub write: Vec<String>,
}

impl Default for RuntimeGrants {
    fn default() -> RuntimeGrants {
        RuntimeGrants {
            confine: true,
            network: false,
            exec: true,
            arguments: true,
            read: Vec::new(),
            write: Vec::new(),
        }
    }
}

/// `[limits]`: what the whole build (every native process of it together)
/// may use. Optional, like each key; a missing key means the engine's
/// default (memory 4 GiB, 1024 processes; docs/CAPABILITIES.md). The engine
/// enforces them with the build's cgroup: a command that fails because the
/// build reached one fails with an error naming the limit.
///
/// ```toml
/// [limits]
/// memory = "8GiB"
/// processes = 2048
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BuildLimits {
    /// `memory = "4GiB"` — bytes, written as an integer and a binary unit
    /// (`KiB`, `MiB`, `GiB`, `TiB`), from [`MIN_MEMORY_BYTES`] to
    /// [`MAX_MEMORY_BYTES`]. Counts every process, tmpfs file (`/tmp`,
    /// `/dev/shm`) and shared-memory segment of the build; also the largest
    /// SysV shared-memory segment. `None`: the engine default.
    pub memory: Option<u64>,
    /// `processes = 1024` — most processes (and threads) the build may
    /// have at once, from [`MIN_PROCESSES`] to [`MAX_PROCESSES`]. `None`:
    /// the engine default.
    pub processes: Option<u64>,
}

/// Smallest `[limits] memory`: 16 MiB (a shell and a small command).
pub const MIN_MEMORY_BYTES: u64 = 16 << 20;
/// Largest `[limits] memory`: 1 TiB.
pub const MAX_MEMORY_BYTES: u64 = 1 << 40;
/// Smallest `[limits] processes`: 8.
pub const MIN_PROCESSES: u64 = 8;
/// Largest `[limits] processes`: 1,000,000.
pub const MAX_PROCESSES: u64 = 1_000_000;

/// `[port]`: who the port is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortInfo {
    /// `name = "hello"` — required. A safe path component:
    /// `[a-z0-9][a-z0-9+._-]*`, at most 64 bytes.
    pub name: String,
    /// `version = "2.10"` — required. A safe path component:
    /// `[A-Za-z0-9][A-Za-z0-9+._~-]*`, no `..`, at most 64 bytes.
    pub version: String,
    /// `revision = 0` — optional, default 0. Bump when the port changes but
    /// the upstream version does not.
    pub revision: u32,
    /// `description = "..."` — required, one line.
    pub description: String,
    /// `homepage = "https://..."` — required, an `https://` or `http://` URL.
    pub homepage: String,
    /// `license = "GPL-3.0-or-later"` — required, an SPDX expression.
    pub license: String,
    /// `maintainers = ["Alice <alice@example.org>"]` — required, at least one.
    pub maintainers: Vec<String>,
    /// `upstream-contact = "bug-hello@gnu.org"` — required: who to ask when
    /// an upstream tarball changes under a published checksum.
    pub upstream_contact: String,
    /// `source-date-epoch = 1400000000` — optional: the timestamp a
    /// reproducible build stamps into its outputs.
    pub source_date_epoch: Option<u64>,
}

/// One `[[source]]`: a distfile, pinned by digest and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// `url = "https://..."` — required. An `https://`, `http://` or `file://`
    /// URL, or a safe path relative to the port directory for a distfile that
    /// ships with the port.
    pub url: String,
    /// `mirrors = ["https://..."]` — optional, default empty. Tried after `url`;
    /// they must serve the same bytes.
    pub mirrors: Vec<String>,
    /// `sha256 = "<64 lowercase hex>"` — required.
    pub sha256: Sha256Hex,
    /// `size = 725946` — required, in bytes. Fetching stops past this size.
    pub size: u64,
    /// `file = "hello-2.10.tar.gz"` — optional distfile name; see
    /// [`Source::distfile_name`].
    pub file: Option<String>,
    /// `extract = true` — optional, default true. False keeps the distfile as
    /// is in the sources directory.
    pub extract: bool,
}

/// Where a [`Source`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceLocation<'a> {
    /// An `https://`, `http://` or `file://` URL.
    Remote(&'a str),
    /// A safe path relative to the port directory.
    Local(&'a str),
}

impl Source {
    /// The file name the distfile is stored under: `file` when given, else
    /// the last path segment of `url` (query and fragment removed).
    /// Validation guarantees the result is a safe file name.
    pub fn distfile_name(&self) -> &str {
        match &self.file {
            Some(file) => file,
            None => crate::rules::last_url_segment(&self.url),
        }
    }

    /// Whether `url` names a remote resource or a file shipped with the port.
    pub fn location(&self) -> SourceLocation<'_> {
        if crate::rules::url_scheme(&self.url).is_some() {
            SourceLocation::Remote(&self.url)
        } else {
            SourceLocation::Local(&self.url)
        }
    }
}

/// One `[[patchfile]]`, applied in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patchfile {
    /// `file = "patch-Makefile.diff"` — required; a safe path relative to the
    /// port's `files/` directory.
    pub file: String,
    /// `sha256 = "<64 lowercase hex>"` — required.
    pub sha256: Sha256Hex,
}

/// `[dependencies]`: port names, each list optional and empty by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dependencies {
    /// `build = ["pkgconfig"]` — tools needed only while building.
    pub build: Vec<String>,
    /// `lib = ["zlib"]` — libraries linked against.
    pub lib: Vec<String>,
    /// `run = []` — needed when the installed port runs.
    pub run: Vec<String>,
}

impl Dependencies {
    /// Whether `name` appears in any of the three lists.
    pub fn contains(&self, name: &str) -> bool {
        self.all().any(|dep| dep == name)
    }

    /// Every declared dependency (build, then lib, then run; a name listed
    /// twice appears twice).
    pub fn all(&self) -> impl Iterator<Item = &str> {
        self.build
            .iter()
            .chain(&self.lib)
            .chain(&self.run)
            .map(String::as_str)
    }
}

/// `[build]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    /// `standard = "..."` or `component = "..."` + `component-sha256 = "..."`:
    /// exactly one is required.
    pub kind: BuildKind,
    /// `worksrcdir = "hello-2.10"` — optional safe relative path inside the
    /// work directory. `None`: the single top-level directory of the extracted
    /// tree.
    pub worksrcdir: Option<String>,
    /// `test = true` — optional, default false: run the test phase.
    pub test: bool,
    /// `[build.params]` — free-form parameters for the component. A string
    /// value becomes a one-element list.
    pub params: BTreeMap<String, Vec<String>>,
}

/// Which component drives the build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildKind {
    /// `standard = "autotools"`: a component shipped with wport.
    Standard(StandardComponent),
    /// `component = "port.wasm"` + `component-sha256 = "..."`: the port's own
    /// component, a safe path relative to the port directory, pinned by digest.
    Component {
        /// Path relative to the port directory.
        path: String,
        /// The pinned digest of the component file.
        sha256: Sha256Hex,
    },
}

/// The standard build components shipped with wport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StandardComponent {
    /// `standard = "make"`: `make`, then `make install DESTDIR=...`.
    Make,
    /// `standard = "autotools"`: `./configure`, `make`, `make install`.
    Autotools,
    /// `standard = "cmake"`: `cmake` in `{work}/build`, `cmake --build`,
    /// `cmake --install` with `DESTDIR` (MacPorts' cmake PortGroup).
    CMake,
    /// `standard = "meson"`: `meson setup` in `{work}/build`, `ninja`,
    /// `meson install --destdir` (MacPorts' meson PortGroup).
    Meson,
}

impl StandardComponent {
    /// Every standard component, in documentation order.
    pub const ALL: [StandardComponent; 4] = [
        StandardComponent::Make,
        StandardComponent::Autotools,
        StandardComponent::CMake,
        StandardComponent::Meson,
    ];

    /// The spelling used in `standard = "..."`.
    pub const fn as_str(self) -> &'static str {
        match self {
            StandardComponent::Make => "make",
            StandardComponent::Autotools => "autotools",
            StandardComponent::CMake => "cmake",
            StandardComponent::Meson => "meson",
        }
    }

    /// The `[build.params]` keys this component reads, in documentation
    /// order. Any other key is an error from `wport lint` and `wport build`
    /// (with a did-you-mean), so a misspelt key cannot be silently ignored.
    /// The meaning of each is in guest-sdk's `std_build` and docs/PORTING.md.
    pub const fn params(self) -> &'static [&'static str] {
        match self {
            StandardComponent::Make => &[
                "make-args",
                "build-target",
                "test-target",
                "destroot-args",
                "destroot-target",
                "reinplace",
                "cc",
                "cxx",
                "cflags",
                "cxxflags",
                "cppflags",
                "ldflags",
                "use-parallel-build",
            ],
            StandardComponent::Autotools => &[
                "configure-script",
                "configure-args",
                "make-args",
                "build-target",
                "test-target",
                "destroot-args",
                "destroot-target",
                "reinplace",
                "cc",
                "cxx",
                "cflags",
                "cxxflags",
                "cppflags",
                "ldflags",
                "use-parallel-build",
            ],
            StandardComponent::CMake => &[
                "configure-args",
                "build-target",
                "reinplace",
                "cc",
                "cxx",
                "cflags",
                "cxxflags",
                "cppflags",
                "ldflags",
                "use-parallel-build",
            ],
            StandardComponent::Meson => &[
                "configure-args",
                "reinplace",
                "cc",
                "cxx",
                "cflags",
                "cxxflags",
                "cppflags",
                "ldflags",
                "use-parallel-build",
            ],
        }
    }

    /// Parses the spelling used in `standard = "..."`.
    pub fn from_name(name: &str) -> Option<StandardComponent> {
        StandardComponent::ALL
            .into_iter()
            .find(|c| c.as_str() == name)
    }
}

impl std::fmt::Display for StandardComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[capabilities.<phase>]`: the grants of every phase.
///
/// **Deny by default:** a phase without a table gets an empty
/// [`PhaseGrants`] — no programs, no dependencies, no extra environment.
/// `Capabilities::default()` grants nothing at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    patch: PhaseGrants,
    configure: PhaseGrants,
    build: PhaseGrants,
    test: PhaseGrants,
    destroot: PhaseGrants,
    post_destroot: PhaseGrants,
}

impl Capabilities {
    /// The grants of one phase (empty when the Portfile has no table for it).
    pub fn phase(&self, phase: Phase) -> &PhaseGrants {
        // Exhaustive on purpose: a new phase must be given a slot here.
        match phase {
            Phase::Patch => &self.patch,
            Phase::Configure => &self.configure,
            Phase::Build => &self.build,
            Phase::Test => &self.test,
            Phase::Destroot => &self.destroot,
            Phase::PostDestroot => &self.post_destroot,
        }
    }

    /// Mutable access, for building grants in code (tests, tools). Grants
    /// built this way bypass Portfile validation.
    pub fn phase_mut(&mut self, phase: Phase) -> &mut PhaseGrants {
        match phase {
            Phase::Patch => &mut self.patch,
            Phase::Configure => &mut self.configure,
            Phase::Build => &mut self.build,
            Phase::Test => &mut self.test,
            Phase::Destroot => &mut self.destroot,
            Phase::PostDestroot => &mut self.post_destroot,
        }
    }

    /// Every phase with its grants, in build order.
    pub fn iter(&self) -> impl Iterator<Item = (Phase, &PhaseGrants)> {
        Phase::ALL
            .into_iter()
            .map(|phase| (phase, self.phase(phase)))
    }

    /// Whether any phase may run any native program at all.
    pub fn grants_any_program(&self) -> bool {
        self.iter().any(|(_, grants)| !grants.programs.is_empty())
    }
}

/// Longest `timeout` a phase may ask for, in seconds (7 days). Bounded so
/// that the engine can add it to a clock reading without overflow
/// (`Instant + Duration` panics), and because one call running for a week is
/// a hung build.
pub const MAX_TIMEOUT_SECS: u64 = 7 * 24 * 60 * 60;

/// `[capabilities.<phase>]`: what one phase may do. Empty means nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhaseGrants {
    /// `programs = ["sh", "./configure"]` — native programs the phase may run:
    /// bare names resolved on the toolchain PATH, or `./`-relative scripts in
    /// the work directory.
    pub programs: Vec<String>,
    /// `dependencies = ["zlib"]` — declared dependencies the phase may see.
    pub dependencies: Vec<String>,
    /// `env = { CFLAGS = "-O2" }` — extra environment for mediated programs.
    pub env: BTreeMap<String, String>,
    /// `allow-loader-env = true` — permit loader variables (`LD_*`,
    /// `DYLD_*`, `GCONV_PATH`) in `env`. Default false.
    pub allow_loader_env: bool,
    /// `timeout = 600` — seconds per mediated call, 1 to [`MAX_TIMEOUT_SECS`];
    /// `None`: the engine default.
    pub timeout: Option<Duration>,
}
