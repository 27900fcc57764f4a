//! Threshold ranges in the Monitoring Plugins guidelines' syntax (§2.5):
//! `10` (alert outside 0..10), `10:` (below 10), `~:10` (above 10),
//! `10:20` (outside 10..20), `@10:20` (inside 10..20, ends included).
//! Hand-written: the `nagios-range` crate reads the same five forms but
//! takes Rust's float syntax for the ends (`NaN`, `inf`, `1e3`, `-5`),
//! which the guidelines do not have and this check must refuse; the rules
//! fit in a few lines.

use std::fmt;

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

impl Range {
    /// Parses a range; refuses what is not the guidelines' syntax, NaN,
    /// infinities, negative ends (every measure here is a count or a
    /// time) and a start above the end.
    pub fn parse(text: &str) -> Result<Range, String> {
        let (inside, spec) = match text.strip_prefix('@') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (start, end) = match spec.split_once(':') {
            None => (Some(0.0), Some(number(spec, text)?)),
            Some(("~", end)) => (None, end_of(end, text)?),
            Some((start, end)) => (Some(number(start, text)?), end_of(end, text)?),
        };
        if let (Some(s), Some(e)) = (start, end) {
            if s > e {
                return Err(format!(
                    "threshold {text:?}: the start {s} is above the end {e}"
                ));
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

/// The end after a `:`, empty for infinity.
fn end_of(end: &str, text: &str) -> Result<Option<f64>, String> {
    if end.is_empty() {
        return Ok(None);
    }
    number(end, text).map(Some)
}

/// One end: a plain decimal number, finite and not negative.
fn number(s: &str, text: &str) -> Result<f64, String> {
    let plain = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    match s.parse::<f64>() {
        Ok(v) if plain && v.is_finite() => Ok(v),
        _ => Err(format!(
            "threshold {text:?}: {s:?} is not a number >= 0 (ranges: 10, 10:, ~:10, 10:20, @10:20)"
        )),
    }
}

/// A number as perfdata wants it: plain decimals, no exponent, no
/// trailing zeros.
pub fn decimal(v: f64) -> String {
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".into()
    } else {
        s.into()
    }
}

impl fmt::Display for Range {
    /// The range in its shortest form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.inside {
            f.write_str("@")?;
        }
        match (self.start, self.end) {
            (Some(s), Some(e)) if s == 0.0 && !self.inside => write!(f, "{}", decimal(e)),
            (Some(s), Some(e)) => write!(f, "{}:{}", decimal(s), decimal(e)),
            (Some(s), None) => write!(f, "{}:", decimal(s)),
            (None, Some(e)) => write!(f, "~:{}", decimal(e)),
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
        assert_eq!(decimal(0.011), "0.011");
        assert_eq!(decimal(7.0), "7");
        assert_eq!(decimal(1e-9), "0");
    }
}
