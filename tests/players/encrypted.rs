//! hls.js judges AES-128 encryption (issue 17, point 2): the encrypted
//! stream, its key changing every two segments, plays in Chromium as the
//! clear one does — VOD from nginx to its end, and live in low-latency
//! mode (each part encrypted on its own) from the built-in origin: no
//! fatal error, every frame decoded, no stall at a key change.

use std::process::Command;

use super::forced_cut::{
    make_input_with_keyframes, play_for, start_ll_segmenter, start_served_segmenter,
    wait_for_ended, wait_for_listed, LIVE_KEYS, LIVE_PLAY, LIVE_STREAM, LL_MAX_LATENCY, LL_SETTLE,
};
use super::origin::{origin_http, serve_page, Origin};
use super::{no_player_errors, one_live_run, playback, tool, web_root};

/// Keyframes every 2 s for `secs` seconds.
fn every_two_seconds(secs: u64) -> Vec<u64> {
    (0..secs).step_by(2).collect()
}

/// VOD from nginx: the encrypted playlist (2 s segments, a new key every
/// two) plays from its start to its end, every frame decoded, one buffered
/// range (no gap at a key change).
#[test]
fn hls_js_plays_the_encrypted_stream_with_rotating_keys_to_the_end() {
    let _live = one_live_run();
    let dir = tempfile::tempdir().expect("temp dir");
    let root = web_root(dir.path());
    let input = make_input_with_keyframes(dir.path(), 24, &every_two_seconds(24));
    let hls = root.join("hls");
    let segmented = Command::new(env!("CARGO_BIN_EXE_routecast"))
        .arg("segment")
        .arg(&input)
        .arg("-o")
        .arg(&hls)
        .args([
            "-q",
            "--target-duration",
            "2",
            "--encrypt",
            "--key-rotation",
            "2",
        ])
        .output()
        .expect("routecast runs");
    assert!(
        segmented.status.success(),
        "{}",
        String::from_utf8_lossy(&segmented.stderr)
    );
    let index = std::fs::read_to_string(hls.join("index.m3u8")).expect("index");
    let keys: std::collections::BTreeSet<&str> = index
        .lines()
        .filter_map(|l| l.strip_prefix("#EXT-X-KEY:"))
        .filter_map(|l| l.split('"').nth(1))
        .collect();
    assert!(keys.len() >= 5, "keys rotate: {index}");
    let nginx = dir.path().join("nginx");
    std::fs::create_dir_all(&nginx).expect("mkdir");
    let origin = Origin::start(&nginx, |port| origin_http(&root, port));
    let page = origin.url("/player.html?src=/hls/index.m3u8");
    let out = tool("timeout", &["150", "node", "play_to_end.mjs", &page, "90"]);
    let report: serde_json::Value =
        serde_json::from_str(out.trim()).expect("play_to_end.mjs prints JSON");
    let recovered = no_player_errors(&report);
    let number = |k: &str| report[k].as_f64().unwrap_or(f64::NAN);
    eprintln!("hls.js, encrypted VOD: {report}; recovered errors: {recovered:?}");
    assert_eq!(report["ended"], true, "{report}");
    assert!((number("currentTime") - 24.0).abs() <= 0.08, "{report}");
    assert_eq!(
        report["buffered"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );
    assert!(number("frames") >= 598.0, "frames decoded: {report}");
    assert_eq!(number("corrupted"), 0.0, "{report}");
}

/// Live, low latency, from the built-in origin with --encrypt
/// --key-rotation 2: hls.js plays in pace with the wall clock (±5 %), no
/// stall over 3 s, at most 3 s behind live once settled, at least 20
/// frames/s, through several key changes.
#[test]
fn hls_js_low_latency_plays_the_encrypted_live_stream_near_live() {
    let _live = one_live_run();
    let dir = tempfile::tempdir().expect("temp dir");
    let input = make_input_with_keyframes(dir.path(), LIVE_STREAM, &LIVE_KEYS);
    let out = dir.path().join("ll");
    let running = start_ll_segmenter(&input, &out, &["--encrypt", "--key-rotation", "2"]);
    let (latency, settle) = (LL_MAX_LATENCY, LL_SETTLE);
    play_encrypted_live(
        dir.path(),
        running,
        &out,
        (2, true),
        (latency, settle),
        "LL",
    );
}

/// hls.js plays the encrypted stream the segmenter `running` serves (its
/// output `out`) once it lists `listed` segments (`ll`: in low-latency
/// mode), in pace (±5 %), no stall over 3 s, within `latency` s of live
/// from `settle` s on, at least 20 frames/s; its ended playlist is
/// encrypted.
fn play_encrypted_live(
    dir: &std::path::Path,
    (segmenter, addr): (super::origin::Running, std::net::SocketAddr),
    out: &std::path::Path,
    (listed, ll): (usize, bool),
    (latency, settle): (f64, f64),
    what: &str,
) {
    wait_for_listed(addr, listed);
    let page = serve_page(&web_root(dir));
    let mode = if ll { "ll=1&" } else { "" };
    let url = format!("http://{page}/player.html?{mode}src=http://{addr}/index.m3u8");
    let (samples, report) = play_for(&url, LIVE_PLAY);
    let ended = wait_for_ended(addr);
    drop(segmenter);
    let log = std::fs::read_to_string(out.with_extension("log")).unwrap_or_default();
    assert!(ended.contains("#EXT-X-KEY:METHOD=AES-128"), "{ended}");
    let recovered = no_player_errors(&report);
    let bounds = playback::Bounds {
        min_span: (LIVE_PLAY - 1) as f64,
        rate_tolerance: 0.05,
        max_stall: 3.0,
        max_latency: latency,
        settle,
        min_fps: 20.0,
    };
    let f = playback::check(&samples, &bounds)
        .unwrap_or_else(|e| panic!("{e}\n{report}\nsegmenter: {log}"));
    eprintln!("hls.js, encrypted {what}: {f:?}; recovered errors: {recovered:?}");
}

/// Classic live from the built-in origin (2 s segments, 8 s window), a
/// new key every two segments: hls.js plays in pace with the wall clock
/// (±5 %), no stall over 3 s, within 5 target durations of the playlist's
/// edge (as the clear classic run), at least 20 frames/s, through several
/// key changes.
#[test]
fn hls_js_plays_the_encrypted_classic_live_stream() {
    let _live = one_live_run();
    let dir = tempfile::tempdir().expect("temp dir");
    let input = make_input_with_keyframes(dir.path(), LIVE_STREAM, &every_two_seconds(LIVE_STREAM));
    let out = dir.path().join("classic");
    #[rustfmt::skip]
    let running = start_served_segmenter(&input, &out, &[
        "--target-duration", "2", "--window", "8", "--grace", "12", "--encrypt",
        "--key-rotation", "2",
    ]);
    // A full window, as a viewer of a running stream joins.
    play_encrypted_live(
        dir.path(),
        running,
        &out,
        (4, false),
        (10.0, 0.0),
        "classic live",
    );
}
