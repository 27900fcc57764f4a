//! Finding random access points in H.264 and HEVC elementary streams: the
//! type of the first picture (VCL NAL unit) of an access unit, read from the
//! Annex B byte stream as it arrives, packet by packet; and the parameter
//! set NAL units before it (kept whole, with start codes, to open a segment
//! cut without a keyframe: [`after_access_unit_delimiter`] says where).

use std::ops::Range;

/// The video codec of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// H.264 / AVC.
    H264,
    /// H.265 / HEVC.
    Hevc,
}

/// What the first picture of an access unit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Picture {
    /// An IDR picture: decoding can start here, nothing refers back.
    Idr,
    /// An HEVC CRA or BLA picture: decoding can start here, but leading
    /// pictures may refer to earlier ones (open GOP).
    Cra,
    /// Any other picture.
    Other,
}

/// Reads NAL unit headers from Annex B data fed in pieces, until the first
/// VCL NAL unit of the access unit tells what the picture is.
#[derive(Debug, Clone)]
pub struct FirstPicture {
    codec: Codec,
    /// Consecutive zero bytes just seen (capped at 3).
    zeros: u8,
    /// The previous byte completed a start code: this one is a NAL header.
    header_next: bool,
    found: Option<Picture>,
    /// The parameter set NAL units seen before the picture, each after a
    /// 4-byte start code (empty, not allocated, when none came).
    sets: Vec<u8>,
    /// Where the SPS's NAL unit (header on) lies in `sets`.
    sps: Option<Range<usize>>,
    /// Where the parameter set being read started in `sets`; `None` when
    /// the current NAL unit is not one.
    collecting: Option<usize>,
    /// The parameter sets overran [`MAX_PARAMETER_SETS`]: none are kept.
    overrun: bool,
}

/// Most bytes of parameter sets kept for one access unit, start codes
/// included (real ones are tens to hundreds of bytes). Inserted into a
/// packet, they make at most 13 more packets: fewer than the 16 values of
/// a continuity counter, so the counters of a rebuilt run stay distinct.
pub const MAX_PARAMETER_SETS: usize = 2 * 1024;

/// The 4-byte Annex B start code put before each kept parameter set.
const START_CODE: [u8; 4] = [0, 0, 0, 1];

impl FirstPicture {
    /// A scanner for one access unit of `codec`.
    pub fn new(codec: Codec) -> Self {
        Self {
            codec,
            zeros: 0,
            header_next: false,
            found: None,
            sets: Vec::new(),
            sps: None,
            collecting: None,
            overrun: false,
        }
    }

    /// Feeds the next bytes of the access unit; returns the verdict once the
    /// first VCL NAL unit's header has been seen (and from then on).
    pub fn feed(&mut self, data: &[u8]) -> Option<Picture> {
        if self.found.is_some() {
            return self.found;
        }
        for &b in data {
            if self.header_next {
                self.header_next = false;
                if let Some(p) = self.classify(b) {
                    self.found = Some(p);
                    return self.found;
                }
                self.start_nal_unit(b);
            }
            if self.collecting.is_some() {
                self.keep(b);
            }
            match b {
                0 => self.zeros = (self.zeros + 1).min(3),
                1 if self.zeros >= 2 => {
                    self.zeros = 0;
                    self.header_next = true;
                    self.end_nal_unit();
                }
                _ => self.zeros = 0,
            }
        }
        None
    }

    /// A non-VCL NAL unit starts with `header`: a parameter set is kept.
    /// Allocates only here (parameter sets come with keyframes).
    fn start_nal_unit(&mut self, header: u8) {
        if self.overrun || !self.is_parameter_set(header) {
            return;
        }
        self.sets.extend_from_slice(&START_CODE);
        self.collecting = Some(self.sets.len());
    }

    /// Keeps a byte of the parameter set being read.
    fn keep(&mut self, b: u8) {
        if self.sets.len() >= MAX_PARAMETER_SETS {
            self.overrun = true;
            self.collecting = None;
            self.sets = Vec::new();
            self.sps = None;
        } else {
            self.sets.push(b);
        }
    }

    /// A start code ended the NAL unit being read: a parameter set loses
    /// the start code's bytes it took (a NAL unit never ends with a zero).
    fn end_nal_unit(&mut self) {
        let Some(start) = self.collecting.take() else {
            return;
        };
        self.sets.pop();
        while self.sets.len() > start && self.sets.last() == Some(&0) {
            self.sets.pop();
        }
        if self.sets.get(start).is_some_and(|&h| self.is_sps(h)) {
            self.sps = Some(start..self.sets.len());
        }
    }

    /// The verdict so far.
    pub fn verdict(&self) -> Option<Picture> {
        self.found
    }

    /// The sequence parameter set that preceded the picture, when complete
    /// (its NAL unit from the header on, without start code).
    pub fn sps(&self) -> Option<&[u8]> {
        self.sps.clone().and_then(|r| self.sets.get(r))
    }

    /// The parameter set NAL units (H.264 SPS and PPS; HEVC VPS, SPS and
    /// PPS) that preceded the picture, each after a 4-byte start code, in
    /// stream order; `None` when there were none, or until the picture
    /// shows (they are complete only then).
    pub fn parameter_sets(&self) -> Option<&[u8]> {
        let complete = self.found.is_some() && !self.sets.is_empty();
        complete.then_some(&self.sets[..])
    }

    /// The codec.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    fn is_parameter_set(&self, header: u8) -> bool {
        match self.codec {
            Codec::H264 => matches!(header & 0x1f, 7 | 8),
            Codec::Hevc => matches!((header >> 1) & 0x3f, 32..=34),
        }
    }

    fn is_sps(&self, header: u8) -> bool {
        match self.codec {
            Codec::H264 => header & 0x1f == 7,
            Codec::Hevc => (header >> 1) & 0x3f == 33,
        }
    }

    /// The picture type if `header` (a NAL unit's first byte) starts a VCL
    /// NAL unit.
    fn classify(&self, header: u8) -> Option<Picture> {
        match self.codec {
            Codec::H264 => match header & 0x1f {
                5 => Some(Picture::Idr),
                1..=4 => Some(Picture::Other),
                _ => None,
            },
            Codec::Hevc => match (header >> 1) & 0x3f {
                19 | 20 => Some(Picture::Idr),
                16..=18 | 21 => Some(Picture::Cra),
                0..=31 => Some(Picture::Other),
                _ => None,
            },
        }
    }
}

/// Where parameter sets go in an access unit's Annex B data `es`: after
/// its access unit delimiter (H.264 type 9, HEVC type 35), which must stay
/// first, when `es` starts with one; else at 0. The offset is that of the
/// next start code (its leading zeros included); `None` when the
/// delimiter's end is not within `es`.
pub fn after_access_unit_delimiter(codec: Codec, es: &[u8]) -> Option<usize> {
    let code = match es {
        [0, 0, 1, ..] => 3,
        [0, 0, 0, 1, ..] => 4,
        _ => return Some(0),
    };
    let header = *es.get(code)?;
    let aud = match codec {
        Codec::H264 => header & 0x1f == 9,
        Codec::Hevc => (header >> 1) & 0x3f == 35,
    };
    if !aud {
        return Some(0);
    }
    let body = code + 1;
    let next = es.get(body..)?.windows(3).position(|w| w == [0, 0, 1])? + body;
    // The zero before a 4-byte start code belongs to it.
    Some(if es[next - 1] == 0 { next - 1 } else { next })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(codec: Codec, stream: &[u8], piece: usize) -> Option<Picture> {
        let mut s = FirstPicture::new(codec);
        let mut v = None;
        for chunk in stream.chunks(piece.max(1)) {
            v = s.feed(chunk);
        }
        v
    }

    /// AUD, SPS, PPS, SEI then an IDR slice, as x264 writes a keyframe.
    const H264_IDR: &[u8] = &[
        0, 0, 0, 1, 0x09, 0xf0, // AUD
        0, 0, 0, 1, 0x67, 0x64, 0x00, 0x1f, // SPS
        0, 0, 1, 0x68, 0xee, 0x3c, 0x80, // PPS
        0, 0, 1, 0x06, 0x05, 0x00, 0x00, 0x03, 0x00, 0x01, // SEI with emulation prevention
        0, 0, 1, 0x65, 0x88, 0x84, // IDR slice
    ];

    #[test]
    fn h264_idr_after_parameter_sets_whatever_the_packet_boundaries() {
        for piece in 1..H264_IDR.len() {
            assert_eq!(
                verdict(Codec::H264, H264_IDR, piece),
                Some(Picture::Idr),
                "piece {piece}"
            );
        }
        let p_slice = [0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x41, 0x9a];
        assert_eq!(verdict(Codec::H264, &p_slice, 3), Some(Picture::Other));
        // Parameter sets alone: no verdict yet.
        assert_eq!(verdict(Codec::H264, &H264_IDR[..20], 4), None);
    }

    #[test]
    fn hevc_idr_cra_and_trailing_pictures() {
        // VPS, SPS, PPS, then a slice of the given type.
        let au = |t: u8| {
            let mut v = vec![
                0, 0, 0, 1, 0x40, 0x01, 0, 0, 1, 0x42, 0x01, 0, 0, 1, 0x44, 0x01,
            ];
            v.extend([0, 0, 1, t << 1, 0x01, 0xaf]);
            v
        };
        assert_eq!(verdict(Codec::Hevc, &au(19), 2), Some(Picture::Idr));
        assert_eq!(verdict(Codec::Hevc, &au(20), 5), Some(Picture::Idr));
        assert_eq!(verdict(Codec::Hevc, &au(21), 1), Some(Picture::Cra));
        assert_eq!(verdict(Codec::Hevc, &au(1), 7), Some(Picture::Other));
    }

    #[test]
    fn parameter_sets_are_kept_with_start_codes_whatever_the_packet_boundaries() {
        let want: &[u8] = &[
            0, 0, 0, 1, 0x67, 0x64, 0x00, 0x1f, 0, 0, 0, 1, 0x68, 0xee, 0x3c, 0x80,
        ];
        for piece in 1..H264_IDR.len() {
            let mut s = FirstPicture::new(Codec::H264);
            for chunk in H264_IDR.chunks(piece) {
                s.feed(chunk);
            }
            assert_eq!(s.parameter_sets(), Some(want), "piece {piece}");
        }
        // Not before the picture shows; none in a P frame.
        let mut s = FirstPicture::new(Codec::H264);
        s.feed(&H264_IDR[..24]);
        assert_eq!(s.parameter_sets(), None);
        let mut s = FirstPicture::new(Codec::H264);
        s.feed(&[0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x41, 0x9a]);
        assert_eq!(s.parameter_sets(), None);
    }

    #[test]
    fn parameter_sets_go_after_the_access_unit_delimiter() {
        let h264 = |es: &[u8]| after_access_unit_delimiter(Codec::H264, es);
        assert_eq!(h264(&[0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, 0x41]), Some(6));
        assert_eq!(h264(&[0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x41]), Some(5));
        assert_eq!(h264(&[0, 0, 0, 1, 0x41, 0x9a]), Some(0));
        assert_eq!(h264(&[0xab]), Some(0));
        assert_eq!(h264(&[0, 0, 0, 1, 0x09, 0xf0, 0]), None);
        let hevc = [0, 0, 0, 1, 0x46, 0x01, 0x50, 0, 0, 1, 0x02, 0x01];
        assert_eq!(after_access_unit_delimiter(Codec::Hevc, &hevc), Some(7));
    }

    #[test]
    fn the_sps_before_the_picture_is_kept_whole() {
        for piece in 1..H264_IDR.len() {
            let mut s = FirstPicture::new(Codec::H264);
            for chunk in H264_IDR.chunks(piece) {
                s.feed(chunk);
            }
            assert_eq!(
                s.sps(),
                Some(&[0x67, 0x64, 0x00, 0x1f][..]),
                "piece {piece}"
            );
        }
    }
}
