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

use crate::attestation::{self, BuildFacts};
use crate::error::{RegistryError, Result, io};
use crate::fsops::has_control;
use crate::manifest::{
    FORMAT, FileEntry, LinkEntry, Manifest, Payload, Provenance, sign_envelope, verify_envelope,
};

pub const ZSTD_LEVEL: i32 = 12;
pub const MANIFEST_ENTRY: &str = "+MANIFEST";
pub const PAYLOAD_ENTRY: &str = "payload.tar.zst";
/// The optional third entry: the provenance attestation (a DSSE envelope).
pub const ATTESTATION_ENTRY: &str = "+PROVENANCE";
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
    /// A regular file: its contents are streamed from the tree when the
    /// payload is written, never held in memory.
    File,
    Link(String),
    /// A regular file archived under another path: `bin/NAME` becomes
    /// `libexec/wport/PORT/real/NAME` when it runs through the launcher.
    Moved(String),
    /// A file the packager adds (the launcher, a policy), with its mode.
    Bytes(Vec<u8>, u32),
}

/// How installed programs are confined when they run (issue 16): every
/// executable regular file directly in `bin/` for which `policy` returns a
/// policy is archived as `libexec/wport/PORT/real/NAME`, its policy as
/// `libexec/wport/PORT/policy/NAME`, `launcher` as
/// `libexec/wport/PORT/wport-launch`, and `bin/NAME` becomes a link to the
/// launcher (`wport_launch::Layout`). All of them are files of the signed
/// package, so `wport verify` covers them.
pub struct RuntimeWrap<'a> {
    /// The launcher binary's bytes.
    pub launcher: &'a [u8],
    /// The policy file's text for program `NAME`, or `None` to leave it
    /// unwrapped (`confine = false`).
    pub policy: &'a dyn Fn(&str) -> Option<String>,
}

/// Rewrites the walked tree as [`RuntimeWrap`] says; the result is sorted
/// by path again.
fn wrap_programs(
    root: &Dir,
    port: &str,
    wrap: &RuntimeWrap<'_>,
    nodes: Vec<(String, Node)>,
) -> Result<Vec<(String, Node)>> {
    use cap_std::fs::PermissionsExt;
    let layout = wport_launch::Layout { port };
    let ours = format!("{}/", layout.dir());
    let mut out = Vec::with_capacity(nodes.len() + 8);
    let mut wrapped = 0;
    for (path, node) in nodes {
        if path == layout.dir() || path.starts_with(&ours) {
            return Err(RegistryError::Other(format!(
                "port {port}: the destroot has {path}, where wport puts the programs' launcher: \
                 install nothing below {}",
                layout.dir()
            )));
        }
        let program = path.strip_prefix("bin/").filter(|name| !name.contains('/'));
        let (Some(name), Node::File) = (program, &node) else {
            out.push((path, node));
            continue;
        };
        let md = root
            .symlink_metadata(&path)
            .map_err(io("inspecting", &path))?;
        let policy = if md.is_file() && md.permissions().mode() & 0o111 != 0 {
            (wrap.policy)(name)
        } else {
            None
        };
        let Some(policy) = policy else {
            out.push((path, node));
            continue;
        };
        out.push((layout.real(name), Node::Moved(path.clone())));
        out.push((layout.policy(name), Node::Bytes(policy.into_bytes(), 0o644)));
        out.push((path, Node::Link(layout.link_target())));
        wrapped += 1;
    }
    if wrapped > 0 {
        let existing: std::collections::HashSet<String> = out
            .iter()
            .filter(|(_, n)| matches!(n, Node::Dir))
            .map(|(p, _)| p.clone())
            .collect();
        for dir in [
            "libexec".to_owned(),
            "libexec/wport".to_owned(),
            layout.dir(),
            format!("{}/policy", layout.dir()),
            format!("{}/real", layout.dir()),
        ] {
            if !existing.contains(&dir) {
                out.push((dir, Node::Dir));
            }
        }
        out.push((
            layout.launcher(),
            Node::Bytes(wrap.launcher.to_vec(), 0o755),
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// A name as it may be printed: control characters and invalid UTF-8
/// escaped, so an error about a hostile name cannot drive the terminal.
fn escaped(rel: &str, name: &std::ffi::OsStr) -> String {
    let name = match name.to_str() {
        Some(n) => n.escape_debug().to_string(),
        None => format!("{name:?}").trim_matches('"').to_string(),
    };
    if rel.is_empty() {
        name
    } else {
        format!("{}/{name}", rel.escape_debug())
    }
}

fn walk(
    port: &str,
    dir: &Dir,
    rel: &str,
    depth: usize,
    out: &mut Vec<(String, Node)>,
) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(RegistryError::Other(format!(
            "{rel}: tree deeper than {MAX_DEPTH}"
        )));
    }
    let mut names = Vec::new();
    for e in dir.entries().map_err(io("listing", rel))? {
        let e = e.map_err(io("listing", rel))?;
        let os = e.file_name();
        // A name with a newline or ESC would be signed into the manifest,
        // then refused at install and break `wport index` for the whole
        // repository (issue 11, item 13): refuse it here, naming it.
        let name = match os.to_str() {
            Some(n) if !has_control(n) => n.to_string(),
            _ => {
                return Err(RegistryError::UnsafeName {
                    port: port.into(),
                    path: escaped(rel, &os),
                });
            }
        };
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
            walk(port, &sub, &path, depth + 1, out)?;
        } else if ft.is_symlink() {
            let target = dir
                .read_link_contents(&name)
                .map_err(io("reading link", &path))?;
            let target = match target.to_str() {
                Some(t) if !has_control(t) && !t.is_empty() => t.to_string(),
                _ => {
                    return Err(RegistryError::UnsafeName {
                        port: port.into(),
                        path: format!(
                            "{} (the target of this link, {:?})",
                            path.escape_debug(),
                            target.as_os_str()
                        ),
                    });
                }
            };
            out.push((path, Node::Link(target)));
        } else if ft.is_file() {
            out.push((path, Node::File));
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

/// Hashes and counts what passes through, reading or writing.
struct Hashing<T> {
    inner: T,
    hasher: Sha256,
    count: u64,
}
impl<T> Hashing<T> {
    fn new(inner: T) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }
    fn finish(self) -> (T, String, u64) {
        (self.inner, hex::encode(self.hasher.finalize()), self.count)
    }
}
impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}
impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// An unlinked scratch file next to `near`: nothing is left behind if the
/// process dies, and nobody else can open it by name afterwards.
fn scratch_file(near: &Path) -> Result<File> {
    let tmp = near.with_extension("wpkg.payload.tmp");
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(io("creating the payload scratch file", &tmp))?;
    std::fs::remove_file(&tmp).map_err(io("unlinking the payload scratch file", &tmp))?;
    Ok(f)
}

/// Packages the tree at `tree` (the destroot's prefix directory) into
/// `out`, signed with `key`. Returns the manifest.
///
/// Memory stays bounded whatever the tree holds: every file is streamed
/// (fixed-size buffers) through the hasher into the compressor, and the
/// compressed payload goes to an unlinked scratch file, not to memory
/// (issue 11, item 13: two sparse 1 GiB files once took 2.15 GB RSS).
pub fn create_package(
    tree: &Path,
    meta: &PackageMeta,
    key: &SecretKey,
    out: &Path,
) -> Result<Manifest> {
    create_package_with(tree, meta, None, key, out)
}

/// [`create_package`], with the programs in `bin/` run through the
/// launcher as `wrap` says (`None`: packaged as they are).
pub fn create_package_with(
    tree: &Path,
    meta: &PackageMeta,
    wrap: Option<&RuntimeWrap<'_>>,
    key: &SecretKey,
    out: &Path,
) -> Result<Manifest> {
    create_package_attested(tree, meta, wrap, None, key, out)
}

/// [`create_package_with`], and when `facts` is given the package carries
/// its provenance attestation ([`crate::attestation`]) signed with `key`,
/// as a third entry [`ATTESTATION_ENTRY`].
pub fn create_package_attested(
    tree: &Path,
    meta: &PackageMeta,
    wrap: Option<&RuntimeWrap<'_>>,
    facts: Option<&BuildFacts>,
    key: &SecretKey,
    out: &Path,
) -> Result<Manifest> {
    let root = Dir::open_ambient_dir(tree, cap_std::ambient_authority())
        .map_err(io("opening the tree to package", tree))?;
    let mut nodes = Vec::new();
    walk(&meta.name, &root, "", 0, &mut nodes)?;
    if let Some(wrap) = wrap {
        nodes = wrap_programs(&root, &meta.name, wrap, nodes)?;
    }
    let sde = meta.source_date_epoch;

    let mut files = Vec::new();
    let mut symlinks = Vec::new();
    let mut directories = Vec::new();
    let scratch = scratch_file(out)?;
    let enc = zstd::stream::Encoder::new(Hashing::new(io::BufWriter::new(scratch)), ZSTD_LEVEL)
        .map_err(io("compressing", out))?;
    let mut tb = tar::Builder::new(enc);
    let mut parents = crate::fsops::Parents::new(&root);
    for (path, node) in &nodes {
        match node {
            Node::Dir => {
                let mut h = header(tar::EntryType::Directory, 0o755, 0, sde);
                tb.append_data(&mut h, path, io::empty())
                    .map_err(io("archiving", path))?;
                directories.push(path.clone());
            }
            Node::Bytes(bytes, mode) => {
                let mut h = header(tar::EntryType::Regular, *mode, bytes.len() as u64, sde);
                tb.append_data(&mut h, path, bytes.as_slice())
                    .map_err(io("archiving", path))?;
                files.push(FileEntry {
                    path: path.clone(),
                    sha256: hex::encode(Sha256::digest(bytes)),
                    mode: *mode,
                    size: bytes.len() as u64,
                });
            }
            Node::File | Node::Moved(_) => {
                use cap_std::fs::PermissionsExt;
                let source = match node {
                    Node::Moved(from) => from,
                    _ => path,
                };
                // Through handles, never following a link: a directory
                // swapped for a link since the walk stops the packaging.
                let (pd, name) = parents.parent(source).map_err(io("reading", source))?;
                let f = pd
                    .open_with(name, cap_std::fs::OpenOptions::new().read(true).nofollow())
                    .map_err(io("reading", path))?;
                // Size and mode from the open file, not from the walk: what
                // is archived is what is described.
                let md = f.metadata().map_err(io("inspecting", path))?;
                if !md.is_file() {
                    return Err(RegistryError::Other(format!(
                        "port {}: {path} changed type while being packaged",
                        meta.name
                    )));
                }
                let mode = if md.permissions().mode() & 0o111 != 0 {
                    0o755
                } else {
                    0o644
                };
                let size = md.len();
                let mut h = header(tar::EntryType::Regular, mode, size, sde);
                let mut r = Hashing::new(f.take(size));
                tb.append_data(&mut h, path, &mut r)
                    .map_err(io("archiving", path))?;
                let (_, sha256, n) = r.finish();
                if n != size {
                    // The archive now disagrees with its header: give up on
                    // the whole package rather than sign it.
                    return Err(RegistryError::Other(format!(
                        "port {}: {path} shrank from {size} to {n} bytes while being packaged",
                        meta.name
                    )));
                }
                files.push(FileEntry {
                    path: path.clone(),
                    sha256,
                    mode,
                    size,
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
    let hashing = tb
        .into_inner()
        .and_then(|e| e.finish())
        .map_err(io("compressing", out))?;
    let (writer, payload_sha256, payload_size) = hashing.finish();
    let mut payload = writer
        .into_inner()
        .map_err(|e| io("compressing", out)(e.into_error()))?;
    payload
        .seek(SeekFrom::Start(0))
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
            sha256: payload_sha256,
            size: payload_size,
        },
        files,
        symlinks,
        directories,
        provenance: meta.provenance.clone(),
    };
    manifest.validate()?;
    let envelope = sign_envelope(&manifest.to_value(), key)?;
    let attestation = match facts {
        Some(f) => Some(attestation::sign(
            &attestation::statement(&manifest, f, &key.key_id()),
            key,
        )?),
        None => None,
    };

    let tmp = out.with_extension("wpkg.tmp");
    let f = File::create(&tmp).map_err(io("creating", &tmp))?;
    let write = || -> io::Result<()> {
        let mut ob = tar::Builder::new(io::BufWriter::new(f));
        let mut h = header(tar::EntryType::Regular, 0o644, envelope.len() as u64, sde);
        ob.append_data(&mut h, MANIFEST_ENTRY, envelope.as_slice())?;
        let mut h = header(tar::EntryType::Regular, 0o644, payload_size, sde);
        ob.append_data(&mut h, PAYLOAD_ENTRY, (&mut payload).take(payload_size))?;
        if let Some(a) = &attestation {
            let mut h = header(tar::EntryType::Regular, 0o644, a.len() as u64, sde);
            ob.append_data(&mut h, ATTESTATION_ENTRY, a.as_slice())?;
        }
        let mut w = ob.into_inner()?;
        w.flush()?;
        w.get_ref().sync_all()
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(io("writing", &tmp)(e));
    }
    std::fs::rename(&tmp, out).map_err(io("renaming into place", out))?;
    Ok(manifest)
}

/// A package whose manifest signature and payload digest have been
/// verified. Each file is verified again while it is unpacked.
pub struct OpenedPackage {
    pub manifest: Manifest,
    /// The provenance attestation's bytes as the package carries them (a
    /// DSSE envelope, not yet checked: [`crate::attestation::open`]), or
    /// `None` for a package made before packages carried one.
    pub attestation: Option<Vec<u8>>,
    file: File,
    payload_offset: u64,
    payload_size: u64,
    label: String,
}

/// Opens `path`, checks the manifest's signature against `trusted`, the
/// manifest's structure, and the compressed payload's size and sha256
/// (streamed from the file, never decompressed for this).
pub fn open_package(path: &Path, trusted: &[PublicKey]) -> Result<OpenedPackage> {
    let label = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let file = File::open(path).map_err(io("opening package", path))?;
    open_package_file(file, &label, trusted)
}

/// [`open_package`] on a file already open (a repository package whose
/// bytes were just checked against the index through this same handle).
/// `label` names the package in errors.
pub fn open_package_file(
    mut file: File,
    label: &str,
    trusted: &[PublicKey],
) -> Result<OpenedPackage> {
    let malformed = |reason: String| RegistryError::Malformed {
        package: label.to_string(),
        reason,
    };
    file.seek(SeekFrom::Start(0))
        .map_err(io("reading package", label))?;
    // Raw entries: the tar crate's own handling of GNU long-name and PAX
    // entries reads their whole body into memory, unbounded, and this runs
    // before any signature is checked. The package format has neither.
    let mut ar = tar::Archive::new(&file);
    // With seeking: the payload is skipped over, not read, on the way to
    // the attestation after it.
    let mut entries = ar
        .entries_with_seek()
        .map_err(io("reading package", label))?
        .raw(true);
    let mut envelope = Vec::new();
    {
        let e = entries
            .next()
            .ok_or_else(|| malformed("empty archive".into()))?
            .map_err(|e| malformed(format!("outer archive: {e}")))?;
        if e.path_bytes().as_ref() != MANIFEST_ENTRY.as_bytes()
            || e.header().entry_type() != tar::EntryType::Regular
        {
            return Err(malformed(format!("first entry is not {MANIFEST_ENTRY}")));
        }
        if e.size() > MAX_MANIFEST {
            return Err(RegistryError::BoundExceeded {
                package: label.to_string(),
                what: format!("the size of {MANIFEST_ENTRY}"),
                limit: MAX_MANIFEST,
                actual: e.size(),
            });
        }
        let size = e.size();
        e.take(size)
            .read_to_end(&mut envelope)
            .map_err(io("reading package", label))?;
    }
    let (payload_offset, payload_size) = {
        let e = entries
            .next()
            .ok_or_else(|| malformed(format!("no {PAYLOAD_ENTRY}")))?
            .map_err(|e| malformed(format!("outer archive: {e}")))?;
        if e.path_bytes().as_ref() != PAYLOAD_ENTRY.as_bytes()
            || e.header().entry_type() != tar::EntryType::Regular
        {
            return Err(malformed(format!("second entry is not {PAYLOAD_ENTRY}")));
        }
        (e.raw_file_position(), e.size())
    };
    // The optional attestation: read now (bounded), checked by whoever
    // asks for it; nothing else may follow the payload.
    let attestation = match entries.next() {
        None => None,
        Some(e) => {
            let e = e.map_err(|e| malformed(format!("outer archive: {e}")))?;
            if e.path_bytes().as_ref() != ATTESTATION_ENTRY.as_bytes()
                || e.header().entry_type() != tar::EntryType::Regular
            {
                return Err(malformed(format!("third entry is not {ATTESTATION_ENTRY}")));
            }
            if e.size() > attestation::MAX_ENVELOPE {
                return Err(RegistryError::BoundExceeded {
                    package: label.to_string(),
                    what: format!("the size of {ATTESTATION_ENTRY}"),
                    limit: attestation::MAX_ENVELOPE,
                    actual: e.size(),
                });
            }
            let size = e.size();
            let mut bytes = Vec::new();
            e.take(size)
                .read_to_end(&mut bytes)
                .map_err(io("reading package", label))?;
            if entries.next().is_some() {
                return Err(malformed(format!("an entry follows {ATTESTATION_ENTRY}")));
            }
            Some(bytes)
        }
    };
    let signed = verify_envelope(&envelope, trusted, label)?;
    // Authenticated: parsed straight into the typed manifest.
    let manifest: Manifest =
        serde_json::from_str(signed).map_err(|e| malformed(format!("manifest: {e}")))?;
    drop(envelope);
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
    let mut pkg = OpenedPackage {
        manifest,
        attestation,
        file,
        payload_offset,
        payload_size,
        label,
    };
    // Hash first (issue 11, item 8): a payload swapped under a validly
    // signed manifest is refused here, before a decompressor or tar parser
    // ever sees it.
    pkg.copy_payload(&mut io::sink())?;
    Ok(pkg)
}

/// A reader that refuses to deliver more than `limit` bytes: the expanded
/// payload can never exceed what the signed manifest accounts for.
struct Bounded<R> {
    inner: R,
    read: u64,
    limit: u64,
    exceeded: std::rc::Rc<std::cell::Cell<bool>>,
}
impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.read >= self.limit {
            // One byte past the bound is enough to know.
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? == 0 {
                return Ok(0);
            }
            self.exceeded.set(true);
            return Err(io::Error::other("payload expands beyond its manifest"));
        }
        let room = (self.limit - self.read).min(buf.len() as u64) as usize;
        let n = self.inner.read(&mut buf[..room])?;
        self.read += n as u64;
        Ok(n)
    }
}

/// The longest name a GNU long-name or long-link entry may carry: a path
/// or link target (`safe_rel_path` allows < 4096 bytes) plus its NUL.
pub const MAX_LONG_NAME: u64 = 4096;
/// The largest zstd window the payload decoder accepts (2^24 = 16 MiB).
/// Packages are written at level [`ZSTD_LEVEL`], whose window is at most
/// 2^23; a frame asking for more is refused instead of allocating up to
/// the decoder default of 2^27 (or 2^31 with long mode).
pub const ZSTD_WINDOW_LOG_MAX: u32 = 24;

fn round_block(n: u64) -> u64 {
    n.div_ceil(512).saturating_mul(512)
}

/// The most bytes the payload tar of `m` can take when written as
/// [`create_package`] writes it: a header per entry, each file's data
/// rounded to blocks, a GNU long-name entry for each long path and long
/// link target, the end-of-archive blocks.
pub fn max_payload_tar_size(m: &Manifest) -> u64 {
    let long = |s: &str| {
        if s.len() >= 100 {
            512 + round_block(s.len() as u64 + 1)
        } else {
            0
        }
    };
    let mut total: u64 = 1024;
    for f in &m.files {
        total = total
            .saturating_add(512 + long(&f.path))
            .saturating_add(round_block(f.size));
    }
    for l in &m.symlinks {
        total = total.saturating_add(512 + long(&l.path) + long(&l.target));
    }
    for d in &m.directories {
        // A directory's name is archived with a trailing slash.
        total = total.saturating_add(512 + long(d) + 512);
    }
    total
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
    /// Copies the compressed payload to `out`, hashing it; refuses (after
    /// the last byte, before anything is decompressed) when its size or
    /// sha256 differs from the signed manifest. Reads at most the size the
    /// manifest states.
    fn copy_payload(&mut self, out: &mut dyn Write) -> Result<()> {
        self.file
            .seek(SeekFrom::Start(self.payload_offset))
            .map_err(io("reading payload of", &self.label))?;
        let mut r = Hashing::new((&self.file).take(self.payload_size));
        io::copy(&mut r, out).map_err(io("reading payload of", &self.label))?;
        let (_, got, n) = r.finish();
        let m = &self.manifest;
        if n != m.payload.size {
            return Err(RegistryError::DigestMismatch {
                package: m.name.clone(),
                what: "payload size".into(),
                expected: m.payload.size.to_string(),
                actual: n.to_string(),
            });
        }
        if got != m.payload.sha256 {
            return Err(RegistryError::DigestMismatch {
                package: m.name.clone(),
                what: "payload sha256".into(),
                expected: m.payload.sha256.clone(),
                actual: got,
            });
        }
        Ok(())
    }

    /// Unpacks the payload flat into `staging` (entry `i` as file `i`).
    ///
    /// The compressed payload is first copied into an unlinked file in
    /// `staging` while it is hashed, and only that private copy, once its
    /// sha256 matches the signed manifest, is decompressed: the package
    /// file cannot be changed between the check and the use. The tar
    /// reader is then bounded by the manifest: every header's type and
    /// size must be what the manifest lists (checked before the entry's
    /// data is read), GNU long names are at most [`MAX_LONG_NAME`], PAX,
    /// sparse, hard-link and device entries are refused, each entry
    /// appears once, and the whole expanded stream may not exceed
    /// [`max_payload_tar_size`]. Every file's sha256 and size are checked
    /// while it is written.
    pub fn unpack_to_staging(&mut self, staging: &Dir) -> Result<()> {
        let mut private = staging
            .open_with(
                ".payload",
                cap_std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .nofollow(),
            )
            .map_err(io("staging the payload of", &self.label))?;
        crate::fsops::unlink(staging, ".payload")
            .map_err(io("staging the payload of", &self.label))?;
        {
            let mut w = io::BufWriter::new(&mut private);
            self.copy_payload(&mut w)?;
            w.flush()
                .map_err(io("staging the payload of", &self.label))?;
        }
        private
            .seek(SeekFrom::Start(0))
            .map_err(io("staging the payload of", &self.label))?;

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

        let limit = max_payload_tar_size(m);
        let exceeded = std::rc::Rc::new(std::cell::Cell::new(false));
        let mut dec = zstd::stream::read::Decoder::new(io::BufReader::new(private))
            .map_err(io("decompressing payload of", &self.label))?;
        dec.window_log_max(ZSTD_WINDOW_LOG_MAX)
            .map_err(io("decompressing payload of", &self.label))?;
        let bounded = Bounded {
            inner: dec,
            read: 0,
            limit,
            exceeded: exceeded.clone(),
        };
        let mut ar = tar::Archive::new(bounded);
        let over = || RegistryError::BoundExceeded {
            package: pkg.clone(),
            what: "the expanded payload".into(),
            limit,
            actual: limit + 1,
        };
        let entries = ar
            .entries()
            .map_err(|e| malformed(format!("payload: {e}")))?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut long_name: Option<Vec<u8>> = None;
        let mut long_link: Option<Vec<u8>> = None;
        for e in entries.raw(true) {
            let mut e = match e {
                Ok(e) => e,
                Err(_) if exceeded.get() => return Err(over()),
                Err(e) => return Err(malformed(format!("payload: {e}"))),
            };
            let kind = e.header().entry_type();
            let size = e.size();
            if kind.is_gnu_longname() || kind.is_gnu_longlink() {
                let what = if kind.is_gnu_longname() {
                    "GNU long name"
                } else {
                    "GNU long link"
                };
                // Decided on the header alone: the body is never read when
                // it is larger than any name the manifest can hold.
                if size > MAX_LONG_NAME {
                    return Err(RegistryError::BoundExceeded {
                        package: pkg.clone(),
                        what: format!("a {what} entry in the payload"),
                        limit: MAX_LONG_NAME,
                        actual: size,
                    });
                }
                let slot = if kind.is_gnu_longname() {
                    &mut long_name
                } else {
                    &mut long_link
                };
                if slot.is_some() {
                    return Err(malformed(format!("two {what} entries for one member")));
                }
                let mut v = Vec::with_capacity(size as usize);
                (&mut e).take(size).read_to_end(&mut v).map_err(|x| {
                    if exceeded.get() {
                        over()
                    } else {
                        malformed(format!("payload: {x}"))
                    }
                })?;
                while v.last() == Some(&0) {
                    v.pop();
                }
                *slot = Some(v);
                continue;
            }
            // Only what create_package writes: files, directories, links.
            // PAX headers, GNU sparse files, hard links, devices and FIFOs
            // are refused on the header, their bodies never read.
            if !matches!(
                kind,
                tar::EntryType::Regular | tar::EntryType::Directory | tar::EntryType::Symlink
            ) {
                return Err(malformed(format!(
                    "payload entry {:?} is a {} (type byte {:?}), which packages never hold",
                    String::from_utf8_lossy(&e.path_bytes()),
                    entry_type_name(kind),
                    kind.as_byte() as char
                )));
            }
            let raw = match long_name.take() {
                Some(n) => n,
                None => e.path_bytes().into_owned(),
            };
            let link_target = match long_link.take() {
                Some(t) => Some(t),
                None => e.link_name_bytes().map(|t| t.into_owned()),
            };
            let p = std::str::from_utf8(&raw).map_err(|_| {
                malformed(format!(
                    "payload path {:?} is not UTF-8",
                    String::from_utf8_lossy(&raw)
                ))
            })?;
            let p = p.trim_end_matches('/').to_string();
            let Some(&i) = index.get(p.as_str()) else {
                return Err(malformed(format!(
                    "payload entry {:?} is not in the manifest",
                    p
                )));
            };
            if std::mem::replace(&mut seen[i], true) {
                return Err(malformed(format!("payload entry {p:?} appears twice")));
            }
            let type_differs = || {
                malformed(format!(
                    "{p:?}: payload entry type {} (byte {:?}) differs from the manifest",
                    entry_type_name(kind),
                    kind.as_byte() as char
                ))
            };
            if i < m.files.len() {
                let f = &m.files[i];
                if kind != tar::EntryType::Regular {
                    return Err(type_differs());
                }
                if size != f.size {
                    return Err(RegistryError::DigestMismatch {
                        package: pkg.clone(),
                        what: format!("size of {p} (tar header)"),
                        expected: f.size.to_string(),
                        actual: size.to_string(),
                    });
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
                    let k = e.read(&mut buf).map_err(|x| {
                        if exceeded.get() {
                            over()
                        } else {
                            malformed(format!("{p}: {x}"))
                        }
                    })?;
                    if k == 0 {
                        break;
                    }
                    n += k as u64;
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
                if kind != tar::EntryType::Symlink {
                    return Err(type_differs());
                }
                if size != 0 || link_target.as_deref() != Some(l.target.as_bytes()) {
                    return Err(malformed(format!(
                        "{p}: payload link differs from the manifest"
                    )));
                }
                rustix::fs::symlinkat(l.target.as_str(), staging, i.to_string().as_str())
                    .map_err(|x| io("staging", &p)(x.into()))?;
            } else if kind != tar::EntryType::Directory {
                return Err(type_differs());
            } else if size != 0 {
                return Err(RegistryError::BoundExceeded {
                    package: pkg.clone(),
                    what: format!("the data of directory entry {p}"),
                    limit: 0,
                    actual: size,
                });
            }
        }
        if exceeded.get() {
            return Err(over());
        }
        if long_name.is_some() || long_link.is_some() {
            return Err(malformed("a GNU long name describes no entry".into()));
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

/// A readable name for a tar entry type (the tar crate's Debug output for
/// unknown types is `__Nonexhaustive(..)`).
fn entry_type_name(t: tar::EntryType) -> &'static str {
    match t.as_byte() {
        b'0' | b'\0' | b'7' => "regular file",
        b'1' => "hard link",
        b'2' => "symbolic link",
        b'3' => "character device",
        b'4' => "block device",
        b'5' => "directory",
        b'6' => "FIFO",
        b'x' => "PAX extension",
        b'g' => "PAX global extension",
        b'S' => "GNU sparse file",
        b'L' => "GNU long name",
        b'K' => "GNU long link",
        _ => "unknown",
    }
}
