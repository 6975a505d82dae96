//! UTC civil dates without a date library: days from 1970-01-01 to a
//! proleptic Gregorian `(year, month, day)` and back (Howard Hinnant's
//! `days_from_civil` / `civil_from_days`), and the one timestamp spelling
//! wport writes and reads, `YYYY-MM-DDTHH:MM:SSZ` (TUF metadata, quarantine
//! records; zip entry times go through [`days_from_civil`]).
//!
//! No crate in the lock file offers this, and a date crate (time zones,
//! formatting languages) would be far larger than the forty lines needed.

/// Days from 1970-01-01 to `y-m-d` (negative before it). `m` is 1..=12 and
/// `d` 1..=31; out-of-range days run on into the next month, so callers that
/// parse user text check the date round-trips ([`parse_utc`] does).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The `(year, month, day)` that is `z` days after 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Unix seconds for a UTC civil date and time of day.
pub fn unix_from_civil(y: i64, m: i64, d: i64, hour: i64, minute: i64, second: i64) -> i64 {
    days_from_civil(y, m, d) * 86_400 + hour * 3600 + minute * 60 + second
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ` into Unix seconds; anything else (another
/// offset, fractions, `2021-02-30`) is `None`.
pub fn parse_utc(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = &s[r];
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (y, mo, d, h, mi, se) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&mo) || d < 1 || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    // Reject 2021-02-30 and friends: the date must round-trip.
    if civil_from_days(days_from_civil(y, mo, d)) != (y, mo, d) {
        return None;
    }
    Some(unix_from_civil(y, mo, d, h, mi, se))
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_utc(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_and_round_trip() {
        assert_eq!(parse_utc("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_utc("2030-01-01T00:00:00Z"), Some(1_893_456_000));
        assert_eq!(parse_utc("2000-02-29T12:34:56Z"), Some(951_827_696));
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_utc(1_764_165_728), "2025-11-26T14:02:08Z");
        assert_eq!(format_utc(-1), "1969-12-31T23:59:59Z");
        for t in [0, 951_827_696, 1_893_456_000, 4_102_444_800 + 86_399] {
            assert_eq!(parse_utc(&format_utc(t)), Some(t));
        }
        for days in -800_000..800_000 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
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
            assert_eq!(parse_utc(bad), None, "{bad}");
        }
    }
}
