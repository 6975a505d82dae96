//! Archives that must extract exactly: a normal source tree with internal
//! symlinks, every compression format, zip, long names, several distfiles into
//! one directory.

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;

use common::*;
use wport_fetch::extract::{ExtractReport, Limits};

/// A typical upstream tarball: `pkg-1.0/` with sources, an executable script,
/// a versioned library symlink chain and a relative link across directories.
fn source_tree() -> Vec<u8> {
    let mut configure = header(b"pkg-1.0/configure", REG, 17, b"", 0o755);
    set_mtime(&mut configure, 1_700_000_500);
    RawTar::new()
        .dir("pkg-1.0/", 0o755)
        .file("pkg-1.0/README", b"hello\n")
        .raw(configure, b"#!/bin/sh\nexit 0\n")
        .dir("pkg-1.0/src/", 0o755)
        .file("pkg-1.0/src/main.c", b"int main(void){return 0;}\n")
        .dir("pkg-1.0/lib/", 0o755)
        .file("pkg-1.0/lib/libfoo.so.1.2", b"ELF")
        .symlink("pkg-1.0/lib/libfoo.so.1", "libfoo.so.1.2")
        .symlink("pkg-1.0/lib/libfoo.so", "./libfoo.so.1")
        .symlink("pkg-1.0/src/README.link", "../README")
        .symlink("pkg-1.0/top", "..")
        .hardlink("pkg-1.0/README.copy", "pkg-1.0/README")
        .finish()
}

fn check_source_tree(s: &Sandbox, r: &ExtractReport) {
    assert_eq!(r.entries, 12);
    assert_eq!(r.bytes, 6 + 17 + 26 + 3);
    assert_eq!(r.top_level, vec!["pkg-1.0".to_string()]);
    assert_eq!(r.max_mtime, Some(1_700_000_500));
    assert_eq!(s.read_dest("pkg-1.0/README"), b"hello\n");
    assert_eq!(s.read_dest("pkg-1.0/src/README.link"), b"hello\n");
    assert_eq!(s.read_dest("pkg-1.0/lib/libfoo.so"), b"ELF");
    assert_eq!(s.read_dest("pkg-1.0/README.copy"), b"hello\n");
    assert_eq!(
        fs::metadata(s.dest_path("pkg-1.0/README")).unwrap().ino(),
        fs::metadata(s.dest_path("pkg-1.0/README.copy"))
            .unwrap()
            .ino(),
        "a hard link, not a copy"
    );
    assert_eq!(
        fs::read_link(s.dest_path("pkg-1.0/lib/libfoo.so.1"))
            .unwrap()
            .to_str(),
        Some("libfoo.so.1.2")
    );
    assert_eq!(s.mode("pkg-1.0/configure"), 0o755);
    assert_eq!(s.mode("pkg-1.0/README"), 0o644);
    let mtime = fs::metadata(s.dest_path("pkg-1.0/configure"))
        .unwrap()
        .mtime();
    assert_eq!(
        mtime, 1_700_000_500,
        "mtimes are preserved (make depends on them)"
    );
}

#[test]
fn normal_tree_with_internal_symlinks() {
    let s = Sandbox::new();
    let r = s.run(&source_tree()).unwrap();
    check_source_tree(&s, &r);
}

#[test]
fn every_compression_format_gives_the_same_tree() {
    let tar = source_tree();
    let cases: [(&str, Vec<u8>); 5] = [
        ("src.tar", tar.clone()),
        ("src.tar.gz", gzip(&tar)),
        ("src.tar.xz", xz(&tar)),
        ("src.tar.bz2", bzip2(&tar)),
        ("src.tar.zst", zstd(&tar)),
    ];
    for (name, bytes) in cases {
        let s = Sandbox::new();
        // Detection is by magic bytes, not by name.
        let p = s.write_archive("distfile", &bytes);
        let r = s.extract(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
        check_source_tree(&s, &r);
    }
}

#[test]
fn large_compressed_archives_stream_through_the_decompressor_thread() {
    // Several MiB across many channel chunks, in every codec, byte-exact.
    let mut big = Vec::with_capacity(3 << 20);
    let mut x: u32 = 1;
    while big.len() < 3 << 20 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        big.extend_from_slice(&x.to_le_bytes()[..2]);
        big.extend_from_slice(b"source text ");
    }
    let tar = RawTar::new()
        .file("p/big.bin", &big)
        .file("p/small", b"after the big one")
        .finish();
    for bytes in [gzip(&tar), xz(&tar), bzip2(&tar), zstd(&tar)] {
        let s = Sandbox::new();
        let p = s.write_archive("a", &bytes);
        let r = s.extract(&p).unwrap();
        assert_eq!(r.bytes, big.len() as u64 + 17);
        assert!(s.read_dest("p/big.bin") == big);
        assert_eq!(s.read_dest("p/small"), b"after the big one");
    }
}

#[test]
fn multi_member_gzip_is_read_whole() {
    // `cat a.gz b.gz` is valid gzip; gzip -d (and so tar -xzf) reads all members.
    let tar = source_tree();
    let (a, b) = tar.split_at(2048);
    let mut gz = gzip(a);
    gz.extend(gzip(b));
    let s = Sandbox::new();
    let p = s.write_archive("multi.tar.gz", &gz);
    let r = s.extract(&p).unwrap();
    check_source_tree(&s, &r);
}

#[test]
fn zip_with_dirs_modes_and_symlink() {
    let s = Sandbox::new();
    let z = zip(&[
        ("pkg/", 0o040755, b""),
        ("pkg/run.sh", 0o100755, b"#!/bin/sh\n"),
        ("pkg/data.txt", 0o100644, b"data\n"),
        ("pkg/sub/deep.txt", 0o100644, b"deep\n"),
        ("pkg/link", 0o120777, b"data.txt"),
    ]);
    let p = s.write_archive("src.zip", &z);
    let r = s.extract(&p).unwrap();
    assert_eq!(r.entries, 5);
    assert_eq!(r.bytes, 10 + 5 + 5);
    assert_eq!(r.top_level, vec!["pkg".to_string()]);
    assert!(r.max_mtime.is_some());
    assert_eq!(s.read_dest("pkg/sub/deep.txt"), b"deep\n");
    assert_eq!(s.read_dest("pkg/link"), b"data\n");
    assert_eq!(s.mode("pkg/run.sh"), 0o755);
    assert_eq!(s.mode("pkg/data.txt"), 0o644);
}

#[test]
fn pax_long_name_is_honoured() {
    let long = format!("pkg-1.0/{}/{}.c", "d".repeat(120), "f".repeat(100));
    let s = Sandbox::new();
    let tar = RawTar::new()
        .pax(&[("path", long.as_bytes()), ("mtime", b"1700000123.25")])
        .file("pkg-1.0/truncated-name", b"long\n")
        .finish();
    let r = s.run(&tar).unwrap();
    assert_eq!(s.read_dest(&long), b"long\n");
    assert!(!s.dest_path("pkg-1.0/truncated-name").exists());
    assert_eq!(
        r.max_mtime,
        Some(1_700_000_123),
        "PAX mtime overrides the ustar field"
    );
}

#[test]
fn gnu_long_name_and_long_link_are_honoured() {
    let long = format!("pkg/{}", "n".repeat(150));
    let s = Sandbox::new();
    let tar = RawTar::new()
        .gnu_longname(long.as_bytes())
        .file("pkg/short", b"x")
        .finish();
    s.run(&tar).unwrap();
    assert_eq!(s.read_dest(&long), b"x");
}

#[test]
fn tar_crate_builder_output_extracts() {
    // Archives written by a mainstream writer (GNU-format long names from the tar crate).
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(4);
    h.set_mode(0o644);
    h.set_mtime(42);
    let long = format!("a/{}", "x".repeat(200));
    b.append_data(&mut h, &long, &b"data"[..]).unwrap();
    let bytes = b.into_inner().unwrap();
    let s = Sandbox::new();
    let r = s.run(&bytes).unwrap();
    assert_eq!(s.read_dest(&long), b"data");
    assert_eq!(r.max_mtime, Some(42));
}

#[test]
fn two_archives_into_one_directory() {
    // A port with several distfiles: the second adds to, and may overwrite
    // regular files of, the first.
    let s = Sandbox::new();
    let main = s.write_archive("main.tar.gz", &gzip(&source_tree()));
    let docs = RawTar::new()
        .dir("pkg-1.0/doc/", 0o755)
        .file("pkg-1.0/doc/manual.txt", b"manual\n")
        .file("pkg-1.0/README", b"updated\n")
        .dir("extra/", 0o755)
        .finish();
    let docs = s.write_archive("docs.tar.xz", &xz(&docs));
    let r1 = s.extract(&main).unwrap();
    check_source_tree(&s, &r1);
    let r2 = s.extract(&docs).unwrap();
    assert_eq!(
        r2.top_level,
        vec!["pkg-1.0".to_string(), "extra".to_string()]
    );
    assert_eq!(s.read_dest("pkg-1.0/doc/manual.txt"), b"manual\n");
    assert_eq!(s.read_dest("pkg-1.0/README"), b"updated\n");
    assert_eq!(
        s.read_dest("pkg-1.0/README.copy"),
        b"hello\n",
        "the hard-linked copy is not modified"
    );
    assert_eq!(
        s.read_dest("pkg-1.0/src/main.c"),
        b"int main(void){return 0;}\n"
    );
}

#[test]
fn dot_slash_prefixes_and_root_entry() {
    // `tar -C dir -cf x.tar .` produces "./" and "./name" entries.
    let s = Sandbox::new();
    let tar = RawTar::new()
        .dir("./", 0o777)
        .dir("./pkg/", 0o755)
        .file("./pkg/a", b"a")
        .file(".//pkg/./b", b"b")
        .finish();
    let dest_mode = || fs::metadata(s.path("dest")).unwrap().mode() & 0o7777;
    let before = dest_mode();
    let r = s.run(&tar).unwrap();
    assert_eq!(r.top_level, vec!["pkg".to_string()]);
    assert_eq!(s.read_dest("pkg/b"), b"b");
    assert_eq!(dest_mode(), before, "the root entry does not chmod dest");
    assert_eq!(s.mode("pkg"), 0o755);
}

#[test]
fn pax_global_header_is_skipped() {
    // `git archive` writes a global header carrying the commit id.
    let s = Sandbox::new();
    let mut g = header(b"pax_global_header", b'g', 52, b"", 0o666);
    set_checksum(&mut g);
    let body = b"52 comment=0123456789abcdef0123456789abcdef01234567\n";
    let tar = RawTar::new().raw(g, body).file("p/x", b"x").finish();
    let r = s.run(&tar).unwrap();
    assert_eq!(r.entries, 1);
    assert_eq!(r.top_level, vec!["p".to_string()]);
}

#[test]
fn default_limits_are_sane() {
    let l = Limits::default();
    assert_eq!(l.max_total_bytes, 8 << 30);
    assert_eq!(l.max_entries, 1_000_000);
    assert_eq!(l.max_ratio, 200);
    assert!(l.max_entry_bytes <= l.max_total_bytes);
}
