use super::*;
use crate::testmux::{Mux, AUDIO_PID, PMT_PID, VIDEO_PID};
use crate::ts::PACKET_SIZE;

/// ffmpeg's PAT (transport_stream_id 1, program 1 → PMT PID 0x1000), with
/// the CRC ffmpeg writes: a known answer, not one computed by us.
const FFMPEG_PAT: [u8; 16] = [
    0x00, 0xb0, 0x0d, 0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x01, 0xf0, 0x00, 0x2a, 0xb1, 0x04, 0xb2,
];

#[test]
fn ffmpeg_pat_known_answer() {
    assert_eq!(parse_pat(&FFMPEG_PAT), Ok(Some((1, Pid(0x1000)))));
    let mut bad = FFMPEG_PAT;
    bad[9] ^= 1;
    assert_eq!(parse_pat(&bad), Err(PsiError::Crc));
    assert_eq!(parse_pat(&FFMPEG_PAT[..10]), Err(PsiError::Short(10)));
}

fn sections(m: &Mux, pid: u16) -> Vec<Vec<u8>> {
    let mut asm = SectionAssembler::default();
    m.out
        .chunks(PACKET_SIZE)
        .filter_map(|b| {
            let p = Packet::parse(b.try_into().expect("188")).expect("valid");
            (p.pid == Pid(pid)).then(|| asm.push(&p)).flatten()
        })
        .collect()
}

#[test]
fn pmt_streams_and_kinds() {
    let mut m = Mux::default();
    m.pmt(3, &[(0x1b, VIDEO_PID), (0x0f, AUDIO_PID), (0x15, 0x102)]);
    let s = sections(&m, PMT_PID);
    assert_eq!(s.len(), 1);
    let pmt = parse_pmt(&s[0]).expect("valid");
    assert_eq!(pmt.version, 3);
    assert_eq!(pmt.pcr_pid, Pid(VIDEO_PID));
    let kinds: Vec<_> = pmt.streams.iter().map(|s| (s.pid, s.kind())).collect();
    assert_eq!(
        kinds,
        [
            (Pid(VIDEO_PID), StreamKind::H264),
            (Pid(AUDIO_PID), StreamKind::Audio),
            (Pid(0x102), StreamKind::Other)
        ]
    );
}

#[test]
fn a_section_spanning_packets_is_reassembled() {
    let mut m = Mux::default();
    // 60 streams: a 313-byte section over two packets.
    let streams: Vec<(u8, u16)> = (0..60).map(|i| (0x0f, 0x200 + i)).collect();
    m.pmt(0, &streams);
    assert_eq!(m.out.len(), 2 * PACKET_SIZE);
    let s = sections(&m, PMT_PID);
    assert_eq!(s.len(), 1);
    assert_eq!(parse_pmt(&s[0]).expect("valid").streams.len(), 60);
}

proptest::proptest! {
    #[test]
    fn arbitrary_sections_never_panic(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..1100)) {
        let _ = parse_pat(&b);
        let _ = parse_pmt(&b);
    }
}

/// Several sections in one packet (ISO/IEC 13818-1 §2.4.4.1): each is
/// taken, in order, and one that starts after them and ends in the next
/// packet too; stuffing ends the run.
#[test]
fn several_sections_in_one_packet_are_all_taken() {
    let packet = |pusi: bool, cc: u8, payload: &[u8]| {
        let mut b = [0xffu8; PACKET_SIZE];
        b[..4].copy_from_slice(&[0x47, 0x01 | if pusi { 0x40 } else { 0 }, 0x00, 0x10 | cc]);
        b[4..4 + payload.len()].copy_from_slice(payload);
        b
    };
    let section = |len: usize, fill: u8| {
        let mut s = vec![0xfc, 0x30 | ((len - 3) >> 8) as u8, (len - 3) as u8];
        s.resize(len, fill);
        s
    };
    let (a, b, c) = (section(16, 1), section(16, 2), section(200, 3));
    let mut first = vec![0u8];
    first.extend_from_slice(&a);
    first.extend_from_slice(&b);
    first.extend_from_slice(&c[..151]);
    assert_eq!(first.len(), 184);
    let mut second = vec![49u8];
    second.extend_from_slice(&c[151..]);
    // Bytes after a section that started in an earlier packet are no
    // section: only after a pointer field may one start.
    let mut start = vec![0u8];
    start.extend_from_slice(&c[..183]);
    let mut asm = SectionAssembler::several(4096);
    let mut taken = Vec::new();
    for bytes in [
        packet(true, 0, &first),
        packet(true, 1, &second),
        packet(true, 2, &start),
        packet(false, 3, &[&c[183..], &[0u8; 12][..]].concat()),
    ] {
        let p = Packet::parse(&bytes).expect("valid");
        let mut next = asm.push(&p);
        let mut these = Vec::new();
        while let Some(s) = next {
            these.push(s);
            next = asm.next_section();
        }
        taken.push(these);
    }
    assert_eq!(
        taken,
        [vec![a.clone(), b], vec![c.clone()], vec![], vec![c]]
    );
    // PAT and PMT readers take the first section of a packet only.
    let mut single = SectionAssembler::with_max(4096);
    let bytes = packet(true, 0, &first);
    let p = Packet::parse(&bytes).expect("valid");
    assert_eq!(single.push(&p), Some(a));
    assert_eq!(single.next_section(), None);
}
