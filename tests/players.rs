//! Real players and validators read what `routecast segment` writes live
//! (issue 5, point 6, classic HLS). One run of about 85 seconds serves all:
//!
//! * ffmpeg makes 85 s of H.264 + AAC; `routecast segment --realtime` feeds
//!   it live into 2-second segments, an 8-second window and a 12-second
//!   grace (RFC 8216 §6.2.2 asks for a segment's duration plus the longest
//!   playlist that held it: 2 + 8 s);
//! * Debian's nginx serves the output on loopback, as an origin would;
//! * every 0.5 s the playlist is loaded over HTTP and handed to our checker
//!   (`players/checker.rs`), which asserts what no single snapshot shows:
//!   MSN and DSN never go back, TARGETDURATION never changes, every listed
//!   segment downloads whole (and ffprobe decodes it afterwards), removed
//!   segments stay downloadable through their grace period and are deleted
//!   after it;
//! * hls-parser (npm) in strict mode accepts every distinct snapshot, and
//!   reads the same sequence numbers and URIs as our checker;
//! * at the same time hls.js plays the stream in headless Chromium, driven
//!   by playwright-core (`players/play.mjs`), for 62 s after it starts:
//!   `currentTime` advances with wall time, no stall over 3 s, live
//!   latency at most 3 target durations plus 2 (`players/playback.rs`):
//!   hls.js joins once the playlist lists a full window, as a viewer of a
//!   running stream does.
//!
//! Apart from the live run, hls.js plays a multivariant playlist of two
//! video renditions and an audio-only one (files, VOD) and must find its
//! audio group as one audio track and decode audio from it.
//!
//! The low-latency counterpart (hls.js in low-latency mode against
//! `routecast segment --part-target --serve`, blocking reloads, parts and
//! delta updates) is `ll::` in `players/ll.rs`; the two live runs take
//! turns ([`LIVE`]) so that neither slows the other's clock-bound checks.
//!
//! ffmpeg, ffprobe, nginx, chromium, node and the npm packages of
//! `tests/players/package.json` are required (scripts/test installs them);
//! a missing one fails the test, it never skips.

#[allow(dead_code)]
#[path = "common/certs.rs"]
mod certs;
#[path = "players/checker.rs"]
mod checker;
#[path = "players/encrypted.rs"]
mod encrypted;
#[path = "players/feed.rs"]
mod feed;
#[path = "players/forced_cut.rs"]
mod forced_cut;
#[path = "players/ll.rs"]
mod ll;
#[path = "players/ll_h2.rs"]
mod ll_h2;
#[path = "common/nginx.rs"]
mod nginx;
#[path = "players/origin.rs"]
mod origin;
#[path = "players/parts.rs"]
mod parts;
#[path = "players/playback.rs"]
mod playback;
#[path = "players/snapshot.rs"]
mod snapshot;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use checker::{LiveChecker, Media, Rules, Snapshot, Want};
use origin::{get, origin_http, Origin, Running};

/// Held by each live test while it runs: two live streams and two
/// browsers at once would compete for the machine and blur the timings.
static LIVE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Takes [`LIVE`] (a test that failed while holding it does not matter).
fn one_live_run() -> std::sync::MutexGuard<'static, ()> {
    LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

/// EXT-X-TARGETDURATION, seconds (keyframes every 2 s at 25 fps).
const TARGET: u64 = 2;
/// `--window`, seconds.
const WINDOW: u64 = 8;
/// `--grace`, seconds.
const GRACE: u64 = 12;
/// The live stream's length, seconds: start-up plus playback plus slack.
const STREAM: u64 = 85;
/// Seconds of playback to sample once hls.js has started.
const PLAY: u64 = 62;
/// How often the checker loads the playlist.
const POLL: Duration = Duration::from_millis(500);

fn players_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/players")
}

/// Runs a program that must be installed; panics with its stderr on failure.
fn tool(name: &str, args: &[&str]) -> String {
    tool_env(name, args, &[])
}

/// [`tool`] with `env` added to its environment.
fn tool_env(name: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(name)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(players_dir())
        .output()
        .unwrap_or_else(|e| panic!("{name} must be installed (scripts/test installs it): {e}"));
    assert!(
        out.status.success(),
        "{name} {args:?} failed (scripts/test installs what it needs): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The npm packages, installed by scripts/test (`npm ci`).
fn require_node_modules() -> PathBuf {
    let modules = players_dir().join("node_modules");
    for p in ["hls.js", "hls-parser", "playwright-core"] {
        assert!(
            modules.join(p).join("package.json").exists(),
            "{} is missing: run scripts/test (it runs npm ci --prefix tests/players)",
            modules.join(p).display()
        );
    }
    modules
}

/// `secs` seconds of 25 fps test pattern and a 440 Hz tone, H.264 with a
/// keyframe every 2 s and AAC, as MPEG-TS.
fn make_input(dir: &Path, secs: u64) -> PathBuf {
    let out = dir.join("in.ts");
    let t = secs.to_string();
    let path = out.to_string_lossy().into_owned();
    #[rustfmt::skip]
    let args = [
        "-hide_banner", "-loglevel", "error",
        "-f", "lavfi", "-i", "testsrc=size=320x180:rate=25",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-t", &t, "-c:v", "libx264", "-preset", "ultrafast", "-g", "50",
        "-sc_threshold", "0", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "64k", "-f", "mpegts", "-y", &path,
    ];
    tool("ffmpeg", &args);
    out
}

/// Starts `routecast segment` reading `input` in real time into `out`.
fn start_segmenter(input: &Path, out: &Path, log: &Path) -> Running {
    let log = std::fs::File::create(log).expect("segmenter log");
    let child = Command::new(env!("CARGO_BIN_EXE_routecast"))
        .arg("segment")
        .arg(input)
        .arg("-o")
        .arg(out)
        .args(["--realtime", "-q", "--target-duration", &TARGET.to_string()])
        .args([
            "--window",
            &WINDOW.to_string(),
            "--grace",
            &GRACE.to_string(),
        ])
        .stdin(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("routecast runs");
    Running(child)
}

/// What the checker saw over the whole run.
#[derive(Debug)]
struct Polled {
    checker: LiveChecker,
    /// Each distinct playlist text, in order, as a file.
    snapshots: Vec<PathBuf>,
    /// Every segment as downloaded when first listed.
    segments: Vec<PathBuf>,
    /// "Still there" checks whose time had not come when the stream ended.
    late_still_there: usize,
    /// "Gone" checks whose time had not come when the stream ended.
    unchecked_gone: usize,
}

/// Loads the playlist every `POLL` until the segmenter has exited and its
/// last playlist is checked; makes the downloads the checker asks for.
fn poll(
    origin: std::net::SocketAddr,
    dir: &Path,
    mut segmenter: Running,
) -> Result<Polled, String> {
    let start = Instant::now();
    let deadline = start + Duration::from_secs(STREAM + 60);
    let rules = Rules {
        grace_ms: GRACE * 1000,
        margin_ms: 1500,
    };
    let mut polled = Polled {
        checker: LiveChecker::new(rules),
        snapshots: Vec::new(),
        segments: Vec::new(),
        late_still_there: 0,
        unchecked_gone: 0,
    };
    let mut last = String::new();
    loop {
        let exited = segmenter.0.try_wait().map_err(|e| e.to_string())?;
        let now = start.elapsed().as_millis() as u64;
        let r = get(origin, "/hls/index.m3u8")?;
        match r.status {
            404 if last.is_empty() => {}
            200 => {
                let text = String::from_utf8(r.body).map_err(|e| e.to_string())?;
                let snap = Snapshot::parse(&text).map_err(|e| format!("{e}\n{text}"))?;
                polled.checker.observe(now, snap).map_err(|e| {
                    format!("{e}\nthe playlist at {now} ms:\n{text}\nthe one before:\n{last}")
                })?;
                if text != last {
                    let file = dir.join(format!("snap{:04}.m3u8", polled.snapshots.len()));
                    std::fs::write(&file, &text).map_err(|e| e.to_string())?;
                    polled.snapshots.push(file);
                    last = text;
                }
            }
            s => return Err(format!("index.m3u8: HTTP {s} at {now} ms")),
        }
        for e in polled.checker.due(now) {
            let r = get(origin, &format!("/hls/{}", e.uri))?;
            polled.checker.answer(&e, r.status, &r.body)?;
            if e.want == Want::Complete && matches!(e.media, Media::Segment(_)) {
                let file = dir.join(&e.uri);
                std::fs::write(&file, &r.body).map_err(|e| e.to_string())?;
                polled.segments.push(file);
            }
        }
        if let Some(status) = exited {
            if !status.success() {
                return Err(format!("routecast segment failed: {status}"));
            }
            break;
        }
        if Instant::now() > deadline {
            return Err("the stream did not end in time".into());
        }
        std::thread::sleep(POLL);
    }
    // The segmenter has stopped, and deletes nothing more: segments still
    // in their grace period must be there; "gone" checks cannot be made.
    for e in polled.checker.due(u64::MAX) {
        if e.want == Want::Gone {
            polled.unchecked_gone += 1;
            continue;
        }
        let r = get(origin, &format!("/hls/{}", e.uri))?;
        polled.checker.answer(&e, r.status, &r.body)?;
        polled.late_still_there += 1;
    }
    Ok(polled)
}

/// hls-parser in strict mode accepts every snapshot and reads in it the
/// same sequence numbers, target, URIs, ENDLIST, parts, preload hint and
/// skipped segments as our checker.
fn hls_parser_accepts(snapshots: &[PathBuf]) {
    let mut args = vec!["parse.mjs"];
    args.extend(snapshots.iter().map(|p| p.to_str().expect("utf-8 path")));
    let out = tool("node", &args);
    let read: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("parse.mjs prints JSON"))
        .collect();
    assert_eq!(read.len(), snapshots.len());
    for (file, theirs) in snapshots.iter().zip(read) {
        let text = std::fs::read_to_string(file).expect("snapshot");
        let ours = Snapshot::parse(&text).expect("checked before");
        let uris: Vec<&str> = ours.segments.iter().map(|s| s.uri.as_str()).collect();
        let parts: Vec<serde_json::Value> = ours
            .parts
            .iter()
            .map(|p| serde_json::json!([p.uri, p.duration, p.independent]))
            .collect();
        let ours = serde_json::json!({
            "file": file.to_str(),
            "mediaSequence": ours.media_sequence + ours.skipped,
            "discontinuitySequence": ours.discontinuity_sequence,
            "targetDuration": ours.target_duration,
            "uris": uris,
            "endlist": ours.endlist,
            "skipped": ours.skipped,
            "parts": parts,
            "hint": ours.hint,
        });
        assert_eq!(
            theirs, ours,
            "hls-parser and our checker disagree on\n{text}"
        );
    }
}

/// ffprobe decodes every frame of every segment without a word on stderr:
/// H.264 video and AAC audio, two seconds of 25 fps each.
fn ffprobe_decodes(segments: &[PathBuf]) {
    for seg in segments {
        let p = seg.to_str().expect("utf-8 path");
        let out = Command::new("ffprobe")
            .args(["-v", "error", "-count_frames", "-show_entries"])
            .args(["stream=codec_name,nb_read_frames", "-of", "csv=p=0", p])
            .output()
            .expect("ffprobe must be installed (scripts/test installs it)");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{p}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Each stream is listed twice: in its program and on its own.
        let streams: std::collections::BTreeSet<&str> = stdout
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(streams.len(), 2, "{p}: {stdout}");
        let last = seg == segments.last().expect("at least one");
        assert!(streams.contains("h264,50") || last, "{p}: {stdout}");
        assert!(
            streams.iter().any(|s| s.starts_with("aac,")),
            "{p}: {stdout}"
        );
    }
}

/// hls.js in headless Chromium plays `page` for `PLAY` seconds; the samples
/// and what the page reported.
fn play(page: &str) -> (Vec<playback::Sample>, serde_json::Value) {
    play_with(page, &[])
}

/// [`play`] with `env` for play.mjs (e.g. `PLAY_IGNORE_HTTPS_ERRORS`).
fn play_with(page: &str, env: &[(&str, &str)]) -> (Vec<playback::Sample>, serde_json::Value) {
    let secs = PLAY.to_string();
    let out = tool_env("timeout", &["150", "node", "play.mjs", page, &secs], env);
    let report: serde_json::Value = serde_json::from_str(out.trim()).expect("play.mjs prints JSON");
    let number = |s: &serde_json::Value, k: &str| s[k].as_f64().unwrap_or(f64::NAN);
    let samples = report["samples"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| playback::Sample {
                    wall: number(s, "wall"),
                    current_time: number(s, "currentTime"),
                    latency: number(s, "latency"),
                    date_latency: s["dateLatency"].as_f64(),
                    frames: s["frames"].as_u64().unwrap_or(0),
                })
                .collect()
        })
        .unwrap_or_default();
    (samples, report)
}

/// hls.js reported no fatal error, no failed download and the page threw
/// nothing; the other (recovered) errors are returned for the record. A
/// request hls.js cancelled itself ("aborted", its INTERNAL_ABORTED, e.g.
/// when it moves its start position to the live edge) is no failure of
/// the origin.
fn no_player_errors(report: &serde_json::Value) -> Vec<String> {
    let page_errors = &report["pageErrors"];
    assert_eq!(
        page_errors.as_array().map(Vec::len),
        Some(0),
        "{page_errors}"
    );
    let mut recovered = Vec::new();
    for e in report["errors"].as_array().into_iter().flatten() {
        let network = e["type"] == "networkError" && e["details"] != "aborted";
        assert!(e["fatal"] != true && !network, "hls.js error: {e}");
        recovered.push(e["details"].to_string());
    }
    recovered
}

/// Waits until the live playlist lists a full window: the player joins a
/// running stream, as viewers do, and starts three targets behind its end.
fn wait_for_window(playlist: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let full = (WINDOW / TARGET) as usize;
    loop {
        let text = std::fs::read_to_string(playlist).unwrap_or_default();
        if text.matches("#EXTINF").count() >= full {
            return;
        }
        assert!(Instant::now() < deadline, "no full window in time:\n{text}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The web root: the player page and hls.js; the segmenter writes `hls/`.
fn web_root(dir: &Path) -> PathBuf {
    let modules = require_node_modules();
    let root = dir.join("www");
    std::fs::create_dir_all(&root).expect("mkdir");
    let hls_js = modules.join("hls.js/dist/hls.min.js");
    std::fs::copy(hls_js, root.join("hls.min.js")).expect("copy hls.js");
    let page = players_dir().join("player.html");
    std::fs::copy(page, root.join("player.html")).expect("copy the page");
    root
}

/// What the checker saw held: every segment downloaded, every removed one
/// checked within its grace, enough checked deleted after it; hls-parser
/// and ffprobe accept what was downloaded.
fn assert_origin_held(polled: &Polled) {
    let c = &polled.checker;
    let segments = polled.segments.len();
    eprintln!(
        "checker: {} playlists loaded ({} distinct), {segments} segments downloaded whole, {} removed: {} checked within grace ({} after the stream ended), {} checked deleted after it ({} not: the stream had ended)",
        c.snapshots, polled.snapshots.len(), c.removals, c.answered[1], polled.late_still_there, c.answered[2], polled.unchecked_gone
    );
    assert!(
        segments as u64 >= STREAM / TARGET - 1,
        "{segments} segments"
    );
    assert_eq!(
        c.answered[1], c.removals,
        "each removal checked in its grace"
    );
    assert!(c.answered[2] >= 20, "{} checked deleted", c.answered[2]);
    hls_parser_accepts(&polled.snapshots);
    ffprobe_decodes(&polled.segments);
}

/// hls.js played without an error, in pace with the wall clock, near live.
fn assert_played(samples: &[playback::Sample], report: &serde_json::Value) {
    let recovered = no_player_errors(report);
    let bounds = playback::Bounds {
        min_span: 60.0,
        rate_tolerance: 0.05,
        max_stall: 3.0,
        // hls.js starts 3 targets behind the playlist's end, which itself
        // lags the wall clock by up to the segment being cut; one more
        // target for reload timing and short stalls.
        max_latency: (3 * TARGET + 2 * TARGET) as f64,
        settle: 0.0,
        min_fps: 20.0,
    };
    let f = playback::check(samples, &bounds).unwrap_or_else(|e| panic!("{e}\n{report}"));
    eprintln!(
        "hls.js {} in Chromium {}: started in {} s; {:.1} s played at {:.3}x wall time, longest stall {:.1} s, latency {:.1}..{:.1} s behind the playlist edge, {:.1} s behind the wall clock (PDT), {:.1} frames/s decoded; recovered errors: {recovered:?}",
        report["hls"], report["browser"], report["startup"], f.span, f.rate, f.longest_stall, f.latency.0, f.latency.1, f.max_date_latency, f.fps
    );
}

#[test]
fn hls_js_plays_the_live_stream_and_every_playlist_snapshot_holds() {
    let _live = one_live_run();
    let dir = tempfile::tempdir().expect("temp dir");
    let root = web_root(dir.path());
    let input = make_input(dir.path(), STREAM);
    let (nginx, checked) = (dir.path().join("nginx"), dir.path().join("checked"));
    for d in [&nginx, &checked] {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    let origin = Origin::start(&nginx, |port| origin_http(&root, port));
    let out = root.join("hls");
    let log = dir.path().join("segment.log");
    let segmenter = start_segmenter(&input, &out, &log);
    let addr = origin.addr;
    let poller = std::thread::spawn(move || poll(addr, &checked, segmenter));
    wait_for_window(&out.join("index.m3u8"));
    let (samples, report) = play(&origin.url("/player.html?src=/hls/index.m3u8"));
    let polled = poller.join().expect("poller thread");
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    let polled = polled.unwrap_or_else(|e| panic!("{e}\nsegmenter: {log}"));
    assert!(log.is_empty(), "routecast segment said: {log}");
    assert_origin_held(&polled);
    assert_played(&samples, &report);
}

/// `secs` seconds of one ffmpeg lavfi source as MPEG-TS at `name` in
/// `dir`, with `codec` options: a video rendition without audio or an
/// audio-only one.
fn make_rendition(dir: &Path, name: &str, source: &str, codec: &[&str]) -> PathBuf {
    let path = dir.join(name).to_string_lossy().into_owned();
    let mut args = vec!["-hide_banner", "-loglevel", "error", "-f", "lavfi"];
    args.extend(["-i", source, "-t", "8"]);
    args.extend(codec);
    args.extend(["-f", "mpegts", "-y", &path]);
    tool("ffmpeg", &args);
    PathBuf::from(path)
}

/// Two video renditions without audio and one AAC-only, segmented from
/// files (VOD, ENDLIST): hls.js in Chromium, loading master.m3u8 from
/// nginx, finds one audio track (the EXT-X-MEDIA group the variants name),
/// plays (currentTime advances by seconds) and decodes audio as well as
/// video, without an error.
#[test]
fn hls_js_plays_video_variants_with_their_audio_rendition() {
    let _live = one_live_run();
    let dir = tempfile::tempdir().expect("temp dir");
    let root = web_root(dir.path());
    let x264 = |size: &str| {
        let source = format!("testsrc=size={size}:rate=25");
        let codec = [
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "50",
            "-pix_fmt",
            "yuv420p",
        ];
        make_rendition(dir.path(), &format!("{size}.ts"), &source, &codec)
    };
    let (hi, lo) = (x264("320x180"), x264("160x90"));
    let sine = "sine=frequency=440:sample_rate=48000";
    let aac = make_rendition(dir.path(), "aac.ts", sine, &["-c:a", "aac", "-ac", "2"]);
    let out = root.join("hls");
    let arg = |name: &str, path: &Path| format!("{name}={}", path.display());
    let segmented = Command::new(env!("CARGO_BIN_EXE_routecast"))
        .args([
            "segment",
            &arg("hi", &hi),
            &arg("lo", &lo),
            &arg("aac", &aac),
        ])
        .args(["-q", "--target-duration", "2", "-o"])
        .arg(&out)
        .output()
        .expect("routecast runs");
    let said = String::from_utf8_lossy(&segmented.stderr);
    assert!(segmented.status.success(), "{said}");
    let nginx = dir.path().join("nginx");
    std::fs::create_dir_all(&nginx).expect("mkdir");
    let origin = Origin::start(&nginx, |port| origin_http(&root, port));
    let page = origin.url("/player.html?src=/hls/master.m3u8");
    let out = tool("timeout", &["90", "node", "play.mjs", &page, "5"]);
    let report: serde_json::Value = serde_json::from_str(out.trim()).expect("play.mjs prints JSON");
    no_player_errors(&report);
    let samples = report["samples"].as_array().cloned().unwrap_or_default();
    let (first, last) = match (samples.first(), samples.last()) {
        (Some(first), Some(last)) => (first, last),
        _ => panic!("hls.js never started: {report}"),
    };
    let number = |s: &serde_json::Value, k: &str| s[k].as_f64().unwrap_or(f64::NAN);
    assert!(samples.iter().all(|s| s["audioTracks"] == 1), "{report}");
    let played = number(last, "currentTime") - number(first, "currentTime");
    assert!(played >= 3.0, "{played} s played: {report}");
    assert!(number(last, "frames") > number(first, "frames"), "{report}");
    let audio = number(last, "audioBytes") - number(first, "audioBytes");
    assert!(audio > 0.0, "no audio decoded: {report}");
}
