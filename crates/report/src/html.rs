//! The single-file HTML report (and the charts it holds).

use std::fmt::Write;

use routecast_accesslog::time::iso8601;
use routecast_replay::{Damage, Report, Series, Summary};

use crate::chart::{Chart, ChartError};

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
        .map(|bin| {
            let i = bin - s.base;
            let b = if i >= 0 {
                s.bytes.get(i as usize).copied().unwrap_or(0)
            } else {
                0
            };
            b as f64 * 8.0 / (r.step_ms as f64 * 1000.0)
        })
        .collect()
}

/// Mbit/s per site over time, stacked.
pub fn site_chart(label: &str, r: &Report) -> Chart {
    Chart {
        title: format!("Sites — {label}"),
        unit: "Mbit/s".into(),
        times: times(r),
        series: r
            .sites
            .iter()
            .filter(|(s, _)| s.bytes > 0)
            .map(|(s, series)| (s.name.clone(), mbps(r, series)))
            .collect(),
        stacked: true,
    }
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
    }
}

/// Total Mbit/s of each site under each replay, overlaid (policy comparison).
fn comparison_chart(inputs: &[ReportInput<'_>], site: usize) -> Option<Chart> {
    let first = inputs.first()?;
    let name = first.report.sites.get(site)?.0.name.clone();
    let t0 = inputs.iter().map(|i| i.report.first_bin).min()?;
    let t1 = inputs.iter().map(|i| i.report.end_bin).max()?;
    let step = first.report.step_ms;
    let series = inputs
        .iter()
        .filter_map(|i| {
            let (_, s) = i.report.sites.iter().find(|(sum, _)| sum.name == name)?;
            let v = (t0..t1)
                .map(|bin| {
                    let k = bin - s.base;
                    let b = if k >= 0 {
                        s.bytes.get(k as usize).copied().unwrap_or(0)
                    } else {
                        0
                    };
                    b as f64 * 8.0 / (step as f64 * 1000.0)
                })
                .collect();
            Some((i.label.to_string(), v))
        })
        .collect();
    Some(Chart {
        title: format!("Site {name}: policies compared"),
        unit: "Mbit/s".into(),
        times: (t0..t1).map(|b| (b * step).div_euclid(1000)).collect(),
        series,
        stacked: false,
    })
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn summary_table(out: &mut String, title: &str, rows: &[&Summary], with_cost: bool) {
    let _ = write!(out, "<h3>{}</h3><table><tr><th>name</th><th>requests</th><th>GB</th><th>peak Mbit/s</th><th>p95 Mbit/s</th><th>spill GB</th><th>unserved GB</th>", esc(title));
    if with_cost {
        out.push_str("<th>cost</th>");
    }
    out.push_str("</tr>");
    for s in rows {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.1}</td><td>{:.1}</td><td>{:.2}</td><td>{:.2}</td>",
            esc(&s.name), s.requests, s.gb, s.peak_mbps, s.p95_mbps, s.spill_gb, s.unserved_gb
        );
        if with_cost {
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
th{background:#f3f3f3}svg{max-width:100%;height:auto;display:block;margin:1em 0}.meta{color:#555}";

/// The whole report as one HTML document. One input is one replay; several
/// are compared side by side (a table of every site under every replay and
/// an overlaid chart per site), followed by each replay's own section.
pub fn html_report(inputs: &[ReportInput<'_>]) -> Result<String, ChartError> {
    html_report_marked(inputs, None)
}

/// [`html_report`], saying first, when `damaged` is given, that the logs
/// were read only up to the damage (`incomplete: FILE:LINE: …`).
pub fn html_report_marked(
    inputs: &[ReportInput<'_>],
    damaged: Option<&Damage>,
) -> Result<String, ChartError> {
    let mut out = String::new();
    let _ = write!(out, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>routecast simulation</title><style>{STYLE}</style></head><body><h1>routecast simulation</h1>");
    if let Some(d) = damaged {
        let _ = write!(
            out,
            "<p class=\"incomplete\"><strong>incomplete: {}</strong> — the results cover the lines before it only.</p>",
            esc(&d.to_string())
        );
    }
    if inputs.len() > 1 {
        comparison(&mut out, inputs)?;
    }
    for i in inputs {
        section(&mut out, i)?;
    }
    out.push_str("</body></html>\n");
    Ok(out)
}

fn comparison(out: &mut String, inputs: &[ReportInput<'_>]) -> Result<(), ChartError> {
    out.push_str("<h2>Policies compared</h2><table><tr><th>site</th>");
    for i in inputs {
        let _ = write!(out, "<th colspan=\"4\">{}</th>", esc(i.label));
    }
    out.push_str("</tr><tr><th></th>");
    for _ in inputs {
        out.push_str("<th>GB</th><th>peak</th><th>p95</th><th>cost</th>");
    }
    out.push_str("</tr>");
    let names: Vec<String> = inputs[0]
        .report
        .sites
        .iter()
        .map(|(s, _)| s.name.clone())
        .collect();
    for name in &names {
        let _ = write!(out, "<tr><td>{}</td>", esc(name));
        for i in inputs {
            match i.report.sites.iter().find(|(s, _)| &s.name == name) {
                Some((s, _)) => {
                    let cost = s.cost.map_or("-".into(), |c| format!("{c:.2}"));
                    let _ = write!(
                        out,
                        "<td>{:.2}</td><td>{:.1}</td><td>{:.1}</td><td>{cost}</td>",
                        s.gb, s.peak_mbps, s.p95_mbps
                    );
                }
                None => out.push_str("<td>-</td><td>-</td><td>-</td><td>-</td>"),
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("<tr><td>total cost</td>");
    for i in inputs {
        let total: f64 = i.report.sites.iter().filter_map(|(s, _)| s.cost).sum();
        let _ = write!(out, "<td colspan=\"4\">{total:.2}</td>");
    }
    out.push_str("</tr></table>");
    for k in 0..names.len() {
        if let Some(c) = comparison_chart(inputs, k) {
            if c.series.iter().any(|(_, v)| v.iter().any(|x| *x > 0.0)) {
                out.push_str(&c.svg(960, 320)?);
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

fn section(out: &mut String, i: &ReportInput<'_>) -> Result<(), ChartError> {
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
    out.push_str(&site_chart(i.label, r).svg(960, 400)?);
    out.push_str(&group_chart(i.label, r).svg(960, 400)?);
    let sites: Vec<&Summary> = r.sites.iter().map(|(s, _)| s).collect();
    summary_table(out, "Sites", &sites, true);
    let mut groups: Vec<&Summary> = r
        .groups
        .iter()
        .map(|(s, _)| s)
        .filter(|s| s.requests > 0)
        .collect();
    groups.sort_by_key(|g| std::cmp::Reverse(g.bytes));
    summary_table(out, "Client groups", &groups, false);
    Ok(())
}
