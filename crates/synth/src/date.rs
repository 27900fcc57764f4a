//! The simulated day: read from `YYYY-MM-DD`, and the log's timestamps
//! (`24/Nov/2026:21:00:00 +0000`) worked out with jiff.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use crate::{DateError, SyntheticDay};

/// Reads `YYYY-MM-DD` as the generator always has: three numbers, a month
/// of 1–12 and a day of 1–31 (a day past the month's end runs into the
/// next month: `2026-02-31` is March 3). The day must be from
/// [`SyntheticDay::FIRST_DATE`] to [`SyntheticDay::LAST_DATE`].
pub fn parse_date(text: &str) -> Result<Date, DateError> {
    let layout = || DateError::Layout {
        text: text.to_string(),
    };
    let mut parts = text.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(layout());
    };
    let (y, m, d): (i64, u32, u32) = (
        y.parse().map_err(|_| layout())?,
        m.parse().map_err(|_| layout())?,
        d.parse().map_err(|_| layout())?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(layout());
    }
    let out_of_range = || DateError::OutOfRange {
        text: text.to_string(),
    };
    let year = i16::try_from(y).map_err(|_| out_of_range())?;
    // The checks above keep month and day in range of i8.
    let first = Date::new(year, m as i8, 1).map_err(|_| out_of_range())?;
    let date = first
        .checked_add(i64::from(d - 1).days())
        .map_err(|_| out_of_range())?;
    if !(SyntheticDay::FIRST_DATE..=SyntheticDay::LAST_DATE).contains(&date) {
        return Err(out_of_range());
    }
    Ok(date)
}

/// Milliseconds since the Unix epoch at the start of `date` (UTC), a day
/// from [`SyntheticDay::FIRST_DATE`] to [`SyntheticDay::LAST_DATE`].
pub fn day_start_ms(date: Date) -> Result<i64, DateError> {
    let out_of_range = || DateError::OutOfRange {
        text: date.to_string(),
    };
    if !(SyntheticDay::FIRST_DATE..=SyntheticDay::LAST_DATE).contains(&date) {
        return Err(out_of_range());
    }
    date.to_zoned(TimeZone::UTC)
        .map(|z| z.timestamp().as_millisecond())
        .map_err(|_| out_of_range())
}

/// Formats log timestamps, remembering the date part of the last one
/// (a day's lines share it).
#[derive(Debug, Default)]
pub struct Stamps {
    /// Day number since the epoch and its `dd/Mon/yyyy`.
    day: Option<(i64, String)>,
}

impl Stamps {
    /// `dd/Mon/yyyy:HH:MM:SS +0000` of `ms` since the epoch; `None` out of
    /// jiff's range.
    pub fn format(&mut self, ms: i64) -> Option<String> {
        let s = ms.div_euclid(1000);
        let (day, sod) = (s.div_euclid(86_400), s.rem_euclid(86_400));
        let date = match &self.day {
            Some((d, text)) if *d == day => text,
            _ => &self.day.insert((day, date_text(day)?)).1,
        };
        Some(format!(
            "{date}:{:02}:{:02}:{:02} +0000",
            sod / 3600,
            sod / 60 % 60,
            sod % 60
        ))
    }
}

/// `dd/Mon/yyyy` of day number `day` since the epoch (the year as a plain
/// number, as nginx writes it).
fn date_text(day: i64) -> Option<String> {
    let date = Timestamp::from_second(day.checked_mul(86_400)?)
        .ok()?
        .to_zoned(TimeZone::UTC)
        .date();
    Some(format!("{}/{}", date.strftime("%d/%b"), date.year()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_before() {
        let day = |s| parse_date(s).map(|d| d.to_string());
        assert_eq!(day("2026-11-24").as_deref(), Ok("2026-11-24"));
        assert_eq!(day("2026-1-5").as_deref(), Ok("2026-01-05"));
        assert_eq!(day("2026-02-31").as_deref(), Ok("2026-03-03"));
        assert_eq!(day("2024-02-30").as_deref(), Ok("2024-03-01"));
        for bad in [
            "2026-13-01",
            "2026-11-32",
            "2026-11",
            "2026-11-24-1",
            "x-1-1",
            "2026-00-10",
            "-1-01-01",
        ] {
            assert!(
                matches!(parse_date(bad), Err(DateError::Layout { .. })),
                "{bad}"
            );
        }
        assert_eq!(day("9999-12-30").as_deref(), Ok("9999-12-30"));
        assert_eq!(day("0-01-01").as_deref(), Ok("0000-01-01"));
        for far in ["10000-01-01", "9999-12-31", "40000-01-01"] {
            assert!(
                matches!(parse_date(far), Err(DateError::OutOfRange { .. })),
                "{far}"
            );
        }
        assert_eq!(
            parse_date("10000-01-01").map_err(|e| e.to_string()),
            Err(
                r#""10000-01-01" is out of range: the day must be 0000-01-01 to 9999-12-30"#.into()
            )
        );
        // `date -u -d 2026-11-24 +%s`
        let start = parse_date("2026-11-24").and_then(day_start_ms);
        assert_eq!(start, Ok(1_795_478_400_000));
        let last = jiff::civil::date(9999, 12, 31);
        assert!(matches!(
            day_start_ms(last),
            Err(DateError::OutOfRange { .. })
        ));
    }

    #[test]
    fn stamps_are_nginx_time_local_in_utc() {
        let mut stamps = Stamps::default();
        // `date -u -d @1795550400`: Tue Nov 24 20:00:00 UTC 2026.
        assert_eq!(
            stamps.format(1_795_550_400_123).as_deref(),
            Some("24/Nov/2026:20:00:00 +0000")
        );
        assert_eq!(
            stamps.format(1_795_564_799_999).as_deref(),
            Some("24/Nov/2026:23:59:59 +0000")
        );
        assert_eq!(
            stamps.format(1_795_564_800_000).as_deref(),
            Some("25/Nov/2026:00:00:00 +0000")
        );
        assert_eq!(
            stamps.format(-1).as_deref(),
            Some("31/Dec/1969:23:59:59 +0000")
        );
        assert_eq!(stamps.format(i64::MAX), None);
    }
}
