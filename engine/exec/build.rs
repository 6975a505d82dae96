//! Builds the trace library (`trace/wport-trace.c`, docs/CONFINEMENT.md,
//! "Trace of refused accesses") as a shared object for the target. The
//! crate embeds its bytes; each session writes them into the sandbox's root
//! and names them in the sandbox's own `/etc/ld.so.preload`.

use std::path::PathBuf;

fn main() {
    let src = "trace/wport-trace.c";
    println!("cargo:rerun-if-changed={src}");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("libwport-trace.so");
    // The `cc` crate finds the target's C compiler and flags; it builds
    // static archives, so the shared object is linked by its command here.
    let compiler = cc::Build::new()
        .opt_level(2)
        .debug(false)
        .pic(true)
        .warnings(true)
        .get_compiler();
    let mut cmd = compiler.to_command();
    cmd.args([
        "-shared",
        "-U_FORTIFY_SOURCE",
        // glibc >= 2.34 has dlsym in libc; older ones need libdl.
        "-Wl,--as-needed",
        "-Wl,--build-id=none",
        "-Wl,-z,now",
        "-o",
    ])
    .arg(&out)
    .arg(src)
    .arg("-ldl");
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("running the C compiler for {src}: {e}"));
    assert!(status.success(), "building {src} failed: {status}");
}
