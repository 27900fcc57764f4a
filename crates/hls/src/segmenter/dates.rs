//! `EXT-X-PROGRAM-DATE-TIME` of each segment: on the wall clock, never
//! back, never drifting from it.
//!
//! # The rule
//! * A segment is stamped when it is complete, at `now`; begun its
//!   duration ago, it started at `now − duration` if the input is live.
//! * The first segment starts at `now − duration`, or, when the run
//!   resumes a playlist, at the end of the last segment listed if that is
//!   later (a resumed stream never goes back).
//! * Then each segment starts where the previous one ended (its PDT plus
//!   its duration, counted in 90 kHz ticks from an anchor, so no rounding
//!   accumulates), except:
//! * After a discontinuity (an encoder restart, a timestamp jump, an input
//!   switch) the segment starts at `max(previous end, now − duration)`. A
//!   file read faster than real time is ahead of the wall clock, so its
//!   PDTs go on exactly by the durations (a restart in the file does not
//!   put them 30 s back); a live or `--realtime` input that lost time
//!   (an outage, a restart) is put back on the wall clock.
//! * A live input whose PDT has fallen more than [`MAX_LAG_MS`] behind
//!   `now − duration` (an encoder clock slower than ours, media lost
//!   without a timestamp jump) is moved forward onto the wall clock too.
//!   A PDT is never moved back: an input delivered faster than real time
//!   is stamped ahead of the wall clock, by as much as it is ahead.
//!
//! So for an input at real time, every segment's PDT + duration (its end)
//! is within [`MAX_LAG_MS`] of the wall clock when it is published, and
//! PDTs strictly increase with each previous PDT + EXTINF ≤ the next one.

use crate::playlist::UnixMillis;
use crate::Timestamp;

/// How far behind the wall clock a segment's end may fall before its PDT
/// is moved forward onto it (10 s: more than any jitter of the pipeline,
/// so a transient stall does not push later PDTs ahead of the clock).
pub const MAX_LAG_MS: u64 = 10_000;

/// The PDT line of one playlist.
#[derive(Debug, Default)]
pub(super) struct ProgramDates {
    /// Wall time of the anchor, and the stream ticks since it.
    anchor: Option<(u64, u64)>,
    /// The end of the last segment of a resumed playlist.
    resumed_end_ms: Option<u64>,
}

impl ProgramDates {
    /// A line that starts no earlier than `resumed_end_ms` (the end of the
    /// last segment an earlier run listed), if given.
    pub(super) fn after(resumed_end_ms: Option<u64>) -> Self {
        Self {
            anchor: None,
            resumed_end_ms,
        }
    }

    /// The PDT of a segment of `duration` ticks completed at `now_ms`,
    /// `discontinuity` telling whether a discontinuity comes before it.
    pub(super) fn next(&mut self, duration: u64, discontinuity: bool, now_ms: u64) -> UnixMillis {
        let on_clock = now_ms.saturating_sub(ms(duration));
        let previous_end = self.previous_end();
        let start = match (self.anchor, previous_end) {
            (Some(anchor), Some(end)) if !discontinuity && end + MAX_LAG_MS >= on_clock => {
                self.anchor = Some((anchor.0, anchor.1 + duration));
                return UnixMillis(end);
            }
            (_, Some(end)) => end.max(on_clock),
            (_, None) => on_clock,
        };
        self.anchor = Some((start, duration));
        UnixMillis(start)
    }

    /// Where the previous segment ended (or the resumed playlist did).
    fn previous_end(&self) -> Option<u64> {
        match self.anchor {
            Some((at, ticks)) => Some(at + ms(ticks)),
            None => self.resumed_end_ms,
        }
    }
}

/// Milliseconds in `ticks` (90 kHz), rounded.
pub(super) fn ms(ticks: u64) -> u64 {
    (ticks.saturating_mul(1000) + Timestamp::HZ / 2) / Timestamp::HZ
}
