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

use std::collections::{HashMap, VecDeque};

use crate::nal::{Codec, FirstPicture, Picture};
use crate::pes;
use crate::psi::{self, Pmt, SectionAssembler, StreamKind};
use crate::sps::{adts_codec, parse_sps, VideoFormat};
use crate::ts::{Packet, Pid, TsError, PACKET_SIZE};
use crate::Timestamp;

/// Bytes held while looking for a PES's first picture before giving up
/// (a keyframe's NAL header comes within its first packets in practice).
const MAX_HELD: usize = 1 << 20;

/// No continuity counter seen yet on a PID.
const NO_COUNTER: u8 = 16;

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
    /// Packets taken.
    pub packets: u64,
    /// Null packets (PID 0x1fff) left out of the segments.
    pub null_packets: u64,
    /// Packets dropped as broken (transport error, bad adaptation field).
    pub bad_packets: u64,
    /// Continuity counter gaps (lost packets).
    pub continuity_errors: u64,
    /// PSI sections dropped (CRC, length).
    pub bad_sections: u64,
    /// PES headers that could not be read.
    pub bad_pes: u64,
    /// PMT versions after the first.
    pub pmt_changes: u64,
    /// Timestamp jumps turned into discontinuities.
    pub discontinuities: u64,
    /// Segments longer than the target duration.
    pub long_segments: u64,
    /// Packets before the first PAT/PMT and random access point (not in any
    /// segment: nothing can decode them).
    pub skipped_before_start: u64,
}

/// The elementary stream cuts are made on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lead {
    pid: Pid,
    kind: StreamKind,
}

/// A video PES whose first picture is not known yet, and the packets (of
/// every PID) that arrived since it started.
#[derive(Debug)]
struct Held {
    packets: Vec<u8>,
    pts: Option<Timestamp>,
    dts: Option<Timestamp>,
    scan: Option<FirstPicture>,
    random_access_indicator: bool,
}

/// The segment being filled.
#[derive(Debug)]
struct Open {
    bytes: Vec<u8>,
    start: Timestamp,
    discontinuity: bool,
    /// The part in progress: where it starts in `bytes`, its decoding time,
    /// whether it starts at a random access point; parts closed so far and
    /// their ticks.
    part_start: usize,
    part_dts: Option<Timestamp>,
    part_independent: bool,
    parts: u32,
    part_ticks: u64,
    /// Where the last frame of the lead stream starts in `bytes` (it may be
    /// incomplete when the input dies), and where the first one does.
    frame_start: usize,
    first_frame: usize,
}

/// Turns TS packets into [`Segment`]s. Feed every packet with
/// [`SegmentCutter::push`], take finished segments with
/// [`SegmentCutter::pop`], and the last one with [`SegmentCutter::finish`].
#[derive(Debug)]
pub struct SegmentCutter {
    config: CutterConfig,
    limit: u64,
    max_jump: u64,
    stats: CutterStats,
    pat: SectionAssembler,
    pmt_pid: Option<Pid>,
    pmt_asm: SectionAssembler,
    pmt: Option<Pmt>,
    /// The latest complete PAT and PMT, as raw packets (prepended to every
    /// segment; their continuity counters are the latest seen, so the next
    /// table in the stream follows on).
    pat_packets: Vec<u8>,
    pmt_packets: Vec<u8>,
    section_packets: HashMap<Pid, Vec<u8>>,
    lead: Option<Lead>,
    /// Last continuity counter per PID (16: none yet).
    continuity: Vec<u8>,
    held: Option<Held>,
    open: Option<Open>,
    /// Presentation time of the last cut point seen, and the interval
    /// before it (predicts the next one).
    last_rap: Option<Timestamp>,
    rap_interval: u64,
    /// Decoding time of the last lead PES, and the interval before it
    /// (the frame duration).
    last_time: Option<Timestamp>,
    frame: u64,
    /// The latest presentation time on the current timeline.
    last_pts: Option<Timestamp>,
    /// A jump was seen: the next cut opens a discontinuity; the open
    /// segment ends where the old timeline did.
    broken: Option<Timestamp>,
    /// Segments opened so far.
    opened: u64,
    done: VecDeque<Cut>,
    part_target: Option<u64>,
    /// The audio stream (the first in the PMT), for its codec string.
    audio_pid: Option<Pid>,
    video_format: Option<VideoFormat>,
    audio_codec: Option<String>,
    /// After an input switch: drop everything until the new input's first
    /// random access point.
    await_rap: bool,
}

impl SegmentCutter {
    /// A cutter with `config`.
    pub fn new(config: CutterConfig) -> Self {
        let hz = Timestamp::HZ;
        // round(d) <= target  <=>  d < target + 0.5 s.
        let limit = u64::from(config.target_duration) * hz + hz / 2;
        let max_jump = (config.max_jump.max(0.0) * hz as f64) as u64;
        let part_target = config
            .part_target
            .filter(|t| t.is_finite() && *t > 0.0)
            .map(|t| (t * hz as f64) as u64);
        Self {
            config,
            limit,
            max_jump,
            stats: CutterStats::default(),
            pat: SectionAssembler::default(),
            pmt_pid: None,
            pmt_asm: SectionAssembler::default(),
            pmt: None,
            pat_packets: Vec::new(),
            pmt_packets: Vec::new(),
            section_packets: HashMap::new(),
            lead: None,
            continuity: vec![NO_COUNTER; 8192],
            held: None,
            open: None,
            last_rap: None,
            rap_interval: 0,
            last_time: None,
            frame: 0,
            last_pts: None,
            broken: None,
            opened: 0,
            done: VecDeque::new(),
            part_target,
            audio_pid: None,
            video_format: None,
            audio_codec: None,
            await_rap: false,
        }
    }

    /// What was seen so far.
    pub fn stats(&self) -> &CutterStats {
        &self.stats
    }

    /// The video codec string and picture size, from the last keyframe's SPS.
    pub fn video_format(&self) -> Option<&VideoFormat> {
        self.video_format.as_ref()
    }

    /// The audio codec string (AAC in ADTS), once an audio frame was seen.
    pub fn audio_codec(&self) -> Option<&str> {
        self.audio_codec.as_deref()
    }

    /// The input changed (failover): what is held is dropped, the open
    /// segment ends with the old input's timeline, and the next segment
    /// starts at the new input's first random access point, after a
    /// discontinuity. Packets before that point are dropped (counted in
    /// `skipped_before_start`).
    pub fn switch_input(&mut self) {
        if let Some(h) = self.held.take() {
            self.stats.skipped_before_start += (h.packets.len() / PACKET_SIZE) as u64;
        }
        // The old input's last frame may be cut short.
        self.drop_partial_frame();
        self.break_timeline();
        self.continuity.fill(NO_COUNTER);
        self.last_time = None;
        self.await_rap = true;
    }

    /// Ends the stream when the input was interrupted rather than ended (a
    /// stop signal, a dead connection): its last frame may be incomplete,
    /// so it is dropped before the last segment is finished.
    pub fn finish_interrupted(&mut self) {
        self.held = None;
        self.drop_partial_frame();
        self.finish();
    }

    /// Drops the open segment's last lead frame (back to its start, or to the
    /// last published part); a segment left with no frame is dropped whole.
    fn drop_partial_frame(&mut self) {
        let Some(open) = &mut self.open else { return };
        let keep = open.frame_start.max(open.part_start);
        if keep >= open.bytes.len() {
            return;
        }
        self.stats.skipped_before_start += ((open.bytes.len() - keep) / PACKET_SIZE) as u64;
        open.bytes.truncate(keep);
        if keep <= open.first_frame && open.parts == 0 {
            self.open = None;
        }
        if let Some(t) = self.last_pts {
            self.last_pts = Some(Timestamp(
                t.0.wrapping_sub(self.frame) & (Timestamp::WRAP - 1),
            ));
        }
    }

    /// The current program, once its PMT arrived.
    pub fn pmt(&self) -> Option<&Pmt> {
        self.pmt.as_ref()
    }

    /// The next finished segment, oldest first, skipping parts (for
    /// callers that do not use them).
    pub fn pop(&mut self) -> Option<Segment> {
        while let Some(c) = self.done.pop_front() {
            if let Cut::Segment(s) = c {
                return Some(s);
            }
        }
        None
    }

    /// The next part or segment, in order.
    pub fn pop_cut(&mut self) -> Option<Cut> {
        self.done.pop_front()
    }

    /// The part or segment [`pop_cut`](Self::pop_cut) returns next.
    pub fn peek_cut(&self) -> Option<&Cut> {
        self.done.front()
    }

    /// Takes one 188-byte packet. A broken packet is counted and dropped;
    /// returns its error for the caller's log (never fatal).
    pub fn push(&mut self, bytes: &[u8; PACKET_SIZE]) -> Result<(), TsError> {
        self.stats.packets += 1;
        let p = match Packet::parse(bytes) {
            Ok(p) => p,
            Err(e) => {
                self.stats.bad_packets += 1;
                return Err(e);
            }
        };
        if p.pid == Pid::NULL {
            // Stuffing for a constant mux rate: no use in a file.
            self.stats.null_packets += 1;
            return Ok(());
        }
        self.check_continuity(&p);
        if p.pid == Pid::PAT {
            self.on_pat(&p);
        } else if Some(p.pid) == self.pmt_pid {
            self.on_pmt(&p);
        } else if let Some(lead) = self.lead.filter(|l| l.pid == p.pid) {
            self.on_lead(&p, lead);
            return Ok(());
        } else if self.audio_codec.is_none()
            && p.payload_unit_start_indicator
            && Some(p.pid) == self.audio_pid
        {
            if let Ok(h) = pes::parse_header(p.payload) {
                self.audio_codec = p.payload.get(h.data_offset..).and_then(adts_codec);
            }
        }
        self.append(p.bytes);
        Ok(())
    }

    /// Ends the stream: the segment in progress, if any, is finished (take
    /// it with [`pop`](Self::pop) or [`pop_cut`](Self::pop_cut)).
    pub fn finish(&mut self) {
        if let Some(h) = self.held.take() {
            self.append_to_open(&h.packets);
        }
        let Some(open) = self.open.take() else { return };
        let duration = self.timeline_end().map_or(0, |e| self.span(open.start, e));
        self.close(open, duration);
    }

    fn check_continuity(&mut self, p: &Packet<'_>) {
        if !p.has_payload() || p.pid == Pid::NULL {
            return;
        }
        let cc = p.continuity_counter;
        // A PID is 13 bits: always an index of the 8192 slots.
        let Some(slot) = self.continuity.get_mut(usize::from(p.pid.0)) else {
            return;
        };
        let last = std::mem::replace(slot, cc);
        let duplicate = last == cc;
        if last != NO_COUNTER && !duplicate && cc != (last + 1) & 0x0f && !p.discontinuity_indicator
        {
            self.stats.continuity_errors += 1;
        }
    }

    fn on_pat(&mut self, p: &Packet<'_>) {
        let Some(section) = self.collect(p, true) else {
            return;
        };
        match psi::parse_pat(&section) {
            Ok(Some((_, pmt_pid))) => {
                self.pat_packets = self.section_packets.remove(&p.pid).unwrap_or_default();
                if self.pmt_pid != Some(pmt_pid) {
                    self.pmt_pid = Some(pmt_pid);
                    self.pmt_asm = SectionAssembler::default();
                }
            }
            Ok(None) => {}
            Err(_) => self.stats.bad_sections += 1,
        }
    }

    fn on_pmt(&mut self, p: &Packet<'_>) {
        let Some(section) = self.collect(p, false) else {
            return;
        };
        let pmt = match psi::parse_pmt(&section) {
            Ok(pmt) => pmt,
            Err(_) => {
                self.stats.bad_sections += 1;
                return;
            }
        };
        self.pmt_packets = self.section_packets.remove(&p.pid).unwrap_or_default();
        if self
            .pmt
            .as_ref()
            .is_some_and(|old| old.version == pmt.version && old.streams == pmt.streams)
        {
            return;
        }
        if self.pmt.is_some() {
            self.stats.pmt_changes += 1;
        }
        let lead = pmt
            .streams
            .iter()
            .find(|s| s.kind().is_video())
            .or_else(|| pmt.streams.iter().find(|s| s.kind() == StreamKind::Audio))
            .map(|s| Lead {
                pid: s.pid,
                kind: s.kind(),
            });
        if self.lead.is_some() && lead != self.lead {
            // A different stream to cut on: a new timeline.
            self.break_timeline();
        }
        self.lead = lead;
        self.audio_pid = pmt
            .streams
            .iter()
            .find(|s| s.kind() == StreamKind::Audio)
            .map(|s| s.pid);
        if self.lead.is_some_and(|l| l.kind == StreamKind::Audio) {
            self.audio_pid = self.lead.map(|l| l.pid);
        }
        self.pmt = Some(pmt);
    }

    /// Feeds a PSI packet to its assembler, keeping the packets of the
    /// section in progress; the section once complete.
    fn collect(&mut self, p: &Packet<'_>, pat: bool) -> Option<Vec<u8>> {
        let raw = self.section_packets.entry(p.pid).or_default();
        if p.payload_unit_start_indicator {
            raw.clear();
        }
        raw.extend_from_slice(p.bytes);
        let asm = if pat {
            &mut self.pat
        } else {
            &mut self.pmt_asm
        };
        asm.push(p)
    }

    fn on_lead(&mut self, p: &Packet<'_>, lead: Lead) {
        if !p.payload_unit_start_indicator {
            self.append(p.bytes);
            return;
        }
        // A new PES: whatever was held is settled first.
        if self.held.is_some() {
            self.settle(None);
        }
        let header = match pes::parse_header(p.payload) {
            Ok(h) => h,
            Err(_) => {
                self.stats.bad_pes += 1;
                self.append(p.bytes);
                return;
            }
        };
        self.note_time(header.decode_time(), header.pts);
        if lead.kind == StreamKind::Audio && self.audio_codec.is_none() {
            self.audio_codec = p.payload.get(header.data_offset..).and_then(adts_codec);
        }
        let codec = match lead.kind {
            StreamKind::H264 => Some(Codec::H264),
            StreamKind::Hevc => Some(Codec::Hevc),
            _ => None,
        };
        let mut held = Held {
            packets: p.bytes.to_vec(),
            pts: header.pts,
            dts: header.decode_time(),
            scan: codec.map(FirstPicture::new),
            random_access_indicator: p.random_access_indicator,
        };
        let verdict = match &mut held.scan {
            Some(scan) => scan.feed(p.payload.get(header.data_offset..).unwrap_or(&[])),
            // Audio and other video: every PES start, or the RAI hint.
            None if lead.kind == StreamKind::Audio => Some(Picture::Idr),
            None if p.random_access_indicator => Some(Picture::Idr),
            None => Some(Picture::Other),
        };
        self.held = Some(held);
        if verdict.is_some() {
            self.settle(verdict);
        }
    }

    /// Adds a packet to what is held, else to the open segment. Packets of
    /// the lead stream also feed the keyframe scan.
    fn append(&mut self, bytes: &[u8; PACKET_SIZE]) {
        if let Some(h) = &mut self.held {
            h.packets.extend_from_slice(bytes);
            let lead = self.lead.map(|l| l.pid);
            let verdict = match (&mut h.scan, Packet::parse(bytes)) {
                (Some(scan), Ok(p)) if Some(p.pid) == lead => scan.feed(p.payload),
                _ => None,
            };
            if verdict.is_some() {
                self.settle(verdict);
            } else if h.packets.len() >= MAX_HELD {
                // No picture found in a PES this long: not a cut point.
                self.settle(None);
            }
            return;
        }
        self.append_to_open(bytes);
    }

    fn append_to_open(&mut self, packets: &[u8]) {
        match &mut self.open {
            Some(o) if !self.await_rap => o.bytes.extend_from_slice(packets),
            _ => self.stats.skipped_before_start += (packets.len() / PACKET_SIZE) as u64,
        }
    }

    /// Notes the times of a lead PES; a jump breaks the timeline.
    fn note_time(&mut self, decode: Option<Timestamp>, pts: Option<Timestamp>) {
        let Some(t) = decode else { return };
        if let Some(last) = self.last_time {
            let forward = t.ticks_since(last);
            if forward > self.max_jump {
                self.stats.discontinuities += 1;
                self.break_timeline();
            } else if forward > 0 {
                self.frame = forward;
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
    fn timeline_end(&self) -> Option<Timestamp> {
        self.last_pts
            .map(|t| Timestamp(t.0.wrapping_add(self.frame) & (Timestamp::WRAP - 1)))
    }

    /// The stream's clock jumped (or the lead stream changed): the open
    /// segment ends with the old timeline, the next opens a discontinuity.
    fn break_timeline(&mut self) {
        if self.broken.is_none() {
            self.broken = Some(self.timeline_end().unwrap_or(Timestamp(0)));
        }
        self.last_time = None;
        self.last_pts = None;
        self.last_rap = None;
    }

    /// Decides where the held packets go, from the first picture's verdict
    /// (`None`: the PES ended before any picture was seen).
    fn settle(&mut self, verdict: Option<Picture>) {
        let Some(h) = self.held.take() else { return };
        if let Some(scan) = &h.scan {
            if let Some(sps) = scan.sps() {
                if let Some(f) = parse_sps(scan.codec(), sps) {
                    self.video_format = Some(f);
                }
            }
        }
        let rap = match verdict.or_else(|| h.scan.as_ref().and_then(|s| s.verdict())) {
            Some(Picture::Idr) => true,
            Some(Picture::Cra) => self.config.allow_cra,
            _ => false,
        } || (h.scan.is_none() && h.random_access_indicator);
        let pts = match (rap, h.pts) {
            (true, Some(pts)) => pts,
            _ => {
                self.frame_start(h.dts, false);
                self.mark_frame();
                self.append_to_open(&h.packets);
                return;
            }
        };
        if self.pmt_packets.is_empty() || self.pat_packets.is_empty() {
            self.stats.skipped_before_start += (h.packets.len() / PACKET_SIZE) as u64;
            return;
        }
        let since_rap = self.last_rap.map(|r| pts.ticks_since(r));
        if let Some(i) = since_rap.filter(|i| *i <= self.max_jump) {
            if i > 0 {
                self.rap_interval = i;
            }
        }
        self.last_rap = Some(pts);
        if self.should_cut(pts) {
            self.cut(pts, h.dts, h.packets);
        } else {
            self.frame_start(h.dts, true);
            self.mark_frame();
            self.append_to_open(&h.packets);
        }
    }

    /// A lead frame starts at the end of the open segment.
    fn mark_frame(&mut self) {
        if let Some(open) = &mut self.open {
            open.frame_start = open.bytes.len();
        }
    }

    /// A frame starting at decoding time `dts` is about to be appended to the
    /// open segment: the part in progress ends before it when the frame
    /// would take it past the part target.
    fn frame_start(&mut self, dts: Option<Timestamp>, rap: bool) {
        let (Some(target), Some(dts)) = (self.part_target, dts) else {
            return;
        };
        let frame = self.frame;
        let expected = self.expected_segment();
        let Some(open) = &mut self.open else { return };
        let Some(start) = open.part_dts else {
            open.part_dts = Some(dts);
            return;
        };
        let elapsed = dts.ticks_since(start);
        if elapsed == 0 || elapsed > self.max_jump {
            return;
        }
        let due = elapsed + frame > target;
        let so_far = open.part_ticks + elapsed;
        if !due && !balance(elapsed, so_far, frame, target, expected) {
            return;
        }
        let part = Part {
            bytes: open.bytes[open.part_start..].to_vec(),
            duration: elapsed,
            independent: open.part_independent,
            index: open.parts,
        };
        open.part_start = open.bytes.len();
        open.part_dts = Some(dts);
        open.part_independent = rap;
        open.parts += 1;
        open.part_ticks += elapsed;
        self.done.push_back(Cut::Part(part));
    }

    /// The expected length of a segment, ticks: the first multiple of the
    /// interval between random access points at which [`Self::should_cut`]
    /// cuts (0 while that interval is unknown).
    fn expected_segment(&self) -> u64 {
        let ri = self.rap_interval;
        if ri == 0 {
            return 0;
        }
        let target = self.limit - Timestamp::HZ / 2;
        let mut len = ri;
        while len < target && len + ri < self.limit {
            len += ri;
        }
        len
    }

    /// Whether a cut at random access point `pts` is due.
    fn should_cut(&self, pts: Timestamp) -> bool {
        let Some(open) = &self.open else { return true };
        if self.broken.is_some() {
            return true;
        }
        let elapsed = self.span(open.start, pts);
        let target = self.limit - Timestamp::HZ / 2;
        elapsed > 0 && (elapsed >= target || elapsed + self.rap_interval >= self.limit)
    }

    /// Closes the open segment at `pts` and opens the next with `packets`.
    fn cut(&mut self, pts: Timestamp, dts: Option<Timestamp>, packets: Vec<u8>) {
        let broken = self.broken.take();
        self.await_rap = false;
        if let Some(open) = self.open.take() {
            // After a jump, the old timeline ends with its last frame.
            let end = broken.unwrap_or(pts);
            let duration = self.span(open.start, end);
            self.close(open, duration);
        }
        let mut bytes =
            Vec::with_capacity(self.pat_packets.len() + self.pmt_packets.len() + packets.len());
        bytes.extend_from_slice(&self.pat_packets);
        bytes.extend_from_slice(&self.pmt_packets);
        let first_frame = bytes.len();
        bytes.extend_from_slice(&packets);
        self.open = Some(Open {
            bytes,
            start: pts,
            discontinuity: broken.is_some() && self.opened > 0,
            part_start: 0,
            part_dts: dts,
            part_independent: true,
            parts: 0,
            part_ticks: 0,
            frame_start: first_frame,
            first_frame,
        });
        self.opened += 1;
    }

    fn close(&mut self, open: Open, duration: u64) {
        if self.part_target.is_some() && open.part_start < open.bytes.len() {
            // The last part: what makes the parts add up to the segment.
            self.done.push_back(Cut::Part(Part {
                bytes: open.bytes[open.part_start..].to_vec(),
                duration: duration.saturating_sub(open.part_ticks),
                independent: open.part_independent,
                index: open.parts,
            }));
        }
        let long = duration >= self.limit;
        self.stats.long_segments += u64::from(long);
        self.done.push_back(Cut::Segment(Segment {
            bytes: open.bytes,
            start: open.start,
            duration,
            discontinuity: open.discontinuity,
            long,
        }));
    }

    /// Ticks from `a` to `b` on the stream's clock (across a wrap).
    fn span(&self, a: Timestamp, b: Timestamp) -> u64 {
        b.ticks_since(a)
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
mod tests;
