//! The reordering window: requests wait here until no earlier-starting one
//! can still arrive, then leave in start order.
//!
//! A calendar queue (one-second buckets in a ring) rather than a binary
//! heap: with an hour's window it holds hundreds of thousands of requests,
//! and a heap pays a logarithm of cache misses for each; here a request is
//! appended to its bucket and each bucket is sorted once, when it leaves.

use std::collections::VecDeque;

/// Bucket width, ms.
const BUCKET_MS: i64 = 1000;

/// What the queue orders by.
pub(crate) trait Starts {
    /// Start time, ms.
    fn start(&self) -> i64;
}

/// Requests ordered by start time, released a bucket at a time.
#[derive(Debug)]
pub(crate) struct ReorderQueue<T> {
    /// Bucket number of `buckets[0]`.
    base: i64,
    /// Every bucket before this one has left; `base >= released`.
    released: i64,
    buckets: VecDeque<Vec<T>>,
    len: usize,
    /// Emptied buckets, kept with their memory for the next ones (a bucket
    /// grown from nothing every second cost a reallocation per doubling
    /// and a free when it left).
    spare: Vec<Vec<T>>,
    /// The leaving bucket's order: `(start offset in the bucket) << 54 |
    /// index`, sorted (see `order`).
    keys: Vec<u64>,
    /// The bucket after the horizon of the last release (see `due`).
    last_done: i64,
    /// Scratch of the counting sort in `order`: where each offset's keys go.
    counts: Vec<u32>,
    /// Scratch of the counting sort: the keys in order.
    sorted: Vec<u64>,
}

/// Buckets of at least this many requests are ordered by a counting sort
/// (one counter per millisecond of the bucket), smaller ones by comparison.
const COUNTING_FROM: usize = 64;

/// Bits of a sort key that hold the item's index (the offset in the bucket,
/// under 1000, takes the 10 above them).
const INDEX_BITS: u32 = 54;
/// The index part of a sort key.
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;

/// Emptied buckets kept for reuse at most.
const SPARE: usize = 4;

impl<T> Default for ReorderQueue<T> {
    fn default() -> Self {
        Self {
            base: i64::MIN,
            released: i64::MIN,
            buckets: VecDeque::new(),
            len: 0,
            spare: Vec::new(),
            keys: Vec::new(),
            last_done: i64::MIN,
            counts: Vec::new(),
            sorted: Vec::new(),
        }
    }
}

fn bucket(t: i64) -> i64 {
    t.div_euclid(BUCKET_MS)
}

impl<T: Starts + Copy> ReorderQueue<T> {
    /// Requests waiting.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Queues `item` (ties in start time keep the order of arrival), or
    /// hands it back when its bucket has already left: it is late.
    pub(crate) fn push(&mut self, item: T) -> Result<(), T> {
        let b = bucket(item.start());
        if b < self.released {
            return Err(item);
        }
        let spare = &mut self.spare;
        if self.buckets.is_empty() {
            self.base = b;
        } else if b < self.base {
            for _ in b..self.base {
                self.buckets.push_front(spare.pop().unwrap_or_default());
            }
            self.base = b;
        }
        let i = (b - self.base) as usize;
        if i >= self.buckets.len() {
            self.buckets
                .resize_with(i + 1, || spare.pop().unwrap_or_default());
        }
        self.buckets[i].push(item);
        self.len += 1;
        Ok(())
    }

    /// Whether [`ReorderQueue::release`] up to `horizon` could do anything:
    /// what it does depends only on the bucket after the horizon, so not
    /// while that stays the one of the last release (requests pushed since
    /// are in buckets it did not reach).
    pub(crate) fn due(&self, horizon: i64) -> bool {
        bucket(horizon.saturating_add(1)) != self.last_done
    }

    /// Passes to `f`, in start order, every request of the buckets that end
    /// at or before `horizon`; later arrivals before `horizon` are late.
    pub(crate) fn release(&mut self, horizon: i64, mut f: impl FnMut(T)) {
        while !self.buckets.is_empty() {
            let bucket_end = self
                .base
                .saturating_add(1)
                .saturating_mul(BUCKET_MS)
                .saturating_sub(1);
            if bucket_end > horizon {
                break;
            }
            let mut items = self.buckets.pop_front().unwrap_or_default();
            self.base += 1;
            self.released = self.base;
            self.len -= items.len();
            self.order(&items);
            for &k in &self.keys {
                // Invariant: `order` makes one key per item, its index below.
                f(items[(k & INDEX_MASK) as usize]);
            }
            items.clear();
            if self.spare.len() < SPARE {
                self.spare.push(items);
            }
        }
        // Every bucket wholly before the horizon is gone now, held or not (a
        // held one would have been released above, so `done <= base` here).
        let done = bucket(horizon.saturating_add(1));
        self.last_done = done;
        self.released = self.released.max(done);
        if self.buckets.is_empty() {
            self.base = self.released;
        }
    }

    /// Puts in `self.keys` the indices of a leaving bucket's `items` in
    /// (start, arrival) order. Within a bucket, index order is arrival order
    /// and starts are less than a bucket apart, so one integer per item
    /// says both: sorting these 8-byte keys instead of the 104-byte items
    /// is what makes it cheap.
    fn order(&mut self, items: &[T]) {
        self.keys.clear();
        self.keys.extend(items.iter().enumerate().map(|(i, item)| {
            let offset = item.start().rem_euclid(BUCKET_MS) as u64;
            offset << INDEX_BITS | i as u64
        }));
        if items.len() < COUNTING_FROM {
            self.keys.sort_unstable();
            return;
        }
        // A counting sort by offset: keys come in index order, and it is
        // stable, so it leaves them in (offset, index) order as sorting
        // would, in two passes and no comparisons.
        let counts = &mut self.counts;
        counts.clear();
        counts.resize(BUCKET_MS as usize + 1, 0);
        for k in &self.keys {
            counts[(k >> INDEX_BITS) as usize + 1] += 1;
        }
        for i in 1..counts.len() {
            counts[i] += counts[i - 1];
        }
        self.sorted.clear();
        self.sorted.resize(self.keys.len(), 0);
        for &k in &self.keys {
            let at = &mut counts[(k >> INDEX_BITS) as usize];
            self.sorted[*at as usize] = k;
            *at += 1;
        }
        std::mem::swap(&mut self.keys, &mut self.sorted);
    }

    /// Passes everything still waiting to `f`, in start order.
    pub(crate) fn drain(&mut self, f: impl FnMut(T)) {
        self.release(i64::MAX, f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    impl Starts for (i64, u64) {
        fn start(&self) -> i64 {
            self.0
        }
    }

    proptest! {
        #[test]
        fn leaves_in_start_order_and_only_past_the_horizon(
            starts in proptest::collection::vec(0i64..100_000, 1..300),
            window in 0i64..20_000,
        ) {
            let mut q = ReorderQueue::default();
            let mut out: Vec<(i64, u64)> = Vec::new();
            let mut late = 0;
            let mut newest = i64::MIN;
            for (seq, s) in starts.iter().enumerate() {
                newest = newest.max(*s);
                let horizon = newest - window;
                let before = out.len();
                let due = q.due(horizon);
                q.release(horizon, |x| out.push(x));
                prop_assert!(due || out.len() == before, "released while not due");
                prop_assert!(out.iter().all(|(t, _)| *t <= horizon));
                prop_assert!(q.released <= q.base || q.buckets.is_empty());
                if let Err(x) = q.push((*s, seq as u64)) {
                    late += 1;
                    out.push(x);
                }
            }
            q.drain(|x| out.push(x));
            prop_assert_eq!(out.len(), starts.len());
            prop_assert_eq!(q.len(), 0);
            // Without late arrivals, everything left in (start, seq) order.
            if late == 0 {
                prop_assert!(out.windows(2).all(|w| w[0] <= w[1]));
            }
        }
    }

    proptest! {
        /// A bucket's order, by counting (large buckets) or by comparison
        /// (small ones), is the (offset, arrival) order.
        #[test]
        fn a_bucket_leaves_in_offset_then_arrival_order(
            second in -5i64..5,
            offsets in proptest::collection::vec(0i64..1000, 0..400),
        ) {
            let items: Vec<(i64, u64)> = offsets.iter().enumerate().map(|(i, o)| (second * 1000 + o, i as u64)).collect();
            let mut q = ReorderQueue::<(i64, u64)>::default();
            q.order(&items);
            let got: Vec<(i64, u64)> = q.keys.iter().map(|k| items[(k & INDEX_MASK) as usize]).collect();
            let mut want = items.clone();
            want.sort_by_key(|(start, i)| (*start, *i));
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn in_order_input_is_never_late_and_ties_keep_log_order() {
        let mut q = ReorderQueue::<(i64, u64)>::default();
        let mut out = Vec::new();
        for (seq, s) in [0i64, 0, 500, 1500, 1500, 4000].iter().enumerate() {
            q.release(s - 1000, |x| out.push(x.1));
            assert!(q.push((*s, seq as u64)).is_ok());
        }
        q.drain(|x| out.push(x.1));
        assert_eq!(out, [0, 1, 2, 3, 4, 5]);
    }
}
