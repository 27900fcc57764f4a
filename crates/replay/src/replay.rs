//! The virtual-time replay: requests in log order in, accounts out.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;

use routecast_accesslog::Request;
use routecast_engine::{
    IntegerView, LoadView, Locator, Mbps, Outcome, Platform, PrepareMemo, Prepared, RouteMemo,
    Router, Scratch, Site, SiteId, SiteState, SiteView,
};

use crate::intern::Interned;
use crate::queue::{ReorderQueue, Starts};
use crate::series::{Flags, Series, Span};
use crate::summary::Report;

/// How a replay bins and orders time, and models missing durations.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayConfig {
    /// Width of a bin, ms (default 60 s).
    pub step_ms: i64,
    /// How far out of order (by start time) lines may arrive and still be
    /// routed in order, ms (default 60 s).
    pub window_ms: i64,
    /// Bit rate by path prefix, for requests the log gives no duration
    /// (the first matching prefix wins).
    pub bitrates: Vec<(String, Mbps)>,
    /// Bit rate of any other request without a duration (default 5 Mbit/s).
    pub default_bitrate: Mbps,
    /// The load a site reports is its traffic averaged over this long, ms
    /// (default 30 s), as a site's statistics (a rate over the last half
    /// minute) would show it: a request adds `bytes ÷ max(duration, window)`
    /// to its site's load from its start for `max(duration, window)`. Without
    /// it, a 6-second HLS segment fetched in 0.2 s would count as a 30× burst.
    /// (The accounts always spread bytes over the request's own duration.)
    pub load_window_ms: i64,
}

impl Default for ReplayConfig {
    fn default() -> Self {
        Self {
            step_ms: 60_000,
            window_ms: 60_000,
            bitrates: Vec::new(),
            default_bitrate: Mbps(5.0),
            load_window_ms: 30_000,
        }
    }
}

impl ReplayConfig {
    /// The modelled duration of `bytes` at the bit rate of `path` (bytes,
    /// as logged), ms.
    pub fn model_ms(&self, path: &[u8], bytes: u64) -> u64 {
        let rate = self
            .bitrates
            .iter()
            .find(|(p, _)| path.starts_with(p.as_bytes()))
            .map_or(self.default_bitrate, |(_, r)| *r);
        if rate.0 <= 0.0 {
            return 0;
        }
        (bytes as f64 * 8.0 / (rate.0 * 1000.0)) as u64
    }
}

/// Counters of a replay.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReplayStats {
    /// Requests routed.
    pub requests: u64,
    /// Requests whose start came later than the reordering window allowed:
    /// routed at once, with the load of the moment they arrived.
    pub late: u64,
    /// Requests sent away from their preferred site by capacity.
    pub spilled: u64,
    /// Requests for which every candidate was full.
    pub over_capacity: u64,
    /// Requests no site could serve.
    pub no_site: u64,
}

/// Client slots of the preparation memo (2^16: a day's viewers mostly fit).
const PLACE_SLOT_BITS: u32 = 16;

/// Sets of the replay's route memo (2^14 sets of 4: the viewers of the
/// last minutes).
const MEMO_SLOT_BITS: u32 = 14;

/// A request ready to replay: its interval, its size and the load-independent
/// part of its decision. Plain data: it crosses threads and waits in the
/// reordering window without holding the log line.
#[derive(Debug, Clone, Copy)]
pub struct PreparedRequest {
    start: i64,
    end: i64,
    bytes: u64,
    prep: Prepared,
}

/// A request in the reordering window: its interval and size, and the id
/// of its preparation, kept once in [`Interned`] for all the requests that
/// share it (32 bytes here instead of 104: the window is written and read
/// back from main memory).
#[derive(Debug, Clone, Copy)]
struct Waiting {
    start: i64,
    end: i64,
    bytes: u64,
    id: u32,
}

impl Starts for Waiting {
    fn start(&self) -> i64 {
        self.start
    }
}

/// Turns parsed log lines into [`PreparedRequest`]s: locates the client,
/// classifies it and picks its policy, remembering what it found for recent
/// addresses and content prefixes ([`PrepareMemo`]).
/// Owns everything it needs, so it can run on the thread that parses while
/// [`Replay::push_prepared`] routes on another.
pub struct Preparer {
    router: Router,
    locator: Arc<dyn Locator>,
    config: ReplayConfig,
    memo: PrepareMemo,
}

impl std::fmt::Debug for Preparer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Preparer").finish_non_exhaustive()
    }
}

impl Preparer {
    fn new(router: Router, locator: Arc<dyn Locator>, config: ReplayConfig) -> Self {
        Self {
            router,
            locator,
            config,
            memo: PrepareMemo::with_slot_bits(PLACE_SLOT_BITS),
        }
    }

    /// The replay-ready form of `r`.
    pub fn prepare(&mut self, r: &Request<'_>) -> PreparedRequest {
        let model = match r.duration_ms {
            Some(_) => 0,
            None => self.config.model_ms(r.path, r.bytes),
        };
        let (start, end) = r.interval(model);
        PreparedRequest {
            start,
            end,
            bytes: r.bytes,
            prep: self
                .router
                .prepare_memo(r.client, r.path, &*self.locator, &mut self.memo),
        }
    }
}

/// A request in progress at a site, adding `rate` bit/s until `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Active {
    end: i64,
    site: SiteId,
    rate: i64,
}
impl PartialOrd for Active {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Active {
    fn cmp(&self, o: &Self) -> Ordering {
        (self.end, self.site, self.rate).cmp(&(o.end, o.site, o.rate))
    }
}

/// A request's share of its site's load, bit/s: its bytes over how long it
/// counts, at most [`MAX_RATE`] (so that sums of millions never overflow).
fn rate_bps(bytes: u64, lasts_ms: i64) -> i64 {
    let lasts = lasts_ms.max(1).unsigned_abs();
    // In 64 bits when the product fits (a 128-bit division is a call).
    let bps = match bytes.checked_mul(8000) {
        Some(bits) => u128::from(bits / lasts),
        None => u128::from(bytes) * 8000 / u128::from(lasts),
    };
    bps.min(MAX_RATE as u128) as i64
}

/// 2^40 bit/s (a terabit per second): more than any one request carries.
const MAX_RATE: i64 = 1 << 40;

/// Requests in progress, by end. Most last exactly the load window and are
/// routed in start order, so their ends come in order: those wait in a FIFO
/// (O(1)); the others (longer, or routed late) in a heap. (A longer one in
/// the FIFO would send every request after it to the heap until it ended.)
/// Loads are integers (bit/s), so the order in which requests ending at the
/// same moment leave does not change any sum: only which have ended by
/// `now` matters.
#[derive(Debug, Default)]
struct InProgress {
    in_order: VecDeque<Active>,
    others: BinaryHeap<Reverse<Active>>,
}

impl InProgress {
    /// Adds `a`; `window` says it lasts exactly the load window.
    fn push(&mut self, a: Active, window: bool) {
        if window && self.in_order.back().is_none_or(|b| b.end <= a.end) {
            self.in_order.push_back(a);
        } else {
            self.others.push(Reverse(a));
        }
    }

    /// A request ended by `now`, if any is left.
    fn pop_ended(&mut self, now: i64) -> Option<Active> {
        if self.in_order.front().is_some_and(|a| a.end <= now) {
            return self.in_order.pop_front();
        }
        if self.others.peek().is_some_and(|a| a.0.end <= now) {
            return self.others.pop().map(|r| r.0);
        }
        None
    }

    fn len(&self) -> usize {
        self.in_order.len() + self.others.len()
    }
}

/// The load the replayed requests put on each site at the current virtual
/// time, bit/s.
struct SimulatedLoad<'a> {
    bps: &'a [i64],
    /// The sites' configured states (read from `Site`s, big structs, they
    /// cost a cache line each).
    states: &'a [SiteState],
}

impl LoadView for SimulatedLoad<'_> {
    fn load(&self, site: SiteId) -> Mbps {
        Mbps::from_bps(self.bps.get(site.index()).copied().unwrap_or(0))
    }

    fn state(&self, site: SiteId, configured: SiteState) -> SiteState {
        self.states.get(site.index()).copied().unwrap_or(configured)
    }

    /// Every site at once, without a virtual call per site and question
    /// (simulated sites are always up, in their configured state).
    fn snapshot(&self, _sites: &[Site], out: &mut [SiteView]) {
        for ((view, bps), state) in out.iter_mut().zip(self.bps).zip(self.states) {
            *view = SiteView {
                load: Mbps::from_bps(*bps),
                up: true,
                state: *state,
            };
        }
    }

    /// The loads as they are kept, integers: the route memo compares them
    /// with integer thresholds (no conversion per site and request).
    fn integer_view(&self) -> Option<IntegerView<'_>> {
        Some(IntegerView {
            bps: self.bps,
            states: self.states,
        })
    }
}

/// Replays requests through the engine in virtual time. Memory holds the
/// requests in the reordering window and in progress, and the series; never
/// the log.
pub struct Replay {
    router: Router,
    config: ReplayConfig,
    scratch: Scratch,
    /// Routes of recent requests, while the sites' regimes hold.
    memo: RouteMemo,
    /// Prepares what [`Replay::push`] is given.
    preparer: Preparer,
    pending: ReorderQueue<Waiting>,
    /// The preparations of the requests in `pending`.
    interned: Interned,
    active: InProgress,
    /// Each site's load, bit/s: exact sums, whatever the order of ends.
    load: Vec<i64>,
    /// Each site's configured state.
    states: Vec<SiteState>,
    sites: Vec<Series>,
    groups: Vec<Series>,
    stats: ReplayStats,
    newest_start: i64,
    last_routed: i64,
}

impl std::fmt::Debug for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replay")
            .field("config", &self.config)
            .field("pending", &self.pending.len())
            .field("active", &self.active.len())
            .field("stats", &self.stats)
            .finish()
    }
}

impl Replay {
    /// A replay over `platform`, locating clients with `locator`.
    pub fn new(platform: Arc<Platform>, locator: Arc<dyn Locator>, config: ReplayConfig) -> Self {
        let (n_sites, n_groups) = (platform.sites().len(), platform.groups().len());
        let states = platform.sites().iter().map(|s| s.state).collect();
        let router = Router::new(platform);
        Self {
            preparer: Preparer::new(router.clone(), locator, config.clone()),
            router,
            config,
            scratch: Scratch::default(),
            memo: RouteMemo::with_slot_bits(MEMO_SLOT_BITS),
            pending: ReorderQueue::default(),
            interned: Interned::default(),
            active: InProgress::default(),
            load: vec![0; n_sites],
            states,
            sites: vec![Series::default(); n_sites],
            groups: vec![Series::default(); n_groups],
            stats: ReplayStats::default(),
            newest_start: i64::MIN,
            last_routed: i64::MIN,
        }
    }

    /// Takes the next request in log order.
    pub fn push(&mut self, r: &Request<'_>) {
        let p = self.preparer.prepare(r);
        self.push_prepared(p);
    }

    /// A [`Preparer`] for this replay's platform, locator and configuration,
    /// to prepare requests on another thread.
    pub fn preparer(&self) -> Preparer {
        let p = &self.preparer;
        Preparer::new(p.router.clone(), p.locator.clone(), p.config.clone())
    }

    /// Takes the next request in log order, prepared by [`Replay::preparer`]'s
    /// [`Preparer::prepare`].
    pub fn push_prepared(&mut self, p: PreparedRequest) {
        self.newest_start = self.newest_start.max(p.start);
        let horizon = self.newest_start.saturating_sub(self.config.window_ms);
        if self.pending.due(horizon) {
            self.release(horizon);
        }
        let w = Waiting {
            start: p.start,
            end: p.end,
            bytes: p.bytes,
            id: self.interned.add(&p.prep),
        };
        if let Err(w) = self.pending.push(w) {
            self.route_waiting(w);
        }
    }

    fn release(&mut self, horizon: i64) {
        let mut pending = std::mem::take(&mut self.pending);
        pending.release(horizon, |w| self.route_waiting(w));
        self.pending = pending;
    }

    /// Routes a request that leaves the window (or was too late for it).
    fn route_waiting(&mut self, w: Waiting) {
        let prep = self.interned.take(w.id);
        self.route_next(PreparedRequest {
            start: w.start,
            end: w.end,
            bytes: w.bytes,
            prep,
        });
    }

    /// Routes what is still waiting and returns the accounts.
    pub fn finish(mut self) -> Report {
        let mut pending = std::mem::take(&mut self.pending);
        pending.drain(|w| self.route_waiting(w));
        // Every request that waited took its preparation back.
        debug_assert_eq!(self.interned.len(), 0, "preparations left behind");
        let platform = self.router.platform().clone();
        Report::new(
            &platform,
            self.config.step_ms,
            self.sites,
            self.groups,
            self.stats,
        )
    }

    /// Requests routed so far.
    pub fn stats(&self) -> &ReplayStats {
        &self.stats
    }

    fn route_next(&mut self, p: PreparedRequest) {
        if p.start < self.last_routed {
            self.stats.late += 1;
        }
        self.last_routed = self.last_routed.max(p.start);
        let now = self.last_routed;
        while let Some(a) = self.active.pop_ended(now) {
            self.load[a.site.index()] -= a.rate;
        }
        self.route(&p);
    }

    fn route(&mut self, p: &PreparedRequest) {
        let d = self.router.route_memo(
            &p.prep,
            &SimulatedLoad {
                bps: &self.load,
                states: &self.states,
            },
            &mut self.memo,
            &mut self.scratch,
        );
        self.stats.requests += 1;
        let flags = Flags {
            spilled: d.outcome == Outcome::SpilledOver,
            unserved: matches!(d.outcome, Outcome::OverCapacity | Outcome::NoSite),
        };
        self.stats.spilled += u64::from(flags.spilled);
        self.stats.over_capacity += u64::from(d.outcome == Outcome::OverCapacity);
        self.stats.no_site += u64::from(d.outcome == Outcome::NoSite);
        let step = self.config.step_ms;
        let span = Span::new(step, p.start, p.end);
        self.groups[d.group.index()].add_span(&span, p.bytes, flags);
        if let Some(site) = d.site {
            self.sites[site.index()].add_span(&span, p.bytes, flags);
            let lasts = (p.end - p.start).max(self.config.load_window_ms);
            if lasts > 0 {
                let rate = rate_bps(p.bytes, lasts);
                self.load[site.index()] += rate;
                let a = Active {
                    end: p.start + lasts,
                    site,
                    rate,
                };
                self.active.push(a, lasts == self.config.load_window_ms);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the mix of in-order and out-of-order ends, the requests
        /// that leave by `now` are exactly those a single heap lets go.
        #[test]
        fn in_progress_releases_what_one_heap_releases(
            steps in proptest::collection::vec((0i64..50, 0i64..3, 0u16..3, any::<bool>()), 1..200),
        ) {
            let (mut ours, mut heap) = (InProgress::default(), BinaryHeap::new());
            let mut now = 0i64;
            for (i, (advance, extra, site, pop)) in steps.into_iter().enumerate() {
                let window = extra == 1;
                if pop {
                    now += advance;
                    let mut want = Vec::new();
                    while heap.peek().is_some_and(|a: &Reverse<Active>| a.0.end <= now) {
                        want.extend(heap.pop().map(|r| r.0));
                    }
                    let mut got = Vec::new();
                    while let Some(a) = ours.pop_ended(now) {
                        got.push(a);
                    }
                    got.sort();
                    prop_assert_eq!(got, want);
                } else {
                    // Mostly now + 30 (in order), sometimes longer or earlier.
                    let end = now + 30 + (extra - 1) * advance;
                    let a = Active { end, site: SiteId(site), rate: i as i64 };
                    ours.push(a, window);
                    heap.push(Reverse(a));
                }
                prop_assert_eq!(ours.len(), heap.len());
            }
        }
    }

    #[test]
    fn rates_are_bits_per_second_and_bounded() {
        // 3.75 MB over 30 s: 1 Mbit/s.
        assert_eq!(rate_bps(3_750_000, 30_000), 1_000_000);
        assert_eq!(rate_bps(1, 0), 8000);
        assert_eq!(rate_bps(u64::MAX, 1), MAX_RATE);
    }
}
