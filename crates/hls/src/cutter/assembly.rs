//! Segment assembly: whole packets into segments that open with the PAT
//! and PMT and a random access point (or a forced cut's frame), and into the parts of each (low
//! latency), as the cut policy decides. Packets that can go in no segment
//! (before the first random access point, or after an input switch until
//! the new input's first) are counted, never silently lost.

use std::collections::VecDeque;

use super::{Cut, IFrame, Part, Segment, SpliceMark};
use crate::ts::PACKET_SIZE;
use crate::Timestamp;

/// The segment being filled.
#[derive(Debug)]
struct Open {
    bytes: Vec<u8>,
    start: Timestamp,
    discontinuity: bool,
    independent: bool,
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
    /// Bytes the first frame has beyond the input's (a forced cut's first
    /// packet rebuilt with parameter sets): not counted when dropped.
    first_frame_added: usize,
    /// SCTE-35 sections the segment carries to its playlist.
    splices: Vec<SpliceMark>,
    /// Its intra pictures so far, and the last one while its packets are
    /// still coming (where it starts in `bytes`, its presentation time).
    iframes: Vec<IFrame>,
    open_iframe: Option<(usize, Timestamp)>,
}

impl Open {
    /// The intra picture in progress ends where the segment now ends.
    fn end_iframe(&mut self) {
        if let Some((offset, pts)) = self.open_iframe.take() {
            let length = self.bytes.len() - offset;
            if length > 0 {
                self.iframes.push(IFrame {
                    offset,
                    length,
                    pts,
                });
            }
        }
    }
}

/// Where the part in progress stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PartProgress {
    /// No segment is open.
    NoSegment,
    /// The part has no decoding time yet.
    Unstarted,
    /// The part started at this decoding time, after this many ticks of
    /// closed parts.
    Started(Timestamp, u64),
}

/// Segments and parts being put together, and those finished.
#[derive(Debug, Default)]
pub(super) struct Assembly {
    open: Option<Open>,
    done: VecDeque<Cut>,
    /// Segments finished so far (a discontinuity needs one before it).
    finished: u64,
    /// A dropped segment opened a discontinuity: the next one carries it.
    carried_discontinuity: bool,
    /// A dropped segment's SCTE-35 marks: the next one carries them.
    carried_splices: Vec<SpliceMark>,
    /// After an input switch: drop everything until the new input's first
    /// random access point.
    await_rap: bool,
    /// Parts are cut (low-latency HLS).
    parts_on: bool,
    /// Packets that went into no segment.
    skipped_before_start: u64,
    /// Segments longer than the target duration.
    long_segments: u64,
}

impl Assembly {
    /// An assembly that also closes a last part with each segment when
    /// `parts_on`.
    pub(super) fn new(parts_on: bool) -> Self {
        Self {
            parts_on,
            ..Self::default()
        }
    }

    /// Packets that went into no segment.
    pub(super) fn skipped_before_start(&self) -> u64 {
        self.skipped_before_start
    }

    /// Segments longer than the target duration.
    pub(super) fn long_segments(&self) -> u64 {
        self.long_segments
    }

    /// The finished parts and segments, oldest first.
    pub(super) fn done(&mut self) -> &mut VecDeque<Cut> {
        &mut self.done
    }

    /// The finished part or segment that leaves next.
    pub(super) fn next_done(&self) -> Option<&Cut> {
        self.done.front()
    }

    /// Presentation time of the open segment's first picture.
    pub(super) fn open_start(&self) -> Option<Timestamp> {
        self.open.as_ref().map(|o| o.start)
    }

    /// Counts `bytes` of packets that go into no segment.
    pub(super) fn skip(&mut self, bytes: usize) {
        self.skipped_before_start += (bytes / PACKET_SIZE) as u64;
    }

    /// Adds packets to the open segment (none open, or waiting for a new
    /// input's random access point: counted as skipped).
    pub(super) fn append(&mut self, packets: &[u8]) {
        match &mut self.open {
            Some(o) if !self.await_rap => o.bytes.extend_from_slice(packets),
            _ => self.skip(packets.len()),
        }
    }

    /// A lead frame starts at the end of the open segment (presented at
    /// `intra`'s time when it is an intra picture): the one before ends.
    pub(super) fn mark_frame(&mut self, intra: Option<Timestamp>) {
        if let Some(open) = &mut self.open {
            open.end_iframe();
            open.frame_start = open.bytes.len();
            open.open_iframe = intra.map(|pts| (open.frame_start, pts));
        }
    }

    /// Drops nothing until the next input's first random access point.
    pub(super) fn await_random_access(&mut self) {
        self.await_rap = true;
    }

    /// Where the part in progress stands.
    pub(super) fn part_progress(&self) -> PartProgress {
        match &self.open {
            None => PartProgress::NoSegment,
            Some(Open {
                part_dts: Some(t),
                part_ticks,
                ..
            }) => PartProgress::Started(*t, *part_ticks),
            Some(_) => PartProgress::Unstarted,
        }
    }

    /// The part in progress starts at decoding time `dts`.
    pub(super) fn start_part(&mut self, dts: Timestamp) {
        if let Some(open) = &mut self.open {
            open.part_dts = Some(dts);
        }
    }

    /// Closes the part in progress, `duration` ticks long; the next starts
    /// at decoding time `dts` (with a random access point if `rap`).
    pub(super) fn close_part(&mut self, duration: u64, dts: Timestamp, rap: bool) {
        let Some(open) = &mut self.open else { return };
        let part = Part {
            bytes: open.bytes[open.part_start..].to_vec(),
            duration,
            independent: open.part_independent,
            index: open.parts,
        };
        open.part_start = open.bytes.len();
        open.part_dts = Some(dts);
        open.part_independent = rap;
        open.parts += 1;
        open.part_ticks += duration;
        self.done.push_back(Cut::Part(part));
    }

    /// Drops the open segment's last lead frame (back to its start, or to the
    /// last published part); a segment left with no frame is dropped whole.
    /// Whether anything was dropped.
    pub(super) fn drop_partial_frame(&mut self) -> bool {
        let Some(open) = &mut self.open else {
            return false;
        };
        let keep = open.frame_start.max(open.part_start);
        // An intra picture in progress is the last frame: cut short.
        open.open_iframe = None;
        if keep >= open.bytes.len() {
            return false;
        }
        let mut dropped = open.bytes.len() - keep;
        if keep <= open.first_frame {
            dropped = dropped.saturating_sub(open.first_frame_added);
        }
        open.bytes.truncate(keep);
        if keep <= open.first_frame && open.parts == 0 {
            // Nothing of it is left: its marks and discontinuity go to the
            // next segment, as a dropped 0 s segment's do.
            if let Some(gone) = self.open.take() {
                self.carried_discontinuity |= gone.discontinuity;
                self.carried_splices.extend(gone.splices);
            }
        }
        self.skip(dropped);
        true
    }

    /// Opens the next segment at random access point `pts` (decoding time
    /// `dts`) with a copy of the PAT and PMT packets, then `packets` (of
    /// which `added` bytes are not the input's: a rebuilt first packet's
    /// extra ones); after a timeline break, with a discontinuity (unless it
    /// is the first).
    pub(super) fn open(
        &mut self,
        tables: [&[u8]; 2],
        packets: &[u8],
        added: usize,
        times: OpenTimes,
    ) {
        self.await_rap = false;
        let [pat, pmt] = tables;
        let mut bytes = Vec::with_capacity(pat.len() + pmt.len() + packets.len());
        bytes.extend_from_slice(pat);
        bytes.extend_from_slice(pmt);
        let first_frame = bytes.len();
        bytes.extend_from_slice(packets);
        self.open = Some(Open {
            bytes,
            start: times.pts,
            discontinuity: (times.after_break || std::mem::take(&mut self.carried_discontinuity))
                && self.finished > 0,
            independent: times.independent,
            part_start: 0,
            part_dts: times.dts,
            part_independent: times.independent,
            parts: 0,
            part_ticks: 0,
            frame_start: first_frame,
            first_frame,
            first_frame_added: added,
            splices: std::mem::take(&mut self.carried_splices),
            iframes: Vec::new(),
            open_iframe: times.intra.then_some((first_frame, times.pts)),
        });
    }

    /// Adds SCTE-35 marks to the open segment (kept for the next one
    /// while none is open).
    pub(super) fn add_splices(&mut self, marks: Vec<SpliceMark>) {
        match &mut self.open {
            Some(o) => o.splices.extend(marks),
            None => self.carried_splices.extend(marks),
        }
    }

    /// Finishes the open segment, `duration` ticks long (`long`: it rounds
    /// above the target; `next_intra`: see [`Segment::next_intra`]), with
    /// its last part when parts are on.
    pub(super) fn close(&mut self, duration: u64, long: bool, next_intra: bool) {
        let Some(mut open) = self.open.take() else {
            return;
        };
        open.end_iframe();
        if duration == 0 && open.parts == 0 {
            // One frame whose duration nothing tells (a jump or a switch
            // right after it): a segment of 0 s cannot be listed (nor its
            // part); its packets are counted as skipped, its
            // discontinuity goes to the next segment. The PAT/PMT copies
            // and what a rebuild added were not taken from the input.
            let copies = open.first_frame + open.first_frame_added;
            self.skip(open.bytes.len().saturating_sub(copies));
            self.carried_discontinuity |= open.discontinuity;
            self.carried_splices.extend(open.splices);
            return;
        }
        self.finished += 1;
        if self.parts_on && open.part_start < open.bytes.len() {
            // The last part: what makes the parts add up to the segment.
            self.done.push_back(Cut::Part(Part {
                bytes: open.bytes[open.part_start..].to_vec(),
                duration: duration.saturating_sub(open.part_ticks),
                independent: open.part_independent,
                index: open.parts,
            }));
        }
        self.long_segments += u64::from(long);
        self.done.push_back(Cut::Segment(Segment {
            bytes: open.bytes,
            table_bytes: open.first_frame,
            start: open.start,
            duration,
            discontinuity: open.discontinuity,
            long,
            independent: open.independent,
            splices: open.splices,
            iframes: open.iframes,
            next_intra,
        }));
    }
}

/// The times a segment opens with.
#[derive(Debug, Clone, Copy)]
pub(super) struct OpenTimes {
    /// Presentation time of its first picture.
    pub(super) pts: Timestamp,
    /// Decoding time of its first picture.
    pub(super) dts: Option<Timestamp>,
    /// The timeline broke before it.
    pub(super) after_break: bool,
    /// It opens with a random access point (else a forced cut).
    pub(super) independent: bool,
    /// It opens with an intra picture of H.264 or HEVC video.
    pub(super) intra: bool,
}
