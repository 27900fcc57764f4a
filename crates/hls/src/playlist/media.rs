//! The media playlist model: segments, sequence numbers, the live sliding
//! window and rendering.

use std::collections::{vec_deque, VecDeque};
use std::fmt;

use super::{excerpt, is_valid_uri, PlaylistError, Ticks, UnixMillis, VERSION};

/// How a media playlist evolves (`EXT-X-PLAYLIST-TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlaylistType {
    /// No `EXT-X-PLAYLIST-TYPE`: a sliding window; old segments are removed.
    Live,
    /// `EXT-X-PLAYLIST-TYPE:EVENT`: segments are only appended.
    Event,
    /// `EXT-X-PLAYLIST-TYPE:VOD`: complete; always ends with `EXT-X-ENDLIST`.
    Vod,
}

/// One media segment as listed in a media playlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentEntry {
    /// The segment's URI, relative to the playlist's.
    pub uri: String,
    /// Its duration (`EXTINF`, written in seconds with three decimals).
    pub duration: Ticks,
    /// Whether `EXT-X-DISCONTINUITY` precedes it.
    pub discontinuity_before: bool,
    /// `EXT-X-PROGRAM-DATE-TIME`: the wall-clock time of its first sample.
    pub program_date_time: Option<UnixMillis>,
    /// Its size in bytes, for the caller's accounting; not written to the
    /// playlist, so [`MediaPlaylist::parse`] yields `None`.
    pub bytes: Option<u64>,
    /// Its media sequence number, assigned by [`MediaPlaylist::push`] (the
    /// value given to `push` is replaced).
    pub sequence: u64,
    /// Its partial segments (low-latency HLS), moved in by
    /// [`MediaPlaylist::push`] from those given to
    /// [`MediaPlaylist::push_part`]; listed while the segment is recent.
    pub parts: Vec<PartEntry>,
}

/// A partial segment (`EXT-X-PART`, RFC 8216bis §4.4.4.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartEntry {
    /// Its URI.
    pub uri: String,
    /// Its duration.
    pub duration: Ticks,
    /// It starts with a random access point (`INDEPENDENT=YES`).
    pub independent: bool,
}

/// Low-latency settings of a live playlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LowLatency {
    /// `PART-TARGET`: no part is longer.
    pub part_target: Ticks,
    /// Parts listed so far for the segment in progress.
    pub(super) open_parts: Vec<PartEntry>,
    /// `EXT-X-PRELOAD-HINT`: the URI of the next part.
    pub(super) preload_hint: Option<String>,
}

/// Complete segments whose parts stay listed (besides the segment in
/// progress): RFC 8216bis §6.2.2 asks for parts within three target
/// durations of the end; two segments of parts plus the open one cover the
/// part hold-back of three part targets with room to spare.
const SEGMENTS_WITH_PARTS: usize = 2;

impl SegmentEntry {
    /// A segment with no discontinuity, date or size (sequence 0 until pushed).
    pub fn new(uri: impl Into<String>, duration: Ticks) -> SegmentEntry {
        SegmentEntry {
            uri: uri.into(),
            duration,
            discontinuity_before: false,
            program_date_time: None,
            bytes: None,
            sequence: 0,
            parts: Vec::new(),
        }
    }
}

/// What [`MediaPlaylist::push`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "removed segments must be scheduled for deletion and over-target segments logged"]
pub struct PushOutcome {
    /// The media sequence number given to the pushed segment.
    pub sequence: u64,
    /// Segments the live window dropped, oldest first; delete their files
    /// after a grace period (see [`crate::store::DeletionQueue`]).
    pub removed: Vec<SegmentEntry>,
    /// The segment's `EXTINF` rounded to the nearest second exceeds the
    /// target duration (RFC 8216 §4.3.3.1). It is listed anyway and
    /// `EXT-X-TARGETDURATION` is not changed; the caller should log it.
    pub over_target: bool,
}

/// An RFC 8216 media playlist; see the [module documentation](super) for its
/// rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaPlaylist {
    pub(super) playlist_type: PlaylistType,
    pub(super) target_duration: u32,
    /// The live window (unused for EVENT and VOD).
    pub(super) window: Ticks,
    pub(super) media_sequence: u64,
    pub(super) discontinuity_sequence: u64,
    pub(super) segments: VecDeque<SegmentEntry>,
    /// Sum of the listed durations (u128: no overflow for any input).
    pub(super) total: u128,
    pub(super) ended: bool,
    /// Low-latency HLS, when on.
    pub(super) low_latency: Option<LowLatency>,
}

impl MediaPlaylist {
    /// A live sliding-window playlist keeping at least `window` of segments.
    ///
    /// Fails when `target_duration` is 0 or `window` is shorter than three
    /// target durations (RFC 8216 §6.2.2).
    pub fn live(target_duration: u32, window: Ticks) -> Result<MediaPlaylist, PlaylistError> {
        let mut playlist = MediaPlaylist::empty(PlaylistType::Live, target_duration)?;
        playlist.set_window(window)?;
        Ok(playlist)
    }

    /// An EVENT playlist (segments are only appended).
    pub fn event(target_duration: u32) -> Result<MediaPlaylist, PlaylistError> {
        MediaPlaylist::empty(PlaylistType::Event, target_duration)
    }

    /// A VOD playlist (segments are only appended; always `EXT-X-ENDLIST`).
    pub fn vod(target_duration: u32) -> Result<MediaPlaylist, PlaylistError> {
        MediaPlaylist::empty(PlaylistType::Vod, target_duration)
    }

    pub(super) fn empty(
        playlist_type: PlaylistType,
        target_duration: u32,
    ) -> Result<MediaPlaylist, PlaylistError> {
        if target_duration == 0 {
            return Err(PlaylistError::ZeroTargetDuration);
        }
        Ok(MediaPlaylist {
            playlist_type,
            target_duration,
            window: MediaPlaylist::minimum_window(target_duration),
            media_sequence: 0,
            discontinuity_sequence: 0,
            segments: VecDeque::new(),
            total: 0,
            ended: false,
            low_latency: None,
        })
    }

    /// Three target durations, the shortest live window allowed.
    pub fn minimum_window(target_duration: u32) -> Ticks {
        // u32::MAX × 3 × 90 000 < 2^50: no overflow.
        Ticks(3 * Ticks::from_secs(target_duration).0)
    }

    /// Changes a live playlist's window, e.g. after [`MediaPlaylist::parse`]
    /// (which cannot know it). Takes effect at the next [`push`](Self::push).
    pub fn set_window(&mut self, window: Ticks) -> Result<(), PlaylistError> {
        if self.playlist_type != PlaylistType::Live {
            return Err(PlaylistError::NotLive);
        }
        let minimum = MediaPlaylist::minimum_window(self.target_duration);
        if window < minimum {
            return Err(PlaylistError::WindowTooShort { window, minimum });
        }
        self.window = window;
        Ok(())
    }

    /// Appends a segment, gives it the next media sequence number and, for a
    /// live playlist, removes the first segment while more than one is listed
    /// and the rest alone last at least the window.
    ///
    /// Fails, changing nothing, after [`end`](Self::end), for a URI that
    /// cannot stand on its own line, or when sequence numbers run out.
    pub fn push(&mut self, mut segment: SegmentEntry) -> Result<PushOutcome, PlaylistError> {
        if self.ended {
            return Err(PlaylistError::Ended);
        }
        if !is_valid_uri(&segment.uri) {
            return Err(PlaylistError::InvalidUri {
                uri: excerpt(&segment.uri),
            });
        }
        let sequence = self
            .next_sequence()
            .ok_or(PlaylistError::SequenceExhausted)?;
        if segment.discontinuity_before {
            let listed = self
                .segments
                .iter()
                .filter(|s| s.discontinuity_before)
                .count();
            // Every listed discontinuity may one day increment the sequence.
            self.discontinuity_sequence
                .checked_add(listed as u64 + 1)
                .ok_or(PlaylistError::SequenceExhausted)?;
        }
        segment.sequence = sequence;
        if let Some(ll) = &mut self.low_latency {
            segment.parts = std::mem::take(&mut ll.open_parts);
        }
        let over_target = segment.duration.rounded_secs() > u64::from(self.target_duration);
        self.total += u128::from(segment.duration.0);
        self.segments.push_back(segment);
        let removed = match self.playlist_type {
            PlaylistType::Live => self.slide(),
            PlaylistType::Event | PlaylistType::Vod => Vec::new(),
        };
        Ok(PushOutcome {
            sequence,
            removed,
            over_target,
        })
    }

    /// Removes segments from the front per the live window rule.
    fn slide(&mut self) -> Vec<SegmentEntry> {
        let mut removed = Vec::new();
        while self.segments.len() > 1 {
            let first = self
                .segments
                .front()
                .map_or(0, |s| u128::from(s.duration.0));
            if self.total - first < u128::from(self.window.0) {
                break;
            }
            if let Some(segment) = self.segments.pop_front() {
                self.total -= first;
                // Cannot overflow: push checked that the sequence numbers of
                // every listed segment and discontinuity fit in u64.
                self.media_sequence += 1;
                self.discontinuity_sequence += u64::from(segment.discontinuity_before);
                removed.push(segment);
            }
        }
        removed
    }

    /// Marks the end of the stream: `EXT-X-ENDLIST` is written and no segment
    /// can be pushed any more.
    pub fn end(&mut self) {
        self.ended = true;
        if let Some(ll) = &mut self.low_latency {
            ll.open_parts.clear();
            ll.preload_hint = None;
        }
    }

    /// Turns on low-latency HLS (RFC 8216bis): partial segments no longer
    /// than `part_target`, blocking reload, delta updates. Only for a live
    /// playlist; `part_target` must be positive and at most the target
    /// duration.
    pub fn enable_low_latency(&mut self, part_target: Ticks) -> Result<(), PlaylistError> {
        if self.playlist_type != PlaylistType::Live {
            return Err(PlaylistError::NotLive);
        }
        if part_target.0 == 0 || part_target > Ticks::from_secs(self.target_duration) {
            return Err(PlaylistError::InvalidPartTarget { part_target });
        }
        self.low_latency = Some(LowLatency {
            part_target,
            open_parts: Vec::new(),
            preload_hint: None,
        });
        Ok(())
    }

    /// The low-latency settings, when on.
    pub fn low_latency(&self) -> Option<&LowLatency> {
        self.low_latency.as_ref()
    }

    /// Lists a part of the segment in progress (the next one
    /// [`push`](Self::push) will add), and the URI of the part after it for
    /// `EXT-X-PRELOAD-HINT`.
    pub fn push_part(
        &mut self,
        part: PartEntry,
        preload_hint: Option<String>,
    ) -> Result<(), PlaylistError> {
        if self.ended {
            return Err(PlaylistError::Ended);
        }
        let Some(ll) = &mut self.low_latency else {
            return Err(PlaylistError::NotLowLatency);
        };
        for uri in std::iter::once(&part.uri).chain(preload_hint.as_ref()) {
            if !is_valid_uri(uri) || uri.contains('"') {
                return Err(PlaylistError::InvalidUri { uri: excerpt(uri) });
            }
        }
        ll.open_parts.push(part);
        ll.preload_hint = preload_hint;
        Ok(())
    }

    /// Sets the `EXT-X-PRELOAD-HINT` URI (after a segment completed, the
    /// first part of the next).
    pub fn set_preload_hint(&mut self, uri: Option<String>) -> Result<(), PlaylistError> {
        let Some(ll) = &mut self.low_latency else {
            return Err(PlaylistError::NotLowLatency);
        };
        if let Some(u) = &uri {
            if !is_valid_uri(u) || u.contains('"') {
                return Err(PlaylistError::InvalidUri { uri: excerpt(u) });
            }
        }
        ll.preload_hint = uri;
        Ok(())
    }

    /// The parts of the segment in progress.
    pub fn open_parts(&self) -> &[PartEntry] {
        self.low_latency.as_ref().map_or(&[], |ll| &ll.open_parts)
    }

    /// `CAN-SKIP-UNTIL`: six target durations (the minimum RFC 8216bis
    /// §4.4.3.8 allows).
    pub fn skip_until(&self) -> Ticks {
        Ticks(6 * Ticks::from_secs(self.target_duration).0)
    }

    /// The delta update for `_HLS_skip=YES` (RFC 8216bis §6.2.5.1): the
    /// segments that start more than [`skip_until`](Self::skip_until) before
    /// the end are replaced by `EXT-X-SKIP`; `None` when low latency is off
    /// or nothing can be skipped.
    pub fn render_delta(&self) -> Option<String> {
        self.low_latency.as_ref()?;
        let skip = self.skippable();
        (skip > 0).then(|| {
            let mut out = String::new();
            // Writing into a String cannot fail.
            let _ = self.write(&mut out, skip);
            out
        })
    }

    /// How many leading segments start before the skip boundary.
    fn skippable(&self) -> usize {
        let boundary = u128::from(self.skip_until().0);
        let mut after_start = self.total;
        let mut n = 0;
        for s in &self.segments {
            if after_start <= boundary {
                break;
            }
            after_start -= u128::from(s.duration.0);
            n += 1;
        }
        // The last segment is never skipped.
        n.min(self.segments.len().saturating_sub(1))
    }

    /// The playlist type.
    pub fn playlist_type(&self) -> PlaylistType {
        self.playlist_type
    }

    /// `EXT-X-TARGETDURATION` in seconds, fixed at construction.
    pub fn target_duration(&self) -> u32 {
        self.target_duration
    }

    /// The live window; `None` for EVENT and VOD playlists.
    pub fn window(&self) -> Option<Ticks> {
        (self.playlist_type == PlaylistType::Live).then_some(self.window)
    }

    /// `EXT-X-MEDIA-SEQUENCE`: the sequence number of the first listed
    /// segment (the number of segments removed since sequence 0).
    pub fn media_sequence(&self) -> u64 {
        self.media_sequence
    }

    /// `EXT-X-DISCONTINUITY-SEQUENCE`: discontinuities removed from the front.
    pub fn discontinuity_sequence(&self) -> u64 {
        self.discontinuity_sequence
    }

    /// The sequence number the next pushed segment gets (`None` if beyond
    /// `u64::MAX`).
    pub fn next_sequence(&self) -> Option<u64> {
        self.media_sequence.checked_add(self.segments.len() as u64)
    }

    /// The listed segments, oldest first.
    pub fn segments(&self) -> vec_deque::Iter<'_, SegmentEntry> {
        self.segments.iter()
    }

    /// The sum of the listed segments' durations (saturating at `u64::MAX`).
    pub fn total_duration(&self) -> Ticks {
        Ticks(u64::try_from(self.total).unwrap_or(u64::MAX))
    }

    /// Whether `EXT-X-ENDLIST` is written (always for VOD).
    pub fn is_ended(&self) -> bool {
        self.ended || self.playlist_type == PlaylistType::Vod
    }

    /// `EXT-X-VERSION`: [`VERSION`], the minimum for what we write; 9 with
    /// low latency (EXT-X-SKIP in delta updates needs it).
    pub fn version(&self) -> u8 {
        if self.low_latency.is_some() {
            9
        } else {
            VERSION
        }
    }

    /// The playlist text (same as `to_string()`), lines ending in `\n`.
    pub fn render(&self) -> String {
        self.to_string()
    }
}

impl MediaPlaylist {
    /// Writes the playlist with its first `skip` segments replaced by
    /// `EXT-X-SKIP` (0: the full playlist).
    fn write(&self, f: &mut impl fmt::Write, skip: usize) -> fmt::Result {
        writeln!(f, "#EXTM3U")?;
        writeln!(f, "#EXT-X-VERSION:{}", self.version())?;
        writeln!(f, "#EXT-X-TARGETDURATION:{}", self.target_duration)?;
        if let Some(ll) = &self.low_latency {
            let hold_back = Ticks(3 * ll.part_target.0);
            writeln!(
                f,
                "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK={},CAN-SKIP-UNTIL={}",
                seconds(hold_back),
                seconds(self.skip_until())
            )?;
            writeln!(f, "#EXT-X-PART-INF:PART-TARGET={}", seconds(ll.part_target))?;
        }
        writeln!(f, "#EXT-X-MEDIA-SEQUENCE:{}", self.media_sequence)?;
        if self.discontinuity_sequence != 0 {
            writeln!(
                f,
                "#EXT-X-DISCONTINUITY-SEQUENCE:{}",
                self.discontinuity_sequence
            )?;
        }
        match self.playlist_type {
            PlaylistType::Live => {}
            PlaylistType::Event => writeln!(f, "#EXT-X-PLAYLIST-TYPE:EVENT")?,
            PlaylistType::Vod => writeln!(f, "#EXT-X-PLAYLIST-TYPE:VOD")?,
        }
        writeln!(f, "#EXT-X-INDEPENDENT-SEGMENTS")?;
        if skip > 0 {
            writeln!(f, "#EXT-X-SKIP:SKIPPED-SEGMENTS={skip}")?;
        }
        let with_parts = self.segments.len().saturating_sub(SEGMENTS_WITH_PARTS);
        for (i, segment) in self.segments.iter().enumerate().skip(skip) {
            if segment.discontinuity_before {
                writeln!(f, "#EXT-X-DISCONTINUITY")?;
            }
            if let Some(time) = segment.program_date_time {
                writeln!(f, "#EXT-X-PROGRAM-DATE-TIME:{time}")?;
            }
            if self.low_latency.is_some() && i >= with_parts {
                write_parts(f, &segment.parts)?;
            }
            let ms = segment.duration.rounded_millis();
            writeln!(f, "#EXTINF:{}.{:03},", ms / 1000, ms % 1000)?;
            writeln!(f, "{}", segment.uri)?;
        }
        if let Some(ll) = &self.low_latency {
            write_parts(f, &ll.open_parts)?;
            if let Some(hint) = &ll.preload_hint {
                writeln!(f, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{hint}\"")?;
            }
        }
        if self.is_ended() {
            writeln!(f, "#EXT-X-ENDLIST")?;
        }
        Ok(())
    }
}

/// Seconds with three decimals, as attribute values are written.
fn seconds(t: Ticks) -> String {
    let ms = t.rounded_millis();
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

fn write_parts(f: &mut impl fmt::Write, parts: &[PartEntry]) -> fmt::Result {
    for p in parts {
        write!(
            f,
            "#EXT-X-PART:DURATION={},URI=\"{}\"",
            seconds(p.duration),
            p.uri
        )?;
        if p.independent {
            write!(f, ",INDEPENDENT=YES")?;
        }
        writeln!(f)?;
    }
    Ok(())
}

impl fmt::Display for MediaPlaylist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, 0)
    }
}
