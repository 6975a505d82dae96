//! `wport install|uninstall|verify|list|contents|owner|info`: the installed
//! packages of a prefix. `install` and `uninstall` open the prefix through
//! `wport_registry::Prefix::open_with`, which takes the prefix's lock,
//! checks the registry (never silently recreated, SQLite `quick_check`) and
//! first recovers any transaction a crash interrupted. The queries
//! (`verify`, `list`, `contents`, `owner`, `info`) use
//! `Prefix::open_query`: the registry is opened read-only, so they work on
//! a prefix this user cannot write (read-only file system, another user's
//! prefix); `verify` also runs `quick_check`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::json;
use wport::exit;
use wport_registry::repo::{Repository, install_order};
use wport_registry::{InstallOptions, Prefix, PrefixOptions, RegistryError};

#[derive(clap::Args, Clone)]
pub struct PrefixArgs {
    /// The install prefix.
    #[arg(long, default_value = "/opt/wport")]
    pub prefix: PathBuf,
    /// The registry database (default: PREFIX/var/wport/registry.sqlite).
    #[arg(long)]
    pub registry: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct InstallArgs {
    /// Ports to install with what they need (from the synced, signed ports
    /// tree, or --unsigned DIR), each from the synced repository's signed
    /// binary when one matches its inputs exactly, else built from source;
    /// or one package file (*.wpkg, any argument with a `/`); or, with the
    /// deprecated --repo, a package name to take from a local repository.
    #[arg(required = true, value_name = "NAME|FILE")]
    targets: Vec<String>,
    /// Deprecated: a local binary repository directory (packages + signed
    /// index.json). Binaries now come from the synced TUF repository.
    #[arg(long)]
    repo: Option<PathBuf>,
    /// Directory of trusted package-signing public keys (*.pub); it and its
    /// files must be writable by their owner only.
    #[arg(long)]
    keys: Option<PathBuf>,
    /// Install a package built for another prefix.
    #[arg(long)]
    any_prefix: bool,
    /// The registry is missing or empty and cannot be restored: start a
    /// new, empty one (what was installed is forgotten; its files stay in
    /// the prefix, owned by no package).
    #[arg(long)]
    new_registry: bool,
    #[command(flatten)]
    src: super::ports::SourceArgs,
    #[command(flatten)]
    bin: super::ports::BinaryArgs,
    #[command(flatten)]
    p: PrefixArgs,
}

#[derive(clap::Args)]
pub struct UninstallArgs {
    name: String,
    /// Also remove files changed since install.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    p: PrefixArgs,
}

#[derive(clap::Args)]
pub struct NameArgs {
    name: String,
    /// Print one JSON document on stdout instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    p: PrefixArgs,
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// One package (default: all); with --provenance also a package file
    /// (*.wpkg, any argument with a `/`).
    #[arg(value_name = "NAME|FILE")]
    name: Option<String>,
    /// Check the provenance attestation instead of the installed files:
    /// signed by a trusted key, and saying what the package is.
    #[arg(long)]
    provenance: bool,
    /// With --provenance: directory of trusted package-signing public keys
    /// (the local packager key is trusted too).
    #[arg(long, requires = "provenance")]
    keys: Option<PathBuf>,
    #[command(flatten)]
    p: PrefixArgs,
}

#[derive(clap::Args)]
pub struct InfoArgs {
    /// An installed package; with --provenance also a package file
    /// (*.wpkg, any argument with a `/`).
    #[arg(value_name = "NAME|FILE")]
    name: String,
    /// Print one JSON document on stdout instead of text.
    #[arg(long)]
    json: bool,
    /// Print the package's provenance attestation (in-toto Statement, SLSA
    /// Provenance v1, DSSE) once its signature is verified.
    #[arg(long)]
    provenance: bool,
    /// With --provenance: directory of trusted package-signing public keys
    /// (the local packager key is trusted too).
    #[arg(long, requires = "provenance")]
    keys: Option<PathBuf>,
    #[command(flatten)]
    p: PrefixArgs,
}

#[derive(clap::Args)]
pub struct ListArgs {
    /// Print one JSON document on stdout instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    p: PrefixArgs,
}

#[derive(clap::Args)]
pub struct OwnerArgs {
    /// A path in the prefix (absolute, or relative to the prefix).
    path: PathBuf,
    /// Print one JSON document on stdout instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    p: PrefixArgs,
}

/// Opens the prefix for a mutation (install, uninstall).
fn open(p: &PrefixArgs, opts: &PrefixOptions) -> anyhow::Result<Prefix> {
    let prefix = Prefix::open_with(&p.prefix, p.registry.as_deref(), opts)
        .with_context(|| format!("opening the prefix {}", p.prefix.display()))?;
    for r in &prefix.recovered {
        eprintln!("wport: recovery: {r}");
    }
    Ok(prefix)
}

/// Opens the prefix for a query: read-only registry; `check` runs SQLite's
/// `quick_check` (verify).
pub(super) fn open_query(p: &PrefixArgs, check: bool) -> anyhow::Result<Prefix> {
    // A query reads; it never creates the prefix it was pointed at (a typo
    // in `--prefix` must not leave a new directory behind).
    if let Err(e) = std::fs::symlink_metadata(&p.prefix)
        && e.kind() == std::io::ErrorKind::NotFound
    {
        anyhow::bail!(
            "the prefix {} does not exist (nothing is installed there; check --prefix)",
            p.prefix.display()
        );
    }
    let prefix = Prefix::open_query(&p.prefix, p.registry.as_deref(), check)
        .with_context(|| format!("opening the prefix {}", p.prefix.display()))?;
    for r in &prefix.recovered {
        eprintln!("wport: recovery: {r}");
    }
    Ok(prefix)
}

pub(super) fn finish(r: anyhow::Result<i32>) -> i32 {
    match r {
        Ok(c) => c,
        Err(e) => {
            super::report(&e);
            super::package::code(&e)
        }
    }
}

pub fn install(args: InstallArgs) -> i32 {
    finish((|| {
        let is_file = |t: &str| t.ends_with(".wpkg") || t.contains('/');
        if args.repo.is_none() && !args.targets.iter().any(|t| is_file(t)) {
            return super::ports::install_names(&args.targets, &args.src, &args.bin, &args.p);
        }
        if let Some(repo) = &args.repo {
            eprintln!(
                "wport: warning: --repo {} (a local index.json repository) is deprecated: binaries \
                 come from the synced TUF repository (`wport sync`, then `wport install NAME`; \
                 docs/TRUST.md, \"Binary packages\")",
                repo.display()
            );
        }
        let [target] = args.targets.as_slice() else {
            anyhow::bail!(
                "a package file or --repo installs one target at a time; give port names (no `/`) to build several from source"
            );
        };
        let keys_dir = args
            .keys
            .clone()
            .unwrap_or_else(super::package::trusted_keys_dir);
        let trusted = wport_registry::load_trusted_keys(&keys_dir)
            .with_context(|| format!("loading trusted keys from {}", keys_dir.display()))?;
        let mut prefix = open(
            &args.p,
            &PrefixOptions {
                new_registry: args.new_registry,
            },
        )?;
        let opts = InstallOptions {
            any_prefix: args.any_prefix,
        };
        let repo = args
            .repo
            .as_deref()
            .map(|d| {
                Repository::open(d, &trusted)
                    .with_context(|| format!("opening the binary repository {}", d.display()))
            })
            .transpose()?;
        let mut pkg = if is_file(target) {
            let path = Path::new(target);
            Some(
                wport_registry::open_package(path, &trusted)
                    .with_context(|| format!("verifying {}", path.display()))?,
            )
        } else {
            None
        };
        let name = pkg
            .as_ref()
            .map(|p| p.manifest.name.clone())
            .unwrap_or_else(|| target.clone());
        if pkg.is_none()
            && let Some(p) = prefix.registry().package(&name)?
        {
            println!("{name} {}_{} is already installed", p.version, p.revision);
            return Ok(exit::SUCCESS);
        }
        // Dependencies first, each from the repository.
        let deps: Vec<String> = match &pkg {
            Some(p) => p.manifest.dependencies.clone(),
            None => vec![name.clone()],
        };
        let mut order = Vec::new();
        for d in &deps {
            if prefix.registry().package(d)?.is_some() {
                continue;
            }
            let Some(repo) = &repo else {
                return Err(RegistryError::MissingDependency {
                    package: name.clone(),
                    dependency: d.clone(),
                    hint: format!(
                        " (`wport install {d}` builds it from source; --repo DIR takes it from a binary repository)"
                    ),
                }
                .into());
            };
            let reg = prefix.registry();
            let installed = |n: &str| reg.package(n).ok().flatten().is_some();
            for n in install_order(repo, d, &installed)? {
                if !order.contains(&n) {
                    order.push(n);
                }
            }
        }
        if let Some(repo) = &repo {
            for n in &order {
                let mut dep = repo
                    .fetch(n, &trusted)
                    .with_context(|| format!("verifying {n} from the repository"))?;
                let r = prefix
                    .install(&mut dep, &opts)
                    .with_context(|| format!("installing {n}"))?;
                println!(
                    "installed {} ({} files, {} symlinks)",
                    dep.manifest.label(),
                    r.files,
                    r.symlinks
                );
            }
        }
        if let Some(p) = pkg.as_mut() {
            let r = prefix
                .install(p, &opts)
                .with_context(|| format!("installing {}", p.manifest.label()))?;
            println!(
                "installed {} ({} files, {} symlinks)",
                p.manifest.label(),
                r.files,
                r.symlinks
            );
        }
        Ok(exit::SUCCESS)
    })())
}

pub fn uninstall(args: UninstallArgs) -> i32 {
    finish((|| {
        let mut prefix = open(&args.p, &PrefixOptions::default())?;
        let r = prefix
            .uninstall(&args.name, args.force)
            .with_context(|| format!("uninstalling {}", args.name))?;
        println!("uninstalled {} ({} entries removed)", args.name, r.removed);
        for (p, why) in &r.kept {
            println!(
                "  kept {} (changed since install: {why}; --force removes it)",
                prefix.root().join(p).display()
            );
        }
        for p in &r.missing {
            println!("  already gone: {}", prefix.root().join(p).display());
        }
        Ok(exit::SUCCESS)
    })())
}

pub fn verify(args: VerifyArgs) -> i32 {
    if args.provenance {
        return super::attest::verify(args.name.as_deref(), args.keys.as_deref(), &args.p);
    }
    finish((|| {
        let prefix = open_query(&args.p, true)?;
        let problems = prefix.verify(args.name.as_deref())?;
        for p in &problems {
            println!("{p}");
        }
        if problems.is_empty() {
            println!("verified: no problems");
            Ok(exit::SUCCESS)
        } else {
            println!("{} problems", problems.len());
            Ok(exit::FAILURE)
        }
    })())
}

pub fn list(args: ListArgs) -> i32 {
    finish((|| {
        let prefix = open_query(&args.p, false)?;
        let packages = prefix.registry().packages()?;
        if args.json {
            print_json(&serde_json::Value::Array(
                packages
                    .iter()
                    .map(|(n, v, r)| json!({"name": n, "version": v, "revision": r}))
                    .collect(),
            ));
        } else {
            for (n, v, r) in packages {
                println!("{n} {v}_{r}");
            }
        }
        Ok(exit::SUCCESS)
    })())
}

/// One JSON document, pretty-printed, as `search --json` prints.
fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("a serde_json::Value serializes")
    );
}

pub fn contents(args: NameArgs) -> i32 {
    finish((|| {
        let prefix = open_query(&args.p, false)?;
        if prefix.registry().package(&args.name)?.is_none() {
            return Err(RegistryError::NotInstalled {
                package: args.name.clone(),
            }
            .into());
        }
        let mut all: Vec<(String, String)> = prefix
            .registry()
            .files_of(&args.name)?
            .into_iter()
            .map(|(p, r)| {
                (
                    p,
                    match r {
                        wport_registry::db::Recorded::Link { target } => format!(" -> {target}"),
                        wport_registry::db::Recorded::File { .. } => String::new(),
                    },
                )
            })
            .collect();
        all.extend(
            prefix
                .registry()
                .dirs_of(&args.name)?
                .into_iter()
                .map(|d| (d, "/".to_string())),
        );
        all.sort();
        if args.json {
            print_json(&serde_json::Value::Array(
                all.iter()
                    .map(|(p, suffix)| {
                        let path = prefix.root().join(p).display().to_string();
                        match suffix.strip_prefix(" -> ") {
                            Some(target) => {
                                json!({"path": path, "kind": "symlink", "target": target})
                            }
                            None if suffix == "/" => json!({"path": path, "kind": "directory"}),
                            None => json!({"path": path, "kind": "file"}),
                        }
                    })
                    .collect(),
            ));
            return Ok(exit::SUCCESS);
        }
        for (p, suffix) in all {
            println!("{}{suffix}", prefix.root().join(p).display());
        }
        Ok(exit::SUCCESS)
    })())
}

pub fn owner(args: OwnerArgs) -> i32 {
    finish((|| {
        let prefix = open_query(&args.p, false)?;
        let rel = if args.path.is_absolute() {
            let abs = args
                .path
                .parent()
                .and_then(|p| p.canonicalize().ok())
                .map(|p| p.join(args.path.file_name().unwrap_or_default()))
                .unwrap_or(args.path.clone());
            abs.strip_prefix(prefix.root())
                .map(Path::to_path_buf)
                .with_context(|| {
                    format!(
                        "{} is not in the prefix {}",
                        args.path.display(),
                        prefix.root().display()
                    )
                })?
        } else {
            args.path.clone()
        };
        let rel = rel.to_string_lossy().trim_end_matches('/').to_string();
        if args.json {
            let path = prefix.root().join(&rel).display().to_string();
            let (value, code) = if let Some(o) = prefix.registry().owner(&rel)? {
                (
                    json!({"path": path, "kind": "file", "owners": [o]}),
                    exit::SUCCESS,
                )
            } else {
                let dirs = prefix.registry().dir_owners(&rel)?;
                if dirs.is_empty() {
                    (
                        json!({"path": path, "kind": null, "owners": []}),
                        exit::FAILURE,
                    )
                } else {
                    (
                        json!({"path": path, "kind": "directory", "owners": dirs}),
                        exit::SUCCESS,
                    )
                }
            };
            print_json(&value);
            return Ok(code);
        }
        if let Some(o) = prefix.registry().owner(&rel)? {
            println!("{} is provided by {o}", prefix.root().join(&rel).display());
            return Ok(exit::SUCCESS);
        }
        let dirs = prefix.registry().dir_owners(&rel)?;
        if !dirs.is_empty() {
            println!(
                "{} is a directory of {}",
                prefix.root().join(&rel).display(),
                dirs.join(", ")
            );
            return Ok(exit::SUCCESS);
        }
        println!(
            "{} is not provided by any package",
            prefix.root().join(&rel).display()
        );
        Ok(exit::FAILURE)
    })())
}

pub fn info(args: InfoArgs) -> i32 {
    if args.provenance {
        return super::attest::info(&args.name, args.keys.as_deref(), args.json, &args.p);
    }
    finish((|| {
        let prefix = open_query(&args.p, false)?;
        let p =
            prefix
                .registry()
                .package(&args.name)?
                .ok_or_else(|| RegistryError::NotInstalled {
                    package: args.name.clone(),
                })?;
        let m = &p.manifest;
        let dependents = prefix.registry().dependents(&m.name)?;
        if args.json {
            print_json(&json!({
                "name": m.name,
                "version": m.version,
                "revision": m.revision,
                "description": m.provenance.description,
                "homepage": m.provenance.homepage,
                "license": m.provenance.license,
                "prefix": m.prefix,
                "dependencies": m.dependencies,
                "needed_by": dependents,
                "files": m.files.len(),
                "symlinks": m.symlinks.len(),
                "directories": m.directories.len(),
                "payload_sha256": m.payload.sha256,
                "provenance": m.provenance,
            }));
            return Ok(exit::SUCCESS);
        }
        println!("{} {}_{}", m.name, m.version, m.revision);
        // Packages made before these were recorded have none; say so
        // rather than print an empty line.
        let or_unknown = |s: &str| {
            if s.is_empty() {
                "(not recorded in this package)".to_string()
            } else {
                s.to_string()
            }
        };
        println!(
            "  description:       {}",
            or_unknown(&m.provenance.description)
        );
        println!(
            "  homepage:          {}",
            or_unknown(&m.provenance.homepage)
        );
        println!("  license:           {}", or_unknown(&m.provenance.license));
        println!("  built for prefix:  {}", m.prefix);
        println!(
            "  dependencies:      {}",
            if m.dependencies.is_empty() {
                "none".into()
            } else {
                m.dependencies.join(", ")
            }
        );
        println!(
            "  needed by:         {}",
            if dependents.is_empty() {
                "none".into()
            } else {
                dependents.join(", ")
            }
        );
        println!(
            "  contents:          {} files, {} symlinks, {} directories",
            m.files.len(),
            m.symlinks.len(),
            m.directories.len()
        );
        println!("  payload sha256:    {}", m.payload.sha256);
        println!("  Portfile sha256:   {}", m.provenance.portfile_sha256);
        println!("  component sha256:  {}", m.provenance.component_sha256);
        for s in &m.provenance.sources {
            println!("  source {}: {}", s.name, s.sha256);
        }
        println!(
            "  mediated calls:    {} (sha256 {})",
            m.provenance.mediated_calls, m.provenance.mediated_calls_sha256
        );
        Ok(exit::SUCCESS)
    })())
}
