//! TUF timestamps: `YYYY-MM-DDTHH:MM:SSZ` (UTC), converted to and from Unix
//! seconds by the shared civil-date routine (`wport_types::date`), and the
//! clock, read once per update.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch. The client reads the clock once, when an
/// update starts, and checks every expiry against that instant.
pub type UnixTime = i64;

/// The current time, read once.
pub fn now() -> UnixTime {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ`; anything else is `None`.
pub fn parse(s: &str) -> Option<UnixTime> {
    wport_types::date::parse_utc(s)
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format(t: UnixTime) -> String {
    wport_types::date::format_utc(t)
}

// The format, the known values and the strict refusals are tested where the
// routine lives, wport_types::date.
