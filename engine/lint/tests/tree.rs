//! Finding ports in a tree, and linting a tree in parallel in a stable order.

use std::path::Path;

const CLEAN: &str = r#"[port]
name = "NAME"
version = "1.0"
description = "d"
homepage = "https://example.org/"
license = "MIT"
maintainers = ["A <a@example.org>"]
upstream-contact = "b@example.org"

[[source]]
url = "https://example.org/NAME-1.0.tar.gz"
sha256 = "31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b"
size = 1

[build]
standard = "make"

[capabilities.build]
programs = ["make"]
"#;

fn port(dir: &Path, name: &str, extra: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("Portfile.toml"),
        CLEAN.replace("NAME", name) + extra,
    )
    .unwrap();
}

#[test]
fn ports_are_found_below_categories_but_not_in_hidden_target_or_linked_dirs() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    port(&t.join("a"), "a", "");
    port(&t.join("net/b"), "b", "");
    port(&t.join(".git/c"), "c", "");
    port(&t.join("target/d"), "d", "");
    // A port's own subdirectories are not searched.
    port(&t.join("a/files/e"), "e", "");
    std::os::unix::fs::symlink(t.join("net"), t.join("linked")).unwrap();
    let found: Vec<String> = wport_lint::find_ports(t)
        .unwrap()
        .iter()
        .map(|p| p.strip_prefix(t).unwrap().display().to_string())
        .collect();
    assert_eq!(found, ["a", "net/b"]);
    // A port directory is a tree of one.
    assert_eq!(wport_lint::find_ports(&t.join("a")).unwrap(), [t.join("a")]);
    assert!(wport_lint::find_ports(&t.join("missing")).is_err());
}

#[test]
fn a_large_tree_is_linted_in_port_order() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    for i in 0..200 {
        // Every seventh port has one finding.
        let extra = if i % 7 == 0 {
            "\n[capabilities.destroot]\nprograms = [\"curl\"]\n"
        } else {
            ""
        };
        port(&t.join(format!("p{i:03}")), &format!("p{i:03}"), extra);
    }
    let diagnostics = wport_lint::lint_tree(t).unwrap();
    let files: Vec<&str> = diagnostics.iter().map(|d| d.file.as_str()).collect();
    let expected: Vec<String> = (0..200)
        .filter(|i| i % 7 == 0)
        .map(|i| {
            t.join(format!("p{i:03}/Portfile.toml"))
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(files, expected);
    assert!(diagnostics.iter().all(|d| d.rule == "network-tool"));
}
