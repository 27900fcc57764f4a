//! A rendition as a multivariant playlist describes it (`BANDWIDTH`,
//! `AVERAGE-BANDWIDTH`, `CODECS`, `RESOLUTION`), measured from the segments
//! written and the codecs the demuxer read.

use crate::sps::VideoFormat;
use crate::Timestamp;

/// A rendition as a multivariant playlist describes it, measured from the
/// segments written so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendition {
    /// `BANDWIDTH`: the highest segment bit rate, bits/s.
    pub bandwidth: u64,
    /// `AVERAGE-BANDWIDTH`: all bits over all time, bits/s.
    pub average_bandwidth: u64,
    /// `CODECS`: video then audio, comma-separated.
    pub codecs: String,
    /// `RESOLUTION`, when there is video whose SPS was read.
    pub resolution: Option<(u32, u32)>,
    /// Whether the program carries video (of any codec, even one whose
    /// codec string is not known).
    pub video: bool,
    /// The audio codec alone (e.g. `mp4a.40.2`), when there is audio.
    pub audio_codec: Option<String>,
    /// The audio channels, when the audio's header says (`CHANNELS`).
    pub audio_channels: Option<u8>,
    /// Its I-frame playlist's `BANDWIDTH` and `AVERAGE-BANDWIDTH`, bits/s,
    /// when it has one with entries (`EXT-X-I-FRAME-STREAM-INF`).
    pub iframes: Option<(u64, u64)>,
}

impl Rendition {
    /// Whether it has audio and no video.
    pub fn is_audio_only(&self) -> bool {
        !self.video && self.audio_codec.is_some()
    }
}

/// Bit rates of the segments written: the highest, and the totals for the
/// average.
#[derive(Debug, Clone, Default)]
pub(super) struct BitRates {
    peak_bps: u64,
    total_bits: u128,
    total_ticks: u128,
}

impl BitRates {
    /// A segment of `bytes` lasting `ticks` was written.
    pub(super) fn add(&mut self, bytes: u64, ticks: u64) {
        if ticks == 0 {
            return;
        }
        let bits = bytes * 8;
        let bps = u128::from(bits) * u128::from(Timestamp::HZ) / u128::from(ticks);
        self.peak_bps = self.peak_bps.max(u64::try_from(bps).unwrap_or(u64::MAX));
        self.total_bits += u128::from(bits);
        self.total_ticks += u128::from(ticks);
    }

    /// The rendition with these codecs (`video`: its format if known and
    /// whether there is video at all; `audio`: its codec and channels):
    /// `None` until a segment was written and a codec is known.
    pub(super) fn rendition(
        &self,
        (video, has_video): (Option<&VideoFormat>, bool),
        (audio_codec, audio_channels): (Option<&str>, Option<u8>),
    ) -> Option<Rendition> {
        if self.total_ticks == 0 {
            return None;
        }
        let codecs: Vec<&str> = video
            .map(|v| v.codecs.as_str())
            .into_iter()
            .chain(audio_codec)
            .collect();
        if codecs.is_empty() {
            return None;
        }
        let average = self.total_bits * u128::from(Timestamp::HZ) / self.total_ticks;
        Some(Rendition {
            bandwidth: self.peak_bps,
            average_bandwidth: u64::try_from(average).unwrap_or(u64::MAX),
            codecs: codecs.join(","),
            resolution: video.map(|v| (v.width, v.height)),
            video: has_video || video.is_some(),
            audio_codec: audio_codec.map(str::to_owned),
            audio_channels: audio_codec.and(audio_channels),
            iframes: None,
        })
    }
}
