//! Attack: rename files and directories out of the read-only sources into
//! the writable work dir, out of a victim dir through a planted symlink, and
//! from work into the victim dir.
use wport_hostile_guests::*;

struct Guest;

impl Port for Guest {
    fn build() -> Result<()> {
        let mut r = Report::new();
        for (from, to) in [
            ("/sources/distfiles/hello-1.0.tar.gz", "/work/stolen"),
            ("/sources/patches", "/work/patches"),
            ("/work/evil/secret", "/work/stolen2"),
            ("/work/hello-1.0/README", "/work/evil/moved"),
            ("/work/hello-1.0", "/work/evil_rel/moved_dir"),
        ] {
            r.io(format!("rename {from} -> {to}"), std::fs::rename(from, to));
        }
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
