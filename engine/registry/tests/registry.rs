//! Install, uninstall and verify through the library API: conflicts,
//! tampered packages, modified files, links out of the prefix, dependencies.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{Fixture, tree_listing};
use wport_registry::{InstallOptions, Prefix, Problem, RegistryError, open_package};

const HELLO: &[(&str, &str, bool)] = &[
    ("bin/hello", "#!/bin/sh\necho hello\n", true),
    ("share/doc/hello/README", "read me\n", false),
    ("share/man/man1/hello.1", ".TH HELLO 1\n", false),
];

fn install(f: &Fixture, pkg: &std::path::Path) -> wport_registry::Result<()> {
    let mut prefix = Prefix::open(&f.prefix, None)?;
    let mut p = open_package(pkg, &f.trusted)?;
    prefix
        .install(&mut p, &InstallOptions::default())
        .map(|_| ())
}

#[test]
fn install_verify_uninstall_roundtrip() {
    let f = Fixture::new();
    let long = format!("share/{}/{}.txt", "d".repeat(120), "n".repeat(140));
    let mut files = HELLO.to_vec();
    files.push((
        long.as_str(),
        "a long name (GNU long-name entries)\n",
        false,
    ));
    let (pkg, m) = f.package("hello", &[], &files, &[("bin/hi", "hello")]);
    assert_eq!(m.files.len(), 4);
    assert_eq!(m.files[0].mode, 0o755);
    assert_eq!(m.files[1].mode, 0o644);
    install(&f, &pkg).unwrap();
    assert_eq!(
        std::fs::read_to_string(f.prefix.join(&long)).unwrap(),
        "a long name (GNU long-name entries)\n"
    );
    assert_eq!(
        std::fs::read_to_string(f.prefix.join("bin/hello")).unwrap(),
        "#!/bin/sh\necho hello\n"
    );
    assert_eq!(
        std::fs::metadata(f.prefix.join("bin/hello"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777,
        0o755
    );
    assert_eq!(
        std::fs::read_link(f.prefix.join("bin/hi"))
            .unwrap()
            .to_str(),
        Some("hello")
    );
    let mut prefix = Prefix::open(&f.prefix, None).unwrap();
    assert_eq!(prefix.verify(None).unwrap(), vec![]);
    assert_eq!(
        prefix.registry().owner("bin/hello").unwrap().as_deref(),
        Some("hello")
    );
    let r = prefix.uninstall("hello", false).unwrap();
    assert_eq!(r.removed, 5);
    assert!(r.kept.is_empty());
    assert_eq!(
        tree_listing(&f.prefix),
        Vec::<String>::new(),
        "uninstall leaves no trace"
    );
    assert!(prefix.registry().packages().unwrap().is_empty());
}

#[test]
fn two_packages_owning_one_path_conflict() {
    let f = Fixture::new();
    let (a, _) = f.package(
        "a",
        &[],
        &[("bin/tool", "a\n", true), ("share/a/x", "x", false)],
        &[],
    );
    let (b, _) = f.package("b", &[], &[("bin/tool", "b\n", true)], &[]);
    install(&f, &a).unwrap();
    let before = tree_listing(&f.prefix);
    match install(&f, &b) {
        Err(RegistryError::Conflict { path, owner, .. }) => {
            assert_eq!((path.as_str(), owner.as_str()), ("bin/tool", "a"))
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(tree_listing(&f.prefix), before);
    assert_eq!(
        std::fs::read_to_string(f.prefix.join("bin/tool")).unwrap(),
        "a\n"
    );
    assert_eq!(
        Prefix::open(&f.prefix, None).unwrap().verify(None).unwrap(),
        vec![]
    );
}

#[test]
fn an_unowned_file_in_the_way_is_refused() {
    let f = Fixture::new();
    let (pkg, _) = f.package("hello", &[], HELLO, &[]);
    std::fs::create_dir_all(f.prefix.join("bin")).unwrap();
    std::fs::write(f.prefix.join("bin/hello"), "mine").unwrap();
    assert!(
        matches!(install(&f, &pkg), Err(RegistryError::UnownedFileExists { ref path, .. }) if path == "bin/hello")
    );
    assert_eq!(
        std::fs::read_to_string(f.prefix.join("bin/hello")).unwrap(),
        "mine"
    );
    assert_eq!(tree_listing(&f.prefix), vec!["bin", "bin/hello"]);
}

fn payload_range(pkg: &std::path::Path) -> (u64, u64) {
    let file = std::fs::File::open(pkg).unwrap();
    let mut ar = tar::Archive::new(file);
    let e = ar.entries().unwrap().nth(1).unwrap().unwrap();
    (e.raw_file_position(), e.size())
}

#[test]
fn flipped_payload_byte_is_refused_and_nothing_is_installed() {
    let f = Fixture::new();
    let (pkg, _) = f.package("hello", &[], HELLO, &[]);
    let (off, size) = payload_range(&pkg);
    let mut bytes = std::fs::read(&pkg).unwrap();
    for at in [off + size / 2, off + size - 1] {
        let mut b = bytes.clone();
        b[at as usize] ^= 0x01;
        std::fs::write(&pkg, &b).unwrap();
        let err = install(&f, &pkg).unwrap_err();
        assert!(
            matches!(
                err,
                RegistryError::DigestMismatch { .. } | RegistryError::Malformed { .. }
            ),
            "{err:?}"
        );
        assert!(err.is_refusal());
        assert_eq!(tree_listing(&f.prefix), Vec::<String>::new());
        assert!(
            std::fs::read_dir(f.prefix.join(".wport/staging"))
                .unwrap()
                .next()
                .is_none(),
            "staging cleaned up"
        );
    }
    bytes[off as usize + 3] ^= 0x80;
    std::fs::write(&pkg, &bytes).unwrap();
    assert!(install(&f, &pkg).unwrap_err().is_refusal());
}

#[test]
fn edited_manifest_is_refused() {
    let f = Fixture::new();
    let (pkg, m) = f.package("hello", &[], HELLO, &[]);
    let bytes = std::fs::read(&pkg).unwrap();
    // Change one file's recorded digest inside the signed manifest.
    let needle = m.files[0].sha256.as_bytes();
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    let mut b = bytes.clone();
    b[at] = if b[at] == b'0' { b'1' } else { b'0' };
    std::fs::write(&pkg, &b).unwrap();
    assert!(matches!(
        open_package(&pkg, &f.trusted),
        Err(RegistryError::SignatureRejected { .. })
    ));
    assert!(matches!(
        install(&f, &pkg),
        Err(RegistryError::SignatureRejected { .. })
    ));
    assert_eq!(tree_listing(&f.prefix), Vec::<String>::new());
}

#[test]
fn package_signed_by_an_untrusted_key_is_refused() {
    let f = Fixture::new();
    let (pkg, _) = f.package("hello", &[], HELLO, &[]);
    let other = wport_trust::SecretKey::from_seed(&[9; 32]).unwrap();
    match open_package(&pkg, &[other.public().clone()]) {
        Err(RegistryError::SignatureRejected { reason, .. }) => {
            assert!(reason.contains(&f.key.key_id()), "{reason}")
        }
        other => panic!("{:?}", other.err()),
    }
    assert!(matches!(
        open_package(&pkg, &[]),
        Err(RegistryError::SignatureRejected { .. })
    ));
}

#[test]
fn modified_file_is_found_by_verify_and_kept_by_uninstall_unless_forced() {
    let f = Fixture::new();
    let (pkg, _) = f.package("hello", &[], HELLO, &[("bin/hi", "hello")]);
    install(&f, &pkg).unwrap();
    std::fs::write(f.prefix.join("share/doc/hello/README"), "changed\n").unwrap();
    std::fs::set_permissions(
        f.prefix.join("bin/hello"),
        std::fs::Permissions::from_mode(0o4755),
    )
    .unwrap();
    std::fs::remove_file(f.prefix.join("share/man/man1/hello.1")).unwrap();
    std::fs::write(f.prefix.join("share/doc/hello/stray"), "?").unwrap();
    let mut prefix = Prefix::open(&f.prefix, None).unwrap();
    let problems = prefix.verify(Some("hello")).unwrap();
    let kinds: Vec<(&str, &str)> = problems
        .iter()
        .map(|p| match p {
            Problem::Modified { path, .. } => ("modified", path.as_str()),
            Problem::Missing { path, .. } => ("missing", path.as_str()),
            Problem::Unexpected { path, .. } => ("unexpected", path.as_str()),
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("modified", "bin/hello"),
            ("modified", "share/doc/hello/README"),
            ("missing", "share/man/man1/hello.1"),
            ("unexpected", "share/doc/hello/stray")
        ]
    );
    let r = prefix.uninstall("hello", false).unwrap();
    let kept: Vec<&str> = r.kept.iter().map(|k| k.0.as_str()).collect();
    assert_eq!(kept, vec!["bin/hello", "share/doc/hello/README"]);
    assert_eq!(r.missing, vec!["share/man/man1/hello.1"]);
    assert_eq!(
        std::fs::read_to_string(f.prefix.join("share/doc/hello/README")).unwrap(),
        "changed\n"
    );
    assert_eq!(
        tree_listing(&f.prefix),
        vec![
            "bin",
            "bin/hello",
            "share",
            "share/doc",
            "share/doc/hello",
            "share/doc/hello/README",
            "share/doc/hello/stray"
        ]
    );

    // --force removes changed files too.
    let f = Fixture::new();
    let (pkg, _) = f.package("hello", &[], HELLO, &[]);
    install(&f, &pkg).unwrap();
    std::fs::write(f.prefix.join("share/doc/hello/README"), "changed\n").unwrap();
    let r = Prefix::open(&f.prefix, None)
        .unwrap()
        .uninstall("hello", true)
        .unwrap();
    assert_eq!((r.removed, r.kept.len()), (3, 0));
    assert_eq!(tree_listing(&f.prefix), Vec::<String>::new());
}

#[test]
fn files_replaced_by_links_out_of_the_prefix_are_never_followed() {
    let f = Fixture::new();
    let outside = f.path("outside");
    std::fs::create_dir_all(outside.join("docs")).unwrap();
    std::fs::write(outside.join("victim"), "precious").unwrap();
    std::fs::write(outside.join("docs/README"), "precious too").unwrap();
    let (pkg, _) = f.package("hello", &[], HELLO, &[]);
    for force in [false, true] {
        install(&f, &pkg).unwrap();
        // A recorded file becomes a link to an outside file; a recorded
        // directory becomes a link to an outside directory holding a file
        // of the same name.
        std::fs::remove_file(f.prefix.join("bin/hello")).unwrap();
        std::os::unix::fs::symlink(outside.join("victim"), f.prefix.join("bin/hello")).unwrap();
        std::fs::remove_dir_all(f.prefix.join("share/doc/hello")).unwrap();
        std::os::unix::fs::symlink(outside.join("docs"), f.prefix.join("share/doc/hello")).unwrap();
        let mut prefix = Prefix::open(&f.prefix, None).unwrap();
        let problems = prefix.verify(None).unwrap();
        assert!(
            problems
                .iter()
                .any(|p| matches!(p, Problem::Modified { path, .. } if path == "bin/hello")),
            "{problems:?}"
        );
        let r = prefix.uninstall("hello", force).unwrap();
        assert_eq!(
            std::fs::read_to_string(outside.join("victim")).unwrap(),
            "precious"
        );
        assert_eq!(
            std::fs::read_to_string(outside.join("docs/README")).unwrap(),
            "precious too"
        );
        assert_eq!(
            std::fs::metadata(outside.join("victim"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o644
        );
        if force {
            // The link itself was removed, as a link.
            assert!(std::fs::symlink_metadata(f.prefix.join("bin/hello")).is_err());
        } else {
            assert!(r.kept.iter().any(|k| k.0 == "bin/hello"));
            std::fs::remove_file(f.prefix.join("bin/hello")).unwrap();
        }
        // The file under the linked directory was not reachable: kept.
        assert!(
            r.kept.iter().any(|k| k.0 == "share/doc/hello/README"),
            "{:?}",
            r.kept
        );
        std::fs::remove_file(f.prefix.join("share/doc/hello")).unwrap();
        drop(prefix);
        let _ = std::fs::remove_dir_all(f.prefix.join("bin"));
        let _ = std::fs::remove_dir_all(f.prefix.join("share"));
    }
}

#[test]
fn dependencies_must_be_installed_first_and_block_uninstall() {
    let f = Fixture::new();
    let (lib, _) = f.package("libfoo", &[], &[("lib/libfoo.so", "ELF", false)], &[]);
    let (app, _) = f.package("app", &["libfoo"], &[("bin/app", "app", true)], &[]);
    match install(&f, &app) {
        Err(RegistryError::MissingDependency {
            package,
            dependency,
            ..
        }) => assert_eq!((package.as_str(), dependency.as_str()), ("app", "libfoo")),
        other => panic!("{other:?}"),
    }
    install(&f, &lib).unwrap();
    install(&f, &app).unwrap();
    let mut prefix = Prefix::open(&f.prefix, None).unwrap();
    match prefix.uninstall("libfoo", false) {
        Err(RegistryError::HasDependents { dependents, .. }) => assert_eq!(dependents, vec!["app"]),
        other => panic!("{other:?}"),
    }
    assert!(f.prefix.join("lib/libfoo.so").exists());
    prefix.uninstall("app", false).unwrap();
    prefix.uninstall("libfoo", false).unwrap();
    assert_eq!(tree_listing(&f.prefix), Vec::<String>::new());
}

#[test]
fn shared_directories_stay_until_their_last_package_goes() {
    let f = Fixture::new();
    let (a, _) = f.package("a", &[], &[("share/common/a", "a", false)], &[]);
    let (b, _) = f.package("b", &[], &[("share/common/b", "b", false)], &[]);
    install(&f, &a).unwrap();
    install(&f, &b).unwrap();
    let mut prefix = Prefix::open(&f.prefix, None).unwrap();
    prefix.uninstall("a", false).unwrap();
    assert_eq!(
        tree_listing(&f.prefix),
        vec!["share", "share/common", "share/common/b"]
    );
    assert_eq!(prefix.verify(None).unwrap(), vec![]);
    prefix.uninstall("b", false).unwrap();
    assert_eq!(tree_listing(&f.prefix), Vec::<String>::new());
}

#[test]
fn packaging_is_deterministic() {
    let f = Fixture::new();
    let (p1, _) = f.package("hello", &[], HELLO, &[("bin/hi", "hello")]);
    let b1 = std::fs::read(&p1).unwrap();
    // Different mtimes and umask-visible modes in the tree do not matter.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let (p2, _) = f.package("hello", &[], HELLO, &[("bin/hi", "hello")]);
    assert_eq!(b1, std::fs::read(&p2).unwrap());
}

#[test]
fn a_planted_var_link_does_not_move_the_registry() {
    let f = Fixture::new();
    let elsewhere = f.path("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::create_dir_all(&f.prefix).unwrap();
    std::os::unix::fs::symlink(&elsewhere, f.prefix.join("var")).unwrap();
    assert!(Prefix::open(&f.prefix, None).is_err());
    assert!(
        std::fs::read_dir(&elsewhere).unwrap().next().is_none(),
        "nothing written through the link"
    );
}

#[test]
fn wrong_prefix_and_reinstall_are_refused() {
    let f = Fixture::new();
    let (pkg, _) = f.package("hello", &[], HELLO, &[]);
    let mut other = Prefix::open(&f.path("elsewhere"), None).unwrap();
    let mut p = open_package(&pkg, &f.trusted).unwrap();
    assert!(matches!(
        other.install(&mut p, &InstallOptions::default()),
        Err(RegistryError::WrongPrefix { .. })
    ));
    install(&f, &pkg).unwrap();
    assert!(matches!(
        install(&f, &pkg),
        Err(RegistryError::AlreadyInstalled { .. })
    ));
}
