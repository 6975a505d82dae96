//! Precompiled components on disk, keyed by the component's sha256 and the
//! engine's version and compilation settings.
//!
//! Compiling a component with Cranelift costs ~100 ms; mapping a precompiled
//! one costs well under a millisecond. The cache directory must be private to
//! the user (mode 0700, owned by them): loading a precompiled artifact is
//! running native code, so a cache someone else can write to is refused.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

pub use wport_types::Sha256;

/// A fingerprint of everything that makes a precompiled artifact valid for
/// this engine: wasmtime's version and the engine's compilation settings.
pub fn engine_fingerprint(engine: &Engine) -> String {
    // DefaultHasher::new() uses fixed keys, so this is stable for a given
    // build of wport; a different wport build may hash differently, which
    // only costs a recompile.
    let mut h = std::hash::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    format!("wasmtime{}-{:016x}", wasmtime_version(), h.finish())
}

fn wasmtime_version() -> &'static str {
    // The pinned version (see the workspace Cargo.toml).
    "48.0.8"
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("component cache {path}: {reason}")]
    Unsafe { path: PathBuf, reason: String },
    #[error("component cache {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// On-disk cache of precompiled components.
pub struct ComponentCache {
    dir: PathBuf,
    fingerprint: String,
}

impl ComponentCache {
    /// Open (creating it private if missing) the cache directory.
    pub fn open(dir: &Path, engine: &Engine) -> Result<Self, CacheError> {
        let io = |source| CacheError::Io {
            path: dir.to_owned(),
            source,
        };
        if !dir.exists() {
            std::fs::create_dir_all(dir).map_err(io)?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
        }
        let meta = std::fs::symlink_metadata(dir).map_err(io)?;
        if !meta.is_dir() {
            return Err(CacheError::Unsafe {
                path: dir.to_owned(),
                reason: "not a directory".into(),
            });
        }
        // SAFETY-relevant policy, not memory safety: precompiled code from a
        // directory others can write would be code injection.
        let uid = rustix::process::geteuid().as_raw();
        if meta.uid() != uid || meta.mode() & 0o022 != 0 {
            return Err(CacheError::Unsafe {
                path: dir.to_owned(),
                reason: format!(
                    "must be owned by uid {uid} and writable by nobody else (mode {:o}, owner {}); \
                     fix with `chmod 700` or remove it",
                    meta.mode() & 0o7777,
                    meta.uid()
                ),
            });
        }
        Ok(ComponentCache {
            dir: dir.to_owned(),
            fingerprint: engine_fingerprint(engine),
        })
    }

    fn path_for(&self, digest: &Sha256) -> PathBuf {
        self.dir
            .join(format!("{digest}-{}.cwasm", self.fingerprint))
    }

    /// Load the precompiled form of `bytes` (whose sha256 is `digest`),
    /// compiling and storing it first if it is not cached. Returns the
    /// component and whether it came from the cache.
    pub fn load(
        &self,
        engine: &Engine,
        bytes: &[u8],
        digest: &Sha256,
    ) -> wasmtime::Result<(Component, bool)> {
        let path = self.path_for(digest);
        if path.exists() {
            // SAFETY: the file was written by `store` below into a directory
            // that `open` checked is private to this user, under a name that
            // binds the source digest and the engine's settings.
            #[expect(
                unsafe_code,
                reason = "mapping a precompiled artifact is wasmtime's unsafe API"
            )]
            let loaded = unsafe { Component::deserialize_file(engine, &path) };
            match loaded {
                Ok(c) => return Ok((c, true)),
                // A damaged or stale entry: recompile over it.
                Err(_) => {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let compiled = engine.precompile_component(bytes)?;
        self.store(&path, &compiled)?;
        // SAFETY: `compiled` was produced by this engine just now.
        #[expect(unsafe_code, reason = "deserializing wasmtime's own fresh output")]
        let component = unsafe { Component::deserialize(engine, &compiled)? };
        Ok((component, false))
    }

    fn store(&self, path: &Path, data: &[u8]) -> std::io::Result<()> {
        // Write then rename, so a concurrent reader never maps a half file.
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    }
}
