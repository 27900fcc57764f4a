//! The live state of every site — health from the active checks, the
//! operators' overrides, the polled load and the estimates of recent
//! redirects — kept across reloads.
//!
//! Active HTTP health checks (`checks`): one task per checked site, GET its
//! URL every interval; `fall` consecutive failures take it out of rotation,
//! `rise` consecutive passes bring it back. Sites start up; sites without a
//! check are always up.
//!
//! A reload builds a new [`Health`] with [`Health::carried`]: each site that
//! remains (by name) keeps the very same `SiteStatus` (up or down, the
//! check's streak, the override, the last polled figure) and its estimate
//! rings; new sites start up, in their configured state; removed ones are
//! forgotten.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::Arc;

use routecast_engine::{LoadView, Mbps, Platform, SessionClass, SiteId, SiteState};
use tokio::time::Instant;

use crate::estimate::{kbps, Ring};

mod checks;

pub(crate) use checks::spawn_check;
#[cfg(test)]
use checks::{run_checks, Streak};

/// One site's live state, shared by its checker, its poller and every
/// [`Health`] that has the site (the running one and, for requests in
/// flight, the one before a reload).
#[derive(Debug, Default)]
pub(crate) struct SiteStatus {
    /// Out of rotation by its checks.
    down: AtomicBool,
    /// Consecutive passes of its checks.
    passes: AtomicU32,
    /// Consecutive failures of its checks.
    failures: AtomicU32,
    /// 0: as configured; 1 active; 2 draining; 3 disabled.
    state: AtomicU8,
    /// Last polled bandwidth, Mbit/s (f64 bits).
    polled: AtomicU64,
    /// The second (of the [`Health`]'s clock) the last poll asked in:
    /// estimates made before it are in the polled figure.
    floor: AtomicU32,
}

impl SiteStatus {
    /// Whether the site passes its checks.
    pub(crate) fn is_up(&self) -> bool {
        !self.down.load(Relaxed)
    }

    /// Puts the site in or out of rotation.
    pub(crate) fn set_up(&self, up: bool) {
        self.down.store(!up, Relaxed);
    }

    /// The consecutive passes and failures of its checks.
    pub(crate) fn streak(&self) -> (u32, u32) {
        (self.passes.load(Relaxed), self.failures.load(Relaxed))
    }

    /// Records the consecutive passes and failures of its checks.
    pub(crate) fn set_streak(&self, (passes, failures): (u32, u32)) {
        self.passes.store(passes, Relaxed);
        self.failures.store(failures, Relaxed);
    }

    /// A check that no longer runs: up, no streak.
    pub(crate) fn unchecked(&self) {
        self.set_up(true);
        self.set_streak((0, 0));
    }

    /// A new polled figure, asked for in second `asked` of the clock.
    pub(crate) fn set_polled(&self, mbps: f64, asked: u32) {
        self.polled.store(mbps.to_bits(), Relaxed);
        self.floor.fetch_max(asked, Relaxed);
    }

    /// The last polled figure, Mbit/s.
    pub(crate) fn polled(&self) -> f64 {
        f64::from_bits(self.polled.load(Relaxed))
    }

    /// A load source that no longer runs: no polled figure.
    pub(crate) fn unpolled(&self) {
        self.polled.store(0f64.to_bits(), Relaxed);
    }
}

/// The seconds of a [`Health`]'s clock: whole seconds since its epoch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    epoch: Instant,
}

impl Clock {
    /// The second `at` falls in.
    pub(crate) fn second(self, at: Instant) -> u32 {
        let secs = at.saturating_duration_since(self.epoch).as_secs();
        u32::try_from(secs).unwrap_or(u32::MAX)
    }

    /// The second now falls in (tokio's clock: paused in tests).
    pub(crate) fn now(self) -> u32 {
        self.second(Instant::now())
    }
}

/// One site in a [`Health`].
#[derive(Debug)]
struct SiteLive {
    name: String,
    status: Arc<SiteStatus>,
    /// One ring per hold of [`Health::holds`], in that order.
    rings: Vec<Arc<Ring>>,
}

/// The live state of every site of one configuration, shared between the
/// request handlers, checkers and pollers.
#[derive(Debug)]
pub struct Health {
    clock: Clock,
    sites: Vec<SiteLive>,
    /// The hold of each ring, seconds; every site has one ring of each.
    holds: Vec<u32>,
    /// The ring of each session class, then of the default class.
    class_ring: Vec<usize>,
}

impl Health {
    /// Every site of `platform` up, in its configured state, idle.
    pub fn new(platform: &Platform) -> Self {
        Self::build(platform, None)
    }

    /// The health of `platform` after a reload from one whose health was
    /// `old`: every site that remains (by name) keeps its state (see the
    /// module's documentation), new sites start as in [`Health::new`].
    pub fn carried(platform: &Platform, old: &Health) -> Self {
        Self::build(platform, Some(old))
    }

    fn build(platform: &Platform, old: Option<&Health>) -> Self {
        let clock = old.map_or(
            Clock {
                epoch: Instant::now(),
            },
            |o| o.clock,
        );
        let classes = platform.sessions().iter().map(|c| c.hold_s);
        let class_holds: Vec<u32> = classes.chain([SessionClass::DEFAULT_HOLD_S]).collect();
        let mut holds = Vec::new();
        for &h in &class_holds {
            if !holds.contains(&h) {
                holds.push(h);
            }
        }
        // Holds no class has any more: kept while their estimates last.
        holds.extend(old.map_or(Vec::new(), |o| o.holding(&holds)));
        let class_ring = class_holds
            .iter()
            .map(|h| holds.iter().position(|x| x == h).unwrap_or(0))
            .collect();
        let sites = platform
            .sites()
            .iter()
            .map(|s| SiteLive::carried(&s.name, &holds, old))
            .collect();
        Self {
            clock,
            sites,
            holds,
            class_ring,
        }
    }

    /// The holds, other than `configured`, whose rings still hold estimates.
    fn holding(&self, configured: &[u32]) -> Vec<u32> {
        let now = self.clock.now();
        let live = |i: usize| {
            self.sites.iter().any(|s| {
                let floor = s.status.floor.load(Relaxed);
                s.rings.get(i).is_some_and(|r| r.kbps(now, floor) > 0)
            })
        };
        (0..self.holds.len())
            .filter(|&i| !configured.contains(&self.holds[i]) && live(i))
            .map(|i| self.holds[i])
            .collect()
    }

    fn site(&self, site: SiteId) -> Option<&SiteLive> {
        self.sites.get(site.index())
    }

    /// The shared status of `site`, for its checker and poller.
    pub(crate) fn status(&self, site: SiteId) -> Option<Arc<SiteStatus>> {
        self.site(site).map(|s| s.status.clone())
    }

    /// This health's clock (kept across reloads).
    pub(crate) fn clock(&self) -> Clock {
        self.clock
    }

    /// A new polled bandwidth for `site`, sampled at `asked` (when the poll
    /// asked): the estimates made before then are in it and leave.
    pub fn set_polled(&self, site: SiteId, mbps: f64, asked: Instant) {
        if let Some(s) = self.site(site) {
            s.status.set_polled(mbps, self.clock.second(asked));
        }
    }

    /// Adds a redirect to `site` of session class `class` (an index of
    /// [`Platform::sessions`], `None` for the default class) at `mbps`:
    /// part of the site's estimated load for the class's hold. No lock, no
    /// allocation.
    pub fn add_session(&self, site: SiteId, class: Option<usize>, mbps: f64) {
        self.add_session_at(site, class, mbps, Instant::now());
    }

    /// [`Health::add_session`] made at `at` (the request's own reading of
    /// the clock, so that a redirect reads it once).
    pub fn add_session_at(&self, site: SiteId, class: Option<usize>, mbps: f64, at: Instant) {
        let ring = class
            .and_then(|c| self.class_ring.get(c))
            .or(self.class_ring.last())
            .and_then(|&r| self.site(site)?.rings.get(r));
        if let Some(ring) = ring {
            ring.add(self.clock.second(at), kbps(mbps));
        }
    }

    /// The last polled bandwidth of `site`, Mbit/s (0 before a first poll).
    pub fn polled(&self, site: SiteId) -> f64 {
        self.site(site).map_or(0.0, |s| s.status.polled())
    }

    /// The estimated bandwidth of the redirects to `site` not yet in a
    /// poll's figure and not expired, Mbit/s.
    pub fn estimate(&self, site: SiteId) -> f64 {
        self.estimate_in(site, self.clock.now())
    }

    /// [`Health::estimate`] in second `now` of this health's clock.
    fn estimate_in(&self, site: SiteId, now: u32) -> f64 {
        let Some(s) = self.site(site) else {
            return 0.0;
        };
        let floor = s.status.floor.load(Relaxed);
        let kbps: u64 = s.rings.iter().map(|r| r.kbps(now, floor)).sum();
        kbps as f64 / 1000.0
    }

    /// Polled plus estimated bandwidth of `site`, Mbit/s.
    pub fn load(&self, site: SiteId) -> f64 {
        self.polled(site) + self.estimate(site)
    }

    /// Overrides the operator state of `site` (`None`: back to the configuration).
    pub fn set_state(&self, site: SiteId, state: Option<SiteState>) {
        let v = match state {
            None => 0,
            Some(SiteState::Active) => 1,
            Some(SiteState::Draining) => 2,
            Some(SiteState::Disabled) => 3,
        };
        if let Some(s) = self.site(site) {
            s.status.state.store(v, Relaxed);
        }
    }

    /// The operator's override for `site`, if any.
    pub fn override_of(&self, site: SiteId) -> Option<SiteState> {
        match self.site(site)?.status.state.load(Relaxed) {
            1 => Some(SiteState::Active),
            2 => Some(SiteState::Draining),
            3 => Some(SiteState::Disabled),
            _ => None,
        }
    }

    /// The state in force for `site`, given the configured one.
    pub fn state(&self, site: SiteId, configured: SiteState) -> SiteState {
        self.override_of(site).unwrap_or(configured)
    }

    /// Whether `site` passes its checks.
    pub fn is_up(&self, site: SiteId) -> bool {
        self.site(site).is_none_or(|s| s.status.is_up())
    }
}

impl SiteLive {
    /// Site `name` with a ring of each of `holds`: the old health's status
    /// and rings of a site of that name, if it had one.
    fn carried(name: &str, holds: &[u32], old: Option<&Health>) -> Self {
        let before = old.and_then(|o| o.sites.iter().find(|s| s.name == name));
        let rings = holds
            .iter()
            .map(|&h| {
                before
                    .and_then(|b| b.rings.iter().find(|r| r.hold_s() == h))
                    .cloned()
                    .unwrap_or_else(|| Arc::new(Ring::new(h)))
            })
            .collect();
        Self {
            name: name.to_string(),
            status: before.map_or_else(Arc::default, |b| b.status.clone()),
            rings,
        }
    }
}

/// What the request handlers route with: health from the checks, operator
/// overrides, and load (polled plus recent sessions).
#[derive(Debug, Clone)]
pub struct ServerView(pub Arc<Health>);

impl ServerView {
    /// The view as it stands at `now`: a decision asks every candidate's
    /// load, and this reads the clock once for all of them (the request
    /// path's clock reading), not once per site.
    pub fn at(&self, now: Instant) -> ViewAt<'_> {
        ViewAt {
            health: &self.0,
            second: self.0.clock.second(now),
        }
    }
}

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

/// A [`ServerView`] at one second of its clock ([`ServerView::at`]).
#[derive(Debug, Clone, Copy)]
pub struct ViewAt<'a> {
    health: &'a Health,
    second: u32,
}

impl LoadView for ViewAt<'_> {
    fn load(&self, site: SiteId) -> Mbps {
        Mbps(self.health.polled(site) + self.health.estimate_in(site, self.second))
    }
    fn is_up(&self, site: SiteId) -> bool {
        self.health.is_up(site)
    }
    fn state(&self, site: SiteId, configured: SiteState) -> SiteState {
        self.health.state(site, configured)
    }
}

#[cfg(test)]
mod tests;
