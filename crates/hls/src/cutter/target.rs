//! The announced target duration and the cuts that keep every segment
//! within it, whatever the stream's GOP. Pure: ticks in, verdicts out.
//!
//! * **Announced from the first GOP.** `EXT-X-TARGETDURATION` cannot change
//!   during a playlist's life (RFC 8216 §6.2.1), so it is settled once, from
//!   the interval between the stream's first two random access points: the
//!   asked target, or the smallest whole second that GOP rounds to when it
//!   is longer ([`CutNotice::TargetRaised`]). Until then the segments wait
//!   (nothing is published); a stream with no second random access point
//!   within [`FIRST_GOP_CAP_SECS`] announces that cap.
//! * **Forced cuts.** A later GOP that is still too long is cut without a
//!   random access point: before the frame after which the segment could
//!   round above the announced target. Only before a frame whose
//!   presentation time rises (never inside a run of reordered B-frames), so
//!   the next segment's start is a real step of the timeline. Such a
//!   segment does not start independently; each GOP that needed one is
//!   reported once ([`CutNotice::LongGop`]).

use crate::Timestamp;

/// The longest wait for the first GOP, seconds: without a second random
/// access point by then, the target announced is this (or the asked one,
/// if longer) and the segment is cut there.
pub const FIRST_GOP_CAP_SECS: u32 = 30;

/// The longest step between two rising presentation times taken as the
/// stream's reordering span, ticks (a timestamp gap is no B-frame run).
const MAX_ANCHOR_STEP: u64 = Timestamp::HZ / 2;

/// Something the cutter decided that the operator should hear about when
/// it happens (take them with
/// [`SegmentCutter::pop_notice`](super::SegmentCutter::pop_notice)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CutNotice {
    /// The first GOP is longer than the asked target: the playlists
    /// announce a longer one for their whole life.
    TargetRaised {
        /// The first GOP, 90 kHz ticks (at least this long when no second
        /// random access point came within [`FIRST_GOP_CAP_SECS`]).
        gop: u64,
        /// The target asked for, seconds.
        asked: u32,
        /// The target announced, seconds.
        announced: u32,
        /// The stream's frame duration, ticks (0 if unknown).
        frame: u64,
    },
    /// A GOP longer than the announced target: a segment was cut without
    /// a random access point at `at` (once per GOP).
    LongGop {
        /// Presentation time of the first picture after the cut.
        at: Timestamp,
        /// Ticks since the last random access point.
        since_random_access: u64,
        /// The announced target, seconds.
        target: u32,
    },
    /// An open-GOP stream (HEVC CRA/BLA pictures and no IDR in time): a
    /// segment was cut at a CRA picture, its leading pictures kept
    /// (reported once).
    OpenGop {
        /// Presentation time of the CRA picture.
        at: Timestamp,
    },
    /// No random access point at an SCTE-35 splice time: the segment was
    /// cut at the first one after it.
    SpliceLate {
        /// The splice time.
        splice: Timestamp,
        /// Where the segment was cut.
        cut: Timestamp,
    },
    /// An SCTE-35 splice announced for `at` never came: the timeline broke
    /// first (encoder restart, input switch), or the stream ended.
    SpliceDropped {
        /// The splice time on the old timeline.
        at: Timestamp,
    },
    /// An SCTE-35 section that cannot be read was skipped (its packets
    /// still go into the segment).
    BadSplice(crate::scte35::Scte35Error),
}

/// The announced target and the forced cuts it takes.
#[derive(Debug, Clone)]
pub(super) struct Target {
    asked: u32,
    announced: Option<u32>,
    /// The largest step between rising presentation times seen (capped).
    anchor_step: u64,
    /// Ticks from the open segment's start to its latest presentation time.
    anchor_elapsed: u64,
    /// A forced cut was made since the last random access point.
    forced_in_gop: bool,
    pub(super) forced_cuts: u64,
    pub(super) long_gops: u64,
}

impl Target {
    /// Asked for `asked` seconds; nothing announced yet.
    pub(super) fn new(asked: u32) -> Self {
        Self {
            asked: asked.max(1),
            announced: None,
            anchor_step: 0,
            anchor_elapsed: 0,
            forced_in_gop: false,
            forced_cuts: 0,
            long_gops: 0,
        }
    }

    /// The target announced, once settled.
    pub(super) fn announced(&self) -> Option<u32> {
        self.announced
    }

    /// Settles the target at `seconds` (a resumed playlist's).
    pub(super) fn fix(&mut self, seconds: u32) {
        self.announced = Some(seconds.max(1));
    }

    /// A segment of at least this many ticks rounds above the target (the
    /// cap's while nothing is announced).
    pub(super) fn limit(&self) -> u64 {
        let seconds = self.announced.unwrap_or(self.asked.max(FIRST_GOP_CAP_SECS));
        u64::from(seconds) * Timestamp::HZ + Timestamp::HZ / 2
    }

    /// The first GOP measured (`gop` ticks, frames of `frame` ticks): the
    /// target is settled, and said when it is raised. No-op once settled.
    pub(super) fn settle(&mut self, gop: u64, frame: u64) -> Option<CutNotice> {
        if self.announced.is_some() {
            return None;
        }
        // The smallest whole second s with gop < s + 0.5 s.
        let rounded = (gop + Timestamp::HZ / 2) / Timestamp::HZ;
        let announced = u32::try_from(rounded).unwrap_or(u32::MAX).max(self.asked);
        self.announced = Some(announced);
        (announced > self.asked).then_some(CutNotice::TargetRaised {
            gop,
            asked: self.asked,
            announced,
            frame,
        })
    }

    /// A segment opened (a forced cut if not `independent`); a notice for
    /// the first forced cut of a GOP.
    pub(super) fn opened(
        &mut self,
        independent: bool,
        at: Timestamp,
        since_rap: u64,
    ) -> Option<CutNotice> {
        self.anchor_elapsed = 0;
        if independent {
            self.forced_in_gop = false;
            return None;
        }
        self.forced_cuts += 1;
        if std::mem::replace(&mut self.forced_in_gop, true) {
            return None;
        }
        self.long_gops += 1;
        Some(CutNotice::LongGop {
            at,
            since_random_access: since_rap,
            target: self.announced.unwrap_or(self.asked),
        })
    }

    /// A frame presented `elapsed` ticks after the open segment's start
    /// (reordered frames before it read as huge): whether the segment must
    /// be cut before it, because the next rising frame could take it to
    /// the limit. `frame` is the frame duration; beyond `bound` ticks,
    /// `elapsed` is a frame reordered before the start.
    pub(super) fn forced_cut_due(&mut self, elapsed: u64, frame: u64, bound: u64) -> bool {
        if elapsed > bound || elapsed <= self.anchor_elapsed {
            return false; // reordered, or a jump (the timeline break handles it)
        }
        let step = elapsed - self.anchor_elapsed;
        if step <= MAX_ANCHOR_STEP {
            self.anchor_step = self.anchor_step.max(step);
        }
        self.anchor_elapsed = elapsed;
        let next = match self.anchor_step {
            0 => frame.min(MAX_ANCHOR_STEP),
            s => s,
        };
        elapsed + next >= self.limit()
    }
}
