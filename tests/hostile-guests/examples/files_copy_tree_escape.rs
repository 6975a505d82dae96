//! Attack: use the host's `files.copy-tree` (which runs with the engine's
//! authority) to copy host files in, or build files out: from /etc, through
//! `..`, through planted symlinks, into the read-only sources.
use wport_hostile_guests::*;

struct Guest;

impl Port for Guest {
    fn build() -> Result<()> {
        let mut r = Report::new();
        let victim = victim();
        for (src, dst) in [
            ("/etc".to_owned(), "/work/etc".to_owned()),
            ("/etc/passwd".to_owned(), "/work/passwd".to_owned()),
            (victim.clone(), "/work/loot".to_owned()),
            ("/work/../../victim".to_owned(), "/work/loot".to_owned()),
            ("/work/evil/secret".to_owned(), "/work/loot".to_owned()),
            ("/work/evil_rel/secret".to_owned(), "/work/loot".to_owned()),
            (
                "/work/hello-1.0".to_owned(),
                "/work/evil/planted".to_owned(),
            ),
            ("/work/hello-1.0".to_owned(), format!("{victim}/planted")),
            ("/work/hello-1.0".to_owned(), "/sources/planted".to_owned()),
            ("/sources/distfiles".to_owned(), "/destroot/x".to_owned()),
            ("/work".to_owned(), "/work/hello-1.0/again".to_owned()),
        ] {
            r.files(
                format!("copy-tree {src} -> {dst}"),
                files::copy_tree(&src, &dst),
            );
        }
        // A symlink is copied as a link, never followed: the copy is harmless
        // and reading through it is still refused.
        r.files(
            "copy-tree /work/evil -> /work/evil_copy",
            files::copy_tree("/work/evil", "/work/evil_copy"),
        );
        read(&mut r, "/work/evil_copy/secret");
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
