//! Attack: spin forever in pure WebAssembly (no host calls to interrupt).
use wport_hostile_guests::*;

struct Guest;

impl Port for Guest {
    fn build() -> Result<()> {
        let mut n: u64 = 0;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }
}

wport_guest_sdk::export_port!(Guest);
