//! Attack: make path resolution itself the denial of service. Each link
//! expands to four copies of the next (`l0 -> l1/l1/l1/l1`, ...), so naive
//! resolution of `l0/x` does 4^30 expansions. The resolver runs in host code
//! that no deadline interrupts; it must give up after a bounded number of
//! links (ELOOP), quickly.
use wport_hostile_guests::*;

struct Guest;

const LEVELS: usize = 30;

impl Port for Guest {
    fn build() -> Result<()> {
        let mut r = Report::new();
        let made = (|| -> std::io::Result<()> {
            std::fs::create_dir("/work/bomb")?;
            raw::symlink_at(".", &format!("/work/bomb/l{LEVELS}"))?;
            for i in (0..LEVELS).rev() {
                let next = format!("l{}", i + 1);
                raw::symlink_at(&[next.as_str(); 4].join("/"), &format!("/work/bomb/l{i}"))?;
            }
            Ok(())
        })();
        r.io(format!("make {LEVELS} levels of 4-way links"), made);
        read(&mut r, "/work/bomb/l0/x");
        list(&mut r, "/work/bomb/l0");
        r.io_with(
            "metadata /work/bomb/l0",
            std::fs::metadata("/work/bomb/l0"),
            describe,
        );
        r.files(
            "files.copy-tree /work/bomb/l0/x -> /work/y",
            files::copy_tree("/work/bomb/l0/x", "/work/y"),
        );
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
