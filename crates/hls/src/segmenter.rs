//! The segmenter: packets in; segment files, the live playlist and
//! (optionally) an archive playlist out, all written atomically.
//!
//! * Segment `N` is `segN.ts`, `N` its media sequence number.
//! * `index.m3u8` is the live sliding window. Segments that leave it are
//!   deleted after a grace period, unless an archive is kept.
//! * With `archive`, `archive.m3u8` lists every segment (EXT-X-PLAYLIST-TYPE
//!   EVENT, ENDLIST when the input ends) and no segment is deleted.
//! * `EXT-X-PROGRAM-DATE-TIME` is anchored to the wall clock at the first
//!   segment and then advances by the stream's own durations, counted in
//!   90 kHz ticks: it never drifts by rounding. It never goes back (after
//!   a discontinuity, a resume) and a live input's stays on the wall clock:
//!   the rule is in [`dates`].
//! * With `iframes`, `iframes.m3u8` (and with the archive
//!   `archive-iframes.m3u8`) lists every intra picture of the video as a
//!   byte range of its segment: the rules are in [`iframes`].
//! * A restart resumes from `index.m3u8`: the media sequence continues and
//!   the first new segment carries a discontinuity.
//! * `EXT-X-TARGETDURATION` is the one the cutter announces from the first
//!   GOP ([`SegmentCutter::announced_target`]), settled before anything is
//!   published (parts wait for it; the live window grows to three of it),
//!   and kept on resume. `EXT-X-INDEPENDENT-SEGMENTS` is claimed only for
//!   audio: a video GOP longer than the target is cut between keyframes.
//!
//! * Files are written (and old ones deleted) in order on a thread of its
//!   own: a state is published as soon as it is made, and the
//!   media not on disk yet goes with it ([`Published::pending_media`]).
//!   [`Segmenter::flush`] waits for the disk; [`Segmenter::finish`] does.
//! * Disk trouble (full, read-only, removed) is waited out: a failed write
//!   is retried, 0.5 s doubling to 8 s, the directory created again, the
//!   last playlist left in place. Meanwhile segments (with parts, from the
//!   next boundary; or past [`MAX_BACKLOG_BYTES`]) are dropped, not listed
//!   ([`Segmenter::segments_dropped`]); the first listed after the gap
//!   follows a discontinuity. Only [`Segmenter::finish`] gives up (after
//!   5 attempts, ~15 s), ending the playlists if it can, and fails.
//!
//! Time is an argument (`now_ms`, wall-clock milliseconds since the epoch):
//! the segmenter reads no clock.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;

use crate::cutter::{Cut, CutNotice, CutterConfig, CutterStats, Part, Segment, SegmentCutter};
use crate::playlist::{MediaPlaylist, PartEntry, PlaylistError, SegmentEntry, Ticks};
use crate::publish::Published;
use crate::store::{DeletionQueue, StoreError};
use crate::ts::{TsError, PACKET_SIZE};
use backlog::Drops;
pub use backlog::MAX_BACKLOG_BYTES;
pub use board::RenditionBoard;
use dates::ProgramDates;
use disk::{DiskWriter, Job};
use rendition::BitRates;
pub use rendition::Rendition;
use resume::{announce, listed_end_ms, open_archive, open_live};

mod backlog;
mod board;
mod breaks;
pub mod dates;
mod disk;
pub mod iframes;
mod keys;
mod outage;
mod publication;
mod rendition;
mod resume;

pub use iframes::{ARCHIVE_IFRAMES_PLAYLIST, IFRAMES_PLAYLIST};
pub use keys::EncryptionConfig;

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
    /// AES-128 encryption of segments and parts (`None`: none).
    pub encryption: Option<EncryptionConfig>,
    /// Write I-frame playlists ([`IFRAMES_PLAYLIST`], and with the archive
    /// [`ARCHIVE_IFRAMES_PLAYLIST`]).
    pub iframes: bool,
    /// Also mark SCTE-35 ad breaks with the de-facto `EXT-X-CUE-OUT`,
    /// `EXT-X-CUE-OUT-CONT` and `EXT-X-CUE-IN` tags (see `breaks.rs`).
    pub cue_tags: bool,
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
    /// `EXT-X-PROGRAM-DATE-TIME` of the segments to come.
    dates: ProgramDates,
    /// SCTE-35 ad breaks in progress (their `EXT-X-DATERANGE` tags).
    breaks: breaks::Breaks,
    /// AES-128 keys, when encrypting.
    keys: Option<keys::Keys>,
    /// The I-frame playlists, when asked for.
    iframes: Option<iframes::IFrames>,
    /// The key of the segment in progress (its parts, its hinted part).
    open_key: Option<crate::playlist::SegmentKey>,
    /// SCTE-35 marks of segments dropped while the disk was behind: the
    /// next segment written carries them.
    carried_marks: Vec<crate::cutter::SpliceMark>,
    /// The next segment continues an earlier run: a discontinuity.
    resumed: bool,
    written: u64,
    /// `EXT-X-DISCONTINUITY` tags written by this run.
    discontinuities: u64,
    disk: DiskWriter,
    /// Media queued for the disk, with its ticket, until the disk has it.
    pending: VecDeque<(u64, String, Bytes)>,
    /// The bytes in `pending`.
    pending_bytes: usize,
    /// Segments dropped while the disk is stalled.
    drops: Drops,
    last_segment: Option<u64>,
    last_part: Option<(u64, u64)>,
    publish: Option<Box<dyn FnMut(Published) + Send>>,
    /// Bit rates of the segments written.
    bit_rates: BitRates,
    /// The channel's renditions, and this one's index among them.
    board: Option<(Arc<RenditionBoard>, usize)>,
    /// The announced target is in the playlists: cuts can be written.
    settled: bool,
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
        let (mut live, resumed) = open_live(&config)?;
        let dates = ProgramDates::after(listed_end_ms(&live));
        let mut archive = open_archive(&config, &live)?;
        let mut cutter = SegmentCutter::new(config.cutter.clone());
        if resumed {
            cutter.fix_target(live.target_duration());
        }
        // Claimed when settled, for audio only (see `announce`).
        live.set_independent_segments(false);
        if let Some(a) = &mut archive {
            a.set_independent_segments(false);
        }
        let disk = DiskWriter::new(config.dir.clone());
        let keys = config
            .encryption
            .clone()
            .map(|e| keys::Keys::new(e, &config.dir, resumed));
        let iframes = iframes::IFrames::open(&config, &live, resumed)?;
        // Breaks open when the earlier run stopped end in their ranges
        // (the archive lists every range; the live one, the recent ones).
        let breaks = breaks::Breaks::resumed(archive.as_ref().unwrap_or(&live));
        Ok(Self {
            cutter,
            deletions: DeletionQueue::new(config.grace_ms),
            config,
            live,
            archive,
            dates,
            breaks,
            keys,
            iframes,
            open_key: None,
            carried_marks: Vec::new(),
            resumed,
            written: 0,
            discontinuities: 0,
            disk,
            pending: VecDeque::new(),
            pending_bytes: 0,
            drops: Drops::default(),
            last_segment: None,
            last_part: None,
            publish: None,
            bit_rates: BitRates::default(),
            board: None,
            settled: false,
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
    /// for the caller's log; a disk that fails is retried (see the module
    /// documentation): only a playlist that cannot be made is an error.
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
    /// A disk that still fails is given up after a few attempts.
    pub fn finish(&mut self, now_ms: u64) -> Result<(), SegmenterError> {
        self.disk.finishing();
        self.cutter.finish();
        self.drain(now_ms)?;
        self.live.end();
        if let Some(a) = &mut self.archive {
            a.end();
        }
        if let Some(i) = &mut self.iframes {
            i.end()?;
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

    /// The next thing the cutter wants the operator told (a raised target,
    /// a GOP longer than it, an open GOP), oldest first.
    pub fn pop_notice(&mut self) -> Option<CutNotice> {
        self.cutter.pop_notice()
    }

    /// `EXT-X-TARGETDURATION` as announced, once settled (see
    /// [`SegmentCutter::announced_target`]).
    pub fn announced_target(&self) -> Option<u32> {
        self.settled.then(|| self.live.target_duration())
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
        let cutter = &self.cutter;
        let streams = cutter.pmt().map_or(&[][..], |p| &p.streams);
        let has_video = streams.iter().any(|s| s.kind().is_video());
        let video = (cutter.video_format(), has_video);
        let audio = (cutter.audio_codec(), cutter.audio_channels());
        let mut r = self.bit_rates.rendition(video, audio)?;
        // Once on disk: a multivariant playlist must not name it before.
        let on_disk = || self.config.dir.join(IFRAMES_PLAYLIST).exists();
        r.iframes = self
            .iframes
            .as_ref()
            .and_then(|i| i.bit_rates())
            .filter(|_| on_disk());
        Some(r)
    }

    /// The live I-frame playlist as last written, when there is one.
    pub fn live_iframes(&self) -> Option<&MediaPlaylist> {
        self.iframes.as_ref().map(|i| i.live())
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

    /// Segments dropped, neither written nor listed, because the disk was
    /// stalled (full, read-only, removed) or too far behind.
    pub fn segments_dropped(&self) -> u64 {
        self.drops.dropped
    }

    /// Old segments that could not be deleted.
    pub fn delete_failures(&self) -> u64 {
        self.disk.delete_failures()
    }

    /// The live playlist as last written.
    pub fn live(&self) -> &MediaPlaylist {
        &self.live
    }

    /// Writes what the cutter finished (nothing until the announced target
    /// is settled: a playlist's target never changes).
    fn drain(&mut self, now_ms: u64) -> Result<(), SegmenterError> {
        if !self.settle_target() {
            return Ok(());
        }
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

    /// Puts the target the cutter announced into the playlists, once, with
    /// `EXT-X-INDEPENDENT-SEGMENTS` for an audio-only stream; the grace
    /// period grows with the window (RFC 8216 §6.2.2). Whether settled.
    fn settle_target(&mut self) -> bool {
        if self.settled {
            return true;
        }
        let Some(target) = self.cutter.announced_target() else {
            return false;
        };
        let audio = self
            .cutter
            .pmt()
            .is_some_and(|p| p.streams.iter().all(|s| !s.kind().is_video()));
        let grace = announce(&mut self.live, self.archive.as_mut(), target, audio);
        if let Some(i) = &mut self.iframes {
            i.announce(self.live.target_duration());
        }
        self.deletions = DeletionQueue::new(self.config.grace_ms.max(grace));
        self.settled = true;
        true
    }

    /// Writes a part and lists it; the playlist is written and published
    /// only if `publish` (else the segment that follows does it).
    fn write_part(&mut self, part: Part, publish: bool) -> Result<(), SegmenterError> {
        if self.drops.dropping {
            return Ok(());
        }
        let seq = self.live.next_sequence().unwrap_or(u64::MAX);
        let k = u64::from(part.index);
        let name = part_name(seq, k);
        let bytes = match &mut self.keys {
            Some(keys) => {
                let (bytes, key) = keys.encrypt(seq, part.bytes)?;
                self.open_key = Some(key.clone());
                self.live
                    .set_open_key(Some(key))
                    .map_err(SegmenterError::Config)?;
                bytes
            }
            None => part.bytes,
        };
        self.write_media(&name, bytes)?;
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

    fn write(&mut self, mut seg: Segment, now_ms: u64) -> Result<(), SegmenterError> {
        let behind = self.disk_behind();
        let parts = self.live.low_latency().is_some();
        if self.drops.segment_completed(behind, parts) {
            self.carried_marks.append(&mut seg.splices);
            return Ok(());
        }
        if !self.carried_marks.is_empty() {
            let mut marks = std::mem::take(&mut self.carried_marks);
            marks.append(&mut seg.splices);
            seg.splices = marks;
        }
        let seq = self.live.next_sequence().unwrap_or(u64::MAX);
        let name = format!("seg{seq}.ts");
        // Before the segment is encrypted: own files take clear bytes.
        let pictures = self
            .iframes
            .as_ref()
            .map(|_| iframes::pictures(&seg, self.keys.is_some()));
        let (table_bytes, seg_duration, next_intra) =
            (seg.table_bytes, seg.duration, seg.next_intra);
        let (bytes, key) = match &mut self.keys {
            Some(keys) => {
                let (bytes, key) = keys.encrypt(seq, seg.bytes)?;
                (bytes, Some(key))
            }
            None => (seg.bytes, None),
        };
        // What a player downloads: the encrypted size (BANDWIDTH from it).
        let size = bytes.len() as u64;
        self.write_media(&name, bytes)?;
        // Both taken, whatever the cutter says (no `||` short cut).
        let after = [std::mem::take(&mut self.resumed), self.drops.end_gap(&name)];
        let discontinuity = seg.discontinuity || after.contains(&true);
        self.discontinuities += u64::from(discontinuity);
        let mut entry = SegmentEntry::new(name, Ticks(seg.duration));
        entry.discontinuity_before = discontinuity;
        let date = self.dates.next(seg.duration, discontinuity, now_ms);
        entry.program_date_time = Some(date);
        let [live_ranges, archive_ranges] = self.breaks.ranges(
            seg.start,
            date,
            &seg.splices,
            [Some(&mut self.live), self.archive.as_mut()],
        );
        entry.dateranges = live_ranges;
        if self.config.cue_tags {
            entry.cues = self.breaks.cues().to_vec();
        }
        entry.key = key;
        entry.bytes = Some(size);
        let pushed = self
            .live
            .push(entry.clone())
            .map_err(SegmenterError::Config)?;
        if self.live.low_latency().is_some() {
            // The hinted first part of the next segment is named with its
            // key (a player may fetch it before the part is listed).
            if let Some(keys) = &mut self.keys {
                let next = keys.tag_for(seq + 1)?;
                self.open_key = Some(next.clone());
                self.live
                    .set_open_key(Some(next))
                    .map_err(SegmenterError::Config)?;
            }
            self.live
                .set_preload_hint(Some(part_name(seq + 1, 0)))
                .map_err(SegmenterError::Config)?;
        }
        let (mut own_files, mut gone) = (Vec::new(), Vec::new());
        if let (Some(iframes), Some(pictures)) = (&mut self.iframes, pictures) {
            let source = iframes::Source {
                name: &entry.uri,
                sequence: seq,
                table_bytes,
                discontinuity,
                date,
                duration: seg_duration,
                next_intra,
            };
            own_files = iframes.add(pictures, &source, self.keys.as_mut())?;
            gone = iframes.follow_window(self.live.media_sequence());
        }
        for (name, bytes) in own_files {
            self.write_media(&name, bytes)?;
        }
        if self.archive.is_none() {
            // Pictures in files of their own leave with their segment.
            for old in gone.iter().filter(|e| e.byte_range.is_none()) {
                self.deletions
                    .schedule(self.config.dir.join(&old.uri), now_ms);
            }
        }
        if let Some(a) = &mut self.archive {
            let mut entry = entry;
            entry.parts.clear();
            entry.dateranges = archive_ranges;
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
        // A key goes with the last listed segment that names it: when the
        // next segment (removed or listed, or the one in progress) names
        // another.
        let Some(keys) = &self.keys else { return };
        let listed = self.live.segments().next().and_then(|s| s.key.as_ref());
        let open = self.live.low_latency().and(self.open_key.as_ref());
        for (i, old) in removed.iter().enumerate() {
            let Some(key) = &old.key else { continue };
            let next = match removed.get(i + 1) {
                Some(n) => n.key.as_ref(),
                None => listed.or(open),
            };
            if next.is_none_or(|n| n.uri != key.uri) {
                if let Some(file) = keys.file_of(&key.uri) {
                    self.deletions.schedule(file.to_path_buf(), now_ms);
                }
            }
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
        self.pending_bytes += bytes.len();
        self.pending.push_back((ticket, name.to_owned(), bytes));
        Ok(())
    }
}

/// The file name of part `k` of segment `seq`.
fn part_name(seq: u64, k: u64) -> String {
    format!("seg{seq}.{k}.ts")
}

#[cfg(test)]
mod tests;
