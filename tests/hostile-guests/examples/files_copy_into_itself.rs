//! Attack: ask the host to copy a directory into its own subdirectory. A
//! naive recursive copy lists the source while it grows, so it recurses
//! until it runs out of file descriptors (process-wide: every other build in
//! the engine fails with EMFILE meanwhile) or of native stack (the engine
//! crashes). The host must refuse, or stop at a bound, and survive.
use wport_hostile_guests::*;

struct Guest;

impl Port for Guest {
    fn build() -> Result<()> {
        let mut r = Report::new();
        r.files(
            "copy-tree /work/hello-1.0 -> /work/hello-1.0/again",
            files::copy_tree("/work/hello-1.0", "/work/hello-1.0/again"),
        );
        // The same through an in-root alias, which a check on the path
        // strings alone does not see.
        wasi_symlink(&mut r, "hello-1.0", "/work/alias");
        r.files(
            "copy-tree /work/hello-1.0 -> /work/alias/again",
            files::copy_tree("/work/hello-1.0", "/work/alias/again"),
        );
        r.files(
            "copy-tree /work/alias -> /work/hello-1.0/again",
            files::copy_tree("/work/alias", "/work/hello-1.0/again"),
        );
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
