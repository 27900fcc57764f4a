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
    /// Its EXT-X-PROGRAM-DATE-TIME, ms since 1970 (read by [`unix_ms`]).
    pub pdt_ms: Option<i64>,
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
        let mut uris: Vec<(f64, bool, Option<i64>, String)> = Vec::new();
        let mut parts: Vec<(usize, String, f64, bool)> = Vec::new();
        let (mut extinf, mut discontinuity, mut pdt) = (None, false, None);
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
            } else if let Some(v) = line.strip_prefix("#EXT-X-PROGRAM-DATE-TIME:") {
                pdt = Some(unix_ms(v).ok_or(format!("{line}: not a date-time"))?);
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
                let disc = std::mem::take(&mut discontinuity);
                uris.push((d, disc, pdt.take(), line.to_string()));
            }
        }
        let first = s.media_sequence + s.skipped;
        s.segments = (first..)
            .zip(uris)
            .map(|(msn, (duration, discontinuity, pdt_ms, uri))| Listed {
                msn,
                uri,
                duration,
                discontinuity,
                pdt_ms,
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

/// Milliseconds since 1970 of an RFC 3339 date-time as
/// EXT-X-PROGRAM-DATE-TIME writes it (`2026-12-07T08:30:00.123Z`, or an
/// offset `+01:00` instead of `Z`; fractions past milliseconds are cut).
/// The checker's own reading, by the civil-from-days arithmetic of the
/// proleptic Gregorian calendar, so that it shares nothing with the
/// segmenter's writer.
pub fn unix_ms(text: &str) -> Option<i64> {
    let (date, time) = text.split_once('T')?;
    let mut d = date.split('-');
    let (y, m, day): (i64, i64, i64) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    let (clock, offset_min) = if let Some(c) = time.strip_suffix('Z') {
        (c, 0)
    } else {
        let at = time.rfind(['+', '-'])?;
        let (c, off) = time.split_at(at);
        let (h, mi) = off[1..].split_once(':')?;
        let minutes = h.parse::<i64>().ok()? * 60 + mi.parse::<i64>().ok()?;
        (
            c,
            if off.starts_with('-') {
                -minutes
            } else {
                minutes
            },
        )
    };
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, "0"));
    let mut t = hms.split(':');
    let (hh, mm, ss): (i64, i64, i64) = (
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
    );
    let ms: i64 = format!("{frac:0<3}")[..3].parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Days from 1970-01-01 (Howard Hinnant's days_from_civil).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + hh * 3_600 + mm * 60 + ss) - offset_min * 60) * 1_000 + ms)
}
