//! Mangled Portfiles never panic the parser or the renderer, and every error
//! points inside the text it was given.
//!
//! Deterministic: every truncation of each valid case, and a fixed sequence
//! of single-character substitutions.

use std::fs;
use std::path::Path;

use wport_manifest::Portfile;

fn valid_cases() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut texts = Vec::new();
    for entry in fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("valid-")
        {
            texts.push(fs::read_to_string(path.join("Portfile.toml")).unwrap());
        }
    }
    assert!(!texts.is_empty());
    texts
}

fn check(text: &str) {
    if let Err(err) = Portfile::parse(text, "Portfile.toml") {
        let span = err.span().expect("parse errors have a span");
        assert!(
            span.start <= span.end && span.end <= text.len(),
            "{span:?} outside {} bytes",
            text.len()
        );
        let line = err.line().unwrap();
        assert!(
            line >= 1 && line <= text.lines().count().max(1) + 1,
            "line {line}"
        );
        assert!(err.column().unwrap() >= 1);
        let rendered = err.render(text);
        assert!(rendered.starts_with("error: "), "{rendered}");
        let _ = err.render(""); // rendering against the wrong text must not panic either
    }
}

#[test]
fn truncations() {
    for text in valid_cases() {
        for (at, _) in text.char_indices() {
            check(&text[..at]);
        }
    }
}

#[test]
fn substitutions() {
    const REPLACEMENTS: [&str; 10] = ["\"", "[", "]", "=", "\n", "é", "\0", "'", "{", "1"];
    // A small linear congruential generator: reproducible without a dependency.
    let mut state: u64 = 0x5eed;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as usize
    };
    for text in valid_cases() {
        let boundaries: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        for _ in 0..400 {
            let i = boundaries[next() % boundaries.len()];
            let end = text[i..].chars().next().map_or(i, |c| i + c.len_utf8());
            let mutated = format!(
                "{}{}{}",
                &text[..i],
                REPLACEMENTS[next() % REPLACEMENTS.len()],
                &text[end..]
            );
            check(&mutated);
        }
    }
}

#[test]
fn crlf_line_endings() {
    for text in valid_cases() {
        let crlf = text.replace('\n', "\r\n");
        Portfile::parse(&crlf, "Portfile.toml").unwrap_or_else(|e| panic!("{e}"));
    }
    let text = "[port]\r\nname = \"a\"\r\nname = \"b\"\r\n";
    let err = Portfile::parse(text, "Portfile.toml").unwrap_err();
    assert_eq!(err.line(), Some(3));
    let rendered = err.render(text);
    assert!(rendered.contains("first defined here"), "{rendered}");
    assert!(rendered.contains("2 | name = \"a\""), "{rendered}");
}
