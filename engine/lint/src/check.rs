//! The checks of one port: the schema first, then everything the schema
//! cannot see (files next to the Portfile, the component's imports, what
//! the grants mean).

use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use wport_manifest::{
    BuildKind, ErrorKind, ManifestError, Phase, PhaseGrants, Portfile, Sha256Hex, SourceLocation,
};

use wport_plan::{PlanError, Port};

use crate::diagnostic::Diagnostic;
use crate::doc::{Doc, Index, Key};
use crate::files::{FILE_LIMIT, Refused, hash_in_port, read_in_port};
use crate::imports::{self, ImportError};
use crate::programs::{Danger, classify};
use crate::rules::{self, Rule};
use crate::{ComponentImports, Linter};

/// Lints the Portfile `text` (the content of `file`) of the port in `dir`.
pub(crate) fn port(linter: &Linter, dir: &Path, file: &str, text: &str) -> Vec<Diagnostic> {
    port_and_graph(linter, dir, file, text).0
}

/// [`port`], and the port as the dependency graph sees it (or why it has
/// no place there), so a tree is linted without parsing anything twice.
pub(crate) fn port_and_graph(
    linter: &Linter,
    dir: &Path,
    file: &str,
    text: &str,
) -> (Vec<Diagnostic>, Result<Port, PlanError>) {
    let text: Arc<str> = Arc::from(text);
    let portfile = match Portfile::check(&text, file) {
        Ok(portfile) => portfile,
        // Past a schema error the Portfile has no validated meaning: report
        // every schema error (the schema crate finds all it can) and stop.
        Err(errors) => {
            let failed = PlanError::Manifest {
                port: crate::deps::dir_name(dir),
                portfile: dir.join("Portfile.toml"),
                error: errors[0].clone(),
            };
            let out = errors
                .into_iter()
                .map(|err| {
                    let rule = schema_rule(&err);
                    Diagnostic::from_schema(rule, err, Some(&text))
                })
                .collect();
            return (out, Err(failed));
        }
    };
    let port = Port::new(dir, &text, portfile);
    let portfile = &port.portfile;
    let mut cx = Cx {
        file,
        text: &text,
        doc: Doc::parse(&text),
        out: Vec::new(),
    };
    sources(linter, portfile, dir, &mut cx);
    patchfiles(portfile, dir, &mut cx);
    component(linter, portfile, dir, &mut cx);
    grants(portfile, &mut cx);
    runtime(portfile, &mut cx);
    cx.out.extend(crate::deps::wrong_kind(&port, file, &text));
    let mut out = cx.out;
    out.sort_by_key(|d| (d.line, d.column));
    (out, Ok(port))
}

/// A Portfile that could not be read.
pub(crate) fn unreadable(file: &str, err: &dyn std::fmt::Display) -> Diagnostic {
    Diagnostic::new(
        &rules::UNREADABLE_PORTFILE,
        file,
        format!("cannot read {file}: {err}"),
    )
    .help("check that the port directory contains a readable Portfile.toml")
}

/// Which rule reports a schema error. Most map one-to-one onto the error
/// kind (`schema-<kind>`); the problems the lint catalogue names on its own
/// (missing upstream contact, weak checksums, unsafe names and versions)
/// get their own ids so CI can match on them whatever layer finds them.
pub(crate) fn schema_rule(err: &ManifestError) -> &'static Rule {
    const CHECKSUMS: [&str; 3] = ["sha256", "size", "component-sha256"];
    match err.kind() {
        ErrorKind::Io => &rules::UNREADABLE_PORTFILE,
        ErrorKind::Syntax => &rules::SCHEMA_SYNTAX,
        ErrorKind::MissingField { field, .. } | ErrorKind::InvalidValue { field }
            if field == "upstream-contact" =>
        {
            &rules::MISSING_UPSTREAM_CONTACT
        }
        ErrorKind::MissingField { field, .. } if CHECKSUMS.contains(&field.as_str()) => {
            &rules::WEAK_CHECKSUM
        }
        ErrorKind::InvalidValue { field } if field == "sha256" || field == "component-sha256" => {
            &rules::WEAK_CHECKSUM
        }
        ErrorKind::InvalidValue { field } | ErrorKind::UnsafePath { field, .. }
            if field == "name" =>
        {
            &rules::UNSAFE_NAME
        }
        ErrorKind::InvalidValue { field } | ErrorKind::UnsafePath { field, .. }
            if field == "version" =>
        {
            &rules::UNSAFE_VERSION
        }
        // Dependency names follow the port-name rule; they are reported
        // under the list that holds them.
        ErrorKind::InvalidValue { field } | ErrorKind::UnsafePath { field, .. }
            if err.message().contains("[dependencies]")
                && matches!(field.as_str(), "build" | "lib" | "run") =>
        {
            &rules::UNSAFE_NAME
        }
        ErrorKind::UnknownField { .. } => &rules::SCHEMA_UNKNOWN_FIELD,
        ErrorKind::MissingField { .. } => &rules::SCHEMA_MISSING_FIELD,
        ErrorKind::WrongType { .. } => &rules::SCHEMA_WRONG_TYPE,
        ErrorKind::InvalidValue { .. } => &rules::SCHEMA_INVALID_VALUE,
        ErrorKind::UnsafePath { .. } => &rules::SCHEMA_UNSAFE_PATH,
        ErrorKind::Conflict { .. } => &rules::SCHEMA_CONFLICT,
        ErrorKind::UndeclaredDependency { .. } => &rules::SCHEMA_UNDECLARED_DEPENDENCY,
        ErrorKind::LoaderEnvRefused { .. } => &rules::SCHEMA_LOADER_ENV_REFUSED,
        ErrorKind::ReservedEnv { .. } => &rules::SCHEMA_RESERVED_ENV,
        ErrorKind::Duplicate { .. } => &rules::SCHEMA_DUPLICATE,
        // `ErrorKind` is non-exhaustive: a kind added to the schema later is
        // still an error, under a generic id, until it gets its own.
        _ => &rules::SCHEMA_OTHER,
    }
}

struct Cx<'a> {
    file: &'a str,
    text: &'a Arc<str>,
    doc: Doc<'a>,
    out: Vec<Diagnostic>,
}

impl Cx<'_> {
    fn emit(
        &mut self,
        rule: &Rule,
        span: Option<std::ops::Range<usize>>,
        message: String,
        label: &str,
        help: String,
    ) {
        self.out.push(
            Diagnostic::new(rule, self.file, message)
                .at(self.text, span, label)
                .help(help),
        );
    }
}

fn sha256_of(bytes: &[u8]) -> Sha256Hex {
    Sha256Hex::from_bytes(Sha256::digest(bytes).into())
}

fn sources(linter: &Linter, portfile: &Portfile, dir: &Path, cx: &mut Cx<'_>) {
    for (i, source) in portfile.sources.iter().enumerate() {
        let pinned = source.sha256.to_string();
        if linter.quarantined.contains(&pinned) {
            let span = cx.doc.value(&[Key("source"), Index(i), Key("sha256")]);
            cx.emit(
                &rules::QUARANTINED_CHECKSUM,
                span,
                format!("sha256 {pinned} is the digest of a download still held in quarantine"),
                "quarantined bytes",
                "a download with these bytes did not match the previous pin and was quarantined; do not pin it \
                 until it has been reviewed and upstream confirmed it (`wport quarantine list`, then \
                 `wport quarantine release ID --reason TEXT`)"
                    .to_owned(),
            );
        }
        match source.location() {
            SourceLocation::Remote(url) => {
                if is_http(url) {
                    let span = cx.doc.value(&[Key("source"), Index(i), Key("url")]);
                    cx.emit(
                        &rules::PLAIN_HTTP,
                        span,
                        format!("source `{url}` is fetched over plain http:"),
                        "plain http",
                        https_help(url),
                    );
                }
            }
            SourceLocation::Local(rel) => {
                local_distfile(dir, rel, source.sha256, source.size, i, cx)
            }
        }
        for (j, mirror) in source.mirrors.iter().enumerate() {
            if is_http(mirror) {
                let span = cx
                    .doc
                    .value(&[Key("source"), Index(i), Key("mirrors"), Index(j)]);
                cx.emit(
                    &rules::PLAIN_HTTP,
                    span,
                    format!("mirror `{mirror}` is fetched over plain http:"),
                    "plain http",
                    https_help(mirror),
                );
            }
        }
    }
}

fn is_http(url: &str) -> bool {
    wport_manifest::rules::url_scheme(url).is_some_and(|s| s.eq_ignore_ascii_case("http"))
}

fn https_help(url: &str) -> String {
    let https = format!("https{}", &url[4..]);
    format!(
        "use `{https}` if the server has it: the sha256 pin still rejects altered bytes, but over \
         plain http anyone on the path sees what is being built and can substitute a file that \
         fails verification"
    )
}

fn local_distfile(dir: &Path, rel: &str, sha256: Sha256Hex, size: u64, i: usize, cx: &mut Cx<'_>) {
    let span = cx.doc.value(&[Key("source"), Index(i), Key("url")]);
    let (actual, len) = match hash_in_port(dir, rel, size) {
        Ok(found) => found,
        Err(Refused::TooLarge { .. }) => {
            cx.emit(
                &rules::DISTFILE_MISMATCH,
                span,
                format!("the distfile `{rel}` is larger than the pinned {size} bytes"),
                "does not match its pin",
                "if the new file is intended, review the change and pin its sha256 and size".into(),
            );
            return;
        }
        Err(refused) => {
            refused_file(
                cx,
                &rules::DISTFILE_MISSING,
                span,
                &format!("the distfile `{rel}`"),
                &refused,
            );
            return;
        }
    };
    if actual != sha256 || len != size {
        cx.emit(
            &rules::DISTFILE_MISMATCH,
            span,
            format!(
                "the distfile `{rel}` is {len} bytes with sha256 {actual}; the Portfile pins {size} bytes with sha256 {sha256}"
            ),
            "does not match its pin",
            format!(
                "if the new file is intended, review the change and pin it: `sha256 = \"{actual}\"`, `size = {len}`"
            ),
        );
    }
}

/// A file the Portfile names could not be read: `missing` when it is
/// absent or unreadable, `port-file-refused` when it is a link, a special
/// file or too large.
fn refused_file(
    cx: &mut Cx<'_>,
    missing: &Rule,
    span: Option<std::ops::Range<usize>>,
    what: &str,
    refused: &Refused,
) {
    match refused {
        Refused::NotFound | Refused::Io(_) => {
            let help = if missing.id == rules::PATCHFILE_MISSING.id {
                "patchfiles live in the port's files/ directory; add it there or remove this [[patchfile]]"
            } else if missing.id == rules::COMPONENT_MISSING.id {
                "build the port's crate and commit its component (scripts/build-port-component), \
                 or use `standard = \"make\"` / `\"autotools\"`"
            } else {
                "add the file next to the Portfile, or use a remote URL"
            };
            cx.emit(missing, span, format!("{what} cannot be read: {refused}"), "not found", help.into());
        }
        Refused::Link { .. } | Refused::NotRegular { .. } | Refused::TooLarge { .. } => cx.emit(
            &rules::PORT_FILE_REFUSED,
            span,
            format!("{what} is refused: {refused}"),
            "not a regular file in the port",
            "commit the file itself: lint follows no link and opens no special file in a port directory, \
             so a pull request cannot make CI read a host file or block on a FIFO"
                .into(),
        ),
    }
}

fn patchfiles(portfile: &Portfile, dir: &Path, cx: &mut Cx<'_>) {
    for (i, patch) in portfile.patchfiles.iter().enumerate() {
        let actual = match hash_in_port(dir, &format!("files/{}", patch.file), FILE_LIMIT) {
            Ok((actual, _)) => actual,
            Err(refused) => {
                let span = cx.doc.value(&[Key("patchfile"), Index(i), Key("file")]);
                refused_file(
                    cx,
                    &rules::PATCHFILE_MISSING,
                    span,
                    &format!("the patchfile `files/{}`", patch.file),
                    &refused,
                );
                continue;
            }
        };
        if actual != patch.sha256 {
            let span = cx.doc.value(&[Key("patchfile"), Index(i), Key("sha256")]);
            cx.emit(
                &rules::PATCHFILE_SHA256_MISMATCH,
                span,
                format!(
                    "the patchfile `files/{}` has sha256 {actual}, not the pinned {}",
                    patch.file, patch.sha256
                ),
                "does not match the file",
                format!("if the patch was changed on purpose, review it and pin it: `sha256 = \"{actual}\"`"),
            );
        }
    }
}

fn component(linter: &Linter, portfile: &Portfile, dir: &Path, cx: &mut Cx<'_>) {
    let names = match &portfile.build.kind {
        BuildKind::Standard(which) => {
            let span = cx.doc.value(&[Key("build"), Key("standard")]);
            match linter.standard_imports(*which) {
                Some(ComponentImports::Names(names)) => Some((names.clone(), span)),
                Some(ComponentImports::Malformed(reason)) => {
                    cx.emit(
                        &rules::COMPONENT_MALFORMED,
                        span,
                        format!("the standard `{which}` component is not a WebAssembly component: {reason}"),
                        "unreadable component",
                        "this is a bug in this build of wport; please report it".into(),
                    );
                    None
                }
                // Without the standard components' bytes (a library caller
                // that did not provide them) there is nothing to read.
                None => None,
            }
        }
        BuildKind::Component { path, sha256 } => {
            let span = cx.doc.value(&[Key("build"), Key("component")]);
            match read_in_port(dir, path, FILE_LIMIT) {
                Err(refused) => {
                    refused_file(
                        cx,
                        &rules::COMPONENT_MISSING,
                        span,
                        &format!("the component `{path}`"),
                        &refused,
                    );
                    None
                }
                Ok(bytes) => {
                    let actual = sha256_of(&bytes);
                    if actual != *sha256 {
                        let pin = cx.doc.value(&[Key("build"), Key("component-sha256")]);
                        cx.emit(
                            &rules::COMPONENT_SHA256_MISMATCH,
                            pin,
                            format!("the component `{path}` has sha256 {actual}, not the pinned {sha256}"),
                            "does not match the component",
                            format!(
                                "`wport build` refuses it; if the component was rebuilt on purpose, \
                                 review the change and pin it: `component-sha256 = \"{actual}\"`"
                            ),
                        );
                    }
                    match imports::imports(&bytes) {
                        Ok(names) => Some((names, span)),
                        Err(err) => {
                            cx.emit(
                                &rules::COMPONENT_MALFORMED,
                                span,
                                format!("`{path}`: {err}"),
                                "not a component",
                                "build the port's crate for wasm32-wasip2 (scripts/build-port-component) \
                                 and commit the resulting component"
                                    .into(),
                            );
                            None
                        }
                    }
                }
            }
        }
    };
    if let Some((names, span)) = names {
        check_imports(portfile, &names, span, cx);
    }
}

/// Code matches manifest, in both directions: every import must be
/// provided and (for `exec`) granted; and a phase's program grant must be
/// usable, or it is authority nobody needs.
fn check_imports(
    portfile: &Portfile,
    names: &[String],
    span: Option<std::ops::Range<usize>>,
    cx: &mut Cx<'_>,
) {
    let granted = portfile.capabilities.grants_any_program();
    let mut imports_exec = false;
    for name in names {
        if name.split('@').next() == Some(imports::EXEC) {
            imports_exec = true;
        }
        match imports::check_one(name, granted) {
            Ok(()) => {}
            Err(ImportError::ExecNotGranted { .. }) => cx.emit(
                &rules::IMPORT_EXEC_UNGRANTED,
                span.clone(),
                format!("the component imports `{name}`, but no phase grants a program"),
                "imports exec",
                "`wport build` refuses this component: grant the programs the port runs, e.g. \
                 `[capabilities.build] programs = [\"make\"]`, or remove the native commands from its code"
                    .into(),
            ),
            Err(err) => cx.emit(
                &rules::IMPORT_FORBIDDEN,
                span.clone(),
                err.to_string(),
                "forbidden import",
                "remove the dependency that pulls this interface in; ports get the `wport:port` imports \
                 and WASI's cli, clocks, filesystem, io and random interfaces, nothing else"
                    .into(),
            ),
        }
    }
    if imports_exec {
        return;
    }
    for (phase, grants) in portfile.capabilities.iter() {
        if grants.programs.is_empty() {
            continue;
        }
        let span = cx
            .doc
            .key(&[Key("capabilities"), Key(phase.as_str()), Key("programs")]);
        cx.emit(
            &rules::GRANT_NEVER_USED,
            span,
            format!(
                "[capabilities.{phase}] grants {}, but the component does not import `{}`: it can never run a program",
                list(&grants.programs),
                imports::EXEC
            ),
            "grant never used",
            format!("remove `programs` from [capabilities.{phase}]: a grant nothing uses is authority a later change could use"),
        );
    }
}

fn grants(portfile: &Portfile, cx: &mut Cx<'_>) {
    for (phase, grants) in portfile.capabilities.iter() {
        for (i, program) in grants.programs.iter().enumerate() {
            let span = cx.doc.value(&[
                Key("capabilities"),
                Key(phase.as_str()),
                Key("programs"),
                Index(i),
            ]);
            match classify(program) {
                Some(Danger::Network) => cx.emit(
                    &rules::NETWORK_TOOL,
                    span,
                    format!("[capabilities.{phase}] may run `{program}`, a network client"),
                    "network tool",
                    "builds have no network: declare what the build needs as a [[source]] pinned by sha256 and \
                     size, and wport fetches and verifies it before any phase runs"
                        .into(),
                ),
                Some(Danger::Privilege) => cx.emit(
                    &rules::PRIVILEGE_TOOL,
                    span,
                    format!("[capabilities.{phase}] may run `{program}`, which changes identity, ownership or mounts"),
                    "privilege tool",
                    "the build runs as an unprivileged user into a staging destroot; set modes in WebAssembly \
                     (guest-sdk `xinstall`, `files.set-mode`), ownership is decided at install time"
                        .into(),
                ),
                Some(Danger::Interpreter) if phase == Phase::PostDestroot => cx.emit(
                    &rules::INTERPRETER_IN_POST_DESTROOT,
                    span,
                    format!(
                        "[capabilities.post-destroot] may run `{program}`, which runs whatever code it is given"
                    ),
                    "interpreter in post-destroot",
                    "do cleanups of the staged tree in the port's WebAssembly (guest-sdk `delete`, `reinplace`, \
                     `move_path`): an unquoted variable in a shell cleanup is how the Steam and Bumblebee \
                     scripts deleted users' files"
                        .into(),
                ),
                Some(Danger::Interpreter) | None => {}
            }
        }
        if grants.allow_loader_env {
            let span = cx.doc.key(&[
                Key("capabilities"),
                Key(phase.as_str()),
                Key("allow-loader-env"),
            ]);
            let loader: Vec<String> = grants
                .env
                .keys()
                .filter(|k| wport_manifest::rules::is_loader_env(k))
                .cloned()
                .collect();
            cx.emit(
                &rules::LOADER_ENV_ALLOWED,
                span,
                if loader.is_empty() {
                    format!("[capabilities.{phase}] allows loader variables in env (and sets none)")
                } else {
                    format!("[capabilities.{phase}] sets loader variables: {}", list(&loader))
                },
                "allow-loader-env",
                "every program the phase runs, granted toolchain programs included, loads code from these \
                 variables; keep this only for a test suite running freshly built binaries, and remove it \
                 when the table sets none"
                    .into(),
            );
        }
    }
    let test = portfile.capabilities.phase(Phase::Test);
    if !portfile.build.test && *test != PhaseGrants::default() {
        let span = cx.doc.value(&[Key("capabilities"), Key("test")]);
        cx.emit(
            &rules::TEST_GRANTS_UNUSED,
            span,
            "[capabilities.test] grants capabilities, but the test phase does not run".into(),
            "test phase disabled",
            "set `test = true` in [build] to run the test phase, or remove [capabilities.test]"
                .into(),
        );
    }
}

/// `[runtime]`: an opt-out of confinement, and grants of whole trees that
/// hold the user's secrets or the system, are for a reviewer to see.
fn runtime(portfile: &Portfile, cx: &mut Cx<'_>) {
    for (program, grants) in portfile.runtime.iter() {
        let table = match program {
            None => "[runtime]".to_owned(),
            Some(name) => format!("[runtime.programs.{name}]"),
        };
        let path = |key| match program {
            None => vec![Key("runtime"), Key(key)],
            Some(name) => vec![Key("runtime"), Key("programs"), Key(name), Key(key)],
        };
        // A program table inherits the port's values: report each where it
        // is written, once.
        let inherited = |f: &dyn Fn(&wport_manifest::RuntimeGrants) -> bool| {
            program.is_some() && f(&portfile.runtime.port)
        };
        if !grants.confine && !inherited(&|g| !g.confine) {
            let span = cx.doc.key(&path("confine"));
            cx.emit(
                &rules::RUNTIME_UNCONFINED,
                span,
                format!("{table} sets `confine = false`: the programs run unconfined, with all the user's files and the network"),
                "confine = false",
                "grant what the program needs instead (`read`, `write`, `network`, `exec`); \
                 docs/CAPABILITIES.md lists what the default already allows"
                    .into(),
            );
        }
        let port = &portfile.runtime.port;
        for (key, paths, inherited) in [
            ("read", &grants.read, &port.read),
            ("write", &grants.write, &port.write),
        ] {
            // A program's list is the port's followed by its own additions:
            // report each path in the table that writes it.
            let own = paths
                .iter()
                .filter(|p| program.is_none() || !inherited.contains(p));
            for (i, granted) in own.enumerate() {
                if let Some(why) = broad_runtime_path(granted) {
                    let mut at = path(key);
                    at.push(Index(i));
                    let span = cx.doc.value(&at);
                    cx.emit(
                        &rules::RUNTIME_BROAD_GRANT,
                        span,
                        format!("{table} {key} `{granted}` grants {why}"),
                        "broad grant",
                        "name the program's own directory below it, e.g. `{xdg-config}/NAME`"
                            .into(),
                    );
                }
            }
        }
    }
}

/// Why a `[runtime]` path is too broad to pass unremarked, if it is.
fn broad_runtime_path(path: &str) -> Option<&'static str> {
    Some(match path {
        "{home}" => "the whole home directory (~/.ssh, ~/.gnupg, every dotfile)",
        "{xdg-config}" | "{xdg-data}" | "{xdg-state}" => {
            "every program's configuration or data, credentials included"
        }
        "{xdg-runtime}" => "the user's session sockets (D-Bus, agents)",
        "/etc" | "/usr" | "/var" | "/boot" | "/root" | "/home" | "/proc" | "/sys" | "/dev" => {
            "a whole system tree"
        }
        _ => return None,
    })
}

fn list(items: &[String]) -> String {
    items
        .iter()
        .map(|p| format!("`{p}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
