//! What the whole-binary tests of `routecast segment`'s newer features
//! share (tests/segment_encrypt.rs, tests/segment_scte35.rs): the input
//! stream ffmpeg makes, the segmenter run, and hls-parser's strict reading.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::run::tool;

/// `seconds` of 25 fps H.264 (192x108, ultrafast) + AAC, a keyframe every
/// `gop` frames, as `dir/in.ts` (ffmpeg).
pub fn make_ts(dir: &Path, seconds: u32, gop: u32) -> PathBuf {
    let out = dir.join("in.ts");
    let (t, g) = (seconds.to_string(), gop.to_string());
    let path = out.to_string_lossy().into_owned();
    #[rustfmt::skip]
    let args = [
        "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
        "testsrc=size=192x108:rate=25", "-f", "lavfi", "-i",
        "sine=frequency=440:sample_rate=48000", "-t", &t, "-c:v", "libx264",
        "-preset", "ultrafast", "-g", &g, "-sc_threshold", "0", "-c:a", "aac",
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
    let players = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/players");
    let out = Command::new("node")
        .current_dir(&players)
        .arg("parse.mjs")
        .arg(playlist)
        .output()
        .unwrap_or_else(|e| panic!("node must be installed (scripts/test installs it): {e}"));
    assert!(
        out.status.success(),
        "hls-parser (strict) rejects {}: {}",
        playlist.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}
