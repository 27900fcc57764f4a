//! `EXT-X-DATERANGE` (RFC 8216 §4.3.2.7): a range of wall-clock time with
//! attributes, here the SCTE-35 splice information of ad breaks
//! (§4.3.2.7.1: `SCTE35-OUT`, `SCTE35-IN`, `SCTE35-CMD`).

use std::fmt;

use super::m3u8;
use super::{Ticks, UnixMillis};

/// One `EXT-X-DATERANGE` tag. Two tags of one ID carry the same value for
/// any attribute both have (§4.3.2.7): a break's end is added to the tag of
/// its start while that is listed, or written in a tag of its own with the
/// same ID and `START-DATE` once it is not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateRange {
    /// `ID`: unique to the range (to an SCTE-35 out/in pair).
    pub id: String,
    /// `CLASS`: ranges of one class follow its semantics and never overlap.
    pub class: Option<String>,
    /// `START-DATE`.
    pub start: UnixMillis,
    /// `DURATION`: the actual duration, once known.
    pub duration: Option<Ticks>,
    /// `PLANNED-DURATION`: the expected duration, when announced.
    pub planned_duration: Option<Ticks>,
    /// `SCTE35-CMD`: a section that is neither a break's start nor end, as
    /// a hexadecimal-sequence (`0xFC…`).
    pub scte35_cmd: Option<String>,
    /// `SCTE35-OUT`: the section that starts the break.
    pub scte35_out: Option<String>,
    /// `SCTE35-IN`: the section that ends it.
    pub scte35_in: Option<String>,
}

impl DateRange {
    /// A range `id` from `start`, with no other attribute.
    pub fn new(id: impl Into<String>, start: UnixMillis) -> DateRange {
        DateRange {
            id: id.into(),
            class: None,
            start,
            duration: None,
            planned_duration: None,
            scte35_cmd: None,
            scte35_out: None,
            scte35_in: None,
        }
    }
}

impl DateRange {
    /// Reads a tag's attribute list as [`Display`](fmt::Display) writes
    /// it (a resumed playlist keeps its ranges): `ID` and `START-DATE`
    /// required, the attributes above read, others (`END-DATE`, `X-…`)
    /// skipped. `None` when it does not read.
    pub fn parse(list: &str) -> Option<DateRange> {
        let mut id = None;
        let mut start = None;
        let mut r = DateRange::new("", UnixMillis(0));
        for (name, at) in m3u8::attributes(list)? {
            let value = &list[at];
            let quoted = || value.strip_prefix('"')?.strip_suffix('"');
            let hex = || {
                let digits = value
                    .strip_prefix("0x")
                    .or_else(|| value.strip_prefix("0X"))?;
                digits
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit())
                    .then(|| value.to_string())
            };
            let secs = || {
                let v: f64 = value.parse().ok()?;
                Ticks::from_secs_f64(v)
            };
            match name {
                "ID" => id = Some(quoted()?.to_string()),
                "CLASS" => r.class = Some(quoted()?.to_string()),
                "START-DATE" => start = Some(UnixMillis::parse_iso8601(quoted()?)?),
                "DURATION" => r.duration = Some(secs()?),
                "PLANNED-DURATION" => r.planned_duration = Some(secs()?),
                "SCTE35-CMD" => r.scte35_cmd = Some(hex()?),
                "SCTE35-OUT" => r.scte35_out = Some(hex()?),
                "SCTE35-IN" => r.scte35_in = Some(hex()?),
                _ => {}
            }
        }
        r.id = id?;
        r.start = start?;
        Some(r)
    }
}

impl fmt::Display for DateRange {
    /// The tag, without its line ending.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#EXT-X-DATERANGE:ID=\"{}\"", self.id)?;
        if let Some(class) = &self.class {
            write!(f, ",CLASS=\"{class}\"")?;
        }
        write!(f, ",START-DATE=\"{}\"", self.start)?;
        if let Some(d) = self.duration {
            write!(f, ",DURATION={}", seconds(d))?;
        }
        if let Some(d) = self.planned_duration {
            write!(f, ",PLANNED-DURATION={}", seconds(d))?;
        }
        for (name, value) in [
            ("SCTE35-CMD", &self.scte35_cmd),
            ("SCTE35-OUT", &self.scte35_out),
            ("SCTE35-IN", &self.scte35_in),
        ] {
            if let Some(v) = value {
                write!(f, ",{name}={v}")?;
            }
        }
        Ok(())
    }
}

/// Seconds with three decimals.
fn seconds(t: Ticks) -> String {
    let ms = t.rounded_millis();
    format!("{}.{:03}", ms / 1000, ms % 1000)
}
