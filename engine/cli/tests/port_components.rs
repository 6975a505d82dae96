//! Checks on the ports in `ports/` that need no distfile: every Portfile is
//! valid and its patchfiles and component match their pins, and the
//! committed components of ports with custom logic are what their crates
//! build to (guest builds are reproducible), so a reviewer can trust the
//! crate instead of the binary.

mod common;

use common::{repo, sha256_hex};

#[test]
fn every_portfile_is_valid_and_its_files_match_their_pins() {
    let ports = repo().join("ports");
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&ports).unwrap() {
        let dir = entry.unwrap().path();
        let file = dir.join("Portfile.toml");
        if !file.is_file() {
            continue;
        }
        let portfile = wport_manifest::Portfile::load(&file).unwrap_or_else(|e| panic!("{e}"));
        for patch in &portfile.patchfiles {
            let bytes = std::fs::read(dir.join("files").join(&patch.file)).unwrap();
            assert_eq!(
                sha256_hex(&bytes),
                patch.sha256.to_string(),
                "{}: {}",
                file.display(),
                patch.file
            );
        }
        if let wport_manifest::BuildKind::Component { path, sha256 } = &portfile.build.kind {
            let bytes = std::fs::read(dir.join(path)).unwrap();
            assert_eq!(
                sha256_hex(&bytes),
                sha256.to_string(),
                "{}: {}",
                file.display(),
                path
            );
        }
        seen.push(portfile.port.name.clone());
    }
    seen.sort();
    for name in [
        "bzip2", "demo", "gzip", "hello", "lua", "tree", "xz", "zlib",
    ] {
        assert!(
            seen.iter().any(|s| s == name),
            "ports/{name} missing: {seen:?}"
        );
    }
}

#[test]
fn committed_lua_component_is_reproducible_from_source() {
    let dir = repo().join("ports/lua");
    let rebuilt = wport_guest_build::build_lib("wport-port-lua", &dir);
    let committed = std::fs::read(dir.join("port.wasm")).unwrap();
    assert_eq!(
        sha256_hex(&std::fs::read(&rebuilt).unwrap()),
        sha256_hex(&committed),
        "ports/lua/port.wasm is stale: run scripts/build-port-component ports/lua and re-pin"
    );
    let portfile = std::fs::read_to_string(dir.join("Portfile.toml")).unwrap();
    assert!(portfile.contains(&format!(
        "component-sha256 = \"{}\"",
        sha256_hex(&committed)
    )));
}
