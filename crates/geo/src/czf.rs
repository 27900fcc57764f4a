//! Apache Traffic Control Coverage Zone Files: client networks grouped into
//! named zones, imported as routecast client groups.
//!
//! The format (Traffic Router's `czf.json`):
//! ```json
//! { "revision": "…", "customerName": "…",
//!   "coverageZones": {
//!     "zone-a": { "network": ["192.0.2.0/24"], "network6": ["2001:db8::/48"],
//!                 "coordinates": { "latitude": 52.1, "longitude": "4.3" } } },
//!   "deepCoverageZones": { "zone-a": { "network": […], "caches": […] } } }
//! ```
//! A zone in both maps is one group with the networks of both.
//!
//! # Read as Traffic Router reads it
//! A file Traffic Router loads imports too; where Traffic Router is lenient,
//! so is this parser, with a [`CzfWarning`] naming the place:
//! * a network with host bits set (`"2001:CAFE:F00D:0::/37"`, from Traffic
//!   Router's own test files) is masked to its network (`2001:cafe:f000::/37`);
//! * spaces around the address and the prefix length, IPv6 digits in either
//!   case, and a bare address (one host, `/32` or `/128`) are read silently;
//! * coordinates may be numbers or numeric strings (Traffic Ops has written
//!   both); `"coordinates": null`, or only one of latitude and longitude,
//!   means no coordinates (warned);
//! * a zone without `network`/`network6`, or with empty lists, has no
//!   networks; a network listed twice in a zone counts once;
//! * a zone named twice in one map keeps its last value (Jackson's and
//!   serde_json's maps do the same);
//! * a network in two zones stays in the first zone of the file (as Traffic
//!   Router keeps the first it adds), warned at the later one;
//! * a network of the wrong family (IPv4 under `network6`) is skipped,
//!   warned: Traffic Router files it in the other family's tree, where no
//!   client address of that family ever reaches it.
//!
//! Refused, with the place, where Traffic Router guesses silently: a
//! network that is not a string (Traffic Router reads the number `10` as the
//! address `0.0.0.10`), a host name (Traffic Router resolves it over DNS),
//! a `network` that is not a list (Traffic Router ignores it), coordinates
//! that are not numbers (Traffic Router takes 0) or are out of range.

mod network;
#[cfg(test)]
mod tests;
mod zones;

use routecast_engine::{CoverageZone, Source};

/// Something imported leniently, as Traffic Router would (see the module
/// documentation): displays as `file:line:column: path: what was done`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CzfWarning {
    /// The file.
    pub file: String,
    /// Line and column of the value, when it can be found.
    pub place: Option<(usize, usize)>,
    /// JSON path of the value (`coverageZones."a".network[2]`).
    pub path: String,
    /// What was found and what was done with it.
    pub message: String,
}

impl std::fmt::Display for CzfWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some((line, column)) = self.place {
            write!(f, ":{line}:{column}")?;
        }
        write!(f, ": {}: {}", self.path, self.message)
    }
}

/// A coverage-zone file that cannot be imported: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {path}: {message}", place.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
#[non_exhaustive]
pub struct CzfError {
    /// The file.
    pub file: String,
    /// Line and column of the offending value, when it can be found.
    pub place: Option<(usize, usize)>,
    /// JSON path of the offending value (`coverageZones."a".network[2]`).
    pub path: String,
    /// What is wrong and what was expected.
    pub message: String,
}

/// The same place and message, as the error that ends the import.
impl From<CzfWarning> for CzfError {
    fn from(p: CzfWarning) -> Self {
        CzfError {
            file: p.file,
            place: p.place,
            path: p.path,
            message: p.message,
        }
    }
}

/// An imported coverage-zone file.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Czf {
    /// The zones, in the order of the file.
    pub zones: Vec<CoverageZone>,
    /// What was accepted leniently, in the order of the file.
    pub warnings: Vec<CzfWarning>,
}

/// Line and column, in characters as editors count them, of serde_json's
/// error place: serde_json counts the column in bytes, and 0 at the start
/// of a line (an empty file, or the end just after a newline).
fn json_place(source: &Source, line: usize, byte_column: usize) -> (usize, usize) {
    let text = source.text();
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let mut at = (line_start + byte_column.saturating_sub(1)).min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    source.line_column(at)
}

/// Parses a coverage-zone file. `file` names it in errors and warnings.
pub fn parse(file: &str, text: &str) -> Result<Czf, CzfError> {
    let source = Source::new(file, text);
    let root: serde_json::Value = serde_json::from_str(text).map_err(|e| CzfError {
        file: file.to_string(),
        place: Some(json_place(&source, e.line(), e.column())),
        path: "$".into(),
        message: format!("not valid JSON: {e}"),
    })?;
    zones::Reader::new(source).read(&root)
}
