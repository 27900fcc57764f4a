//! Partial segments (low-latency HLS, RFC 8216bis §4.4.4.9, §4.4.5.3)
//! across playlist snapshots: what no single snapshot shows about parts.
//!
//! The [`PartLedger`] keeps every part it has seen by (media sequence
//! number, index in its segment) and holds it to these rules:
//!
//! * a part, once listed, is listed the same ever after (URI, duration,
//!   INDEPENDENT), and no part is added to a segment already complete;
//! * no part is longer than PART-TARGET; the first part of a segment
//!   opens with the PAT (the segment starts with it);
//! * a part is INDEPENDENT=YES exactly when its first video picture is a
//!   random access point (the random_access_indicator of the packet that
//!   starts it): a claim a player starting there relies on, and a
//!   keyframe it may start at (a GOP longer than the target is cut
//!   between keyframes, and that segment's first part is not independent);
//! * EXT-X-PRELOAD-HINT names the part that is listed next; only when the
//!   segment turned out to close instead may the next part differ (then
//!   the hint named a part that never came: counted, allowed by §6.2.6);
//! * every listed part downloads whole, and the parts of a segment,
//!   concatenated in order, are byte for byte the segment, and their
//!   durations add up to its EXTINF.

use std::collections::{BTreeMap, BTreeSet};

use crate::checker::{Snapshot, PACKET_SIZE};

/// One EXT-X-PART as a playlist lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedPart {
    /// The media sequence number of the segment it belongs to.
    pub msn: u64,
    /// Its index in that segment, from 0.
    pub index: u64,
    /// The URI attribute.
    pub uri: String,
    /// The DURATION attribute, seconds.
    pub duration: f64,
    /// INDEPENDENT=YES.
    pub independent: bool,
}

impl ListedPart {
    /// (media sequence number, index): parts are ordered by it.
    pub fn key(&self) -> (u64, u64) {
        (self.msn, self.index)
    }
}

/// The attribute list of a tag (`NAME=VALUE,…`, quoted strings unquoted);
/// malformed lists are an error.
pub fn attributes(list: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let mut rest = list.trim();
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once('=')
            .ok_or(format!("{list}: an attribute without a value"))?;
        let (value, after) = match after.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted
                    .find('"')
                    .ok_or(format!("{list}: an unterminated quoted string"))?;
                (&quoted[..end], &quoted[end + 1..])
            }
            None => after.split_at(after.find(',').unwrap_or(after.len())),
        };
        out.insert(name.to_string(), value.to_string());
        rest = match after.strip_prefix(',') {
            Some(r) => r,
            None if after.is_empty() => after,
            None => return Err(format!("{list}: no comma after {name}")),
        };
    }
    Ok(out)
}

/// URI, DURATION and INDEPENDENT of an EXT-X-PART attribute list.
pub fn part_attributes(list: &str) -> Result<(String, f64, bool), String> {
    let a = attributes(list)?;
    let uri = a.get("URI").ok_or(format!("EXT-X-PART:{list}: no URI"))?;
    let duration = a
        .get("DURATION")
        .and_then(|d| d.parse::<f64>().ok())
        .ok_or(format!("EXT-X-PART:{list}: no DURATION"))?;
    let independent = a.get("INDEPENDENT").is_some_and(|v| v == "YES");
    Ok((uri.clone(), duration, independent))
}

/// The URI of an EXT-X-PRELOAD-HINT of TYPE=PART.
pub fn hint_attributes(list: &str) -> Result<String, String> {
    let a = attributes(list)?;
    match (a.get("TYPE").map(String::as_str), a.get("URI")) {
        (Some("PART"), Some(uri)) => Ok(uri.clone()),
        _ => Err(format!("EXT-X-PRELOAD-HINT:{list}: not a TYPE=PART hint")),
    }
}

/// A hint waiting for the part listed after it.
#[derive(Debug, Clone)]
struct Hint {
    /// The last part listed with the hint.
    after: (u64, u64),
    /// That part's segment was complete already: the next part is part 0
    /// of the next segment, and the hint must name it.
    closed: bool,
    uri: String,
}

/// What the checker knows of every part. See the module documentation.
#[derive(Debug, Default)]
pub struct PartLedger {
    seen: BTreeMap<(u64, u64), ListedPart>,
    /// Segments seen complete.
    complete: BTreeSet<u64>,
    /// Downloaded parts whose segment was not compared with them yet.
    bodies: BTreeMap<(u64, u64), Vec<u8>>,
    hint: Option<Hint>,
    /// Parts downloaded whole.
    pub downloaded: usize,
    /// Segments found equal to their concatenated parts.
    pub concatenated: usize,
    /// Hints that named the part listed next.
    pub hints_kept: usize,
    /// Hints that named a part of a segment that closed instead.
    pub hints_missed: usize,
}

impl PartLedger {
    /// Checks the parts of `snap` against what was seen; returns the parts
    /// listed for the first time (to download), in order.
    pub fn observe(&mut self, snap: &Snapshot) -> Result<Vec<ListedPart>, String> {
        let mut new = Vec::new();
        for p in &snap.parts {
            check_alone(p, snap.part_target)?;
            match self.seen.get(&p.key()) {
                Some(old) if old != p => {
                    return Err(format!("part {:?} was {old:?}, is now {p:?}", p.key()))
                }
                Some(_) => {}
                None if self.complete.contains(&p.msn) => {
                    return Err(format!(
                        "{}: a part listed after its segment {} was complete",
                        p.uri, p.msn
                    ))
                }
                None => {
                    self.seen.insert(p.key(), p.clone());
                    new.push(p.clone());
                }
            }
        }
        self.follow_hint(snap)?;
        self.complete.extend(snap.segments.iter().map(|s| s.msn));
        if !snap.endlist {
            self.hint = match (snap.parts.last(), &snap.hint) {
                (Some(last), Some(uri)) => Some(Hint {
                    after: last.key(),
                    closed: self.complete.contains(&last.msn),
                    uri: uri.clone(),
                }),
                (Some(_), None) => {
                    return Err("parts listed without an EXT-X-PRELOAD-HINT (§4.4.5.3)".into())
                }
                (None, _) => None,
            };
        }
        Ok(new)
    }

    /// Whether the part listed after the last hint is the hinted one.
    fn follow_hint(&mut self, snap: &Snapshot) -> Result<(), String> {
        let Some(h) = &self.hint else { return Ok(()) };
        let Some(next) = snap.parts.iter().find(|p| p.key() > h.after) else {
            return Ok(());
        };
        let same_segment = next.key() == (h.after.0, h.after.1 + 1);
        if next.uri == h.uri {
            self.hints_kept += 1;
        } else if same_segment || h.closed {
            return Err(format!(
                "EXT-X-PRELOAD-HINT named {}, the next part listed is {}",
                h.uri, next.uri
            ));
        } else {
            self.hints_missed += 1;
        }
        self.hint = None;
        Ok(())
    }

    /// A listed part, downloaded: whole packets, kept until its segment is
    /// compared with its parts; INDEPENDENT=YES only on a random access
    /// point.
    pub fn downloaded(&mut self, key: (u64, u64), body: &[u8]) -> Result<(), String> {
        if let Some(p) = self.seen.get(&key) {
            // Without video (audio only) every part is independent.
            let starts = starts_at_random_access(body);
            if starts.is_some_and(|rap| rap != p.independent) {
                return Err(format!(
                    "{}: INDEPENDENT={} but its first video picture {}",
                    p.uri,
                    if p.independent { "YES" } else { "NO" },
                    if p.independent {
                        "is not a random access point"
                    } else {
                        "is a random access point"
                    }
                ));
            }
        }
        self.bodies.insert(key, body.to_vec());
        self.downloaded += 1;
        Ok(())
    }

    /// Segment `msn`, downloaded when first listed complete with EXTINF
    /// `extinf`: its parts, if any were listed, must make it up exactly.
    pub fn segment(&mut self, msn: u64, extinf: f64, body: &[u8]) -> Result<(), String> {
        let parts: Vec<ListedPart> = self
            .seen
            .range((msn, 0)..(msn.saturating_add(1), 0))
            .map(|(_, p)| p.clone())
            .collect();
        if parts.is_empty() {
            return Ok(());
        }
        let mut joined = Vec::with_capacity(body.len());
        for p in &parts {
            let b = self
                .bodies
                .remove(&p.key())
                .ok_or(format!("{}: listed but not downloaded", p.uri))?;
            joined.extend_from_slice(&b);
        }
        if joined != body {
            let at = joined.iter().zip(body).position(|(a, b)| a != b);
            return Err(format!(
                "segment {msn}: its {} parts make {} bytes, the segment has {} (first difference at byte {at:?})",
                parts.len(),
                joined.len(),
                body.len()
            ));
        }
        let sum: f64 = parts.iter().map(|p| p.duration).sum();
        // Each duration is rounded to the millisecond.
        if (sum - extinf).abs() > 0.0005 * (parts.len() + 1) as f64 {
            return Err(format!(
                "segment {msn}: parts last {sum:.3} s, EXTINF {extinf:.3} s"
            ));
        }
        if pid(body) != Some(0) {
            return Err(format!(
                "segment {msn}: its first part does not open with the PAT"
            ));
        }
        self.concatenated += 1;
        Ok(())
    }
}

/// The PID of the first packet.
fn pid(body: &[u8]) -> Option<u16> {
    let p = body.get(..PACKET_SIZE)?;
    Some((u16::from(p[1] & 0x1f) << 8) | u16::from(p[2]))
}

/// Whether the first video PES that starts in `body` starts a random
/// access point (the random_access_indicator in the adaptation field of
/// its first packet); `None` when no video PES starts in it (stream ids
/// 0xE0–0xEF).
fn starts_at_random_access(body: &[u8]) -> Option<bool> {
    body.chunks_exact(PACKET_SIZE).find_map(|p| {
        if p[1] & 0x40 == 0 {
            return None;
        }
        let (payload, rai) = match p[3] >> 4 & 3 {
            1 => (4, false),
            3 if p[4] > 0 => (5 + usize::from(p[4]), p[5] & 0x40 != 0),
            3 => (5, false),
            _ => return None,
        };
        let pes = p.get(payload..payload + 4)?;
        (pes[..3] == [0, 0, 1] && (0xe0..=0xef).contains(&pes[3])).then_some(rai)
    })
}

/// One part alone: within PART-TARGET.
fn check_alone(p: &ListedPart, part_target: Option<f64>) -> Result<(), String> {
    let target = part_target.ok_or("EXT-X-PART without EXT-X-PART-INF")?;
    // Attribute values are written with three decimals.
    if p.duration > target + 0.0005 || p.duration <= 0.0 {
        return Err(format!(
            "{}: DURATION {} outside (0, PART-TARGET {target}]",
            p.uri, p.duration
        ));
    }
    Ok(())
}
