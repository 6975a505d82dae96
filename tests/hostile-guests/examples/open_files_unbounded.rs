//! Attack: open files and keep every handle, to exhaust the host's file
//! descriptors and memory.
use wport_hostile_guests::*;

struct Guest;

const MAX: usize = 100_000;

impl Port for Guest {
    fn build() -> Result<()> {
        let mut held = Vec::new();
        let mut r = Report::new();
        for _ in 0..MAX {
            match std::fs::File::open("/sources/distfiles/hello-1.0.tar.gz") {
                Ok(f) => held.push(f),
                Err(e) => {
                    r.note(
                        "open",
                        format!("failed after {} handles: {}", held.len(), io_err(&e)),
                    );
                    return r.finish();
                }
            }
        }
        r.note("open", format!("{MAX} handles held; no limit fired"));
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
