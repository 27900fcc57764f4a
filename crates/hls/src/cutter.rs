//! Cutting a transport stream into HLS segments: each opens with the PAT,
//! the PMT and a random access point, and lasts what its timestamps say.
//!
//! Where to cut: at a video keyframe (H.264 IDR; HEVC IDR, and CRA/BLA only
//! when allowed), when waiting for the next keyframe would make the segment
//! round above the target duration (the interval between the last two
//! keyframes predicts the next one). A stream whose keyframes are further
//! apart than the target gets segments longer than it: each is flagged
//! [`Segment::long`] for the caller to report, never hidden. Audio-only
//! streams are cut the same way at audio PES starts.
//!
//! A keyframe is recognised from the NAL units at the start of its PES
//! packet, which may span several TS packets: the packets from a video PES
//! start on are held until its first picture is known, then go to the
//! current segment or open the next one. A cut therefore never splits a PES.
//!
//! Three concepts, one file each: [`crate::demux`] turns packets into
//! access units with timestamps and random-access verdicts; the cut policy
//! (`cutter/policy.rs`, pure) says where segments and parts end; the
//! assembly (`cutter/assembly.rs`) puts whole packets into them. The
//! [`SegmentCutter`] here wires the three together.

use crate::demux::{AccessUnit, DemuxEvent, DemuxStats, Demuxer};
use crate::psi::Pmt;
use crate::sps::VideoFormat;
use crate::ts::{TsError, PACKET_SIZE};
use crate::Timestamp;
use assembly::{Assembly, OpenTimes, PartProgress};
use policy::CutPolicy;

mod assembly;
mod policy;

/// How to cut.
#[derive(Debug, Clone, PartialEq)]
pub struct CutterConfig {
    /// The longest a segment should be, in seconds (EXT-X-TARGETDURATION).
    pub target_duration: u32,
    /// Accept HEVC CRA/BLA pictures as cut points (open-GOP leading
    /// pictures break some players: off by default).
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
    /// Whole TS packets: PAT, PMT, then the stream from a random access point.
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
    /// It rounds above the target duration (keyframes too far apart).
    pub long: bool,
}

impl Segment {
    /// Duration in seconds.
    pub fn seconds(&self) -> f64 {
        Timestamp::seconds(self.duration)
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
    /// Segments longer than the target duration.
    pub long_segments: u64,
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
            skipped_before_start: self.assembly.skipped_before_start(),
        }
    }

    /// The video codec string and picture size, from the last keyframe's SPS.
    pub fn video_format(&self) -> Option<&VideoFormat> {
        self.demux.video_format()
    }

    /// The audio codec string (AAC in ADTS), once an audio frame was seen.
    pub fn audio_codec(&self) -> Option<&str> {
        self.demux.audio_codec()
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
        self.assembly.close(duration, self.policy.is_long(duration));
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
        let Some(start) = self.assembly.open_start() else {
            return;
        };
        // After a jump or a hole with no random access point since, the
        // frames past it were not kept: the segment ends before it.
        let duration = self
            .policy
            .open_segment_end()
            .map_or(0, |e| e.ticks_since(start));
        self.assembly.close(duration, self.policy.is_long(duration));
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
    /// is a random access point and a cut is due, else it extends the open
    /// one (possibly closing a part first).
    fn access_unit(&mut self, au: &AccessUnit<'_>) {
        let pts = match (au.is_random_access(self.allow_cra), au.pts) {
            (true, Some(pts)) => pts,
            _ => return self.append_frame(au, false),
        };
        if au.pmt_packets.is_empty() || au.pat_packets.is_empty() {
            self.assembly.skip(au.packets.len());
            return;
        }
        self.policy.note_random_access(pts);
        if !self.policy.should_cut(self.assembly.open_start(), pts) {
            return self.append_frame(au, true);
        }
        self.policy.resume(pts);
        let broken = self.policy.take_break();
        if let Some(start) = self.assembly.open_start() {
            // After a jump, the old timeline ends with its last frame.
            let duration = broken.unwrap_or(pts).ticks_since(start);
            self.assembly.close(duration, self.policy.is_long(duration));
        }
        let times = OpenTimes {
            pts,
            dts: au.decode,
            after_break: broken.is_some(),
        };
        self.assembly
            .open([au.pat_packets, au.pmt_packets], au.packets, times);
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
        self.assembly.mark_frame();
        self.assembly.append(au.packets);
    }
}

#[cfg(test)]
mod tests;
