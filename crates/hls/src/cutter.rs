//! Cutting a transport stream into HLS segments: each opens with the PAT,
//! the PMT and (but for a forced cut) a random access point, and lasts what
//! its timestamps say.
//!
//! Where to cut: at a video keyframe (H.264 IDR; HEVC IDR, CRA/BLA when
//! allowed or when no IDR comes in time), when waiting for the next one
//! would make the segment round above the target duration (the interval
//! between the last two keyframes predicts the next). The target announced
//! is settled from the first GOP ([`SegmentCutter::announced_target`]: the
//! asked one, raised when the first GOP is longer); a later GOP still too
//! long is cut between frames without a keyframe ([`Segment::independent`]
//! is then false). No segment rounds above the announced target, and each
//! such decision is told when it happens ([`CutNotice`]). Audio-only
//! streams are cut the same way at audio PES starts.
//!
//! A forced cut's first frame gets the stream's current parameter sets
//! (the last keyframe's SPS and PPS; HEVC VPS, SPS, PPS), which encoders
//! send only with keyframes: its first video packet is rebuilt with them
//! after the access unit delimiter (`cutter/parameter_sets.rs`), so that a
//! player joining there can configure its decoder. Every other packet is
//! copied unchanged, and segments opening at a keyframe are untouched.
//!
//! A keyframe is recognised from the NAL units at the start of its PES
//! packet, which may span several TS packets: the packets from a video PES
//! start on are held until its first picture is known, then go to the
//! current segment or open the next one. A cut therefore never splits a PES.
//!
//! Three concepts, one file each: [`crate::demux`] turns packets into
//! access units with timestamps and random-access verdicts; the cut policy
//! (`cutter/policy.rs`, pure) says where segments and parts end; the
//! assembly (`cutter/assembly.rs`) puts whole packets into them (a forced
//! cut's first packet rebuilt by `cutter/parameter_sets.rs`). The
//! [`SegmentCutter`] here wires them together.

use crate::demux::{AccessUnit, DemuxEvent, DemuxStats, Demuxer};
use crate::psi::Pmt;
use crate::sps::VideoFormat;
use crate::ts::{TsError, PACKET_SIZE};
use crate::Timestamp;
use assembly::{Assembly, OpenTimes, PartProgress};
use policy::CutPolicy;
pub use splices::SpliceMark;
pub use target::{CutNotice, FIRST_GOP_CAP_SECS};

mod assembly;
mod parameter_sets;
mod policy;
mod splices;
mod target;

/// How to cut.
#[derive(Debug, Clone, PartialEq)]
pub struct CutterConfig {
    /// The longest a segment should be, in seconds (EXT-X-TARGETDURATION).
    pub target_duration: u32,
    /// Accept HEVC CRA/BLA pictures as cut points always. Off (the
    /// default), they are cut points only when a cut is due and no IDR is
    /// expected in time (open-GOP encoders such as x265's defaults send one
    /// IDR and CRA pictures after it), said once with
    /// [`CutNotice::OpenGop`].
    pub allow_cra: bool,
    /// A decoding-time jump larger than this, forwards or backwards, is a
    /// discontinuity (encoder restart, splice), in seconds.
    pub max_jump: f64,
    /// Low-latency HLS: also cut partial segments no longer than this many
    /// seconds, at frame starts (`None`: no parts).
    pub part_target: Option<f64>,
}

impl Default for CutterConfig {
    fn default() -> Self {
        Self {
            target_duration: 6,
            allow_cra: false,
            max_jump: 10.0,
            part_target: None,
        }
    }
}

/// A finished segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Whole TS packets: PAT, PMT, then the stream from a random access point
    /// (or a forced cut's frame, with parameter sets inserted).
    pub bytes: Vec<u8>,
    /// How many of the first `bytes` are the copies of the PAT and PMT
    /// packets (the latest complete tables before the cut); the stream's
    /// own packets follow.
    pub table_bytes: usize,
    /// Presentation time of its first picture (or audio frame).
    pub start: Timestamp,
    /// Its duration in 90 kHz ticks: to the next segment's start, or for the
    /// last one, to the end of its last frame.
    pub duration: u64,
    /// The timeline breaks before this segment (EXT-X-DISCONTINUITY).
    pub discontinuity: bool,
    /// It rounds above the announced target duration: never, since forced
    /// cuts (kept to report a broken invariant, counted in
    /// [`CutterStats::long_segments`]).
    pub long: bool,
    /// It opens with a random access point; false after a forced cut (a
    /// GOP longer than the target), whose first frames need the previous
    /// segment's pictures (its first frame carries the stream's parameter
    /// sets, its first video packet rebuilt for them, flagged with the
    /// discontinuity_indicator).
    pub independent: bool,
    /// The SCTE-35 sections it carries to the playlist: those whose splice
    /// it was cut for (it starts at the first random access point at or
    /// after their time), and those without a time that arrived while it
    /// was open. Their packets are in `bytes` wherever they arrived.
    pub splices: Vec<SpliceMark>,
    /// Its intra pictures (H.264 or HEVC video only), in order: what an
    /// I-frame playlist lists. The first starts at `table_bytes` when the
    /// segment opens with one.
    pub iframes: Vec<IFrame>,
    /// The next segment opens with an intra picture (known when this one
    /// was cut for it), or none follows (the stream ended): its last
    /// intra picture lasts to its end. False after a stall or before a
    /// forced cut: that picture lasts until the next one, wherever it is.
    pub next_intra: bool,
}

/// An intra picture (IDR, CRA or BLA) in a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IFrame {
    /// Where its packets start in the segment's bytes: a packet boundary.
    pub offset: usize,
    /// Its packets' length, whole packets: from its PES start to the next
    /// video PES start (packets of other streams between included), or to
    /// the segment's end.
    pub length: usize,
    /// Its presentation time.
    pub pts: Timestamp,
}

impl Segment {
    /// Duration in seconds.
    pub fn seconds(&self) -> f64 {
        Timestamp::seconds(self.duration)
    }

    /// Its intra pictures with their durations in ticks (what
    /// `EXTINF` says in an I-frame playlist): to the next one's
    /// presentation time, the last to the segment's end. None lasts longer
    /// than the segment (a picture presented before the segment's start,
    /// as an open GOP's may be, lasts the segment's whole duration).
    pub fn iframe_durations(&self) -> impl Iterator<Item = (IFrame, u64)> + '_ {
        let end = Timestamp(self.start.0.wrapping_add(self.duration) & (Timestamp::WRAP - 1));
        self.iframes.iter().enumerate().map(move |(i, f)| {
            let next = self.iframes.get(i + 1).map_or(end, |n| n.pts);
            let ticks = next.ticks_since(f.pts);
            (*f, ticks.min(self.duration))
        })
    }
}

/// A partial segment (low-latency HLS): whole packets from a frame start.
/// The parts of a segment, in order, are exactly its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// The packets.
    pub bytes: Vec<u8>,
    /// Its duration in 90 kHz ticks (decoding time to the next part; the
    /// last part of a segment takes what makes the parts add up to it).
    pub duration: u64,
    /// It starts with a random access point (the first part of a segment
    /// always does, with PAT and PMT).
    pub independent: bool,
    /// Its index in its segment, from 0.
    pub index: u32,
}

/// What the cutter produces, in order: the parts of a segment (when parts
/// are on), then the segment.
#[derive(Debug, Clone, PartialEq)]
pub enum Cut {
    /// A partial segment of the segment in progress.
    Part(Part),
    /// A finished segment.
    Segment(Segment),
}

/// What the cutter saw, for logs and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CutterStats {
    /// What the demultiplexer saw: packets taken, null packets (left out of
    /// the segments), broken packets, continuity gaps, bad sections and PES
    /// headers, PMT changes.
    pub demux: DemuxStats,
    /// Timestamp jumps that broke the timeline. Not the count of
    /// `EXT-X-DISCONTINUITY` tags: jumps before one cut make one tag, a PMT
    /// or input change makes one without a jump (see
    /// [`Segment::discontinuity`], and the segmenter's count of the tags
    /// written).
    pub discontinuities: u64,
    /// Segments rounding above the announced target duration (0: forced
    /// cuts keep every segment within it).
    pub long_segments: u64,
    /// Segments cut without a random access point (GOPs longer than the
    /// announced target).
    pub forced_cuts: u64,
    /// GOPs longer than the announced target (each needed forced cuts).
    pub long_gops: u64,
    /// Packets before the first PAT/PMT and random access point (not in any
    /// segment: nothing can decode them).
    pub skipped_before_start: u64,
}

/// Turns TS packets into [`Segment`]s. Feed every packet with
/// [`SegmentCutter::push`], take finished segments with
/// [`SegmentCutter::pop`], and the last one with [`SegmentCutter::finish`].
#[derive(Debug)]
pub struct SegmentCutter {
    allow_cra: bool,
    demux: Demuxer,
    policy: CutPolicy,
    assembly: Assembly,
}

impl SegmentCutter {
    /// A cutter with `config`.
    pub fn new(config: CutterConfig) -> Self {
        let policy = CutPolicy::new(&config);
        Self {
            allow_cra: config.allow_cra,
            demux: Demuxer::new(),
            assembly: Assembly::new(policy.part_target().is_some()),
            policy,
        }
    }

    /// What was seen so far.
    pub fn stats(&self) -> CutterStats {
        CutterStats {
            demux: *self.demux.stats(),
            discontinuities: self.policy.discontinuities(),
            long_segments: self.assembly.long_segments(),
            forced_cuts: self.policy.target().forced_cuts,
            long_gops: self.policy.target().long_gops,
            skipped_before_start: self.assembly.skipped_before_start(),
        }
    }

    /// `EXT-X-TARGETDURATION` to announce, seconds, once settled: the asked
    /// target, or longer when the first GOP is ([`CutNotice::TargetRaised`]).
    /// Settled at the stream's second random access point, after
    /// [`FIRST_GOP_CAP_SECS`] without one, at [`finish`](Self::finish), or
    /// by [`fix_target`](Self::fix_target). Every finished segment comes
    /// after it is settled; parts may come before (hold them until then).
    pub fn announced_target(&self) -> Option<u32> {
        self.policy.target().announced()
    }

    /// Settles the announced target at `seconds` without measuring (a
    /// resumed playlist keeps its `EXT-X-TARGETDURATION`).
    pub fn fix_target(&mut self, seconds: u32) {
        self.policy.fix_target(seconds);
    }

    /// The next thing to tell the operator, oldest first.
    pub fn pop_notice(&mut self) -> Option<CutNotice> {
        self.policy.pop_notice()
    }

    /// The video codec string and picture size, from the last keyframe's SPS.
    pub fn video_format(&self) -> Option<&VideoFormat> {
        self.demux.video_format()
    }

    /// The audio codec string (AAC in ADTS), once an audio frame was seen.
    pub fn audio_codec(&self) -> Option<&str> {
        self.demux.audio_codec()
    }

    /// The audio channels (AAC in ADTS), once an audio frame was seen.
    pub fn audio_channels(&self) -> Option<u8> {
        self.demux.audio_channels()
    }

    /// The current program, once its PMT arrived.
    pub fn pmt(&self) -> Option<&Pmt> {
        self.demux.pmt()
    }

    /// The input changed (failover): what is held is dropped, the open
    /// segment ends with the old input's timeline, and the next segment
    /// starts at the new input's first random access point, after a
    /// discontinuity. Packets before that point are dropped (counted in
    /// `skipped_before_start`).
    pub fn switch_input(&mut self) {
        let held = self.demux.switch_input();
        self.assembly.skip(held);
        // The old input's last frame may be cut short.
        self.drop_partial_frame();
        self.policy.break_timeline();
        self.assembly.await_random_access();
    }

    /// Ends the stream when the input was interrupted rather than ended (a
    /// stop signal, a dead connection): its last frame may be incomplete,
    /// so it is dropped before the last segment is finished.
    pub fn finish_interrupted(&mut self) {
        self.demux.discard_held();
        self.drop_partial_frame();
        self.finish();
    }

    /// The input stalled: the open segment (with its parts) is finished now
    /// with what came, its last frame dropped as possibly incomplete
    /// (as [`finish_interrupted`](Self::finish_interrupted) does), and the
    /// stream goes on: the next segment opens at the next random access
    /// point, after a discontinuity unless it starts where this one ended.
    pub fn close_stalled(&mut self) {
        let held = self.demux.discard_held();
        self.assembly.skip(held);
        self.drop_partial_frame();
        // Even with nothing left open: what comes next must continue here.
        self.policy.interrupt();
        let Some(start) = self.assembly.open_start() else {
            return;
        };
        // After a jump or a hole with no random access point since, the
        // frames past it were not kept: the segment ends before it.
        let duration = self
            .policy
            .open_segment_end()
            .map_or(0, |e| e.ticks_since(start));
        self.assembly
            .close(duration, self.policy.is_long(duration), false);
    }

    /// The input stalled and resumes: if the next lead PES leaves a hole in
    /// the timestamps (frames were lost), the open segment ends before it
    /// and the next opens at a random access point after a discontinuity,
    /// so that no segment spans the hole (nor runs past the target
    /// duration for want of the lost keyframes).
    pub fn note_stall(&mut self) {
        self.policy.note_stall();
    }

    /// Lead-stream PES whose decoding time advanced past the one before,
    /// so far: what the input yielded (a failover watchdog's measure).
    pub fn lead_advances(&self) -> u64 {
        self.policy.advances()
    }

    /// The next finished segment, oldest first, skipping parts (for
    /// callers that do not use them).
    pub fn pop(&mut self) -> Option<Segment> {
        let done = self.assembly.done();
        while let Some(c) = done.pop_front() {
            if let Cut::Segment(s) = c {
                return Some(s);
            }
        }
        None
    }

    /// The next part or segment, in order.
    pub fn pop_cut(&mut self) -> Option<Cut> {
        self.assembly.done().pop_front()
    }

    /// The part or segment [`pop_cut`](Self::pop_cut) returns next.
    pub fn peek_cut(&self) -> Option<&Cut> {
        self.assembly.next_done()
    }

    /// Takes one 188-byte packet. A broken packet is counted and dropped;
    /// returns its error for the caller's log (never fatal).
    pub fn push(&mut self, bytes: &[u8; PACKET_SIZE]) -> Result<(), TsError> {
        let mut cut = Cutting {
            allow_cra: self.allow_cra,
            policy: &mut self.policy,
            assembly: &mut self.assembly,
        };
        self.demux.push(bytes, &mut |event| cut.take(event))
    }

    /// Ends the stream: the segment in progress, if any, is finished (take
    /// it with [`pop`](Self::pop) or [`pop_cut`](Self::pop_cut)).
    pub fn finish(&mut self) {
        let mut cut = Cutting {
            allow_cra: self.allow_cra,
            policy: &mut self.policy,
            assembly: &mut self.assembly,
        };
        self.demux.finish(&mut |event| cut.take(event));
        let marks = self.policy.end_splices();
        if !marks.is_empty() {
            self.assembly.add_splices(marks);
        }
        let Some(start) = self.assembly.open_start() else {
            return;
        };
        // After a jump or a hole with no random access point since, the
        // frames past it were not kept: the segment ends before it.
        let duration = self
            .policy
            .open_segment_end()
            .map_or(0, |e| e.ticks_since(start));
        self.policy.settle_at_end(duration);
        self.assembly
            .close(duration, self.policy.is_long(duration), true);
    }

    /// Drops the open segment's last lead frame; the timeline then ends a
    /// frame earlier.
    fn drop_partial_frame(&mut self) {
        if self.assembly.drop_partial_frame() {
            self.policy.drop_last_frame();
        }
    }
}

/// The policy and the assembly, taking the demuxer's events.
struct Cutting<'a> {
    allow_cra: bool,
    policy: &'a mut CutPolicy,
    assembly: &'a mut Assembly,
}

impl Cutting<'_> {
    fn take(&mut self, event: DemuxEvent<'_>) {
        match event {
            DemuxEvent::Packets(p) => self.assembly.append(p),
            DemuxEvent::PesStart { decode, pts } => {
                if self.policy.is_hole(decode) {
                    self.break_at_hole();
                }
                self.policy.note_time(decode, pts)
            }
            DemuxEvent::LeadChanged => self.policy.break_timeline(),
            DemuxEvent::AccessUnit(au) => self.access_unit(&au),
            DemuxEvent::Splice { section, info } => match info {
                Ok(info) => self.policy.announce_splice(section, &info),
                Err(e) => self.policy.refuse_splice(CutNotice::BadSplice(e)),
            },
        }
    }

    /// Frames were lost in a stall: the open segment ends before the hole
    /// (its last frame, maybe cut short, dropped), the frames after it wait
    /// for the next random access point, which opens a discontinuity.
    fn break_at_hole(&mut self) {
        if self.assembly.drop_partial_frame() {
            self.policy.drop_last_frame();
        }
        self.policy.break_timeline();
        self.assembly.await_random_access();
    }

    /// Decides where an access unit goes: it opens the next segment when it
    /// is a cut point and a cut is due, or when the segment would otherwise
    /// round above the target (a forced cut); else it extends the open one
    /// (possibly closing a part first).
    fn access_unit(&mut self, au: &AccessUnit<'_>) {
        let Some(pts) = au.pts else {
            return self.append_frame(au, false);
        };
        let open_start = self.assembly.open_start();
        let idr = au.is_random_access(false);
        let cra = !idr && au.is_random_access(true);
        if idr || cra {
            self.policy.note_random_access(pts, idr);
        }
        let cut_point = idr || (cra && (self.allow_cra || self.policy.cra_due(open_start, pts)));
        if cut_point && (au.pmt_packets.is_empty() || au.pat_packets.is_empty()) {
            self.assembly.skip(au.packets.len());
            return;
        }
        self.policy.note_presented(pts);
        let forced = self.policy.forced_cut_due(open_start, pts);
        let splice = cut_point && self.policy.splice_due(pts);
        if cut_point && (forced || splice || self.policy.should_cut(open_start, pts)) {
            if cra && !self.allow_cra {
                self.policy.note_cra_cut(pts);
            }
            self.cut(au, pts, true);
            if splice {
                let marks = self.policy.take_splices(pts);
                self.assembly.add_splices(marks);
            }
        } else if forced {
            self.cut(au, pts, false);
        } else {
            self.append_frame(au, au.is_random_access(self.allow_cra));
        }
        let open = self.policy.take_open_marks();
        if !open.is_empty() {
            self.assembly.add_splices(open);
        }
    }

    /// Closes the open segment (if any) before `au`, presented at `pts`,
    /// and opens the next with it (`independent`: at a random access point).
    fn cut(&mut self, au: &AccessUnit<'_>, pts: Timestamp, independent: bool) {
        self.policy.resume(pts);
        let broken = self.policy.take_break();
        if let Some(start) = self.assembly.open_start() {
            // After a jump, the old timeline ends with its last frame.
            let duration = broken.unwrap_or(pts).ticks_since(start);
            // A first segment closed by a jump or an input switch before
            // a second random access point: the target is settled from it.
            self.policy.settle_at_end(duration);
            self.assembly.close(
                duration,
                self.policy.is_long(duration),
                independent && au.intra,
            );
        }
        self.policy.opened(pts, independent);
        // A forced cut opens with a picture that is no keyframe: it gets
        // the stream's parameter sets, or a player joining there has none.
        let rebuilt = match au.parameter_sets {
            Some(sets) if !independent => parameter_sets::with_parameter_sets(au.packets, sets),
            _ => None,
        };
        let times = OpenTimes {
            pts,
            dts: au.decode,
            after_break: broken.is_some(),
            independent,
            intra: independent && au.intra,
        };
        let packets = rebuilt.as_deref().unwrap_or(au.packets);
        let added = packets.len().saturating_sub(au.packets.len());
        let tables = [au.pat_packets, au.pmt_packets];
        self.assembly.open(tables, packets, added, times);
    }

    /// An access unit that extends the open segment: the part in progress
    /// may end before it.
    fn append_frame(&mut self, au: &AccessUnit<'_>, rap: bool) {
        if let (Some(_), Some(dts)) = (self.policy.part_target(), au.decode) {
            match self.assembly.part_progress() {
                PartProgress::NoSegment => {}
                PartProgress::Unstarted => self.assembly.start_part(dts),
                PartProgress::Started(start, so_far) => {
                    if let Some(duration) = self.policy.part_ends(start, so_far, dts) {
                        self.assembly.close_part(duration, dts, rap);
                    }
                }
            }
        }
        self.assembly.mark_frame(au.pts.filter(|_| au.intra));
        self.assembly.append(au.packets);
    }
}

#[cfg(test)]
mod tests;
