//! A disk that refuses writes (full, read-only, the directory removed) is
//! waited out, not fatal: the writer thread retries the job at the head of
//! its queue with back-off, says so on standard error at most every
//! [`LOG_EVERY`], and says when writing works again.
//!
//! The back-off starts at [`RetryPolicy::first`] (0.5 s) and doubles up to
//! [`RetryPolicy::max`] (8 s), as an operator freeing space expects the
//! stream back within seconds without the segmenter hammering the disk.
//! Once the segmenter is finishing (the input ended or it was told to
//! stop), a job is given up after [`RetryPolicy::attempts_when_finishing`]
//! attempts so that the process can exit.

use std::time::{Duration, Instant};

use crate::store::StoreError;

/// How often an outage is reported while it lasts.
pub(crate) const LOG_EVERY: Duration = Duration::from_secs(10);

/// How a failed write is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    /// The first wait.
    pub(crate) first: Duration,
    /// The longest wait (the waits double up to it).
    pub(crate) max: Duration,
    /// Attempts of one job once the segmenter is finishing.
    pub(crate) attempts_when_finishing: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            first: Duration::from_millis(500),
            max: Duration::from_secs(8),
            attempts_when_finishing: 5,
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (`attempt` ≥ 1 failed so far).
    pub(crate) fn wait_after(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(16);
        self.first.saturating_mul(1 << doublings).min(self.max)
    }
}

/// The outage being lived through, for the log.
#[derive(Debug, Default)]
pub(crate) struct OutageLog {
    /// When it began, when it was last reported, and failures since then.
    current: Option<(Instant, Instant, u64)>,
}

impl OutageLog {
    /// A write failed; `retry_in` is the wait before the next attempt.
    /// The error names the path and the OS error with its number
    /// (`No space left on device (os error 28)`).
    pub(crate) fn failed(&mut self, error: &StoreError, retry_in: Duration) {
        let now = Instant::now();
        let (began, said, since) = self.current.get_or_insert((now, now, 0));
        *since += 1;
        let first = *said == now;
        if !first && now.duration_since(*said) < LOG_EVERY {
            return;
        }
        let failed = *since;
        *said = now;
        *since = 0;
        eprintln!(
            "segment: {error}: segments are kept in memory within a bound and then \
             dropped, the last playlist stays in place; retrying in {:.1} s \
             ({failed} failed attempt(s) since the last report, {:.0} s into the outage)",
            retry_in.as_secs_f64(),
            now.duration_since(*began).as_secs_f64()
        );
    }

    /// A write succeeded: the end of the outage, if one was going on.
    pub(crate) fn succeeded(&mut self, dir: &std::path::Path) {
        if let Some((began, _, _)) = self.current.take() {
            eprintln!(
                "segment: writing to {} again after {:.1} s",
                dir.display(),
                began.elapsed().as_secs_f64()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_waits_double_from_half_a_second_to_eight() {
        let policy = RetryPolicy::default();
        let waits: Vec<u64> = (1..=7)
            .map(|a| policy.wait_after(a).as_millis() as u64)
            .collect();
        assert_eq!(waits, [500, 1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
        assert_eq!(policy.wait_after(u32::MAX), Duration::from_secs(8));
    }
}
