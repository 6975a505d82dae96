//! RUSTSEC-2026-0188 (GHSA-4ch3-9j33-3pmj, wasmtime-wasi): "WASI hard links
//! and renames bypass wasmtime-wasi's FilePerms for destination". A file
//! exposed read-only in one preopen was hard-linked (or renamed) into a
//! writable preopen, then overwritten there: the host file changed.
use std::io::Write;
use wport_hostile_guests::*;

struct Guest;

fn overwrite(r: &mut Report, path: &str) {
    r.io(
        format!("overwrite {path}"),
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|mut f| f.write_all(b"tampered")),
    );
}

impl Port for Guest {
    fn build() -> Result<()> {
        let mut r = Report::new();
        let src = "/sources/distfiles/hello-1.0.tar.gz";
        r.io(
            format!("hard_link {src} -> /work/linked"),
            std::fs::hard_link(src, "/work/linked"),
        );
        overwrite(&mut r, "/work/linked");
        r.io(
            format!("rename {src} -> /work/renamed"),
            std::fs::rename(src, "/work/renamed"),
        );
        overwrite(&mut r, "/work/renamed");
        // Link inside the read-only preopen, then rename that link out.
        r.io(
            "hard_link /sources/patches/fix.patch -> /sources/patches/fix2.patch",
            std::fs::hard_link("/sources/patches/fix.patch", "/sources/patches/fix2.patch"),
        );
        r.io(
            "rename /sources/patches/fix.patch -> /work/fix.patch",
            std::fs::rename("/sources/patches/fix.patch", "/work/fix.patch"),
        );
        overwrite(&mut r, "/work/fix.patch");
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
