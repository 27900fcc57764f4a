//! Decision latency over the last minute, for monitoring that wants "now"
//! rather than the mean since start: 60 one-second buckets of atomics,
//! written by every decision without a lock, an await or an allocation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Seconds covered (one bucket per second).
const BUCKETS: usize = 60;

/// One second's decisions: which second (since the window's start, plus
/// one; 0: never written), how many, and their total time.
#[derive(Debug, Default)]
struct Bucket {
    second: AtomicU64,
    count: AtomicU64,
    nanos: AtomicU64,
}

/// Decision latency over the last [`RecentLatency::WINDOW`]. A bucket is
/// emptied by the first decision of its new second; a decision recorded by
/// another thread in that same instant may be lost or counted in the new
/// second (approximate at a bucket's turn, never more than a few samples).
#[derive(Debug)]
pub struct RecentLatency {
    start: Instant,
    buckets: [Bucket; BUCKETS],
}

/// What [`RecentLatency::summary`] reads: decisions in the window and their
/// mean time (`None` without any).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecentSummary {
    /// Decisions in the window.
    pub count: u64,
    /// Their mean time.
    pub mean: Option<Duration>,
}

impl RecentLatency {
    /// The time covered.
    pub const WINDOW: Duration = Duration::from_secs(BUCKETS as u64);

    /// An empty window whose seconds count from `start`.
    pub fn new(start: Instant) -> Self {
        Self {
            start,
            buckets: std::array::from_fn(|_| Bucket::default()),
        }
    }

    /// The second `at` falls in, plus one.
    fn second(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.start).as_secs() + 1
    }

    /// Records a decision finished at `at` that took `took`.
    pub fn record(&self, at: Instant, took: Duration) {
        let second = self.second(at);
        // In range: the remainder of a division by the bucket count.
        let b = &self.buckets[(second % BUCKETS as u64) as usize];
        let seen = b.second.load(Ordering::Acquire);
        if seen != second
            && b.second
                .compare_exchange(seen, second, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            b.count.store(0, Ordering::Relaxed);
            b.nanos.store(0, Ordering::Relaxed);
        }
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        b.count.fetch_add(1, Ordering::Relaxed);
        b.nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// The decisions of the [`WINDOW`](Self::WINDOW) that ends at `now`.
    pub fn summary(&self, now: Instant) -> RecentSummary {
        let current = self.second(now);
        let (mut count, mut nanos) = (0u64, 0u64);
        for b in &self.buckets {
            let s = b.second.load(Ordering::Acquire);
            if s != 0 && s <= current && current - s < BUCKETS as u64 {
                count += b.count.load(Ordering::Relaxed);
                nanos = nanos.saturating_add(b.nanos.load(Ordering::Relaxed));
            }
        }
        let mean = (count > 0).then(|| Duration::from_nanos(nanos / count));
        RecentSummary { count, mean }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_mean_covers_the_last_minute_only() {
        let t0 = Instant::now();
        let w = RecentLatency::new(t0);
        assert_eq!(
            w.summary(t0),
            RecentSummary {
                count: 0,
                mean: None
            }
        );
        // A slow start (10 ms decisions), then fast ones (1 ms) from 30 s on.
        for s in 0..30 {
            w.record(t0 + Duration::from_secs(s), 10 * MS);
        }
        for s in 30..90 {
            w.record(t0 + Duration::from_secs(s) + 500 * MS, MS);
            w.record(t0 + Duration::from_secs(s) + 900 * MS, 3 * MS);
        }
        // At 89.9 s: seconds 30-89 only, 2 ms on average, the 10 ms gone.
        let now = t0 + Duration::from_millis(89_900);
        assert_eq!(
            w.summary(now),
            RecentSummary {
                count: 120,
                mean: Some(2 * MS)
            }
        );
        // At 40 s: seconds 0-29 at 10 ms (30), 30-40 at 2 ms (22).
        let w = RecentLatency::new(t0);
        for s in 0..30 {
            w.record(t0 + Duration::from_secs(s), 10 * MS);
        }
        for s in 30..41 {
            w.record(t0 + Duration::from_secs(s), 2 * MS);
        }
        let s = w.summary(t0 + Duration::from_secs(40));
        assert_eq!(s.count, 41);
        assert_eq!(
            s.mean,
            Some(Duration::from_nanos((300 + 22) * 1_000_000 / 41))
        );
        // Two minutes of silence: nothing recent.
        let later = t0 + Duration::from_secs(160);
        assert_eq!(
            w.summary(later),
            RecentSummary {
                count: 0,
                mean: None
            }
        );
    }

    #[test]
    fn a_bucket_reused_a_minute_later_starts_empty() {
        let t0 = Instant::now();
        let w = RecentLatency::new(t0);
        w.record(t0 + Duration::from_millis(5_100), 50 * MS);
        w.record(t0 + Duration::from_millis(65_100), MS);
        let s = w.summary(t0 + Duration::from_millis(65_200));
        assert_eq!(
            s,
            RecentSummary {
                count: 1,
                mean: Some(MS)
            }
        );
    }
}
