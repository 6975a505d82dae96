//! Hostile Portfiles (issue 11, item 14): a size cap applied wherever a
//! Portfile is read or parsed, a did-you-mean that a huge key cannot make
//! quadratic, and messages that never echo a megabyte-long name.

#![allow(clippy::disallowed_methods, reason = "a test: mkfifo makes a fixture")]

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use wport_manifest::{ErrorKind, MAX_PORTFILE_BYTES, Portfile};

fn hello() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ports/hello/Portfile.toml");
    std::fs::read_to_string(path).unwrap()
}

/// hello's Portfile with `line` added to its [[source]] table.
fn hello_with_source_line(line: &str) -> String {
    hello().replacen("size = 725946\n", &format!("size = 725946\n{line}\n"), 1)
}

#[test]
fn an_8_mib_portfile_is_refused_by_size_before_it_is_parsed() {
    // The reported attack: an 8 MiB unknown key (43 s, 1.6 GB in `build`).
    let text = hello_with_source_line(&format!("{} = 1", "k".repeat(8 << 20)));
    let errors = Portfile::check(&text, "ports/big/Portfile.toml").unwrap_err();
    assert_eq!(errors.len(), 1);
    let err = &errors[0];
    assert_eq!(
        err.kind(),
        &ErrorKind::TooLarge {
            size: text.len() as u64,
            limit: MAX_PORTFILE_BYTES
        }
    );
    assert_eq!(err.kind().code(), "too-large");
    assert_eq!(err.file(), "ports/big/Portfile.toml");
    let shown = err.to_string();
    assert!(shown.len() < 500, "{} bytes", shown.len());
    assert!(
        shown.contains("ports/big/Portfile.toml") && shown.contains("4194304"),
        "{shown}"
    );

    // Through `load` (what `build` calls): the same refusal, naming the file,
    // and no more than the cap + 1 bytes read.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Portfile.toml");
    std::fs::write(&path, &text).unwrap();
    let err = Portfile::load(&path).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::TooLarge { limit, .. } if *limit == MAX_PORTFILE_BYTES),
        "{err:?}"
    );
    assert_eq!(err.file(), path.display().to_string());
    assert!(err.to_string().contains(&path.display().to_string()));
}

#[test]
fn a_portfile_at_the_cap_is_parsed() {
    // The bound is inclusive: padding with a comment up to exactly the cap.
    let base = hello();
    let pad = MAX_PORTFILE_BYTES as usize - base.len() - 2;
    let text = format!("{base}#{}\n", "x".repeat(pad));
    assert_eq!(text.len() as u64, MAX_PORTFILE_BYTES);
    Portfile::parse(&text, "Portfile.toml").unwrap_or_else(|e| panic!("{e}"));
    let over = format!("{text}\n");
    assert!(matches!(
        Portfile::parse(&over, "Portfile.toml").unwrap_err().kind(),
        ErrorKind::TooLarge { .. }
    ));
}

#[test]
fn a_long_unknown_key_gets_no_suggestion_and_a_short_message() {
    // Under the cap: 3 MiB of key. It is reported as unknown with its full
    // text in the structured error, but no did-you-mean is attempted and the
    // message shows a prefix and the length.
    let key = format!("sha256{}", "5".repeat(3 << 20));
    let text = hello_with_source_line(&format!("{key} = 1"));
    let err = Portfile::parse(&text, "Portfile.toml").unwrap_err();
    match err.kind() {
        ErrorKind::UnknownField {
            field, suggestion, ..
        } => {
            assert_eq!(field.len(), key.len());
            assert_eq!(suggestion, &None);
        }
        other => panic!("{other:?}"),
    }
    let message = err.message();
    assert!(
        message.len() < 300,
        "{} bytes: {message:.300}",
        message.len()
    );
    assert!(
        message.contains(&format!("… ({} bytes)", key.len())),
        "{message}"
    );
    assert!(err.help().is_some_and(|h| h.len() < 1000));
    // The rendered diagnostic quotes the source line, cut to the terminal width.
    let rendered = err.to_string();
    assert!(rendered.len() < 4000, "{} bytes rendered", rendered.len());
}

#[test]
fn a_short_typo_is_still_suggested() {
    let text = hello_with_source_line("mirorrs = []");
    let err = Portfile::parse(&text, "Portfile.toml").unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::UnknownField { suggestion: Some(s), .. } if s == "mirrors"),
        "{err:?}"
    );
}

#[test]
fn control_characters_in_an_unknown_key_are_escaped() {
    // A quoted key can hold an escape sequence; the message must not carry it raw.
    let text = hello_with_source_line("\"x\\u001b]0;owned\\u0007\" = 1");
    let err = Portfile::parse(&text, "Portfile.toml").unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::UnknownField { .. }),
        "{err:?}"
    );
    assert!(!err.message().contains('\u{1b}'), "{:?}", err.message());
    assert!(err.message().contains("\\u{1b}"), "{:?}", err.message());
}

/// Runs `f` on a thread and waits at most 20 s: a regression that blocks
/// fails the test instead of hanging the suite.
fn within_20s<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("blocked: a FIFO Portfile.toml must be refused, not read")
}

#[test]
fn a_fifo_in_place_of_the_portfile_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("Portfile.toml");
    let status = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    let p = path.clone();
    let err = within_20s(move || Portfile::load(&p).unwrap_err());
    assert_eq!(err.kind(), &ErrorKind::Io);
    assert_eq!(err.file(), path.display().to_string());
    assert!(err.to_string().contains("not a regular file"), "{err}");
}

#[test]
fn a_url_over_4096_bytes_is_refused_without_being_echoed() {
    let long = format!("https://example.org/{}.tar.gz", "a".repeat(1 << 20));
    let text = hello().replacen(
        "url = \"https://ftp.gnu.org/gnu/hello/hello-2.10.tar.gz\"",
        &format!("url = \"{long}\""),
        1,
    );
    assert_ne!(text, hello());
    let err = Portfile::parse(&text, "Portfile.toml").unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::InvalidValue { field } if field == "url"),
        "{err:?}"
    );
    let shown = err.to_string();
    assert!(shown.contains("the limit is 4096"), "{shown:.600}");
    assert!(shown.len() < 4000, "{} bytes", shown.len());
    // At the limit it is accepted.
    let edge = format!("https://example.org/{}", "a".repeat(4096 - 20));
    assert_eq!(edge.len(), 4096);
    let text = hello().replacen(
        "url = \"https://ftp.gnu.org/gnu/hello/hello-2.10.tar.gz\"",
        &format!("url = \"{edge}\"\nfile = \"hello-2.10.tar.gz\""),
        1,
    );
    Portfile::parse(&text, "Portfile.toml").unwrap_or_else(|e| panic!("{e}"));
}
