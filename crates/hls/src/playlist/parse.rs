//! Reading our own media playlists back, to resume after a restart.

use std::mem;

use super::m3u8::{self, Kind, Line};
use super::media::{ByteRange, Cue, InitSection, MediaPlaylist, PlaylistType, SegmentEntry};
use super::{excerpt, is_valid_uri, DateRange, PlaylistError, SegmentKey, Ticks, UnixMillis};

const VERSION: &str = "#EXT-X-VERSION";
const TARGET_DURATION: &str = "#EXT-X-TARGETDURATION";
const MEDIA_SEQUENCE: &str = "#EXT-X-MEDIA-SEQUENCE";
const DISCONTINUITY_SEQUENCE: &str = "#EXT-X-DISCONTINUITY-SEQUENCE";
const PLAYLIST_TYPE: &str = "#EXT-X-PLAYLIST-TYPE";
const EXTINF: &str = "#EXTINF";
const DISCONTINUITY: &str = "#EXT-X-DISCONTINUITY";
const PROGRAM_DATE_TIME: &str = "#EXT-X-PROGRAM-DATE-TIME";
const DATERANGE: &str = "#EXT-X-DATERANGE";
const KEY: &str = "#EXT-X-KEY";
const IFRAMES_ONLY: &str = "#EXT-X-I-FRAMES-ONLY";
const BYTERANGE: &str = "#EXT-X-BYTERANGE";
const MAP: &str = "#EXT-X-MAP";

/// Tags that change what a segment is or say this is not a media playlist:
/// ignoring them would resume with a wrong picture.
/// (Low-latency tags — EXT-X-PART, EXT-X-PRELOAD-HINT, EXT-X-SERVER-CONTROL,
/// EXT-X-PART-INF — are skipped: parts are transient copies of the listed
/// segments, rebuilt by the live segmenter that resumes.)
/// (`EXT-X-KEY` is read when it is ours: AES-128 with a URI and an IV.
/// `EXT-X-I-FRAMES-ONLY` before any segment makes an I-frame playlist,
/// whose `EXT-X-BYTERANGE` and `EXT-X-MAP` are read; elsewhere all three
/// are refused.)
const REFUSED: [&str; 8] = [
    "#EXT-X-MAP",
    "#EXT-X-BYTERANGE",
    "#EXT-X-GAP",
    "#EXT-X-I-FRAMES-ONLY",
    "#EXT-X-STREAM-INF",
    "#EXT-X-I-FRAME-STREAM-INF",
    "#EXT-X-MEDIA",
    "#EXT-X-SKIP",
];

impl MediaPlaylist {
    /// Reads a media playlist as [`render`](Self::render) writes it, e.g. to
    /// resume after a restart.
    ///
    /// Lines may end in `\n` or `\r\n`; blank lines, comments and unknown
    /// tags are skipped; tags that would change what a segment is are
    /// refused. Segment sizes are not in the text (`bytes` is `None`). A live
    /// playlist's window is unknown: it becomes the larger of the segments'
    /// total and three target durations; call
    /// [`set_window`](Self::set_window) to restore the configured one.
    pub fn parse(text: &str) -> Result<MediaPlaylist, PlaylistError> {
        let mut parser = Parser::default();
        let mut last = 1;
        let mut numbered = m3u8::lines(text).zip(1..);
        let header = numbered.next().map_or("", |(l, _)| l.text);
        if header.strip_prefix('\u{feff}').unwrap_or(header) != "#EXTM3U" {
            return Err(PlaylistError::MissingHeader { line: 1 });
        }
        for (l, line) in numbered {
            if !l.text.is_empty() {
                last = line;
                parser.line(line, l)?;
            }
        }
        parser.finish(last)
    }
}

/// Segment tags seen since the last URI.
#[derive(Default)]
struct Pending {
    /// The first one's line and name, for [`PlaylistError::DanglingTag`].
    first: Option<(usize, &'static str)>,
    duration: Option<Ticks>,
    discontinuity: bool,
    program_date_time: Option<UnixMillis>,
    /// `EXT-X-DATERANGE` tags before the segment.
    dateranges: Vec<DateRange>,
    /// `EXT-X-BYTERANGE` (I-frame playlists).
    byte_range: Option<ByteRange>,
    /// `EXT-X-CUE-…` tags before the segment (ours; others are skipped).
    cues: Vec<Cue>,
}

#[derive(Default)]
struct Parser {
    version: Option<u64>,
    target_duration: Option<u32>,
    media_sequence: Option<u64>,
    discontinuity_sequence: Option<u64>,
    playlist_type: Option<PlaylistType>,
    ended: bool,
    /// The `EXT-X-KEY` in effect (it applies to every segment after it).
    key: Option<SegmentKey>,
    /// `EXT-X-I-FRAMES-ONLY` came (before any segment): byte ranges and
    /// maps are ours.
    iframes_only: bool,
    /// The `EXT-X-MAP` in effect.
    map: Option<InitSection>,
    segments: Vec<SegmentEntry>,
    /// Discontinuities among `segments`.
    discontinuities: u64,
    pending: Pending,
}

impl Parser {
    fn line(&mut self, line: usize, l: Line<'_>) -> Result<(), PlaylistError> {
        let (tag, value) = match l.kind() {
            Kind::Comment => return Ok(()),
            // `#` and the name, as the constants and errors write tags.
            Kind::Tag(name, value) => (&l.text[..=name.len()], value.unwrap_or("")),
            // A line of white space is not a blank line here: an invalid URI.
            Kind::Uri | Kind::Blank => return self.uri(line, l.text),
        };
        let invalid = |tag| PlaylistError::InvalidValue {
            line,
            tag,
            value: excerpt(value),
        };
        match tag {
            VERSION => {
                let version = integer(value)
                    .filter(|&v| v > 0)
                    .ok_or_else(|| invalid(VERSION))?;
                set_once(&mut self.version, version, line, VERSION)
            }
            TARGET_DURATION => {
                let secs = integer(value)
                    .and_then(|v| u32::try_from(v).ok())
                    .filter(|&v| v > 0)
                    .ok_or_else(|| invalid(TARGET_DURATION))?;
                set_once(&mut self.target_duration, secs, line, TARGET_DURATION)
            }
            MEDIA_SEQUENCE => self.sequence_tag(line, MEDIA_SEQUENCE, value),
            DISCONTINUITY_SEQUENCE => self.sequence_tag(line, DISCONTINUITY_SEQUENCE, value),
            PLAYLIST_TYPE => {
                let kind = match value {
                    "EVENT" => PlaylistType::Event,
                    "VOD" => PlaylistType::Vod,
                    _ => return Err(invalid(PLAYLIST_TYPE)),
                };
                set_once(&mut self.playlist_type, kind, line, PLAYLIST_TYPE)
            }
            EXTINF => {
                let duration = value.split(',').next().and_then(decimal_ticks);
                let duration = duration.ok_or_else(|| invalid(EXTINF))?;
                let slot = &mut self.pending.duration;
                set_once(slot, duration, line, EXTINF)?;
                self.pending.first.get_or_insert((line, EXTINF));
                Ok(())
            }
            DISCONTINUITY => {
                self.pending.discontinuity = true;
                self.pending.first.get_or_insert((line, DISCONTINUITY));
                Ok(())
            }
            PROGRAM_DATE_TIME => {
                let time = UnixMillis::parse_iso8601(value);
                let time = time.ok_or_else(|| invalid(PROGRAM_DATE_TIME))?;
                let slot = &mut self.pending.program_date_time;
                set_once(slot, time, line, PROGRAM_DATE_TIME)?;
                self.pending.first.get_or_insert((line, PROGRAM_DATE_TIME));
                Ok(())
            }
            KEY => {
                // Ours only: AES-128 with URI and IV; any other key would
                // resume with segments a player cannot read.
                // METHOD=NONE ends encryption (segments after it are clear).
                self.key = if value == "METHOD=NONE" {
                    None
                } else {
                    let key = SegmentKey::parse(value);
                    Some(key.ok_or_else(|| PlaylistError::UnsupportedTag {
                        line,
                        tag: KEY.to_owned(),
                    })?)
                };
                Ok(())
            }
            DATERANGE => {
                let range = DateRange::parse(value).ok_or_else(|| invalid(DATERANGE))?;
                self.pending.dateranges.push(range);
                Ok(())
            }
            "#EXT-X-ENDLIST" => {
                self.ended = true;
                Ok(())
            }
            IFRAMES_ONLY if self.segments.is_empty() && self.pending.first.is_none() => {
                self.iframes_only = true;
                Ok(())
            }
            BYTERANGE if self.iframes_only => {
                let range = ByteRange::parse(value).ok_or_else(|| invalid(BYTERANGE))?;
                set_once(&mut self.pending.byte_range, range, line, BYTERANGE)?;
                self.pending.first.get_or_insert((line, BYTERANGE));
                Ok(())
            }
            "#EXT-X-CUE-IN" | "#EXT-X-CUE-OUT" | "#EXT-X-CUE-OUT-CONT" => {
                // Ours are kept; another writer's forms are skipped, as
                // unknown tags are (they change no segment).
                if let Some(cue) = Cue::parse(tag, value) {
                    self.pending.cues.push(cue);
                }
                Ok(())
            }
            MAP if self.iframes_only => {
                self.map = Some(InitSection::parse(value).ok_or_else(|| invalid(MAP))?);
                Ok(())
            }
            refused if REFUSED.contains(&refused) => Err(PlaylistError::UnsupportedTag {
                line,
                tag: refused.to_owned(),
            }),
            _ => Ok(()), // EXT-X-INDEPENDENT-SEGMENTS and unknown tags
        }
    }

    /// `EXT-X-MEDIA-SEQUENCE` or `EXT-X-DISCONTINUITY-SEQUENCE`, which must
    /// precede every segment (RFC 8216 §4.3.3.2, §4.3.3.3).
    fn sequence_tag(
        &mut self,
        line: usize,
        tag: &'static str,
        value: &str,
    ) -> Result<(), PlaylistError> {
        if !self.segments.is_empty() || self.pending.first.is_some() {
            return Err(PlaylistError::MisplacedTag { line, tag });
        }
        let number = integer(value).ok_or_else(|| PlaylistError::InvalidValue {
            line,
            tag,
            value: excerpt(value),
        })?;
        let slot = match tag {
            MEDIA_SEQUENCE => &mut self.media_sequence,
            _ => &mut self.discontinuity_sequence,
        };
        set_once(slot, number, line, tag)
    }

    fn uri(&mut self, line: usize, uri: &str) -> Result<(), PlaylistError> {
        let Some(duration) = self.pending.duration else {
            return Err(PlaylistError::UriWithoutDuration { line });
        };
        if !is_valid_uri(uri) {
            return Err(PlaylistError::InvalidValue {
                line,
                tag: "URI",
                value: excerpt(uri),
            });
        }
        let pending = mem::take(&mut self.pending);
        let overflow = PlaylistError::SequenceOverflow { line };
        let sequence = self
            .media_sequence
            .unwrap_or(0)
            .checked_add(self.segments.len() as u64);
        let sequence = sequence.ok_or(overflow.clone())?;
        if pending.discontinuity {
            self.discontinuities += 1;
            let dseq = self.discontinuity_sequence.unwrap_or(0);
            dseq.checked_add(self.discontinuities).ok_or(overflow)?;
        }
        self.segments.push(SegmentEntry {
            uri: uri.to_owned(),
            duration,
            discontinuity_before: pending.discontinuity,
            program_date_time: pending.program_date_time,
            bytes: None,
            sequence,
            parts: Vec::new(),
            dateranges: pending.dateranges,
            key: self.key.clone(),
            byte_range: pending.byte_range,
            map: self.map.clone(),
            cues: pending.cues,
        });
        Ok(())
    }

    fn finish(self, last: usize) -> Result<MediaPlaylist, PlaylistError> {
        if let Some((line, tag)) = self.pending.first {
            return Err(PlaylistError::DanglingTag { line, tag });
        }
        let Some(target_duration) = self.target_duration else {
            return Err(PlaylistError::MissingTag {
                line: last,
                tag: TARGET_DURATION,
            });
        };
        let kind = self.playlist_type.unwrap_or(PlaylistType::Live);
        let mut playlist = MediaPlaylist::empty(kind, target_duration)?;
        playlist.media_sequence = self.media_sequence.unwrap_or(0);
        playlist.discontinuity_sequence = self.discontinuity_sequence.unwrap_or(0);
        playlist.total = self.segments.iter().map(|s| u128::from(s.duration.0)).sum();
        let total = Ticks(u64::try_from(playlist.total).unwrap_or(u64::MAX));
        playlist.window = playlist.window.max(total);
        playlist.segments = self.segments.into();
        playlist.ended = self.ended;
        if self.iframes_only {
            playlist.iframes_only = true;
            playlist.independent_segments = false;
        }
        Ok(playlist)
    }
}

fn set_once<T>(
    slot: &mut Option<T>,
    value: T,
    line: usize,
    tag: &'static str,
) -> Result<(), PlaylistError> {
    if slot.is_some() {
        return Err(PlaylistError::DuplicateTag { line, tag });
    }
    *slot = Some(value);
    Ok(())
}

/// An RFC 8216 decimal-integer: 1 to 20 ASCII digits fitting in `u64`.
fn integer(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// An RFC 8216 decimal-floating-point number of seconds (`6`, `6.006`) in
/// ticks, rounded to the nearest tick (digits after the ninth are ignored).
fn decimal_ticks(s: &str) -> Option<Ticks> {
    let (whole, fraction) = match s.split_once('.') {
        Some((whole, fraction)) if !fraction.is_empty() => (whole, fraction),
        Some(_) => return None,
        None => (s, ""),
    };
    let whole = integer(whole)?;
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // All ASCII digits, so any byte index is a character boundary.
    let kept = fraction.get(..fraction.len().min(9))?;
    let numerator: u64 = if kept.is_empty() {
        0
    } else {
        kept.parse().ok()?
    };
    let denominator = 10u64.pow(kept.len() as u32);
    // numerator < 10^9, so numerator × 90 000 < 2^47.
    let fraction_ticks = (numerator * Ticks::PER_SECOND + denominator / 2) / denominator;
    let ticks = whole
        .checked_mul(Ticks::PER_SECOND)?
        .checked_add(fraction_ticks)?;
    Some(Ticks(ticks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_durations() {
        assert_eq!(decimal_ticks("6"), Some(Ticks(540_000)));
        assert_eq!(decimal_ticks("6.006"), Some(Ticks(540_540)));
        assert_eq!(decimal_ticks("0.0000111"), Some(Ticks(1)));
        assert_eq!(decimal_ticks("0.0000055"), Some(Ticks(0)));
        assert_eq!(decimal_ticks("1.99999999999999"), Some(Ticks(180_000)));
        for bad in [
            "",
            ".5",
            "6.",
            "-1",
            "+1",
            "1e3",
            "6.0a",
            "inf",
            "NaN",
            "204963823942509.1",
        ] {
            assert_eq!(decimal_ticks(bad), None, "{bad:?}");
        }
    }
}
