//! The architecture invariants (docs/ARCHITECTURE.md, "Architecture
//! invariants") that the dependency graph and the source show, checked
//! from `Cargo.lock`, the workspace's manifests and `clippy.toml`:
//!
//! - the crates that must never compile or run a component (manifest, lint,
//!   plan, trust, fetch, launch) do not depend on wasmtime, directly or
//!   through any dependency;
//! - only `wport-fetch` reaches an HTTP client (the one exception, the
//!   conformance client `wport-tuf-client`, is held to its own file);
//! - only `engine/exec` spawns processes: clippy refuses
//!   `std::process::Command::new` everywhere (`clippy.toml`), and outside
//!   tests, benches and build scripts an exemption stands only where this
//!   file names it and says why.
//!
//! The lock file does not tell dev-dependencies from the others, so the
//! graph rules are conservative: a test-only dependency counts too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn table(path: &Path) -> toml::Table {
    read(path)
        .parse()
        .unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// `Cargo.lock` as a graph: package name -> the names of every dependency
/// of every package of that name; and the names of the workspace's own
/// packages (those without a registry source).
struct Lock {
    deps: BTreeMap<String, BTreeSet<String>>,
    local: BTreeSet<String>,
}

impl Lock {
    fn load() -> Lock {
        let lock = table(&root().join("Cargo.lock"));
        let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut local = BTreeSet::new();
        for package in lock["package"].as_array().unwrap() {
            let name = package["name"].as_str().unwrap().to_owned();
            if package.get("source").is_none() {
                local.insert(name.clone());
            }
            let list = deps.entry(name).or_default();
            for dep in package
                .get("dependencies")
                .and_then(|d| d.as_array())
                .into_iter()
                .flatten()
            {
                // "name" or, when several versions are locked, "name version".
                let dep = dep.as_str().unwrap();
                list.insert(dep.split(' ').next().unwrap().to_owned());
            }
        }
        assert!(
            local.contains("wport-manifest") && local.contains("wport"),
            "the workspace's packages were not found in Cargo.lock: {local:?}"
        );
        Lock { deps, local }
    }

    /// Everything `from` reaches, each with the path it was first reached
    /// by (`from -> a -> b`). `skip(a, b)` drops the edge from `a` to `b`.
    fn closure(&self, from: &str, skip: impl Fn(&str, &str) -> bool) -> BTreeMap<String, String> {
        let mut reached = BTreeMap::from([(from.to_owned(), from.to_owned())]);
        let mut todo = vec![from.to_owned()];
        while let Some(name) = todo.pop() {
            let path = reached[&name].clone();
            for dep in self.deps.get(&name).into_iter().flatten() {
                if skip(&name, dep) || reached.contains_key(dep) {
                    continue;
                }
                reached.insert(dep.clone(), format!("{path} -> {dep}"));
                todo.push(dep.clone());
            }
        }
        reached
    }
}

fn is_wasmtime(name: &str) -> bool {
    name.starts_with("wasmtime") || name.starts_with("cranelift") || name == "wport-sandbox"
}

/// **Architecture Invariant:** manifest, lint and the trust code never
/// depend on wasmtime; plan is data only, the launcher has none, and
/// fetching never compiles anything either.
#[test]
fn crates_that_never_run_a_component_do_not_depend_on_wasmtime() {
    let lock = Lock::load();
    let mut bad = Vec::new();
    for krate in [
        "wport-manifest",
        "wport-lint",
        "wport-plan",
        "wport-trust",
        "wport-fetch",
        "wport-launch",
    ] {
        assert!(lock.local.contains(krate), "{krate} is not in Cargo.lock");
        for (dep, path) in lock.closure(krate, |_, _| false) {
            if is_wasmtime(&dep) {
                bad.push(format!("{krate} depends on {dep}: {path}"));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "docs/ARCHITECTURE.md: these crates never depend on wasmtime, but\n{}",
        bad.join("\n")
    );
    // The closures are real: lint reads components with wasmparser, and the
    // wport binary does run them.
    assert!(
        lock.closure("wport-lint", |_, _| false)
            .contains_key("wasmparser")
    );
    assert!(lock.closure("wport", |_, _| false).contains_key("wasmtime"));
}

/// HTTP client crates: what "talks to the network" means in the graph.
const HTTP_CLIENTS: &[&str] = &[
    "ureq",
    "reqwest",
    "hyper",
    "curl",
    "isahc",
    "attohttpc",
    "minreq",
    "surf",
];

/// **Architecture Invariant:** only `engine/fetch` talks to the network —
/// with one exception, `wport-tuf-client` (a binary of the `wport`
/// package), which fetches TUF metadata over plain http with ureq.
#[test]
fn only_fetch_reaches_an_http_client() {
    let lock = Lock::load();
    let mut bad = Vec::new();
    for krate in lock.local.iter().filter(|k| *k != "wport-fetch") {
        // Through wport-fetch is the sanctioned way; `wport -> ureq` is the
        // exception, held to its file below.
        let skip = |from: &str, to: &str| to == "wport-fetch" || (from == "wport" && to == "ureq");
        for (dep, path) in lock.closure(krate, skip) {
            if HTTP_CLIENTS.contains(&dep.as_str()) {
                bad.push(format!(
                    "{krate} reaches {dep} other than through wport-fetch: {path}"
                ));
            }
        }
    }
    let cli = root().join("engine/cli/src");
    let exception = cli.join("bin/tuf_client.rs");
    for file in rust_files(&cli) {
        if file != exception && read(&file).contains("ureq::") {
            bad.push(format!(
                "wport uses ureq in {} (only {} may)",
                file.display(),
                exception.display()
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "docs/ARCHITECTURE.md: only engine/fetch talks to the network, but\n{}",
        bad.join("\n")
    );
    assert!(
        lock.closure("wport-fetch", |_, _| false)
            .contains_key("ureq"),
        "wport-fetch no longer reaches ureq: update HTTP_CLIENTS"
    );
}

/// The files outside `engine/exec`, tests, benches and build scripts that
/// may start a process, and why. A new entry is an architecture decision:
/// say it in docs/ARCHITECTURE.md first.
const SPAWN_EXEMPTIONS: &[(&str, &str)] = &[
    (
        "engine/cli/src/commands/package.rs",
        "starts child `wport build`s of this same binary (`ChildBuild`, also for install/upgrade and build --check)",
    ),
    (
        "engine/cli/src/commands/run.rs",
        "`wport run` replaces itself (exec, no fork) with the package's launcher",
    ),
    (
        "engine/guest-build/src/lib.rs",
        "build-script code: runs cargo, rustc and rustup to compile guests",
    ),
    (
        "engine/launch/src/bin/probe.rs",
        "the probe program the launcher's tests run confined",
    ),
    (
        "guest-sdk/src/patch.rs",
        "its test module compares the applier with diff(1) and patch(1)",
    ),
    (
        "bench/src/main.rs",
        "the benchmark's native baselines (/bin/true, cp -r)",
    ),
];

/// Every `.rs` file below `dir`, in a stable order.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// **Architecture Invariant:** only `engine/exec` spawns processes.
#[test]
fn only_exec_spawns_processes() {
    let root = root();
    // clippy refuses `Command::new` everywhere...
    let clippy = table(&root.join("clippy.toml"));
    let banned: Vec<&str> = clippy
        .get("disallowed-methods")
        .and_then(|m| m.as_array())
        .into_iter()
        .flatten()
        .filter_map(|m| m.get("path").and_then(|p| p.as_str()))
        .collect();
    assert!(
        banned.contains(&"std::process::Command::new"),
        "clippy.toml no longer bans std::process::Command::new: {banned:?}"
    );
    // ...no manifest turns the lint off for a whole crate...
    let workspace = table(&root.join("Cargo.toml"));
    let members: Vec<&str> = workspace["workspace"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    let mut bad = Vec::new();
    for manifest in std::iter::once(String::new())
        .chain(members.iter().map(|m| format!("{m}/")))
        .map(|m| root.join(format!("{m}Cargo.toml")))
    {
        let text = read(&manifest);
        if text.contains("disallowed_methods") || text.contains("disallowed-methods") {
            bad.push(format!(
                "{} configures disallowed-methods",
                manifest.display()
            ));
        }
    }
    // ...and in the code users run, an exemption stands only where
    // SPAWN_EXEMPTIONS says why.
    for member in members.iter().filter(|m| **m != "engine/exec") {
        let name = table(&root.join(member).join("Cargo.toml"))["package"]["name"]
            .as_str()
            .unwrap()
            .to_owned();
        for file in rust_files(&root.join(member).join("src")) {
            let rel = file
                .strip_prefix(&root)
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            if read(&file).contains("clippy::disallowed_methods")
                && !SPAWN_EXEMPTIONS.iter().any(|(path, _)| *path == rel)
            {
                bad.push(format!(
                    "{name} exempts {rel} from the ban on std::process::Command::new"
                ));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "docs/ARCHITECTURE.md: only engine/exec spawns processes, but\n{}\n\
         (run the tool through engine/exec, or name the file in SPAWN_EXEMPTIONS with why)",
        bad.join("\n")
    );
    // Each exemption is still needed: a stale one would hide a new spawn.
    for (path, why) in SPAWN_EXEMPTIONS {
        assert!(
            read(&root.join(path)).contains("clippy::disallowed_methods"),
            "{path} is in SPAWN_EXEMPTIONS ({why}) but no longer exempts itself: remove it"
        );
    }
}
