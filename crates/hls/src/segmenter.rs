//! The segmenter: packets in; segment files, the live playlist and
//! (optionally) an archive playlist out, all written atomically.
//!
//! * Segment `N` is `segN.ts`, `N` its media sequence number.
//! * `index.m3u8` is the live sliding window. Segments that leave it are
//!   deleted after a grace period, unless an archive is kept.
//! * With `archive`, `archive.m3u8` lists every segment (EXT-X-PLAYLIST-TYPE
//!   EVENT, ENDLIST when the input ends) and no segment is deleted.
//! * `EXT-X-PROGRAM-DATE-TIME` is anchored to the wall clock at the first
//!   segment (and after each discontinuity) and then advances by the stream's
//!   own durations, counted in 90 kHz ticks: it never drifts by rounding.
//! * A restart resumes from `index.m3u8`: the media sequence continues and
//!   the first new segment carries a discontinuity.
//!
//! * Files are written (and old ones deleted) in order on a thread of its
//!   own: a state is published as soon as it is made, and the
//!   media not on disk yet goes with it ([`Published::pending_media`]).
//!   [`Segmenter::flush`] waits for the disk; [`Segmenter::finish`] does.
//!
//! Time is an argument (`now_ms`, wall-clock milliseconds since the epoch):
//! the segmenter reads no clock.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;

use crate::cutter::{Cut, CutterConfig, CutterStats, Part, Segment, SegmentCutter};
use crate::playlist::{MediaPlaylist, PartEntry, PlaylistError, SegmentEntry, Ticks, UnixMillis};
use crate::publish::Published;
use crate::store::{DeletionQueue, StoreError};
use crate::ts::{TsError, PACKET_SIZE};
use crate::Timestamp;
pub use board::RenditionBoard;
use disk::{DiskWriter, Job};
use rendition::BitRates;
pub use rendition::Rendition;
use resume::{open_archive, open_live};

mod board;
mod disk;
mod rendition;
mod resume;

/// The live playlist's file name.
pub const LIVE_PLAYLIST: &str = "index.m3u8";
/// The archive playlist's file name.
pub const ARCHIVE_PLAYLIST: &str = "archive.m3u8";

/// What to write where.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmenterConfig {
    /// Directory of segments and playlists.
    pub dir: PathBuf,
    /// Where to cut.
    pub cutter: CutterConfig,
    /// The live window, seconds (at least 3 × the target duration).
    pub window_secs: f64,
    /// How long a segment stays on disk after it left the live window, ms.
    pub grace_ms: u64,
    /// Keep every segment and list them all in `archive.m3u8`.
    pub archive: bool,
}

/// Why the segmenter stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SegmenterError {
    /// The configuration cannot make a valid playlist.
    #[error("{0}")]
    Config(PlaylistError),
    /// The playlist left by an earlier run cannot be resumed.
    #[error("{path}: cannot resume: {error}")]
    Resume {
        /// The playlist.
        path: PathBuf,
        /// What is wrong with it.
        error: String,
    },
    /// The output directory cannot be created.
    #[error("{path}: cannot create the output directory: {error}")]
    Directory {
        /// The directory.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// Writing a segment or playlist failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Turns packets into files. See the module documentation.
pub struct Segmenter {
    config: SegmenterConfig,
    cutter: SegmentCutter,
    live: MediaPlaylist,
    archive: Option<MediaPlaylist>,
    deletions: DeletionQueue,
    /// Wall time of the anchor, and the stream ticks since it.
    anchor: Option<(u64, u64)>,
    /// The next segment continues an earlier run: a discontinuity.
    resumed: bool,
    written: u64,
    /// `EXT-X-DISCONTINUITY` tags written by this run.
    discontinuities: u64,
    disk: DiskWriter,
    /// Media queued for the disk, with its ticket, until the disk has it.
    pending: VecDeque<(u64, String, Bytes)>,
    last_segment: Option<u64>,
    last_part: Option<(u64, u64)>,
    publish: Option<Box<dyn FnMut(Published) + Send>>,
    /// Bit rates of the segments written.
    bit_rates: BitRates,
    /// The channel's renditions, and this one's index among them.
    board: Option<(Arc<RenditionBoard>, usize)>,
}

impl std::fmt::Debug for Segmenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segmenter")
            .field("config", &self.config)
            .field("written", &self.written)
            .field("last_segment", &self.last_segment)
            .field("last_part", &self.last_part)
            .finish_non_exhaustive()
    }
}

impl Segmenter {
    /// A segmenter writing into `config.dir` (created if missing), resuming
    /// the live playlist found there.
    pub fn open(config: SegmenterConfig, _now_ms: u64) -> Result<Self, SegmenterError> {
        std::fs::create_dir_all(&config.dir).map_err(|error| SegmenterError::Directory {
            path: config.dir.clone(),
            error,
        })?;
        let (live, resumed) = open_live(&config)?;
        let archive = open_archive(&config)?;
        let disk = DiskWriter::new(config.dir.clone());
        Ok(Self {
            cutter: SegmentCutter::new(config.cutter.clone()),
            deletions: DeletionQueue::new(config.grace_ms),
            config,
            live,
            archive,
            anchor: None,
            resumed,
            written: 0,
            discontinuities: 0,
            disk,
            pending: VecDeque::new(),
            last_segment: None,
            last_part: None,
            publish: None,
            bit_rates: BitRates::default(),
            board: None,
        })
    }

    /// Calls `f` with the new state after every playlist write (an origin
    /// serving low-latency HLS wakes its blocked reloads from it).
    ///
    /// From then on the files are written on a thread of their own, so
    /// that publication never waits for the disk. An error says that no
    /// thread could be started: the segmenter publishes all the same, the
    /// files are still written in order, and publication waits for them.
    pub fn on_publish(&mut self, f: impl FnMut(Published) + Send + 'static) -> std::io::Result<()> {
        let thread = self.disk.start_thread();
        self.publish = Some(Box::new(f));
        self.publish_state();
        thread
    }

    /// Reports the other renditions on `board` in each low-latency live
    /// playlist (`EXT-X-RENDITION-REPORT`), and posts this one's position
    /// there as rendition `index` after each publication.
    pub fn report_to(&mut self, board: Arc<RenditionBoard>, index: usize) {
        self.board = Some((board, index));
    }

    /// Takes one packet; writes whatever segment it completes. A broken
    /// packet is counted in [`Segmenter::stats`] and returned in `Ok(Err)`
    /// for the caller's log; only IO failures stop the segmenter.
    pub fn push(
        &mut self,
        packet: &[u8; PACKET_SIZE],
        now_ms: u64,
    ) -> Result<Result<(), TsError>, SegmenterError> {
        let taken = self.cutter.push(packet);
        self.drain(now_ms)?;
        Ok(taken)
    }

    /// Ends the stream: the last segment, then ENDLIST in the playlists.
    pub fn finish(&mut self, now_ms: u64) -> Result<(), SegmenterError> {
        self.cutter.finish();
        self.drain(now_ms)?;
        self.live.end();
        if let Some(a) = &mut self.archive {
            a.end();
        }
        self.write_playlists()?;
        self.flush()
    }

    /// Waits until every file written so far is on disk (and old ones due
    /// are deleted); the first write that failed, if any.
    pub fn flush(&mut self) -> Result<(), SegmenterError> {
        self.disk.flush()?;
        Ok(())
    }

    /// The input changed (failover): the next segment starts at the new
    /// input's first keyframe, after a discontinuity (see
    /// [`SegmentCutter::switch_input`]).
    pub fn switch_input(&mut self) {
        self.cutter.switch_input();
    }

    /// Ends the stream when the input was interrupted (a stop signal): the
    /// last frame, possibly incomplete, is dropped, then as [`Segmenter::finish`].
    pub fn finish_interrupted(&mut self, now_ms: u64) -> Result<(), SegmenterError> {
        self.cutter.finish_interrupted();
        self.finish(now_ms)
    }

    /// The input stalled: what was received of the open segment (and its
    /// last part) is written and published now, not when the input
    /// returns (see [`SegmentCutter::close_stalled`]).
    pub fn close_stalled(&mut self, now_ms: u64) -> Result<(), SegmenterError> {
        self.cutter.close_stalled();
        self.drain(now_ms)
    }

    /// The input stalled and resumes (see [`SegmentCutter::note_stall`]).
    pub fn note_stall(&mut self) {
        self.cutter.note_stall();
    }

    /// What the input yielded so far (see [`SegmentCutter::lead_advances`]).
    pub fn lead_advances(&self) -> u64 {
        self.cutter.lead_advances()
    }

    /// What the cutter saw.
    pub fn stats(&self) -> CutterStats {
        self.cutter.stats()
    }

    /// The rendition as measured so far: `None` until a segment was written
    /// and the codecs are known.
    pub fn rendition(&self) -> Option<Rendition> {
        self.bit_rates
            .rendition(self.cutter.video_format(), self.cutter.audio_codec())
    }

    /// The directory of segments and playlists.
    pub fn dir(&self) -> &std::path::Path {
        &self.config.dir
    }

    /// Segments written by this run.
    pub fn segments_written(&self) -> u64 {
        self.written
    }

    /// `EXT-X-DISCONTINUITY` tags written by this run: counted where each
    /// is decided, so this is what the playlists hold (the cutter's
    /// [`CutterStats::discontinuities`] counts timestamp jumps, several of
    /// which may end in one tag; a PMT or input change is a tag and no
    /// jump; a resumed run's first segment is a tag the cutter never saw).
    pub fn discontinuities_written(&self) -> u64 {
        self.discontinuities
    }

    /// Old segments that could not be deleted.
    pub fn delete_failures(&self) -> u64 {
        self.disk.delete_failures()
    }

    /// The live playlist as last written.
    pub fn live(&self) -> &MediaPlaylist {
        &self.live
    }

    /// Writes what the cutter finished.
    fn drain(&mut self, now_ms: u64) -> Result<(), SegmenterError> {
        while let Some(cut) = self.cutter.pop_cut() {
            match cut {
                Cut::Part(p) => {
                    // The last part of a segment is published with the
                    // segment, in one playlist: alone, it would be listed
                    // as a short part that is not last (RFC 8216bis
                    // §4.4.4.9 wants 85 % of PART-TARGET) with a hint to a
                    // part that never comes.
                    let last = matches!(self.cutter.peek_cut(), Some(Cut::Segment(_)));
                    self.write_part(p, !last)?
                }
                Cut::Segment(s) => self.write(s, now_ms)?,
            }
        }
        Ok(())
    }

    /// Writes a part and lists it; the playlist is written and published
    /// only if `publish` (else the segment that follows does it).
    fn write_part(&mut self, part: Part, publish: bool) -> Result<(), SegmenterError> {
        let seq = self.live.next_sequence().unwrap_or(u64::MAX);
        let k = u64::from(part.index);
        let name = part_name(seq, k);
        self.write_media(&name, part.bytes)?;
        let entry = PartEntry {
            uri: name,
            duration: Ticks(part.duration),
            independent: part.independent,
        };
        self.live
            .push_part(entry, Some(part_name(seq, k + 1)))
            .map_err(SegmenterError::Config)?;
        self.last_part = Some((seq, k));
        if publish {
            self.write_playlists()?;
        }
        Ok(())
    }

    fn write(&mut self, seg: Segment, now_ms: u64) -> Result<(), SegmenterError> {
        let seq = self.live.next_sequence().unwrap_or(u64::MAX);
        let name = format!("seg{seq}.ts");
        let size = seg.bytes.len() as u64;
        self.write_media(&name, seg.bytes)?;
        let discontinuity = seg.discontinuity || std::mem::take(&mut self.resumed);
        self.discontinuities += u64::from(discontinuity);
        let mut entry = SegmentEntry::new(name, Ticks(seg.duration));
        entry.discontinuity_before = discontinuity;
        entry.program_date_time = Some(self.date(seg.duration, discontinuity, now_ms));
        entry.bytes = Some(size);
        let pushed = self
            .live
            .push(entry.clone())
            .map_err(SegmenterError::Config)?;
        if self.live.low_latency().is_some() {
            self.live
                .set_preload_hint(Some(part_name(seq + 1, 0)))
                .map_err(SegmenterError::Config)?;
        }
        if let Some(a) = &mut self.archive {
            let mut entry = entry;
            entry.parts.clear();
            let _ = a.push(entry).map_err(SegmenterError::Config)?;
        } else {
            self.schedule_deletions(&pushed.removed, now_ms);
        }
        self.last_segment = Some(seq);
        self.written += 1;
        self.bit_rates.add(size, seg.duration);
        self.write_playlists()?;
        for path in self.deletions.due(now_ms) {
            self.disk.queue(Job::Delete(path))?;
        }
        Ok(())
    }

    /// `EXT-X-PROGRAM-DATE-TIME` of a segment of `duration` ticks completed
    /// at `now_ms`: anchored to the wall clock at the first segment and
    /// after each discontinuity, then advancing by the stream's durations.
    fn date(&mut self, duration: u64, discontinuity: bool, now_ms: u64) -> UnixMillis {
        let (anchor_ms, ticks) = match self.anchor {
            Some(a) if !discontinuity => a,
            // Live input: the segment just completed began its duration ago.
            _ => (now_ms.saturating_sub(ms(duration)), 0),
        };
        self.anchor = Some((anchor_ms, ticks + duration));
        UnixMillis(anchor_ms + ms(ticks))
    }

    /// Schedules the files of segments (and their parts) that left the live
    /// window for deletion after the grace period.
    fn schedule_deletions(&mut self, removed: &[SegmentEntry], now_ms: u64) {
        for old in removed {
            for p in &old.parts {
                self.deletions
                    .schedule(self.config.dir.join(&p.uri), now_ms);
            }
            self.deletions
                .schedule(self.config.dir.join(&old.uri), now_ms);
        }
    }

    /// Queues a part or segment for the disk; until the disk has it, it is
    /// published with the state ([`Published::pending_media`]).
    fn write_media(&mut self, name: &str, bytes: Vec<u8>) -> Result<(), SegmenterError> {
        let bytes = Bytes::from(bytes);
        let ticket = self.disk.queue(Job::Write {
            name: name.to_owned(),
            bytes: bytes.clone(),
        })?;
        self.pending.push_back((ticket, name.to_owned(), bytes));
        Ok(())
    }

    /// Queues the playlists for the disk, after the media they list, and
    /// publishes the state without waiting for the disk.
    fn write_playlists(&mut self) -> Result<(), SegmenterError> {
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
        self.publish_with(live);
        self.post_to_board();
        Ok(())
    }

    fn publish_state(&mut self) {
        // Set before: the board's URIs are valid, and none is read yet.
        let _ = self.read_board();
        let live = self.live.render();
        self.publish_with(live);
    }

    /// Publishes the state with `playlist`, the live playlist as rendered.
    fn publish_with(&mut self, playlist: String) {
        let done = self.disk.done();
        while self.pending.front().is_some_and(|(t, _, _)| *t <= done) {
            self.pending.pop_front();
        }
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

/// The file name of part `k` of segment `seq`.
fn part_name(seq: u64, k: u64) -> String {
    format!("seg{seq}.{k}.ts")
}

/// Milliseconds in `ticks` (90 kHz), rounded.
fn ms(ticks: u64) -> u64 {
    (ticks.saturating_mul(1000) + Timestamp::HZ / 2) / Timestamp::HZ
}

#[cfg(test)]
mod tests;
