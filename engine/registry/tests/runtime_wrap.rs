//! Packages whose programs run through the launcher (issue 16): the
//! rewritten layout is what the signed manifest lists, so install and
//! verify treat the launcher, the policies and the real programs like any
//! other file.

use std::os::unix::fs::PermissionsExt;

use wport_registry::manifest::Provenance;
use wport_registry::{PackageMeta, RuntimeWrap, create_package_with, open_package};
use wport_trust::SecretKey;

fn meta(prefix: &str) -> PackageMeta {
    PackageMeta {
        name: "figlet".into(),
        version: "1.0".into(),
        revision: 0,
        prefix: prefix.into(),
        dependencies: vec![],
        source_date_epoch: 1_700_000_000,
        provenance: Provenance::default(),
    }
}

fn exe(path: &std::path::Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn executables_in_bin_become_links_to_the_launcher() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    exe(&tree.join("bin/figlet"), "#!/bin/sh\necho figlet\n");
    exe(&tree.join("bin/unconfined"), "#!/bin/sh\n");
    std::fs::write(tree.join("bin/README"), "not a program\n").unwrap();
    std::os::unix::fs::symlink("figlet", tree.join("bin/figlet-alias")).unwrap();
    exe(&tree.join("share/figlet/helper"), "#!/bin/sh\n");
    let key = SecretKey::from_seed(&[7; 32]).unwrap();
    let policy = |name: &str| (name != "unconfined").then(|| format!("policy of {name}\n"));
    let wrap = RuntimeWrap {
        launcher: b"\x7fELF launcher",
        policy: &policy,
    };
    let out = tmp.path().join("figlet.wpkg");
    let m = create_package_with(&tree, &meta("/opt/w"), Some(&wrap), &key, &out).unwrap();
    let files: Vec<(&str, u32)> = m.files.iter().map(|f| (f.path.as_str(), f.mode)).collect();
    assert_eq!(
        files,
        [
            ("bin/README", 0o644),
            ("bin/unconfined", 0o755),
            ("libexec/wport/figlet/policy/figlet", 0o644),
            ("libexec/wport/figlet/real/figlet", 0o755),
            ("libexec/wport/figlet/wport-launch", 0o755),
            ("share/figlet/helper", 0o755),
        ]
    );
    let links: Vec<(&str, &str)> = m
        .symlinks
        .iter()
        .map(|l| (l.path.as_str(), l.target.as_str()))
        .collect();
    assert_eq!(
        links,
        [
            ("bin/figlet", "../libexec/wport/figlet/wport-launch"),
            ("bin/figlet-alias", "figlet"),
        ]
    );
    for dir in ["libexec", "libexec/wport", "libexec/wport/figlet/real"] {
        assert!(m.directories.iter().any(|d| d == dir), "{dir}");
    }
    // What is signed is what the payload holds.
    let opened = open_package(&out, &[key.public().clone()]).unwrap();
    assert_eq!(opened.manifest, m);
}

#[test]
fn the_launchers_directory_is_wports_own() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    exe(&tree.join("bin/figlet"), "#!/bin/sh\n");
    exe(&tree.join("libexec/wport/figlet/wport-launch"), "planted\n");
    let key = SecretKey::from_seed(&[7; 32]).unwrap();
    let policy = |_: &str| Some(String::new());
    let wrap = RuntimeWrap {
        launcher: b"launcher",
        policy: &policy,
    };
    let err = create_package_with(
        &tree,
        &meta("/opt/w"),
        Some(&wrap),
        &key,
        &tmp.path().join("x.wpkg"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("libexec/wport/figlet"), "{err}");
}
