//! Dependencies, checked by `wport_plan`: per port, a phase granted a
//! dependency of a kind it may not see (`dependency-wrong-kind`); per tree,
//! names that are not ports of the tree (`dependency-unknown`), cycles
//! (`dependency-cycle`) and port names (`port-name`).
//!
//! Names are resolved only across a tree: `wport lint ports/` knows every
//! port, `wport lint ports/hello` does not (a port's Portfile alone cannot
//! say whether `zlib` exists), so single ports get the per-port check only.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use wport_plan::{DepKind, PlanError, Port, Tree};

use crate::diagnostic::Diagnostic;
use crate::doc::{Doc, Key};
use crate::files::{PORTFILE_LIMIT, read_regular};
use crate::rules::{self, Rule};

/// `dependency-wrong-kind` findings of one port that passed the schema.
pub(crate) fn wrong_kind(port: &Port, file: &str, text: &Arc<str>) -> Vec<Diagnostic> {
    port.check_grants()
        .iter()
        .filter_map(|err| match err {
            PlanError::WrongKind {
                phase, dependency, ..
            } => {
                let span = port.granted_at(*phase, dependency).map(|p| p.span.clone());
                Some(diagnostic(
                    &rules::DEPENDENCY_WRONG_KIND,
                    file,
                    text,
                    span,
                    err,
                    "a kind this phase may not see",
                ))
            }
            _ => None,
        })
        .collect()
}

/// The last component of a port directory (the name a broken port is
/// known by).
pub(crate) fn dir_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string())
}

/// The tree-wide dependency findings of the ports below `root` (the ports
/// [`crate::find_ports`] finds): unknown names, cycles, port names. Ports
/// that fail the schema are known by their directory's name and are
/// otherwise left to the per-port checks. Fails only when `root` cannot be
/// listed. ([`crate::Linter::lint_tree`] finds the same without reading
/// the Portfiles a second time.)
pub fn lint_dependencies(root: &Path) -> std::io::Result<Vec<Diagnostic>> {
    let mut tree = Tree::scan(root).map_err(|err| match err {
        PlanError::Io { ref source, .. } => std::io::Error::new(source.kind(), err.to_string()),
        other => std::io::Error::other(other.to_string()),
    })?;
    Ok(tree_findings(&mut tree))
}

/// The findings of [`lint_dependencies`] in a loaded tree.
pub(crate) fn tree_findings(tree: &mut Tree<'_>) -> Vec<Diagnostic> {
    let mut texts = Texts::default();
    let mut out = Vec::new();
    for err in tree.problems().to_vec() {
        let (PlanError::NameMismatch { portfile, .. }
        | PlanError::DuplicatePort {
            second: portfile, ..
        }) = &err
        else {
            // Schema and read errors: the per-port lint reports them.
            continue;
        };
        let text = texts.get(portfile);
        let span = Doc::parse(&text).value(&[Key("port"), Key("name")]);
        out.push(diagnostic(
            &rules::PORT_NAME,
            &portfile.display().to_string(),
            &text,
            span,
            &err,
            "port name",
        ));
    }
    for err in tree.check() {
        let (port, next, label) = match &err {
            PlanError::UnknownDependency {
                port, dependency, ..
            } => (port, dependency, "not a port of this tree".to_owned()),
            PlanError::Cycle { cycle, .. } => (
                &cycle[0],
                &cycle[1],
                format!("{} -> {}", cycle[0], cycle[1]),
            ),
            _ => continue,
        };
        let Some(port) = tree.get(port) else { continue };
        let span = DepKind::ALL
            .into_iter()
            .find_map(|kind| port.declared_at(kind, next))
            .map(|p| p.span.clone());
        let rule = match err {
            PlanError::Cycle { .. } => &rules::DEPENDENCY_CYCLE,
            _ => &rules::DEPENDENCY_UNKNOWN,
        };
        let text = texts.get(&port.portfile_path);
        out.push(diagnostic(
            rule,
            &port.portfile_path.display().to_string(),
            &text,
            span,
            &err,
            &label,
        ));
    }
    out
}

fn diagnostic(
    rule: &Rule,
    file: &str,
    text: &Arc<str>,
    span: Option<Range<usize>>,
    err: &PlanError,
    label: &str,
) -> Diagnostic {
    let d = Diagnostic::new(rule, file, err.summary()).at(text, span, label);
    match err.help() {
        Some(help) => d.help(help),
        None => d,
    }
}

/// Portfile texts, read once each, for the snippets.
#[derive(Default)]
struct Texts(BTreeMap<PathBuf, Arc<str>>);

impl Texts {
    fn get(&mut self, path: &Path) -> Arc<str> {
        self.0
            .entry(path.to_path_buf())
            .or_insert_with(|| {
                let file = path.display().to_string();
                read_regular(path, &file, PORTFILE_LIMIT)
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .map_or_else(|| Arc::from(""), Arc::from)
            })
            .clone()
    }
}

/// `diagnostics` grouped by file in the order of `files` (files not listed
/// last, by name), each file's by line and column.
pub fn order_by_file(
    files: impl IntoIterator<Item = PathBuf>,
    diagnostics: impl IntoIterator<Item = Diagnostic>,
) -> Vec<Diagnostic> {
    let rank: BTreeMap<String, usize> = files
        .into_iter()
        .enumerate()
        .map(|(i, f)| (f.display().to_string(), i))
        .collect();
    let mut all: Vec<Diagnostic> = diagnostics.into_iter().collect();
    all.sort_by(|a, b| {
        let key = |d: &Diagnostic| {
            (
                rank.get(&d.file).copied().unwrap_or(usize::MAX),
                d.file.clone(),
            )
        };
        key(a)
            .cmp(&key(b))
            .then((a.line, a.column).cmp(&(b.line, b.column)))
    });
    all
}
