//! Low-latency HLS on a live media playlist (RFC 8216bis): the part
//! target, the parts of the segment in progress, the preload hint and the
//! skip boundary of delta updates.

use super::{
    excerpt, is_valid_uri, MediaPlaylist, PartEntry, PlaylistError, PlaylistType, RenditionReport,
    SegmentKey, Ticks,
};

/// Low-latency settings of a live playlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LowLatency {
    /// `PART-TARGET`: no part is longer.
    pub part_target: Ticks,
    /// Parts listed so far for the segment in progress.
    pub(super) open_parts: Vec<PartEntry>,
    /// The key of the segment in progress, written before its parts.
    pub(super) open_key: Option<SegmentKey>,
    /// `EXT-X-PRELOAD-HINT`: the URI of the next part.
    pub(super) preload_hint: Option<String>,
    /// `EXT-X-RENDITION-REPORT`s of the other renditions.
    pub(super) rendition_reports: Vec<RenditionReport>,
}

/// Complete segments whose parts stay listed (besides the segment in
/// progress): RFC 8216bis §6.2.2 asks for parts within three target
/// durations of the end; two segments of parts plus the open one cover the
/// part hold-back of three part targets with room to spare.
pub(super) const SEGMENTS_WITH_PARTS: usize = 2;

impl MediaPlaylist {
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
            open_key: None,
            preload_hint: None,
            rendition_reports: Vec::new(),
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

    /// The key the parts of the segment in progress are encrypted with
    /// (written before them; `None`: not encrypted).
    pub fn set_open_key(&mut self, key: Option<SegmentKey>) -> Result<(), PlaylistError> {
        let Some(ll) = &mut self.low_latency else {
            return Err(PlaylistError::NotLowLatency);
        };
        ll.open_key = key;
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
}
