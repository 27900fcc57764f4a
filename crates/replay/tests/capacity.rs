//! The capacity-aware replay, as the sites and viewers would see it: per
//! bin, a site's traffic stays within its capacity unless every candidate
//! is full; spilled and unserved bytes are accounted; every Mbit/s series
//! written integrates back to the bytes of the log (issue 15, "Done
//! means").

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;
use routecast_accesslog::{Request, TimeIs};
use routecast_engine::{NoLocator, Platform, PlatformConfig};
use routecast_replay::{Replay, ReplayConfig, Report};

/// `near` (100 Mbit/s) is nearest to every client; `far` has `FAR`.
fn platform(far_capacity: &str) -> String {
    format!(
        r#"
[[sites]]
name = "near"
urls = ["https://near.example.net"]
location = {{ lat = 0, lon = 0 }}
capacity_mbps = 100

[[sites]]
name = "far"
urls = ["https://far.example.net"]
location = {{ lat = 0, lon = 90 }}
{far_capacity}

[[groups]]
name = "clients"
cidrs = ["10.0.0.0/8"]
location = {{ lat = 0, lon = 1 }}

[[policies]]
name = "nearest"
steps = [{{ step = "closest" }}, {{ step = "capacity", headroom = 0.0 }}]
"#
    )
}

/// Capacities in Mbit/s of `near` and `far` (`None`: unlimited).
const UNLIMITED_FAR: (f64, Option<f64>) = (100.0, None);
const FULL_FAR: (f64, Option<f64>) = (100.0, Some(40.0));

/// A minute: bins, the load window and every request last this long, so a
/// request's bytes fall in the bin it starts in and the load the engine
/// sees is what the bin shows.
const MINUTE_MS: i64 = 60_000;

fn replay(far: Option<f64>) -> Replay {
    let far = far.map_or(String::new(), |c| format!("capacity_mbps = {c}"));
    let config = PlatformConfig::parse("t.toml", &platform(&far)).expect("parses");
    let platform = Arc::new(Platform::build(&config, &[]).expect("valid"));
    let config = ReplayConfig {
        step_ms: MINUTE_MS,
        load_window_ms: MINUTE_MS,
        ..ReplayConfig::default()
    };
    Replay::new(platform, Arc::new(NoLocator), config)
}

fn request(client: u32, minute: i64, bytes: u64) -> Request<'static> {
    Request {
        client: std::net::Ipv4Addr::from(0x0a00_0000 | client).into(),
        logged_ms: minute * MINUTE_MS,
        time_is: TimeIs::Start,
        duration_ms: Some(MINUTE_MS as u64),
        method: "GET",
        path: b"/live/x.ts",
        status: 200,
        bytes,
        user_agent: None,
    }
}

/// `(time, kind, name, metric) → value` of the written timeseries.csv.
type Csv = BTreeMap<(String, String, String, String), f64>;

fn written_csv(report: &Report) -> Csv {
    let mut out = Vec::new();
    routecast_report::write_timeseries(report, &mut out).expect("writes");
    let text = String::from_utf8(out).expect("utf-8");
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let key = (f[0].into(), f[1].into(), f[2].into(), f[3].into());
            (key, f[4].parse().expect("number"))
        })
        .collect()
}

/// Sum over the bins of `metric` (Mbit/s) of one series, as bytes.
fn integrated_bytes(csv: &Csv, kind: &str, name: &str, metric: &str) -> f64 {
    csv.iter()
        .filter(|((_, k, n, m), _)| k == kind && n == name && m == metric)
        .map(|(_, mbps)| mbps * 60.0 * 1e6 / 8.0)
        .sum()
}

/// Mbit/s of `bytes` over a minute.
fn mbps(bytes: u64) -> f64 {
    bytes as f64 * 8.0 / 60e6
}

fn check(capacities: (f64, Option<f64>), reqs: &[(u32, i64, u64)]) -> Result<(), TestCaseError> {
    let mut r = replay(capacities.1);
    for (client, minute, bytes) in reqs {
        r.push(&request(*client, *minute, *bytes));
    }
    let report = r.finish();
    let csv = written_csv(&report);
    let total: u64 = reqs.iter().map(|r| r.2).sum();
    // The largest request starting in each minute, Mbit/s: a site takes a
    // request while its load is under capacity, so it may end a minute at
    // most one request over it.
    let mut largest: BTreeMap<i64, f64> = BTreeMap::new();
    for (_, minute, bytes) in reqs {
        let l = largest.entry(*minute).or_default();
        *l = l.max(mbps(*bytes));
    }
    let epoch = 0;
    for (minute, over) in &largest {
        let t = routecast_accesslog::time::iso8601((epoch + minute * MINUTE_MS) / 1000);
        let at = |kind: &str, name: &str, metric: &str| {
            csv.get(&(t.clone(), kind.into(), name.into(), metric.into()))
                .copied()
                .unwrap_or(0.0)
        };
        let every_candidate_full = at("group", "clients", "unserved_mbps") > 0.0;
        for (site, capacity) in [("near", Some(capacities.0)), ("far", capacities.1)] {
            let Some(capacity) = capacity else { continue };
            let load = at("site", site, "mbps");
            prop_assert!(
                load <= capacity + over + 1e-5 || every_candidate_full,
                "minute {minute}: {site} carries {load} Mbit/s, capacity {capacity} \
                 (+ {over} for the last request), and not every candidate was full"
            );
        }
    }
    // Every byte is somewhere, and each Mbit/s series integrates back to it
    // (to the CSV's precision: 10^-6 Mbit/s over a minute is 7.5 bytes, so
    // a bin rounds by 3.75 bytes at most).
    let rounding = 3.75 * (report.end_bin - report.first_bin) as f64 + 1e-6;
    let sites: u64 = report.sites.iter().map(|(s, _)| s.bytes).sum();
    prop_assert_eq!(sites, total);
    prop_assert_eq!(report.groups[0].0.bytes, total);
    for (s, _) in report.all() {
        let got = integrated_bytes(&csv, s.kind.as_str(), &s.name, "mbps");
        prop_assert!(
            (got - s.bytes as f64).abs() <= rounding,
            "{}: {got} vs {}",
            s.name,
            s.bytes
        );
    }
    // Spilled and unserved bytes: the same seen from the sites and from
    // the clients, and never more than was sent.
    for metric in ["spill_mbps", "unserved_mbps"] {
        let by_sites: f64 = ["near", "far"]
            .iter()
            .map(|n| integrated_bytes(&csv, "site", n, metric))
            .sum();
        let by_group = integrated_bytes(&csv, "group", "clients", metric);
        prop_assert!(
            (by_sites - by_group).abs() <= 3.0 * rounding,
            "{metric}: {by_sites} vs {by_group}"
        );
        prop_assert!(by_group <= total as f64 + rounding);
    }
    if capacities.1.is_none() {
        // Everything at far went there for want of room at near (near is
        // everyone's nearest), and no one went unserved.
        let far = report.sites[1].0.bytes as f64;
        let far_spill = integrated_bytes(&csv, "site", "far", "spill_mbps");
        prop_assert!(
            (far_spill - far).abs() <= 2.0 * rounding,
            "far {far}, spilled {far_spill}"
        );
        prop_assert_eq!(integrated_bytes(&csv, "site", "near", "spill_mbps"), 0.0);
        prop_assert_eq!(
            integrated_bytes(&csv, "group", "clients", "unserved_mbps"),
            0.0
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn sites_stay_within_capacity_unless_every_candidate_is_full(
        reqs in proptest::collection::vec((0u32..256, 0i64..20, 0u64..300_000_000), 1..300),
        far_full in any::<bool>(),
    ) {
        check(if far_full { FULL_FAR } else { UNLIMITED_FAR }, &reqs)?;
    }
}

/// A minute with ten 150 Mbit/s viewers: near takes one (it has room), far
/// the rest; with far capped, near and far take one each and the other
/// eight find every candidate full.
#[test]
fn a_crowd_spills_to_far_then_goes_unserved() {
    let crowd: Vec<(u32, i64, u64)> = (0..10).map(|c| (c, 0, 1_125_000_000)).collect();
    check(UNLIMITED_FAR, &crowd).expect("holds");
    check(FULL_FAR, &crowd).expect("holds");
}
