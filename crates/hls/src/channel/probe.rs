//! What an input that does not feed the segmenter yields: the watchdog
//! needs to know whether the stand-by input (or a failed-over primary)
//! would give frames, not whether it sends bytes.
//!
//! The same measure as the segmenter's own
//! ([`crate::segmenter::Segmenter::lead_advances`]): lead-stream PES whose
//! decoding time advances past the one before, by at most the cutter's
//! jump limit (a restart counts from its second frame on).

use crate::demux::{DemuxEvent, Demuxer};
use crate::ts::{Pid, PACKET_SIZE};
use crate::Timestamp;

/// Demultiplexes an input only to see whether it yields frames.
#[derive(Debug)]
pub(crate) struct LeadProbe {
    demux: Demuxer,
    /// The last lead PES's decoding time.
    last: Option<Timestamp>,
    /// A larger step is a jump, not an advance, ticks.
    max_jump: u64,
}

impl LeadProbe {
    /// A probe that has seen nothing, with the cutter's jump limit
    /// ([`crate::CutterConfig::max_jump`], seconds).
    pub(crate) fn new(max_jump: f64) -> Self {
        Self {
            demux: Demuxer::new(),
            last: None,
            max_jump: (max_jump.max(0.0) * Timestamp::HZ as f64) as u64,
        }
    }

    /// Takes one packet; whether it started a lead PES whose decoding time
    /// advanced.
    pub(crate) fn push(&mut self, packet: &[u8; PACKET_SIZE]) -> bool {
        let mut advanced = false;
        let (last, max_jump) = (&mut self.last, self.max_jump);
        // A broken packet is no sign of health; its error is not needed.
        let _ = self.demux.push(packet, &mut |event| {
            if let DemuxEvent::PesStart {
                decode: Some(t), ..
            } = event
            {
                let step = last.map(|l| t.ticks_since(l));
                advanced |= step.is_some_and(|s| (1..=max_jump).contains(&s));
                *last = Some(t);
            }
        });
        advanced
    }

    /// Takes one packet of an input that feeds the segmenter: only the
    /// PAT and PMT, so that the probe knows the lead stream at once when
    /// the input no longer does (cheap: no copy, no PES).
    pub(crate) fn watch_tables(&mut self, packet: &[u8; PACKET_SIZE]) {
        let pid = Pid(u16::from(packet[1] & 0x1f) << 8 | u16::from(packet[2]));
        if self.demux.is_table_pid(pid) {
            let _ = self.demux.push(packet, &mut |_| {});
        }
    }

    /// The input was not watched for a while (it fed the segmenter): what
    /// is held and the continuity counters start over.
    pub(crate) fn restart(&mut self) {
        self.demux.switch_input();
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testmux::stream;
    use crate::CutterConfig;

    fn advances(bytes: &[u8]) -> usize {
        let mut probe = LeadProbe::new(CutterConfig::default().max_jump);
        bytes
            .chunks_exact(PACKET_SIZE)
            .filter(|p| probe.push((*p).try_into().expect("188")))
            .count()
    }

    #[test]
    fn every_video_frame_after_the_first_is_an_advance() {
        // 100 frames of video (and audio, which is not the lead).
        assert_eq!(advances(&stream(100, 25, 0, true)), 99);
    }

    #[test]
    fn bytes_that_are_no_stream_advance_nothing() {
        let html = b"<html><body>502 Bad Gateway</body></html>".repeat(200);
        assert_eq!(advances(&html[..188 * 40]), 0);
        let mut unsynced = stream(100, 25, 0, false);
        for p in unsynced.chunks_exact_mut(PACKET_SIZE) {
            p[0] = 0x48;
        }
        assert_eq!(advances(&unsynced), 0);
    }
}
