//! [`plan`]: the dependency closure of some roots, checked and in build
//! order, as [`Plan`].

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use wport_manifest::Phase;

use crate::error::PlanError;
use crate::graph;
use crate::port::{DepKind, Port};
use crate::tree::{Tree, sort, unknown};

/// The roots and everything they depend on (every kind, transitively),
/// each loaded once, with no unknown name, no cycle and no grant of the
/// wrong kind.
#[derive(Debug, Clone)]
pub struct Plan {
    roots: Vec<String>,
    order: Vec<String>,
    nodes: BTreeMap<String, Node>,
}

/// One port of a [`Plan`].
#[derive(Debug, Clone)]
pub struct Node {
    /// The loaded port (Portfile, directory, digest).
    pub port: Arc<Port>,
    /// The ports of the plan that declare this one, by name.
    pub dependents: Vec<String>,
}

/// Plans `roots` in `tree`: loads (for a signed tree, verifies, then
/// parses) each root and everything it reaches through `[dependencies]`
/// (build, lib and run), and checks that closure.
///
/// Every error found is returned, sorted by Portfile and line:
/// [`PlanError::NotFound`] for a root that is not a port of the tree,
/// [`PlanError::UnknownDependency`] for a dependency that is not,
/// [`PlanError::Cycle`], [`PlanError::WrongKind`], and the failures of the
/// ports reached ([`PlanError::Unverified`], [`PlanError::Manifest`],
/// ...). Ports outside the closure are never read.
///
/// ```no_run
/// # fn main() -> Result<(), Vec<wport_plan::PlanError>> {
/// let mut tree = wport_plan::Tree::local("ports");
/// let plan = wport_plan::plan(&mut tree, &["lua"])?;
/// for name in plan.order() {
///     // ncurses, readline, lua: each after what it depends on.
///     println!("{name}: links {:?}", plan.lib_closure(name));
/// }
/// # Ok(()) }
/// ```
pub fn plan<S: AsRef<str>>(tree: &mut Tree<'_>, roots: &[S]) -> Result<Plan, Vec<PlanError>> {
    let mut errors = Vec::new();
    let mut loaded: BTreeMap<String, Arc<Port>> = BTreeMap::new();
    let mut queue: VecDeque<Arc<Port>> = VecDeque::new();
    let mut failed: BTreeSet<String> = BTreeSet::new();
    let mut root_names = Vec::new();
    for root in roots {
        let root = root.as_ref();
        if root_names.iter().any(|r| r == root) {
            continue;
        }
        root_names.push(root.to_owned());
        match tree.port(root) {
            Ok(port) => {
                if !loaded.contains_key(&port.name) {
                    loaded.insert(port.name.clone(), port.clone());
                    queue.push_back(port);
                }
            }
            Err(err) => errors.push(err),
        }
    }
    while let Some(port) = queue.pop_front() {
        errors.extend(port.check_grants());
        for (kind, dep) in port.all_deps() {
            if loaded.contains_key(dep) {
                continue;
            }
            match tree.port(dep) {
                Ok(found) => {
                    loaded.insert(found.name.clone(), found.clone());
                    queue.push_back(found);
                }
                Err(PlanError::NotFound { suggestion, .. }) => {
                    errors.push(unknown(&port, kind, dep, suggestion));
                }
                // A broken or refused dependency: its own error, once.
                Err(err) => {
                    if failed.insert(dep.to_owned()) {
                        errors.push(err);
                    }
                }
            }
        }
    }
    errors.extend(graph::cycles(&loaded));
    if !errors.is_empty() {
        sort(&mut errors);
        return Err(errors);
    }
    let order = graph::order(&loaded).expect("no cycle: checked above");
    let mut dependents: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for port in loaded.values() {
        for (_, dep) in port.all_deps() {
            dependents.entry(dep).or_default().insert(port.name.clone());
        }
    }
    let nodes = loaded
        .iter()
        .map(|(name, port)| {
            let node = Node {
                port: port.clone(),
                dependents: dependents
                    .get(name.as_str())
                    .map(|d| d.iter().cloned().collect())
                    .unwrap_or_default(),
            };
            (name.clone(), node)
        })
        .collect();
    Ok(Plan {
        roots: root_names,
        order,
        nodes,
    })
}

impl Plan {
    /// The roots asked for, in the order given (without repeats).
    pub fn roots(&self) -> &[String] {
        &self.roots
    }

    /// Every port of the plan, each after all it depends on; ports whose
    /// dependencies are all placed come by name. Build in this order (or
    /// in parallel, starting a port once its dependencies are done).
    pub fn order(&self) -> &[String] {
        &self.order
    }

    /// Number of ports in the plan.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether the plan holds no port (no roots were given).
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The port `name`, when it is in the plan.
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.get(name)
    }

    /// The loaded port `name`, when it is in the plan.
    pub fn port(&self, name: &str) -> Option<&Arc<Port>> {
        self.nodes.get(name).map(|n| &n.port)
    }

    /// The nodes in [`Plan::order`].
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.order.iter().map(|name| &self.nodes[name])
    }

    /// `name`'s direct dependencies of one kind (empty when `name` is not
    /// in the plan).
    pub fn deps(&self, name: &str, kind: DepKind) -> &[String] {
        self.port(name).map_or(&[], |p| p.deps(kind))
    }

    /// The ports of the plan that declare `name` (any kind), by name.
    pub fn dependents(&self, name: &str) -> &[String] {
        self.nodes.get(name).map_or(&[], |n| &n.dependents)
    }

    /// `name`'s lib dependencies, transitively (a library's own libraries
    /// are needed to link and run against it), in plan order, without
    /// `name` itself.
    pub fn lib_closure(&self, name: &str) -> Vec<String> {
        self.closure(self.deps(name, DepKind::Lib).iter().map(String::as_str))
    }

    /// What phase `phase` of `name` may see: the dependencies
    /// `[capabilities.<phase>] dependencies` grants, and the lib closure of
    /// each (a granted tool needs its own libraries to run), in plan order.
    pub fn phase_view(&self, name: &str, phase: Phase) -> Vec<String> {
        let Some(port) = self.port(name) else {
            return Vec::new();
        };
        let granted = &port.portfile.capabilities.phase(phase).dependencies;
        self.closure(granted.iter().map(String::as_str))
    }

    /// The plan as JSON, for `--json` outputs:
    ///
    /// ```json
    /// {"roots": ["lua"], "order": ["ncurses", "readline", "lua"],
    ///  "ports": {"lua": {"version": "5.4.7", "revision": 0,
    ///    "portfile": "ports/lua/Portfile.toml", "sha256": "...",
    ///    "dependencies": {"build": [], "lib": ["readline"], "run": []},
    ///    "dependents": [], "lib_closure": ["ncurses", "readline"]}, ...}}
    /// ```
    pub fn to_json(&self) -> serde_json::Value {
        let ports: serde_json::Map<String, serde_json::Value> = self
            .nodes()
            .map(|node| {
                let p = &node.port;
                let deps: serde_json::Map<String, serde_json::Value> = DepKind::ALL
                    .into_iter()
                    .map(|kind| (kind.as_str().to_owned(), serde_json::json!(p.deps(kind))))
                    .collect();
                let value = serde_json::json!({
                    "version": p.portfile.port.version,
                    "revision": p.portfile.port.revision,
                    "portfile": p.portfile_path.display().to_string(),
                    "sha256": p.sha256.to_string(),
                    "dependencies": deps,
                    "dependents": node.dependents,
                    "lib_closure": self.lib_closure(&p.name),
                });
                (p.name.clone(), value)
            })
            .collect();
        serde_json::json!({
            "roots": self.roots,
            "order": self.order,
            "ports": ports,
        })
    }

    /// `start` and their lib dependencies, transitively, in plan order.
    fn closure<'a>(&'a self, start: impl Iterator<Item = &'a str>) -> Vec<String> {
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        let mut stack: Vec<&str> = start.collect();
        while let Some(name) = stack.pop() {
            if seen.insert(name) {
                stack.extend(self.deps(name, DepKind::Lib).iter().map(String::as_str));
            }
        }
        self.order
            .iter()
            .filter(|name| seen.contains(name.as_str()))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{deps, write_port};

    /// ncurses <- readline <- lua, zlib <- libpng, pkgconf a build tool.
    fn chain(t: &std::path::Path) {
        write_port(t, "ncurses", &deps(&["pkgconf"], &[], &[]));
        write_port(t, "readline", &deps(&[], &["ncurses"], &[]));
        write_port(
            t,
            "lua",
            &(deps(&["pkgconf"], &["readline"], &[])
                + "\n[capabilities.build]\nprograms = [\"make\"]\ndependencies = [\"readline\", \"pkgconf\"]\n"),
        );
        write_port(t, "pkgconf", "");
        write_port(t, "zlib", "");
        write_port(t, "libpng", &deps(&[], &["zlib"], &[]));
        write_port(t, "unrelated", "");
    }

    #[test]
    fn the_plan_is_the_closure_in_dependency_order() {
        let tmp = tempfile::tempdir().unwrap();
        chain(tmp.path());
        let mut tree = Tree::local(tmp.path());
        let plan = plan(&mut tree, &["lua", "libpng"]).unwrap();
        assert_eq!(
            plan.order(),
            ["pkgconf", "ncurses", "readline", "lua", "zlib", "libpng"]
        );
        assert_eq!(plan.roots(), ["lua", "libpng"]);
        assert_eq!(plan.deps("lua", DepKind::Lib), ["readline"]);
        assert_eq!(plan.deps("lua", DepKind::Build), ["pkgconf"]);
        assert_eq!(plan.dependents("pkgconf"), ["lua", "ncurses"]);
        assert_eq!(plan.dependents("lua"), [] as [String; 0]);
        assert_eq!(plan.lib_closure("lua"), ["ncurses", "readline"]);
        assert_eq!(plan.lib_closure("ncurses"), [] as [String; 0]);
        assert_eq!(
            plan.phase_view("lua", Phase::Build),
            ["pkgconf", "ncurses", "readline"]
        );
        assert!(plan.phase_view("lua", Phase::Patch).is_empty());
        let json = plan.to_json();
        assert_eq!(json["order"][3], "lua");
        assert_eq!(
            json["ports"]["readline"]["dependents"],
            serde_json::json!(["lua"])
        );
        assert_eq!(
            json["ports"]["lua"]["dependencies"]["build"],
            serde_json::json!(["pkgconf"])
        );
        assert_eq!(
            json["ports"]["lua"]["lib_closure"],
            serde_json::json!(["ncurses", "readline"])
        );
        // Lazy: nothing outside the closure was read.
        assert!(tree.get("unrelated").is_none());
        assert_eq!(tree.ports().count(), 6);
    }

    #[test]
    fn the_order_breaks_ties_by_name() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        write_port(t, "top", &deps(&[], &["c", "a", "b"], &[]));
        for n in ["c", "a", "b"] {
            write_port(t, n, "");
        }
        let plan = plan(&mut Tree::local(t), &["top"]).unwrap();
        assert_eq!(plan.order(), ["a", "b", "c", "top"]);
    }

    #[test]
    fn every_error_of_the_closure_is_returned() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        write_port(t, "a", &deps(&[], &["b", "nosuch"], &[]));
        write_port(t, "b", &deps(&[], &[], &["a"]));
        write_port(
            t,
            "c",
            &(deps(&[], &[], &["b"]) + "\n[capabilities.build]\ndependencies = [\"b\"]\n"),
        );
        let errors = plan(&mut Tree::local(t), &["c", "missing"]).unwrap_err();
        let shown: Vec<String> = errors
            .iter()
            .map(|e| match e {
                PlanError::UnknownDependency { dependency, .. } => format!("unknown {dependency}"),
                PlanError::Cycle { cycle, .. } => format!("cycle {}", cycle.join(" -> ")),
                PlanError::WrongKind {
                    phase, dependency, ..
                } => format!("wrong-kind {phase} {dependency}"),
                PlanError::NotFound { name, .. } => format!("not-found {name}"),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            shown,
            [
                "not-found missing",
                "cycle a -> b -> a",
                "unknown nosuch",
                "wrong-kind build b"
            ]
        );
    }
}
