//! `Router::decide`: facts and load in, an explained decision out.

use std::net::IpAddr;
use std::sync::Arc;

use crate::groups::GroupMatch;
use crate::hash::{hash_addr, hash_str, mix, rendezvous_key, unit};
use crate::location::{Coordinates, Location};
use crate::platform::{GroupId, Mbps, Platform, PolicyId, Site, SiteId, SiteState};
use crate::policy::Step;

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
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// Site count (row length of `marks`).
    sites: usize,
    /// Step-major matrix: `marks[step * sites + site]`.
    marks: Vec<Mark>,
    /// The coordinates distances were measured from, if any.
    pub client_coordinates: Option<Coordinates>,
}

impl Explanation {
    /// What step `step` (index into the policy's steps) did to `site`.
    pub fn mark(&self, step: usize, site: SiteId) -> Mark {
        self.marks
            .get(step * self.sites + site.index())
            .copied()
            .unwrap_or(SKIPPED)
    }

    /// The step that dropped `site`, if one did.
    pub fn dropped_by(&self, site: SiteId) -> Option<usize> {
        let steps = self.marks.len() / self.sites.max(1);
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
    alive: Vec<bool>,
    tier: Vec<u8>,
    marks: Vec<Mark>,
    /// Ranker keys, ranker-major: `keys[r * n + site]`.
    keys: Vec<f64>,
}

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
    pub fn policy_for(&self, group: GroupId, path: &str) -> PolicyId {
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
        let p = &*self.platform;
        let (group, matched_by) = p.table.classify(facts.address, &facts.location);
        let policy_id = self.policy_for(group, facts.path);
        let policy = &p.policies[policy_id.index()];
        let n = p.sites.len();
        let rankers = policy.steps.iter().filter(|s| s.step.is_ranker()).count();
        let mut w = Work {
            sites: &p.sites,
            alive: vec![true; n],
            tier: vec![TIER_OK; n],
            marks: vec![SKIPPED; policy.steps.len() * n],
            keys: vec![0.0; rankers * n],
        };
        let ctx = Context {
            facts,
            load,
            group: p.group(group),
            coords: facts.location.coordinates.or(p.group(group).location),
            client_hash: hash_addr(facts.address),
        };
        let mut r = 0;
        for (si, step) in policy.steps.iter().enumerate() {
            let ranker = step.step.is_ranker();
            w.apply(si, &step.step, &ctx, ranker.then_some(r));
            r += usize::from(ranker);
        }
        let (order, preferred) = w.order(rankers);
        let explanation = Explanation {
            sites: n,
            marks: w.marks,
            client_coordinates: ctx.coords,
        };
        let site = order.first().copied();
        let outcome = match site {
            None => Outcome::NoSite,
            Some(s) => match w.tier[s.index()] {
                TIER_DRAINING => Outcome::LastResort,
                TIER_FULL => Outcome::OverCapacity,
                _ if Some(s) != preferred => Outcome::SpilledOver,
                _ => Outcome::Preferred,
            },
        };
        Decision {
            group,
            matched_by,
            policy: policy_id,
            site,
            fallbacks: order.get(1..).unwrap_or_default().to_vec(),
            preferred,
            outcome,
            explanation,
        }
    }
}

/// The request-wide inputs of the steps.
struct Context<'a, 'f> {
    facts: &'a Facts<'f>,
    load: &'a dyn LoadView,
    group: &'a crate::platform::ClientGroup,
    coords: Option<Coordinates>,
    client_hash: u64,
}

impl Work<'_> {
    fn apply(&mut self, si: usize, step: &Step, ctx: &Context<'_, '_>, ranker: Option<usize>) {
        let n = self.sites.len();
        let seed = match step {
            Step::Weighted => mix(ctx.client_hash, hash_str(ctx.facts.path)),
            Step::ConsistentHash { key } => hash_str(key.of(ctx.facts.path)),
            _ => 0,
        };
        for i in 0..n {
            if !self.alive[i] {
                continue;
            }
            let id = SiteId(i as u16);
            let site = &self.sites[i];
            let mark = match ranker {
                Some(r) => {
                    let (key, score) = rank(step, site, id, ctx, seed);
                    self.keys[r * n + i] = key;
                    Mark {
                        verdict: Verdict::Kept,
                        score,
                    }
                }
                None => self.filter(step, site, id, ctx),
            };
            match mark.verdict {
                Verdict::Dropped => self.alive[i] = false,
                Verdict::Draining => self.tier[i] = self.tier[i].max(TIER_DRAINING),
                Verdict::Full => self.tier[i] = self.tier[i].max(TIER_FULL),
                Verdict::Spilled => self.tier[i] = self.tier[i].max(TIER_SPILLED),
                Verdict::Kept | Verdict::Skipped => {}
            }
            self.marks[si * n + i] = mark;
        }
    }

    fn filter(&self, step: &Step, site: &Site, id: SiteId, ctx: &Context<'_, '_>) -> Mark {
        let keep = |ok: bool| Mark {
            verdict: if ok { Verdict::Kept } else { Verdict::Dropped },
            score: None,
        };
        match step {
            Step::Available => match ctx.load.state(id, site.state) {
                SiteState::Disabled => keep(false),
                _ if !ctx.load.is_up(id) => keep(false),
                SiteState::Draining => Mark {
                    verdict: Verdict::Draining,
                    score: None,
                },
                SiteState::Active => keep(true),
            },
            Step::ServesContent => keep(site.serves(ctx.facts.path)),
            Step::AllowedForGroup => keep(ctx.group.allows(id)),
            Step::Capacity { headroom } => capacity(site, id, ctx, *headroom),
            // Rankers never reach here (see apply).
            _ => keep(true),
        }
    }

    /// Candidates in final order, and the site preferred before capacity.
    fn order(&self, rankers: usize) -> (Vec<SiteId>, Option<SiteId>) {
        let n = self.sites.len();
        let mut order: Vec<SiteId> = (0..n)
            .filter(|i| self.alive[*i])
            .map(|i| SiteId(i as u16))
            .collect();
        // Stable sorts from the last ranker to the first: the first ranker
        // decides, later ones break its ties, declaration order breaks the rest.
        for r in (0..rankers).rev() {
            let k = &self.keys[r * n..(r + 1) * n];
            order.sort_by(|a, b| k[a.index()].total_cmp(&k[b.index()]));
        }
        let preferred = order
            .iter()
            .copied()
            .min_by_key(|s| u8::from(self.tier[s.index()] == TIER_DRAINING));
        order.sort_by_key(|s| self.tier[s.index()]);
        (order, preferred)
    }
}

/// A ranker's sort key (lower first) and the score shown for it.
fn rank(
    step: &Step,
    site: &Site,
    id: SiteId,
    ctx: &Context<'_, '_>,
    seed: u64,
) -> (f64, Option<f64>) {
    match step {
        Step::LeastCost => {
            let c = site.cost.marginal_per_gb(ctx.load.load(id));
            (c, Some(c))
        }
        Step::Closest { bucket_km } => match ctx.coords {
            Some(c) => {
                let d = c.distance_km(&site.location);
                let key = if *bucket_km > 0.0 {
                    (d / bucket_km).floor()
                } else {
                    d
                };
                (key, Some(d))
            }
            None => (0.0, None),
        },
        Step::Weighted | Step::ConsistentHash { .. } => {
            let k = rendezvous_key(seed, site.name_hash, site.weight);
            (k, Some(k))
        }
        Step::Preference { rank } => {
            let r = f64::from(rank.get(id.index()).copied().unwrap_or(u16::MAX));
            (r, Some(r))
        }
        _ => (0.0, None),
    }
}

/// The proportional spill-over: see [`Step::Capacity`].
fn capacity(site: &Site, id: SiteId, ctx: &Context<'_, '_>, headroom: f64) -> Mark {
    let Some(cap) = site.capacity else {
        return Mark {
            verdict: Verdict::Kept,
            score: None,
        };
    };
    let load = ctx.load.load(id).0;
    let utilisation = load / cap.0;
    let threshold = cap.0 * (1.0 - headroom);
    let verdict = if load >= cap.0 {
        Verdict::Full
    } else if load > threshold {
        let share = (load - threshold) / (cap.0 - threshold);
        let u = unit(mix(ctx.client_hash ^ SPILL_SALT, site.name_hash));
        if u <= share {
            Verdict::Spilled
        } else {
            Verdict::Kept
        }
    } else {
        Verdict::Kept
    };
    Mark {
        verdict,
        score: Some(utilisation),
    }
}

#[cfg(test)]
mod tests;
