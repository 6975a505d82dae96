//! `wport build --check [PORT]`: build a port twice with the inputs that
//! must not matter varied, package both destroots, and compare (Nix's
//! `--check`, Debian's reprotest).
//!
//! Each build is a child `wport build`, as `wport package` builds: as root
//! a build drops to its build user for good, and this process must still
//! read both trees, package them and, between the builds, hold a build uid
//! so that the second build leases another one. What the second build gets
//! differently, and why only this (docs/REPRODUCIBLE.md):
//!
//! - another build directory: `BUILD_ROOT/check/NAME-VERSION` instead of
//!   `BUILD_ROOT/NAME-VERSION` (native commands see `/work` in both: the
//!   host path reaches only what the host itself writes);
//! - a later wall clock: it starts at least [`MIN_CLOCK_SHIFT`] after the
//!   first build started (SOURCE_DATE_EPOCH is the same; the WASM clock is
//!   frozen at it, native commands read the real clock, which no namespace
//!   can move);
//! - another umask for the wport process (002, or 022 when the caller's is
//!   002); native commands always run with 022;
//! - twice the `-j` jobs (`MAKEFLAGS` and `{jobs}`);
//! - as root, another build uid (this process holds a lease on the next
//!   free one while the second build runs); the build user's name is
//!   `wport` in every build, and the hostname `wport`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use wport::build::BuildOptions;
use wport::check::{Difference, compare_packages, compare_trees, walk};
use wport::exit;
use wport::resolve::resolve_port;
use wport_manifest::Portfile;

/// The least time between the starts of the two builds: a timestamp with
/// one-second resolution taken at the same point of both builds differs.
pub const MIN_CLOCK_SHIFT: Duration = Duration::from_millis(2500);

/// How one of the two builds runs.
struct Variant {
    build_root: PathBuf,
    jobs: u32,
    umask: u32,
}

pub fn run(args: super::build::Args) -> i32 {
    match check(&args) {
        Ok(code) => code,
        Err(e) => {
            super::report(&e);
            exit::classify(&e)
        }
    }
}

fn check(args: &super::build::Args) -> anyhow::Result<i32> {
    let defaults = BuildOptions::default();
    let build_root = args.build_root.clone().unwrap_or(defaults.build_root);
    let jobs = args.jobs.unwrap_or(defaults.jobs).max(1);
    let trust_dir = args.trust_dir.clone().unwrap_or_else(super::key::trust_dir);
    let port = resolve_port(args.port.as_deref(), args.unsigned, &trust_dir, &build_root)?;
    let portfile = Portfile::load(&port.dir.join("Portfile.toml"))?;
    let label = format!("{}@{}", portfile.port.name, portfile.port.version);
    let dir_name = format!("{}-{}", portfile.port.name, portfile.port.version);

    // The caller's umask, read by setting it (and set back at once).
    let umask = set_umask(0o022);
    set_umask(umask);
    let first = Variant {
        build_root: build_root.clone(),
        jobs,
        umask,
    };
    let second = Variant {
        build_root: build_root.join("check"),
        jobs: jobs.saturating_mul(2),
        umask: if umask == 0o002 { 0o022 } else { 0o002 },
    };
    wport::note!(
        "wport: checking that {label} builds reproducibly: two builds, the second with another build \
         directory, a later wall clock, umask {:03o} (not {:03o}), -j{} (not -j{}){}",
        second.umask,
        first.umask,
        second.jobs,
        first.jobs,
        if rustix::process::geteuid().is_root() {
            " and another build uid"
        } else {
            ""
        }
    );

    let started = Instant::now();
    if let Some(code) = wait_build(spawn_build(args, &first, 1)?, 1)? {
        return Ok(code);
    }
    let since = started.elapsed();
    if since < MIN_CLOCK_SHIFT {
        std::thread::sleep(MIN_CLOCK_SHIFT - since);
    }
    // As root: hold the first free build uid (the one the first build had,
    // now released), so the second build leases another.
    let held = if rustix::process::geteuid().is_root() {
        wport_exec::buildusers::lease(&wport_exec::BuildUsers::default()).ok()
    } else {
        None
    };
    let dir_a = first.build_root.join(&dir_name);
    let dir_b = second.build_root.join(&dir_name);
    let (dest_a, dest_b) = (dir_a.join("destroot"), dir_b.join("destroot"));
    // Both destroots packaged as `wport package` would, signed with one
    // throwaway key (ed25519 signatures are deterministic). The first is
    // walked and packaged while the second builds: its tree no longer
    // changes, and a build leaves a core idle for much of its time
    // (configure, linking), so the check costs little more than two builds.
    let key = wport_trust::SecretKey::generate()?;
    // Started before the packaging thread: no other thread runs while
    // the umask is the variant's.
    let second_child = spawn_build(args, &second, 2)?;
    let (first_done, second_result) = std::thread::scope(|s| {
        let first_done = s.spawn(|| -> anyhow::Result<_> {
            let tree = walk(&dest_a)?;
            let pkg = package(args, &port.dir, &portfile, &dir_a, &key)?;
            Ok((tree, pkg))
        });
        let second_result = wait_build(second_child, 2);
        (first_done.join(), second_result)
    });
    drop(held);
    if let Some(code) = second_result? {
        return Ok(code);
    }
    let (tree_a, pkg_a) = match first_done {
        Ok(r) => r?,
        Err(panic) => std::panic::resume_unwind(panic),
    };
    // The second tree is walked (hashed) while it is packaged.
    let compared = Instant::now();
    let (tree_b, pkg_b) = std::thread::scope(|s| {
        let walked = s.spawn(|| walk(&dest_b));
        let pkg = package(args, &port.dir, &portfile, &dir_b, &key);
        (walked.join(), pkg)
    });
    let tree_b = match tree_b {
        Ok(r) => r?,
        Err(panic) => std::panic::resume_unwind(panic),
    };
    let pkg_b = pkg_b?;
    let differences = compare_trees(&dest_a, &tree_a, &dest_b, &tree_b);
    let package_differences = compare_packages(&pkg_a, &pkg_b, key.public())?;
    wport::detail!(
        "wport: check: the second build walked, packaged and both compared in {:.0} ms",
        compared.elapsed().as_secs_f64() * 1e3
    );

    let files = tree_a
        .values()
        .filter(|e| !matches!(e, wport::check::Entry::Dir { .. }))
        .count();
    if differences.is_empty() && package_differences.is_empty() {
        println!(
            "{label} is reproducible: two builds gave identical destroots ({files} files and links) \
             and identical packages"
        );
        println!("  first build:  {}", dir_a.display());
        println!("  second build: {}", dir_b.display());
        println!("  package:      {}", pkg_a.display());
        return Ok(exit::SUCCESS);
    }
    println!(
        "{label} is NOT reproducible: {} of {} paths differ between the two builds{}",
        differences.len(),
        tree_a.len().max(tree_b.len()),
        if package_differences.is_empty() {
            ""
        } else {
            ", and so do the packages"
        }
    );
    print!("{}", report(&differences, &portfile_prefix(&args.prefix)));
    if !package_differences.is_empty() {
        println!("  the packages:");
        for d in &package_differences {
            println!("    {d}");
        }
    }
    println!("both builds are kept for inspection:");
    println!(
        "  first build:  {} (package {})",
        dir_a.display(),
        pkg_a.display()
    );
    println!(
        "  second build: {} (package {})",
        dir_b.display(),
        pkg_b.display()
    );
    Ok(exit::FAILURE)
}

fn portfile_prefix(prefix: &str) -> String {
    prefix.trim_matches('/').to_owned()
}

/// The differences as the report lists them: each path as installed
/// (`/opt/wport/lib/libz.so`), what differs, then the detail indented.
pub fn report(differences: &[Difference], prefix: &str) -> String {
    let mut out = String::new();
    for d in differences {
        let shown = match d.path.strip_prefix(prefix) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("/{}", d.path),
            _ => format!("destroot/{}", d.path),
        };
        out.push_str(&format!("  {shown}: {}\n", d.what.join(", ")));
        for line in &d.detail {
            out.push_str(&format!("      {line}\n"));
        }
    }
    out
}

/// Set the process's umask; returns the previous one.
fn set_umask(mask: u32) -> u32 {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(mask)).as_raw_mode()
}

/// Start build `n` as a child `wport build`, with the variant's umask.
fn spawn_build(
    args: &super::build::Args,
    v: &Variant,
    n: u32,
) -> anyhow::Result<std::process::Child> {
    wport::note!(
        "wport: check: build {n} of 2 in {} (-j{}, umask {:03o})",
        v.build_root.display(),
        v.jobs,
        v.umask
    );
    let mut cmd = super::package::ChildBuild {
        port: args.port.as_deref().map(std::ffi::OsStr::new),
        unsigned: args.unsigned,
        trust_dir: args.trust_dir.as_deref(),
        build_root: &v.build_root,
        prefix: &args.prefix,
        jobs: Some(v.jobs),
    }
    .command()?;
    if let Some(r) = &args.registry {
        cmd.arg("--registry").arg(r);
    }
    if let Some(t) = args.phase_timeout {
        cmd.arg("--phase-timeout").arg(t.to_string());
    }
    // The variant's umask is inherited at the fork; this process sets its
    // own back at once.
    let previous = set_umask(v.umask);
    let child = cmd.spawn();
    set_umask(previous);
    child.context("running `wport build`")
}

/// Wait for build `n`; `Some(code)` when it failed (it said why on the
/// same stderr).
fn wait_build(mut child: std::process::Child, n: u32) -> anyhow::Result<Option<i32>> {
    let status = child.wait().context("waiting for `wport build`")?;
    if status.success() {
        return Ok(None);
    }
    let code = status.code().unwrap_or(exit::FAILURE);
    eprintln!("error: build {n} of 2 failed (exit {code}); nothing was compared");
    Ok(Some(code))
}

/// Package a finished build's destroot into `DIR/package/`, as `wport
/// package --destroot` does.
fn package(
    args: &super::build::Args,
    port_dir: &Path,
    portfile: &Portfile,
    dir: &Path,
    key: &wport_trust::SecretKey,
) -> anyhow::Result<PathBuf> {
    let destroot = dir.join("destroot");
    let calls = super::package::calls_of_finished_build(&destroot)?;
    let registry = Path::new(&args.prefix).join("var/wport/registry.sqlite");
    let deps = match registry.is_file() {
        true => match wport_registry::Prefix::open_query(Path::new(&args.prefix), None, false) {
            Ok(prefix) => super::package::dependency_digests(&prefix, portfile)?,
            Err(_) => Default::default(),
        },
        false => Default::default(),
    };
    let (out, _) = super::package::package_destroot(
        &port_dir.join("Portfile.toml"),
        portfile,
        &destroot,
        calls,
        &args.prefix,
        &deps,
        key,
        &dir.join("package"),
    )?;
    Ok(out)
}
