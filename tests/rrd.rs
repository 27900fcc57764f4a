//! The real rrdtool reads the RRD files `routecast simulate` writes, and
//! `rrdtool fetch` returns the values of timeseries.csv.

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
