use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

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
    let status = health.status(SiteId(0)).expect("a");
    tokio::spawn(run_checks(check, "a".into(), status, probe));
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
    let status = health.status(SiteId(0)).expect("a");
    tokio::spawn(run_checks(check, "a".into(), status, probe));
    sleep_until(start + Duration::from_millis(499)).await;
    assert!(health.is_up(SiteId(0)));
    sleep_until(start + Duration::from_millis(501)).await;
    assert!(!health.is_up(SiteId(0)));
}

mod estimates {
    use tokio::time::{sleep_until, Instant};

    use super::*;
    use crate::request::{handle, Reply};
    use crate::testing::state;

    /// The site `GET path` is sent to now (and its estimate added).
    fn site_now(s: &crate::State, path: &str) -> String {
        let request = hyper::Request::get(path)
            .header("host", "tr.example.net")
            .body(())
            .expect("request");
        let Reply::Ready(r) = handle(s, "198.51.100.7".parse().expect("ip"), &request) else {
            panic!("a redirect is answered at once");
        };
        let site = r.headers().get("x-routecast-site").expect("a site");
        site.to_str().expect("text").to_string()
    }

    #[tokio::test(start_paused = true)]
    async fn redirects_fill_a_site_and_leave_it_after_their_hold() {
        // Site a: 100 Mbit/s, preferred; 5 Mbit/s a redirect, held 10 s.
        let s = state(&two_sites(""), &[]);
        let start = Instant::now();
        let sent: Vec<_> = (0..120).map(|_| site_now(&s, "/live/x")).collect();
        let to_a = sent.iter().filter(|x| *x == "a").count();
        assert_eq!(to_a, 20, "100 Mbit/s hold 20 sessions of 5");
        // An estimate made in second 0 lasts at least 10 s, at most 11 s.
        sleep_until(start + Duration::from_millis(10_990)).await;
        assert_eq!(s.current().view.0.load(SiteId(0)), 100.0);
        assert_eq!(site_now(&s, "/live/x"), "b", "still full");
        sleep_until(start + Duration::from_millis(11_000)).await;
        assert_eq!(s.current().view.0.load(SiteId(0)), 0.0, "faded");
        assert_eq!(site_now(&s, "/live/x"), "a", "room again");
    }

    #[tokio::test(start_paused = true)]
    async fn a_sustained_rate_plateaus_and_never_fills_a_100_gbit_site() {
        // 1,500 redirects a second for a minute (90,000 in all: 450 Gbit/s
        // if they never faded) to a 100 Gbit/s site: with 10 s holds the
        // estimate plateaus at 1,500 × 11 s × 5 Mbit/s = 82.5 Gbit/s.
        let s = state(
            &two_sites("").replace("capacity_mbps = 100\n", "capacity_mbps = 100000\n"),
            &[],
        );
        let start = Instant::now();
        let mut peak: f64 = 0.0;
        for tenth in 0..600u64 {
            sleep_until(start + Duration::from_millis(tenth * 100)).await;
            for _ in 0..150 {
                assert_eq!(
                    site_now(&s, "/live/x"),
                    "a",
                    "at {tenth} tenths of a second"
                );
            }
            peak = peak.max(s.current().view.0.load(SiteId(0)));
        }
        assert_eq!(peak, 82_500.0);
    }
}

#[tokio::test(start_paused = true)]
async fn a_reload_carries_each_remaining_sites_state_by_name_and_forgets_removed_ones() {
    let before = platform(&two_sites(CHECK));
    let old = Health::new(&before);
    let a = old.status(SiteId(0)).expect("a");
    a.set_up(false);
    a.set_streak((1, 0));
    old.set_state(SiteId(1), Some(SiteState::Disabled));
    old.set_polled(SiteId(0), 40.0, Instant::now());
    old.add_session(SiteId(1), None, 5.0);
    // The new configuration: c first, then b and a (a's check changed), and
    // a class of a new hold.
    let text = two_sites(&CHECK.replace("rise = 2", "rise = 3"));
    let reordered = format!(
        "[[sites]]\nname = \"c\"\nurls = [\"https://c.example.net\"]\nlocation = {{ lat = 0, lon = 0 }}\n\n{text}\n[[sessions]]\ncontent = [\"/vod/\"]\nhold_s = 300\n"
    );
    let after = platform(&reordered);
    let new = Health::carried(&after, &old);
    let id = |name: &str| after.site_by_name(name).expect(name);
    assert!(!new.is_up(id("a")), "a stays down");
    assert_eq!(
        new.status(id("a")).expect("a").streak(),
        (1, 0),
        "its streak goes on"
    );
    assert_eq!(new.load(id("a")), 40.0, "its polled figure");
    assert_eq!(new.override_of(id("b")), Some(SiteState::Disabled));
    assert_eq!(new.estimate(id("b")), 5.0, "its estimates");
    assert!(new.is_up(id("c")) && new.override_of(id("c")).is_none() && new.load(id("c")) == 0.0);
    // Shared, not copied: a request finishing on the old health counts.
    old.add_session(SiteId(1), None, 5.0);
    assert_eq!(new.estimate(id("b")), 10.0);
    new.add_session(id("c"), Some(0), 2.0);
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_eq!(new.estimate(id("b")), 0.0, "the default hold");
    assert_eq!(new.estimate(id("c")), 2.0, "the /vod/ class holds 300 s");
    // b removed: forgotten, and back as new.
    let without_b = platform(&reordered.replace("[\"a\", \"b\"]", "[\"a\"]").replace(
        "[[sites]]\nname = \"b\"\nurls = [\"https://b.example.net\"]\nlocation = { lat = 0, lon = 0 }\n",
        "",
    ));
    let gone = Health::carried(&without_b, &new);
    assert_eq!(without_b.site_by_name("b"), None);
    let back = Health::carried(&after, &gone);
    assert_eq!(
        back.override_of(id("b")),
        None,
        "a removed site is forgotten"
    );
}
