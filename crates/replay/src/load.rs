//! The load replayed requests put on the sites: each request in progress
//! adds its share (bit/s) to its site until it ends.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};

use routecast_engine::{IntegerView, LoadView, Mbps, Site, SiteId, SiteState, SiteView};

/// A request in progress at a site, adding `rate` bit/s until `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Active {
    pub(crate) end: i64,
    pub(crate) site: SiteId,
    pub(crate) rate: i64,
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
pub(crate) fn rate_bps(bytes: u64, lasts_ms: i64) -> i64 {
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
pub(crate) struct InProgress {
    in_order: VecDeque<Active>,
    others: BinaryHeap<Reverse<Active>>,
}

impl InProgress {
    /// Adds `a`; `window` says it lasts exactly the load window.
    pub(crate) fn push(&mut self, a: Active, window: bool) {
        if window && self.in_order.back().is_none_or(|b| b.end <= a.end) {
            self.in_order.push_back(a);
        } else {
            self.others.push(Reverse(a));
        }
    }

    /// A request ended by `now`, if any is left.
    pub(crate) fn pop_ended(&mut self, now: i64) -> Option<Active> {
        if self.in_order.front().is_some_and(|a| a.end <= now) {
            return self.in_order.pop_front();
        }
        if self.others.peek().is_some_and(|a| a.0.end <= now) {
            return self.others.pop().map(|r| r.0);
        }
        None
    }

    pub(crate) fn len(&self) -> usize {
        self.in_order.len() + self.others.len()
    }
}

/// The load the replayed requests put on each site at the current virtual
/// time, bit/s.
pub(crate) struct SimulatedLoad<'a> {
    pub(crate) bps: &'a [i64],
    /// The sites' configured states (read from `Site`s, big structs, they
    /// cost a cache line each).
    pub(crate) states: &'a [SiteState],
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
