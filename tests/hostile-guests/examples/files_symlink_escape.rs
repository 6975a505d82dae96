//! Attack: use the host's `files.symlink` (which may store any target) to
//! place links where the phase may not write, or through planted links;
//! then show that a stored absolute target is not followed by WASI.
use wport_hostile_guests::*;

struct Guest;

impl Port for Guest {
    fn build() -> Result<()> {
        let mut r = Report::new();
        let victim = victim();
        for link in [
            "/sources/pw".to_owned(),
            "/sources/files/pw".to_owned(),
            "/work/../pw".to_owned(),
            "/work/evil/pw".to_owned(),
            "/work/evil_rel/pw".to_owned(),
            format!("{victim}/pw"),
            "/destroot/pw".to_owned(),
            "pw".to_owned(),
        ] {
            r.files(
                format!("symlink /etc/passwd at {link}"),
                files::symlink("/etc/passwd", &link),
            );
        }
        // Allowed by contract (installed links need absolute targets): the
        // link is stored verbatim...
        r.files(
            "symlink {victim}/secret at /work/abs",
            files::symlink(&format!("{victim}/secret"), "/work/abs"),
        );
        r.files(
            "read-link /work/abs == target",
            files::read_link("/work/abs").map(|t| t == format!("{victim}/secret")),
        );
        // ...and never resolved: WASI refuses to follow it.
        read(&mut r, "/work/abs");
        write(&mut r, "/work/abs");
        r.files(
            "read-link /work/evil/secret",
            files::read_link("/work/evil/secret"),
        );
        r.files(
            "get-mode /work/evil/secret",
            files::get_mode("/work/evil/secret"),
        );
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
