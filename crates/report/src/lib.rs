//! Reports of replays: stacked bandwidth charts per site and per client
//! group (SVG and PNG) and one self-contained HTML report.
//!
//! # Rules
//! * No system libraries: plotters draws with a bundled font (DejaVu Sans)
//!   and PNGs are encoded with the pure-Rust `png` crate.
//! * The HTML report opens from disk with nothing else: charts are inline
//!   SVG, styles inline, no scripts, no external resources.

mod chart;
mod html;

pub use chart::{Chart, ChartError};
pub use html::{group_chart, html_report, site_chart, ReportInput};
