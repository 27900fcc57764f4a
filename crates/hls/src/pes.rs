//! PES packet headers (ISO/IEC 13818-1 §2.4.3.6): the timestamps and where
//! the elementary stream data starts.

use crate::Timestamp;

/// Why a PES header was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PesError {
    /// No 00 00 01 packet start code.
    #[error("no PES start code")]
    StartCode,
    /// The header is cut short (it must fit in the first packet).
    #[error("PES header truncated")]
    Truncated,
    /// A timestamp's marker bits are wrong.
    #[error("PES timestamp marker bits wrong")]
    Marker,
}

/// The start of a PES packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PesHeader {
    /// stream_id (0xe0–0xef video, 0xc0–0xdf audio, …).
    pub stream_id: u8,
    /// Presentation timestamp.
    pub pts: Option<Timestamp>,
    /// Decoding timestamp (when it differs from the PTS).
    pub dts: Option<Timestamp>,
    /// Offset of the elementary stream data from the PES start.
    pub data_offset: usize,
}

impl PesHeader {
    /// The decoding time: the DTS, else the PTS.
    pub fn decode_time(&self) -> Option<Timestamp> {
        self.dts.or(self.pts)
    }
}

/// Parses the header at the start of a PES packet (the payload of a packet
/// with payload_unit_start_indicator).
pub fn parse_header(b: &[u8]) -> Result<PesHeader, PesError> {
    if b.len() < 6 {
        return Err(PesError::Truncated);
    }
    if b[..3] != [0, 0, 1] {
        return Err(PesError::StartCode);
    }
    let stream_id = b[3];
    // Streams without the optional header (§2.4.3.7, table 2-22).
    if matches!(
        stream_id,
        0xbc | 0xbe | 0xbf | 0xf0 | 0xf1 | 0xff | 0xf2 | 0xf8
    ) {
        return Ok(PesHeader {
            stream_id,
            pts: None,
            dts: None,
            data_offset: 6,
        });
    }
    if b.len() < 9 {
        return Err(PesError::Truncated);
    }
    let flags = b[7] >> 6;
    let header_len = usize::from(b[8]);
    let data_offset = 9 + header_len;
    if b.len() < data_offset {
        return Err(PesError::Truncated);
    }
    let opt = &b[9..data_offset];
    let (mut pts, mut dts) = (None, None);
    if flags & 0b10 != 0 {
        pts = Some(timestamp(opt.get(..5).ok_or(PesError::Truncated)?)?);
    }
    if flags == 0b11 {
        dts = Some(timestamp(opt.get(5..10).ok_or(PesError::Truncated)?)?);
    }
    Ok(PesHeader {
        stream_id,
        pts,
        dts,
        data_offset,
    })
}

/// A 33-bit timestamp in its 5-byte field with marker bits.
fn timestamp(b: &[u8]) -> Result<Timestamp, PesError> {
    if b[0] & 1 != 1 || b[2] & 1 != 1 || b[4] & 1 != 1 {
        return Err(PesError::Marker);
    }
    Ok(Timestamp(
        u64::from(b[0] >> 1 & 0x07) << 30
            | u64::from(b[1]) << 22
            | u64::from(b[2] >> 1) << 15
            | u64::from(b[3]) << 7
            | u64::from(b[4] >> 1),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes a timestamp the way a multiplexer does (prefix `0010` or `0011`).
    pub(crate) fn encode(prefix: u8, t: u64) -> [u8; 5] {
        [
            prefix << 4 | ((t >> 30) as u8 & 0x07) << 1 | 1,
            (t >> 22) as u8,
            ((t >> 15) as u8) << 1 | 1,
            (t >> 7) as u8,
            (t as u8) << 1 | 1,
        ]
    }

    #[test]
    fn pts_and_dts_round_trip_including_the_33rd_bit() {
        let (pts, dts) = ((1u64 << 33) - 1, 123_456_789);
        let mut b = vec![0, 0, 1, 0xe0, 0, 0, 0x80, 0xc0, 10];
        b.extend(encode(3, pts));
        b.extend(encode(1, dts));
        b.extend([0, 0, 0, 1, 0x09]);
        let h = parse_header(&b).expect("valid");
        assert_eq!(h.pts, Some(Timestamp(pts)));
        assert_eq!(h.dts, Some(Timestamp(dts)));
        assert_eq!(h.decode_time(), Some(Timestamp(dts)));
        assert_eq!(h.data_offset, 19);
    }

    #[test]
    fn broken_headers_are_errors() {
        assert_eq!(
            parse_header(&[0, 0, 2, 0xe0, 0, 0]),
            Err(PesError::StartCode)
        );
        assert_eq!(
            parse_header(&[0, 0, 1, 0xe0, 0, 0, 0x80, 0x80, 5, 0x21]),
            Err(PesError::Truncated)
        );
        let mut b = vec![0, 0, 1, 0xc0, 0, 0, 0x80, 0x80, 5];
        b.extend([0x20, 0, 0, 0, 0]); // marker bits clear
        assert_eq!(parse_header(&b), Err(PesError::Marker));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)) {
            let _ = parse_header(&b);
        }
    }
}
