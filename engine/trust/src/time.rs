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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_known_values() {
        assert_eq!(parse("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse("2030-01-01T00:00:00Z"), Some(1_893_456_000));
        assert_eq!(parse("2000-02-29T12:34:56Z"), Some(951_827_696));
        for t in [0, 951_827_696, 1_893_456_000, 4_102_444_800 + 86_399] {
            assert_eq!(parse(&format(t)), Some(t));
        }
    }

    #[test]
    fn strict_format() {
        for bad in [
            "2030-01-01",
            "2030-01-01T00:00:00",
            "2030-01-01T00:00:00+00:00",
            "2030-02-30T00:00:00Z",
            "2030-13-01T00:00:00Z",
            "2030-01-01T00:00:00.5Z",
            "+030-01-01T00:00:00Z",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
