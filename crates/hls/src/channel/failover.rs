//! Input failover: which of a rendition's two inputs feeds the segmenter.
//!
//! An input is judged by what it **yields** — lead-stream access units with
//! advancing timestamps — not by the bytes it sends: a connection that
//! trickles a byte a second, sends an HTML page or bytes that never sync
//! yields nothing and is as dead as a silent one.
//!
//! * A **stall** is a gap of more than a quarter of `silence_ms` between
//!   two yields (500 ms by default): longer than any pause of a healthy
//!   live source, whose frames come every 20–40 ms.
//! * The active primary **fails over** when its stalls add up to
//!   `silence_ms` within the last `recover_ms` (a dead input after
//!   `silence_ms`; one that flaps, up 0.25 s in every 2 s, after a few
//!   flaps), provided the backup yields now and has not stalled as long.
//! * The primary **takes back** only once it has yielded without a stall
//!   for `recover_ms` (a flapping primary never does); or at once when the
//!   backup itself has stalled `silence_ms` in the window while the
//!   primary yields.
//!
//! The caller makes each switch a clean cut
//! ([`crate::segmenter::Segmenter::switch_input`]): the next segment starts
//! at the new input's first keyframe, after a discontinuity.
//!
//! Pure logic: time is an argument (ms), so it is tested without waiting.

use std::collections::VecDeque;

/// One of the two inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The main input.
    Primary,
    /// The stand-by input.
    Backup,
}

/// When to switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailoverConfig {
    /// The primary's stalls add up to this long (a silent or broken
    /// primary: this long after its last frame): switch to the backup.
    pub silence_ms: u64,
    /// The primary has yielded without a stall for this long: switch back.
    /// At least `silence_ms` ([`FailoverConfig::validate`]).
    pub recover_ms: u64,
}

impl Default for FailoverConfig {
    fn default() -> Self {
        Self {
            silence_ms: 2_000,
            recover_ms: 10_000,
        }
    }
}

/// Why a [`FailoverConfig`] cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FailoverConfigError {
    /// The primary would be trusted again sooner than it is judged failed:
    /// a flapping primary would take back at every flap.
    #[error(
        "the recovery time ({recover_ms} ms) is shorter than the failover time ({silence_ms} ms): \
         a primary could be handed back before it is known to be healthy"
    )]
    RecoverBeforeFailover {
        /// The failover time, ms.
        silence_ms: u64,
        /// The recovery time, ms.
        recover_ms: u64,
    },
    /// No failover time: every gap between two frames would fail over.
    #[error("the failover time must be more than 0 ms")]
    NoSilence,
}

impl FailoverConfig {
    /// Refuses a recovery time below the failover time, and a failover
    /// time of 0.
    pub fn validate(&self) -> Result<(), FailoverConfigError> {
        if self.silence_ms == 0 {
            return Err(FailoverConfigError::NoSilence);
        }
        if self.recover_ms < self.silence_ms {
            return Err(FailoverConfigError::RecoverBeforeFailover {
                silence_ms: self.silence_ms,
                recover_ms: self.recover_ms,
            });
        }
        Ok(())
    }

    /// A gap between yields longer than this is a stall, ms.
    pub fn stall_ms(&self) -> u64 {
        self.silence_ms / 4
    }

    /// How far back stalls are added up, ms.
    fn window_ms(&self) -> u64 {
        self.recover_ms.max(self.silence_ms)
    }
}

/// What one input yielded lately: its last yield and its stalls.
#[derive(Debug, Clone, Default)]
struct Health {
    /// The last yield (or the start: silent from the start counts from
    /// the start).
    last: Option<u64>,
    /// Since when it has yielded without a stall.
    healthy_since: Option<u64>,
    /// Past stalls, (start, end), oldest first, within the window.
    stalls: VecDeque<(u64, u64)>,
}

impl Health {
    fn yielded(&mut self, now: u64, config: &FailoverConfig) {
        let stalled = self
            .last
            .filter(|last| now.saturating_sub(*last) > config.stall_ms());
        if let Some(last) = stalled {
            self.stalls.push_back((last, now));
            self.healthy_since = Some(now);
        }
        self.healthy_since.get_or_insert(now);
        self.last = Some(now);
        let oldest = now.saturating_sub(config.window_ms());
        while self.stalls.front().is_some_and(|(_, end)| *end < oldest) {
            self.stalls.pop_front();
        }
    }

    /// Time since the last yield (all of it if it never yielded).
    fn silent_for(&self, now: u64) -> u64 {
        self.last.map_or(now, |t| now.saturating_sub(t))
    }

    /// Whether it is in a stall now.
    fn stalled(&self, now: u64, config: &FailoverConfig) -> bool {
        self.last.is_none() || self.silent_for(now) > config.stall_ms()
    }

    /// Stalls, the current one included, within the window before `now`.
    fn stalled_ms(&self, now: u64, config: &FailoverConfig) -> u64 {
        let oldest = now.saturating_sub(config.window_ms());
        let within = |(start, end): (u64, u64)| end.saturating_sub(start.max(oldest));
        let past: u64 = self.stalls.iter().map(|s| within(*s)).sum();
        let current = match self.last {
            Some(last) if self.stalled(now, config) => within((last, now)),
            Some(_) => 0,
            None => now.saturating_sub(oldest),
        };
        past + current
    }

    /// How long it has yielded without a stall (0 when stalled now).
    fn healthy_for(&self, now: u64, config: &FailoverConfig) -> u64 {
        match self.healthy_since {
            Some(t) if !self.stalled(now, config) => now.saturating_sub(t),
            _ => 0,
        }
    }
}

/// Watches both inputs and says which one to use.
#[derive(Debug, Clone)]
pub struct Watchdog {
    config: FailoverConfig,
    active: Source,
    health: [Health; 2],
    switches: u64,
}

impl Watchdog {
    /// Starts on the primary at `now`; both inputs silent since then.
    pub fn new(config: FailoverConfig, now: u64) -> Self {
        let start = Health {
            last: Some(now),
            ..Health::default()
        };
        Self {
            config,
            active: Source::Primary,
            health: [start.clone(), start],
            switches: 0,
        }
    }

    /// `source` yielded at `now`: a lead-stream access unit with a
    /// timestamp after the last one.
    pub fn yielded(&mut self, source: Source, now: u64) {
        self.health[slot(source)].yielded(now, &self.config);
    }

    /// Broken data (a read error, the input ended) from `source` at `now`:
    /// its run of health is over.
    pub fn broken(&mut self, source: Source, _now: u64) {
        self.health[slot(source)].healthy_since = None;
    }

    /// How long `source` has yielded nothing, ms.
    pub fn silent_for(&self, source: Source, now: u64) -> u64 {
        self.health[slot(source)].silent_for(now)
    }

    /// The input to use at `now`, and whether that is a switch.
    pub fn decide(&mut self, now: u64) -> (Source, bool) {
        let c = &self.config;
        let [primary, backup] = &self.health;
        let failed = |h: &Health| h.stalled_ms(now, c) >= c.silence_ms;
        let next = match self.active {
            Source::Primary if failed(primary) && !backup.stalled(now, c) && !failed(backup) => {
                Source::Backup
            }
            Source::Backup if primary.healthy_for(now, c) >= c.recover_ms => Source::Primary,
            // The backup failed too while the primary yields: back at once.
            Source::Backup if failed(backup) && !primary.stalled(now, c) => Source::Primary,
            same => same,
        };
        let switched = next != self.active;
        self.switches += u64::from(switched);
        self.active = next;
        (next, switched)
    }

    /// Switches so far.
    pub fn switches(&self) -> u64 {
        self.switches
    }
}

/// The index of `source` in per-input arrays.
pub(crate) fn slot(source: Source) -> usize {
    usize::from(source == Source::Backup)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        w: &mut Watchdog,
        from: u64,
        to: u64,
        primary: bool,
        backup: bool,
    ) -> Vec<(u64, Source)> {
        let mut switches = Vec::new();
        for t in (from..to).step_by(100) {
            if primary {
                w.yielded(Source::Primary, t);
            }
            if backup {
                w.yielded(Source::Backup, t);
            }
            if let (s, true) = w.decide(t) {
                switches.push((t, s));
            }
        }
        switches
    }

    #[test]
    fn fails_over_after_the_silence_and_back_after_the_recovery() {
        let config = FailoverConfig {
            silence_ms: 2_000,
            recover_ms: 10_000,
        };
        let mut w = Watchdog::new(config, 0);
        assert!(run(&mut w, 0, 30_000, true, true).is_empty());
        // The primary last speaks at 29.9 s: the backup takes over 2 s later.
        assert_eq!(
            run(&mut w, 30_000, 60_000, false, true),
            [(31_900, Source::Backup)]
        );
        // Back at 60 s: the primary takes back after 10 s of health.
        assert_eq!(
            run(&mut w, 60_000, 80_000, true, true),
            [(70_000, Source::Primary)]
        );
        assert_eq!(w.switches(), 2);
    }

    #[test]
    fn a_flapping_primary_does_not_take_back() {
        let mut w = Watchdog::new(FailoverConfig::default(), 0);
        run(&mut w, 0, 5_000, true, true);
        assert_eq!(
            run(&mut w, 5_000, 10_000, false, true),
            [(6_900, Source::Backup)]
        );
        // Up 5 s, down 3 s, up 5 s: never 10 s in a row.
        let mut s = run(&mut w, 10_000, 15_000, true, true);
        s.extend(run(&mut w, 15_000, 18_000, false, true));
        s.extend(run(&mut w, 18_000, 23_000, true, true));
        assert!(s.is_empty(), "{s:?}");
    }

    #[test]
    fn silence_counts_from_the_start() {
        let w = Watchdog::new(FailoverConfig::default(), 5_000);
        assert_eq!(w.silent_for(Source::Primary, 7_000), 2_000);
        assert_eq!(w.silent_for(Source::Backup, 7_000), 2_000);
    }

    #[test]
    fn no_switch_to_a_dead_backup() {
        let mut w = Watchdog::new(FailoverConfig::default(), 0);
        assert!(run(&mut w, 0, 20_000, false, false).is_empty());
        assert_eq!(w.decide(20_000), (Source::Primary, false));
    }

    /// The primary flaps: it yields for 0.25 s out of every 2 s (the issue's
    /// source). Never silent for 2 s in a row, it is still failed over
    /// (2 s of silence out of the last window), and never handed back.
    #[test]
    fn a_primary_up_a_quarter_second_in_two_is_failed_over_and_kept_off() {
        let mut w = Watchdog::new(FailoverConfig::default(), 0);
        let mut switches = Vec::new();
        for t in (0..60_000).step_by(50) {
            if t >= 10_000 && t % 2_000 >= 250 {
                // down
            } else {
                w.yielded(Source::Primary, t);
            }
            w.yielded(Source::Backup, t);
            if let (s, true) = w.decide(t) {
                switches.push((t, s));
            }
        }
        // The last frame at 10.2 s, the next at 12 s: a stall of 1.8 s; the
        // next from 12.2 s counts once it is a stall (over 0.5 s), at
        // 12.75 s: 2.35 s of stalls.
        assert_eq!(switches, [(12_750, Source::Backup)]);
    }

    /// A single hiccup (0.8 s without a frame) is no reason to switch.
    #[test]
    fn one_short_hiccup_is_not_a_failure() {
        let mut w = Watchdog::new(FailoverConfig::default(), 0);
        let mut s = run(&mut w, 0, 5_000, true, true);
        s.extend(run(&mut w, 5_000, 5_800, false, true));
        s.extend(run(&mut w, 5_800, 30_000, true, true));
        assert!(s.is_empty(), "{s:?}");
    }

    /// Handing back needs `recover_ms` without a stall: a primary that
    /// comes back but stalls 0.6 s every 4 s is not trusted again.
    #[test]
    fn a_primary_that_stalls_briefly_now_and_then_does_not_take_back() {
        let mut w = Watchdog::new(FailoverConfig::default(), 0);
        run(&mut w, 0, 5_000, true, true);
        assert_eq!(
            run(&mut w, 5_000, 10_000, false, true),
            [(6_900, Source::Backup)]
        );
        let mut s = Vec::new();
        for k in 0..10 {
            let start = 10_000 + k * 4_000;
            s.extend(run(&mut w, start, start + 3_400, true, true));
            s.extend(run(&mut w, start + 3_400, start + 4_000, false, true));
        }
        assert!(s.is_empty(), "{s:?}");
    }

    #[test]
    fn a_recovery_shorter_than_the_failover_is_refused() {
        let config = FailoverConfig {
            silence_ms: 2_000,
            recover_ms: 1_000,
        };
        let error = config.validate().map_err(|e| e.to_string());
        assert_eq!(
            error,
            Err(
                "the recovery time (1000 ms) is shorter than the failover time (2000 ms): \
                 a primary could be handed back before it is known to be healthy"
                    .to_owned()
            )
        );
        assert_eq!(FailoverConfig::default().validate(), Ok(()));
        let equal = FailoverConfig {
            silence_ms: 2_000,
            recover_ms: 2_000,
        };
        assert_eq!(equal.validate(), Ok(()));
    }
}
