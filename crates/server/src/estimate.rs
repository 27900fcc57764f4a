//! The estimated load of recent redirects: each redirect adds its session
//! class's rate to its site for the class's hold, and a statistics poll
//! replaces the estimates made before it.
//!
//! One [`Ring`] per site and hold length: a slot per second (tokio's clock,
//! counted from the [`Health`](crate::Health)'s epoch), each an `AtomicU64`
//! holding the second it counts and the kbit/s added in it, plus the ring's
//! running total. A redirect costs a compare-and-swap on its slot and an
//! addition to the total: no lock, no allocation. Reading the total sweeps
//! the ring (expired and polled-over slots leave the total) at most once a
//! second, or when a poll moved the floor: lazily, with no timer task.
//!
//! Precision: one second, always erring towards more load. An estimate
//! made in second `s` counts while the clock is in seconds `s` to
//! `s + hold`: between `hold` and `hold + 1` s. A poll whose request left
//! in second `p` drops the estimates of seconds before `p` and keeps those
//! of `p` itself (some of which its figure may already include). Rates are
//! kept in kbit/s (a rate below 0.5 kbit/s adds nothing).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A slot: the second it counts (high half) and the kbit/s added in it.
fn pack(second: u32, kbps: u32) -> u64 {
    (u64::from(second) << 32) | u64::from(kbps)
}

/// A slot's second and kbit/s.
fn unpack(slot: u64) -> (u32, u32) {
    ((slot >> 32) as u32, slot as u32)
}

/// Mbit/s as whole kbit/s (saturating: 4.29 Tbit/s a slot at most).
pub(crate) fn kbps(mbps: f64) -> u32 {
    (mbps * 1000.0).round().clamp(0.0, f64::from(u32::MAX)) as u32
}

/// The estimates of one site held for one length of time.
#[derive(Debug)]
pub(crate) struct Ring {
    /// Seconds an estimate counts after the second it was made in.
    hold_s: u32,
    /// `hold_s + 1` slots: second `s` lives in slot `s % len`.
    slots: Box<[AtomicU64]>,
    /// The kbit/s of the slots not yet swept (wrapping: a sweep may, for a
    /// moment, subtract before a racing redirect has added).
    total: AtomicU64,
    /// The second and floor of the last sweep (packed as a slot).
    swept: AtomicU64,
}

impl Ring {
    /// An empty ring holding estimates for `hold_s` seconds.
    pub(crate) fn new(hold_s: u32) -> Self {
        let len = hold_s as usize + 1;
        Self {
            hold_s,
            slots: (0..len).map(|_| AtomicU64::new(0)).collect(),
            total: AtomicU64::new(0),
            swept: AtomicU64::new(0),
        }
    }

    /// How long this ring holds an estimate, seconds.
    pub(crate) fn hold_s(&self) -> u32 {
        self.hold_s
    }

    /// Adds `kbps` made in second `now`.
    pub(crate) fn add(&self, now: u32, kbps: u32) {
        let slot = &self.slots[now as usize % self.slots.len()];
        let mut old = slot.load(Relaxed);
        loop {
            let (second, amount) = unpack(old);
            // A slot of an older second was not swept yet: its amount leaves
            // the total here. (A newer one, from a racing clock reading, is
            // added to: off by under a second.)
            let new = if second >= now {
                pack(second, amount.saturating_add(kbps))
            } else {
                pack(now, kbps)
            };
            match slot.compare_exchange_weak(old, new, Relaxed, Relaxed) {
                Ok(_) => {
                    let delta = u64::from(unpack(new).1).wrapping_sub(u64::from(amount));
                    self.total.fetch_add(delta, Relaxed);
                    return;
                }
                Err(actual) => old = actual,
            }
        }
    }

    /// The kbit/s held at second `now`, counting only estimates made in
    /// second `floor` or later (the last poll's).
    pub(crate) fn kbps(&self, now: u32, floor: u32) -> u64 {
        let seen = self.swept.load(Relaxed);
        let (swept_now, swept_floor) = unpack(seen);
        if now > swept_now || floor > swept_floor {
            let (now, floor) = (now.max(swept_now), floor.max(swept_floor));
            let next = pack(now, floor);
            if self
                .swept
                .compare_exchange(seen, next, Relaxed, Relaxed)
                .is_ok()
            {
                self.sweep(now.saturating_sub(self.hold_s).max(floor));
            }
        }
        // Below zero only for a moment (see `total`): nothing then.
        (self.total.load(Relaxed) as i64).max(0) as u64
    }

    /// Empties the slots of seconds before `cutoff`.
    fn sweep(&self, cutoff: u32) {
        for slot in self.slots.iter() {
            let mut old = slot.load(Relaxed);
            loop {
                let (second, amount) = unpack(old);
                if amount == 0 || second >= cutoff {
                    break;
                }
                match slot.compare_exchange_weak(old, pack(second, 0), Relaxed, Relaxed) {
                    Ok(_) => {
                        self.total.fetch_sub(u64::from(amount), Relaxed);
                        break;
                    }
                    Err(actual) => old = actual,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_estimate_counts_from_its_second_for_hold_more_seconds() {
        let ring = Ring::new(10);
        ring.add(5, 5000);
        ring.add(5, 5000);
        assert_eq!(ring.kbps(5, 0), 10_000);
        ring.add(7, 1000);
        assert_eq!(ring.kbps(15, 0), 11_000, "second 5 still counts in 15");
        assert_eq!(ring.kbps(16, 0), 1000, "not in 16");
        assert_eq!(ring.kbps(17, 0), 1000);
        assert_eq!(ring.kbps(18, 0), 0);
    }

    #[test]
    fn a_slot_reused_after_a_lap_counts_only_its_new_second() {
        let ring = Ring::new(2);
        ring.add(1, 300);
        // Second 4 uses second 1's slot, never swept in between.
        ring.add(4, 200);
        assert_eq!(ring.kbps(4, 0), 200);
        assert_eq!(ring.kbps(6, 0), 200);
        assert_eq!(ring.kbps(7, 0), 0);
    }

    #[test]
    fn a_floor_drops_the_seconds_before_it() {
        let ring = Ring::new(60);
        ring.add(3, 1);
        ring.add(9, 10);
        ring.add(10, 100);
        assert_eq!(ring.kbps(10, 0), 111);
        assert_eq!(ring.kbps(10, 10), 100, "the floor's own second stays");
        assert_eq!(ring.kbps(10, 4), 100, "a floor never goes back");
    }

    #[test]
    fn rates_are_whole_kbit_per_second() {
        assert_eq!(kbps(5.0), 5000);
        assert_eq!(kbps(0.0004), 0);
        assert_eq!(kbps(0.0005), 1);
        assert_eq!(kbps(1e12), u32::MAX);
        assert_eq!(kbps(-1.0), 0);
    }

    #[test]
    fn redirects_on_many_threads_add_up_exactly_while_readers_sweep() {
        let ring = std::sync::Arc::new(Ring::new(3));
        let threads: Vec<_> = (0..4u32)
            .map(|t| {
                let ring = ring.clone();
                std::thread::spawn(move || {
                    for i in 0..10_000u32 {
                        ring.add(2, 1);
                        if i % 100 == t {
                            ring.kbps(2, 0);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        assert_eq!(ring.kbps(2, 0), 40_000);
        assert_eq!(ring.kbps(5, 0), 40_000);
        assert_eq!(ring.kbps(6, 0), 0);
    }
}
