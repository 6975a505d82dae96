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
    /// Compare two versions of a port (directories or Portfile paths) and
    /// list the capabilities the new one gains or loses; fails on any gain.
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
            eprintln!("{}", summary(portfiles.len(), errors, warnings));
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
    let (a, b) = (Side::load(linter, old), Side::load(linter, new));
    let (a, b) = match (a, b) {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => {
            // A side that fails the schema has no capabilities to compare:
            // show why, as lint would.
            let broken: Vec<Diagnostic> =
                [a.err(), b.err()].into_iter().flatten().flatten().collect();
            report_broken(&broken, format);
            return exit::FAILURE;
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
    let mut out = std::io::stdout().lock();
    let _ = match format {
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
            out.write_all(text.as_bytes())
        }
        Format::Json => {
            let doc = json!({
                "old": a.portfile_path.display().to_string(),
                "new": b.portfile_path.display().to_string(),
                "gains": gains,
                "losses": losses,
                "escalation_allowed": allow_escalation,
                "entries": result.entries,
            });
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&doc).expect("diff serializes")
            )
        }
        Format::Github => {
            let file = b.portfile_path.display().to_string();
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
                if allow_escalation {
                    d.severity = wport_lint::Severity::Warning;
                }
                let line = d.github();
                text.push_str(&line);
                text.push('\n');
            }
            out.write_all(text.as_bytes())
        }
    };
    if fails { exit::FAILURE } else { exit::SUCCESS }
}

fn report_broken(diagnostics: &[Diagnostic], format: Format) {
    let mut out = std::io::stdout().lock();
    let _ = match format {
        Format::Human => {
            let text: String = diagnostics.iter().map(|d| d.render() + "\n").collect();
            out.write_all(text.as_bytes())
        }
        Format::Json => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&json!({
                "diagnostics": diagnostics.iter().map(Diagnostic::json).collect::<Vec<_>>(),
            }))
            .expect("diagnostics serialize")
        ),
        Format::Github => {
            let text: String = diagnostics.iter().map(|d| d.github() + "\n").collect();
            out.write_all(text.as_bytes())
        }
    };
}
