//! `wport lint [PATH...]` and `wport lint --diff OLD NEW`
//!
//! Turns arguments into a [`wport_lint::Linter`] (with the standard
//! components embedded in this binary, so ports using them get the import
//! check too) and prints what it finds. For each tree argument (a directory
//! that is not itself a port) the dependencies between its ports are
//! checked too (`wport_lint::lint_dependencies`). The rules are documented in
//! docs/LINT.md; exit codes:
//!
//! | code | lint | `--diff` |
//! |-----:|------|----------|
//! | 0 | no errors (warnings alone pass) | no capability gained, or `--allow-escalation` |
//! | 1 | errors found, or warnings with `--deny-warnings` | a capability gained; or a side fails the schema |
//! | 2 | usage: bad arguments, a path that does not exist or holds no port | usage |

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde_json::json;
use wport::exit;
use wport_lint::diff::{self, DiffOptions, Side};
use wport_lint::{Diagnostic, Linter};
use wport_manifest::StandardComponent;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// rustc-style diagnostics with the offending line underlined.
    Human,
    /// One JSON document on stdout.
    Json,
    /// GitHub Actions workflow commands (`::error file=..,line=..::msg`).
    Github,
}

#[derive(clap::Args)]
#[command(
    after_help = "Exit codes: 0 no errors (warnings alone pass); 1 errors found, warnings with \
--deny-warnings, or with --diff a capability gained without --allow-escalation; 2 usage. \
Rules: docs/LINT.md"
)]
pub struct Args {
    /// Port directories, Portfile.toml paths, or trees of ports (every
    /// directory below holding a Portfile.toml). Default: the current
    /// directory.
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Exit 1 on warnings too.
    #[arg(long)]
    deny_warnings: bool,
    /// Compare two versions of a port (directories or Portfile paths), or
    /// two ports trees (a pull request's base and head: every port changed,
    /// added or removed), and list the capabilities the new one gains or
    /// loses; fails on any gain.
    #[arg(long, num_args = 2, value_names = ["OLD", "NEW"], conflicts_with_all = ["paths", "deny_warnings"])]
    diff: Option<Vec<PathBuf>>,
    /// With --diff: report gained capabilities but do not fail on them.
    #[arg(long, requires = "diff")]
    allow_escalation: bool,
}

/// The linter `wport lint` uses: every standard component provided.
pub fn linter() -> Linter {
    StandardComponent::ALL
        .into_iter()
        .fold(Linter::new(), |l, which| {
            l.standard_component(which, wport::embedded::standard_component(which))
        })
        .quarantined_checksums(
            wport_fetch::quarantine::held_sha256s(&wport::distfiles::quarantine_beside(
                &wport::distfiles::store_dir(),
            ))
            .iter()
            .map(ToString::to_string),
        )
}

pub fn run(args: Args) -> i32 {
    if args.allow_escalation && args.diff.is_none() {
        // clap's `requires` is not checked when positional paths are given.
        eprintln!("error: --allow-escalation only applies to --diff OLD NEW");
        return exit::USAGE;
    }
    let linter = linter();
    if let Some(sides) = &args.diff {
        return run_diff(
            &linter,
            &sides[0],
            &sides[1],
            args.format,
            args.allow_escalation,
        );
    }
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };

    // Every path is resolved to Portfiles before anything is linted, so a
    // typo in the last argument is a usage error, not a half-done run.
    let mut portfiles = Vec::new();
    for path in &paths {
        match resolve(path) {
            Ok(found) => portfiles.extend(found),
            Err(message) => {
                eprintln!("error: {message}");
                return exit::USAGE;
            }
        }
    }
    // `wport lint ports ports/hello` lints hello once.
    let mut seen = std::collections::HashSet::new();
    portfiles.retain(|p| seen.insert(p.clone()));
    let per_port = linter.lint_portfiles(&portfiles).into_iter().flatten();
    // Dependency names and cycles are resolved across each tree argument
    // (a single port's Portfile cannot say whether `zlib` exists).
    let mut across = Vec::new();
    let mut trees = std::collections::HashSet::new();
    for path in paths.iter().filter(|p| is_tree(p)) {
        if !trees.insert(path.clone()) {
            continue;
        }
        match wport_lint::lint_dependencies(path) {
            Ok(found) => across.extend(found),
            Err(e) => {
                eprintln!("error: searching {} for ports: {e}", path.display());
                return exit::USAGE;
            }
        }
    }
    let results = wport_lint::order_by_file(portfiles.iter().cloned(), per_port.chain(across));

    let errors = results.iter().filter(|d| d.is_error()).count();
    let warnings = results.len() - errors;
    let mut out = std::io::stdout().lock();
    // A closed pipe (`wport lint | head`) is not worth a panic.
    let _ = match args.format {
        Format::Human => {
            let mut text = String::new();
            for d in &results {
                text.push_str(&d.render());
                text.push('\n');
            }
            text.push_str(&summary(portfiles.len(), errors, warnings));
            text.push('\n');
            out.write_all(text.as_bytes())
        }
        Format::Json => {
            let doc = json!({
                "ports": portfiles.len(),
                "errors": errors,
                "warnings": warnings,
                "diagnostics": results.iter().map(Diagnostic::json).collect::<Vec<_>>(),
            });
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&doc).expect("diagnostics serialize")
            )
        }
        Format::Github => {
            let mut text = String::new();
            for d in &results {
                text.push_str(&d.github());
                text.push('\n');
            }
            wport::note!("{}", summary(portfiles.len(), errors, warnings));
            out.write_all(text.as_bytes())
        }
    };
    if errors > 0 || (args.deny_warnings && warnings > 0) {
        exit::FAILURE
    } else {
        exit::SUCCESS
    }
}

fn summary(ports: usize, errors: usize, warnings: usize) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "wport lint: {} checked, {}, {}",
        plural(ports, "port"),
        plural(errors, "error"),
        plural(warnings, "warning")
    )
}

/// Whether `path` is a tree of ports rather than one port (a directory
/// without a Portfile of its own).
fn is_tree(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_dir())
        && !std::fs::symlink_metadata(path.join("Portfile.toml")).is_ok_and(|m| m.is_file())
}

/// The Portfiles `path` stands for: itself (a file), `path/Portfile.toml`,
/// or every port below it.
fn resolve(path: &Path) -> Result<Vec<PathBuf>, String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let ports = wport_lint::find_ports(path)
        .map_err(|e| format!("searching {} for ports: {e}", path.display()))?;
    if ports.is_empty() {
        return Err(format!(
            "no port under {}: a port is a directory holding a Portfile.toml",
            path.display()
        ));
    }
    Ok(ports
        .into_iter()
        .map(|dir| dir.join("Portfile.toml"))
        .collect())
}

fn run_diff(
    linter: &Linter,
    old: &Path,
    new: &Path,
    format: Format,
    allow_escalation: bool,
) -> i32 {
    for path in [old, new] {
        if !path.exists() {
            eprintln!(
                "error: cannot read {}: no such file or directory",
                path.display()
            );
            return exit::USAGE;
        }
    }
    if is_tree(old) && is_tree(new) {
        return run_tree_diff(linter, old, new, format, allow_escalation);
    }
    let (fails, text) = match diff_pair(linter, old, new, format, allow_escalation) {
        Ok(PairDiff { fails, text, .. }) => (fails, text),
        Err(text) => (true, text),
    };
    // A closed pipe (`wport lint --diff .. | head`) is not worth a panic.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    if fails { exit::FAILURE } else { exit::SUCCESS }
}

/// One port's diff, rendered in `format`.
struct PairDiff {
    fails: bool,
    gains: usize,
    text: String,
    json: serde_json::Value,
}

/// Diffs one port's two versions. `Err`: a side fails the schema, and the
/// text says why as lint would (a broken side has no capabilities to
/// compare).
fn diff_pair(
    linter: &Linter,
    old: &Path,
    new: &Path,
    format: Format,
    allow_escalation: bool,
) -> Result<PairDiff, String> {
    let (a, b) = match (Side::load(linter, old), Side::load(linter, new)) {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => {
            let broken: Vec<Diagnostic> =
                [a.err(), b.err()].into_iter().flatten().flatten().collect();
            return Err(render_broken(&broken, format));
        }
    };
    let options = DiffOptions {
        default_timeout: wport::native::DEFAULT_CALL_TIMEOUT,
    };
    let result = diff::diff(&a, &b, &options);
    let gains = result.gains().count();
    let losses = result
        .entries
        .iter()
        .filter(|e| e.direction == diff::Direction::Loss)
        .count();
    let fails = gains > 0 && !allow_escalation;
    let json = json!({
        "old": a.portfile_path.display().to_string(),
        "new": b.portfile_path.display().to_string(),
        "gains": gains,
        "losses": losses,
        "escalation_allowed": allow_escalation,
        "entries": result.entries,
    });
    let text = match format {
        Format::Human => {
            let mut text = format!(
                "capability diff: {} {} -> {} {}\n",
                a.portfile.port.name,
                a.portfile.port.version,
                b.portfile.port.name,
                b.portfile.port.version
            );
            if result.entries.is_empty() {
                text.push_str("  no capability gained, lost or changed\n");
            }
            text.push_str(&result.render());
            text.push_str(&format!("{gains} gained, {losses} lost\n"));
            if fails {
                text.push_str(
                    "error: the new version gains capabilities; review each one, then rerun with --allow-escalation\n",
                );
            } else if gains > 0 {
                text.push_str("escalation allowed (--allow-escalation)\n");
            }
            text
        }
        Format::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&json).expect("diff serializes")
        ),
        Format::Github => {
            let file = b.portfile_path.display().to_string();
            let portfile_text = std::fs::read_to_string(&b.portfile_path).unwrap_or_default();
            let mut text = String::new();
            for e in result.gains() {
                let phase = e
                    .phase
                    .map_or_else(|| "the port".to_owned(), |p| format!("[capabilities.{p}]"));
                let mut d = Diagnostic::new(
                    &wport_lint::rules::CAPABILITY_GAINED,
                    file.clone(),
                    format!("{phase} gains {} {}", e.what, e.detail),
                )
                .help("review the new capability, then rerun with --allow-escalation");
                // Every annotation carries a line, so GitHub shows it in
                // the pull request's diff view.
                d.line = Some(gain_line(
                    &portfile_text,
                    e.phase.map(|p| p.as_str()),
                    &e.detail,
                ));
                if allow_escalation {
                    d.severity = wport_lint::Severity::Warning;
                }
                text.push_str(&d.github());
                text.push('\n');
            }
            text
        }
    };
    Ok(PairDiff {
        fails,
        gains,
        text,
        json,
    })
}

/// The line of the new Portfile a gain is annotated on: the first line
/// after the phase's `[capabilities.PHASE]` header that names the gained
/// value (its first word, for `CFLAGS=-O2` the variable), else the header,
/// else (port-wide gains) the first line naming it, else line 1.
fn gain_line(text: &str, phase: Option<&str>, detail: &str) -> usize {
    let needle = detail
        .trim_matches('`')
        .split(['`', '=', ' '])
        .find(|w| !w.is_empty())
        .unwrap_or("");
    let lines: Vec<&str> = text.lines().collect();
    let start = match phase {
        Some(p) => {
            let header = format!("[capabilities.{p}]");
            match lines.iter().position(|l| l.trim() == header) {
                Some(i) => i,
                None => return 1,
            }
        }
        None => 0,
    };
    let from = (start + 1).min(lines.len());
    let section_end = lines[from..]
        .iter()
        .position(|l| phase.is_some() && l.trim_start().starts_with('['))
        .map_or(lines.len(), |i| from + i);
    lines[start..section_end]
        .iter()
        .position(|l| !needle.is_empty() && l.contains(needle))
        .map_or(start + 1, |i| start + i + 1)
}

/// `--diff OLD NEW` between two ports trees (a pull request's base and
/// head): every port directory present in either is matched by its path
/// relative to the tree; ports changed are diffed as single ports, ports
/// added or removed are reported as such. An added port's capabilities
/// are not "gains" against anything; `wport lint` on the head tree checks
/// it, and reviewers see it listed here.
fn run_tree_diff(
    linter: &Linter,
    old: &Path,
    new: &Path,
    format: Format,
    allow_escalation: bool,
) -> i32 {
    let ports = |tree: &Path| -> Result<std::collections::BTreeSet<PathBuf>, i32> {
        match wport_lint::find_ports(tree) {
            Ok(found) => Ok(found
                .into_iter()
                .filter_map(|p| p.strip_prefix(tree).ok().map(Path::to_path_buf))
                .collect()),
            Err(e) => {
                eprintln!("error: searching {} for ports: {e}", tree.display());
                Err(exit::USAGE)
            }
        }
    };
    let (before, after) = match (ports(old), ports(new)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(c), _) | (_, Err(c)) => return c,
    };
    let mut fails = false;
    let mut gains = 0;
    let mut text = String::new();
    let mut changed_json = Vec::new();
    let mut added = Vec::new();
    let mut removed = Vec::new();
    let mut unchanged = 0;
    for rel in before.union(&after) {
        let (o, n) = (old.join(rel), new.join(rel));
        let (op, np) = (o.join("Portfile.toml"), n.join("Portfile.toml"));
        match (before.contains(rel), after.contains(rel)) {
            (true, true) => {
                // Only ports whose directories differ are diffed: a tree
                // of hundreds of ports changes a few per pull request.
                if same_dir(&o, &n) {
                    unchanged += 1;
                    continue;
                }
                match diff_pair(linter, &o, &n, format, allow_escalation) {
                    Ok(d) => {
                        fails |= d.fails;
                        gains += d.gains;
                        text.push_str(&d.text);
                        changed_json.push(d.json);
                    }
                    Err(broken) => {
                        fails = true;
                        text.push_str(&broken);
                        changed_json.push(json!({
                            "old": op.display().to_string(),
                            "new": np.display().to_string(),
                            "broken": true,
                        }));
                    }
                }
            }
            (false, true) => added.push(np),
            (true, false) => removed.push(op),
            (false, false) => unreachable!("from the union of both sets"),
        }
    }
    match format {
        Format::Human => {
            for p in &added {
                text.push_str(&format!("added port: {}\n", p.display()));
            }
            for p in &removed {
                text.push_str(&format!("removed port: {}\n", p.display()));
            }
            text.push_str(&format!(
                "tree diff: {} changed, {} added, {} removed, {unchanged} unchanged; {gains} capabilities gained\n",
                changed_json.len(),
                added.len(),
                removed.len()
            ));
        }
        Format::Json => {
            text = format!(
                "{}\n",
                serde_json::to_string_pretty(&json!({
                    "changed": changed_json,
                    "added": added.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
                    "removed": removed.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
                    "unchanged": unchanged,
                    "gains": gains,
                    "escalation_allowed": allow_escalation,
                }))
                .expect("diff serializes")
            );
        }
        Format::Github => {
            // Notices, not errors: adding or removing a port grants the
            // other ports nothing. The removed port's file is the base's.
            for (p, what) in added
                .iter()
                .map(|p| (p, "added"))
                .chain(removed.iter().map(|p| (p, "removed")))
            {
                text.push_str(&format!(
                    "::notice file={},line=1,title=port-{what}::port {what}: {}\n",
                    github_property(&p.display().to_string()),
                    github_property(&p.display().to_string())
                ));
            }
        }
    }
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    if fails { exit::FAILURE } else { exit::SUCCESS }
}

/// Escapes a workflow-command property value (`%`, CR, LF, `:` and `,`), so
/// a crafted directory name cannot end the command and start another.
fn github_property(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
        .replace(':', "%3A")
        .replace(',', "%2C")
}

/// Whether two port directories hold the same files with the same bytes
/// (symlinks compared by target).
fn same_dir(a: &Path, b: &Path) -> bool {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) -> std::io::Result<()> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let path = e.path();
            let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            let kind = e.file_type()?;
            if kind.is_dir() {
                out.push((rel, b"/".to_vec()));
                walk(root, &path, out)?;
            } else if kind.is_symlink() {
                let target = std::fs::read_link(&path)?;
                out.push((rel, format!("-> {}", target.display()).into_bytes()));
            } else {
                out.push((rel, std::fs::read(&path)?));
            }
        }
        Ok(())
    }
    let (mut x, mut y) = (Vec::new(), Vec::new());
    walk(a, a, &mut x).is_ok() && walk(b, b, &mut y).is_ok() && x == y
}

fn render_broken(diagnostics: &[Diagnostic], format: Format) -> String {
    match format {
        Format::Human => diagnostics.iter().map(|d| d.render() + "\n").collect(),
        Format::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&json!({
                "diagnostics": diagnostics.iter().map(Diagnostic::json).collect::<Vec<_>>(),
            }))
            .expect("diagnostics serialize")
        ),
        Format::Github => diagnostics.iter().map(|d| d.github() + "\n").collect(),
    }
}
