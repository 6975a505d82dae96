//! Attack: block the host thread in a system call the epoch cannot
//! interrupt. A FIFO in the work tree (a native build step can make one with
//! `mkfifo`; the test plants /work/fifo before the phase) blocks `open(2)`
//! until a writer appears, and WASI runs that open on the host thread, where
//! no deadline reaches it. Either the host removes special files before the
//! guest runs (the read then finds nothing) or the time limit ends the phase;
//! hanging is the failure.
use wport_hostile_guests::*;

struct Guest;

impl Port for Guest {
    fn build() -> Result<()> {
        let mut r = Report::new();
        read(&mut r, "/work/fifo");
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
