//! GStreamer as an independent HLS player: `gst-launch-1.0 playbin` or
//! `playbin3` (an HLS demuxer, tsdemux, the libav decoders) plays a
//! playlist to the end into fake sinks, as fast as it can read (a fakesink
//! does not sync to the clock). Two players in one: [`PLAYBIN`] uses
//! decodebin2, which refuses hlsdemux2 (it needs a streams-aware parent)
//! and takes the older hlsdemux (-bad); [`PLAYBIN3`] takes hlsdemux2
//! (-good), which downloads with libsoup: http:// only, not file://. Debian's `gstreamer1.0-tools`, `-plugins-base`, `-plugins-good`
//! (hlsdemux2, souphttpsrc), `-plugins-bad` and `-libav` are required
//! (scripts/test installs them): a missing tool fails the test, it never
//! skips.
//!
//! The play is judged by what GStreamer says: a non-zero exit status, an
//! `ERROR` anywhere in its output (gst-launch's own, or an element's at
//! `GST_DEBUG=1`), no end of stream, or no end within the timeout fails;
//! what the sinks took is returned for the test to judge.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `playbin`, with hlsdemux (file:// and http://).
pub const PLAYBIN: &str = "playbin";
/// `playbin3`, with hlsdemux2 (http:// only).
pub const PLAYBIN3: &str = "playbin3";

/// What the fake sinks received in a play to the end, as their base class
/// logs it at `GST_DEBUG=basesink:5` (one line per buffer, written by the
/// streaming thread itself, so none is lost).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Played {
    /// Decoded video frames (distinct timestamps).
    pub video_frames: usize,
    /// The first and the last video frame's timestamp.
    pub video_span: Option<(Duration, Duration)>,
    /// Decoded audio buffers.
    pub audio_buffers: usize,
}

impl Played {
    /// From the last video frame's timestamp to the first's.
    pub fn video_duration(&self) -> Duration {
        self.video_span
            .map_or(Duration::ZERO, |(first, last)| last - first)
    }
}

/// The timestamps of the buffers `sink` took, in order.
fn taken(output: &str, sink: &str) -> Vec<Duration> {
    let logged = format!("gst_base_sink_chain_unlocked:<{sink}> got times start: ");
    output
        .lines()
        .filter_map(|l| l.split(&logged).nth(1)?.split(',').next())
        .filter_map(clock_time)
        .collect()
}

/// A GStreamer clock time, `H:MM:SS.NNNNNNNNN`.
fn clock_time(text: &str) -> Option<Duration> {
    let mut fields = text.splitn(3, ':');
    let hours: u64 = fields.next()?.parse().ok()?;
    let minutes: u64 = fields.next()?.parse().ok()?;
    let (seconds, nanos) = fields.next()?.split_once('.')?;
    let seconds: u64 = seconds.parse().ok()?;
    let nanos: u32 = nanos.parse().ok()?;
    Some(Duration::new((hours * 60 + minutes) * 60 + seconds, nanos))
}

/// Plays `uri` (`file:///…/index.m3u8`, `http://…`) with `player`
/// ([`PLAYBIN`] or [`PLAYBIN3`]) to its end (EOS: ENDLIST for HLS), within
/// `timeout`; `scratch` holds its output. Panics, with the output, on any
/// failure (see the module's doc).
pub fn play_to_end(player: &str, uri: &str, scratch: &Path, timeout: Duration) -> Played {
    let log = scratch.join(format!("gst-launch-{player}.log"));
    let file = std::fs::File::create(&log).expect("gst-launch's log");
    let mut child = Command::new("gst-launch-1.0")
        .args([player, &format!("uri={uri}")])
        .args([
            "video-sink=fakesink name=video",
            "audio-sink=fakesink name=audio",
        ])
        .env("GST_DEBUG", "1,basesink:5")
        .env("GST_DEBUG_NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(file.try_clone().expect("log"))
        .stderr(file)
        .spawn()
        .unwrap_or_else(|e| {
            panic!("gst-launch-1.0 must be installed (scripts/test installs it): {e}")
        });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("gst-launch-1.0 waited for") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let output = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("gst-launch-1.0 {player} did not end {uri} within {timeout:?}:\n{output}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = std::fs::read_to_string(&log).expect("gst-launch's log");
    let ended = output.contains("Got EOS from element");
    assert!(
        status.success() && ended && !output.contains("ERROR"),
        "gst-launch-1.0 {player} {uri}: {status}, EOS {ended}:\n{output}"
    );
    let mut video = taken(&output, "video");
    video.sort();
    video.dedup();
    Played {
        video_frames: video.len(),
        video_span: video.first().zip(video.last()).map(|(a, b)| (*a, *b)),
        audio_buffers: taken(&output, "audio").len(),
    }
}
