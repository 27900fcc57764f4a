//! Threshold ranges in the Monitoring Plugins guidelines' syntax (§2.5):
//! `10` (alert outside 0..10), `10:` (below 10), `~:10` (above 10),
//! `10:20` (outside 10..20), `@10:20` (inside 10..20, ends included).
//! Hand-written: the `nagios-range` crate reads the same five forms but
//! takes Rust's float syntax for the ends (`NaN`, `inf`, `1e3`, `-5`),
//! which the guidelines do not have and this check must refuse; the rules
//! fit in a few lines.

use std::fmt;
use std::str::FromStr;

use super::perfdata::perfdata_number;

/// A threshold range: the values outside it (inside, with `@`) alert.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    /// The lower end; `None`: minus infinity (`~`).
    start: Option<f64>,
    /// The upper end; `None`: infinity (nothing after the `:`).
    end: Option<f64>,
    /// `@`: values inside the range alert.
    inside: bool,
}

/// Why a threshold is not a range routecast reads.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RangeError {
    /// An end is not a plain decimal number >= 0 (NaN, an infinity, an
    /// exponent, a sign, nothing, garbage).
    #[error(
        "threshold {range:?}: {end:?} is not a number >= 0 (ranges: 10, 10:, ~:10, 10:20, @10:20)"
    )]
    NotANumber {
        /// The threshold as given.
        range: String,
        /// The end that is not a number.
        end: String,
    },
    /// The start is above the end.
    #[error("threshold {range:?}: the start {start} is above the end {end}")]
    StartAboveEnd {
        /// The threshold as given.
        range: String,
        /// Its start.
        start: f64,
        /// Its end.
        end: f64,
    },
}

impl Range {
    /// Parses a range; refuses what is not the guidelines' syntax, NaN,
    /// infinities, negative ends (every measure here is a count or a
    /// time) and a start above the end.
    pub fn parse(text: &str) -> Result<Range, RangeError> {
        let (inside, spec) = match text.strip_prefix('@') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (start, end) = match spec.split_once(':') {
            None => (Some(0.0), Some(number(spec, text)?)),
            Some(("~", end)) => (None, end_of(end, text)?),
            Some((start, end)) => (Some(number(start, text)?), end_of(end, text)?),
        };
        if let (Some(start), Some(end)) = (start, end) {
            if start > end {
                return Err(RangeError::StartAboveEnd {
                    range: text.into(),
                    start,
                    end,
                });
            }
        }
        Ok(Range { start, end, inside })
    }

    /// Whether `value` alerts.
    pub fn alerts(&self, value: f64) -> bool {
        let outside = self.start.is_some_and(|s| value < s) || self.end.is_some_and(|e| value > e);
        outside != self.inside
    }
}

impl FromStr for Range {
    type Err = RangeError;

    fn from_str(text: &str) -> Result<Range, RangeError> {
        Range::parse(text)
    }
}

/// The end after a `:`, empty for infinity.
fn end_of(end: &str, text: &str) -> Result<Option<f64>, RangeError> {
    if end.is_empty() {
        return Ok(None);
    }
    number(end, text).map(Some)
}

/// One end: a plain decimal number, finite and not negative.
fn number(end: &str, text: &str) -> Result<f64, RangeError> {
    let plain = !end.is_empty() && end.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    match end.parse::<f64>() {
        Ok(v) if plain && v.is_finite() => Ok(v),
        _ => Err(RangeError::NotANumber {
            range: text.into(),
            end: end.into(),
        }),
    }
}

impl fmt::Display for Range {
    /// The range in its shortest form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.inside {
            f.write_str("@")?;
        }
        let n = perfdata_number;
        match (self.start, self.end) {
            (Some(s), Some(e)) if s == 0.0 && !self.inside => write!(f, "{}", n(e)),
            (Some(s), Some(e)) => write!(f, "{}:{}", n(s), n(e)),
            (Some(s), None) => write!(f, "{}:", n(s)),
            (None, Some(e)) => write!(f, "~:{}", n(e)),
            (None, None) => write!(f, "~:"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The guidelines' table: which values alert under each form.
    #[test]
    fn the_guidelines_forms_alert_where_the_guidelines_say() {
        let cases: [(&str, &[f64], &[f64]); 5] = [
            ("10", &[-1.0, 10.5, 11.0], &[0.0, 5.0, 10.0]),
            ("10:", &[0.0, 9.9], &[10.0, 1e9]),
            ("~:10", &[10.1, 100.0], &[-5.0, 0.0, 10.0]),
            ("10:20", &[9.0, 21.0], &[10.0, 15.0, 20.0]),
            ("@10:20", &[10.0, 15.0, 20.0], &[9.0, 21.0]),
        ];
        for (text, alert, quiet) in cases {
            let r = Range::parse(text).expect(text);
            assert_eq!(r.to_string(), text);
            for v in alert {
                assert!(r.alerts(*v), "{text} {v}");
            }
            for v in quiet {
                assert!(!r.alerts(*v), "{text} {v}");
            }
        }
    }

    #[test]
    fn nan_negative_inverted_and_malformed_ranges_are_refused() {
        for text in [
            "", "nan", "NaN:", "inf", "-1", "~:-1", "5:2", "@5:2", "1e3", "10::", "a:b", "~", "@",
            ":", "1,5",
        ] {
            assert!(Range::parse(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn a_refusal_names_the_threshold_and_the_end_at_fault() {
        assert_eq!(
            Range::parse("~:-1"),
            Err(RangeError::NotANumber {
                range: "~:-1".into(),
                end: "-1".into()
            })
        );
        assert_eq!(
            Range::parse("@5:2").map_err(|e| e.to_string()),
            Err(r#"threshold "@5:2": the start 5 is above the end 2"#.into())
        );
    }
}
