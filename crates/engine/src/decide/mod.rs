//! `Router::decide`: facts and load in, an explained decision out.
//!
//! * `load`: the load views a decision reads ([`LoadView`], [`Idle`],
//!   [`StaticLoad`], [`IntegerView`]);
//! * `prepare`: facts → [`Prepared`] (group, policy, position, path);
//! * `evaluate`: every step of the policy run over the sites;
//! * `order`: the candidates in order (tiers, then the rankers' keys);
//! * `capacity`: the capacity step's spill-over;
//! * `decision`: what comes out ([`Decision`], [`Explanation`], [`Route`]);
//! * `memo`, `prepare_memo`: exact memos for callers that route millions.

use std::sync::Arc;

use crate::ids::{GroupId, PolicyId};
use crate::platform::Platform;

mod capacity;
mod decision;
mod evaluate;
mod load;
mod memo;
mod order;
mod prepare;
mod prepare_memo;

pub use decision::{Decision, Explanation, Mark, Outcome, Route, Verdict};
pub use evaluate::Scratch;
pub use load::{Idle, IntegerView, LoadView, SiteView, StaticLoad};
pub use memo::RouteMemo;
pub use prepare::{Facts, Prepared};
pub use prepare_memo::PrepareMemo;

/// Routes requests over a platform. Pure: no IO, no clock, no global state;
/// equal facts and load give equal decisions.
#[derive(Debug, Clone)]
pub struct Router {
    platform: Arc<Platform>,
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
        let (site, fallbacks, preferred) = e.work.order(rankers);
        let outcome = e.work.outcome(site, preferred, &prep, e.policy);
        let (group, policy, sites) = (e.group, e.policy_id, e.work.sites.len());
        let explanation = Explanation::new(e.policy, sites, e.restore(scratch), coords);
        Decision {
            group,
            matched_by,
            policy,
            site,
            fallbacks,
            preferred,
            outcome,
            explanation,
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

    /// [`Router::route_with`] for a request already [prepared](Router::prepare).
    pub fn route_prepared(
        &self,
        prep: &Prepared,
        load: &dyn LoadView,
        scratch: &mut Scratch,
    ) -> Route {
        let e = self.evaluate(prep, load, scratch, false);
        let (site, preferred) = e.work.best();
        let outcome = e.work.outcome(site, preferred, prep, e.policy);
        let group = e.group;
        let _ = e.restore(scratch);
        Route {
            group,
            site,
            preferred,
            outcome,
        }
    }
}

#[cfg(test)]
mod tests;
