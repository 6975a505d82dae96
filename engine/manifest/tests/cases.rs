//! Data-driven Portfile cases: `tests/cases/<case>/Portfile.toml` and
//! `expected.txt`, which holds the rendered errors (every error
//! [`Portfile::check`] reports, separated by a blank line), or `OK` for a
//! Portfile that must parse.
//!
//! A case's name starts with the [`ErrorKind::code`] it must fail with
//! (`unknown-field-in-source` fails with `unknown-field`), or `valid-`;
//! the runner checks that too, so the structured kind a linter reports is
//! tested alongside the rendered text.
//!
//! Run with `WPORT_BLESS=1` to (re)write every `expected.txt` from the
//! current output; review the diff before committing it.

use std::fs;
use std::path::Path;

use wport_manifest::{ErrorKind, Portfile};

#[test]
fn portfile_cases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let bless = std::env::var_os("WPORT_BLESS").is_some_and(|v| v == "1");
    let mut cases: Vec<_> = fs::read_dir(&root)
        .expect("reading tests/cases")
        .map(|entry| entry.expect("reading tests/cases").path())
        .filter(|path| path.is_dir())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases under {}", root.display());

    let mut failures = Vec::new();
    let (mut valid, mut invalid) = (0, 0);
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let text = fs::read_to_string(case.join("Portfile.toml"))
            .unwrap_or_else(|e| panic!("case {name}: reading Portfile.toml: {e}"));
        // A stable, relative name so expected files do not depend on the checkout.
        let file = format!("cases/{name}/Portfile.toml");
        let result = Portfile::check(&text, &file);
        let code = result.as_ref().err().map(|errors| errors[0].kind().code());
        match (name.strip_prefix("valid-"), code) {
            (Some(_), None) => {}
            (Some(_), Some(code)) => failures.push(format!(
                "case {name}: expected to parse, failed with `{code}`"
            )),
            (None, None) => failures.push(format!("case {name}: expected an error, parsed")),
            (None, Some(code)) if name.starts_with(code) => {}
            (None, Some(code)) => failures.push(format!(
                "case {name}: failed with `{code}`, which its name does not start with"
            )),
        }
        let actual = match &result {
            Ok(_) => "OK\n".to_owned(),
            Err(errors) => errors
                .iter()
                .map(|err| err.render(&text))
                .collect::<Vec<_>>()
                .join("\n"),
        };
        let expected_path = case.join("expected.txt");
        if bless {
            fs::write(&expected_path, &actual)
                .unwrap_or_else(|e| panic!("case {name}: writing expected.txt: {e}"));
        }
        match fs::read_to_string(&expected_path) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => failures.push(format!(
                "case {name}: output differs from expected.txt\n--- expected\n{expected}--- actual\n{actual}"
            )),
            Err(_) => failures.push(format!("case {name}: no expected.txt (run with WPORT_BLESS=1 to create it)\n--- actual\n{actual}")),
        }
        if actual == "OK\n" {
            valid += 1
        } else {
            invalid += 1
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    eprintln!("{} cases: {valid} valid, {invalid} invalid", cases.len());
    // The catalogue is the spec of the error classes: keep it from shrinking
    // unnoticed.
    assert!(
        valid >= 5 && invalid >= 20,
        "too few cases: {valid} valid, {invalid} invalid"
    );
}

/// Every [`ErrorKind`] except `Io` (no file to show) has at least one case.
#[test]
fn every_error_kind_has_a_case() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let names: Vec<String> = fs::read_dir(&root)
        .expect("reading tests/cases")
        .map(|entry| {
            entry
                .expect("reading tests/cases")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let kinds = [
        ErrorKind::Syntax,
        ErrorKind::UnknownField {
            field: String::new(),
            table: String::new(),
            expected: Vec::new(),
            suggestion: None,
        },
        ErrorKind::MissingField {
            field: String::new(),
            table: String::new(),
        },
        ErrorKind::WrongType {
            field: String::new(),
            expected: String::new(),
        },
        ErrorKind::InvalidValue {
            field: String::new(),
        },
        ErrorKind::UnsafePath {
            field: String::new(),
            path: String::new(),
        },
        ErrorKind::Conflict {
            field: String::new(),
            other: String::new(),
        },
        ErrorKind::UndeclaredDependency {
            phase: wport_manifest::Phase::Build,
            dependency: String::new(),
        },
        ErrorKind::LoaderEnvRefused {
            phase: wport_manifest::Phase::Build,
            variable: String::new(),
        },
        ErrorKind::ReservedEnv {
            phase: wport_manifest::Phase::Build,
            variable: String::new(),
        },
        ErrorKind::Duplicate {
            field: String::new(),
            value: String::new(),
        },
    ];
    for kind in kinds {
        assert!(
            names.iter().any(|name| name.starts_with(kind.code())),
            "no case for `{}`",
            kind.code()
        );
    }
}
