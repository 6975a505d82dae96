//! Attack: recurse without bound using only WebAssembly locals, so the
//! engine's native stack (not the guest's shadow stack) runs out. wasmtime
//! must stop it at its own stack limit with a trap, not let it overflow the
//! host thread's stack.
use wport_hostile_guests::*;

struct Guest;

#[expect(unconditional_recursion, reason = "unbounded recursion is the attack")]
fn dive(depth: u64) -> u64 {
    // black_box on both sides keeps the call from becoming a loop.
    1 + std::hint::black_box(dive(std::hint::black_box(depth + 1)))
}

impl Port for Guest {
    fn build() -> Result<()> {
        let n = dive(0);
        Err(Error::msg(format!("returned from depth {n}")))
    }
}

wport_guest_sdk::export_port!(Guest);
