//! Replays of hand-made request sequences through a small platform.

use std::sync::Arc;

use proptest::prelude::*;
use routecast_accesslog::{Request, TimeIs};
use routecast_engine::{NoLocator, Platform, PlatformConfig};
use routecast_replay::{Replay, ReplayConfig};

/// `near` (capacity 100 Mbit/s) is closest to everybody; `far` has room.
const PLATFORM: &str = r#"
[[sites]]
name = "near"
urls = ["https://near.example.net"]
location = { lat = 0, lon = 0 }
capacity_mbps = 100
cost = { per_gb = 0.01 }

[[sites]]
name = "far"
urls = ["https://far.example.net"]
location = { lat = 0, lon = 90 }
cost = { commit_mbps = 50, commit_price = 3000, overage_per_mbps = 10 }

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
    Replay::new(
        platform,
        Arc::new(NoLocator),
        ReplayConfig {
            window_ms,
            ..ReplayConfig::default()
        },
    )
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
fn load_builds_up_and_spills_to_the_next_site() {
    let mut r = replay(0);
    // 30 viewers of 5 Mbit/s for 10 minutes, one every second: 150 Mbit/s of
    // demand; near holds 100 (20 viewers), the rest spill to far.
    for i in 0..30 {
        r.push(&req(i, i64::from(i) * 1000, 600_000, 375_000_000));
    }
    let report = r.finish();
    let near = &report.sites[0].0;
    let far = &report.sites[1].0;
    assert_eq!((near.requests, far.requests), (20, 10));
    assert_eq!(report.stats.spilled, 10);
    assert!((near.gb - 7.5).abs() < 1e-9 && (far.gb - 3.75).abs() < 1e-9);
    assert!((near.peak_mbps - 100.0).abs() < 1.0, "{}", near.peak_mbps);
    // Per-GB site: 7.5 GB × 0.01.
    assert!((near.cost.unwrap_or_default() - 0.075).abs() < 1e-9);
    // Commit site under its commit: the prorated commit price only.
    let months =
        ((report.end_bin - report.first_bin) * report.step_ms) as f64 / (30.0 * 86_400_000.0);
    assert!((far.cost.unwrap_or_default() - 3000.0 * months).abs() < 1e-6);
}

#[test]
fn sessions_that_ended_free_their_capacity() {
    let mut r = replay(0);
    // 20 viewers fill near for 1 minute; later viewers find it empty again.
    for i in 0..20 {
        r.push(&req(i, 0, 60_000, 37_500_000));
    }
    r.push(&req(100, 61_000, 1000, 1));
    let report = r.finish();
    assert_eq!(report.sites[0].0.requests, 21);
    assert_eq!(report.stats.spilled, 0);
}

#[test]
fn out_of_order_lines_within_the_window_are_routed_in_order_and_later_ones_counted() {
    let mut r = replay(5_000);
    r.push(&req(1, 10_000, 1, 1));
    r.push(&req(2, 7_000, 1, 1)); // 3 s early: inside the window
    r.push(&req(3, 20_000, 1, 1)); // routes 7 s and 10 s
    r.push(&req(4, 9_000, 1, 1)); // before the last routed start: late
    let report = r.finish();
    assert_eq!(report.stats.requests, 4);
    assert_eq!(report.stats.late, 1);
}

#[test]
fn short_fetches_count_as_their_average_over_the_load_window() {
    let config = PlatformConfig::parse("t.toml", PLATFORM).expect("parses");
    let platform = Arc::new(Platform::build(&config, &[]).expect("valid"));
    let mut r = Replay::new(platform, Arc::new(NoLocator), ReplayConfig::default());
    // 40 viewers fetch a 6-second, 5 Mbit/s segment (3.75 MB) in 0.1 s every
    // 6 s: 200 Mbit/s on average, 100 of it more than near can take. Counted
    // at their fetch speed (300 Mbit/s each) they would all look like bursts.
    for round in 0..20i64 {
        for v in 0..40u32 {
            r.push(&req(v, round * 6000 + i64::from(v) * 10, 100, 3_750_000));
        }
    }
    let report = r.finish();
    let (near, far) = (&report.sites[0].0, &report.sites[1].0);
    // Near ends up with about its capacity's worth; the rest spills.
    let share = near.bytes as f64 / (near.bytes + far.bytes) as f64;
    assert!(
        (0.4..0.65).contains(&share),
        "near carried {share:.2}: {} {} {:?}",
        near.requests,
        far.requests,
        report.stats
    );
    assert!(report.stats.spilled > 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn bytes_of_accepted_requests_equal_bytes_in_bins(
        reqs in proptest::collection::vec((0u32..64, 0i64..3_600_000, 0u64..1_800_000, 0u64..2_000_000_000), 1..200),
        window in 0i64..120_000,
    ) {
        let mut r = replay(window);
        let mut total = 0u64;
        for (client, start, dur, bytes) in &reqs {
            r.push(&req(*client, *start, *dur, *bytes));
            total += bytes;
        }
        let report = r.finish();
        let in_sites: u64 = report.sites.iter().map(|(s, _)| s.bytes).sum();
        let in_groups: u64 = report.groups.iter().map(|(s, _)| s.bytes).sum();
        prop_assert_eq!(in_sites, total);
        prop_assert_eq!(in_groups, total);
        prop_assert_eq!(report.stats.requests, reqs.len() as u64);
    }
}
