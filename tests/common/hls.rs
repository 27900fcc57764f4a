//! What the whole-binary tests of `routecast segment`'s newer features
//! share (tests/segment_encrypt.rs, tests/segment_scte35.rs,
//! tests/segment_iframes.rs): the input stream ffmpeg makes, the
//! segmenter run, hls-parser's strict reading, and openssl's decryption.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::run::tool;

/// `seconds` of 25 fps H.264 (192x108, ultrafast) + AAC, a keyframe every
/// `gop` frames, as `dir/in.ts` (ffmpeg).
pub fn make_ts(dir: &Path, seconds: u32, gop: u32) -> PathBuf {
    make_ts_preset(dir, seconds, gop, "ultrafast")
}

/// As [`make_ts`] with x264's `preset` (`veryfast` has B-frames:
/// pictures presented out of decoding order).
pub fn make_ts_preset(dir: &Path, seconds: u32, gop: u32, preset: &str) -> PathBuf {
    let out = dir.join("in.ts");
    let (t, g) = (seconds.to_string(), gop.to_string());
    let path = out.to_string_lossy().into_owned();
    #[rustfmt::skip]
    let args = [
        "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
        "testsrc=size=192x108:rate=25", "-f", "lavfi", "-i",
        "sine=frequency=440:sample_rate=48000", "-t", &t, "-c:v", "libx264",
        "-preset", preset, "-g", &g, "-sc_threshold", "0", "-c:a", "aac",
        "-b:a", "64k", "-f", "mpegts", "-y", &path,
    ];
    tool("ffmpeg", &args);
    out
}

/// Runs `routecast segment INPUT -o OUT EXTRA…` to its end, which must be
/// a success; what it said on standard error.
pub fn segment(input: &Path, out: &Path, extra: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_routecast"))
        .arg("segment")
        .arg(input)
        .arg("-o")
        .arg(out)
        .args(extra)
        .output()
        .expect("routecast runs");
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{stderr}");
    stderr
}

/// hls-parser (strict) accepts `playlist` (tests/players/parse.mjs); node
/// and the npm packages are required (scripts/test installs them).
pub fn hls_parser_accepts(playlist: &Path) {
    hls_parser_reads(playlist);
}

/// What hls-parser (strict) read of `playlist`, which it must accept: the
/// JSON tests/players/parse.mjs prints (with `--times`: each segment's
/// EXTINF and PDT too).
pub fn hls_parser_reads(playlist: &Path) -> serde_json::Value {
    let players = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/players");
    let out = Command::new("node")
        .current_dir(&players)
        .args(["parse.mjs", "--times"])
        .arg(playlist)
        .output()
        .unwrap_or_else(|e| panic!("node must be installed (scripts/test installs it): {e}"));
    assert!(
        out.status.success(),
        "hls-parser (strict) rejects {}: {}",
        playlist.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("parse.mjs prints JSON")
}

/// `file` decrypted by openssl (AES-128-CBC, PKCS#7) with `key` and `iv`
/// (32 hex digits).
pub fn openssl_decrypt(file: &Path, key: &[u8], iv: &str) -> Vec<u8> {
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let out = Command::new("openssl")
        .args(["enc", "-d", "-aes-128-cbc", "-K", &hex, "-iv", iv, "-in"])
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("openssl must be installed (scripts/test installs it): {e}"));
    assert!(
        out.status.success(),
        "openssl cannot decrypt {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// (key URI, IV hex, segment URI) of each segment of a media playlist, and
/// the parts listed before it.
pub fn keyed(playlist: &Path) -> Vec<(String, String, String, Vec<String>)> {
    let text = std::fs::read_to_string(playlist).expect("playlist");
    let mut out = Vec::new();
    let (mut key, mut parts) = (None, Vec::new());
    for line in text.lines() {
        if let Some(list) = line.strip_prefix("#EXT-X-KEY:") {
            assert!(list.starts_with("METHOD=AES-128,URI=\""), "{line}");
            let uri = list.split('"').nth(1).expect("a URI").to_string();
            let iv = list.rsplit("IV=0x").next().expect("an IV").to_string();
            assert_eq!(iv.len(), 32, "{line}");
            key = Some((uri, iv));
        } else if let Some(list) = line.strip_prefix("#EXT-X-PART:") {
            parts.push(list.split('"').nth(1).expect("a part URI").to_string());
        } else if !line.starts_with('#') && !line.is_empty() {
            let (uri, iv) = key
                .clone()
                .unwrap_or_else(|| panic!("no key before {line}: {text}"));
            out.push((uri, iv, line.to_string(), std::mem::take(&mut parts)));
        }
    }
    out
}

/// The packets are MPEG-TS: a sync byte every 188.
pub fn is_ts(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.len().is_multiple_of(188) && bytes.chunks(188).all(|p| p[0] == 0x47)
}
