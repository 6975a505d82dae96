//! Attack: flood stdout and stderr (64 MiB each) to fill the host's disk or
//! memory with the build log. The phase must succeed with the log truncated.
use std::io::Write;
use wport_hostile_guests::*;

struct Guest;

impl Port for Guest {
    fn build() -> Result<()> {
        let line = [b'A'; 64 * 1024];
        for _ in 0..1024 {
            // A full pipe must not make the guest's writes fail (std's
            // println! would panic): ignore nothing, propagate errors.
            std::io::stdout()
                .write_all(&line)
                .map_err(|e| Error::msg(format!("stdout: {e}")))?;
            std::io::stderr()
                .write_all(&line)
                .map_err(|e| Error::msg(format!("stderr: {e}")))?;
        }
        println!("still printing after the flood");
        Ok(())
    }
}

wport_guest_sdk::export_port!(Guest);
