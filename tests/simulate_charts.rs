//! `routecast simulate`'s chart files (sites.svg/png, groups.svg/png) as a
//! reader meets them: a time axis titled with its time zone and dates,
//! legends beside the plot, and each site's configured capacity and p95
//! drawn on its own panel.

use std::path::Path;
use std::process::Command;

fn routecast(args: &[&str]) {
    let o = Command::new(env!("CARGO_BIN_EXE_routecast"))
        .args(args)
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// The texts of an SVG with their x, in document order.
fn texts(svg: &str) -> Vec<(f64, String)> {
    svg.split("<text x=\"")
        .skip(1)
        .filter_map(|t| {
            let x = t.split('"').next()?.parse().ok()?;
            let body = t.split('>').nth(1)?.split('<').next()?.trim();
            Some((x, body.to_string()))
        })
        .collect()
}

#[test]
fn site_charts_show_time_zone_capacity_p95_and_keep_legends_off_the_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("a.log");
    let out = dir.path().join("out");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/routecast.toml");
    let s = |p: &Path| p.to_str().expect("utf-8").to_string();
    routecast(&["synth", "-n", "5000", "--seed", "9", "-o", &s(&log)]);
    routecast(&[
        "simulate",
        "-q",
        "-c",
        &s(&config),
        "-o",
        &s(&out),
        &s(&log),
    ]);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).expect("summary"))
            .expect("json");
    let svg = std::fs::read_to_string(out.join("sites.svg")).expect("sites.svg");
    let texts = texts(&svg);
    let has = |t: &str| texts.iter().any(|(_, b)| b == t);

    // The synthetic day is 2026-11-24 (UTC); the axis says so.
    assert!(
        texts
            .iter()
            .any(|(_, b)| b.starts_with("Time (UTC), 2026-11-2")),
        "{texts:?}"
    );
    // examples/routecast.toml: ams 1000, fra 800, lon 500 Mbit/s.
    for capacity in [
        "capacity 1000 Mbit/s",
        "capacity 800 Mbit/s",
        "capacity 500 Mbit/s",
    ] {
        assert!(has(capacity), "{capacity} missing");
    }
    for site in summary["summary"]["sites"].as_array().expect("sites") {
        if site["bytes"].as_u64() > Some(0) {
            let p95 = format!("p95 {:.1} Mbit/s", site["p95_mbps"].as_f64().expect("p95"));
            assert!(has(&p95), "{p95} missing for {}", site["name"]);
            assert!(site["capacity_mbps"].is_number(), "{site}");
        }
    }
    // The legend (swatch and site name) sits right of the stacked plot:
    // no legend text is left of the plot's right edge (960 − 170 px).
    let legend: Vec<&(f64, String)> = texts
        .iter()
        .filter(|(_, b)| ["ams", "fra", "lon"].contains(&b.as_str()))
        .collect();
    assert!(legend.iter().any(|(x, _)| *x >= 790.0), "{legend:?}");
    let png = std::fs::read(out.join("sites.png")).expect("sites.png");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}
