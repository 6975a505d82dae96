//! Snapshots (insta) of every verb's `--help`, nested verbs included, and
//! of the main error messages with their exit codes, through the real
//! binary. The verbs are read from `wport --help` itself, so a new verb
//! gets a snapshot (and fails until it is reviewed and accepted:
//! `INSTA_UPDATE=always cargo test --release -p wport --test
//! help_snapshots`, or `cargo insta accept`).

#![allow(
    clippy::disallowed_methods,
    reason = "an end-to-end test: runs the wport binary as a user does"
)]

use std::process::{Command, Output};

const WPORT: &str = env!("CARGO_BIN_EXE_wport");

fn run(args: &[&str]) -> Output {
    Command::new(WPORT)
        .args(args)
        // Help and errors uncoloured whatever the caller's environment.
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .output()
        .unwrap()
}

/// The verbs a help text lists under `Commands:` (without `help`).
fn verbs(help: &str) -> Vec<String> {
    let Some(section) = help.split("Commands:\n").nth(1) else {
        return Vec::new();
    };
    section
        .lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|v| *v != "help")
        .map(str::to_owned)
        .collect()
}

fn help_of(path: &[String]) -> String {
    let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
    args.push("--help");
    let o = run(&args);
    assert_eq!(o.status.code(), Some(0), "wport {args:?}");
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn every_verbs_help() {
    let top = help_of(&[]);
    insta::assert_snapshot!("help", top);
    let mut queue: Vec<Vec<String>> = verbs(&top).into_iter().map(|v| vec![v]).collect();
    let mut seen = 0;
    while let Some(path) = queue.pop() {
        let text = help_of(&path);
        for sub in verbs(&text) {
            let mut p = path.clone();
            p.push(sub);
            queue.push(p);
        }
        insta::assert_snapshot!(format!("help_{}", path.join("_")), text);
        seen += 1;
    }
    // The verbs of issue 14 are among them.
    assert!(seen > 25, "{seen} verbs");
}

/// `exit: N`, then stderr and stdout, as one snapshot.
fn outcome(args: &[&str]) -> String {
    let o = run(args);
    format!(
        "$ wport {}\nexit: {}\n--- stderr\n{}--- stdout\n{}",
        args.join(" "),
        o.status
            .code()
            .map_or_else(|| "signal".into(), |c| c.to_string()),
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    )
}

#[test]
fn main_error_messages_and_exit_codes() {
    let cases: [(&str, &[&str]); 8] = [
        ("unknown_verb", &["frobnicate"]),
        ("missing_argument", &["install"]),
        (
            "lint_missing_path",
            &["lint", "/nonexistent-wport-snapshot/ports"],
        ),
        (
            "lint_allow_escalation_alone",
            &["lint", "--allow-escalation"],
        ),
        (
            "log_without_builds",
            &[
                "log",
                "zlib",
                "--build-root",
                "/nonexistent-wport-snapshot/build",
            ],
        ),
        ("shellenv_relative_prefix", &["shellenv", "--prefix", "opt"]),
        (
            "query_of_a_missing_prefix",
            &["list", "--prefix", "/nonexistent-wport-snapshot/prefix"],
        ),
        (
            "build_unsigned_missing_port",
            &[
                "build",
                "--unsigned",
                "/nonexistent-wport-snapshot/ports/zlib",
            ],
        ),
    ];
    for (name, args) in cases {
        insta::assert_snapshot!(format!("error_{name}"), outcome(args));
    }
}

#[test]
fn no_color_turns_off_the_colour_clicolor_force_turns_on() {
    let usage_error = |no_color: bool| {
        let mut c = Command::new(WPORT);
        c.arg("frobnicate").env("CLICOLOR_FORCE", "1");
        if no_color {
            c.env("NO_COLOR", "1");
        } else {
            c.env_remove("NO_COLOR");
        }
        String::from_utf8(c.output().unwrap().stderr).unwrap()
    };
    assert!(
        usage_error(false).contains("\x1b["),
        "{}",
        usage_error(false)
    );
    let plain = usage_error(true);
    assert!(!plain.contains('\x1b'), "{plain:?}");
    assert!(plain.starts_with("error: unrecognized subcommand 'frobnicate'"));
}
