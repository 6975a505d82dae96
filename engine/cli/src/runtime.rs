//! Installed programs run confined (issue 16): the packaging side.
//!
//! `wport package` (and every build that installs) turns each executable
//! `bin/NAME` of a destroot into a link to the port's launcher, with the
//! program's compiled `[runtime]` policy next to it
//! (`wport_registry::RuntimeWrap`, `wport_launch::Layout`). The launcher is
//! the program `wport` itself carries (`wport_launch::PROGRAM`, compiled
//! with it); a package embeds a copy, so it is signed and verified with the
//! rest.

use wport_launch::Policy;
use wport_manifest::{Runtime, RuntimeGrants};

/// The launcher's bytes, copied into each package. No file or environment
/// variable picks another one: what a package confines its programs with
/// is not the caller's to change.
pub fn launcher_bytes() -> anyhow::Result<Vec<u8>> {
    if wport_launch::PROGRAM.is_empty() {
        anyhow::bail!(
            "this wport has no launcher to confine installed programs with (wport-launch is built only \
             for Linux on x86_64 and aarch64); set `confine = false` in the port's [runtime] to \
             package it unconfined"
        );
    }
    Ok(wport_launch::PROGRAM.to_vec())
}

/// The policy text of program `name`, or `None` when the port opts out
/// (`confine = false`).
pub fn policy_text(runtime: &Runtime, name: &str) -> Option<String> {
    policy(runtime.program(name)).map(|p| p.encode())
}

/// One program's grants as the launcher reads them.
pub fn policy(grants: &RuntimeGrants) -> Option<Policy> {
    grants.confine.then(|| Policy {
        network: grants.network,
        exec: grants.exec,
        arguments: grants.arguments,
        read: grants.read.clone(),
        write: grants.write.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_follow_the_portfile() {
        let mut runtime = Runtime::default();
        runtime.port.read.push("{xdg-config}/x".into());
        let mut net = runtime.port.clone();
        net.network = true;
        runtime.programs.insert("x-fetch".into(), net);
        let mut off = runtime.port.clone();
        off.confine = false;
        runtime.programs.insert("x-raw".into(), off);
        assert_eq!(
            policy_text(&runtime, "x").unwrap(),
            "wport-launch-policy 1\nnetwork 0\nexec 1\narguments 1\nread {xdg-config}/x\n"
        );
        assert!(
            policy_text(&runtime, "x-fetch")
                .unwrap()
                .contains("network 1\n")
        );
        assert_eq!(policy_text(&runtime, "x-raw"), None);
    }
}
