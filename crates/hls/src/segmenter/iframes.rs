//! I-frame playlists (`--iframes`, RFC 8216 §4.3.3.6): [`IFRAMES_PLAYLIST`]
//! lists the intra pictures of the live playlist's segments and, when an
//! archive is kept, [`ARCHIVE_IFRAMES_PLAYLIST`] those of every segment.
//! A player uses them for trick play (fast forward, scrubbing thumbnails).
//!
//! * Each entry is one intra picture (H.264 IDR; HEVC IDR, CRA, BLA) as
//!   the cutter found it ([`Segment::iframes`]): `EXT-X-BYTERANGE` of its
//!   packets in its segment file, from its PES start to the next video PES
//!   start, and `EXT-X-MAP` naming the segment's PAT and PMT (its first
//!   [`Segment::table_bytes`]). RFC 8216 says an I-frame's range MUST NOT
//!   include its Media Initialization Section: a player fetches the map
//!   (once per segment file) and then the range, which together are a
//!   transport stream of one picture. `EXT-X-VERSION:5` (the map).
//! * Encrypted segments cannot be cut in ranges: AES-128 CBC restarts at
//!   each Media Segment (RFC 8216 §4.3.2.4) and an I-frame entry is a
//!   Media Segment of its own, but a segment file is one CBC chain. With
//!   `--encrypt`, each intra picture is therefore a file of its own,
//!   `seg{N}.i{K}.ts` (the PAT, the PMT, its packets), encrypted with its
//!   segment's key and an IV no segment uses (2^127 + N·2^32 + K; segments
//!   use N < 2^64).
//! * `EXTINF` runs to the next intra picture of the segment, the last one's
//!   to the segment's end. Each entry carries its
//!   `EXT-X-PROGRAM-DATE-TIME` (its segment's, plus its offset): a player
//!   maps it onto the media playlist's timeline even past a segment
//!   without an intra picture (a GOP longer than the target cut between
//!   keyframes), which has no entry; such a segment's discontinuity goes
//!   to the next entry.
//! * The live one lists the pictures of the live playlist's segments: they
//!   leave it with their segment (and with their files, when they have
//!   their own). Both resume with the media playlists, and end with them.
//! * The multivariant playlist lists it with `EXT-X-I-FRAME-STREAM-INF`:
//!   `BANDWIDTH` is the peak bit rate of any run of entries lasting 0.5 to
//!   1.5 target durations (RFC 8216 §4.3.4.2's peak segment bit rate),
//!   each entry counting what a player fetches for it (range and map, or
//!   its file).
//! * No video, no entries: an audio-only stream's I-frame playlist stays
//!   empty and is not listed.

use std::collections::VecDeque;

use super::keys::Keys;
use super::resume::resume;
use super::{SegmenterConfig, SegmenterError};
use crate::cutter::Segment;
use crate::playlist::{
    ByteRange, InitSection, MediaPlaylist, PlaylistType, SegmentEntry, SegmentKey, Ticks,
    UnixMillis,
};
use crate::store::StoreError;
use crate::Timestamp;

/// The live I-frame playlist's file name.
pub const IFRAMES_PLAYLIST: &str = "iframes.m3u8";
/// The archive I-frame playlist's file name.
pub const ARCHIVE_IFRAMES_PLAYLIST: &str = "archive-iframes.m3u8";

/// One intra picture of a segment on its way to the playlists: its range,
/// its duration, and (encrypting) the clear bytes of its own file.
#[derive(Debug)]
pub(super) struct Picture {
    range: ByteRange,
    ticks: u64,
    /// Ticks from the segment's start to its presentation.
    from_start: u64,
    own_file: Option<Vec<u8>>,
}

/// The intra pictures of `seg`, with the bytes of their own files when
/// `own_files` (encrypted segments).
pub(super) fn pictures(seg: &Segment, own_files: bool) -> Vec<Picture> {
    seg.iframe_durations()
        .map(|(f, ticks)| {
            let own_file = own_files.then(|| {
                let mut bytes = Vec::with_capacity(seg.table_bytes + f.length);
                bytes.extend_from_slice(&seg.bytes[..seg.table_bytes]);
                bytes.extend_from_slice(&seg.bytes[f.offset..f.offset + f.length]);
                bytes
            });
            Picture {
                range: ByteRange {
                    length: f.length as u64,
                    offset: f.offset as u64,
                },
                ticks,
                from_start: f.pts.ticks_since(seg.start).min(seg.duration),
                own_file,
            }
        })
        .collect()
}

/// The segment the pictures come from, as listed.
#[derive(Debug)]
pub(super) struct Source<'a> {
    /// Its file name.
    pub(super) name: &'a str,
    /// Its media sequence number.
    pub(super) sequence: u64,
    /// Its PAT and PMT bytes at the start of its file.
    pub(super) table_bytes: usize,
    /// A discontinuity precedes it.
    pub(super) discontinuity: bool,
    /// Its `EXT-X-PROGRAM-DATE-TIME`.
    pub(super) date: UnixMillis,
}

/// The I-frame playlists of a segmenter.
#[derive(Debug)]
pub(super) struct IFrames {
    live: MediaPlaylist,
    archive: Option<MediaPlaylist>,
    /// A discontinuity before segments without intra pictures: the next
    /// entry carries it.
    carried_discontinuity: bool,
    /// Changed since last rendered.
    dirty: bool,
    rates: Rates,
}

impl IFrames {
    /// The I-frame playlists when `config` asks for them: resumed beside a
    /// resumed `live` playlist (their entries of segments it no longer
    /// lists dropped), else new.
    pub(super) fn open(
        config: &SegmenterConfig,
        live: &MediaPlaylist,
        resumed: bool,
    ) -> Result<Option<IFrames>, SegmenterError> {
        if !config.iframes {
            return Ok(None);
        }
        let target = live.target_duration();
        let open = |name: &str, kind: PlaylistType| -> Result<MediaPlaylist, SegmenterError> {
            let path = config.dir.join(name);
            let found = if resumed { resume(&path)? } else { None };
            match found {
                Some(p) if !p.is_iframes_only() || p.target_duration() != target => {
                    Err(SegmenterError::Resume {
                        path,
                        error: format!(
                            "not an I-frame playlist with the live playlist's EXT-X-TARGETDURATION {target} (use another directory)"
                        ),
                    })
                }
                Some(p) => Ok(p),
                None => MediaPlaylist::iframes(kind, target).map_err(SegmenterError::Config),
            }
        };
        let mut live_iframes = open(IFRAMES_PLAYLIST, PlaylistType::Live)?;
        let first = live.media_sequence();
        let _ =
            live_iframes.remove_front_while(|e| segment_number(&e.uri).is_none_or(|n| n < first));
        let archive = match config.archive {
            true => Some(open(ARCHIVE_IFRAMES_PLAYLIST, PlaylistType::Event)?),
            false => None,
        };
        Ok(Some(IFrames {
            live: live_iframes,
            archive,
            carried_discontinuity: false,
            dirty: true,
            rates: Rates::default(),
        }))
    }

    /// Announces the media playlists' target (nothing listed yet).
    pub(super) fn announce(&mut self, target: u32) {
        for p in std::iter::once(&mut self.live).chain(self.archive.as_mut()) {
            p.announce_target(target);
        }
        self.rates.target = Ticks::from_secs(self.live.target_duration()).0;
    }

    /// Lists the `pictures` of segment `source`, encrypting their own files
    /// with `keys` (when given); the files to write, by name.
    pub(super) fn add(
        &mut self,
        pictures: Vec<Picture>,
        source: &Source<'_>,
        mut keys: Option<&mut Keys>,
    ) -> Result<Vec<(String, Vec<u8>)>, SegmenterError> {
        self.carried_discontinuity |= source.discontinuity;
        let mut files = Vec::new();
        for (k, picture) in pictures.into_iter().enumerate() {
            let mut entry = SegmentEntry::new(source.name, Ticks(picture.ticks));
            entry.discontinuity_before = std::mem::take(&mut self.carried_discontinuity);
            entry.program_date_time = Some(UnixMillis(
                source.date.0 + Ticks(picture.from_start).rounded_millis(),
            ));
            let fetched = match (picture.own_file, keys.as_deref_mut()) {
                (Some(clear), Some(keys)) => {
                    let name = format!("seg{}.i{k}.ts", source.sequence);
                    let iv = (1u128 << 127) | (u128::from(source.sequence) << 32) | k as u128;
                    let (bytes, key): (Vec<u8>, SegmentKey) = keys
                        .encrypt_with_iv(source.sequence, iv, clear)
                        .map_err(|e: StoreError| SegmenterError::Store(e))?;
                    entry.uri.clone_from(&name);
                    entry.key = Some(key);
                    let size = bytes.len() as u64;
                    files.push((name, bytes));
                    size
                }
                _ => {
                    let map = ByteRange {
                        length: source.table_bytes as u64,
                        offset: 0,
                    };
                    entry.byte_range = Some(picture.range);
                    entry.map = Some(InitSection {
                        uri: source.name.to_owned(),
                        range: map,
                    });
                    picture.range.length + map.length
                }
            };
            self.rates.add(fetched, picture.ticks);
            for p in std::iter::once(&mut self.live).chain(self.archive.as_mut()) {
                let _ = p.push(entry.clone()).map_err(SegmenterError::Config)?;
            }
            self.dirty = true;
        }
        Ok(files)
    }

    /// Drops the live playlist's entries of segments before `first` (the
    /// live media playlist's first); those removed.
    pub(super) fn follow_window(&mut self, first: u64) -> Vec<SegmentEntry> {
        let removed = self
            .live
            .remove_front_while(|e| segment_number(&e.uri).is_none_or(|n| n < first));
        self.dirty |= !removed.is_empty();
        removed
    }

    /// The stream ended: `EXT-X-ENDLIST` in both.
    pub(super) fn end(&mut self) {
        self.live.end();
        if let Some(a) = &mut self.archive {
            a.end();
        }
        self.dirty = true;
    }

    /// The playlists to write, by file name, if they changed since the
    /// last call.
    pub(super) fn render_changed(&mut self) -> Vec<(&'static str, String)> {
        if !std::mem::take(&mut self.dirty) {
            return Vec::new();
        }
        let mut out = vec![(IFRAMES_PLAYLIST, self.live.render())];
        if let Some(a) = &self.archive {
            out.push((ARCHIVE_IFRAMES_PLAYLIST, a.render()));
        }
        out
    }

    /// `BANDWIDTH` and `AVERAGE-BANDWIDTH` of the I-frame stream, once an
    /// entry was listed.
    pub(super) fn bit_rates(&self) -> Option<(u64, u64)> {
        self.rates.measure()
    }

    /// The live I-frame playlist.
    pub(super) fn live(&self) -> &MediaPlaylist {
        &self.live
    }
}

/// The segment sequence number in a file name the segmenter gave
/// (`seg{N}.ts`, `seg{N}.i{K}.ts`).
fn segment_number(uri: &str) -> Option<u64> {
    let rest = uri.strip_prefix("seg")?;
    let digits = rest.split('.').next()?;
    digits.parse().ok()
}

/// The I-frame stream's bit rates: the peak over runs of entries lasting
/// 0.5 to 1.5 target durations, and the average.
#[derive(Debug, Default)]
struct Rates {
    /// The target duration, ticks.
    target: u64,
    /// The latest entries (bits, ticks), as long as a run ending at the
    /// newest may still hold them.
    recent: VecDeque<(u128, u64)>,
    recent_ticks: u64,
    peak: u64,
    total_bits: u128,
    total_ticks: u128,
}

impl Rates {
    fn add(&mut self, bytes: u64, ticks: u64) {
        if ticks == 0 {
            return;
        }
        let bits = u128::from(bytes) * 8;
        self.total_bits += bits;
        self.total_ticks += u128::from(ticks);
        let (low, high) = (self.target / 2, self.target.saturating_mul(3) / 2);
        self.recent.push_back((bits, ticks));
        self.recent_ticks += ticks;
        while let Some(&(_, t)) = self.recent.front() {
            if self.recent_ticks - t <= high {
                break;
            }
            self.recent_ticks -= t;
            self.recent.pop_front();
        }
        let (mut run_bits, mut run_ticks) = (0u128, 0u64);
        for &(b, t) in self.recent.iter().rev() {
            run_bits += b;
            run_ticks += t;
            if run_ticks > high {
                break;
            }
            if run_ticks >= low {
                let bps = run_bits * u128::from(Timestamp::HZ) / u128::from(run_ticks);
                self.peak = self.peak.max(u64::try_from(bps).unwrap_or(u64::MAX));
            }
        }
    }

    /// (peak, average) bits/s; the peak is the average while no run lasted
    /// half a target duration.
    fn measure(&self) -> Option<(u64, u64)> {
        if self.total_ticks == 0 {
            return None;
        }
        let average = self.total_bits * u128::from(Timestamp::HZ) / self.total_ticks;
        let average = u64::try_from(average).unwrap_or(u64::MAX);
        Some((if self.peak == 0 { average } else { self.peak }, average))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_numbers_come_from_our_names() {
        assert_eq!(segment_number("seg12.ts"), Some(12));
        assert_eq!(segment_number("seg12.i3.ts"), Some(12));
        assert_eq!(segment_number("other.ts"), None);
    }

    #[test]
    fn the_peak_is_over_runs_of_half_to_one_and_a_half_targets() {
        let mut rates = Rates {
            target: 90_000 * 4,
            ..Rates::default()
        };
        // A picture of 1 s, then one of 0.04 s: alone it would read 25×
        // its size per second, but no run that short counts.
        rates.add(10_000, 90_000);
        assert_eq!(rates.measure(), Some((80_000, 80_000)));
        rates.add(10_000, 3_600);
        let (peak, average) = rates.measure().expect("measured");
        assert_eq!(average, 20_000 * 8 * 90_000 / 93_600);
        // 1.04 s < 2 s: still no run of half a target, the average it is.
        assert_eq!(peak, average);
        rates.add(40_000, 180_000);
        // Runs from 2 s (the last alone: 160 kbit/s) to 3.04 s: the last
        // two, 50 000 bytes in 2.04 s, peak.
        assert_eq!(rates.measure().map(|m| m.0), Some(196_078));
    }
}
