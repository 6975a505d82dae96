//! Where wport keeps its state, unless told otherwise on the command line.
//!
//! Paths come from flags and the XDG base directories only; no environment
//! variable or config setting can turn a security check off.

use std::path::PathBuf;

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// Per-user cache: precompiled components, the distfile store.
pub fn cache_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("wport");
    }
    match home() {
        Some(h) => h.join(".cache").join("wport"),
        None => std::env::temp_dir().join("wport-cache"),
    }
}

/// Where builds happen: one directory per port. As root, builds are handed
/// to an unprivileged build user, which must be able to reach them: they go
/// under /var/tmp rather than root's private home.
pub fn build_root() -> PathBuf {
    if rustix::process::geteuid().is_root() {
        return PathBuf::from("/var/tmp/wport/build");
    }
    cache_dir().join("build")
}
