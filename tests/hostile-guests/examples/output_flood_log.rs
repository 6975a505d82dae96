//! Attack: flood the build log through the `log` host interface instead of
//! stdout (64 MiB in maximal 16 KiB messages). It must be bounded like
//! stdout: the phase succeeds with the log truncated.
use wport_hostile_guests::*;

struct Guest;

impl Port for Guest {
    fn build() -> Result<()> {
        let message = "L".repeat(16 * 1024);
        for _ in 0..4096 {
            wport_guest_sdk::log::info(&message);
        }
        Ok(())
    }
}

wport_guest_sdk::export_port!(Guest);
