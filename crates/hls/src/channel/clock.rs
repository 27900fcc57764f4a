//! Time for the live channel, passed in rather than read: the wall clock
//! (`EXT-X-PROGRAM-DATE-TIME` anchors, deletion grace periods, the
//! failover watchdog), a monotonic clock and sleeping (pacing a file at its
//! own speed). [`SystemClock`] is the machine's; [`ManualClock`] is virtual
//! time for tests, where sleeping only moves the time on.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Where the channel's time comes from.
pub trait Clock: Send + Sync {
    /// Wall-clock milliseconds since the Unix epoch.
    fn wall_ms(&self) -> u64;

    /// Monotonic time since some fixed moment (the clock's start).
    fn monotonic(&self) -> Duration;

    /// Waits `duration`.
    fn sleep(&self, duration: Duration);
}

/// The machine's clocks, and real sleeping.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    start: Instant,
}

impl SystemClock {
    /// A clock whose monotonic time starts now.
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn wall_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }

    fn monotonic(&self) -> Duration {
        self.start.elapsed()
    }

    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// Virtual time: it moves only when told to ([`ManualClock::advance`]) or
/// when someone sleeps, and it records the sleeps. Clones share the time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    state: Arc<Mutex<ManualState>>,
}

#[derive(Debug, Default)]
struct ManualState {
    /// Wall-clock milliseconds at monotonic zero.
    wall_start_ms: u64,
    now: Duration,
    slept: Vec<Duration>,
}

impl ManualClock {
    /// Virtual time at monotonic zero and wall clock `wall_start_ms`.
    pub fn new(wall_start_ms: u64) -> Self {
        let clock = Self::default();
        clock.lock().wall_start_ms = wall_start_ms;
        clock
    }

    /// Moves the time on by `duration`.
    pub fn advance(&self, duration: Duration) {
        self.lock().now += duration;
    }

    /// Every sleep so far, in order.
    pub fn slept(&self) -> Vec<Duration> {
        self.lock().slept.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ManualState> {
        // A test that panicked while holding the lock left consistent
        // numbers behind: carry on with them.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Clock for ManualClock {
    fn wall_ms(&self) -> u64 {
        let s = self.lock();
        s.wall_start_ms + s.now.as_millis() as u64
    }

    fn monotonic(&self) -> Duration {
        self.lock().now
    }

    fn sleep(&self, duration: Duration) {
        let mut s = self.lock();
        s.now += duration;
        s.slept.push(duration);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_time_moves_by_advances_and_sleeps_only() {
        let clock = ManualClock::new(1_000);
        let shared = clock.clone();
        assert_eq!(
            (clock.wall_ms(), clock.monotonic()),
            (1_000, Duration::ZERO)
        );
        clock.advance(Duration::from_millis(250));
        shared.sleep(Duration::from_millis(750));
        assert_eq!(clock.wall_ms(), 2_000);
        assert_eq!(clock.monotonic(), Duration::from_secs(1));
        assert_eq!(clock.slept(), [Duration::from_millis(750)]);
    }

    #[test]
    fn the_system_clock_is_near_the_machine_s() {
        let clock = SystemClock::new();
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        assert!(clock.wall_ms().abs_diff(wall) < 60_000);
        let before = clock.monotonic();
        assert!(clock.monotonic() >= before);
    }
}
