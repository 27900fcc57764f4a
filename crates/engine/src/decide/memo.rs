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

use super::capacity::CapacityLimits;
use super::{IntegerView, LoadView, Prepared, Route, Router, Scratch, SiteView, Verdict};
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
    /// The same thresholds for an [`IntegerView`]: the least load in bit/s
    /// at which the site is full, in its spill band, past its commit
    /// (`i128::MAX`: at none).
    full_at: i128,
    band_from: i128,
    commit_at: i128,
}

/// The least load in bit/s whose Mbit/s ([`Mbps::from_bps`], the conversion
/// an [`IntegerView`] promises) makes `holds` true, or `i128::MAX` when none
/// does. `holds` must be false and then true as the load grows (a `>=` or
/// `>` against a threshold), which it is, as the conversion never
/// decreases; so comparing the integer load with the answer is exactly
/// comparing its Mbit/s with the threshold.
fn least_bps(holds: impl Fn(f64) -> bool) -> i128 {
    let at = |bps: i128| holds(Mbps::from_bps(bps as i64).0);
    let (mut below, mut from) = (i128::from(i64::MIN), i128::from(i64::MAX));
    if !at(from) {
        return i128::MAX;
    }
    if at(below) {
        return below;
    }
    // Invariant: !at(below), at(from).
    while from - below > 1 {
        let mid = below + (from - below) / 2;
        if at(mid) {
            from = mid;
        } else {
            below = mid;
        }
    }
    from
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
        group: crate::ids::GroupId(0),
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

    /// Every site's verdicts for `prep` under `load`: from its integer view
    /// when it has one, else from a snapshot (starting over first for
    /// another platform). `None` when they do not fit.
    fn verdicts_under(
        &mut self,
        platform: &Arc<Platform>,
        prep: &Prepared,
        load: &dyn LoadView,
    ) -> Option<Verdicts> {
        if !self
            .platform
            .as_ref()
            .is_some_and(|p| Arc::ptr_eq(p, platform))
        {
            self.reset(platform);
        }
        if let Some(view) = load.integer_view() {
            return self.verdicts_integer(prep, view);
        }
        let idle = SiteView {
            load: Mbps(0.0),
            up: true,
            state: SiteState::Active,
        };
        self.view.clear();
        self.view.resize(platform.sites.len(), idle);
        load.snapshot(&platform.sites, &mut self.view);
        self.verdicts(prep)
    }

    /// [`RouteMemo::verdicts`] from an [`IntegerView`]: the loads compared
    /// with the integer thresholds, converted only for a site in its spill
    /// band (whose verdict depends on the client); the same verdicts
    /// (property-tested).
    fn verdicts_integer(&self, prep: &Prepared, view: IntegerView<'_>) -> Option<Verdicts> {
        let sites = self.policies.get(prep.policy.index())?.as_deref()?;
        if view.bps.len() != sites.len() || view.states.len() != sites.len() {
            return None;
        }
        let mut all: Verdicts = 0;
        for (r, (bps, state)) in sites.iter().zip(view.bps.iter().zip(view.states)) {
            let bps = i128::from(*bps);
            let capacity = if bps >= r.full_at {
                Some(Verdict::Full)
            } else if bps >= r.band_from {
                let load = Mbps::from_bps(bps as i64).0;
                r.limits
                    .map(|l| l.verdict(load, prep.client_hash, r.name_hash))
            } else {
                None
            };
            // Every site of an integer view is up.
            all = all << BITS | site_bits(true, *state, bps >= r.commit_at, capacity);
        }
        Some(all)
    }

    /// Every site's verdicts for `prep` under the view in `self.view`.
    fn verdicts(&self, prep: &Prepared) -> Option<Verdicts> {
        let sites = self.policies.get(prep.policy.index())?.as_deref()?;
        let mut all: Verdicts = 0;
        for (r, view) in sites.iter().zip(&self.view) {
            let load = view.load.0;
            let past_commit = r.commit.is_some_and(|c| load >= c);
            let capacity = r
                .limits
                .map(|l| l.verdict(load, prep.client_hash, r.name_hash));
            all = all << BITS | site_bits(view.up, view.state, past_commit, capacity);
        }
        Some(all)
    }
}

/// One site's verdict bits: up, state (2), past a commit, capacity (2:
/// room, spilled or full).
#[inline]
fn site_bits(up: bool, state: SiteState, past_commit: bool, capacity: Option<Verdict>) -> Verdicts {
    let state = match state {
        SiteState::Active => 0,
        SiteState::Draining => 1,
        SiteState::Disabled => 2,
    };
    let capacity = match capacity {
        Some(Verdict::Full) => 2,
        Some(Verdict::Spilled) => 1,
        _ => 0,
    };
    Verdicts::from(u8::from(up) | state << 1 | u8::from(past_commit) << 3 | capacity << 4)
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
    let reads = platform.sites.iter().map(|site| {
        let limits = headrooms
            .first()
            .zip(site.capacity)
            .map(|(h, cap)| CapacityLimits::new(cap, *h));
        let commit = match site.cost {
            Cost::Commit { mbps, .. } if cost => Some(mbps),
            _ => None,
        };
        SiteReads {
            limits,
            commit,
            name_hash: site.name_hash,
            full_at: limits.map_or(i128::MAX, |l| least_bps(|load| load >= l.capacity)),
            band_from: limits.map_or(i128::MAX, |l| least_bps(|load| load > l.threshold)),
            commit_at: commit.map_or(i128::MAX, |c| least_bps(|load| load >= c)),
        }
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
        let Some(verdicts) = memo.verdicts_under(&self.platform, prep, load) else {
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

/// One site's verdicts as the memo keeps them, read back: tests compare
/// them with what a decision says of the site.
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SiteVerdicts {
    pub(super) up: bool,
    pub(super) state: SiteState,
    pub(super) past_commit: bool,
    /// `None`: room; else `Spilled` or `Full`.
    pub(super) capacity: Option<Verdict>,
}

/// The verdicts of `sites` sites, read back from their bits (site 0 in the
/// highest: each site shifts the earlier ones up).
#[cfg(test)]
fn read_back(all: Verdicts, sites: usize) -> Vec<SiteVerdicts> {
    let site = |i: usize| {
        let b = (all >> ((sites - 1 - i) as u32 * BITS)) as u8 & 0x3f;
        SiteVerdicts {
            up: b & 1 == 1,
            state: match b >> 1 & 3 {
                0 => SiteState::Active,
                1 => SiteState::Draining,
                2 => SiteState::Disabled,
                _ => panic!("state code 3 in {b:#b}"),
            },
            past_commit: b >> 3 & 1 == 1,
            capacity: match b >> 4 & 3 {
                0 => None,
                1 => Some(Verdict::Spilled),
                2 => Some(Verdict::Full),
                _ => panic!("capacity code 3 in {b:#b}"),
            },
        }
    };
    (0..sites).map(site).collect()
}

#[cfg(test)]
impl RouteMemo {
    /// Each site's verdicts for `prep` under `load`, read back: from its
    /// integer view (as the memo reads such a view), and from a snapshot of
    /// it (as for a view without one).
    pub(super) fn verdicts_integer_and_snapshot(
        &mut self,
        router: &Router,
        prep: &Prepared,
        load: &dyn LoadView,
    ) -> (Option<Vec<SiteVerdicts>>, Option<Vec<SiteVerdicts>>) {
        let integer = self.verdicts_under(&router.platform, prep, load);
        let view = load.integer_view().expect("an integer view");
        let snapshot: Vec<SiteView> = view
            .bps
            .iter()
            .zip(view.states)
            .map(|(b, s)| SiteView {
                load: Mbps::from_bps(*b),
                up: true,
                state: *s,
            })
            .collect();
        self.view = snapshot;
        let n = router.platform.sites.len();
        let read = |v: Option<Verdicts>| v.map(|v| read_back(v, n));
        (read(integer), read(self.verdicts(prep)))
    }

    /// Each of `policy`'s sites' thresholds, in Mbit/s and as integers:
    /// `[(capacity, full_at), (spill threshold, band_from), (commit,
    /// commit_at)]`, NaN where the site has none.
    pub(super) fn integer_thresholds(&self, policy: usize) -> Vec<[(f64, i128); 3]> {
        let sites = self.policies.get(policy).and_then(|p| p.as_deref());
        sites
            .unwrap_or_default()
            .iter()
            .map(|r| {
                let (cap, threshold) = r
                    .limits
                    .map_or((f64::NAN, f64::NAN), |l| (l.capacity, l.threshold));
                [
                    (cap, r.full_at),
                    (threshold, r.band_from),
                    (r.commit.unwrap_or(f64::NAN), r.commit_at),
                ]
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_bps_at_the_edges() {
        let mbps = |b: i128| Mbps::from_bps(b as i64).0;
        let nan = f64::from_bits(0x7ff8_0000_0000_0001); // a threshold never reached
        assert_eq!(least_bps(|l| l.partial_cmp(&nan).is_some()), i128::MAX);
        assert_eq!(least_bps(|l| l >= f64::INFINITY), i128::MAX);
        assert_eq!(least_bps(|l| l > f64::NEG_INFINITY), i128::from(i64::MIN));
        assert_eq!(least_bps(|l| l >= 0.0), 0);
        assert_eq!(least_bps(|l| l > 0.0), 1);
        for t in [500.0, 800.000_000_000_000_1, 1e-7, 123.456_789, 9e12] {
            let ge = least_bps(|l| l >= t);
            assert!(mbps(ge) >= t && mbps(ge - 1) < t, "{t}");
            let gt = least_bps(|l| l > t);
            assert!(mbps(gt) > t && mbps(gt - 1) <= t, "{t}");
        }
    }
}
