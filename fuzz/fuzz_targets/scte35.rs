//! SCTE-35 splice_info_section parsing on arbitrary bytes, never a panic:
//! once as they come (the CRC then refuses nearly everything), and once
//! framed as a section with a right section_length and CRC-32, so that the
//! fuzzer reaches the commands and descriptors. A section that reads gives
//! a splice time within 33 bits and its hexadecimal-sequence.
#![no_main]
use libfuzzer_sys::fuzz_target;
use routecast_hls::scte35::{hex_sequence, SpliceInfo, MAX_SECTION, TABLE_ID};

const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_MPEG_2);

fn check(section: &[u8]) {
    if let Ok(info) = SpliceInfo::parse(section) {
        if let Some(pts) = info.splice_pts() {
            assert!(pts.0 < 1 << 33, "{pts:?}");
        }
        let _ = info.signal();
        assert_eq!(hex_sequence(section).len(), 2 + 2 * section.len());
    }
}

fuzz_target!(|bytes: &[u8]| {
    check(bytes);
    if bytes.len() + 7 <= MAX_SECTION {
        let length = bytes.len() + 4;
        let mut s = vec![TABLE_ID, 0x30 | (length >> 8) as u8, length as u8];
        s.extend_from_slice(bytes);
        let crc = CRC.checksum(&s);
        s.extend(crc.to_be_bytes());
        check(&s);
    }
});
