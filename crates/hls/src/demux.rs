//! Demultiplexing: TS packets in, the program's structure and the lead
//! stream's access units out, each with its timestamps and what its first
//! picture is (so whether decoding can start there).
//!
//! The demuxer tracks the PAT and PMT (reassembled, CRC-checked, their raw
//! packets kept for copying into segments), counts continuity gaps, and
//! picks the *lead* stream that segments are cut on: the first video
//! stream of the program, else the first audio stream. A PES of the lead
//! stream may span several packets before its first picture shows: from
//! its start on, packets of every PID are held until the picture is known
//! (or the PES ends, or [`MAX_HELD`] bytes wait), then handed over as one
//! [`AccessUnit`]. Everything else goes out as [`DemuxEvent::Packets`], in
//! stream order: concatenating the packets of every event gives back the
//! input less null and broken packets. The parameter sets a lead PES
//! carries before its first picture (a keyframe's, in practice) are kept,
//! copied only then, and handed with every access unit that has none
//! ([`AccessUnit::parameter_sets`]).
//!
//! # Example
//! ```
//! use routecast_hls::demux::{DemuxEvent, Demuxer};
//! use routecast_hls::PACKET_SIZE;
//! let mut demux = Demuxer::new();
//! let null = {
//!     let mut p = [0xff; PACKET_SIZE];
//!     p[..4].copy_from_slice(&[0x47, 0x1f, 0xff, 0x10]);
//!     p
//! };
//! let mut events = 0;
//! demux.push(&null, &mut |_: DemuxEvent<'_>| events += 1)?;
//! assert_eq!((events, demux.stats().null_packets), (0, 1));
//! # Ok::<(), routecast_hls::TsError>(())
//! ```

use crate::nal::{Codec, FirstPicture, Picture};
use crate::pes;
use crate::psi::{Pmt, SectionAssembler, StreamKind};
use crate::scte35::{self, Scte35Error, SpliceInfo};
use crate::sps::{adts_channels, adts_codec, parse_sps, VideoFormat};
use crate::ts::{Packet, Pid, TsError, PACKET_SIZE};
use crate::Timestamp;
use program::ProgramTables;

mod program;

/// Bytes held while looking for a PES's first picture before giving up
/// (a keyframe's NAL header comes within its first packets in practice).
pub const MAX_HELD: usize = 1 << 20;

/// No continuity counter seen yet on a PID.
const NO_COUNTER: u8 = 16;

/// What the demuxer hands on, in stream order.
#[derive(Debug)]
pub enum DemuxEvent<'a> {
    /// Whole packets that extend what came before: other streams, PSI, the
    /// lead stream between access unit starts.
    Packets(&'a [u8]),
    /// A PES of the lead stream starts, with these times (its
    /// [`AccessUnit`] follows once its first picture is known).
    PesStart {
        /// Its decoding time: the DTS, else the PTS.
        decode: Option<Timestamp>,
        /// Its presentation time.
        pts: Option<Timestamp>,
    },
    /// An access unit of the lead stream whose first picture is known.
    AccessUnit(AccessUnit<'a>),
    /// The stream to cut on changed (a new PMT): a new timeline.
    LeadChanged,
    /// A complete SCTE-35 splice_info_section arrived on the program's
    /// SCTE-35 stream (PMT stream_type 0x86), read or refused. Its packets
    /// still go out in [`DemuxEvent::Packets`] (or with an access unit):
    /// segments carry the stream through.
    Splice {
        /// The whole section, table_id to CRC.
        section: &'a [u8],
        /// What it says, or why it cannot be read.
        info: Result<SpliceInfo, Scte35Error>,
    },
}

/// A lead-stream access unit, with the packets from its PES start on.
#[derive(Debug, Clone, Copy)]
pub struct AccessUnit<'a> {
    /// Whole packets: its own from the PES start, and those of other PIDs
    /// that arrived while its first picture was not known, in stream order.
    pub packets: &'a [u8],
    /// Presentation time of its first picture.
    pub pts: Option<Timestamp>,
    /// Decoding time (the DTS, else the PTS).
    pub decode: Option<Timestamp>,
    /// Its first picture (audio frames and video the demuxer cannot read
    /// count as [`Picture::Idr`] when decoding can start there); `None`
    /// when the PES ended before a picture showed.
    pub picture: Option<Picture>,
    /// The latest complete PAT, as its raw packets (empty until one came).
    pub pat_packets: &'a [u8],
    /// The latest complete PMT, as its raw packets (empty until one came).
    pub pmt_packets: &'a [u8],
    /// The stream's current parameter sets (those of the last lead PES
    /// that carried some, a keyframe in practice) when this access unit
    /// carries none of its own: what a decoder starting here lacks.
    /// `None` when it carries its own, or none were seen on this input.
    pub parameter_sets: Option<ParameterSets<'a>>,
    /// Its first picture is an intra picture of H.264 or HEVC video (IDR,
    /// CRA or BLA): what an I-frame playlist lists. Never for audio, nor
    /// for video whose pictures the demuxer cannot read.
    pub intra: bool,
}

/// Parameter set NAL units of a video stream (H.264 SPS and PPS; HEVC
/// VPS, SPS and PPS), as Annex B data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParameterSets<'a> {
    /// Their codec.
    pub codec: Codec,
    /// Each NAL unit after a 4-byte start code, in stream order.
    pub annex_b: &'a [u8],
}

impl AccessUnit<'_> {
    /// Whether decoding can start here: an IDR picture (or an audio frame),
    /// or an HEVC CRA/BLA picture when `allow_cra` (open GOP).
    pub fn is_random_access(&self, allow_cra: bool) -> bool {
        match self.picture {
            Some(Picture::Idr) => true,
            Some(Picture::Cra) => allow_cra,
            _ => false,
        }
    }
}

/// What the demuxer saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DemuxStats {
    /// Packets taken.
    pub packets: u64,
    /// Null packets (PID 0x1fff), handed on to no one.
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
    /// SCTE-35 splice_info_sections read.
    pub splice_sections: u64,
    /// SCTE-35 sections refused (CRC, impossible lengths).
    pub bad_splice_sections: u64,
}

/// The elementary stream cuts are made on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lead {
    pid: Pid,
    kind: StreamKind,
}

/// A lead PES whose first picture is not known yet, and the packets (of
/// every PID) that arrived since it started.
#[derive(Debug)]
struct Held {
    packets: Vec<u8>,
    pts: Option<Timestamp>,
    decode: Option<Timestamp>,
    scan: Option<FirstPicture>,
}

/// Turns TS packets into [`DemuxEvent`]s; see the module documentation.
#[derive(Debug)]
pub struct Demuxer {
    stats: DemuxStats,
    tables: ProgramTables,
    lead: Option<Lead>,
    /// Last continuity counter per PID (16: none yet).
    continuity: Vec<u8>,
    held: Option<Held>,
    /// The buffer of the last settled [`Held`], reused for the next.
    spare: Vec<u8>,
    /// The audio stream (the first in the PMT), for its codec string.
    audio_pid: Option<Pid>,
    video_format: Option<VideoFormat>,
    audio_codec: Option<String>,
    audio_channels: Option<u8>,
    /// The lead stream's last parameter sets and their codec (`None`: none
    /// seen since the input or the lead stream changed).
    parameter_sets: Vec<u8>,
    parameter_codec: Option<Codec>,
    /// The program's SCTE-35 stream (the first of stream_type 0x86).
    splice_pid: Option<Pid>,
    splice_sections: SectionAssembler,
}

impl Default for Demuxer {
    fn default() -> Self {
        Self::new()
    }
}

impl Demuxer {
    /// A demuxer that has seen nothing.
    pub fn new() -> Self {
        Self {
            stats: DemuxStats::default(),
            tables: ProgramTables::default(),
            lead: None,
            continuity: vec![NO_COUNTER; 8192],
            held: None,
            spare: Vec::new(),
            audio_pid: None,
            video_format: None,
            audio_codec: None,
            audio_channels: None,
            parameter_sets: Vec::new(),
            parameter_codec: None,
            splice_pid: None,
            splice_sections: SectionAssembler::several(scte35::MAX_SECTION),
        }
    }

    /// What was seen so far.
    pub fn stats(&self) -> &DemuxStats {
        &self.stats
    }

    /// The current program, once its PMT arrived.
    pub fn pmt(&self) -> Option<&Pmt> {
        self.tables.pmt()
    }

    /// The video codec string and picture size, from the last keyframe's SPS.
    pub fn video_format(&self) -> Option<&VideoFormat> {
        self.video_format.as_ref()
    }

    /// The audio codec string (AAC in ADTS), once an audio frame was seen.
    pub fn audio_codec(&self) -> Option<&str> {
        self.audio_codec.as_deref()
    }

    /// The audio channels (AAC in ADTS), once an audio frame was seen.
    pub fn audio_channels(&self) -> Option<u8> {
        self.audio_channels
    }

    /// Whether `pid` carries the PAT or a PMT the PAT names.
    pub fn is_table_pid(&self, pid: Pid) -> bool {
        pid == Pid::PAT || self.tables.is_pmt_pid(pid)
    }

    /// Bytes held while the first picture of a lead PES is not known.
    pub fn held_bytes(&self) -> usize {
        self.held.as_ref().map_or(0, |h| h.packets.len())
    }

    /// Takes one 188-byte packet, handing what it completes to `sink`. A
    /// broken packet is counted and dropped; its error is returned for the
    /// caller's log (never fatal).
    pub fn push(
        &mut self,
        bytes: &[u8; PACKET_SIZE],
        sink: &mut impl FnMut(DemuxEvent<'_>),
    ) -> Result<(), TsError> {
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
            self.tables.on_pat(&p, &mut self.stats);
        } else if self.tables.is_pmt_pid(p.pid) {
            self.on_pmt(&p, sink);
        } else if let Some(lead) = self.lead.filter(|l| l.pid == p.pid) {
            self.on_lead(&p, lead, sink);
            return Ok(());
        } else if Some(p.pid) == self.splice_pid {
            self.on_splice(&p, sink);
        } else if self.audio_codec.is_none()
            && p.payload_unit_start_indicator
            && Some(p.pid) == self.audio_pid
        {
            if let Ok(h) = pes::parse_header(p.payload) {
                let frame = p.payload.get(h.data_offset..).unwrap_or(&[]);
                self.audio_codec = adts_codec(frame);
                self.audio_channels = adts_channels(frame);
            }
        }
        self.append(&p, sink);
        Ok(())
    }

    /// The input ends: what is held goes out as packets.
    pub fn finish(&mut self, sink: &mut impl FnMut(DemuxEvent<'_>)) {
        if let Some(h) = self.held.take() {
            sink(DemuxEvent::Packets(&h.packets));
            self.recycle(h);
        }
    }

    /// Drops what is held, returning its size in bytes.
    pub fn discard_held(&mut self) -> usize {
        self.held.take().map_or(0, |h| {
            let n = h.packets.len();
            self.recycle(h);
            n
        })
    }

    /// The input changed (failover): what is held is dropped (its size in
    /// bytes returned) and continuity starts over on every PID.
    pub fn switch_input(&mut self) -> usize {
        let dropped = self.discard_held();
        self.continuity.fill(NO_COUNTER);
        // The new input's stream may differ: its own keyframes will tell.
        self.parameter_codec = None;
        dropped
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

    fn on_pmt(&mut self, p: &Packet<'_>, sink: &mut impl FnMut(DemuxEvent<'_>)) {
        let Some(pmt) = self.tables.on_pmt(p, &mut self.stats) else {
            return;
        };
        let lead = lead_of(pmt);
        if self.lead.is_some() && lead != self.lead {
            self.parameter_codec = None;
            sink(DemuxEvent::LeadChanged);
        }
        self.lead = lead;
        let splice_pid = pmt
            .streams
            .iter()
            .find(|s| s.stream_type == scte35::STREAM_TYPE)
            .map(|s| s.pid);
        if splice_pid != self.splice_pid {
            self.splice_pid = splice_pid;
            self.splice_sections = SectionAssembler::several(scte35::MAX_SECTION);
        }
        self.audio_pid = match lead {
            Some(l) if l.kind == StreamKind::Audio => Some(l.pid),
            _ => pmt
                .streams
                .iter()
                .find(|s| s.kind() == StreamKind::Audio)
                .map(|s| s.pid),
        };
    }

    /// A packet of the SCTE-35 stream: the sections it completes (several
    /// may share one packet) are read and handed on, in order, before the
    /// packet itself.
    fn on_splice(&mut self, p: &Packet<'_>, sink: &mut impl FnMut(DemuxEvent<'_>)) {
        let mut next = self.splice_sections.push(p);
        while let Some(section) = next {
            let info = SpliceInfo::parse(&section);
            match info {
                Ok(_) => self.stats.splice_sections += 1,
                Err(_) => self.stats.bad_splice_sections += 1,
            }
            sink(DemuxEvent::Splice {
                section: &section,
                info,
            });
            next = self.splice_sections.next_section();
        }
    }

    fn on_lead(&mut self, p: &Packet<'_>, lead: Lead, sink: &mut impl FnMut(DemuxEvent<'_>)) {
        if !p.payload_unit_start_indicator {
            self.append(p, sink);
            return;
        }
        // A new PES: whatever was held is settled first.
        if self.held.is_some() {
            self.settle(None, sink);
        }
        let Ok(header) = pes::parse_header(p.payload) else {
            self.stats.bad_pes += 1;
            self.append(p, sink);
            return;
        };
        let (decode, pts) = (header.decode_time(), header.pts);
        sink(DemuxEvent::PesStart { decode, pts });
        let data = p.payload.get(header.data_offset..).unwrap_or(&[]);
        if lead.kind == StreamKind::Audio && self.audio_codec.is_none() {
            self.audio_codec = adts_codec(data);
            self.audio_channels = adts_channels(data);
        }
        let verdict = self.hold(p, lead, pts, decode, data);
        if verdict.is_some() {
            self.settle(verdict, sink);
        }
    }

    /// Holds a lead PES from its first packet `p` (its elementary stream
    /// data from `data` on) until its first picture is known; the verdict
    /// when it is at once.
    fn hold(
        &mut self,
        p: &Packet<'_>,
        lead: Lead,
        pts: Option<Timestamp>,
        decode: Option<Timestamp>,
        data: &[u8],
    ) -> Option<Picture> {
        let mut packets = std::mem::take(&mut self.spare);
        packets.extend_from_slice(p.bytes);
        let mut scan = match lead.kind {
            StreamKind::H264 => Some(FirstPicture::new(Codec::H264)),
            StreamKind::Hevc => Some(FirstPicture::new(Codec::Hevc)),
            _ => None,
        };
        let verdict = match &mut scan {
            Some(scan) => scan.feed(data),
            // Audio and other video: every PES start, or the RAI hint.
            None if lead.kind == StreamKind::Audio => Some(Picture::Idr),
            None if p.random_access_indicator => Some(Picture::Idr),
            None => Some(Picture::Other),
        };
        self.held = Some(Held {
            packets,
            pts,
            decode,
            scan,
        });
        verdict
    }

    /// A packet that starts no lead PES: added to what is held (packets of
    /// the lead stream also feed its picture scan), else handed on.
    fn append(&mut self, p: &Packet<'_>, sink: &mut impl FnMut(DemuxEvent<'_>)) {
        let Some(h) = &mut self.held else {
            sink(DemuxEvent::Packets(p.bytes));
            return;
        };
        h.packets.extend_from_slice(p.bytes);
        let verdict = match &mut h.scan {
            Some(scan) if self.lead.is_some_and(|l| l.pid == p.pid) => scan.feed(p.payload),
            _ => None,
        };
        if verdict.is_some() {
            self.settle(verdict, sink);
        } else if h.packets.len() >= MAX_HELD {
            // No picture found in a PES this long: not a cut point.
            self.settle(None, sink);
        }
    }

    /// Hands on what is held as an access unit, with the first picture's
    /// verdict (`None`: the PES ended before any picture was seen).
    fn settle(&mut self, verdict: Option<Picture>, sink: &mut impl FnMut(DemuxEvent<'_>)) {
        let Some(h) = self.held.take() else { return };
        let own_sets = h
            .scan
            .as_ref()
            .is_some_and(|scan| self.keep_parameters(scan));
        let parameter_sets = match self.parameter_codec {
            Some(codec) if !own_sets => Some(ParameterSets {
                codec,
                annex_b: &self.parameter_sets,
            }),
            _ => None,
        };
        let picture = verdict.or_else(|| h.scan.as_ref().and_then(FirstPicture::verdict));
        let intra = h.scan.is_some() && matches!(picture, Some(Picture::Idr | Picture::Cra));
        sink(DemuxEvent::AccessUnit(AccessUnit {
            packets: &h.packets,
            pts: h.pts,
            decode: h.decode,
            picture,
            pat_packets: self.tables.pat_packets(),
            pmt_packets: self.tables.pmt_packets(),
            parameter_sets,
            intra,
        }));
        self.recycle(h);
    }

    /// Keeps what the access unit `scan` read tells of the stream: its
    /// format (from the SPS) and its parameter sets, copied (once per
    /// keyframe). Whether it carried parameter sets.
    fn keep_parameters(&mut self, scan: &FirstPicture) -> bool {
        if let Some(f) = scan.sps().and_then(|sps| parse_sps(scan.codec(), sps)) {
            self.video_format = Some(f);
        }
        let Some(sets) = scan.parameter_sets() else {
            return false;
        };
        self.parameter_sets.clear();
        self.parameter_sets.extend_from_slice(sets);
        self.parameter_codec = Some(scan.codec());
        true
    }

    /// Keeps a settled buffer for the next held PES.
    fn recycle(&mut self, h: Held) {
        self.spare = h.packets;
        self.spare.clear();
    }
}

/// The stream to cut on: the first video stream, else the first audio one.
fn lead_of(pmt: &Pmt) -> Option<Lead> {
    pmt.streams
        .iter()
        .find(|s| s.kind().is_video())
        .or_else(|| pmt.streams.iter().find(|s| s.kind() == StreamKind::Audio))
        .map(|s| Lead {
            pid: s.pid,
            kind: s.kind(),
        })
}

#[cfg(test)]
mod tests;
