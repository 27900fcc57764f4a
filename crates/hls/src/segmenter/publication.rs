//! Publication: the playlists queued for the disk after the media they
//! list, the state handed to the origin without waiting for the disk, and
//! the renditions' board read before and posted after.

use bytes::Bytes;

use super::disk::Job;
use super::{Segmenter, SegmenterError, ARCHIVE_PLAYLIST, LIVE_PLAYLIST};
use crate::publish::Published;

impl Segmenter {
    /// Queues the playlists for the disk, after the media they list, and
    /// publishes the state without waiting for the disk.
    pub(super) fn write_playlists(&mut self) -> Result<(), SegmenterError> {
        self.read_board()?;
        let live = self.live.render();
        self.disk.queue(Job::Write {
            name: LIVE_PLAYLIST.to_owned(),
            bytes: Bytes::from(live.clone()),
        })?;
        if let Some(a) = &self.archive {
            self.disk.queue(Job::Write {
                name: ARCHIVE_PLAYLIST.to_owned(),
                bytes: Bytes::from(a.render()),
            })?;
        }
        // Only when a segment changed them (not for each part).
        let iframes = self.iframes.as_mut().map(|i| i.render_changed());
        for (name, text) in iframes.into_iter().flatten() {
            self.disk.queue(Job::Write {
                name: name.to_owned(),
                bytes: Bytes::from(text),
            })?;
        }
        self.publish_with(live);
        self.post_to_board();
        Ok(())
    }

    pub(super) fn publish_state(&mut self) {
        // Set before: the board's URIs are valid, and none is read yet.
        let _ = self.read_board();
        // Until the target is settled, nothing (the origin answers 404):
        // a playlist's header never changes.
        let live = match self.settled || self.live.segments().next().is_some() {
            true => self.live.render(),
            false => String::new(),
        };
        self.publish_with(live);
    }

    /// Publishes the state with `playlist`, the live playlist as rendered.
    fn publish_with(&mut self, playlist: String) {
        self.forget_written();
        let state = match &self.publish {
            Some(_) => Published {
                playlist,
                pending_media: self
                    .pending
                    .iter()
                    .map(|(_, name, bytes)| (name.clone(), bytes.clone()))
                    .collect(),
                delta: self.live.render_delta(),
                last_segment: self.last_segment,
                last_part: self.last_part,
                ended: self.live.is_ended(),
                target_duration: self.live.target_duration(),
            },
            None => return,
        };
        if let Some(f) = &mut self.publish {
            f(state);
        }
    }

    /// The other renditions' positions into the live playlist's reports.
    fn read_board(&mut self) -> Result<(), SegmenterError> {
        match &self.board {
            Some((board, index)) if self.live.low_latency().is_some() => self
                .live
                .set_rendition_reports(board.reports_for(*index))
                .map_err(SegmenterError::Config),
            _ => Ok(()),
        }
    }

    /// This rendition's last part (or segment) onto the board, once
    /// published.
    fn post_to_board(&self) {
        let Some((board, index)) = &self.board else {
            return;
        };
        let position = match (self.last_part, self.last_segment) {
            (Some((msn, part)), _) => (msn, Some(part)),
            (None, Some(msn)) => (msn, None),
            (None, None) => return,
        };
        board.post(*index, position);
    }
}
