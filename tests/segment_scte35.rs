//! SCTE-35 ad markers through `routecast segment`, judged by tools that are
//! not ours: ffmpeg makes the stream, threefive (PyPI, in the venv that
//! scripts/test makes) injects the cues and decodes what the playlist
//! carries back, ffprobe says where segments start, hls-parser (npm,
//! strict) reads every playlist. A missing tool fails the test.

#[path = "common/hls.rs"]
#[allow(dead_code)]
mod hls;
#[path = "common/run.rs"]
#[allow(dead_code)]
mod run;

use hls::{hls_parser_accepts, hls_parser_reads, make_ts, segment};
use run::tool;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The venv's python with threefive (scripts/test makes it).
fn python() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: scripts/test makes the venv with threefive",
        p.display()
    );
    p
}

/// Runs python code `script` with `args`; its stdout.
fn threefive(script: &str, args: &[&str]) -> String {
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "threefive: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A splice_insert made by threefive: `out` of network at `pts` seconds
/// (with an auto-return break of `duration` seconds), or back in.
const INSERT: &str = r#"
import sys
from threefive import Cue, SpliceInsert
event, out, pts = int(sys.argv[1]), sys.argv[2] == "out", float(sys.argv[3])
duration = float(sys.argv[4]) if len(sys.argv) > 4 else None
cmd = SpliceInsert()
cmd.splice_event_id = event
cmd.splice_event_cancel_indicator = False
cmd.out_of_network_indicator = out
cmd.program_splice_flag = True
cmd.duration_flag = duration is not None
cmd.splice_immediate_flag = False
cmd.event_id_compliance_flag = True
cmd.time_specified_flag = True
cmd.pts_time = pts
if duration is not None:
    cmd.break_auto_return = True
    cmd.break_duration = duration
cmd.unique_program_id = 1
cmd.avail_num = 0
cmd.avails_expected = 0
c = Cue()
c.command = cmd
print(c.hex())
"#;

/// A time_signal made by threefive at `pts` seconds with one segmentation
/// descriptor: event `event`, type `kind` (e.g. 0x34, provider placement
/// opportunity start; 0x35, its end), with a duration of `duration`
/// seconds if given.
const TIME_SIGNAL: &str = r#"
import sys
from threefive import Cue, TimeSignal
from threefive.descriptors import SegmentationDescriptor
event, kind, pts = int(sys.argv[1]), int(sys.argv[2], 16), float(sys.argv[3])
duration = float(sys.argv[4]) if len(sys.argv) > 4 else None
cmd = TimeSignal()
cmd.time_specified_flag = True
cmd.pts_time = pts
sd = SegmentationDescriptor()
sd.tag = 2
sd.identifier = "CUEI"
sd.segmentation_event_id = hex(event)
sd.segmentation_event_cancel_indicator = False
sd.segmentation_event_id_compliance_indicator = True
sd.program_segmentation_flag = True
sd.segmentation_duration_flag = duration is not None
sd.delivery_not_restricted_flag = True
if duration is not None:
    sd.segmentation_duration = duration
sd.segmentation_upid_type = 0
sd.segmentation_upid_length = 0
sd.segmentation_upid = ""
sd.segmentation_type_id = kind
sd.segment_num = 0
sd.segments_expected = 0
c = Cue()
c.command = cmd
c.descriptors.append(sd)
print(c.hex())
"#;

/// threefive's reading of a time_signal: its time (s) and each
/// segmentation descriptor's (type, duration s, event id).
const DECODE_SIGNAL: &str = r#"
import sys
from threefive import Cue
c = Cue(sys.argv[1])
c.decode()
g = c.get()
print(g["command"]["name"], g["command"].get("pts_time"), [(d["segmentation_type_id"], d.get("segmentation_duration"), d["segmentation_event_id"]) for d in g["descriptors"]])
"#;

/// threefive's reading of a hexadecimal-sequence: command name, splice
/// time (s), out_of_network_indicator, break duration (s).
const DECODE: &str = r#"
import sys
from threefive import Cue
c = Cue(sys.argv[1])
c.decode()
cmd = c.get()["command"]
print(cmd["name"], cmd.get("pts_time"), cmd.get("out_of_network_indicator"), cmd.get("break_duration"))
"#;

/// `input` with `cues` ((insert at seconds, hex)) injected by threefive's
/// SuperKabuki (`scte35inject`: a PMT entry of type 0x86 with the CUEI
/// registration, each cue sent at the first keyframe at or after its time).
fn inject(dir: &Path, input: &Path, cues: &[(f64, String)]) -> PathBuf {
    let sidecar = dir.join("sidecar.txt");
    let lines: Vec<String> = cues.iter().map(|(at, hex)| format!("{at},{hex}")).collect();
    std::fs::write(&sidecar, lines.join("\n") + "\n").expect("sidecar");
    let out = dir.join("cued.ts");
    let o = Command::new(python())
        .args(["-c", "from threefive.superkabuki import cli; cli()"])
        .arg("-i")
        .arg(input)
        .arg("-s")
        .arg(&sidecar)
        .arg("-o")
        .arg(&out)
        .output()
        .expect("scte35inject runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

/// The presentation time (s) of the first video frame of `segment` (ffprobe).
fn first_video_pts(segment: &Path) -> f64 {
    let p = segment.to_string_lossy();
    let out = tool(
        "ffprobe",
        &[
            "-v",
            "error",
            "-select_streams",
            "v",
            "-show_entries",
            "packet=pts_time",
            "-of",
            "csv=p=0",
            "-read_intervals",
            "%+#1",
            &p,
        ],
    );
    out.lines()
        .next()
        .and_then(|l| l.trim().trim_end_matches(',').parse().ok())
        .unwrap_or_else(|| panic!("no video packet in {p}: {out}"))
}

/// A date of the playlist (`…T16:00:02.068Z`) as ms of the day (the tests
/// stay within one day).
fn ms_of_day(date: &str) -> i64 {
    let time = date
        .split('T')
        .nth(1)
        .expect("a time")
        .trim_end_matches('Z');
    let mut parts = time.split(':');
    let h: i64 = parts.next().and_then(|v| v.parse().ok()).expect("hours");
    let m: i64 = parts.next().and_then(|v| v.parse().ok()).expect("minutes");
    let s: f64 = parts.next().and_then(|v| v.parse().ok()).expect("seconds");
    (h * 3600 + m * 60) * 1000 + (s * 1000.0).round() as i64
}

/// The value of attribute `name` in a tag's attribute list.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let list = tag.split_once(':')?.1;
    let at = list.find(&format!("{name}="))?;
    let v = &list[at + name.len() + 1..];
    Some(match v.strip_prefix('"') {
        Some(q) => &q[..q.find('"')?],
        None => v.split(',').next().unwrap_or(v),
    })
}

/// A break's start and end injected by threefive: the segment after the
/// start begins at the splice (ffprobe: its first video frame within one
/// frame of the splice time), one `EXT-X-DATERANGE` carries both sections
/// (threefive decodes them back to the injected cues), dated at the
/// splice on the playlist's PROGRAM-DATE-TIME timeline, with the planned
/// and the actual duration; a splice between keyframes is cut at the next
/// one and said; hls-parser (strict) accepts the live and archive
/// playlists; the SCTE-35 stream stays in the segments. With
/// `--cue-tags`, hls-parser reads `EXT-X-CUE-OUT` (the planned duration)
/// on the break's first segment, `EXT-X-CUE-OUT-CONT` with the elapsed
/// time on each inside, `EXT-X-CUE-IN` where it ends, and the same for
/// the auto-return break.
#[test]
fn an_injected_ad_break_cuts_segments_and_becomes_a_date_range() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = make_ts(dir.path(), 40, 50);
    // Keyframes every 2 s from the first (ffmpeg starts near 1.4 s).
    let k0 = first_video_pts(&input);
    let (t_out, t_in, t_late) = (k0 + 10.0, k0 + 20.0, k0 + 24.6);
    let s = |t: f64| format!("{t:.6}");
    let out = threefive(INSERT, &["7", "out", &s(t_out), "10"]);
    let back = threefive(INSERT, &["7", "in", &s(t_in)]);
    let late = threefive(INSERT, &["8", "out", &s(t_late), "4"]);
    let (out, back, late) = (out.trim(), back.trim(), late.trim());
    // Each sent a few seconds ahead (at the first keyframe after).
    let cues = [
        (t_out - 3.0, out.to_string()),
        (t_in - 3.0, back.to_string()),
        (t_late - 3.0, late.to_string()),
    ];
    let cued = inject(dir.path(), &input, &cues);
    let hls = dir.path().join("hls");
    let log = segment(
        &cued,
        &hls,
        &["--target-duration", "6", "--archive", "--cue-tags"],
    );
    assert!(
        log.contains("SCTE-35") && log.contains(&format!("{t_late:.3}")),
        "{log}"
    );
    for name in ["index.m3u8", "archive.m3u8"] {
        hls_parser_accepts(&hls.join(name));
    }
    let archive = std::fs::read_to_string(hls.join("archive.m3u8")).expect("archive");
    let lines: Vec<&str> = archive.lines().collect();
    let ranges: Vec<usize> = (0..lines.len())
        .filter(|i| lines[*i].starts_with("#EXT-X-DATERANGE:"))
        .collect();
    assert_eq!(ranges.len(), 2, "{archive}");
    // The first break: at the start of a segment, which starts at its time.
    let tag = lines[ranges[0]];
    let date = lines[ranges[0] - 1]
        .strip_prefix("#EXT-X-PROGRAM-DATE-TIME:")
        .expect("the range is on the segment that starts at the splice");
    assert_eq!(attribute(tag, "START-DATE"), Some(date), "{tag}");
    assert_eq!(attribute(tag, "PLANNED-DURATION"), Some("10.000"), "{tag}");
    assert_eq!(attribute(tag, "DURATION"), Some("10.000"), "{tag}");
    let uri = lines[ranges[0]..]
        .iter()
        .find(|l| !l.starts_with('#'))
        .expect("a segment");
    let first = first_video_pts(&hls.join(uri));
    assert!(
        (first - t_out).abs() < 0.04,
        "{uri} starts at {first} s, the splice is at {t_out} s"
    );
    let decoded = |attr: &str, tag: &str| {
        let hex = attribute(tag, attr).unwrap_or_else(|| panic!("{attr} in {tag}"));
        threefive(DECODE, &[hex]).trim().to_string()
    };
    let said = |t: f64, out: bool, d: &str| {
        format!(
            "Splice Insert {} {} {d}",
            (t * 1e6).round() / 1e6,
            if out { "True" } else { "False" }
        )
    };
    assert_eq!(decoded("SCTE35-OUT", tag), said(t_out, true, "10.0"));
    assert_eq!(decoded("SCTE35-IN", tag), said(t_in, false, "None"));
    assert_eq!(
        attribute(tag, "SCTE35-OUT").map(str::to_lowercase),
        Some(out.to_lowercase())
    );
    // The second break starts between keyframes: cut at the next one, its
    // date still the splice's, 1.4 s before the segment's.
    let tag = lines[ranges[1]];
    let date = lines[ranges[1] - 1]
        .strip_prefix("#EXT-X-PROGRAM-DATE-TIME:")
        .expect("dated");
    let start = attribute(tag, "START-DATE").expect("start");
    assert!(
        (ms_of_day(date) - ms_of_day(start) - 1400).abs() <= 1,
        "{tag} on {date}"
    );
    assert_eq!(decoded("SCTE35-OUT", tag), said(t_late, true, "4.0"));
    // Auto-return: its planned 4 s, once the playlist passed them.
    assert_eq!(attribute(tag, "DURATION"), Some("4.000"), "{tag}");
    // The cue tags, as hls-parser reads them.
    let read = hls_parser_reads(&hls.join("archive.m3u8"));
    let column = |key: &str| read[key].as_array().cloned().unwrap_or_default();
    let (uris, durations, markers) = (column("uris"), column("durations"), column("markers"));
    let seconds: Vec<f64> = durations.iter().filter_map(|d| d.as_f64()).collect();
    let a = uris.iter().position(|u| u == uri).expect("listed");
    let kinds = |i: usize| -> Vec<String> {
        let m = markers[i].as_array().cloned().unwrap_or_default();
        m.iter()
            .map(|x| x[0].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(markers[a][0][0], "OUT", "{read}");
    assert_eq!(markers[a][0][1], 10.0, "{read}");
    let b = (a + 1..uris.len())
        .find(|&i| kinds(i) == ["IN"])
        .expect("CUE-IN");
    for i in a + 1..b {
        let elapsed: f64 = seconds[a..i].iter().sum();
        let value = format!("ElapsedTime={elapsed:.3},Duration=10.000");
        assert_eq!(markers[i][0][2], "EXT-X-CUE-OUT-CONT", "{read}");
        assert_eq!(markers[i][0][3], value.as_str(), "{read}");
    }
    let broke: f64 = seconds[a..b].iter().sum();
    assert!((broke - 10.0).abs() < 0.001, "CUE-IN after 10 s: {broke}");
    let c = (b + 1..uris.len())
        .find(|&i| kinds(i) == ["OUT"])
        .expect("the second CUE-OUT");
    assert_eq!(markers[c][0][1], 4.0, "{read}");
    assert_eq!(kinds(c + 1), ["IN"], "auto-return after 4 s: {read}");
    let tagged = (0..uris.len()).filter(|&i| !kinds(i).is_empty()).count();
    assert_eq!(tagged, b - a + 3, "no other cue tags: {read}");
    // The SCTE-35 stream is in the segments, as ffprobe sees it.
    let first = lines
        .iter()
        .find(|l| l.ends_with(".ts"))
        .expect("a segment");
    let streams = tool(
        "ffprobe",
        &[
            "-v",
            "error",
            "-show_entries",
            "stream=codec_type",
            "-of",
            "csv=p=0",
            &hls.join(first).to_string_lossy(),
        ],
    );
    assert!(streams.lines().any(|l| l.trim() == "data"), "{streams}");
}

/// A placement opportunity signalled by time_signal (SCTE 35 segmentation
/// descriptors 0x34 with an 8 s duration, then 0x35), injected by
/// threefive: segments are cut at both times (ffprobe), one
/// `EXT-X-DATERANGE` carries both sections (threefive decodes them back),
/// and with `--cue-tags` hls-parser reads `CUE-OUT` (8 s) on the break's
/// first segment and `CUE-IN` on the one cut at its end.
#[test]
fn a_time_signal_placement_opportunity_is_a_break_too() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = make_ts(dir.path(), 30, 50);
    let k0 = first_video_pts(&input);
    let (t_start, t_end) = (k0 + 10.0, k0 + 18.0);
    let s = |t: f64| format!("{t:.6}");
    let start = threefive(TIME_SIGNAL, &["42", "0x34", &s(t_start), "8"]);
    let end = threefive(TIME_SIGNAL, &["42", "0x35", &s(t_end)]);
    let (start, end) = (start.trim(), end.trim());
    let cues = [
        (t_start - 3.0, start.to_string()),
        (t_end - 3.0, end.to_string()),
    ];
    let cued = inject(dir.path(), &input, &cues);
    let hls = dir.path().join("hls");
    segment(
        &cued,
        &hls,
        &["--target-duration", "6", "--archive", "--cue-tags"],
    );
    let archive = std::fs::read_to_string(hls.join("archive.m3u8")).expect("archive");
    let tags: Vec<&str> = archive
        .lines()
        .filter(|l| l.starts_with("#EXT-X-DATERANGE:"))
        .collect();
    assert_eq!(tags.len(), 1, "{archive}");
    let tag = tags[0];
    assert_eq!(attribute(tag, "PLANNED-DURATION"), Some("8.000"), "{tag}");
    assert_eq!(attribute(tag, "DURATION"), Some("8.000"), "{tag}");
    let decoded = |attr: &str| {
        let hex = attribute(tag, attr).unwrap_or_else(|| panic!("{attr} in {tag}"));
        threefive(DECODE_SIGNAL, &[hex]).trim().to_string()
    };
    let said = |t: f64, kind: u8, d: &str| {
        format!(
            "Time Signal {} [({kind}, {d}, '0x2a')]",
            (t * 1e6).round() / 1e6
        )
    };
    assert_eq!(decoded("SCTE35-OUT"), said(t_start, 0x34, "8.0"));
    assert_eq!(decoded("SCTE35-IN"), said(t_end, 0x35, "None"));
    let read = hls_parser_reads(&hls.join("archive.m3u8"));
    let column = |key: &str| read[key].as_array().cloned().unwrap_or_default();
    let (uris, markers) = (column("uris"), column("markers"));
    let starts: Vec<f64> = uris
        .iter()
        .map(|u| first_video_pts(&hls.join(u.as_str().expect("a URI"))))
        .collect();
    let at = |t: f64| {
        starts
            .iter()
            .position(|s| (s - t).abs() < 0.04)
            .unwrap_or_else(|| panic!("no segment starts at {t}: {starts:?}"))
    };
    let (a, b) = (at(t_start), at(t_end));
    assert_eq!(markers[a][0][0], "OUT", "{read}");
    assert_eq!(markers[a][0][1], 8.0, "{read}");
    assert_eq!(markers[b][0][0], "IN", "{read}");
    for m in &markers[a + 1..b] {
        assert_eq!(m[0][2], "EXT-X-CUE-OUT-CONT", "{read}");
    }
}

/// An encoder restart between two breaks (two cued streams one after the
/// other, the second's timestamps starting again): each break is cut at
/// its splice on its own timeline, the second after the discontinuity,
/// each an `EXT-X-DATERANGE` with its auto-return duration, and hls-parser
/// (strict) accepts the playlist.
#[test]
fn breaks_on_both_sides_of_an_encoder_restart_are_placed() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut joined = Vec::new();
    let mut splices = Vec::new();
    for (n, offset) in [(1u32, 10.0), (2, 8.0)] {
        let part = dir.path().join(format!("part{n}"));
        std::fs::create_dir_all(&part).expect("dir");
        let input = make_ts(&part, 20, 50);
        let t = first_video_pts(&input) + offset;
        let cue = threefive(INSERT, &[&n.to_string(), "out", &format!("{t:.6}"), "4"]);
        let cued = inject(&part, &input, &[(t - 3.0, cue.trim().to_string())]);
        joined.extend(std::fs::read(cued).expect("cued"));
        splices.push(t);
    }
    let input = dir.path().join("restarted.ts");
    std::fs::write(&input, joined).expect("write");
    let hls = dir.path().join("hls");
    segment(&input, &hls, &["--target-duration", "6", "--archive"]);
    hls_parser_accepts(&hls.join("archive.m3u8"));
    let archive = std::fs::read_to_string(hls.join("archive.m3u8")).expect("archive");
    let lines: Vec<&str> = archive.lines().collect();
    let at = |prefix: &str| -> Vec<usize> {
        (0..lines.len())
            .filter(|&i| lines[i].starts_with(prefix))
            .collect()
    };
    let (ranges, breaks) = (at("#EXT-X-DATERANGE:"), at("#EXT-X-DISCONTINUITY"));
    assert_eq!((ranges.len(), breaks.len()), (2, 1), "{archive}");
    assert!(ranges[0] < breaks[0] && breaks[0] < ranges[1], "{archive}");
    for (r, t) in ranges.iter().zip(&splices) {
        assert_eq!(attribute(lines[*r], "DURATION"), Some("4.000"), "{archive}");
        let uri = lines[*r..]
            .iter()
            .find(|l| !l.starts_with('#'))
            .expect("a segment");
        let first = first_video_pts(&hls.join(uri));
        assert!(
            (first - t).abs() < 0.04,
            "{uri} starts at {first}, the splice at {t}"
        );
    }
}
