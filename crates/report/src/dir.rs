//! Every output of a replay in one directory ([`write_dir`]).

use std::io;
use std::path::{Path, PathBuf};

use routecast_replay::{Damage, Rejected, Report};

use crate::atomic::write_atomically;
use crate::chart::ChartError;
use crate::html::{group_chart, html_report_with, site_chart, ReportInput};
use crate::rrd::series_rrd;
use crate::staging::OutputDir;
use crate::timeseries::write_timeseries;

/// Why the outputs could not be written. The system's (or the RRD
/// writer's) reason is part of the message (and not a
/// [`source`](std::error::Error::source)), so it is said once.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// A directory could not be created.
    #[error("{}: cannot create: {error}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// What the system said.
        error: io::Error,
    },
    /// A file could not be written.
    #[error("{}: cannot write: {error}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What the system (or the writer) said.
        error: io::Error,
    },
    /// A chart could not be drawn.
    #[error(transparent)]
    Chart(#[from] ChartError),
    /// The output exists and is not a report directory (nor empty):
    /// replacing it would lose what it holds.
    #[error("{}: exists and is not a routecast report directory (it has no summary.json or report.html); give -o a new or report directory", path.display())]
    NotReportDir {
        /// The output directory.
        path: PathBuf,
    },
    /// The written directory could not be put in place (an old one is
    /// kept).
    #[error("{}: cannot put the new report in place: {error}", path.display())]
    Replace {
        /// The output directory.
        path: PathBuf,
        /// What the system said.
        error: io::Error,
    },
    /// A series could not be written as an RRD file.
    #[error("{name}: {error}")]
    Rrd {
        /// The site or group.
        name: String,
        /// What is wrong with the file.
        error: routecast_rrd::RrdError,
    },
}

/// Size of the charts written as files, pixels.
const CHART_SIZE: (u32, u32) = (960, 400);

/// Writes every output of `replays` into `dir` as a whole
/// ([`OutputDir`]: prepared, written into a temporary sibling, then put in
/// place):
///
/// ```text
/// DIR/timeseries.csv     every bin of every site and group (long format)
/// DIR/summary.json       totals, peaks, p95, cost, proximity; the malformed
///                        lines; what was routed to no site, and why
/// DIR/rrd/KIND-NAME.rrd  one round-robin database per site and group
/// DIR/sites.svg, .png    Mbit/s per site, stacked
/// DIR/groups.svg, .png   Mbit/s per client group, stacked
/// DIR/report.html        all of it in one page
/// ```
///
/// With several replays (configurations compared on the same logs), each
/// has its files in `DIR/NAME/` ([`output_names`](crate::output_names) of the labels) and
/// `DIR/report.html` compares them. `malformed`, the lines the replays
/// could not read, goes into each `summary.json`.
pub fn write_dir(
    dir: &Path,
    replays: &[ReportInput<'_>],
    malformed: &Rejected,
) -> Result<(), WriteError> {
    let labels: Vec<&str> = replays.iter().map(|r| r.label).collect();
    OutputDir::prepare(dir, &labels)?.write(replays, malformed, None)
}

/// Writes the files of every replay and the report into `dir` (which
/// exists): one replay's directly, several in their `names`.
pub(crate) fn write_outputs(
    dir: &Path,
    names: &[String],
    replays: &[ReportInput<'_>],
    malformed: &Rejected,
    damaged: Option<&Damage>,
) -> Result<(), WriteError> {
    for (input, name) in replays.iter().zip(names) {
        let sub = match replays {
            [_] => dir.to_path_buf(),
            _ => dir.join(name),
        };
        write_replay(&sub, input, malformed, damaged)?;
    }
    let html = html_report_with(replays, malformed, damaged)?;
    write_atomically(&dir.join("report.html"), |w| w.write_all(html.as_bytes()))
}

/// One replay's files in `dir`: series, summary, RRDs and charts.
fn write_replay(
    dir: &Path,
    input: &ReportInput<'_>,
    malformed: &Rejected,
    damaged: Option<&Damage>,
) -> Result<(), WriteError> {
    let ReportInput { label, report } = *input;
    create_dir(dir)?;
    write_atomically(&dir.join("timeseries.csv"), |w| write_timeseries(report, w))?;
    write_atomically(&dir.join("summary.json"), |w| {
        let doc = serde_json::json!({ "config": label, "summary": report.summary_json(), "malformed": malformed, "incomplete": damaged });
        serde_json::to_writer_pretty(&mut *w, &doc)?;
        writeln!(w)
    })?;
    write_rrds(&dir.join("rrd"), report)?;
    let (width, height) = CHART_SIZE;
    for (name, chart) in [
        ("sites", site_chart(label, report)),
        ("groups", group_chart(label, report)),
    ] {
        let svg = chart.svg(width, height)?;
        write_atomically(&dir.join(format!("{name}.svg")), |w| {
            w.write_all(svg.as_bytes())
        })?;
        let png = chart.png(width, height)?;
        write_atomically(&dir.join(format!("{name}.png")), |w| w.write_all(&png))?;
    }
    Ok(())
}

/// `dir/KIND-NAME.rrd` for every site and group of `report`; none when
/// the replay has no bins (nothing replayed: an RRD needs rows, and there
/// is no time to stamp them with), `dir` then empty.
fn write_rrds(dir: &Path, report: &Report) -> Result<(), WriteError> {
    create_dir(dir)?;
    if report.first_bin >= report.end_bin {
        return Ok(());
    }
    for (sum, series) in report.all() {
        let bytes = series_rrd(report, series).map_err(|error| WriteError::Rrd {
            name: sum.name.clone(),
            error,
        })?;
        let name = format!("{}-{}.rrd", sum.kind.as_str(), file_name(&sum.name));
        write_atomically(&dir.join(name), |w| w.write_all(&bytes))?;
    }
    Ok(())
}

pub(crate) fn create_dir(dir: &Path) -> Result<(), WriteError> {
    std::fs::create_dir_all(dir).map_err(|error| WriteError::CreateDir {
        path: dir.to_path_buf(),
        error,
    })
}

/// Names each configuration by its file stem (its path when stems
/// repeat): the labels of [`write_dir`]'s replays when configurations are
/// compared.
pub fn config_labels(configs: &[impl AsRef<Path>]) -> Vec<String> {
    let stem = |p: &Path| {
        p.file_stem().map_or_else(
            || p.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        )
    };
    let stems: Vec<String> = configs.iter().map(|p| stem(p.as_ref())).collect();
    configs
        .iter()
        .zip(&stems)
        .map(|(p, s)| {
            if stems.iter().filter(|x| *x == s).count() > 1 {
                p.as_ref().display().to_string()
            } else {
                s.clone()
            }
        })
        .collect()
}

/// `label` as a file name: ASCII letters, digits, `-`, `_` and `.` kept,
/// anything else `_`; a name of dots only (`.`, `..`) or none is `_`.
pub fn file_name(label: &str) -> String {
    let name: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.chars().all(|c| c == '.') {
        return "_".into();
    }
    name
}

#[cfg(test)]
mod tests;
