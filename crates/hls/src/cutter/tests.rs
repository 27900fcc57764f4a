use super::*;
use crate::demux::MAX_HELD;
use crate::nal::{Codec, FirstPicture, Picture};
use crate::pes;
use crate::testmux::{Mux, AUDIO_PID, VIDEO_PID};
use crate::ts::{Packet, Pid};
use proptest::prelude::*;

use crate::testmux::{stream, FRAME};
use crate::Timestamp;

fn cut(input: &[u8], config: CutterConfig) -> (Vec<Segment>, CutterStats) {
    let mut c = SegmentCutter::new(config);
    let mut out = Vec::new();
    for p in input.chunks(PACKET_SIZE) {
        let _ = c.push(p.try_into().expect("188"));
        while let Some(s) = c.pop() {
            out.push(s);
        }
    }
    c.finish();
    out.extend(std::iter::from_fn(|| c.pop()));
    (out, c.stats())
}

fn secs(segs: &[Segment]) -> Vec<f64> {
    segs.iter()
        .map(|s| (s.seconds() * 1000.0).round() / 1000.0)
        .collect()
}

/// Every segment opens with PAT, PMT and a video PES whose first picture is an IDR.
fn assert_opens_with_keyframe(segs: &[Segment]) {
    for (i, s) in segs.iter().enumerate() {
        let pkts: Vec<Packet<'_>> = s
            .bytes
            .chunks(PACKET_SIZE)
            .map(|b| Packet::parse(b.try_into().expect("188")).expect("valid"))
            .collect();
        // The test mux's PAT and PMT are one packet each.
        assert_eq!(s.table_bytes, 2 * PACKET_SIZE, "segment {i}");
        assert_eq!(pkts[0].pid, Pid::PAT, "segment {i}");
        assert_eq!(pkts[1].pid, Pid(crate::testmux::PMT_PID), "segment {i}");
        let v = pkts
            .iter()
            .find(|p| p.pid == Pid(VIDEO_PID))
            .expect("video");
        assert!(v.payload_unit_start_indicator, "segment {i}");
        let h = pes::parse_header(v.payload).expect("PES");
        let mut scan = FirstPicture::new(Codec::H264);
        assert_eq!(
            scan.feed(&v.payload[h.data_offset..]),
            Some(Picture::Idr),
            "segment {i}"
        );
        assert_eq!(h.pts, Some(s.start), "segment {i}");
    }
}

#[test]
fn two_second_gops_make_six_second_segments() {
    let (segs, stats) = cut(&stream(750, 50, 0, true), CutterConfig::default());
    assert_eq!(secs(&segs), [6.0, 6.0, 6.0, 6.0, 6.0]);
    assert_opens_with_keyframe(&segs);
    assert!(segs.iter().all(|s| !s.discontinuity && !s.long));
    assert_eq!(stats.demux.continuity_errors, 0);
    assert_eq!(stats.long_segments, 0);
}

#[test]
fn segments_never_round_above_the_target_when_keyframes_allow() {
    // 2.5 s GOPs: waiting for the keyframe at 7.5 s would round to 8 > 6.
    let (segs, stats) = cut(&stream(750, 62, 0, false), CutterConfig::default());
    assert!(segs.iter().all(|s| s.seconds() < 6.5), "{:?}", secs(&segs));
    assert_eq!(stats.long_segments, 0);
    assert_opens_with_keyframe(&segs);
}

#[test]
fn a_first_gop_longer_than_the_target_raises_the_announced_target_and_says_so() {
    // 8 s GOPs, target 6: one GOP per segment under an announced 8 (this
    // test asserted three segments flagged long under 6 before).
    let mut c = SegmentCutter::new(CutterConfig::default());
    let input = stream(600, 200, 0, false);
    let mut segs = Vec::new();
    for p in input.chunks(PACKET_SIZE) {
        let _ = c.push(p.try_into().expect("188"));
        segs.extend(std::iter::from_fn(|| c.pop()));
    }
    c.finish();
    segs.extend(std::iter::from_fn(|| c.pop()));
    assert_eq!(secs(&segs), [8.0, 8.0, 8.0]);
    assert_eq!(c.announced_target(), Some(8));
    assert!(segs.iter().all(|s| !s.long && s.independent));
    let stats = c.stats();
    assert_eq!((stats.long_segments, stats.forced_cuts), (0, 0));
    assert_eq!(
        c.pop_notice(),
        Some(CutNotice::TargetRaised {
            gop: 720_000,
            asked: 6,
            announced: 8,
            frame: 3_600
        })
    );
    assert_eq!(c.pop_notice(), None);
}

#[test]
fn the_33_bit_wrap_is_not_a_discontinuity() {
    let pts0 = (1 << 33) - 7 * 90_000;
    let (segs, stats) = cut(&stream(750, 50, pts0, true), CutterConfig::default());
    assert_eq!(secs(&segs), [6.0, 6.0, 6.0, 6.0, 6.0]);
    assert_eq!(stats.discontinuities, 0);
    assert!(segs.iter().all(|s| !s.discontinuity));
    assert_opens_with_keyframe(&segs);
}

#[test]
fn an_encoder_restart_becomes_a_discontinuity() {
    // 8 s of stream, then the encoder restarts at PTS 0 again.
    let mut input = stream(200, 50, 900_000, true);
    input.extend(stream(300, 50, 0, true));
    let (segs, stats) = cut(&input, CutterConfig::default());
    assert_eq!(stats.discontinuities, 1);
    // 6 s, then the 2 s left of the old timeline, then the new one.
    assert_eq!(secs(&segs), [6.0, 2.0, 6.0, 6.0]);
    let flags: Vec<bool> = segs.iter().map(|s| s.discontinuity).collect();
    assert_eq!(flags, [false, false, true, false]);
    assert_opens_with_keyframe(&segs);
}

#[test]
fn audio_only_is_cut_by_time() {
    let mut m = Mux::default();
    m.pat();
    m.pmt(0, &[(0x0f, AUDIO_PID)]);
    for i in 0..(20 * 90_000 / 1_920) {
        m.pes(
            AUDIO_PID,
            0xc0,
            i * 1_920,
            None,
            &[0xff, 0xf1, 0x50, 0x80, 0, 0x1f, 0xfc],
            false,
        );
    }
    let (segs, _) = cut(&m.out, CutterConfig::default());
    let d = secs(&segs);
    assert_eq!(d.len(), 4, "{d:?}");
    assert!(d[..3].iter().all(|s| (6.0..6.03).contains(s)), "{d:?}");
}

#[test]
fn lost_and_broken_packets_are_counted_and_cutting_goes_on() {
    let mut input = stream(300, 50, 0, true);
    // Lose packet 500, break the sync byte of packet 900.
    input.drain(500 * PACKET_SIZE..501 * PACKET_SIZE);
    input[900 * PACKET_SIZE] = 0x46;
    let (segs, stats) = cut(&input, CutterConfig::default());
    // The lost packet, and the gap the dropped broken one leaves.
    assert_eq!(stats.demux.continuity_errors, 2);
    assert_eq!(stats.demux.bad_packets, 1);
    assert_eq!(secs(&segs), [6.0, 6.0]);
}

/// Segments minus their leading PAT/PMT copies are the input from the first
/// keyframe's PAT on: no packet lost, duplicated or reordered. A forced
/// cut's first video packet is rebuilt as several (parameter sets
/// inserted), the last with the original's continuity counter: that run
/// stands for the original packet.
fn assert_conserved(input: &[u8], segs: &[Segment]) {
    // The first segment's copies are the stream's own first PAT/PMT.
    let want = &input[2 * PACKET_SIZE..];
    let mut rebuilt = Vec::new();
    for s in segs {
        let mut own = &s.bytes[2 * PACKET_SIZE..];
        if !s.independent {
            let original = &want[rebuilt.len()..rebuilt.len() + PACKET_SIZE];
            let cc = original[3] & 0x0f;
            let run = own
                .chunks(PACKET_SIZE)
                .position(|p| p[3] & 0x0f == cc)
                .expect("the rebuilt run ends with the original counter");
            rebuilt.extend_from_slice(original);
            own = &own[(run + 1) * PACKET_SIZE..];
        }
        rebuilt.extend_from_slice(own);
    }
    // Later segments: their copies replaced nothing, the originals stay in place.
    assert_eq!(rebuilt.len(), want.len());
    assert!(rebuilt == want, "packets lost or reordered");
}

#[test]
fn no_packet_is_lost_or_duplicated() {
    let input = stream(400, 50, 0, true);
    let (segs, _) = cut(&input, CutterConfig::default());
    assert_conserved(&input, &segs);
}

proptest! {
    /// Any GOP length, start time and target: packets are conserved, every
    /// segment opens with a keyframe, and only segments whose GOP exceeds
    /// the target round above it.
    #[test]
    fn cutting_invariants(gop in 10u64..120, pts0 in 0u64..(1 << 33), target in 2u32..8, frames in 50u64..400) {
        let input = stream(frames, gop, pts0, true);
        let config = CutterConfig { target_duration: target, ..CutterConfig::default() };
        let (segs, stats) = cut(&input, config);
        assert_conserved(&input, &segs);
        assert_opens_with_keyframe(&segs);
        prop_assert_eq!(stats.discontinuities, 0);
        let gop_secs = gop as f64 * FRAME as f64 / 90_000.0;
        for s in &segs {
            if gop_secs < f64::from(target) {
                prop_assert!(!s.long, "{} s segment, {} s GOP, target {}", s.seconds(), gop_secs, target);
            }
        }
        let total: u64 = segs.iter().map(|s| s.duration).sum();
        prop_assert_eq!(total, frames * FRAME);
    }
}

#[test]
fn a_pes_without_pictures_is_not_held_forever() {
    let mut input = stream(100, 50, 0, false);
    // A video PES start whose data never shows a NAL unit, then 20,000
    // packets of another PID: memory must stay bounded.
    let mut m = Mux::default();
    m.pes(VIDEO_PID, 0xe0, 500_000, None, &[0xab; 100], false);
    for _ in 0..20_000 {
        m.packets(0x300, &[0u8; 184], false);
    }
    input.extend(m.out);
    let mut c = SegmentCutter::new(CutterConfig::default());
    for p in input.chunks(PACKET_SIZE) {
        let _ = c.push(p.try_into().expect("188"));
        let held = c.demux.held_bytes();
        assert!(held <= MAX_HELD, "{held} bytes held");
    }
    c.finish();
    let last = c.pop().expect("a segment");
    // Nothing was dropped: the unrelated packets went into the segment.
    assert!(last.bytes.len() >= 20_000 * PACKET_SIZE);
}

#[test]
fn null_packets_are_left_out_of_segments() {
    let plain = stream(300, 50, 0, true);
    let mut padded = Vec::new();
    for (i, p) in plain.chunks(PACKET_SIZE).enumerate() {
        padded.extend_from_slice(p);
        if i % 3 == 0 {
            let mut null = [0xffu8; PACKET_SIZE];
            null[..4].copy_from_slice(&[0x47, 0x1f, 0xff, 0x10]);
            padded.extend_from_slice(&null);
        }
    }
    let (a, _) = cut(&plain, CutterConfig::default());
    let (b, stats) = cut(&padded, CutterConfig::default());
    assert_eq!(a, b);
    let packets = (plain.len() / PACKET_SIZE) as u64;
    assert_eq!(stats.demux.null_packets, packets.div_ceil(3));
}

/// Every part and segment, in the order the cutter gives them.
fn cut_all(input: &[u8], config: CutterConfig) -> Vec<Cut> {
    let mut c = SegmentCutter::new(config);
    let mut out = Vec::new();
    for p in input.chunks(PACKET_SIZE) {
        let _ = c.push(p.try_into().expect("188"));
        out.extend(std::iter::from_fn(|| c.pop_cut()));
    }
    c.finish();
    out.extend(std::iter::from_fn(|| c.pop_cut()));
    out
}

/// The parts of each segment add up to it: bytes, duration, order; none
/// is longer than the part target; the first of each is independent.
fn check_parts(cuts: &[Cut], part_target: u64) -> usize {
    let mut parts: Vec<&Part> = Vec::new();
    let mut segments = 0;
    for c in cuts {
        match c {
            Cut::Part(p) => parts.push(p),
            Cut::Segment(s) => {
                assert!(!parts.is_empty(), "a segment without parts");
                let bytes: Vec<u8> = parts.iter().flat_map(|p| p.bytes.clone()).collect();
                assert!(bytes == s.bytes, "parts do not make up segment {segments}");
                assert_eq!(parts.iter().map(|p| p.duration).sum::<u64>(), s.duration);
                for (i, p) in parts.iter().enumerate() {
                    assert_eq!(p.index as usize, i);
                    assert!(p.duration <= part_target, "part of {} ticks", p.duration);
                }
                assert!(parts[0].independent);
                parts.clear();
                segments += 1;
            }
        }
    }
    assert!(parts.is_empty(), "parts after the last segment");
    segments
}

#[test]
fn parts_make_up_their_segments_and_never_exceed_the_part_target() {
    let config = CutterConfig {
        target_duration: 2,
        part_target: Some(0.5),
        ..CutterConfig::default()
    };
    let cuts = cut_all(&stream(500, 50, 0, true), config);
    assert_eq!(check_parts(&cuts, 45_000), 10);
    // 0.48 s parts: twelve 25 fps frames fit in 0.5 s, a thirteenth would not.
    let first: Vec<u64> = cuts
        .iter()
        .filter_map(|c| match c {
            Cut::Part(p) => Some(p.duration),
            Cut::Segment(_) => None,
        })
        .take(5)
        .collect();
    assert_eq!(first, [43_200, 43_200, 43_200, 43_200, 7_200]);
}

#[test]
fn once_the_gop_is_known_parts_are_balanced_not_ended_by_a_sliver() {
    let config = CutterConfig {
        target_duration: 2,
        part_target: Some(0.5),
        ..CutterConfig::default()
    };
    let cuts = cut_all(&stream(500, 50, 0, true), config);
    check_parts(&cuts, 45_000);
    let mut segments: Vec<Vec<u64>> = vec![Vec::new()];
    for c in &cuts {
        match c {
            Cut::Part(p) => segments.last_mut().expect("one").push(p.duration),
            Cut::Segment(_) => segments.push(Vec::new()),
        }
    }
    // The first segment, before a second keyframe tells the GOP, is cut
    // greedily (0.48 s × 4 + 0.08 s); then 0.44 s × 4 + 0.24 s: every part
    // but the last at least 85 % of the target (0.425 s).
    assert_eq!(segments[0], [43_200, 43_200, 43_200, 43_200, 7_200]);
    for s in &segments[1..segments.len() - 1] {
        assert_eq!(s, &[39_600, 39_600, 39_600, 39_600, 21_600]);
    }
}

proptest! {
    #[test]
    fn parts_invariants(part_ms in 100u64..2_000, gop in 10u64..80, frames in 60u64..300) {
        let config = CutterConfig {
            target_duration: 2,
            part_target: Some(part_ms as f64 / 1000.0),
            ..CutterConfig::default()
        };
        let cuts = cut_all(&stream(frames, gop, 0, true), config);
        // A part holds at least one frame: the bound is the larger of the two.
        check_parts(&cuts, (part_ms * 90).max(FRAME));
    }
}

#[test]
fn an_input_switch_cuts_at_the_new_inputs_first_keyframe_after_a_discontinuity() {
    let primary = stream(200, 50, 0, true);
    // The backup: another encoder, other timestamps, joined mid-GOP.
    let backup = stream(300, 50, 7_000_000, true);
    let mut c = SegmentCutter::new(CutterConfig::default());
    let mut segs = Vec::new();
    let feed = |c: &mut SegmentCutter, bytes: &[u8], segs: &mut Vec<Segment>| {
        for p in bytes.chunks(PACKET_SIZE) {
            let _ = c.push(p.try_into().expect("188"));
            segs.extend(std::iter::from_fn(|| c.pop()));
        }
    };
    feed(&mut c, &primary, &mut segs);
    c.switch_input();
    // Start the backup 30 frames into a GOP (not at a keyframe).
    let start = backup.len() / 10 / PACKET_SIZE * PACKET_SIZE;
    feed(&mut c, &backup[start..], &mut segs);
    c.finish();
    segs.extend(std::iter::from_fn(|| c.pop()));
    let flags: Vec<bool> = segs.iter().map(|s| s.discontinuity).collect();
    assert_eq!(flags.iter().filter(|f| **f).count(), 1, "{flags:?}");
    let after = flags.iter().position(|f| *f).expect("a discontinuity");
    // The primary's 8 s: a 6 s segment, then 2 s ending with its last
    // frame, less that frame (it may have been cut short by the failure).
    assert_eq!(secs(&segs[..after]), [6.0, 1.96]);
    assert_opens_with_keyframe(&segs);
    assert!(
        c.stats().skipped_before_start > 0,
        "the backup's partial GOP was dropped"
    );
}

#[test]
fn a_pmt_change_moving_the_video_is_counted_and_cut_after_a_discontinuity() {
    use crate::testmux::h264_au;
    let mut input = stream(200, 50, 0, false);
    // The encoder now sends its video on another PID (PMT version 1), with
    // timestamps that carry on.
    let mut m = Mux::default();
    for f in 0..200u64 {
        let pts = (200 + f) * FRAME;
        if f % 50 == 0 {
            m.pat();
            m.pmt(1, &[(0x1b, 0x200)]);
        }
        m.pes(
            0x200,
            0xe0,
            pts + 2 * FRAME,
            Some(pts),
            &h264_au(f % 50 == 0, 400),
            f % 50 == 0,
        );
    }
    input.extend(m.out);
    let (segs, stats) = cut(&input, CutterConfig::default());
    assert_eq!(stats.demux.pmt_changes, 1);
    let flags: Vec<bool> = segs.iter().map(|s| s.discontinuity).collect();
    assert_eq!(flags.iter().filter(|f| **f).count(), 1, "{flags:?}");
    // Every segment after the change carries the new PMT and opens on the new PID.
    let after = flags.iter().position(|f| *f).expect("a discontinuity");
    for s in &segs[after..] {
        let first_video = s
            .bytes
            .chunks(PACKET_SIZE)
            .map(|b| Packet::parse(b.try_into().expect("188")).expect("valid"))
            .find(|p| p.pid != Pid::PAT && p.pid != Pid(crate::testmux::PMT_PID))
            .expect("media");
        assert_eq!(first_video.pid, Pid(0x200));
        assert!(first_video.payload_unit_start_indicator);
    }
    assert!(
        (secs(&segs).iter().sum::<f64>() - 16.0).abs() < 0.1,
        "{:?}",
        secs(&segs)
    );
}

/// Cuts `input`, also returning the announced target and the notices.
fn cut_noting(input: &[u8], config: CutterConfig) -> (Vec<Segment>, Option<u32>, Vec<CutNotice>) {
    let mut c = SegmentCutter::new(config);
    let mut segs = Vec::new();
    let mut notices = Vec::new();
    for p in input.chunks(PACKET_SIZE) {
        let _ = c.push(p.try_into().expect("188"));
        segs.extend(std::iter::from_fn(|| c.pop()));
        notices.extend(std::iter::from_fn(|| c.pop_notice()));
    }
    c.finish();
    segs.extend(std::iter::from_fn(|| c.pop()));
    notices.extend(std::iter::from_fn(|| c.pop_notice()));
    (segs, c.announced_target(), notices)
}

/// The first picture of the segment's first video PES.
fn first_picture(s: &Segment, codec: Codec) -> Option<Picture> {
    let v = s
        .bytes
        .chunks(PACKET_SIZE)
        .map(|b| Packet::parse(b.try_into().expect("188")).expect("valid"))
        .find(|p| p.pid == Pid(VIDEO_PID))?;
    let h = pes::parse_header(v.payload).ok()?;
    FirstPicture::new(codec).feed(&v.payload[h.data_offset..])
}

#[test]
fn a_later_long_gop_is_cut_without_a_keyframe_and_never_rounds_above_the_target() {
    use crate::testmux::{stream_of, FrameKind};
    // 2 s GOPs to 4 s, one 12 s GOP, then 2 s GOPs again (24 s), target 4.
    let key = |f: u64| !(150..400).contains(&f);
    let kind = move |f: u64| match key(f) && f.is_multiple_of(50) {
        true => FrameKind::Idr,
        false => FrameKind::Other,
    };
    let input = stream_of(600, 0, false, &kind);
    let config = CutterConfig {
        target_duration: 4,
        ..CutterConfig::default()
    };
    let (segs, announced, notices) = cut_noting(&input, config.clone());
    assert_eq!(announced, Some(4));
    // Cut at the keyframes at 4 and 16 s; in the long GOP, before the frame
    // that would take the segment to 4.5 s.
    assert_eq!(secs(&segs), [4.0, 4.48, 4.48, 3.04, 4.0, 4.0]);
    let independent: Vec<bool> = segs.iter().map(|s| s.independent).collect();
    assert_eq!(independent, [true, true, false, false, true, true]);
    for s in &segs {
        let idr = first_picture(s, Codec::H264) == Some(Picture::Idr);
        assert_eq!(idr, s.independent, "{} s segment", s.seconds());
        assert!(s.seconds() < 4.5 && !s.long);
        // PAT and PMT copies open even a forced cut.
        assert_eq!(s.table_bytes, 2 * PACKET_SIZE);
    }
    assert_conserved(&input, &segs);
    let (_, stats) = cut(&input, config);
    assert_eq!((stats.forced_cuts, stats.long_gops), (2, 1));
    // Reported once for the GOP, at its first forced cut (8.48 s + 2 frames).
    assert_eq!(
        notices,
        [CutNotice::LongGop {
            at: Timestamp(8.48_f64.mul_add(90_000.0, 7_200.0) as u64),
            since_random_access: 403_200,
            target: 4
        }]
    );
}

#[test]
fn without_a_second_keyframe_the_first_segment_is_cut_at_the_cap() {
    use crate::testmux::{stream_of, FrameKind};
    // One IDR, then 40 s without: the target announced is the cap.
    let kind = |f: u64| {
        if f == 0 {
            FrameKind::Idr
        } else {
            FrameKind::Other
        }
    };
    let input = stream_of(1000, 0, false, &kind);
    let config = CutterConfig {
        target_duration: 4,
        ..CutterConfig::default()
    };
    let (segs, announced, notices) = cut_noting(&input, config);
    assert_eq!(announced, Some(FIRST_GOP_CAP_SECS));
    assert!(segs.iter().all(|s| s.seconds() < 30.5), "{:?}", secs(&segs));
    assert_eq!(secs(&segs), [30.48, 9.52]);
    assert!(matches!(
        notices[0],
        CutNotice::TargetRaised {
            announced: 30,
            asked: 4,
            ..
        }
    ));
}

#[test]
fn open_gop_hevc_is_cut_at_cra_pictures_when_no_idr_comes_and_said_once() {
    use crate::testmux::{stream_of, FrameKind};
    // x265's defaults: one IDR, then a CRA picture every 2 s (20 s).
    let kind = |f: u64| match f {
        0 => FrameKind::Idr,
        f if f % 50 == 0 => FrameKind::Cra,
        _ => FrameKind::Other,
    };
    let input = stream_of(500, 0, true, &kind);
    let config = CutterConfig {
        target_duration: 4,
        ..CutterConfig::default()
    };
    let (segs, announced, notices) = cut_noting(&input, config);
    assert_eq!(announced, Some(4));
    assert_eq!(secs(&segs), [4.0, 4.0, 4.0, 4.0, 4.0]);
    assert!(segs.iter().all(|s| s.independent));
    let pictures: Vec<_> = segs.iter().map(|s| first_picture(s, Codec::Hevc)).collect();
    assert_eq!(pictures[0], Some(Picture::Idr));
    assert!(pictures[1..].iter().all(|p| *p == Some(Picture::Cra)));
    // Said at the first CRA cut, 4 s (+ 2 frames) in.
    assert_eq!(
        notices,
        [CutNotice::OpenGop {
            at: Timestamp(4 * 90_000 + 7_200)
        }]
    );
}

#[test]
fn an_idr_in_time_is_preferred_to_a_cra_picture() {
    use crate::testmux::{stream_of, FrameKind};
    // An IDR every 4 s, a CRA picture 1 s after each: cut at the IDRs only.
    let kind = |f: u64| match f % 100 {
        0 => FrameKind::Idr,
        25 => FrameKind::Cra,
        _ => FrameKind::Other,
    };
    let input = stream_of(400, 0, true, &kind);
    let config = CutterConfig {
        target_duration: 4,
        ..CutterConfig::default()
    };
    let (segs, _, notices) = cut_noting(&input, config);
    assert_eq!(secs(&segs), [4.0, 4.0, 4.0, 4.0]);
    assert!(segs
        .iter()
        .all(|s| first_picture(s, Codec::Hevc) == Some(Picture::Idr)));
    assert_eq!(notices, []);
}

proptest! {
    /// Any sequence of GOP lengths (1 frame to 20 s) and any target: no
    /// segment rounds above the announced target, packets are conserved,
    /// the durations add up, and a segment opens with an IDR exactly when
    /// it says it is independent.
    #[test]
    fn no_gop_makes_a_segment_round_above_the_announced_target(
        gops in proptest::collection::vec(1u64..500, 1..8),
        target in 1u32..8,
        pts0 in 0u64..(1 << 33),
    ) {
        use crate::testmux::{stream_of, FrameKind};
        let mut starts = std::collections::BTreeSet::new();
        let mut at = 0;
        for g in &gops {
            starts.insert(at);
            at += g;
        }
        let frames = at;
        // One frame has no duration to measure.
        prop_assume!(frames >= 2);
        let kind = |f: u64| if starts.contains(&f) { FrameKind::Idr } else { FrameKind::Other };
        let input = stream_of(frames, pts0, false, &kind);
        let config = CutterConfig { target_duration: target, ..CutterConfig::default() };
        let (segs, announced, _) = cut_noting(&input, config);
        let announced = announced.expect("settled");
        prop_assert!(announced >= target);
        for s in &segs {
            prop_assert!(s.seconds() < f64::from(announced) + 0.5, "{} s under {}", s.seconds(), announced);
            prop_assert!(!s.long);
            let idr = first_picture(s, Codec::H264) == Some(Picture::Idr);
            prop_assert_eq!(idr, s.independent);
        }
        assert_conserved(&input, &segs);
        let total: u64 = segs.iter().map(|s| s.duration).sum();
        prop_assert_eq!(total, frames * FRAME);
    }
}

/// The SPS and PPS of the keyframe that opens the long GOP in
/// [`long_gop_with_distinct_parameter_sets`] (the other keyframes carry
/// testmux's usual ones).
const LONG_GOP_SPS: &[u8] = &[0x67, 0x4d, 0x40, 0x28, 0x95, 0xa0];
const LONG_GOP_PPS: &[u8] = &[0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0];

/// 24 s of H.264 at 25 fps, keyframes every 2 s but for a 12 s GOP from
/// 4 s (frame 100) on, whose keyframe carries [`LONG_GOP_SPS`] and
/// [`LONG_GOP_PPS`]; the P frames' PES are long enough to span packets.
fn long_gop_with_distinct_parameter_sets() -> Vec<u8> {
    use crate::testmux::{h264_au, h264_keyframe};
    let mut m = Mux::default();
    for f in 0..600u64 {
        let pts = f * FRAME;
        let key = !(150..400).contains(&f) && f % 50 == 0;
        if key {
            m.pat();
            m.pmt(0, &[(0x1b, VIDEO_PID)]);
        }
        let es = match (key, f) {
            (true, 100) => h264_keyframe(LONG_GOP_SPS, LONG_GOP_PPS, 3000),
            (true, _) => h264_au(true, 3000),
            (false, _) => h264_au(false, 400),
        };
        m.pes(VIDEO_PID, 0xe0, pts + 2 * FRAME, Some(pts), &es, key);
    }
    m.out
}

/// The elementary stream data of the first video PES in `bytes` (its
/// packets' payloads up to the next PES start on the video PID).
fn first_video_es(bytes: &[u8]) -> Vec<u8> {
    let mut pes = Vec::new();
    for b in bytes.chunks(PACKET_SIZE) {
        let p = Packet::parse(b.try_into().expect("188")).expect("valid");
        if p.pid != Pid(VIDEO_PID) {
            continue;
        }
        if p.payload_unit_start_indicator && !pes.is_empty() {
            break;
        }
        pes.extend_from_slice(p.payload);
    }
    let h = pes::parse_header(&pes).expect("PES header");
    pes.split_off(h.data_offset)
}

/// Per PID, every packet with payload continues the last one's counter
/// (or repeats it), unless it sets the discontinuity_indicator; returns
/// how many set it.
fn assert_continuity(bytes: &[u8], what: &str) -> usize {
    let mut last = std::collections::HashMap::new();
    let mut flagged = 0;
    for (i, b) in bytes.chunks(PACKET_SIZE).enumerate() {
        let p = Packet::parse(b.try_into().expect("188")).expect("valid");
        if !p.has_payload() {
            continue;
        }
        flagged += usize::from(p.discontinuity_indicator);
        let cc = p.continuity_counter;
        if let Some(before) = last.insert(p.pid, cc) {
            let ok = cc == (before + 1) & 0x0f || cc == before || p.discontinuity_indicator;
            assert!(ok, "{what}: packet {i} on {:?}: {before} then {cc}", p.pid);
        }
    }
    flagged
}

#[test]
fn a_forced_cut_opens_with_the_last_keyframes_parameter_sets() {
    let input = long_gop_with_distinct_parameter_sets();
    let config = CutterConfig {
        target_duration: 4,
        part_target: Some(1.0),
        ..CutterConfig::default()
    };
    let cuts = cut_all(&input, config);
    let mut parts = Vec::new();
    let mut played = Vec::new();
    let mut forced = 0;
    for c in &cuts {
        let s = match c {
            Cut::Part(p) => {
                parts.extend_from_slice(&p.bytes);
                continue;
            }
            Cut::Segment(s) => s,
        };
        assert!(parts == s.bytes, "parts do not make up the segment");
        parts.clear();
        played.extend_from_slice(&s.bytes);
        let es = first_video_es(&s.bytes);
        let flagged = assert_continuity(&s.bytes, "within a segment");
        if s.independent {
            assert_eq!(flagged, 0, "a keyframe segment is untouched");
            continue;
        }
        forced += 1;
        // AUD, then the long GOP keyframe's SPS and PPS, then the P slice.
        let mut want = vec![0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1];
        want.extend_from_slice(LONG_GOP_SPS);
        want.extend([0, 0, 0, 1]);
        want.extend_from_slice(LONG_GOP_PPS);
        want.extend([0, 0, 1, 0x41, 0xab]);
        assert_eq!(es[..want.len()], want[..], "{} s segment", s.seconds());
        assert_eq!(flagged, 1, "the rebuilt first packet says its jump");
    }
    assert_eq!(forced, 2);
    // Played in a row, the segments' counters still continue (PAT and
    // PMT copies repeat, but the video counter only jumps where flagged).
    assert_eq!(assert_continuity(&played, "played in a row"), 2);
}

#[test]
fn an_hevc_forced_cut_opens_with_the_vps_sps_and_pps_after_its_delimiter() {
    use crate::testmux::{stream_of, FrameKind};
    let key = |f: u64| !(150..400).contains(&f) && f.is_multiple_of(50);
    let kind = move |f: u64| match key(f) {
        true => FrameKind::Idr,
        false => FrameKind::Other,
    };
    let input = stream_of(600, 0, true, &kind);
    let config = CutterConfig {
        target_duration: 4,
        ..CutterConfig::default()
    };
    let (segs, _) = cut(&input, config);
    let forced: Vec<&Segment> = segs.iter().filter(|s| !s.independent).collect();
    assert_eq!(forced.len(), 2);
    for s in forced {
        // AUD, VPS, SPS, PPS (testmux's, each after a 4-byte start
        // code), then the TRAIL_R slice.
        let want = [
            0, 0, 0, 1, 0x46, 0x01, 0x50, 0, 0, 0, 1, 0x40, 0x01, 0, 0, 0, 1, 0x42, 0x01, 0, 0, 0,
            1, 0x44, 0x01, 0, 0, 1, 0x02, 0x01, 0xab,
        ];
        let es = first_video_es(&s.bytes);
        assert_eq!(es[..want.len()], want[..], "{} s segment", s.seconds());
        assert_eq!(first_picture(s, Codec::Hevc), Some(Picture::Other));
    }
    assert_conserved(&input, &segs);
}

#[test]
fn a_dropped_one_frame_segment_counts_its_packets_not_its_table_copies() {
    // Two keyframes 100 s apart: each is a one-frame segment whose
    // duration nothing tells (a jump after the first, the end after the
    // second), so neither is listed and every packet is counted skipped.
    let mut m = Mux::default();
    for pts in [0, 9_000_000] {
        m.pat();
        m.pmt(0, &[(0x1b, VIDEO_PID)]);
        m.pes(
            VIDEO_PID,
            0xe0,
            pts,
            None,
            &crate::testmux::h264_au(true, 300),
            true,
        );
    }
    let (segs, stats) = cut(&m.out, CutterConfig::default());
    assert_eq!(segs, []);
    let packets = (m.out.len() / PACKET_SIZE) as u64;
    assert_eq!(stats.skipped_before_start, packets);
}

mod splices {
    use super::*;
    use crate::scte35::{EventId, Signal};
    use crate::testmux::cue::{insert, section, segmentation_descriptor, time_signal};
    use crate::testmux::stream_with_cues;

    const PTS0: u64 = 900_000;

    fn at(frame: u64) -> u64 {
        PTS0 + frame * FRAME
    }

    fn break_start(frame: u64) -> Vec<u8> {
        section(
            0,
            0x06,
            &time_signal(Some(at(frame))),
            &segmentation_descriptor(1, 0x34, Some(30 * 90_000)),
        )
    }

    /// An ad break's start between keyframes is cut at the next keyframe
    /// (and said); its end on a keyframe is cut there; a repeated cue,
    /// heartbeats and a broken section change nothing but a notice; no
    /// packet is lost, the SCTE-35 ones included.
    #[test]
    fn splices_cut_at_the_first_keyframe_at_or_after_their_time() {
        let mut broken = break_start(100);
        broken[8] ^= 1;
        let cues = [
            (10, break_start(62)),
            (20, break_start(62)),
            (30, section(0, 0x00, &[], &[])),
            (40, broken),
            // On the keyframe of frame 200 (presented two frames later).
            (
                150,
                section(
                    0,
                    0x06,
                    &time_signal(Some(at(202))),
                    &segmentation_descriptor(1, 0x35, None),
                ),
            ),
        ];
        let input = stream_with_cues(300, 25, PTS0, &cues);
        let config = CutterConfig::default();
        let (segs, _, notices) = cut_noting(&input, config.clone());
        assert_eq!(secs(&segs), [3.0, 5.0, 4.0]);
        assert_opens_with_keyframe(&segs);
        assert_conserved(&input, &segs);
        assert!(segs[0].splices.is_empty());
        let out = &segs[1].splices;
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].section, cues[0].1);
        assert_eq!((out[0].at, out[0].cut), (Timestamp(at(62)), true));
        assert_eq!(
            out[0].signal,
            Signal::Out {
                id: EventId::Segmentation(1),
                planned: Some(2_700_000),
                auto_return: false
            }
        );
        let back = &segs[2].splices;
        assert_eq!(back.len(), 1);
        assert_eq!(
            back[0].signal,
            Signal::In {
                id: EventId::Segmentation(1)
            }
        );
        assert_eq!(back[0].at, Timestamp(at(202)));
        assert_eq!(
            notices,
            [
                CutNotice::BadSplice(crate::scte35::Scte35Error::Crc),
                CutNotice::SpliceLate {
                    splice: Timestamp(at(62)),
                    // The keyframe of frame 75, presented two frames later.
                    cut: Timestamp(at(77))
                }
            ]
        );
        let (_, stats) = cut(&input, config);
        assert_eq!(
            (stats.demux.splice_sections, stats.demux.bad_splice_sections),
            (4, 1)
        );
    }

    /// A splice across the 33-bit wrap is made at its time; a cancelled one
    /// is not; an immediate one is made at the next keyframe.
    #[test]
    fn splices_survive_the_wrap_and_cancels_and_immediates_work() {
        let pts0 = (1 << 33) - 50 * FRAME;
        // The keyframe of frame 100 (presented two frames later).
        let wrapped = (pts0 + 102 * FRAME) % (1 << 33);
        let cues = [
            (
                10,
                section(0, 0x05, &insert(7, true, Some(wrapped), None), &[]),
            ),
            (
                20,
                section(
                    0,
                    0x05,
                    &insert(8, true, Some((pts0 + 140 * FRAME) % (1 << 33)), None),
                    &[],
                ),
            ),
            (30, {
                let mut w = crate::testmux::cue::Writer::default();
                w.bits(32, 8).bits(1, 1).bits(7, 0x7f);
                section(0, 0x05, &w.bytes, &[])
            }),
            (180, section(0, 0x05, &insert(7, false, None, None), &[])),
        ];
        let input = stream_with_cues(300, 25, pts0, &cues);
        let (segs, _, notices) = cut_noting(&input, CutterConfig::default());
        let starts: Vec<u64> = segs.iter().map(|s| s.start.0).collect();
        assert!(starts.contains(&wrapped), "{starts:?}");
        // Event 8 was cancelled before its time: it marks nothing but its
        // cancellation (a command on the segment it arrived in).
        let marks: Vec<Signal> = segs
            .iter()
            .flat_map(|s| s.splices.iter().map(|m| m.signal))
            .collect();
        assert!(
            !marks.iter().any(|m| matches!(
                m,
                Signal::Out {
                    id: EventId::Splice(8),
                    ..
                }
            )),
            "{marks:?}"
        );
        assert!(
            marks.contains(&Signal::Cancel {
                id: EventId::Splice(8)
            }),
            "{marks:?}"
        );
        let immediate = segs
            .iter()
            .find(|s| {
                s.splices.iter().any(|m| {
                    m.signal
                        == Signal::In {
                            id: EventId::Splice(7),
                        }
                })
            })
            .expect("the immediate return");
        assert_eq!(immediate.start.0, (pts0 + 202 * FRAME) % (1 << 33));
        assert!(
            notices
                .iter()
                .all(|n| !matches!(n, CutNotice::SpliceLate { .. })),
            "{notices:?}"
        );
        assert_eq!(segs.iter().filter(|s| s.discontinuity).count(), 0);
    }

    /// A splice whose time the stream never reaches is said at its end;
    /// a command without a time in the last segment stays with it.
    #[test]
    fn splices_left_at_the_end_are_said_not_lost() {
        let cues = [
            (
                280,
                section(0, 0x05, &insert(3, true, Some(at(400)), None), &[]),
            ),
            (290, section(0, 0x06, &time_signal(None), &[])),
        ];
        let input = stream_with_cues(300, 25, PTS0, &cues);
        let (segs, _, notices) = cut_noting(&input, CutterConfig::default());
        assert_eq!(
            notices,
            [CutNotice::SpliceDropped {
                at: Timestamp(at(400))
            }]
        );
        let last = segs.last().expect("segments");
        assert_eq!(last.splices.len(), 1, "{:?}", last.splices);
        assert_eq!(last.splices[0].signal, Signal::Command);
    }
}

/// The intra pictures of each segment: a keyframe a second in 4 s
/// segments makes four, each range starting at a video PES whose first
/// picture is an IDR presented at the picture's time and ending right
/// before the next video PES; durations add up to the segment's. Segments
/// cut in a GOP longer than the target have none; a last keyframe cut
/// short by an interruption is not listed.
#[test]
fn intra_pictures_are_recorded_with_their_ranges() {
    use crate::testmux::{stream_of, FrameKind};
    let video_starts = |s: &Segment| -> Vec<(usize, Option<Timestamp>, Option<Picture>)> {
        s.bytes
            .chunks(PACKET_SIZE)
            .enumerate()
            .map(|(i, b)| (i, Packet::parse(b.try_into().expect("188")).expect("valid")))
            .filter(|(_, p)| p.pid == Pid(VIDEO_PID) && p.payload_unit_start_indicator)
            .map(|(i, p)| {
                let h = pes::parse_header(p.payload).expect("PES");
                let pic = FirstPicture::new(Codec::H264).feed(&p.payload[h.data_offset..]);
                (i * PACKET_SIZE, h.pts, pic)
            })
            .collect()
    };
    // Keyframes every second but none from 8 to 20 s (a 12 s GOP).
    let kind = |f: u64| match f.is_multiple_of(25) && !(201..500).contains(&f) {
        true => FrameKind::Idr,
        false => FrameKind::Other,
    };
    let input = stream_of(600, 0, false, &kind);
    let config = CutterConfig {
        target_duration: 4,
        ..CutterConfig::default()
    };
    let (segs, _) = cut(&input, config.clone());
    let mut listed = 0;
    for s in &segs {
        let starts = video_starts(s);
        for (f, ticks) in s.iframe_durations() {
            let at = starts
                .iter()
                .position(|x| x.0 == f.offset)
                .expect("a PES start");
            assert_eq!(
                starts[at].2,
                Some(Picture::Idr),
                "{f:?} {starts:?} {}",
                s.seconds()
            );
            assert_eq!(starts[at].1, Some(f.pts));
            let end = starts.get(at + 1).map_or(s.bytes.len(), |x| x.0);
            assert_eq!(f.offset + f.length, end);
            assert!(ticks > 0 && ticks <= s.duration);
        }
        let total: u64 = s.iframe_durations().map(|(_, t)| t).sum();
        match s.independent {
            true => {
                assert_eq!(s.iframes[0].offset, s.table_bytes);
                assert_eq!(total, s.duration, "{} s", s.seconds());
            }
            false => assert!(total < s.duration),
        }
        listed += s.iframes.len();
    }
    let keyframes = (0..600).filter(|&f| kind(f) == FrameKind::Idr).count();
    assert_eq!(listed, keyframes);
    assert!(segs.iter().any(|s| s.iframes.is_empty()), "forced cuts");

    // The last frame a keyframe, its PES cut short: not listed.
    let input = stream_of(101, 0, false, &kind);
    let mut c = SegmentCutter::new(config);
    for p in input[..input.len() - 2 * PACKET_SIZE].chunks(PACKET_SIZE) {
        let _ = c.push(p.try_into().expect("188"));
    }
    c.finish_interrupted();
    let segs: Vec<Segment> = std::iter::from_fn(|| c.pop()).collect();
    let pts: Vec<u64> = segs
        .iter()
        .flat_map(|s| s.iframes.iter().map(|f| f.pts.0))
        .collect();
    assert_eq!(pts.len(), 4, "{pts:?}");
}
