//! The HTML report opens from disk in a real browser (headless Chromium):
//! the page parses, its charts are there, and it renders to a screenshot.
//! Driven by playwright-core (tests/players/report_charts.mjs), its charts
//! draw, hovering shows the values of timeseries.csv, clicking a legend
//! entry hides a series, dragging zooms, compared runs that coincide all
//! stay visible, and no request leaves the page.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

#[path = "common/run.rs"]
#[allow(dead_code)]
mod run;

fn routecast(args: &[&str]) {
    let o = Command::new(env!("CARGO_BIN_EXE_routecast"))
        .args(args)
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Runs headless Chromium (Debian's package, installed by scripts/test) on
/// `url` with the flags a closed network needs, under a 90-second limit.
fn chromium(profile: &Path, extra: &[&str], url: &str) -> std::process::Output {
    let profile = format!("--user-data-dir={}", profile.display());
    let mut args = vec![
        "90",
        "chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        &profile,
    ];
    args.extend_from_slice(extra);
    args.push(url);
    let o = Command::new("timeout")
        .args(&args)
        .output()
        .expect("timeout runs");
    assert!(
        o.status.success(),
        "chromium failed (scripts/test installs Debian's chromium): {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

#[test]
fn the_report_opens_from_disk_in_headless_chromium() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("a.log");
    let out = dir.path().join("out");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/routecast.toml");
    routecast(&[
        "synth",
        "-n",
        "20000",
        "--seed",
        "4",
        "-o",
        log.to_str().expect("utf-8"),
    ]);
    routecast(&[
        "simulate",
        "-q",
        "-c",
        config.to_str().expect("utf-8"),
        "-o",
        out.to_str().expect("utf-8"),
        log.to_str().expect("utf-8"),
    ]);
    let url = format!("file://{}", out.join("report.html").display());

    let dom = chromium(&dir.path().join("profile1"), &["--dump-dom"], &url);
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("<h1>routecast simulation</h1>"),
        "{}",
        &dom[..dom.len().min(500)]
    );
    // Charts are drawn by the inlined uPlot from JSON in the page: the
    // sites together, each of the 6 sites with traffic alone, the groups.
    assert_eq!(
        dom.matches("class=\"chart\" data-spec=").count(),
        8,
        "site and group charts inline"
    );
    assert!(dom.contains("Content-Security-Policy"));
    assert!(dom.contains("<td>ams</td>") && dom.contains("Client groups"));

    let png = dir.path().join("report.png");
    let shot = format!("--screenshot={}", png.display());
    chromium(
        &dir.path().join("profile2"),
        &[&shot, "--window-size=1200,1600", "--hide-scrollbars"],
        &url,
    );
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert!(
        bytes.len() > 20_000,
        "a rendered page, not a blank one: {} bytes",
        bytes.len()
    );
}

fn players_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/players")
}

/// Runs tests/players/report_charts.mjs on `report` (hovering at `hover`,
/// Unix seconds): what the browser saw, as JSON.
fn browse(report: &Path, hover: Option<i64>) -> Value {
    let modules = players_dir().join("node_modules/playwright-core/package.json");
    assert!(
        modules.exists(),
        "{} is missing: run scripts/test (it runs npm ci --prefix tests/players)",
        modules.display()
    );
    let script = players_dir().join("report_charts.mjs");
    let url = format!("file://{}", report.display());
    let hover = hover.map(|t| t.to_string());
    let mut args = vec!["90", "node", script.to_str().expect("utf-8"), &url];
    args.extend(hover.as_deref());
    let out = run::tool("timeout", &args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// Unix seconds of `2026-11-24T21:05:00Z`, computed here with the civil
/// calendar (days from 1970-01-01), not with routecast's date code.
fn unix_of(iso: &str) -> i64 {
    let n = |r: std::ops::Range<usize>| -> i64 { iso[r].parse().expect("digits") };
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    let (y, m) = if m <= 2 { (y - 1, m + 12) } else { (y, m) };
    // Days since 0000-03-01 of the proleptic Gregorian calendar.
    let days = 365 * y + y / 4 - y / 100 + y / 400 + (153 * (m - 3) + 2) / 5 + d - 1;
    (days - 719_468) * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19)
}

/// `(time, name) → Mbit/s` of the sites in timeseries.csv.
fn site_mbps(csv: &str) -> HashMap<(String, String), f64> {
    csv.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1] == "site" && f[3] == "mbps").then(|| {
                (
                    (f[0].to_string(), f[2].to_string()),
                    f[4].parse().expect("a number"),
                )
            })
        })
        .collect()
}

fn simulate(dir: &Path, configs: &[&Path]) -> PathBuf {
    let log = dir.join("a.log");
    let out = dir.join("out");
    routecast(&[
        "synth",
        "-n",
        "20000",
        "--seed",
        "4",
        "-o",
        log.to_str().expect("utf-8"),
    ]);
    let mut args = vec!["simulate", "-q"];
    for c in configs {
        args.extend(["-c", c.to_str().expect("utf-8")]);
    }
    args.extend([
        "-o",
        out.to_str().expect("utf-8"),
        log.to_str().expect("utf-8"),
    ]);
    routecast(&args);
    out
}

#[test]
fn report_charts_show_csv_values_on_hover_toggle_zoom_and_stay_offline() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/routecast.toml");
    let out = simulate(dir.path(), &[&config]);
    let csv = std::fs::read_to_string(out.join("timeseries.csv")).expect("csv");
    let mbps = site_mbps(&csv);
    // Hover where ams is busiest: a bin with something to read.
    let (busiest, _) = mbps
        .iter()
        .filter(|((_, name), _)| name == "ams")
        .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(a.0)))
        .expect("ams has bins");
    let seen = browse(&out.join("report.html"), Some(unix_of(&busiest.0)));

    assert_eq!(
        seen["requests"],
        serde_json::json!([]),
        "no request leaves the page"
    );
    assert_eq!(seen["pageErrors"], serde_json::json!([]));
    let charts = seen["charts"].as_array().expect("charts");
    assert_eq!(
        charts.len(),
        8,
        "sites, each of 6 sites, groups: {charts:?}"
    );
    for c in charts {
        assert!(
            c["width"].as_u64() > Some(300) && c["height"].as_u64() > Some(200),
            "{c}"
        );
        assert!(c["inked"].as_u64() > Some(5_000), "drawn: {c}");
    }
    // Each site's own chart has its configured capacity and its p95.
    let ams = charts
        .iter()
        .find(|c| c["title"] == "ams")
        .expect("ams chart");
    let legend: Vec<&str> = ams["legend"]
        .as_array()
        .expect("legend")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(legend.contains(&"capacity 1000 Mbit/s"), "{legend:?}");
    assert!(legend.iter().any(|l| l.starts_with("p95 ")), "{legend:?}");

    // Hover: the legend shows the time and every site's value of the CSV.
    let rows = seen["hover"]["legend"].as_array().expect("legend rows");
    let time = rows[0]["value"].as_str().expect("time");
    let iso = format!("{}T{}:00Z", &time[..10], &time[11..16]);
    // A bin is under one pixel wide here: the mouse lands within a bin or two.
    assert!(
        (unix_of(&iso) - unix_of(&busiest.0)).abs() <= 120,
        "hovered {time}, aimed at {}",
        busiest.0
    );
    assert!(time.ends_with("UTC"), "{time}");
    for row in &rows[1..] {
        let name = row["label"].as_str().expect("label");
        let shown: f64 = row["value"]
            .as_str()
            .and_then(|v| v.split(' ').next()?.parse().ok())
            .expect("a value");
        let expected = mbps[&(iso.clone(), name.to_string())];
        assert!(
            (shown - expected).abs() < 0.0006,
            "{name} at {iso}: shown {shown}, CSV {expected}"
        );
    }
    assert!(
        rows[1..].iter().any(|r| r["value"] != "0.000 Mbit/s"),
        "a busy time: {rows:?}"
    );

    // Clicking a legend entry hides its line; dragging zooms; reset undoes it.
    let toggle = &seen["toggle"];
    assert!(
        toggle["before"].as_u64() > Some(100) && toggle["after"] == 0,
        "{toggle}"
    );
    assert_eq!(toggle["off"], true);
    let zoom = &seen["zoom"];
    let span = |v: &Value| v[1].as_f64().unwrap_or(0.0) - v[0].as_f64().unwrap_or(0.0);
    assert!(
        span(&zoom["zoomed"]) < 0.5 * span(&zoom["before"]),
        "{zoom}"
    );
    assert_eq!(zoom["reset"], zoom["before"]);
}

#[test]
fn compared_runs_stay_visible_where_they_coincide() {
    let dir = tempfile::tempdir().expect("temp dir");
    let toml = "[[sites]]\nname = \"ams\"\nurls = [\"https://ams.example.net\"]\nlocation = { lat = 52.37, lon = 4.90 }\ncapacity_mbps = 400\n\n[[policies]]\nname = \"nearest\"\nsteps = [{ step = \"closest\" }]\n";
    let (cheap, near) = (dir.path().join("cheap.toml"), dir.path().join("near.toml"));
    std::fs::write(&cheap, toml).expect("write");
    std::fs::write(&near, toml).expect("write");
    let out = simulate(dir.path(), &[&cheap, &near]);
    let seen = browse(&out.join("report.html"), None);
    assert_eq!(seen["requests"], serde_json::json!([]));
    let charts = seen["charts"].as_array().expect("charts");
    let compared = charts
        .iter()
        .find(|c| c["title"].as_str().is_some_and(|t| t.contains("compared")))
        .expect("a comparison chart");
    let legend = &compared["legend"];
    assert_eq!(legend[1], "cheap (baseline)", "{legend}");
    assert_eq!(legend[2], "near", "{legend}");
    // Identical runs: both lines are drawn where they coincide.
    let colours = compared["colours"].as_array().expect("colours");
    assert!(colours.iter().all(|n| n.as_u64() > Some(200)), "{compared}");
}

#[test]
fn vendored_uplot_is_the_npm_package_byte_for_byte() {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/report/assets/uplot");
    let package = players_dir().join("node_modules/uplot");
    for (ours, theirs) in [
        ("uPlot.iife.min.js", "dist/uPlot.iife.min.js"),
        ("uPlot.min.css", "dist/uPlot.min.css"),
        ("LICENSE", "LICENSE"),
    ] {
        let read = |p: PathBuf| {
            std::fs::read(&p).unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (scripts/test runs npm ci --prefix tests/players)",
                    p.display()
                )
            })
        };
        assert!(
            read(assets.join(ours)) == read(package.join(theirs)),
            "{ours} differs from uplot's {theirs}"
        );
    }
    let version: Value =
        serde_json::from_slice(&std::fs::read(package.join("package.json")).expect("package.json"))
            .expect("json");
    assert_eq!(
        version["version"], "1.6.32",
        "assets/uplot/README.md names the version"
    );
}
