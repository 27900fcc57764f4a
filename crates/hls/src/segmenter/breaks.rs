//! SCTE-35 marks into `EXT-X-DATERANGE` tags (RFC 8216 §4.3.2.7.1).
//!
//! * A break's start (`SCTE35-OUT`) opens a range whose `START-DATE` is the
//!   splice time on the playlist's `EXT-X-PROGRAM-DATE-TIME` timeline (the
//!   segment's date plus the splice's offset from its first picture), with
//!   `PLANNED-DURATION` when the section gives one. Its ID is the event's
//!   (`splice-<splice_event_id>` or `seg-<segmentation_event_id>`) and its
//!   start in milliseconds, unique to the out/in pair even when an
//!   encoder reuses event IDs.
//! * Its end (`SCTE35-IN`, same event) adds `DURATION` (the actual one)
//!   and `SCTE35-IN` to that tag while the playlist lists it; once it has
//!   left the window, a tag of the same ID and `START-DATE` carries them.
//!   An auto-return break with no end section gets its planned duration as
//!   `DURATION` once the playlist has passed its end.
//! * Anything else (a command, a time signal that starts no break, a
//!   cancellation) is a range of its own with `SCTE35-CMD`, in a `CLASS` of
//!   its own ([`COMMAND_CLASS`]).
//!
//! With `--cue-tags`, the de-facto tags many ad-insertion servers read
//! follow one break at a time (the first with a planned duration, while
//! it lasts): `EXT-X-CUE-OUT:DURATION=` before the segment it starts with,
//! `EXT-X-CUE-OUT-CONT:ElapsedTime=,Duration=` before each segment inside
//! it, `EXT-X-CUE-IN` before the segment its end (or, auto-return, its
//! planned end) falls on, or that is cancelled; a break whose end never
//! comes gets `EXT-X-CUE-IN` [`CUE_GRACE_MS`] after its planned end. A
//! break without a planned duration gets none (hls-parser, strict,
//! refuses a `CUE-OUT` without one). A restart goes on with the break its
//! playlist left open (by its range's section, or by the last segment's
//! cue tags when its start has left the window).
//!
//! Breaks are classless ranges, so two breaks that overlap (a break inside
//! another, of another segmentation type) are ranges that overlap in one
//! class, which RFC 8216bis forbids: not handled yet.

use crate::cutter::SpliceMark;
use crate::playlist::{Cue, DateRange, MediaPlaylist, Ticks, UnixMillis};
use crate::scte35::{hex_sequence, EventId, Signal, SpliceInfo};
use crate::Timestamp;

/// The `CLASS` of ranges that are no break (`SCTE35-CMD`): a class of their
/// own, since a range without a duration inside a break of the same class
/// would overlap it (RFC 8216bis: ranges of one class do not overlap).
pub(super) const COMMAND_CLASS: &str = "urn:routecast:scte35:cmd";

/// A break started and not ended.
#[derive(Debug, Clone)]
struct OpenBreak {
    event: EventId,
    range_id: String,
    start: UnixMillis,
    /// Planned duration, ticks, for an auto-return break.
    auto_return: Option<u64>,
}

/// How long after its planned end a break whose end never came keeps its
/// cue tags (an end section a little late still ends it where it is).
const CUE_GRACE_MS: u64 = 10_000;

/// Auto-return breaks remembered after their planned end.
const RETURNED: usize = 8;

/// The breaks in progress.
#[derive(Debug, Default)]
pub(super) struct Breaks {
    open: Vec<OpenBreak>,
    /// The last auto-return breaks ended by their planned duration (an end
    /// section may still come for them).
    returned: Vec<OpenBreak>,
    /// Ranges made so far (their IDs' tie-breaker).
    made: u64,
    /// The break the cue tags follow: its event, start and planned
    /// duration (ticks).
    /// (No event after a restart that found it only by its cue tags.)
    cue: Option<(Option<EventId>, UnixMillis, u64)>,
    /// The cue tags of the segment `ranges` last saw.
    cues: Vec<Cue>,
}

impl Breaks {
    /// The breaks a resumed `playlist` left open: its ranges with
    /// `SCTE35-OUT` and neither `DURATION` nor `SCTE35-IN`, their sections
    /// read again; an end after the restart completes them (in place while
    /// listed), and `--cue-tags` go on with the first one that has a
    /// planned duration.
    pub(super) fn resumed(playlist: &MediaPlaylist) -> Breaks {
        let mut b = Breaks::default();
        let open = playlist
            .segments()
            .flat_map(|s| &s.dateranges)
            .filter(|r| r.duration.is_none() && r.scte35_in.is_none());
        for r in open {
            let Some(section) = r.scte35_out.as_deref().and_then(from_hex) else {
                continue;
            };
            let Ok(info) = SpliceInfo::parse(&section) else {
                continue;
            };
            for signal in info.signals() {
                let Signal::Out {
                    id,
                    planned,
                    auto_return,
                } = signal
                else {
                    continue;
                };
                // The range made for this event (a section may start two).
                if !r.id.starts_with(&format!("{id}-")) {
                    continue;
                }
                b.open.push(OpenBreak {
                    event: id,
                    range_id: r.id.clone(),
                    start: r.start,
                    auto_return: planned.filter(|_| auto_return),
                });
                if let (None, Some(p)) = (b.cue, planned) {
                    b.cue = Some((Some(id), r.start, p));
                }
            }
        }
        // A break whose start left the window: its cue tags on the last
        // segment say where it started and for how long.
        let last = playlist.segments().last();
        let tagged = last.and_then(|s| Some((s.program_date_time?, s.cues.last()?)));
        if let (None, Some((date, cue))) = (b.cue, tagged) {
            let (elapsed, planned) = match *cue {
                Cue::Out { duration } => (0, duration.0),
                Cue::Cont { elapsed, duration } => (elapsed.rounded_millis(), duration.0),
                Cue::In => return b,
            };
            b.cue = Some((None, UnixMillis(date.0.saturating_sub(elapsed)), planned));
        }
        b
    }

    /// The date ranges a segment presented from `start`, dated `date`,
    /// carries for `marks` in each of `playlists` (the live one and the
    /// archive): ends of breaks whose start a playlist still lists are
    /// written into it in place, the others get a tag of their own.
    pub(super) fn ranges<const N: usize>(
        &mut self,
        start: Timestamp,
        date: UnixMillis,
        marks: &[SpliceMark],
        mut playlists: [Option<&mut MediaPlaylist>; N],
    ) -> [Vec<DateRange>; N] {
        let mut ranges: [Vec<DateRange>; N] = std::array::from_fn(|_| Vec::new());
        self.cues.clear();
        let followed = self.cue;
        for mark in marks {
            let at = offset_date(date, start, mark.at);
            let hex = hex_sequence(&mark.section);
            self.made += 1;
            match mark.signal {
                Signal::Out {
                    id,
                    planned,
                    auto_return,
                } => {
                    let range_id = format!("{id}-{}", at.0);
                    let mut r = DateRange::new(range_id.clone(), at);
                    r.planned_duration = planned.map(Ticks);
                    r.scte35_out = Some(hex);
                    push(&mut ranges, r);
                    if let (None, Some(planned)) = (self.cue, planned) {
                        self.cue = Some((Some(id), at, planned));
                        self.cues.push(Cue::Out {
                            duration: Ticks(planned),
                        });
                    }
                    self.open.push(OpenBreak {
                        event: id,
                        range_id,
                        start: at,
                        auto_return: planned.filter(|_| auto_return),
                    });
                }
                Signal::In { id } => {
                    self.cue_ends(id);
                    let returned = self.returned.iter().rposition(|b| b.event == id);
                    if let Some(b) = returned.map(|i| self.returned.remove(i)) {
                        // Its planned DURATION is written: the end adds
                        // only SCTE35-IN (attributes of one ID never change).
                        let end = |r: &mut DateRange| r.scte35_in = Some(hex.clone());
                        close(&mut playlists, &mut ranges, &b, end);
                        continue;
                    }
                    let found = self.open.iter().rposition(|b| b.event == id);
                    match found.map(|i| self.open.remove(i)) {
                        Some(b) => {
                            let duration = Ticks(at.0.saturating_sub(b.start.0) * 90);
                            let end = |r: &mut DateRange| {
                                r.duration = Some(duration);
                                r.scte35_in = Some(hex.clone());
                            };
                            close(&mut playlists, &mut ranges, &b, end);
                        }
                        None => {
                            let mut r = DateRange::new(format!("{id}-in-{}", at.0), at);
                            r.scte35_in = Some(hex);
                            push(&mut ranges, r);
                        }
                    }
                }
                Signal::Cancel { id } => {
                    // A break already under way that is cancelled ends
                    // here (its range gets the time it lasted).
                    if let Some(i) = self.open.iter().rposition(|b| b.event == id) {
                        let b = self.open.remove(i);
                        let lasted = Ticks(at.0.saturating_sub(b.start.0) * 90);
                        let end = |r: &mut DateRange| r.duration = Some(lasted);
                        close(&mut playlists, &mut ranges, &b, end);
                    }
                    self.cue_ends(id);
                    let mut r = DateRange::new(format!("cmd-{}-{}", at.0, self.made), at);
                    r.class = Some(COMMAND_CLASS.to_string());
                    r.scte35_cmd = Some(hex);
                    push(&mut ranges, r);
                }
                Signal::Command => {
                    let mut r = DateRange::new(format!("cmd-{}-{}", at.0, self.made), at);
                    r.class = Some(COMMAND_CLASS.to_string());
                    r.scte35_cmd = Some(hex);
                    push(&mut ranges, r);
                }
            }
        }
        // Auto-return breaks this segment has passed the end of (after its
        // marks: an end section at the planned time ends the break itself).
        let mut i = 0;
        while i < self.open.len() {
            match self.open[i].auto_return {
                Some(planned) if date.0 >= self.open[i].start.0 + millis(planned) => {
                    let b = self.open.remove(i);
                    self.cue_ends(b.event);
                    let end = |r: &mut DateRange| r.duration = Some(Ticks(planned));
                    close(&mut playlists, &mut ranges, &b, end);
                    // Its end section may still come: it is added then.
                    if self.returned.len() == RETURNED {
                        self.returned.remove(0);
                    }
                    self.returned.push(b);
                }
                _ => i += 1,
            }
        }
        // A break whose end never came: the cue tags end at its planned
        // end plus a grace (its range stays open for the end section).
        if let Some((_, start, planned)) = self.cue {
            if date.0 >= start.0 + millis(planned) + CUE_GRACE_MS {
                self.cue = None;
                self.cues.push(Cue::In);
            }
        }
        // Inside the break followed since an earlier segment.
        if let Some((_, start, planned)) = self.cue.filter(|c| Some(*c) == followed) {
            self.cues.push(Cue::Cont {
                elapsed: Ticks(date.0.saturating_sub(start.0) * 90),
                duration: Ticks(planned),
            });
        }
        ranges
    }

    /// The cue tags of the segment [`ranges`](Self::ranges) last saw.
    pub(super) fn cues(&self) -> &[Cue] {
        &self.cues
    }

    /// Event `id` ended: `EXT-X-CUE-IN` if the cue tags follow it.
    fn cue_ends(&mut self, id: EventId) {
        if self.cue.is_some_and(|c| c.0 == Some(id)) {
            self.cue = None;
            self.cues.push(Cue::In);
        }
    }
}

/// Ends break `b` with `end` in each playlist: in place where its start's
/// tag is listed (among this segment's ranges, or on a listed segment),
/// else in a tag of its own (same ID and `START-DATE`) in that playlist's
/// ranges for this segment.
fn close<const N: usize>(
    playlists: &mut [Option<&mut MediaPlaylist>; N],
    ranges: &mut [Vec<DateRange>; N],
    b: &OpenBreak,
    end: impl Fn(&mut DateRange),
) {
    for (playlist, ranges) in playlists.iter_mut().zip(ranges.iter_mut()) {
        let Some(playlist) = playlist else { continue };
        if let Some(r) = ranges.iter_mut().find(|r| r.id == b.range_id) {
            end(r);
        } else if let Some(r) = playlist.daterange_mut(&b.range_id) {
            end(r);
        } else {
            let mut r = DateRange::new(b.range_id.clone(), b.start);
            end(&mut r);
            ranges.push(r);
        }
    }
}

/// The bytes of a hexadecimal-sequence (`0x…`, as [`hex_sequence`] writes
/// it); `None` for anything else. Written here: a dozen lines, not worth a
/// crate.
fn from_hex(s: &str) -> Option<Vec<u8>> {
    let digits = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            let pair = digits.get(i..i + 2)?;
            pair.bytes()
                .all(|b| b.is_ascii_hexdigit())
                .then(|| u8::from_str_radix(pair, 16).ok())?
        })
        .collect()
}

/// Adds `r` to the segment's ranges in every playlist.
fn push<const N: usize>(ranges: &mut [Vec<DateRange>; N], r: DateRange) {
    for v in ranges.iter_mut() {
        v.push(r.clone());
    }
}

/// The date of presentation time `at` in a segment dated `date` whose first
/// picture is presented at `start` (`at` may be a little before it: a
/// splice made at the next random access point). A time more than
/// [`MAX_OFFSET`] away is on another timeline (a mark carried over a
/// break): the segment's date is taken.
fn offset_date(date: UnixMillis, start: Timestamp, at: Timestamp) -> UnixMillis {
    let after = at.ticks_since(start);
    let before = start.ticks_since(at);
    if after <= MAX_OFFSET {
        UnixMillis(date.0.saturating_add(after / 90))
    } else if before <= MAX_OFFSET {
        UnixMillis(date.0.saturating_sub(before / 90))
    } else {
        date
    }
}

/// The farthest a mark's time is from its segment's start on one
/// timeline (10 minutes: a splice announced late, made at the next
/// keyframe).
const MAX_OFFSET: u64 = 600 * Timestamp::HZ;

/// Ticks as whole milliseconds.
fn millis(ticks: u64) -> u64 {
    ticks / 90
}
