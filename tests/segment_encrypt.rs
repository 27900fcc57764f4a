//! AES-128 segment encryption (`routecast segment --encrypt`), judged by
//! tools that are not ours: ffmpeg decrypts and decodes every frame of the
//! archive playlist, openssl decrypts each segment and part with the key
//! file and the playlist's IV, hls-parser (strict) reads the playlists. A
//! missing tool fails the test.

#[path = "common/hls.rs"]
#[allow(dead_code)]
mod hls;
#[path = "common/run.rs"]
#[allow(dead_code)]
mod run;

use hls::{hls_parser_accepts, is_ts, keyed, make_ts, openssl_decrypt, segment};
use run::tool;
use std::path::Path;
use std::process::Command;

/// Decoded video frames (ffprobe -count_frames) of `input`, with extra
/// input options.
fn frames(input: &Path, options: &[&str]) -> u64 {
    let p = input.to_string_lossy();
    let mut args = vec!["-v", "error"];
    args.extend(options);
    args.extend([
        "-count_frames",
        "-select_streams",
        "v",
        "-show_entries",
        "stream=nb_read_frames",
        "-of",
        "csv=p=0",
        &p,
    ]);
    let out = tool("ffprobe", &args);
    // ffprobe lists the stream under its program too: the first line.
    out.lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("frames of {p}: {out}"))
}

/// An encrypted archive: ffmpeg decodes every frame of the input from it
/// (with the key files, -xerror); each segment is no TS in the clear and
/// openssl decrypts it to TS with its key and the playlist's IV (the media
/// sequence number); a new key every two segments, 16 bytes each; the
/// live and archive playlists read strictly. With --key-dir and
/// --key-uri, the keys go there and the playlists name them by the
/// template.
#[test]
fn an_encrypted_archive_decodes_every_frame_with_rotating_keys() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = make_ts(dir.path(), 20, 25);
    let hls = dir.path().join("hls");
    segment(
        &input,
        &hls,
        &[
            "-q",
            "--encrypt",
            "--key-rotation",
            "2",
            "--archive",
            "--target-duration",
            "2",
        ],
    );
    let archive = hls.join("archive.m3u8");
    hls_parser_accepts(&archive);
    hls_parser_accepts(&hls.join("index.m3u8"));
    assert_eq!(
        frames(&archive, &["-allowed_extensions", "ALL"]),
        frames(&input, &[])
    );
    let decoded = Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-v",
            "error",
            "-xerror",
            "-allowed_extensions",
            "ALL",
            "-i",
        ])
        .arg(&archive)
        .args(["-map", "0:v", "-map", "0:a", "-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(
        decoded.status.success() && decoded.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&decoded.stderr)
    );
    let listed = keyed(&archive);
    assert_eq!(listed.len(), 10, "{listed:?}");
    for (n, (uri, iv, seg, _)) in listed.iter().enumerate() {
        assert_eq!(uri, &format!("key{}.key", n / 2));
        assert_eq!(iv, &format!("{n:032X}"));
        let key = std::fs::read(hls.join(uri)).expect("key file");
        assert_eq!(key.len(), 16);
        let cipher = std::fs::read(hls.join(seg)).expect("segment");
        assert!(!is_ts(&cipher), "{seg} is in the clear");
        assert!(is_ts(&openssl_decrypt(&hls.join(seg), &key, iv)), "{seg}");
    }
    let first = std::fs::read(hls.join("key0.key")).expect("key 0");
    assert_ne!(first, std::fs::read(hls.join("key1.key")).expect("key 1"));
    // Keys elsewhere, named by a template.
    let out = dir.path().join("out2");
    let keys = dir.path().join("keys");
    let keys_arg = keys.to_string_lossy().into_owned();
    segment(
        &input,
        &out,
        &[
            "-q",
            "--encrypt",
            "--key-dir",
            &keys_arg,
            "--key-uri",
            "https://keys.example/live/{key}",
            "--archive",
        ],
    );
    let listed = keyed(&out.join("archive.m3u8"));
    assert_eq!(listed[0].0, "https://keys.example/live/key0.key");
    assert!(keys.join("key0.key").exists() && !out.join("key0.key").exists());
    hls_parser_accepts(&out.join("archive.m3u8"));
}

/// Low latency: the key comes before each segment's parts, and each part
/// is encrypted on its own with its segment's key and IV: openssl decrypts
/// every part to TS, and the decrypted parts add up to the decrypted
/// segment, byte for byte.
#[test]
fn encrypted_parts_decrypt_alone_and_add_up_to_their_segment() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = make_ts(dir.path(), 12, 25);
    let hls = dir.path().join("hls");
    segment(
        &input,
        &hls,
        &[
            "-q",
            "--encrypt",
            "--key-rotation",
            "3",
            "--target-duration",
            "2",
            "--part-target",
            "0.5",
        ],
    );
    let live = hls.join("index.m3u8");
    hls_parser_accepts(&live);
    let listed = keyed(&live);
    let with_parts: Vec<_> = listed.iter().filter(|s| !s.3.is_empty()).collect();
    assert_eq!(with_parts.len(), 2, "{listed:?}");
    for (uri, iv, seg, parts) in with_parts {
        let key = std::fs::read(hls.join(uri)).expect("key file");
        let whole = openssl_decrypt(&hls.join(seg), &key, iv);
        assert!(is_ts(&whole), "{seg}");
        let mut joined = Vec::new();
        for p in parts {
            let plain = openssl_decrypt(&hls.join(p), &key, iv);
            assert!(is_ts(&plain), "{p}");
            joined.extend(plain);
        }
        assert!(joined == whole, "the parts of {seg} do not add up to it");
    }
}
