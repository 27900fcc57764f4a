//! Whole-binary tests of `routecast segment` on transport streams made by
//! Debian's ffmpeg (libx264, libx265, AAC), checked by independent tools:
//! ffmpeg decodes every frame of every segment, video and audio, with
//! `-xerror` (a decoder error fails), ffprobe finds a keyframe first;
//! hls-parser (npm, strict mode) accepts every media playlist the tests
//! read (live, EVENT archive) and every multivariant playlist, and reads
//! the same URIs; the playlists hold what the stream held. ffmpeg,
//! ffprobe, node and tests/players' npm packages are required
//! (scripts/test installs them): a missing tool fails the test.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs a tool that must be installed; panics with its stderr on failure.
fn tool(name: &str, args: &[&str]) -> String {
    let out = Command::new(name)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{name} must be installed (scripts/test installs it): {e}"));
    assert!(
        out.status.success(),
        "{name} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `seconds` of 25 fps test pattern with a 440 Hz tone, keyframes every
/// `gop` frames, as MPEG-TS; `extra` ffmpeg output options.
fn make(dir: &Path, name: &str, codec: &str, seconds: u32, gop: u32, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let t = seconds.to_string();
    let g = gop.to_string();
    let mut args = vec![
        "-hide_banner",
        "-loglevel",
        "error",
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=192x108:rate=25",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-t",
        &t,
        "-c:v",
        codec,
        "-g",
        &g,
        "-preset",
        "ultrafast",
    ];
    let x265 = format!("keyint={gop}:min-keyint={gop}:open-gop=0:scenecut=0:log-level=none");
    if codec == "libx265" {
        args.extend(["-x265-params", &x265]);
    } else {
        args.extend(["-sc_threshold", "0"]);
    }
    args.extend(["-c:a", "aac", "-b:a", "64k"]);
    args.extend(extra);
    args.extend(["-f", "mpegts", "-y"]);
    let path = out.to_string_lossy().into_owned();
    args.push(&path);
    tool("ffmpeg", &args);
    out
}

fn segment(input: &Path, out: &Path, extra: &[&str]) {
    let o = Command::new(env!("CARGO_BIN_EXE_routecast"))
        .arg("segment")
        .arg(input)
        .arg("-o")
        .arg(out)
        .args(extra)
        .output()
        .expect("routecast runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// (EXTINF seconds, discontinuity before, URI) of a media playlist.
fn entries(playlist: &Path) -> Vec<(f64, bool, String)> {
    let text = std::fs::read_to_string(playlist).expect("playlist written");
    assert!(text.starts_with("#EXTM3U\n"), "{text}");
    let mut out = Vec::new();
    let (mut d, mut disc) = (None, false);
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("#EXTINF:") {
            d = Some(
                v.trim_end_matches(',')
                    .parse::<f64>()
                    .expect("EXTINF number"),
            );
        } else if line == "#EXT-X-DISCONTINUITY" {
            disc = true;
        } else if !line.starts_with('#') && !line.is_empty() {
            out.push((d.take().expect("EXTINF before URI"), disc, line.to_string()));
            disc = false;
        }
    }
    out
}

/// Every frame of the segment decodes, video and audio, without an error
/// ([`decodes_video_and_audio`]; audio may be missing if
/// `audio_optional`), and its first video frame is a keyframe;
/// returns the segment's video frames.
fn check_segment(path: &Path, audio_optional: bool) -> usize {
    let p = path.to_string_lossy();
    let frames = tool(
        "ffprobe",
        &[
            "-v",
            "error",
            "-select_streams",
            "v",
            "-show_frames",
            "-show_entries",
            "frame=key_frame",
            "-of",
            "csv=p=0",
            &p,
        ],
    );
    // One line per frame: key_frame first (side data may follow).
    let keys: Vec<&str> = frames
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').next().unwrap_or("").trim())
        .collect();
    assert_eq!(
        keys.first().copied(),
        Some("1"),
        "{p} does not open with a keyframe"
    );
    decodes_video_and_audio(path, audio_optional);
    keys.len()
}

/// ffprobe counts the decoded frames of each kind (`-count_frames`, which
/// decodes), with nothing said at `-v error`; then ffmpeg decodes every
/// stream that has frames with `-xerror`: a decoder error fails it. Video
/// frames are required; audio frames too, unless `audio_optional` (the
/// last, short segment of a stream stopped early: ffmpeg's mpegts muxer
/// sends audio up to 0.7 s after its video, so the audio of the last
/// fraction of a second may never have arrived; its PMT still lists AAC,
/// which ffmpeg cannot set up without a frame).
fn decodes_video_and_audio(path: &Path, audio_optional: bool) {
    let p = path.to_string_lossy();
    let counted = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-show_entries"])
        .args(["stream=codec_type,nb_read_frames", "-of", "csv=p=0", &p])
        .output()
        .unwrap_or_else(|e| panic!("ffprobe must be installed (scripts/test installs it): {e}"));
    let stdout = String::from_utf8_lossy(&counted.stdout);
    assert!(
        counted.status.success() && counted.stderr.is_empty(),
        "{p}: {}",
        String::from_utf8_lossy(&counted.stderr)
    );
    let frames = |kind: &str| {
        stdout
            .lines()
            .filter_map(|l| l.trim().strip_prefix(&format!("{kind},")))
            .filter_map(|n| n.parse::<u64>().ok())
            .max()
            .unwrap_or(0)
    };
    assert!(
        frames("video") > 0,
        "{p}: no video frames decoded: {stdout}"
    );
    let audio = frames("audio") > 0;
    assert!(
        audio || audio_optional,
        "{p}: no audio frames decoded: {stdout}"
    );
    let mut decode = Command::new("ffmpeg");
    decode.args([
        "-nostdin", "-v", "error", "-xerror", "-i", &p, "-map", "0:v",
    ]);
    if audio {
        decode.args(["-map", "0:a"]);
    }
    let decoded = decode
        .args(["-f", "null", "-"])
        .output()
        .unwrap_or_else(|e| panic!("ffmpeg must be installed (scripts/test installs it): {e}"));
    assert!(
        decoded.status.success() && decoded.stderr.is_empty(),
        "{p} does not decode ({}): {}",
        decoded.status,
        String::from_utf8_lossy(&decoded.stderr)
    );
}

/// The decode check is a judge: a segment whose audio no longer decodes
/// (payload bytes of AAC packets, PID 0x101 as ffmpeg numbers it, flipped
/// in its second half; video, timestamps and packet headers intact) fails
/// it. ffprobe's `-show_frames` of the video alone reads it without a
/// complaint on its exit status.
#[test]
fn the_decode_check_fails_on_a_segment_whose_audio_does_not_decode() {
    let dir = tempfile::tempdir().expect("tmp");
    let good = make(dir.path(), "good.ts", "libx264", 2, 50, &[]);
    check_segment(&good, false);
    let mut bytes = std::fs::read(&good).expect("made");
    let packets = bytes.len() / 188;
    let mut flipped = 0;
    for packet in bytes.chunks_mut(188).skip(packets / 2) {
        let pid = (u16::from(packet[1] & 0x1f) << 8) | u16::from(packet[2]);
        let opens_a_pes = packet[1] & 0x40 != 0;
        let adaptation = packet[3] & 0x20 != 0;
        if pid == 0x101 && !opens_a_pes && !adaptation {
            packet[4..].iter_mut().for_each(|b| *b ^= 0x5a);
            flipped += 1;
        }
    }
    assert!(flipped > 10, "{flipped} audio packets");
    let bad = dir.path().join("bad.ts");
    std::fs::write(&bad, bytes).expect("write");
    let judged = std::panic::catch_unwind(|| check_segment(&bad, false));
    assert!(judged.is_err(), "the decode check passed corrupt audio");
}

/// What hls-parser (npm, strict mode: any deviation from RFC 8216 it knows
/// throws) reads in `playlist`, by tests/players/parse.mjs: a media
/// playlist's `uris`, `targetDuration`, `endlist`…, or a multivariant
/// playlist's `variants` ([uri, bandwidth, average, codecs, "WxH"]).
/// node and the npm packages are required (scripts/test installs them).
fn hls_parser_reads(playlist: &Path) -> serde_json::Value {
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
    serde_json::from_slice(&out.stdout).expect("parse.mjs prints JSON")
}

/// hls-parser in strict mode reads multivariant playlists too: a valid one
/// with its variants, and one whose EXT-X-STREAM-INF lacks BANDWIDTH (a
/// MUST of RFC 8216 §4.3.4.2) is refused.
#[test]
fn hls_parser_judges_multivariant_playlists() {
    let dir = tempfile::tempdir().expect("tmp");
    let good = dir.path().join("good.m3u8");
    let inf = "#EXT-X-STREAM-INF:BANDWIDTH=900000,AVERAGE-BANDWIDTH=800000,\
               CODECS=\"avc1.64001e,mp4a.40.2\",RESOLUTION=640x360";
    std::fs::write(&good, format!("#EXTM3U\n{inf}\nhi/index.m3u8\n")).expect("write");
    let read = hls_parser_reads(&good);
    assert_eq!(
        read["variants"],
        serde_json::json!([[
            "hi/index.m3u8",
            900000,
            800000,
            "avc1.64001e,mp4a.40.2",
            "640x360"
        ]])
    );
    let bad = dir.path().join("bad.m3u8");
    std::fs::write(
        &bad,
        "#EXTM3U\n#EXT-X-STREAM-INF:RESOLUTION=640x360\nhi/index.m3u8\n",
    )
    .expect("write");
    assert!(std::panic::catch_unwind(|| hls_parser_reads(&bad)).is_err());
}

/// hls-parser (strict) accepts the media playlist `playlist` (VOD, EVENT
/// or live) and reads the same URIs as [`entries`].
fn hls_parser_agrees(playlist: &Path) {
    let ours: Vec<String> = entries(playlist).into_iter().map(|e| e.2).collect();
    let theirs = hls_parser_reads(playlist);
    assert_eq!(
        theirs["uris"],
        serde_json::json!(ours),
        "{}",
        playlist.display()
    );
}

fn check_all(out: &Path, playlist: &str, target: f64) -> Vec<(f64, bool, String)> {
    let e = entries(&out.join(playlist));
    assert!(!e.is_empty());
    hls_parser_agrees(&out.join(playlist));
    for (i, (d, _, uri)) in e.iter().enumerate() {
        assert!(
            d.round() <= target,
            "{uri}: EXTINF {d} rounds above {target}"
        );
        // The last segment of a stream stopped early may end before its
        // audio came (see decodes_video_and_audio).
        let short_last = i + 1 == e.len() && *d < 0.7;
        check_segment(&out.join(uri), short_last);
    }
    e
}

#[test]
fn h264_aac_segments_decode_open_with_keyframes_and_add_up() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = make(dir.path(), "in.ts", "libx264", 30, 50, &[]);
    let out = dir.path().join("hls");
    segment(&input, &out, &["--archive", "-q"]);
    let e = check_all(&out, "archive.m3u8", 6.0);
    let total: f64 = e.iter().map(|x| x.0).sum();
    assert!((total - 30.0).abs() < 0.1, "total {total}");
    assert_eq!(e.iter().filter(|x| x.0 == 6.0).count(), 5, "{e:?}");
    // Every frame made it into exactly one segment.
    let frames: usize = e
        .iter()
        .map(|(_, _, u)| check_segment(&out.join(u), false))
        .sum();
    assert_eq!(frames, 750);
    // The live window: the newest segments, at least 3 targets long.
    hls_parser_agrees(&out.join("index.m3u8"));
    let live = entries(&out.join("index.m3u8"));
    assert!(live.iter().map(|x| x.0).sum::<f64>() >= 18.0);
    assert_eq!(live.last(), e.last());
}

#[test]
fn hevc_segments_decode_and_open_with_idr_pictures() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = make(dir.path(), "in.ts", "libx265", 20, 50, &[]);
    let out = dir.path().join("hls");
    segment(&input, &out, &["--archive", "-q", "--target-duration", "4"]);
    let e = check_all(&out, "archive.m3u8", 4.0);
    assert_eq!(e.iter().map(|x| x.0).collect::<Vec<_>>(), [4.0; 5]);
}

#[test]
fn the_33_bit_timestamp_wrap_passes_without_a_discontinuity() {
    let dir = tempfile::tempdir().expect("tmp");
    // PTS wrap at 2^33 / 90 kHz = 95443.7 s: 10 s into the stream.
    let input = make(
        dir.path(),
        "in.ts",
        "libx264",
        30,
        50,
        &["-output_ts_offset", "95433.7"],
    );
    let out = dir.path().join("hls");
    segment(&input, &out, &["--archive", "-q"]);
    let e = check_all(&out, "archive.m3u8", 6.0);
    assert!(e.iter().all(|x| !x.1), "{e:?}");
    let total: f64 = e.iter().map(|x| x.0).sum();
    assert!((total - 30.0).abs() < 0.1, "total {total}");
}

#[test]
fn an_encoder_restart_is_one_discontinuity() {
    let dir = tempfile::tempdir().expect("tmp");
    let a = make(dir.path(), "a.ts", "libx264", 12, 50, &[]);
    let b = make(dir.path(), "b.ts", "libx264", 12, 50, &[]);
    // The same timestamps twice: what a restarted encoder sends.
    let mut both = std::fs::read(&a).expect("a");
    both.extend(std::fs::read(&b).expect("b"));
    let input = dir.path().join("restart.ts");
    std::fs::write(&input, both).expect("write");
    let out = dir.path().join("hls");
    segment(&input, &out, &["--archive", "-q"]);
    let e = check_all(&out, "archive.m3u8", 6.0);
    let flags: Vec<bool> = e.iter().map(|x| x.1).collect();
    assert_eq!(flags.iter().filter(|f| **f).count(), 1, "{e:?}");
    assert_eq!(flags, [false, false, true, false], "{e:?}");
}

#[test]
fn several_renditions_get_a_multivariant_playlist_measured_from_the_streams() {
    let dir = tempfile::tempdir().expect("tmp");
    let hi = make(
        dir.path(),
        "hi.ts",
        "libx264",
        12,
        50,
        &[
            "-s",
            "640x360",
            "-pix_fmt",
            "yuv420p",
            "-profile:v",
            "high",
            "-preset",
            "veryfast",
        ],
    );
    let lo = make(
        dir.path(),
        "lo.ts",
        "libx264",
        12,
        50,
        &[
            "-s",
            "320x180",
            "-pix_fmt",
            "yuv420p",
            "-profile:v",
            "baseline",
        ],
    );
    let out = dir.path().join("hls");
    let (a, b) = (
        format!("hi={}", hi.display()),
        format!("lo={}", lo.display()),
    );
    segment(Path::new(&a), &out, &[&b, "-q", "--archive"]);
    let master = std::fs::read_to_string(out.join("master.m3u8")).expect("master written");
    let lines: Vec<&str> = master.lines().collect();
    assert_eq!(lines[0], "#EXTM3U");
    // hls-parser (strict) accepts it and reads the same variants.
    let variants = hls_parser_reads(&out.join("master.m3u8"))["variants"].clone();
    let uris: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| !l.starts_with('#'))
        .collect();
    let read: Vec<&str> = variants
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v[0].as_str())
        .collect();
    assert_eq!(read, uris, "{master}\n{variants}");
    for (name, size, profile) in [("hi", "640x360", "avc1.64"), ("lo", "320x180", "avc1.42")] {
        let at = lines
            .iter()
            .position(|l| *l == format!("{name}/index.m3u8"))
            .unwrap_or_else(|| panic!("{name} listed: {master}"));
        let inf = lines[at - 1];
        assert!(inf.contains(&format!("RESOLUTION={size}")), "{inf}");
        assert!(inf.contains(&format!("CODECS=\"{profile}")), "{inf}");
        assert!(inf.contains(",mp4a.40.2\""), "{inf}");
        let attr = |key: &str| -> f64 {
            inf.split(&format!("{key}="))
                .nth(1)
                .and_then(|v| v.split(',').next())
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{key} in {inf}"))
        };
        // The average is all segment bits over all segment time.
        let e = entries(&out.join(name).join("archive.m3u8"));
        let bits: f64 = e
            .iter()
            .map(|(_, _, u)| {
                std::fs::metadata(out.join(name).join(u))
                    .expect("segment")
                    .len() as f64
                    * 8.0
            })
            .sum();
        let secs: f64 = e.iter().map(|x| x.0).sum();
        let average = attr("AVERAGE-BANDWIDTH");
        assert!(
            (average - bits / secs).abs() / average < 0.01,
            "{average} vs {}",
            bits / secs
        );
        assert!(attr("BANDWIDTH") >= average, "{inf}");
        // The size is what ffprobe decodes.
        let probed = tool(
            "ffprobe",
            &[
                "-v",
                "error",
                "-select_streams",
                "v",
                "-show_entries",
                "stream=width,height",
                "-of",
                "csv=s=x:p=0",
                &out.join(name).join(&e[0].2).to_string_lossy(),
            ],
        );
        assert_eq!(probed.lines().next().map(str::trim), Some(size));
    }
}

/// Kills `child` with SIGTERM (graceful: the segmenter finishes the stream).
fn terminate(child: &std::process::Child) {
    tool("kill", &["-TERM", &child.id().to_string()]);
}

/// Serves `file` (`seconds` of stream) once over HTTP on a loopback port,
/// at about real time for `sent` seconds; then the connection stays open
/// and silent (a stalled encoder). Returns the port.
fn stalling_feed(file: &Path, seconds: usize, sent: usize) -> u16 {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let bytes = std::fs::read(file).expect("feed file");
    std::thread::spawn(move || {
        let Ok((mut c, _)) = listener.accept() else {
            return;
        };
        // The whole request head (a close with unread bytes resets).
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n")
            && std::io::Read::read(&mut c, &mut byte).is_ok_and(|n| n == 1)
        {
            head.push(byte[0]);
        }
        let _ = write!(c, "HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\n\r\n");
        let per_tenth = bytes.len() / (seconds * 10);
        for chunk in bytes.chunks(per_tenth).take(sent * 10) {
            if c.write_all(chunk).is_err() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        std::thread::sleep(std::time::Duration::from_secs(60));
    });
    port
}

#[test]
fn a_silent_input_fails_over_to_the_backup_at_a_keyframe_after_a_discontinuity() {
    let dir = tempfile::tempdir().expect("tmp");
    let primary = make(dir.path(), "primary.ts", "libx264", 20, 25, &[]);
    let backup = make(
        dir.path(),
        "backup.ts",
        "libx264",
        20,
        25,
        &["-output_ts_offset", "1000"],
    );
    // The primary arrives over HTTP at about real time for 5 s, then the
    // connection stays open and silent (a stalled encoder).
    let port = stalling_feed(&primary, 20, 5);
    let out = dir.path().join("hls");
    let mut child = Command::new(env!("CARGO_BIN_EXE_routecast"))
        .args(["segment", &format!("http://127.0.0.1:{port}/live.ts"), "-o"])
        .arg(&out)
        .args(["--backup"])
        .arg(&backup)
        .args([
            "--realtime",
            "--failover-after",
            "1.5",
            "--target-duration",
            "2",
            "--window",
            "6",
            "--archive",
            "-q",
        ])
        .spawn()
        .expect("routecast runs");
    // Wait for two backup segments after the switch (at most 30 s).
    let archive = out.join("archive.m3u8");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let switched = loop {
        let e = if archive.exists() {
            entries(&archive)
        } else {
            Vec::new()
        };
        if let Some(at) = e.iter().position(|x| x.1) {
            if e.len() >= at + 2 {
                break true;
            }
        }
        if std::time::Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    terminate(&child);
    let status = child.wait().expect("exits");
    assert!(
        switched,
        "no switch to the backup: {:?}",
        std::fs::read_to_string(&archive)
    );
    assert!(status.success(), "SIGTERM ends the run cleanly: {status}");
    let text = std::fs::read_to_string(&archive).expect("archive");
    assert!(text.ends_with("#EXT-X-ENDLIST\n"), "{text}");
    let e = check_all(&out, "archive.m3u8", 2.0);
    assert_eq!(
        e.iter().filter(|x| x.1).count(),
        1,
        "one discontinuity: {e:?}"
    );
    // About 5 s of primary before the switch.
    let before: f64 = e.iter().take_while(|x| !x.1).map(|x| x.0).sum();
    assert!(
        (3.0..=6.5).contains(&before),
        "{before} s before the switch: {e:?}"
    );
}

#[test]
fn a_grace_period_shorter_than_the_rfc_allows_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let o = Command::new(env!("CARGO_BIN_EXE_routecast"))
        .args(["segment", "-", "-o"])
        .arg(dir.path())
        .args(["--window", "18", "--target-duration", "6", "--grace", "20"])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(64));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--grace 20 is too short") && err.contains("(24 s)"),
        "{err}"
    );
}

/// `GET target` from `port` on loopback over a new connection: the status
/// and the body.
fn http_get(port: u16, target: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connects");
    c.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    write!(
        c,
        "GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .expect("request sent");
    let mut raw = Vec::new();
    c.read_to_end(&mut raw).expect("response");
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a status line: {head}"));
    (status, body.to_string())
}

/// Starts a `routecast segment … --serve 127.0.0.1:0` (without `-q`) and
/// reads the port its origin bound from the first line it prints; the rest
/// of its standard error is read on (so it never blocks) and returned by
/// the thread.
fn serving(cmd: &mut Command) -> (std::process::Child, u16, std::thread::JoinHandle<String>) {
    use std::io::{BufRead, Read};
    let mut child = cmd
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("routecast runs");
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("piped"));
    let mut first = String::new();
    stderr.read_line(&mut first).expect("stderr");
    let port = first
        .strip_prefix("routecast segment: serving http://127.0.0.1:")
        .and_then(|rest| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no address served on: {first:?}"));
    let rest = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = stderr.read_to_string(&mut rest);
        rest
    });
    (child, port, rest)
}

/// Calls `f` every 100 ms until it answers, for at most `seconds`.
fn within<T>(seconds: u64, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        if let Some(t) = f() {
            return Some(t);
        }
        if std::time::Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The last `EXT-X-PART` of a playlist: (media sequence number, part).
fn last_part(playlist: &str) -> Option<(u64, u64)> {
    let uri = playlist
        .lines()
        .rev()
        .find(|l| l.starts_with("#EXT-X-PART:"))?
        .split("URI=\"")
        .nth(1)?
        .split('"')
        .next()?;
    let (m, n) = uri
        .strip_prefix("seg")?
        .strip_suffix(".ts")?
        .split_once('.')?;
    Some((m.parse().ok()?, n.parse().ok()?))
}

#[test]
fn several_renditions_are_served_with_blocking_reloads_under_their_names() {
    let dir = tempfile::tempdir().expect("tmp");
    let hi = make(dir.path(), "hi.ts", "libx264", 10, 25, &["-s", "256x144"]);
    let lo = make(dir.path(), "lo.ts", "libx264", 10, 25, &[]);
    let out = dir.path().join("hls");
    let (mut child, port, stderr) = serving(
        Command::new(env!("CARGO_BIN_EXE_routecast"))
            .arg("segment")
            .arg(format!("hi={}", hi.display()))
            .arg(format!("lo={}", lo.display()))
            .arg("-o")
            .arg(&out)
            .args(["--realtime", "--target-duration", "1"])
            .args(["--part-target", "0.5", "--serve", "127.0.0.1:0"]),
    );
    // The multivariant playlist, once both renditions are measured, is the
    // file on disk: the same URLs work from either.
    let master = within(15, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        let (status, body) = http_get(port, "/master.m3u8");
        (status == 200).then_some(body)
    });
    let checked = std::panic::catch_unwind(|| {
        let master = master.expect("/master.m3u8 served within 15 s");
        assert!(master.lines().any(|l| l == "hi/index.m3u8"), "{master}");
        assert!(master.lines().any(|l| l == "lo/index.m3u8"), "{master}");
        let on_disk = std::fs::read_to_string(out.join("master.m3u8")).expect("master on disk");
        assert!(on_disk.lines().any(|l| l == "hi/index.m3u8"), "{on_disk}");
        for name in ["hi", "lo"] {
            let (status, playlist) = http_get(port, &format!("/{name}/index.m3u8"));
            assert_eq!(status, 200, "{name}: {playlist}");
            assert!(
                playlist.contains("#EXT-X-PRELOAD-HINT:TYPE=PART"),
                "{playlist}"
            );
            let (m, n) = last_part(&playlist).unwrap_or_else(|| panic!("parts: {playlist}"));
            // The listed part is served, under the rendition's directory.
            let (status, part) = http_get(port, &format!("/{name}/seg{m}.{n}.ts"));
            assert_eq!(status, 200, "{name}/seg{m}.{n}.ts");
            assert!(!part.is_empty());
            // Held until the next part is published, then the whole playlist.
            let started = std::time::Instant::now();
            let (status, next) = http_get(
                port,
                &format!("/{name}/index.m3u8?_HLS_msn={m}&_HLS_part={}", n + 1),
            );
            assert_eq!(status, 200, "{name}: {next}");
            assert!(
                started.elapsed() < std::time::Duration::from_secs(3),
                "{name}: held {:?}",
                started.elapsed()
            );
            let after = last_part(&next).unwrap_or_else(|| panic!("parts: {next}"));
            assert!(after > (m, n), "{name}: {after:?} after ({m}, {n})");
            assert!(!next.contains("#EXT-X-ENDLIST"), "ended too soon: {next}");
        }
        for (target, expected) in [
            ("/nope/index.m3u8", 404),
            ("/index.m3u8", 404),
            ("/hi/../master.m3u8", 400),
        ] {
            assert_eq!(http_get(port, target).0, expected, "{target}");
        }
    });
    terminate(&child);
    let status = child.wait().expect("exits");
    if let Err(panic) = checked {
        std::panic::resume_unwind(panic);
    }
    let said = stderr.join().unwrap_or_default();
    assert!(
        status.success(),
        "SIGTERM ends the run cleanly: {status}\n{said}"
    );
    // Nothing but each rendition's summary: its playlist and its counts.
    for name in ["hi", "lo"] {
        let playlist = out.join(name).join("index.m3u8");
        assert!(
            said.lines().any(|l| l == playlist.display().to_string()),
            "{said}"
        );
    }
    assert_eq!(said.lines().count(), 4, "{said}");
}

#[test]
fn a_rendition_s_backup_takes_over_and_the_other_rendition_goes_on() {
    let dir = tempfile::tempdir().expect("tmp");
    let hi = make(dir.path(), "hi.ts", "libx264", 10, 25, &["-s", "256x144"]);
    let backup = make(
        dir.path(),
        "backup.ts",
        "libx264",
        10,
        25,
        &["-s", "256x144", "-output_ts_offset", "1000"],
    );
    let lo = make(dir.path(), "lo.ts", "libx264", 10, 25, &[]);
    // hi's primary sends 3 s, then stalls.
    let port = stalling_feed(&hi, 10, 3);
    let out = dir.path().join("hls");
    let mut child = Command::new(env!("CARGO_BIN_EXE_routecast"))
        .arg("segment")
        .arg(format!("hi=http://127.0.0.1:{port}/live.ts"))
        .arg(format!("lo={}", lo.display()))
        .arg("--backup")
        .arg(format!("hi={}", backup.display()))
        .arg("-o")
        .arg(&out)
        .args([
            "--realtime",
            "--failover-after",
            "1",
            "--target-duration",
            "1",
        ])
        .args(["--archive", "-q"])
        .spawn()
        .expect("routecast runs");
    // Two backup segments after the switch (at most 20 s).
    let archive = out.join("hi").join("archive.m3u8");
    let switched = within(20, || {
        let e = archive.exists().then(|| entries(&archive))?;
        let at = e.iter().position(|x| x.1)?;
        (e.len() >= at + 2).then_some(())
    });
    terminate(&child);
    let status = child.wait().expect("exits");
    assert!(
        switched.is_some(),
        "no switch to hi's backup: {:?}",
        std::fs::read_to_string(&archive)
    );
    assert!(status.success(), "SIGTERM ends the run cleanly: {status}");
    let e = check_all(&out.join("hi"), "archive.m3u8", 1.0);
    assert_eq!(
        e.iter().filter(|x| x.1).count(),
        1,
        "one discontinuity: {e:?}"
    );
    let before: f64 = e.iter().take_while(|x| !x.1).map(|x| x.0).sum();
    assert!(
        (1.5..=3.5).contains(&before),
        "{before} s before the switch: {e:?}"
    );
    // lo never noticed: no discontinuity, one-second segments throughout,
    // and it went on past hi's switch.
    let lo = check_all(&out.join("lo"), "archive.m3u8", 1.0);
    assert!(lo.iter().all(|x| !x.1), "{lo:?}");
    assert!(
        lo[..lo.len() - 1].iter().all(|x| (x.0 - 1.0).abs() < 0.05),
        "{lo:?}"
    );
    let total: f64 = lo.iter().map(|x| x.0).sum();
    assert!(
        total >= before + 2.0,
        "lo {total} s, hi switched at {before} s"
    );
}

#[test]
fn a_backup_for_no_rendition_or_twice_for_one_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tmp");
    for (backups, expected) in [
        (
            &["x=b.ts"][..],
            "\"x\" is not a rendition (renditions: hi, lo)",
        ),
        (
            &["hi=b.ts", "hi=c.ts"],
            "rendition \"hi\" has a backup already",
        ),
        (&["b.ts"], "give --backup NAME=INPUT"),
    ] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_routecast"));
        cmd.args(["segment", "hi=-", "lo=-", "-o"]).arg(dir.path());
        for b in backups {
            cmd.args(["--backup", b]);
        }
        let o = cmd.output().expect("runs");
        assert_eq!(o.status.code(), Some(64), "{backups:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(expected), "{backups:?}: {err}");
    }
    // One input keeps `--backup INPUT`, once.
    let o = Command::new(env!("CARGO_BIN_EXE_routecast"))
        .args(["segment", "-", "-o"])
        .arg(dir.path())
        .args(["--backup", "a.ts", "--backup", "b.ts"])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(64));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--backup is given more than once"), "{err}");
}

/// The command words the renditions' and backups' mistakes in its own
/// flags, exit 64, as the starting binary of the reshaping did (the library
/// says what is wrong without them).
#[test]
fn backup_mistakes_are_worded_as_flags() {
    for (args, message) in [
        (
            &["a.ts", "--backup", "b.ts", "--backup", "c.ts"][..],
            "routecast: --backup is given more than once for one input\n",
        ),
        (
            &["hi=a.ts", "lo=b.ts", "--backup", "x.ts"],
            "routecast: --backup x.ts: with several renditions give --backup NAME=INPUT \
             (renditions: hi, lo)\n",
        ),
        (
            &["hi=a.ts", "lo=b.ts", "--backup", "mid=x.ts"],
            "routecast: --backup mid=x.ts: \"mid\" is not a rendition (renditions: hi, lo)\n",
        ),
        (
            &[
                "hi=a.ts", "lo=b.ts", "--backup", "hi=x.ts", "--backup", "hi=y.ts",
            ],
            "routecast: --backup hi=y.ts: rendition \"hi\" has a backup already\n",
        ),
        (
            &["hi=a.ts", "hi=b.ts"],
            "routecast: rendition name \"hi\" given twice\n",
        ),
    ] {
        let dir = tempfile::tempdir().expect("tmp");
        let o = Command::new(env!("CARGO_BIN_EXE_routecast"))
            .arg("segment")
            .args(args)
            .arg("-o")
            .arg(dir.path())
            .output()
            .expect("runs");
        assert_eq!(o.status.code(), Some(64), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&o.stderr), message, "{args:?}");
    }
}

/// Segments `input` into an archive and returns the discontinuities the
/// summary reports and the `EXT-X-DISCONTINUITY` lines the archive
/// playlist holds, counted as plain text (every segment is listed there).
fn reported_and_written_discontinuities(input: &Path, out: &Path) -> (u64, u64) {
    let o = Command::new(env!("CARGO_BIN_EXE_routecast"))
        .arg("segment")
        .arg(input)
        .arg("-o")
        .arg(out)
        .arg("--archive")
        .output()
        .expect("routecast runs");
    let said = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{said}");
    let reported = said
        .split("; ")
        .find_map(|field| field.strip_suffix(" discontinuities"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no discontinuity count in the summary: {said}"));
    let playlist = std::fs::read_to_string(out.join("archive.m3u8")).expect("archive written");
    let written = playlist
        .lines()
        .filter(|l| *l == "#EXT-X-DISCONTINUITY")
        .count() as u64;
    (reported, written)
}

#[test]
fn the_summary_counts_the_discontinuity_a_pmt_change_writes() {
    let dir = tempfile::tempdir().expect("tmp");
    let a = make(dir.path(), "a.ts", "libx264", 8, 50, &[]);
    // The same timeline continued by a program with other PIDs and PMT
    // version: a new encoder configuration, no timestamp jump.
    let b = make(
        dir.path(),
        "b.ts",
        "libx264",
        8,
        50,
        &[
            "-output_ts_offset",
            "8",
            "-mpegts_pmt_start_pid",
            "0x1100",
            "-mpegts_start_pid",
            "0x200",
        ],
    );
    let mut both = std::fs::read(&a).expect("a");
    both.extend(std::fs::read(&b).expect("b"));
    let input = dir.path().join("pmt-change.ts");
    std::fs::write(&input, both).expect("write");
    let (reported, written) = reported_and_written_discontinuities(&input, &dir.path().join("hls"));
    assert_eq!(reported, written, "summary vs playlist");
}

#[test]
fn the_summary_counts_only_the_discontinuities_a_corrupt_stream_writes() {
    let dir = tempfile::tempdir().expect("tmp");
    let a = make(dir.path(), "a.ts", "libx264", 16, 50, &[]);
    let mut bytes = std::fs::read(&a).expect("a");
    // Flip every byte of 40 packets in the middle: sync bytes, headers,
    // timestamps and pictures alike.
    let middle = bytes.len() / 2 / 188 * 188;
    for b in &mut bytes[middle..middle + 40 * 188] {
        *b ^= 0xff;
    }
    // And a few bits of every 7th packet's header after that.
    for p in (middle + 40 * 188..bytes.len()).step_by(7 * 188).take(60) {
        bytes[p + 9] ^= 0x5a;
        bytes[p + 13] ^= 0x3c;
    }
    let input = dir.path().join("corrupt.ts");
    std::fs::write(&input, bytes).expect("write");
    let (reported, written) = reported_and_written_discontinuities(&input, &dir.path().join("hls"));
    assert_eq!(reported, written, "summary vs playlist");
}

/// The `EXT-X-RENDITION-REPORT` lines of a playlist, read as plain text:
/// (URI, LAST-MSN, LAST-PART).
fn rendition_reports(playlist: &str) -> Vec<(String, u64, u64)> {
    let attr = |attrs: &str, name: &str| -> Option<String> {
        attrs
            .split(',')
            .find_map(|a| a.strip_prefix(name)?.strip_prefix('='))
            .map(|v| v.trim_matches('"').to_owned())
    };
    playlist
        .lines()
        .filter_map(|l| l.strip_prefix("#EXT-X-RENDITION-REPORT:"))
        .map(|a| {
            let number = |name| {
                attr(a, name)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| panic!("{name} missing in {a}"))
            };
            let uri = attr(a, "URI").unwrap_or_else(|| panic!("URI missing in {a}"));
            (uri, number("LAST-MSN"), number("LAST-PART"))
        })
        .collect()
}

#[test]
fn low_latency_renditions_report_each_other_in_plain_and_blocking_playlists() {
    let dir = tempfile::tempdir().expect("tmp");
    let hi = make(dir.path(), "hi.ts", "libx264", 10, 25, &["-s", "256x144"]);
    let lo = make(dir.path(), "lo.ts", "libx264", 10, 25, &[]);
    let out = dir.path().join("hls");
    let (mut child, port, stderr) = serving(
        Command::new(env!("CARGO_BIN_EXE_routecast"))
            .arg("segment")
            .arg(format!("hi={}", hi.display()))
            .arg(format!("lo={}", lo.display()))
            .arg("-o")
            .arg(&out)
            .args(["--realtime", "--target-duration", "1"])
            .args(["--part-target", "0.5", "--serve", "127.0.0.1:0"]),
    );
    // Both renditions have parts once each reports the other.
    let ready = within(15, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        ["hi", "lo"]
            .iter()
            .all(|name| {
                let (status, body) = http_get(port, &format!("/{name}/index.m3u8"));
                status == 200 && !rendition_reports(&body).is_empty()
            })
            .then_some(())
    });
    let checked = std::panic::catch_unwind(|| {
        ready.expect("both renditions report within 15 s");
        for (name, other) in [("hi", "lo"), ("lo", "hi")] {
            let (_, plain) = http_get(port, &format!("/{name}/index.m3u8"));
            let (m, n) = last_part(&plain).unwrap_or_else(|| panic!("parts: {plain}"));
            let blocking = format!("/{name}/index.m3u8?_HLS_msn={m}&_HLS_part={}", n + 1);
            let (status, held) = http_get(port, &blocking);
            assert_eq!(status, 200, "{blocking}: {held}");
            for playlist in [&plain, &held] {
                let reports = rendition_reports(playlist);
                assert_eq!(
                    reports.len(),
                    1,
                    "{name}: one report, of {other}: {playlist}"
                );
                let (uri, msn, part) = &reports[0];
                assert_eq!(uri, &format!("../{other}/index.m3u8"), "{playlist}");
                // The reported part exists: asking the other rendition for
                // it is answered at once, and lists it.
                let target = format!("/{other}/index.m3u8?_HLS_msn={msn}&_HLS_part={part}");
                let started = std::time::Instant::now();
                let (status, theirs) = http_get(port, &target);
                assert_eq!(status, 200, "{target}: {theirs}");
                assert!(
                    started.elapsed() < std::time::Duration::from_millis(400),
                    "{target} held {:?}: the report was ahead",
                    started.elapsed()
                );
                let listed = format!("URI=\"seg{msn}.{part}.ts\"");
                assert!(theirs.contains(&listed), "{listed} not in {theirs}");
            }
        }
        // The files on disk carry them too.
        for (name, other) in [("hi", "lo"), ("lo", "hi")] {
            let text = std::fs::read_to_string(out.join(name).join("index.m3u8")).expect("on disk");
            let reports = rendition_reports(&text);
            assert_eq!(reports.len(), 1, "{text}");
            assert_eq!(reports[0].0, format!("../{other}/index.m3u8"), "{text}");
        }
    });
    terminate(&child);
    let status = child.wait().expect("exits");
    let said = stderr.join().unwrap_or_default();
    if let Err(panic) = checked {
        std::panic::resume_unwind(panic);
    }
    assert!(status.success(), "{status}\n{said}");
}

#[test]
fn a_recovery_time_below_the_failover_time_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let o = Command::new(env!("CARGO_BIN_EXE_routecast"))
        .args(["segment", "-", "-o"])
        .arg(dir.path())
        .args(["--failover-after", "2", "--recover-after", "1.5"])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(64));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--recover-after 1.5 is shorter than --failover-after 2"),
        "{err}"
    );
}

/// How a loopback source misbehaves, per connection.
#[derive(Clone)]
enum Misbehaving {
    /// A real stream, one byte a second.
    Trickle(Vec<u8>),
    /// An HTML page with status 200, a line every half second.
    Html,
    /// A real stream (`seconds` long) at real time for `healthy` seconds,
    /// then up 0.25 s in every 2 s: what is due while down is lost.
    Flapping {
        bytes: Vec<u8>,
        seconds: usize,
        healthy: usize,
    },
}

/// Serves `how` on a loopback port, each connection on a thread of its
/// own, counting the connections. Returns the port and the count.
fn misbehaving_source(how: Misbehaving) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = count.clone();
    std::thread::spawn(move || {
        for c in listener.incoming().flatten() {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let how = how.clone();
            std::thread::spawn(move || misbehave(c, &how));
        }
    });
    (port, count)
}

/// One connection of [`misbehaving_source`].
fn misbehave(mut c: std::net::TcpStream, how: &Misbehaving) {
    use std::io::Write;
    use std::time::Duration;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n")
        && std::io::Read::read(&mut c, &mut byte).is_ok_and(|n| n == 1)
    {
        head.push(byte[0]);
    }
    let kind = if matches!(how, Misbehaving::Html) {
        "text/html"
    } else {
        "video/mp2t"
    };
    let _ = write!(c, "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\n\r\n");
    match how {
        Misbehaving::Trickle(bytes) => {
            for b in bytes {
                if c.write_all(&[*b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        Misbehaving::Html => {
            // A page that keeps coming, a line every half second (a portal
            // or an error page of a proxy that never ends it).
            let line = "<p>Welcome to nginx! The stream is temporarily unavailable.</p>\n";
            for _ in 0..240 {
                if c.write_all(line.as_bytes()).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        }
        Misbehaving::Flapping {
            bytes,
            seconds,
            healthy,
        } => {
            // 50 ms slices; a video frame (with the packets up to the next
            // one: ffmpeg writes each PES whole) is due in the slice of its
            // place in the file, and sent whole or lost whole.
            let slice = |offset: usize| offset * seconds * 20 / bytes.len();
            let mut sent_until = 0;
            for frame in video_frames(bytes) {
                while sent_until < slice(frame.start) {
                    std::thread::sleep(Duration::from_millis(50));
                    sent_until += 1;
                }
                let s = slice(frame.start);
                let up = s < healthy * 20 || s % 40 < 5;
                if up && c.write_all(&bytes[frame]).is_err() {
                    return;
                }
            }
            std::thread::sleep(Duration::from_secs(120));
        }
    }
}

/// The byte ranges of a transport stream from each video PES start
/// (PID 0x100, ffmpeg's) to the next.
fn video_frames(ts: &[u8]) -> Vec<std::ops::Range<usize>> {
    let starts: Vec<usize> = (0..ts.len() / 188)
        .map(|i| i * 188)
        .filter(|&o| {
            let p = &ts[o..o + 188];
            let pid = u16::from(p[1] & 0x1f) << 8 | u16::from(p[2]);
            pid == 0x100 && p[1] & 0x40 != 0
        })
        .collect();
    let mut ranges: Vec<_> = starts.windows(2).map(|w| w[0]..w[1]).collect();
    if let Some(&last) = starts.last() {
        ranges.push(last..ts.len() / 188 * 188);
    }
    ranges
}

/// `routecast segment` of `input` with `backup` (if any) and `extra`
/// options, its stderr lines collected with the time each came after the
/// start, into `out`.
type Lines = std::sync::Arc<std::sync::Mutex<Vec<(f64, String)>>>;
fn segment_live(
    input: &str,
    backup: Option<&Path>,
    out: &Path,
    extra: &[&str],
) -> (std::process::Child, Lines) {
    use std::io::BufRead;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_routecast"));
    cmd.args(["segment", input, "-o"]).arg(out);
    if let Some(b) = backup {
        cmd.arg("--backup").arg(b);
    }
    let mut child = cmd
        .args(extra)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("routecast runs");
    let start = std::time::Instant::now();
    let lines: Lines = Default::default();
    let stderr = child.stderr.take().expect("piped");
    let kept = lines.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let at = start.elapsed().as_secs_f64();
            kept.lock().expect("lock").push((at, line));
        }
    });
    (child, lines)
}

/// The first video packet's presentation time of each segment (ffprobe).
fn first_video_pts(out: &Path, e: &[(f64, bool, String)]) -> Vec<f64> {
    e.iter()
        .map(|(_, _, uri)| {
            let p = out.join(uri);
            let pts = tool(
                "ffprobe",
                &[
                    "-v",
                    "error",
                    "-select_streams",
                    "v:0",
                    "-show_entries",
                    "packet=pts_time",
                    "-read_intervals",
                    "%+#1",
                    "-of",
                    "csv=p=0",
                    &p.to_string_lossy(),
                ],
            );
            let first = pts.lines().next().unwrap_or_default();
            first
                .trim()
                .trim_end_matches(',')
                .parse::<f64>()
                .unwrap_or_else(|_| panic!("{uri}: pts {pts:?}"))
        })
        .collect()
}

/// `e`'s segments follow each other without a gap in presentation time,
/// unless a discontinuity comes between.
fn no_gap_without_discontinuity(out: &Path, e: &[(f64, bool, String)]) {
    let starts = first_video_pts(out, e);
    for i in 1..e.len() {
        let end = starts[i - 1] + e[i - 1].0;
        assert!(
            e[i].1 || (starts[i] - end).abs() < 0.01,
            "{}: starts at {} s, the segment before ended at {end} s: {e:?}",
            e[i].2,
            starts[i]
        );
    }
}

/// Runs a primary that sends bytes but no frames, with a healthy backup:
/// the backup takes over the failover time (2 s) after the start, with a
/// margin of 1.5 s for starting the process on a loaded machine.
fn useless_primary_is_failed_over(how: Misbehaving) {
    let dir = tempfile::tempdir().expect("tmp");
    let backup = make(dir.path(), "backup.ts", "libx264", 20, 25, &[]);
    let (port, _) = misbehaving_source(how);
    let out = dir.path().join("hls");
    let input = format!("http://127.0.0.1:{port}/live.ts");
    let args = ["--realtime", "--target-duration", "2", "--archive"];
    let (child, lines) = segment_live(&input, Some(&backup), &out, &args);
    let archive = out.join("archive.m3u8");
    let ready = within(30, || {
        (archive.exists() && entries(&archive).len() >= 3).then_some(())
    });
    terminate(&child);
    let mut child = child;
    let status = child.wait().expect("exits");
    assert!(ready.is_some(), "no backup segments: {:?}", lines.lock());
    assert!(status.success(), "{status}");
    let lines = lines.lock().expect("lock").clone();
    let switches: Vec<_> = lines
        .iter()
        .filter(|l| l.1.contains("switched to"))
        .collect();
    assert_eq!(switches.len(), 1, "{lines:?}");
    assert!(
        switches[0].1.ends_with("switched to the Backup input"),
        "{lines:?}"
    );
    assert!(
        (1.9..=3.5).contains(&switches[0].0),
        "switched at {} s: {lines:?}",
        switches[0].0
    );
    let e = check_all(&out, "archive.m3u8", 2.0);
    // Nothing came from the primary: the backup's segments only, the first
    // with no discontinuity before it (nothing was before it).
    assert!(e.iter().all(|x| !x.1), "{e:?}");
    no_gap_without_discontinuity(&out, &e);
}

#[test]
fn a_primary_trickling_a_byte_a_second_is_failed_over_to_the_backup() {
    let dir = tempfile::tempdir().expect("tmp");
    let ts = make(dir.path(), "primary.ts", "libx264", 2, 25, &[]);
    useless_primary_is_failed_over(Misbehaving::Trickle(std::fs::read(ts).expect("ts")));
}

#[test]
fn a_primary_serving_an_html_page_is_failed_over_to_the_backup() {
    useless_primary_is_failed_over(Misbehaving::Html);
}

#[test]
fn a_trickling_input_without_backup_is_reconnected_and_said_so() {
    let dir = tempfile::tempdir().expect("tmp");
    let ts = make(dir.path(), "primary.ts", "libx264", 2, 25, &[]);
    let (port, connections) =
        misbehaving_source(Misbehaving::Trickle(std::fs::read(ts).expect("ts")));
    let out = dir.path().join("hls");
    let input = format!("http://127.0.0.1:{port}/live.ts");
    let (child, lines) = segment_live(&input, None, &out, &["--target-duration", "2"]);
    // Reconnected 2 s in and 4 s later (the next read after each request:
    // a byte a second), so 3 connections by 8 s; 11 s leaves 3 s of margin.
    std::thread::sleep(std::time::Duration::from_secs(11));
    terminate(&child);
    let mut child = child;
    let _ = child.wait();
    let lines = lines.lock().expect("lock").clone();
    let n = connections.load(std::sync::atomic::Ordering::SeqCst);
    assert!((3..=4).contains(&n), "{n} connections: {lines:?}");
    let told: Vec<_> = lines
        .iter()
        .filter(|l| l.1.ends_with("; reconnecting"))
        .collect();
    assert!((2..=3).contains(&told.len()), "{lines:?}");
    assert!(
        told[0]
            .1
            .starts_with(&format!("routecast segment: {input}: no frame for 2.")),
        "{lines:?}"
    );
}

#[test]
fn a_flapping_primary_is_failed_over_once_and_not_handed_back() {
    let dir = tempfile::tempdir().expect("tmp");
    let primary = make(dir.path(), "primary.ts", "libx264", 40, 25, &[]);
    let backup = make(
        dir.path(),
        "backup.ts",
        "libx264",
        40,
        25,
        &["-output_ts_offset", "1000"],
    );
    let how = Misbehaving::Flapping {
        bytes: std::fs::read(&primary).expect("ts"),
        seconds: 40,
        healthy: 6,
    };
    let (port, _) = misbehaving_source(how);
    let out = dir.path().join("hls");
    let input = format!("http://127.0.0.1:{port}/live.ts");
    // The defaults: --failover-after 2, --recover-after 10.
    let args = ["--realtime", "--target-duration", "2", "--archive"];
    let (child, lines) = segment_live(&input, Some(&backup), &out, &args);
    // 6 s healthy, flapping from then on: switched 2–3 s later; then 20 s
    // of flapping, twice the recovery time, in which it must not take back.
    std::thread::sleep(std::time::Duration::from_secs(30));
    terminate(&child);
    let mut child = child;
    let status = child.wait().expect("exits");
    assert!(status.success(), "{status}");
    let lines = lines.lock().expect("lock").clone();
    let switches: Vec<_> = lines
        .iter()
        .filter(|l| l.1.contains("switched to"))
        .collect();
    assert_eq!(switches.len(), 1, "{lines:?}");
    assert!(
        switches[0].1.ends_with("switched to the Backup input"),
        "{lines:?}"
    );
    let e = check_all(&out, "archive.m3u8", 2.0);
    // A discontinuity exactly where the timeline breaks: at the switch (the
    // backup's timestamps are 1000 s on) and at each hole the flaps left
    // before it, and nowhere else.
    let starts = first_video_pts(&out, &e);
    let mut switches_seen = 0;
    for i in 1..e.len() {
        let end = starts[i - 1] + e[i - 1].0;
        let gap = (starts[i] - end).abs() > 0.01;
        assert_eq!(
            e[i].1, gap,
            "{}: starts at {} s after {end} s: {e:?}",
            e[i].2, starts[i]
        );
        switches_seen += usize::from((starts[i] > 1000.0) != (starts[i - 1] > 1000.0));
    }
    assert_eq!(switches_seen, 1, "{e:?}");
    assert!(
        starts[0] < 1000.0 && starts[e.len() - 1] > 1000.0,
        "{starts:?}"
    );
}
