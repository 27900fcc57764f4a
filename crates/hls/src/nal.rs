//! Finding random access points in H.264 and HEVC elementary streams: the
//! type of the first picture (VCL NAL unit) of an access unit, read from the
//! Annex B byte stream as it arrives, packet by packet.

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
    /// The sequence parameter set seen before the picture, if any (header
    /// included; may end with zero bytes of the next start code).
    sps: Option<Vec<u8>>,
    collecting: bool,
}

/// Longest SPS kept (real ones are tens of bytes).
const MAX_SPS: usize = 512;

impl FirstPicture {
    /// A scanner for one access unit of `codec`.
    pub fn new(codec: Codec) -> Self {
        Self {
            codec,
            zeros: 0,
            header_next: false,
            found: None,
            sps: None,
            collecting: false,
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
                self.collecting = self.is_sps(b);
                if self.collecting {
                    self.sps = Some(Vec::new());
                }
            }
            if self.collecting {
                if let Some(sps) = self.sps.as_mut().filter(|s| s.len() < MAX_SPS) {
                    sps.push(b);
                }
            }
            match b {
                0 => self.zeros = (self.zeros + 1).min(3),
                1 if self.zeros >= 2 => {
                    self.zeros = 0;
                    self.header_next = true;
                    if self.collecting {
                        self.collecting = false;
                        // Drop the start code that ended it.
                        if let Some(sps) = &mut self.sps {
                            sps.pop();
                            while sps.last() == Some(&0) {
                                sps.pop();
                            }
                        }
                    }
                }
                _ => self.zeros = 0,
            }
        }
        None
    }

    /// The verdict so far.
    pub fn verdict(&self) -> Option<Picture> {
        self.found
    }

    /// The sequence parameter set that preceded the picture, when complete.
    pub fn sps(&self) -> Option<&[u8]> {
        self.sps.as_deref().filter(|_| !self.collecting)
    }

    /// The codec.
    pub fn codec(&self) -> Codec {
        self.codec
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
