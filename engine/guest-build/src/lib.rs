//! Compiles guest crates (the guest SDK's users: standard components, ports,
//! hostile test guests) to `wasm32-wasip2` components from a build script.
//!
//! Guests are members of the main workspace but never build for the host. A
//! build script calls [`build_lib`] or [`build_examples`], which run a nested
//! `cargo build --target wasm32-wasip2 --profile guest` with its own target
//! directory (`target/wasm`), so the nested cargo never waits on the outer
//! one's lock.
//!
//! A machine whose toolchain lacks the `wasm32-wasip2` target gets it
//! installed here, through rustup, once, and is told so: rustup does not apply
//! `rust-toolchain.toml`'s `targets` to a toolchain that is already installed
//! when `RUSTUP_AUTO_INSTALL=0`, which is how a fresh machine of ours is set
//! up (see [`ensure_target`]).
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
///
/// Found at run time from the package cargo is building or testing
/// (`CARGO_MANIFEST_DIR` of the build script or test that calls this):
/// cargo keys a path package's artifacts by its path relative to the
/// workspace, so a compiled copy of this crate is reused by a moved
/// checkout or a worktree sharing the target directory, and the directory
/// it was compiled in may be gone. Outside cargo, where this crate was
/// compiled.
pub fn workspace_root() -> PathBuf {
    let is_root = |dir: &Path| {
        std::fs::read_to_string(dir.join("Cargo.toml"))
            .is_ok_and(|toml| toml.lines().any(|l| l.trim() == "[workspace]"))
    };
    if let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR")
        && let Some(root) = Path::new(&dir).ancestors().find(|d| is_root(d))
    {
        return root.to_path_buf();
    }
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
#[allow(
    clippy::disallowed_methods,
    reason = "build-script code: runs cargo, rustc and rustup to compile guests; never part of wport"
)]
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

/// The sysroot directory holding the standard library for `target`, as the
/// compiler of this build reports it (it need not exist).
#[allow(
    clippy::disallowed_methods,
    reason = "build-script code: runs cargo, rustc and rustup to compile guests; never part of wport"
)]
fn target_libdir(rustc: &std::ffi::OsStr, target: &str) -> Option<PathBuf> {
    let out = Command::new(rustc)
        .args(["--print", "target-libdir", "--target", target])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let dir = String::from_utf8(out.stdout).ok()?;
    Some(PathBuf::from(dir.trim()))
}

/// Whether the compiler has a standard library for [`TARGET`].
fn target_installed(rustc: &std::ffi::OsStr) -> bool {
    target_libdir(rustc, TARGET)
        .and_then(|dir| std::fs::read_dir(dir).ok())
        .is_some_and(|mut entries| entries.next().is_some())
}

/// Make sure the toolchain building this crate can build for [`TARGET`],
/// installing the target with `rustup target add` when it is missing.
///
/// Several build scripts (the CLI's, the tests', the benchmark's) may get here
/// at once: a lock file in the guest target directory lets one install while
/// the others wait and then find it installed. Without rustup the build stops
/// with the command to run.
#[allow(
    clippy::disallowed_methods,
    reason = "build-script code: runs cargo, rustc and rustup to compile guests; never part of wport"
)]
pub fn ensure_target() {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    if target_installed(&rustc) {
        return;
    }
    std::fs::create_dir_all(target_dir()).expect("creating the guest target directory");
    let lock_path = target_dir().join(".rustup-target-add.lock");
    let lock = std::fs::File::create(&lock_path)
        .unwrap_or_else(|e| panic!("creating {}: {e}", lock_path.display()));
    lock.lock()
        .unwrap_or_else(|e| panic!("locking {}: {e}", lock_path.display()));
    if target_installed(&rustc) {
        return;
    }
    let mut rustup = Command::new("rustup");
    rustup.args(["target", "add", TARGET]);
    // The proxy that started this build names its toolchain; add the target
    // to that one, not to whatever `rustup default` says.
    let toolchain = std::env::var("RUSTUP_TOOLCHAIN").ok();
    if let Some(toolchain) = &toolchain {
        rustup.args(["--toolchain", toolchain]);
    }
    let toolchain_name = toolchain.as_deref().unwrap_or("this toolchain");
    eprintln!(
        "wport-guest-build: the {TARGET} target is missing from {toolchain_name}; \
         installing it with `rustup target add {TARGET}` (guest components are built for it)"
    );
    let status = rustup.status().unwrap_or_else(|e| {
        panic!(
            "the {TARGET} target is missing and rustup could not be started ({e}); \
             install the target for your toolchain by hand and build again"
        )
    });
    assert!(
        status.success() && target_installed(&rustc),
        "`rustup target add {TARGET}` failed ({status}); guest components cannot be built without it"
    );
    // Cargo shows a build script's warnings (and shows them again while the
    // script's output is cached), so this is worded as a record of what
    // happened; the stderr lines above are in the build script's output.
    println!(
        "cargo:warning=wport-guest-build: the {TARGET} target was missing from {toolchain_name}; \
         installed it with `rustup target add {TARGET}`"
    );
}

fn run(mut cmd: Command, what: &str) {
    ensure_target();
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
