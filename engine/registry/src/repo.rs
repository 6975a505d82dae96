//! Binary repositories: a directory of packages plus `index.json`, a signed
//! envelope (same keys and canonical JSON as package manifests) mapping each
//! package name to its version, revision, file name, sha256 and size. Plain
//! files with relative names: any static HTTP server or CDN can serve it.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wport_trust::{PublicKey, SecretKey};

use crate::archive::{OpenedPackage, open_package};
use crate::error::{RegistryError, Result, io};
use crate::manifest::{sign_envelope, verify_envelope};

pub const INDEX: &str = "index.json";
pub const INDEX_FORMAT: &str = "wport-repo-index/1";

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct IndexEntry {
    pub version: String,
    pub revision: u32,
    pub file: String,
    pub sha256: String,
    pub size: u64,
    pub dependencies: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Index {
    pub format: String,
    pub packages: BTreeMap<String, IndexEntry>,
}

/// Reads every `*.wpkg` in `dir` (verifying each against `trusted`), and
/// writes a signed `index.json`. The newest version of a name wins by
/// (version string, revision) order of appearance: one version per name.
pub fn write_index(dir: &Path, key: &SecretKey, trusted: &[PublicKey]) -> Result<Index> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io("listing the repository", dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("wpkg"))
        .collect();
    paths.sort();
    let mut packages = BTreeMap::new();
    for p in paths {
        let pkg = open_package(&p, trusted)?;
        let m = &pkg.manifest;
        let bytes = std::fs::read(&p).map_err(io("reading", &p))?;
        let file = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if packages.contains_key(&m.name) {
            return Err(RegistryError::Other(format!(
                "{}: two packages named {} in the repository",
                dir.display(),
                m.name
            )));
        }
        packages.insert(
            m.name.clone(),
            IndexEntry {
                version: m.version.clone(),
                revision: m.revision,
                file,
                sha256: hex::encode(Sha256::digest(&bytes)),
                size: bytes.len() as u64,
                dependencies: m.dependencies.clone(),
            },
        );
    }
    let index = Index {
        format: INDEX_FORMAT.into(),
        packages,
    };
    let body = sign_envelope(&serde_json::to_value(&index).expect("serialisable"), key)?;
    let tmp = dir.join(".index.json.tmp");
    std::fs::write(&tmp, body).map_err(io("writing", &tmp))?;
    std::fs::rename(&tmp, dir.join(INDEX)).map_err(io("writing", dir.join(INDEX)))?;
    Ok(index)
}

/// A repository whose index signature has been verified.
pub struct Repository {
    pub dir: PathBuf,
    pub index: Index,
}

impl Repository {
    pub fn open(dir: &Path, trusted: &[PublicKey]) -> Result<Self> {
        let path = dir.join(INDEX);
        let mut body = Vec::new();
        std::fs::File::open(&path)
            .and_then(|f| f.take(64 << 20).read_to_end(&mut body))
            .map_err(io("reading the repository index", &path))?;
        let signed = verify_envelope(&body, trusted, &path.display().to_string())?;
        let index: Index =
            serde_json::from_value(signed).map_err(|e| RegistryError::Malformed {
                package: path.display().to_string(),
                reason: e.to_string(),
            })?;
        if index.format != INDEX_FORMAT {
            return Err(RegistryError::Malformed {
                package: path.display().to_string(),
                reason: format!("format {:?}", index.format),
            });
        }
        Ok(Repository {
            dir: dir.to_path_buf(),
            index,
        })
    }

    /// Opens the package for `name`: its file's sha256 and size are checked
    /// against the signed index before the package itself is verified.
    pub fn fetch(&self, name: &str, trusted: &[PublicKey]) -> Result<OpenedPackage> {
        let e = self.index.packages.get(name).ok_or_else(|| {
            RegistryError::Other(format!(
                "no package {name} in the repository {}",
                self.dir.display()
            ))
        })?;
        if e.file.contains('/') || e.file.starts_with('.') || e.file.is_empty() {
            return Err(RegistryError::UnsafePath {
                package: name.into(),
                path: e.file.clone(),
            });
        }
        let path = self.dir.join(&e.file);
        let mut body = Vec::new();
        std::fs::File::open(&path)
            .and_then(|f| f.take(e.size + 1).read_to_end(&mut body))
            .map_err(io("reading", &path))?;
        if body.len() as u64 != e.size {
            return Err(RegistryError::DigestMismatch {
                package: name.into(),
                what: format!("size of {}", e.file),
                expected: e.size.to_string(),
                actual: body.len().to_string(),
            });
        }
        let got = hex::encode(Sha256::digest(&body));
        if got != e.sha256 {
            return Err(RegistryError::DigestMismatch {
                package: name.into(),
                what: format!("sha256 of {}", e.file),
                expected: e.sha256.clone(),
                actual: got,
            });
        }
        let pkg = open_package(&path, trusted)?;
        if pkg.manifest.name != name
            || pkg.manifest.version != e.version
            || pkg.manifest.revision != e.revision
        {
            return Err(RegistryError::Malformed {
                package: name.into(),
                reason: format!(
                    "the index says {name} {}_{}, the package is {}",
                    e.version,
                    e.revision,
                    pkg.manifest.label()
                ),
            });
        }
        Ok(pkg)
    }
}

/// The install order for `name` and its dependencies from a repository:
/// dependencies first, each name once. Refuses cycles.
pub fn install_order(
    repo: &Repository,
    name: &str,
    installed: &dyn Fn(&str) -> bool,
) -> Result<Vec<String>> {
    fn visit(
        repo: &Repository,
        n: &str,
        installed: &dyn Fn(&str) -> bool,
        stack: &mut Vec<String>,
        out: &mut Vec<String>,
        needed_by: &str,
    ) -> Result<()> {
        if out.iter().any(|o| o == n) || installed(n) {
            return Ok(());
        }
        if stack.iter().any(|s| s == n) {
            return Err(RegistryError::Other(format!(
                "dependency cycle: {} -> {n}",
                stack.join(" -> ")
            )));
        }
        let Some(e) = repo.index.packages.get(n) else {
            return Err(RegistryError::MissingDependency {
                package: needed_by.into(),
                dependency: n.into(),
                hint: format!(
                    " and the repository {} has no package for it",
                    repo.dir.display()
                ),
            });
        };
        stack.push(n.to_string());
        for d in &e.dependencies {
            visit(repo, d, installed, stack, out, n)?;
        }
        stack.pop();
        out.push(n.to_string());
        Ok(())
    }
    let mut out = Vec::new();
    visit(repo, name, installed, &mut Vec::new(), &mut out, name)?;
    Ok(out)
}
