//! `EXT-X-KEY` (RFC 8216 §4.3.2.4) for AES-128 segments: the key's URI and
//! the initialization vector, written explicitly (§5.2: the media sequence
//! number as a 128-bit big-endian integer, what a player assumes without
//! one).

use std::fmt;

use super::m3u8;

/// The key and IV a segment (and its parts) is encrypted with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentKey {
    /// `URI`: where a player fetches the 16-byte key.
    pub uri: String,
    /// `IV`.
    pub iv: u128,
}

impl SegmentKey {
    /// The key at `uri` with the IV RFC 8216 §5.2 derives from media
    /// sequence number `sequence`.
    pub fn for_sequence(uri: impl Into<String>, sequence: u64) -> SegmentKey {
        SegmentKey {
            uri: uri.into(),
            iv: u128::from(sequence),
        }
    }

    /// Reads a tag's attribute list as [`Display`](fmt::Display) writes
    /// it; `None` for anything else (another method, no IV).
    pub fn parse(list: &str) -> Option<SegmentKey> {
        let (mut method, mut uri, mut iv) = (None, None, None);
        for (name, at) in m3u8::attributes(list)? {
            let value = &list[at];
            match name {
                "METHOD" => method = Some(value),
                "URI" => uri = Some(value.strip_prefix('"')?.strip_suffix('"')?.to_string()),
                "IV" => {
                    let hex = value
                        .strip_prefix("0x")
                        .or_else(|| value.strip_prefix("0X"))?;
                    if hex.is_empty() || hex.len() > 32 {
                        return None;
                    }
                    iv = Some(u128::from_str_radix(hex, 16).ok()?);
                }
                _ => {}
            }
        }
        (method? == "AES-128").then_some(())?;
        Some(SegmentKey { uri: uri?, iv: iv? })
    }
}

impl fmt::Display for SegmentKey {
    /// The tag, without its line ending.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#EXT-X-KEY:METHOD=AES-128,URI=\"{}\",IV=0x{:032X}",
            self.uri, self.iv
        )
    }
}
