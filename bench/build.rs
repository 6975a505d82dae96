fn main() {
    let root = wport_guest_build::workspace_root();
    let wasm = wport_guest_build::build_lib("wport-bench-guest", &root.join("bench/guest"));
    println!("cargo:rustc-env=WPORT_BENCH_GUEST={}", wasm.display());
}
