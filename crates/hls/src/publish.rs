//! What a segmenter publishes after each playlist write: the live
//! playlist as rendered, where the stream stands (last segment and part)
//! and the media not on disk yet. The built-in origin (feature `origin`)
//! serves from it; any other consumer can take it from
//! [`Segmenter::on_publish`](crate::segmenter::Segmenter::on_publish).

use bytes::Bytes;

/// What the segmenter last wrote, as the origin serves it.
#[derive(Debug, Clone, Default)]
pub struct Published {
    /// The live media playlist, full text (with `EXT-X-PART` /
    /// `EXT-X-PRELOAD-HINT` lines when low latency is on).
    pub playlist: String,
    /// The delta update (with `EXT-X-SKIP`) for `_HLS_skip=YES`, when the
    /// playlist allows skipping (`CAN-SKIP-UNTIL`); `None` otherwise.
    pub delta: Option<String>,
    /// Media sequence number of the last complete segment, if any.
    pub last_segment: Option<u64>,
    /// The last complete part: (media sequence number of the segment it
    /// belongs to, part index from 0), if low latency is on and any exists.
    /// Parts per segment are not fixed: the part after `(m, i)` is
    /// `(m, i + 1)` while segment `m` is open, else `(m + 1, 0)`.
    pub last_part: Option<(u64, u64)>,
    /// The input ended: no more segments will come (held requests are
    /// answered at once).
    pub ended: bool,
    /// `EXT-X-TARGETDURATION`, seconds.
    pub target_duration: u32,
    /// Parts and segments listed (or about to be) but perhaps not on disk
    /// yet, by file name: the segmenter publishes without waiting for its
    /// disk writes, and the origin serves these from memory.
    pub pending_media: Vec<(String, Bytes)>,
}
