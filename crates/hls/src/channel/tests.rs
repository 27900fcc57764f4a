//! The failover loop on virtual time: scripted arrivals, a manual clock,
//! real segmenters writing into temporary directories; nothing sleeps.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::follow::{follow, Context};
use super::reader::{Arrival, Inputs};
use super::*;
use crate::playlist::MediaPlaylist;
use crate::segmenter::ARCHIVE_PLAYLIST;
use crate::testmux::{stream, VIDEO_PID};
use crate::ts::{Packet, Pid, PACKET_SIZE};

/// Wall-clock time at the start of every test (2025-11-24).
const T0: u64 = 1_764_000_000_000;

/// Arrivals at set times (ms after the start), in order; time moves to
/// each as it is taken, or by the loop's timeout when none is due.
struct Scripted {
    clock: ManualClock,
    script: VecDeque<(u64, Arrival)>,
    /// Requests to reopen an input: (ms after the start, input).
    reopened: Vec<(u64, Source)>,
}

impl Inputs for Scripted {
    fn next(&mut self, timeout: Duration) -> Arrival {
        let now = self.clock.monotonic();
        let due = self
            .script
            .front()
            .map(|(at, _)| Duration::from_millis(*at));
        match due {
            Some(at) if at <= now + timeout => {
                self.clock.advance(at.saturating_sub(now));
                self.script
                    .pop_front()
                    .map_or(Arrival::Disconnected, |a| a.1)
            }
            Some(_) => {
                self.clock.advance(timeout);
                Arrival::Timeout
            }
            None => Arrival::Disconnected,
        }
    }

    fn give_back(&mut self, _: Source, _: Vec<u8>) {}

    fn reopen(&mut self, source: Source) -> bool {
        let at = self.clock.monotonic().as_millis() as u64;
        self.reopened.push((at, source));
        true
    }
}

/// `input` cut into 100 ms chunks of the stream's own time: chunk `k`
/// holds the packets from the video frame decoded at `k` × 0.1 s on.
fn tenths(input: &[u8]) -> Vec<Vec<u8>> {
    let mut chunks: Vec<Vec<u8>> = vec![Vec::new()];
    let mut first = None;
    for p in input.chunks_exact(PACKET_SIZE) {
        let packet = Packet::parse(p.try_into().expect("188")).expect("valid");
        if packet.pid == Pid(VIDEO_PID) && packet.payload_unit_start_indicator {
            let dts = crate::pes::parse_header(packet.payload)
                .expect("PES")
                .decode_time()
                .expect("timed")
                .0;
            let k = (dts - *first.get_or_insert(dts)) / 9_000;
            chunks.resize_with(chunks.len().max(k as usize + 1), Vec::new);
        }
        chunks.last_mut().expect("one").extend_from_slice(p);
    }
    chunks
}

/// Chunks `from..to` of `chunks` from `source`, the first at `start` ms
/// and one every 100 ms.
fn every_tenth(
    source: Source,
    chunks: &[Vec<u8>],
    range: std::ops::Range<usize>,
    start: u64,
) -> Vec<(u64, Arrival)> {
    chunks[range]
        .iter()
        .enumerate()
        .map(|(i, c)| (start + 100 * i as u64, Arrival::Chunk(source, c.clone())))
        .collect()
}

/// A segmenter into `dir`: 2 s targets, an archive.
fn segmenter(dir: &Path) -> Segmenter {
    segmenter_with_parts(dir, None)
}

/// A segmenter into `dir`: 2 s targets, parts of `part_target` if any, an
/// archive.
fn segmenter_with_parts(dir: &Path, part_target: Option<f64>) -> Segmenter {
    let config = SegmenterConfig {
        dir: dir.to_path_buf(),
        cutter: CutterConfig {
            target_duration: 2,
            part_target,
            ..CutterConfig::default()
        },
        window_secs: 6.0,
        grace_ms: 8_000,
        archive: true,
        encryption: None,
        iframes: false,
        cue_tags: false,
    };
    Segmenter::open(config, T0).expect("open")
}

/// The archive's segments as (seconds, discontinuity before).
fn archive(dir: &Path) -> Vec<(f64, bool)> {
    let text = std::fs::read_to_string(dir.join(ARCHIVE_PLAYLIST)).expect("archive");
    let p = MediaPlaylist::parse(&text).expect("valid");
    p.segments()
        .map(|s| {
            let ms = s.duration.rounded_millis() as f64;
            (ms / 1000.0, s.discontinuity_before)
        })
        .collect()
}

/// Runs `script` through a rendition named `names`; the switches it made
/// (virtual ms after the start, input now used) and its summary.
fn run(
    dir: &Path,
    names: [Option<&str>; 2],
    script: Vec<(u64, Arrival)>,
) -> (Result<RenditionSummary, ChannelError>, Vec<(u64, Source)>) {
    let clock = ManualClock::new(T0);
    let mut script: Vec<_> = script;
    // Stable: at one time, the order given.
    script.sort_by_key(|(at, _)| *at);
    let mut inputs = Scripted {
        clock: clock.clone(),
        script: script.into(),
        reopened: Vec::new(),
    };
    let switches = std::sync::Mutex::new(Vec::new());
    let events = |e: ChannelEvent<'_>| {
        if let ChannelEvent::Switched { to, .. } = e {
            let at = clock.wall_ms() - T0;
            switches.lock().expect("lock").push((at, to));
        }
    };
    let stop = AtomicBool::new(false);
    let cx = Context {
        names,
        failover: FailoverConfig {
            silence_ms: 2_000,
            recover_ms: 10_000,
        },
        max_jump: CutterConfig::default().max_jump,
        clock: &clock,
        stop: &stop,
        serving: false,
        events: &events,
    };
    let mut s = segmenter(dir);
    let summary = follow(&cx, &mut s, &mut inputs, |_| {});
    let switches = switches.into_inner().expect("lock");
    (summary, switches)
}

#[test]
fn a_silent_primary_fails_over_after_the_stall_timeout_and_takes_back_after_recovery() {
    let dir = tempfile::tempdir().expect("tmp");
    // 2 s GOPs at 25 fps, 40 s each; the backup on another timeline.
    let primary = tenths(&stream(1_000, 50, 0, false));
    let backup = tenths(&stream(1_000, 50, 7_000_000, false));
    // The primary sends 10 s, is silent from 10 to 20 s, then goes on
    // where it stopped; the backup sends all the time.
    let mut script = every_tenth(Source::Primary, &primary, 0..100, 0);
    script.extend(every_tenth(Source::Primary, &primary, 100..300, 20_000));
    script.extend(every_tenth(Source::Backup, &backup, 0..400, 0));
    let names = [Some("primary.ts"), Some("backup.ts")];
    let (summary, switches) = run(dir.path(), names, script);
    // The primary last spoke at 9.9 s: the backup takes over 2 s later; the
    // primary is back at 20 s and takes back after 10 s of health.
    assert_eq!(
        switches,
        [(11_900, Source::Backup), (30_000, Source::Primary)]
    );
    let summary = summary.expect("ran");
    assert_eq!(summary.switches, 2);
    assert_eq!(summary.stats.demux.continuity_errors, 0);
    // The primary's 10 s, less its last frame (cut short by the failure as
    // far as anyone knows); the backup from its first keyframe after the
    // switch (12 s) to 30 s, less its last frame; the primary again from
    // its first keyframe after the switch (the chunk that decided it, 20 s
    // of its stream, was read before the switch) to its end at 30 s.
    let mut expected = vec![(2.0, false); 4];
    expected.push((1.96, false));
    expected.push((2.0, true));
    expected.extend([(2.0, false); 7]);
    expected.push((1.96, false));
    expected.push((2.0, true));
    expected.extend([(2.0, false); 3]);
    assert_eq!(archive(dir.path()), expected);
}

#[test]
fn a_flapping_primary_does_not_take_back() {
    let dir = tempfile::tempdir().expect("tmp");
    let primary = tenths(&stream(1_000, 50, 0, false));
    let backup = tenths(&stream(1_000, 50, 7_000_000, false));
    // Up 10 s, then 5 s up and 3 s down, twice: never 10 s of health.
    let mut script = every_tenth(Source::Primary, &primary, 0..100, 0);
    script.extend(every_tenth(Source::Primary, &primary, 100..150, 13_000));
    script.extend(every_tenth(Source::Primary, &primary, 150..200, 21_000));
    script.extend(every_tenth(Source::Backup, &backup, 0..300, 0));
    let names = [Some("primary.ts"), Some("backup.ts")];
    let (summary, switches) = run(dir.path(), names, script);
    assert_eq!(switches, [(11_900, Source::Backup)]);
    assert_eq!(summary.expect("ran").switches, 1);
}

#[test]
fn a_read_error_ends_a_rendition_without_backup_and_not_one_with() {
    let dir = tempfile::tempdir().expect("tmp");
    let primary = tenths(&stream(250, 50, 0, false));
    let broken = || std::io::Error::other("connection reset");
    let mut script = every_tenth(Source::Primary, &primary, 0..50, 0);
    script.push((5_000, Arrival::Failed(Source::Primary, broken())));
    let (summary, _) = run(dir.path(), [Some("in.ts"), None], script);
    let error = summary.err().map(|e| e.to_string());
    assert_eq!(
        error.as_deref(),
        Some("in.ts: read error: connection reset")
    );

    let dir = tempfile::tempdir().expect("tmp");
    let mut script = every_tenth(Source::Primary, &primary, 0..50, 0);
    script.push((5_000, Arrival::Failed(Source::Primary, broken())));
    script.extend(every_tenth(Source::Backup, &primary, 0..100, 0));
    script.push((10_000, Arrival::End(Source::Backup)));
    let (summary, switches) = run(dir.path(), [Some("in.ts"), Some("b.ts")], script);
    // The primary last spoke at 4.9 s.
    assert_eq!(switches, [(6_900, Source::Backup)]);
    assert!(summary.is_ok());
}

/// Runs `script` through a rendition with only a primary; the wall times
/// (virtual ms after the start) at which segments were written, with the
/// count so far.
fn run_alone(dir: &Path, part_target: Option<f64>, script: Vec<(u64, Arrival)>) -> Vec<(u64, u64)> {
    let clock = ManualClock::new(T0);
    let mut inputs = Scripted {
        clock: clock.clone(),
        script: script.into(),
        reopened: Vec::new(),
    };
    let stop = AtomicBool::new(false);
    let cx = Context {
        names: [Some("in.ts"), None],
        failover: FailoverConfig::default(),
        max_jump: CutterConfig::default().max_jump,
        clock: &clock,
        stop: &stop,
        serving: false,
        events: &|_| {},
    };
    let mut s = segmenter_with_parts(dir, part_target);
    let mut writes = Vec::new();
    follow(&cx, &mut s, &mut inputs, |s| {
        writes.push((clock.wall_ms() - T0, s.segments_written()));
    })
    .expect("ran");
    writes
}

/// Sources that keep sending bytes but never a frame, every 100 ms for 40 s.
fn useless(source: Source, kind: &str) -> Vec<(u64, Arrival)> {
    let html = b"<html><body>Service temporarily unavailable</body></html>\n".repeat(4);
    let ts = stream(1_000, 50, 0, false);
    // Bytes that never sync: no 0x47 anywhere.
    let noise: Vec<u8> = (0..4_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 | 0x80)
        .collect();
    match kind {
        "html" => (0..400)
            .map(|i| (i * 100, Arrival::Chunk(source, html.clone())))
            .collect(),
        // A real stream, one byte a second.
        "trickle" => (0..40)
            .map(|i| (i * 1_000, Arrival::Chunk(source, vec![ts[i as usize]])))
            .collect(),
        _ => (0..400)
            .map(|i| (i * 100, Arrival::Chunk(source, noise.clone())))
            .collect(),
    }
}

#[test]
fn a_primary_that_sends_bytes_but_no_frames_is_failed_over_to_a_healthy_backup() {
    let backup = tenths(&stream(1_000, 50, 7_000_000, false));
    for kind in ["html", "trickle", "noise"] {
        let dir = tempfile::tempdir().expect("tmp");
        let mut script = useless(Source::Primary, kind);
        script.extend(every_tenth(Source::Backup, &backup, 0..400, 0));
        let names = [Some("primary.ts"), Some("backup.ts")];
        let (summary, switches) = run(dir.path(), names, script);
        // Nothing usable from the start: the failover time after it (the
        // loop decides at least every 100 ms).
        assert_eq!(switches.len(), 1, "{kind}: {switches:?}");
        let (at, to) = switches[0];
        assert_eq!(to, Source::Backup, "{kind}");
        assert!((2_000..=2_100).contains(&at), "{kind}: switched at {at} ms");
        assert!(summary.expect("ran").segments >= 15, "{kind}");
        // The backup's segments, from its first keyframe after the switch.
        let segments = archive(dir.path());
        assert!(segments.len() >= 15, "{kind}: {segments:?}");
    }
}

/// The first video PES's presentation time in each archived segment, s.
fn segment_starts(dir: &Path) -> Vec<f64> {
    let text = std::fs::read_to_string(dir.join(ARCHIVE_PLAYLIST)).expect("archive");
    let p = MediaPlaylist::parse(&text).expect("valid");
    p.segments()
        .map(|s| {
            let bytes = std::fs::read(dir.join(&s.uri)).expect("segment");
            let first = bytes.chunks_exact(PACKET_SIZE).find_map(|p| {
                let packet = Packet::parse(p.try_into().ok()?).ok()?;
                let start = packet.pid == Pid(VIDEO_PID) && packet.payload_unit_start_indicator;
                start.then(|| crate::pes::parse_header(packet.payload).ok()?.pts)?
            });
            first.expect("a video PES").0 as f64 / 90_000.0
        })
        .collect()
}

#[test]
fn a_flapping_primary_is_failed_over_once_and_the_output_stays_valid() {
    let dir = tempfile::tempdir().expect("tmp");
    // A live primary: healthy 10 s, then up 0.25 s in every 2 s (what it
    // sends while down is lost); the backup healthy all along.
    let primary = tenths(&stream(1_000, 50, 0, false));
    let backup = tenths(&stream(1_000, 50, 7_000_000, false));
    let mut script = every_tenth(Source::Primary, &primary, 0..100, 0);
    for k in (100..400).filter(|k| k % 20 < 3) {
        script.push((
            k as u64 * 100,
            Arrival::Chunk(Source::Primary, primary[k].clone()),
        ));
    }
    script.extend(every_tenth(Source::Backup, &backup, 0..400, 0));
    let names = [Some("primary.ts"), Some("backup.ts")];
    let (summary, switches) = run(dir.path(), names, script);
    // Last steady chunk at 9.9 s; up 10.0–10.2 s, the stall from 10.2 s to
    // 12 s (1.8 s) and the next from 12.2 s, a stall once over 0.5 s (the
    // loop looks every 100 ms): 2.4 s of stalls at 12.8 s.
    assert_eq!(switches, [(12_800, Source::Backup)]);
    let summary = summary.expect("ran");
    assert_eq!(summary.switches, 1);
    let segments = archive(dir.path());
    // The primary's 10 s; what it sent from 10 s (its last frame, maybe cut
    // short, dropped); the hole of 1.72 s is a discontinuity, then what it
    // sent from 12 s; the switch is one more; the backup from its keyframe
    // at 14 s of its stream.
    let mut expected = vec![(2.0, false); 5];
    expected.extend([(0.28, false), (0.28, true), (2.0, true), (2.0, false)]);
    assert_eq!(segments[..9], expected, "{segments:?}");
    let tags = segments.iter().filter(|(_, d)| *d).count();
    assert_eq!(tags as u64, summary.discontinuities);
    assert_eq!(tags, 2, "{segments:?}");
    // TARGETDURATION 2: no EXTINF rounds above it.
    assert!(segments.iter().all(|(s, _)| *s <= 2.0), "{segments:?}");
    // Each segment starts where the one before it ended, unless a
    // discontinuity says otherwise.
    let starts = segment_starts(dir.path());
    for i in 1..segments.len() {
        let end = starts[i - 1] + segments[i - 1].0;
        let gap = (starts[i] - end).abs();
        assert!(
            segments[i].1 || gap < 0.002,
            "segment {i}: starts at {} s, the one before ended at {end} s: {segments:?}",
            starts[i]
        );
    }
}

#[test]
fn a_stalled_input_s_open_segment_is_published_after_the_failover_time() {
    for part_target in [None, Some(0.5)] {
        let dir = tempfile::tempdir().expect("tmp");
        let primary = tenths(&stream(1_000, 50, 0, false));
        // 5.5 s of stream, 15 s of nothing, then on where it stopped.
        let mut script = every_tenth(Source::Primary, &primary, 0..55, 0);
        script.extend(every_tenth(Source::Primary, &primary, 55..150, 20_400));
        let writes = run_alone(dir.path(), part_target, script);
        // Segments 0–2 s and 2–4 s are written when the keyframes at 2 s
        // and 4 s arrive; the one open since 4 s (its last frame, maybe cut
        // short, left out; with parts, its last part with it) the failover
        // time after the last arrival at 5.4 s, not when input returns.
        let third = writes
            .iter()
            .find(|(_, n)| *n >= 3)
            .expect("a third segment");
        assert!(
            (7_400..=7_500).contains(&third.0),
            "{part_target:?}: the open segment was published at {} ms: {writes:?}",
            third.0
        );
        // When the input comes back, the frames before its next keyframe
        // are lost: the next segment starts after a discontinuity.
        let segments = archive(dir.path());
        assert_eq!(segments[2], (1.48, false), "{segments:?}");
        assert!(segments[3].1, "{segments:?}");
    }
}

#[test]
fn an_input_without_backup_that_yields_no_frames_is_reopened_and_told() {
    let dir = tempfile::tempdir().expect("tmp");
    let clock = ManualClock::new(T0);
    let mut inputs = Scripted {
        clock: clock.clone(),
        script: useless(Source::Primary, "html").into(),
        reopened: Vec::new(),
    };
    let told = std::sync::Mutex::new(Vec::new());
    let events = |e: ChannelEvent<'_>| {
        if let ChannelEvent::Stalled {
            input,
            silent_ms,
            reopening,
        } = e
        {
            let at = clock.wall_ms() - T0;
            told.lock()
                .expect("lock")
                .push((at, input.to_owned(), silent_ms, reopening));
        }
    };
    let stop = AtomicBool::new(false);
    let cx = Context {
        names: [Some("http://127.0.0.1:9/live.ts"), None],
        failover: FailoverConfig::default(),
        max_jump: CutterConfig::default().max_jump,
        clock: &clock,
        stop: &stop,
        serving: false,
        events: &events,
    };
    let mut s = segmenter(dir.path());
    follow(&cx, &mut s, &mut inputs, |_| {}).expect("ran");
    // 40 s of HTML: reopened 2 s in, then after 2, 4, 8 and 16 s more.
    let at = [2_000, 4_000, 8_000, 16_000, 32_000];
    let expected: Vec<_> = at.iter().map(|t| (*t, Source::Primary)).collect();
    assert_eq!(inputs.reopened, expected);
    let told = told.into_inner().expect("lock");
    let expected: Vec<_> = at
        .iter()
        .map(|t| (*t, "http://127.0.0.1:9/live.ts".to_owned(), *t, true))
        .collect();
    assert_eq!(told, expected);
}

/// The first video PES's presentation time in a segment's bytes, ticks.
fn first_video_pts(bytes: &[u8]) -> Option<u64> {
    bytes.chunks_exact(PACKET_SIZE).find_map(|p| {
        let packet = Packet::parse(p.try_into().ok()?).ok()?;
        let start = packet.pid == Pid(VIDEO_PID) && packet.payload_unit_start_indicator;
        start.then(|| Some(crate::pes::parse_header(packet.payload).ok()?.pts?.0))?
    })
}

proptest::proptest! {
    /// Stalls anywhere, with or without lost frames, and stalls long enough
    /// to publish the open segment: every packet the cutter takes is in a
    /// segment or counted as skipped, in order; no segment rounds above
    /// the target; and a segment starts where the one before it ended
    /// unless a discontinuity comes between.
    #[test]
    fn stalls_lose_nothing_silently_and_leave_no_gap_without_a_discontinuity(
        stalls in proptest::collection::vec((0usize..1_500, 0usize..120, proptest::bool::ANY), 0..6)
    ) {
        let input = stream(300, 50, 0, true);
        let packets: Vec<[u8; PACKET_SIZE]> = input
            .chunks_exact(PACKET_SIZE)
            .map(|p| p.try_into().expect("188"))
            .collect();
        // Each stall: at a packet, losing some packets, closing the
        // open segment (a long stall) or not.
        let mut cutter = crate::SegmentCutter::new(CutterConfig {
            target_duration: 2,
            ..CutterConfig::default()
        });
        let (mut taken, mut cuts) = (Vec::new(), Vec::new());
        let mut i = 0;
        while i < packets.len() {
            if let Some((_, lost, long)) = stalls.iter().find(|s| s.0 == i) {
                if *long {
                    cutter.close_stalled();
                }
                cutter.note_stall();
                i += lost;
                if i >= packets.len() {
                    break;
                }
            }
            if cutter.push(&packets[i]).is_ok() {
                taken.push(packets[i]);
            }
            cuts.extend(std::iter::from_fn(|| cutter.pop()));
            i += 1;
        }
        cutter.finish();
        cuts.extend(std::iter::from_fn(|| cutter.pop()));
        let mut at = 0;
        let mut kept = 0;
        for s in &cuts {
            for p in s.bytes[s.table_bytes..].chunks_exact(PACKET_SIZE) {
                let found = taken[at..].iter().position(|t| t[..] == p[..]);
                proptest::prop_assert!(found.is_some(), "a packet out of order or not taken");
                at += found.unwrap_or_default() + 1;
                kept += 1;
            }
        }
        proptest::prop_assert_eq!(kept + cutter.stats().skipped_before_start, taken.len() as u64);
        for (k, s) in cuts.iter().enumerate() {
            proptest::prop_assert!(s.duration < 2 * 90_000 + 45_000, "segment {} is {} ticks", k, s.duration);
            if k == 0 || s.discontinuity {
                continue;
            }
            let before = &cuts[k - 1];
            let end = first_video_pts(&before.bytes).map(|t| t + before.duration);
            proptest::prop_assert_eq!(first_video_pts(&s.bytes), end, "segment {} leaves a gap", k);
        }
    }
}
