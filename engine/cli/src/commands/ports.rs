//! The ports tree as one system: `wport install NAME...` from source,
//! `wport outdated`, `wport upgrade NAME...|--all` and `wport clean`.
//!
//! A plan is the dependency closure of what was asked for (resolved by
//! `wport-plan` against the synced, signed ports tree, or a local tree given
//! with `--unsigned DIR`), minus what is already installed. Each port is
//! built by a `wport build` child process — verified against the signed
//! targets first, exactly as `wport build NAME` does, and seeing in its
//! prefix only the dependencies its phases are granted — then packaged here
//! from its destroot, signed with the local packager key, verified against
//! that key and installed under the prefix's journal (an upgrade replaces
//! the old version in one journaled step). [`super::schedule`] runs the plan:
//! dependencies first, `-j` independent ports at once.
//!
//! Before a port of the signed tree is built, its signed binary is looked
//! for: the repository `wport sync` remembered may publish it as a TUF
//! target of its builders role (docs/TRUST.md, "Binary packages"). One
//! whose recorded inputs — Portfile, component and source digests, prefix,
//! and the payload digests of the dependencies installed in this prefix —
//! are exactly this port's is fetched (length and sha256 from the signed
//! target, checked while streaming; a mismatch is quarantined and stops the
//! plan), its manifest signature checked against the builders' keys, and
//! installed instead of a build. Otherwise the port is built, and the line
//! that says so says why no binary was used. `--binary-only` makes a
//! missing binary an error, `--source-only` never looks.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, bail};
use wport::exit;
use wport_manifest::Portfile;
use wport_registry::{InstallOptions, Prefix, PrefixOptions};

use super::install::PrefixArgs;
use super::schedule::{self, Job, JobEnd};

/// Where ports come from and how they are built.
#[derive(clap::Args, Clone)]
pub struct SourceArgs {
    /// Take ports from this local ports tree instead of the synced, signed
    /// one: nothing of it is verified (loud).
    #[arg(long, value_name = "DIR")]
    pub unsigned: Option<PathBuf>,
    /// Trust directory holding the synced ports tree (default: the one
    /// `wport sync` writes).
    #[arg(long)]
    pub trust_dir: Option<PathBuf>,
    /// Parent directory of build directories.
    #[arg(long)]
    pub build_root: Option<PathBuf>,
    /// Ports built at the same time; each build's own jobs share the CPUs
    /// (CPUs / N each).
    #[arg(short = 'j', long = "parallel", value_name = "N", default_value_t = 1)]
    pub parallel: u32,
}

/// Whether a plan uses signed binaries.
#[derive(clap::Args, Clone, Default)]
pub struct BinaryArgs {
    /// Install every port from a signed binary of the synced repository; a
    /// port without one that fits is an error (the plan stops there).
    #[arg(long, conflicts_with = "source_only")]
    pub binary_only: bool,
    /// Build every port from source, even where a signed binary fits.
    #[arg(long)]
    pub source_only: bool,
}

/// The ports tree a command works on.
pub struct Ports {
    pub tree: wport_plan::Tree<'static>,
    pub trust_dir: PathBuf,
    pub unsigned: Option<PathBuf>,
}

impl Ports {
    /// Load the tree: the local one of `--unsigned DIR` (loudly), or the
    /// synced one, each port verified against the signed targets before
    /// its Portfile is read.
    pub fn load(args: &SourceArgs) -> anyhow::Result<Ports> {
        let trust_dir = args.trust_dir.clone().unwrap_or_else(super::key::trust_dir);
        let tree = match &args.unsigned {
            Some(dir) => {
                eprintln!(
                    "wport: WARNING: using the UNSIGNED local ports tree {}: its Portfiles, patches \
                     and components are trusted as they are on disk",
                    dir.display()
                );
                if !dir.is_dir() {
                    bail!("the ports tree {} is not a directory", dir.display());
                }
                wport_plan::Tree::local(dir)
            }
            None => wport::resolve::signed_tree(&trust_dir),
        };
        Ok(Ports {
            tree,
            trust_dir,
            unsigned: args.unsigned.clone(),
        })
    }

    /// A port of the tree, loaded (and verified) on first use.
    pub fn port(&mut self, name: &str) -> anyhow::Result<Arc<wport_plan::Port>> {
        Ok(self.tree.port(name)?)
    }

    /// The argument `wport build` takes for `name`.
    fn build_arg(&self, name: &str) -> (String, bool) {
        match &self.unsigned {
            Some(dir) => (dir.join(name).display().to_string(), true),
            None => (name.to_owned(), false),
        }
    }

    /// The port's directory, verified again (signed tree) just before it is
    /// read to package the build: the tree may have been synced meanwhile.
    fn port_dir(&self, name: &str, scratch: &Path) -> anyhow::Result<PathBuf> {
        let (arg, unsigned) = self.build_arg(name);
        if unsigned {
            return Ok(PathBuf::from(arg));
        }
        Ok(wport::resolve::resolve_port(Some(&arg), false, &self.trust_dir, scratch)?.dir)
    }
}

#[derive(clap::Args)]
pub struct UpgradeArgs {
    /// Installed ports to upgrade (with --all: every outdated one).
    names: Vec<String>,
    /// Upgrade every outdated installed port.
    #[arg(long, conflicts_with = "names")]
    all: bool,
    #[command(flatten)]
    src: SourceArgs,
    #[command(flatten)]
    bin: BinaryArgs,
    #[command(flatten)]
    p: PrefixArgs,
}

#[derive(clap::Args)]
pub struct OutdatedArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    src: SourceArgs,
    #[command(flatten)]
    p: PrefixArgs,
}

#[derive(clap::Args)]
pub struct CleanArgs {
    /// One port (default: every build directory).
    name: Option<String>,
    /// Also remove distfiles from the store (the port's; all without NAME).
    #[arg(long)]
    dist: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    src: SourceArgs,
}

/// One installed port whose synced Portfile differs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Outdated {
    pub name: String,
    pub installed: String,
    pub available: String,
    /// What changed: `version`, `revision`, `Portfile`, `component`, `sources`.
    pub changed: Vec<&'static str>,
}

/// Installed ports whose port in `ports` differs from what they were built
/// from (version, revision, or any pinned input: the Portfile's bytes, the
/// component, the sources). Ports missing from the tree are not listed.
pub fn outdated(prefix: &Prefix, ports: &mut Ports) -> anyhow::Result<Vec<Outdated>> {
    let mut out = Vec::new();
    for (name, _, _) in prefix.registry().packages()? {
        let Some(installed) = prefix.registry().package(&name)? else {
            continue;
        };
        let port = match ports.tree.port(&name) {
            Ok(p) => p,
            Err(wport_plan::PlanError::NotFound { .. }) => continue,
            Err(e) => return Err(e.into()),
        };
        let m = &installed.manifest;
        let pf = &port.portfile;
        let mut changed = Vec::new();
        if m.version != pf.port.version {
            changed.push("version");
        }
        if m.revision != pf.port.revision {
            changed.push("revision");
        }
        if m.provenance.portfile_sha256 != port.sha256.to_string() {
            changed.push("Portfile");
        }
        if m.provenance.component_sha256 != component_sha256(pf) {
            changed.push("component");
        }
        let sources: Vec<String> = pf.sources.iter().map(|s| s.sha256.to_string()).collect();
        let had: Vec<String> = m
            .provenance
            .sources
            .iter()
            .map(|s| s.sha256.clone())
            .collect();
        if sources != had {
            changed.push("sources");
        }
        if !changed.is_empty() {
            out.push(Outdated {
                name: name.clone(),
                installed: format!("{}_{}", m.version, m.revision),
                available: format!("{}_{}", pf.port.version, pf.port.revision),
                changed,
            });
        }
    }
    Ok(out)
}

fn component_sha256(pf: &Portfile) -> String {
    use sha2::{Digest, Sha256};
    match &pf.build.kind {
        wport_manifest::BuildKind::Component { sha256, .. } => sha256.to_string(),
        wport_manifest::BuildKind::Standard(s) => {
            Sha256::digest(wport::embedded::standard_component(*s))
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        }
    }
}

/// `wport install NAME...`: build and install from source what is missing.
pub fn install_names(
    names: &[String],
    src: &SourceArgs,
    bin: &BinaryArgs,
    p: &PrefixArgs,
) -> anyhow::Result<i32> {
    let mut ports = Ports::load(src)?;
    let plan = match wport_plan::plan(&mut ports.tree, names) {
        Ok(plan) => plan,
        Err(errors) => return Ok(report_plan_errors(&errors)),
    };
    let prefix = open_query(p)?;
    let mut jobs = Vec::new();
    let mut present = Vec::new();
    for name in plan.order() {
        match prefix.registry().package(name)? {
            Some(inst) => present.push(format!(
                "{name} {}_{}",
                inst.manifest.version, inst.manifest.revision
            )),
            None => jobs.push(job_of(&plan, name)),
        }
    }
    drop(prefix);
    if !present.is_empty() {
        println!("already installed: {}", present.join(", "));
    }
    if jobs.is_empty() {
        return Ok(exit::SUCCESS);
    }
    run_plan(&ports, &jobs, src, bin, p, false)
}

/// `wport upgrade NAME...|--all`.
pub fn upgrade(args: UpgradeArgs) -> i32 {
    super::install::finish((|| {
        if !args.all && args.names.is_empty() {
            bail!("name the ports to upgrade, or give --all");
        }
        let mut ports = Ports::load(&args.src)?;
        // A query: a missing prefix is an error, never created.
        let prefix = super::install::open_query(&args.p, false)?;
        let stale = outdated(&prefix, &mut ports)?;
        let mut targets: BTreeSet<String> = BTreeSet::new();
        if args.all {
            targets.extend(stale.iter().map(|o| o.name.clone()));
        } else {
            for n in &args.names {
                let Some(inst) = prefix.registry().package(n)? else {
                    bail!(
                        "{n} is not installed in {}; `wport install {n}`",
                        args.p.prefix.display()
                    );
                };
                match stale.iter().find(|o| &o.name == n) {
                    Some(_) => {
                        targets.insert(n.clone());
                    }
                    None => println!(
                        "{n} {}_{} is up to date",
                        inst.manifest.version, inst.manifest.revision
                    ),
                }
            }
        }
        // Installed ports whose lib dependency is rebuilt are rebuilt too,
        // transitively: they link against what is being replaced.
        let installed: BTreeSet<String> = prefix
            .registry()
            .packages()?
            .into_iter()
            .map(|(n, _, _)| n)
            .collect();
        let mut lib_deps: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for n in &installed {
            if let Ok(port) = ports.tree.port(n) {
                lib_deps.insert(n, port.deps(wport_plan::DepKind::Lib).to_vec());
            }
        }
        let mut rebuild = targets.clone();
        loop {
            let more: Vec<String> = lib_deps
                .iter()
                .filter(|(n, libs)| {
                    !rebuild.contains(**n) && libs.iter().any(|d| rebuild.contains(d))
                })
                .map(|(n, _)| n.to_string())
                .collect();
            if more.is_empty() {
                break;
            }
            for n in more {
                println!("{n}: rebuilt because a library it links against is upgraded");
                rebuild.insert(n);
            }
        }
        drop(prefix);
        if rebuild.is_empty() {
            println!("nothing to upgrade");
            return Ok(exit::SUCCESS);
        }
        let roots: Vec<String> = rebuild.iter().cloned().collect();
        let plan = match wport_plan::plan(&mut ports.tree, &roots) {
            Ok(plan) => plan,
            Err(errors) => return Ok(report_plan_errors(&errors)),
        };
        let jobs: Vec<Job> = plan
            .order()
            .iter()
            .filter(|n| rebuild.contains(*n))
            .map(|n| job_of(&plan, n))
            .collect();
        run_plan(&ports, &jobs, &args.src, &args.bin, &args.p, true)
    })())
}

/// `wport outdated`.
pub fn run_outdated(args: OutdatedArgs) -> i32 {
    super::install::finish((|| {
        let mut ports = Ports::load(&args.src)?;
        // A query: a missing prefix is an error, never created.
        let prefix = super::install::open_query(&args.p, false)?;
        let stale = outdated(&prefix, &mut ports)?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&stale)?);
        } else if stale.is_empty() {
            println!("no installed port is outdated");
        } else {
            for o in &stale {
                println!(
                    "{:<20} {} < {}  ({} changed)",
                    o.name,
                    o.installed,
                    o.available,
                    o.changed.join(", ")
                );
            }
        }
        Ok(exit::SUCCESS)
    })())
}

/// The job of plan node `name`: it waits for every dependency of the plan,
/// whatever its kind (a run dependency is installed first too).
fn job_of(plan: &wport_plan::Plan, name: &str) -> Job {
    let port = &plan.node(name).expect("a planned port").port;
    let mut after: Vec<String> = port.all_deps().map(|(_, d)| d.to_owned()).collect();
    after.sort();
    after.dedup();
    Job {
        name: name.to_owned(),
        after,
    }
}

/// Print every reason a plan was refused (Portfile and line each), as
/// `wport deps` does (a Portfile's rendered diagnostic is not prefixed with
/// a second `error:`); the exit code is 2, as for a malformed Portfile.
fn report_plan_errors(errors: &[wport_plan::PlanError]) -> i32 {
    super::tree::report_plan_errors(errors);
    eprintln!(
        "error: nothing was built: the plan has {} problem(s)",
        errors.len()
    );
    exit::USAGE
}

fn open_query(p: &PrefixArgs) -> anyhow::Result<Prefix> {
    Prefix::open_query(&p.prefix, p.registry.as_deref(), false)
        .with_context(|| format!("opening the prefix {}", p.prefix.display()))
}

/// What a job produced for its install step.
enum Built {
    /// A source build: its destroot, to be packaged here.
    Source { destroot: PathBuf },
    /// A signed binary, fetched and checked against its TUF target.
    Binary {
        file: PathBuf,
        binary: Box<wport_trust::packages::Binary>,
    },
}

/// The signed binaries a plan may use: the repository the last sync
/// remembered, and where fetched packages are kept.
struct Binaries {
    /// Lookups one at a time: a lookup may store a verified delegated
    /// role in the trust directory, and parallel builds look up at once.
    lookups: std::sync::Mutex<()>,
    trust_dir: PathBuf,
    repo: super::sync::Remembered,
    only: bool,
    store: PathBuf,
    quarantine: PathBuf,
}

/// What the binary lookup decided for one port.
enum Choice {
    /// Fetched and checked against its signed target.
    Use(PathBuf, Box<wport_trust::packages::Binary>),
    /// No binary fits (why).
    Unavailable(String),
    /// The binary index (a builders role) failed verification.
    Refused(anyhow::Error),
    /// Too few independent builders attest the binary's payload digest
    /// (k of n builders): it is not fetched.
    Unattested(Box<wport::quorum::QuorumNotMet>),
}

impl Binaries {
    /// The binaries of the synced repository, unless the plan is from an
    /// unsigned tree, `--source-only`, or nothing was synced.
    fn for_plan(ports: &Ports, bin: &BinaryArgs) -> anyhow::Result<Option<Binaries>> {
        if bin.source_only {
            return Ok(None);
        }
        if ports.unsigned.is_some() {
            if bin.binary_only {
                bail!(
                    "--binary-only needs the synced, signed ports tree: binaries are matched \
                     against its Portfiles, not an --unsigned one"
                );
            }
            return Ok(None);
        }
        let Some(repo) = super::sync::Remembered::load(&ports.trust_dir)? else {
            if bin.binary_only {
                bail!(
                    "--binary-only: {} remembers no repository to take binaries from; \
                     `wport sync --from URL` first",
                    ports.trust_dir.display()
                );
            }
            return Ok(None);
        };
        let cache = wport::paths::cache_dir();
        Ok(Some(Binaries {
            lookups: std::sync::Mutex::new(()),
            trust_dir: ports.trust_dir.clone(),
            repo,
            only: bin.binary_only,
            store: cache.join("binaries"),
            quarantine: cache.join("quarantine"),
        }))
    }

    /// What `port` would be built from, as a binary's target records it.
    fn wanted(
        &self,
        port: &wport_plan::Port,
        p: &PrefixArgs,
    ) -> anyhow::Result<wport_trust::packages::PackageTarget> {
        let pf = &port.portfile;
        let prefix = open_query(p)?;
        let dependencies = super::package::dependency_digests(&prefix, pf)?;
        Ok(wport_trust::packages::PackageTarget {
            name: pf.port.name.clone(),
            version: pf.port.version.clone(),
            revision: pf.port.revision,
            inputs: wport_trust::packages::Inputs {
                portfile_sha256: port.sha256.to_string(),
                component_sha256: component_sha256(pf),
                sources: pf.sources.iter().map(|s| s.sha256.to_string()).collect(),
                prefix: p.prefix.display().to_string(),
                dependencies,
            },
        })
    }

    fn lookup(
        &self,
        wanted: &wport_trust::packages::PackageTarget,
    ) -> wport_trust::Result<wport_trust::packages::Lookup> {
        let _one = self.lookups.lock().unwrap_or_else(|e| e.into_inner());
        let base = &self.repo.base;
        let now = wport_trust::time::now();
        use wport_trust::packages::find_binary as find;
        if base.starts_with("http://") || base.starts_with("https://") {
            find(
                &self.trust_dir,
                base,
                wport::tuf_http::TufHttp::default(),
                wanted,
                now,
            )
        } else {
            find(
                &self.trust_dir,
                base,
                wport_trust::FileTransport,
                wanted,
                now,
            )
        }
    }

    /// Look `port` up and, when a binary fits, fetch it. A fetched file
    /// that does not match its signed target is quarantined and is an
    /// error (never a reason to build instead: someone served other bytes).
    fn choose(&self, port: &wport_plan::Port, p: &PrefixArgs) -> anyhow::Result<Choice> {
        let wanted = self.wanted(port, p)?;
        let binary = match self.lookup(&wanted) {
            Ok(wport_trust::packages::Lookup::Found(b)) => b,
            Ok(wport_trust::packages::Lookup::Unavailable(why)) => {
                return Ok(Choice::Unavailable(why.to_string()));
            }
            Err(e) => {
                return Ok(Choice::Refused(anyhow::Error::new(e).context(format!(
                    "the binary index of the repository {} for {}",
                    self.repo.base,
                    wanted.label()
                ))));
            }
        };
        // k of n builders, before anything is downloaded: the attestations
        // ride in the signed target record.
        let agreement = match wport::quorum::check(&binary) {
            Ok(a) => a,
            Err(q) => return Ok(Choice::Unattested(q)),
        };
        wport::detail!(
            "wport: {}: {} builder key(s) of {} (threshold {}) attest the payload of {}: {}",
            wanted.name,
            agreement.agree.len(),
            agreement.role,
            agreement.threshold,
            binary.path,
            agreement.agree.join(", ")
        );
        let tf = &binary.target;
        let sha = tf
            .hashes
            .get("sha256")
            .context("the binary's target lists no sha256")?;
        let mut urls = Vec::new();
        for base in std::iter::once(&self.repo.base).chain(&self.repo.mirrors) {
            urls.push(wport_trust::packages::target_location(
                base,
                &binary.path,
                tf,
                binary.consistent,
            )?);
        }
        let req = wport_fetch::download::Request {
            port: format!("{}@{}", wanted.name, wanted.version),
            file: binary
                .path
                .rsplit('/')
                .next()
                .unwrap_or(&binary.path)
                .to_owned(),
            urls,
            expected: wport_fetch::verify::Expected {
                sha256: sha.parse()?,
                size: tf.length,
            },
            upstream_contact: format!("the publisher of the binary repository {}", self.repo.base),
        };
        let fetcher = crate_distfiles_fetcher(&self.store, &self.quarantine)?;
        let fetched = fetcher
            .fetch(&req, &wport_fetch::download::Progress::quiet())
            .with_context(|| {
                format!(
                    "the signed binary {} ({}) did not arrive as its TUF target describes it",
                    wanted.label(),
                    binary.path
                )
            })?;
        for rec in fetched.quarantined() {
            eprintln!(
                "warning: {}: {} served other bytes; quarantined as {}",
                binary.path, rec.mirror, rec.id
            );
        }
        Ok(Choice::Use(fetched.path, binary))
    }
}

fn crate_distfiles_fetcher(
    store: &Path,
    quarantine: &Path,
) -> anyhow::Result<wport_fetch::download::Fetcher> {
    wport::distfiles::fetcher(
        store,
        quarantine,
        wport_fetch::transport::TransportConfig::default(),
    )
}

/// A port of a `--binary-only` plan without a binary that fits.
#[derive(Debug, thiserror::Error)]
#[error("--binary-only: no signed binary of {port} fits: {reason}")]
struct NoBinary {
    port: String,
    reason: String,
}

/// A signed binary whose own manifest says something else than its
/// target: another port, version or inputs (a builder's mistake or worse).
#[derive(Debug, thiserror::Error)]
#[error("the signed binary {path} holds {found}, not what its target describes: {what}")]
struct BinaryMismatch {
    path: String,
    found: String,
    what: String,
}

/// Checks a fetched binary's manifest against its target's record.
fn check_binary_manifest(
    m: &wport_registry::Manifest,
    binary: &wport_trust::packages::Binary,
) -> Result<(), BinaryMismatch> {
    let want = &binary.package;
    let inputs = wport_trust::packages::Inputs {
        portfile_sha256: m.provenance.portfile_sha256.clone(),
        component_sha256: m.provenance.component_sha256.clone(),
        sources: m
            .provenance
            .sources
            .iter()
            .map(|s| s.sha256.clone())
            .collect(),
        prefix: m.prefix.clone(),
        dependencies: m.provenance.dependencies.clone(),
    };
    let mut what = Vec::new();
    if m.name != want.name || m.version != want.version || m.revision != want.revision {
        what.push(format!("{} expected", want.label()));
    }
    // The digest the builders attested (k of n) must be what is installed.
    let (payload, _) = wport_trust::packages::attestations_of(&binary.target);
    if payload.as_deref() != Some(m.payload.sha256.as_str()) {
        what.push(format!(
            "payload sha256 {} expected, the builders attested that one",
            payload.as_deref().unwrap_or("(not recorded)")
        ));
    }
    what.extend(want.inputs.differences(&inputs));
    if what.is_empty() {
        return Ok(());
    }
    Err(BinaryMismatch {
        path: binary.path.clone(),
        found: m.label(),
        what: what.join(", "),
    })
}

/// Build, package and install `jobs` in dependency order.
fn run_plan(
    ports: &Ports,
    jobs: &[Job],
    src: &SourceArgs,
    bin: &BinaryArgs,
    p: &PrefixArgs,
    replace: bool,
) -> anyhow::Result<i32> {
    let binaries = Binaries::for_plan(ports, bin)?;
    let (key, key_path) = super::package::local_packager_key()?;
    let trusted = [key.public().clone()];
    let build_root = src
        .build_root
        .clone()
        .unwrap_or_else(wport::paths::build_root);
    let packages = wport::paths::cache_dir().join("packages");
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let parallel = (src.parallel.max(1) as usize).min(jobs.len());
    let make_jobs = (cpus / parallel).max(1);
    let prefix_str = p.prefix.display().to_string();
    // The plan and each `--->` step are progress: not with -q.
    let step = wport::output::shows_notes();
    if step {
        println!(
            "plan: {} to {} ({}), {parallel} at a time with {make_jobs} jobs each; packages built \
         here are signed with {}",
            jobs.len(),
            match &binaries {
                Some(b) => format!(
                    "install (signed binaries from {} where one fits)",
                    b.repo.base
                ),
                None => "build".to_owned(),
            },
            jobs.iter()
                .map(|j| j.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            key_path.display()
        );
    }
    let versions: BTreeMap<String, String> = jobs
        .iter()
        .filter_map(|j| {
            ports
                .tree
                .get(&j.name)
                .map(|port| (j.name.clone(), port.portfile.port.version.clone()))
        })
        .collect();

    let started = AtomicUsize::new(0);
    let total = jobs.len();
    let build = |name: &str| -> anyhow::Result<Built> {
        let i = started.fetch_add(1, Ordering::Relaxed) + 1;
        let port = ports
            .tree
            .get(name)
            .context("a planned port is loaded")?
            .clone();
        let mut why = None;
        if let Some(b) = &binaries {
            let version = format!(
                "{}_{}",
                port.portfile.port.version, port.portfile.port.revision
            );
            match b.choose(&port, p)? {
                Choice::Use(file, binary) => {
                    if step {
                        println!(
                            "--->  installing {name} {version} from a signed binary ({i} of {total})"
                        );
                    }
                    let _ = std::io::stdout().flush();
                    return Ok(Built::Binary { file, binary });
                }
                Choice::Unavailable(reason) if b.only => {
                    return Err(NoBinary {
                        port: name.to_owned(),
                        reason,
                    }
                    .into());
                }
                Choice::Refused(e) if b.only => return Err(e),
                Choice::Unattested(q) if b.only => return Err((*q).into()),
                Choice::Unattested(q) => {
                    eprintln!(
                        "wport: NOTICE: {name}: the signed binary is not installed: too few \
                         independent builders attest the same package, so {name} is built from \
                         source instead: {q}"
                    );
                    why = Some(format!(
                        "{} of the {} builders required attest it",
                        q.agree.len(),
                        q.threshold
                    ));
                }
                Choice::Unavailable(reason) => why = Some(reason),
                Choice::Refused(e) => {
                    eprintln!(
                        "wport: NOTICE: {name}: the signed binary index was refused, so {name} is \
                         built from source instead: {e:#}"
                    );
                    why = Some(format!("the binary index was refused: {}", e.root_cause()));
                }
            }
        }
        match why {
            Some(why) if step => {
                println!("--->  building {name} (binary not available: {why}) ({i} of {total})")
            }
            None if step => println!("--->  building {name} ({i} of {total})"),
            _ => {}
        }
        let _ = std::io::stdout().flush();
        let (arg, unsigned) = ports.build_arg(name);
        let mut cmd = super::package::ChildBuild {
            port: Some(std::ffi::OsStr::new(&arg)),
            unsigned,
            trust_dir: Some(&ports.trust_dir),
            build_root: &build_root,
            prefix: &prefix_str,
            jobs: Some(make_jobs as u32),
        }
        .command()?;
        if let Some(r) = &p.registry {
            cmd.arg("--registry").arg(r);
        }
        let out = cmd
            .output()
            .with_context(|| format!("starting `wport build {arg}`"))?;
        let dir = build_root.join(format!("{name}-{}", versions[name]));
        if !out.status.success() {
            let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
            text.push_str(&String::from_utf8_lossy(&out.stdout));
            let tail: Vec<&str> = text.lines().rev().take(15).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(BuildFailed {
                port: name.to_owned(),
                code: out.status.code(),
                log: dir.join("build.log"),
                tail: tail.join("\n"),
            }
            .into());
        }
        Ok(Built::Source {
            destroot: dir.join("destroot"),
        })
    };

    let mut install = |name: &str, built: Built| -> anyhow::Result<String> {
        let mut pkg = match built {
            Built::Source { destroot } => {
                let port_dir = ports.port_dir(name, &build_root)?;
                let portfile_path = port_dir.join("Portfile.toml");
                let portfile = Portfile::load(&portfile_path)?;
                let calls = super::package::calls_of_finished_build(&destroot)?;
                let deps = super::package::dependency_digests(&open_query(p)?, &portfile)?;
                let (file, _) = super::package::package_destroot(
                    &portfile_path,
                    &portfile,
                    &destroot,
                    calls,
                    &prefix_str,
                    &deps,
                    &key,
                    &packages,
                )?;
                wport_registry::open_package(&file, &trusted)
                    .with_context(|| format!("verifying {}", file.display()))?
            }
            // The file's bytes are those of the signed target (checked
            // while fetched); its manifest signature must still be a
            // builder's, and its manifest must say what the target says.
            Built::Binary { file, binary } => {
                let pkg = wport_registry::open_package(&file, &binary.signers).with_context(|| {
                    format!(
                        "verifying the signed binary {} against the keys of the role publishing it",
                        binary.path
                    )
                })?;
                check_binary_manifest(&pkg.manifest, &binary)?;
                pkg
            }
        };
        let mut prefix =
            Prefix::open_with(&p.prefix, p.registry.as_deref(), &PrefixOptions::default())
                .with_context(|| format!("opening the prefix {}", p.prefix.display()))?;
        for r in &prefix.recovered {
            eprintln!("wport: recovery: {r}");
        }
        let opts = InstallOptions::default();
        let label = pkg.manifest.label();
        if prefix.registry().package(name)?.is_some() {
            let report = prefix
                .upgrade(&mut pkg, &opts, false)
                .with_context(|| format!("upgrading {name} to {label}"))?;
            for (path, why) in &report.kept {
                println!(
                    "  kept {} (changed since install: {why}; the old version's file)",
                    prefix.root().join(path).display()
                );
            }
        } else {
            prefix
                .install(&mut pkg, &opts)
                .with_context(|| format!("installing {label}"))?;
        }
        Ok(label)
    };

    // The build step says itself whether it builds or takes a binary.
    let outcome = schedule::run(jobs, parallel, build, &mut install, |_, _, _| {});

    for (_, end) in &outcome.ended {
        if let JobEnd::Installed { label, took } = end {
            println!(
                "--->  {} {label} ({:.1} s)",
                if replace { "upgraded to" } else { "installed" },
                took.as_secs_f64()
            );
        }
    }
    let failed: Vec<(&str, &anyhow::Error)> = outcome.failed().collect();
    if failed.is_empty() {
        return Ok(exit::SUCCESS);
    }
    let mut code = exit::FAILURE;
    for (name, e) in &failed {
        eprintln!("error: port {name} failed");
        match e.downcast_ref::<BuildFailed>() {
            Some(b) => {
                eprintln!("  build log: {}", b.log.display());
                eprintln!("  last lines of `wport build {name}`:");
                for l in b.tail.lines() {
                    eprintln!("    | {l}");
                }
                if let Some(c) = b.code
                    && c > exit::FAILURE
                {
                    code = c;
                }
            }
            None => {
                super::report(e);
                let refused = e.chain().any(|c| {
                    c.is::<BinaryMismatch>()
                        || matches!(
                            c.downcast_ref::<wport_fetch::download::FetchError>(),
                            Some(wport_fetch::download::FetchError::Quarantined { .. })
                        )
                });
                code = code.max(if refused {
                    exit::REFUSED
                } else {
                    super::package::code(e)
                });
            }
        }
    }
    let installed: Vec<&str> = outcome.installed().collect();
    eprintln!(
        "  {} by this plan: {}",
        if replace { "upgraded" } else { "installed" },
        if installed.is_empty() {
            "nothing".to_owned()
        } else {
            installed.join(", ")
        }
    );
    for (name, end) in &outcome.ended {
        if let JobEnd::NotBuilt { because } = end {
            match because {
                Some(b) => eprintln!("  not built: {name} (needs {b})"),
                None => eprintln!("  not built: {name} (the plan stopped)"),
            }
        }
    }
    Ok(code)
}

/// A `wport build` child that did not succeed.
#[derive(Debug, thiserror::Error)]
#[error("`wport build {port}` failed (exit {code:?}); its build log is {}", log.display())]
struct BuildFailed {
    port: String,
    code: Option<i32>,
    log: PathBuf,
    tail: String,
}

/// `wport clean [NAME] [--dist]`.
pub fn clean(args: CleanArgs) -> i32 {
    super::install::finish((|| {
        let build_root = args
            .src
            .build_root
            .clone()
            .unwrap_or_else(wport::paths::build_root);
        let mut removed_builds = Vec::new();
        let mut removed_dist = Vec::new();
        let port = match &args.name {
            Some(n) => {
                let mut ports = Ports::load(&args.src)?;
                let port = ports.port(n)?;
                Some((n.clone(), port.portfile.clone()))
            }
            None => None,
        };
        if build_root.exists() {
            let root = wport::build::open_build_root(&build_root)?;
            let mut names: Vec<String> = std::fs::read_dir(&build_root)
                .with_context(|| format!("listing {}", build_root.display()))?
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                .collect();
            names.sort();
            for entry in names {
                let wanted = match &port {
                    Some((n, pf)) => entry == format!("{n}-{}", pf.port.version),
                    None => true,
                };
                if wanted && wport::build::remove_build_entry(&root, &build_root, &entry)? {
                    removed_builds.push(build_root.join(&entry));
                }
            }
        }
        if args.dist {
            let store = wport::paths::cache_dir().join("distfiles");
            let shas: Option<Vec<String>> = port
                .as_ref()
                .map(|(_, pf)| pf.sources.iter().map(|s| s.sha256.to_string()).collect());
            if store.is_dir() {
                for e in std::fs::read_dir(&store)
                    .with_context(|| format!("listing {}", store.display()))?
                {
                    let e = e?;
                    let name = e.file_name().to_string_lossy().into_owned();
                    if shas.as_ref().is_some_and(|s| !s.contains(&name)) {
                        continue;
                    }
                    if e.file_type()?.is_file() {
                        std::fs::remove_file(e.path())
                            .with_context(|| format!("removing {}", e.path().display()))?;
                        removed_dist.push(e.path());
                    }
                }
            }
        }
        if args.json {
            println!(
                "{}",
                serde_json::json!({
                    "build_dirs": removed_builds,
                    "distfiles": removed_dist,
                })
            );
        } else {
            for d in &removed_builds {
                println!("removed {}", d.display());
            }
            for d in &removed_dist {
                println!("removed {}", d.display());
            }
            if removed_builds.is_empty() && removed_dist.is_empty() {
                println!("nothing to clean");
            }
        }
        Ok(exit::SUCCESS)
    })())
}
