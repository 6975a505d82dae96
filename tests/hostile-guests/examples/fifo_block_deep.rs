//! Attack: `fifo_block` with the FIFO nested 300
//! directories deep (`/work/a/a/.../a/fifo`), below where a depth-limited
//! sweep of special files stops looking. A native command can make it
//! (`mkdir -p` then `mkfifo`); the test plants it. The guest's read must not
//! block the host past the phase-time limit.
use wport_hostile_guests::*;

struct Guest;

/// Must match the test's planted depth.
const DEPTH: usize = 300;

impl Port for Guest {
    fn build() -> Result<()> {
        let mut r = Report::new();
        let path = format!("/work/{}fifo", "a/".repeat(DEPTH));
        let got = std::fs::read(&path);
        r.io_with(format!("read /work/{{a/ x {DEPTH}}}fifo"), got, |b| {
            format!("{} bytes", b.len())
        });
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
