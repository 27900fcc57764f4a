//! What no single playlist snapshot shows: the invariants of a live media
//! playlist across reloads (RFC 8216 §6.2.1, §6.2.2 and §6.3.2), checked
//! on snapshots taken while the segmenter runs.
//!
//! The checker reads playlists with its own small parser (not
//! routecast-hls's), keeps every segment it has seen by media sequence
//! number, and says which downloads to make and when: each new segment at
//! once, each segment that left the playlist again just before its grace
//! period ends (it must still be there, whole) and once after it (it must
//! be gone, or the origin fills up and the grace check proves nothing);
//! "still there" means the same bytes as when listed, compared byte for byte.
//! Time is an argument: milliseconds since the run started.
//!
//! Low-latency playlists are checked too: their parts by [`PartLedger`],
//! and the delta updates of `_HLS_skip=YES`, whose EXT-X-SKIP stands for
//! segments seen in full playlists before: the segments a delta does list
//! must carry the sequence numbers they had there.

use std::collections::BTreeMap;

use crate::parts::PartLedger;
pub use crate::snapshot::{Listed, Snapshot};

/// MPEG-TS packets are this long and open with the sync byte.
pub const PACKET_SIZE: usize = 188;

/// A download the checker asks for, and what its answer must be.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    /// When to fetch, ms since the start.
    pub due_ms: u64,
    /// The segment's URI, relative to the playlist.
    pub uri: String,
    /// What must come back.
    pub want: Want,
    /// What it is.
    pub media: Media,
}

/// What an [`Expectation`] downloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    /// The segment with this media sequence number.
    Segment(u64),
    /// A part: (media sequence number, index).
    Part(u64, u64),
}

/// The answer an [`Expectation`] needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Want {
    /// A new segment: 200 and a whole transport stream.
    Complete,
    /// Left the playlist, grace not over: 200, the same bytes as when it
    /// was listed (compared byte for byte, not only by length).
    StillThere {
        /// Its length when it was listed.
        len: usize,
    },
    /// Grace long over: 404.
    Gone,
}

/// The settings the stream runs with, which the checker holds it to.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// `--grace`, ms: how long a removed segment must stay downloadable.
    pub grace_ms: u64,
    /// How much earlier than the end of the grace period to look (the
    /// checker sees a removal up to one poll late).
    pub margin_ms: u64,
}

/// Cross-snapshot checks of one live stream. See the module documentation.
#[derive(Debug)]
pub struct LiveChecker {
    rules: Rules,
    last: Option<Snapshot>,
    /// Every segment ever listed, by media sequence number.
    seen: BTreeMap<u64, Listed>,
    /// The longest playlist, seconds, that listed each segment.
    longest: BTreeMap<u64, f64>,
    /// Downloaded segments, by URI: what each must still be within its
    /// grace period.
    bodies: BTreeMap<String, Vec<u8>>,
    pending: Vec<Expectation>,
    /// Playlists checked.
    pub snapshots: usize,
    /// Segments seen removed from the playlist.
    pub removals: usize,
    /// Answered expectations, by kind: complete, still there, gone.
    pub answered: [usize; 3],
    /// Partial segments (low-latency HLS).
    pub parts: PartLedger,
}

impl LiveChecker {
    /// A checker that has seen nothing yet.
    pub fn new(rules: Rules) -> LiveChecker {
        LiveChecker {
            rules,
            last: None,
            seen: BTreeMap::new(),
            longest: BTreeMap::new(),
            bodies: BTreeMap::new(),
            pending: Vec::new(),
            snapshots: 0,
            removals: 0,
            answered: [0; 3],
            parts: PartLedger::default(),
        }
    }

    /// Takes the playlist as loaded at `now_ms`; an error names the
    /// invariant it breaks.
    pub fn observe(&mut self, now_ms: u64, snap: Snapshot) -> Result<(), String> {
        let last = self.last.take();
        if let Some(last) = &last {
            check_against(last, &snap)?;
            self.account_removed(last, &snap, now_ms)?;
        }
        check_alone(&snap)?;
        // Parts first: a segment is compared with its parts when it is
        // downloaded, so they must be downloaded before it.
        for p in self.parts.observe(&snap)? {
            self.pending.push(Expectation {
                due_ms: now_ms,
                uri: p.uri.clone(),
                want: Want::Complete,
                media: Media::Part(p.msn, p.index),
            });
        }
        self.remember(&snap, now_ms)?;
        self.snapshots += 1;
        self.last = Some(snap);
        Ok(())
    }

    /// The downloads due at `now_ms`, taken out of the queue.
    pub fn due(&mut self, now_ms: u64) -> Vec<Expectation> {
        let (due, later) = self.pending.drain(..).partition(|e| e.due_ms <= now_ms);
        self.pending = later;
        due
    }

    /// Downloads not due yet, in the order they were asked for.
    pub fn pending(&self) -> &[Expectation] {
        &self.pending
    }

    /// The answer to an expectation: the HTTP status and the body.
    pub fn answer(&mut self, e: &Expectation, status: u16, body: &[u8]) -> Result<(), String> {
        let uri = &e.uri;
        match e.want {
            Want::Complete => {
                check_segment(status, body).map_err(|m| format!("{uri} (just listed): {m}"))?;
                match e.media {
                    Media::Part(msn, index) => {
                        self.parts.downloaded((msn, index), body)?;
                        return Ok(());
                    }
                    Media::Segment(msn) => {
                        let extinf = self.seen.get(&msn).map_or(0.0, |s| s.duration);
                        self.parts.segment(msn, extinf, body)?;
                    }
                }
                self.bodies.insert(uri.clone(), body.to_vec());
                self.answered[0] += 1;
            }
            Want::StillThere { .. } => {
                check_segment(status, body)
                    .map_err(|m| format!("{uri} (left the playlist, within its grace): {m}"))?;
                let listed = self.bodies.get(uri).map_or(&[][..], Vec::as_slice);
                same_bytes(listed, body).map_err(|m| format!("{uri}: {m}"))?;
                self.answered[1] += 1;
            }
            Want::Gone => {
                if status != 404 {
                    return Err(format!(
                        "{uri}: HTTP {status} long after its grace period: never deleted"
                    ));
                }
                self.answered[2] += 1;
            }
        }
        Ok(())
    }

    /// What was removed since `last`: the discontinuity sequence moves by
    /// the discontinuities that left, and each removed segment is fetched
    /// again near the end of its grace period and after it.
    fn account_removed(
        &mut self,
        last: &Snapshot,
        snap: &Snapshot,
        now_ms: u64,
    ) -> Result<(), String> {
        let mut left = 0;
        for msn in last.media_sequence..snap.media_sequence {
            let s = self.seen.get(&msn).ok_or(format!(
                "segment {msn} left the playlist unseen: polled too slowly to check"
            ))?;
            left += u64::from(s.discontinuity);
            self.removals += 1;
            self.schedule_grace(s.clone(), snap.target_duration, now_ms)?;
        }
        let moved = snap.discontinuity_sequence - last.discontinuity_sequence;
        if moved != left {
            return Err(format!(
                "EXT-X-DISCONTINUITY-SEQUENCE moved by {moved} while {left} discontinuities left the playlist (RFC 8216 §6.2.2)"
            ));
        }
        Ok(())
    }

    fn schedule_grace(&mut self, s: Listed, target: u64, now_ms: u64) -> Result<(), String> {
        let Rules {
            grace_ms,
            margin_ms,
        } = self.rules;
        // §6.2.2: available for its duration plus the longest playlist
        // that held it; a shorter --grace breaks the RFC by configuration.
        // (`remember` records `longest` for every segment in `seen`.)
        let needed = (1000.0 * (s.duration + self.longest[&s.msn])).ceil() as u64;
        if needed > grace_ms {
            return Err(format!(
                "{}: RFC 8216 §6.2.2 wants it kept {needed} ms after removal, --grace is {grace_ms} ms",
                s.uri
            ));
        }
        let len = self.bodies.get(&s.uri).map(Vec::len).ok_or(format!(
            "{} left the playlist before it was downloaded",
            s.uri
        ))?;
        self.pending.push(Expectation {
            due_ms: now_ms + grace_ms.saturating_sub(margin_ms),
            uri: s.uri.clone(),
            want: Want::StillThere { len },
            media: Media::Segment(s.msn),
        });
        // The segmenter deletes on its next segment after the grace period.
        let late = grace_ms + 1000 * target + 2 * margin_ms;
        self.pending.push(Expectation {
            due_ms: now_ms + late,
            uri: s.uri,
            want: Want::Gone,
            media: Media::Segment(s.msn),
        });
        Ok(())
    }

    /// Records the listed segments; a media sequence number seen before
    /// must name the same segment as before.
    fn remember(&mut self, snap: &Snapshot, now_ms: u64) -> Result<(), String> {
        let total = snap.duration();
        for s in &snap.segments {
            match self.seen.get(&s.msn) {
                Some(old) if old != s => {
                    return Err(format!(
                        "media sequence {} was {old:?}, is now {s:?} (RFC 8216 §6.2.1)",
                        s.msn
                    ))
                }
                Some(_) => {}
                None => {
                    self.seen.insert(s.msn, s.clone());
                    self.pending.push(Expectation {
                        due_ms: now_ms,
                        uri: s.uri.clone(),
                        want: Want::Complete,
                        media: Media::Segment(s.msn),
                    });
                }
            }
            let longest = self.longest.entry(s.msn).or_insert(0.0);
            *longest = longest.max(total);
        }
        Ok(())
    }
}

/// Checks one playlist alone.
fn check_alone(snap: &Snapshot) -> Result<(), String> {
    let target = snap.target_duration;
    if let Some(s) = snap
        .segments
        .iter()
        .find(|s| s.duration.round() > target as f64)
    {
        return Err(format!(
            "{}: EXTINF {} rounds above the target {target}",
            s.uri, s.duration
        ));
    }
    check_dates(snap)?;
    // §6.2.2: no removal may leave less than three target durations.
    if snap.media_sequence > 0 && snap.duration() < 3.0 * target as f64 {
        return Err(format!(
            "segments were removed but the playlist lasts {:.3} s, under 3 × {target} s (RFC 8216 §6.2.2)",
            snap.duration()
        ));
    }
    Ok(())
}

/// EXT-X-PROGRAM-DATE-TIME never goes back: each segment's date is the
/// one before it plus that one's EXTINF (within the millisecond both are
/// rounded to), and after a discontinuity it may move forward, never back
/// (RFC 8216 §4.3.2.6 maps the segment's first sample to that moment; two
/// segments cannot share a moment).
fn check_dates(snap: &Snapshot) -> Result<(), String> {
    for w in snap.segments.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let (Some(at), Some(bt)) = (a.pdt_ms, b.pdt_ms) else {
            continue;
        };
        let expected = at + (a.duration * 1000.0).round() as i64;
        let late = bt - expected;
        if late < -1 || (!b.discontinuity && late > 1) {
            return Err(format!(
                "{}: EXT-X-PROGRAM-DATE-TIME is {late:+} ms from the previous one plus its EXTINF{}",
                b.uri,
                if b.discontinuity {
                    " (after a discontinuity it may move forward, never back)"
                } else {
                    ""
                }
            ));
        }
    }
    Ok(())
}

/// Checks `snap` against the playlist loaded before it: sequence numbers
/// never go back, the end never goes back, the target never changes,
/// nothing follows an ENDLIST.
fn check_against(last: &Snapshot, snap: &Snapshot) -> Result<(), String> {
    if snap.target_duration != last.target_duration {
        return Err(format!(
            "EXT-X-TARGETDURATION changed from {} to {} (RFC 8216 §6.2.1)",
            last.target_duration, snap.target_duration
        ));
    }
    if snap.media_sequence < last.media_sequence {
        return Err(format!(
            "EXT-X-MEDIA-SEQUENCE went back from {} to {}",
            last.media_sequence, snap.media_sequence
        ));
    }
    if snap.discontinuity_sequence < last.discontinuity_sequence {
        return Err(format!(
            "EXT-X-DISCONTINUITY-SEQUENCE went back from {} to {}",
            last.discontinuity_sequence, snap.discontinuity_sequence
        ));
    }
    if snap.end() < last.end() {
        return Err(format!(
            "the playlist lost its newest segments: it ended before {}, now before {}",
            last.end(),
            snap.end()
        ));
    }
    if snap.last_part() < last.last_part() && !snap.endlist {
        return Err(format!(
            "the playlist lost its newest parts: its last was {:?}, now {:?}",
            last.last_part(),
            snap.last_part()
        ));
    }
    if last.endlist && snap != last {
        return Err("the playlist changed after EXT-X-ENDLIST".into());
    }
    Ok(())
}

/// A segment downloaded again within its grace period is the one listed:
/// the same length and the same bytes.
fn same_bytes(listed: &[u8], now: &[u8]) -> Result<(), String> {
    if now.len() != listed.len() {
        return Err(format!(
            "{} bytes within its grace period, {} when listed",
            now.len(),
            listed.len()
        ));
    }
    match listed.iter().zip(now).position(|(a, b)| a != b) {
        Some(at) => Err(format!(
            "its bytes changed within its grace period (first at byte {at})"
        )),
        None => Ok(()),
    }
}

/// A segment download: HTTP 200 and a whole transport stream (whole
/// 188-byte packets, each opening with the sync byte).
pub fn check_segment(status: u16, body: &[u8]) -> Result<(), String> {
    if status != 200 {
        return Err(format!("HTTP {status}"));
    }
    if body.is_empty() || !body.len().is_multiple_of(PACKET_SIZE) {
        return Err(format!(
            "{} bytes: not a whole number of {PACKET_SIZE}-byte packets",
            body.len()
        ));
    }
    match body.chunks(PACKET_SIZE).position(|p| p[0] != 0x47) {
        Some(i) => Err(format!("packet {i} does not open with the sync byte 0x47")),
        None => Ok(()),
    }
}

#[cfg(test)]
#[path = "checker_tests.rs"]
mod tests;
