use super::*;
use crate::testmux::{stream, FRAME};

/// An access unit as the tests see it: (pts, decode time, picture).
type Unit = (Option<u64>, Option<u64>, Option<Picture>);

/// Every event of `input`, packet by packet: the packets handed on (in
/// order, access units included), and each access unit's (pts, decode,
/// picture).
fn demux(input: &[u8]) -> (Vec<u8>, Vec<Unit>) {
    let mut d = Demuxer::new();
    let (mut packets, mut units) = (Vec::new(), Vec::new());
    let mut sink = |e: DemuxEvent<'_>| match e {
        DemuxEvent::Packets(p) => packets.extend_from_slice(p),
        DemuxEvent::AccessUnit(au) => {
            packets.extend_from_slice(au.packets);
            units.push((au.pts.map(|t| t.0), au.decode.map(|t| t.0), au.picture));
        }
        DemuxEvent::PesStart { .. } | DemuxEvent::LeadChanged | DemuxEvent::Splice { .. } => {}
    };
    for p in input.chunks_exact(PACKET_SIZE) {
        let _ = d.push(p.try_into().expect("188"), &mut sink);
    }
    d.finish(&mut sink);
    (packets, units)
}

#[test]
fn packets_come_back_in_order_less_null_packets() {
    let plain = stream(300, 50, 0, true);
    let mut padded = Vec::new();
    for (i, p) in plain.chunks(PACKET_SIZE).enumerate() {
        padded.extend_from_slice(p);
        if i % 5 == 0 {
            let mut null = [0xffu8; PACKET_SIZE];
            null[..4].copy_from_slice(&[0x47, 0x1f, 0xff, 0x10]);
            padded.extend_from_slice(&null);
        }
    }
    let (packets, _) = demux(&padded);
    assert!(packets == plain, "packets lost, added or reordered");
}

#[test]
fn every_video_pes_is_an_access_unit_with_its_times_and_picture() {
    // 100 frames at 25 fps, an IDR every 25, PTS two frames after the DTS.
    let (_, units) = demux(&stream(100, 25, 0, false));
    assert_eq!(units.len(), 100);
    for (f, (pts, decode, picture)) in units.into_iter().enumerate() {
        let f = f as u64;
        assert_eq!(decode, Some(f * FRAME), "frame {f}");
        assert_eq!(pts, Some((f + 2) * FRAME), "frame {f}");
        let expected = if f.is_multiple_of(25) {
            Picture::Idr
        } else {
            Picture::Other
        };
        assert_eq!(picture, Some(expected), "frame {f}");
    }
}

#[test]
fn pes_start_comes_before_its_access_unit_and_the_program_is_known() {
    let mut d = Demuxer::new();
    let mut order = Vec::new();
    let mut sink = |e: DemuxEvent<'_>| {
        order.push(match e {
            DemuxEvent::PesStart { .. } => 'S',
            DemuxEvent::AccessUnit(au) => {
                assert!(!au.pat_packets.is_empty() && !au.pmt_packets.is_empty());
                'A'
            }
            DemuxEvent::Packets(_) => 'P',
            DemuxEvent::LeadChanged => 'L',
            DemuxEvent::Splice { .. } => 'C',
        })
    };
    for p in stream(3, 3, 0, false).chunks_exact(PACKET_SIZE) {
        d.push(p.try_into().expect("188"), &mut sink)
            .expect("valid");
    }
    let order: String = order.into_iter().filter(|c| *c != 'P').collect();
    assert_eq!(order, "SASASA");
    assert_eq!(d.pmt().map(|p| p.streams.len()), Some(1));
    assert_eq!(
        d.stats().packets,
        (stream(3, 3, 0, false).len() / PACKET_SIZE) as u64
    );
}
