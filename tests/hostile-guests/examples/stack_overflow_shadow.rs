//! Attack: recurse without bound with big locals, which live on Rust's
//! shadow stack in linear memory. The guest must trap on its own memory
//! (the stack sits first in memory, so overflowing it leaves the memory),
//! never corrupt its data silently or touch the host.
use wport_hostile_guests::*;

struct Guest;

#[expect(unconditional_recursion, reason = "unbounded recursion is the attack")]
fn dive(depth: u64, pad: &mut [u8; 256]) -> u64 {
    let mut local = [0u8; 256];
    local[(depth % 256) as usize] = pad[(depth % 256) as usize].wrapping_add(1);
    1 + dive(
        std::hint::black_box(depth + 1),
        std::hint::black_box(&mut local),
    )
}

impl Port for Guest {
    fn build() -> Result<()> {
        let n = dive(0, &mut [0u8; 256]);
        Err(Error::msg(format!("returned from depth {n}")))
    }
}

wport_guest_sdk::export_port!(Guest);
