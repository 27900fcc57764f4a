//! The checker of one site: GET its health URL every interval, and move it
//! out of rotation and back as its streak of results says. The streak lives
//! in the site's [`SiteStatus`], so that a checker started by a reload (its
//! check's settings changed) continues from it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use routecast_engine::HealthCheck;

use super::SiteStatus;

/// Consecutive results of one site's checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Streak {
    pub(super) passes: u32,
    pub(super) failures: u32,
}

impl Streak {
    /// Counts one check of a site that is `up` now: `Some(true)` when it
    /// comes back (`rise` passes in a row), `Some(false)` when it leaves
    /// rotation (`fall` failures in a row), `None` when it stays as it is.
    pub(super) fn record(&mut self, passed: bool, up: bool, rise: u32, fall: u32) -> Option<bool> {
        if passed {
            self.passes = self.passes.saturating_add(1);
            self.failures = 0;
            (self.passes >= rise && !up).then_some(true)
        } else {
            self.failures = self.failures.saturating_add(1);
            self.passes = 0;
            (self.failures >= fall && up).then_some(false)
        }
    }
}

/// One check: a 2xx or 3xx status from `url` within `timeout`.
async fn probe(url: String, timeout: Duration) -> bool {
    routecast_http::fetch_text(&url, timeout)
        .await
        .is_some_and(|(status, _)| (200..400).contains(&status))
}

/// Checks site `name` forever: `probe` every interval (the first at once),
/// the site taken out of rotation and brought back as [`Streak`] says,
/// counting on from the streak its status holds.
pub(super) async fn run_checks<P, F>(
    check: HealthCheck,
    name: String,
    status: Arc<SiteStatus>,
    mut probe: P,
) where
    P: FnMut() -> F,
    F: Future<Output = bool>,
{
    let mut every = tokio::time::interval(Duration::from_millis(check.interval_ms));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let passed = probe().await;
        let (passes, failures) = status.streak();
        let mut streak = Streak { passes, failures };
        let moved = streak.record(passed, status.is_up(), check.rise, check.fall);
        status.set_streak((streak.passes, streak.failures));
        match moved {
            Some(true) => {
                let passes = streak.passes;
                tracing::info!(site = %name, url = %check.url, passes, "site up: back in rotation");
                status.set_up(true);
            }
            Some(false) => {
                let failures = streak.failures;
                tracing::warn!(site = %name, url = %check.url, failures, "site down: out of rotation");
                status.set_up(false);
            }
            None => {}
        }
    }
}

/// Starts checking site `name` as `check` says, keeping its health in
/// `status`; abort the handle to stop.
pub(crate) fn spawn_check(
    check: HealthCheck,
    name: String,
    status: Arc<SiteStatus>,
) -> tokio::task::AbortHandle {
    let (url, timeout) = (check.url.clone(), Duration::from_millis(check.timeout_ms));
    let checks = run_checks(check, name, status, move || probe(url.clone(), timeout));
    tokio::spawn(checks).abort_handle()
}
