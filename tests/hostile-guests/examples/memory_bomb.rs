//! Attack: allocate (and touch) memory without bound.
use wport_hostile_guests::*;

struct Guest;

const CHUNK: usize = 1 << 20;
/// 8 GiB: past any limit a test sets; wasm32 stops at 4 GiB anyway.
const MAX_CHUNKS: usize = 8 << 10;

impl Port for Guest {
    fn build() -> Result<()> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        for i in 0..MAX_CHUNKS {
            hoard.push(vec![i as u8; CHUNK]);
        }
        let mut r = Report::new();
        r.note(
            "allocated",
            format!(
                "{} MiB; no memory limit fired",
                std::hint::black_box(hoard).len()
            ),
        );
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
