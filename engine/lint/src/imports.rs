//! Code matches manifest: what a component imports, checked before it runs.
//!
//! A component can only ever call what it imports. Reading the import names
//! from the binary (no compilation needed) lets wport refuse, before anything
//! runs, a component that asks for an interface its Portfile grants to no
//! phase (`exec` when no phase may run a program) or for anything outside the
//! `wport:port` world and the WASI subset wport provides — sockets and HTTP
//! are never provided, whatever the Portfile says.

use wasmparser::{Parser, Payload};

/// The interfaces a port component may import, by `namespace:package/interface`
/// (the version is ignored). `wport:port/exec` is handled separately.
const ALLOWED: &[&str] = &[
    "wport:port/log",
    "wport:port/build-env",
    "wport:port/files",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:clocks/monotonic-clock",
    "wasi:clocks/wall-clock",
    "wasi:filesystem/types",
    "wasi:filesystem/preopens",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
];

/// The mediated-command interface: allowed only when a phase grants a program.
pub const EXEC: &str = "wport:port/exec";

/// Why a component's imports are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The component imports `exec`, but the Portfile grants no program to
    /// any phase.
    #[error(
        "the component imports `{import}`, but the Portfile grants no program to any phase; \
         remove the native commands from the port's code or grant them in [capabilities.<phase>]"
    )]
    ExecNotGranted { import: String },
    /// The component imports something wport never provides.
    #[error("the component imports `{import}`, which wport never provides to ports{hint}")]
    Forbidden { import: String, hint: &'static str },
    /// The bytes are not a component.
    #[error("not a WebAssembly component: {0}")]
    Malformed(String),
}

/// Strip the `@version` from an import name.
fn unversioned(name: &str) -> &str {
    name.split_once('@').map_or(name, |(n, _)| n)
}

/// The component's top-level import names, in order.
pub fn imports(bytes: &[u8]) -> Result<Vec<String>, ImportError> {
    let mut names = Vec::new();
    // Nested modules and components have their own import sections; only
    // depth 1 (inside the outer component) counts.
    let mut depth = 0usize;
    let mut is_component = false;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| ImportError::Malformed(e.to_string()))?;
        match payload {
            Payload::Version { encoding, .. } => {
                if depth == 0 {
                    is_component = matches!(encoding, wasmparser::Encoding::Component);
                }
                depth += 1;
            }
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(reader) if depth == 1 => {
                for import in reader {
                    let import = import.map_err(|e| ImportError::Malformed(e.to_string()))?;
                    names.push(import.name.name.to_owned());
                }
            }
            _ => {}
        }
    }
    if !is_component {
        return Err(ImportError::Malformed(
            "a core module, not a component".into(),
        ));
    }
    Ok(names)
}

/// Check a component's imports against what wport provides and what the
/// Portfile grants. Returns the import names on success.
pub fn check(bytes: &[u8], exec_granted: bool) -> Result<Vec<String>, ImportError> {
    let names = imports(bytes)?;
    for name in &names {
        check_one(name, exec_granted)?;
    }
    Ok(names)
}

/// Check one import name.
pub fn check_one(name: &str, exec_granted: bool) -> Result<(), ImportError> {
    let bare = unversioned(name);
    if bare == EXEC {
        return if exec_granted {
            Ok(())
        } else {
            Err(ImportError::ExecNotGranted {
                import: name.to_owned(),
            })
        };
    }
    if ALLOWED.contains(&bare) {
        return Ok(());
    }
    let hint = if bare.starts_with("wasi:sockets/") {
        ": ports have no network, in any phase"
    } else if bare.starts_with("wasi:http/") {
        ": ports have no network; sources are fetched and verified by wport"
    } else {
        ""
    };
    Err(ImportError::Forbidden {
        import: name.to_owned(),
        hint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_ignored() {
        assert_eq!(check_one("wasi:io/streams@0.2.6", false), Ok(()));
        assert_eq!(check_one("wport:port/log@0.1.0", false), Ok(()));
    }

    #[test]
    fn exec_needs_a_grant() {
        assert!(matches!(
            check_one("wport:port/exec@0.1.0", false),
            Err(ImportError::ExecNotGranted { .. })
        ));
        assert_eq!(check_one("wport:port/exec@0.1.0", true), Ok(()));
    }

    #[test]
    fn network_is_never_provided() {
        for name in [
            "wasi:sockets/tcp@0.2.0",
            "wasi:sockets/udp@0.2.0",
            "wasi:sockets/ip-name-lookup@0.2.0",
            "wasi:http/outgoing-handler@0.2.0",
            "wasi:nn/inference",
        ] {
            assert!(
                matches!(check_one(name, true), Err(ImportError::Forbidden { .. })),
                "{name}"
            );
        }
    }

    #[test]
    fn a_core_module_is_not_a_component() {
        let module = b"\0asm\x01\0\0\0";
        assert!(matches!(imports(module), Err(ImportError::Malformed(_))));
    }
}
