//! Live HLS from MPEG transport streams: segmenting, RFC 8216 playlists and atomic segment storage.

pub mod playlist;
pub mod store;

/// A 90 kHz presentation or decoding timestamp (33 bits, as in the PES header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(pub u64);
