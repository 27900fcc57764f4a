//! The capacity step's proportional spill-over: near capacity a site keeps
//! a falling share of requests, chosen by a hash of the client.

use crate::hash::{mix, unit};
use crate::platform::{Mbps, Site};

use super::Verdict;

/// Salt of the capacity spill hash, so it is independent of weighted ranking.
const SPILL_SALT: u64 = 0x5350_494c_4c21;

/// The proportional spill-over: see [`Step::Capacity`].
pub(super) fn capacity(
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
pub(super) struct CapacityLimits {
    /// The capacity, Mbit/s: full at or above.
    pub(super) capacity: f64,
    /// `capacity × (1 − headroom)`, Mbit/s: spilling above.
    pub(super) threshold: f64,
}

impl CapacityLimits {
    pub(super) fn new(capacity: Mbps, headroom: f64) -> Self {
        Self {
            capacity: capacity.0,
            threshold: capacity.0 * (1.0 - headroom),
        }
    }

    /// Full at capacity; between the threshold and capacity, a request
    /// spills when its client's hash falls within the share of the band
    /// the load has crossed; kept otherwise.
    #[inline]
    pub(super) fn verdict(&self, load: f64, client_hash: u64, site_hash: u64) -> Verdict {
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
