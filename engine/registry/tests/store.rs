//! Store layers: made once per installed package from the live prefix,
//! checked against the registry while linking, pinned, garbage-collected.

mod common;

use std::os::unix::fs::MetadataExt;

use common::Fixture;
use wport_registry::store::{StoreError, layer_key};
use wport_registry::{InstallOptions, Prefix, open_package};

fn install(f: &Fixture, pkg: &std::path::Path) {
    let mut prefix = Prefix::open(&f.prefix, None).unwrap();
    let mut p = open_package(pkg, &f.trusted).unwrap();
    prefix.install(&mut p, &InstallOptions::default()).unwrap();
}

fn layer_listing(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(root: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.push(rel);
            if e.file_type().unwrap().is_dir() {
                walk(root, &e.path(), out);
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// `zlib` <- `png` (png records zlib as a dependency), and `other`.
fn three(f: &Fixture) {
    let (z, _) = f.package(
        "zlib",
        &[],
        &[
            ("include/zlib.h", "#define ZLIB 1\n", false),
            ("lib/libz.a", "z", false),
        ],
        &[("lib/libz.so", "libz.a")],
    );
    let (p, _) = f.package(
        "png",
        &["zlib"],
        &[("include/png.h", "#define PNG 1\n", false)],
        &[],
    );
    let (o, _) = f.package(
        "other",
        &[],
        &[("include/other.h", "#define OTHER 1\n", false)],
        &[],
    );
    install(f, &z);
    install(f, &p);
    install(f, &o);
}

#[test]
fn a_layer_holds_exactly_the_package_and_shares_the_live_inodes() {
    let f = Fixture::new();
    three(&f);
    let prefix = Prefix::open_query(&f.prefix, None, false).unwrap();
    let view = prefix.view_layers(&["png".to_string()]).unwrap();
    // png and, through the registry's deps, zlib; sorted; not `other`.
    assert_eq!(view.packages(), vec!["png", "zlib"]);
    let zdir = &view.layers[1].1;
    let txn = prefix.registry().txn_of("zlib").unwrap().unwrap();
    assert_eq!(
        zdir,
        &f.prefix.join(".wport/store").join(layer_key("zlib", &txn))
    );
    assert_eq!(
        layer_listing(zdir),
        vec![
            "include",
            "include/zlib.h",
            "lib",
            "lib/libz.a",
            "lib/libz.so"
        ]
    );
    assert_eq!(
        std::fs::read_link(zdir.join("lib/libz.so")).unwrap(),
        std::path::Path::new("libz.a")
    );
    let live = std::fs::metadata(f.prefix.join("include/zlib.h")).unwrap();
    let layered = std::fs::metadata(zdir.join("include/zlib.h")).unwrap();
    assert_eq!((live.dev(), live.ino()), (layered.dev(), layered.ino()));
    assert_eq!(std::fs::metadata(zdir).unwrap().mode() & 0o7777, 0o755);
}

#[test]
fn layers_are_made_once_and_reused() {
    let f = Fixture::new();
    three(&f);
    let prefix = Prefix::open_query(&f.prefix, None, false).unwrap();
    let first = prefix.view_layers(&["zlib".to_string()]).unwrap();
    let ino = std::fs::metadata(&first.layers[0].1).unwrap().ino();
    drop(first);
    let again = prefix.view_layers(&["zlib".to_string()]).unwrap();
    assert_eq!(std::fs::metadata(&again.layers[0].1).unwrap().ino(), ino);
    // Nothing else in the store: no leftover temporary directory.
    let names: Vec<String> = std::fs::read_dir(f.prefix.join(".wport/store"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn a_modified_live_file_is_refused_by_name_and_no_layer_is_left() {
    let f = Fixture::new();
    three(&f);
    // Same size, other bytes: only the hash can tell.
    std::fs::write(f.prefix.join("include/zlib.h"), "#define ZLIB 2\n").unwrap();
    let prefix = Prefix::open_query(&f.prefix, None, false).unwrap();
    match prefix.view_layers(&["png".to_string()]) {
        Err(StoreError::Modified {
            package,
            path,
            what,
            ..
        }) => {
            assert_eq!(
                (package.as_str(), path.as_str()),
                ("zlib", "include/zlib.h")
            );
            assert!(what.starts_with("sha256 "), "{what}");
        }
        other => panic!("expected Modified, got {other:?}"),
    }
    let store = f.prefix.join(".wport/store");
    let left: Vec<String> = std::fs::read_dir(&store)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("zlib") || n.starts_with(".tmp-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_live_link_retargeted_is_refused() {
    let f = Fixture::new();
    three(&f);
    std::fs::remove_file(f.prefix.join("lib/libz.so")).unwrap();
    std::os::unix::fs::symlink("/etc/shadow", f.prefix.join("lib/libz.so")).unwrap();
    let prefix = Prefix::open_query(&f.prefix, None, false).unwrap();
    match prefix.view_layers(&["zlib".to_string()]) {
        Err(StoreError::Modified { path, what, .. }) => {
            assert_eq!(path, "lib/libz.so");
            assert!(what.contains("/etc/shadow"), "{what}");
        }
        other => panic!("expected Modified, got {other:?}"),
    }
}

#[test]
fn a_granted_package_that_is_not_installed_is_named() {
    let f = Fixture::new();
    three(&f);
    let prefix = Prefix::open_query(&f.prefix, None, false).unwrap();
    let err = prefix
        .view_layers(&["zlib".to_string(), "nosuch".to_string()])
        .unwrap_err();
    match &err {
        StoreError::NotInstalled {
            dependency,
            required_by,
            ..
        } => assert_eq!(
            (dependency.as_str(), required_by.as_deref()),
            ("nosuch", None)
        ),
        other => panic!("expected NotInstalled, got {other:?}"),
    }
    assert!(
        err.to_string().ends_with("; `wport install nosuch`"),
        "{err}"
    );
}

#[test]
fn gc_removes_stale_layers_but_not_pinned_ones() {
    let f = Fixture::new();
    three(&f);
    let (zlib_layer, other_layer) = {
        let prefix = Prefix::open_query(&f.prefix, None, false).unwrap();
        let z = prefix.view_layers(&["zlib".to_string()]).unwrap();
        let o = prefix.view_layers(&["other".to_string()]).unwrap();
        (z.layers[0].1.clone(), o.layers[0].1.clone())
    };
    // A half-made layer a crash left behind.
    std::fs::create_dir(f.prefix.join(".wport/store/.tmp-zlib@0-1-2")).unwrap();
    {
        let mut prefix = Prefix::open(&f.prefix, None).unwrap();
        prefix.uninstall("other", false).unwrap();
    }
    // A build still holding `other`'s old layer keeps it from the GC...
    let pin = std::fs::File::open(&other_layer).unwrap();
    rustix::fs::flock(&pin, rustix::fs::FlockOperation::LockShared).unwrap();
    let prefix = Prefix::open_query(&f.prefix, None, false).unwrap();
    let r = prefix.gc_store().unwrap();
    assert_eq!(r.removed, vec![".tmp-zlib@0-1-2".to_string()]);
    assert_eq!(r.in_use.len(), 1);
    assert!(other_layer.exists());
    // ...until it ends.
    drop(pin);
    let r = prefix.gc_store().unwrap();
    assert_eq!(r.removed.len(), 1);
    assert!(!other_layer.exists());
    // Live packages' layers and live files are untouched.
    assert!(zlib_layer.join("include/zlib.h").exists());
    assert_eq!(
        std::fs::read_to_string(f.prefix.join("include/zlib.h")).unwrap(),
        "#define ZLIB 1\n"
    );
}
