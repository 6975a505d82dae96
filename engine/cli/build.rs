//! Builds the standard components from the guest SDK and embeds them, with
//! the demo port, into the `wport` binary.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let root = wport_guest_build::workspace_root();

    let mut code = String::new();
    for (pkg, dir, name) in [
        ("wport-std-make", "engine/components/make", "make"),
        (
            "wport-std-autotools",
            "engine/components/autotools",
            "autotools",
        ),
        ("wport-std-cmake", "engine/components/cmake", "cmake"),
        ("wport-std-meson", "engine/components/meson", "meson"),
    ] {
        let wasm = wport_guest_build::build_lib(pkg, &root.join(dir));
        let dest = out.join(format!("std-{name}.wasm"));
        std::fs::copy(&wasm, &dest).expect("copying a standard component");
        writeln!(
            code,
            "pub const STD_{}: &[u8] = include_bytes!({:?});",
            name.to_uppercase(),
            dest
        )
        .unwrap();
    }

    // Rebuild the demo port's component from its crate, so a test can check
    // that the committed, pinned port.wasm is what its source produces.
    let rebuilt = wport_guest_build::build_lib("wport-port-demo", &root.join("ports/demo"));
    println!("cargo:rustc-env=WPORT_DEMO_REBUILT={}", rebuilt.display());

    // The demo port, embedded so `wport build` with no argument works on a
    // fresh machine with no network. Its sources are the files beside its
    // Portfile; the crate that builds its component is left out.
    let demo = root.join("ports/demo");
    println!("cargo:rerun-if-changed={}", demo.display());
    let mut files = Vec::new();
    collect(&demo, &demo, &mut files);
    files.sort();
    code.push_str("pub const DEMO_PORT: &[(&str, &[u8])] = &[\n");
    for rel in files {
        writeln!(
            code,
            "    ({rel:?}, include_bytes!({:?})),",
            demo.join(&rel)
        )
        .unwrap();
    }
    code.push_str("];\n");
    std::fs::write(out.join("embedded.rs"), code).expect("writing embedded.rs");
}

fn collect(base: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let rel = path
            .strip_prefix(base)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if matches!(
            rel.as_str(),
            "src" | "Cargo.toml" | "target" | "distfile-src"
        ) || rel.ends_with(".sh")
        {
            continue;
        }
        let ty = e.file_type().unwrap();
        if ty.is_dir() {
            collect(base, &path, out);
        } else if ty.is_file() {
            out.push(rel);
        }
    }
}
