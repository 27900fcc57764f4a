//! Program-specific information: the PAT and PMT sections (ISO/IEC 13818-1
//! §2.4.4), reassembled across packets and checked by their CRC-32.

use crate::ts::{Packet, Pid};

/// CRC-32/MPEG-2, the checksum closing every PSI section.
const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_MPEG_2);

/// Longest PSI section (section_length is at most 1021 for PAT/PMT).
const MAX_SECTION: usize = 1024;

/// Why a section was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PsiError {
    /// Shorter than its fixed header and CRC.
    #[error("section too short ({0} bytes)")]
    Short(usize),
    /// The CRC-32 does not match.
    #[error("section CRC-32 mismatch")]
    Crc,
    /// Not the table expected on this PID.
    #[error("unexpected table_id {0:#04x}")]
    TableId(u8),
    /// section_length beyond what the standard allows.
    #[error("section_length {0} too long")]
    Length(usize),
    /// An inner length runs past the section.
    #[error("a descriptor loop runs past the section end")]
    Overrun,
}

/// What kind of elementary stream a PMT entry carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamKind {
    /// H.264 / AVC video (stream_type 0x1b).
    H264,
    /// H.265 / HEVC video (stream_type 0x24).
    Hevc,
    /// Other video (MPEG-2 and so on): cut on the random_access_indicator.
    OtherVideo,
    /// Audio: AAC (ADTS or LATM), MPEG audio, AC-3, E-AC-3.
    Audio,
    /// Anything else (data, subtitles, ID3 timed metadata).
    Other,
}

impl StreamKind {
    /// The kind of `stream_type`.
    pub fn of(stream_type: u8) -> StreamKind {
        match stream_type {
            0x1b => StreamKind::H264,
            0x24 => StreamKind::Hevc,
            0x01 | 0x02 | 0x10 | 0x42 | 0xea => StreamKind::OtherVideo,
            0x03 | 0x04 | 0x0f | 0x11 | 0x81 | 0x87 => StreamKind::Audio,
            _ => StreamKind::Other,
        }
    }

    /// Video of any codec.
    pub fn is_video(self) -> bool {
        matches!(
            self,
            StreamKind::H264 | StreamKind::Hevc | StreamKind::OtherVideo
        )
    }
}

/// One elementary stream of a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stream {
    /// The PMT's stream_type.
    pub stream_type: u8,
    /// Its PID.
    pub pid: Pid,
}

impl Stream {
    /// What the stream carries.
    pub fn kind(&self) -> StreamKind {
        StreamKind::of(self.stream_type)
    }
}

/// A program map table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pmt {
    /// program_number.
    pub program_number: u16,
    /// version_number (changes when the program changes).
    pub version: u8,
    /// The PID carrying the PCR.
    pub pcr_pid: Pid,
    /// The elementary streams, in table order.
    pub streams: Vec<Stream>,
}

/// Validates a whole section (from table_id to CRC) and returns its body
/// (after the 8-byte long header, before the CRC) and version.
fn section_body(s: &[u8], table_id: u8) -> Result<(&[u8], u8, u16), PsiError> {
    if s.len() < 12 {
        return Err(PsiError::Short(s.len()));
    }
    if s[0] != table_id {
        return Err(PsiError::TableId(s[0]));
    }
    let len = usize::from(s[1] & 0x0f) << 8 | usize::from(s[2]);
    if len > MAX_SECTION - 3 {
        return Err(PsiError::Length(len));
    }
    let total = 3 + len;
    if s.len() < total || total < 12 {
        return Err(PsiError::Short(s.len().min(total)));
    }
    let s = &s[..total];
    if CRC.checksum(s) != 0 {
        return Err(PsiError::Crc);
    }
    let id = u16::from(s[3]) << 8 | u16::from(s[4]);
    let version = (s[5] >> 1) & 0x1f;
    Ok((&s[8..total - 4], version, id))
}

/// The PMT PID of the first program in a PAT section.
pub fn parse_pat(section: &[u8]) -> Result<Option<(u16, Pid)>, PsiError> {
    let (body, _, _) = section_body(section, 0x00)?;
    Ok(body.chunks_exact(4).find_map(|e| {
        let program = u16::from(e[0]) << 8 | u16::from(e[1]);
        let pid = Pid(u16::from(e[2] & 0x1f) << 8 | u16::from(e[3]));
        (program != 0).then_some((program, pid))
    }))
}

/// Parses a PMT section.
pub fn parse_pmt(section: &[u8]) -> Result<Pmt, PsiError> {
    let (body, version, program_number) = section_body(section, 0x02)?;
    if body.len() < 4 {
        return Err(PsiError::Short(body.len()));
    }
    let pcr_pid = Pid(u16::from(body[0] & 0x1f) << 8 | u16::from(body[1]));
    let info = usize::from(body[2] & 0x0f) << 8 | usize::from(body[3]);
    let mut rest = body.get(4 + info..).ok_or(PsiError::Overrun)?;
    let mut streams = Vec::new();
    while !rest.is_empty() {
        if rest.len() < 5 {
            return Err(PsiError::Overrun);
        }
        let pid = Pid(u16::from(rest[1] & 0x1f) << 8 | u16::from(rest[2]));
        let es_info = usize::from(rest[3] & 0x0f) << 8 | usize::from(rest[4]);
        streams.push(Stream {
            stream_type: rest[0],
            pid,
        });
        rest = rest.get(5 + es_info..).ok_or(PsiError::Overrun)?;
    }
    Ok(Pmt {
        program_number,
        version,
        pcr_pid,
        streams,
    })
}

/// Reassembles the sections of one PID from its packets.
#[derive(Debug)]
pub struct SectionAssembler {
    buf: Vec<u8>,
    collecting: bool,
    /// The longest section taken (a longer one is dropped).
    max: usize,
    /// Sections after the first in a packet are read (else dropped, as
    /// PAT and PMT readers want).
    several: bool,
    /// The section being collected started in the last packet fed: what
    /// follows its end in that packet may be another section.
    started_here: bool,
}

impl Default for SectionAssembler {
    /// For PAT and PMT sections (at most 1,024 bytes).
    fn default() -> Self {
        Self::with_max(MAX_SECTION)
    }
}

impl SectionAssembler {
    /// For sections of at most `max` bytes, only the first section of a
    /// packet read.
    pub fn with_max(max: usize) -> Self {
        Self {
            buf: Vec::new(),
            collecting: false,
            max,
            several: false,
            started_here: false,
        }
    }

    /// For sections of at most `max` bytes (SCTE-35's: 4,096), every
    /// section of a packet read (take those after the first with
    /// [`next_section`](Self::next_section)).
    pub fn several(max: usize) -> Self {
        Self {
            several: true,
            ..Self::with_max(max)
        }
    }

    /// Feeds a packet of this PID; returns a complete section when one ends
    /// in it (the first: take the others with
    /// [`next_section`](Self::next_section)).
    pub fn push(&mut self, p: &Packet<'_>) -> Option<Vec<u8>> {
        let payload = p.payload;
        let mut first = None;
        self.started_here = false;
        if p.payload_unit_start_indicator {
            let pointer = usize::from(*payload.first()?);
            // The tail of the previous section comes before the pointer.
            let (tail, start) = (payload.get(1..1 + pointer)?, payload.get(1 + pointer..)?);
            if self.collecting {
                self.buf.extend_from_slice(tail);
                first = self.complete();
            }
            self.begin(start);
        } else if self.collecting {
            self.buf.extend_from_slice(payload);
        }
        if self.buf.len() > self.max + PACKET_SLACK {
            self.collecting = false;
            self.buf.clear();
        }
        first.or_else(|| self.complete())
    }

    /// Another section the last packet completed: several may follow each
    /// other in one packet (ISO/IEC 13818-1 §2.4.4.1), until stuffing
    /// (`0xFF`) or the packet's end.
    pub fn next_section(&mut self) -> Option<Vec<u8>> {
        self.complete()
    }

    fn begin(&mut self, start: &[u8]) {
        self.buf.clear();
        self.buf.extend_from_slice(start);
        self.collecting = true;
        self.started_here = true;
    }

    /// The section, once its declared length is in; what follows it in the
    /// packet it started in starts the next one unless it is stuffing (only
    /// there may one start: after a pointer field), when several are read.
    fn complete(&mut self) -> Option<Vec<u8>> {
        if !self.collecting || self.buf.len() < 3 || self.buf[0] == 0xff {
            return None;
        }
        let total = 3 + (usize::from(self.buf[1] & 0x0f) << 8 | usize::from(self.buf[2]));
        if self.buf.len() < total {
            return None;
        }
        let rest = self.buf.split_off(total);
        let section = std::mem::replace(&mut self.buf, rest);
        let next = self.several && self.started_here;
        self.collecting = next && self.buf.first().is_some_and(|&b| b != 0xff);
        if !self.collecting {
            self.buf.clear();
        }
        Some(section)
    }
}

/// Payload bytes of one packet: a section buffer may exceed the longest
/// section by this much before its start is found to be lost.
const PACKET_SLACK: usize = 184;

#[cfg(test)]
mod tests;
