//! MPEG-TS packets (ISO/IEC 13818-1 §2.4.3): the 4-byte header, the
//! adaptation field's random-access indicator and PCR, and a reader that
//! splits a byte stream into packets, recovering sync after garbage.

use crate::Timestamp;

/// Bytes in a transport stream packet.
pub const PACKET_SIZE: usize = 188;

/// The sync byte every packet starts with.
pub const SYNC_BYTE: u8 = 0x47;

/// A packet identifier (13 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pid(pub u16);

impl Pid {
    /// The Program Association Table.
    pub const PAT: Pid = Pid(0);
    /// Null packets (stuffing).
    pub const NULL: Pid = Pid(0x1fff);
}

/// Why a packet could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TsError {
    /// The packet does not start with 0x47.
    #[error("no sync byte (0x47) at the packet start")]
    Sync,
    /// The transport_error_indicator is set: the packet is known broken.
    #[error("transport_error_indicator set")]
    TransportError,
    /// The adaptation field claims more bytes than the packet has.
    #[error("adaptation field length {0} exceeds the packet")]
    AdaptationLength(u8),
}

/// One parsed packet, borrowing its 188 bytes.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    /// The whole packet, as it will be copied into a segment.
    pub bytes: &'a [u8; PACKET_SIZE],
    /// Its PID.
    pub pid: Pid,
    /// A PES packet or PSI section starts in this packet's payload.
    pub payload_unit_start_indicator: bool,
    /// 4-bit counter, incremented per packet with payload on a PID.
    pub continuity_counter: u8,
    /// The adaptation field's random_access_indicator (a hint only).
    pub random_access_indicator: bool,
    /// The adaptation field's discontinuity_indicator.
    pub discontinuity_indicator: bool,
    /// The program clock reference (its 90 kHz base), if carried.
    pub pcr: Option<Timestamp>,
    /// The payload, possibly empty.
    pub payload: &'a [u8],
}

impl<'a> Packet<'a> {
    /// Parses one packet.
    pub fn parse(bytes: &'a [u8; PACKET_SIZE]) -> Result<Packet<'a>, TsError> {
        if bytes[0] != SYNC_BYTE {
            return Err(TsError::Sync);
        }
        if bytes[1] & 0x80 != 0 {
            return Err(TsError::TransportError);
        }
        let pid = Pid(u16::from(bytes[1] & 0x1f) << 8 | u16::from(bytes[2]));
        let control = (bytes[3] >> 4) & 0x3;
        let mut p = Packet {
            bytes,
            pid,
            payload_unit_start_indicator: bytes[1] & 0x40 != 0,
            continuity_counter: bytes[3] & 0x0f,
            random_access_indicator: false,
            discontinuity_indicator: false,
            pcr: None,
            payload: &[],
        };
        let mut at = 4;
        if control & 0x2 != 0 {
            let len = bytes[4];
            let end = 5 + usize::from(len);
            if end > PACKET_SIZE {
                return Err(TsError::AdaptationLength(len));
            }
            if len > 0 {
                let flags = bytes[5];
                p.discontinuity_indicator = flags & 0x80 != 0;
                p.random_access_indicator = flags & 0x40 != 0;
                if flags & 0x10 != 0 && len >= 7 {
                    let b = &bytes[6..12];
                    let base = u64::from(b[0]) << 25
                        | u64::from(b[1]) << 17
                        | u64::from(b[2]) << 9
                        | u64::from(b[3]) << 1
                        | u64::from(b[4]) >> 7;
                    p.pcr = Some(Timestamp(base));
                }
            }
            at = end;
        }
        if control & 0x1 != 0 {
            p.payload = &bytes[at..];
        }
        Ok(p)
    }

    /// True when the packet carries a payload (continuity counts only these).
    pub fn has_payload(&self) -> bool {
        self.bytes[3] & 0x10 != 0
    }
}

/// Splits a byte stream into 188-byte packets. Bytes that cannot be a
/// packet start are skipped: sync is (re)acquired where 0x47 appears at
/// three consecutive packet boundaries (or at the end of what is buffered).
#[derive(Debug, Default)]
pub struct PacketReader {
    buf: Vec<u8>,
    /// Start of the unread bytes in `buf`.
    at: usize,
    /// Bytes skipped to find sync, over the life of the reader.
    skipped: u64,
    /// Times sync was lost after having been held.
    sync_losses: u64,
    in_sync: bool,
}

/// Packets whose sync byte must line up to (re)acquire sync.
const SYNC_RUN: usize = 3;

impl PacketReader {
    /// An empty reader.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes read from the input.
    pub fn extend(&mut self, bytes: &[u8]) {
        if self.at > 0 && self.at == self.buf.len() {
            self.buf.clear();
            self.at = 0;
        } else if self.at >= 64 * PACKET_SIZE {
            self.buf.drain(..self.at);
            self.at = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole packet's bytes, or `None` until more input arrives.
    /// `end` says no more input will come (sync is then trusted on a single
    /// sync byte for the last packets).
    pub fn next_packet(&mut self, end: bool) -> Option<&[u8; PACKET_SIZE]> {
        loop {
            let rest = &self.buf[self.at..];
            if rest.len() < PACKET_SIZE {
                if end && !rest.is_empty() {
                    // A truncated last packet: skipped and counted.
                    self.skipped += rest.len() as u64;
                    self.at = self.buf.len();
                }
                return None;
            }
            if rest[0] == SYNC_BYTE && (self.in_sync || self.confirmed(rest, end)) {
                let start = self.at;
                self.at += PACKET_SIZE;
                self.in_sync = true;
                return self.buf[start..start + PACKET_SIZE].try_into().ok();
            }
            if rest[0] == SYNC_BYTE && !end && rest.len() < SYNC_RUN * PACKET_SIZE {
                // Not enough bytes to confirm: wait for more.
                return None;
            }
            if self.in_sync {
                self.sync_losses += 1;
                self.in_sync = false;
            }
            // Skip to the next candidate sync byte.
            let skip = rest[1..]
                .iter()
                .position(|b| *b == SYNC_BYTE)
                .map_or(rest.len(), |i| i + 1);
            self.skipped += skip as u64;
            self.at += skip;
        }
    }

    /// Calls `f` with every whole packet in what was buffered plus `bytes`,
    /// in order, as [`extend`](Self::extend) then
    /// [`next_packet`](Self::next_packet) would, but in place in `bytes`
    /// while in sync (no copy); only a trailing partial packet, or what
    /// follows lost sync, is buffered.
    pub fn feed(&mut self, bytes: &[u8], mut f: impl FnMut(&[u8; PACKET_SIZE])) {
        let mut at = 0;
        if self.at == self.buf.len() && self.in_sync {
            while let Some(p) = bytes.get(at..at + PACKET_SIZE) {
                let Ok(p) = <&[u8; PACKET_SIZE]>::try_from(p) else {
                    break;
                };
                if p[0] != SYNC_BYTE {
                    break;
                }
                f(p);
                at += PACKET_SIZE;
            }
        }
        self.extend(&bytes[at..]);
        while let Some(p) = self.next_packet(false) {
            f(p);
        }
    }

    /// Tells the reader the packet it returned was not valid, so sync is
    /// re-checked from the next byte boundary on.
    pub fn lose_sync(&mut self) {
        if self.in_sync {
            self.in_sync = false;
            self.sync_losses += 1;
        }
    }

    /// Whether `SYNC_RUN` sync bytes line up from `rest` on (fewer at the end
    /// of the input).
    fn confirmed(&self, rest: &[u8], end: bool) -> bool {
        let available = rest.len() / PACKET_SIZE;
        if available < SYNC_RUN && !end {
            return false;
        }
        (0..SYNC_RUN.min(available)).all(|k| rest[k * PACKET_SIZE] == SYNC_BYTE)
    }

    /// Bytes skipped while looking for sync.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Times sync was lost after having been acquired.
    pub fn sync_losses(&self) -> u64 {
        self.sync_losses
    }
}

#[cfg(test)]
mod tests;
