//! Step evaluation: every step of the request's policy run over the sites,
//! each step's verdicts recorded and each ranker's keys kept for ordering.

use crate::hash::{mix, rendezvous_key, unit};
use crate::ids::{GroupId, PolicyId, SiteId};
use crate::location::chord;
use crate::platform::{ClientGroup, Mbps, Site, SiteState};
use crate::policy::{HashKey, Policy, Step};

use super::capacity::capacity;
use super::order::PACKED_RANKERS;
use super::{LoadView, Outcome, Prepared, Router, SiteView, Verdict};

/// Sort tiers: lower comes first whatever the rankers say.
const TIER_OK: u8 = 0;
const TIER_SPILLED: u8 = 1;
const TIER_FULL: u8 = 2;
pub(super) const TIER_DRAINING: u8 = 3;

/// Tier of a site some filter removed.
pub(super) const DROPPED: u8 = u8::MAX;

/// Per-decision working state.
pub(super) struct Work<'a> {
    pub(super) sites: &'a [Site],
    /// Sort tier of each site, or [`DROPPED`].
    pub(super) tier: Vec<u8>,
    cells: Vec<(Verdict, f32)>,
    /// Ranker keys, ranker-major: `keys[r * sites + site]`.
    pub(super) keys: Vec<f64>,
    /// Packed sort keys (see `order`).
    pub(super) packed: Vec<[u64; PACKED_RANKERS + 2]>,
    pub(super) rankers: usize,
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

impl Router {
    /// Runs every step of the prepared request's policy.
    pub(super) fn evaluate<'a>(
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

/// A request with every step run, before its candidates are ordered.
pub(super) struct Evaluated<'a> {
    pub(super) group: GroupId,
    pub(super) policy_id: PolicyId,
    pub(super) policy: &'a Policy,
    pub(super) work: Work<'a>,
    view: Vec<SiteView>,
}

impl Evaluated<'_> {
    /// Gives the working buffers back to `scratch`; returns the explanation cells.
    pub(super) fn restore(self, scratch: &mut Scratch) -> Vec<(Verdict, f32)> {
        scratch.tier = self.work.tier;
        scratch.keys = self.work.keys;
        scratch.packed = self.work.packed;
        scratch.view = self.view;
        self.work.cells
    }
}

/// The request-wide inputs of the steps.
struct Context<'a> {
    prep: &'a Prepared,
    /// Every site's load, health and state, read once.
    view: Vec<SiteView>,
    group: &'a ClientGroup,
    /// All sites weigh the same (hashed rankings can skip the logarithm).
    uniform_weights: bool,
}

impl Work<'_> {
    /// How the request ended, from the chosen site's tier; without a site,
    /// [`Outcome::NotServed`] when `prep`'s policy tests the content and no
    /// site serves the path.
    pub(super) fn outcome(
        &self,
        site: Option<SiteId>,
        preferred: Option<SiteId>,
        prep: &Prepared,
        policy: &Policy,
    ) -> Outcome {
        match site {
            None if prep.serves == [0; 2]
                && policy.steps.iter().any(|s| s.step == Step::ServesContent) =>
            {
                Outcome::NotServed
            }
            None => Outcome::NoSite,
            Some(s) => match self.tier[s.index()] {
                TIER_DRAINING => Outcome::LastResort,
                TIER_FULL => Outcome::OverCapacity,
                _ if Some(s) != preferred => Outcome::SpilledOver,
                _ => Outcome::Preferred,
            },
        }
    }

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
}
