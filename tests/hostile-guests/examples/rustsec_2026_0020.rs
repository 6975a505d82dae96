//! RUSTSEC-2026-0020 (GHSA-852m-cvvp-9p4w, CVE-2026-27204, wasmtime):
//! "Guest-controlled resource exhaustion in WASI implementations". Among the
//! advisory's examples: a guest allocating handles to itself without limit,
//! and a guest asking the host for guest-sized I/O buffers. Here: one huge
//! read request (the host must not allocate what the guest asks for), then
//! directory streams and descriptors held without bound until the
//! resource-table limit stops the phase.
use std::io::Read;
use wport_hostile_guests::*;

struct Guest;

const MAX: usize = 100_000;

impl Port for Guest {
    fn build() -> Result<()> {
        let mut r = Report::new();
        // A 64 MiB read of a small file: the host reads what exists. The
        // phase ends in a trap below, so this result goes to the log too.
        let mut buf = vec![0u8; 64 << 20];
        let read = std::fs::File::open("/sources/distfiles/hello-1.0.tar.gz")
            .and_then(|mut f| f.read(&mut buf));
        wport_guest_sdk::log::info(match &read {
            Ok(n) => format!("read 64 MiB request: Ok({n} bytes)"),
            Err(e) => format!("read 64 MiB request: {}", io_err(e)),
        });
        r.io_with("read 64 MiB request", read, |n| format!("{n} bytes"));
        drop(buf);
        let mut held = Vec::new();
        for _ in 0..MAX {
            match std::fs::read_dir("/sources/distfiles") {
                Ok(d) => held.push(d),
                Err(e) => {
                    r.note(
                        "read_dir",
                        format!("failed after {} streams: {}", held.len(), io_err(&e)),
                    );
                    return r.finish();
                }
            }
        }
        r.note("read_dir", format!("{MAX} streams held; no limit fired"));
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
