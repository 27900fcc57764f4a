//! RFC 8216 playlists: a model and renderer for media playlists (live sliding
//! window, EVENT, VOD), a renderer for multivariant playlists, and a parser
//! for our own media playlists so that a restarted segmenter can resume.
//!
//! Nothing here does IO or reads a clock: durations come from the stream as
//! 90 kHz [`Ticks`] and wall-clock times ([`UnixMillis`]) are arguments.
//!
//! # Rules
//! * **`EXT-X-TARGETDURATION` never changes.** It is set in whole seconds when
//!   the playlist is built. A segment whose `EXTINF`, rounded to the nearest
//!   integer, exceeds it (RFC 8216 §4.3.3.1) is still listed, and
//!   [`MediaPlaylist::push`] reports it in [`PushOutcome::over_target`] so the
//!   caller can log it.
//! * **Live sliding window, sized in seconds.** After appending a segment,
//!   [`MediaPlaylist::push`] removes the first segment while more than one is
//!   listed and the others alone still last at least the window
//!   (`total − first ≥ window`). Once the listed segments have reached the
//!   window they therefore always satisfy `window ≤ total < window + first`:
//!   the playlist never gets shorter than the window, and the window must be
//!   at least three target durations, so a segment is never removed if that
//!   would leave less than three target durations (RFC 8216 §6.2.2).
//! * **Sequence numbers.** Every removal increments `EXT-X-MEDIA-SEQUENCE` by
//!   one. Removing a segment that carries `EXT-X-DISCONTINUITY` removes that
//!   tag, so it increments `EXT-X-DISCONTINUITY-SEQUENCE` by one (RFC 8216
//!   §4.3.3.3, §6.2.2); a discontinuity on the segment that *becomes* first is
//!   still listed and changes nothing.
//! * **EVENT and VOD playlists never remove segments.** VOD always ends with
//!   `EXT-X-ENDLIST`; EVENT and live playlists do once [`MediaPlaylist::end`]
//!   is called.
//! * **Rendering.** `#EXT-X-VERSION:3` (floating-point `EXTINF` with three
//!   decimals is the newest feature used; nothing emitted needs 4 or later),
//!   `EXT-X-MEDIA-SEQUENCE` always, `EXT-X-DISCONTINUITY-SEQUENCE` only when
//!   non-zero (its absence means 0, and RFC 8216's examples omit it),
//!   `EXT-X-INDEPENDENT-SEGMENTS` always (every segment opens with a
//!   keyframe), `EXT-X-PROGRAM-DATE-TIME` as `YYYY-MM-DDThh:mm:ss.sssZ`.
//! * **Parsing** reads what we write and ignores unknown tags and comments as
//!   RFC 8216 §4.1 asks of clients, but refuses tags that would change what a
//!   segment is (`EXT-X-KEY`, `EXT-X-MAP`, `EXT-X-BYTERANGE`, …) rather than
//!   resume with a wrong picture. Errors carry the 1-based line number. It
//!   never panics.
//!
//! # Example
//! ```
//! use routecast_hls::playlist::{MediaPlaylist, SegmentEntry, Ticks};
//! let mut live = MediaPlaylist::live(6, Ticks::from_secs(18))?;
//! for n in 0..5 {
//!     let pushed = live.push(SegmentEntry::new(format!("seg{n}.ts"), Ticks::from_secs(6)))?;
//!     assert!(!pushed.over_target);
//! }
//! assert_eq!(live.media_sequence(), 2);
//! let text = live.render();
//! assert!(text.starts_with("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n"));
//! assert_eq!(MediaPlaylist::parse(&text)?.media_sequence(), 2);
//! # Ok::<(), routecast_hls::playlist::PlaylistError>(())
//! ```

mod date;
mod daterange;
mod key;
mod low_latency;
pub mod m3u8;
mod media;
mod multivariant;
mod parse;
mod render;
mod reports;
#[cfg(test)]
mod tests;

use std::fmt;

pub use date::UnixMillis;
pub use daterange::DateRange;
pub use key::SegmentKey;
pub use low_latency::LowLatency;
pub use media::{
    ByteRange, Cue, InitSection, MediaPlaylist, PartEntry, PlaylistType, PushOutcome, SegmentEntry,
};
pub use multivariant::{
    AudioRendition, BitsPerSecond, IFrameStream, MultivariantPlaylist, Variant,
};
pub use reports::RenditionReport;

/// The only `EXT-X-VERSION` our media playlists need: 3, for floating-point
/// `EXTINF` durations.
pub const VERSION: u8 = 3;

/// A duration in 90 kHz clock ticks, the unit of PES timestamps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticks(pub u64);

impl Ticks {
    /// Ticks in one second.
    pub const PER_SECOND: u64 = 90_000;

    /// Whole seconds (cannot overflow: `u32::MAX` seconds fit in `u64` ticks).
    pub const fn from_secs(secs: u32) -> Ticks {
        Ticks(secs as u64 * Self::PER_SECOND)
    }

    /// Milliseconds (saturating at `u64::MAX` ticks).
    pub const fn from_millis(ms: u64) -> Ticks {
        Ticks(ms.saturating_mul(Self::PER_SECOND / 1000))
    }

    /// Seconds as a float, rounded to the nearest tick; `None` when negative,
    /// not finite or beyond `u64::MAX` ticks.
    pub fn from_secs_f64(secs: f64) -> Option<Ticks> {
        let ticks = (secs * Self::PER_SECOND as f64).round();
        // 2^64 is exactly representable; anything at or above it does not fit.
        (0.0..18_446_744_073_709_551_616.0)
            .contains(&ticks)
            .then_some(Ticks(ticks as u64))
    }

    /// The duration rounded to the nearest millisecond (halves up): what
    /// `EXTINF` shows with three decimals.
    pub const fn rounded_millis(self) -> u64 {
        self.0 / 90 + (self.0 % 90 >= 45) as u64
    }

    /// The duration in seconds as a float.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / Self::PER_SECOND as f64
    }

    /// The `EXTINF` value rounded to the nearest whole second (halves up), the
    /// number RFC 8216 §4.3.3.1 compares with the target duration.
    pub const fn rounded_secs(self) -> u64 {
        let ms = self.rounded_millis();
        ms / 1000 + (ms % 1000 >= 500) as u64
    }
}

impl fmt::Display for Ticks {
    /// Seconds with three decimals and an `s`, e.g. `6.006s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.rounded_millis();
        write!(f, "{}.{:03}s", ms / 1000, ms % 1000)
    }
}

/// Why a playlist could not be built, extended or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlaylistError {
    /// A target duration of zero seconds.
    #[error("the target duration must be at least 1 second")]
    ZeroTargetDuration,
    /// A live window shorter than three target durations (RFC 8216 §6.2.2).
    #[error("a live window of {window} is shorter than three target durations ({minimum})")]
    WindowTooShort {
        /// The window asked for.
        window: Ticks,
        /// Three target durations.
        minimum: Ticks,
    },
    /// A window set on an EVENT or VOD playlist, which never removes segments.
    #[error("only a live playlist has a sliding window")]
    NotLive,
    /// A part target of zero or above the target duration.
    #[error("a part target of {part_target} must be positive and at most the target duration")]
    InvalidPartTarget {
        /// The part target asked for.
        part_target: Ticks,
    },
    /// A part pushed to a playlist without low latency.
    #[error("parts need low-latency HLS to be enabled on the playlist")]
    NotLowLatency,
    /// A segment pushed after [`MediaPlaylist::end`].
    #[error("the playlist has ended (EXT-X-ENDLIST); no segment can follow")]
    Ended,
    /// A URI that would break the playlist's line structure.
    #[error(
        "URI {uri:?} is empty, starts with '#', has surrounding whitespace or a control character"
    )]
    InvalidUri {
        /// The URI (at most 64 characters of it).
        uri: String,
    },
    /// The next media or discontinuity sequence number would exceed `u64::MAX`.
    #[error("sequence numbers are exhausted (u64::MAX)")]
    SequenceExhausted,
    /// A multivariant playlist without variants.
    #[error("a multivariant playlist needs at least one variant")]
    NoVariants,
    /// A variant attribute that cannot be written.
    #[error("variant {uri:?}: invalid {attribute} {value:?}")]
    InvalidAttribute {
        /// The variant's URI.
        uri: String,
        /// The attribute's name, e.g. `CODECS`.
        attribute: &'static str,
        /// The value (at most 64 characters of it).
        value: String,
    },
    /// The first line is not `#EXTM3U`.
    #[error("line {line}: a playlist must start with #EXTM3U")]
    MissingHeader {
        /// 1-based line number.
        line: usize,
    },
    /// A required tag is absent.
    #[error("line {line}: {tag} is missing")]
    MissingTag {
        /// 1-based line number where it was needed (the last line if none).
        line: usize,
        /// The tag.
        tag: &'static str,
    },
    /// A tag value or URI that does not parse.
    #[error("line {line}: invalid {tag} value {value:?}")]
    InvalidValue {
        /// 1-based line number.
        line: usize,
        /// The tag, or `URI`.
        tag: &'static str,
        /// The value (at most 64 characters of it).
        value: String,
    },
    /// A playlist-wide tag given twice.
    #[error("line {line}: {tag} appears twice")]
    DuplicateTag {
        /// 1-based line number of the second one.
        line: usize,
        /// The tag.
        tag: &'static str,
    },
    /// A playlist-wide tag after the first segment.
    #[error("line {line}: {tag} must come before the first segment")]
    MisplacedTag {
        /// 1-based line number.
        line: usize,
        /// The tag.
        tag: &'static str,
    },
    /// A tag this parser refuses because ignoring it would misread segments.
    #[error("line {line}: {tag} is not supported")]
    UnsupportedTag {
        /// 1-based line number.
        line: usize,
        /// The tag (at most 64 characters of it).
        tag: String,
    },
    /// A URI line with no `EXTINF` before it.
    #[error("line {line}: a segment URI without #EXTINF")]
    UriWithoutDuration {
        /// 1-based line number.
        line: usize,
    },
    /// Segment tags at the end of the playlist with no URI after them.
    #[error("line {line}: {tag} is not followed by a segment URI")]
    DanglingTag {
        /// 1-based line number of the first such tag.
        line: usize,
        /// The tag.
        tag: &'static str,
    },
    /// A media or discontinuity sequence number beyond `u64::MAX`.
    #[error("line {line}: the sequence number exceeds u64::MAX")]
    SequenceOverflow {
        /// 1-based line number of the segment.
        line: usize,
    },
}

impl PlaylistError {
    /// The 1-based line number of a parse error.
    pub fn line(&self) -> Option<usize> {
        match self {
            PlaylistError::MissingHeader { line }
            | PlaylistError::MissingTag { line, .. }
            | PlaylistError::InvalidValue { line, .. }
            | PlaylistError::DuplicateTag { line, .. }
            | PlaylistError::MisplacedTag { line, .. }
            | PlaylistError::UnsupportedTag { line, .. }
            | PlaylistError::UriWithoutDuration { line }
            | PlaylistError::DanglingTag { line, .. }
            | PlaylistError::SequenceOverflow { line } => Some(*line),
            _ => None,
        }
    }
}

/// At most 64 characters of `s`, for error messages about arbitrary input.
fn excerpt(s: &str) -> String {
    s.chars().take(64).collect()
}

/// Whether `uri` can stand on a playlist line of its own: non-empty, not a
/// tag or comment, no surrounding whitespace and no control character.
fn is_valid_uri(uri: &str) -> bool {
    !uri.is_empty()
        && !uri.starts_with('#')
        && uri.trim() == uri
        && !uri.chars().any(char::is_control)
}
