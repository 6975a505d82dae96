//! Attack: `link/` resolution tricks. A trailing slash (or `/.`) makes the
//! OS follow the last component even where the caller asked not to; try it
//! on the planted links, on a guest-made link whose target ends in `/`, and
//! with `O_NOFOLLOW | O_DIRECTORY`.
use wport_hostile_guests::raw::*;
use wport_hostile_guests::*;

struct Guest;

fn raw_open(r: &mut Report, path: &str, flags: std::ffi::c_int, label: &str) {
    r.io(
        format!("open({label}) {path}"),
        raw::open_flags(path, flags),
    );
}

impl Port for Guest {
    fn build() -> Result<()> {
        let mut r = Report::new();
        let victim = victim();
        for p in [
            "/work/evil/",
            "/work/evil/.",
            "/work/evil_rel/",
            "/work/evil_rel/.",
        ] {
            list(&mut r, p);
        }
        read(&mut r, "/work/evil_file/");
        read(&mut r, "/work/evil/secret/");
        r.io_with(
            "symlink_metadata /work/evil/",
            std::fs::symlink_metadata("/work/evil/"),
            describe,
        );
        raw_open(
            &mut r,
            "/work/evil/",
            O_RDONLY | O_DIRECTORY | O_NOFOLLOW,
            "NOFOLLOW|DIRECTORY",
        );
        raw_open(
            &mut r,
            "/work/evil_rel/",
            O_RDONLY | O_DIRECTORY | O_NOFOLLOW,
            "NOFOLLOW|DIRECTORY",
        );
        // A guest-made link whose *target* ends in a slash.
        wasi_symlink(
            &mut r,
            &format!("{}/", climb_target(&victim)),
            "/work/slash",
        );
        list(&mut r, "/work/slash");
        list(&mut r, "/work/slash/");
        raw_open(
            &mut r,
            "/work/slash/",
            O_RDONLY | O_DIRECTORY | O_NOFOLLOW,
            "NOFOLLOW|DIRECTORY",
        );
        read(&mut r, "/work/slash/secret");
        write(&mut r, "/work/slash/new");
        r.io(
            "create_dir /work/evil/sub/",
            std::fs::create_dir("/work/evil/sub/"),
        );
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
