//! The segmenter under random streams, in process: random GOP lengths
//! (some far longer than the target duration), timestamp jumps back and
//! forward, PMT changes and input switches, with and without low-latency
//! parts. Every playlist the segmenter publishes goes through the live
//! checker of the player tests (`players/checker.rs`, with its own
//! playlist reader), which holds it to the RFC's rules across reloads:
//! EXTINF never rounds above EXT-X-TARGETDURATION, the target never
//! changes, media and discontinuity sequence numbers never go back,
//! PROGRAM-DATE-TIME never goes back nor drifts from the EXTINFs within a
//! timeline, parts add up to their segments byte for byte. Every segment
//! and part listed is downloaded from the output directory and must be a
//! whole transport stream. The segmenter's count of discontinuities (the
//! summary's) equals the tags in its playlist.
//!
//! Time is simulated: the wall clock advances with the media fed, as for
//! a live input, so a case takes milliseconds.

#[path = "players/checker.rs"]
#[allow(dead_code)]
mod checker;
#[path = "players/parts.rs"]
#[allow(dead_code)]
mod parts;
#[path = "players/snapshot.rs"]
#[allow(dead_code)]
mod snapshot;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use checker::{LiveChecker, Media, Rules, Snapshot, Want};
use proptest::prelude::*;
use routecast_hls::cutter::CutterConfig;
use routecast_hls::segmenter::{Segmenter, SegmenterConfig};
use routecast_hls::testmux::{h264_au, Mux, AUDIO_PID, FRAME, VIDEO_PID};
use routecast_hls::PACKET_SIZE;

/// 2026-12-07T08:00:00Z, the simulated clock's start.
const T0_MS: u64 = 1_796_630_400_000;

/// What happens before a piece of the stream.
#[derive(Debug, Clone, Copy)]
enum Jump {
    None,
    /// The timestamps go back this many seconds (an encoder restart).
    Back(u64),
    /// The timestamps go forward this many seconds (a splice, a gap).
    Forward(u64),
}

/// A run of frames with one keyframe interval.
#[derive(Debug, Clone)]
struct Piece {
    /// Frames between keyframes (25 fps).
    gop: u64,
    /// Frames in the piece.
    frames: u64,
    jump: Jump,
    /// The input switches (failover) before the piece.
    switch: bool,
    /// The PMT changes version before the piece.
    pmt_change: bool,
}

fn piece() -> impl Strategy<Value = Piece> {
    let gop = prop_oneof![4 => 10u64..=75, 1 => 76u64..=300];
    let jump = prop_oneof![
        6 => Just(Jump::None),
        1 => (1u64..=60).prop_map(Jump::Back),
        1 => (11u64..=120).prop_map(Jump::Forward),
    ];
    (
        gop,
        1u64..=400,
        jump,
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(gop, frames, jump, switch, pmt_change)| Piece {
            gop,
            frames,
            jump,
            switch,
            pmt_change,
        })
}

/// The stream: packets, and the packet indexes before which the input
/// switches.
fn stream(pieces: &[Piece], audio: bool) -> (Vec<u8>, Vec<usize>) {
    let mut m = Mux::default();
    let mut switches = Vec::new();
    let (mut pts, mut version, mut next_audio) = (900_000u64, 0u8, 0u64);
    for p in pieces {
        match p.jump {
            Jump::None => {}
            Jump::Back(s) => pts = pts.saturating_sub(s * 90_000).max(90_000),
            Jump::Forward(s) => pts += s * 90_000,
        }
        if p.switch {
            switches.push(m.out.len() / PACKET_SIZE);
        }
        if p.pmt_change {
            version = (version + 1) % 32;
        }
        next_audio = next_audio.min(pts).max(pts.saturating_sub(FRAME));
        for f in 0..p.frames {
            let key = f % p.gop == 0;
            if key {
                m.pat();
                let mut streams = vec![(0x1b, VIDEO_PID)];
                if audio {
                    streams.push((0x0f, AUDIO_PID));
                }
                m.pmt(version, &streams);
            }
            let dts = pts & ((1 << 33) - 1);
            let size = if key { 3000 } else { 400 };
            m.pes(
                VIDEO_PID,
                0xe0,
                dts + 2 * FRAME,
                Some(dts),
                &h264_au(key, size),
                key,
            );
            while audio && next_audio <= pts {
                let adts = [0xff, 0xf1, 0x50, 0x80, 0, 0x1f, 0xfc];
                m.pes(AUDIO_PID, 0xc0, next_audio, None, &adts, false);
                next_audio += 1_920;
            }
            pts += FRAME;
        }
    }
    (m.out, switches)
}

/// The settings of a case.
#[derive(Debug, Clone)]
struct Setup {
    target: u32,
    part: Option<f64>,
    audio: bool,
}

fn setup() -> impl Strategy<Value = Setup> {
    let part = prop_oneof![
        Just(None),
        (3u32..=10).prop_map(|t| Some(f64::from(t) / 10.0))
    ];
    (2u32..=6, part, any::<bool>()).prop_map(|(target, part, audio)| Setup {
        target,
        part,
        audio,
    })
}

/// Runs the stream through a segmenter; every publication (with the
/// simulated time it was made at) and the directory.
fn run(setup: &Setup, pieces: &[Piece]) -> (tempfile::TempDir, Vec<(u64, String)>, u64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = SegmenterConfig {
        dir: dir.path().to_path_buf(),
        cutter: CutterConfig {
            target_duration: setup.target,
            part_target: setup.part,
            ..CutterConfig::default()
        },
        window_secs: 200.0,
        grace_ms: 3_600_000,
        archive: false,
        encryption: None,
        iframes: false,
        cue_tags: false,
    };
    let mut seg = Segmenter::open(config, T0_MS).expect("opens");
    let now = Arc::new(AtomicU64::new(T0_MS));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (n, s) = (now.clone(), seen.clone());
    seg.on_publish(move |p| {
        let at = n.load(Ordering::SeqCst);
        s.lock().expect("not poisoned").push((at, p.playlist));
    })
    .expect("disk thread");
    let (ts, switches) = stream(pieces, setup.audio);
    let mut switches = switches.into_iter().peekable();
    let packets = ts.len() / PACKET_SIZE;
    // The clock runs with the media: the whole stream's frames over the
    // packets, one packet at a time.
    let frames: u64 = pieces.iter().map(|p| p.frames).sum();
    let ms_per_packet = (frames * 40) as f64 / packets.max(1) as f64;
    for (i, p) in ts.chunks_exact(PACKET_SIZE).enumerate() {
        while switches.next_if(|s| *s == i).is_some() {
            seg.switch_input();
        }
        let t = T0_MS + (i as f64 * ms_per_packet) as u64;
        now.store(t, Ordering::SeqCst);
        let packet: &[u8; PACKET_SIZE] = p.try_into().expect("188 bytes");
        seg.push(packet, t)
            .expect("no IO error")
            .expect("a valid packet");
    }
    seg.finish(now.load(Ordering::SeqCst) + 40)
        .expect("finishes");
    let published = std::mem::take(&mut *seen.lock().expect("not poisoned"));
    (dir, published, seg.discontinuities_written())
}

/// The presentation time of the first video PES in a segment, read here
/// (not by the crate): the PES header of the first packet on the video
/// PID with payload_unit_start_indicator set.
fn first_video_pts(segment: &[u8]) -> Option<u64> {
    segment.chunks_exact(PACKET_SIZE).find_map(|p| {
        let pid = u16::from(p[1] & 0x1f) << 8 | u16::from(p[2]);
        if pid != VIDEO_PID || p[1] & 0x40 == 0 {
            return None;
        }
        let start = match p[3] >> 4 & 3 {
            1 => 4,
            3 => 5 + usize::from(p[4]),
            _ => return None,
        };
        let pes = p.get(start..)?;
        if pes.get(..3)? != [0, 0, 1] || pes.get(7)? & 0x80 == 0 {
            return None;
        }
        let t = pes.get(9..14)?;
        Some(
            u64::from(t[0] >> 1 & 7) << 30
                | u64::from(t[1]) << 22
                | u64::from(t[2] >> 1) << 15
                | u64::from(t[3]) << 7
                | u64::from(t[4] >> 1),
        )
    })
}

/// Within a timeline the media has no gaps: a segment without a
/// discontinuity starts where the one before it ended (its first
/// picture's PTS is the previous first PTS plus the previous EXTINF, to
/// the millisecond EXTINF is written in).
fn check_timeline(dir: &std::path::Path, last: &str) -> Result<(), String> {
    let snap = Snapshot::parse(last)?;
    let mut before: Option<(u64, f64)> = None;
    for s in &snap.segments {
        let body = std::fs::read(dir.join(&s.uri)).map_err(|x| format!("{}: {x}", s.uri))?;
        let pts = first_video_pts(&body).ok_or(format!("{}: no video PTS", s.uri))?;
        if let (Some((prev, duration)), false) = (before, s.discontinuity) {
            let step = pts.wrapping_sub(prev) & ((1 << 33) - 1);
            let gap_ms = step as f64 / 90.0 - duration * 1000.0;
            if gap_ms.abs() > 1.0 {
                return Err(format!(
                    "{}: starts {gap_ms:+.1} ms after the previous segment's end, without EXT-X-DISCONTINUITY",
                    s.uri
                ));
            }
        }
        before = Some((pts, s.duration));
    }
    Ok(())
}

/// Every publication through the live checker, every listed file
/// downloaded from the directory.
fn check(dir: &std::path::Path, published: &[(u64, String)]) -> Result<(), String> {
    let mut checker = LiveChecker::new(Rules {
        grace_ms: 3_600_000,
        margin_ms: 0,
    });
    for (i, (at, text)) in published.iter().enumerate() {
        // Nothing published yet (the target is not settled): no playlist.
        if text.is_empty() {
            continue;
        }
        let snap = Snapshot::parse(text).map_err(|e| format!("publication {i}: {e}\n{text}"))?;
        if snap.segments.is_empty() && snap.parts.is_empty() {
            continue;
        }
        let now = at - T0_MS;
        checker
            .observe(now, snap)
            .map_err(|e| format!("publication {i} at {now} ms: {e}\n{text}"))?;
        for e in checker.due(now) {
            if e.want != Want::Complete {
                continue;
            }
            let body = std::fs::read(dir.join(&e.uri)).map_err(|x| format!("{}: {x}", e.uri))?;
            checker
                .answer(&e, 200, &body)
                .map_err(|x| format!("publication {i}: {x}"))?;
            let _ = matches!(e.media, Media::Part(..));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_publication_keeps_the_rfc_rules(
        setup in setup(),
        pieces in prop::collection::vec(piece(), 1..8),
    ) {
        let (dir, published, told) = run(&setup, &pieces);
        if let Err(e) = check(dir.path(), &published) {
            return Err(TestCaseError::fail(e));
        }
        // The window holds the whole stream (200 s against at most 8 × 400
        // frames): the last playlist lists every segment.
        let last = published.last().map_or("", |p| p.1.as_str());
        if let Err(e) = check_timeline(dir.path(), last) {
            return Err(TestCaseError::fail(format!("{e}\n{last}")));
        }
        // What the summary reports is what the playlist holds (point 4).
        let tags = last.matches("#EXT-X-DISCONTINUITY\n").count() as u64;
        prop_assert_eq!(told, tags, "discontinuities reported vs written:\n{}", last);
    }
}
