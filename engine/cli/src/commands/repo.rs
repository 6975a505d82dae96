//! `wport repo init|add|add-package|delegate|rotate|sign|timestamp`:
//! maintain a ports tree, and its binary packages, as a TUF repository
//! (`DIR/metadata`, `DIR/targets`).
//!
//! Edits (init, add, delegate, rotate) write a role at a new version with
//! no signatures; each `sign` adds one signature, so a threshold of several
//! people is met by several `sign` runs with different keys. `timestamp`
//! (online keys) writes a new snapshot if targets changed, then a new
//! timestamp; it refuses while a targets role lacks its threshold.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use wport::{exit, note};
use wport_trust::repo::{Repository, RoleSpec, port_files, port_patterns};
use wport_trust::{PublicKey, SecretKey, time};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Create a repository: root and targets v1, unsigned.
    Init {
        dir: PathBuf,
        /// Public key files for root (repeat).
        #[arg(long = "root-key", required = true)]
        root_keys: Vec<PathBuf>,
        #[arg(long, default_value_t = 1)]
        root_threshold: u64,
        /// Public key files for targets (repeat).
        #[arg(long = "targets-key", required = true)]
        targets_keys: Vec<PathBuf>,
        #[arg(long, default_value_t = 1)]
        targets_threshold: u64,
        #[arg(long = "snapshot-key", required = true)]
        snapshot_keys: Vec<PathBuf>,
        #[arg(long = "timestamp-key", required = true)]
        timestamp_keys: Vec<PathBuf>,
        /// Also publish VERSION.ROLE.json and HASH.TARGET names.
        #[arg(long)]
        consistent_snapshot: bool,
    },
    /// Add targets: every file of every port under --ports (or of the
    /// ports named with --port), or single files with --file/--as.
    Add {
        dir: PathBuf,
        /// A ports tree: DIR/ports/<name>/... become targets ports/<name>/...
        #[arg(long)]
        ports: Option<PathBuf>,
        /// Only these ports (repeat).
        #[arg(long = "port")]
        only: Vec<String>,
        /// A single file to publish...
        #[arg(long, requires = "target")]
        file: Option<PathBuf>,
        /// ...under this target path.
        #[arg(long = "as")]
        target: Option<String>,
        /// The targets role listing them (a delegated maintainer's role).
        #[arg(long, default_value = "targets")]
        role: String,
    },
    /// Delegate ports to a maintainer's role (re-running it replaces the
    /// role's keys: that is how a maintainer key is revoked).
    Delegate {
        dir: PathBuf,
        /// The delegated role's name.
        #[arg(long)]
        name: String,
        /// Public key files of the maintainer(s) (repeat).
        #[arg(long = "key", required = true)]
        keys: Vec<PathBuf>,
        #[arg(long, default_value_t = 1)]
        threshold: u64,
        /// Ports the role may sign for (repeat).
        #[arg(long = "port", required_unless_present = "paths")]
        ports: Vec<String>,
        /// Target path patterns the role may sign for (repeat; `*` and
        /// `?` never match `/`): `packages/*/*` for a builders role.
        #[arg(long = "path")]
        paths: Vec<String>,
        /// Stop the search at this role for its ports.
        #[arg(long)]
        terminating: bool,
        /// The delegating role.
        #[arg(long, default_value = "targets")]
        from: String,
    },
    /// Publish binary packages as targets
    /// `packages/<name>/<name>-<version>_<revision>-<inputs16>.wpkg` of a
    /// builders role, their inputs in each target's `custom` field. Each
    /// package's manifest must be signed by a key of that role.
    AddPackage {
        dir: PathBuf,
        /// The package files (*.wpkg).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The delegated role listing them (delegated from targets).
        #[arg(long, default_value = "builders")]
        role: String,
        /// Another builder's attestation of one of the packages: its own
        /// package of it (*.wpkg) or a DSSE envelope file, signed by a key
        /// of the role (each package's own attestation is always carried).
        #[arg(long = "attestation", value_name = "FILE")]
        attestations: Vec<PathBuf>,
    },
    /// Stage a new root version giving a top-level role new keys; it must
    /// then be signed by the old AND the new root thresholds.
    Rotate {
        dir: PathBuf,
        /// root, targets, snapshot or timestamp.
        #[arg(long)]
        role: String,
        #[arg(long = "key", required = true)]
        keys: Vec<PathBuf>,
        #[arg(long, default_value_t = 1)]
        threshold: u64,
    },
    /// Add one signature to a role's current version.
    Sign {
        dir: PathBuf,
        /// root, targets or a delegated role.
        role: String,
        /// Secret key file.
        #[arg(long)]
        key: PathBuf,
    },
    /// Write a new snapshot (when targets changed) and a new timestamp.
    Timestamp {
        dir: PathBuf,
        #[arg(long)]
        snapshot_key: PathBuf,
        #[arg(long)]
        timestamp_key: PathBuf,
        /// Write a new snapshot even if nothing changed (renews its expiry).
        #[arg(long)]
        force_snapshot: bool,
    },
}

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

fn keys(files: &[PathBuf]) -> anyhow::Result<Vec<PublicKey>> {
    files
        .iter()
        .map(|f| {
            wport_trust::keys::read_public_key_file(f)
                .with_context(|| format!("reading key {}", f.display()))
        })
        .collect()
}

fn secret(file: &Path) -> anyhow::Result<SecretKey> {
    SecretKey::read_file(file).with_context(|| format!("reading secret key {}", file.display()))
}

fn open(dir: &Path) -> anyhow::Result<Repository> {
    Repository::open(dir).with_context(|| format!("opening repository {}", dir.display()))
}

pub fn run(args: Args) -> i32 {
    match exec(args.command) {
        Ok(()) => exit::SUCCESS,
        Err(e) => {
            super::report(&e);
            super::key::code(&e)
        }
    }
}

fn exec(command: Command) -> anyhow::Result<()> {
    let now = time::now();
    match command {
        Command::Init {
            dir,
            root_keys,
            root_threshold,
            targets_keys,
            targets_threshold,
            snapshot_keys,
            timestamp_keys,
            consistent_snapshot,
        } => {
            let spec = |files: &[PathBuf], threshold| -> anyhow::Result<RoleSpec> {
                Ok(RoleSpec {
                    keys: keys(files)?,
                    threshold,
                })
            };
            Repository::init(
                &dir,
                spec(&root_keys, root_threshold)?,
                spec(&targets_keys, targets_threshold)?,
                spec(&snapshot_keys, 1)?,
                spec(&timestamp_keys, 1)?,
                consistent_snapshot,
                now,
            )
            .with_context(|| format!("initialising repository {}", dir.display()))?;
            note!(
                "wport: repository {} created; next: `wport repo sign {} root --key ...` by {root_threshold} root key holder(s)",
                dir.display(),
                dir.display()
            );
        }
        Command::Add {
            dir,
            ports,
            only,
            file,
            target,
            role,
        } => {
            let repo = open(&dir)?;
            let mut files = Vec::new();
            if let Some(ports) = ports {
                let tree = if ports.join("ports").is_dir() {
                    ports.join("ports")
                } else {
                    ports
                };
                files = port_files(&tree, (!only.is_empty()).then_some(only.as_slice()))
                    .with_context(|| format!("walking ports tree {}", tree.display()))?;
            }
            if let (Some(file), Some(target)) = (file, target) {
                files.push((target, file));
            }
            if files.is_empty() {
                bail!("nothing to add: give --ports DIR or --file F --as TARGET");
            }
            let n = repo
                .add_targets(&role, &files, now)
                .with_context(|| format!("adding targets to {role}"))?;
            note!(
                "wport: {n} target(s) listed in {role}; it now needs signing (`wport repo sign {} {role} --key ...`)",
                dir.display()
            );
        }
        Command::AddPackage {
            dir,
            files,
            role,
            attestations,
        } => {
            let repo = open(&dir)?;
            let n = add_packages(&repo, &role, &files, &attestations, now)?;
            note!(
                "wport: {n} package(s) listed in {role}; it now needs signing by its threshold (`wport repo sign {} {role} --key ...`), then `wport repo timestamp`",
                dir.display()
            );
        }
        Command::Delegate {
            dir,
            name,
            keys: key_files,
            threshold,
            ports,
            paths: patterns,
            terminating,
            from,
        } => {
            let repo = open(&dir)?;
            let mut paths: Vec<String> = ports.iter().flat_map(|p| port_patterns(p)).collect();
            for p in &patterns {
                wport_trust::paths::check_target_path(&p.replace(['*', '?'], "x"))
                    .with_context(|| format!("the path pattern {p:?}"))?;
            }
            paths.extend(patterns.iter().cloned());
            let ports = listed(ports.iter().chain(&patterns).map(String::as_str));
            repo.delegate(
                &from,
                &name,
                RoleSpec {
                    keys: keys(&key_files)?,
                    threshold,
                },
                paths,
                terminating,
                now,
            )
            .with_context(|| format!("delegating {ports} to {name}"))?;
            note!(
                "wport: {from} delegates {ports} to {name}; sign {from} (and {name} when it lists targets)"
            );
        }
        Command::Rotate {
            dir,
            role,
            keys: key_files,
            threshold,
        } => {
            let repo = open(&dir)?;
            repo.set_role_keys(
                &role,
                RoleSpec {
                    keys: keys(&key_files)?,
                    threshold,
                },
                now,
            )
            .with_context(|| format!("rotating {role} keys"))?;
            let v = repo.root()?.version;
            note!(
                "wport: root v{v} staged; it needs the signatures of the old AND the new root thresholds"
            );
        }
        Command::Sign { dir, role, key } => {
            let repo = open(&dir)?;
            let key = secret(&key)?;
            repo.sign(&role, &key)
                .with_context(|| format!("signing {role}"))?;
            note!("wport: {role} signed with {}", key.key_id());
        }
        Command::Timestamp {
            dir,
            snapshot_key,
            timestamp_key,
            force_snapshot,
        } => {
            let repo = open(&dir)?;
            let wrote = repo
                .snapshot(&secret(&snapshot_key)?, now, force_snapshot)
                .context("writing snapshot")?;
            let v = repo
                .timestamp(&secret(&timestamp_key)?, now)
                .context("writing timestamp")?;
            note!(
                "wport: {}timestamp v{v}",
                if wrote { "new snapshot, " } else { "" }
            );
        }
    }
    Ok(())
}

/// `wport repo add-package`: each package's inputs (from its manifest's
/// provenance) name its target and go into the target's `custom` field. The
/// manifest must verify against a key of `role` (its delegation from the
/// top-level targets role): clients check it against those keys too.
///
/// Each package's own provenance attestation, and each `--attestation`
/// naming it, go into the target's `custom` field with the package's
/// payload digest (k of n builders, docs/TRUST.md). An attestation must be
/// signed by a key of `role` and name one of `files`' packages; one that
/// attests another digest is carried too (clients name the builder that
/// disagrees) and said here.
fn add_packages(
    repo: &Repository,
    role: &str,
    files: &[PathBuf],
    attestation_files: &[PathBuf],
    now: wport_trust::time::UnixTime,
) -> anyhow::Result<usize> {
    let (top, _) = repo
        .targets_role("targets")
        .context("reading the targets role")?;
    let dels = top.delegations.unwrap_or_default();
    let Some(d) = dels.roles.iter().find(|r| r.name == role) else {
        bail!(
            "targets delegates no role {role:?}: `wport repo delegate DIR --name {role} --key BUILDER.pub --path 'packages/*/*'` first"
        );
    };
    let ring = wport_trust::metadata::KeyRing::new(&dels.keys).context("the delegation's keys")?;
    let signers: Vec<PublicKey> = d
        .keyids
        .iter()
        .filter_map(|id| ring.get(id).cloned())
        .collect();
    // Every attestation given, checked, by the subject it names.
    let mut extra: Vec<(
        String,
        wport_registry::attestation::Attested,
        serde_json::Value,
        PathBuf,
    )> = Vec::new();
    for file in attestation_files {
        let (what, bytes) = read_attestation(file, &signers, role)?;
        let a = wport_registry::attestation::open(&bytes, &signers, &what)
            .with_context(|| format!("{what}: it must be signed by a key of the {role} role"))?;
        let subject = a
            .statement
            .subject
            .first()
            .map(|s| s.name.clone())
            .unwrap_or_default();
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).with_context(|| format!("{what}: re-reading it"))?;
        extra.push((subject, a, value, file.clone()));
    }
    let mut used = vec![false; extra.len()];
    let mut entries = Vec::new();
    for file in files {
        let pkg = wport_registry::open_package(file, &signers).with_context(|| {
            format!(
                "{}: its manifest must be signed by a key of the {role} role",
                file.display()
            )
        })?;
        let m = &pkg.manifest;
        let subject = wport_registry::attestation::subject_name(m);
        let mut carried: Vec<serde_json::Value> = Vec::new();
        match &pkg.attestation {
            Some(bytes) => {
                let what = format!("port {}, file {}", m.name, file.display());
                let a = wport_registry::attestation::open(bytes, &signers, &what)?;
                wport_registry::attestation::check_against(&a.statement, m)?;
                carried.push(serde_json::from_slice(bytes).context("re-reading an attestation")?);
            }
            None => eprintln!(
                "wport: warning: {} carries no provenance attestation (packaged by an older \
                 wport): clients count no builder for it unless --attestation gives them",
                file.display()
            ),
        }
        for (i, (name, a, value, from)) in extra.iter().enumerate() {
            if *name != subject {
                continue;
            }
            used[i] = true;
            let digest = a.subject_sha256().unwrap_or_default();
            if digest != m.payload.sha256 {
                eprintln!(
                    "wport: warning: {}: builder {} attests payload sha256 {digest} for {subject}, \
                     not the published package's {}: carried, and clients will name it as \
                     disagreeing",
                    from.display(),
                    a.signers.join(", "),
                    m.payload.sha256
                );
            }
            if !carried.contains(value) {
                carried.push(value.clone());
            }
        }
        let target = wport_trust::packages::PackageTarget {
            name: m.name.clone(),
            version: m.version.clone(),
            revision: m.revision,
            inputs: wport_trust::packages::Inputs {
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
            },
        };
        let path = target.path()?;
        if !wport_trust::paths::delegation_matches(
            d.paths.as_deref(),
            d.path_hash_prefixes.as_deref(),
            &path,
        ) {
            bail!(
                "{role} is not delegated {path} (its paths: {}); delegate it 'packages/*/*'",
                d.paths.as_deref().map_or_else(
                    || "none".to_owned(),
                    |p| listed(p.iter().map(String::as_str))
                )
            );
        }
        note!(
            "wport: {} -> {path} ({} attestation(s))",
            file.display(),
            carried.len()
        );
        entries.push((
            path,
            file.clone(),
            Some(target.custom_attested(&m.payload.sha256, &carried)),
        ));
    }
    if let Some(i) = used.iter().position(|u| !u) {
        bail!(
            "the attestation {} is for {:?}, which is none of the packages given",
            attestation_files[i].display(),
            extra[i].0
        );
    }
    repo.add_targets_with_custom(role, &entries, now)
        .with_context(|| format!("adding packages to {role}"))
}

/// An `--attestation` file's bytes: a DSSE envelope (JSON), or a package
/// whose own attestation is taken (its manifest signed by a key of `role`).
/// Returns what errors name it by, and the envelope.
fn read_attestation(
    file: &Path,
    signers: &[PublicKey],
    role: &str,
) -> anyhow::Result<(String, Vec<u8>)> {
    let bytes = std::fs::read(file)
        .with_context(|| format!("reading the attestation {}", file.display()))?;
    if bytes.trim_ascii_start().starts_with(b"{") {
        return Ok((format!("attestation file {}", file.display()), bytes));
    }
    let pkg = wport_registry::open_package(file, signers).with_context(|| {
        format!(
            "{}: neither a DSSE envelope nor a package signed by a key of the {role} role",
            file.display()
        )
    })?;
    let what = format!("port {}, file {}", pkg.manifest.name, file.display());
    let envelope = pkg.attestation.clone().with_context(|| {
        format!(
            "{what}: the package carries no provenance attestation (packaged by an older wport)"
        )
    })?;
    wport_registry::attestation::open(&envelope, signers, &what)
        .and_then(|a| wport_registry::attestation::check_against(&a.statement, &pkg.manifest))
        .with_context(|| format!("{what}: its attestation does not hold"))?;
    Ok((what, envelope))
}

/// Names for a message: `` `zlib`, `packages/*/*` `` (not a Rust debug
/// list, `["zlib"]`: issue 14).
fn listed<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<String> = items
        .into_iter()
        .map(|i| format!("`{}`", i.escape_debug()))
        .collect();
    if items.is_empty() {
        "nothing".to_owned()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_listed_in_words_not_as_a_debug_list() {
        assert_eq!(
            super::listed(["zlib", "packages/*/*"]),
            "`zlib`, `packages/*/*`"
        );
        assert_eq!(super::listed([]), "nothing");
    }
}
