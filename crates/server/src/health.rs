//! Active HTTP health checks: one task per checked site, GET its URL every
//! interval; `fall` consecutive failures take it out of rotation, `rise`
//! consecutive passes bring it back. Sites start up; sites without a check
//! are always up.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use routecast_engine::{HealthCheck, LoadView, Mbps, Platform, SiteId, SiteState};

/// The health of every site, shared between checkers and request handlers,
/// and the operators' state overrides (drain, disable) from the admin API.
#[derive(Debug)]
pub struct Health {
    up: Vec<AtomicBool>,
    /// 0: as configured; 1 active; 2 draining; 3 disabled.
    state: Vec<AtomicU8>,
    /// Last polled bandwidth, Mbit/s (f64 bits).
    polled: Vec<AtomicU64>,
    /// Estimated Mbit/s of the sessions sent since the last poll (f64 bits).
    recent: Vec<AtomicU64>,
}

impl Health {
    /// Every site of `platform` up, in its configured state.
    pub fn new(platform: &Platform) -> Self {
        Self {
            up: platform
                .sites()
                .iter()
                .map(|_| AtomicBool::new(true))
                .collect(),
            state: platform.sites().iter().map(|_| AtomicU8::new(0)).collect(),
            polled: platform.sites().iter().map(|_| AtomicU64::new(0)).collect(),
            recent: platform.sites().iter().map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// A new polled bandwidth for `site`; the estimate of recent sessions
    /// starts again, as the site's statistics now include them.
    pub fn set_polled(&self, site: SiteId, mbps: f64) {
        if let (Some(p), Some(r)) = (self.polled.get(site.index()), self.recent.get(site.index())) {
            p.store(mbps.to_bits(), Ordering::Relaxed);
            r.store(0f64.to_bits(), Ordering::Relaxed);
        }
    }

    /// Adds a session just sent to `site` to its estimated load.
    pub fn add_session(&self, site: SiteId, mbps: f64) {
        if let Some(r) = self.recent.get(site.index()) {
            let _ = r.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some((f64::from_bits(b) + mbps).to_bits())
            });
        }
    }

    /// The last polled bandwidth of `site`, Mbit/s (0 before a first poll).
    pub fn polled(&self, site: SiteId) -> f64 {
        self.polled
            .get(site.index())
            .map_or(0.0, |a| f64::from_bits(a.load(Ordering::Relaxed)))
    }

    /// Polled plus estimated bandwidth of `site`, Mbit/s.
    pub fn load(&self, site: SiteId) -> f64 {
        let get = |v: &Vec<AtomicU64>| {
            v.get(site.index())
                .map_or(0.0, |a| f64::from_bits(a.load(Ordering::Relaxed)))
        };
        get(&self.polled) + get(&self.recent)
    }

    /// Overrides the operator state of `site` (`None`: back to the configuration).
    pub fn set_state(&self, site: SiteId, state: Option<SiteState>) {
        let v = match state {
            None => 0,
            Some(SiteState::Active) => 1,
            Some(SiteState::Draining) => 2,
            Some(SiteState::Disabled) => 3,
        };
        if let Some(s) = self.state.get(site.index()) {
            s.store(v, Ordering::Relaxed);
        }
    }

    /// The state in force for `site`, given the configured one.
    pub fn state(&self, site: SiteId, configured: SiteState) -> SiteState {
        match self
            .state
            .get(site.index())
            .map(|s| s.load(Ordering::Relaxed))
        {
            Some(1) => SiteState::Active,
            Some(2) => SiteState::Draining,
            Some(3) => SiteState::Disabled,
            _ => configured,
        }
    }

    /// Whether `site` passes its checks.
    pub fn is_up(&self, site: SiteId) -> bool {
        self.up
            .get(site.index())
            .is_none_or(|u| u.load(Ordering::Relaxed))
    }

    fn set(&self, site: SiteId, up: bool) {
        if let Some(u) = self.up.get(site.index()) {
            u.store(up, Ordering::Relaxed);
        }
    }
}

/// What the request handlers route with: health from the checks, operator
/// overrides, and load (polled plus recent sessions).
#[derive(Debug, Clone)]
pub struct ServerView(pub Arc<Health>);

impl LoadView for ServerView {
    fn load(&self, site: SiteId) -> Mbps {
        Mbps(self.0.load(site))
    }
    fn is_up(&self, site: SiteId) -> bool {
        self.0.is_up(site)
    }
    fn state(&self, site: SiteId, configured: SiteState) -> SiteState {
        self.0.state(site, configured)
    }
}

/// Consecutive results of one site's checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Streak {
    passes: u32,
    failures: u32,
}

impl Streak {
    /// Counts one check of a site that is `up` now: `Some(true)` when it
    /// comes back (`rise` passes in a row), `Some(false)` when it leaves
    /// rotation (`fall` failures in a row), `None` when it stays as it is.
    fn record(&mut self, passed: bool, up: bool, rise: u32, fall: u32) -> Option<bool> {
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

/// Checks site `id` (named `name`) forever: `probe` every interval, the
/// site taken out of rotation and brought back as [`Streak`] says.
async fn run_checks<P, F>(
    check: HealthCheck,
    id: SiteId,
    name: String,
    health: Arc<Health>,
    mut probe: P,
) where
    P: FnMut() -> F,
    F: Future<Output = bool>,
{
    let mut every = tokio::time::interval(Duration::from_millis(check.interval_ms));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut streak = Streak::default();
    loop {
        every.tick().await;
        let passed = probe().await;
        match streak.record(passed, health.is_up(id), check.rise, check.fall) {
            Some(true) => {
                let passes = streak.passes;
                tracing::info!(site = %name, url = %check.url, passes, "site up: back in rotation");
                health.set(id, true);
            }
            Some(false) => {
                let failures = streak.failures;
                tracing::warn!(site = %name, url = %check.url, failures, "site down: out of rotation");
                health.set(id, false);
            }
            None => {}
        }
    }
}

/// Starts the checks of every site that has one; returns their handles
/// (abort them to stop the checks, e.g. when a reload replaces the platform).
pub fn spawn_checks(platform: &Platform, health: Arc<Health>) -> Vec<tokio::task::AbortHandle> {
    let mut handles = Vec::new();
    for (i, site) in platform.sites().iter().enumerate() {
        let Some(check) = site.health.clone() else {
            continue;
        };
        let (url, timeout) = (check.url.clone(), Duration::from_millis(check.timeout_ms));
        let checks = run_checks(
            check,
            SiteId(i as u16),
            site.name.clone(),
            health.clone(),
            move || probe(url.clone(), timeout),
        );
        handles.push(tokio::spawn(checks).abort_handle());
    }
    handles
}

#[cfg(test)]
mod tests;
