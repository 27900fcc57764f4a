//! What a multivariant playlist says about a rendition, read from the
//! stream itself: the RFC 6381 `CODECS` string and the picture size from
//! the H.264 or HEVC sequence parameter set, the audio codec from the ADTS
//! header.

use crate::nal::Codec;

/// The video stream's codec string and picture size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoFormat {
    /// RFC 6381 codec string, e.g. `avc1.64001f` or `hvc1.1.6.L93.B0`.
    pub codecs: String,
    /// Width in pixels (after cropping).
    pub width: u32,
    /// Height in pixels (after cropping).
    pub height: u32,
}

/// The RBSP of a NAL unit: its payload with emulation-prevention bytes
/// (00 00 03) removed.
fn rbsp(nal: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal.len());
    let mut zeros = 0;
    for &b in nal {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

/// Reads bits most significant first; running past the end yields `None`.
struct Bits<'a> {
    data: &'a [u8],
    at: usize,
}

impl Bits<'_> {
    fn bit(&mut self) -> Option<u32> {
        let byte = *self.data.get(self.at / 8)?;
        let b = (byte >> (7 - self.at % 8)) & 1;
        self.at += 1;
        Some(u32::from(b))
    }

    fn bits(&mut self, n: u32) -> Option<u32> {
        (0..n).try_fold(0u32, |v, _| Some(v << 1 | self.bit()?))
    }

    fn skip(&mut self, n: usize) -> Option<()> {
        self.at += n;
        (self.at <= self.data.len() * 8).then_some(())
    }

    /// ue(v): unsigned exponential-Golomb.
    fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        Some((1u32 << zeros) - 1 + self.bits(zeros)?)
    }

    fn se(&mut self) -> Option<i32> {
        let k = self.ue()?;
        Some(if k % 2 == 1 {
            (k / 2 + 1) as i32
        } else {
            -((k / 2) as i32)
        })
    }
}

/// Horizontal and vertical chroma subsampling of `chroma_format_idc`
/// (4:2:0, 4:2:2, else none), the unit of the conformance-window offsets.
fn chroma_subsampling(chroma_format_idc: u32) -> (u32, u32) {
    match chroma_format_idc {
        1 => (2, 2),
        2 => (2, 1),
        _ => (1, 1),
    }
}

/// Parses an SPS NAL unit (header byte(s) included).
pub fn parse_sps(codec: Codec, nal: &[u8]) -> Option<VideoFormat> {
    match codec {
        Codec::H264 => h264(&rbsp(nal.get(1..)?)),
        Codec::Hevc => hevc(&rbsp(nal.get(2..)?)),
    }
}

/// H.264 SPS (ITU-T H.264 §7.3.2.1.1).
fn h264(d: &[u8]) -> Option<VideoFormat> {
    let (profile, constraints, level) = (*d.first()?, *d.get(1)?, *d.get(2)?);
    let mut b = Bits { data: d, at: 24 };
    b.ue()?; // seq_parameter_set_id
    let mut chroma_format_idc = 1;
    if matches!(
        profile,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    ) {
        chroma_format_idc = b.ue()?;
        if chroma_format_idc == 3 {
            b.skip(1)?; // separate_colour_plane_flag
        }
        b.ue()?; // bit_depth_luma_minus8
        b.ue()?; // bit_depth_chroma_minus8
        b.skip(1)?; // qpprime_y_zero_transform_bypass_flag
        if b.bit()? == 1 {
            // seq_scaling_matrix_present_flag: skip the scaling lists.
            let lists = if chroma_format_idc == 3 { 12 } else { 8 };
            for i in 0..lists {
                if b.bit()? == 1 {
                    let size = if i < 6 { 16 } else { 64 };
                    let (mut last, mut next) = (8i32, 8i32);
                    for _ in 0..size {
                        if next != 0 {
                            // As the standard's arithmetic, wrapping on
                            // absurd deltas (the value only decides skips).
                            next = last.wrapping_add(b.se()?).wrapping_add(256) % 256;
                        }
                        if next != 0 {
                            last = next;
                        }
                    }
                }
            }
        }
    }
    b.ue()?; // log2_max_frame_num_minus4
    match b.ue()? {
        0 => {
            b.ue()?; // log2_max_pic_order_cnt_lsb_minus4
        }
        1 => {
            b.skip(1)?;
            b.se()?;
            b.se()?;
            for _ in 0..b.ue()? {
                b.se()?;
            }
        }
        _ => {}
    }
    b.ue()?; // max_num_ref_frames
    b.skip(1)?; // gaps_in_frame_num_value_allowed_flag
    let width_mbs = b.ue()?.checked_add(1)?;
    let height_units = b.ue()?.checked_add(1)?;
    let frame_mbs_only = b.bit()?;
    if frame_mbs_only == 0 {
        b.skip(1)?; // mb_adaptive_frame_field_flag
    }
    b.skip(1)?; // direct_8x8_inference_flag
    let (mut crop_x, mut crop_y) = (0, 0);
    if b.bit()? == 1 {
        let (l, r, t, bo) = (b.ue()?, b.ue()?, b.ue()?, b.ue()?);
        let (sub_w, sub_h) = chroma_subsampling(chroma_format_idc);
        crop_x = l.checked_add(r)?.checked_mul(sub_w)?;
        crop_y = t
            .checked_add(bo)?
            .checked_mul(sub_h)?
            .checked_mul(2 - frame_mbs_only)?;
    }
    // Sizes past u32 are no picture: None, never an overflow.
    let width = width_mbs.checked_mul(16)?.checked_sub(crop_x)?;
    let height = height_units
        .checked_mul(16)?
        .checked_mul(2 - frame_mbs_only)?
        .checked_sub(crop_y)?;
    Some(VideoFormat {
        codecs: format!("avc1.{profile:02x}{constraints:02x}{level:02x}"),
        width,
        height,
    })
}

/// HEVC SPS (ITU-T H.265 §7.3.2.2), codec string per ISO/IEC 14496-15 E.3.
fn hevc(d: &[u8]) -> Option<VideoFormat> {
    let mut b = Bits { data: d, at: 0 };
    b.skip(4)?; // sps_video_parameter_set_id
    let max_sub_layers_minus1 = b.bits(3)?;
    b.skip(1)?; // sps_temporal_id_nesting_flag
                // profile_tier_level(1, max_sub_layers_minus1)
    let profile_space = b.bits(2)?;
    let tier = b.bit()?;
    let profile_idc = b.bits(5)?;
    let compat = b.bits(32)?;
    let mut constraints = [0u8; 6];
    for c in &mut constraints {
        *c = b.bits(8)? as u8;
    }
    let level_idc = b.bits(8)?;
    let mut sub_profile = Vec::new();
    for _ in 0..max_sub_layers_minus1 {
        sub_profile.push((b.bit()?, b.bit()?));
    }
    if max_sub_layers_minus1 > 0 {
        b.skip(2 * (8 - max_sub_layers_minus1 as usize))?;
    }
    for (profile_present, level_present) in sub_profile {
        if profile_present == 1 {
            b.skip(88)?;
        }
        if level_present == 1 {
            b.skip(8)?;
        }
    }
    b.ue()?; // sps_seq_parameter_set_id
    let chroma_format_idc = b.ue()?;
    if chroma_format_idc == 3 {
        b.skip(1)?;
    }
    let mut width = b.ue()?;
    let mut height = b.ue()?;
    if b.bit()? == 1 {
        let (l, r, t, bo) = (b.ue()?, b.ue()?, b.ue()?, b.ue()?);
        let (sub_w, sub_h) = chroma_subsampling(chroma_format_idc);
        width = width.checked_sub(l.checked_add(r)?.checked_mul(sub_w)?)?;
        height = height.checked_sub(t.checked_add(bo)?.checked_mul(sub_h)?)?;
    }
    // hvc1.[space]profile.compat(reversed bits, hex).[L|H]level[.constraint bytes, trailing zeros dropped]
    let space = ["", "A", "B", "C"][profile_space as usize & 3];
    let mut codecs = format!(
        "hvc1.{space}{profile_idc}.{:X}.{}{level_idc}",
        compat.reverse_bits(),
        if tier == 1 { 'H' } else { 'L' }
    );
    let keep = constraints
        .iter()
        .rposition(|c| *c != 0)
        .map_or(1, |i| i + 1);
    for c in &constraints[..keep] {
        codecs.push_str(&format!(".{c:X}"));
    }
    Some(VideoFormat {
        codecs,
        width,
        height,
    })
}

/// The RFC 6381 codec string of an ADTS AAC frame (`mp4a.40.<object type>`).
pub fn adts_codec(frame: &[u8]) -> Option<String> {
    if frame.len() < 7 || frame[0] != 0xff || frame[1] & 0xf6 != 0xf0 {
        return None;
    }
    let object_type = (frame[2] >> 6) + 1;
    Some(format!("mp4a.40.{object_type}"))
}

/// The number of channels an ADTS AAC frame header gives
/// (`channel_configuration`, ISO/IEC 14496-3 Table 1.19: 1–6 channels as
/// is, 7 is 7.1, 8 channels); `None` for 0 (given in the stream instead)
/// or no ADTS header.
pub fn adts_channels(frame: &[u8]) -> Option<u8> {
    if frame.len() < 7 || frame[0] != 0xff || frame[1] & 0xf6 != 0xf0 {
        return None;
    }
    match ((frame[2] & 0x01) << 2) | (frame[3] >> 6) {
        0 => None,
        7 => Some(8),
        channels => Some(channels),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // SPS units from Debian's ffmpeg (libx264, libx265); the expected
    // values are what ffprobe reports for the same streams.
    #[test]
    fn h264_high_1080p_is_cropped_from_1088_coded_lines() {
        let sps = [
            0x67, 0x64, 0x00, 0x28, 0xac, 0xd9, 0x40, 0x78, 0x02, 0x27, 0xe5, 0xc0, 0x44, 0x00,
            0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xc8, 0x3c, 0x60, 0xc6, 0x58,
        ];
        let f = parse_sps(Codec::H264, &sps).expect("parses");
        assert_eq!(f.codecs, "avc1.640028");
        assert_eq!((f.width, f.height), (1920, 1080));
    }

    #[test]
    fn h264_constrained_baseline_426x240() {
        let sps = [
            0x67, 0x42, 0xc0, 0x15, 0xd9, 0x01, 0xb1, 0xfe, 0x4f, 0x01, 0x10, 0x00, 0x00, 0x03,
            0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x62, 0xe4, 0x80,
        ];
        let f = parse_sps(Codec::H264, &sps).expect("parses");
        assert_eq!(f.codecs, "avc1.42c015");
        assert_eq!((f.width, f.height), (426, 240));
    }

    #[test]
    fn hevc_main_720p() {
        let sps = [
            0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00,
            0x00, 0x03, 0x00, 0x5d, 0xa0, 0x02, 0x80, 0x80, 0x2d, 0x16, 0x59, 0x59, 0xa4, 0x93,
            0x2b, 0xc0, 0x5a, 0x02, 0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x03, 0x00, 0x32,
            0x10,
        ];
        let f = parse_sps(Codec::Hevc, &sps).expect("parses");
        // Main (1), compatible with Main and Main 10 (flags 1, 2 → 0x6),
        // Main tier level 3.1 (93), constraints progressive + frame-only.
        assert_eq!(f.codecs, "hvc1.1.6.L93.90");
        assert_eq!((f.width, f.height), (1280, 720));
    }

    // ADTS headers written by Debian's ffmpeg (-c:a aac -f adts) for mono,
    // stereo and 5.1 (ffprobe: 1, 2, 6 channels); 7 stands for 8 channels.
    #[test]
    fn adts_channels_from_channel_configuration() {
        let channels = |h: [u8; 7]| adts_channels(&h);
        assert_eq!(
            channels([0xff, 0xf1, 0x4c, 0x40, 0x1b, 0x7f, 0xfc]),
            Some(1)
        );
        assert_eq!(channels([0xff, 0xf1, 0x50, 0x80, 0, 0x1f, 0xfc]), Some(2));
        assert_eq!(
            channels([0xff, 0xf1, 0x4d, 0x80, 0x2f, 0xdf, 0xfc]),
            Some(6)
        );
        assert_eq!(channels([0xff, 0xf1, 0x4d, 0xc0, 0, 0x1f, 0xfc]), Some(8));
        assert_eq!(channels([0xff, 0xf1, 0x4c, 0x00, 0, 0x1f, 0xfc]), None);
        assert_eq!(adts_channels(&[0xff, 0xf1, 0x50]), None);
        assert_eq!(channels([0x47, 0xf1, 0x50, 0x80, 0, 0x1f, 0xfc]), None);
    }

    #[test]
    fn adts_aac_lc() {
        assert_eq!(
            adts_codec(&[0xff, 0xf1, 0x50, 0x80, 0, 0x1f, 0xfc]).as_deref(),
            Some("mp4a.40.2")
        );
        assert_eq!(
            adts_codec(&[0xff, 0xf1, 0x10, 0x80, 0, 0x1f, 0xfc]).as_deref(),
            Some("mp4a.40.1")
        );
        assert_eq!(adts_codec(&[0x00, 0xf1, 0x50, 0x80, 0, 0x1f, 0xfc]), None);
    }

    /// Bits written most significant first, with exp-Golomb codes.
    #[derive(Default)]
    struct Writer(Vec<bool>);

    impl Writer {
        fn bits(&mut self, v: u64, n: u32) -> &mut Self {
            self.0.extend((0..n).rev().map(|i| v >> i & 1 == 1));
            self
        }

        fn ue(&mut self, v: u64) -> &mut Self {
            let n = 64 - (v + 1).leading_zeros();
            self.bits(0, n - 1).bits(v + 1, n)
        }

        /// The SPS NAL unit: header, then the bits padded with ones.
        fn nal(&self, header: u8) -> Vec<u8> {
            let mut out = vec![header];
            out.extend(self.0.chunks(8).map(|c| {
                (0..8).fold(0u8, |b, i| {
                    b << 1 | u8::from(c.get(i).copied().unwrap_or(true))
                })
            }));
            out
        }
    }

    /// A baseline-profile SPS of `width_mbs` × `height_mbs` macroblocks
    /// (minus one each) and the given cropping (left, right, top, bottom).
    fn baseline(width_mbs: u64, height_mbs: u64, crop: Option<[u64; 4]>) -> Vec<u8> {
        let mut w = Writer::default();
        w.bits(66, 8).bits(0xc0, 8).bits(30, 8); // profile, constraints, level
        w.ue(0).ue(0).ue(2).ue(1).bits(0, 1); // id, frame_num, POC type 2, refs, gaps
        w.ue(width_mbs).ue(height_mbs).bits(1, 1).bits(1, 1); // frame_mbs_only, direct_8x8
        match crop {
            Some(c) => {
                w.bits(1, 1);
                for v in c {
                    w.ue(v);
                }
            }
            None => {
                w.bits(0, 1);
            }
        }
        w.bits(0, 1); // vui_parameters_present_flag
        w.nal(0x67)
    }

    #[test]
    fn a_hand_made_sps_reads_as_made() {
        let f = parse_sps(Codec::H264, &baseline(39, 22, Some([0, 0, 0, 4])));
        assert_eq!(f.map(|f| (f.width, f.height)), Some((640, 360)));
    }

    /// Regression (the ts_demux fuzz target): sizes past u32, from the
    /// macroblock counts or the cropping, overflowed (a panic where
    /// overflow is checked); they are no picture size.
    #[test]
    fn sizes_past_u32_are_refused_without_overflow() {
        let max = u64::from(u32::MAX) - 1; // the largest ue(v) read
        assert_eq!(parse_sps(Codec::H264, &baseline(max, 10, None)), None);
        assert_eq!(parse_sps(Codec::H264, &baseline(10, max, None)), None);
        let crop = Some([max, max, 0, 0]);
        assert_eq!(parse_sps(Codec::H264, &baseline(10, 10, crop)), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80)) {
            let _ = parse_sps(Codec::H264, &b);
            let _ = parse_sps(Codec::Hevc, &b);
            let _ = adts_codec(&b);
        }
    }
}
