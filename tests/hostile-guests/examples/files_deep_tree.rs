//! Attack: build a directory chain 30,000 levels deep with short paths only
//! (make `t`, move `d` into `t/d`, rename `t` to `d`, repeat), then ask the
//! host to copy and remove it. A recursive host walk that keeps a directory
//! handle open per level runs out of file descriptors or native stack. The
//! host must finish (or stop at a bound) and survive.
use wport_hostile_guests::*;

struct Guest;

pub const DEPTH: usize = 30_000;

impl Port for Guest {
    fn build() -> Result<()> {
        let mut r = Report::new();
        let built = (|| -> std::io::Result<()> {
            std::fs::create_dir("/work/d")?;
            for _ in 0..DEPTH {
                std::fs::create_dir("/work/t")?;
                std::fs::rename("/work/d", "/work/t/d")?;
                std::fs::rename("/work/t", "/work/d")?;
            }
            Ok(())
        })();
        r.io(format!("build a {DEPTH}-deep chain"), built);
        r.files(
            "copy-tree /work/d -> /work/d2",
            files::copy_tree("/work/d", "/work/d2"),
        );
        r.files("remove-tree /work/d", files::remove_tree("/work/d"));
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
