//! Whole-binary tests of `routecast simulate` on hostile logs: one far-off
//! line, one absurd duration or byte count, or a sparse log over years must
//! not decide the run's memory or output (issue 15, points 6 and 7).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "common/simulate.rs"]
#[allow(dead_code)]
mod sim;

use sim::{config, ok, summary, total};

/// Address space the binary may use (`ulimit -v`, KiB): far more than a
/// replay of these logs needs (it reserves a few hundred MB for threads'
/// stacks and allocator arenas), far less than a run sized by a far-off
/// line (tens of GB).
const ADDRESS_SPACE_KIB: u64 = 3 << 20;

/// Runs routecast under `ulimit -v ADDRESS_SPACE_KIB`.
fn routecast(args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {ADDRESS_SPACE_KIB} && exec \"$0\" \"$@\""
        ))
        .arg(env!("CARGO_BIN_EXE_routecast"))
        .args(args)
        .output()
        .expect("sh runs")
}

fn simulate(log: &Path, out: &Path, extra: &[&str]) -> Output {
    simulate_logs(&[log], out, extra)
}

/// `routecast simulate -q` of the example platform on `logs` into `out`.
fn simulate_logs(logs: &[&Path], out: &Path, extra: &[&str]) -> Output {
    let cfg = config();
    let mut args = vec![
        "simulate",
        "-q",
        "-c",
        &cfg,
        "-o",
        out.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    args.extend(logs.iter().map(|l| l.to_str().expect("utf-8")));
    routecast(&args)
}

/// Bytes of every file under `dir`.
fn size_of(dir: &Path) -> u64 {
    let mut sum = 0;
    for e in std::fs::read_dir(dir).expect("dir").flatten() {
        let m = e.metadata().expect("metadata");
        sum += if m.is_dir() {
            size_of(&e.path())
        } else {
            m.len()
        };
    }
    sum
}

fn synth(dir: &Path, lines: &str) -> PathBuf {
    let path = dir.join("day.log");
    ok(routecast(&[
        "synth",
        "-n",
        lines,
        "--seed",
        "15",
        "-o",
        path.to_str().expect("utf-8"),
    ]));
    path
}

/// An nginx combined line with `$request_time`.
fn line(date: &str, bytes: &str, seconds: &str) -> String {
    format!("198.51.100.7 - - [{date} +0000] \"GET /live/news/seg1.ts HTTP/1.1\" 200 {bytes} \"-\" \"VLC\" {seconds}\n")
}

/// Lines dated 9999, 0000 and 1970, one lasting 10^9 s and two of 2^63 − 1
/// bytes among a normal day's lines are rejected, each with its reason and
/// line; the rest replays exactly as the day without them. (Before: the
/// 9999 line made the reordering window and the series dense up to 9999,
/// and the process died for want of memory.)
#[test]
fn far_off_times_durations_and_byte_counts_are_rejected_and_the_rest_replays_as_without_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let clean = synth(dir.path(), "3000");
    let text = std::fs::read_to_string(&clean).expect("read");
    let lines: Vec<&str> = text.lines().collect();
    let (head, tail) = lines.split_at(lines.len() / 2);
    let hostile = [
        line("01/Jan/9999:00:00:00", "1000", "0.100"),
        line("01/Jan/0000:00:00:00", "1000", "0.100"),
        line("01/Jan/1970:00:00:01", "1000", "0.100"),
        line("24/Nov/2026:12:00:00", "1000", "1000000000.000"),
        line("24/Nov/2026:12:00:01", "9223372036854775807", "1.000"),
        line("24/Nov/2026:12:00:02", "9223372036854775807", "1.000"),
    ];
    let mut mixed = String::new();
    mixed.push_str(&hostile[0]);
    for l in head {
        mixed.push_str(l);
        mixed.push('\n');
    }
    for h in &hostile[1..] {
        mixed.push_str(h);
    }
    for l in tail {
        mixed.push_str(l);
        mixed.push('\n');
    }
    let bad = dir.path().join("hostile.log");
    std::fs::write(&bad, &mixed).expect("write");

    let (want_dir, got_dir) = (dir.path().join("clean"), dir.path().join("hostile"));
    ok(simulate(&clean, &want_dir, &[]));
    ok(simulate(&bad, &got_dir, &[]));
    let (want, got) = (summary(&want_dir), summary(&got_dir));
    assert_eq!(
        got["summary"], want["summary"],
        "the rest replays as without them"
    );
    assert_eq!(total(&got, "sites"), total(&got, "groups"));
    assert_eq!(got["malformed"]["count"].as_u64(), Some(6));
    let name = bad.display().to_string();
    let n = head.len() + 1;
    let want_reasons = [
        format!("{name}:1: time 9999-01-01T00:00:00Z is outside the plausible range 1991-01-01T00:00:00Z..2100-01-01T00:00:00Z (--time-range)"),
        format!("{name}:{}: time 0000-01-01T00:00:00Z is outside the plausible range 1991-01-01T00:00:00Z..2100-01-01T00:00:00Z (--time-range)", n + 1),
        format!("{name}:{}: time 1970-01-01T00:00:01Z is outside the plausible range 1991-01-01T00:00:00Z..2100-01-01T00:00:00Z (--time-range)", n + 2),
        format!("{name}:{}: request duration 1000000000 s is beyond the plausible maximum of 86400 s (--max-duration)", n + 3),
        format!("{name}:{}: byte count 9223372036854775807 is beyond the plausible maximum of 1099511627776 per request (--max-request-bytes)", n + 4),
        format!("{name}:{}: byte count 9223372036854775807 is beyond the plausible maximum of 1099511627776 per request (--max-request-bytes)", n + 5),
    ];
    let first: Vec<String> = got["malformed"]["first"]
        .as_array()
        .expect("list")
        .iter()
        .map(|l| l.as_str().expect("text").replace(" (format nginx)", ""))
        .collect();
    assert_eq!(first, want_reasons);

    // Merged with another server's log (the same day's lines again), the
    // far-off lines neither hold the hostile log back nor come first.
    let (want_dir, got_dir) = (dir.path().join("clean2"), dir.path().join("hostile2"));
    ok(simulate_logs(&[&clean, &clean], &want_dir, &[]));
    ok(simulate_logs(&[&bad, &clean], &got_dir, &[]));
    let (want, got) = (summary(&want_dir), summary(&got_dir));
    assert_eq!(got["summary"], want["summary"], "merged: as without them");
    assert_eq!(got["malformed"]["count"].as_u64(), Some(6));
    let first: Vec<String> = got["malformed"]["first"]
        .as_array()
        .expect("list")
        .iter()
        .map(|l| l.as_str().expect("text").replace(" (format nginx)", ""))
        .collect();
    let mut sorted = want_reasons.to_vec();
    sorted.sort();
    let mut got_sorted = first.clone();
    got_sorted.sort();
    assert_eq!(got_sorted, sorted);
}

/// Days from 1970-01-01 to `y-m-d` (Howard Hinnant's algorithm, written
/// here apart from the code under test).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// 10,000 one-second requests of 1 MB, one every 8 h 45 min 36 s from
/// 2016-01-01: ten years.
fn ten_years(dir: &Path) -> PathBuf {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let start = 16_801 * 86_400; // 2016-01-01
    let mut text = String::new();
    for i in 0..10_000i64 {
        let t = start + i * 31_536;
        let (y, m, d) = civil(t.div_euclid(86_400));
        let s = t.rem_euclid(86_400);
        let date = format!(
            "{d:02}/{}/{y}:{:02}:{:02}:{:02}",
            MONTHS[m as usize - 1],
            s / 3600,
            s / 60 % 60,
            s % 60
        );
        text.push_str(&line(&date, "1000000", "1.000"));
    }
    let path = dir.join("ten-years.log");
    std::fs::write(&path, text).expect("write");
    path
}

/// Ten years of sparse lines at `--step 60` would be 5.26 million bins for
/// each of the example's series (19 GB of CSV before): the replay stays
/// within the address space limit and stops before writing, saying how
/// big the report would be and what to do; at `--step 86400` it is
/// written, every byte accounted, in a few MB.
#[test]
fn ten_years_of_sparse_lines_stay_within_bounded_memory_and_output() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = ten_years(dir.path());
    let out = dir.path().join("out");
    let o = simulate(&log, &out, &["--step", "60"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(65), "{stderr}");
    assert!(
        stderr.contains("bins of 60 s")
            && stderr.contains("over the limit of --max-bins 10000000")
            && stderr.contains("--step"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing written");

    ok(simulate(&log, &out, &["--step", "86400"]));
    let s = summary(&out);
    assert_eq!(total(&s, "sites"), 10_000 * 1_000_000);
    assert_eq!(total(&s, "groups"), 10_000 * 1_000_000);
    assert!(size_of(&out) < 64 << 20, "{} bytes", size_of(&out));
}

/// Accepted (`--max-request-bytes` at its largest), two byte counts of
/// 2^63 − 1 among a day's lines make their group's total saturate at
/// 2^64 − 1 and no site's total wrap: before, the group's total wrapped
/// (to 2.3 GB with the release build of main; a debug build panics on the
/// overflow), and sites and groups disagreed.
#[test]
fn byte_counts_that_would_wrap_saturate_in_sites_and_groups() {
    let dir = tempfile::tempdir().expect("temp dir");
    let clean = synth(dir.path(), "3000");
    let mut text = std::fs::read_to_string(&clean).expect("read");
    // A client of the day, so that its group has other bytes too.
    let client = text.split(' ').next().expect("a line").to_string();
    for second in ["58", "59"] {
        let huge = line(
            &format!("24/Nov/2026:23:59:{second}"),
            "9223372036854775807",
            "1.000",
        );
        text.push_str(&huge.replacen("198.51.100.7", &client, 1));
    }
    let bad = dir.path().join("huge.log");
    std::fs::write(&bad, &text).expect("write");
    let out = dir.path().join("out");
    ok(simulate(
        &bad,
        &out,
        &["--max-request-bytes", "18446744073709551615"],
    ));
    let s = summary(&out);
    assert_eq!(s["malformed"]["count"].as_u64(), Some(0));
    // Summed without wrapping here, both views exceed 2^64 − 1 (the two
    // requests may go to two sites, capacity permitting, but they have
    // one group).
    for kind in ["sites", "groups"] {
        let sum: u128 = s["summary"][kind]
            .as_array()
            .expect("array")
            .iter()
            .filter_map(|e| e["bytes"].as_u64())
            .map(u128::from)
            .sum();
        assert!(sum >= u128::from(u64::MAX), "{kind}: {sum}");
    }
}
