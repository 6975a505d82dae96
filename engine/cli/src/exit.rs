//! Exit codes of `wport`, documented in one place.
//!
//! | code | meaning |
//! |-----:|---------|
//! | 0 | success |
//! | 1 | the operation failed (a phase failed, a checksum did not match, ...) |
//! | 2 | usage error: bad arguments, malformed Portfile |
//! | 3 | a security check refused the input (signature, capability, path escape) |
//! | 4 | a sandbox limit stopped a phase (time, memory, resources) |
//!
//! `wport fetch` and `wport build` exit 3 when a download did not match its
//! pin (it is quarantined), 1 when no URL delivered it (including a download
//! past its `--deadline` or below its `--min-rate`, and a `file://` source
//! that is not a regular file); `wport build` exits 3 for a sparse tar entry
//! and 2 for a Portfile over 4 MiB; `wport quarantine release` exits 3 while
//! the hold has not passed and 2 without a reason; `wport quarantine list`
//! exits 1 when an item's record cannot be read (after listing the others).
//!
//! `wport build` exits 2 when the port's dependencies do not resolve
//! (a name that is not a port of the tree, a cycle, a phase granted a
//! dependency of the wrong kind) and 3 when a dependency of a signed port
//! does not match the signed tree; nothing is fetched or built in either
//! case. `wport deps`, `rdeps` and `search` exit 1 when the port is not in
//! the tree (`search`: nothing matched), 2 on an invalid Portfile or
//! unresolved dependencies (`deps --tree`), 3 when a port they read does
//! not match the signed tree.
//!
//! `wport lint` uses 0 (no errors), 1 (errors found; warnings with
//! `--deny-warnings`; with `--diff`, a capability gained without
//! `--allow-escalation`) and 2 (usage); see docs/LINT.md.

pub const SUCCESS: i32 = 0;
pub const FAILURE: i32 = 1;
pub const USAGE: i32 = 2;
pub const REFUSED: i32 = 3;
pub const LIMIT: i32 = 4;
