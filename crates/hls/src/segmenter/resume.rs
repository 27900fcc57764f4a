//! The playlists a segmenter starts with, new or resumed: after a restart
//! the playlist an earlier run left in the output directory takes the new
//! segments, so the media sequence goes on. A resumed playlist keeps its
//! `EXT-X-TARGETDURATION` (it cannot change during a playlist's life): a
//! longer one than asked (announced from a long first GOP) is kept, a
//! shorter one is refused (it would cut the stream shorter than asked).

use std::path::Path;

use super::{SegmenterConfig, SegmenterError, ARCHIVE_PLAYLIST, LIVE_PLAYLIST};
use crate::playlist::{MediaPlaylist, PlaylistError, Ticks};

/// The live playlist: resumed (`true`) or new, with the configured window
/// and low latency.
pub(super) fn open_live(config: &SegmenterConfig) -> Result<(MediaPlaylist, bool), SegmenterError> {
    let target = config.cutter.target_duration;
    let window = Ticks::from_secs_f64(config.window_secs).ok_or_else(|| {
        SegmenterError::Config(PlaylistError::WindowTooShort {
            window: Ticks(0),
            minimum: MediaPlaylist::minimum_window(target),
        })
    })?;
    let live_path = config.dir.join(LIVE_PLAYLIST);
    let (mut live, resumed) = match resume(&live_path)? {
        Some(p) if p.target_duration() < target => {
            return Err(SegmenterError::Resume {
                path: live_path,
                error: format!(
                    "its EXT-X-TARGETDURATION is {}, not {target}: it must not change during a stream (use another directory)",
                    p.target_duration()
                ),
            })
        }
        Some(mut p) => {
            let minimum = MediaPlaylist::minimum_window(p.target_duration());
            p.set_window(window.max(minimum))
                .map_err(SegmenterError::Config)?;
            (p, true)
        }
        None => (
            MediaPlaylist::live(target, window).map_err(SegmenterError::Config)?,
            false,
        ),
    };
    if let Some(part) = config.cutter.part_target {
        let ticks = Ticks::from_secs_f64(part).ok_or(SegmenterError::Config(
            PlaylistError::InvalidPartTarget {
                part_target: Ticks(0),
            },
        ))?;
        live.enable_low_latency(ticks)
            .map_err(SegmenterError::Config)?;
    }
    Ok((live, resumed))
}

/// Where the last segment listed in `playlist` ends on the wall clock
/// (its `EXT-X-PROGRAM-DATE-TIME`, or the last one before it, plus the
/// durations from there), if any segment carries one.
pub(super) fn listed_end_ms(playlist: &MediaPlaylist) -> Option<u64> {
    let mut end = None;
    for segment in playlist.segments() {
        let start = segment.program_date_time.map(|d| d.0).or(end);
        end = start.map(|s| s + segment.duration.rounded_millis());
    }
    end
}

/// The archive playlist, resumed or new, when one is kept: `live`'s target
/// (a resumed archive must have it).
pub(super) fn open_archive(
    config: &SegmenterConfig,
    live: &MediaPlaylist,
) -> Result<Option<MediaPlaylist>, SegmenterError> {
    if !config.archive {
        return Ok(None);
    }
    let target = live.target_duration();
    let path = config.dir.join(ARCHIVE_PLAYLIST);
    Ok(Some(match resume(&path)? {
        Some(p) if p.target_duration() != target => {
            return Err(SegmenterError::Resume {
                path,
                error: format!(
                    "its EXT-X-TARGETDURATION is {}, the live playlist's {target}: they must not differ (use another directory)",
                    p.target_duration()
                ),
            })
        }
        Some(p) => p,
        None => MediaPlaylist::event(target).map_err(SegmenterError::Config)?,
    }))
}

/// Announces `target` in the playlists not listing anything yet, with
/// `EXT-X-INDEPENDENT-SEGMENTS` if the stream is `audio` only (a video GOP
/// longer than the target is cut between keyframes); the shortest grace
/// period for the live window, ms (window + target, RFC 8216 §6.2.2).
pub(super) fn announce(
    live: &mut MediaPlaylist,
    archive: Option<&mut MediaPlaylist>,
    target: u32,
    audio: bool,
) -> u64 {
    for p in std::iter::once(&mut *live).chain(archive) {
        if p.announce_target(target) || p.segments().next().is_none() {
            p.set_independent_segments(audio);
        }
    }
    let window = live.window().map_or(0, |w| w.0 / 90);
    window + 1000 * u64::from(live.target_duration())
}

/// The playlist an earlier run left at `path`, ready to take more segments
/// (its ENDLIST, if any, dropped), or `None` when there is none.
pub(super) fn resume(path: &Path) -> Result<Option<MediaPlaylist>, SegmenterError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(SegmenterError::Resume {
                path: path.to_path_buf(),
                error: e.to_string(),
            })
        }
    };
    let open: String = text
        .lines()
        .filter(|l| l.trim() != "#EXT-X-ENDLIST")
        .flat_map(|l| [l, "\n"])
        .collect();
    let p = MediaPlaylist::parse(&open).map_err(|e| SegmenterError::Resume {
        path: path.to_path_buf(),
        error: e.to_string(),
    })?;
    Ok(Some(p))
}
