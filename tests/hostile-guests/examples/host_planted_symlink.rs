//! Attack: follow symlinks the test planted before the phase (as a hostile
//! tarball or an earlier phase would): `/work/evil -> <victim>` (absolute),
//! `/work/evil_rel -> ../../victim`, `/work/evil_file -> <victim>/secret`,
//! and `/sources/files/evil -> <victim>` in the read-only preopen.
use wport_hostile_guests::*;

struct Guest;

impl Port for Guest {
    fn build() -> Result<()> {
        let mut r = Report::new();
        read(&mut r, "/work/evil/secret");
        list(&mut r, "/work/evil");
        write(&mut r, "/work/evil/new");
        r.io_with(
            "metadata /work/evil/secret",
            std::fs::metadata("/work/evil/secret"),
            describe,
        );
        r.io(
            "remove_file /work/evil/secret",
            std::fs::remove_file("/work/evil/secret"),
        );
        r.io(
            "create_dir /work/evil/newdir",
            std::fs::create_dir("/work/evil/newdir"),
        );
        read(&mut r, "/work/evil_rel/secret");
        write(&mut r, "/work/evil_rel/new");
        read(&mut r, "/work/evil_file");
        write(&mut r, "/work/evil_file");
        r.io(
            "append /work/evil_file",
            std::fs::OpenOptions::new()
                .append(true)
                .open("/work/evil_file"),
        );
        read(&mut r, "/sources/files/evil/secret");
        list(&mut r, "/sources/files/evil");
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
