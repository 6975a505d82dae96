//! Exit codes of `wport`, documented and decided in one place.
//!
//! | code | meaning |
//! |-----:|---------|
//! | 0 | success |
//! | 1 | the operation failed (a phase failed, a download failed, a file could not be read, no trusted root yet, ...) |
//! | 2 | usage error: bad arguments, malformed Portfile, unresolvable `[dependencies]` |
//! | 3 | a security check refused the input (signature, digest, capability, path escape, quarantined download, hostile archive, unsafe build root) |
//! | 4 | a sandbox limit stopped a phase (time, memory, resources) |
//! | 141 | the reader of wport's output went away (`wport list \| head -1`): wport ends by SIGPIPE, quietly, as `cat` does |
//!
//! Every verb that fails with an error maps it with [`classify`], which
//! walks the error's chain from the outside in and lets the first error of
//! a library type it knows decide (see the function for the table). So
//! `wport build`, `wport package`, `wport install`, `wport upgrade` give
//! the same code for the same cause: 3 for a quarantined distfile or a
//! hostile archive, 4 for a sandbox limit; and `build`, `key`, `sync` and
//! `repo` the same code (1) for a trust directory with no trusted root.
//!
//! Verb-specific outcomes: `wport fetch` and `wport build` exit 3 when a
//! download did not match its pin (it is quarantined), 1 when no URL
//! delivered it (including a download past its `--deadline` or below its
//! `--min-rate`, and a `file://` source that is not a regular file);
//! `wport build` exits 3 for a sparse tar entry and 2 for a Portfile over
//! 4 MiB; `wport quarantine release` exits 3 while the hold has not passed
//! and 2 without a reason; `wport quarantine list` exits 1 when an item's
//! record cannot be read (after listing the others). `wport verify` exits 1
//! when files differ from the registry, and 1 naming the prefix when the
//! prefix does not exist (a query never creates it). `wport verify
//! --provenance` exits 3 for an attestation that is not a trusted key's,
//! malformed or says something else than its package, 1 for a package
//! that carries none; `wport install NAME --binary-only` exits 3 when too
//! few independent builders attest a binary (`QuorumNotMet`).
//!
//! `wport build --check` exits 0 when its two builds gave identical
//! destroots and packages, 1 when they differ (it lists how), and with a
//! failed build's own code when one of the builds failed
//! (docs/REPRODUCIBLE.md).
//!
//! `wport lint` uses 0 (no errors), 1 (errors found; warnings with
//! `--deny-warnings`; with `--diff`, a capability gained without
//! `--allow-escalation`) and 2 (usage); see docs/LINT.md.

use std::error::Error;

use wport_fetch::download::FetchError;
use wport_fetch::extract::ExtractError;
use wport_fetch::quarantine::QuarantineError;
use wport_fetch::verify::VerifyError;
use wport_plan::PlanError;
use wport_registry::RegistryError;
use wport_sandbox::PhaseError;
use wport_trust::TrustError;

pub const SUCCESS: i32 = 0;
pub const FAILURE: i32 = 1;
pub const USAGE: i32 = 2;
pub const REFUSED: i32 = 3;
pub const LIMIT: i32 = 4;

/// The exit code of a failed operation: the code of the outermost error in
/// `e`'s chain that [`code_of`] knows, else [`FAILURE`].
pub fn classify(e: &anyhow::Error) -> i32 {
    e.chain().find_map(code_of).unwrap_or(FAILURE)
}

/// The exit code one error decides, or `None` for an error of a type
/// this table does not know (a context message, an `io::Error`...), which
/// leaves the decision to the errors it wraps.
pub fn code_of(cause: &(dyn Error + 'static)) -> Option<i32> {
    use crate::build::{BuildRootError, ComponentMismatch};
    use crate::resolve::UnsignedRefused;
    if cause.is::<wport_manifest::ManifestError>() || cause.is::<UnsignedRefused>() {
        return Some(USAGE);
    }
    // A component whose imports do not match its Portfile's capabilities,
    // and a build root other users could tamper with (issue 11, item 3).
    if cause.is::<ComponentMismatch>()
        || cause.is::<wport_lint::imports::ImportError>()
        || cause.is::<BuildRootError>()
        || cause.is::<crate::quorum::QuorumNotMet>()
    {
        return Some(REFUSED);
    }
    if let Some(t) = cause.downcast_ref::<TrustError>() {
        return Some(match t {
            // Nothing was checked and refused: the trust directory is not
            // set up, or could not be read or reached.
            TrustError::Io { .. }
            | TrustError::Transport { .. }
            | TrustError::NotInitialized { .. }
            | TrustError::Repository(_) => FAILURE,
            _ => REFUSED,
        });
    }
    if let Some(r) = cause.downcast_ref::<RegistryError>() {
        return Some(if r.is_refusal() { REFUSED } else { FAILURE });
    }
    if let Some(v) = cause.downcast_ref::<VerifyError>() {
        return Some(match v {
            VerifyError::SizeExceeded { .. }
            | VerifyError::SizeMismatch { .. }
            | VerifyError::DigestMismatch { .. } => REFUSED,
            _ => FAILURE,
        });
    }
    if let Some(f) = cause.downcast_ref::<FetchError>() {
        return Some(match f {
            FetchError::Quarantined { .. } => REFUSED,
            _ => FAILURE,
        });
    }
    if let Some(x) = cause.downcast_ref::<ExtractError>() {
        return Some(match x {
            ExtractError::UnsafePath { .. }
            | ExtractError::LinkEscape { .. }
            | ExtractError::ThroughSymlink { .. }
            | ExtractError::SpecialFile { .. }
            | ExtractError::Sparse { .. }
            | ExtractError::LimitExceeded { .. } => REFUSED,
            _ => FAILURE,
        });
    }
    if let Some(p) = cause.downcast_ref::<PhaseError>() {
        return Some(match p {
            PhaseError::Limit { .. } => LIMIT,
            _ => FAILURE,
        });
    }
    if let Some(q) = cause.downcast_ref::<QuarantineError>() {
        return Some(match q {
            QuarantineError::NotFound { .. } | QuarantineError::ReasonRequired { .. } => USAGE,
            QuarantineError::HeldTooShort { .. } => REFUSED,
            _ => FAILURE,
        });
    }
    if let Some(p) = cause.downcast_ref::<PlanError>() {
        return Some(match p {
            PlanError::Unverified { .. } => REFUSED,
            PlanError::NotFound { .. } | PlanError::Io { .. } => FAILURE,
            _ => USAGE,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn the_outermost_known_error_decides() {
        let limit = PhaseError::Limit {
            port: "p".into(),
            phase: wport_manifest::Phase::Build,
            limit: wport_sandbox::LimitKind::Time,
            detail: "d".into(),
        };
        let e = Err::<(), _>(limit).context("building p").unwrap_err();
        assert_eq!(classify(&e), LIMIT);
        let e = anyhow::Error::new(TrustError::NotInitialized { dir: "/t".into() })
            .context("reading the trust directory");
        assert_eq!(classify(&e), FAILURE);
        assert_eq!(classify(&anyhow::anyhow!("plain")), FAILURE);
    }
}
