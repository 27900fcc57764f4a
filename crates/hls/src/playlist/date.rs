//! `EXT-X-PROGRAM-DATE-TIME` values: ISO 8601 / RFC 3339 UTC date-times with
//! milliseconds, computed from epoch milliseconds with Howard Hinnant's
//! `civil_from_days` and `days_from_civil` (proleptic Gregorian calendar).

use std::fmt;

const MS_PER_DAY: u64 = 86_400_000;

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
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return None;
        }
        let (time, offset_minutes) = split_offset(rest)?;
        let millis_of_day = time_of_day(time)?;
        let days = days_from_civil(year as i64, month as u32, day as u32);
        let ms = i128::from(days) * i128::from(MS_PER_DAY) + i128::from(millis_of_day)
            - i128::from(offset_minutes) * 60_000;
        u64::try_from(ms).ok().map(UnixMillis)
    }
}

impl fmt::Display for UnixMillis {
    /// `YYYY-MM-DDThh:mm:ss.sssZ` (years after 9999 get more digits).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // u64::MAX / MS_PER_DAY < 2^38, so the day count fits in i64.
        let (year, month, day) = civil_from_days((self.0 / MS_PER_DAY) as i64);
        let ms = self.0 % MS_PER_DAY;
        let (h, m, s, milli) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z"
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
fn split_offset(s: &str) -> Option<(&str, i64)> {
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

fn two_digits(tens: u8, ones: u8) -> Option<i64> {
    (tens.is_ascii_digit() && ones.is_ascii_digit())
        .then(|| i64::from(tens - b'0') * 10 + i64::from(ones - b'0'))
}

/// Milliseconds since midnight from `hh:mm:ss[.f…]`.
fn time_of_day(s: &str) -> Option<u64> {
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
    let (h, m, sec) = (digits(h)?, digits(m)?, digits(sec)?);
    if h > 23 || m > 59 || sec > 59 {
        return None;
    }
    let milli = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0, |acc, b| acc * 10 + u64::from(b - b'0'));
    Some(((h * 60 + m) * 60 + sec) * 1000 + milli)
}

fn is_leap(year: u64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `(year, month 1–12, day 1–31)` of the day `z` days after 1970-01-01.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March = 0
    let day = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month as u32, day as u32)
}

/// Days from 1970-01-01 to `year-month-day` (month 1–12, day 1–31).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400); // [0, 399]
    let mp = i64::from((month + 9) % 12); // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
        fn format_then_parse_round_trips(ms in any::<u64>()) {
            let text = UnixMillis(ms).to_string();
            prop_assert_eq!(UnixMillis::parse_iso8601(&text), Some(UnixMillis(ms)), "{}", text);
        }

        #[test]
        fn days_round_trip(days in -1_000_000_000i64..1_000_000_000) {
            let (y, m, d) = civil_from_days(days);
            prop_assert_eq!(days_from_civil(y, m, d), days);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = UnixMillis::parse_iso8601(&s);
        }
    }
}
