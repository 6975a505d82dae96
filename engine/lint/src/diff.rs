//! The capability diff: what a new version of a port may do that the old
//! one could not, for code review.
//!
//! A version bump that quietly adds `curl` to `[capabilities.build]`, an
//! `LD_PRELOAD`, or an import of `exec` changes what every machine building
//! the port trusts it with, in a diff that is mostly checksums. The diff
//! lists every capability gained or lost, per phase, and `wport lint --diff`
//! fails on any gain unless the reviewer passes `--allow-escalation`.
//!
//! What counts as a **gain** (fails without `--allow-escalation`): a program,
//! a visible dependency, an environment variable (new, or a new value),
//! `allow-loader-env`, a longer timeout, per phase; and for the whole port,
//! a component import and the test phase being switched on; and for the
//! installed programs (`[runtime]`, port-wide or per program), `confine`
//! switched off, `network`, `exec` or `arguments` switched on, and a new
//! `read` or `write` path. Sources, the
//! component's pin and the declared dependencies are listed as **changes**:
//! they are pinned by digest or grant nothing by themselves, and a version
//! bump always changes them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use wport_manifest::{BuildKind, Phase, PhaseGrants, Portfile, RuntimeGrants};

use crate::diagnostic::Diagnostic;
use crate::{ComponentImports, Linter, check, files, imports, rules};

/// Whether an entry widens, narrows or only changes what the port does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The new version may do something the old could not.
    Gain,
    /// The new version may no longer do something.
    Loss,
    /// Something reviewers should see that grants nothing by itself.
    Change,
}

impl Direction {
    fn word(self) -> &'static str {
        match self {
            Direction::Gain => "gained",
            Direction::Loss => "lost",
            Direction::Change => "changed",
        }
    }
}

/// One entry of a [`CapabilityDiff`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Gain, loss or change.
    pub direction: Direction,
    /// The phase it concerns (`None`: the whole port).
    #[serde(serialize_with = "phase_name")]
    pub phase: Option<Phase>,
    /// What kind of capability: `program`, `dependency`, `env`,
    /// `allow-loader-env`, `timeout`, `import`, `test-phase`, `build`,
    /// `component`, `source`, `declared-dependency`, `runtime`.
    pub what: &'static str,
    /// The capability itself, e.g. `curl` or `CFLAGS=-O2`.
    pub detail: String,
}

fn phase_name<S: serde::Serializer>(phase: &Option<Phase>, s: S) -> Result<S::Ok, S::Error> {
    match phase {
        Some(p) => s.serialize_str(p.as_str()),
        None => s.serialize_none(),
    }
}

/// Everything the new version gains, loses or changes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CapabilityDiff {
    /// Entries: port-wide first, then phase by phase in build order.
    pub entries: Vec<Entry>,
}

impl CapabilityDiff {
    /// The entries that widen what the port may do.
    pub fn gains(&self) -> impl Iterator<Item = &Entry> {
        self.entries
            .iter()
            .filter(|e| e.direction == Direction::Gain)
    }

    /// Whether the new version gains anything.
    pub fn escalates(&self) -> bool {
        self.gains().next().is_some()
    }

    /// One line per entry: `gained  build          program `curl``.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for e in &self.entries {
            let phase = e.phase.map_or("(port)", Phase::as_str);
            out.push_str(&format!(
                "  {:<8} {:<14} {} {}\n",
                e.direction.word(),
                phase,
                e.what,
                e.detail
            ));
        }
        out
    }
}

/// Settings of a diff.
#[derive(Debug, Clone)]
pub struct DiffOptions {
    /// The timeout of a phase whose Portfile sets none (the engine's
    /// default), so that setting `timeout` is compared with what applied
    /// before.
    pub default_timeout: Duration,
}

impl Default for DiffOptions {
    fn default() -> DiffOptions {
        DiffOptions {
            default_timeout: Duration::from_secs(3600),
        }
    }
}

/// One version of a port, ready to diff.
#[derive(Debug, Clone)]
pub struct Side {
    /// The Portfile's path.
    pub portfile_path: PathBuf,
    /// The validated Portfile.
    pub portfile: Portfile,
    /// The build component's imports (`None`: a standard component whose
    /// bytes the [`Linter`] was not given).
    pub imports: Option<Vec<String>>,
}

impl Side {
    /// Loads a port directory, or a Portfile path, with its component's
    /// imports. A Portfile that fails the schema, or a component that cannot
    /// be read, is returned as diagnostics: a diff of a broken port would
    /// not show what it can do.
    pub fn load(linter: &Linter, path: &Path) -> Result<Side, Vec<Diagnostic>> {
        let portfile_path = if path.is_dir() {
            path.join("Portfile.toml")
        } else {
            path.to_path_buf()
        };
        let file = portfile_path.display().to_string();
        let bytes = files::read_regular(&portfile_path, &file, files::PORTFILE_LIMIT)
            .map_err(|refused| vec![check::unreadable(&file, &refused)])?;
        let text = String::from_utf8(bytes)
            .map_err(|_| vec![check::unreadable(&file, &"it is not UTF-8 text")])?;
        let portfile = Portfile::check(&text, &file).map_err(|errors| {
            let text = std::sync::Arc::from(text.as_str());
            errors
                .into_iter()
                .map(|err| Diagnostic::from_schema(check::schema_rule(&err), err, Some(&text)))
                .collect::<Vec<_>>()
        })?;
        let imports = match &portfile.build.kind {
            BuildKind::Standard(which) => match linter.standard_imports(*which) {
                Some(ComponentImports::Names(names)) => Some(names.clone()),
                Some(ComponentImports::Malformed(reason)) => {
                    return Err(vec![Diagnostic::new(
                        &rules::COMPONENT_MALFORMED,
                        &file,
                        format!("the standard `{which}` component: {reason}"),
                    )]);
                }
                None => None,
            },
            BuildKind::Component { path: rel, .. } => {
                let dir = portfile_path.parent().unwrap_or(Path::new("."));
                let bytes = files::read_in_port(dir, rel, files::FILE_LIMIT).map_err(|err| {
                    vec![Diagnostic::new(
                        &rules::COMPONENT_MISSING,
                        &file,
                        format!("the component `{rel}` cannot be read: {err}"),
                    )]
                })?;
                Some(imports::imports(&bytes).map_err(|err| {
                    vec![Diagnostic::new(
                        &rules::COMPONENT_MALFORMED,
                        &file,
                        format!("`{rel}`: {err}"),
                    )]
                })?)
            }
        };
        Ok(Side {
            portfile_path,
            portfile,
            imports,
        })
    }
}

/// What `new` may do that `old` could not, and the reverse.
pub fn diff(old: &Side, new: &Side, options: &DiffOptions) -> CapabilityDiff {
    let mut entries = Vec::new();
    let mut push = |direction, phase, what, detail: String| {
        entries.push(Entry {
            direction,
            phase,
            what,
            detail,
        })
    };
    let (o, n) = (&old.portfile, &new.portfile);

    // The build component and what it imports.
    match (&o.build.kind, &n.build.kind) {
        (a, b) if a == b => {}
        (
            BuildKind::Component {
                path: pa,
                sha256: sa,
            },
            BuildKind::Component {
                path: pb,
                sha256: sb,
            },
        ) => {
            let path = if pa == pb {
                format!("`{pb}`")
            } else {
                format!("`{pa}` -> `{pb}`")
            };
            push(
                Direction::Change,
                None,
                "component",
                format!("{path}: sha256 {sa} -> {sb}"),
            );
        }
        (a, b) => push(
            Direction::Change,
            None,
            "build",
            format!("{} -> {}", describe_build(a), describe_build(b)),
        ),
    }
    if let (Some(a), Some(b)) = (&old.imports, &new.imports) {
        let unversioned = |names: &[String]| -> BTreeSet<String> {
            names
                .iter()
                .map(|n| n.split('@').next().unwrap_or(n).to_owned())
                .collect()
        };
        let (a, b) = (unversioned(a), unversioned(b));
        for name in b.difference(&a) {
            push(Direction::Gain, None, "import", format!("`{name}`"));
        }
        for name in a.difference(&b) {
            push(Direction::Loss, None, "import", format!("`{name}`"));
        }
    }
    match (o.build.test, n.build.test) {
        (false, true) => push(
            Direction::Gain,
            None,
            "test-phase",
            "the test phase now runs".into(),
        ),
        (true, false) => push(
            Direction::Loss,
            None,
            "test-phase",
            "the test phase no longer runs".into(),
        ),
        _ => {}
    }

    // Sources: pinned by digest, so listed for review, not as gains.
    let urls = |p: &Portfile| -> BTreeSet<String> {
        p.sources
            .iter()
            .flat_map(|s| std::iter::once(&s.url).chain(&s.mirrors))
            .cloned()
            .collect()
    };
    let (ua, ub) = (urls(o), urls(n));
    for url in ub.difference(&ua) {
        push(
            Direction::Change,
            None,
            "source",
            format!("URL added `{url}`"),
        );
    }
    for url in ua.difference(&ub) {
        push(
            Direction::Change,
            None,
            "source",
            format!("URL removed `{url}`"),
        );
    }
    let pins = |p: &Portfile| -> BTreeSet<String> {
        p.sources
            .iter()
            .map(|s| format!("{} sha256 {} size {}", s.distfile_name(), s.sha256, s.size))
            .collect()
    };
    let (pa, pb) = (pins(o), pins(n));
    for pin in pb.difference(&pa) {
        push(
            Direction::Change,
            None,
            "source",
            format!("distfile pinned {pin}"),
        );
    }
    for pin in pa.difference(&pb) {
        push(
            Direction::Change,
            None,
            "source",
            format!("distfile no longer pinned {pin}"),
        );
    }
    let declared =
        |p: &Portfile| -> BTreeSet<String> { p.dependencies.all().map(str::to_owned).collect() };
    let (da, db) = (declared(o), declared(n));
    for dep in db.difference(&da) {
        push(
            Direction::Change,
            None,
            "declared-dependency",
            format!("`{dep}` added"),
        );
    }
    for dep in da.difference(&db) {
        push(
            Direction::Change,
            None,
            "declared-dependency",
            format!("`{dep}` removed"),
        );
    }

    // Per phase: everything in a grant.
    for phase in Phase::ALL {
        let (a, b) = (o.capabilities.phase(phase), n.capabilities.phase(phase));
        phase_diff(phase, a, b, options, &mut push);
    }

    // What the installed programs may do when they run: the port-wide
    // table, then every program either version names.
    let names: BTreeSet<&str> = o
        .runtime
        .programs
        .keys()
        .chain(n.runtime.programs.keys())
        .map(String::as_str)
        .collect();
    runtime_diff(None, &o.runtime.port, &n.runtime.port, &mut push);
    for name in names {
        runtime_diff(
            Some(name),
            o.runtime.program(name),
            n.runtime.program(name),
            &mut push,
        );
    }
    CapabilityDiff { entries }
}

/// `[runtime]` of one program (`None`: the port's table): a gain is
/// anything that widens what the installed program may do when it runs.
fn runtime_diff(
    program: Option<&str>,
    a: &RuntimeGrants,
    b: &RuntimeGrants,
    push: &mut impl FnMut(Direction, Option<Phase>, &'static str, String),
) {
    let who = match program {
        None => "[runtime]".to_owned(),
        Some(name) => format!("[runtime.programs.{name}]"),
    };
    // (key, old, new, whether `true` is the wider setting)
    for (key, old, new, wider) in [
        ("confine", a.confine, b.confine, false),
        ("network", a.network, b.network, true),
        ("exec", a.exec, b.exec, true),
        ("arguments", a.arguments, b.arguments, true),
    ] {
        if old != new {
            let direction = if new == wider {
                Direction::Gain
            } else {
                Direction::Loss
            };
            push(direction, None, "runtime", format!("{who} `{key} = {new}`"));
        }
    }
    let set = |v: &[String]| -> BTreeSet<String> { v.iter().cloned().collect() };
    for (key, old, new) in [
        ("read", set(&a.read), set(&b.read)),
        ("write", set(&a.write), set(&b.write)),
    ] {
        for x in new.difference(&old) {
            push(
                Direction::Gain,
                None,
                "runtime",
                format!("{who} {key} `{x}`"),
            );
        }
        for x in old.difference(&new) {
            push(
                Direction::Loss,
                None,
                "runtime",
                format!("{who} {key} `{x}`"),
            );
        }
    }
}

fn phase_diff(
    phase: Phase,
    a: &PhaseGrants,
    b: &PhaseGrants,
    options: &DiffOptions,
    push: &mut impl FnMut(Direction, Option<Phase>, &'static str, String),
) {
    let p = Some(phase);
    let set = |v: &[String]| -> BTreeSet<String> { v.iter().cloned().collect() };
    for (what, old, new) in [
        ("program", set(&a.programs), set(&b.programs)),
        ("dependency", set(&a.dependencies), set(&b.dependencies)),
    ] {
        for x in new.difference(&old) {
            push(Direction::Gain, p, what, format!("`{x}`"));
        }
        for x in old.difference(&new) {
            push(Direction::Loss, p, what, format!("`{x}`"));
        }
    }
    for (name, value) in &b.env {
        match a.env.get(name) {
            None => push(Direction::Gain, p, "env", format!("`{name}={value}`")),
            Some(old) if old != value => push(
                Direction::Gain,
                p,
                "env",
                format!("`{name}`: `{old}` -> `{value}`"),
            ),
            Some(_) => {}
        }
    }
    for (name, value) in &a.env {
        if !b.env.contains_key(name) {
            push(Direction::Loss, p, "env", format!("`{name}={value}`"));
        }
    }
    match (a.allow_loader_env, b.allow_loader_env) {
        (false, true) => push(Direction::Gain, p, "allow-loader-env", "true".into()),
        (true, false) => push(Direction::Loss, p, "allow-loader-env", "now false".into()),
        _ => {}
    }
    let effective = |t: Option<Duration>| t.unwrap_or(options.default_timeout);
    let describe = |t: Option<Duration>| match t {
        Some(t) => format!("{}s", t.as_secs()),
        None => format!("{}s (engine default)", options.default_timeout.as_secs()),
    };
    let (ta, tb) = (effective(a.timeout), effective(b.timeout));
    if tb > ta {
        push(
            Direction::Gain,
            p,
            "timeout",
            format!("raised {} -> {}", describe(a.timeout), describe(b.timeout)),
        );
    } else if tb < ta {
        push(
            Direction::Loss,
            p,
            "timeout",
            format!("lowered {} -> {}", describe(a.timeout), describe(b.timeout)),
        );
    }
}

fn describe_build(kind: &BuildKind) -> String {
    match kind {
        BuildKind::Standard(which) => format!("standard `{which}`"),
        BuildKind::Component { path, sha256 } => format!("component `{path}` (sha256 {sha256})"),
    }
}
