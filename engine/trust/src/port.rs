//! The check a build makes before it decodes, fetches or runs anything of a
//! port: every file it will use must be a trusted target of the synced
//! ports tree, with the trusted length and hashes.

use std::path::Path;

use crate::client::{Client, verify_file};
use crate::error::{Result, TrustError};
use crate::paths::check_target_path;
use crate::time::{self, UnixTime};
use crate::transport::{Transport, TransportError};

/// A transport that has nothing: offline checks use only the trust
/// directory's metadata.
struct Offline;

impl Transport for Offline {
    fn fetch(&self, _location: &str, _max_len: u64) -> Result<Vec<u8>, TransportError> {
        Err(TransportError::NotFound)
    }
}

/// The metadata directory inside a trust directory.
pub fn metadata_dir(trust_dir: &Path) -> std::path::PathBuf {
    trust_dir.join("metadata")
}

/// Checks each of `files` (pairs of a path relative to the port's directory,
/// e.g. `Portfile.toml` or `files/fix.diff`, and the file on disk) against
/// the trusted target `ports/<port_name>/<relative path>`, using the
/// metadata last synced into `trust_dir` (which must be unexpired now).
pub fn verify_port(trust_dir: &Path, port_name: &str, files: &[(&str, &Path)]) -> Result<()> {
    verify_port_at(trust_dir, port_name, files, time::now())
}

/// [`verify_port`] at an injected time.
pub fn verify_port_at(
    trust_dir: &Path,
    port_name: &str,
    files: &[(&str, &Path)],
    now: UnixTime,
) -> Result<()> {
    if port_name.contains('/') {
        return Err(TrustError::UnsafeTargetPath {
            path: format!("ports/{port_name}"),
        });
    }
    crate::keys::check_owner_only_writable(trust_dir)?;
    let mut client = Client::open(&metadata_dir(trust_dir), "", Offline)?;
    client.load_offline(now)?;
    for (rel, on_disk) in files {
        let target = format!("ports/{port_name}/{rel}");
        check_target_path(&target)?;
        let tf = client.target(&target)?;
        verify_file(&target, on_disk, &tf)?;
    }
    Ok(())
}
