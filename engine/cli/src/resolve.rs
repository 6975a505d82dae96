//! Which port a command means, and whether it may be trusted.
//!
//! - a **port name** (`wport build zlib`): the port from the synced, signed
//!   ports tree (`wport sync`); every file of it is checked against the
//!   trusted TUF targets before anything reads, fetches or runs it;
//! - a **path** (`wport build ./ports/zlib`, anything with a `/`): a local
//!   port directory being developed, built only with an explicit `--unsigned`
//!   and a loud warning. No environment variable or setting can skip the
//!   check for a named port;
//! - **nothing**: the demo port embedded in the wport binary itself.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// Where a port came from, which decides how much it was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Compiled into the wport binary.
    Embedded,
    /// Every file verified against the trusted targets of the synced tree.
    Signed,
    /// A local directory the user asked to build without verification.
    Unsigned,
}

#[derive(Debug, Clone)]
pub struct ResolvedPort {
    pub dir: PathBuf,
    pub origin: Origin,
}

/// A local port directory given without `--unsigned`.
#[derive(Debug, thiserror::Error)]
#[error(
    "{path} is a local port directory: its files are not signed, so building it skips the ports \
     tree's signature check. Pass --unsigned to build it knowingly, or name a port of the synced \
     tree (`wport build NAME`)"
)]
pub struct UnsignedRefused {
    pub path: String,
}

/// Whether `arg` names a path rather than a port.
fn is_path(arg: &str) -> bool {
    arg.contains('/') || arg == "." || arg == ".."
}

/// Resolve a command's port argument. `scratch` receives the embedded demo.
pub fn resolve_port(
    arg: Option<&str>,
    unsigned: bool,
    trust_dir: &Path,
    scratch: &Path,
) -> anyhow::Result<ResolvedPort> {
    let Some(arg) = arg else {
        // The scratch is the build root: checked (owner, mode, no link on
        // the way) before anything is written below it.
        crate::build::open_build_root(scratch)?;
        let dir = scratch.join(".embedded").join("demo");
        crate::embedded::materialize_demo(&dir)?;
        return Ok(ResolvedPort {
            dir,
            origin: Origin::Embedded,
        });
    };
    if is_path(arg) {
        if !unsigned {
            return Err(UnsignedRefused {
                path: arg.to_owned(),
            }
            .into());
        }
        eprintln!(
            "wport: WARNING: building the UNSIGNED local port directory {arg}: its Portfile, patches and \
             component are trusted as they are on disk"
        );
        return Ok(ResolvedPort {
            dir: PathBuf::from(arg),
            origin: Origin::Unsigned,
        });
    }
    wport_manifest::rules::check_port_name(arg).map_err(|r| {
        anyhow::anyhow!(
            "`{arg}` is not a port name: {}; a local directory needs a `/` (./{arg})",
            r.reason
        )
    })?;
    let dir = trust_dir.join("targets").join("ports").join(arg);
    if !dir.is_dir() {
        anyhow::bail!(
            "port {arg} is not in the synced ports tree ({}); run `wport sync`, or build a local \
             directory with `--unsigned ./PATH`",
            dir.display()
        );
    }
    let files = port_files(&dir)?;
    let pairs: Vec<(&str, &Path)> = files
        .iter()
        .map(|(rel, path)| (rel.as_str(), path.as_path()))
        .collect();
    wport_trust::verify_port(trust_dir, arg, &pairs).with_context(|| {
        format!("port {arg}: the synced files do not match the signed ports tree")
    })?;
    Ok(ResolvedPort {
        dir,
        origin: Origin::Signed,
    })
}

/// The synced, signed ports tree of `trust_dir` as a graph
/// (`wport-plan`): each port is loaded lazily by name, and every one of its
/// files is verified against the trusted targets before its Portfile is
/// parsed.
pub fn signed_tree(trust_dir: &Path) -> wport_plan::Tree<'static> {
    let trust = trust_dir.to_path_buf();
    wport_plan::Tree::signed(
        trust_dir.join("targets").join("ports"),
        move |name: &str, dir: &Path| -> Result<(), wport_plan::VerifyError> {
            let files = port_files(dir)?;
            let pairs: Vec<(&str, &Path)> = files
                .iter()
                .map(|(rel, path)| (rel.as_str(), path.as_path()))
                .collect();
            wport_trust::verify_port(&trust, name, &pairs)?;
            Ok(())
        },
    )
}

/// Every file below a synced port directory, with its path relative to it.
/// Anything but regular files and directories is refused: the synced tree
/// holds nothing else.
fn port_files(dir: &Path) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("listing {}", d.display()))? {
            let entry = entry?;
            let path = entry.path();
            let ty = entry.file_type()?;
            if ty.is_dir() {
                stack.push(path);
            } else if ty.is_file() {
                let rel = path
                    .strip_prefix(dir)
                    .expect("below the port dir")
                    .to_str()
                    .with_context(|| format!("{}: not UTF-8", path.display()))?
                    .to_owned();
                out.push((rel, path));
            } else {
                anyhow::bail!("{}: not a regular file or directory", path.display());
            }
        }
    }
    out.sort();
    Ok(out)
}
