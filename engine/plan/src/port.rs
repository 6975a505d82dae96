//! [`Port`]: one loaded port (its validated Portfile, the digest of the
//! bytes it was parsed from, and where each dependency name is written),
//! [`DepKind`], and the phase -> kind table ([`allowed_kinds`]).

use std::fmt;
use std::io::Read as _;
use std::ops::Range;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};
use toml::de::{DeTable, DeValue};
use wport_manifest::{Dependencies, MAX_PORTFILE_BYTES, Phase, Portfile, Sha256Hex};

use crate::error::PlanError;

/// The three lists of `[dependencies]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DepKind {
    /// `build = [...]`: tools used while building.
    Build,
    /// `lib = [...]`: libraries linked against; needed at build and run time,
    /// and transitively (a lib dependency's own lib dependencies).
    Lib,
    /// `run = [...]`: needed when the installed port runs.
    Run,
}

impl DepKind {
    /// Every kind, in `[dependencies]` order.
    pub const ALL: [DepKind; 3] = [DepKind::Build, DepKind::Lib, DepKind::Run];

    /// `"build"`, `"lib"` or `"run"`: the key in `[dependencies]`.
    pub const fn as_str(self) -> &'static str {
        match self {
            DepKind::Build => "build",
            DepKind::Lib => "lib",
            DepKind::Run => "run",
        }
    }

    /// This kind's list in `deps`.
    pub fn list(self, deps: &Dependencies) -> &[String] {
        match self {
            DepKind::Build => &deps.build,
            DepKind::Lib => &deps.lib,
            DepKind::Run => &deps.run,
        }
    }
}

impl fmt::Display for DepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kinds of dependency a phase may be granted in
/// `[capabilities.<phase>] dependencies`.
///
/// | phase | kinds |
/// |---|---|
/// | patch | build |
/// | configure, build | build, lib |
/// | test | build, lib, run |
/// | destroot | build, lib |
/// | post-destroot | none |
///
/// Patching needs at most a tool; configuring, compiling and installing
/// need tools and the libraries linked against; only the test suite runs
/// the port, so only it may see run-time dependencies; post-destroot
/// adjusts the staged tree and sees nothing of other ports.
pub fn allowed_kinds(phase: Phase) -> &'static [DepKind] {
    // Exhaustive on purpose: a new phase must be given a row here.
    match phase {
        Phase::Patch => &[DepKind::Build],
        Phase::Configure | Phase::Build | Phase::Destroot => &[DepKind::Build, DepKind::Lib],
        Phase::Test => &[DepKind::Build, DepKind::Lib, DepKind::Run],
        Phase::PostDestroot => &[],
    }
}

/// Where a name is written in a Portfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Byte range of the quoted name.
    pub span: Range<usize>,
}

/// One port of a tree, loaded: validated, hashed, positions known.
#[derive(Debug, Clone)]
pub struct Port {
    /// `[port] name` (equal to the directory's name when the port was
    /// looked up by name).
    pub name: String,
    /// The port directory.
    pub dir: PathBuf,
    /// `dir/Portfile.toml`.
    pub portfile_path: PathBuf,
    /// The validated Portfile.
    pub portfile: Portfile,
    /// sha256 of the exact bytes `portfile` was parsed from.
    pub sha256: Sha256Hex,
    declared: Vec<(DepKind, String, Position)>,
    granted: Vec<(Phase, String, Position)>,
}

impl Port {
    /// Reads and validates `dir/Portfile.toml`.
    ///
    /// Only a regular file is read (`O_NOFOLLOW`, `O_NONBLOCK`, checked with
    /// `fstat`), at most [`MAX_PORTFILE_BYTES`]: a port directory is someone
    /// else's, and a link or FIFO in place of the Portfile must neither
    /// redirect nor block the caller.
    pub fn load(dir: &Path) -> Result<Port, PlanError> {
        let path = dir.join("Portfile.toml");
        let text = read_portfile(&path)?;
        Port::from_text(dir, &text)
    }

    /// Validates `text` as the Portfile of the port in `dir` (errors name
    /// `dir/Portfile.toml`).
    pub fn from_text(dir: &Path, text: &str) -> Result<Port, PlanError> {
        let portfile_path = dir.join("Portfile.toml");
        let shown = portfile_path.display().to_string();
        let portfile = Portfile::parse(text, &shown).map_err(|error| PlanError::Manifest {
            port: dir_name(dir),
            portfile: portfile_path.clone(),
            error,
        })?;
        Ok(Port::new(dir, text, portfile))
    }

    /// The port in `dir` whose Portfile `text` already passed the schema as
    /// `portfile` (a linter that validated it itself). `portfile` must be
    /// `Portfile::parse(text)`: positions are read from `text`.
    pub fn new(dir: &Path, text: &str, portfile: Portfile) -> Port {
        let (declared, granted) = positions(text, &portfile);
        Port {
            name: portfile.port.name.clone(),
            dir: dir.to_path_buf(),
            portfile_path: dir.join("Portfile.toml"),
            sha256: Sha256Hex::from_bytes(Sha256::digest(text.as_bytes()).into()),
            portfile,
            declared,
            granted,
        }
    }

    /// The direct dependencies of one kind, as declared.
    pub fn deps(&self, kind: DepKind) -> &[String] {
        kind.list(&self.portfile.dependencies)
    }

    /// Every direct dependency with its kind, in `[dependencies]` order.
    pub fn all_deps(&self) -> impl Iterator<Item = (DepKind, &str)> {
        DepKind::ALL
            .into_iter()
            .flat_map(move |kind| self.deps(kind).iter().map(move |d| (kind, d.as_str())))
    }

    /// The kinds `dep` is declared as (empty when it is not declared).
    pub fn kinds_of(&self, dep: &str) -> Vec<DepKind> {
        DepKind::ALL
            .into_iter()
            .filter(|kind| self.deps(*kind).iter().any(|d| d == dep))
            .collect()
    }

    /// Where `dep` is written in the `kind` list of `[dependencies]`.
    pub fn declared_at(&self, kind: DepKind, dep: &str) -> Option<&Position> {
        self.declared
            .iter()
            .find(|(k, d, _)| *k == kind && d == dep)
            .map(|(_, _, p)| p)
    }

    /// Where `dep` is written in `[capabilities.<phase>] dependencies`.
    pub fn granted_at(&self, phase: Phase, dep: &str) -> Option<&Position> {
        self.granted
            .iter()
            .find(|(p, d, _)| *p == phase && d == dep)
            .map(|(_, _, p)| p)
    }

    /// The grants of the wrong kind: every `[capabilities.<phase>]
    /// dependencies` entry none of whose declared kinds the phase may see
    /// ([`allowed_kinds`]). A name declared twice (`build` and `lib`) is
    /// allowed where either kind is. Needs nothing but this Portfile.
    pub fn check_grants(&self) -> Vec<PlanError> {
        let mut errors = Vec::new();
        for (phase, grants) in self.portfile.capabilities.iter() {
            let allowed = allowed_kinds(phase);
            for dep in &grants.dependencies {
                let kinds = self.kinds_of(dep);
                // An undeclared grant is the schema's error, already refused.
                let Some(&kind) = kinds.first() else { continue };
                if kinds.iter().any(|k| allowed.contains(k)) {
                    continue;
                }
                let (line, column) = self.line_column(self.granted_at(phase, dep));
                errors.push(PlanError::WrongKind {
                    port: self.name.clone(),
                    portfile: self.portfile_path.clone(),
                    line,
                    column,
                    phase,
                    dependency: dep.clone(),
                    kind,
                });
            }
        }
        errors
    }

    /// Line and column of the first declaration of `dep` (any kind).
    pub(crate) fn first_declaration(&self, dep: &str) -> (usize, usize) {
        self.line_column(
            DepKind::ALL
                .into_iter()
                .find_map(|kind| self.declared_at(kind, dep)),
        )
    }

    fn line_column(&self, at: Option<&Position>) -> (usize, usize) {
        // Every validated name has a position; 1:1 only if the TOML layer
        // and the schema ever disagree on what the document says.
        at.map_or((1, 1), |p| (p.line, p.column))
    }
}

/// The last component of `dir`, for errors about a port that has no valid
/// `[port] name`.
pub(crate) fn dir_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string())
}

fn read_portfile(path: &Path) -> Result<String, PlanError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let io = |what, err| PlanError::Io {
        what,
        path: path.to_path_buf(),
        source: std::sync::Arc::new(err),
    };
    let handle = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| io("opening", e))?;
    let meta = handle.metadata().map_err(|e| io("reading", e))?;
    if !meta.is_file() {
        return Err(io(
            "reading",
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"),
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len().min(MAX_PORTFILE_BYTES) as usize);
    handle
        .take(MAX_PORTFILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io("reading", e))?;
    // Past the bound, the schema reports `too-large` from the text's length.
    String::from_utf8(bytes).map_err(|e| {
        io(
            "reading",
            std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        )
    })
}

type Declared = Vec<(DepKind, String, Position)>;
type Granted = Vec<(Phase, String, Position)>;

/// Positions of every dependency name in a Portfile that passed the schema.
/// The schema crate keeps its spans private, so the text is parsed a second
/// time into toml's spanned document (as wport-lint's `doc` module does).
fn positions(text: &str, portfile: &Portfile) -> (Declared, Granted) {
    let mut declared = Vec::new();
    let mut granted = Vec::new();
    let Ok(doc) = DeTable::parse(text) else {
        return (declared, granted);
    };
    let root = doc.get_ref();
    let names = |value: Option<&DeValue<'_>>, key: &str| -> Vec<(String, Range<usize>)> {
        value
            .and_then(DeValue::as_table)
            .and_then(|t| lookup(t, key))
            .and_then(DeValue::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| Some((item.get_ref().as_str()?.to_owned(), item.span())))
                    .collect()
            })
            .unwrap_or_default()
    };
    let deps = lookup(root, "dependencies");
    for kind in DepKind::ALL {
        for (name, span) in names(deps, kind.as_str()) {
            declared.push((kind, name, position(text, span)));
        }
    }
    let caps = lookup(root, "capabilities").and_then(DeValue::as_table);
    for (phase, _) in portfile.capabilities.iter() {
        let table = caps.and_then(|c| lookup(c, phase.as_str()));
        for (name, span) in names(table, "dependencies") {
            granted.push((phase, name, position(text, span)));
        }
    }
    (declared, granted)
}

fn lookup<'a, 'i>(table: &'a DeTable<'i>, key: &str) -> Option<&'a DeValue<'i>> {
    table
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == key)
        .map(|(_, v)| v.get_ref())
}

fn position(text: &str, span: Range<usize>) -> Position {
    let before = &text[..span.start.min(text.len())];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Position {
        line,
        column: before[line_start..].chars().count() + 1,
        span,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::portfile;

    #[test]
    fn the_phase_table_is_the_documented_one() {
        use DepKind::*;
        let table: Vec<(Phase, &[DepKind])> = Phase::ALL
            .into_iter()
            .map(|p| (p, allowed_kinds(p)))
            .collect();
        assert_eq!(
            table,
            [
                (Phase::Patch, &[Build][..]),
                (Phase::Configure, &[Build, Lib][..]),
                (Phase::Build, &[Build, Lib][..]),
                (Phase::Test, &[Build, Lib, Run][..]),
                (Phase::Destroot, &[Build, Lib][..]),
                (Phase::PostDestroot, &[][..]),
            ]
        );
    }

    #[test]
    fn positions_point_at_the_names() {
        let text = portfile(
            "a",
            "[dependencies]\nbuild = [\"tool\"]\nlib = [\"z\", \"y\"]\n\n[capabilities.build]\nprograms = [\"make\"]\ndependencies = [\"y\"]\n",
        );
        let port = Port::from_text(Path::new("t/a"), &text).unwrap();
        let y = port.declared_at(DepKind::Lib, "y").unwrap();
        assert_eq!(&text[y.span.clone()], "\"y\"");
        assert_eq!(
            text.lines().nth(y.line - 1).unwrap(),
            "lib = [\"z\", \"y\"]"
        );
        assert_eq!(y.column, 13);
        let g = port.granted_at(Phase::Build, "y").unwrap();
        assert_eq!(
            text.lines().nth(g.line - 1).unwrap(),
            "dependencies = [\"y\"]"
        );
        assert_eq!(port.kinds_of("y"), [DepKind::Lib]);
        assert_eq!(port.portfile_path, Path::new("t/a/Portfile.toml"));
        assert_eq!(
            port.sha256.to_string(),
            Sha256Hex::from_bytes(Sha256::digest(text.as_bytes()).into()).to_string()
        );
    }

    #[test]
    fn a_grant_of_the_wrong_kind_is_an_error_at_its_line() {
        let text = portfile(
            "a",
            "[dependencies]\nbuild = [\"tool\"]\nlib = [\"z\"]\nrun = [\"r\"]\n\n\
             [capabilities.patch]\ndependencies = [\"tool\", \"z\"]\n\n\
             [capabilities.build]\nprograms = [\"make\"]\ndependencies = [\"z\", \"tool\", \"r\"]\n\n\
             [capabilities.test]\ndependencies = [\"r\"]\n\n\
             [capabilities.post-destroot]\ndependencies = [\"tool\"]\n",
        )
        .replace("standard = \"make\"", "standard = \"make\"\ntest = true");
        let port = Port::from_text(Path::new("t/a"), &text).unwrap();
        let found: Vec<(Phase, String, DepKind, String)> = port
            .check_grants()
            .into_iter()
            .map(|e| match e {
                PlanError::WrongKind {
                    phase,
                    dependency,
                    kind,
                    line,
                    ..
                } => (
                    phase,
                    dependency,
                    kind,
                    text.lines().nth(line - 1).unwrap().to_owned(),
                ),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(
            found,
            [
                (
                    Phase::Patch,
                    "z".to_owned(),
                    DepKind::Lib,
                    "dependencies = [\"tool\", \"z\"]".to_owned()
                ),
                (
                    Phase::Build,
                    "r".to_owned(),
                    DepKind::Run,
                    "dependencies = [\"z\", \"tool\", \"r\"]".to_owned()
                ),
                (
                    Phase::PostDestroot,
                    "tool".to_owned(),
                    DepKind::Build,
                    "dependencies = [\"tool\"]".to_owned()
                ),
            ]
        );
        let message = port.check_grants()[0].to_string();
        assert_eq!(
            message,
            "t/a/Portfile.toml:20:25: phase `patch` of port `a` is granted `z`, a lib dependency; patch may only see build dependencies"
        );
    }

    #[test]
    fn a_name_declared_as_two_kinds_is_allowed_where_either_is() {
        let text = portfile(
            "a",
            "[dependencies]\nbuild = [\"z\"]\nlib = [\"z\"]\n\n[capabilities.patch]\ndependencies = [\"z\"]\n",
        );
        let port = Port::from_text(Path::new("t/a"), &text).unwrap();
        assert!(port.check_grants().is_empty());
    }

    #[test]
    fn an_undeclared_grant_is_still_the_schemas_error() {
        let text = portfile("a", "[capabilities.build]\ndependencies = [\"z\"]\n");
        match Port::from_text(Path::new("t/a"), &text).unwrap_err() {
            PlanError::Manifest { error, .. } => {
                assert_eq!(error.kind().code(), "undeclared-dependency")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_link_in_place_of_the_portfile_is_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("real.toml"), portfile("a", "")).unwrap();
        let dir = tmp.path().join("a");
        std::fs::create_dir(&dir).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("real.toml"), dir.join("Portfile.toml"))
            .unwrap();
        match Port::load(&dir).unwrap_err() {
            PlanError::Io { source, .. } => {
                assert_eq!(source.raw_os_error(), Some(libc::ELOOP))
            }
            other => panic!("{other:?}"),
        }
    }
}
