//! Whole-binary tests of `routecast synth` and `routecast simulate`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "common/simulate.rs"]
#[allow(dead_code)]
mod sim;

use sim::{config, ok, summary, total};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn routecast(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_routecast"))
        .args(args)
        .output()
        .expect("routecast runs")
}

fn synth(dir: &Path, name: &str, lines: &str, seed: &str) -> PathBuf {
    let path = dir.join(name);
    ok(routecast(&[
        "synth",
        "-n",
        lines,
        "--seed",
        seed,
        "-o",
        path.to_str().expect("utf-8"),
    ]));
    path
}

fn simulate(logs: &[&Path], out: &Path, extra: &[&str]) -> Output {
    let cfg = config();
    let mut args = vec!["simulate", "-c", &cfg, "-o", out.to_str().expect("utf-8")];
    args.extend_from_slice(extra);
    args.extend(logs.iter().map(|p| p.to_str().expect("utf-8")));
    routecast(&args)
}

/// The byte counts of a log, read with nothing but string splitting.
fn log_bytes(path: &Path) -> (u64, u64) {
    let text = std::fs::read_to_string(path).expect("plain log");
    let mut sum = 0;
    let mut n = 0;
    for line in text.lines() {
        // ... "GET /x HTTP/1.1" 200 1875000 "-" ...
        let after_request = line.splitn(3, '"').nth(2).expect("request quoted");
        let bytes: u64 = after_request
            .split_whitespace()
            .nth(1)
            .and_then(|b| b.parse().ok())
            .expect("bytes");
        sum += bytes;
        n += 1;
    }
    (n, sum)
}

#[test]
fn every_byte_of_the_log_is_accounted_to_a_site_and_a_group() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = synth(dir.path(), "a.log", "20000", "7");
    let (lines, bytes) = log_bytes(&log);
    assert!(lines > 10_000, "{lines}");
    let out = dir.path().join("out");
    ok(simulate(&[&log], &out, &[]));
    let s = summary(&out);
    assert_eq!(s["summary"]["stats"]["requests"].as_u64(), Some(lines));
    assert_eq!(total(&s, "sites"), bytes);
    assert_eq!(total(&s, "groups"), bytes);
    let csv = std::fs::read_to_string(out.join("timeseries.csv")).expect("csv");
    assert!(csv.starts_with("time,kind,name,metric,value\n"));
    let csv_bytes: u64 = csv
        .lines()
        .filter(|l| l.contains(",site,") && l.contains(",bytes,"))
        .map(|l| {
            l.rsplit(',')
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .expect("number")
        })
        .sum();
    assert_eq!(csv_bytes, bytes);
}

#[test]
fn gzip_and_plain_logs_give_the_same_result_and_synth_is_reproducible() {
    let dir = tempfile::tempdir().expect("temp dir");
    let plain = synth(dir.path(), "a.log", "5000", "3");
    let gz = synth(dir.path(), "a.log.gz", "5000", "3");
    let again = synth(dir.path(), "b.log", "5000", "3");
    assert_eq!(
        std::fs::read(&plain).expect("read"),
        std::fs::read(&again).expect("read")
    );
    let (o1, o2) = (dir.path().join("o1"), dir.path().join("o2"));
    ok(simulate(&[&plain], &o1, &[]));
    ok(simulate(&[&gz], &o2, &[]));
    assert_eq!(summary(&o1)["summary"], summary(&o2)["summary"]);
}

#[test]
fn several_logs_are_merged_by_time() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = synth(dir.path(), "all.log", "8000", "5");
    let text = std::fs::read_to_string(&log).expect("read");
    // Two servers' logs: alternate lines, each still in time order.
    let (mut a, mut b) = (String::new(), String::new());
    for (i, line) in text.lines().enumerate() {
        let half = if i % 2 == 0 { &mut a } else { &mut b };
        half.push_str(line);
        half.push('\n');
    }
    let (la, lb) = (dir.path().join("a.log"), dir.path().join("b.log"));
    std::fs::write(&la, a).expect("write");
    std::fs::write(&lb, b).expect("write");
    let (o1, o2) = (dir.path().join("o1"), dir.path().join("o2"));
    ok(simulate(&[&log], &o1, &[]));
    ok(simulate(&[&la, &lb], &o2, &[]));
    let (s1, s2) = (summary(&o1), summary(&o2));
    assert_eq!(
        s1["summary"]["groups"], s2["summary"]["groups"],
        "same requests in the same groups"
    );
    assert_eq!(total(&s1, "sites"), total(&s2, "sites"));
    assert_eq!(s2["summary"]["stats"]["late"].as_u64(), Some(0));
}

#[test]
fn malformed_lines_are_counted_and_named_and_strict_stops_without_touching_old_results() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = synth(dir.path(), "a.log", "3000", "9");
    let mut text = std::fs::read_to_string(&log).expect("read");
    text.insert_str(0, "garbage line\n");
    text.push_str(
        "192.0.2.1 - - [24/Nov/2026:23:59:59 +0000] \"GET /x HTTP/1.1\" 2000 5 \"-\" \"a\" 0.1\n",
    );
    let bad = dir.path().join("bad.log");
    std::fs::write(&bad, &text).expect("write");
    let out = dir.path().join("out");
    let o = ok(simulate(&[&bad], &out, &[]));
    let s = summary(&out);
    assert_eq!(s["malformed"]["count"].as_u64(), Some(2));
    let first = s["malformed"]["first"].as_array().expect("list");
    let name = bad.display().to_string();
    assert_eq!(
        first[0].as_str(),
        Some(
            format!("{name}:1: client is neither an IP address nor a host name (format nginx)")
                .as_str()
        )
    );
    let last_line = text.lines().count();
    assert!(
        first[1]
            .as_str()
            .expect("text")
            .starts_with(&format!("{name}:{last_line}: status")),
        "{first:?}"
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("; 2 malformed"));

    let before = std::fs::read(out.join("summary.json")).expect("read");
    let o = simulate(&[&bad], &out, &["--strict"]);
    assert_eq!(o.status.code(), Some(65));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim(),
        format!(
            "routecast: {name}:1: client is neither an IP address nor a host name (format nginx)"
        )
    );
    assert_eq!(
        std::fs::read(out.join("summary.json")).expect("read"),
        before,
        "old results untouched"
    );
}

#[test]
fn unreadable_or_unrecognisable_logs_are_one_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    let o = simulate(&[Path::new("/nonexistent.log")], &out, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("/nonexistent.log: cannot open"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let junk = dir.path().join("junk.log");
    std::fs::write(&junk, "hello\nworld\n").expect("write");
    let o = simulate(&[&junk], &out, &[]);
    assert_eq!(o.status.code(), Some(65));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot tell the log format"));
    let o = simulate(&[&junk], &out, &["--format", "bogus"]);
    assert_eq!(o.status.code(), Some(64));
    // A broken gzip stream.
    let gz = dir.path().join("broken.log.gz");
    let mut bytes = std::fs::read(synth(dir.path(), "x.log.gz", "3000", "1")).expect("read");
    let n = bytes.len();
    bytes.truncate(n / 2);
    std::fs::write(&gz, bytes).expect("write");
    let o = simulate(&[&gz], &out, &[]);
    assert_eq!(
        o.status.code(),
        Some(65),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("read error"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn several_configurations_are_compared_in_one_report() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = synth(dir.path(), "a.log", "20000", "11");
    // A second platform: the same, but live goes to the cheapest site first.
    let text = std::fs::read_to_string(config())
        .expect("example")
        .replace(
            "../tests/fixtures",
            &root().join("tests/fixtures").display().to_string(),
        )
        .replace(
            "{ step = \"closest\", bucket_km = 1500 },\n  { step = \"least_cost\" },",
            "{ step = \"least_cost\" },\n  { step = \"closest\", bucket_km = 1500 },",
        );
    let alt = dir.path().join("cheapest.toml");
    std::fs::write(&alt, text).expect("write");
    std::fs::copy(
        root().join("examples/czf.json"),
        dir.path().join("czf.json"),
    )
    .expect("copy");
    let out = dir.path().join("out");
    let cfg = config();
    let o = ok(routecast(&[
        "simulate",
        "-q",
        "-c",
        &cfg,
        "-c",
        alt.to_str().expect("utf-8"),
        "-o",
        out.to_str().expect("utf-8"),
        log.to_str().expect("utf-8"),
    ]));
    assert!(o.stdout.is_empty(), "--quiet prints nothing");
    for sub in ["routecast", "cheapest"] {
        for f in [
            "timeseries.csv",
            "summary.json",
            "sites.svg",
            "sites.png",
            "groups.svg",
            "groups.png",
        ] {
            let p = out.join(sub).join(f);
            assert!(
                std::fs::metadata(&p)
                    .map(|m| m.len() > 100)
                    .unwrap_or(false),
                "{}",
                p.display()
            );
        }
    }
    let html = std::fs::read_to_string(out.join("report.html")).expect("report");
    assert!(html.contains("Policies compared"));
    assert!(html.contains("<h2>routecast</h2>") && html.contains("<h2>cheapest</h2>"));
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "self-contained"
    );
    let a = summary(&out.join("routecast"));
    let b = summary(&out.join("cheapest"));
    assert_eq!(total(&a, "sites"), total(&b, "sites"), "same traffic");
    assert_ne!(
        a["summary"]["sites"], b["summary"]["sites"],
        "different policies, different split"
    );
}

#[test]
fn custom_log_formats_are_compiled_and_unknown_variables_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("custom.log");
    std::fs::write(
        &log,
        "1795600802.250 81.2.69.142 \"GET /live/a/720p/1.ts HTTP/1.1\" 200 3750000 0.300\n\
         1795600803.000 175.16.199.9 \"GET /vod/films/t/720p.mp4 HTTP/1.1\" 206 5000000 10.000\n",
    )
    .expect("write");
    let out = dir.path().join("out");
    let fmt = "$msec $remote_addr \"$request\" $status $body_bytes_sent $request_time";
    ok(simulate(&[&log], &out, &["--log-format", fmt]));
    let s = summary(&out);
    assert_eq!(s["summary"]["stats"]["requests"].as_u64(), Some(2));
    assert_eq!(total(&s, "sites"), 8_750_000);

    let o = simulate(
        &[&log],
        &out,
        &[
            "--log-format",
            "$msec $remote_addr \"$request\" $stauts $body_bytes_sent",
        ],
    );
    assert_eq!(o.status.code(), Some(64));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        err.trim(),
        "routecast: --log-format: unknown variable \"$stauts\" at character 30 of the log format"
    );
}

#[test]
fn traffic_router_and_json_logs_are_detected_and_replayed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tr = dir.path().join("access.log");
    std::fs::write(
        &tr,
        "1795600802.100 qtype=HTTP chi=81.2.69.142 rhi=- url=\"http://tr.example.net/live/ch1/720p/index.m3u8\" cqhm=GET cqhv=HTTP/1.1 rtype=GEO rloc=\"51.5,-0.09\" rdtl=- rerr=\"-\" rgb=\"-\" pssc=302 ttms=0.4 rurl=\"http://lon.cdn.example.net/live/ch1/720p/index.m3u8\" rh=\"-\"\n\
         1795600803.000 qtype=DNS chi=192.0.2.1 ttms=1 rtype=CZ rloc=\"-\" rdtl=- rerr=\"-\"\n\
         1795600804.000 qtype=HTTP chi=175.16.199.5 url=\"http://tr.example.net/vod/films/a/720p.mp4\" cqhm=GET cqhv=HTTP/1.1 rtype=GEO rloc=\"-\" rdtl=- rerr=\"-\" pssc=302 ttms=1\n",
    )
    .expect("write");
    let out = dir.path().join("out");
    let o = ok(simulate(&[&tr], &out, &["--request-bytes", "1000000"]));
    assert!(String::from_utf8_lossy(&o.stdout).contains("(traffic-router)"));
    let s = summary(&out);
    assert_eq!(s["summary"]["stats"]["requests"].as_u64(), Some(2));
    assert_eq!(s["malformed"]["count"].as_u64(), Some(1), "the DNS query");
    assert_eq!(total(&s, "sites"), 2_000_000);

    let json = dir.path().join("json.log");
    std::fs::write(
        &json,
        "{\"msec\":1795600802.25,\"remote_addr\":\"81.2.69.142\",\"request\":\"GET /live/a.ts HTTP/1.1\",\"status\":200,\"body_bytes_sent\":3750000,\"request_time\":\"0.300\"}\n",
    )
    .expect("write");
    let o = ok(simulate(&[&json], &out, &[]));
    assert!(String::from_utf8_lossy(&o.stdout).contains("(json)"));
    assert_eq!(total(&summary(&out), "sites"), 3_750_000);
}

/// Every file under `dir`, by its path relative to `dir`, with its bytes.
fn files(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("readable dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let rel = path.strip_prefix(dir).expect("inside").to_path_buf();
                out.insert(rel, std::fs::read(&path).expect("readable file"));
            }
        }
    }
    out
}

/// The stdout of a replay without its timing (`in 0.12 s (… lines/s)`)
/// and the name of its output directory.
fn untimed(o: &Output) -> String {
    let text = String::from_utf8_lossy(&o.stdout);
    let (head, rest) = text.split_once(" in ").expect("timing");
    let rest = rest.split_once("lines/s)").expect("rate").1;
    let rest = rest.split_once("\nwrote ").expect("report").0;
    format!("{head}{rest}")
}

#[test]
fn outputs_are_byte_identical_whatever_the_number_of_parsing_threads() {
    let dir = tempfile::tempdir().expect("temp dir");
    // About 4 MB: several blocks of a megabyte.
    let log = synth(dir.path(), "a.log", "20000", "13");
    assert!(std::fs::metadata(&log).expect("log").len() > 3 << 20);
    let mut outs = Vec::new();
    for threads in ["1", "3"] {
        let out = dir.path().join(format!("out-{threads}"));
        let o = ok(simulate(&[&log], &out, &["--threads", threads]));
        outs.push((files(&out), untimed(&o)));
    }
    let (one, three) = (&outs[0], &outs[1]);
    assert!(one.0.len() >= 8, "{:?}", one.0.keys());
    assert!(one
        .0
        .keys()
        .any(|p| p.extension().is_some_and(|e| e == "rrd")));
    assert_eq!(
        one.0.keys().collect::<Vec<_>>(),
        three.0.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &one.0 {
        assert!(three.0[path] == *bytes, "{} differs", path.display());
    }
    assert_eq!(one.1, three.1, "the same summary on stdout");
}

/// A synthetic log with malformed (and empty) lines spread over several
/// blocks, and the numbers of the malformed ones.
fn log_with_bad_lines(dir: &Path) -> (PathBuf, Vec<usize>) {
    let log = synth(dir, "a.log", "30000", "17");
    let text = std::fs::read_to_string(&log).expect("read");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // From the end, so that earlier places stay put.
    for at in [25_999, 21_000, 12_345, 5_600, 5_599, 0] {
        lines.insert(at, "garbage line".to_string());
    }
    lines.insert(12_000, String::new());
    lines.push(
        "192.0.2.1 - - [24/Nov/2026:23:59:59 +0000] \"GET /x HTTP/1.1\" 2000 5 \"-\" \"a\" 0.1"
            .into(),
    );
    let bad: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| *l == "garbage line" || l.contains(" 2000 5 "))
        .map(|(i, _)| i + 1)
        .collect();
    // Windows line endings (detected as nginx all the same), and no newline
    // at the end.
    let path = dir.join("bad.log");
    std::fs::write(&path, lines.join("\r\n")).expect("write");
    (path, bad)
}

#[test]
fn malformed_lines_keep_their_line_numbers_and_strict_its_stop_with_several_threads() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (log, bad) = log_with_bad_lines(dir.path());
    assert!(std::fs::metadata(&log).expect("log").len() > 4 << 20);
    let name = log.display().to_string();
    let mut listed = Vec::new();
    for threads in ["1", "3"] {
        let out = dir.path().join(format!("out-{threads}"));
        ok(simulate(
            &[&log],
            &out,
            &[
                "--threads",
                threads,
                "--show-errors",
                "100",
                "--format",
                "nginx",
            ],
        ));
        let s = summary(&out);
        assert_eq!(s["malformed"]["count"].as_u64(), Some(bad.len() as u64));
        let first: Vec<String> = s["malformed"]["first"]
            .as_array()
            .expect("list")
            .iter()
            .map(|v| v.as_str().expect("text").to_string())
            .collect();
        let numbers: Vec<usize> = first
            .iter()
            .map(|f| {
                let rest = f.strip_prefix(&format!("{name}:")).expect("file name");
                rest.split(':')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("line")
            })
            .collect();
        assert_eq!(numbers, bad);
        listed.push(first);

        let strict = ["--threads", threads, "--strict"];
        let o = simulate(&[&log], &out, &strict);
        assert_eq!(o.status.code(), Some(65));
        assert_eq!(
            String::from_utf8_lossy(&o.stderr).trim(),
            format!("routecast: {name}:1: client is neither an IP address nor a host name (format nginx)")
        );
    }
    assert_eq!(listed[0], listed[1]);
}

#[test]
fn strict_stops_at_a_malformed_line_deep_in_the_log_with_several_threads() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = synth(dir.path(), "a.log", "30000", "19");
    let mut lines: Vec<String> = std::fs::read_to_string(&log)
        .expect("read")
        .lines()
        .map(str::to_string)
        .collect();
    lines.insert(25_000, "garbage line".to_string());
    lines.insert(17_000, "also garbage".to_string());
    std::fs::write(&log, lines.join("\n") + "\n").expect("write");
    let name = log.display().to_string();
    for threads in ["1", "2", "4"] {
        let out = dir.path().join("out");
        let o = simulate(&[&log], &out, &["--threads", threads, "--strict"]);
        assert_eq!(o.status.code(), Some(65));
        assert_eq!(
            String::from_utf8_lossy(&o.stderr).trim(),
            format!("routecast: {name}:17001: client is neither an IP address nor a host name (format nginx)"),
            "--threads {threads}"
        );
    }
}

#[test]
fn a_read_error_names_the_same_line_whatever_the_number_of_threads() {
    let dir = tempfile::tempdir().expect("temp dir");
    let gz = synth(dir.path(), "a.log.gz", "40000", "23");
    let mut bytes = std::fs::read(&gz).expect("read");
    bytes.truncate(bytes.len() * 2 / 3);
    std::fs::write(&gz, bytes).expect("write");
    let out = dir.path().join("out");
    let errors: Vec<String> = ["1", "3"]
        .iter()
        .map(|t| {
            let o = simulate(&[&gz], &out, &["--threads", t]);
            assert_eq!(o.status.code(), Some(65));
            String::from_utf8_lossy(&o.stderr).trim().to_string()
        })
        .collect();
    assert_eq!(errors[0], errors[1]);
    let line: u64 = errors[0]
        .strip_prefix(&format!("routecast: {}:", gz.display()))
        .and_then(|r| r.split_once(": read error: "))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("{}", errors[0]));
    assert!(line > 10_000, "{line}");
}

#[test]
fn zero_parsing_threads_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = synth(dir.path(), "a.log", "10", "1");
    let o = simulate(&[&log], &dir.path().join("out"), &["--threads", "0"]);
    assert_eq!(o.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--threads must be at least 1"));
}

#[test]
fn logs_with_windows_line_endings_are_detected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = synth(dir.path(), "a.log", "3000", "29");
    let text = std::fs::read_to_string(&log).expect("read");
    let crlf = dir.path().join("crlf.log");
    std::fs::write(&crlf, text.replace('\n', "\r\n")).expect("write");
    let (o1, o2) = (dir.path().join("o1"), dir.path().join("o2"));
    ok(simulate(&[&log], &o1, &[]));
    let o = ok(simulate(&[&crlf], &o2, &[]));
    assert!(
        untimed(&o).contains("(nginx); 0 malformed"),
        "{}",
        untimed(&o)
    );
    assert_eq!(summary(&o1)["summary"], summary(&o2)["summary"]);
}

/// Each error says its reason once, with the flag that helps where one
/// does: the baseline binary's messages, pinned (Linux's wording of the
/// system's reasons), and `--date`'s range.
#[cfg(target_os = "linux")]
#[test]
fn errors_say_their_reason_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    let said = |o: Output| {
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let o = simulate(&[Path::new("/nonexistent.log")], &out, &[]);
    let missing =
        "routecast: /nonexistent.log: cannot open: No such file or directory (os error 2)\n";
    assert_eq!(said(o), (Some(1), missing.to_string()));
    let junk = dir.path().join("junk.log");
    std::fs::write(&junk, "hello\n").expect("write");
    let unknown = format!(
        "routecast: {}: cannot tell the log format from the first lines (use --format: nginx, \
         nginx-combined, apache-micros, apache-seconds, combined, common, json, traffic-router)\n",
        junk.display()
    );
    assert_eq!(said(simulate(&[&junk], &out, &[])), (Some(65), unknown));
    let log = synth(dir.path(), "a.log", "10", "1");
    let file = dir.path().join("f");
    std::fs::write(&file, "").expect("write");
    let in_the_way = format!(
        "routecast: {}: cannot create: Not a directory (os error 20)\n",
        file.join("out").display()
    );
    assert_eq!(
        said(simulate(&[&log], &file.join("out"), &["-q"])),
        (Some(1), in_the_way)
    );
    let far = "routecast: --date \"10000-01-01\" is out of range: the day must be 0000-01-01 to 9999-12-30\n";
    assert_eq!(
        said(routecast(&["synth", "-n", "10", "--date", "10000-01-01"])),
        (Some(64), far.to_string())
    );
}
