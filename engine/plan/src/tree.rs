//! [`Tree`]: the ports of a tree directory, loaded all at once (a local
//! tree being linted) or lazily by name (a synced, signed tree: only the
//! ports a command reaches are verified and parsed).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{PlanError, VerifyError};
use crate::graph;
use crate::port::{DepKind, Port, dir_name};

/// The callback a signed tree verifies each port with, before anything of
/// the port is parsed: `(name, port directory)`.
/// `Send + Sync` so that a `Tree` can be shared with the threads of a
/// parallel build once loaded.
type Verify<'v> = Box<dyn FnMut(&str, &Path) -> Result<(), VerifyError> + Send + Sync + 'v>;

/// A ports tree: `root/<name>/Portfile.toml` for each port.
///
/// Three ways to open one:
///
/// - [`Tree::scan`]: every port below a local directory, loaded now (what
///   `wport lint ports/` checks; categories `ports/<cat>/<name>` allowed);
/// - [`Tree::local`]: a local directory, each port loaded when first asked
///   for (`wport build --unsigned ./ports/x` resolves against `./ports`);
/// - [`Tree::signed`]: the synced tree (`<trust_dir>/targets/ports`), each
///   port passed to a verify callback **before** its Portfile is read, and
///   loaded only when asked for: planning one install in a 30,000-port tree
///   verifies and parses the ports it reaches, nothing else.
///
/// A port looked up by name must live in a directory of that name
/// ([`PlanError::NameMismatch`] otherwise), so a directory cannot stand in
/// for another port. Results, good or bad, are cached: each port is
/// verified and parsed at most once per `Tree`.
pub struct Tree<'v> {
    root: PathBuf,
    verify: Option<Verify<'v>>,
    slots: BTreeMap<String, Slot>,
    /// Every port of the tree has a slot: a name without one is unknown.
    complete: bool,
    /// Problems found while scanning (broken Portfiles, names).
    problems: Vec<PlanError>,
    /// The names a "did you mean" may propose, listed once.
    names: Option<Vec<String>>,
    /// Suggestions already computed: a tree where one missing library is
    /// named by a thousand ports compares names once, not a thousand times.
    suggestions: BTreeMap<String, Option<String>>,
}

#[derive(Clone)]
enum Slot {
    Loaded(Arc<Port>),
    Absent,
    Broken(PlanError),
}

/// A port depending on the one asked about ([`Tree::rdeps`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rdep {
    /// The dependent port.
    pub name: String,
    /// The lists of its `[dependencies]` that name the port.
    pub kinds: Vec<DepKind>,
}

impl Tree<'static> {
    /// A local tree whose ports are loaded lazily by name
    /// (`root/<name>/Portfile.toml`), without verification.
    pub fn local(root: impl Into<PathBuf>) -> Tree<'static> {
        Tree::new(root.into(), None)
    }

    /// Every port below `root` (see [`find_ports`]), loaded now. A port
    /// whose Portfile fails is kept as broken under its directory's name (it
    /// is not "unknown" to its dependents); that failure, two ports of one
    /// name, and a name that differs from its directory are listed by
    /// [`Tree::problems`].
    ///
    /// Fails only when `root` cannot be listed.
    pub fn scan(root: impl Into<PathBuf>) -> Result<Tree<'static>, PlanError> {
        let root = root.into();
        let dirs = find_ports(&root).map_err(|source| PlanError::Io {
            what: "searching for ports in",
            path: root.clone(),
            source: Arc::new(source),
        })?;
        let loaded = load_parallel(&dirs);
        let mut tree = Tree::new(root, None);
        tree.complete = true;
        for (dir, port) in dirs.iter().zip(loaded) {
            tree.insert_scanned(dir, port);
        }
        Ok(tree)
    }

    /// Like [`Tree::scan`] for ports a caller already loaded (a linter
    /// that validated every Portfile itself): `(port directory, port or
    /// why it failed)` in path order. A failed port stays known by its
    /// directory's name, as in a scan.
    pub fn from_ports(
        root: impl Into<PathBuf>,
        ports: impl IntoIterator<Item = (PathBuf, Result<Port, PlanError>)>,
    ) -> Tree<'static> {
        let mut tree = Tree::new(root.into(), None);
        tree.complete = true;
        for (dir, port) in ports {
            tree.insert_scanned(&dir, port);
        }
        tree
    }
}

/// [`Port::load`] of each directory, on every core when there are enough
/// (a 30,000-port tree is parsed in parallel, as lint does).
fn load_parallel(dirs: &[PathBuf]) -> Vec<Result<Port, PlanError>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(dirs.len() / 64 + 1);
    if threads <= 1 {
        return dirs.iter().map(|d| Port::load(d)).collect();
    }
    let chunk = dirs.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = dirs
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(|d| Port::load(d)).collect::<Vec<_>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a loading thread panicked"))
            .collect()
    })
}

impl<'v> Tree<'v> {
    /// The synced, signed tree at `root` (`<trust_dir>/targets/ports`).
    /// `verify(name, dir)` is called for each port before its Portfile is
    /// read; an error refuses the port ([`PlanError::Unverified`]) and
    /// nothing of it is parsed. The CLI passes a closure calling
    /// `wport_trust::verify_port` on every file of the directory.
    ///
    /// The verified files are read again to be parsed: the trust directory
    /// is writable by its owner only (wport-trust checks), so only that
    /// owner could change them in between.
    pub fn signed(
        root: impl Into<PathBuf>,
        verify: impl FnMut(&str, &Path) -> Result<(), VerifyError> + Send + Sync + 'v,
    ) -> Tree<'v> {
        Tree::new(root.into(), Some(Box::new(verify)))
    }

    fn new(root: PathBuf, verify: Option<Verify<'v>>) -> Tree<'v> {
        Tree {
            root,
            verify,
            slots: BTreeMap::new(),
            complete: false,
            problems: Vec::new(),
            names: None,
            suggestions: BTreeMap::new(),
        }
    }

    fn insert_scanned(&mut self, dir: &Path, loaded: Result<Port, PlanError>) {
        let directory = dir_name(dir);
        match loaded {
            Ok(port) => {
                if port.name != directory {
                    self.problems.push(PlanError::NameMismatch {
                        portfile: port.portfile_path.clone(),
                        name: port.name.clone(),
                        directory,
                    });
                }
                match self.slots.get(&port.name) {
                    Some(Slot::Loaded(first)) => {
                        self.problems.push(PlanError::DuplicatePort {
                            name: port.name.clone(),
                            first: first.portfile_path.clone(),
                            second: port.portfile_path.clone(),
                        });
                    }
                    _ => {
                        self.slots
                            .insert(port.name.clone(), Slot::Loaded(Arc::new(port)));
                    }
                }
            }
            Err(err) => {
                self.problems.push(err.clone());
                self.slots.entry(directory).or_insert(Slot::Broken(err));
            }
        }
    }

    /// Puts a port loaded elsewhere into the tree under its `[port] name`
    /// (replacing whatever was there): `wport build --unsigned ./ports/x`
    /// plans the directory it was given, whatever its name, against the
    /// ports next to it.
    pub fn add(&mut self, port: Port) -> Arc<Port> {
        let port = Arc::new(port);
        self.slots
            .insert(port.name.clone(), Slot::Loaded(port.clone()));
        self.names = None;
        self.suggestions.clear();
        port
    }

    /// The tree's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Problems found by [`Tree::scan`] / [`Tree::load_all`]: Portfiles that
    /// fail the schema or verification, duplicate names, names that differ
    /// from their directory.
    pub fn problems(&self) -> &[PlanError] {
        &self.problems
    }

    /// The port `name`, loading (and for a signed tree, verifying) it on
    /// first use. [`PlanError::NotFound`] when the tree has no such port.
    pub fn port(&mut self, name: &str) -> Result<Arc<Port>, PlanError> {
        if let Some(slot) = self.slots.get(name) {
            return match slot {
                Slot::Loaded(port) => Ok(port.clone()),
                Slot::Broken(err) => Err(err.clone()),
                Slot::Absent => Err(self.not_found(name)),
            };
        }
        if self.complete {
            return Err(self.not_found(name));
        }
        let slot = self.load(name);
        self.slots.insert(name.to_owned(), slot);
        self.port(name)
    }

    fn load(&mut self, name: &str) -> Slot {
        if let Err(rejection) = wport_manifest::rules::check_port_name(name) {
            return Slot::Broken(PlanError::BadName {
                name: name.to_owned(),
                reason: rejection.reason.to_string(),
            });
        }
        let dir = self.root.join(name);
        // A real directory only: a link named like a port must not pull a
        // directory from elsewhere into the tree.
        if !std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) {
            return Slot::Absent;
        }
        if let Some(verify) = &mut self.verify
            && let Err(source) = verify(name, &dir)
        {
            return Slot::Broken(PlanError::Unverified {
                port: name.to_owned(),
                dir,
                source: Arc::from(source),
            });
        }
        match Port::load(&dir) {
            Ok(port) if port.name != name => Slot::Broken(PlanError::NameMismatch {
                portfile: port.portfile_path.clone(),
                name: port.name.clone(),
                directory: name.to_owned(),
            }),
            Ok(port) => Slot::Loaded(Arc::new(port)),
            Err(err) => Slot::Broken(err),
        }
    }

    /// Loads every port of a lazily opened tree (each directory of the
    /// root; for a signed tree, each verified first), for questions about
    /// the whole tree ([`Tree::rdeps`], [`Tree::search`]). Ports that fail
    /// are left out and returned (also kept in [`Tree::problems`]).
    /// Nothing to do for a scanned tree.
    pub fn load_all(&mut self) -> Result<Vec<PlanError>, PlanError> {
        if self.complete {
            return Ok(Vec::new());
        }
        let mut failed = Vec::new();
        for name in self.directory_names()? {
            if let Err(err) = self.port(&name) {
                failed.push(err);
            }
        }
        self.complete = true;
        self.names = None;
        self.suggestions.clear();
        self.problems.extend(failed.iter().cloned());
        Ok(failed)
    }

    fn directory_names(&self) -> Result<Vec<String>, PlanError> {
        let io = |source| PlanError::Io {
            what: "listing",
            path: self.root.clone(),
            source: Arc::new(source),
        };
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&self.root).map_err(io)? {
            let entry = entry.map_err(io)?;
            if !entry.file_type().map_err(io)?.is_dir() {
                continue;
            }
            if let Some(name) = entry.file_name().to_str()
                && wport_manifest::rules::check_port_name(name).is_ok()
            {
                names.push(name.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    /// The names a "did you mean" may propose: the loaded ports of a
    /// complete tree, else the directory names of the root.
    fn known_names(&self) -> Vec<String> {
        if self.complete {
            return self
                .slots
                .iter()
                .filter(|(_, slot)| !matches!(slot, Slot::Absent))
                .map(|(name, _)| name.clone())
                .collect();
        }
        self.directory_names().unwrap_or_default()
    }

    pub(crate) fn suggest(&mut self, name: &str) -> Option<String> {
        if let Some(known) = self.suggestions.get(name) {
            return known.clone();
        }
        if self.names.is_none() {
            self.names = Some(self.known_names());
        }
        let names = self.names.as_deref().unwrap_or_default();
        let found =
            wport_manifest::did_you_mean(name, names.iter().map(String::as_str)).map(str::to_owned);
        self.suggestions.insert(name.to_owned(), found.clone());
        found
    }

    fn not_found(&mut self, name: &str) -> PlanError {
        PlanError::NotFound {
            name: name.to_owned(),
            tree: self.root.clone(),
            suggestion: self.suggest(name),
        }
    }

    /// A port already loaded (no I/O).
    pub fn get(&self, name: &str) -> Option<&Arc<Port>> {
        match self.slots.get(name) {
            Some(Slot::Loaded(port)) => Some(port),
            _ => None,
        }
    }

    /// Every loaded port, by name.
    pub fn ports(&self) -> impl Iterator<Item = &Arc<Port>> {
        self.slots.values().filter_map(|slot| match slot {
            Slot::Loaded(port) => Some(port),
            _ => None,
        })
    }

    /// Dependency errors among the loaded ports: names that are not ports
    /// of the tree ([`PlanError::UnknownDependency`], each at its line in
    /// `[dependencies]`) and cycles ([`PlanError::Cycle`], one per set of
    /// ports that depend on each other). On a lazily opened tree each named
    /// dependency is looked up (and loaded). Grants of the wrong kind are
    /// per port: [`Port::check_grants`]. Sorted by Portfile and line.
    pub fn check(&mut self) -> Vec<PlanError> {
        let ports: Vec<Arc<Port>> = self.ports().cloned().collect();
        let mut errors = Vec::new();
        for port in &ports {
            for (kind, dep) in port.all_deps() {
                if let Err(PlanError::NotFound { suggestion, .. }) = self.port(dep) {
                    errors.push(unknown(port, kind, dep, suggestion));
                }
            }
        }
        let loaded: BTreeMap<String, Arc<Port>> = self
            .ports()
            .map(|port| (port.name.clone(), port.clone()))
            .collect();
        errors.extend(graph::cycles(&loaded));
        sort(&mut errors);
        errors
    }

    /// The loaded ports that declare `name` in `[dependencies]`, by name,
    /// with the lists that name it. Call [`Tree::load_all`] first on a lazy
    /// tree to ask the whole tree.
    pub fn rdeps(&self, name: &str) -> Vec<Rdep> {
        self.ports()
            .filter_map(|port| {
                let kinds = port.kinds_of(name);
                (!kinds.is_empty()).then(|| Rdep {
                    name: port.name.clone(),
                    kinds,
                })
            })
            .collect()
    }

    /// The loaded ports whose name or description contains `term`, ignoring
    /// case, by name. Call [`Tree::load_all`] first on a lazy tree.
    pub fn search(&self, term: &str) -> Vec<Arc<Port>> {
        let term = term.to_lowercase();
        self.ports()
            .filter(|port| {
                port.name.to_lowercase().contains(&term)
                    || port
                        .portfile
                        .port
                        .description
                        .to_lowercase()
                        .contains(&term)
            })
            .cloned()
            .collect()
    }
}

pub(crate) fn unknown(
    port: &Port,
    kind: DepKind,
    dep: &str,
    suggestion: Option<String>,
) -> PlanError {
    let (line, column) = port
        .declared_at(kind, dep)
        .map_or((1, 1), |p| (p.line, p.column));
    PlanError::UnknownDependency {
        port: port.name.clone(),
        portfile: port.portfile_path.clone(),
        line,
        column,
        kind,
        dependency: dep.to_owned(),
        suggestion,
    }
}

/// Errors in a stable order: by Portfile and position, then message.
pub(crate) fn sort(errors: &mut Vec<PlanError>) {
    errors.sort_by_cached_key(|e| {
        (
            e.portfile().map(Path::to_path_buf),
            e.position(),
            e.to_string(),
        )
    });
    errors.dedup_by(|a, b| a.to_string() == b.to_string());
}

/// How deep below the tree root [`find_ports`] looks (`ports/<name>` is 1;
/// a categorised tree `ports/<category>/<name>` is 2).
const MAX_DEPTH: usize = 6;

/// The port directories below `dir` (and `dir` itself if it holds a
/// `Portfile.toml`), sorted. A directory holding a `Portfile.toml` is a port
/// and is not searched further; hidden directories and `target` are
/// skipped, and symbolic links are not followed, so a link cannot make the
/// walk leave the tree or loop.
pub fn find_ports(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut ports = Vec::new();
    walk(dir, 0, &mut ports)?;
    ports.sort();
    Ok(ports)
}

fn walk(dir: &Path, depth: usize, ports: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if std::fs::symlink_metadata(dir.join("Portfile.toml")).is_ok_and(|m| m.is_file()) {
        ports.push(dir.to_path_buf());
        return Ok(());
    }
    if depth >= MAX_DEPTH {
        return Ok(());
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        // The root must be readable; a subdirectory that is not is skipped.
        Err(err) if depth == 0 => return Err(err),
        Err(_) => return Ok(()),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        if entry.file_type()?.is_dir() {
            walk(&entry.path(), depth + 1, ports)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{deps, write_port};

    #[test]
    fn an_unknown_dependency_names_the_portfile_line_and_a_close_name() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        write_port(t, "zlib", "");
        write_port(t, "app", &deps(&[], &["zlibb"], &[]));
        let mut tree = Tree::scan(t).unwrap();
        let errors = tree.check();
        assert_eq!(errors.len(), 1, "{errors:?}");
        match &errors[0] {
            PlanError::UnknownDependency {
                port,
                portfile,
                line,
                column,
                kind,
                dependency,
                suggestion,
            } => {
                assert_eq!(port, "app");
                assert_eq!(portfile, &t.join("app/Portfile.toml"));
                let text = std::fs::read_to_string(portfile).unwrap();
                assert_eq!(text.lines().nth(line - 1), Some("lib = [\"zlibb\"]"));
                assert_eq!(*column, 8);
                assert_eq!(*kind, DepKind::Lib);
                assert_eq!(dependency, "zlibb");
                assert_eq!(suggestion.as_deref(), Some("zlib"));
            }
            other => panic!("{other:?}"),
        }
        // Adding the port resolves it.
        write_port(t, "zlibb", "");
        assert!(Tree::scan(t).unwrap().check().is_empty());
    }

    #[test]
    fn a_cycle_is_reported_once_from_its_smallest_port() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        write_port(t, "c", &deps(&["a"], &[], &[]));
        write_port(t, "a", &deps(&[], &["b"], &[]));
        write_port(t, "b", &deps(&[], &[], &["c"]));
        write_port(t, "d", &deps(&["a"], &[], &[]));
        let errors = Tree::scan(t).unwrap().check();
        assert_eq!(errors.len(), 1, "{errors:?}");
        let PlanError::Cycle {
            cycle,
            portfile,
            line,
            ..
        } = &errors[0]
        else {
            panic!("{errors:?}")
        };
        assert_eq!(cycle, &["a", "b", "c", "a"]);
        assert_eq!(portfile, &t.join("a/Portfile.toml"));
        let text = std::fs::read_to_string(portfile).unwrap();
        assert_eq!(text.lines().nth(line - 1), Some("lib = [\"b\"]"));
        assert!(
            errors[0]
                .to_string()
                .ends_with("dependency cycle: a -> b -> c -> a")
        );
    }

    #[test]
    fn a_port_depending_on_itself_is_a_cycle() {
        let tmp = tempfile::tempdir().unwrap();
        write_port(tmp.path(), "a", &deps(&["a"], &[], &[]));
        let errors = Tree::scan(tmp.path()).unwrap().check();
        assert!(
            matches!(&errors[..], [PlanError::Cycle { cycle, .. }] if cycle == &["a", "a"]),
            "{errors:?}"
        );
    }

    #[test]
    fn scanning_keeps_broken_ports_known_and_reports_names() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        write_port(t, "app", &deps(&["broken"], &[], &[]));
        std::fs::create_dir(t.join("broken")).unwrap();
        std::fs::write(t.join("broken/Portfile.toml"), "[port\n").unwrap();
        write_port(&t.join("cat"), "app", "");
        std::fs::create_dir(t.join("other")).unwrap();
        std::fs::write(
            t.join("other/Portfile.toml"),
            crate::test_support::portfile("renamed", ""),
        )
        .unwrap();
        let mut tree = Tree::scan(t).unwrap();
        // `broken` exists (its own error is the schema's): not unknown.
        assert!(tree.check().is_empty(), "{:?}", tree.check());
        let kinds: Vec<&str> = tree
            .problems()
            .iter()
            .map(|p| match p {
                PlanError::Manifest { .. } => "manifest",
                PlanError::DuplicatePort { .. } => "duplicate",
                PlanError::NameMismatch { .. } => "mismatch",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["manifest", "duplicate", "mismatch"]);
    }

    #[test]
    fn a_tree_can_be_shared_with_threads() {
        fn shared<T: Send + Sync>(_: &T) {}
        shared(&Tree::signed("x", |_: &str, _: &Path| Ok(())));
    }

    #[test]
    fn a_signed_tree_verifies_only_what_is_reached_before_parsing() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        write_port(t, "a", &deps(&["b"], &[], &[]));
        write_port(t, "b", "");
        write_port(t, "unrelated", "");
        // Not a Portfile at all: it must be refused before anyone parses it.
        std::fs::create_dir(t.join("evil")).unwrap();
        std::fs::write(t.join("evil/Portfile.toml"), "not toml [").unwrap();
        let mut seen = Vec::new();
        {
            let mut tree = Tree::signed(t, |name: &str, _dir: &Path| {
                seen.push(name.to_owned());
                if name == "evil" {
                    Err("digest mismatch".into())
                } else {
                    Ok(())
                }
            });
            let plan = crate::plan(&mut tree, &["a"]).unwrap();
            assert_eq!(plan.order(), ["b", "a"]);
            match tree.port("evil").unwrap_err() {
                PlanError::Unverified { port, source, .. } => {
                    assert_eq!(port, "evil");
                    assert_eq!(source.to_string(), "digest mismatch");
                }
                other => panic!("{other:?}"),
            }
            // Cached: not verified twice.
            assert!(tree.port("evil").is_err());
        }
        assert_eq!(seen, ["a", "b", "evil"]);
    }

    #[test]
    fn a_lazy_lookup_refuses_a_port_in_a_directory_of_another_name() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        std::fs::create_dir(t.join("zlib")).unwrap();
        std::fs::write(
            t.join("zlib/Portfile.toml"),
            crate::test_support::portfile("evil", ""),
        )
        .unwrap();
        let mut tree = Tree::local(t);
        assert!(matches!(
            tree.port("zlib").unwrap_err(),
            PlanError::NameMismatch { name, directory, .. } if name == "evil" && directory == "zlib"
        ));
        assert!(matches!(
            tree.port("../x").unwrap_err(),
            PlanError::BadName { .. }
        ));
        // A link to a port directory is not a port.
        write_port(&t.join("elsewhere"), "linked", "");
        std::os::unix::fs::symlink(t.join("elsewhere/linked"), t.join("linked")).unwrap();
        assert!(matches!(
            tree.port("linked").unwrap_err(),
            PlanError::NotFound { .. }
        ));
    }

    #[test]
    fn rdeps_and_search_cover_the_whole_tree() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        write_port(t, "zlib", "");
        write_port(t, "libpng", &deps(&[], &["zlib"], &[]));
        write_port(t, "tool", &deps(&["zlib"], &["zlib"], &[]));
        write_port(t, "other", "");
        let mut tree = Tree::local(t);
        assert!(tree.load_all().unwrap().is_empty());
        assert_eq!(
            tree.rdeps("zlib"),
            [
                Rdep {
                    name: "libpng".into(),
                    kinds: vec![DepKind::Lib]
                },
                Rdep {
                    name: "tool".into(),
                    kinds: vec![DepKind::Build, DepKind::Lib]
                },
            ]
        );
        let names = |found: Vec<Arc<Port>>| -> Vec<String> {
            found.iter().map(|p| p.name.clone()).collect()
        };
        // Name, case-insensitively...
        assert_eq!(names(tree.search("PNG")), ["libpng"]);
        // ...and description (every test port's is "The NAME port").
        assert_eq!(names(tree.search("the o")), ["other"]);
        assert!(tree.search("nothing-like-it").is_empty());
    }
}
