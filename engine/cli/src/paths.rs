//! Where wport keeps its state, unless told otherwise on the command line.
//!
//! Paths come from flags and the XDG base directories only; no environment
//! variable or config setting can turn a security check off.

use std::path::PathBuf;

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from)
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

/// Where builds happen: one directory per port.
pub fn build_root() -> PathBuf {
    cache_dir().join("build")
}
