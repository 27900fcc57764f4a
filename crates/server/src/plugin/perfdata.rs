//! Performance data as the Monitoring Plugins guidelines write it (§2.6):
//! `'label'=value[UOM];[warn];[crit];[min];[max]`, items separated by
//! spaces; numbers in `[-0-9.]` (no exponent), thresholds as ranges.

use std::fmt;

use super::range::Range;

/// A number as perfdata wants it: plain decimals (at most six), no
/// exponent, no trailing zeros; what rounds to zero is `0`.
pub fn perfdata_number(value: f64) -> String {
    let s = format!("{value:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".into()
    } else {
        s.into()
    }
}

/// The units of measure the guidelines allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unit {
    /// A plain number (a count of things).
    None,
    /// Seconds (`s`).
    Seconds,
    /// Milliseconds (`ms`).
    Milliseconds,
    /// Microseconds (`us`).
    Microseconds,
    /// A percentage (`%`).
    Percent,
    /// Bytes (`B`).
    Bytes,
    /// A continuous counter (`c`).
    Counter,
}

impl Unit {
    /// The unit as perfdata writes it after the value.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::None => "",
            Unit::Seconds => "s",
            Unit::Milliseconds => "ms",
            Unit::Microseconds => "us",
            Unit::Percent => "%",
            Unit::Bytes => "B",
            Unit::Counter => "c",
        }
    }
}

/// One perfdata item: `label=value[UOM];warn;crit;min;max`, an absent
/// part left empty.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerfdataItem<'a> {
    /// The label; quoted (`'…'`, a quote doubled) when it holds a space,
    /// a quote or `=`.
    pub label: &'a str,
    /// The measured value.
    pub value: f64,
    /// Its unit.
    pub unit: Unit,
    /// The warning range.
    pub warning: Option<Range>,
    /// The critical range.
    pub critical: Option<Range>,
    /// The smallest value possible.
    pub min: Option<f64>,
    /// The largest value possible.
    pub max: Option<f64>,
}

impl fmt::Display for PerfdataItem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.label.contains([' ', '\'', '=']) {
            write!(f, "'{}'", self.label.replace('\'', "''"))?;
        } else {
            f.write_str(self.label)?;
        }
        let range = |r: Option<Range>| r.map(|r| r.to_string()).unwrap_or_default();
        let bound = |b: Option<f64>| b.map(perfdata_number).unwrap_or_default();
        write!(
            f,
            "={}{};{};{};{};{}",
            perfdata_number(self.value),
            self.unit.as_str(),
            range(self.warning),
            range(self.critical),
            bound(self.min),
            bound(self.max),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_plain_decimals_without_trailing_zeros() {
        assert_eq!(perfdata_number(0.011), "0.011");
        assert_eq!(perfdata_number(7.0), "7");
        assert_eq!(perfdata_number(1e-9), "0");
        assert_eq!(perfdata_number(1e12), "1000000000000");
        assert_eq!(perfdata_number(-2.5), "-2.5");
    }

    #[test]
    fn an_item_leaves_absent_parts_empty_and_quotes_labels_that_need_it() {
        let item = PerfdataItem {
            label: "decisions",
            value: 5120.0,
            unit: Unit::None,
            warning: None,
            critical: None,
            min: Some(0.0),
            max: None,
        };
        assert_eq!(item.to_string(), "decisions=5120;;;0;");
        let item = PerfdataItem {
            label: "it's up",
            value: 0.5,
            unit: Unit::Seconds,
            warning: Range::parse("~:1").ok(),
            critical: Range::parse("@2:3").ok(),
            min: Some(0.0),
            max: Some(60.0),
        };
        assert_eq!(item.to_string(), "'it''s up'=0.5s;~:1;@2:3;0;60");
    }
}
