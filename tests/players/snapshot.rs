//! The checker's own reading of a media playlist (not routecast-hls's):
//! sequence numbers, segments, ENDLIST, and the low-latency tags
//! (EXT-X-PART, EXT-X-PART-INF, EXT-X-PRELOAD-HINT, EXT-X-SKIP of delta
//! updates). Anything malformed is an error.

use crate::parts::{self, ListedPart};

/// One segment as a playlist lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    /// Its media sequence number.
    pub msn: u64,
    /// The URI line.
    pub uri: String,
    /// EXTINF, seconds.
    pub duration: f64,
    /// An EXT-X-DISCONTINUITY before it.
    pub discontinuity: bool,
}

/// One media playlist, read by the checker's own parser.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// EXT-X-TARGETDURATION.
    pub target_duration: u64,
    /// EXT-X-MEDIA-SEQUENCE (0 when absent).
    pub media_sequence: u64,
    /// EXT-X-DISCONTINUITY-SEQUENCE (0 when absent).
    pub discontinuity_sequence: u64,
    /// The segments, oldest first.
    pub segments: Vec<Listed>,
    /// EXT-X-ENDLIST.
    pub endlist: bool,
    /// EXT-X-SKIP's SKIPPED-SEGMENTS (a delta update), else 0.
    pub skipped: u64,
    /// PART-TARGET of EXT-X-PART-INF, seconds.
    pub part_target: Option<f64>,
    /// The EXT-X-PART tags, in order (those after the last segment belong
    /// to the segment in progress).
    pub parts: Vec<ListedPart>,
    /// The URI of EXT-X-PRELOAD-HINT (TYPE=PART).
    pub hint: Option<String>,
}

impl Snapshot {
    /// Reads the tags the checker needs; anything malformed is an error.
    pub fn parse(text: &str) -> Result<Snapshot, String> {
        let mut lines = text.lines();
        if lines.next() != Some("#EXTM3U") {
            return Err("the first line is not #EXTM3U".into());
        }
        let mut s = Snapshot {
            target_duration: 0,
            media_sequence: 0,
            discontinuity_sequence: 0,
            segments: Vec::new(),
            endlist: false,
            skipped: 0,
            part_target: None,
            parts: Vec::new(),
            hint: None,
        };
        let mut target = None;
        // (EXTINF, discontinuity, URI) of each segment; parts by the
        // position of their segment in the list.
        let mut uris: Vec<(f64, bool, String)> = Vec::new();
        let mut parts: Vec<(usize, String, f64, bool)> = Vec::new();
        let (mut extinf, mut discontinuity) = (None, false);
        for line in lines.map(str::trim).filter(|l| !l.is_empty()) {
            let number = |v: &str| v.parse::<u64>().map_err(|e| format!("{line}: {e}"));
            if let Some(v) = line.strip_prefix("#EXT-X-TARGETDURATION:") {
                target = Some(number(v)?);
            } else if let Some(v) = line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
                s.media_sequence = number(v)?;
            } else if let Some(v) = line.strip_prefix("#EXT-X-DISCONTINUITY-SEQUENCE:") {
                s.discontinuity_sequence = number(v)?;
            } else if let Some(v) = line.strip_prefix("#EXTINF:") {
                let d = v.split(',').next().unwrap_or("");
                extinf = Some(d.parse::<f64>().map_err(|e| format!("{line}: {e}"))?);
            } else if line == "#EXT-X-DISCONTINUITY" {
                discontinuity = true;
            } else if line == "#EXT-X-ENDLIST" {
                s.endlist = true;
            } else if let Some(v) = line.strip_prefix("#EXT-X-SKIP:") {
                let a = parts::attributes(v)?;
                let n = a
                    .get("SKIPPED-SEGMENTS")
                    .ok_or(format!("{line}: no count"))?;
                s.skipped = number(n)?;
            } else if let Some(v) = line.strip_prefix("#EXT-X-PART-INF:") {
                let a = parts::attributes(v)?;
                let t = a.get("PART-TARGET").and_then(|t| t.parse().ok());
                s.part_target = Some(t.ok_or(format!("{line}: no PART-TARGET"))?);
            } else if let Some(v) = line.strip_prefix("#EXT-X-PART:") {
                let (uri, duration, independent) = parts::part_attributes(v)?;
                parts.push((uris.len(), uri, duration, independent));
            } else if let Some(v) = line.strip_prefix("#EXT-X-PRELOAD-HINT:") {
                s.hint = Some(parts::hint_attributes(v)?);
            } else if !line.starts_with('#') {
                let d = extinf
                    .take()
                    .ok_or(format!("{line}: no #EXTINF before it"))?;
                uris.push((d, std::mem::take(&mut discontinuity), line.to_string()));
            }
        }
        let first = s.media_sequence + s.skipped;
        s.segments = (first..)
            .zip(uris)
            .map(|(msn, (duration, discontinuity, uri))| Listed {
                msn,
                uri,
                duration,
                discontinuity,
            })
            .collect();
        let mut index = 0;
        for (i, (position, uri, duration, independent)) in parts.into_iter().enumerate() {
            let msn = first + position as u64;
            let new_segment = i == 0 || s.parts.last().is_some_and(|p| p.msn != msn);
            index = if new_segment { 0 } else { index + 1 };
            s.parts.push(ListedPart {
                msn,
                index,
                uri,
                duration,
                independent,
            });
        }
        s.target_duration = target.ok_or("no #EXT-X-TARGETDURATION")?;
        Ok(s)
    }

    /// The sum of the EXTINF durations, seconds.
    pub fn duration(&self) -> f64 {
        self.segments.iter().map(|s| s.duration).sum()
    }

    /// The media sequence number after the last segment.
    pub fn end(&self) -> u64 {
        self.media_sequence + self.skipped + self.segments.len() as u64
    }

    /// (media sequence number, index) of the last part listed.
    pub fn last_part(&self) -> Option<(u64, u64)> {
        self.parts.last().map(ListedPart::key)
    }
}
