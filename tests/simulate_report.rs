//! Whole-binary tests of what `routecast simulate` reports beside the
//! traffic: what was left out and why (issue 15, point 11), and the
//! proximity side of a comparison (point 13). Expected values are worked
//! out here from literal coordinates and byte counts (haversine, mean Earth
//! radius 6371 km), not read back from the replay.

use std::path::Path;
use std::process::{Command, Output};

fn routecast(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_routecast"))
        .args(args)
        .output()
        .expect("routecast runs")
}

fn simulate(configs: &[&Path], log: &Path, out: &Path) -> String {
    let mut args = vec!["simulate", "-o", out.to_str().expect("utf-8")];
    for c in configs {
        args.extend(["-c", c.to_str().expect("utf-8")]);
    }
    args.push(log.to_str().expect("utf-8"));
    let o = routecast(&args);
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("summary.json");
    serde_json::from_str(&text).expect("valid JSON")
}

/// Great-circle distance, km (haversine; written here, not the engine's).
fn haversine_km((lat1, lon1): (f64, f64), (lat2, lon2): (f64, f64)) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let (dp, dl) = (p2 - p1, (lon2 - lon1).to_radians());
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6371.0 * a.sqrt().asin()
}

const AMS: (f64, f64) = (52.37, 4.90);
const NYC: (f64, f64) = (40.71, -74.01);
const PARIS: (f64, f64) = (48.85, 2.35);
const BOSTON: (f64, f64) = (42.36, -71.06);

/// Two sites, clients in Paris and Boston (by their group's location) and
/// one client nothing locates; nyc holds 1 Mbit/s. `policy` ranks them.
fn platform(policy: &str) -> String {
    format!(
        r#"
default_group = "elsewhere"
currency = "EUR"

[[sites]]
name = "ams"
urls = ["https://ams.example.net"]
location = {{ lat = 52.37, lon = 4.90 }}
cost = {{ per_gb = 0.01 }}

[[sites]]
name = "nyc"
urls = ["https://nyc.example.net"]
location = {{ lat = 40.71, lon = -74.01 }}
capacity_mbps = 1
cost = {{ per_gb = 0.02 }}

[[groups]]
name = "europe"
cidrs = ["192.0.2.0/24"]
location = {{ lat = 48.85, lon = 2.35 }}

[[groups]]
name = "america"
cidrs = ["198.51.100.0/24"]
location = {{ lat = 42.36, lon = -71.06 }}

[[groups]]
name = "elsewhere"

[[policies]]
name = "p"
steps = [{{ step = "{policy}" }}]
"#
    )
}

/// nginx combined with `$request_time` (0.2 s): two 1 MB requests from
/// Paris, two of 1.2 MB from Boston at the same moment (with an 8 s load
/// window, the first puts 1.2 Mbit/s on nyc: the second spills over), and
/// 0.5 MB from a client without a position.
const LOG: &str = "\
192.0.2.1 - - [24/Nov/2026:21:00:06 +0000] \"GET /live/a/1.ts HTTP/1.1\" 200 1000000 \"-\" \"VLC\" 0.200
192.0.2.1 - - [24/Nov/2026:21:00:06 +0000] \"GET /live/a/2.ts HTTP/1.1\" 200 1000000 \"-\" \"VLC\" 0.200
198.51.100.1 - - [24/Nov/2026:21:00:06 +0000] \"GET /live/a/1.ts HTTP/1.1\" 200 1200000 \"-\" \"VLC\" 0.200
198.51.100.1 - - [24/Nov/2026:21:00:06 +0000] \"GET /live/a/2.ts HTTP/1.1\" 200 1200000 \"-\" \"VLC\" 0.200
203.0.113.9 - - [24/Nov/2026:21:00:06 +0000] \"GET /live/a/1.ts HTTP/1.1\" 200 500000 \"-\" \"VLC\" 0.200
";

fn close(got: &serde_json::Value, want: f64, what: &str) {
    let got = got
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: not a number: {got}"));
    assert!(
        (got - want).abs() <= 1e-6 * want.abs().max(1.0),
        "{what}: {got} != {want}"
    );
}

fn group<'a>(summary: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    summary["summary"]["groups"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["name"] == name))
        .unwrap_or_else(|| panic!("group {name} in {summary}"))
}

#[test]
fn comparison_shows_distance_nearest_share_and_spill_over_per_group() {
    let dir = tempfile::tempdir().expect("temp dir");
    let closest = dir.path().join("closest.toml");
    let cheap = dir.path().join("cheapest.toml");
    std::fs::write(&closest, platform("closest")).expect("write");
    std::fs::write(&cheap, platform("least_cost")).expect("write");
    let log = dir.path().join("access.log");
    std::fs::write(&log, LOG).expect("write");
    let out = dir.path().join("out");
    let mut args = vec!["simulate", "--load-window", "8", "-o"];
    args.push(out.to_str().expect("utf-8"));
    for c in [&closest, &cheap] {
        args.extend(["-c", c.to_str().expect("utf-8")]);
    }
    args.push(log.to_str().expect("utf-8"));
    let o = routecast(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let (paris_ams, boston_nyc, boston_ams) = (
        haversine_km(PARIS, AMS),
        haversine_km(BOSTON, NYC),
        haversine_km(BOSTON, AMS),
    );
    // closest: Paris → ams, Boston → nyc then (nyc full) ams.
    let closest_km = (2e6 * paris_ams + 1.2e6 * boston_nyc + 1.2e6 * boston_ams) / 4.4e6;
    // least cost: everyone → ams.
    let cheap_km = (2e6 * paris_ams + 2.4e6 * boston_ams) / 4.4e6;

    let a = json(&out.join("closest/summary.json"));
    close(
        &a["summary"]["proximity"]["mean_km"],
        closest_km,
        "closest km",
    );
    close(
        &a["summary"]["proximity"]["nearest_share"],
        3.2 / 4.4,
        "closest nearest share",
    );
    assert_eq!(a["summary"]["proximity"]["unlocated_requests"], 1);
    assert_eq!(a["summary"]["currency"], "EUR");
    let america = group(&a, "america");
    close(
        &america["proximity"]["mean_km"],
        (boston_nyc + boston_ams) / 2.0,
        "closest america km",
    );
    close(
        &america["proximity"]["nearest_share"],
        0.5,
        "america nearest",
    );
    close(&america["spill_gb"], 0.0012, "america spill-over");

    let b = json(&out.join("cheapest/summary.json"));
    close(
        &b["summary"]["proximity"]["mean_km"],
        cheap_km,
        "cheapest km",
    );
    close(
        &b["summary"]["proximity"]["nearest_share"],
        2.0 / 4.4,
        "cheapest nearest share",
    );
    close(
        &group(&b, "america")["proximity"]["mean_km"],
        boston_ams,
        "cheapest america km",
    );

    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    for want in [
        "<td>closest (baseline)</td>".to_string(),
        "<th>mean distance km</th>".into(),
        "<th>by nearest site %</th>".into(),
        "<th>spill-over GB</th>".into(),
        "<th>cost (EUR)</th>".into(),
        format!("<td>{closest_km:.0}</td>"),
        format!("<td>{cheap_km:.0}</td>"),
        format!("<td>{:+.0}</td>", cheap_km - closest_km),
        format!("<td>{:.1}</td>", 3.2 / 4.4 * 100.0),
        format!("<td>{:.1}</td>", 2.0 / 4.4 * 100.0),
        // america: 1800 km further under the cheaper configuration.
        format!(
            "<td>{:+.0}</td>",
            boston_ams - (boston_nyc + boston_ams) / 2.0
        ),
        // cost: 4.9 MB at 0.01 against 3.7 MB at 0.01 and 1.2 MB at 0.02.
        format!(
            "<td>{:+.1} %</td>",
            (4.9e-3 * 0.01 - (3.7e-3 * 0.01 + 1.2e-3 * 0.02)) / (3.7e-3 * 0.01 + 1.2e-3 * 0.02)
                * 100.0
        ),
    ] {
        assert!(html.contains(&want), "report.html lacks {want}");
    }
}

#[test]
fn report_names_unserved_prefixes_with_the_reason_and_malformed_lines() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("live.toml");
    std::fs::write(
        &config,
        r#"
[[sites]]
name = "ams"
urls = ["https://ams.example.net"]
location = { lat = 52.37, lon = 4.90 }
content = ["/live/", "/vod/"]

[[policies]]
name = "p"
steps = [{ step = "closest" }]
"#,
    )
    .expect("write");
    // Apache common: no site serves /presentations/ nor /~user/; the
    // sixth line starts three hours before the fifth, more than the window
    // (an hour) allows, and after requests already routed: late.
    let log = dir.path().join("access.log");
    std::fs::write(
        &log,
        "192.0.2.1 - - [24/Nov/2026:21:00:06 +0000] \"GET /presentations/2009/a.pdf HTTP/1.0\" 200 300000\n\
         192.0.2.2 - - [24/Nov/2026:21:00:07 +0000] \"GET /presentations/b.ppt HTTP/1.0\" 200 200000\n\
         192.0.2.3 - - [24/Nov/2026:21:00:08 +0000] \"GET /~user/index.html HTTP/1.0\" 200 1000\n\
         192.0.2.3 - - [24/Nov/2026:21:00:09 +0000] \"GET /live/a.ts HTTP/1.0\" 200 7000\n\
         192.0.2.3 - - [24/Nov/2026:23:00:00 +0000] \"GET /live/c.ts HTTP/1.0\" 200 5000\n\
         192.0.2.3 - - [24/Nov/2026:20:00:00 +0000] \"GET /live/b.ts HTTP/1.0\" 200 5000\n\
         not a log line\n",
    )
    .expect("write");
    let out = dir.path().join("out");
    let stdout = simulate(&[&config], &log, &out);
    assert!(stdout.contains("/presentations/"), "{stdout}");

    let s = json(&out.join("summary.json"));
    let left = &s["summary"]["left_out"];
    assert_eq!(left["not_served"]["requests"], 3, "{left}");
    assert_eq!(left["not_served"]["bytes"], 501_000, "{left}");
    let first = &left["not_served_prefixes"][0];
    assert_eq!(first["prefix"], "/presentations/", "{left}");
    assert_eq!(first["requests"], 2);
    assert_eq!(first["bytes"], 500_000);
    assert_eq!(left["not_served_prefixes"][1]["prefix"], "/~user/");
    assert_eq!(s["malformed"]["count"], 1);
    assert_eq!(left["late"], 1, "{left}");

    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    for want in [
        "<td>/presentations/</td><td>2</td><td>0.001</td><td>no site's content covers it (sites serve /live/, /vod/)</td>",
        "<td>/~user/</td><td>1</td>",
        "1 malformed lines",
        "access.log:7:",
        "3 requests (0.001 GB) with no site",
        "1 late lines",
    ] {
        assert!(html.contains(want), "report.html lacks {want}:\n{html}");
    }
}
