//! `EXT-X-RENDITION-REPORT` (RFC 8216bis §4.4.5.4): in a low-latency media
//! playlist, where each other rendition of the stream stands, so that a
//! player switching to one asks for its next part at once instead of
//! loading its playlist first.

use std::fmt;

use super::{excerpt, is_valid_uri, MediaPlaylist, PlaylistError};

/// Where another rendition stands: its media playlist and its last
/// segment (and part) listed there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenditionReport {
    /// `URI`: the other rendition's media playlist, relative to the
    /// playlist that carries the report (`../lo/index.m3u8`).
    pub uri: String,
    /// `LAST-MSN`: the media sequence number of its last segment, or of the
    /// segment its last part belongs to.
    pub last_msn: u64,
    /// `LAST-PART`: the index of its last part in segment `last_msn`, when
    /// it lists parts.
    pub last_part: Option<u64>,
}

impl MediaPlaylist {
    /// Sets the rendition reports written after the preload hint, in the
    /// full playlist and in delta updates (replacing the earlier ones).
    /// Only with low latency; every URI must be usable in a quoted
    /// attribute.
    pub fn set_rendition_reports(
        &mut self,
        reports: Vec<RenditionReport>,
    ) -> Result<(), PlaylistError> {
        let Some(ll) = &mut self.low_latency else {
            return Err(PlaylistError::NotLowLatency);
        };
        if let Some(bad) = reports
            .iter()
            .find(|r| !is_valid_uri(&r.uri) || r.uri.contains('"'))
        {
            return Err(PlaylistError::InvalidUri {
                uri: excerpt(&bad.uri),
            });
        }
        ll.rendition_reports = reports;
        Ok(())
    }

    /// The rendition reports, in the order they are written.
    pub fn rendition_reports(&self) -> &[RenditionReport] {
        self.low_latency
            .as_ref()
            .map_or(&[], |ll| &ll.rendition_reports)
    }
}

impl fmt::Display for RenditionReport {
    /// The tag, without the line end.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#EXT-X-RENDITION-REPORT:URI=\"{}\",LAST-MSN={}",
            self.uri, self.last_msn
        )?;
        if let Some(part) = self.last_part {
            write!(f, ",LAST-PART={part}")?;
        }
        Ok(())
    }
}
