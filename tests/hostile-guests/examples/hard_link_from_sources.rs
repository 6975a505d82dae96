//! Attack: hard-link a read-only distfile into the writable work dir (then
//! write through the link), and hard-link a victim file through a planted
//! symlink.
use std::io::Write;
use wport_hostile_guests::*;

struct Guest;

impl Port for Guest {
    fn build() -> Result<()> {
        let mut r = Report::new();
        let linked = r.io(
            "hard_link /sources/distfiles/hello-1.0.tar.gz -> /work/hl",
            std::fs::hard_link("/sources/distfiles/hello-1.0.tar.gz", "/work/hl"),
        );
        if linked.is_some() {
            r.io(
                "overwrite /work/hl",
                std::fs::OpenOptions::new()
                    .write(true)
                    .open("/work/hl")
                    .and_then(|mut f| f.write_all(b"tampered")),
            );
        }
        r.io(
            "hard_link /sources/patches -> /work/patches",
            std::fs::hard_link("/sources/patches", "/work/patches"),
        );
        r.io(
            "hard_link /work/evil/secret -> /work/hl2",
            std::fs::hard_link("/work/evil/secret", "/work/hl2"),
        );
        r.io(
            "hard_link /work/hello-1.0/README -> /work/evil/planted",
            std::fs::hard_link("/work/hello-1.0/README", "/work/evil/planted"),
        );
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
