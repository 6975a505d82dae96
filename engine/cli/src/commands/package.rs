//! `wport package [PORT]` and `wport index DIR`: signed, deterministic
//! binary packages of a destroot, and the signed index of a binary
//! repository. Formats: docs/PACKAGES.md.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};
use wport::build::BuildOptions;
use wport::exit;
use wport_manifest::{BuildKind, Portfile};
use wport_registry::PackageMeta;
use wport_registry::manifest::{Provenance, SourceDigest};

#[derive(clap::Args)]
pub struct Args {
    /// A port of the synced, signed ports tree, or with --unsigned a local
    /// port directory (any argument with a `/`); without it, the embedded
    /// demo port. Resolved exactly as `wport build` does.
    port: Option<String>,
    /// Package a local port directory without signature verification (loud).
    #[arg(long)]
    unsigned: bool,
    /// Trust directory holding the synced ports tree.
    #[arg(long)]
    trust_dir: Option<PathBuf>,
    /// Package an existing build's destroot instead of building (its
    /// build log is read from the directory next to it).
    #[arg(long)]
    destroot: Option<PathBuf>,
    /// Parent directory of build directories.
    #[arg(long)]
    build_root: Option<PathBuf>,
    /// Install prefix the port is configured for.
    #[arg(long, default_value = "/opt/wport")]
    prefix: String,
    /// Secret key to sign the manifest with (default: the key directory's packager.key).
    #[arg(long)]
    key: Option<PathBuf>,
    /// Directory the package is written to.
    #[arg(short, long, default_value = ".")]
    output: PathBuf,
    /// Parallel jobs for native build tools.
    #[arg(short, long)]
    jobs: Option<u32>,
}

#[derive(clap::Args)]
pub struct IndexArgs {
    /// Repository directory holding *.wpkg files.
    dir: PathBuf,
    /// Secret key to sign the index with.
    #[arg(long)]
    key: Option<PathBuf>,
    /// Trusted package keys each package must verify against.
    #[arg(long)]
    keys: Option<PathBuf>,
}

/// Default directory of trusted package-signing public keys.
pub fn trusted_keys_dir() -> PathBuf {
    super::key::key_dir()
        .parent()
        .map(|p| p.join("trusted-keys"))
        .unwrap_or_else(|| PathBuf::from("trusted-keys"))
}

fn signing_key(key: Option<PathBuf>) -> anyhow::Result<wport_trust::SecretKey> {
    let path = key.unwrap_or_else(|| super::key::key_dir().join("packager.key"));
    wport_trust::SecretKey::read_file(&path).with_context(|| {
        format!(
            "reading the signing key {} (make one with `wport key generate packager`)",
            path.display()
        )
    })
}

/// The local packager key, `KEY_DIR/packager.key`: it signs the packages
/// `wport install NAME` builds on this machine, and its public half is what
/// those packages are verified against before they are installed, so the
/// local case needs no trusted-keys directory. Created on first use (mode
/// 0600 in a directory only its owner may write); a key file anyone else may
/// read or write, or owned by another user, is refused as `wport package`
/// refuses it.
pub fn local_packager_key() -> anyhow::Result<(wport_trust::SecretKey, PathBuf)> {
    let dir = super::key::key_dir();
    let path = dir.join("packager.key");
    if std::fs::symlink_metadata(&path).is_err() {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .with_context(|| format!("creating the key directory {}", dir.display()))?;
        wport_trust::keys::generate_key_pair(&dir, "packager")
            .with_context(|| format!("creating the local packager key in {}", dir.display()))?;
        eprintln!(
            "wport: created the local packager key {} (mode 0600): it signs the packages this \
             machine builds, and `wport install` trusts it for them",
            path.display()
        );
    }
    wport_trust::keys::check_owner_only_writable(&dir)
        .with_context(|| format!("the key directory {}", dir.display()))?;
    let key = wport_trust::SecretKey::read_file(&path)
        .with_context(|| format!("reading the local packager key {}", path.display()))?;
    Ok((key, path))
}

/// The documented exit code of a failed package, install or upgrade (see
/// `wport::exit::classify`).
pub fn code(e: &anyhow::Error) -> i32 {
    exit::classify(e)
}

pub fn run(args: Args) -> i32 {
    match package(args) {
        Ok(()) => exit::SUCCESS,
        Err(e) => {
            if let Some(f) = e.downcast_ref::<ChildBuildFailed>() {
                eprintln!("error: {e}");
                return f.code;
            }
            super::report(&e);
            code(&e)
        }
    }
}

pub fn run_index(args: IndexArgs) -> i32 {
    eprintln!(
        "wport: warning: `wport index` (a separately signed index.json) is deprecated: publish \
         packages as TUF targets with `wport repo add-package` (docs/TRUST.md, \"Binary packages\")"
    );
    let r = (|| -> anyhow::Result<i32> {
        let key = signing_key(args.key)?;
        let keys_dir = args.keys.unwrap_or_else(trusted_keys_dir);
        let trusted = wport_registry::load_trusted_keys(&keys_dir)
            .with_context(|| format!("loading trusted keys from {}", keys_dir.display()))?;
        let report = wport_registry::repo::write_index(&args.dir, &key, &trusted)
            .with_context(|| format!("indexing {}", args.dir.display()))?;
        println!(
            "indexed {} packages in {}",
            report.index.packages.len(),
            args.dir.join(wport_registry::repo::INDEX).display()
        );
        // A bad package is left out, never indexed, and said loudly: the
        // rest of the repository stays installable (docs/PACKAGES.md).
        for s in &report.skipped {
            eprintln!(
                "error: skipped {} (not indexed): {}",
                s.file.escape_debug(),
                s.error
            );
        }
        for (p, d) in &report.unresolved {
            eprintln!("warning: {p} depends on {d}, which this repository does not provide");
        }
        if report.skipped.is_empty() {
            Ok(exit::SUCCESS)
        } else {
            eprintln!(
                "error: {} package file(s) refused; the index lists the {} others",
                report.skipped.len(),
                report.index.packages.len()
            );
            Ok(if report.skipped.iter().any(|s| s.error.is_refusal()) {
                exit::REFUSED
            } else {
                exit::FAILURE
            })
        }
    })();
    match r {
        Ok(c) => c,
        Err(e) => {
            super::report(&e);
            code(&e)
        }
    }
}

fn package(args: Args) -> anyhow::Result<()> {
    let key = signing_key(args.key.clone())?;
    let mut opts = BuildOptions {
        prefix: args.prefix.clone(),
        ..BuildOptions::default()
    };
    if let Some(root) = args.build_root.clone() {
        opts.build_root = root;
    }
    if let Some(j) = args.jobs {
        opts.jobs = j.max(1);
    }
    let trust_dir = args.trust_dir.clone().unwrap_or_else(super::key::trust_dir);
    let port_dir = wport::resolve::resolve_port(
        args.port.as_deref(),
        args.unsigned,
        &trust_dir,
        &opts.build_root,
    )?
    .dir;
    let portfile_path = port_dir.join("Portfile.toml");
    let portfile = Portfile::load(&portfile_path)?;
    let (destroot, calls) = match args.destroot.clone() {
        Some(d) => {
            let calls = calls_of_finished_build(&d)?;
            (d, calls)
        }
        None => {
            // The build runs as a child `wport build`, as `wport install
            // NAME` does it: as root, a build drops to the build user for
            // good, and a package written after that was refused by a
            // root-owned output directory (or owned by the build user).
            // This process keeps the invoking user, reads the finished
            // destroot and writes the package as that user; it runs no
            // native command, so `main` starts no spawn helper for it.
            let dir = child_build(&args, &opts, &portfile)?;
            let destroot = dir.join("destroot");
            let calls = calls_of_finished_build(&destroot)?;
            (destroot, calls)
        }
    };
    // The packages this one is built against, when the prefix has a
    // registry (`wport install` always does): recorded in its provenance.
    // (Only an existing registry is opened: packaging never creates one.)
    let registry = Path::new(&args.prefix).join("var/wport/registry.sqlite");
    let deps = match registry.is_file() {
        true => match wport_registry::Prefix::open_query(Path::new(&args.prefix), None, false) {
            Ok(prefix) => dependency_digests(&prefix, &portfile)?,
            Err(_) => Default::default(),
        },
        false => Default::default(),
    };
    let (out, m) = package_destroot(
        &portfile_path,
        &portfile,
        &destroot,
        calls,
        &args.prefix,
        &deps,
        &key,
        &args.output,
    )?;
    println!("package: {}", out.display());
    println!(
        "  {} files, {} symlinks, {} directories; payload sha256 {}",
        m.files.len(),
        m.symlinks.len(),
        m.directories.len(),
        m.payload.sha256
    );
    Ok(())
}

/// `wport build` failed; it said why on the same stderr.
#[derive(Debug, thiserror::Error)]
#[error("`wport build` failed (exit {code}); nothing was packaged")]
pub struct ChildBuildFailed {
    /// Its exit code: `wport package` exits with it.
    pub code: i32,
}

/// What every child `wport build` of this same executable is told (by
/// `package`, `install`/`upgrade` and `build --check`): the port, where its
/// Portfile is trusted from, where it builds and for which prefix, and its
/// jobs. Callers add their own options and run it.
pub(super) struct ChildBuild<'a> {
    pub port: Option<&'a std::ffi::OsStr>,
    pub unsigned: bool,
    pub trust_dir: Option<&'a Path>,
    pub build_root: &'a Path,
    pub prefix: &'a str,
    pub jobs: Option<u32>,
}

impl ChildBuild<'_> {
    #[allow(
        clippy::disallowed_methods,
        reason = "starts a child `wport build` (this same executable); its native tools run through engine/exec"
    )]
    pub(super) fn command(&self) -> anyhow::Result<std::process::Command> {
        let exe = std::env::current_exe().context("locating the wport executable")?;
        let mut cmd = std::process::Command::new(exe);
        cmd.args(wport::output::child_flag());
        cmd.arg("build");
        if let Some(port) = self.port {
            cmd.arg(port);
        }
        if self.unsigned {
            cmd.arg("--unsigned");
        }
        if let Some(t) = self.trust_dir {
            cmd.arg("--trust-dir").arg(t);
        }
        cmd.arg("--build-root")
            .arg(self.build_root)
            .arg("--prefix")
            .arg(self.prefix);
        if let Some(j) = self.jobs {
            cmd.arg("--jobs").arg(j.to_string());
        }
        Ok(cmd)
    }
}

/// Build the port `args` names with a child `wport build` (its output goes
/// to ours); returns its build directory.
fn child_build(args: &Args, opts: &BuildOptions, portfile: &Portfile) -> anyhow::Result<PathBuf> {
    let mut cmd = ChildBuild {
        port: args.port.as_deref().map(std::ffi::OsStr::new),
        unsigned: args.unsigned,
        trust_dir: args.trust_dir.as_deref(),
        build_root: &opts.build_root,
        prefix: &args.prefix,
        jobs: args.jobs,
    }
    .command()?;
    let status = cmd.status().context("running `wport build`")?;
    if !status.success() {
        return Err(ChildBuildFailed {
            code: status.code().unwrap_or(exit::FAILURE),
        }
        .into());
    }
    Ok(opts
        .build_root
        .join(format!("{}-{}", portfile.port.name, portfile.port.version)))
}

/// The host's record of a finished build (`DIR/destroot` ->
/// `DIR/host-record.json`), checked against the summary line the build
/// ended `DIR/build.log` with: the list must give the count and digest the
/// summary states. A destroot with no build log next to it (made by hand)
/// has an empty record.
pub fn calls_of_finished_build(destroot: &Path) -> anyhow::Result<wport::provenance::HostRecord> {
    let log = destroot
        .parent()
        .map(|p| p.join("build.log"))
        .filter(|l| l.is_file());
    let Some(l) = log else {
        return Ok(wport::provenance::HostRecord::default());
    };
    let again = "a build by an older wport, or one that did not finish; build the port again";
    let text =
        std::fs::read(&l).with_context(|| format!("reading the build log {}", l.display()))?;
    let summary =
        wport::provenance::from_log(&String::from_utf8_lossy(&text)).with_context(|| {
            format!(
                "the build log {} has no host record of the build's mediated calls ({again})",
                l.display()
            )
        })?;
    let path = l.with_file_name(wport::provenance::HOST_RECORD);
    let bytes = std::fs::read(&path)
        .with_context(|| format!("reading the host record {} ({again})", path.display()))?;
    let record: wport::provenance::HostRecord = serde_json::from_slice(&bytes)
        .with_context(|| format!("reading the host record {}", path.display()))?;
    let listed = record.calls_record();
    if listed != summary {
        bail!(
            "the host record {} lists {} calls (sha256 {}), but the build log {} ends with {} \
             (sha256 {}): one of them was changed after the build; build the port again",
            path.display(),
            listed.count,
            listed.sha256,
            l.display(),
            summary.count,
            summary.sha256
        );
    }
    Ok(record)
}

/// The Portfile's lib and run dependencies, each with the payload sha256
/// of the package of it installed in `prefix` (a dependency not installed
/// is left out: the build could not have used it).
pub fn dependency_digests(
    prefix: &wport_registry::Prefix,
    portfile: &Portfile,
) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
    let mut out = std::collections::BTreeMap::new();
    for d in portfile
        .dependencies
        .lib
        .iter()
        .chain(&portfile.dependencies.run)
    {
        if let Some(inst) = prefix
            .registry()
            .package(d)
            .with_context(|| format!("reading dependency {d} from the registry"))?
        {
            out.insert(d.clone(), inst.manifest.payload.sha256.clone());
        }
    }
    Ok(out)
}

/// Package a finished build's destroot: the signed, deterministic
/// `NAME-VERSION_REVISION.wpkg` in `output`, its dependencies the Portfile's
/// lib and run dependencies (`deps`: their payload digests, recorded in the
/// provenance). Returns the file and its manifest.
#[expect(
    clippy::too_many_arguments,
    reason = "each is one independent input of the package"
)]
pub fn package_destroot(
    portfile_path: &Path,
    portfile: &Portfile,
    destroot: &Path,
    calls: wport::provenance::HostRecord,
    prefix: &str,
    deps: &std::collections::BTreeMap<String, String>,
    key: &wport_trust::SecretKey,
    output: &Path,
) -> anyhow::Result<(PathBuf, wport_registry::Manifest)> {
    let meta = PackageMeta {
        name: portfile.port.name.clone(),
        version: portfile.port.version.clone(),
        revision: portfile.port.revision,
        prefix: prefix.to_owned(),
        dependencies: portfile
            .dependencies
            .lib
            .iter()
            .chain(&portfile.dependencies.run)
            .cloned()
            .collect(),
        source_date_epoch: source_date_epoch(portfile),
        provenance: Provenance {
            dependencies: deps.clone(),
            ..provenance(portfile_path, portfile, calls.calls_record())?
        },
    };
    let facts = build_facts(portfile, calls);
    let tree = prefix_tree(destroot, prefix)?;
    std::fs::create_dir_all(output).with_context(|| format!("creating {}", output.display()))?;
    let out = output.join(format!(
        "{}-{}_{}.wpkg",
        meta.name, meta.version, meta.revision
    ));
    // Installed programs run confined by the port's [runtime] (issue 16):
    // each executable in bin/ becomes a link to the package's launcher.
    let launcher = wport::runtime::launcher_bytes()?;
    let policy = |name: &str| wport::runtime::policy_text(&portfile.runtime, name);
    let wrap = wport_registry::RuntimeWrap {
        launcher: &launcher,
        policy: &policy,
    };
    let m =
        wport_registry::create_package_attested(&tree, &meta, Some(&wrap), Some(&facts), key, &out)
            .with_context(|| format!("packaging port {} from {}", meta.name, destroot.display()))?;
    Ok((out, m))
}

/// What the provenance attestation records besides the manifest: the
/// sources' URLs, the patchfiles, the host's record of the calls and the
/// programs they ran, and this wport's version.
fn build_facts(
    portfile: &Portfile,
    record: wport::provenance::HostRecord,
) -> wport_registry::attestation::BuildFacts {
    wport_registry::attestation::BuildFacts {
        sources: portfile
            .sources
            .iter()
            .map(|s| wport_registry::attestation::SourceFact {
                name: distfile_name(&s.url),
                url: s.url.clone(),
                sha256: s.sha256.to_string(),
            })
            .collect(),
        patchfiles: portfile
            .patchfiles
            .iter()
            .map(|p| (p.file.clone(), p.sha256.to_string()))
            .collect(),
        calls: record.calls,
        programs: record.programs,
        wport_version: env!("CARGO_PKG_VERSION").to_owned(),
    }
}

/// The name a source is recorded under (the manifest's `sources[].name`).
fn distfile_name(url: &str) -> String {
    url.rsplit('/').next().unwrap_or(url).to_string()
}

/// The SOURCE_DATE_EPOCH entries get: the environment's, else the
/// Portfile's, else 0 (never the clock).
fn source_date_epoch(portfile: &Portfile) -> u64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .or(portfile.port.source_date_epoch)
        .unwrap_or(0)
}

/// The destroot's directory for `prefix`; nothing else may be in the destroot.
fn prefix_tree(destroot: &Path, prefix: &str) -> anyhow::Result<PathBuf> {
    let mut dir = destroot.to_path_buf();
    for c in prefix.split('/').filter(|c| !c.is_empty()) {
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .with_context(|| format!("listing {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        names.sort();
        if names != [c] {
            bail!(
                "the destroot {} holds {names:?} where only the prefix component {c:?} may be: a package installs below its prefix only",
                dir.display()
            );
        }
        dir.push(c);
        if !std::fs::symlink_metadata(&dir)?.is_dir() {
            bail!("{} is not a directory", dir.display());
        }
    }
    Ok(dir)
}

fn sha256_file(path: &Path) -> anyhow::Result<String> {
    Ok(hex_encode(&Sha256::digest(
        std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
    )))
}

fn hex_encode(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Provenance of a package. The mediated calls come from the executor's own
/// record (see `wport::provenance`), never from parsing what the build printed.
fn provenance(
    portfile_path: &Path,
    portfile: &Portfile,
    calls: wport::provenance::CallsRecord,
) -> anyhow::Result<Provenance> {
    let component_sha256 = match &portfile.build.kind {
        BuildKind::Component { sha256, .. } => sha256.to_string(),
        BuildKind::Standard(s) => {
            hex_encode(&Sha256::digest(wport::embedded::standard_component(*s)))
        }
    };
    let sources = portfile
        .sources
        .iter()
        .map(|s| SourceDigest {
            name: distfile_name(&s.url),
            sha256: s.sha256.to_string(),
        })
        .collect();
    Ok(Provenance {
        portfile_sha256: sha256_file(portfile_path)?,
        component_sha256,
        sources,
        mediated_calls_sha256: calls.sha256,
        mediated_calls: calls.count,
        dependencies: Default::default(),
        description: portfile.port.description.clone(),
        homepage: portfile.port.homepage.clone(),
        license: portfile.port.license.clone(),
    })
}
