//! What a replay takes as a plausible request: a time, a duration and a
//! byte count within stated bounds. A line outside them is malformed, with
//! its reason, so that one far-off line cannot size the run (its bins, its
//! reordering window, its output) nor wrap a sum.

use routecast_accesslog::time::days_from_civil;
use routecast_accesslog::{LineError, Request};

/// The bounds of a plausible request ([`LineRules::plausible`](crate::LineRules::plausible)).
/// The defaults are `routecast simulate`'s (`--time-range`,
/// `--max-duration`, `--max-request-bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plausible {
    /// The first plausible logged time, ms since the Unix epoch.
    pub from_ms: i64,
    /// The first logged time after the plausible range, ms.
    pub to_ms: i64,
    /// The longest plausible duration (`$request_time`, `%D`, `%T`), ms.
    pub max_duration_ms: u64,
    /// The largest plausible byte count of one request.
    pub max_request_bytes: u64,
}

impl Default for Plausible {
    /// 1991-01-01 (the web's first year) to 2100-01-01, a day, a TiB.
    fn default() -> Self {
        Self {
            from_ms: Self::DEFAULT_FROM_MS,
            to_ms: Self::DEFAULT_TO_MS,
            max_duration_ms: Self::DEFAULT_MAX_DURATION_MS,
            max_request_bytes: Self::DEFAULT_MAX_REQUEST_BYTES,
        }
    }
}

impl Plausible {
    /// 1991-01-01T00:00:00Z, ms: no web server logged before.
    pub const DEFAULT_FROM_MS: i64 = 662_688_000_000;
    /// 2100-01-01T00:00:00Z, ms.
    pub const DEFAULT_TO_MS: i64 = 4_102_444_800_000;
    /// A day, ms: longer than any download or live session a log records
    /// (nginx's and Apache's timeouts close idle connections in minutes).
    pub const DEFAULT_MAX_DURATION_MS: u64 = 86_400_000;
    /// A TiB (2^40 bytes): more than any one response. With it, 2^24 such
    /// requests fit in a 64-bit total; sums saturate beyond.
    pub const DEFAULT_MAX_REQUEST_BYTES: u64 = 1 << 40;

    /// `Ok` when `r`'s time, duration and bytes (as logged) are within
    /// bounds; otherwise the first that is not, as the line's error.
    #[inline]
    pub fn check(&self, r: &Request<'_>) -> Result<(), LineError> {
        if r.logged_ms < self.from_ms || r.logged_ms >= self.to_ms {
            return Err(LineError::TimeOutOfRange {
                ms: r.logged_ms,
                from_ms: self.from_ms,
                to_ms: self.to_ms,
            });
        }
        if let Some(ms) = r.duration_ms.filter(|d| *d > self.max_duration_ms) {
            return Err(LineError::DurationTooLong {
                ms,
                max_ms: self.max_duration_ms,
            });
        }
        if r.bytes > self.max_request_bytes {
            return Err(LineError::TooManyBytes {
                bytes: r.bytes,
                max: self.max_request_bytes,
            });
        }
        Ok(())
    }
}

/// A `--time-range` that does not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeRangeError {
    /// Not two dates around `..`.
    #[error("{text:?} is not FROM..TO, dates YYYY-MM-DD (e.g. 1991-01-01..2100-01-01)")]
    Form {
        /// The range as given.
        text: String,
    },
    /// A date that is not `YYYY-MM-DD`, or a day its month does not have.
    #[error("{date:?} is not a date YYYY-MM-DD")]
    Date {
        /// The date as given.
        date: String,
    },
    /// A range whose end is not after its start.
    #[error("{text:?} is empty: FROM must be before TO")]
    Empty {
        /// The range as given.
        text: String,
    },
}

/// `FROM..TO` (dates `YYYY-MM-DD`, UTC, TO excluded) as
/// `(from_ms, to_ms)` for [`Plausible`].
pub fn parse_time_range(text: &str) -> Result<(i64, i64), TimeRangeError> {
    let (from, to) = text.split_once("..").ok_or_else(|| TimeRangeError::Form {
        text: text.to_string(),
    })?;
    let (from, to) = (date_ms(from.trim())?, date_ms(to.trim())?);
    if from >= to {
        return Err(TimeRangeError::Empty {
            text: text.to_string(),
        });
    }
    Ok((from, to))
}

/// Midnight UTC of `YYYY-MM-DD`, ms.
fn date_ms(date: &str) -> Result<i64, TimeRangeError> {
    let bad = || TimeRangeError::Date {
        date: date.to_string(),
    };
    let mut parts = date.splitn(3, '-');
    let mut next = |len: usize| {
        parts
            .next()
            .filter(|p| p.len() == len && p.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|p| p.parse::<u32>().ok())
            .ok_or_else(bad)
    };
    let (y, m, d) = (next(4)?, next(2)?, next(2)?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let valid = (1..=12).contains(&m) && d >= 1 && d <= month_days[m as usize - 1];
    if !valid {
        return Err(bad());
    }
    Ok(days_from_civil(i64::from(y), m, d) * 86_400_000)
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use routecast_accesslog::TimeIs;

    use super::*;

    fn request(logged_ms: i64, duration_ms: Option<u64>, bytes: u64) -> Request<'static> {
        Request {
            client: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)).into(),
            logged_ms,
            time_is: TimeIs::End,
            duration_ms,
            method: "GET",
            path: b"/a",
            status: 200,
            bytes,
            user_agent: None,
        }
    }

    #[test]
    fn the_bounds_are_inclusive_below_and_exclusive_above_and_say_why() {
        let p = Plausible::default();
        let day = 86_400_000;
        assert_eq!(p.check(&request(p.from_ms, Some(day), 1 << 40)), Ok(()));
        assert_eq!(p.check(&request(p.to_ms - 1, None, 0)), Ok(()));
        let e = p.check(&request(p.to_ms, None, 0)).expect_err("2100");
        assert_eq!(
            e.to_string(),
            "time 2100-01-01T00:00:00Z is outside the plausible range \
             1991-01-01T00:00:00Z..2100-01-01T00:00:00Z (--time-range)"
        );
        let e = p
            .check(&request(p.from_ms, Some(day + 500), 0))
            .expect_err("long");
        assert_eq!(
            e.to_string(),
            "request duration 86400.5 s is beyond the plausible maximum of 86400 s (--max-duration)"
        );
        let e = p
            .check(&request(p.from_ms, None, (1 << 40) + 1))
            .expect_err("big");
        assert_eq!(
            e.to_string(),
            "byte count 1099511627777 is beyond the plausible maximum of 1099511627776 per request (--max-request-bytes)"
        );
    }
}

#[cfg(test)]
mod range_tests {
    use super::*;

    #[test]
    fn time_ranges_read_as_dates_and_errors_say_what_is_wrong() {
        let p = Plausible::default();
        assert_eq!(
            parse_time_range("1991-01-01..2100-01-01"),
            Ok((p.from_ms, p.to_ms))
        );
        // 2024-02-29 is 19782 days after 1970-01-01 (`date -d 2024-02-29 +%s`).
        assert_eq!(
            parse_time_range("2024-02-29 .. 2024-03-01"),
            Ok((19_782 * 86_400_000, 19_783 * 86_400_000))
        );
        assert_eq!(
            parse_time_range("2023-02-29..2024-01-01")
                .expect_err("no 29 Feb 2023")
                .to_string(),
            r#""2023-02-29" is not a date YYYY-MM-DD"#
        );
        assert!(matches!(
            parse_time_range("2024-01-01"),
            Err(TimeRangeError::Form { .. })
        ));
        assert!(matches!(
            parse_time_range("2024-01-01..2024-01-01"),
            Err(TimeRangeError::Empty { .. })
        ));
        assert!(parse_time_range("24-01-01..2025-01-01").is_err());
    }
}
