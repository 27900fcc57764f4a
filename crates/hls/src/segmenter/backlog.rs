//! The media waiting for the disk, and when there is too much of it: while
//! the disk is stalled (a write failing and retried) or more than
//! [`MAX_BACKLOG_BYTES`] wait, the segments that follow are dropped rather
//! than kept in memory (see the [segmenter](super) documentation).

use super::Segmenter;

/// Media waiting for a stalled disk beyond which the segments that follow
/// are dropped (64 MiB: minutes of a typical live rendition, and memory
/// bounded whatever the outage lasts).
pub const MAX_BACKLOG_BYTES: usize = 64 << 20;

/// The segments dropped while the disk is stalled.
#[derive(Debug, Default)]
pub(super) struct Drops {
    /// The segment being cut is dropped (decided at its start).
    pub(super) dropping: bool,
    /// Segments dropped so far.
    pub(super) dropped: u64,
    /// Segments dropped since the last one listed: the next one listed
    /// follows a discontinuity.
    pub(super) gap: u64,
}

impl Drops {
    /// A segment is complete, the disk `behind` or not: whether to drop
    /// it. With `parts` listed as it was cut, the decision was made at its
    /// start (its parts were listed, or not, by it) and `behind` decides
    /// for the next one; without, `behind` decides for this one at once.
    pub(super) fn segment_completed(&mut self, behind: bool, parts: bool) -> bool {
        let was_dropping = std::mem::replace(&mut self.dropping, behind);
        let drop = if parts { was_dropping } else { behind };
        if drop {
            self.dropped += 1;
            self.gap += 1;
        }
        drop
    }

    /// Segment `uri` is listed: whether it follows a gap (then a
    /// discontinuity, and a line on standard error says how many were
    /// dropped).
    pub(super) fn end_gap(&mut self, uri: &str) -> bool {
        let dropped = std::mem::take(&mut self.gap);
        if dropped > 0 {
            eprintln!(
                "segment: {dropped} segment(s) dropped while the disk was stalled \
                 ({} in all); {uri} follows a discontinuity",
                self.dropped
            );
        }
        dropped > 0
    }
}

impl Segmenter {
    /// Whether the disk is stalled or too far behind to take more media:
    /// the next segment is dropped then.
    pub(super) fn disk_behind(&mut self) -> bool {
        self.forget_written();
        self.disk.stalled() || self.pending_bytes > MAX_BACKLOG_BYTES
    }

    /// Lets go of the media the disk has.
    pub(super) fn forget_written(&mut self) {
        let done = self.disk.done();
        while self.pending.front().is_some_and(|(t, _, _)| *t <= done) {
            if let Some((_, _, bytes)) = self.pending.pop_front() {
                self.pending_bytes -= bytes.len();
            }
        }
    }
}
