//! The access log: one line per routed request, replayed by `routecast
//! simulate` to the same sites.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::support::{get, start, status, within};

#[test]
fn the_access_log_is_replayed_by_simulate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("access.log");
    let s = start(&[
        "--access-log",
        log.to_str().expect("utf-8"),
        "--trusted-proxy",
        "127.0.0.0/8",
    ]);
    for client in ["81.2.69.142", "175.16.199.5", "2001:480::7"] {
        assert_eq!(
            status(&get(
                s.addr,
                "/live/ch1/720p/seg1.ts",
                &format!("X-Forwarded-For: {client}\r\n")
            )),
            302
        );
    }
    assert_eq!(
        status(&get(s.addr, "//evil", "")),
        400,
        "not routed, not logged"
    );
    let lines = || {
        std::fs::read_to_string(&log)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    within(Duration::from_secs(5), || lines() == 3).expect("three lines written");
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(
        text.lines().next().is_some_and(
            |l| l.contains(" chi=81.2.69.142 rhi=127.0.0.1 ") && l.contains("pssc=302")
        ),
        "{text}"
    );
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/routecast.toml");
    let out = dir.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_routecast"))
        .args([
            "simulate",
            "-q",
            "--request-bytes",
            "1000000",
            "-c",
            config.to_str().expect("utf-8"),
            "-o",
            out.to_str().expect("utf-8"),
            log.to_str().expect("utf-8"),
        ])
        .output()
        .expect("simulate runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).expect("summary"))
            .expect("JSON");
    assert_eq!(summary["summary"]["stats"]["requests"], 3);
    let lon = summary["summary"]["sites"]
        .as_array()
        .expect("sites")
        .iter()
        .find(|s| s["name"] == "lon")
        .expect("lon");
    assert_eq!(
        lon["requests"], 1,
        "the GB client goes to lon in the replay as in the server"
    );
}
