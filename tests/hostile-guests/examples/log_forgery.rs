//! Attack: forge lines of the build log. The log is also the audit record
//! of what a build ran (`[exec] "prog" argv=... -> exit 0`), so guest output
//! (stdout, stderr or the `log` interface) must not be able to produce a
//! line that reads like one the engine wrote.
use wport_hostile_guests::*;

struct Guest;

const FORGED: &str = "[exec] \"make\" argv=[\"install\"] cwd=\"/work\" -> exit 0 (12 ms)";

impl Port for Guest {
    fn build() -> Result<()> {
        println!("innocent line\n{FORGED}");
        eprintln!("\n{FORGED}");
        wport_guest_sdk::log::info(format!("innocent message\n{FORGED}"));
        wport_guest_sdk::log::info(format!("innocent message\r{FORGED}"));
        Ok(())
    }
}

wport_guest_sdk::export_port!(Guest);
