//! The TS packet reader and the segment cutter on arbitrary bytes, read in
//! pieces of lengths drawn from the input itself (so the fuzzer explores
//! where reads end), each checked against an oracle:
//!
//! * the reader hands back the same packets whatever the pieces: the same
//!   as one read of the whole input;
//! * a stream of whole packets (the input with every 188th byte set to
//!   0x47) comes back packet for packet: as many packets as went in, each
//!   with the PID and continuity counter its bytes say (read here by hand);
//! * the cutter keeps every packet it takes or counts it: the segments, less
//!   their PAT/PMT copies, are the packets taken in order (null and broken
//!   ones aside) less `skipped_before_start` of them; every segment is whole
//!   packets opening with a sync byte; with parts on, the parts of each
//!   segment are its bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use routecast_hls::cutter::{Cut, Segment};
use routecast_hls::{CutterConfig, Packet, PacketReader, Pid, SegmentCutter, PACKET_SIZE};

fuzz_target!(|data: &[u8]| {
    let mut rng = Rng::new(data);
    let whole = read_whole(data);
    assert!(
        read_in_pieces(data, &mut rng) == whole,
        "the pieces changed the packets"
    );
    let aligned = aligned(data);
    let packets = read_in_pieces(&aligned, &mut rng);
    assert_eq!(
        packets.len(),
        aligned.len() / PACKET_SIZE,
        "packets lost or added"
    );
    for (p, input) in packets.iter().zip(aligned.chunks_exact(PACKET_SIZE)) {
        assert!(p[..] == input[..], "a packet changed");
        if let Ok(parsed) = Packet::parse(p) {
            let pid = u16::from(input[1] & 0x1f) << 8 | u16::from(input[2]);
            assert_eq!(parsed.pid, Pid(pid));
            assert_eq!(parsed.continuity_counter, input[3] & 0x0f);
        }
    }
    let parts = rng.next() % 2 == 0;
    check_cutter(&whole, parts);
    check_cutter(&packets, parts);
});

/// Every packet of `data` read at once.
fn read_whole(data: &[u8]) -> Vec<[u8; PACKET_SIZE]> {
    let mut reader = PacketReader::new();
    reader.extend(data);
    std::iter::from_fn(|| reader.next_packet(true).copied()).collect()
}

/// Every packet of `data` read in pieces of 1 to 700 bytes.
fn read_in_pieces(data: &[u8], rng: &mut Rng) -> Vec<[u8; PACKET_SIZE]> {
    let mut reader = PacketReader::new();
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let n = (1 + rng.next() % 700).min(rest.len() as u64) as usize;
        let (piece, tail) = rest.split_at(n);
        reader.feed(piece, |p| out.push(*p));
        rest = tail;
    }
    out.extend(std::iter::from_fn(|| reader.next_packet(true).copied()));
    out
}

/// `data` as whole packets: cut to a multiple of 188 bytes, each packet
/// opening with the sync byte.
fn aligned(data: &[u8]) -> Vec<u8> {
    let mut v = data[..data.len() / PACKET_SIZE * PACKET_SIZE].to_vec();
    for p in v.chunks_exact_mut(PACKET_SIZE) {
        p[0] = 0x47;
    }
    v
}

/// Cuts `packets` (2 s segments, 0.5 s parts if `parts`) and checks that
/// every packet taken is in a segment or counted as skipped, in order.
fn check_cutter(packets: &[[u8; PACKET_SIZE]], parts: bool) {
    let mut cutter = SegmentCutter::new(CutterConfig {
        target_duration: 2,
        part_target: parts.then_some(0.5),
        ..CutterConfig::default()
    });
    let mut taken = Vec::new();
    let mut cuts = Vec::new();
    for p in packets {
        if cutter.push(p).is_ok() && Packet::parse(p).is_ok_and(|p| p.pid != Pid::NULL) {
            taken.push(*p);
        }
        cuts.extend(std::iter::from_fn(|| cutter.pop_cut()));
    }
    cutter.finish();
    cuts.extend(std::iter::from_fn(|| cutter.pop_cut()));
    let mut kept = 0;
    let mut at = 0;
    let mut part_bytes = Vec::new();
    for cut in cuts {
        let s = match cut {
            Cut::Part(p) => {
                part_bytes.extend_from_slice(&p.bytes);
                continue;
            }
            Cut::Segment(s) => s,
        };
        assert_eq!(s.bytes.len() % PACKET_SIZE, 0);
        assert!(s.bytes.chunks(PACKET_SIZE).all(|p| p[0] == 0x47));
        assert!(
            !parts || std::mem::take(&mut part_bytes) == s.bytes,
            "parts are not the segment"
        );
        let mut own = &s.bytes[s.table_bytes..];
        if let Some((run, original)) = rebuilt_run(&s, &taken[at..]) {
            at += original + 1;
            kept += 1;
            own = &own[run * PACKET_SIZE..];
        }
        for p in own.chunks_exact(PACKET_SIZE) {
            // The next packet taken that is this one: order kept.
            let found = taken[at..].iter().position(|t| t[..] == p[..]);
            let Some(i) = found else {
                panic!("a packet out of order or not taken");
            };
            at += i + 1;
            kept += 1;
        }
    }
    assert_eq!(
        kept + cutter.stats().skipped_before_start,
        taken.len() as u64
    );
}

/// A forced cut's first video packet is rebuilt with parameter sets
/// inserted, into a run of packets on its PID that sets the
/// discontinuity_indicator, the last with the original's continuity
/// counter: the run stands for the original, the next lead PES start
/// taken. Its length in packets and the original's index in `taken`.
fn rebuilt_run(s: &Segment, taken: &[[u8; PACKET_SIZE]]) -> Option<(usize, usize)> {
    let own = &s.bytes[s.table_bytes..];
    let first = Packet::parse(own.get(..PACKET_SIZE)?.try_into().ok()?).ok()?;
    if s.independent || !first.payload_unit_start_indicator {
        return None;
    }
    let original = taken.iter().position(|t| {
        Packet::parse(t).is_ok_and(|t| t.pid == first.pid && t.payload_unit_start_indicator)
    })?;
    if taken[original][..] == own[..PACKET_SIZE] {
        return None;
    }
    let cc = taken[original][3] & 0x0f;
    let run = own
        .chunks_exact(PACKET_SIZE)
        .position(|p| p[3] & 0x0f == cc)?;
    Some((run + 1, original))
}

/// Lengths of pieces, drawn from the input (xorshift64 seeded by FNV-1a).
struct Rng(u64);

impl Rng {
    fn new(data: &[u8]) -> Self {
        let hash = data.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
        });
        Self(hash | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
