//! `wport build` end to end on the embedded demo port: the real binary, the
//! real component, a real build directory.

#![allow(
    clippy::disallowed_methods,
    reason = "an end-to-end test: runs the wport binary as a user does"
)]

use std::path::Path;
use std::process::Command;

fn wport() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wport"))
}

fn private_dir(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).unwrap();
}

/// Run `wport build` with every state directory inside `tmp`.
fn build(tmp: &Path, port: Option<&Path>) -> std::process::Output {
    let cache = tmp.join("cache");
    private_dir(&cache);
    let mut cmd = wport();
    cmd.arg("build").arg("--build-root").arg(tmp.join("build"));
    if let Some(p) = port {
        cmd.arg("--unsigned").arg(p);
    }
    cmd.env("XDG_CACHE_HOME", &cache).output().unwrap()
}

#[test]
fn demo_builds_into_a_destroot() {
    let tmp = tempfile::tempdir().unwrap();
    let out = build(tmp.path(), None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = tmp.path().join("build/demo-1.0");
    assert!(
        stdout.contains(&format!("destroot: {}", dir.join("destroot").display())),
        "{stdout}"
    );

    let prefix = dir.join("destroot/opt/wport");
    // configure replaced the placeholders; destroot installed with modes.
    let script = std::fs::read_to_string(prefix.join("bin/wport-hello")).unwrap();
    assert!(
        script.contains("/opt/wport") && !script.contains("@PREFIX@"),
        "{script}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(prefix.join("bin/wport-hello"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    // An absolute symlink made through the host call, stored verbatim.
    assert_eq!(
        std::fs::read_link(prefix.join("bin/wport-hi")).unwrap(),
        Path::new("/opt/wport/bin/wport-hello")
    );
    // post-destroot removed the stray file inside a directory with a space.
    let notes = prefix.join("share/doc/wport-demo/release notes");
    assert!(notes.is_dir());
    assert!(!notes.join(".DS_Store").exists());

    let log = std::fs::read_to_string(dir.join("build.log")).unwrap();
    for phase in ["patch", "configure", "build", "destroot", "post-destroot"] {
        assert!(
            log.contains(&format!("phase {phase} done")),
            "{phase} missing from log:\n{log}"
        );
    }
    assert!(log.contains("fix-typo.diff"), "{log}");
    // Every reinplace edit is in the log: pattern, count, file (issue 14).
    assert!(
        log.contains("reinplace `@PREFIX@`: 1 replacement in ")
            && log.contains("reinplace `@VERSION@`: "),
        "{log}"
    );
}

#[test]
fn second_build_uses_the_component_cache() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(build(tmp.path(), None).status.success());
    assert!(build(tmp.path(), None).status.success());
    let log = std::fs::read_to_string(tmp.path().join("build/demo-1.0/build.log")).unwrap();
    assert!(log.contains("precompiled, from cache"), "{log}");
}

/// Copy the demo port out of the repository so a test can damage it.
fn demo_copy(tmp: &Path) -> std::path::PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ports/demo");
    let dst = tmp.join("port");
    std::fs::create_dir_all(dst.join("files")).unwrap();
    for f in [
        "Portfile.toml",
        "port.wasm",
        "wport-demo-1.0.tar.gz",
        "files/fix-typo.diff",
    ] {
        std::fs::copy(src.join(f), dst.join(f)).unwrap();
    }
    dst
}

#[test]
fn tampered_distfile_is_refused_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let port = demo_copy(tmp.path());
    let tarball = port.join("wport-demo-1.0.tar.gz");
    let mut bytes = std::fs::read(&tarball).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0xff;
    std::fs::write(&tarball, &bytes).unwrap();

    let out = build(tmp.path(), Some(&port));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("port demo@1.0"), "{stderr}");
    assert!(stderr.contains("wport-demo-1.0.tar.gz"), "{stderr}");
    assert!(stderr.contains("sha256"), "{stderr}");
    // Nothing was extracted and no phase ran.
    let work = tmp.path().join("build/demo-1.0/work");
    assert_eq!(std::fs::read_dir(&work).unwrap().count(), 0);
    let log = std::fs::read_to_string(tmp.path().join("build/demo-1.0/build.log")).unwrap();
    assert!(!log.contains("phase patch"), "{log}");
}

#[test]
fn tampered_component_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let port = demo_copy(tmp.path());
    let wasm = port.join("port.wasm");
    let mut bytes = std::fs::read(&wasm).unwrap();
    bytes.push(0);
    std::fs::write(&wasm, &bytes).unwrap();

    let out = build(tmp.path(), Some(&port));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("port.wasm") && stderr.contains("does not match the pinned"),
        "{stderr}"
    );
}

#[test]
fn tampered_patchfile_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let port = demo_copy(tmp.path());
    let patch = port.join("files/fix-typo.diff");
    let text = std::fs::read_to_string(&patch).unwrap();
    std::fs::write(&patch, text.replace("+", "+ ")).unwrap();

    let out = build(tmp.path(), Some(&port));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("fix-typo.diff"), "{stderr}");
}

#[test]
fn malformed_portfile_names_file_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let port = demo_copy(tmp.path());
    let pf = port.join("Portfile.toml");
    let text = std::fs::read_to_string(&pf).unwrap();
    std::fs::write(&pf, text.replace("sha256 = \"c262", "sha265 = \"c262")).unwrap();

    let out = build(tmp.path(), Some(&port));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("Portfile.toml:"), "{stderr}");
    assert!(stderr.contains("sha265"), "{stderr}");
    assert!(stderr.contains("did you mean `sha256`"), "{stderr}");
}

/// The committed demo component is exactly what its crate builds to (guest
/// builds are reproducible), and the Portfile pins those bytes.
#[test]
fn committed_demo_component_is_reproducible_from_source() {
    use sha2::Digest;
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ports/demo");
    let committed = std::fs::read(demo.join("port.wasm")).unwrap();
    let rebuilt = std::fs::read(env!("WPORT_DEMO_REBUILT")).unwrap();
    let hex = |b: &[u8]| format!("{:x}", sha2::Sha256::digest(b));
    assert_eq!(
        hex(&rebuilt),
        hex(&committed),
        "ports/demo/port.wasm is stale: run ports/demo/build-component.sh and re-pin"
    );
    let portfile = std::fs::read_to_string(demo.join("Portfile.toml")).unwrap();
    assert!(portfile.contains(&format!("component-sha256 = \"{}\"", hex(&committed))));
}

/// A standard component runs native commands, so it imports `exec`; a
/// Portfile that grants no program to any phase must be refused before the
/// component is compiled or anything is extracted into a phase.
#[test]
fn component_importing_exec_without_a_grant_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let port = demo_copy(tmp.path());
    let pf = port.join("Portfile.toml");
    let text = std::fs::read_to_string(&pf).unwrap();
    let start = text.find("[build]").unwrap();
    let head = &text[..start];
    std::fs::write(&pf, format!("{head}[build]\nstandard = \"make\"\n")).unwrap();

    let out = build(tmp.path(), Some(&port));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("imports `wport:port/exec"), "{stderr}");
    assert!(stderr.contains("grants no program"), "{stderr}");
    let log = std::fs::read_to_string(tmp.path().join("build/demo-1.0/build.log")).unwrap();
    assert!(!log.contains("phase patch"), "{log}");
}

/// The README shows the demo's Portfile pins; they must be the real ones.
#[test]
fn readme_shows_the_demo_pins() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let portfile = std::fs::read_to_string(root.join("ports/demo/Portfile.toml")).unwrap();
    for line in portfile
        .lines()
        .filter(|l| l.starts_with("sha256 =") || l.starts_with("component-sha256 ="))
    {
        let pin = line.split('#').next().unwrap().trim();
        assert!(readme.contains(pin), "README.md does not show `{pin}`");
    }
}
