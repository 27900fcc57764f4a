//! The single-file HTML report (and the charts it holds).

use std::fmt::Write;

use routecast_accesslog::time::iso8601;
use routecast_replay::{Damage, Rejected, Report, Series, Summary};

use crate::chart::{Chart, ChartError, Level, LevelKind};
use crate::interactive;

mod comparison;
mod left_out;

/// Groups drawn separately in the group chart; the rest are summed as "other".
const TOP_GROUPS: usize = 9;

/// One replay to report, under a label (its configuration or policy).
#[derive(Debug, Clone, Copy)]
pub struct ReportInput<'a> {
    /// What distinguishes this replay (e.g. the configuration file).
    pub label: &'a str,
    /// Its results.
    pub report: &'a Report,
}

fn times(r: &Report) -> Vec<i64> {
    (r.first_bin..r.end_bin)
        .map(|b| (b * r.step_ms).div_euclid(1000))
        .collect()
}

/// Mbit/s of each bin of the report's span for one series.
fn mbps(r: &Report, s: &Series) -> Vec<f64> {
    (r.first_bin..r.end_bin)
        .map(|bin| s.bytes_in(bin) as f64 * 8.0 / (r.step_ms as f64 * 1000.0))
        .collect()
}

/// Mbit/s per site over time, stacked, then each site alone with its
/// capacity (when configured) and its p95 drawn as labelled lines.
pub fn site_chart(label: &str, r: &Report) -> Chart {
    let sites: Vec<&(Summary, Series)> = r.sites.iter().filter(|(s, _)| s.bytes > 0).collect();
    Chart {
        title: format!("Sites — {label}"),
        unit: "Mbit/s".into(),
        times: times(r),
        series: sites
            .iter()
            .map(|(s, series)| (s.name.clone(), mbps(r, series)))
            .collect(),
        stacked: true,
        levels: sites.iter().map(|(s, _)| site_levels(s)).collect(),
    }
}

/// A site's capacity (when configured) and p95, as chart levels.
pub(crate) fn site_levels(s: &Summary) -> Vec<Level> {
    let capacity = s.capacity_mbps.map(|c| Level {
        label: format!("capacity {c:.0} Mbit/s"),
        value: c,
        kind: LevelKind::Limit,
    });
    let p95 = Level {
        label: format!("p95 {:.1} Mbit/s", s.p95_mbps),
        value: s.p95_mbps,
        kind: LevelKind::Reference,
    };
    capacity.into_iter().chain([p95]).collect()
}

/// Mbit/s per client group over time, stacked: the busiest groups, then the
/// rest together as "other".
pub fn group_chart(label: &str, r: &Report) -> Chart {
    let mut groups: Vec<&(Summary, Series)> =
        r.groups.iter().filter(|(s, _)| s.bytes > 0).collect();
    groups.sort_by_key(|g| std::cmp::Reverse(g.0.bytes));
    let mut series: Vec<(String, Vec<f64>)> = groups
        .iter()
        .take(TOP_GROUPS)
        .map(|(s, v)| (s.name.clone(), mbps(r, v)))
        .collect();
    if groups.len() > TOP_GROUPS {
        let mut other = vec![0.0; (r.end_bin - r.first_bin).max(0) as usize];
        for (_, v) in &groups[TOP_GROUPS..] {
            for (o, x) in other.iter_mut().zip(mbps(r, v)) {
                *o += x;
            }
        }
        series.push(("other".into(), other));
    }
    Chart {
        title: format!("Client groups — {label}"),
        unit: "Mbit/s".into(),
        times: times(r),
        series,
        stacked: true,
        levels: Vec::new(),
    }
}

/// Total Mbit/s of each site under each replay, overlaid (policy
/// comparison): each run named after its configuration, the first marked
/// as the baseline.
fn comparison_chart(inputs: &[ReportInput<'_>], site: usize) -> Option<Chart> {
    let first = inputs.first()?;
    let name = first.report.sites.get(site)?.0.name.clone();
    let t0 = inputs.iter().map(|i| i.report.first_bin).min()?;
    let t1 = inputs.iter().map(|i| i.report.end_bin).max()?;
    let step = first.report.step_ms;
    let series = inputs
        .iter()
        .enumerate()
        .filter_map(|(k, i)| {
            let r = i.report;
            let (_, s) = r.sites.iter().find(|(sum, _)| sum.name == name)?;
            // The report's own span, placed in the common one (0 outside it).
            let mut v = vec![0.0; usize::try_from(t1 - t0).ok()?];
            let at = usize::try_from(r.first_bin - t0).ok()?;
            for (slot, x) in v.iter_mut().skip(at).zip(mbps(r, s)) {
                *slot = x;
            }
            let label = if k == 0 {
                format!("{} (baseline)", i.label)
            } else {
                i.label.to_string()
            };
            Some((label, v))
        })
        .collect();
    Some(Chart {
        title: format!("Site {name}: policies compared"),
        unit: "Mbit/s".into(),
        times: (t0..t1).map(|b| (b * step).div_euclid(1000)).collect(),
        series,
        stacked: false,
        levels: Vec::new(),
    })
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn summary_table(out: &mut String, title: &str, rows: &[&Summary], cost_unit: Option<&str>) {
    let _ = write!(out, "<h3>{}</h3><table><tr><th>name</th><th>requests</th><th>GB</th><th>peak Mbit/s</th><th>p95 Mbit/s</th><th>spill GB</th><th>unserved GB</th><th>mean distance km</th><th>by nearest site %</th>", esc(title));
    if let Some(unit) = cost_unit {
        let _ = write!(out, "<th>cost ({unit})</th>");
    }
    out.push_str("</tr>");
    for s in rows {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.1}</td><td>{:.1}</td><td>{:.2}</td><td>{:.2}</td>",
            esc(&s.name), s.requests, s.gb, s.peak_mbps, s.p95_mbps, s.spill_gb, s.unserved_gb
        );
        let p = &s.proximity;
        let _ = write!(
            out,
            "<td>{}</td><td>{}</td>",
            p.mean_km.map_or("-".into(), |k| format!("{k:.0}")),
            p.nearest_share
                .map_or("-".into(), |n| format!("{:.1}", n * 100.0))
        );
        if cost_unit.is_some() {
            let _ = write!(
                out,
                "<td>{}</td>",
                s.cost.map_or("-".into(), |c| format!("{c:.2}"))
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}\
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}td:first-child,th:first-child{text-align:left}\
th{background:#f3f3f3}.meta{color:#555}";

/// The whole report as one HTML document. One input is one replay; several
/// are compared side by side (a table of every site under every replay and
/// an overlaid chart per site), followed by each replay's own section.
pub fn html_report(inputs: &[ReportInput<'_>]) -> Result<String, ChartError> {
    html_report_with(inputs, &Rejected::default(), None)
}

/// [`html_report`], with the lines of the logs that could not be read
/// (count, and the first ones with file, line and reason) and, when
/// `damaged` is given, saying first that the logs were read only up to the
/// damage (`incomplete: FILE:LINE: …`).
pub fn html_report_with(
    inputs: &[ReportInput<'_>],
    malformed: &Rejected,
    damaged: Option<&Damage>,
) -> Result<String, ChartError> {
    let mut out = String::new();
    let _ = write!(out, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\" content=\"{}\"><title>routecast simulation</title><style>{STYLE}</style>{}</head><body><h1>routecast simulation</h1>", interactive::CSP, interactive::style());
    out.push_str("<noscript><p class=\"meta\">The charts need JavaScript; sites.svg and groups.svg beside this report show them too.</p></noscript>");
    if let Some(d) = damaged {
        let _ = write!(
            out,
            "<p class=\"incomplete\"><strong>incomplete: {}</strong> — the results cover the lines before it only.</p>",
            esc(&d.to_string())
        );
    }
    left_out::malformed(&mut out, malformed);
    if inputs.len() > 1 {
        comparison(&mut out, inputs)?;
    }
    for (k, i) in inputs.iter().enumerate() {
        section(&mut out, k, i)?;
    }
    out.push_str(&interactive::scripts());
    out.push_str("</body></html>\n");
    Ok(out)
}

/// A replay's interactive charts: its sites together, each site alone with
/// its capacity and p95, its client groups.
fn charts(out: &mut String, index: usize, i: &ReportInput<'_>) {
    let sites = site_chart(i.label, i.report);
    let overview = Chart {
        levels: Vec::new(),
        ..sites.clone()
    };
    out.push_str(&interactive::chart_html(
        &format!("run{index}-sites"),
        &overview,
    ));
    for k in 0..sites.series.len() {
        if let Some(alone) = sites.single(k) {
            let id = format!("run{index}-site{k}");
            out.push_str(&interactive::chart_html(&id, &alone));
        }
    }
    let groups = group_chart(i.label, i.report);
    out.push_str(&interactive::chart_html(
        &format!("run{index}-groups"),
        &groups,
    ));
}

fn comparison(out: &mut String, inputs: &[ReportInput<'_>]) -> Result<(), ChartError> {
    comparison::overview(out, inputs);
    comparison::groups(out, inputs);
    comparison::sites(out, inputs);
    let names = inputs[0].report.sites.len();
    for k in 0..names {
        if let Some(c) = comparison_chart(inputs, k) {
            if c.series.iter().any(|(_, v)| v.iter().any(|x| *x > 0.0)) {
                out.push_str(&interactive::chart_html(&format!("compare-{k}"), &c));
            }
        }
    }
    Ok(())
}

/// The replayed period, `START to END`; "No time replayed" when empty.
fn span(r: &Report) -> String {
    if r.first_bin >= r.end_bin {
        return "No time replayed".into();
    }
    let at = |bin: i64| iso8601((bin * r.step_ms).div_euclid(1000));
    format!("{} to {}", at(r.first_bin), at(r.end_bin))
}

fn section(out: &mut String, index: usize, i: &ReportInput<'_>) -> Result<(), ChartError> {
    let r = i.report;
    let s = &r.stats;
    let _ = write!(
        out,
        "<h2>{}</h2><p class=\"meta\">{}, {} s bins. {} requests routed: {} spilled over, {} over capacity, {} with no site, {} late.</p>",
        esc(i.label),
        span(r),
        r.step_ms / 1000,
        s.requests, s.spilled, s.over_capacity, s.no_site, s.late
    );
    if s.requests == 0 {
        out.push_str("<p class=\"empty\"><strong>Nothing to replay:</strong> the logs held no request (empty, blank or malformed lines only).</p>");
    }
    charts(out, index, i);
    let sites: Vec<&Summary> = r.sites.iter().map(|(s, _)| s).collect();
    summary_table(out, "Sites", &sites, Some(&comparison::cost_unit(r)));
    let mut groups: Vec<&Summary> = r
        .groups
        .iter()
        .map(|(s, _)| s)
        .filter(|s| s.requests > 0)
        .collect();
    groups.sort_by_key(|g| std::cmp::Reverse(g.bytes));
    summary_table(out, "Client groups", &groups, None);
    left_out::unserved(out, r);
    Ok(())
}
