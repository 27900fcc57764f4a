//! Input failover: which of a rendition's two inputs feeds the segmenter.
//!
//! The primary feeds it while it is healthy. When it has been silent (or
//! sent only broken packets) for `silence_ms` and the backup is alive, the
//! backup takes over; when the primary has then been healthy again without
//! a gap for `recover_ms`, it takes back. The caller makes each switch a
//! clean cut ([`crate::segmenter::Segmenter::switch_input`]): the next
//! segment starts at the new input's first keyframe, after a discontinuity.
//!
//! Pure logic: time is an argument (ms), so it is tested without waiting.

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
    /// The primary silent or broken this long: switch to the backup.
    pub silence_ms: u64,
    /// The primary healthy again this long: switch back.
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

/// Watches both inputs and says which one to use.
#[derive(Debug, Clone)]
pub struct Watchdog {
    config: FailoverConfig,
    active: Source,
    /// Last good data from each input.
    primary_seen: Option<u64>,
    backup_seen: Option<u64>,
    /// Since when the primary has sent good data without a gap.
    primary_healthy_since: Option<u64>,
    switches: u64,
}

impl Watchdog {
    /// Starts on the primary at `now`.
    pub fn new(config: FailoverConfig, now: u64) -> Self {
        Self {
            config,
            active: Source::Primary,
            // Silent from the start counts from the start.
            primary_seen: Some(now),
            backup_seen: None,
            primary_healthy_since: None,
            switches: 0,
        }
    }

    /// Good data arrived from `source` at `now`.
    pub fn data(&mut self, source: Source, now: u64) {
        match source {
            Source::Primary => {
                let gap = self
                    .primary_seen
                    .map_or(u64::MAX, |t| now.saturating_sub(t));
                if gap >= self.config.silence_ms || self.primary_healthy_since.is_none() {
                    self.primary_healthy_since = Some(now);
                }
                self.primary_seen = Some(now);
            }
            Source::Backup => self.backup_seen = Some(now),
        }
    }

    /// Broken data (a read error, corrupt packets) from `source` at `now`:
    /// it does not count as a sign of life.
    pub fn broken(&mut self, source: Source, _now: u64) {
        if source == Source::Primary {
            self.primary_healthy_since = None;
        }
    }

    /// The input to use at `now`, and whether that is a switch.
    pub fn decide(&mut self, now: u64) -> (Source, bool) {
        let alive = |seen: Option<u64>| {
            seen.is_some_and(|t| now.saturating_sub(t) < self.config.silence_ms)
        };
        let next = match self.active {
            Source::Primary if !alive(self.primary_seen) && alive(self.backup_seen) => {
                self.primary_healthy_since = None;
                Source::Backup
            }
            Source::Backup
                if alive(self.primary_seen)
                    && self
                        .primary_healthy_since
                        .is_some_and(|t| now.saturating_sub(t) >= self.config.recover_ms) =>
            {
                Source::Primary
            }
            // The backup died too while the primary lives: back at once.
            Source::Backup if !alive(self.backup_seen) && alive(self.primary_seen) => {
                Source::Primary
            }
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
                w.data(Source::Primary, t);
            }
            if backup {
                w.data(Source::Backup, t);
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
    fn no_switch_to_a_dead_backup() {
        let mut w = Watchdog::new(FailoverConfig::default(), 0);
        assert!(run(&mut w, 0, 20_000, false, false).is_empty());
        assert_eq!(w.decide(20_000), (Source::Primary, false));
    }
}
