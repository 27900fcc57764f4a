//! hls.js judges the cuts without a keyframe of issue 14, point 1: a GOP
//! longer than the announced EXT-X-TARGETDURATION, after the first, is cut
//! between frames (the segment, and its first LL part, open with no
//! keyframe, and no INDEPENDENT=YES). Played from the start, VOD from
//! nginx, and live in low-latency mode from the built-in origin, hls.js in
//! Chromium must go through those cuts as through any other segment
//! boundary: no fatal error, every frame decoded, no stall, no added
//! latency.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::origin::{get, origin_http, serve_page, Origin, Running};
use super::{no_player_errors, one_live_run, playback, tool, web_root};

/// `secs` seconds of 25 fps test pattern and a 440 Hz tone, H.264 with
/// keyframes at the seconds `keys` only (a GOP spans from one to the next)
/// and AAC, as MPEG-TS.
pub(super) fn make_input_with_keyframes(dir: &Path, secs: u64, keys: &[u64]) -> PathBuf {
    let out = dir.join("forced-cut.ts");
    let path = out.to_string_lossy().into_owned();
    let (t, keys) = (secs.to_string(), keys.iter().map(u64::to_string));
    let keys = keys.collect::<Vec<_>>().join(",");
    #[rustfmt::skip]
    let args = [
        "-hide_banner", "-loglevel", "error",
        "-f", "lavfi", "-i", "testsrc=size=320x180:rate=25",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-t", &t, "-c:v", "libx264", "-preset", "ultrafast", "-g", "100000",
        "-sc_threshold", "0", "-force_key_frames", &keys,
        "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "64k", "-f", "mpegts", "-y", &path,
    ];
    tool("ffmpeg", &args);
    out
}

/// The forced-cut stream segmented from the file (VOD, ENDLIST) into
/// `out`: the two segments inside the 10 s GOP open without a keyframe.
fn segment_forced_cut(input: &Path, out: &Path) {
    let segmented = Command::new(env!("CARGO_BIN_EXE_routecast"))
        .arg("segment")
        .arg(input)
        .arg("-o")
        .arg(out)
        .args(["-q", "--target-duration", "4"])
        .output()
        .expect("routecast runs");
    let said = String::from_utf8_lossy(&segmented.stderr);
    assert!(segmented.status.success(), "{said}");
    let index = std::fs::read_to_string(out.join("index.m3u8")).expect("index");
    assert!(index.contains("#EXT-X-TARGETDURATION:4\n"), "{index}");
    assert!(!index.contains("INDEPENDENT-SEGMENTS"), "{index}");
    assert!(index.ends_with("#EXT-X-ENDLIST\n"), "{index}");
}

/// Issue 14, point 1 judged by hls.js: the forced-cut stream (VOD from
/// nginx) plays in Chromium from its start to its end: no fatal error nor
/// failed download, the video ends (`ended`) with currentTime at the
/// stream's 24 s within two frames, the buffer holds one range (no gap
/// at a cut), and Chromium's decoder took all 600 frames with no more
/// than a few dropped (a loaded machine drops some at presentation; a
/// lost reference would be 188 frames: the two forced-cut segments)
/// and none corrupted.
#[test]
fn hls_js_plays_the_forced_cut_stream_to_the_end() {
    let _live = one_live_run();
    let dir = tempfile::tempdir().expect("temp dir");
    let root = web_root(dir.path());
    let input = make_input_with_keyframes(dir.path(), 24, &[0, 2, 4, 6, 16, 18, 20, 22]);
    segment_forced_cut(&input, &root.join("hls"));
    let nginx = dir.path().join("nginx");
    std::fs::create_dir_all(&nginx).expect("mkdir");
    let origin = Origin::start(&nginx, |port| origin_http(&root, port));
    let page = origin.url("/player.html?src=/hls/index.m3u8");
    let out = tool("timeout", &["150", "node", "play_to_end.mjs", &page, "90"]);
    let report: serde_json::Value =
        serde_json::from_str(out.trim()).expect("play_to_end.mjs prints JSON");
    let recovered = no_player_errors(&report);
    let number = |k: &str| report[k].as_f64().unwrap_or(f64::NAN);
    eprintln!(
        "hls.js {} in Chromium {}: started in {} s, played {:.1} s to {:.3} of {:.3} s (ended {}); frames {}, dropped {}, corrupted {}; buffered {}; recovered errors: {recovered:?}",
        report["hls"], report["browser"], report["startup"], number("wall"), number("currentTime"), number("duration"), report["ended"], report["frames"], report["dropped"], report["corrupted"], report["buffered"]
    );
    assert_eq!(report["ended"], true, "{report}");
    assert!((number("duration") - 24.0).abs() <= 0.08, "{report}");
    assert!((number("currentTime") - 24.0).abs() <= 0.08, "{report}");
    let ranges = report["buffered"].as_array().map(Vec::len);
    assert_eq!(ranges, Some(1), "one buffered range: {report}");
    assert!(number("frames") >= 598.0, "frames decoded: {report}");
    assert!(number("dropped") <= 12.0, "frames dropped: {report}");
    assert_eq!(number("corrupted"), 0.0, "{report}");
}

/// The live input's length, seconds.
pub(super) const LIVE_STREAM: u64 = 50;
/// Its keyframes, seconds: every 2 s to 10 s, one 10 s GOP, then every
/// 2 s again. With `--target-duration 4` the 10 s GOP is cut between
/// frames twice, 3 to 11 s after hls.js has joined.
pub(super) const LIVE_KEYS: [u64; 21] = [
    0, 2, 4, 6, 8, 10, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 42, 44, 46, 48,
];
/// Seconds of playback sampled once hls.js has started: to about 6 s
/// before the input ends.
pub(super) const LIVE_PLAY: u64 = 32;
/// hls.js in low-latency mode stays within this many seconds of live…
pub(super) const LL_MAX_LATENCY: f64 = 3.0;
/// …from this many seconds after it started (it joins up to a GOP behind
/// its target and catches up at up to 1.5x: players/ll.rs).
pub(super) const LL_SETTLE: f64 = 8.0;

/// Starts `routecast segment INPUT --realtime --target-duration 4
/// --part-target 0.5 --serve 127.0.0.1:0` (and `extra`) writing into
/// `out`: the address it serves on (its first line on standard error); the
/// rest of what it says goes to `out`.log.
pub(super) fn start_ll_segmenter(
    input: &Path,
    out: &Path,
    extra: &[&str],
) -> (Running, std::net::SocketAddr) {
    let mut args = vec!["--target-duration", "4", "--window", "16", "--grace", "24"];
    args.extend(["--part-target", "0.5"]);
    args.extend(extra);
    start_served_segmenter(input, out, &args)
}

/// Starts `routecast segment INPUT --realtime --serve 127.0.0.1:0 ARGS…`
/// writing into `out`: the address it serves on (its first line on
/// standard error); the rest of what it says goes to `out`.log.
pub(super) fn start_served_segmenter(
    input: &Path,
    out: &Path,
    args: &[&str],
) -> (Running, std::net::SocketAddr) {
    let mut log = std::fs::File::create(out.with_extension("log")).expect("segmenter log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_routecast"))
        .arg("segment")
        .arg(input)
        .arg("-o")
        .arg(out)
        .args(["--realtime", "--serve", "127.0.0.1:0"])
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("routecast runs");
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("piped"));
    let running = Running(child);
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut first).expect("stderr");
    let addr = first
        .strip_prefix("routecast segment: serving http://")
        .and_then(|rest| rest.strip_suffix("/index.m3u8\n"))
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address served on: {first:?}"));
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut log));
    (running, addr)
}

/// The playlist the origin at `addr` serves, once it lists `n` complete
/// segments (`n` 0: once it is ended, ENDLIST).
pub(super) fn wait_for_listed(addr: std::net::SocketAddr, n: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(LIVE_STREAM + 30);
    loop {
        let listed = get(addr, "/index.m3u8")
            .ok()
            .filter(|r| r.status == 200)
            .map(|r| String::from_utf8_lossy(&r.body).into_owned())
            .unwrap_or_default();
        let enough = match n {
            0 => listed.ends_with("#EXT-X-ENDLIST\n"),
            n => listed.matches("#EXTINF").count() >= n,
        };
        if enough {
            return listed;
        }
        assert!(Instant::now() < deadline, "no {n} segments:\n{listed}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The ended playlist the origin at `addr` serves.
pub(super) fn wait_for_ended(addr: std::net::SocketAddr) -> String {
    wait_for_listed(addr, 0)
}

/// hls.js in headless Chromium plays `page` for `secs` seconds once
/// started (play.mjs): the samples and the page's report.
pub(super) fn play_for(page: &str, secs: u64) -> (Vec<playback::Sample>, serde_json::Value) {
    let secs = secs.to_string();
    let out = tool("timeout", &["120", "node", "play.mjs", page, &secs]);
    let report: serde_json::Value = serde_json::from_str(out.trim()).expect("play.mjs prints JSON");
    let number = |s: &serde_json::Value, k: &str| s[k].as_f64().unwrap_or(f64::NAN);
    let samples = report["samples"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| playback::Sample {
            wall: number(s, "wall"),
            current_time: number(s, "currentTime"),
            latency: number(s, "latency"),
            date_latency: s["dateLatency"].as_f64(),
            frames: s["frames"].as_u64().unwrap_or(0),
        })
        .collect();
    (samples, report)
}

/// Issue 14, point 1, live: the low-latency run of a stream with a 10 s
/// GOP under `--target-duration 4` (cut twice between frames, parts
/// without INDEPENDENT=YES), served by the built-in origin. hls.js in
/// low-latency mode joins with two segments listed, before the long GOP,
/// and plays through its forced cuts as through the other segments: no
/// fatal error, currentTime in pace with the wall clock (±5 %), no stall
/// over 3 s, at most 3 s behind live once settled (the LL test's bound,
/// players/ll.rs), at least 20 frames/s decoded, and few frames dropped.
#[test]
fn hls_js_low_latency_plays_live_through_forced_cuts_near_live() {
    let _live = one_live_run();
    let dir = tempfile::tempdir().expect("temp dir");
    let root = web_root(dir.path());
    let input = make_input_with_keyframes(dir.path(), LIVE_STREAM, &LIVE_KEYS);
    let out = dir.path().join("ll");
    let (segmenter, addr) = start_ll_segmenter(&input, &out, &[]);
    wait_for_listed(addr, 2);
    let page = serve_page(&root);
    let url = format!("http://{page}/player.html?ll=1&src=http://{addr}/index.m3u8");
    let (samples, report) = play_for(&url, LIVE_PLAY);
    let ended = wait_for_ended(addr);
    drop(segmenter);
    let log = std::fs::read_to_string(out.with_extension("log")).unwrap_or_default();
    assert!(!ended.contains("INDEPENDENT-SEGMENTS"), "{ended}");
    let warned = log.lines().filter(|l| l.contains("WARN: a GOP longer"));
    assert_eq!(warned.count(), 1, "the long GOP was cut: {log}");
    let recovered = no_player_errors(&report);
    let bounds = playback::Bounds {
        min_span: (LIVE_PLAY - 1) as f64,
        rate_tolerance: 0.05,
        max_stall: 3.0,
        max_latency: LL_MAX_LATENCY,
        settle: LL_SETTLE,
        min_fps: 20.0,
    };
    let f = playback::check(&samples, &bounds)
        .unwrap_or_else(|e| panic!("{e}\n{report}\nsegmenter: {log}"));
    let last = report["samples"].as_array().and_then(|s| s.last()).cloned();
    let last = last.unwrap_or_default();
    let early: Vec<String> = samples
        .iter()
        .take(8)
        .map(|s| format!("{:.2}@{:.1}", s.current_time, s.latency))
        .collect();
    eprintln!("first samples, currentTime@latency: {early:?}");
    eprintln!(
        "hls.js {} (lowLatencyMode) through forced cuts: started in {} s; {:.1} s played at {:.3}x wall time, longest stall {:.1} s, at most {:.2} s behind live in the first {LL_SETTLE} s, then {:.2}..{:.2} s behind the live edge and at most {:.2} s behind the wall clock (PDT), {:.1} frames/s, {} of {} frames dropped; recovered errors: {recovered:?}",
        report["hls"], report["startup"], f.span, f.rate, f.longest_stall, f.settling_latency, f.latency.0, f.latency.1, f.max_date_latency, f.fps, last["dropped"], last["frames"]
    );
    // The samples span the long GOP (10 to 20 s) and its forced cuts.
    let span = samples.first().zip(samples.last());
    let span = span.map(|(a, b)| (a.current_time, b.current_time));
    assert!(span.is_some_and(|(a, b)| a < 10.0 && b > 20.0), "{span:?}");
    let dropped = last["dropped"].as_u64().unwrap_or(u64::MAX);
    assert!(dropped <= 12, "{dropped} frames dropped: {report}");
}

/// hls.js joining the forced-cut stream at a segment opened by a cut
/// without a keyframe (a playlist whose first segment is the first forced
/// cut: a classic live client starting three targets from the end can land
/// there, and so can a seek into the long GOP) must play it from the next
/// keyframe (16 s of the input, 7.52 s of EXTINF into this playlist) to
/// the end: no fatal error, the 200 frames from that keyframe on (Chromium
/// takes no picture before a keyframe; GStreamer, in `tests/segment.rs`,
/// `gstreamer_joining_at_a_forced_cut_plays_every_frame_from_the_join`,
/// also shows the 188 before it, decoded without their references). hls.js's timeline
/// starts at the joined segment's earliest sample: ffmpeg's muxer sends
/// the audio about 0.33 s ahead of the video, so the segment holds audio
/// from before its first picture, and hls.js ends at 15.52 s plus that
/// lead (read with ffprobe from the segment).
///
/// The forced-cut segments carry the last keyframe's SPS and PPS (before,
/// without them, hls.js set its media source up for audio only, and the
/// first keyframe's segment brought a video track it could not add: a
/// fatal `bufferAppendError`, no video frame, playback stuck at 4.7 s).
/// hls.js 1.7.4 plays this exactly as it plays the input remuxed with
/// ffmpeg's `-bsf:v dump_extra=freq=all` (every frame with its parameter
/// sets): ended at 15.851 s, buffered 7.851 to 15.851 s, 200 frames.
#[test]
fn hls_js_joining_at_a_forced_cut_plays_from_the_next_keyframe() {
    let _live = one_live_run();
    let dir = tempfile::tempdir().expect("temp dir");
    let root = web_root(dir.path());
    let input = make_input_with_keyframes(dir.path(), 24, &[0, 2, 4, 6, 16, 18, 20, 22]);
    let out = root.join("hls");
    segment_forced_cut(&input, &out);
    let text = std::fs::read_to_string(out.join("index.m3u8")).expect("index");
    let (head, listed) = text.split_once("#EXT-X-PROGRAM-DATE-TIME").expect("PDT");
    let from_seg2 = listed.split_once("seg1.ts\n").expect("seg1 listed").1;
    let joined = head.replace("#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-MEDIA-SEQUENCE:2");
    std::fs::write(out.join("join.m3u8"), format!("{joined}{from_seg2}")).expect("written");
    let lead = audio_lead(&out.join("seg2.ts"));
    let nginx = dir.path().join("nginx");
    std::fs::create_dir_all(&nginx).expect("mkdir");
    let origin = Origin::start(&nginx, |port| origin_http(&root, port));
    let page = origin.url("/player.html?src=/hls/join.m3u8");
    let out = tool("timeout", &["150", "node", "play_to_end.mjs", &page, "60"]);
    let report: serde_json::Value =
        serde_json::from_str(out.trim()).expect("play_to_end.mjs prints JSON");
    let recovered = no_player_errors(&report);
    let number = |k: &str| report[k].as_f64().unwrap_or(f64::NAN);
    eprintln!(
        "hls.js joined at a forced cut: to {:.3} of {:.3} s (ended {}); frames {}, dropped {}, corrupted {}; buffered {}; recovered errors: {recovered:?}",
        number("currentTime"), number("duration"), report["ended"], report["frames"], report["dropped"], report["corrupted"], report["buffered"]
    );
    assert_eq!(report["ended"], true, "{report}");
    let end = 15.52 + lead;
    assert!(
        (number("currentTime") - end).abs() <= 0.08,
        "{end} s: {report}"
    );
    let first = report["buffered"][0][0].as_f64().unwrap_or(f64::NAN);
    assert!(
        (first - (7.52 + lead)).abs() <= 0.08,
        "from the keyframe: {report}"
    );
    assert!(number("frames") >= 198.0, "frames decoded: {report}");
    assert!(number("dropped") <= 12.0, "frames dropped: {report}");
    assert_eq!(number("corrupted"), 0.0, "{report}");
}

/// How long before its first video picture the segment `ts`'s earliest
/// sample (audio) is presented, in seconds, as ffprobe reads the packets.
fn audio_lead(ts: &Path) -> f64 {
    let path = ts.to_string_lossy();
    #[rustfmt::skip]
    let args = [
        "-v", "error", "-show_entries", "packet=codec_type,pts_time",
        "-of", "csv=p=0", &path,
    ];
    let listed = tool("ffprobe", &args);
    let (mut earliest, mut video) = (f64::INFINITY, None);
    for line in listed.lines() {
        let mut fields = line.split(',');
        let (Some(kind), Some(Ok(pts))) = (fields.next(), fields.next().map(str::parse::<f64>))
        else {
            continue;
        };
        earliest = earliest.min(pts);
        if kind == "video" && video.is_none() {
            video = Some(pts);
        }
    }
    let video = video.expect("a video packet in the segment");
    assert!(earliest.is_finite(), "ffprobe listed no packet: {listed}");
    video - earliest
}
