//! The package file: creating it from a destroot, opening and verifying it,
//! and unpacking its payload into a staging directory.
//!
//! A package (`NAME-VERSION_REVISION.wpkg`) is an uncompressed tar with two
//! entries, in this order: `+MANIFEST` (the signed manifest envelope,
//! canonical JSON) and `payload.tar.zst` (the destroot below the prefix:
//! entries sorted by path, mtimes SOURCE_DATE_EPOCH, uid/gid 0 with no
//! names, modes 0644/0755 and 0755 for directories, zstd level
//! [`ZSTD_LEVEL`], single-threaded). The manifest pins the payload's sha256
//! and size and every file's sha256, mode and size.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use cap_fs_ext::DirExt;
use cap_std::fs::Dir;
use sha2::{Digest, Sha256};
use wport_trust::{PublicKey, SecretKey};

use crate::error::{RegistryError, Result, io};
use crate::manifest::{
    FORMAT, FileEntry, LinkEntry, Manifest, Payload, Provenance, sign_envelope, verify_envelope,
};

pub const ZSTD_LEVEL: i32 = 12;
pub const MANIFEST_ENTRY: &str = "+MANIFEST";
pub const PAYLOAD_ENTRY: &str = "payload.tar.zst";
const MAX_MANIFEST: u64 = 64 << 20;
const MAX_DEPTH: usize = 256;

/// What the packager knows besides the tree.
#[derive(Clone, Debug)]
pub struct PackageMeta {
    pub name: String,
    pub version: String,
    pub revision: u32,
    pub prefix: String,
    pub dependencies: Vec<String>,
    pub source_date_epoch: u64,
    pub provenance: Provenance,
}

enum Node {
    Dir,
    File { data: Vec<u8>, mode: u32 },
    Link(String),
}

fn walk(dir: &Dir, rel: &str, depth: usize, out: &mut Vec<(String, Node)>) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(RegistryError::Other(format!(
            "{rel}: tree deeper than {MAX_DEPTH}"
        )));
    }
    let mut names = Vec::new();
    for e in dir.entries().map_err(io("listing", rel))? {
        let e = e.map_err(io("listing", rel))?;
        let name = e
            .file_name()
            .into_string()
            .map_err(|n| RegistryError::Other(format!("{rel}/{n:?}: file name is not UTF-8")))?;
        names.push(name);
    }
    names.sort();
    for name in names {
        let path = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let meta = dir
            .symlink_metadata(&name)
            .map_err(io("inspecting", &path))?;
        let ft = meta.file_type();
        if ft.is_dir() {
            out.push((path.clone(), Node::Dir));
            let sub = dir.open_dir_nofollow(&name).map_err(io("opening", &path))?;
            walk(&sub, &path, depth + 1, out)?;
        } else if ft.is_symlink() {
            let target = dir
                .read_link_contents(&name)
                .map_err(io("reading link", &path))?;
            let target = target
                .into_os_string()
                .into_string()
                .map_err(|_| RegistryError::Other(format!("{path}: link target is not UTF-8")))?;
            out.push((path, Node::Link(target)));
        } else if ft.is_file() {
            use cap_std::fs::PermissionsExt;
            let mode = if meta.permissions().mode() & 0o111 != 0 {
                0o755
            } else {
                0o644
            };
            let mut f = dir
                .open_with(&name, cap_std::fs::OpenOptions::new().read(true).nofollow())
                .map_err(io("reading", &path))?;
            let mut data = Vec::with_capacity(meta.len() as usize);
            f.read_to_end(&mut data).map_err(io("reading", &path))?;
            out.push((path, Node::File { data, mode }));
        } else {
            return Err(RegistryError::Other(format!(
                "{path}: special files (devices, FIFOs, sockets) cannot be packaged"
            )));
        }
    }
    Ok(())
}

trait NoFollow {
    fn nofollow(&mut self) -> &mut Self;
}
impl NoFollow for cap_std::fs::OpenOptions {
    fn nofollow(&mut self) -> &mut Self {
        use cap_fs_ext::{FollowSymlinks, OpenOptionsFollowExt};
        self.follow(FollowSymlinks::No)
    }
}

fn header(kind: tar::EntryType, mode: u32, size: u64, mtime: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(mtime);
    h.set_size(size);
    h
}

/// Packages the tree at `tree` (the destroot's prefix directory) into
/// `out`, signed with `key`. Returns the manifest.
pub fn create_package(
    tree: &Path,
    meta: &PackageMeta,
    key: &SecretKey,
    out: &Path,
) -> Result<Manifest> {
    let root = Dir::open_ambient_dir(tree, cap_std::ambient_authority())
        .map_err(io("opening the tree to package", tree))?;
    let mut nodes = Vec::new();
    walk(&root, "", 0, &mut nodes)?;
    let sde = meta.source_date_epoch;

    let mut files = Vec::new();
    let mut symlinks = Vec::new();
    let mut directories = Vec::new();
    let enc = zstd::stream::Encoder::new(Vec::new(), ZSTD_LEVEL).map_err(io("compressing", out))?;
    let mut tb = tar::Builder::new(enc);
    for (path, node) in &nodes {
        match node {
            Node::Dir => {
                let mut h = header(tar::EntryType::Directory, 0o755, 0, sde);
                tb.append_data(&mut h, path, io::empty())
                    .map_err(io("archiving", path))?;
                directories.push(path.clone());
            }
            Node::File { data, mode } => {
                let mut h = header(tar::EntryType::Regular, *mode, data.len() as u64, sde);
                tb.append_data(&mut h, path, data.as_slice())
                    .map_err(io("archiving", path))?;
                files.push(FileEntry {
                    path: path.clone(),
                    sha256: hex::encode(Sha256::digest(data)),
                    mode: *mode,
                    size: data.len() as u64,
                });
            }
            Node::Link(target) => {
                let mut h = header(tar::EntryType::Symlink, 0o777, 0, sde);
                tb.append_link(&mut h, path, target)
                    .map_err(io("archiving", path))?;
                symlinks.push(LinkEntry {
                    path: path.clone(),
                    target: target.clone(),
                });
            }
        }
    }
    let payload = tb
        .into_inner()
        .and_then(|e| e.finish())
        .map_err(io("compressing", out))?;
    let manifest = Manifest {
        format: FORMAT.into(),
        name: meta.name.clone(),
        version: meta.version.clone(),
        revision: meta.revision,
        prefix: meta.prefix.clone(),
        dependencies: {
            let mut d = meta.dependencies.clone();
            d.sort();
            d.dedup();
            d
        },
        source_date_epoch: sde,
        payload: Payload {
            sha256: hex::encode(Sha256::digest(&payload)),
            size: payload.len() as u64,
        },
        files,
        symlinks,
        directories,
        provenance: meta.provenance.clone(),
    };
    manifest.validate()?;
    let envelope = sign_envelope(&manifest.to_value(), key)?;

    let tmp = out.with_extension("wpkg.tmp");
    let f = File::create(&tmp).map_err(io("creating", &tmp))?;
    let mut ob = tar::Builder::new(io::BufWriter::new(f));
    let mut h = header(tar::EntryType::Regular, 0o644, envelope.len() as u64, sde);
    ob.append_data(&mut h, MANIFEST_ENTRY, envelope.as_slice())
        .map_err(io("writing", &tmp))?;
    let mut h = header(tar::EntryType::Regular, 0o644, payload.len() as u64, sde);
    ob.append_data(&mut h, PAYLOAD_ENTRY, payload.as_slice())
        .map_err(io("writing", &tmp))?;
    let mut w = ob.into_inner().map_err(io("writing", &tmp))?;
    w.flush().map_err(io("writing", &tmp))?;
    w.get_ref().sync_all().map_err(io("writing", &tmp))?;
    std::fs::rename(&tmp, out).map_err(io("renaming into place", out))?;
    Ok(manifest)
}

/// A package whose manifest signature has been verified. The payload is
/// verified while it is unpacked.
pub struct OpenedPackage {
    pub manifest: Manifest,
    file: File,
    payload_offset: u64,
    payload_size: u64,
    label: String,
}

/// Opens `path`, checks the manifest's signature against `trusted` and the
/// manifest's structure.
pub fn open_package(path: &Path, trusted: &[PublicKey]) -> Result<OpenedPackage> {
    let label = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let malformed = |reason: String| RegistryError::Malformed {
        package: label.clone(),
        reason,
    };
    let file = File::open(path).map_err(io("opening package", path))?;
    let mut ar = tar::Archive::new(&file);
    let mut entries = ar.entries().map_err(io("reading package", path))?;
    let mut envelope = Vec::new();
    {
        let mut e = entries
            .next()
            .ok_or_else(|| malformed("empty archive".into()))?
            .map_err(io("reading package", path))?;
        if e.path_bytes().as_ref() != MANIFEST_ENTRY.as_bytes()
            || e.header().entry_type() != tar::EntryType::Regular
        {
            return Err(malformed(format!("first entry is not {MANIFEST_ENTRY}")));
        }
        if e.size() > MAX_MANIFEST {
            return Err(malformed("manifest too large".into()));
        }
        e.read_to_end(&mut envelope)
            .map_err(io("reading package", path))?;
    }
    let (payload_offset, payload_size) = {
        let e = entries
            .next()
            .ok_or_else(|| malformed(format!("no {PAYLOAD_ENTRY}")))?
            .map_err(io("reading package", path))?;
        if e.path_bytes().as_ref() != PAYLOAD_ENTRY.as_bytes()
            || e.header().entry_type() != tar::EntryType::Regular
        {
            return Err(malformed(format!("second entry is not {PAYLOAD_ENTRY}")));
        }
        (e.raw_file_position(), e.size())
    };
    let signed = verify_envelope(&envelope, trusted, &label)?;
    let manifest: Manifest =
        serde_json::from_value(signed).map_err(|e| malformed(format!("manifest: {e}")))?;
    manifest.validate()?;
    if manifest.payload.size != payload_size {
        return Err(RegistryError::DigestMismatch {
            package: manifest.name.clone(),
            what: "payload size".into(),
            expected: manifest.payload.size.to_string(),
            actual: payload_size.to_string(),
        });
    }
    let label = manifest.label();
    Ok(OpenedPackage {
        manifest,
        file,
        payload_offset,
        payload_size,
        label,
    })
}

struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}
impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// The entries of a manifest in staging order: files, then symlinks. The
/// staged copy of entry `i` is `<staging>/<i>`.
pub fn staged_paths(m: &Manifest) -> Vec<String> {
    m.files
        .iter()
        .map(|f| f.path.clone())
        .chain(m.symlinks.iter().map(|l| l.path.clone()))
        .collect()
}

impl OpenedPackage {
    /// Unpacks the payload flat into `staging` (entry `i` as file `i`),
    /// checking every file's sha256 and size, every link's target, that the
    /// payload holds exactly what the manifest lists, and the payload's
    /// sha256.
    pub fn unpack_to_staging(&mut self, staging: &Dir) -> Result<()> {
        let m = &self.manifest;
        let pkg = m.name.clone();
        let malformed = |reason: String| RegistryError::Malformed {
            package: pkg.clone(),
            reason,
        };
        let mut index: HashMap<&str, usize> =
            HashMap::with_capacity(m.files.len() + m.symlinks.len() + m.directories.len());
        for (i, f) in m.files.iter().enumerate() {
            index.insert(&f.path, i);
        }
        for (i, l) in m.symlinks.iter().enumerate() {
            index.insert(&l.path, m.files.len() + i);
        }
        let ndirs_base = m.files.len() + m.symlinks.len();
        for (i, d) in m.directories.iter().enumerate() {
            index.insert(d, ndirs_base + i);
        }
        let mut seen = vec![false; ndirs_base + m.directories.len()];

        self.file
            .seek(SeekFrom::Start(self.payload_offset))
            .map_err(io("reading payload of", &self.label))?;
        let mut hr = HashingReader {
            inner: (&self.file).take(self.payload_size),
            hasher: Sha256::new(),
        };
        {
            let dec = zstd::stream::Decoder::new(&mut hr)
                .map_err(io("decompressing payload of", &self.label))?;
            let mut ar = tar::Archive::new(dec);
            let mut buf = vec![0u8; 64 * 1024];
            for e in ar
                .entries()
                .map_err(|e| malformed(format!("payload: {e}")))?
            {
                let mut e = e.map_err(|e| malformed(format!("payload: {e}")))?;
                let raw = e.path_bytes();
                let p = std::str::from_utf8(&raw)
                    .map_err(|_| malformed("payload path is not UTF-8".into()))?;
                let p = p.trim_end_matches('/').to_string();
                let Some(&i) = index.get(p.as_str()) else {
                    return Err(malformed(format!(
                        "payload entry {p:?} is not in the manifest"
                    )));
                };
                if std::mem::replace(&mut seen[i], true) {
                    return Err(malformed(format!("payload entry {p:?} appears twice")));
                }
                let kind = e.header().entry_type();
                if i < m.files.len() {
                    let f = &m.files[i];
                    if kind != tar::EntryType::Regular {
                        return Err(malformed(format!(
                            "{p}: payload type differs from the manifest"
                        )));
                    }
                    let name = i.to_string();
                    let mut out = staging
                        .open_with(
                            &name,
                            cap_std::fs::OpenOptions::new()
                                .write(true)
                                .create_new(true)
                                .nofollow(),
                        )
                        .map_err(io("staging", &p))?;
                    let mut h = Sha256::new();
                    let mut n = 0u64;
                    loop {
                        let k = e
                            .read(&mut buf)
                            .map_err(|x| malformed(format!("{p}: {x}")))?;
                        if k == 0 {
                            break;
                        }
                        n += k as u64;
                        if n > f.size {
                            break;
                        }
                        h.update(&buf[..k]);
                        out.write_all(&buf[..k]).map_err(io("staging", &p))?;
                    }
                    if n != f.size {
                        return Err(RegistryError::DigestMismatch {
                            package: pkg.clone(),
                            what: format!("size of {p}"),
                            expected: f.size.to_string(),
                            actual: n.to_string(),
                        });
                    }
                    let got = hex::encode(h.finalize());
                    if got != f.sha256 {
                        return Err(RegistryError::DigestMismatch {
                            package: pkg.clone(),
                            what: format!("sha256 of {p}"),
                            expected: f.sha256.clone(),
                            actual: got,
                        });
                    }
                    rustix::fs::fchmod(&out, rustix::fs::Mode::from_raw_mode(f.mode))
                        .map_err(|x| io("setting mode of", &p)(x.into()))?;
                } else if i < ndirs_base {
                    let l = &m.symlinks[i - m.files.len()];
                    let target = e
                        .link_name_bytes()
                        .map(|t| t.into_owned())
                        .unwrap_or_default();
                    if kind != tar::EntryType::Symlink || target != l.target.as_bytes() {
                        return Err(malformed(format!(
                            "{p}: payload link differs from the manifest"
                        )));
                    }
                    rustix::fs::symlinkat(l.target.as_str(), staging, i.to_string().as_str())
                        .map_err(|x| io("staging", &p)(x.into()))?;
                } else if kind != tar::EntryType::Directory {
                    return Err(malformed(format!(
                        "{p}: payload type differs from the manifest"
                    )));
                }
            }
            // Drain whatever follows the tar end marker so the hash covers
            // the whole payload.
            let mut dec = ar.into_inner();
            io::copy(&mut dec, &mut io::sink()).map_err(|e| malformed(format!("payload: {e}")))?;
        }
        io::copy(&mut hr, &mut io::sink()).map_err(io("reading payload of", &self.label))?;
        let got = hex::encode(hr.hasher.finalize());
        if got != m.payload.sha256 {
            return Err(RegistryError::DigestMismatch {
                package: pkg,
                what: "payload sha256".into(),
                expected: m.payload.sha256.clone(),
                actual: got,
            });
        }
        if let Some(i) = seen.iter().position(|s| !s) {
            let p = if i < m.files.len() {
                &m.files[i].path
            } else if i < ndirs_base {
                &m.symlinks[i - m.files.len()].path
            } else {
                &m.directories[i - ndirs_base]
            };
            return Err(malformed(format!(
                "{p} is in the manifest but not in the payload"
            )));
        }
        Ok(())
    }
}
