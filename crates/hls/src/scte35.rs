//! SCTE-35 splice information (ANSI/SCTE 35 2023, §9): the
//! `splice_info_section`s an encoder sends on a PMT stream of type 0x86 to
//! mark ad breaks and program boundaries.
//!
//! [`SpliceInfo::parse`] reads one whole section: its CRC-32 checked, every
//! length checked against the bytes there are (an impossible one is an
//! error, never a panic), `splice_insert` and `time_signal` commands read
//! in full with their segmentation descriptors, other commands
//! (`splice_null`, `splice_schedule`, `bandwidth_reservation`,
//! `private_command`) kept by type. [`SpliceInfo::signal`] says what the
//! section means for a playlist: the start of a break (an "out"), its end
//! (an "in"), a cancellation, or a command to pass on as it is — the three
//! attributes RFC 8216 §4.3.2.7.1 maps SCTE-35 to (`SCTE35-OUT`,
//! `SCTE35-IN`, `SCTE35-CMD`).
//!
//! Written here: no maintained Rust crate parses SCTE-35 (the few on
//! crates.io are unmaintained and panic on short input). The sections the
//! tests read are made by threefive, an independent implementation.

use crate::Timestamp;

/// CRC-32/MPEG-2, which closes a splice_info_section as it does PSI.
const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_MPEG_2);

/// The table_id of a splice_info_section.
pub const TABLE_ID: u8 = 0xfc;

/// The PMT stream_type of an SCTE-35 stream.
pub const STREAM_TYPE: u8 = 0x86;

/// The longest section: section_length is 12 bits.
pub const MAX_SECTION: usize = 3 + 0x0fff;

/// Why a splice_info_section was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Scte35Error {
    /// Shorter than the fixed fields and the CRC, or than its section_length says.
    #[error("splice_info_section too short ({0} bytes)")]
    Short(usize),
    /// Not table_id 0xFC.
    #[error("table_id {0:#04x} is not a splice_info_section (0xfc)")]
    TableId(u8),
    /// The CRC-32 does not match.
    #[error("splice_info_section CRC-32 mismatch")]
    Crc,
    /// A length (splice_command_length, descriptor_loop_length, a
    /// descriptor's length, a UPID's) runs past what holds it.
    #[error("{0} runs past the end of the section")]
    Overrun(&'static str),
    /// protocol_version other than 0 (the only one defined).
    #[error("protocol_version {0} is not 0")]
    Version(u8),
}

/// A splice time (`splice_time()`), as sent: 33-bit PTS before
/// `pts_adjustment`, or none (`time_specified_flag` = 0).
pub type SpliceTime = Option<u64>;

/// A `break_duration()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakDuration {
    /// The break ends by itself after `duration` (no "in" will come).
    pub auto_return: bool,
    /// 90 kHz ticks.
    pub duration: u64,
}

/// A `splice_insert()` command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpliceInsert {
    /// splice_event_id: the "out" and its "in" share it.
    pub event_id: u32,
    /// splice_event_cancel_indicator: an earlier event of this id is off.
    pub cancel: bool,
    /// out_of_network_indicator: 1 leaves the network (an "out"), 0 returns.
    pub out_of_network: bool,
    /// program_splice_flag: the whole program splices at one time.
    pub program_splice: bool,
    /// splice_immediate_flag: at the next opportunity, not at a time.
    pub immediate: bool,
    /// The program's splice time (with `program_splice`, not immediate).
    pub time: SpliceTime,
    /// Splice times of components (without `program_splice`).
    pub components: Vec<(u8, SpliceTime)>,
    /// break_duration, when `duration_flag` is set.
    pub break_duration: Option<BreakDuration>,
    /// unique_program_id.
    pub unique_program_id: u16,
    /// avail_num.
    pub avail_num: u8,
    /// avails_expected.
    pub avails_expected: u8,
}

/// The command a section carries.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpliceCommand {
    /// splice_null (0x00): a heartbeat.
    Null,
    /// splice_insert (0x05).
    Insert(SpliceInsert),
    /// time_signal (0x06): a time; its meaning is in the descriptors.
    TimeSignal(SpliceTime),
    /// Another command (splice_schedule 0x04, bandwidth_reservation 0x07,
    /// private_command 0xff, or one not defined), by type.
    Other(u8),
    /// The command is encrypted (encrypted_packet = 1): not readable here.
    Encrypted(u8),
}

/// A `segmentation_descriptor()` (tag 0x02).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segmentation {
    /// segmentation_event_id.
    pub event_id: u32,
    /// segmentation_event_cancel_indicator.
    pub cancel: bool,
    /// segmentation_type_id (0x34: provider placement opportunity start…).
    pub type_id: u8,
    /// segmentation_duration, 90 kHz ticks.
    pub duration: Option<u64>,
    /// segmentation_upid_type.
    pub upid_type: u8,
    /// segmentation_upid's bytes.
    pub upid: Vec<u8>,
    /// segment_num.
    pub segment_num: u8,
    /// segments_expected.
    pub segments_expected: u8,
}

impl Segmentation {
    /// The segmentation types that start a break a player leaves the
    /// programme for (breaks, ads, placement opportunities, overlays, ad
    /// blocks): their "end" type is the next number.
    pub fn starts_break(&self) -> bool {
        matches!(
            self.type_id,
            0x22 | 0x30 | 0x32 | 0x34 | 0x36 | 0x38 | 0x3a | 0x44 | 0x46
        )
    }

    /// The segmentation types that end such a break.
    pub fn ends_break(&self) -> bool {
        matches!(
            self.type_id,
            0x23 | 0x31 | 0x33 | 0x35 | 0x37 | 0x39 | 0x3b | 0x45 | 0x47
        )
    }
}

/// One splice_info_section, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpliceInfo {
    /// pts_adjustment: added (modulo 2^33) to every splice time.
    pub pts_adjustment: u64,
    /// tier.
    pub tier: u16,
    /// The command.
    pub command: SpliceCommand,
    /// The segmentation descriptors with the "CUEI" identifier, in order
    /// (other descriptors are kept in the section's bytes, not read).
    pub segmentations: Vec<Segmentation>,
}

/// What a section means for a playlist (RFC 8216 §4.3.2.7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// A break starts (`SCTE35-OUT`): `id` pairs it with its end; a planned
    /// duration (90 kHz ticks) when the section gives one; `auto_return`
    /// when it ends by itself after that duration.
    Out {
        /// The event: a splice_event_id, or a segmentation_event_id.
        id: EventId,
        /// break_duration or segmentation_duration, ticks.
        planned: Option<u64>,
        /// The break ends by itself (break_duration's auto_return).
        auto_return: bool,
    },
    /// A break ends (`SCTE35-IN`).
    In {
        /// The event it ends.
        id: EventId,
    },
    /// An event announced before is cancelled.
    Cancel {
        /// The event.
        id: EventId,
    },
    /// Anything else: passed on as `SCTE35-CMD`.
    Command,
}

/// The identity of a splice event, for pairing an "out" with its "in".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventId {
    /// splice_insert's splice_event_id.
    Splice(u32),
    /// A segmentation descriptor's segmentation_event_id.
    Segmentation(u32),
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EventId::Splice(id) => write!(f, "splice-{id:08X}"),
            EventId::Segmentation(id) => write!(f, "seg-{id:08X}"),
        }
    }
}

impl SpliceInfo {
    /// Reads a whole section, from table_id to CRC_32 (bytes after
    /// section_length's end are ignored).
    pub fn parse(section: &[u8]) -> Result<SpliceInfo, Scte35Error> {
        if section.len() < 3 {
            return Err(Scte35Error::Short(section.len()));
        }
        if section[0] != TABLE_ID {
            return Err(Scte35Error::TableId(section[0]));
        }
        let total = 3 + (usize::from(section[1] & 0x0f) << 8 | usize::from(section[2]));
        // The fixed fields (11 after section_length, the command type
        // included), the descriptor loop length, and the CRC.
        if section.len() < total || total < 3 + 11 + 2 + 4 {
            return Err(Scte35Error::Short(section.len().min(total)));
        }
        let s = &section[..total];
        if CRC.checksum(s) != 0 {
            return Err(Scte35Error::Crc);
        }
        let mut r = Bits::new(&s[3..total - 4]);
        let version = r.byte("protocol_version")?;
        if version != 0 {
            return Err(Scte35Error::Version(version));
        }
        let encrypted = r.bits(1, "encrypted_packet")? == 1;
        r.bits(6, "encryption_algorithm")?;
        let pts_adjustment = r.bits(33, "pts_adjustment")?;
        r.byte("cw_index")?;
        let tier = r.bits(12, "tier")? as u16;
        let command_length = r.bits(12, "splice_command_length")? as usize;
        let command_type = r.byte("splice_command_type")?;
        if encrypted {
            // Command and descriptors are encrypted: nothing more is readable.
            return Ok(SpliceInfo {
                pts_adjustment,
                tier,
                command: SpliceCommand::Encrypted(command_type),
                segmentations: Vec::new(),
            });
        }
        // 0xFFF: "legacy" senders leave the length unknown; the command's own
        // syntax then says where it ends.
        let command_bytes = if command_length == 0x0fff {
            r.rest()
        } else {
            r.take(command_length, "splice_command_length")?
        };
        let mut c = Bits::new(command_bytes);
        let command = match command_type {
            0x00 => SpliceCommand::Null,
            0x05 => SpliceCommand::Insert(splice_insert(&mut c)?),
            0x06 => SpliceCommand::TimeSignal(splice_time(&mut c)?),
            other => SpliceCommand::Other(other),
        };
        if command_length == 0x0fff {
            if let SpliceCommand::Other(_) = command {
                // Its end is unknown (its syntax is not read here): the
                // descriptors after it cannot be found.
                return Ok(SpliceInfo {
                    pts_adjustment,
                    tier,
                    command,
                    segmentations: Vec::new(),
                });
            }
            let used = command_bytes.len() - c.rest().len();
            r.take(used, "splice_command")?;
        }
        let loop_length = r.bits(16, "descriptor_loop_length")? as usize;
        let mut d = Bits::new(r.take(loop_length, "descriptor_loop_length")?);
        let mut segmentations = Vec::new();
        while !d.rest().is_empty() {
            let tag = d.byte("splice_descriptor_tag")?;
            let length = usize::from(d.byte("descriptor_length")?);
            let mut body = Bits::new(d.take(length, "descriptor_length")?);
            if body.rest().len() < 4 {
                return Err(Scte35Error::Overrun("a descriptor's identifier"));
            }
            let identifier = body.take(4, "identifier")?;
            if tag == 0x02 && identifier == b"CUEI" {
                segmentations.push(segmentation(&mut body)?);
            }
        }
        Ok(SpliceInfo {
            pts_adjustment,
            tier,
            command,
            segmentations,
        })
    }

    /// The splice time, with pts_adjustment added (modulo 2^33): `None`
    /// for an immediate splice, a command without a time, or one whose
    /// components splice at times of their own (the earliest is taken
    /// then, as a packager cuts the whole program once).
    pub fn splice_pts(&self) -> Option<Timestamp> {
        let time = match &self.command {
            SpliceCommand::Insert(i) if i.immediate || i.cancel => None,
            SpliceCommand::Insert(i) if i.program_splice => i.time,
            SpliceCommand::Insert(i) => i.components.iter().filter_map(|c| c.1).min(),
            SpliceCommand::TimeSignal(t) => *t,
            _ => None,
        }?;
        Some(Timestamp(
            (time + self.pts_adjustment) & (Timestamp::WRAP - 1),
        ))
    }

    /// Whether the section splices at once (splice_immediate_flag), at the
    /// next opportunity after it arrives.
    pub fn immediate(&self) -> bool {
        matches!(&self.command, SpliceCommand::Insert(i) if i.immediate && !i.cancel)
    }

    /// What the section means for a playlist: a splice_insert's "out" or
    /// "in" by its out_of_network_indicator; a time_signal's by its first
    /// segmentation descriptor that starts or ends a break; cancellations;
    /// anything else a command. See [`signals`](Self::signals) for all.
    pub fn signal(&self) -> Signal {
        self.signals()[0]
    }

    /// Everything the section means for a playlist, never empty: one
    /// signal for a splice_insert or a command; for a time_signal, one per
    /// segmentation descriptor that ends, cancels or starts a break (RFC
    /// 8216 §4.3.2.7.1: each in a date range of its own, with the whole
    /// section), ends and cancellations first (a section that ends one
    /// placement opportunity and starts the next, back to back), else a
    /// command.
    pub fn signals(&self) -> Vec<Signal> {
        match &self.command {
            SpliceCommand::Insert(i) => {
                let id = EventId::Splice(i.event_id);
                vec![if i.cancel {
                    Signal::Cancel { id }
                } else if i.out_of_network {
                    Signal::Out {
                        id,
                        planned: i.break_duration.map(|b| b.duration),
                        auto_return: i.break_duration.is_some_and(|b| b.auto_return),
                    }
                } else {
                    Signal::In { id }
                }]
            }
            SpliceCommand::TimeSignal(_) => {
                let mut ends = Vec::new();
                let mut starts = Vec::new();
                for s in &self.segmentations {
                    let id = EventId::Segmentation(s.event_id);
                    if s.cancel {
                        ends.push(Signal::Cancel { id });
                    } else if s.ends_break() {
                        ends.push(Signal::In { id });
                    } else if s.starts_break() {
                        starts.push(Signal::Out {
                            id,
                            planned: s.duration,
                            auto_return: false,
                        });
                    }
                }
                ends.extend(starts);
                if ends.is_empty() {
                    ends.push(Signal::Command);
                }
                ends
            }
            _ => vec![Signal::Command],
        }
    }
}

/// `splice_insert()` (§9.7.3).
fn splice_insert(c: &mut Bits<'_>) -> Result<SpliceInsert, Scte35Error> {
    let event_id = c.bits(32, "splice_event_id")? as u32;
    let cancel = c.bits(1, "splice_event_cancel_indicator")? == 1;
    c.bits(7, "reserved")?;
    let mut insert = SpliceInsert {
        event_id,
        cancel,
        out_of_network: false,
        program_splice: false,
        immediate: false,
        time: None,
        components: Vec::new(),
        break_duration: None,
        unique_program_id: 0,
        avail_num: 0,
        avails_expected: 0,
    };
    if cancel {
        return Ok(insert);
    }
    insert.out_of_network = c.bits(1, "out_of_network_indicator")? == 1;
    insert.program_splice = c.bits(1, "program_splice_flag")? == 1;
    let duration_flag = c.bits(1, "duration_flag")? == 1;
    insert.immediate = c.bits(1, "splice_immediate_flag")? == 1;
    c.bits(4, "reserved")?;
    if insert.program_splice && !insert.immediate {
        insert.time = splice_time(c)?;
    }
    if !insert.program_splice {
        let count = c.byte("component_count")?;
        for _ in 0..count {
            let tag = c.byte("component_tag")?;
            let time = if insert.immediate {
                None
            } else {
                splice_time(c)?
            };
            insert.components.push((tag, time));
        }
    }
    if duration_flag {
        let auto_return = c.bits(1, "auto_return")? == 1;
        c.bits(6, "reserved")?;
        insert.break_duration = Some(BreakDuration {
            auto_return,
            duration: c.bits(33, "duration")?,
        });
    }
    insert.unique_program_id = c.bits(16, "unique_program_id")? as u16;
    insert.avail_num = c.byte("avail_num")?;
    insert.avails_expected = c.byte("avails_expected")?;
    Ok(insert)
}

/// `splice_time()` (§9.8.1).
fn splice_time(c: &mut Bits<'_>) -> Result<SpliceTime, Scte35Error> {
    if c.bits(1, "time_specified_flag")? == 1 {
        c.bits(6, "reserved")?;
        Ok(Some(c.bits(33, "pts_time")?))
    } else {
        c.bits(7, "reserved")?;
        Ok(None)
    }
}

/// `segmentation_descriptor()` after its identifier (§10.3.3).
fn segmentation(d: &mut Bits<'_>) -> Result<Segmentation, Scte35Error> {
    let event_id = d.bits(32, "segmentation_event_id")? as u32;
    let cancel = d.bits(1, "segmentation_event_cancel_indicator")? == 1;
    d.bits(7, "reserved")?;
    let mut s = Segmentation {
        event_id,
        cancel,
        type_id: 0,
        duration: None,
        upid_type: 0,
        upid: Vec::new(),
        segment_num: 0,
        segments_expected: 0,
    };
    if cancel {
        return Ok(s);
    }
    let program = d.bits(1, "program_segmentation_flag")? == 1;
    let has_duration = d.bits(1, "segmentation_duration_flag")? == 1;
    // delivery_not_restricted_flag and the restriction bits (or reserved).
    d.bits(6, "delivery restrictions")?;
    if !program {
        let count = d.byte("component_count")?;
        for _ in 0..count {
            d.take(6, "a component's pts_offset")?;
        }
    }
    if has_duration {
        s.duration = Some(d.bits(40, "segmentation_duration")?);
    }
    s.upid_type = d.byte("segmentation_upid_type")?;
    let upid_length = usize::from(d.byte("segmentation_upid_length")?);
    s.upid = d.take(upid_length, "segmentation_upid_length")?.to_vec();
    s.type_id = d.byte("segmentation_type_id")?;
    s.segment_num = d.byte("segment_num")?;
    s.segments_expected = d.byte("segments_expected")?;
    // sub_segment_num and sub_segments_expected may follow: not needed.
    Ok(s)
}

/// A big-endian bit reader over a byte slice; every read says what it
/// was reading when the bytes run out.
struct Bits<'a> {
    bytes: &'a [u8],
    /// Bits already read of `bytes[0]` (0–7).
    bit: u32,
}

impl<'a> Bits<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, bit: 0 }
    }

    /// The next `n` (≤ 57) bits as an integer.
    fn bits(&mut self, n: u32, what: &'static str) -> Result<u64, Scte35Error> {
        let mut value = 0u64;
        let mut left = n;
        while left > 0 {
            let byte = *self.bytes.first().ok_or(Scte35Error::Overrun(what))?;
            let avail = 8 - self.bit;
            let take = avail.min(left);
            let shifted = u64::from(byte) >> (avail - take) & ((1u64 << take) - 1);
            value = value << take | shifted;
            left -= take;
            self.bit += take;
            if self.bit == 8 {
                self.bit = 0;
                self.bytes = &self.bytes[1..];
            }
        }
        Ok(value)
    }

    fn byte(&mut self, what: &'static str) -> Result<u8, Scte35Error> {
        Ok(self.bits(8, what)? as u8)
    }

    /// The next `n` whole bytes (the reader is on a byte boundary).
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], Scte35Error> {
        debug_assert_eq!(self.bit, 0);
        if self.bytes.len() < n {
            return Err(Scte35Error::Overrun(what));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    /// The bytes not read yet (from the next whole byte).
    fn rest(&self) -> &'a [u8] {
        self.bytes
    }
}

/// The section as RFC 8216's hexadecimal-sequence (`0xFC30…`), as the
/// `SCTE35-OUT`, `SCTE35-IN` and `SCTE35-CMD` attributes carry it.
pub fn hex_sequence(section: &[u8]) -> String {
    let mut s = String::with_capacity(2 + 2 * section.len());
    s.push_str("0x");
    for b in section {
        s.push_str(&format!("{b:02X}"));
    }
    s
}

#[cfg(test)]
mod tests;
