//! The public API: what valid Portfiles turn into, and the structured side
//! of errors (kinds, positions, help) that tools rely on.

use std::path::{Path, PathBuf};
use std::time::Duration;

use wport_manifest::{
    BuildKind, Capabilities, ErrorKind, ManifestError, Phase, Portfile, Sha256Hex, SourceLocation,
    StandardComponent,
};

fn case_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cases")
        .join(name)
        .join("Portfile.toml")
}

fn case(name: &str) -> Portfile {
    Portfile::load(&case_path(name)).unwrap_or_else(|err| panic!("{err}"))
}

fn case_error(name: &str) -> ManifestError {
    let text = std::fs::read_to_string(case_path(name)).unwrap();
    Portfile::parse(&text, "Portfile.toml").expect_err("case must fail")
}

fn sha(hex: &str) -> Sha256Hex {
    hex.parse().unwrap()
}

#[test]
fn autotools_port_with_params() {
    let port = case("valid-autotools-params");
    assert_eq!(port.port.name, "hello");
    assert_eq!(port.port.version, "2.10");
    assert_eq!(port.port.revision, 1);
    assert_eq!(port.port.maintainers.len(), 2);
    assert_eq!(port.port.upstream_contact, "bug-hello@gnu.org");
    assert_eq!(port.port.source_date_epoch, Some(1_400_000_000));

    let [source] = port.sources.as_slice() else {
        panic!("one source")
    };
    assert_eq!(source.distfile_name(), "hello-2.10.tar.gz");
    assert_eq!(source.file, None, "`file` stays as written");
    assert_eq!(
        source.location(),
        SourceLocation::Remote("https://ftp.gnu.org/gnu/hello/hello-2.10.tar.gz")
    );
    assert_eq!(
        source.sha256,
        sha("31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b")
    );
    assert_eq!(source.size, 725_946);
    assert!(source.extract);

    assert_eq!(
        port.build.kind,
        BuildKind::Standard(StandardComponent::Autotools)
    );
    assert_eq!(port.build.worksrcdir.as_deref(), Some("hello-2.10"));
    assert!(port.build.test);
    assert_eq!(
        port.build.params["configure-args"],
        ["--disable-nls", "--without-libintl-prefix"]
    );
    assert_eq!(
        port.build.params["build-target"],
        ["all"],
        "a string param is a one-element list"
    );
    assert!(port.build.params["make-args"].is_empty());
    assert_eq!(
        port.build.params["use-parallel-build"],
        ["false"],
        "a boolean param is its word"
    );

    let configure = port.capabilities.phase(Phase::Configure);
    assert_eq!(configure.programs, ["sh", "cc", "make", "./configure"]);
    assert_eq!(configure.env["CFLAGS"], "-O2");
    assert!(!configure.allow_loader_env);
    assert_eq!(configure.timeout, None);
    assert!(
        port.capabilities.phase(Phase::Patch).programs.is_empty(),
        "no table, no programs"
    );
    assert!(
        port.capabilities
            .phase(Phase::PostDestroot)
            .programs
            .is_empty()
    );
}

#[test]
fn minimal_port_is_denied_everything() {
    let port = case("valid-minimal");
    assert!(port.sources.is_empty());
    assert!(port.patchfiles.is_empty());
    assert_eq!(port.port.revision, 0);
    assert_eq!(port.port.source_date_epoch, None);
    assert_eq!(
        port.build.kind,
        BuildKind::Standard(StandardComponent::Make)
    );
    assert!(!port.build.test);
    assert_eq!(port.capabilities, Capabilities::default());
    assert!(!port.capabilities.grants_any_program());
    for (phase, grants) in port.capabilities.iter() {
        assert!(
            grants.programs.is_empty() && grants.dependencies.is_empty() && grants.env.is_empty(),
            "{phase}"
        );
        assert!(!grants.allow_loader_env, "{phase}");
    }
}

#[test]
fn own_component_port() {
    let port = case("valid-own-component");
    assert_eq!(
        port.build.kind,
        BuildKind::Component {
            path: "build/port.wasm".into(),
            sha256: Sha256Hex::from_bytes([0xff; 32])
        }
    );
    assert_eq!(port.build.params["mode"], ["release"]);
    assert_eq!(port.port.version, "0.3.1-beta+b2");
}

#[test]
fn patchfiles_mirrors_and_local_sources() {
    let port = case("valid-patchfiles-mirrors");
    let names: Vec<&str> = port.sources.iter().map(|s| s.distfile_name()).collect();
    assert_eq!(
        names,
        ["zlib-1.3.1.tar.gz", "zlib.pc.in", "extra-data.tar.xz"]
    );
    assert_eq!(port.sources[0].mirrors.len(), 3);
    assert_eq!(
        port.sources[1].location(),
        SourceLocation::Local("dist/zlib.pc.in")
    );
    assert!(!port.sources[1].extract);
    let patches: Vec<&str> = port.patchfiles.iter().map(|p| p.file.as_str()).collect();
    assert_eq!(
        patches,
        ["patch-Makefile.diff", "darwin/patch-configure.diff"],
        "file order is apply order"
    );
    assert_eq!(port.capabilities.phase(Phase::Patch).programs, ["patch"]);
}

#[test]
fn grants_in_every_phase() {
    let port = case("valid-multi-phase-grants");
    assert_eq!(port.dependencies.lib, ["zlib", "openssl3"]);
    assert!(port.dependencies.contains("ca-certificates"));
    assert!(!port.dependencies.contains("openssl"));
    let caps = &port.capabilities;
    assert!(caps.grants_any_program());
    assert!(
        caps.phase(Phase::Patch).programs.is_empty(),
        "an empty table grants nothing"
    );
    assert_eq!(
        caps.phase(Phase::Configure).timeout,
        Some(Duration::from_secs(1200))
    );
    assert_eq!(
        caps.phase(Phase::Configure).dependencies,
        ["pkgconfig", "zlib", "openssl3"]
    );
    let test = caps.phase(Phase::Test);
    assert!(test.allow_loader_env);
    assert_eq!(test.env["LD_LIBRARY_PATH"], "lib/.libs");
    assert_eq!(test.timeout, Some(Duration::from_secs(3600)));
    assert_eq!(caps.phase(Phase::PostDestroot).programs, ["strip"]);
    let phases: Vec<Phase> = caps.iter().map(|(phase, _)| phase).collect();
    assert_eq!(phases, Phase::ALL);
}

#[test]
fn unknown_field_is_structured() {
    let err = case_error("unknown-field-in-source");
    assert_eq!(
        err.kind(),
        &ErrorKind::UnknownField {
            field: "sha265".into(),
            table: "[[source]]".into(),
            expected: ["url", "mirrors", "sha256", "size", "file", "extract"]
                .map(String::from)
                .to_vec(),
            suggestion: Some("sha256".into()),
        }
    );
    assert_eq!((err.line(), err.column()), (Some(12), Some(1)));
    assert_eq!(err.message(), "unknown field `sha265` in [[source]]");
    assert_eq!(err.label(), "unknown field");
    assert!(err.help().unwrap().ends_with("did you mean `sha256`?"));
    assert_eq!(err.file(), "Portfile.toml");
    assert_eq!(err.kind().code(), "unknown-field");
}

#[test]
fn unknown_phase_lists_the_phases() {
    let err = case_error("unknown-field-phase");
    let ErrorKind::UnknownField {
        field,
        table,
        expected,
        ..
    } = err.kind()
    else {
        panic!("{err}")
    };
    assert_eq!(
        (field.as_str(), table.as_str()),
        ("compile", "[capabilities]")
    );
    let phases: Vec<&str> = Phase::ALL.iter().map(|p| p.as_str()).collect();
    assert_eq!(expected, &phases);
}

#[test]
fn security_outcomes_are_variants() {
    assert_eq!(
        case_error("loader-env-refused").kind(),
        &ErrorKind::LoaderEnvRefused {
            phase: Phase::Build,
            variable: "LD_PRELOAD".into()
        }
    );
    assert_eq!(
        case_error("loader-env-refused-dyld").kind(),
        &ErrorKind::LoaderEnvRefused {
            phase: Phase::Configure,
            variable: "DYLD_INSERT_LIBRARIES".into()
        }
    );
    assert_eq!(
        case_error("reserved-env-path").kind(),
        &ErrorKind::ReservedEnv {
            phase: Phase::Build,
            variable: "PATH".into()
        }
    );
    assert_eq!(
        case_error("undeclared-dependency-in-phase").kind(),
        &ErrorKind::UndeclaredDependency {
            phase: Phase::Configure,
            dependency: "openssl".into()
        }
    );
    assert_eq!(
        case_error("unsafe-path-patchfile-dotdot").kind(),
        &ErrorKind::UnsafePath {
            field: "file".into(),
            path: "../../../.ssh/authorized_keys".into()
        }
    );
    assert_eq!(
        case_error("unsafe-path-program-absolute").kind(),
        &ErrorKind::UnsafePath {
            field: "programs".into(),
            path: "/bin/sh".into()
        }
    );
    assert_eq!(
        case_error("duplicate-distfile-name").kind(),
        &ErrorKind::Duplicate {
            field: "file".into(),
            value: "hello-2.10.tar.gz".into()
        }
    );
}

#[test]
fn missing_field_points_at_the_table_header() {
    let text = std::fs::read_to_string(case_path("missing-field-source-size")).unwrap();
    let err = Portfile::parse(&text, "Portfile.toml").unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::MissingField {
            field: "size".into(),
            table: "[[source]]".into()
        }
    );
    assert_eq!(&text[err.span().unwrap()], "[[source]]");
}

#[test]
fn second_of_two_sources_is_the_one_reported() {
    let text = "[port]\nname = \"a\"\nversion = \"1\"\ndescription = \"d\"\nhomepage = \"https://a.example/\"\n\
                license = \"MIT\"\nmaintainers = [\"m\"]\nupstream-contact = \"u\"\n\
                [[source]]\nurl = \"https://a.example/a.tar.gz\"\nsha256 = \"0000000000000000000000000000000000000000000000000000000000000000\"\nsize = 1\n\
                [[source]]\nurl = \"https://a.example/b.tar.gz\"\nsize = 1\n\
                [build]\nstandard = \"make\"\n";
    let err = Portfile::parse(text, "Portfile.toml").unwrap_err();
    assert_eq!(err.line(), Some(13), "{err}");
}

#[test]
fn display_is_the_rendered_diagnostic() {
    let text = std::fs::read_to_string(case_path("wrong-type-revision")).unwrap();
    let err = Portfile::parse(&text, "ports/hello/Portfile.toml").unwrap_err();
    assert_eq!(err.to_string(), err.render(&text).trim_end());
    assert!(
        err.to_string()
            .contains("--> ports/hello/Portfile.toml:9:12"),
        "{err}"
    );
    assert!(
        err.render_styled(&text).contains('\u{1b}'),
        "styled output has ANSI colours"
    );
}

#[test]
fn load_reports_unreadable_files() {
    let err = Portfile::load(Path::new("/nonexistent/wport/Portfile.toml")).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Io);
    assert_eq!(err.file(), "/nonexistent/wport/Portfile.toml");
    assert_eq!((err.line(), err.column(), err.span()), (None, None, None));
    // The OS error is in the message, and so not also the source: a chain
    // printer would say it twice (issue 14). `io_error` gives its kind.
    assert!(std::error::Error::source(&err).is_none());
    assert_eq!(
        err.io_error().map(std::io::Error::kind),
        Some(std::io::ErrorKind::NotFound)
    );
    assert!(
        err.to_string()
            .contains("cannot read /nonexistent/wport/Portfile.toml: No such file or directory"),
        "{err}"
    );
}

#[test]
fn load_names_errors_by_the_path_given() {
    let path = case_path("syntax-unquoted-string");
    let err = Portfile::load(&path).unwrap_err();
    assert_eq!(err.file(), path.display().to_string());
    assert_eq!(err.kind(), &ErrorKind::Syntax);
}

#[test]
fn tricky_inputs_never_panic() {
    // Spans at the end of input, multi-byte characters, empty documents.
    for text in [
        "",
        "\n",
        "[port",
        "é = 1",
        "[port]\nname = \"é",
        "[[source]]\nurl = 1",
        "a.b.c = 1",
        "[port]\nname=\"\u{0}\"",
    ] {
        let err = Portfile::parse(text, "Portfile.toml").unwrap_err();
        let _ = err.render(text);
        let _ = err.render("");
        let _ = err.to_string();
    }
}

#[test]
fn capabilities_can_be_built_in_code() {
    let mut caps = Capabilities::default();
    assert!(!caps.grants_any_program());
    caps.phase_mut(Phase::Build).programs.push("make".into());
    assert!(caps.grants_any_program());
    assert_eq!(caps.phase(Phase::Build).programs, ["make"]);
}

#[test]
fn check_reports_every_broken_table_in_file_order() {
    let text = std::fs::read_to_string(case_path("invalid-value-several-tables")).unwrap();
    let errors = Portfile::check(&text, "Portfile.toml").unwrap_err();
    let codes: Vec<&str> = errors.iter().map(|e| e.kind().code()).collect();
    assert_eq!(
        codes,
        [
            "invalid-value",
            "invalid-value",
            "unsafe-path",
            "loader-env-refused",
            "undeclared-dependency"
        ]
    );
    let lines: Vec<usize> = errors.iter().map(|e| e.line().unwrap()).collect();
    assert!(lines.is_sorted(), "{lines:?}");
    let first = Portfile::parse(&text, "Portfile.toml").unwrap_err();
    assert_eq!(
        first.message(),
        errors[0].message(),
        "parse reports check's first error"
    );
}

#[test]
fn check_stops_at_schema_errors() {
    let text = std::fs::read_to_string(case_path("unknown-field-in-source")).unwrap();
    assert_eq!(
        Portfile::check(&text, "Portfile.toml").unwrap_err().len(),
        1
    );
}

#[test]
fn limits_are_optional_and_typed() {
    let port = case("valid-limits");
    assert_eq!(port.limits.memory, Some(8 << 30));
    assert_eq!(port.limits.processes, Some(2048));
    // Without a [limits] table, the engine's defaults apply.
    let minimal = case("valid-minimal");
    assert_eq!(minimal.limits, wport_manifest::BuildLimits::default());
    assert!(matches!(
        case_error("invalid-value-limits-memory-unit").kind(),
        ErrorKind::InvalidValue { field } if field == "memory"
    ));
}

#[test]
fn a_misspelt_standard_param_is_an_unknown_field_with_a_suggestion() {
    let text = std::fs::read_to_string(case_path("valid-autotools-params"))
        .unwrap()
        .replace("configure-args =", "configure-arg =");
    let err = Portfile::parse(&text, "Portfile.toml").expect_err("misspelt key must fail");
    match err.kind() {
        ErrorKind::UnknownField {
            field,
            table,
            suggestion,
            expected,
        } => {
            assert_eq!(field, "configure-arg");
            assert_eq!(table, "[build.params]");
            assert_eq!(suggestion.as_deref(), Some("configure-args"));
            assert_eq!(
                expected,
                &StandardComponent::Autotools
                    .params()
                    .iter()
                    .map(|k| (*k).to_owned())
                    .collect::<Vec<_>>()
            );
        }
        other => panic!("expected UnknownField, got {other:?}"),
    }
    assert_eq!(err.line(), Some(23), "{err}");
}

#[test]
fn every_standard_component_declares_its_params() {
    for which in StandardComponent::ALL {
        let params = which.params();
        assert!(params.contains(&"reinplace"), "{which}");
        assert!(params.contains(&"use-parallel-build"), "{which}");
        assert!(params.contains(&"cflags"), "{which}");
    }
}

/// A `reinplace` pattern that is not a regex fails the load, as lint and
/// `wport build` run it before anything is fetched (issue 14: it failed the
/// patch phase), pointing at the edit itself in a list; placeholders are
/// expanded first, as the guest does, so `{prefix}` is not a repetition.
#[test]
fn a_reinplace_pattern_that_is_not_a_regex_is_an_invalid_value() {
    let base = std::fs::read_to_string(case_path("valid-autotools-params")).unwrap();
    let with = |edits: &str| {
        let text = base.replace(
            "[build.params]\n",
            &format!("[build.params]\nreinplace = [\n{edits}]\n"),
        );
        Portfile::parse(&text, "Portfile.toml").map(|_| ())
    };
    with("  \"s|{prefix}/share|{prefix}/lib|g Makefile.in\",\n  \"s|a{{2}}|b| x.c\",\n")
        .unwrap_or_else(|e| panic!("{e}"));
    with("  \"s|\\\\(x\\\\)|y| x.c\",\n  \"s/a\\\\/b/c/g x.c\",\n")
        .unwrap_or_else(|e| panic!("{e}"));

    let err = with("  \"s|ok|fine| x.c\",\n  \"s|gettext(\\\"Hi|_(\\\"Hi|g src/hello.c\",\n")
        .expect_err("an unclosed group must fail");
    assert!(
        matches!(err.kind(), ErrorKind::InvalidValue { field } if field == "reinplace"),
        "{err:?}"
    );
    assert!(
        err.message()
            .contains("its pattern is not a valid regex: unclosed group"),
        "{err}"
    );
    let reinplace_line = base
        .lines()
        .position(|l| l == "[build.params]")
        .expect("a [build.params] table")
        + 1;
    // The second element, on its own line, column 3.
    assert_eq!(
        (err.line(), err.column()),
        (Some(reinplace_line + 3), Some(3)),
        "{err}"
    );

    let err = with("  \"s|{prefx}|x| x.c\",\n").expect_err("an unknown placeholder must fail");
    assert!(err.message().contains("unknown placeholder"), "{err}");
    let err =
        with("  \"s|\\\\p{{Greek}}|x| x.c\",\n").expect_err("no Unicode classes in components");
    assert!(err.message().contains("not a valid regex"), "{err}");
}
