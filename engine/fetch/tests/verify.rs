//! Verification: digests, declared sizes, and the quarantine rule that nothing
//! unverified reaches its final name.

use std::fs;
use std::io::{self, Read};
use std::path::Path;

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use wport_fetch::verify::{
    Expected, Sha256, VerifyError, copy_verified, stream_verified, verify_file,
};

fn expected_for(data: &[u8]) -> Expected {
    Expected {
        sha256: Sha256::of(data),
        size: data.len() as u64,
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

struct Setup {
    tmp: tempfile::TempDir,
    dst: Dir,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    fs::create_dir(tmp.path().join("dst")).unwrap();
    let dst = Dir::open_ambient_dir(tmp.path().join("dst"), ambient_authority()).unwrap();
    Setup { tmp, dst }
}

#[test]
fn good_file_lands_under_its_final_name() {
    let s = setup();
    let data = b"pristine upstream tarball bytes".repeat(5000);
    let src = s.tmp.path().join("download.part");
    fs::write(&src, &data).unwrap();
    copy_verified(&src, &s.dst, "pkg-1.0.tar.gz", &expected_for(&data)).unwrap();
    assert_eq!(
        fs::read(s.tmp.path().join("dst/pkg-1.0.tar.gz")).unwrap(),
        data
    );
    assert_eq!(
        names(&s.tmp.path().join("dst")),
        vec!["pkg-1.0.tar.gz"],
        "no temporary file left"
    );
    verify_file(
        &s.tmp.path().join("dst/pkg-1.0.tar.gz"),
        &expected_for(&data),
    )
    .unwrap();
}

#[test]
fn digest_mismatch_never_reaches_final_name_and_leaves_no_temp() {
    let s = setup();
    let src = s.tmp.path().join("download.part");
    fs::write(&src, b"tampered!").unwrap();
    let exp = expected_for(b"original!");
    let err = copy_verified(&src, &s.dst, "pkg.tar.gz", &exp).unwrap_err();
    match &err {
        VerifyError::DigestMismatch {
            file,
            expected,
            actual,
        } => {
            assert_eq!(file, &src);
            assert_eq!(*expected, exp.sha256);
            assert_eq!(*actual, Sha256::of(b"tampered!"));
        }
        other => panic!("expected DigestMismatch, got {other:?}"),
    }
    assert!(
        err.to_string().contains("download.part"),
        "the error names the file: {err}"
    );
    assert!(
        names(&s.tmp.path().join("dst")).is_empty(),
        "neither final nor temporary file remains"
    );
}

#[test]
fn failed_copy_keeps_a_previous_good_file() {
    let s = setup();
    fs::write(
        s.tmp.path().join("dst/pkg.tar.gz"),
        b"previous verified copy",
    )
    .unwrap();
    let src = s.tmp.path().join("download.part");
    fs::write(&src, b"evil").unwrap();
    let err = copy_verified(&src, &s.dst, "pkg.tar.gz", &expected_for(b"good")).unwrap_err();
    assert!(matches!(err, VerifyError::DigestMismatch { .. }), "{err:?}");
    assert_eq!(
        fs::read(s.tmp.path().join("dst/pkg.tar.gz")).unwrap(),
        b"previous verified copy"
    );
    assert_eq!(names(&s.tmp.path().join("dst")), vec!["pkg.tar.gz"]);
}

#[test]
fn too_big_stops_early() {
    /// An endless source that counts what it handed out.
    struct Endless(u64);
    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            buf.fill(b'z');
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
    }
    let mut src = Endless(0);
    let mut sink = Vec::new();
    let exp = Expected {
        sha256: Sha256::of(b""),
        size: 100_000,
    };
    let err = stream_verified(&mut src, &mut sink, &exp, Path::new("endless")).unwrap_err();
    assert!(
        matches!(err, VerifyError::SizeExceeded { limit: 100_000, ref file } if file == Path::new("endless")),
        "{err:?}"
    );
    assert!(
        src.0 <= 100_000 + 64 * 1024,
        "read {} bytes before stopping",
        src.0
    );
    assert!(
        sink.len() as u64 <= 100_000,
        "bytes past the declared size are never written"
    );
}

#[test]
fn too_big_file_is_quarantined_and_removed() {
    let s = setup();
    let src = s.tmp.path().join("big");
    fs::write(&src, vec![1u8; 1000]).unwrap();
    let exp = Expected {
        sha256: Sha256::of(&[1u8; 999]),
        size: 999,
    };
    let err = copy_verified(&src, &s.dst, "big", &exp).unwrap_err();
    assert!(
        matches!(err, VerifyError::SizeExceeded { limit: 999, .. }),
        "{err:?}"
    );
    assert!(names(&s.tmp.path().join("dst")).is_empty());
}

#[test]
fn short_file_is_a_size_mismatch() {
    let s = setup();
    let src = s.tmp.path().join("short");
    fs::write(&src, b"abc").unwrap();
    let exp = Expected {
        sha256: Sha256::of(b"abcd"),
        size: 4,
    };
    let err = verify_file(&src, &exp).unwrap_err();
    assert!(
        matches!(err, VerifyError::SizeMismatch { expected: 4, actual: 3, ref file } if file == &src),
        "{err:?}"
    );
    let err = copy_verified(&src, &s.dst, "short", &exp).unwrap_err();
    assert!(matches!(err, VerifyError::SizeMismatch { .. }), "{err:?}");
    assert!(
        names(&s.tmp.path().join("dst")).is_empty(),
        "temp file removed"
    );
}

#[test]
fn missing_source_names_the_file() {
    let s = setup();
    let src = s.tmp.path().join("nope.tar.gz");
    let err = verify_file(&src, &expected_for(b"")).unwrap_err();
    assert!(
        matches!(err, VerifyError::Io { op: "open", ref file, .. } if file == &src),
        "{err:?}"
    );
    assert!(err.to_string().contains("nope.tar.gz"));
}

#[test]
fn destination_name_must_be_plain() {
    let s = setup();
    let src = s.tmp.path().join("f");
    fs::write(&src, b"x").unwrap();
    for bad in ["", ".", "..", "../escape", "a/b", "nul\0"] {
        let err = copy_verified(&src, &s.dst, bad, &expected_for(b"x")).unwrap_err();
        assert!(
            matches!(err, VerifyError::InvalidName { .. }),
            "{bad:?}: {err:?}"
        );
    }
    assert!(!s.tmp.path().join("escape").exists());
}

#[test]
fn known_answer_digest() {
    // FIPS 180-2 example: SHA-256("abc").
    let d: Sha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        .parse()
        .unwrap();
    assert_eq!(Sha256::of(b"abc"), d);
    let s = setup();
    let src = s.tmp.path().join("abc");
    fs::write(&src, b"abc").unwrap();
    verify_file(&src, &Expected { sha256: d, size: 3 }).unwrap();
}
