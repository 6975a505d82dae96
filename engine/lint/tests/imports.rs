//! The import check on real components.

use std::path::Path;

use wport_lint::imports::{self, ImportError};

fn demo() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ports/demo/port.wasm")).unwrap()
}

#[test]
fn demo_port_imports_only_what_wport_provides_and_no_exec() {
    // The demo runs no native command: its component must not even import
    // `exec`, so a Portfile granting no program accepts it.
    let names = imports::check(&demo(), false).unwrap();
    assert!(
        names.iter().any(|n| n.starts_with("wport:port/build-env")),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.starts_with("wasi:sockets")),
        "{names:?}"
    );
}

#[test]
fn truncated_component_is_malformed() {
    let bytes = demo();
    assert!(matches!(
        imports::imports(&bytes[..bytes.len() / 2]),
        Err(ImportError::Malformed(_))
    ));
}
