//! The build's dependency view: which installed packages each phase sees at
//! the prefix path (docs/CONFINEMENT.md, "The dependency view").
//!
//! A phase sees the packages its `[capabilities.<phase>] dependencies`
//! grants plus, transitively, the dependencies the install registry records
//! for them, and nothing else of the prefix. This module asks the registry
//! (opened read-only, as a query) for each phase's store layers
//! (`wport_registry::store`), and hands the executor one
//! [`wport_exec::PrefixView`] with a layer list per distinct view; phases
//! granting the same packages share one. A port whose phases grant nothing
//! gets no view at all: the prefix path does not exist in its sandbox.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use wport_exec::PrefixView;
use wport_manifest::{Phase, Portfile};
use wport_registry::Prefix;
use wport_registry::store::{StoreError, ViewLayers};

/// The views of one build, and the pins that keep their layers from the
/// store's GC while the build runs.
#[derive(Debug)]
pub struct BuildView {
    pub prefix_view: PrefixView,
    /// The view of each phase that is granted dependencies (an index into
    /// `prefix_view.views`); a phase not listed sees an empty prefix.
    pub phases: BTreeMap<Phase, u16>,
    /// Per view: the packages in it, for the build log.
    pub packages: Vec<Vec<String>>,
    /// What the store's GC did, for the build log.
    pub notes: Vec<String>,
    _pins: Vec<ViewLayers>,
}

/// The registry's default place in a prefix (as `wport install` has it).
pub fn default_registry(prefix: &Path) -> PathBuf {
    prefix.join("var/wport/registry.sqlite")
}

/// Compute the views of a build of `portfile` for `phases`, making missing
/// store layers and removing stale ones first. `None` when no phase is
/// granted a dependency. Needs write access to `<prefix>/.wport/store` when
/// a layer is missing or stale: call it before dropping privileges.
pub fn prepare(
    portfile: &Portfile,
    phases: &[Phase],
    prefix: &str,
    registry: Option<&Path>,
) -> anyhow::Result<Option<BuildView>> {
    let grants: Vec<(Phase, Vec<String>)> = phases
        .iter()
        .map(|p| (*p, portfile.capabilities.phase(*p).dependencies.clone()))
        .filter(|(_, d)| !d.is_empty())
        .collect();
    if grants.is_empty() {
        return Ok(None);
    }
    let port = &portfile.port.name;
    let prefix_path = Path::new(prefix);
    if std::fs::symlink_metadata(prefix_path).is_err() {
        // Nothing is installed there; and a build never creates the prefix.
        let (phase, granted) = &grants[0];
        anyhow::bail!(
            "phase {phase} of port {port} is granted `{dep}`, which is not installed in {prefix} (the prefix does not exist); `wport install {dep}`",
            dep = granted[0]
        );
    }
    let default = default_registry(prefix_path);
    let registry_path = registry.unwrap_or(&default);
    let opened = Prefix::open_query(prefix_path, registry, false).with_context(|| {
        format!(
            "opening the install registry {} of the prefix {prefix} (port {port} is granted dependencies from it)",
            registry_path.display()
        )
    })?;
    // Best effort: a user who may not write the store still builds against
    // the layers that exist; stale ones wait for a build that may remove them.
    let mut notes = Vec::new();
    match opened.gc_store() {
        Ok(r) if !r.removed.is_empty() => notes.push(format!(
            "removed {} stale store layer(s) in {prefix}/.wport/store",
            r.removed.len()
        )),
        Ok(_) => {}
        Err(e) => notes.push(format!(
            "WARNING: stale store layers in {prefix}/.wport/store were not removed: {e}"
        )),
    }
    let mut views: Vec<Vec<PathBuf>> = Vec::new();
    let mut packages: Vec<Vec<String>> = Vec::new();
    let mut phase_views = BTreeMap::new();
    let mut pins = Vec::new();
    for (phase, granted) in grants {
        let layers = opened.view_layers(&granted).map_err(|e| match e {
            StoreError::NotInstalled {
                dependency,
                required_by: None,
                prefix,
            } => anyhow::anyhow!(
                "phase {phase} of port {port} is granted `{dependency}`, which is not installed in {}; `wport install {dependency}`",
                prefix.display()
            ),
            StoreError::NotInstalled {
                dependency,
                required_by: Some(by),
                prefix,
            } => anyhow::anyhow!(
                "phase {phase} of port {port} is granted `{by}`, whose recorded dependency `{dependency}` is not installed in {}; `wport install {dependency}`",
                prefix.display()
            ),
            other => anyhow::Error::new(other)
                .context(format!("making the dependency view of phase {phase} of port {port}")),
        })?;
        // Layer paths under the prefix as given (the executor checks them
        // against it; the registry resolved links in it).
        let store = prefix_path.join(".wport/store");
        let dirs: Vec<PathBuf> = layers
            .dirs()
            .iter()
            .map(|d| store.join(d.file_name().unwrap_or_default()))
            .collect();
        let index = match views.iter().position(|v| *v == dirs) {
            Some(i) => i,
            None => {
                views.push(dirs);
                packages.push(layers.packages());
                views.len() - 1
            }
        };
        phase_views.insert(phase, index as u16);
        pins.push(layers);
    }
    // The prefix's lock is released here; the pins keep the layers.
    drop(opened);
    Ok(Some(BuildView {
        prefix_view: PrefixView {
            prefix: PathBuf::from(prefix),
            views,
        },
        phases: phase_views,
        packages,
        notes,
        _pins: pins,
    }))
}
