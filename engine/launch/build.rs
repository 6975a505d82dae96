//! Compiles the launcher program (`src/program.rs`) into
//! `OUT_DIR/wport-launch`, which the library embeds (`PROGRAM`) and tests
//! and benches run (`WPORT_LAUNCH_PROGRAM`).
//!
//! Why a build script and not a `[[bin]]`: the program is `no_std` with no
//! C library (its start-up is the cost of every launch: docs/BENCHMARKS.md,
//! `src/sys.rs`), and a `no_std` executable must be built with
//! `panic = "abort"`, which Cargo sets per profile for the whole workspace,
//! never per package. So `$RUSTC` is run here on that one file, with
//! `-C panic=abort`, fat LTO and one codegen unit, linked static and not
//! position-independent (`relocation-model=static` + `crt-static`: no
//! dynamic relocations, nothing to do before `_start`), with no start
//! files and no default libraries. The same files (`launch.rs`, `sys.rs`,
//! `policy.rs`, `seccomp.rs`) are modules of the library too, where their
//! unit tests and clippy see them.
//!
//! On a target other than Linux on x86_64 or aarch64 there is no launcher:
//! `PROGRAM` is empty and packaging says so.

use std::path::PathBuf;
use std::process::Command;

const SOURCES: [&str; 5] = [
    "src/program.rs",
    "src/launch.rs",
    "src/sys.rs",
    "src/policy.rs",
    "src/seccomp.rs",
];

#[allow(
    clippy::disallowed_methods,
    reason = "a build script: runs the compiler on the launcher program"
)]
fn main() {
    for source in SOURCES {
        println!("cargo:rerun-if-changed={source}");
    }
    println!("cargo:rerun-if-changed=build.rs");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("wport-launch");
    println!("cargo:rustc-env=WPORT_LAUNCH_PROGRAM={}", out.display());
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if os != "linux" || !matches!(arch.as_str(), "x86_64" | "aarch64") {
        std::fs::write(&out, b"").expect("writing an empty OUT_DIR/wport-launch");
        return;
    }
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let target = std::env::var("TARGET").expect("TARGET");
    let mut cmd = Command::new(rustc);
    cmd.args([
        "--edition",
        "2024",
        "--crate-type",
        "bin",
        "--crate-name",
        "wport_launch_program",
        "--target",
        &target,
        "-D",
        "warnings",
        "-C",
        "panic=abort",
        "-C",
        "opt-level=3",
        "-C",
        "codegen-units=1",
        "-C",
        "lto=fat",
        "-C",
        "debuginfo=0",
        "-C",
        "relocation-model=static",
        "-C",
        "target-feature=+crt-static",
        "-C",
        "link-arg=-nostartfiles",
        "-C",
        "link-arg=-nostdlib",
        // Symbols are of no use in a binary copied into every package.
        "-C",
        "link-arg=-Wl,--strip-all",
    ]);
    // The target's linker, when the build names one (cross builds).
    let linker_var = format!(
        "CARGO_TARGET_{}_LINKER",
        target.to_uppercase().replace('-', "_")
    );
    println!("cargo:rerun-if-env-changed={linker_var}");
    if let Some(linker) = std::env::var_os(&linker_var) {
        cmd.arg("-C").arg({
            let mut arg = std::ffi::OsString::from("linker=");
            arg.push(linker);
            arg
        });
    }
    cmd.arg("-o").arg(&out).arg("src/program.rs");
    let output = cmd.output().expect("running rustc on src/program.rs");
    if !output.status.success() {
        panic!(
            "compiling the launcher program (src/program.rs) failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
