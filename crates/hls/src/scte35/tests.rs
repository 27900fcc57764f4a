use super::*;
use crate::testmux::cue::{insert, section, segmentation_descriptor, time_signal, Writer};
use proptest::prelude::*;

/// SCTE 35's own sample 14.2 (splice_insert, out of network, auto-return
/// break of 60.293567 s, an avail descriptor), base64
/// `/DAvAAAAAAAA///wFAVIAACPf+/+c2nALv4AUsz1AAAAAAAKAAhDVUVJAAABNWLbowo=`;
/// threefive 3.1.5 decodes it as: pts_time 21514.559089, event id
/// 1207959695, break_duration 60.293567, CRC 0x62dba30a.
const SAMPLE_SPLICE_INSERT: &str =
    "fc302f000000000000fffff014054800008f7feffe7369c02efe0052ccf500000000000a0008435545490000013562dba30a";

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn the_standards_splice_insert_sample_reads_as_threefive_reads_it() {
    let s = unhex(SAMPLE_SPLICE_INSERT);
    let info = SpliceInfo::parse(&s).expect("valid");
    let SpliceCommand::Insert(i) = &info.command else {
        panic!("not an insert: {info:?}");
    };
    assert_eq!(i.event_id, 1_207_959_695);
    assert!(i.out_of_network && i.program_splice && !i.immediate && !i.cancel);
    // 21514.559089 s × 90 kHz.
    assert_eq!(i.time, Some(1_936_310_318));
    assert_eq!(
        i.break_duration,
        Some(BreakDuration {
            auto_return: true,
            duration: 5_426_421
        })
    );
    assert_eq!(info.splice_pts(), Some(Timestamp(1_936_310_318)));
    assert_eq!(
        info.signal(),
        Signal::Out {
            id: EventId::Splice(1_207_959_695),
            planned: Some(5_426_421),
            auto_return: true
        }
    );
    assert!(
        info.segmentations.is_empty(),
        "an avail descriptor is not segmentation"
    );
    assert_eq!(hex_sequence(&s[..3]), "0xFC302F");
}

#[test]
fn damaged_sections_are_errors_that_say_what() {
    let s = unhex(SAMPLE_SPLICE_INSERT);
    let mut bad = s.clone();
    bad[20] ^= 0x10;
    assert_eq!(SpliceInfo::parse(&bad), Err(Scte35Error::Crc));
    assert_eq!(SpliceInfo::parse(&s[..30]), Err(Scte35Error::Short(30)));
    assert_eq!(
        SpliceInfo::parse(&[0x02, 0, 0]),
        Err(Scte35Error::TableId(2))
    );
    assert_eq!(SpliceInfo::parse(&[]), Err(Scte35Error::Short(0)));
    // A command length past the section, with a good CRC.
    let mut long = section(0, 0x06, &time_signal(Some(9)), &[]);
    long[11] = (long[11] & 0xf0) | 0x04;
    let n = long.len();
    let crc = CRC.checksum(&long[..n - 4]);
    long[n - 4..].copy_from_slice(&crc.to_be_bytes());
    assert_eq!(
        SpliceInfo::parse(&long),
        Err(Scte35Error::Overrun("splice_command_length"))
    );
    // A UPID longer than its descriptor.
    let mut d = segmentation_descriptor(1, 0x34, None);
    d[13] = 200;
    let e = SpliceInfo::parse(&section(0, 0x06, &time_signal(Some(9)), &d)).expect_err("overrun");
    assert_eq!(e, Scte35Error::Overrun("segmentation_upid_length"));
    assert_eq!(
        e.to_string(),
        "segmentation_upid_length runs past the end of the section"
    );
}

#[test]
fn time_signals_start_and_end_breaks_by_their_segmentation_type() {
    let out = section(
        0,
        0x06,
        &time_signal(Some(900_000)),
        &segmentation_descriptor(0x1234, 0x34, Some(30 * 90_000)),
    );
    let info = SpliceInfo::parse(&out).expect("valid");
    assert_eq!(info.splice_pts(), Some(Timestamp(900_000)));
    assert_eq!(info.segmentations[0].upid, b"ABCD01234567");
    assert_eq!(
        info.signal(),
        Signal::Out {
            id: EventId::Segmentation(0x1234),
            planned: Some(2_700_000),
            auto_return: false
        }
    );
    let end = section(
        0,
        0x06,
        &time_signal(Some(3_600_000)),
        &segmentation_descriptor(0x1234, 0x35, None),
    );
    assert_eq!(
        SpliceInfo::parse(&end).expect("valid").signal(),
        Signal::In {
            id: EventId::Segmentation(0x1234)
        }
    );
    // Program start: a command, not a break.
    let program = section(
        0,
        0x06,
        &time_signal(Some(1)),
        &segmentation_descriptor(9, 0x10, None),
    );
    assert_eq!(
        SpliceInfo::parse(&program).expect("valid").signal(),
        Signal::Command
    );
    // No descriptor at all, and splice_null: commands.
    let bare = section(0, 0x06, &time_signal(None), &[]);
    let bare = SpliceInfo::parse(&bare).expect("valid");
    assert_eq!((bare.signal(), bare.splice_pts()), (Signal::Command, None));
    let null = SpliceInfo::parse(&section(0, 0x00, &[], &[])).expect("valid");
    assert_eq!(null.command, SpliceCommand::Null);
}

#[test]
fn pts_adjustment_is_added_modulo_2_to_the_33() {
    let near_wrap = Timestamp::WRAP - 90_000;
    let s = section(180_000, 0x05, &insert(7, true, Some(near_wrap), None), &[]);
    let info = SpliceInfo::parse(&s).expect("valid");
    assert_eq!(info.pts_adjustment, 180_000);
    assert_eq!(info.splice_pts(), Some(Timestamp(90_000)));
}

#[test]
fn immediate_returns_and_cancels_read_as_such() {
    let back =
        SpliceInfo::parse(&section(0, 0x05, &insert(7, false, None, None), &[])).expect("valid");
    assert!(back.immediate());
    assert_eq!(back.splice_pts(), None);
    assert_eq!(
        back.signal(),
        Signal::In {
            id: EventId::Splice(7)
        }
    );
    let mut w = Writer::default();
    w.bits(32, 7).bits(1, 1).bits(7, 0x7f);
    let cancel = SpliceInfo::parse(&section(0, 0x05, &w.bytes, &[])).expect("valid");
    assert_eq!(
        cancel.signal(),
        Signal::Cancel {
            id: EventId::Splice(7)
        }
    );
    assert!(!cancel.immediate());
}

proptest! {
    /// Whatever the bytes, parsing returns; never a panic.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = SpliceInfo::parse(&bytes);
        let mut framed = vec![0xfc, 0x30 | (bytes.len() >> 8) as u8 & 0x0f, bytes.len() as u8];
        framed.extend(&bytes);
        let _ = SpliceInfo::parse(&framed);
    }

    /// A valid section with any byte changed and its CRC made right again
    /// parses or is refused with a reason; never a panic.
    #[test]
    fn changed_sections_with_a_good_crc_never_panic(at in 3usize..60, to in any::<u8>()) {
        let mut s = section(5, 0x06, &time_signal(Some(77)), &segmentation_descriptor(3, 0x34, Some(9)));
        let n = s.len();
        let at = at % (n - 4);
        s[at] = to;
        let crc = CRC.checksum(&s[..n - 4]);
        s[n - 4..].copy_from_slice(&crc.to_be_bytes());
        let _ = SpliceInfo::parse(&s);
    }

    /// Splice times round-trip through the section's bits.
    #[test]
    fn splice_times_read_back(pts in 0u64..Timestamp::WRAP, adj in 0u64..Timestamp::WRAP) {
        let s = section(adj, 0x06, &time_signal(Some(pts)), &[]);
        let info = SpliceInfo::parse(&s).expect("valid");
        prop_assert_eq!(info.splice_pts(), Some(Timestamp((pts + adj) % Timestamp::WRAP)));
    }
}

/// A legacy length (0xFFF) on a command not read here: the command is
/// kept by type, the descriptors after it (whose start is unknown) not read.
#[test]
fn a_legacy_length_on_an_unread_command_keeps_the_command() {
    let mut s = section(0, 0x07, &[], &segmentation_descriptor(1, 0x34, None));
    s[11] |= 0x0f;
    s[12] = 0xff;
    let n = s.len();
    let crc = CRC.checksum(&s[..n - 4]);
    s[n - 4..].copy_from_slice(&crc.to_be_bytes());
    let info = SpliceInfo::parse(&s).expect("valid");
    assert_eq!(
        (info.command, info.segmentations.len()),
        (SpliceCommand::Other(0x07), 0)
    );
}

/// A time_signal that ends one placement opportunity and starts the next
/// (back to back) means both: the end first.
#[test]
fn back_to_back_breaks_in_one_section_are_both_signalled() {
    let mut d = segmentation_descriptor(10, 0x34, Some(900_000));
    d.extend(segmentation_descriptor(9, 0x35, None));
    let info = SpliceInfo::parse(&section(0, 0x06, &time_signal(Some(5)), &d)).expect("valid");
    assert_eq!(
        info.signals(),
        [
            Signal::In {
                id: EventId::Segmentation(9)
            },
            Signal::Out {
                id: EventId::Segmentation(10),
                planned: Some(900_000),
                auto_return: false
            }
        ]
    );
    assert_eq!(info.signal(), info.signals()[0]);
}
