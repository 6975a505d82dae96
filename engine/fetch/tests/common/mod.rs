//! Shared fixtures: a sandbox with a destination and a victim directory beside
//! it, raw tar header construction (for archives the tar crate's builder refuses
//! to write), and compression helpers.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use wport_fetch::extract::{ExtractError, ExtractReport, Limits};

/// A temporary tree: `dest/` (where archives go), `victim/` (must never change),
/// and `archives/` (the hostile inputs).
pub struct Sandbox {
    pub root: tempfile::TempDir,
    pub dest: Dir,
}

impl Sandbox {
    pub fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        fs::create_dir(r.join("dest")).unwrap();
        fs::create_dir(r.join("archives")).unwrap();
        fs::create_dir(r.join("victim")).unwrap();
        fs::write(r.join("victim/secret.txt"), b"original secret\n").unwrap();
        fs::set_permissions(
            r.join("victim/secret.txt"),
            fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        fs::create_dir(r.join("victim/vdir")).unwrap();
        fs::set_permissions(r.join("victim/vdir"), fs::Permissions::from_mode(0o700)).unwrap();
        fs::write(r.join("victim/vdir/inner.txt"), b"inner\n").unwrap();
        let dest = Dir::open_ambient_dir(r.join("dest"), ambient_authority()).unwrap();
        Self { root, dest }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    pub fn victim(&self) -> PathBuf {
        self.path("victim")
    }

    pub fn write_archive(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path("archives").join(name);
        fs::write(&p, bytes).unwrap();
        p
    }

    /// Everything outside `dest/`: names, types, modes, contents, link targets.
    pub fn outside(&self) -> BTreeMap<PathBuf, String> {
        let mut out = BTreeMap::new();
        snapshot(self.root.path(), self.root.path(), &mut out, true);
        out
    }

    /// Extracts with the given limits while checking that nothing outside
    /// `dest/` changed, whatever the outcome.
    pub fn extract_with(
        &self,
        archive: &Path,
        limits: &Limits,
    ) -> Result<ExtractReport, ExtractError> {
        let before = self.outside();
        let r = wport_fetch::extract::extract(archive, &self.dest, limits);
        let after = self.outside();
        assert_eq!(
            before, after,
            "something outside dest changed (result: {r:?})"
        );
        r
    }

    pub fn extract(&self, archive: &Path) -> Result<ExtractReport, ExtractError> {
        self.extract_with(archive, &Limits::default())
    }

    /// Writes `bytes` as an archive and extracts it.
    pub fn run(&self, bytes: &[u8]) -> Result<ExtractReport, ExtractError> {
        let p = self.write_archive("a.tar", bytes);
        self.extract(&p)
    }

    pub fn dest_path(&self, rel: &str) -> PathBuf {
        self.path("dest").join(rel)
    }

    pub fn read_dest(&self, rel: &str) -> Vec<u8> {
        fs::read(self.dest_path(rel)).unwrap()
    }

    pub fn mode(&self, rel: &str) -> u32 {
        fs::symlink_metadata(self.dest_path(rel)).unwrap().mode() & 0o7777
    }
}

fn snapshot(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, String>, top: bool) {
    let mut names: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for p in names {
        if top && p.file_name().unwrap() == "dest" {
            continue;
        }
        let m = fs::symlink_metadata(&p).unwrap();
        let rel = p.strip_prefix(root).unwrap().to_path_buf();
        let desc = if m.file_type().is_symlink() {
            format!("link {:?}", fs::read_link(&p).unwrap())
        } else if m.is_dir() {
            format!("dir {:o}", m.mode())
        } else {
            format!(
                "file {:o} {:?} ino{}",
                m.mode(),
                fs::read(&p).unwrap(),
                m.ino()
            )
        };
        out.insert(rel, desc);
        if m.is_dir() {
            snapshot(root, &p, out, false);
        }
    }
}

// --- raw tar ---------------------------------------------------------------

pub const REG: u8 = b'0';
pub const HARD: u8 = b'1';
pub const SYM: u8 = b'2';
pub const CHR: u8 = b'3';
pub const BLK: u8 = b'4';
pub const DIR: u8 = b'5';
pub const FIFO: u8 = b'6';
pub const PAX: u8 = b'x';
pub const GNU_LONGNAME: u8 = b'L';

fn octal(field: &mut [u8], v: u64) {
    let s = format!("{:0width$o}", v, width = field.len() - 1);
    assert!(s.len() < field.len(), "value too large for field");
    field[..s.len()].copy_from_slice(s.as_bytes());
    field[s.len()] = 0;
}

/// One raw ustar header block, written field by field, with no validation at
/// all: whatever name, link or size a hostile archive would carry.
pub fn header(name: &[u8], typ: u8, size: u64, link: &[u8], mode: u32) -> [u8; 512] {
    let mut h = [0u8; 512];
    assert!(name.len() <= 100 && link.len() <= 100);
    h[..name.len()].copy_from_slice(name);
    octal(&mut h[100..108], u64::from(mode));
    octal(&mut h[108..116], 1000);
    octal(&mut h[116..124], 1000);
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], 1_700_000_000);
    h[156] = typ;
    h[157..157 + link.len()].copy_from_slice(link);
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    set_checksum(&mut h);
    h
}

pub fn set_checksum(h: &mut [u8; 512]) {
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
}

pub fn set_mtime(h: &mut [u8; 512], mtime: u64) {
    octal(&mut h[136..148], mtime);
    set_checksum(h);
}

/// Builds a tar stream from raw blocks.
#[derive(Default)]
pub struct RawTar(pub Vec<u8>);

impl RawTar {
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// Appends a header and its data, padded to a block.
    pub fn raw(mut self, h: [u8; 512], data: &[u8]) -> Self {
        self.0.extend_from_slice(&h);
        self.0.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.0.extend(std::iter::repeat_n(0u8, pad));
        self
    }

    pub fn file(self, name: &str, data: &[u8]) -> Self {
        self.file_mode(name, data, 0o644)
    }

    pub fn file_mode(self, name: &str, data: &[u8], mode: u32) -> Self {
        let h = header(name.as_bytes(), REG, data.len() as u64, b"", mode);
        self.raw(h, data)
    }

    pub fn dir(self, name: &str, mode: u32) -> Self {
        self.raw(header(name.as_bytes(), DIR, 0, b"", mode), b"")
    }

    pub fn symlink(self, name: &str, target: &str) -> Self {
        self.raw(
            header(name.as_bytes(), SYM, 0, target.as_bytes(), 0o777),
            b"",
        )
    }

    pub fn hardlink(self, name: &str, target: &str) -> Self {
        self.raw(
            header(name.as_bytes(), HARD, 0, target.as_bytes(), 0o644),
            b"",
        )
    }

    /// A PAX extended header ('x') applying `records` to the next entry.
    pub fn pax(self, records: &[(&str, &[u8])]) -> Self {
        let mut body = Vec::new();
        for (k, v) in records {
            // "<len> <key>=<value>\n" where <len> counts itself.
            let rest = k.len() + v.len() + 3;
            let mut len = rest + 1;
            while format!("{len}").len() + rest != len {
                len += 1;
            }
            body.extend_from_slice(format!("{len} {k}=").as_bytes());
            body.extend_from_slice(v);
            body.push(b'\n');
        }
        let h = header(b"././@PaxHeader", PAX, body.len() as u64, b"", 0o644);
        self.raw(h, &body)
    }

    /// A GNU long-name header ('L') for the next entry.
    pub fn gnu_longname(self, name: &[u8]) -> Self {
        let mut body = name.to_vec();
        body.push(0);
        let h = header(
            b"././@LongLink",
            GNU_LONGNAME,
            body.len() as u64,
            b"",
            0o644,
        );
        self.raw(h, &body)
    }

    /// The end-of-archive marker: two zero blocks.
    pub fn finish(mut self) -> Vec<u8> {
        self.0.extend_from_slice(&[0u8; 1024]);
        self.0
    }
}

// --- compression -------------------------------------------------------------

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn xz(data: &[u8]) -> Vec<u8> {
    let mut e = xz2::write::XzEncoder::new(Vec::new(), 6);
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn bzip2(data: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(data, 3).unwrap()
}

/// Zip entries: (name, unix mode including file type bits, data).
pub fn zip(entries: &[(&str, u32, &[u8])]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, mode, data) in entries {
        let base =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        let opts = base.unix_permissions(*mode);
        match mode & 0o170000 {
            0o040000 => {
                w.add_directory(*name, opts).unwrap();
            }
            0o120000 => {
                w.add_symlink(*name, std::str::from_utf8(data).unwrap(), opts)
                    .unwrap();
            }
            _ => {
                // Full external attributes, so type bits (fifo, socket...) survive.
                w.start_file(*name, base.external_attributes(mode << 16))
                    .unwrap();
                w.write_all(data).unwrap();
            }
        }
    }
    w.finish().unwrap().into_inner()
}
