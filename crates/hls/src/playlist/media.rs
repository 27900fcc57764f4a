//! The media playlist model: segments, sequence numbers and the live
//! sliding window (rendering is in `render.rs`, low latency in
//! `low_latency.rs`).

use super::low_latency::LowLatency;
use super::{excerpt, is_valid_uri, DateRange, PlaylistError, SegmentKey, Ticks, UnixMillis};
use std::collections::{vec_deque, VecDeque};

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
    /// `EXT-X-DATERANGE` tags written before it (SCTE-35 breaks starting,
    /// ending or signalled in it). They leave the playlist with it; a delta
    /// update that skips it still lists them, after `EXT-X-SKIP`.
    pub dateranges: Vec<DateRange>,
    /// `EXT-X-KEY` written before it (and its parts): AES-128 with this
    /// key and IV; `None`: not encrypted.
    pub key: Option<SegmentKey>,
    /// `EXT-X-BYTERANGE`: it is this range of the resource at `uri` (in
    /// I-frame playlists only).
    pub byte_range: Option<ByteRange>,
    /// `EXT-X-MAP`: its Media Initialization Section (the PAT and PMT),
    /// written before it when it differs from the previous segment's (in
    /// I-frame playlists only).
    pub map: Option<InitSection>,
    /// De-facto ad-break tags written before it (`EXT-X-CUE-IN`,
    /// `EXT-X-CUE-OUT`, `EXT-X-CUE-OUT-CONT`), in order.
    pub cues: Vec<Cue>,
}

/// A de-facto ad-break tag (not in RFC 8216; what many ad-insertion
/// servers and players read besides `EXT-X-DATERANGE`), written before a
/// segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cue {
    /// `#EXT-X-CUE-OUT:DURATION=<s>`: a break of this planned duration
    /// starts with the segment.
    Out {
        /// The planned duration.
        duration: Ticks,
    },
    /// `#EXT-X-CUE-OUT-CONT:ElapsedTime=<s>,Duration=<s>`: the segment is
    /// inside a break, this far from its start.
    Cont {
        /// From the break's start to the segment's.
        elapsed: Ticks,
        /// The break's planned duration.
        duration: Ticks,
    },
    /// `#EXT-X-CUE-IN`: the break ended; the segment is the programme's.
    In,
}

impl Cue {
    /// Reads a tag (name with `#`, value after `:`) as
    /// [`Display`](std::fmt::Display) writes it; `None` for anything else.
    pub fn parse(tag: &str, value: &str) -> Option<Cue> {
        let seconds = |s: &str| {
            let (whole, frac) = s.split_once('.')?;
            let ok = |t: &str, n: usize| t.len() <= n && t.bytes().all(|b| b.is_ascii_digit());
            (!whole.is_empty() && ok(whole, 12) && frac.len() == 3 && ok(frac, 3)).then_some(())?;
            let ms = whole.parse::<u64>().ok()? * 1000 + frac.parse::<u64>().ok()?;
            Some(Ticks(ms * 90))
        };
        match tag {
            "#EXT-X-CUE-IN" if value.is_empty() => Some(Cue::In),
            "#EXT-X-CUE-OUT" => Some(Cue::Out {
                duration: seconds(value.strip_prefix("DURATION=")?)?,
            }),
            "#EXT-X-CUE-OUT-CONT" => {
                let (elapsed, duration) = value.split_once(',')?;
                Some(Cue::Cont {
                    elapsed: seconds(elapsed.strip_prefix("ElapsedTime=")?)?,
                    duration: seconds(duration.strip_prefix("Duration=")?)?,
                })
            }
            _ => None,
        }
    }
}

impl std::fmt::Display for Cue {
    /// The tag, without its line ending.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = |t: &Ticks| {
            let ms = t.rounded_millis();
            format!("{}.{:03}", ms / 1000, ms % 1000)
        };
        match self {
            Cue::Out { duration } => write!(f, "#EXT-X-CUE-OUT:DURATION={}", s(duration)),
            Cue::Cont { elapsed, duration } => write!(
                f,
                "#EXT-X-CUE-OUT-CONT:ElapsedTime={},Duration={}",
                s(elapsed),
                s(duration)
            ),
            Cue::In => write!(f, "#EXT-X-CUE-IN"),
        }
    }
}

/// A byte range of a resource, `LENGTH@OFFSET` (RFC 8216 §4.3.2.2; the
/// offset is always written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// Its length in bytes.
    pub length: u64,
    /// Where it starts in the resource, in bytes.
    pub offset: u64,
}

impl ByteRange {
    /// Reads `LENGTH@OFFSET` (decimal integers); `None` for anything else.
    pub fn parse(s: &str) -> Option<ByteRange> {
        let (length, offset) = s.split_once('@')?;
        let number = |t: &str| {
            (!t.is_empty() && t.len() <= 20 && t.bytes().all(|b| b.is_ascii_digit()))
                .then(|| t.parse().ok())
                .flatten()
        };
        Some(ByteRange {
            length: number(length)?,
            offset: number(offset)?,
        })
    }
}

impl std::fmt::Display for ByteRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.length, self.offset)
    }
}

/// A Media Initialization Section, `EXT-X-MAP` (RFC 8216 §4.3.2.5): for
/// an I-frame of a transport stream, the PAT and PMT at the start of its
/// segment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitSection {
    /// `URI`: the resource that holds it.
    pub uri: String,
    /// `BYTERANGE`: where in that resource.
    pub range: ByteRange,
}

impl InitSection {
    /// Reads the tag's attribute list as [`Display`](std::fmt::Display)
    /// writes it (`URI` and `BYTERANGE`, both quoted); `None` for anything
    /// else.
    pub fn parse(list: &str) -> Option<InitSection> {
        let (mut uri, mut range) = (None, None);
        for (name, at) in super::m3u8::attributes(list)? {
            let value = list[at].strip_prefix('"')?.strip_suffix('"')?;
            match name {
                "URI" => uri = Some(value.to_owned()),
                "BYTERANGE" => range = Some(ByteRange::parse(value)?),
                _ => return None,
            }
        }
        Some(InitSection {
            uri: uri.filter(|u| is_valid_uri(u))?,
            range: range?,
        })
    }
}

impl std::fmt::Display for InitSection {
    /// The tag, without its line ending.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "#EXT-X-MAP:URI=\"{}\",BYTERANGE=\"{}\"",
            self.uri, self.range
        )
    }
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
            dateranges: Vec::new(),
            key: None,
            byte_range: None,
            map: None,
            cues: Vec::new(),
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
    /// `EXT-X-INDEPENDENT-SEGMENTS` is written.
    pub(super) independent_segments: bool,
    /// `EXT-X-I-FRAMES-ONLY`: each segment is one I-frame; a live one
    /// never slides by itself (see [`MediaPlaylist::iframes`]).
    pub(super) iframes_only: bool,
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
            independent_segments: true,
            iframes_only: false,
        })
    }

    /// An I-frame playlist (`EXT-X-I-FRAMES-ONLY`, RFC 8216 §4.3.3.6) of
    /// `playlist_type`: each segment one I-frame, a byte range of a media
    /// segment (with `EXT-X-MAP`) or a file of its own. A live one follows
    /// the window of the media playlist it indexes: nothing leaves it but
    /// by [`remove_front_while`](Self::remove_front_while). It claims no
    /// `EXT-X-INDEPENDENT-SEGMENTS` and never has low latency.
    pub fn iframes(
        playlist_type: PlaylistType,
        target_duration: u32,
    ) -> Result<MediaPlaylist, PlaylistError> {
        let mut playlist = MediaPlaylist::empty(playlist_type, target_duration)?;
        playlist.iframes_only = true;
        playlist.independent_segments = false;
        Ok(playlist)
    }

    /// Sets `EXT-X-MEDIA-SEQUENCE` and `EXT-X-DISCONTINUITY-SEQUENCE`
    /// while nothing is listed (a playlist started beside another whose
    /// numbers it follows); whether they were set.
    pub fn set_sequences(&mut self, media: u64, discontinuity: u64) -> bool {
        if !self.segments.is_empty() {
            return false;
        }
        self.media_sequence = media;
        self.discontinuity_sequence = discontinuity;
        true
    }

    /// Whether it is an I-frame playlist (`EXT-X-I-FRAMES-ONLY`).
    pub fn is_iframes_only(&self) -> bool {
        self.iframes_only
    }

    /// Removes segments from the front while `gone` says so (an I-frame
    /// playlist following its media playlist's window), counting them in
    /// the media and discontinuity sequences; the removed, oldest first.
    pub fn remove_front_while(
        &mut self,
        mut gone: impl FnMut(&SegmentEntry) -> bool,
    ) -> Vec<SegmentEntry> {
        let mut removed = Vec::new();
        while self.segments.front().is_some_and(&mut gone) {
            if let Some(segment) = self.segments.pop_front() {
                self.total -= u128::from(segment.duration.0);
                // Cannot overflow: push checked every listed segment's.
                self.media_sequence += 1;
                self.discontinuity_sequence += u64::from(segment.discontinuity_before);
                removed.push(segment);
            }
        }
        removed
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
            PlaylistType::Live if !self.iframes_only => self.slide(),
            _ => Vec::new(),
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

    /// Whether to claim `EXT-X-INDEPENDENT-SEGMENTS` (every segment starts
    /// with a random access point; on by default). A segmenter that may
    /// cut a video stream without a keyframe (a GOP longer than the
    /// target) must not claim it; an audio stream may. Settle it before the
    /// first publication: a live playlist's header never changes (RFC 8216
    /// §6.2.1).
    pub fn set_independent_segments(&mut self, claimed: bool) {
        self.independent_segments = claimed;
    }

    /// Whether `EXT-X-INDEPENDENT-SEGMENTS` is written.
    pub fn independent_segments(&self) -> bool {
        self.independent_segments
    }

    /// Announces `EXT-X-TARGETDURATION` as `seconds` (e.g. raised to the
    /// stream's first GOP) while nothing is listed yet; a live window
    /// shorter than three of the new target durations grows to that.
    /// Returns whether it was changed: never once a segment or part is
    /// listed (the target cannot change during a playlist's life), nor to 0.
    pub fn announce_target(&mut self, seconds: u32) -> bool {
        let parts = self
            .low_latency
            .as_ref()
            .is_some_and(|ll| !ll.open_parts.is_empty());
        if seconds == 0 || !self.segments.is_empty() || parts {
            return false;
        }
        self.target_duration = seconds;
        self.window = self.window.max(MediaPlaylist::minimum_window(seconds));
        true
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

    /// The date range `id` on a listed segment, to complete it (an ad
    /// break's end added to the tag of its start).
    pub fn daterange_mut(&mut self, id: &str) -> Option<&mut DateRange> {
        self.segments
            .iter_mut()
            .flat_map(|s| s.dateranges.iter_mut())
            .find(|r| r.id == id)
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
}
