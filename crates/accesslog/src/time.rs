//! Log timestamps: `10/Oct/2000:13:55:36 -0700` (nginx `$time_local`, Apache
//! `%t`) to milliseconds since the Unix epoch, and UTC times back to text.
//!
//! The log-line reader is written by hand: it runs once per log line, and
//! general date parsers spend more than the rest of the line's parsing on
//! it. Its day count is Howard Hinnant's `days_from_civil` (which, as
//! before, reads 31/Feb as 3/Mar), tested against `jiff`. Everything else
//! (times written into reports) is `jiff`'s, the project's one date library.

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2026-11-25T10:00:00Z` for a Unix time in seconds; `@<seconds>` (as
/// `date -d @N` reads it) for a time outside `jiff`'s range (about years
/// −9999 to 9999), which no log line reaches (its year has four digits).
pub fn iso8601(unix_s: i64) -> String {
    match jiff::Timestamp::from_second(unix_s) {
        Ok(at) => at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Err(_) => format!("@{unix_s}"),
    }
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() {
        return None;
    }
    b.iter().try_fold(0u32, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

/// Remembers the last date seen: consecutive log lines share it, so most
/// lines skip the calendar arithmetic; and the last whole time, which a
/// busy log repeats for every line of the same second.
#[derive(Debug, Default, Clone)]
pub struct TimestampParser {
    /// `10/Oct/2000` and ` -0700` of the last line, and that day's start.
    last_date: [u8; 11],
    last_zone: [u8; 5],
    last_day_ms: i64,
    valid: bool,
    /// The last text parsed, and its time (`last_ms` is `None` until one
    /// parsed).
    last_text: [u8; 26],
    last_ms: Option<i64>,
}

impl TimestampParser {
    /// Parses `dd/Mon/yyyy:HH:MM:SS ±hhmm` (the text between the brackets).
    pub fn parse(&mut self, s: &[u8]) -> Option<i64> {
        if let Some(ms) = self.last_ms {
            if s == self.last_text {
                return Some(ms);
            }
        }
        let ms = self.parse_new(s)?;
        // Invariant: `parse_new` accepts only 26 bytes.
        if let Ok(text) = s.try_into() {
            self.last_text = text;
            self.last_ms = Some(ms);
        }
        Some(ms)
    }

    fn parse_new(&mut self, s: &[u8]) -> Option<i64> {
        if s.len() != 26 || s[11] != b':' || s[14] != b':' || s[17] != b':' || s[20] != b' ' {
            return None;
        }
        let (date, zone) = (&s[..11], &s[21..26]);
        if !(self.valid && self.last_date == date && self.last_zone == zone) {
            self.last_day_ms = Self::day_start(date, zone)?;
            self.last_date.copy_from_slice(date);
            self.last_zone.copy_from_slice(zone);
            self.valid = true;
        }
        let (h, m, sec) = (
            digits(&s[12..14])?,
            digits(&s[15..17])?,
            digits(&s[18..20])?,
        );
        if h > 23 || m > 59 || sec > 60 {
            return None;
        }
        Some(self.last_day_ms + i64::from(h * 3600 + m * 60 + sec) * 1000)
    }

    fn day_start(date: &[u8], zone: &[u8]) -> Option<i64> {
        if date[2] != b'/' || date[6] != b'/' {
            return None;
        }
        let d = digits(&date[..2])?;
        let mon = MONTHS.iter().position(|m| m[..] == date[3..6])? as u32 + 1;
        let y = i64::from(digits(&date[7..11])?);
        if !(1..=31).contains(&d) {
            return None;
        }
        let sign = match zone[0] {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let (zh, zm) = (digits(&zone[1..3])?, digits(&zone[3..5])?);
        if zh > 23 || zm > 59 {
            return None;
        }
        let offset_s = sign * i64::from(zh * 3600 + zm * 60);
        Some((days_from_civil(y, mon, d) * 86_400 - offset_s) * 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apache_documentation_example() {
        // 10/Oct/2000:13:55:36 -0700 is 2000-10-10T20:55:36Z = 971211336.
        let mut p = TimestampParser::default();
        assert_eq!(
            p.parse(b"10/Oct/2000:13:55:36 -0700"),
            Some(971_211_336_000)
        );
        assert_eq!(
            p.parse(b"10/Oct/2000:13:55:37 -0700"),
            Some(971_211_337_000)
        );
        assert_eq!(p.parse(b"01/Jan/1970:00:00:00 +0000"), Some(0));
        assert_eq!(
            p.parse(b"29/Feb/2024:23:59:59 +0100"),
            Some(1_709_247_599_000)
        );
    }

    #[test]
    fn junk_is_rejected_not_panicked_on() {
        let mut p = TimestampParser::default();
        for bad in [
            &b"10/Oct/2000:13:55:36"[..],
            b"10/Okt/2000:13:55:36 -0700",
            b"10/Oct/2000:25:55:36 -0700",
            b"10/Oct/2000:13:55:36 x0700",
            b"",
            b"aa/Oct/2000:13:55:36 -0700",
        ] {
            assert_eq!(p.parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    proptest::proptest! {
        /// A parser that remembers the last date and time gives, line after
        /// line, what a fresh parser gives for each: repeats, new seconds,
        /// new days and zones, junk in between.
        #[test]
        fn remembering_changes_no_answer(picks in proptest::collection::vec(0usize..7, 1..60)) {
            let texts: [&[u8]; 7] = [
                b"10/Oct/2000:13:55:36 -0700",
                b"10/Oct/2000:13:55:37 -0700",
                b"11/Oct/2000:13:55:36 -0700",
                b"10/Oct/2000:13:55:36 +0000",
                b"10/Oct/2000:25:55:36 -0700",
                b"10/Okt/2000:13:55:36 -0700",
                b"",
            ];
            let mut long_lived = TimestampParser::default();
            for i in picks {
                let fresh = TimestampParser::default().parse(texts[i]);
                proptest::prop_assert_eq!(long_lived.parse(texts[i]), fresh);
            }
        }
    }

    #[test]
    fn days_are_counted_as_jiff_counts_them() -> Result<(), jiff::Error> {
        let epoch = jiff::civil::date(1970, 1, 1);
        let mut day = jiff::civil::date(-2000, 1, 1);
        while day.year() < 2500 {
            let want = i64::from((day - epoch).get_days());
            let (y, m, d) = (day.year(), day.month(), day.day());
            assert_eq!(days_from_civil(y.into(), m as u32, d as u32), want, "{day}");
            day = day.checked_add(jiff::Span::new().days(17))?;
        }
        Ok(())
    }

    #[test]
    fn iso_times() {
        assert_eq!(iso8601(971_211_336), "2000-10-10T20:55:36Z");
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(-1), "1969-12-31T23:59:59Z");
        assert_eq!(iso8601(1_795_600_800), "2026-11-25T10:00:00Z");
        assert_eq!(iso8601(253_402_128_000), "9999-12-30T00:00:00Z");
        assert_eq!(iso8601(253_402_300_800), "@253402300800");
        assert_eq!(iso8601(i64::MIN), format!("@{}", i64::MIN));
    }
}
