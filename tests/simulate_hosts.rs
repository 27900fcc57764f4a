//! `routecast simulate` on logs as they are: host names where addresses
//! should be, requests without a protocol, Apache combined without
//! durations, empty logs, and lines longer than the limit (issue 15).
//!
//! Expected values are literals or read from the log text with plain
//! string splitting, not with routecast's parser.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "common/simulate.rs"]
#[allow(dead_code)]
mod sim;

use sim::{ok, summary, total};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn simulate(logs: &[&Path], out: &Path, extra: &[&str]) -> Output {
    let cfg = root().join("examples/routecast.toml");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_routecast"));
    cmd.args(["simulate", "-c"]).arg(cfg).arg("-o").arg(out);
    cmd.args(extra).args(logs);
    cmd.output().expect("routecast runs")
}

/// Bytes delivered to the named group (or site) in summary.json.
fn bytes_of(s: &serde_json::Value, kind: &str, name: &str) -> u64 {
    let list = s["summary"][kind].as_array().expect("array");
    list.iter()
        .filter(|g| g["name"] == name)
        .map(|g| g["bytes"].as_u64().expect("bytes"))
        .sum()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write log");
    path
}

/// A 1995-style NCSA common log: host names (with and without a country
/// TLD), addresses, and requests with and without a protocol.
const HOSTS_COMMON: &str = r#"dialup7.example.net - - [01/Jul/1995:00:00:01 -0400] "GET /vod/a.mp4 HTTP/1.0" 200 1000
www.cs.example.ac.uk - - [01/Jul/1995:00:00:02 -0400] "GET /vod/b.mp4 HTTP/1.0" 200 20000
proxy.example.de - - [01/Jul/1995:00:00:03 -0400] "GET /vod/c.mp4 HTTP/1.0" 200 300000
gw.example.co.il - - [01/Jul/1995:00:00:04 -0400] "GET /~user/page.html" 200 4000000
10.1.2.3 - - [01/Jul/1995:00:00:05 -0400] "GET /vod/e.mp4 HTTP/1.0" 200 50000000
Host-9.Example.COM - - [01/Jul/1995:00:00:06 -0400] "GET /vod/f.mp4 HTTP/1.0" 304 -
199.0.0.1.example.edu - - [01/Jul/1995:00:00:07 -0400] "GET /vod/g.mp4" 200 600000000
999.1.1.1 - - [01/Jul/1995:00:00:08 -0400] "GET /vod/h.mp4 HTTP/1.0" 200 7
"#;

#[test]
fn hostname_clients_are_clients_grouped_by_their_country_tld() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = write(dir.path(), "hosts.log", HOSTS_COMMON);
    let out = dir.path().join("out");
    let o = ok(simulate(&[&log], &out, &[]));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("(common)"), "detected as common: {stdout}");
    let s = summary(&out);
    // Seven well-formed lines replayed; the numeric junk is malformed.
    assert_eq!(s["summary"]["stats"]["requests"].as_u64(), Some(7), "{s}");
    assert_eq!(s["malformed"]["count"].as_u64(), Some(1));
    let first = s["malformed"]["first"][0].as_str().expect("reason");
    assert!(first.ends_with(":8: client is neither an IP address nor a host name (format common)"));
    // Host names: six lines, three of them with a country TLD.
    assert_eq!(s["summary"]["stats"]["host_clients"].as_u64(), Some(6));
    assert_eq!(
        s["summary"]["stats"]["host_clients_with_country"].as_u64(),
        Some(3)
    );
    // .uk is GB (group uk), .de is DE (dach), .il is IL (Asia:
    // asia-pacific); .net, .com, .edu say nothing: default group.
    assert_eq!(bytes_of(&s, "groups", "uk"), 20_000);
    assert_eq!(bytes_of(&s, "groups", "dach"), 300_000);
    assert_eq!(bytes_of(&s, "groups", "asia-pacific"), 4_000_000);
    assert_eq!(bytes_of(&s, "groups", "rest-of-world"), 650_001_000);
    assert_eq!(total(&s, "groups"), 654_321_000);
}

#[test]
fn apache_combined_without_durations_with_host_names_is_detected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("\n\n");
    let mut expected = 0u64;
    for i in 0..100u64 {
        let host = match i % 4 {
            0 => format!("client{i}.isp.example.fr"),
            1 => format!("198.51.100.{i}"),
            2 => format!("pc-{i}.example.org"),
            _ => format!("ppp{i}.example.com.au"),
        };
        let request = if i % 5 == 0 {
            "GET /vod/x.mp4".to_string()
        } else {
            format!("GET /vod/{i}.mp4 HTTP/1.1")
        };
        let bytes = 1000 + i;
        expected += bytes;
        text.push_str(&format!(
            "{host} - frank [01/Jul/2026:10:{:02}:00 +0200] \"{request}\" 200 {bytes} \"http://example.com/\" \"Mozilla/4.08 [en] (Win98; I ;Nav)\"\n",
            i % 60
        ));
    }
    let log = write(dir.path(), "combined.log", &text);
    let out = dir.path().join("out");
    let o = ok(simulate(&[&log], &out, &[]));
    assert!(String::from_utf8_lossy(&o.stdout).contains("(combined)"));
    let s = summary(&out);
    assert_eq!(s["summary"]["stats"]["requests"].as_u64(), Some(100));
    assert_eq!(s["malformed"]["count"].as_u64(), Some(0));
    assert_eq!(total(&s, "groups"), expected);
    assert_eq!(s["summary"]["stats"]["host_clients"].as_u64(), Some(75));
}

#[test]
fn an_empty_log_or_only_blank_lines_is_no_requests_not_an_unknown_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in [("empty.log", ""), ("blank.log", "\n\r\n\n   \n")] {
        let log = write(dir.path(), name, text);
        let out = dir.path().join(format!("out-{name}"));
        let o = simulate(&[&log], &out, &[]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            !stderr.contains("cannot tell the log format"),
            "{name}: {stderr}"
        );
    }
}

/// A gzip'd log: a good line, a line of `zeros` NUL bytes, a good line.
fn gzip_bomb(dir: &Path, zeros: u64) -> PathBuf {
    let plain = dir.join("bomb.log");
    let good = "192.0.2.1 - - [01/Jul/2026:10:00:00 +0000] \"GET /vod/a.mp4 HTTP/1.1\" 200 1000 \"-\" \"a\"\n";
    let mut f = std::fs::File::create(&plain).expect("create");
    f.write_all(good.as_bytes()).expect("write");
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..zeros / chunk.len() as u64 {
        f.write_all(&chunk).expect("write");
    }
    f.write_all(b"\n").expect("write");
    f.write_all(good.replace("10:00:00", "10:00:01").as_bytes())
        .expect("write");
    drop(f);
    let status = Command::new("gzip")
        .arg("-f")
        .arg(&plain)
        .status()
        .expect("gzip runs");
    assert!(status.success());
    dir.join("bomb.log.gz")
}

#[test]
fn a_line_over_the_length_limit_is_one_malformed_line_saying_its_length() {
    let dir = tempfile::tempdir().expect("tempdir");
    let zeros = 100 << 20;
    let log = gzip_bomb(dir.path(), zeros);
    assert!(std::fs::metadata(&log).expect("gz").len() < 1 << 20);
    let out = dir.path().join("out");
    ok(simulate(&[&log], &out, &[]));
    let s = summary(&out);
    assert_eq!(s["summary"]["stats"]["requests"].as_u64(), Some(2));
    assert_eq!(s["malformed"]["count"].as_u64(), Some(1));
    let first = s["malformed"]["first"][0].as_str().expect("reason");
    let expected = format!(":2: line of {zeros} bytes is over the limit of 65536 bytes");
    assert!(first.contains(&expected), "{first}");
    // A higher limit takes the line in (and it is malformed for what it is).
    let out = dir.path().join("out-high");
    ok(simulate(&[&log], &out, &["--max-line-bytes", "200000000"]));
    let s = summary(&out);
    let first = s["malformed"]["first"][0].as_str().expect("reason");
    assert!(
        first.contains(":2: client is neither an IP address nor a host name"),
        "{first}"
    );
}
