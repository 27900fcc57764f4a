//! The interactive charts of `report.html`: uPlot (MIT, vendored unmodified
//! under `assets/uplot/`, see its README) and a small script of ours
//! (`assets/report.js`), inlined in the page with each chart's data as JSON,
//! so that the report stays one file that opens from disk with no network.
//!
//! Hovering shows every series' value at that time in the chart's legend;
//! clicking a legend entry hides or shows the series; dragging across the
//! plot zooms on a time range, "Reset zoom" or a double click undoes it.
//! A site's capacity and p95 are level lines with labels.

use serde_json::{json, Value};

use crate::chart::{axis_title, palette_hex, Chart, LevelKind};

/// uPlot's minified build (`dist/uPlot.iife.min.js` of `uplot@1.6.32`).
pub(crate) const UPLOT_JS: &str = include_str!("../assets/uplot/uPlot.iife.min.js");
/// uPlot's style sheet (`dist/uPlot.min.css`).
pub(crate) const UPLOT_CSS: &str = include_str!("../assets/uplot/uPlot.min.css");
/// uPlot's licence, carried into the page as a comment.
const UPLOT_LICENSE: &str = include_str!("../assets/uplot/LICENSE");
/// Our script: builds every chart of the page from its JSON.
const REPORT_JS: &str = include_str!("../assets/report.js");

/// Dash patterns (dash, gap; CSS pixels) of overlaid runs after the first,
/// which is solid and widest: runs that coincide all stay visible.
const DASHES: [[u32; 2]; 4] = [[12, 6], [4, 4], [16, 4], [8, 3]];

/// The Content-Security-Policy of the page: inline scripts and styles
/// only, nothing fetched (no network, whatever a script tried).
pub(crate) const CSP: &str =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:";

/// `<style>` for the head: uPlot's and the buttons'.
pub(crate) fn style() -> String {
    format!("<style>{UPLOT_CSS}.chart{{margin:1em 0 2em}}.chart .reset{{float:right;font-size:13px}}.uplot .u-title{{font-size:16px}}.uplot .u-legend{{font-size:13px}}</style>")
}

/// The scripts, for the end of the body: uPlot with its licence, then ours.
pub(crate) fn scripts() -> String {
    format!(
        "<script>/*! uPlot 1.6.32\n{}*/\n{UPLOT_JS}</script><script>{REPORT_JS}</script>",
        UPLOT_LICENSE.replace("*/", "* /")
    )
}

/// JSON that can sit inside a `<script>` element: `<`, `>` and `&` are
/// written as `\u003c`… (they only occur inside JSON strings), so no
/// `</script>` in a name can end the element.
fn script_safe(v: &Value) -> String {
    v.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// `x` to the CSV's precision (6 decimals): shorter JSON, same values.
fn six_decimals(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// A chart's series as uPlot will draw them: lines (runs compared are
/// dashed after the first), then each series' levels as constant lines.
fn series_json(chart: &Chart) -> Vec<Value> {
    let mut out: Vec<Value> = chart
        .series
        .iter()
        .enumerate()
        .map(|(i, (name, values))| {
            let values: Vec<f64> = values.iter().copied().map(six_decimals).collect();
            let (width, dash) = match (chart.stacked, i) {
                (true, _) => (2, None),
                (false, 0) => (5, None),
                (false, _) => (2, Some(DASHES[(i - 1) % DASHES.len()])),
            };
            json!({ "name": name, "values": values, "color": palette_hex(i), "width": width, "dash": dash })
        })
        .collect();
    for level in chart.levels.iter().flatten() {
        let color = match level.kind {
            LevelKind::Limit => "#c81e1e",
            _ => "#3c3c3c",
        };
        let values = vec![level.value; chart.times.len()];
        out.push(json!({ "name": level.label, "values": values, "color": color, "width": 2, "dash": [8, 4], "level": true }));
    }
    out
}

/// One interactive chart: its container and its data (`id` must be unique
/// in the page).
pub(crate) fn chart_html(id: &str, chart: &Chart) -> String {
    let (t0, t1) = match (chart.times.first(), chart.times.last()) {
        (Some(a), Some(b)) => (*a, *b),
        _ => (0, 0),
    };
    let spec = json!({
        "title": chart.title,
        "time_title": axis_title(t0, t1),
        "unit": chart.unit,
        "times": chart.times,
        "series": series_json(chart),
    });
    format!(
        "<div class=\"chart\" data-spec=\"{id}\"></div><script type=\"application/json\" id=\"{id}\">{}</script>",
        script_safe(&spec)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::{Level, LevelKind};

    #[test]
    fn a_name_cannot_end_the_data_script() {
        let chart = Chart {
            title: "</script><script>alert(1)</script>".into(),
            unit: "Mbit/s".into(),
            times: vec![0, 60],
            series: vec![("a&b".into(), vec![1.0, 2.0])],
            stacked: true,
            levels: vec![vec![Level {
                label: "capacity 10 Mbit/s".into(),
                value: 10.0,
                kind: LevelKind::Limit,
            }]],
        };
        let html = chart_html("c1", &chart);
        assert_eq!(html.matches("</script>").count(), 1, "{html}");
        let json = &html[html.find("\">{").expect("data") + 2..html.len() - "</script>".len()];
        let back: Value = serde_json::from_str(json).expect("valid JSON");
        assert_eq!(back["title"], "</script><script>alert(1)</script>");
        assert_eq!(back["series"][1]["values"], json!([10.0, 10.0]));
    }

    #[test]
    fn vendored_scripts_cannot_end_their_element() {
        assert!(!UPLOT_JS.to_ascii_lowercase().contains("</script"));
        assert!(!REPORT_JS.to_ascii_lowercase().contains("</script"));
    }
}
