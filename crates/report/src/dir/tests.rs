use std::sync::Arc;

use routecast_accesslog::{LineError, MalformedLine, Request, TimeIs};
use routecast_engine::{NoLocator, Platform, PlatformConfig};
use routecast_replay::{Replay, ReplayConfig};

use super::*;

const PLATFORM: &str = r#"
[[sites]]
name = "ams-1"
urls = ["https://ams.example.net"]
location = { lat = 52.37, lon = 4.90 }

[[policies]]
name = "nearest"
steps = [{ step = "closest" }]
"#;

/// One 6-second request of 3.75 MB at 2026-11-24T10:00:00Z (`date -u -d
/// 2026-11-24T10:00:00Z +%s`), replayed.
fn report() -> Report {
    let config = PlatformConfig::parse("t.toml", PLATFORM).expect("parses");
    let platform = Arc::new(Platform::build(&config, &[]).expect("valid"));
    let mut replay = Replay::new(platform, Arc::new(NoLocator), ReplayConfig::default());
    replay.push(&Request {
        client: std::net::Ipv4Addr::new(192, 0, 2, 1).into(),
        logged_ms: 1_795_514_400_000,
        time_is: TimeIs::Start,
        duration_ms: Some(6_000),
        method: "GET",
        path: b"/live/a.ts",
        status: 200,
        bytes: 3_750_000,
        user_agent: None,
    });
    replay.finish()
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).expect("readable") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                todo.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("inside");
                out.push(rel.display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn one_replay_writes_its_files_in_the_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("new/out");
    let r = report();
    let malformed = Rejected {
        count: 4,
        first: vec![MalformedLine {
            file: "a.log".into(),
            line: 3,
            error: LineError::Time,
            format: "nginx".into(),
        }],
    };
    write_dir(
        &out,
        &[ReportInput {
            label: "cfg",
            report: &r,
        }],
        &malformed,
    )
    .expect("writes");
    assert_eq!(
        files(&out),
        [
            "groups.png",
            "groups.svg",
            "report.html",
            "rrd/group-default.rrd",
            "rrd/site-ams-1.rrd",
            "sites.png",
            "sites.svg",
            "summary.json",
            "timeseries.csv"
        ]
    );
    let summary = std::fs::read_to_string(out.join("summary.json")).expect("json");
    let doc: serde_json::Value = serde_json::from_str(&summary).expect("valid JSON");
    assert_eq!(doc["config"], "cfg");
    assert_eq!(doc["summary"]["start"], "2026-11-24T10:00:00Z");
    assert_eq!(doc["summary"]["sites"][0]["bytes"], 3_750_000);
    assert_eq!(doc["malformed"]["count"], 4);
    assert_eq!(
        doc["malformed"]["first"][0],
        "a.log:3: timestamp missing or not dd/Mon/yyyy:HH:MM:SS +zone (format nginx)"
    );
    assert!(summary.ends_with("}\n"), "pretty, with a final newline");
    let csv = std::fs::read_to_string(out.join("timeseries.csv")).expect("csv");
    assert!(
        csv.contains("\n2026-11-24T10:00:00Z,site,ams-1,bytes,3750000\n"),
        "{csv:.300}"
    );
}

#[test]
fn several_replays_each_get_a_directory_and_one_report_compares_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let r = report();
    let replays = [
        ReportInput {
            label: "a/b.toml",
            report: &r,
        },
        ReportInput {
            label: "c",
            report: &r,
        },
    ];
    write_dir(dir.path(), &replays, &Rejected::default()).expect("writes");
    let all = files(dir.path());
    let each = [
        "groups.png",
        "groups.svg",
        "rrd/group-default.rrd",
        "rrd/site-ams-1.rrd",
        "sites.png",
        "sites.svg",
        "summary.json",
        "timeseries.csv",
    ];
    let mut want: Vec<String> = ["a_b.toml", "c"]
        .iter()
        .flat_map(|d| each.iter().map(move |f| format!("{d}/{f}")))
        .collect();
    want.push("report.html".into());
    want.sort();
    assert_eq!(all, want);
    let html = std::fs::read_to_string(dir.path().join("report.html")).expect("html");
    assert!(html.contains("Policies compared"));
}

#[test]
fn a_directory_that_cannot_be_made_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("f");
    std::fs::write(&file, b"").expect("writes");
    let r = report();
    let e = write_dir(
        &file.join("out"),
        &[ReportInput {
            label: "x",
            report: &r,
        }],
        &Rejected::default(),
    )
    .expect_err("a file is in the way");
    let why = std::fs::create_dir_all(file.join("out")).expect_err("a file is in the way");
    assert_eq!(
        e.to_string(),
        format!("{}: cannot create: {why}", file.join("out").display())
    );
    // The reason is in the message, not also a source: said once.
    assert!(std::error::Error::source(&e).is_none());
}

#[test]
fn labels_become_file_names() {
    assert_eq!(
        file_name("examples/routecast.toml"),
        "examples_routecast.toml"
    );
    assert_eq!(file_name("a b-c_d.é"), "a_b-c_d._");
}

#[test]
fn configurations_are_named_by_their_stems_or_paths_when_stems_repeat() {
    assert_eq!(config_labels(&["a/x.toml", "b/y.toml"]), ["x", "y"]);
    assert_eq!(
        config_labels(&["a/x.toml", "b/x.toml", "z.toml"]),
        ["a/x.toml", "b/x.toml", "z"]
    );
}
