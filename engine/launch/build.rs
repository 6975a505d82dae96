//! Links the `wport-launch` binary statically, when the toolchain has the
//! static C libraries (`libc.a`, `libgcc_eh.a`; Debian's libc6-dev and gcc).
//!
//! Why: the launcher runs before every installed program, and a dynamically
//! linked Rust binary spends most of its start-up in the loader (mapping
//! libc and libgcc_s, binding symbols): 0.8-1.0 ms of CPU for an empty
//! `main` against 0.4-0.5 ms static on the machine of docs/BENCHMARKS.md,
//! about half of the launcher's whole cost.
//!
//! How: `-C target-feature=+crt-static` would do it, but RUSTFLAGS apply to
//! proc macros too unless every build passes `--target`, and this crate is
//! built with the workspace. Instead, for this binary only
//! (`rustc-link-arg-bin`), `-static-pie` and a directory searched first
//! that holds, under the names rustc asks for (`-lc`, `-lgcc_s`...),
//! linker scripts pointing at the static archives: the linker then takes
//! the archives even where rustc asks for dynamic libraries. The library,
//! tests and benches link as usual. Without the archives (another
//! toolchain), it links dynamically and says so; `WPORT_LAUNCH_DYNAMIC=1`
//! forces that.

use std::path::PathBuf;
use std::process::Command;

/// `-lNAME` rustc passes for std and libc on linux-gnu, and the archive
/// that stands in for each.
const LIBS: [(&str, &str); 7] = [
    ("c", "libc.a"),
    ("m", "libm.a"),
    ("pthread", "libpthread.a"),
    ("dl", "libdl.a"),
    ("rt", "librt.a"),
    ("util", "libutil.a"),
    ("gcc_s", "libgcc_eh.a"),
];

#[allow(
    clippy::disallowed_methods,
    reason = "a build script: asks the C compiler where its static libraries are"
)]
fn main() {
    println!("cargo:rerun-if-env-changed=WPORT_LAUNCH_DYNAMIC");
    println!("cargo:rerun-if-changed=build.rs");
    let linux_gnu = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu");
    let crt_static = std::env::var("CARGO_CFG_TARGET_FEATURE")
        .is_ok_and(|f| f.split(',').any(|f| f == "crt-static"));
    if !linux_gnu
        || crt_static
        || std::env::var_os("WPORT_LAUNCH_DYNAMIC").is_some_and(|v| v == "1")
    {
        return;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let mut archives = Vec::new();
    for (name, archive) in LIBS {
        let found = Command::new(&cc)
            .arg(format!("-print-file-name={archive}"))
            .output()
            .ok()
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
            .filter(|p| p.is_absolute() && p.is_file());
        match found {
            Some(path) => archives.push((name, path)),
            None => {
                println!(
                    "cargo:warning=wport-launch links dynamically: {cc} has no {archive} \
                     (install libc6-dev / glibc-static for a faster launcher)"
                );
                return;
            }
        }
    }
    let dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("static-libs");
    std::fs::create_dir_all(&dir).expect("creating OUT_DIR/static-libs");
    for (name, archive) in archives {
        let script = format!("INPUT({})\n", archive.display());
        // Both names: whichever the linker looks for first in this
        // directory (`-Bdynamic` looks for .so, then .a) is the script.
        for file in [format!("lib{name}.so"), format!("lib{name}.a")] {
            std::fs::write(dir.join(file), &script).expect("writing a linker script");
        }
    }
    println!("cargo:rustc-link-arg-bin=wport-launch=-L{}", dir.display());
    println!("cargo:rustc-link-arg-bin=wport-launch=-static-pie");
    // Symbols are of no use in a binary copied into every package; fewer
    // bytes, fewer pages to map.
    println!("cargo:rustc-link-arg-bin=wport-launch=-Wl,--strip-all");
}
