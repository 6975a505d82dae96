//! `wport-lint`: everything `wport lint` checks, as a library.
//!
//! ```no_run
//! let diagnostics = wport_lint::lint_tree("ports".as_ref()).unwrap();
//! for d in &diagnostics {
//!     eprint!("{}", d.render());
//! }
//! ```
//!
//! # Code map
//!
//! - [`imports`]: reads a component's import names (wasmparser, no
//!   compilation) and checks them against the Portfile's grants. `wport
//!   build` calls it before compiling anything; the linter calls it too.
//! - [`rules`]: the rule catalogue, one stable id and severity per rule,
//!   documented in docs/LINT.md.
//! - `deps`: dependencies: grants of the wrong kind (per port), and names
//!   that are not ports of the tree, cycles and port names (per tree), all
//!   found by `wport_plan`.
//! - `check`: the checks of one port: the schema (`wport_manifest`), files
//!   next to the Portfile (component, patchfiles, local distfiles, their
//!   pins), the import check in both directions, plain-http sources and
//!   dangerous grants (`programs` classifies program names).
//! - `doc`: positions of keys in a Portfile that passed the schema.
//! - `files`: reads the files a Portfile names without following links or
//!   opening special files (the port directory is untrusted in CI).
//! - [`diagnostic`]: [`Diagnostic`] and its human, JSON and GitHub forms.
//! - [`diff`]: the capability diff between two versions of a port.
//! - `tests/cases/<case>/`: one port per rule with its expected output;
//!   `WPORT_BLESS=1` rewrites the expectations.
//!
//! **Architecture invariant:** this crate never compiles or runs a
//! component and does not depend on wasmtime: linting a ports tree in CI
//! must not execute anything the ports contain. It reads files; it never
//! writes, fetches or spawns.

#![forbid(unsafe_code)]

mod check;
mod deps;
pub mod diagnostic;
pub mod diff;
mod doc;
mod files;
pub mod imports;
mod programs;
pub mod rules;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use wport_manifest::StandardComponent;

pub use deps::{lint_dependencies, order_by_file};
pub use diagnostic::Diagnostic;
pub use rules::{Rule, Severity};
pub use wport_plan::find_ports;

/// The import names of a standard component, decoded once per [`Linter`].
#[derive(Debug, Clone)]
enum ComponentImports {
    Names(Vec<String>),
    Malformed(String),
}

/// Lint settings shared by every port of a run.
///
/// The standard components (`standard = "make"`...) are compiled into the
/// `wport` binary, not into this crate; a caller that has them passes their
/// bytes with [`Linter::standard_component`] so the import check covers
/// ports that use them. Without them, that check is skipped for those ports
/// (the `wport lint` command always provides them).
#[derive(Debug, Clone, Default)]
pub struct Linter {
    standard: BTreeMap<StandardComponent, ComponentImports>,
    /// sha256 digests (lowercase hex) of downloads held in quarantine.
    quarantined: std::collections::BTreeSet<String>,
}

impl Linter {
    /// A linter with no standard components.
    pub fn new() -> Linter {
        Linter::default()
    }

    /// Provides the bytes of a standard component (its imports are read
    /// here, once, not per port).
    pub fn standard_component(mut self, which: StandardComponent, bytes: &[u8]) -> Linter {
        let imports = match imports::imports(bytes) {
            Ok(names) => ComponentImports::Names(names),
            Err(err) => ComponentImports::Malformed(err.to_string()),
        };
        self.standard.insert(which, imports);
        self
    }

    /// The sha256 digests (lowercase hex) of downloads held in quarantine
    /// (`wport_fetch::quarantine::held_sha256s`): a source pinning one is
    /// reported as `quarantined-checksum`. The caller reads the quarantine;
    /// this crate reads nothing but ports.
    pub fn quarantined_checksums(mut self, digests: impl IntoIterator<Item = String>) -> Linter {
        self.quarantined.extend(digests);
        self
    }

    fn standard_imports(&self, which: StandardComponent) -> Option<&ComponentImports> {
        self.standard.get(&which)
    }

    /// Lints the port in `dir` (its `Portfile.toml` and the files it names).
    /// Diagnostics name the Portfile as `dir/Portfile.toml`.
    pub fn lint_port(&self, dir: &Path) -> Vec<Diagnostic> {
        self.lint_portfile(&dir.join("Portfile.toml"))
    }

    /// Lints the Portfile at `path`; the files it names are looked up in
    /// its directory.
    pub fn lint_portfile(&self, path: &Path) -> Vec<Diagnostic> {
        let file = path.display().to_string();
        let dir = path.parent().unwrap_or(Path::new("."));
        match files::read_regular(path, &file, files::PORTFILE_LIMIT) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => check::port(self, dir, &file, &text),
                Err(_) => vec![check::unreadable(&file, &"it is not UTF-8 text")],
            },
            Err(refused) => vec![check::unreadable(&file, &refused)],
        }
    }

    /// Lints the Portfile `text` as if it were `dir/Portfile.toml`, named
    /// `file` in diagnostics (for tools and benchmarks that hold the text).
    pub fn lint_text(&self, dir: &Path, file: &str, text: &str) -> Vec<Diagnostic> {
        check::port(self, dir, file, text)
    }

    /// Lints every port found by [`find_ports`] below `dir`, in parallel,
    /// then the dependencies between them ([`lint_dependencies`]), and
    /// returns the diagnostics in port order (sorted by path), each port's
    /// by line.
    pub fn lint_tree(&self, dir: &Path) -> std::io::Result<Vec<Diagnostic>> {
        let ports = find_ports(dir)?;
        // Each port is read and validated once, for its own checks and for
        // the graph.
        let results = par_map(&ports, |dir| self.lint_with_graph(dir));
        let mut per_port = Vec::new();
        let mut loaded = Vec::with_capacity(ports.len());
        for (dir, (diagnostics, port)) in ports.iter().zip(results) {
            per_port.extend(diagnostics);
            loaded.push((dir.clone(), port));
        }
        let mut tree = wport_plan::Tree::from_ports(dir, loaded);
        let across = deps::tree_findings(&mut tree);
        Ok(deps::order_by_file(
            ports.iter().map(|p| p.join("Portfile.toml")),
            per_port.into_iter().chain(across),
        ))
    }

    /// [`Linter::lint_port`], and the port for the dependency graph.
    fn lint_with_graph(
        &self,
        dir: &Path,
    ) -> (
        Vec<Diagnostic>,
        Result<wport_plan::Port, wport_plan::PlanError>,
    ) {
        let path = dir.join("Portfile.toml");
        let file = path.display().to_string();
        let unreadable = |reason: String| wport_plan::PlanError::Io {
            what: "reading",
            path: path.clone(),
            source: std::sync::Arc::new(std::io::Error::other(reason)),
        };
        match files::read_regular(&path, &file, files::PORTFILE_LIMIT) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => check::port_and_graph(self, dir, &file, &text),
                Err(_) => (
                    vec![check::unreadable(&file, &"it is not UTF-8 text")],
                    Err(unreadable("not UTF-8 text".into())),
                ),
            },
            Err(refused) => (
                vec![check::unreadable(&file, &refused)],
                Err(unreadable(refused.to_string())),
            ),
        }
    }

    /// Lints each port directory of `ports`, in parallel; one list of
    /// diagnostics per port, in the same order.
    pub fn lint_ports(&self, ports: &[PathBuf]) -> Vec<Vec<Diagnostic>> {
        par_map(ports, |dir| self.lint_port(dir))
    }

    /// Lints each Portfile of `portfiles`, in parallel; one list of
    /// diagnostics per Portfile, in the same order.
    pub fn lint_portfiles(&self, portfiles: &[PathBuf]) -> Vec<Vec<Diagnostic>> {
        par_map(portfiles, |path| self.lint_portfile(path))
    }
}

/// `items.iter().map(f)`, on every core when there are enough items to be
/// worth a thread (a Portfile-only port takes tens of microseconds).
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len() / 16 + 1);
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    // Work stealing by an atomic cursor: ports differ a lot in cost (a
    // component to hash and decode vs a Portfile alone).
    let next = AtomicUsize::new(0);
    let done: Vec<Vec<(usize, R)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        done.push((i, f(item)));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a lint worker panicked"))
            .collect()
    });
    let mut results: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    for (i, r) in done.into_iter().flatten() {
        results[i] = Some(r);
    }
    results
        .into_iter()
        .map(|r| r.expect("every item was mapped"))
        .collect()
}

/// Lints the port in `dir` without the standard components (see
/// [`Linter`]).
pub fn lint_port(dir: &Path) -> Vec<Diagnostic> {
    Linter::new().lint_port(dir)
}

/// Lints every port below `dir` without the standard components (see
/// [`Linter`]).
pub fn lint_tree(dir: &Path) -> std::io::Result<Vec<Diagnostic>> {
    Linter::new().lint_tree(dir)
}
