//! Attack: in `post-destroot` (which sees only /destroot), reach for the
//! sources and the work tree through WASI and the host `files` calls. They
//! must not exist for the phase at all.
use wport_hostile_guests::*;

struct Guest;

impl Port for Guest {
    fn post_destroot() -> Result<()> {
        let mut r = Report::new();
        let dirs = wport_guest_sdk::bindings::wport::port::build_env::dirs();
        r.note(
            "dirs",
            format!(
                "sources={:?} work={:?} worksrc={:?} destroot={:?}",
                dirs.sources, dirs.work, dirs.worksrc, dirs.destroot
            ),
        );
        r.note("distfiles", wport_guest_sdk::env::distfiles().len());
        r.note("patchfiles", wport_guest_sdk::env::patchfiles().len());
        list(&mut r, "/sources");
        list(&mut r, "/work");
        read(&mut r, "/sources/distfiles/hello-1.0.tar.gz");
        read(&mut r, "/work/hello-1.0/README");
        write(&mut r, "/work/hello-1.0/README");
        write(&mut r, "/work/new");
        r.io_with("metadata /work", std::fs::metadata("/work"), describe);
        list(&mut r, "/destroot/..");
        read(&mut r, "/destroot/../work/hello-1.0/README");
        r.files(
            "files.copy-tree /work/hello-1.0 -> /destroot/x",
            files::copy_tree("/work/hello-1.0", "/destroot/x"),
        );
        r.files(
            "files.copy-tree /sources/distfiles -> /destroot/y",
            files::copy_tree("/sources/distfiles", "/destroot/y"),
        );
        r.files(
            "files.remove-tree /work/hello-1.0",
            files::remove_tree("/work/hello-1.0"),
        );
        r.files(
            "files.symlink x -> /sources/x",
            files::symlink("x", "/sources/x"),
        );
        r.files("files.read-link /work/evil", files::read_link("/work/evil"));
        r.files(
            "files.get-mode /work/hello-1.0/README",
            files::get_mode("/work/hello-1.0/README"),
        );
        r.files(
            "files.set-mode /work/hello-1.0/README",
            files::set_mode("/work/hello-1.0/README", 0o777),
        );
        // Links from the destroot to where the work tree lives on the host:
        // storing them is allowed (installed links may point anywhere), but
        // neither WASI nor the host's `files` calls may resolve them.
        r.files(
            "files.symlink /work at /destroot/w",
            files::symlink("/work", "/destroot/w"),
        );
        r.files(
            "files.symlink ../work at /destroot/w2",
            files::symlink("../work", "/destroot/w2"),
        );
        for link in ["/destroot/w", "/destroot/w2"] {
            read(&mut r, &format!("{link}/hello-1.0/README"));
            list(&mut r, link);
            r.files(
                format!("files.copy-tree {link}/hello-1.0 -> /destroot/copy"),
                files::copy_tree(&format!("{link}/hello-1.0"), "/destroot/copy"),
            );
            r.files(
                format!("files.remove-tree {link}/hello-1.0"),
                files::remove_tree(&format!("{link}/hello-1.0")),
            );
        }
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
