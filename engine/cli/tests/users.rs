//! Issue 14's "What users expect": `--json` on the installed-package
//! queries, `info`'s description/homepage/license, `shellenv`, `log`,
//! completions and man pages, through the real binary.

#![allow(
    clippy::disallowed_methods,
    reason = "an end-to-end test: runs the wport binary as a user does and sh to check what it printed"
)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use wport_registry::manifest::Provenance;
use wport_registry::{PackageMeta, create_package};

const WPORT: &str = env!("CARGO_BIN_EXE_wport");

fn wport(args: &[&str]) -> Output {
    Command::new(WPORT).args(args).output().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn json(o: &Output) -> Value {
    serde_json::from_str(&ok(o)).unwrap()
}

/// Installs `tool` 1.0 (a file, a symlink, a directory) into `prefix`,
/// with `about` as its recorded description/homepage/license.
fn install_tool(tmp: &Path, prefix: &Path, about: Provenance) {
    let key = wport_trust::SecretKey::from_seed(&[15; 32]).unwrap();
    let keys = tmp.join("trusted");
    std::fs::create_dir_all(&keys).unwrap();
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(
        keys.join("packager.pub"),
        serde_json::to_vec(&key.public().to_tuf()).unwrap(),
    )
    .unwrap();
    let tree = tmp.join("tree");
    std::fs::create_dir_all(tree.join("bin")).unwrap();
    std::fs::write(tree.join("bin/tool"), "#!/bin/sh\n").unwrap();
    std::os::unix::fs::symlink("tool", tree.join("bin/t")).unwrap();
    let pkg = tmp.join("tool-1.0_0.wpkg");
    let meta = PackageMeta {
        name: "tool".into(),
        version: "1.0".into(),
        revision: 0,
        prefix: prefix.to_string_lossy().into_owned(),
        dependencies: vec![],
        source_date_epoch: 1_700_000_000,
        provenance: about,
    };
    create_package(&tree, &meta, &key, &pkg).unwrap();
    let o = Command::new(WPORT)
        .args(["install", pkg.to_str().unwrap(), "--prefix"])
        .arg(prefix)
        .arg("--keys")
        .arg(&keys)
        .output()
        .unwrap();
    ok(&o);
}

fn scratch() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let prefix = tmp.path().canonicalize().unwrap().join("prefix");
    (tmp, prefix)
}

#[test]
fn list_info_contents_owner_print_json_and_info_shows_what_the_portfile_said() {
    let (tmp, prefix) = scratch();
    install_tool(
        tmp.path(),
        &prefix,
        Provenance {
            description: "A tool for tests".into(),
            homepage: "https://example.org/tool".into(),
            license: "MIT".into(),
            ..Provenance::default()
        },
    );
    let p = prefix.to_str().unwrap();

    let list = json(&wport(&["list", "--json", "--prefix", p]));
    assert_eq!(
        list,
        serde_json::json!([{"name": "tool", "version": "1.0", "revision": 0}])
    );

    let info = json(&wport(&["info", "tool", "--json", "--prefix", p]));
    assert_eq!(info["description"], "A tool for tests");
    assert_eq!(info["homepage"], "https://example.org/tool");
    assert_eq!(info["license"], "MIT");
    assert_eq!(info["files"], 1);
    assert_eq!(info["symlinks"], 1);
    let text = ok(&wport(&["info", "tool", "--prefix", p]));
    assert!(
        text.contains("  description:       A tool for tests\n")
            && text.contains("  homepage:          https://example.org/tool\n")
            && text.contains("  license:           MIT\n"),
        "{text}"
    );

    let contents = json(&wport(&["contents", "tool", "--json", "--prefix", p]));
    let bin = format!("{p}/bin");
    assert_eq!(
        contents,
        serde_json::json!([
            {"path": bin, "kind": "directory"},
            {"path": format!("{bin}/t"), "kind": "symlink", "target": "tool"},
            {"path": format!("{bin}/tool"), "kind": "file"},
        ])
    );

    let owner = json(&wport(&["owner", "bin/tool", "--json", "--prefix", p]));
    assert_eq!(
        owner,
        serde_json::json!({"path": format!("{bin}/tool"), "kind": "file", "owners": ["tool"]})
    );
    let dir = json(&wport(&["owner", &bin, "--json", "--prefix", p]));
    assert_eq!(dir["kind"], "directory");
    assert_eq!(dir["owners"], serde_json::json!(["tool"]));
    // Not provided: still one JSON document, and exit 1 as in text mode.
    let none = wport(&["owner", "bin/nothing", "--json", "--prefix", p]);
    assert_eq!(none.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&none.stdout).unwrap();
    assert_eq!(v["owners"], serde_json::json!([]));
}

#[test]
fn info_of_a_package_made_before_description_was_recorded_says_so() {
    let (tmp, prefix) = scratch();
    install_tool(tmp.path(), &prefix, Provenance::default());
    let text = ok(&wport(&[
        "info",
        "tool",
        "--prefix",
        prefix.to_str().unwrap(),
    ]));
    assert!(
        text.contains("  description:       (not recorded in this package)\n"),
        "{text}"
    );
}

#[test]
fn a_signer_cannot_put_terminal_escapes_into_info() {
    let (tmp, prefix) = scratch();
    let key = wport_trust::SecretKey::from_seed(&[16; 32]).unwrap();
    let tree = tmp.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    let meta = PackageMeta {
        name: "tool".into(),
        version: "1.0".into(),
        revision: 0,
        prefix: prefix.to_string_lossy().into_owned(),
        dependencies: vec![],
        source_date_epoch: 0,
        provenance: Provenance {
            description: "fine\x1b]0;owned\x07".into(),
            ..Provenance::default()
        },
    };
    let err = create_package(&tree, &meta, &key, &tmp.path().join("t.wpkg")).unwrap_err();
    assert!(
        matches!(&err, wport_registry::RegistryError::Malformed { reason, .. }
            if reason == "description contains a control character"),
        "{err:?}"
    );
}

#[test]
fn shellenv_puts_the_prefix_first_on_path_and_manpath_in_sh() {
    let out = ok(&wport(&[
        "shellenv",
        "--shell",
        "sh",
        "--prefix",
        "/opt/it's here",
    ]));
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!("{out}\nprintf '%s\\n' \"$PATH\" \"$MANPATH\""))
        .env("PATH", "/usr/bin:/bin")
        .env_remove("MANPATH")
        .output()
        .unwrap();
    let shown = ok(&o);
    assert_eq!(
        shown,
        "/opt/it's here/bin:/opt/it's here/sbin:/usr/bin:/bin\n\
         /opt/it's here/share/man:\n"
    );
    // fish syntax, checked as text (fish may not be installed here).
    let fish = ok(&wport(&["shellenv", "--shell", "fish"]));
    assert_eq!(
        fish,
        "set --global --export PATH '/opt/wport/bin' '/opt/wport/sbin' $PATH;\n\
         set --global --export MANPATH '/opt/wport/share/man' $MANPATH '';\n"
    );
    // The shell comes from $SHELL when not given.
    let o = Command::new(WPORT)
        .arg("shellenv")
        .env("SHELL", "/usr/bin/fish")
        .output()
        .unwrap();
    assert_eq!(ok(&o), fish);
    let rel = wport(&["shellenv", "--prefix", "opt"]);
    assert_eq!(rel.status.code(), Some(1));
}

#[test]
fn log_prints_the_newest_build_log_of_a_port() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for (dir, text) in [
        ("lua-5.4.6", "old lua\n"),
        ("lua-5.4.7", "new lua\n"),
        ("lua-readline-1.0", "not lua\n"),
    ] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
        std::fs::write(root.join(dir).join("build.log"), text).unwrap();
        // Distinct modification times, in the order written.
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let r = root.to_str().unwrap();
    assert_eq!(ok(&wport(&["log", "lua", "--build-root", r])), "new lua\n");
    assert_eq!(
        ok(&wport(&["log", "lua@5.4.6", "--build-root", r])),
        "old lua\n"
    );
    assert_eq!(
        ok(&wport(&["log", "lua-readline", "--build-root", r])),
        "not lua\n"
    );
    assert_eq!(
        ok(&wport(&["log", "lua", "--path", "--build-root", r])),
        format!("{r}/lua-5.4.7/build.log\n")
    );
    let o = wport(&["log", "zlib", "--build-root", r]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!(
            "error: no build log of zlib in {r} (build it with `wport build zlib`, or name a version: zlib@VERSION)\n"
        )
    );
}

#[test]
fn completions_and_man_pages_cover_every_verb() {
    let help = ok(&wport(&["--help"]));
    let verbs: Vec<&str> = help
        .split("Commands:\n")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|v| *v != "help")
        .collect();
    assert!(verbs.contains(&"shellenv") && verbs.contains(&"install"));
    for shell in ["bash", "zsh", "fish"] {
        let script = ok(&wport(&["completions", shell]));
        for v in &verbs {
            assert!(script.contains(v), "{shell} completion lacks {v}");
        }
    }
    let o = Command::new("bash")
        .arg("-n")
        .arg("-c")
        .arg(ok(&wport(&["completions", "bash"])))
        .output()
        .unwrap();
    ok(&o);

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("man1");
    ok(&wport(&["man", dir.to_str().unwrap()]));
    let top = std::fs::read_to_string(dir.join("wport.1")).unwrap();
    assert!(top.starts_with(".ie \\n(.g .ds Aq"), "{top}");
    for v in &verbs {
        let page = std::fs::read_to_string(dir.join(format!("wport-{v}.1")))
            .unwrap_or_else(|e| panic!("wport-{v}.1: {e}"));
        assert!(page.contains(&format!(".TH wport-{v} 1")), "{page}");
    }
}
