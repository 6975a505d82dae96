//! Attack: create, overwrite and delete host files by absolute path.
use wport_hostile_guests::*;

struct Guest;

impl Port for Guest {
    fn build() -> Result<()> {
        let mut r = Report::new();
        let victim = victim();
        write(&mut r, &param("probe"));
        write(&mut r, &format!("{victim}/new"));
        write(&mut r, &format!("{victim}/secret"));
        write(&mut r, "/x");
        r.io(
            format!("create_dir {victim}/newdir"),
            std::fs::create_dir(format!("{victim}/newdir")),
        );
        r.io(
            format!("remove_file {victim}/secret"),
            std::fs::remove_file(format!("{victim}/secret")),
        );
        r.io(
            format!("remove_dir_all {victim}/dir"),
            std::fs::remove_dir_all(format!("{victim}/dir")),
        );
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
