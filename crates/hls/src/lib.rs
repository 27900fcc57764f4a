//! Live HLS from MPEG transport streams: the demultiplexer, the segment
//! cutter, the playlist writers and the live channel behind `routecast
//! segment`, and the HTTP origin that serves the result.
//!
//! The data path, one module (or folder) per concept:
//!
//! * [`ts`]: 188-byte packets from a byte stream ([`ts::PacketReader`],
//!   sync recovered after garbage); [`psi`], [`pes`], [`nal`] and [`sps`]
//!   read the tables, PES headers, NAL unit types and codec parameters;
//!   [`scte35`] reads SCTE-35 splice information (ad breaks).
//! * [`demux`]: packets → the lead stream's access units, each with its
//!   timestamps and whether decoding can start there (PAT/PMT followed,
//!   continuity counted).
//! * [`cutter`]: where segments and parts end (`cutter/policy.rs`, pure)
//!   and their assembly from whole packets, each segment opening with PAT,
//!   PMT and a random access point (`cutter/assembly.rs`).
//! * [`segmenter`]: segments and parts into files ([`store`]: atomic
//!   writes, deletion after a grace period) and [`playlist`]s (RFC 8216
//!   live, EVENT and VOD media playlists, LL-HLS parts and delta updates,
//!   I-frame playlists, multivariant playlists); each state is
//!   [`publish`]ed.
//! * [`channel`]: the live channel: inputs (file, UDP, and HTTP with
//!   feature `http-input`, on by default, through routecast-http, the
//!   workspace's one HTTP client), `--realtime` pacing, failover to a
//!   backup input, several renditions and their multivariant playlist;
//!   time comes from a [`channel::Clock`].
//! * `origin` (feature `origin`, on by default): serves the output over
//!   HTTP/1.1 and HTTP/2, plain or TLS, with the low-latency HLS
//!   blocking-reload rules.
//!
//! Without its default features (`origin`, `http-input`) the crate pulls
//! in neither tokio nor hyper, and refuses `http://` inputs ("built
//! without HTTP input").
//!
//! # Rules
//! * **Parsers never panic on input**: every byte parser takes `&[u8]` and
//!   returns a typed value or a typed error; a broken packet is counted and
//!   skipped, never fatal (fuzzed: `fuzz/fuzz_targets/ts_demux.rs`).
//! * **Time comes from the stream**: durations are PTS differences (33-bit,
//!   wrapping every 26.5 hours, handled by [`Timestamp::ticks_since`]); the
//!   wall clock only anchors `EXT-X-PROGRAM-DATE-TIME`, and it is passed in
//!   (the segmenter takes milliseconds, the channel a clock).
//! * **Segments are whole packets**: a cut happens only before the first
//!   packet of a video PES whose first picture is a random access point (or,
//!   for a GOP longer than the target, a forced cut before a frame's PES),
//!   so no PES is split between two segments at the cut.
//! * **No segment rounds above the announced target**, whatever the GOP
//!   (see [`cutter`]).
//!
//! Written by hand rather than on `mpeg2ts-reader`: a segmenter needs the raw
//! packets (to copy them into segments unchanged) and a keyframe verdict per
//! PES before deciding where its first packet goes; the packet, PSI and PES
//! headers it reads are a few hundred lines, and owning them keeps the cut
//! logic in one place.
//!
//! # Example
//! Twelve seconds of generated 25 fps video with a keyframe every two
//! seconds (`testmux`, behind a feature of that name that this crate's own
//! tests turn on), cut in
//! memory into segments of at most 4 s:
//! ```
//! use routecast_hls::{testmux, CutterConfig, PacketReader, SegmentCutter, PACKET_SIZE};
//! let ts = testmux::stream(300, 50, 0, true);
//! let mut cutter = SegmentCutter::new(CutterConfig {
//!     target_duration: 4,
//!     ..CutterConfig::default()
//! });
//! PacketReader::new().feed(&ts, |packet| {
//!     let _ = cutter.push(packet); // a broken packet is counted, not fatal
//! });
//! cutter.finish();
//! let segments: Vec<_> = std::iter::from_fn(|| cutter.pop()).collect();
//! let seconds: Vec<f64> = segments.iter().map(|s| s.seconds()).collect();
//! assert_eq!(seconds, [4.0, 4.0, 4.0]);
//! for s in &segments {
//!     // Whole packets, opening with the PAT (PID 0).
//!     assert_eq!(s.bytes.len() % PACKET_SIZE, 0);
//!     assert_eq!(&s.bytes[..3], &[0x47, 0x40, 0x00]);
//! }
//! ```

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
pub mod scte35;
pub mod segmenter;
pub mod sps;
pub mod store;
pub mod ts;

#[cfg(any(test, feature = "testmux"))]
pub mod testmux;

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
