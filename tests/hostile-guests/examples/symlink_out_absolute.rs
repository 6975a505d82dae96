//! Attack: create symlinks with absolute targets outside the preopens
//! through WASI, then follow them.
use wport_hostile_guests::*;

struct Guest;

impl Port for Guest {
    fn build() -> Result<()> {
        let mut r = Report::new();
        let victim = victim();
        wasi_symlink(&mut r, &victim, "/work/abs_dir");
        wasi_symlink(&mut r, &format!("{victim}/secret"), "/work/abs_file");
        wasi_symlink(&mut r, "/etc/passwd", "/work/passwd");
        read(&mut r, "/work/abs_file");
        read(&mut r, "/work/passwd");
        list(&mut r, "/work/abs_dir");
        write(&mut r, "/work/abs_dir/new");
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
