//! `wport build --check`: what differs between two builds of one port.
//!
//! The command (`commands/build.rs`) builds the port twice with the inputs
//! that must not matter varied, packages both destroots, and hands the two
//! trees and the two packages to this module, which says file by file what
//! differs: the kind of entry, its permission bits, its size, a link's
//! target, its content — for text the first differing lines, for ELF files
//! the sections whose bytes differ, for `ar` archives the members — and,
//! for the packages, which field of the signed manifest differs.
//!
//! Owners and mtimes are not compared: a package stores neither (uid/gid 0
//! and SOURCE_DATE_EPOCH for every entry), and as root each build runs as
//! the build uid it leased. Everything else a package is made from is.
//!
//! Trees are walked through directory handles, one name at a time with
//! `O_NOFOLLOW`, as every host walk of a build's tree is
//! (docs/ARCHITECTURE.md): a link is compared as a link, never followed.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use anyhow::Context;
use cap_std::fs::Dir;
use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use sha2::{Digest, Sha256};

/// One entry of a tree, as far as a package can tell it from another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Dir {
        mode: u32,
    },
    File {
        mode: u32,
        size: u64,
        sha256: String,
    },
    Link {
        target: String,
    },
    /// A FIFO, socket or device: a package refuses them; compared by kind
    /// and mode only.
    Other {
        kind: &'static str,
        mode: u32,
    },
}

impl Entry {
    fn kind(&self) -> &'static str {
        match self {
            Entry::Dir { .. } => "directory",
            Entry::File { .. } => "file",
            Entry::Link { .. } => "symlink",
            Entry::Other { kind, .. } => kind,
        }
    }
}

/// A tree: each entry by its path relative to the root (`a/b`), sorted.
pub type Tree = BTreeMap<String, Entry>;

/// Open the regular file at `rel` (`a/b/c`) below `root`, each component
/// one name without following a link.
fn open_file(root: &Dir, rel: &str) -> std::io::Result<std::fs::File> {
    let mut parts: Vec<&str> = rel.split('/').collect();
    let last = parts.pop().unwrap_or_default();
    let mut held: Option<Dir> = None;
    for p in parts {
        let next = crate::build::open_sub_dir(held.as_ref().unwrap_or(root), p)?;
        held = Some(next);
    }
    let fd = rustix::fs::openat(
        held.as_ref().unwrap_or(root),
        last,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    Ok(std::fs::File::from(fd))
}

/// Every entry below the directory `path` (not the directory itself).
pub fn walk(path: &Path) -> anyhow::Result<Tree> {
    let root = Dir::open_ambient_dir(path, cap_std::ambient_authority())
        .with_context(|| format!("opening {}", path.display()))?;
    let mut tree = Tree::new();
    // (relative path of the directory, its handle); no recursion, no `..`.
    let mut stack = vec![(String::new(), root)];
    while let Some((prefix, dir)) = stack.pop() {
        let mut names = Vec::new();
        for entry in dir
            .entries()
            .with_context(|| format!("listing {}/{prefix}", path.display()))?
        {
            let entry = entry.with_context(|| format!("listing {}/{prefix}", path.display()))?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        for name in names {
            let rel = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            let shown = || format!("{}/{rel}", path.display());
            let st = rustix::fs::statat(&dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW)
                .map_err(std::io::Error::from)
                .with_context(|| format!("reading {}", shown()))?;
            let mode = st.st_mode & 0o7777;
            let entry = match FileType::from_raw_mode(st.st_mode) {
                FileType::Directory => {
                    let sub = crate::build::open_sub_dir(&dir, &name)
                        .with_context(|| format!("opening {}", shown()))?;
                    stack.push((rel.clone(), sub));
                    Entry::Dir { mode }
                }
                FileType::RegularFile => {
                    let fd = rustix::fs::openat(
                        &dir,
                        name.as_str(),
                        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                        Mode::empty(),
                    )
                    .map_err(std::io::Error::from)
                    .with_context(|| format!("opening {}", shown()))?;
                    let mut file = std::fs::File::from(fd);
                    let mut hasher = Sha256::new();
                    let size = std::io::copy(&mut file, &mut hasher)
                        .with_context(|| format!("reading {}", shown()))?;
                    Entry::File {
                        mode,
                        size,
                        sha256: hex(&hasher.finalize()),
                    }
                }
                FileType::Symlink => {
                    let target = rustix::fs::readlinkat(&dir, name.as_str(), Vec::new())
                        .map_err(std::io::Error::from)
                        .with_context(|| format!("reading the link {}", shown()))?;
                    Entry::Link {
                        target: target.to_string_lossy().into_owned(),
                    }
                }
                FileType::Fifo => Entry::Other { kind: "fifo", mode },
                FileType::Socket => Entry::Other {
                    kind: "socket",
                    mode,
                },
                FileType::CharacterDevice | FileType::BlockDevice | FileType::Unknown => {
                    Entry::Other {
                        kind: "device",
                        mode,
                    }
                }
            };
            tree.insert(rel, entry);
        }
    }
    Ok(tree)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One path that differs between the two trees, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// Relative to the tree's root.
    pub path: String,
    /// What differs, one item per aspect (`mode 0644 vs 0664`, `content`).
    pub what: Vec<String>,
    /// For content: what a reader looks at first (the first differing
    /// lines of a text, the ELF sections or archive members that differ).
    pub detail: Vec<String>,
}

/// Largest file whose content is read to explain a difference (the
/// digests say that it differs at any size).
const MAX_EXPLAINED: u64 = 64 << 20;

/// Every path whose entry differs between `a` and `b` (rooted at `root_a`
/// and `root_b`, read again to explain a content difference), in path
/// order.
pub fn compare_trees(root_a: &Path, a: &Tree, root_b: &Path, b: &Tree) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut paths: Vec<&String> = a.keys().chain(b.keys()).collect();
    paths.sort();
    paths.dedup();
    for path in paths {
        let mut what = Vec::new();
        let mut detail = Vec::new();
        match (a.get(path), b.get(path)) {
            (Some(x), None) => what.push(format!("only in the first build ({})", x.kind())),
            (None, Some(y)) => what.push(format!("only in the second build ({})", y.kind())),
            (Some(x), Some(y)) if x == y => continue,
            (Some(x), Some(y)) => match (x, y) {
                (Entry::Dir { mode: m }, Entry::Dir { mode: n }) => {
                    what.push(format!("mode {m:04o} vs {n:04o}"));
                }
                (
                    Entry::File {
                        mode: m,
                        size: s,
                        sha256: h,
                    },
                    Entry::File {
                        mode: n,
                        size: t,
                        sha256: k,
                    },
                ) => {
                    if m != n {
                        what.push(format!("mode {m:04o} vs {n:04o}"));
                    }
                    if s != t {
                        what.push(format!("size {s} vs {t}"));
                    }
                    if h != k {
                        what.push("content".to_owned());
                        detail = explain_content(root_a, root_b, path, (*s).max(*t));
                    }
                }
                (Entry::Link { target: s }, Entry::Link { target: t }) => {
                    what.push(format!("link target {s:?} vs {t:?}"));
                }
                (Entry::Other { kind, mode: m }, Entry::Other { mode: n, .. })
                    if x.kind() == y.kind() =>
                {
                    what.push(format!("{kind} mode {m:04o} vs {n:04o}"));
                }
                _ => what.push(format!("a {} vs a {}", x.kind(), y.kind())),
            },
            (None, None) => continue,
        }
        out.push(Difference {
            path: path.clone(),
            what,
            detail,
        });
    }
    out
}

fn read_bounded(root: &Path, rel: &str) -> Option<Vec<u8>> {
    let dir = Dir::open_ambient_dir(root, cap_std::ambient_authority()).ok()?;
    let file = open_file(&dir, rel).ok()?;
    let mut bytes = Vec::new();
    file.take(MAX_EXPLAINED).read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// What to show of two differing contents.
fn explain_content(root_a: &Path, root_b: &Path, rel: &str, size: u64) -> Vec<String> {
    if size > MAX_EXPLAINED {
        return vec![format!(
            "(over {} MiB: not read again)",
            MAX_EXPLAINED >> 20
        )];
    }
    match (read_bounded(root_a, rel), read_bounded(root_b, rel)) {
        (Some(x), Some(y)) => describe(&x, &y),
        _ => vec!["(could not be read again)".to_owned()],
    }
}

/// Lines of text shown at most, and characters of each.
const MAX_LINES: usize = 3;
const MAX_LINE_CHARS: usize = 160;

/// How two differing byte strings differ, for a reader: text lines, ELF
/// sections, `ar` members, or the first differing byte.
pub fn describe(a: &[u8], b: &[u8]) -> Vec<String> {
    if let (Some(x), Some(y)) = (elf_sections(a), elf_sections(b)) {
        return describe_parts("ELF section", &x, &y);
    }
    if let (Some(x), Some(y)) = (ar_members(a), ar_members(b)) {
        return describe_parts("archive member", &x, &y);
    }
    if let (Some(x), Some(y)) = (text(a), text(b)) {
        return describe_text(x, y);
    }
    let at = a
        .iter()
        .zip(b)
        .position(|(p, q)| p != q)
        .unwrap_or(a.len().min(b.len()));
    vec![format!("binary: first difference at byte {at}")]
}

fn text(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes)
        .ok()
        .filter(|t| !t.contains('\0'))
}

fn clip(line: &str) -> String {
    if line.chars().count() <= MAX_LINE_CHARS {
        return format!("{line:?}");
    }
    let cut: String = line.chars().take(MAX_LINE_CHARS).collect();
    format!("{cut:?}...")
}

fn describe_text(a: &str, b: &str) -> Vec<String> {
    let (x, y): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let mut out = Vec::new();
    for i in 0..x.len().max(y.len()) {
        let (p, q) = (x.get(i), y.get(i));
        if p == q {
            continue;
        }
        if out.len() == MAX_LINES {
            out.push("(more lines differ)".to_owned());
            break;
        }
        let show = |l: Option<&&str>| l.map_or("(no line)".to_owned(), |l| clip(l));
        out.push(format!("line {}: {} vs {}", i + 1, show(p), show(q)));
    }
    if out.is_empty() {
        // Same lines: a line ending or the last newline.
        out.push("text: same lines, different line endings".to_owned());
    }
    out
}

/// Named parts of two files that differ, and those in one file only.
fn describe_parts(what: &str, a: &[(String, Vec<u8>)], b: &[(String, Vec<u8>)]) -> Vec<String> {
    let (x, y): (BTreeMap<_, _>, BTreeMap<_, _>) = (
        a.iter().map(|(n, d)| (n.as_str(), d)).collect(),
        b.iter().map(|(n, d)| (n.as_str(), d)).collect(),
    );
    let mut differ = Vec::new();
    let mut only = Vec::new();
    for (name, d) in &x {
        match y.get(name) {
            Some(e) if e == d => {}
            Some(_) => differ.push(*name),
            None => only.push(format!("{name} (first build only)")),
        }
    }
    for name in y.keys().filter(|n| !x.contains_key(*n)) {
        only.push(format!("{name} (second build only)"));
    }
    let mut out = Vec::new();
    if !differ.is_empty() {
        out.push(format!("{what}s that differ: {}", differ.join(", ")));
    }
    if !only.is_empty() {
        out.push(format!("{what}s in one build only: {}", only.join(", ")));
    }
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    if out.is_empty() && names(a) != names(b) {
        out.push(format!("the same {what}s in another order"));
    }
    if out.is_empty() {
        // Same named parts: headers, tables or padding between them.
        out.push(format!(
            "every {what} is the same; headers or layout differ"
        ));
    }
    out
}

/// The sections of a little-endian ELF64 file with their bytes (`None`:
/// not one, or malformed). A header's own bytes (offsets, the section
/// table) are not a section; a difference there shows as no section.
fn elf_sections(f: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    if f.len() < 64 || &f[..4] != b"\x7fELF" || f[4] != 2 || f[5] != 1 {
        return None;
    }
    let u16_at = |o: usize| Some(u16::from_le_bytes(f.get(o..o + 2)?.try_into().ok()?));
    let u32_at = |o: usize| Some(u32::from_le_bytes(f.get(o..o + 4)?.try_into().ok()?));
    let u64_at = |o: usize| Some(u64::from_le_bytes(f.get(o..o + 8)?.try_into().ok()?));
    let shoff = usize::try_from(u64_at(0x28)?).ok()?;
    let shentsize = usize::from(u16_at(0x3a)?);
    let shnum = usize::from(u16_at(0x3c)?);
    let shstrndx = usize::from(u16_at(0x3e)?);
    if shentsize < 64 || shnum == 0 || shstrndx >= shnum {
        return None;
    }
    let header = |i: usize| -> Option<(u32, u32, usize, usize)> {
        let h = shoff.checked_add(i.checked_mul(shentsize)?)?;
        let name = u32_at(h)?;
        let kind = u32_at(h + 4)?;
        let offset = usize::try_from(u64_at(h + 0x18)?).ok()?;
        let size = usize::try_from(u64_at(h + 0x20)?).ok()?;
        Some((name, kind, offset, size))
    };
    let (_, _, str_off, str_size) = header(shstrndx)?;
    let strtab = f.get(str_off..str_off.checked_add(str_size)?)?;
    let mut out = Vec::new();
    for i in 1..shnum {
        let (name, kind, offset, size) = header(i)?;
        let name = strtab.get(name as usize..)?;
        let name = String::from_utf8_lossy(&name[..name.iter().position(|&c| c == 0)?]);
        // SHT_NOBITS (.bss) has no bytes in the file.
        let data = if kind == 8 {
            Vec::new()
        } else {
            f.get(offset..offset.checked_add(size)?)?.to_vec()
        };
        out.push((name.into_owned(), data));
    }
    Some(out)
}

/// The members of an `ar` archive (static libraries): each member's name
/// with its header's other fields (date, uid, gid, mode) and its bytes, so
/// a member whose timestamp differs is named too.
fn ar_members(f: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    let mut at = f.strip_prefix(b"!<arch>\n".as_slice())?;
    let mut out = Vec::new();
    while !at.is_empty() {
        let header = at.get(..60)?;
        let size: usize = std::str::from_utf8(&header[48..58])
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let name = String::from_utf8_lossy(&header[..16]).trim_end().to_owned();
        let data = at.get(60..60usize.checked_add(size)?)?;
        let mut member = header[16..58].to_vec();
        member.extend_from_slice(data);
        // `/` is the symbol table, `//` the long names: named as such.
        let name = match name.as_str() {
            "/" | "/SYM64/" => "(symbol table)".to_owned(),
            "//" => "(long names)".to_owned(),
            n => n.trim_end_matches('/').to_owned(),
        };
        out.push((name, member));
        at = at.get((60 + size + size % 2).min(at.len())..)?;
    }
    Some(out)
}

/// What differs between two packages of the same port: nothing when their
/// bytes are the same, else each field of the signed manifests that
/// differs (`provenance.mediated_calls_sha256: A vs B`, a file's digest
/// `files[bin/x].sha256`), the payload digest included. `key` is the key
/// both were signed with.
pub fn compare_packages(
    a: &Path,
    b: &Path,
    key: &wport_trust::PublicKey,
) -> anyhow::Result<Vec<String>> {
    let bytes_a = std::fs::read(a).with_context(|| format!("reading {}", a.display()))?;
    let bytes_b = std::fs::read(b).with_context(|| format!("reading {}", b.display()))?;
    if bytes_a == bytes_b {
        return Ok(Vec::new());
    }
    let open = |p: &Path| {
        wport_registry::open_package(p, std::slice::from_ref(key))
            .with_context(|| format!("opening {}", p.display()))
    };
    let (ma, mb) = (open(a)?.manifest, open(b)?.manifest);
    let (fa, fb) = (flatten(&ma.to_value()), flatten(&mb.to_value()));
    let mut out = Vec::new();
    let mut keys: Vec<&String> = fa.keys().chain(fb.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        let show = |v: Option<&String>| v.cloned().unwrap_or_else(|| "(absent)".to_owned());
        if fa.get(k) != fb.get(k) {
            out.push(format!(
                "manifest {k}: {} vs {}",
                show(fa.get(k)),
                show(fb.get(k))
            ));
        }
    }
    if out.is_empty() {
        out.push("the manifests are the same; the package bytes differ elsewhere".to_owned());
    }
    Ok(out)
}

/// A JSON value as `path: value` leaves; an array of objects with a `path`
/// field is keyed by it (`files[bin/x].sha256`), so one changed file is one
/// line, not a shifted list.
fn flatten(v: &serde_json::Value) -> BTreeMap<String, String> {
    fn go(v: &serde_json::Value, at: String, out: &mut BTreeMap<String, String>) {
        use serde_json::Value;
        let join = |k: &str| {
            if at.is_empty() {
                k.to_owned()
            } else {
                format!("{at}.{k}")
            }
        };
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    go(x, join(k), out);
                }
            }
            Value::Array(items) => {
                for (i, x) in items.iter().enumerate() {
                    let key = x
                        .get("path")
                        .or_else(|| x.get("name"))
                        .and_then(Value::as_str)
                        .map_or_else(|| i.to_string(), str::to_owned);
                    go(x, format!("{at}[{key}]"), out);
                }
            }
            other => {
                out.insert(at, other.to_string());
            }
        }
    }
    let mut out = BTreeMap::new();
    go(v, String::new(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_shows_the_first_differing_lines() {
        let d = describe(b"same\nbuilt at 100\nend\n", b"same\nbuilt at 103\nend\n");
        assert_eq!(d, ["line 2: \"built at 100\" vs \"built at 103\""]);
        let d = describe(b"a\n", b"a\nb\n");
        assert_eq!(d, ["line 2: (no line) vs \"b\""]);
    }

    #[test]
    fn archives_name_their_members() {
        fn member(name: &str, date: &str, data: &[u8]) -> Vec<u8> {
            let mut h = format!(
                "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
                format!("{name}/"),
                date,
                "0",
                "0",
                "644",
                data.len()
            )
            .into_bytes();
            h.extend_from_slice(data);
            if data.len() % 2 == 1 {
                h.push(b'\n');
            }
            h
        }
        let ar = |date: &str, b: &[u8]| {
            let mut f = b"!<arch>\n".to_vec();
            f.extend(member("a.o", "0", b"aaa"));
            f.extend(member("b.o", date, b));
            f
        };
        assert_eq!(
            describe(&ar("0", b"bb"), &ar("1765", b"bb")),
            ["archive members that differ: b.o"]
        );
        assert_eq!(
            describe(&ar("0", b"bb"), &ar("0", b"bc")),
            ["archive members that differ: b.o"]
        );
    }

    #[test]
    fn elf_files_name_the_sections_that_differ() {
        let a = std::fs::read("/bin/true").expect("an ELF program to read");
        let sections = elf_sections(&a).expect("/bin/true parses as ELF64");
        let (_, text) = sections
            .iter()
            .find(|(n, d)| n == ".text" && d.len() > 16)
            .expect("a .text section");
        let at = a
            .windows(16)
            .position(|w| w == &text[..16])
            .expect(".text in the file");
        let mut b = a.clone();
        b[at] ^= 0xff;
        assert_eq!(describe(&a, &b), ["ELF sections that differ: .text"]);
    }

    #[test]
    fn binary_says_where() {
        assert_eq!(
            describe(b"\x00\x01\x02", b"\x00\x01\x03"),
            ["binary: first difference at byte 2"]
        );
    }

    #[test]
    fn trees_differ_by_kind_mode_size_target_and_presence() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        for (root, text, mode, target) in [(&a, "one\n", 0o644, "x"), (&b, "two!\n", 0o664, "y")] {
            std::fs::create_dir_all(root.join("d")).unwrap();
            std::fs::write(root.join("d/f"), text).unwrap();
            std::fs::write(root.join("same"), "same").unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(root.join("d/f"), std::fs::Permissions::from_mode(mode))
                .unwrap();
            std::os::unix::fs::symlink(target, root.join("l")).unwrap();
        }
        std::fs::write(a.join("only-a"), "").unwrap();
        let d = compare_trees(&a, &walk(&a).unwrap(), &b, &walk(&b).unwrap());
        let paths: Vec<&str> = d.iter().map(|x| x.path.as_str()).collect();
        assert_eq!(paths, ["d/f", "l", "only-a"]);
        assert_eq!(d[0].what, ["mode 0644 vs 0664", "size 4 vs 5", "content"]);
        assert_eq!(d[0].detail, ["line 1: \"one\" vs \"two!\""]);
        assert_eq!(d[1].what, ["link target \"x\" vs \"y\""]);
        assert_eq!(d[2].what, ["only in the first build (file)"]);
    }

    #[test]
    fn manifests_flatten_by_path() {
        let v = serde_json::json!({"files": [{"path": "bin/x", "sha256": "aa"}], "n": 1});
        let f = flatten(&v);
        assert_eq!(
            f.get("files[bin/x].sha256").map(String::as_str),
            Some("\"aa\"")
        );
        assert_eq!(f.get("n").map(String::as_str), Some("1"));
    }
}
