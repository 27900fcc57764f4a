use super::*;
use crate::testmux::{Mux, VIDEO_PID};
use proptest::prelude::*;

fn packet(b: &[u8]) -> [u8; PACKET_SIZE] {
    b.try_into().expect("188 bytes")
}

#[test]
fn header_adaptation_field_and_pcr() {
    let mut b = [0xffu8; PACKET_SIZE];
    // PID 0x100, PUSI, adaptation + payload, CC 7.
    b[..4].copy_from_slice(&[0x47, 0x41, 0x00, 0x37]);
    // Adaptation field of 7 bytes: RAI + PCR flag, PCR base 0x1_2345_6789.
    let base: u64 = 0x1_2345_6789;
    b[4] = 7;
    b[5] = 0x50;
    b[6] = (base >> 25) as u8;
    b[7] = (base >> 17) as u8;
    b[8] = (base >> 9) as u8;
    b[9] = (base >> 1) as u8;
    b[10] = ((base & 1) as u8) << 7 | 0x7e;
    b[11] = 0;
    let p = Packet::parse(&b).expect("valid");
    assert_eq!(p.pid, Pid(0x100));
    assert!(p.payload_unit_start_indicator);
    assert_eq!(p.continuity_counter, 7);
    assert!(p.random_access_indicator);
    assert_eq!(p.pcr, Some(Timestamp(base)));
    assert_eq!(p.payload.len(), PACKET_SIZE - 12);
}

#[test]
fn broken_packets_are_errors() {
    let mut b = [0u8; PACKET_SIZE];
    assert_eq!(Packet::parse(&b).err(), Some(TsError::Sync));
    b[..5].copy_from_slice(&[0x47, 0x80, 0, 0x10, 0]);
    assert_eq!(Packet::parse(&b).err(), Some(TsError::TransportError));
    b[..5].copy_from_slice(&[0x47, 0, 0, 0x30, 184]);
    assert_eq!(
        Packet::parse(&b).err(),
        Some(TsError::AdaptationLength(184))
    );
}

fn stream(n: usize) -> Vec<u8> {
    let mut m = Mux::default();
    for i in 0..n {
        m.packets(VIDEO_PID, &[i as u8; 100], false);
    }
    m.out
}

fn read_all(r: &mut PacketReader, input: &[u8], piece: usize) -> Vec<[u8; PACKET_SIZE]> {
    let mut out = Vec::new();
    for chunk in input.chunks(piece.max(1)) {
        r.extend(chunk);
        while let Some(p) = r.next_packet(false) {
            out.push(*p);
        }
    }
    while let Some(p) = r.next_packet(true) {
        out.push(*p);
    }
    out
}

#[test]
fn sync_is_found_again_after_garbage() {
    let good = stream(10);
    let mut input = b"garbage without sync".to_vec();
    input.extend_from_slice(&good[..5 * PACKET_SIZE]);
    input.extend_from_slice(&[1, 2, 3]);
    input.extend_from_slice(&good[5 * PACKET_SIZE..]);
    let mut r = PacketReader::new();
    let got = read_all(&mut r, &input, 1000);
    let want: Vec<[u8; PACKET_SIZE]> = good.chunks(PACKET_SIZE).map(packet).collect();
    assert_eq!(got, want);
    assert_eq!(r.skipped(), 20 + 3);
    assert_eq!(r.sync_losses(), 1);
}

proptest! {
    /// Whatever garbage (without sync bytes) sits between runs of three or
    /// more packets (what sync needs to be confirmed), and however the input
    /// is split, every packet comes out, in order.
    #[test]
    fn every_packet_survives_garbage_between_packets(
        gaps in proptest::collection::vec(proptest::collection::vec(0u8..0x47, 0..300), 4),
        piece in 1usize..700,
    ) {
        let good = stream(12);
        let mut input = Vec::new();
        for (i, p) in good.chunks(PACKET_SIZE).enumerate() {
            if i % 3 == 0 {
                input.extend_from_slice(&gaps[i / 3]);
            }
            input.extend_from_slice(p);
        }
        let mut r = PacketReader::new();
        let got = read_all(&mut r, &input, piece);
        let want: Vec<[u8; PACKET_SIZE]> = good.chunks(PACKET_SIZE).map(packet).collect();
        prop_assert_eq!(got, want);
        prop_assert_eq!(r.skipped(), gaps.iter().map(|g| g.len() as u64).sum::<u64>());
    }

    #[test]
    fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..2000), piece in 1usize..400) {
        let mut r = PacketReader::new();
        for p in read_all(&mut r, &input, piece) {
            let _ = Packet::parse(&p);
        }
    }

    /// `feed` gives exactly what `extend` + `next_packet` give, whatever the
    /// garbage and the split.
    #[test]
    fn feed_equals_extend_then_next_packet(
        input in proptest::collection::vec(prop_oneof![
            3 => Just(None),
            1 => any::<u8>().prop_map(Some),
        ], 0..40),
        piece in 1usize..900,
    ) {
        // Mostly whole packets, sometimes a stray byte between them.
        let good = stream(40);
        let mut bytes = Vec::new();
        for (p, stray) in good.chunks(PACKET_SIZE).zip(input.iter().chain(std::iter::repeat(&None))) {
            if let Some(b) = stray {
                bytes.push(*b);
            }
            bytes.extend_from_slice(p);
        }
        let mut a = PacketReader::new();
        let want = read_all(&mut a, &bytes, piece);
        let mut b = PacketReader::new();
        let mut got = Vec::new();
        for chunk in bytes.chunks(piece) {
            b.feed(chunk, |p| got.push(*p));
        }
        while let Some(p) = b.next_packet(true) {
            got.push(*p);
        }
        prop_assert_eq!(got, want);
        prop_assert_eq!(b.skipped(), a.skipped());
    }
}
