//! I-frame playlists (`routecast segment --iframes`), judged by tools that
//! are not ours: hls-parser (strict) reads every playlist and gives the
//! byte ranges and maps that are checked; ffprobe decodes each I-frame
//! (its map's bytes, then its range's) as exactly one video frame, a
//! keyframe; openssl decrypts the pictures of an encrypted stream. A
//! missing tool fails the test.

#[path = "common/hls.rs"]
#[allow(dead_code)]
mod hls;
#[path = "common/run.rs"]
#[allow(dead_code)]
mod run;

use hls::{hls_parser_reads, is_ts, keyed, make_ts, make_ts_preset, openssl_decrypt, segment};
use run::tool;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// The video frames ffprobe decodes from the transport stream `bytes`:
/// (key_frame, pict_type) each.
fn video_frames(dir: &Path, bytes: &[u8]) -> Vec<(String, String)> {
    let file = dir.join("one.ts");
    std::fs::write(&file, bytes).expect("write");
    let path = file.to_string_lossy();
    #[rustfmt::skip]
    let out = tool("ffprobe", &[
        "-v", "error", "-select_streams", "v", "-show_entries",
        "frame=key_frame,pict_type", "-of", "csv=p=0", &path,
    ]);
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut f = l.split(',');
            let key = f.next().unwrap_or_default().to_string();
            (key, f.next().unwrap_or_default().to_string())
        })
        .collect()
}

/// Keyframes of the input (ffprobe, decoding every frame).
fn keyframes(input: &Path) -> usize {
    let p = input.to_string_lossy();
    #[rustfmt::skip]
    let out = tool("ffprobe", &[
        "-v", "error", "-select_streams", "v", "-show_entries",
        "frame=key_frame", "-of", "csv=p=0", &p,
    ]);
    // A first frame may carry side data after its field.
    out.lines()
        .filter(|l| l.split(',').next() == Some("1"))
        .count()
}

/// One I-frame entry as hls-parser read it.
struct Range {
    uri: String,
    length: usize,
    offset: usize,
    map: (String, usize, usize),
    seconds: f64,
    pdt_ms: u64,
}

fn ranges(read: &Value) -> Vec<Range> {
    assert_eq!(read["iFramesOnly"], true, "{read}");
    let rows = read["ranges"].as_array().expect("byte ranges");
    rows.iter()
        .map(|r| {
            let n = |i: usize| r[i].as_u64().unwrap_or_else(|| panic!("{r}")) as usize;
            let s = |i: usize| r[i].as_str().unwrap_or_else(|| panic!("{r}")).to_string();
            Range {
                uri: s(0),
                length: n(1),
                offset: n(2),
                map: (s(3), n(4), n(5)),
                seconds: r[6].as_f64().expect("duration"),
                pdt_ms: r[7].as_u64().expect("a date"),
            }
        })
        .collect()
}

/// (URI, EXTINF, PDT ms) of each segment of a media playlist, as
/// hls-parser read them.
fn segments(playlist: &Path) -> Vec<(String, f64, u64)> {
    let read = hls_parser_reads(playlist);
    let column = |key: &str| read[key].as_array().cloned().unwrap_or_default();
    let (uris, durations, dates) = (column("uris"), column("durations"), column("dates"));
    uris.iter()
        .zip(durations.iter().zip(&dates))
        .map(|(u, (d, t))| {
            let uri = u.as_str().expect("a URI").to_string();
            (uri, d.as_f64().expect("EXTINF"), t.as_u64().expect("a PDT"))
        })
        .collect()
}

/// Every I-frame of a 16 s stream with a keyframe a second (four per
/// 4 s segment; x264 veryfast, so with B-frames) is listed in the archive's I-frame playlist, and its map
/// and range decode in ffprobe as one video frame, a keyframe (I); ranges
/// are whole packets after the map; their durations add up to their
/// segment's and their dates follow it. The live one lists those of the
/// live window's segments only, counting the others in its media
/// sequence. The multivariant playlist lists the I-frame stream with the
/// variant's video codec and resolution and an average bit rate that is
/// what the entries fetch over their time.
#[test]
fn every_byte_range_is_one_keyframe_after_its_map() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = make_ts_preset(dir.path(), 16, 25, "veryfast");
    let out = dir.path().join("out");
    segment(
        &input,
        &out,
        &[
            "--iframes",
            "--archive",
            "--target-duration",
            "4",
            "--window",
            "12",
        ],
    );
    let archive = ranges(&hls_parser_reads(&out.join("archive-iframes.m3u8")));
    assert_eq!(archive.len(), keyframes(&input), "one entry per keyframe");
    let listed = segments(&out.join("archive.m3u8"));
    let mut files: HashMap<String, Vec<u8>> = HashMap::new();
    for r in &archive {
        let file = files
            .entry(r.uri.clone())
            .or_insert_with(|| std::fs::read(out.join(&r.uri)).expect("segment"));
        assert_eq!(r.map.0, r.uri, "the map is in the picture's segment");
        assert_eq!((r.map.2, r.map.1 % 188), (0, 0), "PAT and PMT first");
        assert!(r.offset >= r.map.1 && r.offset % 188 == 0 && r.length % 188 == 0);
        let mut picture = file[..r.map.1].to_vec();
        picture.extend_from_slice(&file[r.offset..r.offset + r.length]);
        let frames = video_frames(dir.path(), &picture);
        assert_eq!(
            frames,
            [("1".into(), "I".into())],
            "{} @{}",
            r.uri,
            r.offset
        );
    }
    for (uri, extinf, pdt) in &listed {
        let mine: Vec<&Range> = archive.iter().filter(|r| &r.uri == uri).collect();
        assert_eq!(mine.len(), 4, "{uri}: a keyframe a second, 4 s segments");
        assert_eq!(mine[0].offset, mine[0].map.1, "{uri} opens with a keyframe");
        let sum: f64 = mine.iter().map(|r| r.seconds).sum();
        assert!((sum - extinf).abs() < 0.005, "{uri}: {sum} vs {extinf}");
        assert_eq!(mine[0].pdt_ms, *pdt, "{uri}");
        for (a, b) in mine.iter().zip(mine.iter().skip(1)) {
            let step = (b.pdt_ms - a.pdt_ms) as f64 / 1000.0;
            assert!(
                (step - a.seconds).abs() < 0.002,
                "{uri}: dates follow EXTINF"
            );
        }
    }
    // The live window: the pictures of its segments, the others counted.
    let live = hls_parser_reads(&out.join("iframes.m3u8"));
    let live_segments = segments(&out.join("index.m3u8"));
    let first = &live_segments[0].0;
    let gone = archive.iter().take_while(|r| &r.uri != first).count();
    assert!(gone > 0, "the window slid");
    assert_eq!(live["mediaSequence"], gone as u64);
    let live_ranges = ranges(&live);
    assert_eq!(live_ranges.len(), archive.len() - gone);
    assert!(live_ranges
        .iter()
        .all(|r| live_segments.iter().any(|s| s.0 == r.uri)));
    // The multivariant playlist, read by hls-parser.
    let master = hls_parser_reads(&out.join("master.m3u8"));
    let variant = &master["variants"][0];
    let stream = &master["iframes"][0];
    assert_eq!(stream[0], "iframes.m3u8", "{master}");
    let video_codec = variant[3].as_str().and_then(|c| c.split(',').next());
    assert_eq!(stream[3].as_str(), video_codec, "{master}");
    assert_eq!(stream[4], "192x108", "{master}");
    let bits: usize = archive.iter().map(|r| (r.length + r.map.1) * 8).sum();
    let seconds: f64 = archive.iter().map(|r| r.seconds).sum();
    let average = stream[2].as_f64().expect("AVERAGE-BANDWIDTH");
    assert!(
        (average / (bits as f64 / seconds) - 1.0).abs() < 0.01,
        "{master}"
    );
    assert!(stream[1].as_f64() >= Some(average), "{master}");
}

/// Encrypted (`--encrypt`, low latency, a new key every segment): each
/// picture is a file of its own, listed without a byte range and with its
/// key and an IV no segment uses; openssl decrypts it with the key file to
/// a transport stream that ffprobe decodes as one keyframe, and every
/// segment with its key file and IV to a transport stream (the key files
/// are those the segments were encrypted with). (Their deletion with their segment
/// is a unit test: `segmenter::tests::iframe_files_leave_with_their_segment`.)
#[test]
fn encrypted_pictures_are_files_of_their_own() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = make_ts(dir.path(), 16, 50);
    let out = dir.path().join("out");
    #[rustfmt::skip]
    segment(&input, &out, &[
        "--iframes", "--encrypt", "--key-rotation", "1", "--target-duration", "4",
        "--window", "12", "--part-target", "0.5",
    ]);
    let playlist = out.join("iframes.m3u8");
    let read = hls_parser_reads(&playlist);
    assert!(read.get("ranges").is_none(), "no byte ranges: {read}");
    let pictures = keyed(&playlist);
    let segments = keyed(&out.join("index.m3u8"));
    assert!(pictures.len() >= 4, "{pictures:?}");
    for (key_uri, iv, uri, _) in &segments {
        let key = std::fs::read(out.join(key_uri)).expect("key file");
        let clear = openssl_decrypt(&out.join(uri), &key, iv);
        assert!(is_ts(&clear), "{uri} decrypts to TS with {key_uri}");
    }
    for (key_uri, iv, uri, _) in &pictures {
        let (seq, k) = uri
            .strip_prefix("seg")
            .and_then(|r| r.strip_suffix(".ts"))
            .and_then(|r| r.split_once(".i"))
            .unwrap_or_else(|| panic!("{uri}"));
        let segment = format!("seg{seq}.ts");
        let same = segments.iter().find(|s| s.2 == segment).expect("listed");
        assert_eq!(&same.0, key_uri, "{uri}: its segment's key");
        assert_ne!(&same.1, iv, "{uri}: an IV of its own");
        let expected_iv = (1u128 << 127)
            | (seq.parse::<u128>().expect("n") << 32)
            | k.parse::<u128>().expect("k");
        assert_eq!(iv, &format!("{expected_iv:032X}"));
        let key = std::fs::read(out.join(key_uri)).expect("key file");
        let encrypted = std::fs::read(out.join(uri)).expect("picture");
        assert!(!is_ts(&encrypted), "{uri} is not in the clear");
        let clear = openssl_decrypt(&out.join(uri), &key, iv);
        assert!(is_ts(&clear), "{uri} decrypts to TS");
        let frames = video_frames(dir.path(), &clear);
        assert_eq!(frames, [("1".into(), "I".into())], "{uri}");
    }
}

/// Several renditions: each has its I-frame playlist, listed in the
/// multivariant playlist under its directory; a restart resumes them
/// (the archive's I-frames go on after a discontinuity); low latency
/// leaves them without parts.
#[test]
fn renditions_restarts_and_low_latency_keep_the_iframe_playlists_valid() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = make_ts(dir.path(), 8, 25);
    let out = dir.path().join("out");
    let i = input.to_string_lossy();
    let (hi, lo) = (format!("hi={i}"), format!("lo={i}"));
    #[rustfmt::skip]
    let args = [
        "segment", &hi, &lo, "-o", &out.to_string_lossy(), "--iframes", "--archive",
        "--target-duration", "2", "--part-target", "0.5",
    ];
    for run in 1..=2 {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_routecast"))
            .args(args)
            .output()
            .expect("routecast runs");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let master = hls_parser_reads(&out.join("master.m3u8"));
        let uris: Vec<&str> = master["iframes"]
            .as_array()
            .expect("I-frame streams")
            .iter()
            .filter_map(|s| s[0].as_str())
            .collect();
        assert_eq!(uris, ["hi/iframes.m3u8", "lo/iframes.m3u8"], "{master}");
        for name in ["hi", "lo"] {
            let text = std::fs::read_to_string(out.join(name).join("archive-iframes.m3u8"))
                .expect("archive I-frames");
            let read = hls_parser_reads(&out.join(name).join("archive-iframes.m3u8"));
            assert_eq!(ranges(&read).len(), 8 * run, "{text}");
            assert_eq!(
                text.matches("#EXT-X-DISCONTINUITY\n").count(),
                run - 1,
                "{text}"
            );
            let live = std::fs::read_to_string(out.join(name).join("iframes.m3u8")).expect("live");
            assert!(!live.contains("EXT-X-PART"), "{live}");
            hls_parser_reads(&out.join(name).join("iframes.m3u8"));
        }
    }
}
