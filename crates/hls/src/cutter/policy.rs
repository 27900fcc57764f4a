//! The cut policy: given the lead stream's access units and their times,
//! where segments and parts end. Pure: no bytes, no IO, no clock.
//!
//! * **Segments** end at a random access point when waiting for the next
//!   one would make the segment round above the target duration: the
//!   interval between the last two random access points predicts the next.
//!   The target is the one announced from the first GOP, and a GOP still
//!   too long is cut without a random access point (`cutter/target.rs`).
//! * **Open GOP** (HEVC): a CRA/BLA picture is a cut point when allowed,
//!   or when a cut is due there and no IDR is expected in time.
//! * **Timeline**: a decoding-time jump beyond `max_jump`, forwards or
//!   backwards, breaks it (the open segment ends where the old timeline
//!   did; the next one opens a discontinuity). The 33-bit wrap is no jump.
//! * **Parts** (low-latency HLS) end before a frame that would take them
//!   past the part target, or earlier when that balances the segment's
//!   parts (see [`balance`]).
//! * **Splices** (SCTE-35): a segment also ends before the first random
//!   access point at or after an announced splice time
//!   (`cutter/splices.rs`).

use std::collections::VecDeque;

use super::splices::{SpliceMark, Splices};
use super::target::{CutNotice, Target};
use super::CutterConfig;
use crate::scte35::SpliceInfo;
use crate::Timestamp;

/// Where to cut, from the times of the lead stream's access units.
#[derive(Debug, Clone)]
pub(super) struct CutPolicy {
    /// The announced target, and the forced cuts it takes.
    target: Target,
    /// A larger decoding-time step is a discontinuity, ticks.
    max_jump: u64,
    /// The part target in ticks, when parts are on.
    part_target: Option<u64>,
    /// Presentation time of the last cut point seen, and the interval
    /// before it (predicts the next one).
    last_rap: Option<Timestamp>,
    rap_interval: u64,
    /// The same for IDR pictures alone (open GOP: CRA pictures are cut
    /// points only when no IDR is expected in time).
    last_idr: Option<Timestamp>,
    idr_interval: u64,
    /// A segment was cut at a CRA picture without `allow_cra`.
    cut_at_cra: bool,
    /// What to tell the operator, oldest first.
    notices: VecDeque<CutNotice>,
    /// Decoding time of the last lead PES, and the interval before it
    /// (the frame duration).
    last_time: Option<Timestamp>,
    frame: u64,
    /// The latest presentation time on the current timeline.
    last_pts: Option<Timestamp>,
    /// A jump was seen: the next cut opens a discontinuity; the open
    /// segment ends where the old timeline did.
    broken: Option<Timestamp>,
    /// Timestamp jumps turned into discontinuities.
    discontinuities: u64,
    /// Lead PES whose decoding time advanced (the input's sign of health).
    advances: u64,
    /// The input stalled (and resumed): the next lead PES shows whether
    /// frames were lost meanwhile.
    stalled: bool,
    /// The input stalled and the open segment was closed here: a segment
    /// opening anywhere else opens a discontinuity.
    resume_at: Option<Timestamp>,
    /// SCTE-35 splices waiting for their time, and marks for the open
    /// segment.
    splices: Splices,
}

impl CutPolicy {
    /// The policy for `config`.
    pub(super) fn new(config: &CutterConfig) -> Self {
        let hz = Timestamp::HZ;
        Self {
            target: Target::new(config.target_duration),
            max_jump: (config.max_jump.max(0.0) * hz as f64) as u64,
            part_target: config
                .part_target
                .filter(|t| t.is_finite() && *t > 0.0)
                .map(|t| (t * hz as f64) as u64),
            last_rap: None,
            rap_interval: 0,
            last_idr: None,
            idr_interval: 0,
            cut_at_cra: false,
            notices: VecDeque::new(),
            last_time: None,
            frame: 0,
            last_pts: None,
            broken: None,
            discontinuities: 0,
            advances: 0,
            stalled: false,
            resume_at: None,
            splices: Splices::default(),
        }
    }

    /// The part target in ticks, when parts are on.
    pub(super) fn part_target(&self) -> Option<u64> {
        self.part_target
    }

    /// Timestamp jumps turned into discontinuities so far.
    pub(super) fn discontinuities(&self) -> u64 {
        self.discontinuities
    }

    /// Whether a segment of `duration` ticks rounds above the target.
    pub(super) fn is_long(&self, duration: u64) -> bool {
        duration >= self.limit()
    }

    /// A segment of at least this many ticks rounds above the target.
    fn limit(&self) -> u64 {
        self.target.limit()
    }

    /// The announced target, and the forced cuts made so far.
    pub(super) fn target(&self) -> &Target {
        &self.target
    }

    /// Settles the announced target at `seconds` (a resumed playlist's).
    pub(super) fn fix_target(&mut self, seconds: u32) {
        self.target.fix(seconds);
    }

    /// The stream ended: a target not settled yet is settled by the only
    /// segment, `duration` ticks long.
    pub(super) fn settle_at_end(&mut self, duration: u64) {
        let notice = self.target.settle(duration, self.frame);
        self.notices.extend(notice);
    }

    /// The next notice for the operator.
    pub(super) fn pop_notice(&mut self) -> Option<CutNotice> {
        self.notices.pop_front()
    }

    /// Notes the times of a lead PES; a jump breaks the timeline.
    pub(super) fn note_time(&mut self, decode: Option<Timestamp>, pts: Option<Timestamp>) {
        let Some(t) = decode else { return };
        if let Some(last) = self.last_time {
            let forward = t.ticks_since(last);
            if forward > self.max_jump {
                self.discontinuities += 1;
                self.break_timeline();
            } else if forward > 0 {
                self.frame = forward;
                self.advances += 1;
            }
        }
        self.last_time = Some(t);
        if let Some(pts) = pts {
            // PTS run out of order with B-frames: keep the latest.
            let later = self
                .last_pts
                .is_none_or(|m| (1..=self.max_jump).contains(&pts.ticks_since(m)));
            if later {
                self.last_pts = Some(pts);
            }
        }
    }

    /// The end of the last frame on the current timeline.
    pub(super) fn timeline_end(&self) -> Option<Timestamp> {
        self.last_pts
            .map(|t| Timestamp(t.0.wrapping_add(self.frame) & (Timestamp::WRAP - 1)))
    }

    /// The stream's clock jumped (or the lead stream or the input changed):
    /// the open segment ends with the old timeline, the next opens a
    /// discontinuity.
    pub(super) fn break_timeline(&mut self) {
        if self.broken.is_none() {
            self.broken = Some(self.timeline_end().unwrap_or(Timestamp(0)));
        }
        self.last_time = None;
        self.last_pts = None;
        self.last_rap = None;
        self.last_idr = None;
        let notices = &mut self.notices;
        self.splices.break_timeline(&mut |n| notices.push_back(n));
    }

    /// An SCTE-35 section arrived.
    pub(super) fn announce_splice(&mut self, section: &[u8], info: &SpliceInfo) {
        self.splices.announce(section, info);
    }

    /// An SCTE-35 section was refused: the operator hears why.
    pub(super) fn refuse_splice(&mut self, notice: CutNotice) {
        self.notices.push_back(notice);
    }

    /// Whether a random access point presented at `pts` is where a splice
    /// is due (a cut is made there).
    pub(super) fn splice_due(&self, pts: Timestamp) -> bool {
        self.splices.due(pts)
    }

    /// The marks of the splices made at `pts`.
    pub(super) fn take_splices(&mut self, pts: Timestamp) -> Vec<SpliceMark> {
        let notices = &mut self.notices;
        self.splices.take_due(pts, &mut |n| notices.push_back(n))
    }

    /// The stream ends: waiting splices are dropped (and said); the marks
    /// left for the last segment.
    pub(super) fn end_splices(&mut self) -> Vec<SpliceMark> {
        let notices = &mut self.notices;
        self.splices.end(&mut |n| notices.push_back(n))
    }

    /// Marks (commands without a time) for the segment in progress.
    pub(super) fn take_open_marks(&mut self) -> Vec<SpliceMark> {
        self.splices.take_open()
    }

    /// A lead frame presented at `pts` arrived (the time of sections that
    /// come without one).
    pub(super) fn note_presented(&mut self, pts: Timestamp) {
        self.splices.note(pts);
    }

    /// Lead PES whose decoding time advanced, so far.
    pub(super) fn advances(&self) -> u64 {
        self.advances
    }

    /// The input stalled: a hole in the timestamps after it is a break.
    pub(super) fn note_stall(&mut self) {
        self.stalled = true;
    }

    /// Whether a lead PES decoded at `decode`, the first after a stall,
    /// leaves a hole (more than a frame and a half since the last one, up
    /// to the jump limit: frames were lost). A hole counts as a jump.
    pub(super) fn is_hole(&mut self, decode: Option<Timestamp>) -> bool {
        if !std::mem::take(&mut self.stalled) {
            return false;
        }
        let step = match (decode, self.last_time) {
            (Some(t), Some(last)) => t.ticks_since(last),
            _ => return false,
        };
        let hole = self.frame > 0 && step > self.frame + self.frame / 2 && step <= self.max_jump;
        self.discontinuities += u64::from(hole);
        hole
    }

    /// The input stalled and the open segment ended with the timeline: the
    /// next segment continues it only if it starts where it ended.
    pub(super) fn interrupt(&mut self) {
        self.resume_at = self.timeline_end();
    }

    /// A segment opens at `pts`: after an interruption, anywhere but where
    /// the timeline ended (within half a frame) breaks it (frames were lost).
    pub(super) fn resume(&mut self, pts: Timestamp) {
        let Some(end) = self.resume_at.take() else {
            return;
        };
        let off = pts.ticks_since(end).min(end.ticks_since(pts));
        if off > self.frame / 2 && self.broken.is_none() {
            self.broken = Some(end);
        }
    }

    /// The last frame was dropped: the timeline ends a frame earlier.
    pub(super) fn drop_last_frame(&mut self) {
        if let Some(t) = self.last_pts {
            self.last_pts = Some(Timestamp(
                t.0.wrapping_sub(self.frame) & (Timestamp::WRAP - 1),
            ));
        }
    }

    /// A random access point at `pts` (an IDR if `idr`, else a CRA/BLA
    /// picture): it measures the interval between them (jumps aside); the
    /// first interval settles the announced target.
    pub(super) fn note_random_access(&mut self, pts: Timestamp, idr: bool) {
        if let Some(i) = self.interval_since(self.last_rap, pts) {
            self.rap_interval = i;
            let notice = self.target.settle(i, self.frame);
            self.notices.extend(notice);
        }
        self.last_rap = Some(pts);
        if idr {
            if let Some(i) = self.interval_since(self.last_idr, pts) {
                self.idr_interval = i;
            }
            self.last_idr = Some(pts);
        }
    }

    /// Ticks from `last` to `pts` when it is a plausible interval.
    fn interval_since(&self, last: Option<Timestamp>, pts: Timestamp) -> Option<u64> {
        // A GOP may be longer than a jump between frames: up to the cap.
        let i = pts.ticks_since(last?);
        (i > 0 && i <= self.max_jump.max(self.limit())).then_some(i)
    }

    /// Whether a CRA/BLA picture at `pts` is a cut point without
    /// `allow_cra`: when no segment is open, when the first GOP is still
    /// being measured, or when a cut is due there and the next IDR (or, with
    /// none seen twice, the next random access point) would come too late.
    pub(super) fn cra_due(&self, open_start: Option<Timestamp>, pts: Timestamp) -> bool {
        let Some(start) = open_start else { return true };
        if self.target.announced().is_none() {
            return true;
        }
        let next = match self.idr_interval {
            0 => self.rap_interval,
            i => i,
        };
        self.cut_due(start, pts, next)
    }

    /// A segment was cut at a CRA picture without `allow_cra`: said once.
    pub(super) fn note_cra_cut(&mut self, pts: Timestamp) {
        if !std::mem::replace(&mut self.cut_at_cra, true) {
            self.notices.push_back(CutNotice::OpenGop { at: pts });
        }
    }

    /// Whether the open segment (since `open_start`) must be cut without a
    /// random access point before a frame presented at `pts`: the GOP is
    /// longer than the announced target (see `cutter/target.rs`).
    pub(super) fn forced_cut_due(&mut self, open_start: Option<Timestamp>, pts: Timestamp) -> bool {
        let Some(start) = open_start else {
            return false;
        };
        if self.broken.is_some() {
            return false; // the next random access point cuts
        }
        let elapsed = pts.ticks_since(start);
        // Frames reordered before the start read as nearly 2^33 ticks.
        let bound = 2 * self.limit();
        if !self.target.forced_cut_due(elapsed, self.frame, bound) {
            return false;
        }
        if self.target.announced().is_none() {
            // No second random access point within the cap: announce it.
            let cap = self.limit() - Timestamp::HZ / 2;
            let notice = self.target.settle(cap, self.frame);
            self.notices.extend(notice);
        }
        true
    }

    /// A segment opened at `pts` (`independent`: at a random access point,
    /// else a forced cut).
    pub(super) fn opened(&mut self, pts: Timestamp, independent: bool) {
        let since_rap = self.last_rap.map_or(0, |r| pts.ticks_since(r));
        let notice = self.target.opened(independent, pts, since_rap);
        self.notices.extend(notice);
    }

    /// Whether a cut at random access point `pts` is due, for a segment
    /// open since `open_start` (none open: always).
    pub(super) fn should_cut(&self, open_start: Option<Timestamp>, pts: Timestamp) -> bool {
        let Some(start) = open_start else { return true };
        if self.broken.is_some() {
            return true;
        }
        self.cut_due(start, pts, self.rap_interval)
    }

    /// Whether a cut at `pts` is due for a segment open since `start` when
    /// the next cut point is expected `next` ticks later (0: unknown).
    fn cut_due(&self, start: Timestamp, pts: Timestamp, next: u64) -> bool {
        let elapsed = pts.ticks_since(start);
        let limit = self.limit();
        let target = limit - Timestamp::HZ / 2;
        elapsed > 0 && (elapsed >= target || elapsed + next >= limit)
    }

    /// Where the open segment ends if the timeline broke since it opened
    /// (the old timeline's end), else where the timeline ends now.
    pub(super) fn open_segment_end(&self) -> Option<Timestamp> {
        self.broken.or_else(|| self.timeline_end())
    }

    /// Takes the timeline break for a cut: `Some(end of the old timeline)`
    /// when the segment being closed ends there and the next opens a
    /// discontinuity.
    pub(super) fn take_break(&mut self) -> Option<Timestamp> {
        self.broken.take()
    }

    /// Whether the part in progress, started at decoding time `start` after
    /// `so_far` ticks of closed parts, ends before a frame at decoding time
    /// `dts`; its duration in ticks if so.
    pub(super) fn part_ends(&self, start: Timestamp, so_far: u64, dts: Timestamp) -> Option<u64> {
        let target = self.part_target?;
        let elapsed = dts.ticks_since(start);
        if elapsed == 0 || elapsed > self.max_jump {
            return None;
        }
        let due = elapsed + self.frame > target;
        let so_far = so_far + elapsed;
        let expected = self.expected_segment();
        (due || balance(elapsed, so_far, self.frame, target, expected)).then_some(elapsed)
    }

    /// The expected length of a segment, ticks: the first multiple of the
    /// interval between random access points at which [`Self::should_cut`]
    /// cuts (0 while that interval is unknown).
    fn expected_segment(&self) -> u64 {
        let ri = self.rap_interval;
        if ri == 0 {
            return 0;
        }
        let limit = self.limit();
        let target = limit - Timestamp::HZ / 2;
        let mut len = ri;
        while len < target && len + ri < limit {
            len += ri;
        }
        len
    }
}

/// Whether a part of `elapsed` ticks, `so_far` ticks into its segment, is
/// better closed now than grown to the part target, when the segment is
/// expected to last `expected` ticks: it is when closing now leaves a
/// longer last part. Greedy parts end a segment with whatever is left: 25
/// fps video in 2 s segments and 0.5 s parts gives 0.48, 0.48, 0.48, 0.48
/// and 0.08 s, and a tiny last part is a full request for two frames that
/// players fetch late (hls.js stalled on one in the low-latency player
/// test); this gives 0.44 × 4 + 0.24 s. Only parts of at least 85 % of the
/// target close early: RFC 8216bis §4.4.4.9 wants that of every part but a
/// segment's last. Counted in frames, so that timestamp jitter of a tick
/// does not change the answer. A wrong guess (an irregular GOP) costs
/// nothing but balance: every part stays within 85–100 % of the target.
fn balance(elapsed: u64, so_far: u64, frame: u64, target: u64, expected: u64) -> bool {
    if frame == 0 || expected == 0 || elapsed * 100 < target * 85 {
        return false;
    }
    let frames = |t: u64| (t + frame / 2) / frame;
    let per_part = target / frame; // whole frames in a full part
    let (now, left) = (
        frames(elapsed),
        frames(expected).saturating_sub(frames(so_far)),
    );
    if per_part == 0 || now >= per_part || left == 0 {
        return false;
    }
    // The last part when the rest is cut in full parts.
    let last = |n: u64| if n == 0 { 0 } else { (n - 1) % per_part + 1 };
    let close_now = last(left);
    let grow = per_part - now;
    let later = if left <= grow {
        now + left
    } else {
        last(left - grow)
    };
    close_now > later
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balance_closes_early_only_for_a_longer_last_part_and_never_under_85_percent() {
        const F: u64 = 3_600; // 25 fps
        let target = 45_000; // 0.5 s: 12 frames at most
        let gop = 50 * F;
        // 11 frames in, 0 before: closing leaves 39 frames = 12 + 12 + 12 + 3,
        // growing to 12 leaves 38 = 12 + 12 + 12 + 2: close.
        assert!(balance(11 * F, 11 * F, F, target, gop));
        // 10 frames (0.4 s) is under 85 % of the target: never.
        assert!(!balance(10 * F, 10 * F, F, target, gop));
        // A GOP that parts of 12 divide (48 frames): growing is as good.
        assert!(!balance(11 * F, 11 * F, F, target, 48 * F));
        // Unknown GOP or frame duration: greedy.
        assert!(!balance(11 * F, 11 * F, F, target, 0));
        assert!(!balance(11 * F, 11 * F, 0, target, gop));
    }
}
