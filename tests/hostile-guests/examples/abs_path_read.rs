//! Attack: read host files by absolute path (no preopen covers them).
use wport_hostile_guests::*;

struct Guest;

impl Port for Guest {
    fn build() -> Result<()> {
        let mut r = Report::new();
        let victim = victim();
        read(&mut r, "/etc/passwd");
        read(&mut r, "/proc/self/environ");
        read(&mut r, &format!("{victim}/secret"));
        r.io_with(
            format!("metadata {victim}/secret"),
            std::fs::metadata(format!("{victim}/secret")),
            describe,
        );
        list(&mut r, "/");
        list(&mut r, "/etc");
        list(&mut r, &victim);
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
