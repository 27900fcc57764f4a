//! Low-latency HLS from our origin over HTTPS and HTTP/2 (issue 16, point
//! 3): LL-HLS was specified over HTTP/2, where one connection carries the
//! blocking playlist request and the part downloads. The segmenter serves
//! with a certificate openssl makes (self-signed: the browser is told to
//! accept it); hls.js in Chromium plays it as the plain-HTTP test does, and
//! Chromium's Resource Timing says every request to the origin went over
//! `h2`.

use std::path::Path;

use super::ll::{assert_played_near_live, start_segmenter, stop, wait_for_segments, GRACE, STREAM};
use super::origin::serve_page;
use super::{make_input, one_live_run, play_with, web_root, WINDOW};

/// A self-signed certificate for 127.0.0.1 in `dir`: (cert, key).
fn certificate(dir: &Path) -> (String, String) {
    let (pem, key) = super::certs::self_signed(dir, "origin", "/CN=127.0.0.1", "IP:127.0.0.1");
    let s = |p: &Path| p.to_str().expect("utf-8").to_string();
    (s(&pem), s(&key))
}

#[test]
fn hls_js_plays_low_latency_hls_over_https_and_http2_within_3_s_of_live() {
    let _live = one_live_run();
    let dir = tempfile::tempdir().expect("temp dir");
    let page = web_root(dir.path());
    let input = make_input(dir.path(), STREAM);
    let (cert, key) = certificate(dir.path());
    let out = dir.path().join("h2");
    let tls = ["--tls-cert", cert.as_str(), "--tls-key", key.as_str()];
    let (segmenter, addr, log, _frames) = start_segmenter(&input, &out, (WINDOW, GRACE), &tls);
    wait_for_segments(&out.join("index.m3u8"), 2);
    let page = serve_page(&page);
    let url = format!("http://{page}/player.html?ll=1&src=https://{addr}/index.m3u8");
    let (samples, report) = play_with(&url, &[("PLAY_IGNORE_HTTPS_ERRORS", "1")]);
    stop(segmenter);
    let _ = log.join();
    let origin = format!("https://{addr} ");
    let protocols = report["protocols"].as_object().cloned().unwrap_or_default();
    let from_origin: Vec<(&String, &serde_json::Value)> = protocols
        .iter()
        .filter(|(k, _)| k.starts_with(&origin))
        .collect();
    let over_h2 = protocols
        .get(&format!("{origin}h2"))
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    eprintln!("answers by origin and protocol (Chromium's network stack): {protocols:?}");
    assert!(over_h2 >= 50, "too few requests over h2: {protocols:?}");
    assert_eq!(
        from_origin.len(),
        1,
        "every request to the origin over h2: {protocols:?}"
    );
    assert_played_near_live(&samples, &report);
}
