//! The virtual-time replay: requests in log order in, accounts out.

use std::sync::{Arc, Mutex, PoisonError};

use routecast_accesslog::{Client, HostName, Request};
use routecast_engine::{
    Continent, CountryCode, Location, Locator, Outcome, Platform, PrepareMemo, Prepared, RouteMemo,
    Router, Scratch, SiteState,
};

use crate::config::ReplayConfig;
use crate::intern::Interned;
use crate::load::{rate_bps, Active, InProgress, SimulatedLoad};
use crate::proximity::ProximityAccounts;
use crate::queue::{ReorderQueue, Starts};
use crate::series::{Flags, Series, Span};
use crate::summary::Report;
use crate::unserved::{LeftOut, Tally, UnservedPaths};

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
    /// Their bytes.
    pub no_site_bytes: u64,
    /// Those of `no_site` whose path no site's content covers.
    pub not_served: u64,
    /// Their bytes.
    pub not_served_bytes: u64,
    /// Requests whose client the log gave as a host name, not an address
    /// (grouped by its country-code domain, if any; never resolved).
    pub host_clients: u64,
    /// Of those, the requests whose host name ends in a country code.
    pub host_clients_with_country: u64,
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
    /// What this preparer counted, added to `sink` (the replay's, shared
    /// by its preparers on whichever threads they run) when dropped.
    counts: PreparerCounts,
    sink: Arc<Mutex<PreparerCounts>>,
}

/// What preparers count for the replay's summary.
#[derive(Debug, Default)]
struct PreparerCounts {
    /// Requests no site serves, by path prefix.
    unserved: UnservedPaths,
    /// Requests from clients the log names by host.
    host_clients: u64,
    /// Of those, the ones whose name ends in a country code.
    host_clients_with_country: u64,
}

impl PreparerCounts {
    fn is_empty(&self) -> bool {
        self.unserved.is_empty() && self.host_clients == 0
    }

    fn merge(&mut self, other: PreparerCounts) {
        self.unserved.merge(other.unserved);
        self.host_clients += other.host_clients;
        self.host_clients_with_country += other.host_clients_with_country;
    }
}

impl Drop for Preparer {
    fn drop(&mut self) {
        self.flush();
    }
}

impl std::fmt::Debug for Preparer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Preparer").finish_non_exhaustive()
    }
}

impl Preparer {
    fn new(
        router: Router,
        locator: Arc<dyn Locator>,
        config: ReplayConfig,
        sink: Arc<Mutex<PreparerCounts>>,
    ) -> Self {
        Self {
            router,
            locator,
            config,
            memo: PrepareMemo::with_slot_bits(PLACE_SLOT_BITS),
            counts: PreparerCounts::default(),
            sink,
        }
    }

    /// Adds what this preparer counted to the replay's.
    fn flush(&mut self) {
        if !self.counts.is_empty() {
            let mut sink = self.sink.lock().unwrap_or_else(PoisonError::into_inner);
            sink.merge(std::mem::take(&mut self.counts));
        }
    }

    /// The replay-ready form of `r`.
    #[inline]
    pub fn prepare(&mut self, r: &Request<'_>) -> PreparedRequest {
        let model = match r.duration_ms {
            Some(_) => 0,
            None => self.config.model_ms(r.path, r.bytes),
        };
        let (start, end) = r.interval(model);
        let prep = match r.client {
            Client::Ip(address) => {
                self.router
                    .prepare_memo(address, r.path, &*self.locator, &mut self.memo)
            }
            Client::Host(host) => self.prepare_named(host, r.path),
        };
        if !prep.served_by_some_site() {
            self.counts.unserved.count(r.path, r.bytes);
        }
        PreparedRequest {
            start,
            end,
            bytes: r.bytes,
            prep,
        }
    }

    /// The preparation for a client the log names by host: located by its
    /// country-code domain (and that country's continent), never resolved.
    #[inline(never)]
    fn prepare_named(&mut self, host: HostName<'_>, path: &[u8]) -> Prepared {
        let country = host
            .country()
            .and_then(|c| std::str::from_utf8(&c).ok()?.parse::<CountryCode>().ok());
        let location = Location {
            country,
            continent: country.and_then(Continent::of_country),
            ..Location::default()
        };
        self.counts.host_clients += 1;
        self.counts.host_clients_with_country += u64::from(country.is_some());
        let name = host.as_str().as_bytes();
        self.router
            .prepare_memo_named(name, &location, path, &mut self.memo)
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
    /// How near the serving sites were, per site and group.
    proximity: ProximityAccounts,
    /// What the preparers counted (shared with them).
    counts: Arc<Mutex<PreparerCounts>>,
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
        let proximity = ProximityAccounts::new(&platform);
        let router = Router::new(platform);
        let counts = Arc::new(Mutex::new(PreparerCounts::default()));
        Self {
            preparer: Preparer::new(router.clone(), locator, config.clone(), counts.clone()),
            proximity,
            counts,
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
        Preparer::new(
            p.router.clone(),
            p.locator.clone(),
            p.config.clone(),
            p.sink.clone(),
        )
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
        self.preparer.flush();
        {
            let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
            self.stats.host_clients = counts.host_clients;
            self.stats.host_clients_with_country = counts.host_clients_with_country;
        }
        let platform = self.router.platform().clone();
        let left_out = self.left_out(&platform);
        let mut report = Report::new(
            &platform,
            self.config.step_ms,
            self.sites,
            self.groups,
            self.stats,
        );
        report.left_out = left_out;
        report.add_proximity(&self.proximity.sites, &self.proximity.groups);
        report
    }

    /// What the replay routed to no site, and why.
    fn left_out(&self, platform: &routecast_engine::Platform) -> LeftOut {
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let (not_served_prefixes, not_served_other) = counts.unserved.top(platform);
        let s = &self.stats;
        LeftOut {
            not_served: Tally {
                requests: s.not_served,
                bytes: s.not_served_bytes,
            },
            not_served_prefixes,
            not_served_other,
            no_site_available: Tally {
                requests: s.no_site - s.not_served,
                bytes: s.no_site_bytes - s.not_served_bytes,
            },
            late: s.late,
        }
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
            unserved: matches!(
                d.outcome,
                Outcome::OverCapacity | Outcome::NoSite | Outcome::NotServed
            ),
        };
        self.stats.spilled += u64::from(flags.spilled);
        self.stats.over_capacity += u64::from(d.outcome == Outcome::OverCapacity);
        let no_site = matches!(d.outcome, Outcome::NoSite | Outcome::NotServed);
        self.stats.no_site += u64::from(no_site);
        if no_site {
            self.stats.no_site_bytes = self.stats.no_site_bytes.saturating_add(p.bytes);
        }
        let not_served = d.outcome == Outcome::NotServed;
        self.stats.not_served += u64::from(not_served);
        if not_served {
            self.stats.not_served_bytes = self.stats.not_served_bytes.saturating_add(p.bytes);
        }
        let step = self.config.step_ms;
        let span = Span::new(step, p.start, p.end);
        self.groups[d.group.index()].add_span(&span, p.bytes, flags);
        if let Some(site) = d.site {
            self.sites[site.index()].add_span(&span, p.bytes, flags);
            self.proximity.serve(&p.prep, site, p.bytes);
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
