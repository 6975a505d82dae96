//! From the serde shape ([`crate::raw`]) to the validated schema
//! ([`crate::schema`]): every rule serde cannot express, each failing with
//! the position of the offending value and what to write instead.
//!
//! Tables are independent: each table reports its first problem, and all
//! tables are checked, so one run shows a maintainer (or a linter) every
//! broken table at once.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::time::Duration;

use crate::de_error::{describe_field, missing_field};
use crate::error::{Ctx, ErrorKind, ManifestError};
use crate::phase::Phase;
use crate::raw::{
    Param, RawBuild, RawCapabilities, RawDependencies, RawLimits, RawPhase, RawPort, RawPortfile,
    RawRuntime, RawRuntimeProgram, RawSource, S, Table,
};
use crate::rules::{self, Rejection};
use crate::schema::{
    Build, BuildKind, BuildLimits, Capabilities, Dependencies, MAX_MEMORY_BYTES, MAX_PROCESSES,
    MAX_TIMEOUT_SECS, MIN_MEMORY_BYTES, MIN_PROCESSES, Patchfile, PhaseGrants, PortInfo, Portfile,
    Runtime, RuntimeGrants, Source, StandardComponent,
};
use crate::sha256::Sha256Hex;
use crate::suggest::did_you_mean;
use crate::text::short;

type Result<T> = std::result::Result<T, ManifestError>;

/// Validates every table, collecting the first problem of each: the
/// `[port]` table, each `[[source]]`, each `[[patchfile]]`,
/// `[dependencies]`, `[build]`, each `[capabilities.<phase>]` and `[limits]`.
/// Errors come back in file order.
pub(crate) fn portfile(
    raw: RawPortfile,
    ctx: &Ctx,
) -> std::result::Result<Portfile, Vec<ManifestError>> {
    let mut errors = Vec::new();
    let port = port(raw.port.into_inner().0, ctx)
        .map_err(|e| errors.push(e))
        .ok();
    let sources = sources(raw.source, ctx, &mut errors);
    let mut patchfiles = Vec::with_capacity(raw.patchfile.len());
    for patch in raw.patchfile {
        let patch = patch.into_inner().0;
        let checked = checked(
            ctx,
            "[[patchfile]]",
            "file",
            patch.file,
            rules::check_relative_path,
        )
        .and_then(|file| {
            Ok(Patchfile {
                file,
                sha256: sha256(ctx, "[[patchfile]]", "sha256", &patch.sha256)?,
            })
        });
        match checked {
            Ok(patch) => patchfiles.push(patch),
            Err(e) => errors.push(e),
        }
    }
    let dependencies = match raw.dependencies {
        Some(deps) => {
            let deps = deps.into_inner().0;
            // If a name is invalid, still check capability grants against
            // what was written, so both problems are reported at once.
            let written = Dependencies {
                build: deps.build.iter().map(|d| d.get_ref().clone()).collect(),
                lib: deps.lib.iter().map(|d| d.get_ref().clone()).collect(),
                run: deps.run.iter().map(|d| d.get_ref().clone()).collect(),
            };
            dependencies(deps, ctx).unwrap_or_else(|e| {
                errors.push(e);
                written
            })
        }
        None => Dependencies::default(),
    };
    let build = build(raw.build, ctx).map_err(|e| errors.push(e)).ok();
    let capabilities = match raw.capabilities {
        Some(caps) => capabilities(caps.into_inner().0, &dependencies, ctx, &mut errors),
        None => Capabilities::default(),
    };
    let limits = match raw.limits {
        Some(table) => limits(table.into_inner().0, ctx).unwrap_or_else(|e| {
            errors.push(e);
            BuildLimits::default()
        }),
        None => BuildLimits::default(),
    };
    let runtime = match raw.runtime {
        Some(table) => runtime(table.into_inner().0, ctx, &mut errors),
        None => Runtime::default(),
    };
    match (port, build) {
        (Some(port), Some(build)) if errors.is_empty() => Ok(Portfile {
            port,
            sources,
            patchfiles,
            dependencies,
            build,
            capabilities,
            limits,
            runtime,
        }),
        _ => {
            errors.sort_by_key(|e| e.span().map_or(0, |span| span.start));
            Err(errors)
        }
    }
}

fn port(raw: RawPort, ctx: &Ctx) -> Result<PortInfo> {
    const T: &str = "[port]";
    let name = checked(ctx, T, "name", raw.name, rules::check_port_name)?;
    let version = checked(ctx, T, "version", raw.version, rules::check_version)?;
    let description = checked(ctx, T, "description", raw.description, |text| {
        non_empty(
            text,
            "a one-line summary, e.g. `description = \"Produces a familiar, friendly greeting\"`",
        )?;
        if text.contains('\n') {
            return Err(plain(
                "the description spans several lines",
                "keep it to one line; longer text belongs in the port's documentation",
            ));
        }
        Ok(())
    })?;
    let homepage = checked(ctx, T, "homepage", raw.homepage, |url| {
        rules::check_remote_url(url)?;
        match rules::url_scheme(url) {
            Some("https" | "http") => Ok(()),
            _ => Err(plain(
                "the homepage must be an `https://` or `http://` URL",
                "e.g. `homepage = \"https://www.gnu.org/software/hello/\"`",
            )),
        }
    })?;
    let license = checked(ctx, T, "license", raw.license, |text| {
        non_empty(
            text,
            "an SPDX license expression, e.g. `license = \"GPL-3.0-or-later\"` or `\"MIT OR Apache-2.0\"`",
        )
    })?;
    let maintainers_span = raw.maintainers.span();
    let maintainers = raw
        .maintainers
        .into_inner()
        .into_iter()
        .map(|m| {
            checked(ctx, T, "maintainers", m, |text| {
                non_empty(
                    text,
                    "a name and address, e.g. `\"Alice <alice@example.org>\"`",
                )
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if maintainers.is_empty() {
        return Err(ctx.error(
            ErrorKind::InvalidValue {
                field: "maintainers".into(),
            },
            maintainers_span,
            "`maintainers` in [port] is empty",
            "at least one maintainer is required",
            "list who answers for this port, e.g. `maintainers = [\"Alice <alice@example.org>\"]`",
        ));
    }
    let upstream_contact = checked(ctx, T, "upstream-contact", raw.upstream_contact, |text| {
        non_empty(
            text,
            "who to ask when an upstream tarball changes, e.g. `upstream-contact = \"bug-hello@gnu.org\"`",
        )
    })?;
    Ok(PortInfo {
        name,
        version,
        revision: raw.revision,
        description,
        homepage,
        license,
        maintainers,
        upstream_contact,
        source_date_epoch: raw.source_date_epoch,
    })
}

/// Every valid source; the first problem of each invalid one goes to `errors`.
fn sources(
    raw: Vec<S<Table<RawSource>>>,
    ctx: &Ctx,
    errors: &mut Vec<ManifestError>,
) -> Vec<Source> {
    let mut seen: HashMap<String, (String, Range<usize>)> = HashMap::new();
    let mut sources = Vec::with_capacity(raw.len());
    for source in raw {
        match one_source(source.into_inner().0, &mut seen, ctx) {
            Ok(source) => sources.push(source),
            Err(e) => errors.push(e),
        }
    }
    sources
}

/// One source; `seen` maps lowercased distfile names to their first use.
fn one_source(
    raw: RawSource,
    seen: &mut HashMap<String, (String, Range<usize>)>,
    ctx: &Ctx,
) -> Result<Source> {
    const T: &str = "[[source]]";
    {
        let RawSource {
            url,
            mirrors,
            sha256: digest,
            size,
            file,
            extract,
        } = raw;
        let url_span = url.span();
        let url = checked(ctx, T, "url", url, rules::check_source_url)?;
        let mirrors = mirrors
            .into_iter()
            .map(|mirror| checked(ctx, T, "mirrors", mirror, rules::check_remote_url))
            .collect::<Result<Vec<_>>>()?;
        let sha256 = sha256(ctx, T, "sha256", &digest)?;
        let file = match file {
            Some(file) => {
                let span = file.span();
                Some((checked(ctx, T, "file", file, rules::check_file_name)?, span))
            }
            None => None,
        };
        let (name, name_span) = match &file {
            Some((name, span)) => (name.clone(), span.clone()),
            None => {
                let derived = rules::last_url_segment(&url);
                if let Err(rejection) = rules::check_file_name(derived) {
                    return Err(ctx.error(
                        ErrorKind::InvalidValue { field: "url".into() },
                        url_span,
                        format!("cannot use the end of this URL as a distfile name: {}", rejection.reason),
                        match derived {
                            "" => "this URL ends with `/`, so it names no file".to_owned(),
                            name => format!("the distfile would be named `{name}`"),
                        },
                        "add a `file = \"name-1.0.tar.gz\"` key to this [[source]] naming the distfile",
                    ));
                }
                (derived.to_owned(), url_span.clone())
            }
        };
        // Keyed case-insensitively: on a case-insensitive filesystem (macOS's
        // default) `Foo.tar.gz` and `foo.tar.gz` are one file, and the second
        // download would replace the first after it was verified.
        let key = name.to_lowercase();
        if let Some((first_name, first_span)) = seen.get(&key) {
            let message = if *first_name == name {
                format!("two sources have the distfile name `{name}`")
            } else {
                format!("distfile names `{first_name}` and `{name}` differ only in case")
            };
            return Err(ctx
                .error(
                    ErrorKind::Duplicate { field: "file".into(), value: name.clone() },
                    name_span,
                    message,
                    "second use of this distfile name",
                    "each distfile needs its own name (compared ignoring case): add `file = \"...\"` to one of the \
                     [[source]] tables",
                )
                .with_related(first_span.clone(), "first used here"));
        }
        seen.insert(key, (name, name_span));
        Ok(Source {
            url,
            mirrors,
            sha256,
            size,
            file: file.map(|(name, _)| name),
            extract: extract.unwrap_or(true),
        })
    }
}

fn dependencies(raw: RawDependencies, ctx: &Ctx) -> Result<Dependencies> {
    let list = |field: &str, names: Vec<S<String>>| -> Result<Vec<String>> {
        let mut seen: HashMap<String, Range<usize>> = HashMap::new();
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let span = name.span();
            let name = checked(ctx, "[dependencies]", field, name, rules::check_port_name)?;
            if let Some(first) = seen.get(&name) {
                return Err(ctx
                    .error(
                        ErrorKind::Duplicate {
                            field: field.to_owned(),
                            value: name.clone(),
                        },
                        span,
                        format!("`{name}` is listed twice in `{field}` of [dependencies]"),
                        "listed again here",
                        "remove the second entry",
                    )
                    .with_related(first.clone(), "first listed here"));
            }
            seen.insert(name.clone(), span);
            out.push(name);
        }
        Ok(out)
    };
    Ok(Dependencies {
        build: list("build", raw.build)?,
        lib: list("lib", raw.lib)?,
        run: list("run", raw.run)?,
    })
}

fn build(raw: S<Table<RawBuild>>, ctx: &Ctx) -> Result<Build> {
    const T: &str = "[build]";
    let header = raw.span();
    let RawBuild {
        standard,
        component,
        component_sha256,
        worksrcdir,
        test,
        params,
    } = raw.into_inner().0;
    let kind = match (standard, component) {
        (Some(standard), Some(component)) => {
            return Err(ctx
                .error(
                    ErrorKind::Conflict { field: "component".into(), other: "standard".into() },
                    component.span(),
                    "[build] sets both `standard` and `component`",
                    "remove this line or `standard`",
                    "use `standard` for a component shipped with wport, or `component` (with `component-sha256`) \
                     for the port's own, not both",
                )
                .with_related(standard.span(), "`standard` is set here"));
        }
        (None, None) => {
            return Err(ctx.error(
                ErrorKind::MissingField { field: "standard".into(), table: T.into() },
                header,
                "[build] needs `standard` or `component`",
                "this table names no build component",
                "add `standard = \"autotools\"` (or `\"make\"`) to use a component shipped with wport, or \
                 `component = \"port.wasm\"` with `component-sha256 = \"...\"` for the port's own",
            ));
        }
        (Some(standard), None) => {
            if let Some(digest) = component_sha256 {
                return Err(ctx.error(
                    ErrorKind::Conflict { field: "component-sha256".into(), other: "standard".into() },
                    digest.span(),
                    "`component-sha256` is set but [build] uses a standard component",
                    "this digest pins nothing",
                    "remove `component-sha256`: standard components ship with wport and are pinned by it",
                ));
            }
            match StandardComponent::from_name(standard.get_ref()) {
                Some(which) => BuildKind::Standard(which),
                None => {
                    let names = StandardComponent::ALL.map(StandardComponent::as_str);
                    let mut help = format!(
                        "the standard components are {}; a port with its own build logic uses `component = \"port.wasm\"`",
                        names.map(|n| format!("`{n}`")).join(", ")
                    );
                    if let Some(close) = did_you_mean(standard.get_ref(), names) {
                        help = format!("did you mean `{close}`? {help}");
                    }
                    return Err(ctx.error(
                        ErrorKind::InvalidValue {
                            field: "standard".into(),
                        },
                        standard.span(),
                        format!("unknown standard component `{}`", short(standard.get_ref())),
                        "not a standard component",
                        help,
                    ));
                }
            }
        }
        (None, Some(component)) => {
            let path = checked(ctx, T, "component", component, rules::check_relative_path)?;
            let Some(digest) = component_sha256 else {
                return Err(missing_field(ctx, header, "component-sha256".into(), T));
            };
            BuildKind::Component {
                path,
                sha256: sha256(ctx, T, "component-sha256", &digest)?,
            }
        }
    };
    let worksrcdir = worksrcdir
        .map(|dir| checked(ctx, T, "worksrcdir", dir, rules::check_relative_path))
        .transpose()?;
    let mut out = BTreeMap::new();
    for (key, value) in params {
        let key_span = key.span();
        let key = key.into_inner();
        if key.is_empty() {
            return Err(invalid(
                ctx,
                "[build.params]",
                "",
                key_span,
                plain(
                    "a parameter name is empty",
                    "name it, e.g. `configure-args`",
                ),
            ));
        }
        if let BuildKind::Standard(which) = &kind {
            check_standard_param(ctx, *which, &key, key_span.clone(), &value)?;
        }
        let value_span = value.span();
        let value = value.into_inner().0;
        if value.iter().any(|v| v.contains('\0')) {
            return Err(invalid(
                ctx,
                "[build.params]",
                &key,
                value_span,
                plain("a parameter contains a NUL byte", "remove the `\\u0000`"),
            ));
        }
        out.insert(key, value);
    }
    Ok(Build {
        kind,
        worksrcdir,
        test: test.unwrap_or(false),
        params: out,
    })
}

/// A `[build.params]` key of a standard component must be one it reads
/// ([`StandardComponent::params`]): a misspelt `confgure-args` would
/// otherwise be ignored and the port built without its arguments.
fn check_standard_param(
    ctx: &Ctx,
    which: StandardComponent,
    key: &str,
    key_span: Range<usize>,
    value: &S<Param>,
) -> Result<()> {
    let known = which.params();
    if !known.contains(&key) {
        let suggestion = did_you_mean(key, known.iter().copied());
        let list = known
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let help = match suggestion {
            Some(close) => format!("did you mean `{close}`? the `{which}` component reads {list}"),
            None => format!(
                "the `{which}` component reads {list}; a port that needs other parameters uses its own component"
            ),
        };
        return Err(ctx.error(
            ErrorKind::UnknownField {
                field: key.to_owned(),
                table: "[build.params]".into(),
                expected: known.iter().map(|k| (*k).to_owned()).collect(),
                suggestion: suggestion.map(str::to_owned),
            },
            key_span,
            format!(
                "unknown parameter `{}` of the standard component `{which}` in [build.params]",
                short(key)
            ),
            "unknown parameter",
            help,
        ));
    }
    if key == "reinplace" {
        let Param(edits, spans) = value.get_ref();
        for (i, edit) in edits.iter().enumerate() {
            // The edit itself when it is an element of a list.
            let span = spans.get(i).cloned().unwrap_or_else(|| value.span());
            let rejection = match reinplace_check(edit) {
                Ok(()) => continue,
                Err(ReinplaceProblem::Shape(why)) => plain(
                    format!("`{}`: {why}", short(edit)),
                    "write each edit as `\"s|REGEX|REPLACEMENT|g FILE...\"`, files relative to worksrc",
                ),
                Err(ReinplaceProblem::Regex(error)) => plain(
                    format!(
                        "`{}`: its pattern is not a valid regex: {error}",
                        short(edit)
                    ),
                    "the pattern is a regex (Rust `regex` syntax): escape a literal `(`, `[`, `.`, `*`, `+` or `?` \
                     with a backslash, written `\\\\(` in a \"...\" TOML string and `\\(` in a '...' one",
                ),
            };
            return Err(invalid(ctx, "[build.params]", key, span, rejection));
        }
    }
    if key == "use-parallel-build"
        && !matches!(value.get_ref().0.as_slice(), [v] if v == "true" || v == "false")
    {
        return Err(invalid(
            ctx,
            "[build.params]",
            key,
            value.span(),
            plain(
                "it must be `true` or `false`",
                "write `use-parallel-build = false` to build with one job",
            ),
        ));
    }
    Ok(())
}

/// Why a `reinplace` edit would fail the patch phase.
enum ReinplaceProblem {
    /// Not `s<d>REGEX<d>REPLACEMENT<d>[g] FILE...`.
    Shape(&'static str),
    /// The pattern does not compile: why, on one line.
    Regex(String),
}

/// One `reinplace` edit, `s<d>REGEX<d>REPLACEMENT<d>[g] FILE...`, checked
/// here as guest-sdk's `std_build::parse_reinplace` reads it and its
/// `Reinplace::new` compiles it, so that lint, and the load before any
/// build, report what would otherwise fail the patch phase after the fetch,
/// extraction and a sandbox start: its shape, an empty pattern, and a
/// pattern that is not a regex (issue 14).
///
/// The regex is compiled with the `regex` crate's `bytes::Regex`, the
/// version and features the guest SDK uses (`unicode-perl`, `unicode-case`,
/// no `\p{..}` classes), so what passes here compiles in the component.
fn reinplace_check(edit: &str) -> std::result::Result<(), ReinplaceProblem> {
    let shape = ReinplaceProblem::Shape;
    // The guest expands placeholders in the whole edit before it parses it.
    let edit = &expand_stand_ins(edit)?;
    let mut chars = edit.chars();
    if chars.next() != Some('s') {
        return Err(shape("an edit starts with `s`"));
    }
    let delim = match chars.next() {
        Some(d) if d.is_ascii_punctuation() && d != '\\' => d,
        _ => {
            return Err(shape(
                "the character after `s` must be a delimiter such as `|`",
            ));
        }
    };
    // The pattern as the guest compiles it: `\<d>` stands for the
    // delimiter, every other backslash is the regex's.
    let mut pattern = String::new();
    let mut closed = 0;
    while closed < 2 {
        match chars.next() {
            None => return Err(shape("it lacks a closing delimiter")),
            Some('\\') => match chars.next() {
                Some(n) if closed == 0 && n == delim => pattern.push(n),
                Some(n) if closed == 0 => {
                    pattern.push('\\');
                    pattern.push(n);
                }
                None if closed == 0 => pattern.push('\\'),
                _ => {}
            },
            Some(c) if c == delim => closed += 1,
            Some(c) if closed == 0 => pattern.push(c),
            Some(_) => {}
        }
    }
    let rest: String = chars.collect();
    let (flags, files) = rest.split_once(char::is_whitespace).unwrap_or((&rest, ""));
    if !flags.is_empty() && flags != "g" {
        return Err(shape("the only flag is `g`"));
    }
    if files.trim().is_empty() {
        return Err(shape("it names no file to edit"));
    }
    if pattern.is_empty() {
        return Err(shape("the pattern is empty"));
    }
    match regex::bytes::Regex::new(&pattern) {
        Ok(_) => Ok(()),
        Err(e) => Err(ReinplaceProblem::Regex(regex_reason(&e))),
    }
}

/// `edit` with its placeholders expanded as guest-sdk's `Placeholders::expand`
/// does (`{{` and `}}` are literal braces, `{name}` a value), each value a
/// stand-in shaped like the real one (the prefix and build directories are
/// absolute paths): the regex then reads as it will in the patch phase,
/// where `{prefix}` in a pattern is a path, not a repetition.
fn expand_stand_ins(edit: &str) -> std::result::Result<String, ReinplaceProblem> {
    const STAND_INS: [(&str, &str); 8] = [
        ("prefix", "/p"),
        ("destroot", "/d"),
        ("worksrc", "/w"),
        ("work", "/w"),
        ("sources", "/s"),
        ("jobs", "1"),
        ("name", "p"),
        ("version", "1"),
    ];
    let mut out = String::with_capacity(edit.len());
    let mut rest = edit;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        let name = tail.strip_prefix('{').and_then(|body| {
            let name = &body[..body.find('}')?];
            let mut chars = name.chars();
            (chars.next()?.is_ascii_alphabetic()
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .then_some(name)
        });
        match name {
            Some(name) => {
                let Some((_, value)) = STAND_INS.iter().find(|(n, _)| *n == name) else {
                    return Err(ReinplaceProblem::Shape(
                        "it uses an unknown placeholder (known: {prefix}, {destroot}, {worksrc}, \
                         {work}, {sources}, {jobs}, {name}, {version}; write `{{` for a literal brace)",
                    ));
                };
                out.push_str(value);
                rest = &tail[name.len() + 2..];
            }
            None => {
                out.push_str(&tail[..1]);
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// A regex error on one line. A syntax error's text is several lines (the
/// pattern, a caret under the problem, then `error: REASON`): keep the
/// reason (the message quotes the edit).
fn regex_reason(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .map(str::to_owned)
        .unwrap_or_else(|| text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The grants of every valid phase table; the first problem of each invalid
/// one goes to `errors`.
fn capabilities(
    raw: RawCapabilities,
    declared: &Dependencies,
    ctx: &Ctx,
    errors: &mut Vec<ManifestError>,
) -> Capabilities {
    let RawCapabilities {
        patch,
        configure,
        build,
        test,
        destroot,
        post_destroot,
    } = raw;
    let mut caps = Capabilities::default();
    for (phase, table) in [
        (Phase::Patch, patch),
        (Phase::Configure, configure),
        (Phase::Build, build),
        (Phase::Test, test),
        (Phase::Destroot, destroot),
        (Phase::PostDestroot, post_destroot),
    ] {
        if let Some(table) = table {
            match phase_grants(phase, table.into_inner().0, declared, ctx) {
                Ok(grants) => *caps.phase_mut(phase) = grants,
                Err(e) => errors.push(e),
            }
        }
    }
    caps
}

fn phase_grants(
    phase: Phase,
    raw: RawPhase,
    declared: &Dependencies,
    ctx: &Ctx,
) -> Result<PhaseGrants> {
    let table = format!("[capabilities.{phase}]");
    let t = table.as_str();
    let programs = raw
        .programs
        .into_iter()
        .map(|program| checked(ctx, t, "programs", program, rules::check_program))
        .collect::<Result<Vec<_>>>()?;
    let mut dependencies = Vec::with_capacity(raw.dependencies.len());
    for dep in raw.dependencies {
        if !declared.contains(dep.get_ref()) {
            let name = dep.get_ref().clone();
            let shown = short(&name);
            let mut help = format!(
                "a phase may only see declared dependencies: add \"{shown}\" to `build`, `lib` or `run` in [dependencies], \
                 or remove it here"
            );
            if let Some(close) = did_you_mean(&name, declared.all()) {
                help = format!("did you mean `{close}`? {help}");
            }
            return Err(ctx.error(
                ErrorKind::UndeclaredDependency {
                    phase,
                    dependency: name.clone(),
                },
                dep.span(),
                format!(
                    "phase `{phase}` is granted `{shown}`, which [dependencies] does not declare"
                ),
                "not declared in [dependencies]",
                help,
            ));
        }
        dependencies.push(dep.into_inner());
    }
    let allow_loader_env = raw.allow_loader_env.unwrap_or(false);
    let mut env = BTreeMap::new();
    for (name, value) in raw.env {
        let name_span = name.span();
        let name = name.into_inner();
        if let Err(rejection) = rules::check_env_name(&name) {
            return Err(invalid(ctx, t, "env", name_span, rejection));
        }
        if rules::RESERVED_ENV.contains(&name.as_str()) {
            return Err(ctx.error(
                ErrorKind::ReservedEnv { phase, variable: name.clone() },
                name_span,
                format!("[capabilities.{phase}] sets `{name}`, which the engine controls"),
                "cannot be set by a Portfile",
                format!(
                    "remove it: `{name}` decides which binary a granted program name runs, so wport sets it; \
                     grant programs by name in `programs` instead"
                ),
            ));
        }
        if rules::is_loader_env(&name) && !allow_loader_env {
            return Err(ctx.error(
                ErrorKind::LoaderEnvRefused { phase, variable: name.clone() },
                name_span,
                format!("loader variable `{name}` in [capabilities.{phase}] env is refused"),
                "injects code into every program this phase runs",
                format!(
                    "remove it, or if the build truly needs it add `allow-loader-env = true` to [capabilities.{phase}] \
                     (reviewers will ask why)"
                ),
            ));
        }
        let value_span = value.span();
        let value = value.into_inner();
        if value.contains('\0') {
            return Err(invalid(
                ctx,
                t,
                &name,
                value_span,
                plain(
                    "an environment value contains a NUL byte",
                    "remove the `\\u0000`",
                ),
            ));
        }
        env.insert(name, value);
    }
    let timeout = match raw.timeout {
        Some(seconds) if *seconds.get_ref() == 0 => {
            return Err(invalid(
                ctx,
                t,
                "timeout",
                seconds.span(),
                plain(
                    "a timeout of 0 seconds would fail every call",
                    "give seconds per call, e.g. `timeout = 600`, or remove it for the engine default",
                ),
            ));
        }
        Some(seconds) if *seconds.get_ref() > MAX_TIMEOUT_SECS => {
            return Err(invalid(
                ctx,
                t,
                "timeout",
                seconds.span(),
                plain(
                    format!(
                        "{} seconds is more than the limit of {MAX_TIMEOUT_SECS} (7 days)",
                        seconds.get_ref()
                    ),
                    "give seconds per call, e.g. `timeout = 3600`, or remove it for the engine default",
                ),
            ));
        }
        Some(seconds) => Some(Duration::from_secs(seconds.into_inner())),
        None => None,
    };
    Ok(PhaseGrants {
        programs,
        dependencies,
        env,
        allow_loader_env,
        timeout,
    })
}

/// `[limits]`: each value within its bounds.
fn limits(raw: RawLimits, ctx: &Ctx) -> Result<BuildLimits> {
    const T: &str = "[limits]";
    let memory = match raw.memory {
        Some(text) => Some(
            parse_memory(text.get_ref())
                .map_err(|rejection| invalid(ctx, T, "memory", text.span(), rejection))?,
        ),
        None => None,
    };
    let processes = match raw.processes {
        Some(n) if !(MIN_PROCESSES..=MAX_PROCESSES).contains(n.get_ref()) => {
            return Err(invalid(
                ctx,
                T,
                "processes",
                n.span(),
                plain(
                    format!(
                        "{} is outside {MIN_PROCESSES} to {MAX_PROCESSES}",
                        n.get_ref()
                    ),
                    "give the most processes the build may have at once, e.g. `processes = 1024`, \
                     or remove it for the engine default",
                ),
            ));
        }
        Some(n) => Some(n.into_inner()),
        None => None,
    };
    Ok(BuildLimits { memory, processes })
}

/// `"4GiB"` -> bytes: an integer and a binary unit, within bounds.
/// `[runtime]` and its `[runtime.programs.NAME]` tables: each table's first
/// problem goes to `errors`; a broken program table is left out.
fn runtime(raw: RawRuntime, ctx: &Ctx, errors: &mut Vec<ManifestError>) -> Runtime {
    let RawRuntime {
        confine,
        network,
        exec,
        arguments,
        read,
        write,
        programs,
    } = raw;
    let base = RuntimeGrants::default();
    let port = runtime_grants(
        &base,
        RawRuntimeProgram {
            confine,
            network,
            exec,
            arguments,
            read,
            write,
        },
        "[runtime]",
        ctx,
    )
    .unwrap_or_else(|e| {
        errors.push(e);
        base.clone()
    });
    let mut out = Runtime {
        port,
        programs: BTreeMap::new(),
    };
    for (name, table) in programs {
        let t = format!("[runtime.programs.{}]", short(name.get_ref()));
        let checked_name = checked(ctx, &t, "", name, rules::check_file_name);
        let grants = runtime_grants(&out.port, table.into_inner().0, &t, ctx);
        match (checked_name, grants) {
            (Ok(name), Ok(grants)) => {
                out.programs.insert(name, grants);
            }
            (Err(e), _) | (_, Err(e)) => errors.push(e),
        }
    }
    out
}

/// One `[runtime]` table over `base`: booleans replace, paths are added.
fn runtime_grants(
    base: &RuntimeGrants,
    raw: RawRuntimeProgram,
    table: &str,
    ctx: &Ctx,
) -> Result<RuntimeGrants> {
    let mut grants = base.clone();
    grants.confine = raw.confine.unwrap_or(base.confine);
    grants.network = raw.network.unwrap_or(base.network);
    grants.exec = raw.exec.unwrap_or(base.exec);
    grants.arguments = raw.arguments.unwrap_or(base.arguments);
    for (field, paths, into) in [
        ("read", raw.read, &mut grants.read),
        ("write", raw.write, &mut grants.write),
    ] {
        for path in paths {
            let path = checked(ctx, table, field, path, rules::check_runtime_path)?;
            if !into.contains(&path) {
                into.push(path);
            }
        }
    }
    Ok(grants)
}

fn parse_memory(text: &str) -> std::result::Result<u64, Rejection> {
    let help = "write an integer and a unit (KiB, MiB, GiB or TiB), e.g. `memory = \"4GiB\"`, \
                or remove it for the engine default";
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let shift = match unit.trim_start() {
        "KiB" => 10,
        "MiB" => 20,
        "GiB" => 30,
        "TiB" => 40,
        _ => {
            return Err(plain(
                format!("{:?} is not a size with a unit", short(text)),
                help,
            ));
        }
    };
    let bytes = digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .filter(|b| (MIN_MEMORY_BYTES..=MAX_MEMORY_BYTES).contains(b))
        .ok_or_else(|| plain(format!("{:?} is outside 16MiB to 1TiB", short(text)), help))?;
    Ok(bytes)
}

/// Applies `rule` to a spanned string, returning the string or an error at
/// its span.
fn checked(
    ctx: &Ctx,
    table: &str,
    field: &str,
    value: S<String>,
    rule: impl FnOnce(&str) -> std::result::Result<(), Rejection>,
) -> Result<String> {
    match rule(value.get_ref()) {
        Ok(()) => Ok(value.into_inner()),
        Err(rejection) if rejection.path_escape => {
            let path = value.get_ref().clone();
            Err(ctx.error(
                ErrorKind::UnsafePath {
                    field: field.to_owned(),
                    path,
                },
                value.span(),
                format!(
                    "unsafe path in {}: {}",
                    describe_field(field, table),
                    rejection.reason
                ),
                "this could name a file outside its directory",
                rejection.help,
            ))
        }
        Err(rejection) => Err(invalid(ctx, table, field, value.span(), rejection)),
    }
}

fn invalid(
    ctx: &Ctx,
    table: &str,
    field: &str,
    span: Range<usize>,
    rejection: Rejection,
) -> ManifestError {
    let label = match field {
        "" => "invalid".to_owned(),
        f => format!("invalid `{f}`"),
    };
    ctx.error(
        ErrorKind::InvalidValue {
            field: field.to_owned(),
        },
        span,
        format!(
            "invalid value for {}: {}",
            describe_field(field, table),
            rejection.reason
        ),
        label,
        rejection.help,
    )
}

fn sha256(ctx: &Ctx, table: &str, field: &str, value: &S<String>) -> Result<Sha256Hex> {
    value.get_ref().parse::<Sha256Hex>().map_err(|err| {
        invalid(
            ctx,
            table,
            field,
            value.span(),
            plain(
                err.to_string(),
                "write the 64 lowercase hex digits printed by `sha256sum FILE`, e.g. \
                 `sha256 = \"31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b\"`",
            ),
        )
    })
}

fn plain(reason: impl Into<String>, help: impl Into<String>) -> Rejection {
    Rejection {
        reason: reason.into(),
        help: help.into(),
        path_escape: false,
    }
}

fn non_empty(text: &str, what: &str) -> std::result::Result<(), Rejection> {
    if text.trim().is_empty() {
        Err(plain("it is empty", format!("write {what}")))
    } else {
        Ok(())
    }
}
