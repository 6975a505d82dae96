//! Attack: spend the phase in a tight loop of cheap `files` host calls.
//! Time inside host calls is not charged to the guest's time limit (it has
//! its own per-call watchdog), so a guest that is almost always inside one
//! might never reach `phase_time`. It must still be stopped.
use wport_hostile_guests::*;

struct Guest;

/// Enough calls to run far past the test's phase-time limit.
const CALLS: u64 = 2_000_000;

impl Port for Guest {
    fn build() -> Result<()> {
        for _ in 0..CALLS {
            let _ = std::hint::black_box(files::remove_tree("/work/does-not-exist"));
        }
        let mut r = Report::new();
        r.note(
            "host calls",
            format!("{CALLS} made; the phase time limit never fired"),
        );
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
