//! Attack: use the host's `files.remove-tree` (an `rm -rf` running with the
//! engine's authority) on paths outside the build: `..`, absolute host
//! paths, through planted links, the read-only sources, the roots.
use wport_hostile_guests::*;

struct Guest;

impl Port for Guest {
    fn build() -> Result<()> {
        let mut r = Report::new();
        let victim = victim();
        for path in [
            "/work/../x".to_owned(),
            "/work/../../victim".to_owned(),
            "/work/hello-1.0/../../../victim".to_owned(),
            victim.clone(),
            "/".to_owned(),
            "/work".to_owned(),
            "/work/".to_owned(),
            "/work/.".to_owned(),
            "/sources/distfiles".to_owned(),
            "/destroot".to_owned(),
            "/work/evil/secret".to_owned(),
            "/work/evil_rel/dir".to_owned(),
            "/work/evil/".to_owned(),
            // Removes the link itself (1 entry), never what it points to.
            "/work/evil".to_owned(),
            "/work/evil_rel".to_owned(),
        ] {
            r.files(format!("remove-tree {path}"), files::remove_tree(&path));
        }
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
