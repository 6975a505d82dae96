//! `wport lint` end to end: exit codes, the three formats, the capability
//! diff, and the project's own ports tree being clean.

#![allow(
    clippy::disallowed_methods,
    reason = "an end-to-end test: runs the wport binary as a user does"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn case(name: &str) -> PathBuf {
    repo().join("engine/lint/tests/cases").join(name)
}

fn wport(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wport"))
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap()
}

fn lint(args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["lint"];
    all.extend_from_slice(args);
    let out = wport(&all);
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn the_projects_own_ports_are_clean() {
    let (code, stdout, stderr) = lint(&["--deny-warnings", "ports"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains(" 0 errors, 0 warnings"), "{stdout}");
}

#[test]
fn errors_exit_1_and_are_rendered_with_their_rule() {
    let (code, stdout, _) = lint(&[s(&case("network-tool-curl"))]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("error[network-tool]: [capabilities.build] may run `curl`"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("wport lint: 1 port checked, 1 error, 0 warnings\n"),
        "{stdout}"
    );
}

#[test]
fn warnings_pass_unless_denied() {
    let port = case("plain-http-source");
    let (code, stdout, _) = lint(&[s(&port)]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("warning[plain-http]"), "{stdout}");
    let (code, _, _) = lint(&["--deny-warnings", s(&port)]);
    assert_eq!(code, 1);
}

#[test]
fn a_portfile_path_and_several_paths_are_accepted() {
    let (code, stdout, _) = lint(&[
        s(&case("valid-autotools").join("Portfile.toml")),
        s(&case("valid-standard-make")),
    ]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("2 ports checked, 0 errors"), "{stdout}");
    // A port named twice is linted once.
    let summary = |out: String| out.lines().last().unwrap_or_default().to_owned();
    assert_eq!(
        summary(lint(&["ports", "ports/hello"]).1),
        summary(lint(&["ports"]).1)
    );
}

#[test]
fn usage_errors_exit_2() {
    let (code, _, stderr) = lint(&["no/such/dir"]);
    assert_eq!(code, 2, "{stderr}");
    let empty = tempfile::tempdir().unwrap();
    let (code, _, stderr) = lint(&[s(empty.path())]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no port under"), "{stderr}");
    let (code, _, _) = lint(&["--format", "xml", "ports"]);
    assert_eq!(code, 2);
    let (code, _, _) = lint(&["--allow-escalation", "ports"]);
    assert_eq!(code, 2, "--allow-escalation needs --diff");
}

#[test]
fn json_output_is_one_document() {
    let (code, stdout, _) = lint(&["--format", "json", s(&case("mixed-several-problems"))]);
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["ports"], 1);
    assert_eq!(doc["errors"], 3);
    assert_eq!(doc["warnings"], 3);
    let first = &doc["diagnostics"][0];
    assert_eq!(first["rule"], "plain-http");
    assert_eq!(first["severity"], "warning");
    assert_eq!(first["line"], 11);
    assert_eq!(first["column"], 7);
}

#[test]
fn github_output_is_workflow_commands() {
    let (code, stdout, stderr) = lint(&["--format", "github", s(&case("privilege-tool-sudo"))]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let line = stdout.lines().next().unwrap();
    assert!(line.starts_with("::error file="), "{line}");
    assert!(
        line.contains("/Portfile.toml,line=22,col=13,title=privilege-tool::"),
        "{line}"
    );
    assert!(stderr.contains("1 error"), "{stderr}");
}

/// A copy of ports/hello with `edit` applied to its Portfile.
fn hello(tmp: &Path, name: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let dir = tmp.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(repo().join("ports/hello/Portfile.toml")).unwrap();
    std::fs::write(dir.join("Portfile.toml"), edit(text)).unwrap();
    dir
}

#[test]
fn diff_fails_on_a_gain_unless_allowed() {
    let tmp = tempfile::tempdir().unwrap();
    let old = hello(tmp.path(), "old", |t| t);
    let new = hello(tmp.path(), "new", |t| {
        t.replace(
            "[capabilities.build]\nprograms = [\"make\"]",
            "[capabilities.build]\nprograms = [\"make\", \"curl\"]",
        )
    });
    let (code, stdout, _) = lint(&["--diff", s(&old), s(&new)]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("gained   build          program `curl`"),
        "{stdout}"
    );
    assert!(stdout.contains("--allow-escalation"), "{stdout}");

    let (code, stdout, _) = lint(&["--diff", s(&old), s(&new), "--allow-escalation"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("1 gained, 0 lost"), "{stdout}");

    let (code, stdout, _) = lint(&["--diff", s(&old), s(&new), "--format", "json"]);
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["gains"], 1);
    assert_eq!(doc["entries"][0]["direction"], "gain");
    assert_eq!(doc["entries"][0]["phase"], "build");
    assert_eq!(doc["entries"][0]["what"], "program");

    let (code, stdout, _) = lint(&["--diff", s(&old), s(&new), "--format", "github"]);
    assert_eq!(code, 1);
    assert!(stdout.starts_with("::error file="), "{stdout}");
    assert!(
        stdout.contains("title=capability-gained::[capabilities.build] gains program `curl`"),
        "{stdout}"
    );
}

#[test]
fn diff_passes_on_a_loss_and_names_the_port_wide_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let old = hello(tmp.path(), "old", |t| t);
    let new = hello(tmp.path(), "new", |t| {
        t.replace("configure-args = [\"--disable-nls\"]\n", "")
            .replace(
                "[capabilities.configure]\nprograms = [\"./configure\"]\n",
                "",
            )
    });
    let (code, stdout, _) = lint(&["--diff", s(&old.join("Portfile.toml")), s(&new)]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("lost     configure      program `./configure`"),
        "{stdout}"
    );
    assert!(stdout.contains("0 gained, 1 lost"), "{stdout}");
}

#[test]
fn diff_of_a_broken_port_shows_why() {
    let tmp = tempfile::tempdir().unwrap();
    let old = hello(tmp.path(), "old", |t| t);
    let new = hello(tmp.path(), "new", |t| t.replace("size = 725946\n", ""));
    let (code, stdout, _) = lint(&["--diff", s(&old), s(&new)]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("error[weak-checksum]"), "{stdout}");
    let (code, _, _) = lint(&["--diff", s(&old), "no/such/port"]);
    assert_eq!(code, 2);
}

#[test]
fn tree_diff_reports_every_port_changed_added_or_removed_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    let head = tmp.path().join("head");
    // Unchanged in both, changed (gains curl), removed, added.
    hello(&base, "same", |t| t);
    hello(&head, "same", |t| t);
    hello(&base, "grows", |t| t);
    hello(&head, "grows", |t| {
        t.replace(
            "[capabilities.build]\nprograms = [\"make\"]",
            "[capabilities.build]\nprograms = [\"make\", \"curl\"]",
        )
    });
    hello(&base, "gone", |t| t);
    hello(&head, "fresh", |t| t);

    let (code, stdout, _) = lint(&["--diff", s(&base), s(&head)]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("gained   build          program `curl`"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "added port: {}/fresh/Portfile.toml\n",
            head.display()
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "removed port: {}/gone/Portfile.toml\n",
            base.display()
        )),
        "{stdout}"
    );
    assert!(
        stdout.ends_with(
            "tree diff: 1 changed, 1 added, 1 removed, 1 unchanged; 1 capabilities gained\n"
        ),
        "{stdout}"
    );

    let (code, stdout, _) = lint(&["--diff", s(&base), s(&head), "--format", "github"]);
    assert_eq!(code, 1, "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    // The gain is annotated on the line of the new Portfile naming curl.
    let grows = head.join("grows/Portfile.toml");
    let curl_line = std::fs::read_to_string(&grows)
        .unwrap()
        .lines()
        .position(|l| l.contains("\"curl\""))
        .unwrap()
        + 1;
    assert!(
        lines[0].starts_with(&format!(
            "::error file={},line={curl_line},title=capability-gained::",
            s(&grows)
        )),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with("::notice file=")
            && lines[1].contains("fresh/Portfile.toml,line=1,title=port-added::"),
        "{stdout}"
    );
    assert!(
        lines[2].contains("gone/Portfile.toml,line=1,title=port-removed::"),
        "{stdout}"
    );

    let (code, stdout, _) = lint(&[
        "--diff",
        s(&base),
        s(&head),
        "--format",
        "json",
        "--allow-escalation",
    ]);
    assert_eq!(code, 0, "{stdout}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["gains"], 1);
    assert_eq!(doc["unchanged"], 1);
    assert_eq!(doc["changed"].as_array().unwrap().len(), 1);
    assert_eq!(doc["added"].as_array().unwrap().len(), 1);
    assert_eq!(doc["removed"].as_array().unwrap().len(), 1);
}
