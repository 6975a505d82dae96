//! Hostile archives: one test per extraction rule, each asserting the precise
//! error variant and (through `Sandbox::extract*`) that nothing outside `dest/`
//! changed: the victim files beside it stay byte-identical, with the same modes
//! and inodes, and no new entries appear next to them.

mod common;

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};

use common::*;
use wport_fetch::extract::{ExtractError, Limit, Limits};

macro_rules! assert_err {
    ($r:expr, $pat:pat $(if $guard:expr)?) => {
        match $r {
            Err($pat) $(if $guard)? => {}
            other => panic!("expected {}, got {other:?}", stringify!($pat)),
        }
    };
}

// --- UnsafePath --------------------------------------------------------------

#[test]
fn absolute_entry_name_is_refused() {
    let s = Sandbox::new();
    let abs = s.victim().join("secret.txt");
    let tar = RawTar::new()
        .file(abs.to_str().unwrap(), b"pwned\n")
        .finish();
    assert_err!(s.run(&tar), ExtractError::UnsafePath { entry } if entry == abs.to_str().unwrap());
}

#[test]
fn dotdot_entry_name_is_refused() {
    // The classic zip-slip / tar path traversal.
    let s = Sandbox::new();
    let tar = RawTar::new()
        .file("pkg/../../victim/secret.txt", b"pwned\n")
        .finish();
    assert_err!(s.run(&tar), ExtractError::UnsafePath { entry } if entry == "pkg/../../victim/secret.txt");
    assert!(
        !s.dest_path("pkg").exists(),
        "nothing of the refused entry is created"
    );
}

#[test]
fn nul_byte_in_pax_path_is_refused() {
    // A ustar name field stops at NUL, but a PAX `path` record carries raw bytes:
    // "ok\0/../../victim" must not be cut to "ok" by one layer and seen whole by another.
    let s = Sandbox::new();
    let tar = RawTar::new()
        .pax(&[("path", b"ok\0/../../victim/secret.txt")])
        .file("placeholder", b"pwned\n")
        .finish();
    assert_err!(s.run(&tar), ExtractError::UnsafePath { entry } if entry.starts_with("ok\0"));
}

#[test]
fn empty_entry_name_is_refused() {
    let s = Sandbox::new();
    let tar = RawTar::new()
        .raw(header(b"", REG, 3, b"", 0o644), b"abc")
        .finish();
    assert_err!(s.run(&tar), ExtractError::UnsafePath { entry } if entry.is_empty());
}

#[test]
fn dotdot_in_zip_entry_is_refused() {
    let s = Sandbox::new();
    let z = zip(&[("../victim/secret.txt", 0o644, b"pwned\n")]);
    let p = s.write_archive("a.zip", &z);
    assert_err!(s.extract(&p), ExtractError::UnsafePath { entry } if entry == "../victim/secret.txt");
}

// --- LinkEscape ----------------------------------------------------------------

#[test]
fn symlink_with_absolute_target_is_refused() {
    // RUSTSEC-2021-0080 (tar crate: links in archive can create directories
    // outside the destination): symlink to an absolute path, then entries under it.
    let s = Sandbox::new();
    let target = s.victim();
    let tar = RawTar::new()
        .symlink("evil", target.to_str().unwrap())
        .file("evil/secret.txt", b"pwned\n")
        .finish();
    assert_err!(s.run(&tar), ExtractError::LinkEscape { entry, .. } if entry == "evil");
    assert!(
        fs::symlink_metadata(s.dest_path("evil")).is_err(),
        "the link was not created"
    );
}

#[test]
fn symlink_climbing_out_of_dest_is_refused() {
    // RUSTSEC-2021-0080 with a relative target: pkg/up -> ../../victim.
    let s = Sandbox::new();
    let tar = RawTar::new()
        .dir("pkg/", 0o755)
        .symlink("pkg/up", "../../victim")
        .file("pkg/up/new-file", b"pwned\n")
        .finish();
    assert_err!(s.run(&tar), ExtractError::LinkEscape { entry, target } if entry == "pkg/up" && target == "../../victim");
}

#[test]
fn symlink_dotdot_after_a_symlinked_component_is_refused() {
    // `a/l -> ..` resolves to dest itself, so it is allowed; but `e -> a/l/../..`
    // is lexically inside (a/l/../.. = .) while the kernel resolves it as
    // dest/.. (l is followed before `..` applies). `..` may only lead a target.
    let s = Sandbox::new();
    let tar = RawTar::new()
        .dir("a/", 0o755)
        .symlink("a/l", "..")
        .symlink("e", "a/l/../..")
        .finish();
    assert_err!(s.run(&tar), ExtractError::LinkEscape { entry, .. } if entry == "e");
    assert_eq!(
        fs::read_link(s.dest_path("a/l")).unwrap().to_str(),
        Some("..")
    );
}

#[test]
fn hard_link_to_absolute_path_then_overwrite_is_refused() {
    // RUSTSEC-2018-0002 (tar crate: arbitrary file writes through hard links and
    // symlinks): a hard link to a file outside, then a regular entry of the same
    // name whose data would be written into the linked inode.
    let s = Sandbox::new();
    let victim = s.victim().join("secret.txt");
    let tar = RawTar::new()
        .hardlink("h", victim.to_str().unwrap())
        .file("h", b"pwned\n")
        .finish();
    assert_err!(s.run(&tar), ExtractError::LinkEscape { entry, .. } if entry == "h");
}

#[test]
fn hard_link_with_dotdot_target_is_refused() {
    // RUSTSEC-2018-0002, relative variant.
    let s = Sandbox::new();
    let tar = RawTar::new()
        .hardlink("h", "../victim/secret.txt")
        .file("h", b"pwned\n")
        .finish();
    assert_err!(s.run(&tar), ExtractError::LinkEscape { entry, .. } if entry == "h");
}

#[test]
fn hard_link_to_a_symlink_is_refused() {
    // linkat() on a symlink links the symlink itself, but a hard link must name a
    // regular file: through "s" a later write could land wherever s points.
    let s = Sandbox::new();
    let tar = RawTar::new()
        .file("x", b"x")
        .symlink("s", "x")
        .hardlink("h", "s")
        .finish();
    assert_err!(s.run(&tar), ExtractError::LinkEscape { entry, .. } if entry == "h");
}

#[test]
fn hard_link_through_planted_symlink_to_outside_is_refused() {
    // The target's parent is a symlink already in dest pointing at the victim dir.
    let s = Sandbox::new();
    symlink("../victim", s.dest_path("out")).unwrap();
    let tar = RawTar::new().hardlink("h", "out/secret.txt").finish();
    assert_err!(s.run(&tar), ExtractError::LinkEscape { entry, .. } if entry == "h");
}

#[test]
fn hard_link_to_missing_file_is_refused() {
    let s = Sandbox::new();
    let tar = RawTar::new()
        .hardlink("h", "not-yet")
        .file("not-yet", b"later")
        .finish();
    assert_err!(s.run(&tar), ExtractError::LinkEscape { entry, target } if entry == "h" && target == "not-yet");
}

#[test]
fn zip_symlink_escaping_dest_is_refused() {
    let s = Sandbox::new();
    let z = zip(&[
        ("pkg/", 0o040755, b""),
        ("pkg/up", 0o120777, b"../../victim"),
    ]);
    let p = s.write_archive("a.zip", &z);
    assert_err!(s.extract(&p), ExtractError::LinkEscape { entry, .. } if entry == "pkg/up");
}

// --- ThroughSymlink ----------------------------------------------------------------

#[test]
fn write_through_symlink_made_by_same_archive_is_refused() {
    // RUSTSEC-2021-0080 / tar-rs issue 238 shape, with a link that itself stays
    // inside (d/ln -> ..): entries under it are still refused, so no write or
    // directory creation ever follows a link.
    let s = Sandbox::new();
    let tar = RawTar::new()
        .dir("d/", 0o755)
        .symlink("d/ln", "..")
        .file("d/ln/d/ln/x", b"data")
        .finish();
    assert_err!(s.run(&tar), ExtractError::ThroughSymlink { entry, symlink } if entry == "d/ln/d/ln/x" && symlink == "d/ln");
}

#[test]
fn file_replacing_symlink_of_same_name_is_refused() {
    // RUSTSEC-2018-0002: "Tarballs can contain multiple entries for the same file":
    // a symlink first, then a regular file of the same name written through it.
    let s = Sandbox::new();
    let tar = RawTar::new()
        .file("real", b"keep me")
        .symlink("alias", "real")
        .file("alias", b"pwned")
        .finish();
    assert_err!(s.run(&tar), ExtractError::ThroughSymlink { entry, .. } if entry == "alias");
    assert_eq!(s.read_dest("real"), b"keep me");
}

#[test]
fn directory_entry_over_symlink_does_not_chmod_its_target() {
    // RUSTSEC-2026-0067 (tar crate: `unpack_in` can chmod arbitrary directories by
    // following symlinks): a symlink `foo`, then a directory entry `foo` with mode
    // 0777; the tar crate stat-ed through the link and chmod-ed its target. Here
    // the link is already in dest, pointing at the victim directory.
    let s = Sandbox::new();
    symlink("../victim/vdir", s.dest_path("foo")).unwrap();
    let tar = RawTar::new().dir("foo", 0o777).dir("foo/.", 0o777).finish();
    assert_err!(s.run(&tar), ExtractError::ThroughSymlink { entry, .. } if entry == "foo");
    let mode = fs::metadata(s.victim().join("vdir"))
        .unwrap()
        .permissions()
        .mode()
        & 0o7777;
    assert_eq!(mode, 0o700);
}

#[test]
fn directory_entry_over_inside_symlink_is_refused_without_chmod() {
    // RUSTSEC-2026-0067 within one archive: the link stays inside, its target keeps its mode.
    let s = Sandbox::new();
    let tar = RawTar::new()
        .dir("sub", 0o700)
        .symlink("foo", "sub")
        .dir("foo", 0o777)
        .finish();
    assert_err!(s.run(&tar), ExtractError::ThroughSymlink { entry, .. } if entry == "foo");
    assert_eq!(s.mode("sub"), 0o700);
}

#[test]
fn second_archive_writing_through_first_archives_symlink_is_refused() {
    // GNU tar CVE-2025-45582: a port with several distfiles extracts them into one
    // directory; the first plants `x -> somewhere`, the second writes `x/file`.
    // Our first archive can only plant an inside link; the second is refused anyway.
    let s = Sandbox::new();
    let first = s.write_archive(
        "first.tar",
        &RawTar::new().dir("sub", 0o755).symlink("x", "sub").finish(),
    );
    s.extract(&first).unwrap();
    let second = s.write_archive(
        "second.tar",
        &RawTar::new().file("x/file", b"data").finish(),
    );
    assert_err!(s.extract(&second), ExtractError::ThroughSymlink { entry, symlink } if entry == "x/file" && symlink == "x");
    assert!(!s.dest_path("sub/file").exists());
}

#[test]
fn archive_writing_through_preexisting_outside_symlink_is_refused() {
    // CVE-2025-45582 with the link already in dest (however it got there),
    // pointing at the victim directory: neither a new file nor an overwrite lands.
    let s = Sandbox::new();
    symlink("../victim", s.dest_path("x")).unwrap();
    let tar = RawTar::new().file("x/secret.txt", b"pwned\n").finish();
    assert_err!(s.run(&tar), ExtractError::ThroughSymlink { entry, .. } if entry == "x/secret.txt");
    let tar = RawTar::new().file("x/new.txt", b"pwned\n").finish();
    assert_err!(s.run(&tar), ExtractError::ThroughSymlink { entry, .. } if entry == "x/new.txt");
}

#[test]
fn existing_symlink_in_dest_is_not_written_through() {
    // An existing file in dest is never replaced through a link: a regular entry
    // or hard link named like a symlink already in dest is refused.
    let s = Sandbox::new();
    symlink("../victim/secret.txt", s.dest_path("victimlink")).unwrap();
    let tar = RawTar::new().file("victimlink", b"pwned\n").finish();
    assert_err!(s.run(&tar), ExtractError::ThroughSymlink { entry, .. } if entry == "victimlink");
    let tar = RawTar::new()
        .file("f", b"x")
        .hardlink("victimlink", "f")
        .finish();
    assert_err!(s.run(&tar), ExtractError::ThroughSymlink { entry, .. } if entry == "victimlink");
}

#[test]
fn zip_entry_through_its_own_symlink_is_refused() {
    let s = Sandbox::new();
    let z = zip(&[
        ("dir/", 0o040755, b""),
        ("link", 0o120777, b"dir"),
        ("link/f", 0o644, b"x"),
    ]);
    let p = s.write_archive("a.zip", &z);
    assert_err!(s.extract(&p), ExtractError::ThroughSymlink { entry, .. } if entry == "link/f");
}

// --- SpecialFile ----------------------------------------------------------------

#[test]
fn character_device_is_refused() {
    let s = Sandbox::new();
    let tar = RawTar::new()
        .raw(header(b"null", CHR, 0, b"", 0o666), b"")
        .finish();
    assert_err!(s.run(&tar), ExtractError::SpecialFile { entry, kind } if entry == "null" && kind == "character device");
    assert!(fs::symlink_metadata(s.dest_path("null")).is_err());
}

#[test]
fn block_device_is_refused() {
    let s = Sandbox::new();
    let tar = RawTar::new()
        .raw(header(b"sda", BLK, 0, b"", 0o660), b"")
        .finish();
    assert_err!(s.run(&tar), ExtractError::SpecialFile { entry, kind } if entry == "sda" && kind == "block device");
}

#[test]
fn fifo_is_refused() {
    // A fifo would block a build (or the host) that opens it.
    let s = Sandbox::new();
    let tar = RawTar::new()
        .raw(header(b"pipe", FIFO, 0, b"", 0o644), b"")
        .finish();
    assert_err!(s.run(&tar), ExtractError::SpecialFile { entry, kind } if entry == "pipe" && kind == "fifo");
}

#[test]
fn zip_socket_and_fifo_are_refused() {
    let s = Sandbox::new();
    let z = zip(&[("sock", 0o140755, b"")]);
    let p = s.write_archive("a.zip", &z);
    assert_err!(s.extract(&p), ExtractError::SpecialFile { entry, kind } if entry == "sock" && kind == "socket");
    let z = zip(&[("fifo", 0o010644, b"")]);
    let p = s.write_archive("b.zip", &z);
    assert_err!(s.extract(&p), ExtractError::SpecialFile { entry, kind } if entry == "fifo" && kind == "fifo");
}

// --- Modes ----------------------------------------------------------------------

#[test]
fn setuid_setgid_sticky_and_world_write_are_stripped() {
    let s = Sandbox::new();
    let tar = RawTar::new()
        .dir("d", 0o3777)
        .file_mode("d/suid", b"#!/bin/sh\n", 0o4777)
        .file_mode("d/sgid", b"x", 0o2640)
        .file_mode("d/locked", b"x", 0o000)
        .finish();
    s.run(&tar).unwrap();
    assert_eq!(s.mode("d"), 0o755);
    assert_eq!(s.mode("d/suid"), 0o755);
    assert_eq!(s.mode("d/sgid"), 0o640);
    assert_eq!(s.mode("d/locked"), 0o600, "owner read/write is kept");
}

// --- PAX ------------------------------------------------------------------------

#[test]
fn pax_size_overrides_a_nonzero_ustar_size() {
    // RUSTSEC-2026-0068 (tar crate ignored the PAX `size` record when the ustar
    // size was nonzero). The ustar field says 1024, PAX says 5: honouring PAX,
    // `a.txt` is "hello" and the next block is the header of `b.txt`; a reader
    // that believed 1024 would swallow b.txt's header as data.
    let s = Sandbox::new();
    let mut a = header(b"a.txt", REG, 1024, b"", 0o644);
    a[124..136].copy_from_slice(b"00000002000\0");
    set_checksum(&mut a);
    let tar = RawTar::new()
        .pax(&[("size", b"5")])
        .raw(a, b"hello")
        .file("b.txt", b"second")
        .finish();
    let r = s.run(&tar).unwrap();
    assert_eq!(s.read_dest("a.txt"), b"hello");
    assert_eq!(s.read_dest("b.txt"), b"second");
    assert_eq!(r.entries, 2);
}

#[test]
fn pax_size_with_zero_ustar_size_cannot_smuggle_an_entry() {
    // RUSTSEC-2025-0111 / CVE-2025-62518 (tokio-tar "TARmageddon"): ustar size 0,
    // PAX size nonzero. A reader using the ustar size parses the file's data as
    // the next header and extracts a "smuggled" entry other tools never see.
    let s = Sandbox::new();
    let inner = RawTar::new().file("smuggled.txt", b"surprise").0; // 1024 bytes
    let tar = RawTar::new()
        .pax(&[("size", inner.len().to_string().as_bytes())])
        .raw(header(b"outer.bin", REG, 0, b"", 0o644), &inner)
        .finish();
    let r = s.run(&tar).unwrap();
    assert_eq!(s.read_dest("outer.bin"), inner);
    assert!(!s.dest_path("smuggled.txt").exists());
    assert_eq!(r.entries, 1);
}

#[test]
fn pax_size_counts_against_entry_limit() {
    // A quota check reading the ustar size (0) instead of the PAX one would let
    // this 2 MiB entry through a 1 MiB limit.
    let s = Sandbox::new();
    let data = vec![7u8; 2 << 20];
    let tar = RawTar::new()
        .pax(&[("size", data.len().to_string().as_bytes())])
        .raw(header(b"big", REG, 0, b"", 0o644), &data)
        .finish();
    let p = s.write_archive("a.tar", &tar);
    let limits = Limits {
        max_entry_bytes: 1 << 20,
        ..Limits::default()
    };
    assert_err!(s.extract_with(&p, &limits), ExtractError::LimitExceeded { what: Limit::EntryBytes, limit, entry: Some(e) } if limit == 1 << 20 && e == "big");
    assert!(
        !s.dest_path("big").exists(),
        "refused before anything is written"
    );
}

// --- Limits -----------------------------------------------------------------------

#[test]
fn total_bytes_limit() {
    let s = Sandbox::new();
    let tar = RawTar::new()
        .file("a", &[1u8; 600])
        .file("b", &[2u8; 600])
        .finish();
    let p = s.write_archive("a.tar", &tar);
    let limits = Limits {
        max_total_bytes: 1000,
        ..Limits::default()
    };
    assert_err!(s.extract_with(&p, &limits), ExtractError::LimitExceeded { what: Limit::TotalBytes, limit: 1000, entry: Some(e) } if e == "b");
}

#[test]
fn entry_count_limit() {
    let s = Sandbox::new();
    let mut t = RawTar::new();
    for i in 0..11 {
        t = t.file(&format!("f{i}"), b"");
    }
    let p = s.write_archive("a.tar", &t.finish());
    let limits = Limits {
        max_entries: 10,
        ..Limits::default()
    };
    assert_err!(s.extract_with(&p, &limits), ExtractError::LimitExceeded { what: Limit::Entries, limit: 10, entry: Some(e) } if e == "f10");
}

#[test]
fn gzip_bomb_hits_ratio_limit() {
    // 64 MiB of zeros gzips to ~64 KiB: ratio ~1000.
    let s = Sandbox::new();
    let tar = RawTar::new().file("zeros", &vec![0u8; 64 << 20]).finish();
    let p = s.write_archive("bomb.tar.gz", &gzip(&tar));
    assert_err!(
        s.extract(&p),
        ExtractError::LimitExceeded {
            what: Limit::Ratio,
            limit: 200,
            ..
        }
    );
    let written = fs::metadata(s.dest_path("zeros"))
        .map(|m| m.len())
        .unwrap_or(0);
    assert!(written < 16 << 20, "stopped early, wrote {written} bytes");
}

#[test]
fn zstd_bomb_hits_ratio_limit() {
    let s = Sandbox::new();
    let tar = RawTar::new().file("zeros", &vec![0u8; 64 << 20]).finish();
    let p = s.write_archive("bomb.tar.zst", &zstd(&tar));
    assert_err!(
        s.extract(&p),
        ExtractError::LimitExceeded {
            what: Limit::Ratio,
            ..
        }
    );
}

#[test]
fn zip_bomb_hits_ratio_limit() {
    let s = Sandbox::new();
    let zeros = vec![0u8; 32 << 20];
    let z = zip(&[("zeros", 0o644, &zeros)]);
    let p = s.write_archive("bomb.zip", &z);
    assert_err!(s.extract(&p), ExtractError::LimitExceeded { what: Limit::Ratio, entry: Some(e), .. } if e == "zeros");
    assert!(!s.dest_path("zeros").exists());
}

#[test]
fn huge_gnu_long_name_hits_metadata_limit() {
    // The tar crate reads a long name into memory whole: 2 MiB of "name" must
    // stop at the metadata bound, not be buffered (or be 8 GiB next time).
    let s = Sandbox::new();
    let tar = RawTar::new()
        .gnu_longname(&vec![b'a'; 2 << 20])
        .file("x", b"")
        .finish();
    assert_err!(
        s.run(&tar),
        ExtractError::LimitExceeded {
            what: Limit::MetadataBytes,
            ..
        }
    );
}

// --- Conflicts ---------------------------------------------------------------------

#[test]
fn file_over_directory_is_refused() {
    let s = Sandbox::new();
    let tar = RawTar::new()
        .dir("d", 0o755)
        .file("d/keep", b"k")
        .file("d", b"x")
        .finish();
    assert_err!(s.run(&tar), ExtractError::Conflict { entry, existing: "directory" } if entry == "d");
    assert_eq!(s.read_dest("d/keep"), b"k");
}

#[test]
fn directory_over_file_is_refused() {
    let s = Sandbox::new();
    let tar = RawTar::new().file("f", b"x").dir("f", 0o755).finish();
    assert_err!(s.run(&tar), ExtractError::Conflict { entry, existing: "file" } if entry == "f");
    let tar = RawTar::new().file("g", b"x").file("g/h", b"y").finish();
    assert_err!(s.run(&tar), ExtractError::Conflict { entry, .. } if entry == "g/h");
}

#[test]
fn duplicate_file_replaces_only_its_own_name_not_a_hard_linked_inode() {
    // A later duplicate overwrites a regular file by unlinking it first, so the
    // earlier hard link keeps the old content (no write into a shared inode).
    let s = Sandbox::new();
    let tar = RawTar::new()
        .file("a", b"first")
        .hardlink("b", "a")
        .file("a", b"second")
        .finish();
    let r = s.run(&tar).unwrap();
    assert_eq!(s.read_dest("a"), b"second");
    assert_eq!(s.read_dest("b"), b"first");
    assert_eq!(r.entries, 3);
}

#[test]
fn unknown_format_and_truncated_stream_are_reported() {
    let s = Sandbox::new();
    let p = s.write_archive("junk.bin", b"this is not an archive at all");
    assert_err!(s.extract(&p), ExtractError::UnknownFormat { .. });
    let gz = gzip(&RawTar::new().file("a", &[5u8; 100_000]).finish());
    let p = s.write_archive("trunc.tar.gz", &gz[..gz.len() / 2]);
    assert_err!(s.extract(&p), ExtractError::Corrupt { .. });
}

#[test]
fn absolute_zip_entry_is_refused() {
    let s = Sandbox::new();
    let abs = s.victim().join("secret.txt");
    let z = zip(&[(abs.to_str().unwrap(), 0o644, b"pwned\n")]);
    let p = s.write_archive("a.zip", &z);
    assert_err!(s.extract(&p), ExtractError::UnsafePath { .. });
}

#[test]
fn huge_pax_header_hits_metadata_limit() {
    // Same bound for PAX records, which the tar crate also buffers whole.
    let s = Sandbox::new();
    let big = vec![b'v'; 2 << 20];
    let tar = RawTar::new()
        .pax(&[("comment", &big)])
        .file("x", b"")
        .finish();
    assert_err!(
        s.run(&tar),
        ExtractError::LimitExceeded {
            what: Limit::MetadataBytes,
            ..
        }
    );
}

#[test]
fn policy_errors_are_precise_inside_compressed_streams() {
    // The decompressor thread must not blur a policy refusal into a stream error.
    let s = Sandbox::new();
    let tar = RawTar::new()
        .file("pkg/big", &vec![3u8; 1 << 20])
        .symlink("pkg/up", "../../victim")
        .finish();
    for (name, bytes) in [
        ("a.tar.gz", gzip(&tar)),
        ("a.tar.xz", xz(&tar)),
        ("a.tar.bz2", bzip2(&tar)),
        ("a.tar.zst", zstd(&tar)),
    ] {
        let p = s.write_archive(name, &bytes);
        assert_err!(s.extract(&p), ExtractError::LinkEscape { entry, .. } if entry == "pkg/up");
    }
}

#[test]
fn corrupt_compressed_data_is_reported_with_the_entry() {
    let s = Sandbox::new();
    let mut data = Vec::new();
    let mut x: u32 = 7;
    for _ in 0..200_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        data.push((x >> 16) as u8);
    }
    let mut gz = gzip(&RawTar::new().file("noise.bin", &data).finish());
    let mid = gz.len() / 2;
    for b in &mut gz[mid..mid + 64] {
        *b ^= 0xa5;
    }
    let p = s.write_archive("bad.tar.gz", &gz);
    assert_err!(s.extract(&p), ExtractError::Corrupt { entry: Some(e), .. } if e == "noise.bin");
}

#[test]
fn absurdly_deep_path_hits_depth_limit() {
    // One directory handle is held per level: depth is bounded before any is created.
    let s = Sandbox::new();
    let deep = "d/".repeat(300) + "f";
    let tar = RawTar::new()
        .pax(&[("path", deep.as_bytes())])
        .file("x", b"")
        .finish();
    assert_err!(
        s.run(&tar),
        ExtractError::LimitExceeded {
            what: Limit::PathDepth,
            limit: 256,
            ..
        }
    );
    assert!(!s.dest_path("d").exists());
}

#[test]
fn zip_with_corrupted_data_is_reported_with_the_entry() {
    let s = Sandbox::new();
    let data: Vec<u8> = (0..50_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut z = zip(&[("noise.bin", 0o644, &data)]);
    // Local header: 30 fixed bytes, the name, the extra field; then the data.
    let name_len = u16::from_le_bytes([z[26], z[27]]) as usize;
    let extra_len = u16::from_le_bytes([z[28], z[29]]) as usize;
    let at = 30 + name_len + extra_len + 1000;
    for b in &mut z[at..at + 16] {
        *b ^= 0x5a;
    }
    let p = s.write_archive("bad.zip", &z);
    assert_err!(s.extract(&p), ExtractError::Corrupt { entry: Some(e), .. } if e == "noise.bin");
}

// --- Sparse files (issue 11, item 9) -------------------------------------------

/// A GNU sparse entry ('S'): `stored` data bytes, expanding to `real` bytes
/// (one data block at the very end, a hole before it).
fn gnu_sparse(name: &str, stored: &[u8], real: u64) -> Vec<u8> {
    fn octal12(field: &mut [u8], v: u64) {
        let s = format!("{v:011o}\0");
        field.copy_from_slice(s.as_bytes());
    }
    let mut h = header(name.as_bytes(), b'S', stored.len() as u64, b"", 0o644);
    // GNU magic and version ("ustar  \0") instead of POSIX ustar.
    h[257..265].copy_from_slice(b"ustar  \0");
    // First sparse map slot (offset 386): the data sits at real - stored.
    octal12(&mut h[386..398], real - stored.len() as u64);
    octal12(&mut h[398..410], stored.len() as u64);
    octal12(&mut h[483..495], real);
    set_checksum(&mut h);
    RawTar::new().raw(h, stored).finish()
}

#[test]
fn gnu_sparse_entry_is_refused_before_a_hole_is_written() {
    // The attack: ~200 bytes of tar.gz that the tar crate would expand into
    // 256 MiB of zeros, none of which come from the decompressor, so the ratio
    // bound never sees them.
    let s = Sandbox::new();
    let archive = gzip(&gnu_sparse("pkg-1.0/hole", &[7u8; 512], 256 << 20));
    assert!(archive.len() < 300, "{} bytes", archive.len());
    let p = s.write_archive("sparse.tar.gz", &archive);
    let err = s.extract(&p).unwrap_err();
    match &err {
        ExtractError::Sparse {
            archive,
            entry,
            format,
        } => {
            assert_eq!(archive, &p);
            assert_eq!(entry, "pkg-1.0/hole");
            assert_eq!(*format, "GNU");
        }
        other => panic!("expected Sparse, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("sparse.tar.gz") && msg.contains("\"pkg-1.0/hole\""),
        "{msg}"
    );
    assert_eq!(
        fs::read_dir(s.path("dest")).unwrap().count(),
        0,
        "nothing written"
    );
}

#[test]
fn pax_sparse_entries_are_refused_not_extracted_under_a_placeholder_name() {
    // GNU tar --sparse --format=pax: 1.0 renames the entry GNUSparseFile.N/...
    // and carries the map in the data; 0.0 and 0.1 keep the name and put the
    // map in PAX records. Each must be refused, not written as-is.
    let map_and_data = {
        let mut d = b"1\n1048064\n512\n".to_vec();
        d.resize(512, 0);
        d.extend_from_slice(&[9u8; 512]);
        d
    };
    type Records = Vec<(&'static str, &'static [u8])>;
    let cases: [(&str, Records, &[u8]); 3] = [
        (
            "GNUSparseFile.0/pkg-1.0/hole",
            vec![
                ("GNU.sparse.major", b"1"),
                ("GNU.sparse.minor", b"0"),
                ("GNU.sparse.name", b"pkg-1.0/hole"),
                ("GNU.sparse.realsize", b"1048576"),
            ],
            &map_and_data,
        ),
        (
            "pkg-1.0/hole",
            vec![
                ("GNU.sparse.size", b"1048576"),
                ("GNU.sparse.numblocks", b"1"),
                ("GNU.sparse.offset", b"1048064"),
                ("GNU.sparse.numbytes", b"512"),
            ],
            &[9u8; 512],
        ),
        (
            "pkg-1.0/hole",
            vec![
                ("GNU.sparse.size", b"1048576"),
                ("GNU.sparse.numblocks", b"1"),
                ("GNU.sparse.map", b"1048064,512"),
            ],
            &[9u8; 512],
        ),
    ];
    for (name, records, data) in cases {
        let s = Sandbox::new();
        let tar = RawTar::new()
            .dir("pkg-1.0/", 0o755)
            .pax(&records)
            .file(name, data)
            .finish();
        let err = s.run(&tar).unwrap_err();
        match &err {
            ExtractError::Sparse { entry, format, .. } => {
                assert_eq!((entry.as_str(), *format), (name, "PAX"), "{records:?}");
            }
            other => panic!("{records:?}: expected Sparse, got {other:?}"),
        }
        // The directory before it was extracted; no placeholder name, no hole.
        assert!(s.dest_path("pkg-1.0").is_dir());
        assert!(!s.dest_path("GNUSparseFile.0").exists(), "{records:?}");
        assert!(!s.dest_path("pkg-1.0/hole").exists(), "{records:?}");
    }
}

// --- Messages (issue 11, item 14) ----------------------------------------------

#[test]
fn unknown_entry_type_is_named_by_its_byte() {
    // 'V' is a GNU volume header; the tar crate has no variant for it.
    let s = Sandbox::new();
    let tar = RawTar::new()
        .raw(header(b"vol", b'V', 0, b"", 0o644), b"")
        .finish();
    let err = s.run(&tar).unwrap_err();
    assert!(
        matches!(err, ExtractError::Unsupported { kind: b'V', .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert_eq!(msg, "entry \"vol\": unsupported entry type 'V' (0x56)");
}

#[test]
fn a_megabyte_entry_name_is_cut_short_in_the_message() {
    // A 512 KiB GNU long name ending in `..`: refused as unsafe, and the
    // message shows a bounded prefix and the length, not the whole name.
    let s = Sandbox::new();
    let mut name = vec![b'a'; 512 * 1024 - 3];
    name.extend_from_slice(b"/..");
    let tar = RawTar::new()
        .gnu_longname(&name)
        .file("placeholder", b"x")
        .finish();
    let err = s.run(&tar).unwrap_err();
    assert!(
        matches!(&err, ExtractError::UnsafePath { entry } if entry.len() == name.len()),
        "not UnsafePath"
    );
    let msg = err.to_string();
    assert!(msg.len() < 400, "{} bytes: {}", msg.len(), &msg[..400]);
    assert!(msg.contains("…\" (524288 bytes)"), "{msg}");
}
