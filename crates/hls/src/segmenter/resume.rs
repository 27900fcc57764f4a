//! The playlists a segmenter starts with, new or resumed: after a restart
//! the playlist an earlier run left in the output directory takes the new
//! segments, so the media sequence goes on.

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
    let (mut live, resumed) = match resume(&live_path, target)? {
        Some(mut p) => {
            p.set_window(window).map_err(SegmenterError::Config)?;
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

/// The archive playlist, resumed or new, when one is kept.
pub(super) fn open_archive(
    config: &SegmenterConfig,
) -> Result<Option<MediaPlaylist>, SegmenterError> {
    if !config.archive {
        return Ok(None);
    }
    let target = config.cutter.target_duration;
    let path = config.dir.join(ARCHIVE_PLAYLIST);
    Ok(Some(match resume(&path, target)? {
        Some(p) => p,
        None => MediaPlaylist::event(target).map_err(SegmenterError::Config)?,
    }))
}

/// The playlist an earlier run left at `path`, ready to take more segments
/// (its ENDLIST, if any, dropped), or `None` when there is none.
fn resume(path: &Path, target: u32) -> Result<Option<MediaPlaylist>, SegmenterError> {
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
    if p.target_duration() != target {
        return Err(SegmenterError::Resume {
            path: path.to_path_buf(),
            error: format!(
                "its EXT-X-TARGETDURATION is {}, not {target}: it must not change during a stream (use another directory)",
                p.target_duration()
            ),
        });
    }
    Ok(Some(p))
}
