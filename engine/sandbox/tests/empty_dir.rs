//! The engine's own cleanup survives trees a guest can make.

use std::os::unix::fs::PermissionsExt;

use cap_std::fs::Dir;

const N: usize = 5_000;

#[test]
fn empties_a_chain_deeper_than_any_stack_or_descriptor_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let root = Dir::open_ambient_dir(tmp.path(), cap_std::ambient_authority()).unwrap();
    // 5,000 levels: a path far beyond PATH_MAX and more levels than the
    // default descriptor limit, built one handle at a time.
    let mut cur = root.try_clone().unwrap();
    for _ in 0..N {
        cur.create_dir("d").unwrap();
        cur.write("f", b"x").unwrap();
        cur = cur.open_dir("d").unwrap();
    }
    drop(cur);
    // A read-only directory and a symlink out, which must not be followed.
    let victim = tempfile::tempdir().unwrap();
    std::fs::write(victim.path().join("keep"), b"keep").unwrap();
    std::os::unix::fs::symlink(victim.path(), tmp.path().join("out")).unwrap();
    std::fs::create_dir(tmp.path().join("ro")).unwrap();
    std::fs::write(tmp.path().join("ro/f"), b"x").unwrap();
    std::fs::set_permissions(
        tmp.path().join("ro"),
        std::fs::Permissions::from_mode(0o555),
    )
    .unwrap();

    wport_sandbox::files::empty_dir(&root).unwrap();
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    assert_eq!(std::fs::read(victim.path().join("keep")).unwrap(), b"keep");
}
