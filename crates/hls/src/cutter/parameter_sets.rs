//! Parameter sets into a forced cut's first access unit. A segment cut
//! between frames opens with a P or B picture, and encoders send the SPS
//! and PPS (HEVC: VPS, SPS, PPS) only with keyframes: a player joining
//! there (hls.js) finds no video configuration and fails. The segment's
//! first video packet is therefore rebuilt with the stream's current
//! parameter sets inserted after the access unit delimiter (or at the
//! data start when there is none), as a decoder expects them (H.264
//! §7.4.1.2.3: AUD first, then parameter sets, then the slices).
//!
//! Only that one packet is replaced, by as many packets as its payload now
//! needs: every other packet, of any PID, stays byte for byte where it was
//! (a PCR later in the access unit, interleaved audio). The first rebuilt
//! packet keeps the original's adaptation field (PCR, random access
//! indicator unset) and, when more than one packet replaces it, sets the
//! discontinuity_indicator (ISO/IEC 13818-1 §2.4.3.5): the counters are
//! chosen so that the last rebuilt packet has the original's, and the
//! video PID continues unchanged after it, so the one jump is at the
//! segment's start, where it is declared. The last rebuilt packet is
//! padded with adaptation field stuffing. A non-zero PES_packet_length
//! grows by the inserted bytes (0, unbounded, when it would overflow: ISO
//! 13818-1 allows it for video).
//!
//! Built by hand: no crate writes single TS packets this way; it is a few
//! lines over the packet layout [`crate::ts`] already reads.

use crate::demux::ParameterSets;
use crate::nal::after_access_unit_delimiter;
use crate::pes;
use crate::ts::{Packet, PACKET_SIZE};

/// Payload and adaptation field room of a packet after its 4-byte header.
const ROOM: usize = PACKET_SIZE - 4;

/// The adaptation field's discontinuity_indicator flag.
const DISCONTINUITY: u8 = 0x80;

/// `packets` (an access unit's, from its PES start on) with `sets`
/// inserted into the first packet's elementary stream data; `None` when
/// the first packet is no readable PES start (then nothing is changed).
pub(super) fn with_parameter_sets(packets: &[u8], sets: ParameterSets<'_>) -> Option<Vec<u8>> {
    let first: &[u8; PACKET_SIZE] = packets.get(..PACKET_SIZE)?.try_into().ok()?;
    let p = Packet::parse(first).ok()?;
    if !p.payload_unit_start_indicator {
        return None;
    }
    let header = pes::parse_header(p.payload).ok()?;
    let es = p.payload.get(header.data_offset..)?;
    let at = header.data_offset + after_access_unit_delimiter(sets.codec, es).unwrap_or(0);
    let mut payload = Vec::with_capacity(p.payload.len() + sets.annex_b.len());
    payload.extend_from_slice(&p.payload[..at]);
    payload.extend_from_slice(sets.annex_b);
    payload.extend_from_slice(&p.payload[at..]);
    grow_pes_length(&mut payload, sets.annex_b.len());
    let mut out = Vec::with_capacity(packets.len() + payload.len() + PACKET_SIZE);
    repacketize(first, &payload, &mut out);
    out.extend_from_slice(&packets[PACKET_SIZE..]);
    Some(out)
}

/// Adds `inserted` to a non-zero PES_packet_length (bytes 4 and 5 of the
/// PES), or makes it 0 (unbounded) when the sum does not fit.
fn grow_pes_length(pes: &mut [u8], inserted: usize) {
    let Some(field) = pes.get_mut(4..6) else {
        return;
    };
    let length = usize::from(u16::from_be_bytes([field[0], field[1]]));
    if length == 0 {
        return;
    }
    let grown = u16::try_from(length + inserted).unwrap_or(0);
    field.copy_from_slice(&grown.to_be_bytes());
}

/// Writes `payload` as the packets that replace `first`: its header bits
/// and adaptation field (discontinuity flagged if more than one packet),
/// counters ending at `first`'s.
fn repacketize(first: &[u8; PACKET_SIZE], payload: &[u8], out: &mut Vec<u8>) {
    let mut field = adaptation_field(first);
    let first_room = ROOM - (1 + field.len());
    let count = 1 + payload.len().saturating_sub(first_room).div_ceil(ROOM);
    if count > 1 {
        field[0] |= DISCONTINUITY;
    }
    let last_cc = first[3] & 0x0f;
    // Counters wrap at 16: count back from the original's.
    let mut cc = last_cc.wrapping_sub((count - 1) as u8) & 0x0f;
    let mut rest = payload;
    for k in 0..count {
        let (start, field): (u8, &[u8]) = match k {
            0 => (first[1], &field),
            // Only the first packet starts the PES.
            _ => (first[1] & !0x40, &[]),
        };
        let head = [first[0], start, first[2], (first[3] & 0xc0) | cc];
        rest = &rest[write_packet(out, head, field, rest)..];
        cc = (cc + 1) & 0x0f;
    }
}

/// The adaptation field of `packet` without its length byte and stuffing
/// (its flags and the fields they announce); just the flags byte, zero,
/// when it has none.
fn adaptation_field(packet: &[u8; PACKET_SIZE]) -> Vec<u8> {
    if packet[3] & 0x20 == 0 || packet[4] == 0 {
        return vec![0];
    }
    let field = &packet[5..5 + usize::from(packet[4]).min(ROOM - 1)];
    field[..meaningful_length(field)].to_vec()
}

/// How many bytes of an adaptation field (from its flags byte) are flags
/// and the fields they announce; the rest is stuffing. All of it when the
/// flags claim more than there is.
fn meaningful_length(field: &[u8]) -> usize {
    let flags = field[0];
    let mut len = 1;
    len += if flags & 0x10 != 0 { 6 } else { 0 }; // PCR
    len += if flags & 0x08 != 0 { 6 } else { 0 }; // OPCR
    len += usize::from(flags & 0x04 != 0); // splice_countdown
    if flags & 0x02 != 0 {
        // transport_private_data_length, then the data.
        len += 1 + field.get(len).map_or(0, |&n| usize::from(n));
    }
    if flags & 0x01 != 0 {
        // adaptation_field_extension_length, then the extension.
        len += 1 + field.get(len).map_or(0, |&n| usize::from(n));
    }
    len.min(field.len())
}

/// Writes one packet: `head` (counter set), an adaptation field holding
/// `field` (flags and fields, possibly empty) and the stuffing the
/// payload leaves room for, then as much of `payload` as fits. Returns how
/// many payload bytes it took.
fn write_packet(out: &mut Vec<u8>, mut head: [u8; 4], field: &[u8], payload: &[u8]) -> usize {
    let field_min = if field.is_empty() { 0 } else { 1 + field.len() };
    let taken = payload.len().min(ROOM - field_min);
    // Adaptation field bytes, length byte included: what the payload leaves.
    let field_total = ROOM - taken;
    head[3] |= if field_total > 0 { 0x30 } else { 0x10 };
    let start = out.len();
    out.extend_from_slice(&head);
    if field_total > 0 {
        out.push((field_total - 1) as u8);
        match field {
            [] if field_total > 1 => out.push(0),
            _ => out.extend_from_slice(field),
        }
        out.resize(start + 4 + field_total, 0xff);
    }
    out.extend_from_slice(&payload[..taken]);
    debug_assert_eq!(out.len() - start, PACKET_SIZE);
    taken
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nal::Codec;
    use crate::testmux::{h264_au, Mux};

    const SETS: ParameterSets<'static> = ParameterSets {
        codec: Codec::H264,
        annex_b: &[0, 0, 0, 1, 0x67, 0x64, 0, 0x1f, 0, 0, 0, 1, 0x68, 0xee],
    };

    /// A P frame's PES on PID 0x100 with a PES_packet_length of `length`.
    fn p_frame(length: u16) -> Vec<u8> {
        let mut m = Mux::default();
        m.pes(0x100, 0xe0, 7_200, None, &h264_au(false, 400), false);
        m.out[4 + 4..4 + 6].copy_from_slice(&length.to_be_bytes());
        m.out
    }

    fn packets(bytes: &[u8]) -> Vec<Packet<'_>> {
        let parsed = bytes.chunks(PACKET_SIZE).map(|b| {
            let b: &[u8; PACKET_SIZE] = b.try_into().expect("188");
            Packet::parse(b).expect("valid")
        });
        parsed.collect()
    }

    #[test]
    fn a_non_zero_pes_length_grows_by_the_inserted_bytes() {
        for (was, now) in [(0, 0), (500, 514), (65_530, 0)] {
            let rebuilt = with_parameter_sets(&p_frame(was), SETS).expect("rebuilt");
            let first = packets(&rebuilt)[0].payload;
            assert_eq!(first[4..6], u16::to_be_bytes(now), "{was}");
        }
    }

    #[test]
    fn only_the_first_packet_is_replaced_with_counters_ending_at_its_own() {
        let original = p_frame(0);
        let rebuilt = with_parameter_sets(&original, SETS).expect("rebuilt");
        // 3 packets of 400 bytes and more: one more with the sets.
        assert_eq!(rebuilt.len(), original.len() + PACKET_SIZE);
        assert_eq!(rebuilt[2 * PACKET_SIZE..], original[PACKET_SIZE..]);
        let (old, new) = (packets(&original), packets(&rebuilt));
        let counters: Vec<u8> = new.iter().map(|p| p.continuity_counter).collect();
        assert_eq!(counters, [15, 0, 1, 2]);
        assert!(new[0].discontinuity_indicator && !new[1].discontinuity_indicator);
        assert!(new[0].payload_unit_start_indicator && !new[1].payload_unit_start_indicator);
        let payload: Vec<u8> = [new[0].payload, new[1].payload].concat();
        let mut want = old[0].payload[..14 + 6].to_vec();
        want.extend_from_slice(SETS.annex_b);
        want.extend_from_slice(&old[0].payload[14 + 6..]);
        assert!(payload == want);
    }

    #[test]
    fn a_packet_that_starts_no_pes_is_left_alone() {
        let original = p_frame(0);
        assert_eq!(with_parameter_sets(&original[PACKET_SIZE..], SETS), None);
        assert_eq!(with_parameter_sets(&original[..100], SETS), None);
    }
}
