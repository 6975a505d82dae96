//! The ports tree as a graph, end to end: `wport deps`, `rdeps`, `search`
//! on a local tree (`--unsigned DIR`) and on a synced signed tree, and the
//! dependency check `wport build` runs before building anything (unknown
//! name, cycle, grant of the wrong kind: exit 2 naming the Portfile and
//! line; a dependency that does not match the signed tree: exit 3).

#![allow(
    clippy::disallowed_methods,
    reason = "an end-to-end test: runs the wport binary as a user does"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(t: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wport"))
        .args(args)
        .current_dir(t)
        .env("XDG_CONFIG_HOME", t.join("cfg"))
        .env("XDG_DATA_HOME", t.join("data"))
        .env("XDG_CACHE_HOME", t.join("cache"))
        .output()
        .unwrap()
}

fn ok(t: &Path, args: &[&str]) -> Output {
    let out = run(t, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `root/name/Portfile.toml`: a valid Portfile-only port with `extra`
/// appended after `[build]`. Returns the Portfile's path.
fn port(root: &Path, name: &str, description: &str, extra: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let text = format!(
        r#"[port]
name = "{name}"
version = "1.0"
description = "{description}"
homepage = "https://example.org/{name}"
license = "MIT"
maintainers = ["A <a@example.org>"]
upstream-contact = "b@example.org"

[[source]]
url = "https://example.org/{name}-1.0.tar.gz"
sha256 = "31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b"
size = 725946

[build]
standard = "make"

[capabilities.build]
programs = ["make"]
{extra}"#
    );
    let path = dir.join("Portfile.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// ncurses <- readline <- lua (lua also build-depends on pkgconf), zlib
/// <- libpng.
fn chain(root: &Path) {
    port(root, "pkgconf", "Package compiler and linker metadata", "");
    port(root, "ncurses", "Terminal handling library", "");
    port(
        root,
        "readline",
        "Line editing library",
        "dependencies = [\"ncurses\"]\n\n[dependencies]\nlib = [\"ncurses\"]\n",
    );
    port(
        root,
        "lua",
        "A small scripting language",
        "dependencies = [\"readline\", \"pkgconf\"]\n\n[dependencies]\nbuild = [\"pkgconf\"]\nlib = [\"readline\"]\n",
    );
    port(root, "zlib", "Compression library", "");
    port(
        root,
        "libpng",
        "PNG reference library",
        "\n[dependencies]\nlib = [\"zlib\"]\n",
    );
}

/// The 1-based line of `needle` in the file at `path`.
fn line_of(path: &Path, needle: &str) -> usize {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not in {}", path.display()))
        + 1
}

#[test]
fn deps_lists_direct_dependencies_by_kind_and_the_whole_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    chain(&t.join("ports"));
    let out = ok(t, &["deps", "--unsigned", "ports", "lua"]);
    assert_eq!(
        stdout(&out),
        "lua 1.0\n  build: pkgconf\n  lib:   readline\n"
    );
    assert!(stderr(&out).contains("UNSIGNED"), "{}", stderr(&out));

    let out = ok(t, &["deps", "--unsigned", "ports", "--json", "lua"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["port"], "lua");
    assert_eq!(doc["dependencies"]["build"], serde_json::json!(["pkgconf"]));
    assert_eq!(doc["dependencies"]["lib"], serde_json::json!(["readline"]));
    assert_eq!(doc["dependencies"]["run"], serde_json::json!([]));

    let out = ok(t, &["deps", "--unsigned", "ports", "--tree", "lua"]);
    assert_eq!(
        stdout(&out),
        "lua 1.0\n  pkgconf (build)\n  readline (lib)\n    ncurses (lib)\n"
    );
    let out = ok(
        t,
        &["deps", "--unsigned", "ports", "--tree", "--json", "lua"],
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["order"],
        serde_json::json!(["ncurses", "pkgconf", "readline", "lua"])
    );
    assert_eq!(
        doc["ports"]["lua"]["lib_closure"],
        serde_json::json!(["ncurses", "readline"])
    );

    let out = ok(t, &["deps", "--unsigned", "ports", "zlib"]);
    assert_eq!(stdout(&out), "zlib 1.0\n  no dependencies\n");
    // An unknown port: exit 1 with a close name.
    let out = run(t, &["deps", "--unsigned", "ports", "readlin"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("did you mean `readline`?"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn deps_tree_reports_a_cycle_with_the_portfile_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let a = port(
        &t.join("ports"),
        "a",
        "A",
        "\n[dependencies]\nlib = [\"b\"]\n",
    );
    port(
        &t.join("ports"),
        "b",
        "B",
        "\n[dependencies]\nrun = [\"a\"]\n",
    );
    let out = run(t, &["deps", "--unsigned", "ports", "--tree", "a"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let expected = format!(
        "error: ports/a/Portfile.toml:{}:8: dependency cycle: a -> b -> a",
        line_of(&a, "lib = [\"b\"]")
    );
    assert!(stderr(&out).contains(&expected), "{}", stderr(&out));
}

#[test]
fn rdeps_and_search_read_the_whole_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    chain(&t.join("ports"));
    port(
        &t.join("ports"),
        "pngtool",
        "Tools for PNG files",
        "\n[dependencies]\nbuild = [\"zlib\"]\nlib = [\"libpng\", \"zlib\"]\n",
    );
    let out = ok(t, &["rdeps", "--unsigned", "ports", "zlib"]);
    assert_eq!(stdout(&out), "libpng (lib)\npngtool (build, lib)\n");
    let out = ok(t, &["rdeps", "--unsigned", "ports", "--json", "readline"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc,
        serde_json::json!({"port": "readline", "rdeps": [{"name": "lua", "kinds": ["lib"]}]})
    );
    let out = ok(t, &["rdeps", "--unsigned", "ports", "lua"]);
    assert_eq!(stdout(&out), "");
    assert!(stderr(&out).contains("no port of the tree depends on lua"));

    // Name and description, ignoring case.
    let out = ok(t, &["search", "--unsigned", "ports", "PNG"]);
    let text = stdout(&out);
    let names: Vec<&str> = text
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(names, ["libpng", "pngtool"]);
    let out = ok(
        t,
        &["search", "--unsigned", "ports", "--json", "line EDITING"],
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["ports"][0]["name"], "readline");
    assert_eq!(doc["ports"].as_array().unwrap().len(), 1);
    let out = run(t, &["search", "--unsigned", "ports", "nothing-like-it"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "");
}

/// `wport build --unsigned ./ports/x` checks the dependencies against
/// `./ports` before anything is fetched or built: exit 2, the Portfile and
/// line, and no build directory.
#[test]
fn build_refuses_dependencies_that_do_not_resolve() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let ports = t.join("ports");
    chain(&ports);
    let typo = port(
        &ports,
        "typo",
        "Misspelt dependency",
        "\n[dependencies]\nlib = [\"zlibb\"]\n",
    );
    let wrong = port(
        &ports,
        "wrongkind",
        "Run dependency granted to build",
        "dependencies = [\"zlib\"]\n\n[dependencies]\nrun = [\"zlib\"]\n",
    );
    port(
        &ports,
        "cyc-a",
        "A",
        "\n[dependencies]\nlib = [\"cyc-b\"]\n",
    );
    port(
        &ports,
        "cyc-b",
        "B",
        "\n[dependencies]\nbuild = [\"cyc-a\"]\n",
    );
    let build = |dir: &str| {
        run(
            t,
            &[
                "build",
                "--unsigned",
                "--build-root",
                t.join("build").to_str().unwrap(),
                dir,
            ],
        )
    };

    let out = build("./ports/typo");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let expected = format!(
        "error: ./ports/typo/Portfile.toml:{}:8: port `typo` declares the lib dependency `zlibb`, which is not a port of the tree (did you mean `zlib`?)",
        line_of(&typo, "zlibb")
    );
    assert!(stderr(&out).contains(&expected), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nothing was built"),
        "{}",
        stderr(&out)
    );

    let out = build("./ports/wrongkind");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let expected = format!(
        "error: ./ports/wrongkind/Portfile.toml:{}:17: phase `build` of port `wrongkind` is granted `zlib`, a run dependency; build may only see build and lib dependencies",
        line_of(&wrong, "dependencies = [\"zlib\"]")
    );
    assert!(stderr(&out).contains(&expected), "{}", stderr(&out));

    let out = build("ports/cyc-b");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("dependency cycle: cyc-a -> cyc-b -> cyc-a"),
        "{}",
        stderr(&out)
    );
    assert!(!t.join("build").join("cyc-b-1.0").exists());
    assert!(!t.join("build").join("typo-1.0").exists());
}

/// Publish `tree/ports/*` as a one-key-per-role TUF repository and sync it.
fn publish_and_sync(t: &Path) {
    for k in ["root", "targets", "snap", "ts"] {
        ok(t, &["key", "generate", k]);
    }
    let k = |n: &str| format!("cfg/wport/keys/{n}");
    ok(
        t,
        &[
            "repo",
            "init",
            "repo",
            "--root-key",
            &k("root.pub"),
            "--root-threshold",
            "1",
            "--targets-key",
            &k("targets.pub"),
            "--snapshot-key",
            &k("snap.pub"),
            "--timestamp-key",
            &k("ts.pub"),
        ],
    );
    ok(
        t,
        &["repo", "sign", "repo", "root", "--key", &k("root.key")],
    );
    ok(t, &["repo", "add", "repo", "--ports", "tree"]);
    ok(
        t,
        &[
            "repo",
            "sign",
            "repo",
            "targets",
            "--key",
            &k("targets.key"),
        ],
    );
    ok(
        t,
        &[
            "repo",
            "timestamp",
            "repo",
            "--snapshot-key",
            &k("snap.key"),
            "--timestamp-key",
            &k("ts.key"),
        ],
    );
    ok(
        t,
        &[
            "sync",
            "--from",
            "repo",
            "--root",
            "repo/metadata/1.root.json",
        ],
    );
}

#[test]
fn the_synced_tree_is_verified_port_by_port() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let ports = t.join("tree/ports");
    chain(&ports);
    port(
        &ports,
        "typo",
        "Misspelt dependency",
        "\n[dependencies]\nlib = [\"zlibb\"]\n",
    );
    publish_and_sync(t);

    // The synced tree by default.
    let out = ok(t, &["deps", "--tree", "lua"]);
    assert_eq!(
        stdout(&out),
        "lua 1.0\n  pkgconf (build)\n  readline (lib)\n    ncurses (lib)\n"
    );
    assert!(!stderr(&out).contains("UNSIGNED"), "{}", stderr(&out));
    let out = ok(t, &["rdeps", "ncurses"]);
    assert_eq!(stdout(&out), "readline (lib)\n");
    let out = ok(t, &["search", "--json", "compression"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["ports"][0]["name"], "zlib");

    // A signed port whose dependency is not in the tree is refused by
    // build, before anything is built.
    let build = |name: &str| {
        run(
            t,
            &[
                "build",
                "--build-root",
                t.join("build").to_str().unwrap(),
                name,
            ],
        )
    };
    let out = build("typo");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("declares the lib dependency `zlibb`, which is not a port of the tree (did you mean `zlib`?)"),
        "{}",
        stderr(&out)
    );

    // A tampered dependency: the root verifies, its dependency does not.
    let synced = t.join("data/wport/trust/targets/ports/ncurses/Portfile.toml");
    let mut bytes = std::fs::read(&synced).unwrap();
    bytes.extend_from_slice(b"\n# slipped in\n");
    std::fs::write(&synced, &bytes).unwrap();
    let out = build("lua");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("port `ncurses`") && stderr(&out).contains("signed ports tree"),
        "{}",
        stderr(&out)
    );
    assert!(!t.join("build").join("lua-1.0").exists());
    let out = run(t, &["deps", "--tree", "lua"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    // Whole-tree questions still answer, leave the port out, and fail.
    let out = run(t, &["search", "library"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(!stdout(&out).contains("ncurses"), "{}", stdout(&out));
    assert!(stdout(&out).contains("readline"), "{}", stdout(&out));
    // Ports that do not reach it are unaffected.
    ok(t, &["deps", "--tree", "libpng"]);
}

#[test]
fn lint_reports_tree_wide_dependency_errors_with_their_line() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let ports = t.join("ports");
    chain(&ports);
    let typo = port(
        &ports,
        "typo",
        "Misspelt dependency",
        "\n[dependencies]\nlib = [\"zlibb\"]\n",
    );
    let out = run(t, &["lint", "ports"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let line = line_of(&typo, "zlibb");
    assert!(
        stdout(&out).contains(&format!(
            "error[dependency-unknown]: port `typo` declares the lib dependency `zlibb`, which is not a port of the tree (did you mean `zlib`?)\n  --> ports/typo/Portfile.toml:{line}:8"
        )),
        "{}",
        stdout(&out)
    );
    let out = run(t, &["lint", "--format", "github", "ports"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains(&format!(
            "::error file=ports/typo/Portfile.toml,line={line},col=8,title=dependency-unknown::"
        )),
        "{}",
        stdout(&out)
    );
    // A single port is not resolved against anything.
    let out = run(t, &["lint", "ports/typo"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}
