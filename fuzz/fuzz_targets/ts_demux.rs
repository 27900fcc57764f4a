//! The TS demuxer and segment cutter on arbitrary bytes, split at an
//! arbitrary point: no panic, and every segment is whole packets opening
//! with a sync byte.
#![no_main]
use libfuzzer_sys::fuzz_target;
use routecast_hls::{CutterConfig, PacketReader, SegmentCutter, PACKET_SIZE};

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |b| usize::from(*b) * 7).min(data.len());
    let mut reader = PacketReader::new();
    let mut cutter = SegmentCutter::new(CutterConfig {
        target_duration: 2,
        ..CutterConfig::default()
    });
    let mut segments = Vec::new();
    for (i, piece) in [&data[..split], &data[split..]].into_iter().enumerate() {
        reader.extend(piece);
        while let Some(p) = reader.next_packet(i == 1) {
            let p = *p;
            if cutter.push(&p).is_err() {
                reader.lose_sync();
            }
            segments.extend(std::iter::from_fn(|| cutter.pop()));
        }
    }
    cutter.finish();
    segments.extend(std::iter::from_fn(|| cutter.pop()));
    for s in segments {
        assert_eq!(s.bytes.len() % PACKET_SIZE, 0);
        assert!(s.bytes.chunks(PACKET_SIZE).all(|p| p[0] == 0x47));
    }
});
