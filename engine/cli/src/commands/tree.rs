//! `wport deps NAME`, `wport rdeps NAME`, `wport search TERM`: questions
//! about the ports tree, answered by `wport-plan`.
//!
//! Each reads the synced, signed tree by default (`<trust_dir>/targets/ports`,
//! every port it reads verified against the signed targets before its
//! Portfile is parsed) or a local tree given with `--unsigned DIR`, and
//! prints text or, with `--json`, one JSON document on stdout.
//!
//! `deps` reads the port asked about (and with `--tree`, what it reaches);
//! `rdeps` and `search` read every port of the tree.
//!
//! Exit codes: 0 an answer (for `search`, at least one port matches); 1 the
//! port is not in the tree, or `search` matched nothing; 2 a Portfile is
//! invalid or the dependencies do not resolve (unknown name, cycle, grant
//! of the wrong kind); 3 a port of the synced tree does not match the signed
//! targets (`rdeps` and `search` print what they found, then fail).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use serde_json::json;
use wport::exit;
use wport_plan::{DepKind, PlanError, Port, Tree};

/// Where the tree comes from, and the output format.
#[derive(clap::Args)]
pub struct TreeArgs {
    /// Read this local ports tree (`DIR/<name>/Portfile.toml`) instead of
    /// the synced one; its files are not verified.
    #[arg(long, value_name = "DIR")]
    unsigned: Option<PathBuf>,
    /// Trust directory holding the synced ports tree (default: the one
    /// `wport sync` writes).
    #[arg(long, conflicts_with = "unsigned")]
    trust_dir: Option<PathBuf>,
    /// Print one JSON document on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
#[command(
    after_help = "Exit codes: 0 listed; 1 no such port; 2 an invalid Portfile or \
dependencies that do not resolve (with --tree); 3 a port does not match the signed tree"
)]
pub struct DepsArgs {
    /// The port.
    name: String,
    /// Every dependency, transitively, as a tree (and, with --json, the
    /// build order).
    #[arg(long)]
    tree: bool,
    #[command(flatten)]
    source: TreeArgs,
}

#[derive(clap::Args)]
#[command(
    after_help = "Exit codes: 0 listed (possibly none); 1 no such port; 3 a port of the \
synced tree does not match the signed tree"
)]
pub struct RdepsArgs {
    /// The port whose dependents to list.
    name: String,
    #[command(flatten)]
    source: TreeArgs,
}

#[derive(clap::Args)]
#[command(
    after_help = "Exit codes: 0 ports found; 1 none; 3 a port of the synced tree does \
not match the signed tree"
)]
pub struct SearchArgs {
    /// Text to look for in port names and descriptions (case-insensitive).
    term: String,
    #[command(flatten)]
    source: TreeArgs,
}

/// The tree the arguments name. `whole`: the command reads every port (a
/// local tree is then scanned, categories included).
fn open(args: &TreeArgs, whole: bool) -> anyhow::Result<Tree<'static>> {
    if let Some(dir) = &args.unsigned {
        anyhow::ensure!(
            dir.is_dir(),
            "{} is not a directory: --unsigned takes a local ports tree (DIR/<name>/Portfile.toml)",
            dir.display()
        );
        wport::note!(
            "wport: reading the UNSIGNED local ports tree {}",
            dir.display()
        );
        return Ok(if whole {
            Tree::scan(dir).with_context(|| format!("reading the ports tree {}", dir.display()))?
        } else {
            Tree::local(dir)
        });
    }
    let trust_dir = args.trust_dir.clone().unwrap_or_else(super::key::trust_dir);
    let ports = trust_dir.join("targets").join("ports");
    anyhow::ensure!(
        ports.is_dir(),
        "no synced ports tree at {}: run `wport sync`, or read a local tree with --unsigned DIR",
        ports.display()
    );
    let mut tree = wport::resolve::signed_tree(&trust_dir);
    if whole {
        // Failures are kept in `problems()` and reported by `finish`.
        tree.load_all()
            .with_context(|| format!("reading the ports tree {}", ports.display()))?;
    }
    Ok(tree)
}

/// The exit code of one refusal.
fn code_of(err: &PlanError) -> i32 {
    match err {
        PlanError::Unverified { .. } => exit::REFUSED,
        PlanError::NotFound { .. } | PlanError::Io { .. } => exit::FAILURE,
        _ => exit::USAGE,
    }
}

/// Prints plan errors as the CLI does (`error: ...`, `  help: ...`, the
/// verification failure's causes) and returns the exit code of the worst.
pub fn report_plan_errors(errors: &[PlanError]) -> i32 {
    for err in errors {
        match err {
            // Rendered like rustc already, `error: ...` included.
            PlanError::Manifest { .. } => eprintln!("{err}"),
            _ => eprintln!("error: {err}"),
        }
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            eprintln!("  caused by: {cause}");
            source = cause.source();
        }
        if let Some(help) = err.help() {
            eprintln!("  help: {help}");
        }
    }
    if errors
        .iter()
        .any(|e| matches!(e, PlanError::Unverified { .. }))
    {
        exit::REFUSED
    } else {
        errors.iter().map(code_of).max().unwrap_or(exit::FAILURE)
    }
}

/// After a whole-tree answer: ports that could not be read are warned
/// about; one that failed verification fails the command.
fn finish(tree: &Tree<'_>) -> i32 {
    let mut code = exit::SUCCESS;
    for problem in tree.problems() {
        match problem {
            PlanError::Unverified { .. } => {
                eprintln!("error: {problem}; it was left out");
                code = exit::REFUSED;
            }
            _ => eprintln!("warning: left out: {problem}"),
        }
    }
    code
}

fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("JSON serializes")
    );
}

fn deps_json(port: &Port) -> serde_json::Value {
    json!({
        "build": port.deps(DepKind::Build),
        "lib": port.deps(DepKind::Lib),
        "run": port.deps(DepKind::Run),
    })
}

fn version(port: &Port) -> String {
    let info = &port.portfile.port;
    if info.revision == 0 {
        info.version.clone()
    } else {
        format!("{}_{}", info.version, info.revision)
    }
}

pub fn deps(args: DepsArgs) -> i32 {
    let mut tree = match open(&args.source, false) {
        Ok(tree) => tree,
        Err(e) => {
            super::report(&e);
            return exit::FAILURE;
        }
    };
    let port = match tree.port(&args.name) {
        Ok(port) => port,
        Err(err) => return report_plan_errors(&[err]),
    };
    if !args.tree {
        if args.source.json {
            print_json(&json!({
                "port": port.name,
                "version": port.portfile.port.version,
                "revision": port.portfile.port.revision,
                "dependencies": deps_json(&port),
            }));
        } else {
            println!("{} {}", port.name, version(&port));
            let mut any = false;
            for kind in DepKind::ALL {
                let list = port.deps(kind);
                if !list.is_empty() {
                    any = true;
                    println!("  {:<6} {}", format!("{kind}:"), list.join(" "));
                }
            }
            if !any {
                println!("  no dependencies");
            }
        }
        return exit::SUCCESS;
    }
    let plan = match wport_plan::plan(&mut tree, &[args.name.as_str()]) {
        Ok(plan) => plan,
        Err(errors) => return report_plan_errors(&errors),
    };
    if args.source.json {
        let mut doc = plan.to_json();
        doc["port"] = json!(port.name);
        print_json(&doc);
    } else {
        let mut out = format!("{} {}\n", port.name, version(&port));
        let mut expanded = std::collections::BTreeSet::new();
        print_tree(&plan, &port, 1, &mut expanded, &mut out);
        print!("{out}");
    }
    exit::SUCCESS
}

/// The dependencies of `port`, indented by depth; a port met again is
/// printed with `(see above)` instead of its dependencies, so a DAG prints
/// in size linear in its edges.
fn print_tree(
    plan: &wport_plan::Plan,
    port: &Arc<Port>,
    depth: usize,
    expanded: &mut std::collections::BTreeSet<String>,
    out: &mut String,
) {
    expanded.insert(port.name.clone());
    let mut children: Vec<(&str, Vec<DepKind>)> = Vec::new();
    for (kind, dep) in port.all_deps() {
        match children.iter_mut().find(|(name, _)| *name == dep) {
            Some((_, kinds)) => kinds.push(kind),
            None => children.push((dep, vec![kind])),
        }
    }
    for (name, kinds) in children {
        let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        let indent = "  ".repeat(depth);
        let Some(child) = plan.port(name) else {
            continue;
        };
        if expanded.contains(name) {
            out.push_str(&format!(
                "{indent}{name} ({}) (see above)\n",
                kinds.join(", ")
            ));
        } else {
            out.push_str(&format!("{indent}{name} ({})\n", kinds.join(", ")));
            print_tree(plan, child, depth + 1, expanded, out);
        }
    }
}

pub fn rdeps(args: RdepsArgs) -> i32 {
    let mut tree = match open(&args.source, true) {
        Ok(tree) => tree,
        Err(e) => {
            super::report(&e);
            return exit::FAILURE;
        }
    };
    if let Err(err) = tree.port(&args.name) {
        let code = report_plan_errors(&[err]);
        return code.max(finish(&tree));
    }
    let found = tree.rdeps(&args.name);
    if args.source.json {
        print_json(&json!({ "port": args.name, "rdeps": found }));
    } else if found.is_empty() {
        eprintln!("wport: no port of the tree depends on {}", args.name);
    } else {
        for rdep in &found {
            let kinds: Vec<&str> = rdep.kinds.iter().map(|k| k.as_str()).collect();
            println!("{} ({})", rdep.name, kinds.join(", "));
        }
    }
    finish(&tree)
}

pub fn search(args: SearchArgs) -> i32 {
    let tree = match open(&args.source, true) {
        Ok(tree) => tree,
        Err(e) => {
            super::report(&e);
            return exit::FAILURE;
        }
    };
    let found = tree.search(&args.term);
    if args.source.json {
        let ports: Vec<serde_json::Value> = found
            .iter()
            .map(|p| {
                json!({
                    "name": p.name,
                    "version": p.portfile.port.version,
                    "revision": p.portfile.port.revision,
                    "description": p.portfile.port.description,
                    "homepage": p.portfile.port.homepage,
                })
            })
            .collect();
        print_json(&json!({ "term": args.term, "ports": ports }));
    } else {
        let width = found.iter().map(|p| p.name.len()).max().unwrap_or(0);
        for p in &found {
            println!(
                "{:<width$}  {:<10}  {}",
                p.name,
                version(p),
                p.portfile.port.description
            );
        }
        if found.is_empty() {
            eprintln!("wport: no port matches `{}`", args.term);
        }
    }
    let code = finish(&tree);
    if code == exit::SUCCESS && found.is_empty() {
        exit::FAILURE
    } else {
        code
    }
}
