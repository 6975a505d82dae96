//! Attack: climb out of each preopen with `..`: `/sources/..`,
//! `/work/../..`, `/destroot/..`, out-and-back-in paths, and relative paths.
//! `build` sees /sources (read-only) and /work; `destroot` sees /work and
//! /destroot.
use wport_hostile_guests::*;

struct Guest;

fn attack(r: &mut Report, root: &str) {
    let victim = victim();
    list(r, &format!("{root}/.."));
    list(r, &format!("{root}/../.."));
    read(r, &climb(root, "/etc/passwd"));
    read(r, &climb(root, &format!("{victim}/secret")));
    write(r, &climb(root, &format!("{victim}/new")));
    r.io(
        format!("create_dir {root}/../escaped"),
        std::fs::create_dir(format!("{root}/../escaped")),
    );
}

impl Port for Guest {
    fn build() -> Result<()> {
        let mut r = Report::new();
        attack(&mut r, "/sources");
        attack(&mut r, "/work");
        // Out of the preopen and back into it: must not be allowed either,
        // it reveals what lies outside.
        read(&mut r, "/sources/../sources/distfiles/hello-1.0.tar.gz");
        read(&mut r, "/work/../sources/distfiles/hello-1.0.tar.gz");
        // Relative paths resolve against the guest's cwd, not the host's.
        read(&mut r, "../etc/passwd");
        read(&mut r, "etc/passwd");
        r.finish()
    }

    fn destroot() -> Result<()> {
        let mut r = Report::new();
        attack(&mut r, "/destroot");
        read(&mut r, "/destroot/../work/hello-1.0/README");
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
