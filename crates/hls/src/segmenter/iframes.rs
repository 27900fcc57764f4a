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
//! * `EXTINF` runs to the next intra picture (RFC 8216 §4.3.3.6): when
//!   the next segment opens with one (a segment cut at a keyframe, the
//!   usual case) a segment's last picture lasts to its end and is listed
//!   with it; otherwise (before a forced cut, after a stall) it waits for
//!   the next picture, wherever it is, but lasts at most the target
//!   duration (an `EXTINF` may not round above it): only a GOP longer
//!   than the target leaves time no entry covers. It never lasts across a
//!   discontinuity. Each entry carries its `EXT-X-PROGRAM-DATE-TIME` (its
//!   segment's, plus its offset), so a player maps it onto the media
//!   playlist's timeline in every case. A discontinuity before segments
//!   without a picture goes to the next entry (two of them in a row
//!   become one).
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
    /// Its duration, ticks.
    pub(super) duration: u64,
    /// The next segment opens with an intra picture (or none follows).
    pub(super) next_intra: bool,
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
    /// The last picture listed so far, while its duration is not known
    /// (the next segment may not open with a picture).
    held: Option<Held>,
    rates: Rates,
}

impl IFrames {
    /// The I-frame playlists when `config` asks for them (removing a live
    /// one an earlier run left when it does not: it would name segments
    /// that are deleted). Beside a resumed `live` playlist they are
    /// resumed; the live one starts anew (its sequence numbers going on)
    /// when it does not match what comes: pictures of the other kind
    /// (`--encrypt` changed), segments the live playlist never listed, or
    /// a discontinuity count that is not the live playlist's (a run without
    /// `--iframes` in between). A new one counts the live playlist's
    /// discontinuities, so matching content has matching numbers.
    pub(super) fn open(
        config: &SegmenterConfig,
        live: &MediaPlaylist,
        resumed: bool,
    ) -> Result<Option<IFrames>, SegmenterError> {
        if !config.iframes {
            match std::fs::remove_file(config.dir.join(IFRAMES_PLAYLIST)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(SegmenterError::Resume {
                        path: config.dir.join(IFRAMES_PLAYLIST),
                        error: format!("an earlier run's I-frame playlist cannot be removed: {e}"),
                    })
                }
                _ => return Ok(None),
            }
        }
        let target = live.target_duration();
        let ranges = config.encryption.is_none();
        let open = |name: &str| -> Result<Option<MediaPlaylist>, SegmenterError> {
            let path = config.dir.join(name);
            let found = if resumed { resume(&path)? } else { None };
            let refuse = |error: String| {
                Err(SegmenterError::Resume {
                    path: path.clone(),
                    error,
                })
            };
            match found {
                Some(p) if !p.is_iframes_only() || p.target_duration() != target => refuse(format!(
                    "not an I-frame playlist with the live playlist's EXT-X-TARGETDURATION {target} (use another directory)"
                )),
                Some(p) if name == ARCHIVE_IFRAMES_PLAYLIST && !same_kind(&p, ranges) => refuse(
                    "it lists pictures of the other kind (byte ranges without --encrypt, files of their own with it): --encrypt cannot change for an archive (use another directory)".to_owned(),
                ),
                found => Ok(found),
            }
        };
        let first = live.media_sequence();
        let next = live.next_sequence().unwrap_or(u64::MAX);
        let numbered = discontinuities(live);
        let live_iframes = match open(IFRAMES_PLAYLIST)? {
            Some(mut p) => {
                let _ = p.remove_front_while(|e| segment_number(&e.uri).is_none_or(|n| n < first));
                let beyond = p
                    .segments()
                    .any(|e| segment_number(&e.uri).is_none_or(|n| n >= next));
                match !beyond && same_kind(&p, ranges) && discontinuities(&p) == numbered {
                    true => p,
                    false => {
                        let sequence = p.next_sequence().unwrap_or(u64::MAX);
                        let at = numbered.max(discontinuities(&p));
                        fresh(PlaylistType::Live, target, sequence, at)?
                    }
                }
            }
            None => fresh(PlaylistType::Live, target, 0, numbered)?,
        };
        let archive = match config.archive {
            true => Some(match open(ARCHIVE_IFRAMES_PLAYLIST)? {
                Some(p) => p,
                None => MediaPlaylist::iframes(PlaylistType::Event, target)
                    .map_err(SegmenterError::Config)?,
            }),
            false => None,
        };
        Ok(Some(IFrames {
            live: live_iframes,
            archive,
            carried_discontinuity: false,
            dirty: true,
            held: None,
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
    /// with `keys` (when given); the files to write, by name. The last
    /// picture waits when the next segment may not open with one (it lasts
    /// until the next picture, up to the target duration).
    pub(super) fn add(
        &mut self,
        pictures: Vec<Picture>,
        source: &Source<'_>,
        mut keys: Option<&mut Keys>,
    ) -> Result<Vec<(String, Vec<u8>)>, SegmenterError> {
        if let Some(mut held) = self.held.take() {
            // Not across a timeline break: it ends with its timeline.
            if !source.discontinuity {
                let to = pictures.first().map_or(source.duration, |p| p.from_start);
                held.ticks = (held.ticks + to).min(self.rates.target.max(held.ticks));
            }
            let full = held.ticks >= self.rates.target;
            match pictures.is_empty() && !full && !source.discontinuity {
                true => self.held = Some(held),
                false => self.list(held)?,
            }
        }
        self.carried_discontinuity |= source.discontinuity;
        let mut files = Vec::new();
        let last = pictures.len().saturating_sub(1);
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
            let held = Held {
                entry,
                fetched,
                ticks: picture.ticks,
            };
            match k == last && !source.next_intra {
                true => self.held = Some(held),
                false => self.list(held)?,
            }
        }
        Ok(files)
    }

    /// Lists a picture in both playlists with its final duration.
    fn list(&mut self, held: Held) -> Result<(), SegmenterError> {
        let Held {
            mut entry,
            fetched,
            ticks,
        } = held;
        entry.duration = Ticks(ticks);
        self.rates.add(fetched, ticks);
        for p in std::iter::once(&mut self.live).chain(self.archive.as_mut()) {
            let _ = p.push(entry.clone()).map_err(SegmenterError::Config)?;
        }
        self.dirty = true;
        Ok(())
    }

    /// Drops the live playlist's entries of segments before `first` (the
    /// live media playlist's first), and a waiting picture of one; those
    /// removed.
    pub(super) fn follow_window(&mut self, first: u64) -> Vec<SegmentEntry> {
        let gone = |e: &SegmentEntry| segment_number(&e.uri).is_none_or(|n| n < first);
        let mut removed = self.live.remove_front_while(gone);
        if self.held.as_ref().is_some_and(|h| gone(&h.entry)) {
            removed.extend(self.held.take().map(|h| h.entry));
        }
        self.dirty |= !removed.is_empty();
        removed
    }

    /// The stream ended: the waiting picture listed, `EXT-X-ENDLIST` in
    /// both.
    pub(super) fn end(&mut self) -> Result<(), SegmenterError> {
        if let Some(held) = self.held.take() {
            self.list(held)?;
        }
        self.live.end();
        if let Some(a) = &mut self.archive {
            a.end();
        }
        self.dirty = true;
        Ok(())
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

/// A picture's entry before it is listed, what a player fetches for it,
/// and its duration so far.
#[derive(Debug)]
struct Held {
    entry: SegmentEntry,
    fetched: u64,
    ticks: u64,
}

/// A new I-frame playlist of `kind` whose first entry will have media
/// sequence number `sequence` and follow `discontinuities` discontinuities.
fn fresh(
    kind: PlaylistType,
    target: u32,
    sequence: u64,
    discontinuities: u64,
) -> Result<MediaPlaylist, SegmenterError> {
    let mut p = MediaPlaylist::iframes(kind, target).map_err(SegmenterError::Config)?;
    p.set_sequences(sequence, discontinuities);
    Ok(p)
}

/// The discontinuity number at the end of `p`: its sequence plus those
/// it lists.
fn discontinuities(p: &MediaPlaylist) -> u64 {
    let listed = p.segments().filter(|e| e.discontinuity_before).count() as u64;
    p.discontinuity_sequence().saturating_add(listed)
}

/// Whether `p` lists only byte ranges (`ranges`) or only files of their
/// own.
fn same_kind(p: &MediaPlaylist, ranges: bool) -> bool {
    p.segments().all(|e| e.byte_range.is_some() == ranges)
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

    const S: u64 = 90_000;

    fn picture(offset: u64, from_start: u64, ticks: u64) -> Picture {
        Picture {
            range: ByteRange {
                length: 188,
                offset,
            },
            ticks,
            from_start,
            own_file: None,
        }
    }

    fn source(name: &str, duration: u64, next_intra: bool) -> Source<'_> {
        Source {
            name,
            sequence: segment_number(name).unwrap_or(0),
            table_bytes: 376,
            discontinuity: false,
            date: UnixMillis(1_000_000),
            duration,
            next_intra,
        }
    }

    /// I-frame playlists in `dir`, without archive or encryption.
    fn config(dir: &std::path::Path) -> SegmenterConfig {
        SegmenterConfig {
            dir: dir.to_path_buf(),
            cutter: crate::cutter::CutterConfig::default(),
            window_secs: 18.0,
            grace_ms: 0,
            archive: false,
            encryption: None,
            iframes: true,
            cue_tags: false,
        }
    }

    fn iframes(dir: &std::path::Path) -> IFrames {
        let config = config(dir);
        let live = MediaPlaylist::live(6, Ticks(18 * S)).expect("valid");
        let mut i = IFrames::open(&config, &live, false)
            .expect("opens")
            .expect("asked for");
        i.announce(6);
        i
    }

    /// Before a forced cut the last picture waits: it lasts across the
    /// segment without a picture to the next one, capped at the target
    /// duration; a segment cut at a keyframe lists its pictures at once.
    #[test]
    fn a_picture_lasts_until_the_next_one_up_to_the_target() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut i = iframes(dir.path());
        let durations =
            |i: &IFrames| -> Vec<u64> { i.live.segments().map(|e| e.duration.0 / 9_000).collect() };
        // seg0: pictures at 0 and 2 s, 4 s long, the next cut forced.
        let pictures = vec![picture(376, 0, 2 * S), picture(9_400, 2 * S, 2 * S)];
        let _ = i.add(pictures, &source("seg0.ts", 4 * S, false), None);
        assert_eq!(durations(&i), [20], "the last one waits");
        // seg1: no picture, 1 s; seg2: a picture 0.5 s in.
        let _ = i.add(Vec::new(), &source("seg1.ts", S, false), None);
        assert_eq!(durations(&i), [20]);
        let _ = i.add(
            vec![picture(1_128, S / 2, S)],
            &source("seg2.ts", 3 * S / 2, true),
            None,
        );
        // 2 s + 1 s + 0.5 s, then the new one listed at once.
        assert_eq!(durations(&i), [20, 35, 10]);
        // A long GOP: capped at the target (6 s), listed when reached.
        let _ = i.add(
            vec![picture(376, 0, 4 * S)],
            &source("seg3.ts", 4 * S, false),
            None,
        );
        let _ = i.add(Vec::new(), &source("seg4.ts", 4 * S, false), None);
        assert_eq!(durations(&i), [20, 35, 10, 60]);
        // A discontinuity ends the wait where the picture's timeline ends.
        let _ = i.add(
            vec![picture(376, 0, 3 * S)],
            &source("seg5.ts", 3 * S, false),
            None,
        );
        let mut broken = source("seg6.ts", 3 * S, true);
        broken.discontinuity = true;
        let _ = i.add(vec![picture(376, 0, 3 * S)], &broken, None);
        assert_eq!(durations(&i), [20, 35, 10, 60, 30, 30]);
        let flags: Vec<bool> = i.live.segments().map(|e| e.discontinuity_before).collect();
        assert_eq!(flags, [false, false, false, false, false, true]);
        i.end().expect("ends");
    }

    /// A new I-frame playlist beside a resumed live playlist counts the
    /// live playlist's discontinuities; one that does not match what comes
    /// (the other kind of pictures) starts anew with its numbers going on.
    #[test]
    fn resumed_or_new_the_discontinuity_numbers_match_the_live_playlists() {
        let dir = tempfile::tempdir().expect("tmp");
        let text = "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:7\n\
                    #EXT-X-DISCONTINUITY-SEQUENCE:2\n#EXTINF:6,\nseg7.ts\n\
                    #EXT-X-DISCONTINUITY\n#EXTINF:6,\nseg8.ts\n";
        let live = MediaPlaylist::parse(text).expect("valid");
        let c = config(dir.path());
        let new = IFrames::open(&c, &live, true)
            .expect("opens")
            .expect("asked");
        assert_eq!(discontinuities(&new.live), 3);
        assert_eq!(new.live.media_sequence(), 0);
        // An earlier one of the other kind (own files): anew, numbers on.
        let own = "#EXTM3U\n#EXT-X-VERSION:4\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:40\n\
                   #EXT-X-I-FRAMES-ONLY\n#EXTINF:2,\nseg8.i0.ts\n";
        std::fs::write(dir.path().join(IFRAMES_PLAYLIST), own).expect("write");
        let anew = IFrames::open(&c, &live, true)
            .expect("opens")
            .expect("asked");
        assert_eq!(anew.live.segments().count(), 0);
        assert_eq!(anew.live.media_sequence(), 41);
        assert_eq!(discontinuities(&anew.live), 3);
        // Without --iframes, the earlier live one is removed.
        let off = SegmenterConfig {
            iframes: false,
            ..c
        };
        assert!(IFrames::open(&off, &live, true).expect("opens").is_none());
        assert!(!dir.path().join(IFRAMES_PLAYLIST).exists());
    }

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
