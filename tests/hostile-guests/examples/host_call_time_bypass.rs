//! Attack: keep the build running forever without using guest time. The
//! phase-time limit counts only time spent in WebAssembly; each `files` call
//! has its own watchdog budget, but nothing bounds their sum. A guest that
//! repeats a slow host call (copy then remove a tree of 1,000 files, as an
//! extracted source tree has; the test plants it in /work/tree) spends almost
//! all of its wall time inside host calls, each well under the watchdog
//! budget. The phase must still be stopped.
use wport_hostile_guests::*;

struct Guest;

const ROUNDS: usize = 20;

impl Port for Guest {
    fn build() -> Result<()> {
        let mut r = Report::new();
        for round in 0..ROUNDS {
            if let Err(e) = files::copy_tree("/work/tree", "/work/copy")
                .and_then(|_| files::remove_tree("/work/copy"))
            {
                r.files::<()>(format!("round {round}"), Err(e));
                return r.finish();
            }
        }
        r.note(
            "rounds",
            format!("{ROUNDS} copy+remove rounds of /work/tree; no limit fired"),
        );
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
