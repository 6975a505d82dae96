//! Attack: use the host's `files.set-mode` to make setuid/setgid files, to
//! change modes outside the build through planted links, and in the
//! read-only sources.
use wport_hostile_guests::*;

struct Guest;

impl Port for Guest {
    fn build() -> Result<()> {
        let mut r = Report::new();
        let victim = victim();
        for (path, mode) in [
            ("/work/mine".to_owned(), 0o4755),
            ("/work/mine".to_owned(), 0o2755),
            ("/work/mine".to_owned(), 0o6777),
            ("/work/mine".to_owned(), 0o1755),
            ("/work/mine".to_owned(), 0o100644),
            ("/work/evil_file".to_owned(), 0o777),
            ("/work/evil/secret".to_owned(), 0o777),
            ("/work/evil_rel/secret".to_owned(), 0o777),
            (format!("{victim}/secret"), 0o777),
            ("/work/../../victim/secret".to_owned(), 0o777),
            ("/sources/distfiles/hello-1.0.tar.gz".to_owned(), 0o777),
            ("/work/evil".to_owned(), 0o777),
        ] {
            r.files(
                format!("set-mode {path} {mode:o}"),
                files::set_mode(&path, mode),
            );
        }
        r.files(
            "get-mode /work/mine",
            files::get_mode("/work/mine").map(|m| format!("{m:o}")),
        );
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
