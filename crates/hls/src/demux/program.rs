//! The program tables as the demuxer follows them: the PAT and the PMT it
//! points to, reassembled and checked, and the raw packets of the latest
//! complete ones (every segment opens with a copy).

use std::collections::HashMap;

use super::DemuxStats;
use crate::psi::{self, Pmt, SectionAssembler};
use crate::ts::{Packet, Pid};

/// The PAT and PMT seen so far.
#[derive(Debug, Default)]
pub(super) struct ProgramTables {
    pat: SectionAssembler,
    pmt_pid: Option<Pid>,
    pmt_asm: SectionAssembler,
    pmt: Option<Pmt>,
    /// The latest complete PAT and PMT, as raw packets (their continuity
    /// counters are the latest seen, so the next table in the stream
    /// follows on).
    pat_packets: Vec<u8>,
    pmt_packets: Vec<u8>,
    /// The packets of the section in progress, per PID.
    section_packets: HashMap<Pid, Vec<u8>>,
}

impl ProgramTables {
    /// The current program, once its PMT arrived.
    pub(super) fn pmt(&self) -> Option<&Pmt> {
        self.pmt.as_ref()
    }

    /// Whether `pid` carries the PMT (as the PAT says).
    pub(super) fn is_pmt_pid(&self, pid: Pid) -> bool {
        self.pmt_pid == Some(pid)
    }

    /// The latest complete PAT's packets (empty until one came).
    pub(super) fn pat_packets(&self) -> &[u8] {
        &self.pat_packets
    }

    /// The latest complete PMT's packets (empty until one came).
    pub(super) fn pmt_packets(&self) -> &[u8] {
        &self.pmt_packets
    }

    /// Takes a PAT packet; a complete PAT names the PMT's PID.
    pub(super) fn on_pat(&mut self, p: &Packet<'_>, stats: &mut DemuxStats) {
        let Some(section) = self.collect(p, true) else {
            return;
        };
        match psi::parse_pat(&section) {
            Ok(Some((_, pmt_pid))) => {
                self.pat_packets = self.section_packets.remove(&p.pid).unwrap_or_default();
                if self.pmt_pid != Some(pmt_pid) {
                    self.pmt_pid = Some(pmt_pid);
                    self.pmt_asm = SectionAssembler::default();
                }
            }
            Ok(None) => {}
            Err(_) => stats.bad_sections += 1,
        }
    }

    /// Takes a PMT packet; the new program when a complete PMT changed it.
    pub(super) fn on_pmt(&mut self, p: &Packet<'_>, stats: &mut DemuxStats) -> Option<&Pmt> {
        let section = self.collect(p, false)?;
        let Ok(pmt) = psi::parse_pmt(&section) else {
            stats.bad_sections += 1;
            return None;
        };
        self.pmt_packets = self.section_packets.remove(&p.pid).unwrap_or_default();
        if self
            .pmt
            .as_ref()
            .is_some_and(|old| old.version == pmt.version && old.streams == pmt.streams)
        {
            return None;
        }
        if self.pmt.is_some() {
            stats.pmt_changes += 1;
        }
        Some(self.pmt.insert(pmt))
    }

    /// Feeds a PSI packet to its assembler, keeping the packets of the
    /// section in progress; the section once complete.
    fn collect(&mut self, p: &Packet<'_>, pat: bool) -> Option<Vec<u8>> {
        let raw = self.section_packets.entry(p.pid).or_default();
        if p.payload_unit_start_indicator {
            raw.clear();
        }
        raw.extend_from_slice(p.bytes);
        let asm = if pat {
            &mut self.pat
        } else {
            &mut self.pmt_asm
        };
        asm.push(p)
    }
}
