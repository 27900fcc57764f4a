//! Rendering a media playlist: the full text, and the delta update that
//! replaces old segments by `EXT-X-SKIP`.

use std::fmt;

use super::low_latency::SEGMENTS_WITH_PARTS;
use super::{MediaPlaylist, PartEntry, PlaylistType, Ticks, VERSION};

impl MediaPlaylist {
    /// `EXT-X-VERSION`: [`VERSION`], the minimum for what we write; 9 with
    /// low latency (EXT-X-SKIP in delta updates needs it).
    /// An I-frame playlist: 4 (`EXT-X-I-FRAMES-ONLY`, `EXT-X-BYTERANGE`),
    /// 5 with `EXT-X-MAP`.
    pub fn version(&self) -> u8 {
        if self.low_latency.is_some() {
            9
        } else if self.segments.iter().any(|s| s.map.is_some()) {
            5
        } else if self.iframes_only {
            4
        } else {
            VERSION
        }
    }

    /// The playlist text (same as `to_string()`), lines ending in `\n`.
    pub fn render(&self) -> String {
        self.to_string()
    }

    /// The delta update for `_HLS_skip=YES` (RFC 8216bis §6.2.5.1): the
    /// segments that start more than [`skip_until`](Self::skip_until) before
    /// the end are replaced by `EXT-X-SKIP`; `None` when low latency is off
    /// or nothing can be skipped.
    pub fn render_delta(&self) -> Option<String> {
        self.low_latency.as_ref()?;
        let skip = self.skippable();
        (skip > 0).then(|| {
            let mut out = String::new();
            // Writing into a String cannot fail.
            let _ = self.write(&mut out, skip);
            out
        })
    }

    /// How many leading segments start before the skip boundary.
    fn skippable(&self) -> usize {
        let boundary = u128::from(self.skip_until().0);
        let mut after_start = self.total;
        let mut n = 0;
        for s in &self.segments {
            if after_start <= boundary {
                break;
            }
            after_start -= u128::from(s.duration.0);
            n += 1;
        }
        // The last segment is never skipped.
        n.min(self.segments.len().saturating_sub(1))
    }
}

impl MediaPlaylist {
    /// Writes the playlist with its first `skip` segments replaced by
    /// `EXT-X-SKIP` (0: the full playlist).
    fn write(&self, f: &mut impl fmt::Write, skip: usize) -> fmt::Result {
        writeln!(f, "#EXTM3U")?;
        writeln!(f, "#EXT-X-VERSION:{}", self.version())?;
        writeln!(f, "#EXT-X-TARGETDURATION:{}", self.target_duration)?;
        if let Some(ll) = &self.low_latency {
            let hold_back = Ticks(3 * ll.part_target.0);
            writeln!(
                f,
                "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK={},CAN-SKIP-UNTIL={}",
                seconds(hold_back),
                seconds(self.skip_until())
            )?;
            writeln!(f, "#EXT-X-PART-INF:PART-TARGET={}", seconds(ll.part_target))?;
        }
        writeln!(f, "#EXT-X-MEDIA-SEQUENCE:{}", self.media_sequence)?;
        if self.discontinuity_sequence != 0 {
            writeln!(
                f,
                "#EXT-X-DISCONTINUITY-SEQUENCE:{}",
                self.discontinuity_sequence
            )?;
        }
        match self.playlist_type {
            PlaylistType::Live => {}
            PlaylistType::Event => writeln!(f, "#EXT-X-PLAYLIST-TYPE:EVENT")?,
            PlaylistType::Vod => writeln!(f, "#EXT-X-PLAYLIST-TYPE:VOD")?,
        }
        if self.independent_segments {
            writeln!(f, "#EXT-X-INDEPENDENT-SEGMENTS")?;
        }
        if self.iframes_only {
            writeln!(f, "#EXT-X-I-FRAMES-ONLY")?;
        }
        if skip > 0 {
            writeln!(f, "#EXT-X-SKIP:SKIPPED-SEGMENTS={skip}")?;
            // Without CAN-SKIP-DATERANGES a delta update keeps every date
            // range of the playlist (RFC 8216bis §6.2.5.1).
            for segment in self.segments.iter().take(skip) {
                for range in &segment.dateranges {
                    writeln!(f, "{range}")?;
                }
            }
        }
        let with_parts = self.segments.len().saturating_sub(SEGMENTS_WITH_PARTS);
        // A key stays in effect until the next EXT-X-KEY (RFC 8216
        // §4.3.2.4): a segment without one after one with one needs
        // METHOD=NONE (skipped segments count: the client keeps their state).
        let mut keyed = skip
            .checked_sub(1)
            .and_then(|i| self.segments.get(i))
            .is_some_and(|s| s.key.is_some());
        for (i, segment) in self.segments.iter().enumerate().skip(skip) {
            if segment.discontinuity_before {
                writeln!(f, "#EXT-X-DISCONTINUITY")?;
            }
            // Each applies until the next (RFC 8216 §4.3.2.5).
            let previous = i.checked_sub(1).and_then(|p| self.segments.get(p));
            if let Some(map) = &segment.map {
                if i == skip || previous.is_none_or(|p| p.map.as_ref() != Some(map)) {
                    writeln!(f, "{map}")?;
                }
            }
            // Before the segment's parts, as RFC 8216bis asks.
            match &segment.key {
                Some(key) => writeln!(f, "{key}")?,
                None if keyed => writeln!(f, "{NO_KEY}")?,
                None => {}
            }
            keyed = segment.key.is_some();
            if let Some(time) = segment.program_date_time {
                writeln!(f, "#EXT-X-PROGRAM-DATE-TIME:{time}")?;
            }
            for range in &segment.dateranges {
                writeln!(f, "{range}")?;
            }
            for cue in &segment.cues {
                writeln!(f, "{cue}")?;
            }
            if self.low_latency.is_some() && i >= with_parts {
                write_parts(f, &segment.parts)?;
            }
            let ms = segment.duration.rounded_millis();
            writeln!(f, "#EXTINF:{}.{:03},", ms / 1000, ms % 1000)?;
            if let Some(range) = segment.byte_range {
                writeln!(f, "#EXT-X-BYTERANGE:{range}")?;
            }
            writeln!(f, "{}", segment.uri)?;
        }
        if let Some(ll) = &self.low_latency {
            // The key of the segment in progress: before its parts, or its
            // hinted first part.
            if !ll.open_parts.is_empty() || ll.preload_hint.is_some() {
                match &ll.open_key {
                    Some(key) => writeln!(f, "{key}")?,
                    None if keyed => writeln!(f, "{NO_KEY}")?,
                    None => {}
                }
            }
            write_parts(f, &ll.open_parts)?;
            if let Some(hint) = &ll.preload_hint {
                writeln!(f, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{hint}\"")?;
            }
            for report in &ll.rendition_reports {
                writeln!(f, "{report}")?;
            }
        }
        if self.is_ended() {
            writeln!(f, "#EXT-X-ENDLIST")?;
        }
        Ok(())
    }
}

/// The tag that ends encryption.
const NO_KEY: &str = "#EXT-X-KEY:METHOD=NONE";

/// Seconds with three decimals, as attribute values are written.
fn seconds(t: Ticks) -> String {
    let ms = t.rounded_millis();
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

fn write_parts(f: &mut impl fmt::Write, parts: &[PartEntry]) -> fmt::Result {
    for p in parts {
        write!(
            f,
            "#EXT-X-PART:DURATION={},URI=\"{}\"",
            seconds(p.duration),
            p.uri
        )?;
        if p.independent {
            write!(f, ",INDEPENDENT=YES")?;
        }
        writeln!(f)?;
    }
    Ok(())
}

impl fmt::Display for MediaPlaylist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, 0)
    }
}
