//! Remembered routes. The simulator routes millions of requests, most of
//! them from viewers it has just routed, under a load that changes with
//! every request but seldom changes what a policy makes of it. A policy
//! reads the sites' view in three steps only, and each turns it into a
//! small verdict per site: `available` (health and state), `capacity`
//! (room, spilled or full: the spill test hashes the client, so it is a
//! verdict per client and site) and `least_cost` (inside or past a commit).
//! Given the prepared request and those verdicts, every other step and the
//! final order are fixed. [`RouteMemo`] computes the verdicts afresh for each
//! request (the capacity verdict with the very function the step uses; the
//! cost as which side of its commit the load is on, the one thing the
//! marginal price depends on) and remembers the route by the request and
//! the verdicts together: exact (property-tested against
//! [`Router::route_prepared`]), and a hit costs a few comparisons per site.

use std::sync::Arc;

use super::{CapacityLimits, LoadView, Prepared, Route, Router, Scratch, SiteView, Verdict};
use crate::platform::{Cost, Mbps, Platform, SiteState};
use crate::policy::{Policy, Step};

/// The prepared request as exact bits (floats by their bit patterns, so a
/// missing position, NaN, equals itself).
type Key = [u64; 10];

/// Every site's verdicts, [`BITS`] a site.
type Verdicts = u128;

/// Bits of one site's verdicts: up, state (2), past a commit, capacity (2).
const BITS: u32 = 6;

/// What one policy reads of one site's view.
#[derive(Debug, Clone, Copy)]
struct SiteReads {
    /// The capacity step's limits, if the site has a capacity.
    limits: Option<CapacityLimits>,
    /// The commit, if the policy ranks by cost and the site has one: the
    /// cost key takes one value below it and one at or above it
    /// (`Cost::marginal_per_gb`).
    commit: Option<f64>,
    name_hash: u64,
}

/// Routes remembered per request: one for each of the verdicts its sites
/// last went through, as a site near a threshold goes back and forth.
const WAYS: usize = 4;

/// The routes remembered for one request, newest first.
#[derive(Debug, Clone, Copy)]
struct Set {
    key: Key,
    /// Entries in use (0: an empty set).
    used: u8,
    verdicts: [Verdicts; WAYS],
    routes: [Route; WAYS],
}

/// A set that holds nothing.
const EMPTY: Set = Set {
    key: [0; 10],
    used: 0,
    verdicts: [0; WAYS],
    routes: [Route {
        group: crate::platform::GroupId(0),
        site: None,
        preferred: None,
        outcome: super::Outcome::NoSite,
    }; WAYS],
};

/// Whether two keys are equal, without a call to `memcmp`.
#[inline]
fn same(a: &Key, b: &Key) -> bool {
    a.iter().zip(b).fold(0, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Routes of recent requests by request and verdicts; see the module text.
/// A hash of the request picks its set; a set holds one request's routes.
#[derive(Debug)]
pub struct RouteMemo {
    platform: Option<Arc<Platform>>,
    /// Per policy, what it reads of each site; `None` for a policy whose
    /// verdicts do not fit (several capacity steps, or more sites than a
    /// [`Verdicts`] holds): routed afresh every time.
    policies: Vec<Option<Vec<SiteReads>>>,
    sets: Vec<Set>,
    bits: u32,
    view: Vec<SiteView>,
    lookups: u64,
    hits: u64,
}

impl RouteMemo {
    /// A memo of `2^bits` sets of routes (allocated on first use).
    pub fn with_slot_bits(bits: u32) -> Self {
        Self {
            platform: None,
            policies: Vec::new(),
            sets: Vec::new(),
            bits: bits.clamp(1, 24),
            view: Vec::new(),
            lookups: 0,
            hits: 0,
        }
    }

    /// Starts over for `platform` (on first use, or a router of another one).
    fn reset(&mut self, platform: &Arc<Platform>) {
        self.policies = platform
            .policies
            .iter()
            .map(|p| reads(platform, p))
            .collect();
        self.sets = vec![EMPTY; 1 << self.bits];
        self.platform = Some(platform.clone());
    }

    /// Requests looked up, and how many found their route.
    pub fn hits(&self) -> (u64, u64) {
        (self.lookups, self.hits)
    }

    /// The set where `key`'s routes live.
    fn set(&self, key: &Key) -> usize {
        // The client hash (key[4]) is already well mixed; Fibonacci hashing
        // spreads the rest into the top bits.
        let h = key[0] ^ key[1] ^ key[4] ^ key[5] ^ key[6] ^ key[7] ^ key[8].rotate_left(17);
        (h.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - self.bits)) as usize
    }

    /// The route remembered for `key` under `verdicts`, if any.
    fn find(&self, set: usize, key: &Key, verdicts: Verdicts) -> Option<Route> {
        let s = self.sets.get(set)?;
        if !same(&s.key, key) {
            return None;
        }
        let used = usize::from(s.used).min(WAYS);
        let w = s.verdicts[..used].iter().position(|v| *v == verdicts)?;
        Some(s.routes[w])
    }

    /// Remembers `route` for `key` under `verdicts`: the newest of its set
    /// (the oldest goes), or the first of a new set for another request.
    fn keep(&mut self, set: usize, key: Key, verdicts: Verdicts, route: Route) {
        let Some(s) = self.sets.get_mut(set) else {
            return;
        };
        if s.used == 0 || !same(&s.key, &key) {
            *s = EMPTY;
            s.key = key;
        }
        s.verdicts.rotate_right(1);
        s.routes.rotate_right(1);
        s.verdicts[0] = verdicts;
        s.routes[0] = route;
        s.used = (s.used + 1).min(WAYS as u8);
    }

    /// Every site's verdicts for `prep` under the view in `self.view`.
    fn verdicts(&self, prep: &Prepared) -> Option<Verdicts> {
        let sites = self.policies.get(prep.policy.index())?.as_deref()?;
        let mut all: Verdicts = 0;
        for (r, view) in sites.iter().zip(&self.view) {
            let load = view.load.0;
            let state = match view.state {
                SiteState::Active => 0,
                SiteState::Draining => 1,
                SiteState::Disabled => 2,
            };
            let past_commit = r.commit.is_some_and(|c| load >= c);
            let capacity = match r
                .limits
                .map(|l| l.verdict(load, prep.client_hash, r.name_hash))
            {
                Some(Verdict::Full) => 2,
                Some(Verdict::Spilled) => 1,
                _ => 0,
            };
            let v = u32::from(view.up) | state << 1 | u32::from(past_commit) << 3 | capacity << 4;
            all = all << BITS | Verdicts::from(v);
        }
        Some(all)
    }
}

/// What `policy` reads of each site, if its verdicts fit in a [`Verdicts`].
fn reads(platform: &Platform, policy: &Policy) -> Option<Vec<SiteReads>> {
    let steps = || policy.steps.iter().map(|s| &s.step);
    let headrooms: Vec<f64> = steps()
        .filter_map(|s| match s {
            Step::Capacity { headroom } => Some(*headroom),
            _ => None,
        })
        .collect();
    let cost = steps().any(|s| matches!(s, Step::LeastCost));
    if headrooms.len() > 1 || platform.sites.len() as u32 * BITS > Verdicts::BITS {
        return None;
    }
    let reads = platform.sites.iter().map(|site| SiteReads {
        limits: headrooms
            .first()
            .zip(site.capacity)
            .map(|(h, cap)| CapacityLimits::new(cap, *h)),
        commit: match site.cost {
            Cost::Commit { mbps, .. } if cost => Some(mbps),
            _ => None,
        },
        name_hash: site.name_hash,
    });
    Some(reads.collect())
}

/// The exact bits of a prepared request.
pub(super) fn key(p: &Prepared) -> Key {
    [
        u64::from(p.group.0) << 16 | u64::from(p.policy.0),
        p.client_xyz[0].to_bits(),
        p.client_xyz[1].to_bits(),
        p.client_xyz[2].to_bits(),
        p.client_hash,
        p.path_hash,
        p.key_path,
        p.key_dir,
        p.serves[0],
        p.serves[1],
    ]
}

impl Router {
    /// [`Router::route_prepared`], remembered in `memo` by the request and
    /// the sites' verdicts (see [`RouteMemo`]): the same route, for a few
    /// comparisons per site when the request and verdicts repeat.
    pub fn route_memo(
        &self,
        prep: &Prepared,
        load: &dyn LoadView,
        memo: &mut RouteMemo,
        scratch: &mut Scratch,
    ) -> Route {
        let platform = &self.platform;
        if !memo
            .platform
            .as_ref()
            .is_some_and(|p| Arc::ptr_eq(p, platform))
        {
            memo.reset(platform);
        }
        let idle = SiteView {
            load: Mbps(0.0),
            up: true,
            state: SiteState::Active,
        };
        memo.view.clear();
        memo.view.resize(platform.sites.len(), idle);
        load.snapshot(&platform.sites, &mut memo.view);
        let Some(verdicts) = memo.verdicts(prep) else {
            return self.route_prepared(prep, load, scratch);
        };
        let key = key(prep);
        let set = memo.set(&key);
        memo.lookups += 1;
        if let Some(route) = memo.find(set, &key, verdicts) {
            memo.hits += 1;
            return route;
        }
        let route = self.route_prepared(prep, load, scratch);
        memo.keep(set, key, verdicts, route);
        route
    }
}
