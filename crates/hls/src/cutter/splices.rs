//! SCTE-35 splice points: when a section announces a splice at a time, the
//! segment (and the part) in progress ends before the first random access
//! point at or after that time, and the next segment carries the section
//! ([`SpliceMark`]) for the playlist's `EXT-X-DATERANGE`. A section without
//! a time (a command, a cancellation's) is marked on the segment in
//! progress; an immediate splice is made at the next random access point.
//!
//! Splices wait here until their time comes. A cancelled event is taken
//! out while it waits. Encoders send a cue several times before its time
//! (SCTE 35 recommends it): a section equal to one seen within the last
//! [`MAX_PREROLL`] of the stream (of the last [`RECENT`]), or a break's
//! start or end for an event and a time already waiting, is the same cue
//! and is taken once; the same bytes later are a new cue. `splice_null` sections
//! (heartbeats, every few seconds on some encoders) say nothing for a
//! playlist and mark nothing; like every section they stay in the segments. When the timeline breaks (an encoder restart, an
//! input switch), the splices still waiting belong to the old timeline:
//! they are dropped and reported ([`CutNotice::SpliceDropped`]).

use super::CutNotice;
use crate::scte35::{Signal, SpliceCommand, SpliceInfo};
use crate::Timestamp;

/// A splice announced further ahead than this (10 minutes) is not waited
/// for: SCTE 35 asks for 4 s of pre-roll, encoders send seconds, never
/// minutes; a time further ahead is a time on another timeline, marked at
/// once like a command without a time.
const MAX_PREROLL: u64 = 600 * Timestamp::HZ;

/// Sections remembered to recognise a repeated cue.
const RECENT: usize = 32;

/// An SCTE-35 section as a segment carries it to its playlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpliceMark {
    /// The whole splice_info_section, table_id to CRC.
    pub section: Vec<u8>,
    /// What it means for the playlist.
    pub signal: Signal,
    /// The splice time on the stream's timeline (pts_adjustment applied):
    /// the section's splice time, else the presentation time where it was
    /// taken (an immediate splice's random access point, or the frame a
    /// command without a time arrived at).
    pub at: Timestamp,
    /// Whether the segment was cut for it: it then starts at the first
    /// random access point at or after `at`.
    pub cut: bool,
}

/// A splice waiting for its time.
#[derive(Debug, Clone)]
struct Waiting {
    mark: SpliceMark,
    /// Splice at the next random access point, whatever its time.
    immediate: bool,
}

/// The splices announced and not made yet, and the marks for the segment
/// in progress.
#[derive(Debug, Clone, Default)]
pub(super) struct Splices {
    waiting: Vec<Waiting>,
    /// Marks for the open segment (commands without a time).
    open: Vec<SpliceMark>,
    /// The latest presentation time seen (for sections without a time).
    latest: Option<Timestamp>,
    /// The last [`RECENT`] sections taken, with the presentation time they
    /// came at, oldest first.
    recent: std::collections::VecDeque<(Vec<u8>, Option<Timestamp>)>,
}

impl Splices {
    /// Takes a section that arrived after the frame presented at `latest`.
    pub(super) fn announce(&mut self, section: &[u8], info: &SpliceInfo) {
        let latest = self.latest;
        // Sections seen more than the pre-roll ago are forgotten.
        self.recent.retain(|(_, seen)| match (latest, *seen) {
            (Some(now), Some(then)) => now.ticks_since(then) <= MAX_PREROLL,
            _ => true,
        });
        if info.command == SpliceCommand::Null || self.recent.iter().any(|(r, _)| r == section) {
            return;
        }
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back((section.to_vec(), latest));
        for signal in info.signals() {
            self.take(section, info, signal);
        }
    }

    /// Takes one of a section's signals.
    fn take(&mut self, section: &[u8], info: &SpliceInfo, signal: Signal) {
        let repeat = |w: &Waiting| {
            w.mark.signal == signal
                && matches!(signal, Signal::Out { .. } | Signal::In { .. })
                && Some(w.mark.at) == info.splice_pts()
        };
        if self.waiting.iter().any(repeat) {
            return;
        }
        if let Signal::Cancel { id } = signal {
            // An event cancelled before its time: nothing is spliced.
            self.waiting.retain(|w| match w.mark.signal {
                Signal::Out { id: o, .. } | Signal::In { id: o } => o != id,
                _ => true,
            });
        }
        let mark = |at: Timestamp, cut: bool| SpliceMark {
            section: section.to_vec(),
            signal,
            at,
            cut,
        };
        let ahead = |at: Timestamp| {
            self.latest.is_none_or(|now| {
                at.ticks_since(now) <= MAX_PREROLL || now.ticks_since(at) <= MAX_PREROLL
            })
        };
        match (info.splice_pts(), info.immediate()) {
            (_, true) => self.waiting.push(Waiting {
                mark: mark(self.latest.unwrap_or(Timestamp(0)), true),
                immediate: true,
            }),
            (Some(at), false) if ahead(at) && !matches!(signal, Signal::Cancel { .. }) => {
                self.waiting.push(Waiting {
                    mark: mark(at, true),
                    immediate: false,
                })
            }
            _ => {
                let at = self.latest.unwrap_or(Timestamp(0));
                self.open.push(mark(at, false));
            }
        }
    }

    /// A frame presented at `pts` arrives: its time is the latest.
    pub(super) fn note(&mut self, pts: Timestamp) {
        self.latest = Some(pts);
    }

    /// Whether a splice is due at a random access point presented at `pts`:
    /// one waiting is immediate, or its time is at or before `pts` (within
    /// the pre-roll bound, across the 33-bit wrap).
    pub(super) fn due(&self, pts: Timestamp) -> bool {
        self.waiting.iter().any(|w| is_due(w, pts))
    }

    /// The marks of the splices due at `pts` (the segment opening there
    /// carries them), with a notice for each made later than its time.
    pub(super) fn take_due(
        &mut self,
        pts: Timestamp,
        notices: &mut impl FnMut(CutNotice),
    ) -> Vec<SpliceMark> {
        let mut due = Vec::new();
        let mut i = 0;
        while i < self.waiting.len() {
            if is_due(&self.waiting[i], pts) {
                let mut w = self.waiting.remove(i);
                if w.immediate {
                    w.mark.at = pts;
                }
                let late = pts.ticks_since(w.mark.at);
                if late > 0 {
                    notices(CutNotice::SpliceLate {
                        splice: w.mark.at,
                        cut: pts,
                    });
                }
                due.push(w.mark);
            } else {
                i += 1;
            }
        }
        due
    }

    /// The marks for the segment in progress (commands without a time).
    pub(super) fn take_open(&mut self) -> Vec<SpliceMark> {
        std::mem::take(&mut self.open)
    }

    /// The stream ends: splices still waiting never came (each said); the
    /// marks without a time for the last segment.
    pub(super) fn end(&mut self, notices: &mut impl FnMut(CutNotice)) -> Vec<SpliceMark> {
        for w in self.waiting.drain(..) {
            notices(CutNotice::SpliceDropped { at: w.mark.at });
        }
        std::mem::take(&mut self.open)
    }

    /// The timeline broke: splices still waiting were for the old one.
    pub(super) fn break_timeline(&mut self, notices: &mut impl FnMut(CutNotice)) {
        for w in self.waiting.drain(..) {
            notices(CutNotice::SpliceDropped { at: w.mark.at });
        }
        self.latest = None;
    }
}

fn is_due(w: &Waiting, pts: Timestamp) -> bool {
    w.immediate || pts.ticks_since(w.mark.at) <= MAX_PREROLL
}
