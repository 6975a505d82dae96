//! Attack: truncate, overwrite, delete and add files in the read-only
//! sources, every way `std::fs` offers.
use std::io::Write;
use wport_hostile_guests::*;

struct Guest;

const DISTFILE: &str = "/sources/distfiles/hello-1.0.tar.gz";

impl Port for Guest {
    fn build() -> Result<()> {
        let mut r = Report::new();
        r.io(
            "open write+truncate",
            std::fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(DISTFILE),
        );
        r.io("File::create", std::fs::File::create(DISTFILE));
        r.io(
            "open append + write",
            std::fs::OpenOptions::new()
                .append(true)
                .open(DISTFILE)
                .and_then(|mut f| f.write_all(b"x")),
        );
        // A read-only handle, then ftruncate on it.
        r.io(
            "open read-only + set_len(0)",
            std::fs::File::open(DISTFILE).and_then(|f| f.set_len(0)),
        );
        r.io("remove_file", std::fs::remove_file(DISTFILE));
        write(&mut r, "/sources/distfiles/new");
        r.io(
            "create_dir /sources/newdir",
            std::fs::create_dir("/sources/newdir"),
        );
        r.io(
            "remove_dir_all /sources/patches",
            std::fs::remove_dir_all("/sources/patches"),
        );
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
