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

use crate::archive::{OpenedPackage, open_package_file};
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

/// A package file `write_index` left out of the index, and why.
#[derive(Debug)]
pub struct Skipped {
    pub file: String,
    pub error: RegistryError,
}

/// What `write_index` did.
#[derive(Debug)]
pub struct IndexReport {
    pub index: Index,
    /// Package files refused (bad signature, digest, malformed manifest,
    /// unsafe name...): reported, never indexed.
    pub skipped: Vec<Skipped>,
    /// Indexed packages depending on a name the index does not provide
    /// (often one that was skipped): (package, dependency).
    pub unresolved: Vec<(String, String)>,
}

/// Streams `file` through sha256, reading at most `limit + 1` bytes.
fn hash_file(file: &mut std::fs::File, limit: u64) -> std::io::Result<(String, u64)> {
    use std::io::Seek;
    file.seek(std::io::SeekFrom::Start(0))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut n = 0u64;
    let mut r = file.take(limit.saturating_add(1));
    loop {
        let k = r.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((hex::encode(h.finalize()), n))
}

/// Reads every `*.wpkg` in `dir`, verifies each against `trusted`
/// (signature, manifest, payload digest), and writes a signed
/// `index.json` of those that verify.
///
/// One bad package does not make the repository unusable: it is left out
/// of the index and reported in [`IndexReport::skipped`] (the CLI prints
/// each and exits 3), and the index of the others is still written, so
/// clients never see the bad file and keep installing the rest. A name
/// provided by two package files is an error for the whole index: which
/// one was meant is the publisher's decision, not wport's.
pub fn write_index(dir: &Path, key: &SecretKey, trusted: &[PublicKey]) -> Result<IndexReport> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io("listing the repository", dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("wpkg"))
        .collect();
    paths.sort();
    let mut packages = BTreeMap::new();
    let mut skipped = Vec::new();
    for p in paths {
        let file = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Hashed through the handle that is then verified: the bytes
        // indexed are the bytes checked.
        let checked = (|| {
            let mut f = std::fs::File::open(&p).map_err(io("opening", &p))?;
            let (sha256, size) = hash_file(&mut f, u64::MAX - 1).map_err(io("reading", &p))?;
            let pkg = open_package_file(f, &file, trusted)?;
            Ok::<_, RegistryError>((pkg.manifest, sha256, size))
        })();
        let (m, sha256, size) = match checked {
            Ok(x) => x,
            Err(error) => {
                skipped.push(Skipped { file, error });
                continue;
            }
        };
        if !file.is_ascii() || file.chars().any(|c| c.is_ascii_control()) {
            skipped.push(Skipped {
                error: RegistryError::UnsafePath {
                    package: m.name.clone(),
                    path: file.clone(),
                },
                file,
            });
            continue;
        }
        if let Some(prev) = packages.get(&m.name).map(|e: &IndexEntry| e.file.clone()) {
            return Err(RegistryError::Other(format!(
                "{}: two packages named {} in the repository ({prev} and {file}); remove one",
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
                sha256,
                size,
                dependencies: m.dependencies.clone(),
            },
        );
    }
    let mut unresolved = Vec::new();
    for (name, e) in &packages {
        for d in &e.dependencies {
            if !packages.contains_key(d) {
                unresolved.push((name.clone(), d.clone()));
            }
        }
    }
    let index = Index {
        format: INDEX_FORMAT.into(),
        packages,
    };
    let body = sign_envelope(&serde_json::to_value(&index).expect("serialisable"), key)?;
    let tmp = dir.join(".index.json.tmp");
    std::fs::write(&tmp, body).map_err(io("writing", &tmp))?;
    std::fs::rename(&tmp, dir.join(INDEX)).map_err(io("writing", dir.join(INDEX)))?;
    Ok(IndexReport {
        index,
        skipped,
        unresolved,
    })
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
        let index: Index = serde_json::from_str(signed).map_err(|e| RegistryError::Malformed {
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
        if e.file.contains('/')
            || e.file.starts_with('.')
            || e.file.is_empty()
            || crate::fsops::has_control(&e.file)
        {
            return Err(RegistryError::UnsafePath {
                package: name.into(),
                path: e.file.clone(),
            });
        }
        let path = self.dir.join(&e.file);
        // One handle: hashed against the index, then verified and later
        // unpacked, so the file cannot be swapped in between. Streamed:
        // never more than the index's size (+1) is read.
        let mut f = std::fs::File::open(&path).map_err(io("reading", &path))?;
        let (got, n) = hash_file(&mut f, e.size).map_err(io("reading", &path))?;
        if n != e.size {
            return Err(RegistryError::DigestMismatch {
                package: name.into(),
                what: format!("size of {}", e.file),
                expected: e.size.to_string(),
                actual: n.to_string(),
            });
        }
        if got != e.sha256 {
            return Err(RegistryError::DigestMismatch {
                package: name.into(),
                what: format!("sha256 of {}", e.file),
                expected: e.sha256.clone(),
                actual: got,
            });
        }
        let pkg = open_package_file(f, &e.file, trusted)?;
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
