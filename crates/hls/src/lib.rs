//! Live HLS from MPEG transport streams: the demultiplexer, the segment
//! cutter and the playlist writers behind `routecast segment`.
//!
//! The data path: TS bytes → [`ts::PacketReader`] (188-byte packets, sync
//! recovered after garbage) → [`cutter::SegmentCutter`] (PAT/PMT tracked,
//! PES headers read for timestamps, H.264/HEVC NAL units scanned for random
//! access points) → segments of whole packets, each opening with PAT, PMT and
//! a keyframe → [`playlist`] (RFC 8216 media and multivariant playlists,
//! written atomically by [`store`]). [`origin`] serves the result over HTTP
//! with the low-latency HLS blocking-reload rules.
//!
//! # Rules
//! * **Parsers never panic on input**: every byte parser takes `&[u8]` and
//!   returns a typed value or a typed error; a broken packet is counted and
//!   skipped, never fatal (fuzzed: `fuzz/fuzz_targets/ts_demux.rs`).
//! * **Time comes from the stream**: durations are PTS differences (33-bit,
//!   wrapping every 26.5 hours, handled by [`Timestamp::ticks_since`]); the
//!   wall clock only anchors `EXT-X-PROGRAM-DATE-TIME`.
//! * **Segments are whole packets**: a cut happens only before the first
//!   packet of a video PES whose first picture is a random access point, so
//!   no PES is split between two segments at the cut.
//!
//! Written by hand rather than on `mpeg2ts-reader`: a segmenter needs the raw
//! packets (to copy them into segments unchanged) and a keyframe verdict per
//! PES before deciding where its first packet goes; the packet, PSI and PES
//! headers it reads are a few hundred lines, and owning them keeps the cut
//! logic in one place.

pub mod channel;
pub mod cutter;
pub mod demux;
pub mod nal;
#[cfg(feature = "origin")]
pub mod origin;
pub mod pes;
pub mod playlist;
pub mod psi;
pub mod publish;
pub mod segmenter;
pub mod sps;
pub mod store;
pub mod ts;

#[cfg(test)]
mod testmux;

pub use cutter::{CutterConfig, CutterStats, Segment, SegmentCutter};
#[cfg(feature = "origin")]
pub use origin::OriginConfig;
pub use publish::Published;
pub use ts::{Packet, PacketReader, Pid, TsError, PACKET_SIZE};

/// A 90 kHz presentation or decoding timestamp (33 bits, as in the PES header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// Ticks per second.
    pub const HZ: u64 = 90_000;
    /// The timestamp wraps at 2^33 ticks (about 26.5 hours).
    pub const WRAP: u64 = 1 << 33;

    /// Ticks from `earlier` to `self`, across one wrap-around: the shortest
    /// forward distance modulo 2^33. A timestamp that went backwards reads as
    /// nearly 2^33 ticks: callers treat anything over their jump limit as a
    /// discontinuity.
    pub fn ticks_since(self, earlier: Timestamp) -> u64 {
        self.0.wrapping_sub(earlier.0) & (Self::WRAP - 1)
    }

    /// Seconds as a float (for playlists).
    pub fn seconds(ticks: u64) -> f64 {
        ticks as f64 / Self::HZ as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_since_crosses_the_33_bit_wrap() {
        let before = Timestamp(Timestamp::WRAP - 900);
        let after = Timestamp(2_700);
        assert_eq!(after.ticks_since(before), 3_600);
        assert_eq!(Timestamp(10).ticks_since(Timestamp(4)), 6);
        // Backwards: a huge forward distance, read as a jump.
        assert!(Timestamp(4).ticks_since(Timestamp(10)) > Timestamp::WRAP / 2);
    }
}
