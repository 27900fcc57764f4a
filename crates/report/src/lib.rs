//! Every output of a replay: the time series (`timeseries.csv`), the
//! summary (`summary.json`), one RRD file per site and client group,
//! stacked bandwidth charts per site and per group (SVG and PNG), and one
//! self-contained HTML report; [`write_dir`] writes them all into a
//! directory.
//!
//! # Rules
//! * No system libraries: plotters draws with a bundled font (DejaVu Sans),
//!   PNGs are encoded with the pure-Rust `png` crate, RRD files are written
//!   by `routecast-rrd`.
//! * The HTML report opens from disk with nothing else: its charts are
//!   drawn by uPlot (MIT, vendored unmodified in `assets/uplot/`, inlined
//!   with its licence) from JSON in the page; styles and scripts inline, no
//!   external resource (a Content-Security-Policy forbids any fetch).
//! * Files are written atomically ([`write_atomically`]: a temporary file
//!   in the same directory, synced, then renamed): a reader sees the old
//!   file or the new one, never half of one.
//! * The output directory is written as a whole ([`OutputDir`]: checked
//!   before the replay, written into a temporary sibling, renamed into
//!   place): it holds the old report or the new one, never a mix.
//! * The replay's model (series, summaries, counters) is
//!   `routecast-replay`'s; this crate only presents it.
//!
//! # Example
//! ```
//! use std::sync::Arc;
//! use routecast_accesslog::{Request, TimeIs};
//! use routecast_engine::{NoLocator, Platform, PlatformConfig};
//! use routecast_replay::{Rejected, Replay, ReplayConfig};
//! use routecast_report::{write_dir, ReportInput};
//!
//! let toml = r#"
//! [[sites]]
//! name = "ams"
//! urls = ["https://ams.example.net"]
//! location = { lat = 52.37, lon = 4.90 }
//!
//! [[policies]]
//! name = "nearest"
//! steps = [{ step = "closest" }]
//! "#;
//! let config = PlatformConfig::parse("routecast.toml", toml)?;
//! let platform = Arc::new(Platform::build(&config, &[])?);
//! let mut replay = Replay::new(platform, Arc::new(NoLocator), ReplayConfig::default());
//! replay.push(&Request {
//!     client: "192.0.2.1".parse::<std::net::IpAddr>()?.into(),
//!     logged_ms: 1_795_600_000_000,
//!     time_is: TimeIs::Start,
//!     duration_ms: Some(6_000),
//!     method: "GET",
//!     path: b"/live/a/seg1.ts",
//!     status: 200,
//!     bytes: 3_750_000,
//!     user_agent: None,
//! });
//! let report = replay.finish();
//!
//! let dir = tempfile::tempdir()?;
//! let replays = [ReportInput { label: "routecast", report: &report }];
//! write_dir(dir.path(), &replays, &Rejected::default())?;
//! for file in ["timeseries.csv", "summary.json", "rrd/site-ams.rrd", "sites.png", "report.html"] {
//!     assert!(dir.path().join(file).is_file(), "{file}");
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod atomic;
mod chart;
mod dir;
mod html;
mod interactive;
mod names;
mod rrd;
mod staging;
mod timeseries;

pub use atomic::write_atomically;
pub use chart::{Chart, ChartError, Level, LevelKind};
pub use dir::{config_labels, file_name, write_dir, WriteError};
pub use html::{group_chart, html_report, html_report_with, site_chart, ReportInput};
pub use names::{output_names, REPORT_FILES};
pub use rrd::series_rrd;
pub use staging::OutputDir;
pub use timeseries::write_timeseries;
