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
//! One test per case (the `wport-test-cases` harness): `cargo test -p
//! wport-manifest --test cases NAME` runs one. Run with `WPORT_BLESS=1` to
//! (re)write every `expected.txt` from the current output; review the diff
//! before committing it.

use std::fs;
use std::path::{Path, PathBuf};

use wport_manifest::{ErrorKind, Portfile};
use wport_test_cases::{Failed, Trial};

fn main() {
    let cases = wport_test_cases::case_dirs(&cases_root());
    let mut trials: Vec<Trial> = cases
        .iter()
        .map(|case| {
            let case = case.clone();
            Trial::test(wport_test_cases::case_name(&case), move || {
                portfile_case(&case).map_err(Failed::from)
            })
        })
        .collect();
    trials.push(Trial::test("the_catalogue_does_not_shrink", move || {
        the_catalogue_does_not_shrink(&cases);
        Ok(())
    }));
    trials.push(Trial::test("every_error_kind_has_a_case", || {
        every_error_kind_has_a_case();
        Ok(())
    }));
    wport_test_cases::run(trials)
}

fn cases_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases")
}

/// One case: the error kind its name announces, and its rendered output.
fn portfile_case(case: &Path) -> Result<(), String> {
    let name = wport_test_cases::case_name(case);
    let text = fs::read_to_string(case.join("Portfile.toml"))
        .map_err(|e| format!("case {name}: reading Portfile.toml: {e}"))?;
    // A stable, relative name so expected files do not depend on the checkout.
    let file = format!("cases/{name}/Portfile.toml");
    let result = Portfile::check(&text, &file);
    let code = result.as_ref().err().map(|errors| errors[0].kind().code());
    let mut failures = Vec::new();
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
    let actual = render(&text, &result);
    if let Err(e) = wport_test_cases::check_expected(case, "expected.txt", &actual) {
        failures.push(format!("case {name}: {e}"));
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

/// `OK`, or every error [`Portfile::check`] reported, rendered.
fn render(text: &str, result: &Result<Portfile, Vec<wport_manifest::ManifestError>>) -> String {
    match result {
        Ok(_) => "OK\n".to_owned(),
        Err(errors) => errors
            .iter()
            .map(|err| err.render(text))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// The catalogue is the spec of the error classes: keep it from shrinking
/// unnoticed.
fn the_catalogue_does_not_shrink(cases: &[PathBuf]) {
    let (mut valid, mut invalid) = (0, 0);
    for case in cases {
        let name = wport_test_cases::case_name(case);
        let text = fs::read_to_string(case.join("Portfile.toml"))
            .unwrap_or_else(|e| panic!("case {name}: reading Portfile.toml: {e}"));
        if Portfile::check(&text, &format!("cases/{name}/Portfile.toml")).is_ok() {
            valid += 1
        } else {
            invalid += 1
        }
    }
    eprintln!("{} cases: {valid} valid, {invalid} invalid", cases.len());
    assert!(
        valid >= 5 && invalid >= 20,
        "too few cases: {valid} valid, {invalid} invalid"
    );
}

/// Every [`ErrorKind`] except `Io` (no file to show) has at least one case.
fn every_error_kind_has_a_case() {
    let root = cases_root();
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
