//! Compiles guest crates (the guest SDK's users: standard components, ports,
//! hostile test guests) to `wasm32-wasip2` components from a build script.
//!
//! Guests are members of the main workspace but never build for the host. A
//! build script calls [`build_lib`] or [`build_examples`], which run a nested
//! `cargo build --target wasm32-wasip2 --profile guest` with its own target
//! directory (`target/wasm`), so the nested cargo never waits on the outer
//! one's lock.
//!
//! Guest builds are made reproducible: the workspace root and the cargo home
//! are remapped in debug strings, so the same sources give the same component
//! bytes in any checkout, and a Portfile can pin a port component's sha256.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The target triple every guest is built for.
pub const TARGET: &str = "wasm32-wasip2";
/// The cargo profile guests are built with (see the workspace Cargo.toml).
pub const PROFILE: &str = "guest";

/// Root of the workspace this crate lives in.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("engine/guest-build sits two levels below the workspace root")
        .to_path_buf()
}

/// Directory the nested guest builds write to.
pub fn target_dir() -> PathBuf {
    workspace_root().join("target").join("wasm")
}

/// Directory holding the built `.wasm` files.
pub fn out_dir() -> PathBuf {
    target_dir().join(TARGET).join(PROFILE)
}

fn cargo_home() -> Option<PathBuf> {
    if let Some(h) = std::env::var_os("CARGO_HOME") {
        return Some(PathBuf::from(h));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo"))
}

/// A `cargo build` for guests with the outer build's settings scrubbed.
fn guest_cargo(package: &str) -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let root = workspace_root();
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .arg("build")
        .arg("--quiet")
        .arg("--locked")
        .arg("--target")
        .arg(TARGET)
        .arg("--profile")
        .arg(PROFILE)
        .arg("-p")
        .arg(package)
        .env("CARGO_TARGET_DIR", target_dir());
    // Settings of the outer (host) build must not leak into the guest build.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_PROFILE_")
            || key.starts_with("CARGO_CFG_")
            || key.starts_with("CARGO_FEATURE_")
            || matches!(
                &*key,
                "RUSTFLAGS"
                    | "CARGO_BUILD_TARGET"
                    | "CARGO_BUILD_RUSTFLAGS"
                    | "RUSTC_WORKSPACE_WRAPPER"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_ENCODED_RUSTFLAGS"
                    | "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_PKG_NAME"
                    | "OUT_DIR"
                    | "TARGET"
                    | "HOST"
                    | "PROFILE"
                    | "OPT_LEVEL"
                    | "DEBUG"
                    | "NUM_JOBS"
            )
        {
            cmd.env_remove(&*key);
        }
    }
    let mut flags = vec![format!("--remap-path-prefix={}=/wport", root.display())];
    if let Some(home) = cargo_home() {
        flags.push(format!("--remap-path-prefix={}=/cargo", home.display()));
        // Registry checkouts live in a directory named after the registry's
        // host; keep that name out of the components (the later flag wins).
        if let Ok(entries) = std::fs::read_dir(home.join("registry").join("src")) {
            let mut dirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            dirs.sort();
            for dir in dirs {
                flags.push(format!(
                    "--remap-path-prefix={}=/cargo/registry",
                    dir.display()
                ));
            }
        }
    }
    cmd.env("CARGO_ENCODED_RUSTFLAGS", flags.join("\x1f"));
    cmd
}

fn run(mut cmd: Command, what: &str) {
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("could not start cargo to build {what}: {e}"));
    assert!(
        status.success(),
        "building {what} for {TARGET} failed ({status}): see the compiler output above \
         (a missing target is installed with `rustup target add {TARGET}`)"
    );
}

fn rerun_if_changed(package_dir: &Path) {
    let root = workspace_root();
    for p in [
        root.join("wit"),
        root.join("guest-sdk"),
        root.join("Cargo.lock"),
        package_dir.to_path_buf(),
    ] {
        println!("cargo:rerun-if-changed={}", p.display());
    }
}

/// Build the `cdylib` of guest `package` (found in `package_dir`) and return
/// the path of its component.
pub fn build_lib(package: &str, package_dir: &Path) -> PathBuf {
    rerun_if_changed(package_dir);
    let mut cmd = guest_cargo(package);
    cmd.arg("--lib");
    run(cmd, package);
    let path = out_dir().join(format!("{}.wasm", package.replace('-', "_")));
    assert!(path.exists(), "{} was not produced", path.display());
    path
}

/// Build every listed `cdylib` example of guest `package` and return each
/// example's name with the path of its component.
pub fn build_examples(
    package: &str,
    package_dir: &Path,
    examples: &[String],
) -> Vec<(String, PathBuf)> {
    rerun_if_changed(package_dir);
    let mut cmd = guest_cargo(package);
    cmd.arg("--examples");
    run(cmd, &format!("{package} examples"));
    examples
        .iter()
        .map(|name| {
            let path = out_dir()
                .join("examples")
                .join(format!("{}.wasm", name.replace('-', "_")));
            assert!(path.exists(), "{} was not produced", path.display());
            (name.clone(), path)
        })
        .collect()
}
