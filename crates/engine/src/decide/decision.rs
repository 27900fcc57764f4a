//! What a decision says: the chosen site and the others in order, how the
//! request ended, and every step's verdict on every site (the explanation).

use crate::groups::GroupMatch;
use crate::ids::{GroupId, PolicyId, SiteId};
use crate::location::{km_from_chord, Coordinates};
use crate::policy::{Policy, Step};

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

impl Explanation {
    /// The explanation of a decision under `policy` over `sites` sites:
    /// `cells` is step-major (`cells[step * sites + site]`), a closest
    /// step's scores chord lengths.
    pub(super) fn new(
        policy: &Policy,
        sites: usize,
        cells: Vec<(Verdict, f32)>,
        client_coordinates: Option<Coordinates>,
    ) -> Self {
        let chord_steps = policy
            .steps
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s.step, Step::Closest { .. }))
            .fold(0, |m, (i, _)| m | 1u64.checked_shl(i as u32).unwrap_or(0));
        Self {
            sites,
            cells,
            client_coordinates,
            chord_steps,
        }
    }
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
    /// Sites serve this content, but none can take it now (all down,
    /// disabled or dropped by a step, e.g. none the group may use).
    NoSite,
    /// No site is configured to serve this path: no site's `content`
    /// prefixes cover it (every chain filters on content, at least
    /// implicitly), whatever the load, health or client (the server answers
    /// 404).
    NotServed,
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

/// Where a request goes, without the explanation ([`Router::route_with`](super::Router::route_with)).
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
