//! Data-driven Portfile cases: `tests/cases/<case>/Portfile.toml` and
//! `expected.txt`, which holds the rendered error, or `OK` for a Portfile
//! that must parse.
//!
//! Run with `WPORT_BLESS=1` to (re)write every `expected.txt` from the
//! current output; review the diff before committing it.

use std::fs;
use std::path::Path;

use wport_manifest::Portfile;

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
        let actual = match Portfile::parse(&text, &file) {
            Ok(_) => "OK\n".to_owned(),
            Err(err) => err.render(&text),
        };
        let expected_path = case.join("expected.txt");
        if bless {
            fs::write(&expected_path, &actual).unwrap_or_else(|e| panic!("case {name}: writing expected.txt: {e}"));
        }
        match fs::read_to_string(&expected_path) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => failures.push(format!(
                "case {name}: output differs from expected.txt\n--- expected\n{expected}--- actual\n{actual}"
            )),
            Err(_) => failures.push(format!("case {name}: no expected.txt (run with WPORT_BLESS=1 to create it)\n--- actual\n{actual}")),
        }
        if actual == "OK\n" { valid += 1 } else { invalid += 1 }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n\n{}", failures.len(), cases.len(), failures.join("\n"));
    eprintln!("{} cases: {valid} valid, {invalid} invalid", cases.len());
}
