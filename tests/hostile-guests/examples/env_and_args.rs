//! Attack: read the host's environment, arguments, working directory, stdin
//! and clock: all must be empty or synthetic (no host secrets, no
//! nondeterminism).
use std::io::Read;
use wport_hostile_guests::*;

struct Guest;

impl Port for Guest {
    fn build() -> Result<()> {
        let mut r = Report::new();
        let vars: Vec<String> = std::env::vars_os()
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect();
        r.note("env vars", format!("{vars:?}"));
        r.note(
            "args",
            format!("{:?}", std::env::args_os().collect::<Vec<_>>()),
        );
        r.io_with("current_dir", std::env::current_dir(), |d| {
            d.display().to_string()
        });
        let mut stdin = Vec::new();
        r.io_with("stdin", std::io::stdin().read_to_end(&mut stdin), |n| {
            format!("{n} bytes")
        });
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        r.note(
            "wall clock == SOURCE_DATE_EPOCH",
            now == wport_guest_sdk::env::source_date_epoch(),
        );
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
