//! The comparison tables of several configurations replayed on the same
//! logs: each named after its configuration, the first the baseline every
//! other is compared with; units on every column; the cost side (GB, Mbit/s,
//! cost) next to the proximity side (distance to the serving site, share
//! served by the nearest site, spill-over), overall and per client group.

use std::fmt::Write;

use routecast_replay::{ProximitySummary, Report, Summary};

use super::{esc, ReportInput};

/// The unit of a report's costs: its configuration's currency, else
/// the unit its prices are written in.
pub(super) fn cost_unit(r: &Report) -> String {
    r.currency
        .as_deref()
        .map_or_else(|| "price units".into(), esc)
}

/// `value` against `base` as a signed percentage, `-` without a base.
fn pct(value: f64, base: f64) -> String {
    if base.abs() < 1e-12 {
        return "-".into();
    }
    format!("{:+.1} %", (value - base) / base * 100.0)
}

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or_else(|| "-".into(), f)
}

/// `value − base` formatted by `f`, `-` when either is unknown.
fn delta(value: Option<f64>, base: Option<f64>, f: impl Fn(f64) -> String) -> String {
    match (value, base) {
        (Some(v), Some(b)) => f(v - b),
        _ => "-".into(),
    }
}

fn total_cost(r: &Report) -> f64 {
    r.sites.iter().filter_map(|(s, _)| s.cost).sum()
}

fn total_gb(r: &Report) -> f64 {
    r.sites.iter().map(|(s, _)| s.gb).sum()
}

fn spill_gb(r: &Report) -> f64 {
    r.groups.iter().map(|(s, _)| s.spill_gb).sum()
}

fn name(i: usize, input: &ReportInput<'_>) -> String {
    match i {
        0 => format!("{} (baseline)", esc(input.label)),
        _ => esc(input.label),
    }
}

/// The distance and nearest-share cells of `p` against `base`.
fn proximity_cells(out: &mut String, p: &ProximitySummary, base: &ProximitySummary) {
    let share = |v: Option<f64>| v.map(|x| x * 100.0);
    let _ = write!(
        out,
        "<td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
        opt(p.mean_km, |k| format!("{k:.0}")),
        delta(p.mean_km, base.mean_km, |d| format!("{d:+.0}")),
        opt(share(p.nearest_share), |s| format!("{s:.1}")),
        delta(share(p.nearest_share), share(base.nearest_share), |d| {
            format!("{d:+.1}")
        }),
    );
}

/// One row per configuration: the totals of both sides of the trade-off.
pub(super) fn overview(out: &mut String, inputs: &[ReportInput<'_>]) {
    let Some(base) = inputs.first().map(|i| i.report) else {
        return;
    };
    let _ = write!(
        out,
        "<h2>Policies compared</h2><p class=\"meta\">Differences are against the baseline, \
         the first configuration. Distances are great-circle, from the client's position (GeoIP, \
         else its group's location) to the serving site, weighted by bytes; clients without a \
         position are left out and counted.</p><table class=\"comparison\"><tr><th>configuration</th>\
         <th>served GB</th><th>cost ({unit})</th><th>cost vs baseline</th>\
         <th>mean distance km</th><th>vs baseline km</th><th>by nearest site %</th>\
         <th>vs baseline pp</th><th>spill-over GB</th><th>no site GB</th><th>unlocated requests</th></tr>",
        unit = cost_unit(base)
    );
    for (i, input) in inputs.iter().enumerate() {
        let r = input.report;
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{}</td>",
            name(i, input),
            total_gb(r),
            total_cost(r),
            pct(total_cost(r), total_cost(base)),
        );
        proximity_cells(out, &r.proximity, &base.proximity);
        let _ = write!(
            out,
            "<td>{:.2}</td><td>{:.3}</td><td>{}</td></tr>",
            spill_gb(r),
            r.stats.no_site_bytes as f64 / 1e9,
            r.proximity.unlocated_requests
        );
    }
    out.push_str("</table>");
}

/// Per client group (the baseline's, busiest first): distance, nearest
/// share and spill-over under each configuration.
pub(super) fn groups(out: &mut String, inputs: &[ReportInput<'_>]) {
    let Some(base) = inputs.first().map(|i| i.report) else {
        return;
    };
    let mut names: Vec<&Summary> = base
        .groups
        .iter()
        .map(|(s, _)| s)
        .filter(|s| s.requests > 0)
        .collect();
    names.sort_by_key(|g| std::cmp::Reverse(g.bytes));
    out.push_str("<h3>Proximity per client group</h3><table class=\"comparison-groups\"><tr><th>group</th><th>configuration</th><th>GB</th><th>mean distance km</th><th>vs baseline km</th><th>by nearest site %</th><th>vs baseline pp</th><th>spill-over GB</th></tr>");
    for g in names {
        for (i, input) in inputs.iter().enumerate() {
            let Some((s, _)) = input.report.groups.iter().find(|(s, _)| s.name == g.name) else {
                continue;
            };
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{:.2}</td>",
                esc(&g.name),
                name(i, input),
                s.gb
            );
            proximity_cells(out, &s.proximity, &g.proximity);
            let _ = write!(out, "<td>{:.2}</td></tr>", s.spill_gb);
        }
    }
    out.push_str("</table>");
}

/// Per site: GB, peak and 95th percentile, cost, and cost against the
/// baseline, under each configuration.
pub(super) fn sites(out: &mut String, inputs: &[ReportInput<'_>]) {
    let Some(base) = inputs.first().map(|i| i.report) else {
        return;
    };
    let _ = write!(out, "<h3>Sites</h3><table class=\"comparison-sites\"><tr><th>site</th><th>configuration</th><th>GB</th><th>peak Mbit/s</th><th>p95 Mbit/s</th><th>spill-over GB</th><th>cost ({})</th><th>cost vs baseline</th></tr>", cost_unit(base));
    for (b, _) in &base.sites {
        for (i, input) in inputs.iter().enumerate() {
            let Some((s, _)) = input.report.sites.iter().find(|(s, _)| s.name == b.name) else {
                continue;
            };
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.1}</td><td>{:.1}</td><td>{:.2}</td><td>{}</td><td>{}</td></tr>",
                esc(&b.name),
                name(i, input),
                s.gb,
                s.peak_mbps,
                s.p95_mbps,
                s.spill_gb,
                opt(s.cost, |c| format!("{c:.2}")),
                match (s.cost, b.cost) {
                    (Some(c), Some(bc)) => pct(c, bc),
                    _ => "-".into(),
                }
            );
        }
    }
    out.push_str("</table>");
}
