//! A minimal transport stream multiplexer for tests, benches and examples
//! (feature `testmux`; this crate's own tests, benches and doctests enable
//! it): PAT, PMT and PES packets built by hand, so that tests control every
//! byte. The streams are H.264-like (real NAL unit headers, filler slice
//! data): good enough for demultiplexing and cutting, not for decoding.

use crate::ts::PACKET_SIZE;

const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_MPEG_2);

/// Builds packets with per-PID continuity counters.
#[derive(Debug, Default)]
pub struct Mux {
    cc: std::collections::HashMap<u16, u8>,
    /// The packets made so far.
    pub out: Vec<u8>,
}

/// The PMT's PID in [`Mux::pat`].
pub const PMT_PID: u16 = 0x1000;
/// The video PID of [`stream`].
pub const VIDEO_PID: u16 = 0x100;
/// The audio PID of [`stream`].
pub const AUDIO_PID: u16 = 0x101;
/// The SCTE-35 PID of [`stream_with_cues`].
pub const SCTE35_PID: u16 = 0x102;

impl Mux {
    fn next_cc(&mut self, pid: u16) -> u8 {
        let c = self.cc.entry(pid).or_insert(15);
        *c = (*c + 1) & 0x0f;
        *c
    }

    /// Packets carrying `payload` on `pid`; the first has PUSI set, the
    /// last is padded with adaptation-field stuffing.
    pub fn packets(&mut self, pid: u16, payload: &[u8], rai: bool) -> usize {
        let mut rest = payload;
        let mut first = true;
        let mut n = 0;
        while first || !rest.is_empty() {
            let mut p = vec![0x47, (pid >> 8) as u8 & 0x1f, pid as u8, 0];
            if first {
                p[1] |= 0x40;
            }
            let cc = self.next_cc(pid);
            let room = PACKET_SIZE - 4;
            let want_af = (first && rai) || rest.len() < room;
            if want_af {
                let take = rest.len().min(room - 2);
                let stuffing = room - 2 - take;
                p[3] = 0x30 | cc;
                p.push((1 + stuffing) as u8);
                p.push(if first && rai { 0x40 } else { 0 });
                p.extend(std::iter::repeat_n(0xff, stuffing));
                p.extend_from_slice(&rest[..take]);
                rest = &rest[take..];
            } else {
                p[3] = 0x10 | cc;
                p.extend_from_slice(&rest[..room]);
                rest = &rest[room..];
            }
            debug_assert_eq!(p.len(), PACKET_SIZE);
            self.out.extend_from_slice(&p);
            first = false;
            n += 1;
        }
        n
    }

    /// A packet on `pid` with only an adaptation field, carrying `pcr` (its
    /// 90 kHz base).
    pub fn pcr_packet(&mut self, pid: u16, pcr: u64) {
        let cc = self.cc.get(&pid).copied().unwrap_or(0);
        let mut p = vec![
            0x47,
            (pid >> 8) as u8 & 0x1f,
            pid as u8,
            0x20 | cc,
            183,
            0x10,
        ];
        p.extend([
            (pcr >> 25) as u8,
            (pcr >> 17) as u8,
            (pcr >> 9) as u8,
            (pcr >> 1) as u8,
            (pcr as u8) << 7 | 0x7e,
            0,
        ]);
        p.resize(PACKET_SIZE, 0xff);
        self.out.extend_from_slice(&p);
    }

    /// A PSI section (pointer field included) with its CRC.
    fn section(&mut self, pid: u16, table_id: u8, id: u16, version: u8, body: &[u8]) {
        let len = 5 + body.len() + 4;
        let mut s = vec![
            table_id,
            0xb0 | (len >> 8) as u8,
            len as u8,
            (id >> 8) as u8,
            id as u8,
            0xc1 | (version & 0x1f) << 1,
            0,
            0,
        ];
        s.extend_from_slice(body);
        let crc = CRC.checksum(&s);
        s.extend(crc.to_be_bytes());
        let mut payload = vec![0u8];
        payload.extend(s);
        self.packets(pid, &payload, false);
    }

    /// A PAT with one program, its PMT on [`PMT_PID`].
    pub fn pat(&mut self) {
        self.section(
            0,
            0x00,
            1,
            0,
            &[0, 1, 0xe0 | (PMT_PID >> 8) as u8, PMT_PID as u8],
        );
    }

    /// A PMT with `streams` as (stream_type, pid).
    pub fn pmt(&mut self, version: u8, streams: &[(u8, u16)]) {
        let pcr = streams.first().map_or(0x1fff, |s| s.1);
        let mut body = vec![0xe0 | (pcr >> 8) as u8, pcr as u8, 0xf0, 0];
        for (t, pid) in streams {
            body.extend([*t, 0xe0 | (pid >> 8) as u8, *pid as u8, 0xf0, 0]);
        }
        self.section(PMT_PID, 0x02, 1, version, &body);
    }

    /// A PES on `pid` with PTS (and DTS) carrying `es`, the first packet
    /// with the random access indicator if `rai`.
    pub fn pes(
        &mut self,
        pid: u16,
        stream_id: u8,
        pts: u64,
        dts: Option<u64>,
        es: &[u8],
        rai: bool,
    ) {
        let mut b = vec![0, 0, 1, stream_id, 0, 0, 0x80];
        match dts {
            Some(d) => {
                b.extend([0xc0, 10]);
                b.extend(ts_field(3, pts));
                b.extend(ts_field(1, d));
            }
            None => {
                b.extend([0x80, 5]);
                b.extend(ts_field(2, pts));
            }
        }
        b.extend_from_slice(es);
        self.packets(pid, &b, rai);
    }
}

fn ts_field(prefix: u8, t: u64) -> [u8; 5] {
    let t = t & ((1 << 33) - 1);
    [
        prefix << 4 | ((t >> 30) as u8 & 0x07) << 1 | 1,
        (t >> 22) as u8,
        ((t >> 15) as u8) << 1 | 1,
        (t >> 7) as u8,
        (t as u8) << 1 | 1,
    ]
}

/// An H.264 access unit: AUD, (SPS, PPS,) a slice; `size` bytes of filler
/// slice data so that it spans packets.
pub fn h264_au(idr: bool, size: usize) -> Vec<u8> {
    let mut v = vec![0, 0, 0, 1, 0x09, 0xf0];
    if idr {
        v.extend([
            0, 0, 0, 1, 0x67, 0x64, 0, 0x1f, 0, 0, 0, 1, 0x68, 0xee, 0x3c, 0x80,
        ]);
    }
    v.extend([0, 0, 1, if idr { 0x65 } else { 0x41 }]);
    v.extend(std::iter::repeat_n(0xab, size));
    v
}

/// A frame's duration in 90 kHz ticks (25 fps).
pub const FRAME: u64 = 3_600;

/// A stream of `frames` H.264 frames at 25 fps from `pts0`, a keyframe
/// every `gop` frames, PAT/PMT before each keyframe, and (optionally) an
/// AAC-like audio PES every 1920 ticks.
pub fn stream(frames: u64, gop: u64, pts0: u64, audio: bool) -> Vec<u8> {
    let mut m = Mux::default();
    let mut next_audio = pts0;
    for f in 0..frames {
        let pts = pts0 + f * FRAME;
        let key = f % gop == 0;
        if key {
            m.pat();
            let mut streams = vec![(0x1b, VIDEO_PID)];
            if audio {
                streams.push((0x0f, AUDIO_PID));
            }
            m.pmt(0, &streams);
        }
        // Big keyframes span many packets; the IDR NAL sits in the first.
        m.pes(
            VIDEO_PID,
            0xe0,
            pts + 2 * FRAME,
            Some(pts),
            &h264_au(key, if key { 3000 } else { 400 }),
            key,
        );
        while audio && next_audio <= pts {
            m.pes(
                AUDIO_PID,
                0xc0,
                next_audio,
                None,
                &[0xff, 0xf1, 0x50, 0x80, 0, 0x1f, 0xfc],
                false,
            );
            next_audio += 1_920;
        }
    }
    m.out
}

/// A video stream as [`stream`] (no audio) whose PMT also lists an SCTE-35
/// stream (type 0x86) on [`SCTE35_PID`], and each `(frame, section)` of
/// `cues` sent on it just before that frame.
pub fn stream_with_cues(frames: u64, gop: u64, pts0: u64, cues: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let mut m = Mux::default();
    for f in 0..frames {
        let pts = pts0 + f * FRAME;
        let key = f % gop == 0;
        if key {
            m.pat();
            m.pmt(0, &[(0x1b, VIDEO_PID), (0x86, SCTE35_PID)]);
        }
        for (_, section) in cues.iter().filter(|c| c.0 == f) {
            let mut payload = vec![0u8];
            payload.extend_from_slice(section);
            m.packets(SCTE35_PID, &payload, false);
        }
        m.pes(
            VIDEO_PID,
            0xe0,
            (pts + 2 * FRAME) % (1 << 33),
            Some(pts % (1 << 33)),
            &h264_au(key, if key { 3000 } else { 400 }),
            key,
        );
    }
    m.out
}

/// What picture a frame of [`stream_of`] starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// An IDR picture (H.264 or HEVC).
    Idr,
    /// An HEVC CRA picture (open GOP).
    Cra,
    /// Any other picture.
    Other,
}

/// An HEVC access unit: VPS, SPS and PPS headers before IDR and CRA
/// pictures, then a slice NAL unit of `nal_type` with `size` bytes of
/// filler.
pub fn hevc_au(nal_type: u8, size: usize) -> Vec<u8> {
    let mut v = vec![0, 0, 0, 1, 0x46, 0x01, 0x50];
    if nal_type >= 16 {
        v.extend([
            0, 0, 1, 0x40, 0x01, 0, 0, 1, 0x42, 0x01, 0, 0, 1, 0x44, 0x01,
        ]);
    }
    v.extend([0, 0, 1, nal_type << 1, 0x01]);
    v.extend(std::iter::repeat_n(0xab, size));
    v
}

/// A video-only stream of `frames` frames at 25 fps from `pts0` whose
/// frame `f` is `kind(f)`: H.264 (IDR and other pictures) or, with `hevc`,
/// HEVC (IDR_W_RADL, CRA and TRAIL_R pictures); PAT/PMT before each IDR or
/// CRA picture. Any GOP pattern: long GOPs, open GOPs.
pub fn stream_of(frames: u64, pts0: u64, hevc: bool, kind: &dyn Fn(u64) -> FrameKind) -> Vec<u8> {
    let mut m = Mux::default();
    for f in 0..frames {
        let pts = pts0 + f * FRAME;
        let k = kind(f);
        let key = k != FrameKind::Other;
        if key {
            m.pat();
            m.pmt(0, &[(if hevc { 0x24 } else { 0x1b }, VIDEO_PID)]);
        }
        let size = if key { 3000 } else { 400 };
        let es = match (hevc, k) {
            (false, _) => h264_au(k == FrameKind::Idr, size),
            (true, FrameKind::Idr) => hevc_au(19, size),
            (true, FrameKind::Cra) => hevc_au(21, size),
            (true, FrameKind::Other) => hevc_au(1, size),
        };
        m.pes(VIDEO_PID, 0xe0, pts + 2 * FRAME, Some(pts), &es, key);
    }
    m.out
}

/// An H.264 keyframe carrying the given SPS and PPS NAL units (header
/// byte included, no start code): AUD, SPS, PPS, then an IDR slice with
/// `size` bytes of filler.
pub fn h264_keyframe(sps: &[u8], pps: &[u8], size: usize) -> Vec<u8> {
    let mut v = vec![0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1];
    v.extend_from_slice(sps);
    v.extend([0, 0, 0, 1]);
    v.extend_from_slice(pps);
    v.extend([0, 0, 1, 0x65]);
    v.extend(std::iter::repeat_n(0xab, size));
    v
}

/// SCTE-35 splice_info_sections, bit by bit, for tests: the sections
/// threefive decodes as the same cues (see `crates/hls/src/scte35/tests.rs`).
pub mod cue {
    use super::CRC;

    /// A big-endian bit writer for the sections the tests make.
    #[derive(Debug, Default)]
    pub struct Writer {
        /// The bytes written.
        pub bytes: Vec<u8>,
        bit: u32,
    }

    impl Writer {
        /// Appends the low `n` bits of `v`.
        pub fn bits(&mut self, n: u32, v: u64) -> &mut Self {
            for i in (0..n).rev() {
                if self.bit == 0 {
                    self.bytes.push(0);
                }
                let b = (v >> i & 1) as u8;
                *self.bytes.last_mut().expect("a byte") |= b << (7 - self.bit);
                self.bit = (self.bit + 1) % 8;
            }
            self
        }
        /// Appends whole bytes (on a byte boundary).
        pub fn raw(&mut self, b: &[u8]) -> &mut Self {
            assert_eq!(self.bit, 0);
            self.bytes.extend_from_slice(b);
            self
        }
    }

    /// A whole section: header, `command` of `command_type`, `descriptors`, CRC.
    pub fn section(
        pts_adjustment: u64,
        command_type: u8,
        command: &[u8],
        descriptors: &[u8],
    ) -> Vec<u8> {
        let mut w = Writer::default();
        let length = 11 + command.len() + 2 + descriptors.len() + 4;
        w.bits(8, 0xfc)
            .bits(1, 0)
            .bits(1, 0)
            .bits(2, 3)
            .bits(12, length as u64);
        w.bits(8, 0)
            .bits(1, 0)
            .bits(6, 0)
            .bits(33, pts_adjustment)
            .bits(8, 0xff);
        w.bits(12, 0xfff)
            .bits(12, command.len() as u64)
            .bits(8, u64::from(command_type));
        w.raw(command)
            .bits(16, descriptors.len() as u64)
            .raw(descriptors);
        let crc = CRC.checksum(&w.bytes);
        w.raw(&crc.to_be_bytes());
        w.bytes
    }

    /// A time_signal() command.
    pub fn time_signal(pts: Option<u64>) -> Vec<u8> {
        let mut w = Writer::default();
        match pts {
            Some(p) => w.bits(1, 1).bits(6, 0x3f).bits(33, p),
            None => w.bits(1, 0).bits(7, 0x7f),
        };
        w.bytes
    }

    /// A segmentation descriptor (CUEI) of `type_id` for `event`.
    pub fn segmentation_descriptor(event: u32, type_id: u8, duration: Option<u64>) -> Vec<u8> {
        let mut w = Writer::default();
        w.raw(b"CUEI")
            .bits(32, u64::from(event))
            .bits(1, 0)
            .bits(1, 0)
            .bits(6, 0x3f);
        w.bits(1, 1)
            .bits(1, u64::from(duration.is_some()))
            .bits(1, 1)
            .bits(5, 0x1f);
        if let Some(d) = duration {
            w.bits(40, d);
        }
        // An ad-ID UPID of 12 bytes.
        w.bits(8, 0x03).bits(8, 12).raw(b"ABCD01234567");
        w.bits(8, u64::from(type_id)).bits(8, 1).bits(8, 1);
        let mut d = vec![0x02, w.bytes.len() as u8];
        d.extend(w.bytes);
        d
    }

    /// A program splice_insert() of `event`: out of network or back, at
    /// `pts` (`None`: immediate), with a break duration (auto-return, ticks).
    pub fn insert(
        event: u32,
        out: bool,
        pts: Option<u64>,
        duration: Option<(bool, u64)>,
    ) -> Vec<u8> {
        let mut w = Writer::default();
        w.bits(32, u64::from(event)).bits(1, 0).bits(7, 0x7f);
        w.bits(1, u64::from(out))
            .bits(1, 1)
            .bits(1, u64::from(duration.is_some()));
        w.bits(1, u64::from(pts.is_none())).bits(4, 0xf);
        if let Some(p) = pts {
            w.bits(1, 1).bits(6, 0x3f).bits(33, p);
        }
        if let Some((auto, d)) = duration {
            w.bits(1, u64::from(auto)).bits(6, 0x3f).bits(33, d);
        }
        w.bits(16, 7).bits(8, 1).bits(8, 2);
        w.bytes
    }
}
