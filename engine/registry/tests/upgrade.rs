//! `Prefix::upgrade`: replacing an installed package by another version in
//! place, under the journal. Crash injection (an abort after every journal
//! step of the upgrade, and of the recovery that follows, in a child
//! process), layout changes (a file becoming a directory and back, a
//! directory tree becoming a file, a link becoming a file and back, a link
//! retargeted), dependencies and dependents, conflicts, changed files, a
//! failed commit, and what `wport outdated` reads back.

#![allow(
    clippy::disallowed_methods,
    reason = "a test: runs this test binary as the child a crash or kill interrupts"
)]

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Fixture, tree_listing};
use wport_registry::manifest::{Provenance, SourceDigest};
use wport_registry::{
    InstallOptions, PackageMeta, Prefix, RegistryError, UpgradeReport, create_package, open_package,
};
use wport_trust::SecretKey;

type Files<'a> = &'a [(&'a str, &'a str, bool)];
type Links<'a> = &'a [(&'a str, &'a str)];

/// A package of `name` at `version`, built for the fixture's prefix.
fn build(
    f: &Fixture,
    name: &str,
    version: &str,
    deps: &[&str],
    files: Files<'_>,
    links: Links<'_>,
    provenance: Provenance,
) -> PathBuf {
    let tree = f.path(&format!("trees/{name}-{version}"));
    let _ = std::fs::remove_dir_all(&tree);
    std::fs::create_dir_all(&tree).unwrap();
    for (p, c, x) in files {
        let p = tree.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, c).unwrap();
        std::fs::set_permissions(
            &p,
            std::fs::Permissions::from_mode(if *x { 0o755 } else { 0o644 }),
        )
        .unwrap();
    }
    for (p, t) in links {
        let p = tree.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(t, &p).unwrap();
    }
    let out = f.path(&format!("packages/{name}-{version}_0.wpkg"));
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let meta = PackageMeta {
        name: name.into(),
        version: version.into(),
        revision: 0,
        prefix: f.prefix.to_string_lossy().into_owned(),
        dependencies: deps.iter().map(|d| d.to_string()).collect(),
        source_date_epoch: 1_700_000_000,
        provenance,
    };
    create_package(&tree, &meta, &f.key, &out).unwrap();
    out
}

fn install(f: &Fixture, pkg: &Path) -> wport_registry::Result<()> {
    let mut prefix = Prefix::open(&f.prefix, None)?;
    let mut p = open_package(pkg, &f.trusted)?;
    prefix
        .install(&mut p, &InstallOptions::default())
        .map(|_| ())
}

fn upgrade(f: &Fixture, pkg: &Path, force: bool) -> wport_registry::Result<UpgradeReport> {
    let mut prefix = Prefix::open(&f.prefix, None)?;
    let mut p = open_package(pkg, &f.trusted)?;
    prefix.upgrade(&mut p, &InstallOptions::default(), force)
}

/// One path of the prefix as the user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Dir,
    File(String, u32),
    Link(String),
}

/// Everything in the prefix but wport's own state: type, contents, mode,
/// link target.
fn snapshot(root: &Path) -> BTreeMap<String, Node> {
    tree_listing(root)
        .into_iter()
        .map(|rel| {
            let p = root.join(&rel);
            let md = std::fs::symlink_metadata(&p).unwrap();
            let node = if md.file_type().is_symlink() {
                Node::Link(std::fs::read_link(&p).unwrap().to_string_lossy().into())
            } else if md.is_dir() {
                Node::Dir
            } else {
                Node::File(
                    std::fs::read_to_string(&p).unwrap(),
                    md.permissions().mode() & 0o7777,
                )
            };
            (rel, node)
        })
        .collect()
}

fn state_is_clean(f: &Fixture) {
    for d in [".wport/staging", ".wport/journal"] {
        let left: Vec<_> = std::fs::read_dir(f.prefix.join(d)).unwrap().collect();
        assert!(left.is_empty(), "{d} not empty: {left:?}");
    }
}

const APP1: Files<'static> = &[
    ("bin/app", "app 1\n", true),
    ("etc/app.conf", "conf=1\n", false),
    ("lib/app/plugins/a.so", "plugin a\n", false),
    ("lib/app/plugins/sub/b.so", "plugin b\n", false),
    ("lib/libapp.so.1", "lib 1\n", false),
    ("share/app/keep", "the same in both\n", false),
    ("share/app/old-only", "only in 1\n", false),
    ("share/app/olddir/x", "x, only in 1\n", false),
];
const APP1_LINKS: Links<'static> = &[("bin/app-link", "app"), ("lib/libapp.so", "libapp.so.1")];
/// Version 2: `bin/app` changed, `bin/app-v2` added, `share/app/old-only`
/// and `share/app/olddir/` gone, `share/app/new-dir/y` added; the file
/// `etc/app.conf` became a directory, the directory tree `lib/app/plugins/`
/// a file; the link `lib/libapp.so` became a file and the file
/// `lib/libapp.so.1` a link; `bin/app-link` points elsewhere.
const APP2: Files<'static> = &[
    ("bin/app", "app 2\n", true),
    ("bin/app-v2", "added in 2\n", true),
    ("etc/app.conf/main", "conf=2\n", false),
    ("lib/app/plugins", "plugins are one file in 2\n", false),
    ("lib/libapp.so", "lib 2, a file\n", false),
    ("lib/libapp.so.2", "lib 2\n", false),
    ("share/app/keep", "the same in both\n", false),
    ("share/app/new-dir/y", "y, only in 2\n", false),
];
const APP2_LINKS: Links<'static> = &[
    ("bin/app-link", "app-v2"),
    ("lib/libapp.so.1", "libapp.so.2"),
];

struct World {
    f: Fixture,
    app1: PathBuf,
    app2: PathBuf,
    /// Extra files in both versions of `app` (contents differ).
    filler: usize,
}

/// `app`'s files at `version`: [`APP1`] or [`APP2`] and `filler` more.
fn app_files(version: &str, filler: usize) -> Vec<(String, String, bool)> {
    let base = if version == "1.0" { APP1 } else { APP2 };
    base.iter()
        .map(|(p, c, x)| (p.to_string(), c.to_string(), *x))
        .chain((0..filler).map(|i| {
            (
                format!("share/app/many/d{}/f{i}", i % 8),
                format!("{version} filler {i}\n"),
                false,
            )
        }))
        .collect()
}

/// `base` and `extra` (libraries), `app` 1.0 (needs base), `tool` (needs
/// app). `app` 2.0 needs base and extra.
fn world() -> World {
    world_with(0)
}

fn world_with(filler: usize) -> World {
    let f = Fixture::new();
    let files1 = app_files("1.0", filler);
    let files1: Vec<(&str, &str, bool)> = files1
        .iter()
        .map(|(p, c, x)| (p.as_str(), c.as_str(), *x))
        .collect();
    let files2 = app_files("2.0", filler);
    let files2: Vec<(&str, &str, bool)> = files2
        .iter()
        .map(|(p, c, x)| (p.as_str(), c.as_str(), *x))
        .collect();
    let base = build(
        &f,
        "base",
        "1.0",
        &[],
        &[("lib/libbase.so", "base\n", false)],
        &[],
        Provenance::default(),
    );
    let extra = build(
        &f,
        "extra",
        "1.0",
        &[],
        &[("lib/libextra.so", "extra\n", false)],
        &[],
        Provenance::default(),
    );
    let app1 = build(
        &f,
        "app",
        "1.0",
        &["base"],
        &files1,
        APP1_LINKS,
        Provenance::default(),
    );
    let app2 = build(
        &f,
        "app",
        "2.0",
        &["base", "extra"],
        &files2,
        APP2_LINKS,
        Provenance::default(),
    );
    let tool = build(
        &f,
        "tool",
        "1.0",
        &["app"],
        &[("bin/tool", "tool\n", true)],
        &[],
        Provenance::default(),
    );
    for p in [&base, &extra, &app1, &tool] {
        install(&f, p).unwrap();
    }
    World {
        f,
        app1,
        app2,
        filler,
    }
}

/// What a version of `app` looks like in the prefix, with the other
/// packages around it.
fn expected(version: &str, filler: usize) -> BTreeMap<String, Node> {
    let links = if version == "1.0" {
        APP1_LINKS
    } else {
        APP2_LINKS
    };
    let files = app_files(version, filler);
    let files: Vec<(&str, &str, bool)> = files
        .iter()
        .map(|(p, c, x)| (p.as_str(), c.as_str(), *x))
        .collect();
    let mut m = BTreeMap::new();
    let add_dirs = |m: &mut BTreeMap<String, Node>, p: &str| {
        let mut at = 0;
        while let Some(i) = p[at..].find('/') {
            m.insert(p[..at + i].to_string(), Node::Dir);
            at += i + 1;
        }
    };
    let others: Files<'_> = &[
        ("lib/libbase.so", "base\n", false),
        ("lib/libextra.so", "extra\n", false),
        ("bin/tool", "tool\n", true),
    ];
    for (p, c, x) in files.iter().chain(others.iter()) {
        add_dirs(&mut m, p);
        m.insert(
            p.to_string(),
            Node::File(c.to_string(), if *x { 0o755 } else { 0o644 }),
        );
    }
    for (p, t) in links {
        add_dirs(&mut m, p);
        m.insert(p.to_string(), Node::Link(t.to_string()));
    }
    m
}

/// After recovery: `app` is wholly 1.0 or wholly 2.0 — the prefix shows
/// exactly that version's paths and contents, the registry records that
/// version with its dependencies, `tool` still depends on it, verify is
/// clean, no staging or journal is left. Returns the version.
fn wholly_one_version(w: &World, what: &str) -> String {
    let prefix = Prefix::open(&w.f.prefix, None).unwrap();
    let reg = prefix.registry();
    let app = reg.package("app").unwrap().expect("app is installed");
    let want = expected(&app.version, w.filler);
    let got = snapshot(&w.f.prefix);
    if got != want {
        let extra: Vec<_> = got
            .iter()
            .filter(|(k, v)| want.get(*k) != Some(v))
            .collect();
        let lacking: Vec<_> = want
            .iter()
            .filter(|(k, v)| got.get(*k) != Some(v))
            .collect();
        panic!(
            "{what}: the registry says app {} but the prefix differs (recovered: {:?})\nnot of that version: {extra:?}\nmissing: {lacking:?}",
            app.version, prefix.recovered
        );
    }
    assert_eq!(prefix.verify(None).unwrap(), vec![], "{what}");
    let deps: &[&str] = if app.version == "1.0" {
        &["base"]
    } else {
        &["base", "extra"]
    };
    assert_eq!(reg.deps_of("app").unwrap(), deps, "{what}");
    assert_eq!(app.manifest.dependencies, deps, "{what}");
    assert_eq!(reg.dependents("app").unwrap(), vec!["tool"], "{what}");
    state_is_clean(&w.f);
    app.version
}

/// Runs [`child_upgrade`] in a child process of this test binary:
/// `Prefix::open` (recovery), then, with `pkg`, the upgrade; with `crash`,
/// `WPORT_TEST_CRASH_AT`.
fn child(prefix: &Path, pkg: Option<&Path>, crash: Option<u64>, no_hardlinks: bool) -> Output {
    let mut spec = prefix.to_string_lossy().into_owned();
    if let Some(p) = pkg {
        spec.push('\n');
        spec.push_str(&p.to_string_lossy());
    }
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", "child_upgrade", "--ignored", "--test-threads=1"])
        .env("WPORT_UPGRADE_CHILD", spec)
        .env_remove("WPORT_TEST_CRASH_AT")
        .env_remove("WPORT_TEST_NO_HARDLINK");
    if no_hardlinks {
        c.env("WPORT_TEST_NO_HARDLINK", "1");
    }
    if let Some(n) = crash {
        c.env("WPORT_TEST_CRASH_AT", n.to_string());
    }
    c.output().unwrap()
}

/// Whether the child ran to the end (`false`: aborted by the injection);
/// anything else fails the test.
fn completed(o: &Output, what: &str) -> bool {
    if o.status.success() {
        return true;
    }
    assert_eq!(
        o.status.signal(),
        Some(libc_sigabrt()),
        "{what}: the child failed instead of aborting: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    false
}

const fn libc_sigabrt() -> i32 {
    6
}

/// The child side of the crash tests (not a test by itself).
#[test]
#[ignore = "the child process of crash_injection_upgrade_and_downgrade"]
fn child_upgrade() {
    let spec = std::env::var("WPORT_UPGRADE_CHILD").expect("run by the crash-injection test");
    let mut it = spec.split('\n');
    let prefix = PathBuf::from(it.next().unwrap());
    let mut p = Prefix::open(&prefix, None).unwrap();
    if let Some(pkg) = it.next() {
        let key = SecretKey::from_seed(&[7; 32]).unwrap();
        let mut pk = open_package(Path::new(pkg), &[key.public().clone()]).unwrap();
        p.upgrade(&mut pk, &InstallOptions::default(), false)
            .unwrap();
    }
}

#[test]
fn crash_injection_upgrade_and_downgrade() {
    let w = world();
    assert_eq!(wholly_one_version(&w, "installed"), "1.0");
    let mut trials = 0;
    let mut rolled = [0usize; 2];
    // Both directions; each with the old entries kept by hard link, and
    // by the rename-aside fallback (no hard links).
    for (from, to, pkg_from, pkg_to, no_links) in [
        ("1.0", "2.0", &w.app1, &w.app2, false),
        ("2.0", "1.0", &w.app2, &w.app1, false),
        ("1.0", "2.0", &w.app1, &w.app2, true),
        ("2.0", "1.0", &w.app2, &w.app1, true),
    ] {
        let mut steps = None;
        for n in 1u64.. {
            if wholly_one_version(&w, "before a trial") != from {
                upgrade(&w.f, pkg_from, false).unwrap();
            }
            let o = child(&w.f.prefix, Some(pkg_to), Some(n), no_links);
            trials += 1;
            let what = format!(
                "{from} -> {to}{}, abort after step {n}",
                if no_links { " without hard links" } else { "" }
            );
            let done = completed(&o, &what);
            if !done {
                // Recovery, itself aborted after each of its steps in turn
                // until one run completes it.
                for r in 1u64.. {
                    let o = child(&w.f.prefix, None, Some(r), no_links);
                    trials += 1;
                    if completed(&o, &format!("{what}, recovery step {r}")) {
                        break;
                    }
                    wholly_one_version_or_pending(&w);
                    assert!(r < 200);
                }
            }
            let v = wholly_one_version(&w, &what);
            if done {
                assert_eq!(v, to, "the upgrade completed");
                steps = Some(n);
                break;
            }
            rolled[usize::from(v == to)] += 1;
            assert!(n < 500, "the upgrade never completes");
        }
        let steps = steps.unwrap();
        // The upgrade crosses directory/file/link changes: many steps, and
        // both outcomes were seen.
        assert!(steps > 20, "{from} -> {to}: only {steps} steps");
    }
    eprintln!(
        "{trials} child runs; {} rolled back to the old version, {} forward to the new",
        rolled[0], rolled[1]
    );
    assert!(rolled[0] > 0 && rolled[1] > 0, "{rolled:?}");
}

/// Between two aborted recoveries the journal may still be there: nothing
/// to check but that the registry still has `app`.
fn wholly_one_version_or_pending(w: &World) {
    let db = rusqlite::Connection::open(w.f.prefix.join("var/wport/registry.sqlite")).unwrap();
    let n: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM packages WHERE name = 'app'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn upgrade_replaces_files_links_and_layout_and_back() {
    let w = world();
    let before = snapshot(&w.f.prefix);
    let r = upgrade(&w.f, &w.app2, false).unwrap();
    assert_eq!((r.old.as_str(), r.new.as_str()), ("app-1.0_0", "app-2.0_0"));
    // Displaced: bin/app, bin/app-link, lib/libapp.so, lib/libapp.so.1,
    // share/app/keep in place; etc/app.conf (becomes a directory); the two
    // plugins (their directory becomes a file).
    assert_eq!(r.replaced, 8);
    // Removed after the commit: share/app/old-only, share/app/olddir/x.
    assert_eq!(r.removed, 2);
    assert!(r.kept.is_empty() && r.missing.is_empty());
    assert_eq!(wholly_one_version(&w, "upgraded"), "2.0");
    assert_eq!(
        std::fs::read_to_string(w.f.prefix.join("etc/app.conf/main")).unwrap(),
        "conf=2\n"
    );
    assert!(!w.f.prefix.join("share/app/olddir").exists());
    let prefix = Prefix::open(&w.f.prefix, None).unwrap();
    let reg = prefix.registry();
    assert_eq!(
        reg.owner("lib/app/plugins").unwrap().as_deref(),
        Some("app")
    );
    assert_eq!(reg.owner("share/app/old-only").unwrap(), None);
    assert_eq!(reg.dir_owners("etc/app.conf").unwrap(), vec!["app"]);
    assert!(reg.dir_owners("lib/app/plugins").unwrap().is_empty());
    drop(prefix);

    // Dependents stay: app cannot be uninstalled while tool needs it.
    let mut prefix = Prefix::open(&w.f.prefix, None).unwrap();
    match prefix.uninstall("app", false) {
        Err(RegistryError::HasDependents {
            package,
            dependents,
        }) => assert_eq!((package.as_str(), dependents), ("app", vec!["tool".into()])),
        other => panic!("{other:?}"),
    }
    drop(prefix);

    // And back: the old version exactly as it was installed.
    let r = upgrade(&w.f, &w.app1, false).unwrap();
    assert_eq!(r.new, "app-1.0_0");
    assert_eq!(wholly_one_version(&w, "downgraded"), "1.0");
    assert_eq!(snapshot(&w.f.prefix), before);

    // The same version again (a reinstall) is an upgrade too.
    upgrade(&w.f, &w.app1, false).unwrap();
    assert_eq!(snapshot(&w.f.prefix), before);
    assert_eq!(wholly_one_version(&w, "reinstalled"), "1.0");
}

#[test]
fn a_path_owned_by_another_package_is_refused() {
    let w = world();
    let before = snapshot(&w.f.prefix);
    let mut files = APP2.to_vec();
    files.push(("lib/libbase.so", "stolen\n", false));
    let bad = build(
        &w.f,
        "app",
        "3.0",
        &["base"],
        &files,
        APP2_LINKS,
        Provenance::default(),
    );
    match upgrade(&w.f, &bad, false) {
        Err(RegistryError::Conflict {
            package,
            path,
            owner,
        }) => assert_eq!(
            (package.as_str(), path.as_str(), owner.as_str()),
            ("app", "lib/libbase.so", "base")
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(snapshot(&w.f.prefix), before);
    assert_eq!(wholly_one_version(&w, "refused"), "1.0");
}

#[test]
fn an_unowned_entry_in_the_way_is_refused() {
    let w = world();
    // A new path of version 2 already there, owned by no package.
    std::fs::write(w.f.prefix.join("bin/app-v2"), "mine\n").unwrap();
    let before = snapshot(&w.f.prefix);
    match upgrade(&w.f, &w.app2, false) {
        Err(RegistryError::UnownedFileExists { path, .. }) => assert_eq!(path, "bin/app-v2"),
        other => panic!("{other:?}"),
    }
    assert_eq!(snapshot(&w.f.prefix), before);
    std::fs::remove_file(w.f.prefix.join("bin/app-v2")).unwrap();

    // A file of no package inside the directory that becomes a file.
    std::fs::write(w.f.prefix.join("lib/app/plugins/sub/mine.so"), "mine\n").unwrap();
    let before = snapshot(&w.f.prefix);
    match upgrade(&w.f, &w.app2, false) {
        Err(RegistryError::UnownedFileExists { path, .. }) => {
            assert_eq!(path, "lib/app/plugins/sub/mine.so")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(snapshot(&w.f.prefix), before);
    state_is_clean(&w.f);
}

#[test]
fn changed_files_refuse_the_upgrade_unless_forced_as_uninstall_keeps_them() {
    let w = world();
    // A file version 2 replaces, changed since install: refused, nothing
    // changed (uninstall would keep it too).
    std::fs::write(w.f.prefix.join("bin/app"), "my local edit\n").unwrap();
    let before = snapshot(&w.f.prefix);
    match upgrade(&w.f, &w.app2, false) {
        Err(RegistryError::ChangedFiles { package, changed }) => {
            assert_eq!(package, "app");
            let paths: Vec<&str> = changed.iter().map(|c| c.0.as_str()).collect();
            assert_eq!(paths, vec!["bin/app"]);
            assert!(changed[0].1.contains("size") || changed[0].1.contains("sha256"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(snapshot(&w.f.prefix), before);
    state_is_clean(&w.f);
    // With force it is replaced.
    upgrade(&w.f, &w.app2, true).unwrap();
    assert_eq!(wholly_one_version(&w, "forced"), "2.0");

    // A file only the old version had, changed: the upgrade goes on, the
    // file is kept and reported, and no package owns it any more.
    let w = world();
    std::fs::write(w.f.prefix.join("share/app/old-only"), "my notes\n").unwrap();
    let r = upgrade(&w.f, &w.app2, false).unwrap();
    assert_eq!(r.kept.len(), 1);
    assert_eq!(r.kept[0].0, "share/app/old-only");
    assert_eq!(
        std::fs::read_to_string(w.f.prefix.join("share/app/old-only")).unwrap(),
        "my notes\n"
    );
    let prefix = Prefix::open(&w.f.prefix, None).unwrap();
    assert_eq!(prefix.registry().owner("share/app/old-only").unwrap(), None);
    drop(prefix);
    // With force it is removed.
    let w = world();
    std::fs::write(w.f.prefix.join("share/app/old-only"), "my notes\n").unwrap();
    let r = upgrade(&w.f, &w.app2, true).unwrap();
    assert!(r.kept.is_empty());
    assert_eq!(wholly_one_version(&w, "forced"), "2.0");
}

#[test]
fn not_installed_missing_dependency_and_cycle_are_refused() {
    let w = world();
    let lone = build(
        &w.f,
        "lone",
        "1.0",
        &[],
        &[("bin/lone", "lone\n", true)],
        &[],
        Provenance::default(),
    );
    match upgrade(&w.f, &lone, false) {
        Err(RegistryError::NotInstalled { package }) => assert_eq!(package, "lone"),
        other => panic!("{other:?}"),
    }
    let needs = build(
        &w.f,
        "app",
        "3.0",
        &["base", "nosuch"],
        APP2,
        APP2_LINKS,
        Provenance::default(),
    );
    match upgrade(&w.f, &needs, false) {
        Err(RegistryError::MissingDependency {
            package,
            dependency,
            ..
        }) => assert_eq!((package.as_str(), dependency.as_str()), ("app", "nosuch")),
        other => panic!("{other:?}"),
    }
    // base 2 needing tool: tool -> app -> base -> tool.
    let base2 = build(
        &w.f,
        "base",
        "2.0",
        &["tool"],
        &[("lib/libbase.so", "base 2\n", false)],
        &[],
        Provenance::default(),
    );
    let before = snapshot(&w.f.prefix);
    match upgrade(&w.f, &base2, false) {
        Err(RegistryError::DependencyCycle { package, cycle }) => {
            assert_eq!(package, "base");
            assert_eq!(cycle, vec!["base", "tool", "app", "base"]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(snapshot(&w.f.prefix), before);
    assert_eq!(wholly_one_version(&w, "refused"), "1.0");
}

#[test]
fn a_failed_registry_commit_rolls_the_upgrade_back_in_the_same_command() {
    let w = world();
    let before = snapshot(&w.f.prefix);
    {
        let c = rusqlite::Connection::open(w.f.prefix.join("var/wport/registry.sqlite")).unwrap();
        c.execute_batch(
            "CREATE TRIGGER fail BEFORE INSERT ON dirs BEGIN SELECT RAISE(ABORT, 'injected commit failure'); END;",
        )
        .unwrap();
    }
    let mut prefix = Prefix::open(&w.f.prefix, None).unwrap();
    let mut p = open_package(&w.app2, &w.f.trusted).unwrap();
    match prefix.upgrade(&mut p, &InstallOptions::default(), false) {
        Err(RegistryError::Db { source, .. }) => {
            assert!(source.to_string().contains("injected commit failure"))
        }
        other => panic!("{:?}", other.err()),
    }
    // In the same command: the old version back, nothing left to recover.
    assert_eq!(snapshot(&w.f.prefix), before);
    state_is_clean(&w.f);
    drop(prefix);
    let c = rusqlite::Connection::open(w.f.prefix.join("var/wport/registry.sqlite")).unwrap();
    c.execute_batch("DROP TRIGGER fail").unwrap();
    assert_eq!(wholly_one_version(&w, "after the failed commit"), "1.0");
}

#[test]
fn the_registry_returns_version_revision_and_provenance() {
    let w = world();
    let prov = |n: &str| Provenance {
        portfile_sha256: format!("{n:0>64}"),
        component_sha256: format!("{:0>64}", format!("c{n}")),
        sources: vec![SourceDigest {
            name: format!("app-{n}.tar.gz"),
            sha256: format!("{:0>64}", format!("e{n}")),
        }],
        ..Provenance::default()
    };
    let app3 = build(&w.f, "app", "3.0", &["base"], APP2, APP2_LINKS, prov("3"));
    upgrade(&w.f, &app3, false).unwrap();
    let prefix = Prefix::open_query(&w.f.prefix, None, false).unwrap();
    let all = prefix.registry().installed().unwrap();
    let names: Vec<&str> = all.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, vec!["app", "base", "extra", "tool"]);
    let app = &all[0];
    assert_eq!((app.version.as_str(), app.revision), ("3.0", 0));
    assert_eq!(app.label(), "app-3.0_0");
    assert_eq!(app.provenance(), &prov("3"));
    assert_eq!(app.provenance().sources[0].name, "app-3.tar.gz");
    let one = prefix.registry().package("app").unwrap().unwrap();
    assert_eq!(one.manifest.provenance, prov("3"));
    assert_eq!(prefix.registry().deps_of("app").unwrap(), vec!["base"]);
}

#[test]
fn a_directory_that_took_a_files_place_is_never_removed_even_with_force() {
    // In place of a file the new version replaces: refused, as an entry of
    // no package, with force too; nothing changed.
    let w = world();
    std::fs::remove_file(w.f.prefix.join("bin/app")).unwrap();
    std::fs::create_dir(w.f.prefix.join("bin/app")).unwrap();
    std::fs::write(w.f.prefix.join("bin/app/precious"), "mine\n").unwrap();
    let before = snapshot(&w.f.prefix);
    for force in [false, true] {
        match upgrade(&w.f, &w.app2, force) {
            Err(RegistryError::UnownedFileExists { package, path }) => {
                assert_eq!((package.as_str(), path.as_str()), ("app", "bin/app"))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(snapshot(&w.f.prefix), before);
        state_is_clean(&w.f);
    }

    // In place of a file only the old version had: the upgrade goes on
    // and keeps the directory, with force too.
    let w = world();
    std::fs::remove_file(w.f.prefix.join("share/app/old-only")).unwrap();
    std::fs::create_dir(w.f.prefix.join("share/app/old-only")).unwrap();
    std::fs::write(w.f.prefix.join("share/app/old-only/precious"), "mine\n").unwrap();
    let r = upgrade(&w.f, &w.app2, true).unwrap();
    assert_eq!(r.kept.len(), 1, "{:?}", r.kept);
    assert_eq!(r.kept[0].0, "share/app/old-only");
    assert_eq!(
        std::fs::read_to_string(w.f.prefix.join("share/app/old-only/precious")).unwrap(),
        "mine\n"
    );
    state_is_clean(&w.f);
    let prefix = Prefix::open(&w.f.prefix, None).unwrap();
    assert_eq!(
        prefix.registry().package("app").unwrap().unwrap().version,
        "2.0"
    );
}

/// A small xorshift generator (the seed is printed, so a failure replays).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn sigkill_at_random_instants_of_upgrades_leaves_one_version() {
    let w = world_with(150);
    let seed = std::env::var("WPORT_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("upgrade SIGKILL seed {seed} (WPORT_TEST_SEED replays it)");
    let mut rng = Rng(seed);
    // How long an uninterrupted child upgrade takes, start to end.
    let t = std::time::Instant::now();
    assert!(completed(
        &child(&w.f.prefix, Some(&w.app2), None, false),
        "uninterrupted"
    ));
    let window = t.elapsed();
    assert_eq!(wholly_one_version(&w, "uninterrupted"), "2.0");
    let trials = 30;
    let mut mid = 0;
    for trial in 0..trials {
        let (from, pkg_from, pkg_to) = if trial % 2 == 0 {
            ("1.0", &w.app1, &w.app2)
        } else {
            ("2.0", &w.app2, &w.app1)
        };
        if wholly_one_version(&w, "before a trial") != from {
            upgrade(&w.f, pkg_from, false).unwrap();
        }
        let delay =
            std::time::Duration::from_micros(rng.next() % (window.as_micros() as u64 * 5 / 4 + 1));
        let mut c = Command::new(std::env::current_exe().unwrap());
        c.args(["--exact", "child_upgrade", "--ignored", "--test-threads=1"])
            .env(
                "WPORT_UPGRADE_CHILD",
                format!("{}\n{}", w.f.prefix.display(), pkg_to.display()),
            )
            .env_remove("WPORT_TEST_CRASH_AT")
            .env_remove("WPORT_TEST_NO_HARDLINK")
            .env_remove("WPORT_TEST_SEED")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = c.spawn().unwrap();
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let p = Prefix::open(&w.f.prefix, None).unwrap();
        if !p.recovered.is_empty() {
            mid += 1;
        }
        drop(p);
        wholly_one_version(
            &w,
            &format!("seed {seed} trial {trial}: {from} -> upgrade killed after {delay:?}"),
        );
    }
    eprintln!(
        "{trials} SIGKILL trials, {mid} interrupted an upgrade that recovery then finished or undid"
    );
    assert!(mid > 0, "no SIGKILL landed inside an upgrade");
}
