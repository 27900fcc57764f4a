use std::sync::atomic::AtomicBool;

use tokio::time::{sleep_until, Instant};

use super::*;
use crate::testing::{platform, two_sites};

#[test]
fn a_streak_moves_a_site_only_after_fall_failures_or_rise_passes_in_a_row() {
    let (rise, fall) = (2, 3);
    let mut s = Streak::default();
    // Up: failures short of `fall`, broken by a pass, never take it down.
    for passed in [false, false, true, false, false, true, true] {
        assert_eq!(s.record(passed, true, rise, fall), None, "{s:?}");
    }
    assert_eq!(s.record(false, true, rise, fall), None);
    assert_eq!(s.record(false, true, rise, fall), None);
    assert_eq!(s.record(false, true, rise, fall), Some(false), "the third");
    // Down: one pass is not enough, a failure starts again.
    assert_eq!(s.record(true, false, rise, fall), None);
    assert_eq!(s.record(false, false, rise, fall), None);
    assert_eq!(s.record(true, false, rise, fall), None);
    assert_eq!(s.record(true, false, rise, fall), Some(true), "the second");
    // Already where it belongs: nothing to do.
    assert_eq!(s.record(true, true, rise, fall), None);
}

/// A health check every 200 ms, down after 2 failures, up after 2 passes.
const CHECK: &str = "health = { url = \"http://127.0.0.1:9/healthz\", interval_ms = 200, timeout_ms = 150, rise = 2, fall = 2 }";

/// Site `a`'s checks running against a probe that answers as `healthy`
/// says; the health they keep.
fn checked(healthy: &Arc<AtomicBool>) -> Arc<Health> {
    let platform = platform(&two_sites(CHECK));
    let health = Arc::new(Health::new(&platform));
    let check = platform.sites()[0].health.clone().expect("a has a check");
    let healthy = healthy.clone();
    let probe = move || {
        let passed = healthy.load(Ordering::Relaxed);
        async move { passed }
    };
    tokio::spawn(run_checks(
        check,
        SiteId(0),
        "a".into(),
        health.clone(),
        probe,
    ));
    health
}

#[tokio::test(start_paused = true)]
async fn a_failing_site_leaves_at_its_fall_th_check_and_returns_at_its_rise_th() {
    let start = Instant::now();
    let at = |ms: u64| sleep_until(start + Duration::from_millis(ms));
    let healthy = Arc::new(AtomicBool::new(true));
    let health = checked(&healthy);
    // Checks at 0, 200, 400, … ms. Failing from 300 ms: checks at 400 and
    // 600 ms fail, and the second takes the site out.
    at(300).await;
    healthy.store(false, Ordering::Relaxed);
    at(599).await;
    assert!(health.is_up(SiteId(0)), "one failure is not enough");
    at(601).await;
    assert!(!health.is_up(SiteId(0)), "out after 2 failures");
    assert!(health.is_up(SiteId(1)), "b has no check: always up");
    // Passing from 700 ms: checks at 800 and 1000 ms pass.
    at(700).await;
    healthy.store(true, Ordering::Relaxed);
    at(999).await;
    assert!(!health.is_up(SiteId(0)), "one pass is not enough");
    at(1001).await;
    assert!(health.is_up(SiteId(0)), "back after 2 passes");
}

#[tokio::test(start_paused = true)]
async fn a_probe_that_hangs_until_its_timeout_delays_the_next_checks() {
    let platform = platform(&two_sites(CHECK));
    let health = Arc::new(Health::new(&platform));
    let check = platform.sites()[0].health.clone().expect("a has a check");
    // Each probe takes 250 ms (longer than the 200 ms interval) and fails:
    // checks start at 0, 250 and 500 ms (ticks missed are delayed, not
    // bunched), so the second failure is known at 500 ms.
    let probe = || async {
        tokio::time::sleep(Duration::from_millis(250)).await;
        false
    };
    let start = Instant::now();
    tokio::spawn(run_checks(
        check,
        SiteId(0),
        "a".into(),
        health.clone(),
        probe,
    ));
    sleep_until(start + Duration::from_millis(499)).await;
    assert!(health.is_up(SiteId(0)));
    sleep_until(start + Duration::from_millis(501)).await;
    assert!(!health.is_up(SiteId(0)));
}
