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

/// `scripts/fetch-real-sources` asks for each real port's tarball by the
/// exact source-package version that carries it and checks it against a
/// sha256 and size of its own table: that table must say what the Portfiles
/// pin, or the tests would be fed a tarball no port accepts.
#[test]
fn fetch_real_sources_table_matches_the_portfiles() {
    let script = std::fs::read_to_string(repo().join("scripts/fetch-real-sources")).unwrap();
    let table = script
        .split_once("LIST=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(table, _)| table)
        .expect("scripts/fetch-real-sources has a LIST=\"...\" table");
    let mut ports = Vec::new();
    for line in table.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [port, spec, file, sha256, size] = fields[..] else {
            panic!("malformed table line {line:?}");
        };
        let (package, version) = spec
            .split_once('=')
            .unwrap_or_else(|| panic!("{port}: {spec:?} is not NAME=VERSION"));
        let upstream = version.split_once(':').map_or(version, |(_, v)| v);
        let upstream = upstream.rsplit_once('-').map_or(upstream, |(v, _)| v);
        assert_eq!(
            file.split_once(".orig.").map(|(stem, _)| stem),
            Some(format!("{package}_{upstream}").as_str()),
            "{port}: {file} is not the .orig tarball of {spec}"
        );
        let portfile_path = repo().join("ports").join(port).join("Portfile.toml");
        let portfile = wport_manifest::Portfile::load(&portfile_path)
            .unwrap_or_else(|e| panic!("{port}: {e}"));
        assert!(
            portfile
                .sources
                .iter()
                .any(|s| s.sha256.to_string() == sha256 && s.size.to_string() == size),
            "{}: pins no source with sha256 {sha256} and size {size} (scripts/fetch-real-sources)",
            portfile_path.display()
        );
        ports.push(port.to_string());
    }
    ports.sort();
    assert_eq!(
        ports,
        ["bzip2", "gzip", "hello", "lua", "tree", "xz", "zlib"],
        "every real port has its tarball in the table"
    );
}
