//! The time series of replays of hand-made requests: what `timeseries.csv`
//! says against what was replayed.

use std::sync::Arc;

use proptest::prelude::*;
use routecast_accesslog::{Request, TimeIs};
use routecast_engine::{NoLocator, Platform, PlatformConfig};
use routecast_replay::{Replay, ReplayConfig};
use routecast_report::write_timeseries;

/// `near` (capacity 100 Mbit/s) is closest to everybody; `far` has room.
const PLATFORM: &str = r#"
[[sites]]
name = "near"
urls = ["https://near.example.net"]
location = { lat = 0, lon = 0 }
capacity_mbps = 100

[[sites]]
name = "far"
urls = ["https://far.example.net"]
location = { lat = 0, lon = 90 }

[[groups]]
name = "clients"
cidrs = ["10.0.0.0/8"]
location = { lat = 0, lon = 1 }

[[policies]]
name = "nearest"
steps = [{ step = "closest" }, { step = "capacity", headroom = 0.0 }]
"#;

fn replay(window_ms: i64) -> Replay {
    let config = PlatformConfig::parse("t.toml", PLATFORM).expect("parses");
    let platform = Arc::new(Platform::build(&config, &[]).expect("valid"));
    let config = ReplayConfig {
        window_ms,
        ..ReplayConfig::default()
    };
    Replay::new(platform, Arc::new(NoLocator), config)
}

fn req(i: u32, start_ms: i64, duration_ms: u64, bytes: u64) -> Request<'static> {
    Request {
        client: std::net::Ipv4Addr::from(0x0a00_0000 | i).into(),
        logged_ms: start_ms,
        time_is: TimeIs::Start,
        duration_ms: Some(duration_ms),
        method: "GET",
        path: b"/live/x.ts",
        status: 200,
        bytes,
        user_agent: None,
    }
}

#[test]
fn rows_are_long_format_with_every_metric_of_every_bin() {
    let mut r = replay(0);
    // 7.5 MB over the first minute of 1970: 1 Mbit/s.
    r.push(&req(1, 0, 60_000, 7_500_000));
    let mut csv = Vec::new();
    write_timeseries(&r.finish(), &mut csv).expect("in memory");
    let csv = String::from_utf8(csv).expect("utf-8");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("time,kind,name,metric,value"));
    let near: Vec<&str> = lines.clone().take(6).collect();
    assert_eq!(
        near,
        [
            "1970-01-01T00:00:00Z,site,near,mbps,1.000000",
            "1970-01-01T00:00:00Z,site,near,bytes,7500000",
            "1970-01-01T00:00:00Z,site,near,requests,1",
            "1970-01-01T00:00:00Z,site,near,sessions,1.000000",
            "1970-01-01T00:00:00Z,site,near,spill_mbps,0.000000",
            "1970-01-01T00:00:00Z,site,near,unserved_mbps,0.000000",
        ]
    );
    // far, then the groups (clients and the implicit default): six rows each.
    assert_eq!(lines.count(), 6 * 4);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn bytes_in_the_csv_are_the_bytes_replayed(
        reqs in proptest::collection::vec((0u32..64, 0i64..3_600_000, 0u64..1_800_000, 0u64..2_000_000_000), 1..200),
        window in 0i64..120_000,
    ) {
        let mut r = replay(window);
        let mut total = 0u64;
        for (client, start, dur, bytes) in &reqs {
            r.push(&req(*client, *start, *dur, *bytes));
            total += bytes;
        }
        let mut csv = Vec::new();
        write_timeseries(&r.finish(), &mut csv).expect("in memory");
        let csv_bytes: u64 = String::from_utf8(csv).expect("utf-8").lines()
            .filter(|l| l.contains(",site,") && l.contains(",bytes,"))
            .map(|l| l.rsplit(',').next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0))
            .sum();
        prop_assert_eq!(csv_bytes, total);
    }
}
