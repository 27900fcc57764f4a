//! Writing result files atomically: a complete file or the old one, never a
//! partial one (write to a temporary file in the same directory, then rename).

use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;

use routecast_replay::{Rejected, Report};
use routecast_report::{group_chart, html_report, site_chart, ReportInput};

use super::Failure;

/// Writes `path` through `fill`, replacing any old file only when complete.
pub fn atomic_write(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), Failure> {
    let fail = |e: std::io::Error| {
        Failure::Other(anyhow::anyhow!("{}: cannot write: {e}", path.display()))
    };
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let file = fs::File::create(&tmp)?;
        let mut w = BufWriter::new(file);
        fill(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(fail)
}

fn chart_error(e: routecast_report::ChartError) -> Failure {
    Failure::Other(anyhow::anyhow!("{e}"))
}

/// One replay's files: series, summary and charts.
fn write_one(dir: &Path, label: &str, report: &Report, rejected: &Rejected) -> Result<(), Failure> {
    fs::create_dir_all(dir)
        .map_err(|e| Failure::Other(anyhow::anyhow!("{}: cannot create: {e}", dir.display())))?;
    atomic_write(&dir.join("timeseries.csv"), |w| report.write_csv(w))?;
    atomic_write(&dir.join("summary.json"), |w| {
        let doc = serde_json::json!({ "config": label, "summary": report.summary_json(), "malformed": rejected });
        serde_json::to_writer_pretty(&mut *w, &doc)?;
        writeln!(w)
    })?;
    write_rrds(&dir.join("rrd"), report)?;
    for (name, chart) in [
        ("sites", site_chart(label, report)),
        ("groups", group_chart(label, report)),
    ] {
        let svg = chart.svg(960, 400).map_err(chart_error)?;
        atomic_write(&dir.join(format!("{name}.svg")), |w| {
            w.write_all(svg.as_bytes())
        })?;
        let png = chart.png(960, 400).map_err(chart_error)?;
        atomic_write(&dir.join(format!("{name}.png")), |w| w.write_all(&png))?;
    }
    Ok(())
}

/// One RRD file per site and group in `dir`: data sources `mbps`,
/// `requests` and `sessions` (GAUGE), one AVERAGE archive row per bin. A
/// bin `[T, T + step)` is rrdtool's row stamped `T + step`.
fn write_rrds(dir: &Path, report: &Report) -> Result<(), Failure> {
    use routecast_rrd::{Archive, Cf, DataSource, Rrd};
    fs::create_dir_all(dir)
        .map_err(|e| Failure::Other(anyhow::anyhow!("{}: cannot create: {e}", dir.display())))?;
    let step_s = (report.step_ms / 1000).max(1);
    for (sum, series) in report.all() {
        let rows = (report.first_bin..report.end_bin)
            .map(|bin| {
                let i = bin - series.base;
                let at = |v: &Vec<u64>| {
                    if i >= 0 {
                        v.get(i as usize).copied().unwrap_or(0)
                    } else {
                        0
                    }
                };
                vec![
                    at(&series.bytes) as f64 * 8.0 / (report.step_ms as f64 * 1000.0),
                    at(&series.requests) as f64,
                    at(&series.session_ms) as f64 / report.step_ms as f64,
                ]
            })
            .collect();
        let rrd = Rrd {
            step: step_s as u64,
            last_update: report.end_bin * step_s,
            data_sources: ["mbps", "requests", "sessions"]
                .iter()
                .map(|n| DataSource::gauge(n, 2 * step_s as u64))
                .collect(),
            archives: vec![Archive {
                cf: Cf::Average,
                pdp_per_row: 1,
                xff: 0.5,
                rows,
            }],
        };
        let bytes = rrd
            .to_bytes()
            .map_err(|e| Failure::Other(anyhow::anyhow!("{}: {e}", sum.name)))?;
        let path = dir.join(format!("{}-{}.rrd", sum.kind.as_str(), sanitize(&sum.name)));
        atomic_write(&path, |w| w.write_all(&bytes))?;
    }
    Ok(())
}

/// Writes every replay's files (in `dir`, or `dir/<label>` when there are
/// several) and `dir/report.html` over all of them.
pub fn write_outputs(
    dir: &Path,
    runs: &[(String, Report)],
    rejected: &Rejected,
) -> Result<(), Failure> {
    for (label, report) in runs {
        let sub = if runs.len() == 1 {
            dir.to_path_buf()
        } else {
            dir.join(sanitize(label))
        };
        write_one(&sub, label, report, rejected)?;
    }
    let inputs: Vec<ReportInput<'_>> = runs
        .iter()
        .map(|(label, report)| ReportInput { label, report })
        .collect();
    let html = html_report(&inputs).map_err(chart_error)?;
    atomic_write(&dir.join("report.html"), |w| w.write_all(html.as_bytes()))
}

/// A label as a directory name.
fn sanitize(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}
