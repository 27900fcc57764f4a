//! The real rrdtool reads the RRD files `routecast simulate` writes, and
//! `rrdtool fetch` returns the values of timeseries.csv — and, for a few
//! hand-written lines, the values Python computes from the log itself.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};

fn rrdtool(args: &[&str]) -> Output {
    let o = Command::new("rrdtool")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("rrdtool cannot run ({e}): scripts/test installs Debian's rrdtool package")
        });
    assert!(
        o.status.success(),
        "rrdtool {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn routecast(args: &[&str]) {
    let o = Command::new(env!("CARGO_BIN_EXE_routecast"))
        .args(args)
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn rrdtool_info_fetch_and_graph_accept_our_files_and_fetch_matches_the_csv() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("a.log");
    let out = dir.path().join("out");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = root.join("examples/routecast.toml");
    routecast(&[
        "synth",
        "-n",
        "30000",
        "--seed",
        "2",
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

    // CSV mbps by (kind-name, bin start).
    let csv = std::fs::read_to_string(out.join("timeseries.csv")).expect("csv");
    let mut want: HashMap<(String, String), f64> = HashMap::new();
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f[3] == "mbps" {
            want.insert(
                (format!("{}-{}", f[1], f[2]), f[0].to_string()),
                f[4].parse().expect("number"),
            );
        }
    }
    let mut checked = 0;
    for file in ["site-ams", "site-lon", "group-uk", "group-czf-nl-kpn"] {
        let rrd = out.join("rrd").join(format!("{file}.rrd"));
        let rrd = rrd.to_str().expect("utf-8");
        let info = String::from_utf8(rrdtool(&["info", rrd]).stdout).expect("utf-8");
        assert!(
            info.contains("rrd_version = \"0003\"") && info.contains("step = 60"),
            "{info}"
        );
        assert!(
            info.contains("ds[mbps].type = \"GAUGE\"") && info.contains("rra[0].cf = \"AVERAGE\""),
            "{info}"
        );
        let last: i64 = info
            .lines()
            .find_map(|l| l.strip_prefix("last_update = "))
            .and_then(|v| v.parse().ok())
            .expect("last_update");
        let rows: i64 = info
            .lines()
            .find_map(|l| l.strip_prefix("rra[0].rows = "))
            .and_then(|v| v.parse().ok())
            .expect("rows");
        let (start, end) = ((last - rows * 60).to_string(), last.to_string());
        let fetched = String::from_utf8(
            rrdtool(&[
                "fetch", rrd, "AVERAGE", "-s", &start, "-e", &end, "-r", "60",
            ])
            .stdout,
        )
        .expect("utf-8");
        for line in fetched.lines().filter(|l| l.contains(':')) {
            let (t, values) = line.split_once(':').expect("t: values");
            let t: i64 = t.trim().parse().expect("timestamp");
            let mbps = values.split_whitespace().next().expect("value");
            // A row stamped T covers (T - 60, T]: the CSV's bin starting at T - 60.
            let key = (file.to_string(), routecast_accesslog::time::iso8601(t - 60));
            match want.get(&key) {
                Some(v) => {
                    let got: f64 = mbps.parse().expect("fetch prints a number for a known bin");
                    assert!(
                        (got - v).abs() <= 1e-6 * v.abs().max(1.0),
                        "{file} at {}: rrd {got} csv {v}",
                        key.1
                    );
                    checked += 1;
                }
                None => assert!(
                    mbps.contains("nan"),
                    "{file} at {t}: {mbps} outside the replay"
                ),
            }
        }
        let png = dir.path().join(format!("{file}.png"));
        let def = format!("DEF:m={rrd}:mbps:AVERAGE");
        rrdtool(&[
            "graph",
            png.to_str().expect("utf-8"),
            "-s",
            &start,
            "-e",
            &end,
            &def,
            "AREA:m#4e79a7:mbps",
        ]);
        assert!(std::fs::metadata(&png)
            .map(|m| m.len() > 1000)
            .unwrap_or(false));
    }
    assert!(checked > 4 * 1400, "{checked} values compared");
}

/// Three London requests to `lon`, one logged in another zone, one spread
/// over two bins. Python (its own date parsing, `strptime`) spreads each
/// request's bytes evenly over `[end − $request_time, end]` into 60 s bins;
/// `rrdtool fetch` of `site-lon.rrd` must give those Mbit/s.
const HAND_LOG: &str = "\
81.2.69.142 - - [24/Nov/2026:10:00:30 +0000] \"GET /live/news/a.ts HTTP/1.1\" 200 6000000 \"-\" \"t\" 20.000
81.2.69.142 - - [24/Nov/2026:11:02:30 +0100] \"GET /live/news/b.ts HTTP/1.1\" 200 9000000 \"-\" \"t\" 90.000
81.2.69.142 - - [24/Nov/2026:10:02:45 +0000] \"GET /live/news/c.ts HTTP/1.1\" 200 1500000 \"-\" \"t\" 15.000
";

/// The oracle: bin start (Unix seconds) → Mbit/s, computed by python3.
const ORACLE: &str = r#"
import re, sys
from datetime import datetime
bins = {}
for line in open(sys.argv[1]):
    m = re.search(r'\[([^\]]+)\] "[^"]*" \d+ (\d+) .* ([\d.]+)$', line.strip())
    end = datetime.strptime(m.group(1), "%d/%b/%Y:%H:%M:%S %z").timestamp()
    size, took = int(m.group(2)), float(m.group(3))
    start = end - took
    b = int(start // 60) * 60
    while b < end:
        overlap = min(end, b + 60) - max(start, b)
        bins[b] = bins.get(b, 0.0) + size * overlap / took
        b += 60
for b in sorted(bins):
    print(b, bins[b] * 8 / 60 / 1e6)
"#;

#[test]
fn rrdtool_fetch_gives_what_python_computes_from_the_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("hand.log");
    std::fs::write(&log, HAND_LOG).expect("write");
    let oracle = Command::new("python3")
        .args(["-c", ORACLE, log.to_str().expect("utf-8")])
        .output()
        .expect("python3 runs");
    assert!(
        oracle.status.success(),
        "{}",
        String::from_utf8_lossy(&oracle.stderr)
    );
    let want: HashMap<i64, f64> = String::from_utf8_lossy(&oracle.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(t, v)| (t.parse().expect("time"), v.parse().expect("mbps")))
        .collect();
    // By hand: 2026-11-24 10:00Z (1795514400) 0.8, 10:01 0.8 (60 of 90 s
    // of 9 MB), 10:02 0.6 (30 of 90 s of 9 MB, and 1.5 MB).
    let mut by_time: Vec<(i64, f64)> = want.iter().map(|(t, v)| (*t, *v)).collect();
    by_time.sort_by_key(|b| b.0);
    let hand = [
        (1_795_514_400, 0.8),
        (1_795_514_460, 0.8),
        (1_795_514_520, 0.6),
    ];
    assert_eq!(by_time.len(), 3, "{want:?}");
    for ((t, v), (ht, hv)) in by_time.iter().zip(hand) {
        assert!(
            *t == ht && (v - hv).abs() < 1e-12,
            "python {t} {v}, by hand {ht} {hv}"
        );
    }
    let out = dir.path().join("out");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/routecast.toml");
    routecast(&[
        "simulate",
        "-q",
        "-c",
        config.to_str().expect("utf-8"),
        "-o",
        out.to_str().expect("utf-8"),
        log.to_str().expect("utf-8"),
    ]);
    let rrd = out.join("rrd/site-lon.rrd");
    let (first, last) = (want.keys().min().copied(), want.keys().max().copied());
    let (start, end) = (first.expect("bins") - 600, last.expect("bins") + 600);
    let fetched = String::from_utf8(
        rrdtool(&[
            "fetch",
            rrd.to_str().expect("utf-8"),
            "AVERAGE",
            "-s",
            &start.to_string(),
            "-e",
            &end.to_string(),
            "-r",
            "60",
        ])
        .stdout,
    )
    .expect("utf-8");
    let mut matched = 0;
    for line in fetched.lines().filter(|l| l.contains(':')) {
        let (t, values) = line.split_once(':').expect("t: values");
        let t: i64 = t.trim().parse().expect("timestamp");
        let got = values.split_whitespace().next().expect("value");
        // rrdtool stamps a row with the end of its bin.
        match want.get(&(t - 60)) {
            Some(v) => {
                let got: f64 = got.parse().expect("a number");
                assert!(
                    (got - v).abs() <= 1e-9,
                    "bin {}: rrd {got}, python {v}",
                    t - 60
                );
                matched += 1;
            }
            None => assert!(
                got.contains("nan") || got.parse::<f64>() == Ok(0.0),
                "bin {}: {got} where the log has nothing",
                t - 60
            ),
        }
    }
    assert_eq!(matched, 3, "{fetched}");
}
