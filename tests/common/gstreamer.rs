//! GStreamer as an independent HLS player: `gst-launch-1.0 playbin` (its
//! HLS demuxer, tsdemux, the libav decoders) plays a playlist to the end
//! into fake sinks, as fast as it can read (a fakesink does not sync to the
//! clock). Debian's `gstreamer1.0-tools`, `-plugins-base`, `-plugins-good`
//! (hlsdemux2, souphttpsrc), `-plugins-bad` and `-libav` are required
//! (scripts/test installs them): a missing tool fails the test, it never
//! skips.
//!
//! The play is judged by what GStreamer says: a non-zero exit status, an
//! `ERROR` anywhere in its output (gst-launch's own, or an element's at
//! `GST_DEBUG=1`), no end of stream, or no end within the timeout fails.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What the fake sinks received in a play to the end, as gst-launch
/// announced it (`-v`: each buffer a sink takes changes its
/// `last-message`; under load two changes may be announced as one, so the
/// counts are lower bounds, the timestamps exact).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Played {
    /// Decoded video frames announced (distinct timestamps).
    pub video_frames: usize,
    /// The first and the last video frame's timestamp.
    pub video_span: Option<(Duration, Duration)>,
    /// Decoded audio buffers announced.
    pub audio_buffers: usize,
}

impl Played {
    /// From the last video frame's timestamp to the first's.
    pub fn video_duration(&self) -> Duration {
        self.video_span
            .map_or(Duration::ZERO, |(first, last)| last - first)
    }
}

/// The timestamps of the buffers `sink` announced, in order.
fn announced(output: &str, sink: &str) -> Vec<Duration> {
    let announced = format!("GstFakeSink:{sink}: last-message = chain");
    output
        .lines()
        .filter(|l| l.contains(&announced))
        .filter_map(|l| l.split(" pts: ").nth(1)?.split(',').next())
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

/// Plays `uri` (`file:///…/index.m3u8`, `http://…`) with playbin to its end
/// (EOS: ENDLIST for HLS), within `timeout`; `scratch` holds its output.
/// Panics, with the output, on any failure (see the module's doc).
pub fn play_to_end(uri: &str, scratch: &Path, timeout: Duration) -> Played {
    let log = scratch.join("gst-launch.log");
    let file = std::fs::File::create(&log).expect("gst-launch's log");
    let mut child = Command::new("gst-launch-1.0")
        .args(["-v", "playbin", &format!("uri={uri}")])
        .arg("video-sink=fakesink name=video silent=false")
        .arg("audio-sink=fakesink name=audio silent=false")
        .env("GST_DEBUG", "1")
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
            panic!("gst-launch-1.0 did not end {uri} within {timeout:?}:\n{output}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = std::fs::read_to_string(&log).expect("gst-launch's log");
    let ended = output.contains("Got EOS from element");
    assert!(
        status.success() && ended && !output.contains("ERROR"),
        "gst-launch-1.0 playbin {uri}: {status}, EOS {ended}:\n{output}"
    );
    let mut video = announced(&output, "video");
    video.sort();
    video.dedup();
    Played {
        video_frames: video.len(),
        video_span: video.first().zip(video.last()).map(|(a, b)| (*a, *b)),
        audio_buffers: announced(&output, "audio").len(),
    }
}
