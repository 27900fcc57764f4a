//! `Router::decide`: facts and load in, an explained decision out.

use std::net::IpAddr;
use std::sync::Arc;

use crate::groups::GroupMatch;
use crate::hash::{hash_addr, mix, rendezvous_key, unit};
use crate::ids::{GroupId, PolicyId, SiteId};
use crate::location::{chord, km_from_chord, Coordinates, Location};
use crate::platform::{Mbps, Platform, Site, SiteState};
use crate::policy::{HashKey, Step};

mod memo;
mod prepare_memo;
pub use memo::RouteMemo;
pub use prepare_memo::PrepareMemo;

/// Everything known about one request, as the caller found it.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// The client's address (after trusted-proxy resolution).
    pub address: IpAddr,
    /// What GeoIP knows of the address.
    pub location: Location,
    /// The request path, query included or not.
    pub path: &'a str,
    /// The client's User-Agent, if any.
    pub user_agent: Option<&'a str>,
    /// When the request happened, in milliseconds since the Unix epoch
    /// (wall time in the server, virtual time in the simulator).
    pub time_ms: u64,
}

/// The load and health of sites as the caller sees them (measured by the
/// server, simulated by the simulator).
pub trait LoadView {
    /// Current outbound bit rate of `site`.
    fn load(&self, site: SiteId) -> Mbps;

    /// Whether `site` passes its health checks. Default: up.
    fn is_up(&self, _site: SiteId) -> bool {
        true
    }

    /// The operator state in force for `site`, given the configured one (the
    /// server's admin API overrides it). Default: as configured.
    fn state(&self, _site: SiteId, configured: SiteState) -> SiteState {
        configured
    }

    /// The whole view as integers, when the implementation keeps it so (the
    /// simulator): every site up, site `i` in `states[i]` and carrying
    /// [`Mbps::from_bps`]`(bps[i])`, exactly what the other methods answer.
    /// The route memo then compares loads with integer thresholds instead
    /// of converting every load for every request. Default: `None`.
    fn integer_view(&self) -> Option<IntegerView<'_>> {
        None
    }

    /// Load, health and state of every site at once: `out[i]` is site `i`
    /// (`out` has one entry per site). The engine calls this once per
    /// decision; the default asks the methods above site by site.
    fn snapshot(&self, sites: &[Site], out: &mut [SiteView]) {
        for (i, (s, v)) in sites.iter().zip(out).enumerate() {
            let id = SiteId(i as u16);
            *v = SiteView {
                load: self.load(id),
                up: self.is_up(id),
                state: self.state(id, s.state),
            };
        }
    }
}

/// A [`LoadView`] kept as integers: see [`LoadView::integer_view`].
#[derive(Debug, Clone, Copy)]
pub struct IntegerView<'a> {
    /// Each site's load, bit/s.
    pub bps: &'a [i64],
    /// Each site's state in force.
    pub states: &'a [SiteState],
}

/// One site as a [`LoadView`] sees it at the moment of a decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SiteView {
    /// Current outbound bit rate.
    pub load: Mbps,
    /// Passing health checks.
    pub up: bool,
    /// Operator state in force.
    pub state: SiteState,
}

/// No load anywhere, every site up.
#[derive(Debug, Clone, Copy, Default)]
pub struct Idle;

impl LoadView for Idle {
    fn load(&self, _site: SiteId) -> Mbps {
        Mbps(0.0)
    }
}

/// A fixed load per site and a set of down sites.
#[derive(Debug, Clone, Default)]
pub struct StaticLoad {
    /// Load by `SiteId` index (missing entries are 0).
    pub load: Vec<Mbps>,
    /// Sites reported down.
    pub down: Vec<SiteId>,
}

impl LoadView for StaticLoad {
    fn load(&self, site: SiteId) -> Mbps {
        self.load.get(site.index()).copied().unwrap_or_default()
    }
    fn is_up(&self, site: SiteId) -> bool {
        !self.down.contains(&site)
    }
}

/// What one step did to one site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Verdict {
    /// Passed the step unchanged (rankers: scored).
    Kept,
    /// Removed from the candidates.
    Dropped,
    /// Draining: kept only as a last resort.
    Draining,
    /// Near capacity: this request spills behind the sites with room.
    Spilled,
    /// At or over capacity: behind every site with room.
    Full,
    /// Already dropped by an earlier step.
    Skipped,
}

/// One cell of the explanation: a step's verdict on a site and its score
/// (distance in km, price per GB, hash key, preference position, utilisation).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Mark {
    /// What the step did.
    pub verdict: Verdict,
    /// The step's score for the site, where it has one.
    pub score: Option<f64>,
}

const SKIPPED: Mark = Mark {
    verdict: Verdict::Skipped,
    score: None,
};

/// Why every candidate site ended where it did.
#[derive(Debug, Clone)]
pub struct Explanation {
    /// Site count (row length of `cells`).
    sites: usize,
    /// Step-major matrix: `cells[step * sites + site]`; the score is stored
    /// as f32 (NaN: none) to keep a decision's explanation small.
    cells: Vec<(Verdict, f32)>,
    /// The coordinates distances were measured from, if any.
    pub client_coordinates: Option<Coordinates>,
    /// Steps whose scores are stored as chord lengths (bit per step).
    chord_steps: u64,
}

impl PartialEq for Explanation {
    /// Equal when every cell is equal, a missing score (NaN) included.
    fn eq(&self, other: &Self) -> bool {
        self.sites == other.sites
            && self.client_coordinates == other.client_coordinates
            && self.chord_steps == other.chord_steps
            && self.cells.len() == other.cells.len()
            && self
                .cells
                .iter()
                .zip(&other.cells)
                .all(|(a, b)| a.0 == b.0 && a.1.to_bits() == b.1.to_bits())
    }
}

impl Explanation {
    /// What step `step` (index into the policy's steps) did to `site`.
    pub fn mark(&self, step: usize, site: SiteId) -> Mark {
        match self.cells.get(step * self.sites + site.index()) {
            Some((verdict, score)) => {
                let chord = step < 64 && self.chord_steps >> step & 1 == 1;
                let score = (!score.is_nan()).then_some(f64::from(*score));
                Mark {
                    verdict: *verdict,
                    score: if chord {
                        score.map(km_from_chord)
                    } else {
                        score
                    },
                }
            }
            None => SKIPPED,
        }
    }

    /// The step that dropped `site`, if one did.
    pub fn dropped_by(&self, site: SiteId) -> Option<usize> {
        let steps = self.cells.len() / self.sites.max(1);
        (0..steps).find(|s| self.mark(*s, site).verdict == Verdict::Dropped)
    }
}

/// How the request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// Sent to the best site of the policy.
    Preferred,
    /// Sent elsewhere because the preferred site was near or at capacity.
    SpilledOver,
    /// Every candidate was full; sent to the best of them anyway.
    OverCapacity,
    /// Only draining sites could take it.
    LastResort,
    /// No site can serve it (all down, or none serves this content or group).
    NoSite,
}

/// The engine's answer for one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The client's group.
    pub group: GroupId,
    /// Which rule put the client in the group.
    pub matched_by: GroupMatch,
    /// The policy applied.
    pub policy: PolicyId,
    /// The chosen site, if any can serve.
    pub site: Option<SiteId>,
    /// The other candidates, best first.
    pub fallbacks: Vec<SiteId>,
    /// The site the policy would choose with no capacity limits.
    pub preferred: Option<SiteId>,
    /// How the request ended.
    pub outcome: Outcome,
    /// Every site's verdict at every step.
    pub explanation: Explanation,
}

/// Sort tiers: lower comes first whatever the rankers say.
const TIER_OK: u8 = 0;
const TIER_SPILLED: u8 = 1;
const TIER_FULL: u8 = 2;
const TIER_DRAINING: u8 = 3;

/// Salt of the capacity spill hash, so it is independent of weighted ranking.
const SPILL_SALT: u64 = 0x5350_494c_4c21;

/// Routes requests over a platform. Pure: no IO, no clock, no global state;
/// equal facts and load give equal decisions.
#[derive(Debug, Clone)]
pub struct Router {
    platform: Arc<Platform>,
}

/// Per-decision working state.
struct Work<'a> {
    sites: &'a [Site],
    /// Sort tier of each site, or [`DROPPED`].
    tier: Vec<u8>,
    cells: Vec<(Verdict, f32)>,
    /// Ranker keys, ranker-major: `keys[r * sites + site]`.
    keys: Vec<f64>,
    /// Packed sort keys (see `order`).
    packed: Vec<[u64; PACKED_RANKERS + 2]>,
    rankers: usize,
}

/// Reusable working memory for [`Router::decide_with`]. Holds no state
/// between decisions that could change one: every buffer is refilled.
#[derive(Debug, Default)]
pub struct Scratch {
    tier: Vec<u8>,
    keys: Vec<f64>,
    view: Vec<SiteView>,
    packed: Vec<[u64; PACKED_RANKERS + 2]>,
}

/// Takes `buf` out of the scratch, cleared and filled with `n` copies of `v`.
fn refill<T: Clone>(buf: &mut Vec<T>, n: usize, v: T) -> Vec<T> {
    let mut b = std::mem::take(buf);
    b.clear();
    b.resize(n, v);
    b
}

/// Policies with up to this many rankers sort on packed integer keys.
const PACKED_RANKERS: usize = 3;

/// Maps an f64 to a u64 whose unsigned order is `f64::total_cmp`'s order.
#[inline]
fn ordered_bits(x: f64) -> u64 {
    // Negative: all bits flipped; positive: the sign bit set. Branch-free,
    // as the sign of random keys is not predictable.
    let b = x.to_bits();
    let negative = ((b as i64) >> 63) as u64;
    b ^ (negative | 1 << 63)
}

/// Tier of a site some filter removed.
const DROPPED: u8 = u8::MAX;

impl Router {
    /// A router over `platform`.
    pub fn new(platform: Arc<Platform>) -> Self {
        Self { platform }
    }

    /// The platform routed over.
    pub fn platform(&self) -> &Arc<Platform> {
        &self.platform
    }

    /// The policy that applies to `group` and `path`: the most specific
    /// (group and content, then group, then content, then catch-all; then
    /// the longest content prefix; then the first declared).
    pub fn policy_for<P: AsRef<[u8]> + ?Sized>(&self, group: GroupId, path: &P) -> PolicyId {
        let mut best: Option<((u8, usize), usize)> = None;
        for (i, p) in self.platform.policies.iter().enumerate() {
            if let Some(s) = p.specificity(group, path) {
                if best.is_none_or(|(b, _)| s > b) {
                    best = Some((s, i));
                }
            }
        }
        // A catch-all policy always exists (Platform::build adds one).
        PolicyId(best.map_or(0, |(_, i)| i as u16))
    }

    /// Decides where the request described by `facts` goes under `load`.
    pub fn decide(&self, facts: &Facts<'_>, load: &dyn LoadView) -> Decision {
        self.decide_with(facts, load, &mut Scratch::default())
    }

    /// [`Router::decide`] with reusable working memory: callers that decide
    /// often (a server worker, the simulator) keep one [`Scratch`] and save
    /// the allocations of every decision but the returned one.
    pub fn decide_with(
        &self,
        facts: &Facts<'_>,
        load: &dyn LoadView,
        scratch: &mut Scratch,
    ) -> Decision {
        let (prep, matched_by, coords) = self.prepare_explained(facts);
        let mut e = self.evaluate(&prep, load, scratch, true);
        let rankers = e.work.rankers;
        let (site, order, preferred) = e.work.order(rankers);
        let outcome = outcome(site, &e.work.tier, preferred);
        let chord_steps = e
            .policy
            .steps
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s.step, Step::Closest { .. }))
            .fold(0, |m, (i, _)| m | 1u64.checked_shl(i as u32).unwrap_or(0));
        let n = e.work.sites.len();
        let (group, policy_id) = (e.group, e.policy_id);
        let cells = e.restore(scratch);
        Decision {
            group,
            matched_by,
            policy: policy_id,
            site,
            fallbacks: order,
            preferred,
            outcome,
            explanation: Explanation {
                sites: n,
                cells,
                client_coordinates: coords,
                chord_steps,
            },
        }
    }

    /// Only where the request goes: the same choice as [`Router::decide`],
    /// without the explanation, the ordered fallbacks or any allocation —
    /// for the simulator, which routes millions of requests and keeps none.
    pub fn route_with(
        &self,
        facts: &Facts<'_>,
        load: &dyn LoadView,
        scratch: &mut Scratch,
    ) -> Route {
        self.route_prepared(&self.prepare(facts), load, scratch)
    }

    /// The part of a decision that does not depend on load or health: the
    /// client's group and policy, its position, and what the path selects.
    /// [`Router::route_prepared`] finishes it; `route_prepared(&prepare(f))`
    /// is `route_with(f)`. The simulator prepares on its parsing thread and
    /// routes on its replay thread.
    pub fn prepare(&self, facts: &Facts<'_>) -> Prepared {
        self.prepare_explained(facts).0
    }

    /// [`Router::prepare`], and what only an explanation needs: the rule
    /// that matched the group and the coordinates distances start from.
    fn prepare_explained(&self, facts: &Facts<'_>) -> (Prepared, GroupMatch, Option<Coordinates>) {
        let p = &*self.platform;
        let (group, matched_by) = p.table.classify(facts.address, &facts.location);
        let policy_id = self.policy_for(group, facts.path);
        let coords = facts.location.coordinates.or(p.group(group).location);
        let needs = prepare_memo::Needs::of(&p.policies[policy_id.index()]);
        let xyz = match coords {
            Some(c) if needs.closest => c.unit_vector(),
            _ => [f64::NAN; 3],
        };
        let serves = if needs.serves {
            let m = self.serves_mask(facts.path.as_bytes());
            [m as u64, (m >> 64) as u64]
        } else {
            [0; 2]
        };
        let prep = needs.assemble(
            (group, policy_id),
            hash_addr(facts.address),
            xyz,
            serves,
            facts.path.as_bytes(),
        );
        (prep, matched_by, coords)
    }

    /// Bit `c` set when the sites of content class `c` serve `path`.
    fn serves_mask(&self, path: &[u8]) -> u128 {
        let p = &*self.platform;
        let mut serves = 0u128;
        for (class, site) in p.class_sites.iter().enumerate() {
            serves |= u128::from(p.sites[site.index()].serves(path)) << class;
        }
        serves
    }

    /// [`Router::route_with`] for a request already [prepared](Router::prepare).
    pub fn route_prepared(
        &self,
        prep: &Prepared,
        load: &dyn LoadView,
        scratch: &mut Scratch,
    ) -> Route {
        let e = self.evaluate(prep, load, scratch, false);
        let (site, preferred) = e.work.best();
        let outcome = outcome(site, &e.work.tier, preferred);
        let group = e.group;
        let _ = e.restore(scratch);
        Route {
            group,
            site,
            preferred,
            outcome,
        }
    }

    /// Runs every step of the prepared request's policy.
    fn evaluate<'a>(
        &'a self,
        prep: &Prepared,
        load: &dyn LoadView,
        scratch: &mut Scratch,
        explain: bool,
    ) -> Evaluated<'a> {
        let p = &*self.platform;
        let (group, policy_id) = (prep.group, prep.policy);
        let policy = &p.policies[policy_id.index()];
        let n = p.sites.len();
        let rankers = policy.steps.iter().filter(|s| s.step.is_ranker()).count();
        let cells = if explain { policy.steps.len() * n } else { 0 };
        let mut w = Work {
            sites: &p.sites,
            tier: refill(&mut scratch.tier, n, TIER_OK),
            cells: vec![(Verdict::Skipped, f32::NAN); cells],
            keys: refill(&mut scratch.keys, rankers * n, 0.0),
            packed: std::mem::take(&mut scratch.packed),
            rankers,
        };
        let ctx = Context {
            prep,
            view: {
                let idle = SiteView {
                    load: Mbps(0.0),
                    up: true,
                    state: SiteState::Active,
                };
                let mut v = refill(&mut scratch.view, n, idle);
                load.snapshot(&p.sites, &mut v);
                v
            },
            group: p.group(group),
            uniform_weights: p.uniform_weights,
        };
        let mut r = 0;
        for (si, step) in policy.steps.iter().enumerate() {
            let ranker = step.step.is_ranker();
            w.apply(si, &step.step, &ctx, ranker.then_some(r));
            r += usize::from(ranker);
        }
        Evaluated {
            group,
            policy_id,
            policy,
            work: w,
            view: ctx.view,
        }
    }
}

/// The load-independent part of a decision ([`Router::prepare`]): plain
/// data, no borrow of the request. Small (80 bytes): the simulator queues one per request in flight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prepared {
    /// The client's group.
    pub group: GroupId,
    /// The policy that applies.
    pub policy: PolicyId,
    /// The client's position as a unit vector, when a closest step needs it
    /// and the position is known.
    /// (NaN when not: no `Option`, to keep the struct small).
    client_xyz: [f64; 3],
    client_hash: u64,
    /// Hash of the path, when a weighted step needs it.
    path_hash: u64,
    /// Hashes of the consistent-hash keys the policy uses.
    key_path: u64,
    key_dir: u64,
    /// Bit `c`: the sites of content class `c` serve the path.
    serves: [u64; 2],
}

impl Prepared {
    /// The prepared request as exact bits (floats by their bit patterns):
    /// requests with equal bits are routed alike under any view.
    pub fn bits(&self) -> [u64; 10] {
        memo::key(self)
    }

    /// Whether it carries a hash of its whole path (for a `weighted` or a
    /// `consistent_hash` by path step), which makes it nearly unique to its
    /// request; otherwise it is shared by a client's requests for a content
    /// class (or directory).
    pub fn hashes_whole_path(&self) -> bool {
        self.path_hash != 0 || self.key_path != 0
    }

    /// The client's position, if known and needed.
    fn xyz(&self) -> Option<&[f64; 3]> {
        (!self.client_xyz[0].is_nan()).then_some(&self.client_xyz)
    }
}

/// How a request ended, from the chosen site's tier.
fn outcome(site: Option<SiteId>, tier: &[u8], preferred: Option<SiteId>) -> Outcome {
    match site {
        None => Outcome::NoSite,
        Some(s) => match tier[s.index()] {
            TIER_DRAINING => Outcome::LastResort,
            TIER_FULL => Outcome::OverCapacity,
            _ if Some(s) != preferred => Outcome::SpilledOver,
            _ => Outcome::Preferred,
        },
    }
}

/// A request with every step run, before its candidates are ordered.
struct Evaluated<'a> {
    group: GroupId,
    policy_id: PolicyId,
    policy: &'a crate::policy::Policy,
    work: Work<'a>,
    view: Vec<SiteView>,
}

impl Evaluated<'_> {
    /// Gives the working buffers back to `scratch`; returns the explanation cells.
    fn restore(self, scratch: &mut Scratch) -> Vec<(Verdict, f32)> {
        scratch.tier = self.work.tier;
        scratch.keys = self.work.keys;
        scratch.packed = self.work.packed;
        scratch.view = self.view;
        self.work.cells
    }
}

/// Where a request goes, without the explanation ([`Router::route_with`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The client's group.
    pub group: GroupId,
    /// The chosen site, if any can serve.
    pub site: Option<SiteId>,
    /// The site the policy would choose with no capacity limits.
    pub preferred: Option<SiteId>,
    /// How the request ended.
    pub outcome: Outcome,
}

/// The request-wide inputs of the steps.
struct Context<'a> {
    prep: &'a Prepared,
    /// Every site's load, health and state, read once.
    view: Vec<SiteView>,
    group: &'a crate::platform::ClientGroup,
    /// All sites weigh the same (hashed rankings can skip the logarithm).
    uniform_weights: bool,
}

impl Work<'_> {
    fn apply(&mut self, si: usize, step: &Step, ctx: &Context<'_>, ranker: Option<usize>) {
        // One loop per kind of step, so each loop body is branch-free of the
        // step type (this is the hot path of every decision).
        // Sliced to the site count, so that indexing by a site's position
        // needs no bounds check.
        let view = &ctx.view[..self.sites.len()];
        let kept = |score: Option<f64>, key: f64| (Verdict::Kept, score, key);
        let pass = |ok: bool| (if ok { Verdict::Kept } else { Verdict::Dropped }, None, 0.0);
        match step {
            Step::Available => self.each(si, ranker, |_, i| match view[i].state {
                SiteState::Disabled => pass(false),
                _ if !view[i].up => pass(false),
                SiteState::Draining => (Verdict::Draining, None, 0.0),
                SiteState::Active => pass(true),
            }),
            Step::ServesContent => {
                // Tested once per distinct content list by `prepare`.
                let serves = u128::from(ctx.prep.serves[0]) | u128::from(ctx.prep.serves[1]) << 64;
                self.each(si, ranker, |site, _| {
                    pass(serves >> site.content_class & 1 == 1)
                })
            }
            Step::AllowedForGroup => {
                self.each(si, ranker, |_, i| pass(ctx.group.allows(SiteId(i as u16))))
            }
            Step::Capacity { headroom } => self.each(si, ranker, |site, i| {
                capacity(site, view[i].load, ctx.prep.client_hash, *headroom)
            }),
            Step::LeastCost => self.each(si, ranker, |site, i| {
                let c = site.cost.marginal_per_gb(view[i].load);
                kept(Some(c), c)
            }),
            Step::Closest { bands, .. } => match ctx.prep.xyz() {
                // Chord length orders like distance; the explanation turns it
                // into km only when read (see Explanation::mark).
                Some(xyz) => self.each(si, ranker, |site, _| {
                    let c = chord(xyz, &site.xyz);
                    let key = if bands.is_empty() {
                        c
                    } else {
                        f64::from(bands.band(c))
                    };
                    kept(Some(c), key)
                }),
                None => self.each(si, ranker, |_, _| kept(None, 0.0)),
            },
            Step::Weighted | Step::ConsistentHash { .. } => {
                let prep = ctx.prep;
                let seed = match step {
                    Step::ConsistentHash { key: HashKey::Path } => prep.key_path,
                    Step::ConsistentHash {
                        key: HashKey::Directory,
                    } => prep.key_dir,
                    _ => mix(prep.client_hash, prep.path_hash),
                };
                let uniform = ctx.uniform_weights;
                self.each(si, ranker, |site, _| {
                    // With equal weights, 1 - u orders like -ln(u) / w, without the log.
                    let k = if uniform {
                        1.0 - unit(mix(seed, site.name_hash))
                    } else {
                        rendezvous_key(seed, site.name_hash, site.weight)
                    };
                    kept(Some(k), k)
                })
            }
            Step::Preference { rank } => self.each(si, ranker, |_, i| {
                let r = f64::from(rank.get(i).copied().unwrap_or(u16::MAX));
                kept(Some(r), r)
            }),
        }
    }

    /// Runs `f` on every site still a candidate and records its verdict,
    /// score and (for rankers) sort key.
    #[inline(always)]
    fn each(
        &mut self,
        si: usize,
        ranker: Option<usize>,
        mut f: impl FnMut(&Site, usize) -> (Verdict, Option<f64>, f64),
    ) {
        // Every slice cut to the site count first: the loop then indexes
        // without bounds checks.
        let n = self.sites.len();
        let sites = &self.sites[..n];
        let tier = &mut self.tier[..n];
        let mut keys = ranker.map(|r| &mut self.keys[r * n..(r + 1) * n]);
        // Empty (no explanation) when only the route is wanted.
        let mut cells = self.cells.get_mut(si * n..(si + 1) * n);
        for i in 0..n {
            let t = tier[i];
            if t == DROPPED {
                continue;
            }
            let (verdict, score, key) = f(&sites[i], i);
            if let Some(k) = keys.as_deref_mut() {
                k[i] = key;
            }
            tier[i] = match verdict {
                Verdict::Dropped => DROPPED,
                Verdict::Draining => t.max(TIER_DRAINING),
                Verdict::Full => t.max(TIER_FULL),
                Verdict::Spilled => t.max(TIER_SPILLED),
                _ => t,
            };
            if let Some(c) = cells.as_deref_mut() {
                c[i] = (verdict, score.map_or(f32::NAN, |s| s as f32));
            }
        }
    }

    /// The key columns of the first [`PACKED_RANKERS`] rankers (empty
    /// slices past the policy's rankers), each one key per site.
    fn columns(&self) -> [&[f64]; PACKED_RANKERS] {
        let n = self.sites.len();
        std::array::from_fn(|r| self.keys.get(r * n..(r + 1) * n).unwrap_or(&[]))
    }

    /// Ranker `r`'s key for site `site`.
    #[inline]
    fn key(&self, site: usize, r: usize) -> f64 {
        self.keys[r * self.sites.len() + site]
    }

    /// Lexicographic order of two sites by the rankers' keys, then by
    /// declaration order: the first ranker decides, later ones break ties.
    fn by_keys(&self, rankers: usize, a: SiteId, b: SiteId) -> std::cmp::Ordering {
        for r in 0..rankers {
            let o = self.key(a.index(), r).total_cmp(&self.key(b.index(), r));
            if o.is_ne() {
                return o;
            }
        }
        a.cmp(&b)
    }

    /// The first candidate and the site preferred before capacity, without
    /// ordering the rest: one linear scan over packed keys.
    fn best(&self) -> (Option<SiteId>, Option<SiteId>) {
        let rankers = self.rankers;
        let alive = (0..self.sites.len())
            .filter(|i| self.tier[*i] != DROPPED)
            .map(|i| SiteId(i as u16));
        let tier = |s: SiteId| self.tier[s.index()];
        let draining = |s: SiteId| u8::from(tier(s) == TIER_DRAINING);
        if rankers > PACKED_RANKERS {
            let site = alive.clone().min_by(|a, b| {
                tier(*a)
                    .cmp(&tier(*b))
                    .then_with(|| self.by_keys(rankers, *a, *b))
            });
            let preferred = alive.min_by(|a, b| {
                draining(*a)
                    .cmp(&draining(*b))
                    .then_with(|| self.by_keys(rankers, *a, *b))
            });
            return (site, preferred);
        }
        const ID: usize = PACKED_RANKERS + 1;
        let (mut site, mut preferred): (Option<[u64; ID + 1]>, Option<[u64; ID + 1]>) =
            (None, None);
        for (i, t) in self.tier[..self.sites.len()].iter().enumerate() {
            if *t == DROPPED {
                continue;
            }
            // `packed_key`'s key, built here from the policy's own rankers:
            // through `columns` this scan measured 5 % slower.
            let mut k = [0u64; ID + 1];
            for (r, slot) in k[1..=rankers].iter_mut().enumerate() {
                *slot = ordered_bits(self.key(i, r));
            }
            k[ID] = i as u64;
            k[0] = u64::from(*t);
            if site.is_none_or(|b| packed_cmp(&k, &b).is_lt()) {
                site = Some(k);
            }
            k[0] = u64::from(*t == TIER_DRAINING);
            if preferred.is_none_or(|b| packed_cmp(&k, &b).is_lt()) {
                preferred = Some(k);
            }
        }
        let id = |k: [u64; ID + 1]| SiteId(k[ID] as u16);
        (site.map(id), preferred.map(id))
    }

    /// The chosen site, the other candidates in order (the fallbacks), and
    /// the site preferred before capacity.
    fn order(&mut self, rankers: usize) -> (Option<SiteId>, Vec<SiteId>, Option<SiteId>) {
        let n = self.sites.len();
        let alive = (0..n)
            .filter(|i| self.tier[*i] != DROPPED)
            .map(|i| SiteId(i as u16));
        let tier = |s: SiteId| self.tier[s.index()];
        if rankers > PACKED_RANKERS {
            let draining = |s: SiteId| u8::from(tier(s) == TIER_DRAINING);
            let mut order: Vec<SiteId> = Vec::with_capacity(n);
            order.extend(alive);
            let preferred = order.iter().copied().min_by(|a, b| {
                draining(*a)
                    .cmp(&draining(*b))
                    .then_with(|| self.by_keys(rankers, *a, *b))
            });
            // Unstable is deterministic here: no two sites compare equal.
            order.sort_unstable_by(|a, b| {
                tier(*a)
                    .cmp(&tier(*b))
                    .then_with(|| self.by_keys(rankers, *a, *b))
            });
            let site = (!order.is_empty()).then(|| order.remove(0));
            return (site, order, preferred);
        }
        // Fast path: one integer array per site, compared lexicographically:
        // [tier, ranker keys…, site index].
        const ID: usize = PACKED_RANKERS + 1;
        let mut packed = std::mem::take(&mut self.packed);
        packed.clear();
        packed.reserve(n);
        let cols = self.columns();
        let tiers = &self.tier[..n];
        for (i, t) in tiers.iter().enumerate() {
            if *t != DROPPED {
                packed.push(packed_key(*t, &cols, i));
            }
        }
        packed.sort_unstable_by(packed_cmp);
        // The preferred site orders first by keys alone among the sites
        // that are not draining (among all when every one drains). Within a
        // tier the keys are sorted, so only each tier's first can be it.
        let mut preferred: Option<&[u64; ID + 1]> = None;
        let mut last_tier = None;
        for k in &packed {
            if last_tier == Some(k[0]) {
                continue;
            }
            last_tier = Some(k[0]);
            if k[0] != u64::from(TIER_DRAINING)
                && preferred.is_none_or(|p| {
                    packed_cmp(&[0, k[1], k[2], k[3], k[4]], &[0, p[1], p[2], p[3], p[4]]).is_lt()
                })
            {
                preferred = Some(k);
            }
        }
        let preferred = preferred.or(packed.first()).map(|k| SiteId(k[ID] as u16));
        let id = |k: &[u64; ID + 1]| SiteId(k[ID] as u16);
        let site = packed.first().map(id);
        let mut fallbacks = Vec::with_capacity(packed.len().saturating_sub(1));
        fallbacks.extend(packed.iter().skip(1).map(id));
        self.packed = packed;
        (site, fallbacks, preferred)
    }
}

/// A site's sort key when the policy has at most [`PACKED_RANKERS`]
/// rankers: `[tier, ranker keys…, site index]`, compared lexicographically.
#[inline(always)]
fn packed_key(tier: u8, cols: &[&[f64]; PACKED_RANKERS], site: usize) -> [u64; PACKED_RANKERS + 2] {
    let mut k = [0u64; PACKED_RANKERS + 2];
    k[0] = u64::from(tier);
    for (slot, col) in k[1..=PACKED_RANKERS].iter_mut().zip(cols) {
        *slot = col.get(site).map_or(0, |x| ordered_bits(*x));
    }
    k[PACKED_RANKERS + 1] = site as u64;
    k
}

/// The lexicographic order of two packed keys, unrolled: the standard
/// array comparison goes through a generic slice loop, several times slower
/// on these five-word keys (sorting them is a good part of a decision).
#[inline(always)]
fn packed_cmp(a: &[u64; PACKED_RANKERS + 2], b: &[u64; PACKED_RANKERS + 2]) -> std::cmp::Ordering {
    // As two 128-bit words and one 64-bit word: each compares branch-free.
    let wide = |k: &[u64; PACKED_RANKERS + 2]| {
        (
            u128::from(k[0]) << 64 | u128::from(k[1]),
            u128::from(k[2]) << 64 | u128::from(k[3]),
            k[4],
        )
    };
    wide(a).cmp(&wide(b))
}

/// The proportional spill-over: see [`Step::Capacity`].
fn capacity(
    site: &Site,
    load: Mbps,
    client_hash: u64,
    headroom: f64,
) -> (Verdict, Option<f64>, f64) {
    let Some(cap) = site.capacity else {
        return (Verdict::Kept, None, 0.0);
    };
    let limits = CapacityLimits::new(cap, headroom);
    let verdict = limits.verdict(load.0, client_hash, site.name_hash);
    (verdict, Some(load.0 / cap.0), 0.0)
}

/// A site's capacity and the load above which its requests start to spill.
#[derive(Debug, Clone, Copy, PartialEq)]
struct CapacityLimits {
    capacity: f64,
    threshold: f64,
}

impl CapacityLimits {
    fn new(capacity: Mbps, headroom: f64) -> Self {
        Self {
            capacity: capacity.0,
            threshold: capacity.0 * (1.0 - headroom),
        }
    }

    /// Full at capacity; between the threshold and capacity, a request
    /// spills when its client's hash falls within the share of the band
    /// the load has crossed; kept otherwise.
    #[inline]
    fn verdict(&self, load: f64, client_hash: u64, site_hash: u64) -> Verdict {
        let (cap, threshold) = (self.capacity, self.threshold);
        if load >= cap {
            Verdict::Full
        } else if load > threshold {
            let share = (load - threshold) / (cap - threshold);
            let u = unit(mix(client_hash ^ SPILL_SALT, site_hash));
            if u <= share {
                Verdict::Spilled
            } else {
                Verdict::Kept
            }
        } else {
            Verdict::Kept
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod ordered_bits_tests {
    use super::ordered_bits;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn ordered_bits_agrees_with_total_cmp(a in any::<f64>(), b in any::<f64>()) {
            prop_assert_eq!(ordered_bits(a).cmp(&ordered_bits(b)), a.total_cmp(&b));
        }
    }
}
