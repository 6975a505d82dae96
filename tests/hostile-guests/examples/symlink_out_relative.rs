//! Attack: create relative symlinks that point out of /work (they may be
//! created: they are just strings), then follow them to read, overwrite and
//! create files outside, including through a dangling link.
use wport_hostile_guests::*;

struct Guest;

impl Port for Guest {
    fn build() -> Result<()> {
        let mut r = Report::new();
        let victim = victim();
        wasi_symlink(&mut r, &climb_target(&victim), "/work/rel_dir");
        wasi_symlink(&mut r, "../../victim", "/work/rel_sibling");
        wasi_symlink(
            &mut r,
            &climb_target(&format!("{victim}/secret")),
            "/work/rel_file",
        );
        wasi_symlink(
            &mut r,
            &climb_target(&format!("{victim}/created")),
            "/work/rel_dangling",
        );
        wasi_symlink(&mut r, "..", "/work/up");
        read(&mut r, "/work/rel_dir/secret");
        list(&mut r, "/work/rel_dir");
        write(&mut r, "/work/rel_dir/new");
        read(&mut r, "/work/rel_sibling/secret");
        read(&mut r, "/work/rel_file");
        write(&mut r, "/work/rel_file");
        write(&mut r, "/work/rel_dangling");
        list(&mut r, "/work/up");
        read(&mut r, "/work/up/sources/distfiles/hello-1.0.tar.gz");
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
