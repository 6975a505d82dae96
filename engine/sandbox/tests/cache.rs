//! The precompiled-component cache refuses a directory others can write:
//! loading a precompiled artifact is running native code.

use std::os::unix::fs::PermissionsExt;

use wport_sandbox::{LoadError, Sandbox, SandboxConfig};

#[test]
fn group_or_world_writable_cache_is_refused() {
    for mode in [0o770, 0o777, 0o722] {
        let tmp = tempfile::tempdir().unwrap();
        let cache = tmp.path().join("components");
        std::fs::create_dir(&cache).unwrap();
        std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(mode)).unwrap();
        let err = Sandbox::new(SandboxConfig {
            cache_dir: Some(cache.clone()),
        })
        .err()
        .expect("refused");
        match err {
            LoadError::Cache(e) => {
                assert!(e.to_string().contains("writable by nobody else"), "{e}")
            }
            other => panic!("mode {mode:o}: expected a cache error, got {other}"),
        }
    }
}

#[test]
fn missing_cache_is_created_private() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("a/b/components");
    Sandbox::new(SandboxConfig {
        cache_dir: Some(cache.clone()),
    })
    .unwrap();
    let mode = std::fs::metadata(&cache).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
}

#[test]
fn symlinked_cache_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("real");
    std::fs::create_dir(&real).unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o700)).unwrap();
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    assert!(matches!(
        Sandbox::new(SandboxConfig {
            cache_dir: Some(link)
        }),
        Err(LoadError::Cache(_))
    ));
}
