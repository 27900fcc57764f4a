//! `EXT-X-PROGRAM-DATE-TIME` values: ISO 8601 / RFC 3339 UTC date-times with
//! milliseconds. The calendar work (days in a month, leap years, civil date
//! from a timestamp and back) is `jiff`'s; this module keeps the exact text
//! we write and the exact syntax we accept.
//!
//! `jiff` covers years up to 9999; a [`UnixMillis`] reaches year 584 million.
//! The Gregorian calendar repeats every 400 years (146,097 days), so a time
//! is converted as the same moment of its 400-year cycle near 1970 and the
//! cycles are added back to the year (formatting) or the milliseconds
//! (parsing): the result is the proleptic Gregorian date at any size.

use std::fmt;

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::Offset;
use jiff::Timestamp;

/// Milliseconds in 400 Gregorian years (146,097 days).
const MS_PER_CYCLE: u64 = 146_097 * 86_400_000;

/// A wall-clock time in milliseconds since 1970-01-01T00:00:00Z (leap
/// seconds not counted, as in Unix time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnixMillis(pub u64);

impl UnixMillis {
    /// Parses `YYYY-MM-DDThh:mm:ss[.f…](Z|±hh:mm)`, keeping milliseconds
    /// (further digits are truncated). The year has 4 to 9 digits. `None` for
    /// anything else, including times before 1970.
    pub fn parse_iso8601(s: &str) -> Option<UnixMillis> {
        let (date, rest) = s.split_once('T')?;
        let mut parts = date.splitn(3, '-');
        let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
        if !(4..=9).contains(&year.len()) || month.len() != 2 || day.len() != 2 {
            return None;
        }
        let (year, month, day) = (digits(year)?, digits(month)?, digits(day)?);
        // Years past 2399 are read as the same year of an earlier cycle.
        let cycles = year.saturating_sub(2000) / 400;
        let date = Date::new(
            i16::try_from(year - 400 * cycles).ok()?,
            i8::try_from(month).ok()?,
            i8::try_from(day).ok()?,
        )
        .ok()?;
        let (time, offset_minutes) = split_offset(rest)?;
        let offset = Offset::from_seconds(offset_minutes * 60).ok()?;
        let at = offset
            .to_timestamp(date.to_datetime(time_of_day(time)?))
            .ok()?;
        let ms = i128::from(at.as_millisecond()) + i128::from(cycles * MS_PER_CYCLE);
        u64::try_from(ms).ok().map(UnixMillis)
    }

    /// The UTC date and time of this moment in the first 400-year cycle
    /// after 1970, and the cycles to add to its year.
    fn civil(self) -> (DateTime, u64) {
        let (cycles, rest) = (self.0 / MS_PER_CYCLE, self.0 % MS_PER_CYCLE);
        // Invariant: rest < 400 years after 1970, within jiff's range and
        // an i64; the fallback is never taken.
        let at = i64::try_from(rest)
            .ok()
            .and_then(|ms| Timestamp::from_millisecond(ms).ok())
            .unwrap_or(Timestamp::UNIX_EPOCH);
        (Offset::UTC.to_datetime(at), cycles)
    }
}

impl fmt::Display for UnixMillis {
    /// `YYYY-MM-DDThh:mm:ss.sssZ` (years after 9999 get more digits).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (t, cycles) = self.civil();
        let year = i64::from(t.year()) + 400 * cycles as i64;
        write!(
            f,
            "{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        )
    }
}

/// All-ASCII-digit strings only (at most 9 digits, so no overflow).
fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Splits `hh:mm:ss[.f…]` from its `Z` or `±hh:mm` offset (in minutes east).
fn split_offset(s: &str) -> Option<(&str, i32)> {
    if let Some(time) = s.strip_suffix('Z') {
        return Some((time, 0));
    }
    let at = s.len().checked_sub(6)?;
    let (time, offset) = (s.get(..at)?, s.get(at..)?);
    let [sign, h1, h2, b':', m1, m2] = <[u8; 6]>::try_from(offset.as_bytes()).ok()? else {
        return None;
    };
    let sign = match sign {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = (two_digits(h1, h2)?, two_digits(m1, m2)?);
    (h <= 23 && m <= 59).then_some((time, sign * (h * 60 + m)))
}

fn two_digits(tens: u8, ones: u8) -> Option<i32> {
    (tens.is_ascii_digit() && ones.is_ascii_digit())
        .then(|| i32::from(tens - b'0') * 10 + i32::from(ones - b'0'))
}

/// The time of day of `hh:mm:ss[.f…]`, to the millisecond (jiff refuses
/// hours, minutes or seconds out of range).
fn time_of_day(s: &str) -> Option<Time> {
    let (hms, fraction) = match s.split_once('.') {
        Some((hms, f)) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => (hms, f),
        Some(_) => return None,
        None => (s, ""),
    };
    let mut parts = hms.split(':');
    let (h, m, sec) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || [h, m, sec].iter().any(|p| p.len() != 2) {
        return None;
    }
    let field = |p: &str| digits(p).and_then(|v| i8::try_from(v).ok());
    let milli = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0, |acc, b| acc * 10 + i32::from(b - b'0'));
    Time::new(field(h)?, field(m)?, field(sec)?, milli * 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MS_PER_DAY: u64 = 86_400_000;

    fn is_leap(year: u64) -> bool {
        year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
    }

    fn days_in_month(year: u64, month: u64) -> u64 {
        match month {
            2 if is_leap(year) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    /// Slow reference: count whole years, then whole months, from 1970.
    fn slow_civil(ms: u64) -> String {
        let mut days = ms / MS_PER_DAY;
        let mut year = 1970;
        while days >= if is_leap(year) { 366 } else { 365 } {
            days -= if is_leap(year) { 366 } else { 365 };
            year += 1;
        }
        let mut month = 1;
        while days >= days_in_month(year, month) {
            days -= days_in_month(year, month);
            month += 1;
        }
        let rest = ms % MS_PER_DAY;
        format!(
            "{year:04}-{month:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            days + 1,
            rest / 3_600_000,
            rest / 60_000 % 60,
            rest / 1000 % 60,
            rest % 1000
        )
    }

    #[test]
    fn known_dates_format() {
        let cases = [
            (0, "1970-01-01T00:00:00.000Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (1_234_567_890_123, "2009-02-13T23:31:30.123Z"),
            (4_107_542_399_999, "2100-02-28T23:59:59.999Z"),
            (4_107_542_400_000, "2100-03-01T00:00:00.000Z"),
            (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
            (253_402_300_800_000, "10000-01-01T00:00:00.000Z"),
        ];
        for (ms, text) in cases {
            assert_eq!(UnixMillis(ms).to_string(), text);
            assert_eq!(
                UnixMillis::parse_iso8601(text),
                Some(UnixMillis(ms)),
                "{text}"
            );
        }
    }

    #[test]
    fn offsets_and_fractions_parse() {
        let at = |s| UnixMillis::parse_iso8601(s).map(|t| t.0);
        assert_eq!(at("2009-02-14T01:31:30.123+02:00"), Some(1_234_567_890_123));
        assert_eq!(
            at("2009-02-13T20:31:30.123456-03:00"),
            Some(1_234_567_890_123)
        );
        assert_eq!(at("2009-02-13T23:31:30.1Z"), Some(1_234_567_890_100));
        assert_eq!(at("2009-02-13T23:31:30Z"), Some(1_234_567_890_000));
        assert_eq!(at("1970-01-01T00:30:00+01:00"), None, "before 1970");
        // A date before 1970 with an offset that brings it after.
        assert_eq!(at("1969-12-31T23:00:00-02:00"), Some(3_600_000));
        // Past jiff's year 9999, with an offset across the year's end.
        assert_eq!(at("10000-01-01T01:00:00+01:00"), Some(253_402_300_800_000));
    }

    #[test]
    fn malformed_dates_are_refused() {
        for s in [
            "",
            "2009-02-13",
            "2009-02-13T23:31:30.123",
            "2009-02-30T00:00:00Z",
            "2100-02-29T00:00:00Z",
            "2009-13-01T00:00:00Z",
            "2009-00-01T00:00:00Z",
            "2009-02-13T24:00:00Z",
            "2009-02-13T23:60:00Z",
            "2009-02-13T23:31:60Z",
            "2009-02-13T23:31:30.Z",
            "2009-02-13T23:31:30.1a2Z",
            "209-02-13T23:31:30Z",
            "2009-2-13T23:31:30Z",
            "2009-02-13T23:31:30+2:000",
            "2009-02-13T23:31:30+24:00",
            "+009-02-13T23:31:30Z",
            "2009-02-13T23:31:30.123z",
            "2009-02-13T23:31:30:00Z",
            "2009-02-13T2:031:30Z",
        ] {
            assert_eq!(UnixMillis::parse_iso8601(s), None, "{s:?}");
        }
    }

    proptest! {
        #[test]
        fn format_matches_slow_reference(ms in 0u64..16_725_225_600_000) {
            // 1970 to 2500.
            prop_assert_eq!(UnixMillis(ms).to_string(), slow_civil(ms));
        }

        #[test]
        fn format_matches_slow_reference_past_year_9999(ms in 253_402_300_800_000u64..600_000_000_000_000) {
            // 10000 to about 20983: dates jiff cannot hold, by cycles.
            prop_assert_eq!(UnixMillis(ms).to_string(), slow_civil(ms));
        }

        #[test]
        fn format_then_parse_round_trips(ms in any::<u64>()) {
            let text = UnixMillis(ms).to_string();
            prop_assert_eq!(UnixMillis::parse_iso8601(&text), Some(UnixMillis(ms)), "{}", text);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = UnixMillis::parse_iso8601(&s);
        }
    }
}
