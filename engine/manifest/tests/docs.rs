//! Keeps docs/CAPABILITIES.md honest: its complete Portfile examples parse,
//! and its sample error is what the crate really prints.

use std::path::Path;

use wport_manifest::Portfile;

fn reference() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/CAPABILITIES.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The contents of every fenced block with the given info string.
fn blocks<'a>(doc: &'a str, info: &str) -> Vec<&'a str> {
    let fence = format!("```{info}\n");
    doc.split(fence.as_str())
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap_or(""))
        .collect()
}

#[test]
fn complete_examples_parse() {
    let doc = reference();
    let complete: Vec<&str> = blocks(&doc, "toml")
        .into_iter()
        .filter(|b| b.starts_with("[port]\nname"))
        .collect();
    assert!(
        !complete.is_empty(),
        "no complete Portfile example in docs/CAPABILITIES.md"
    );
    for example in complete {
        if let Err(err) = Portfile::parse(example, "docs/CAPABILITIES.md") {
            panic!("{err}");
        }
    }
}

#[test]
fn sample_error_matches_the_real_rendering() {
    let doc = reference();
    let sample = blocks(&doc, "text")
        .into_iter()
        .find(|b| b.starts_with("error: unknown field `sha265`"))
        .expect("sample error");
    let case = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cases/unknown-field-in-source/Portfile.toml");
    let text = std::fs::read_to_string(case).unwrap();
    let err = Portfile::parse(&text, "ports/hello/Portfile.toml").unwrap_err();
    assert_eq!(sample, err.render(&text));
}
