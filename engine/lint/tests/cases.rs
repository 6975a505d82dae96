//! Data-driven lint cases: `tests/cases/<case>/` is a port directory (a
//! `Portfile.toml`, and whatever files the case needs: `port.wasm`,
//! `files/*.diff`, local distfiles) with `expected.txt`, the human output
//! of `wport lint` on it (every diagnostic, a blank line after each), or
//! `OK` when it must be clean. A case may also hold `expected.json`, the
//! diagnostics' JSON form.
//!
//! The case name says what it must produce: `valid-...` no diagnostic at
//! all; `mixed-...` at least two different rules; anything else starts
//! with the id of a rule it must report (`network-tool-curl` reports
//! `network-tool`). A second test checks that every rule has a case.
//!
//! Components: `valid-own-component-demo` and `grant-never-used` hold a copy
//! of ports/demo/port.wasm (imports no `exec`); the `lua` cases a copy of
//! ports/lua/port.wasm (imports `exec`); `import-exec-ungranted-standard-make`
//! uses the standard make component, built here as `wport` embeds it. The
//! `import-forbidden-*` and `component-sha256-mismatch` cases hold tiny
//! hand-encoded components: the component header, one empty instance type,
//! and one import of it per name — enough for the import reader, which never
//! instantiates anything.
//!
//! `tests/trees/<case>/` are whole ports trees, linted with `lint_tree`, for
//! the rules about dependencies between ports (see [`tree_cases`]).
//!
//! One test per case (the `wport-test-cases` harness): `cargo test -p
//! wport-lint --test cases NAME` runs the cases whose name contains NAME
//! (`cases/NAME` or `trees/NAME`). Run with `WPORT_BLESS=1` to (re)write the
//! expected files from the current output; review the diff before committing
//! it.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use wport_lint::{Diagnostic, Linter, rules};
use wport_manifest::StandardComponent;
use wport_test_cases::{Failed, Trial};

fn main() {
    let mut trials = Vec::new();
    for (kind, cases) in [("cases", cases()), ("trees", tree_cases())] {
        for case in cases {
            let name = format!("{kind}/{}", wport_test_cases::case_name(&case));
            trials.push(Trial::test(name, move || {
                let diagnostics = if kind == "cases" {
                    linter().lint_port(&case)
                } else {
                    linter()
                        .lint_tree(&case)
                        .map_err(|e| format!("{}: {e}", case.display()))?
                };
                check_case(&case, &diagnostics).map_err(Failed::from)
            }));
        }
    }
    trials.push(Trial::test("the_catalogue_does_not_shrink", || {
        the_catalogue_does_not_shrink();
        Ok(())
    }));
    trials.push(Trial::test("every_rule_has_a_case", || {
        every_rule_has_a_case();
        Ok(())
    }));
    trials.push(Trial::test("diagnostics_match_the_catalogue", || {
        diagnostics_match_the_catalogue();
        Ok(())
    }));
    wport_test_cases::run(trials)
}

/// The linter `wport lint` uses: with the standard components, built from
/// their crates the same way the `wport` binary's build script does.
fn linter() -> &'static Linter {
    static LINTER: OnceLock<Linter> = OnceLock::new();
    LINTER.get_or_init(|| {
        let root = wport_guest_build::workspace_root();
        let mut linter = Linter::new();
        for (which, pkg, dir) in [
            (
                StandardComponent::Make,
                "wport-std-make",
                "engine/components/make",
            ),
            (
                StandardComponent::Autotools,
                "wport-std-autotools",
                "engine/components/autotools",
            ),
            (
                StandardComponent::CMake,
                "wport-std-cmake",
                "engine/components/cmake",
            ),
            (
                StandardComponent::Meson,
                "wport-std-meson",
                "engine/components/meson",
            ),
        ] {
            let wasm = wport_guest_build::build_lib(pkg, &root.join(dir));
            let bytes =
                fs::read(&wasm).unwrap_or_else(|e| panic!("reading {}: {e}", wasm.display()));
            linter = linter.standard_component(which, &bytes);
        }
        // The case `quarantined-checksum` pins this digest.
        linter.quarantined_checksums(["0badc0de".repeat(8)])
    })
}

fn cases() -> Vec<PathBuf> {
    case_dirs("tests/cases")
}

/// `tests/trees/<case>/`: a ports tree (port directories, linted together
/// with [`Linter::lint_tree`]) with `expected.txt`, for the rules that
/// need the whole tree (dependency names, cycles, port names). Named like
/// the single-port cases.
fn tree_cases() -> Vec<PathBuf> {
    case_dirs("tests/trees")
}

/// Relative to the crate (cargo runs tests there), so expected files name
/// `tests/cases/<case>/Portfile.toml` in any checkout.
fn case_dirs(root: &str) -> Vec<PathBuf> {
    wport_test_cases::case_dirs(Path::new(root))
}

fn human(diagnostics: &[Diagnostic]) -> String {
    if diagnostics.is_empty() {
        return "OK\n".to_owned();
    }
    diagnostics.iter().map(|d| d.render() + "\n").collect()
}

fn json(diagnostics: &[Diagnostic]) -> String {
    let list: Vec<_> = diagnostics.iter().map(Diagnostic::json).collect();
    serde_json::to_string_pretty(&list).unwrap() + "\n"
}

/// (valid, invalid) cases in `cases`, by name.
fn count(cases: &[PathBuf]) -> (usize, usize) {
    let valid = cases
        .iter()
        .filter(|c| wport_test_cases::case_name(c).starts_with("valid-"))
        .count();
    (valid, cases.len() - valid)
}

/// The catalogues are the spec of the rules: keep them from shrinking
/// unnoticed.
fn the_catalogue_does_not_shrink() {
    let (valid, invalid) = count(&cases());
    eprintln!(
        "{} cases: {valid} valid, {invalid} invalid",
        valid + invalid
    );
    assert!(
        valid >= 10 && invalid >= 30,
        "too few cases: {valid} valid, {invalid} invalid"
    );
    let (valid, invalid) = count(&tree_cases());
    eprintln!(
        "{} tree cases: {valid} valid, {invalid} invalid",
        valid + invalid
    );
    assert!(
        valid >= 1 && invalid >= 3,
        "too few tree cases: {valid} valid, {invalid} invalid"
    );
}

/// One case's diagnostics: the rule its name announces, and its expected
/// files.
fn check_case(case: &Path, diagnostics: &[Diagnostic]) -> Result<(), String> {
    let name = wport_test_cases::case_name(case);
    let mut failures = Vec::new();
    let rules: BTreeSet<&str> = diagnostics.iter().map(|d| d.rule).collect();
    if name.starts_with("valid-") {
        if !diagnostics.is_empty() {
            failures.push(format!(
                "case {name}: expected no diagnostic, got {rules:?}"
            ));
        }
    } else if name.starts_with("mixed-") {
        if rules.len() < 2 {
            failures.push(format!(
                "case {name}: expected several rules, got {rules:?}"
            ));
        }
    } else {
        // The longest rule id the name starts with.
        let expected = rules::ALL
            .iter()
            .filter(|r| name == r.id || name.starts_with(&format!("{}-", r.id)))
            .max_by_key(|r| r.id.len());
        match expected {
            None => failures.push(format!("case {name}: the name starts with no rule id")),
            Some(rule) if !rules.contains(rule.id) => failures.push(format!(
                "case {name}: expected rule `{}`, got {rules:?}",
                rule.id
            )),
            Some(_) => {}
        }
    }
    let mut outputs = vec![("expected.txt", human(diagnostics))];
    if case.join("expected.json").exists() {
        outputs.push(("expected.json", json(diagnostics)));
    }
    for (file, actual) in outputs {
        if let Err(e) = wport_test_cases::check_expected(case, file, &actual) {
            failures.push(format!("case {name}: {e}"));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

/// Every rule has a case that reports it, except the two no port can
/// trigger: `schema` (a schema error kind this linter does not know yet)
/// and `capability-gained` (the diff's; see tests/diff.rs).
fn every_rule_has_a_case() {
    let mut seen = BTreeSet::new();
    for case in cases() {
        for d in linter().lint_port(&case) {
            seen.insert(d.rule);
        }
    }
    for case in tree_cases() {
        for d in linter().lint_tree(&case).unwrap() {
            seen.insert(d.rule);
        }
    }
    let missing: Vec<&str> = rules::ALL
        .iter()
        .map(|r| r.id)
        .filter(|id| {
            !seen.contains(id)
                && *id != rules::SCHEMA_OTHER.id
                && *id != rules::CAPABILITY_GAINED.id
        })
        .collect();
    assert!(missing.is_empty(), "rules without a case: {missing:?}");
}

/// Diagnostics agree with the rule catalogue, and positions are present
/// wherever the Portfile could be read.
fn diagnostics_match_the_catalogue() {
    let trees = tree_cases().into_iter().map(|c| {
        let found = linter().lint_tree(&c).unwrap();
        (c, found)
    });
    for (case, found) in cases()
        .into_iter()
        .map(|c| {
            let found = linter().lint_port(&c);
            (c, found)
        })
        .chain(trees)
    {
        for d in found {
            let rule = rules::by_id(d.rule)
                .unwrap_or_else(|| panic!("{}: unknown rule {}", case.display(), d.rule));
            assert_eq!(d.severity, rule.severity, "{}: {}", case.display(), d.rule);
            if d.rule != rules::UNREADABLE_PORTFILE.id {
                assert!(
                    d.line.is_some() && d.column.is_some(),
                    "{}: {d:?} has no position",
                    case.display()
                );
            }
        }
    }
}
