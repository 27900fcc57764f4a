//! Whole-binary tests of `routecast segment --serve`'s origin under
//! resource pressure (issue 14, point 7): clients holding every descriptor
//! the process may open never stop the segmenter; and on every protocol
//! (issue 16, point 3): curl gets the same playlists over HTTP/1.1, h2c
//! with prior knowledge, and HTTPS with HTTP/2 by ALPN, its certificates
//! reloaded on SIGHUP. ffmpeg (to make the
//! input), prlimit (util-linux, to give the run a low descriptor limit),
//! curl and openssl are required: a missing tool fails the test.

use std::io::{Read, Write};
use std::net::TcpStream;
#[allow(dead_code)]
#[path = "common/certs.rs"]
mod certs;
#[path = "common/run.rs"]
mod run;

use run::{serving, tool, within};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

/// `seconds` of 25 fps H.264 test pattern, a keyframe every second, as
/// MPEG-TS.
fn make(dir: &Path, seconds: u32) -> PathBuf {
    let out = dir.join("in.ts");
    let t = seconds.to_string();
    let path = out.to_string_lossy().into_owned();
    tool(
        "ffmpeg",
        &[
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=192x108:rate=25",
            "-t",
            &t,
            "-c:v",
            "libx264",
            "-g",
            "25",
            "-sc_threshold",
            "0",
            "-preset",
            "ultrafast",
            "-f",
            "mpegts",
            "-y",
            &path,
        ],
    );
    out
}

/// The segment and part of the last `EXT-X-PART` of the playlist on disk.
fn last_part_on_disk(playlist: &Path) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(playlist).ok()?;
    let uri = text
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

/// The first line the origin answers on `c` within 2 s, if any.
fn status_line(c: &mut TcpStream) -> Option<String> {
    c.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let mut buf = [0u8; 256];
    let n = c.read(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    text.lines().next().map(str::to_string)
}

/// A run limited to 256 descriptors (soft and hard, so raising the soft
/// limit cannot help) is flooded with 400 connections that each send half
/// a request head and hold it: the segmenter keeps writing parts and
/// publishing, connections past the origin's cap are answered 503, and
/// the run ends cleanly. Margins: the flood is held 4 s (well within the
/// 10 s head timeout) and the stream must advance by at least two parts
/// (1 s of media at 0.5 s parts) in that time, on a loaded 2-core box.
#[test]
fn connections_up_to_the_descriptor_limit_never_stop_the_segmenter() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = make(dir.path(), 40);
    let out = dir.path().join("hls");
    let (mut child, port, stderr) = serving(
        Command::new("prlimit")
            .arg("--nofile=256:256")
            .arg(env!("CARGO_BIN_EXE_routecast"))
            .arg("segment")
            .arg(&input)
            .arg("-o")
            .arg(&out)
            .args(["--realtime", "--target-duration", "1"])
            .args(["--part-target", "0.5", "--serve", "127.0.0.1:0"]),
    );
    let playlist = out.join("index.m3u8");
    let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let before = within(15, || last_part_on_disk(&playlist)).expect("parts within 15 s");
        let mut held = Vec::new();
        for _ in 0..400 {
            let Ok(mut c) = TcpStream::connect(("127.0.0.1", port)) else {
                break;
            };
            let _ = c.write_all(b"GET /index.m3u8 HTTP/1.1\r\n");
            held.push(c);
        }
        std::thread::sleep(Duration::from_secs(4));
        assert!(
            child_alive(&mut child),
            "the segmenter exited under {} held connections",
            held.len()
        );
        let after = last_part_on_disk(&playlist).expect("a playlist");
        assert!(
            after.0 * 4 + after.1 >= before.0 * 4 + before.1 + 2,
            "the stream stalled: {before:?} then {after:?} under {} connections",
            held.len()
        );
        let refused = held
            .iter_mut()
            .rev()
            .take(50)
            .filter_map(status_line)
            .filter(|l| l.starts_with("HTTP/1.1 503"))
            .count();
        assert!(refused > 0, "no connection past the cap was answered 503");
        drop(held);
        let served = within(5, || {
            let mut c = TcpStream::connect(("127.0.0.1", port)).ok()?;
            c.write_all(b"GET /index.m3u8 HTTP/1.1\r\nHost: o\r\n\r\n")
                .ok()?;
            status_line(&mut c).filter(|l| l.starts_with("HTTP/1.1 200"))
        });
        assert!(served.is_some(), "served again once the flood is gone");
    }));
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().expect("exits");
    let said = stderr.join().unwrap_or_default();
    if let Err(panic) = checked {
        eprintln!("{said}");
        std::panic::resume_unwind(panic);
    }
    assert!(
        status.success(),
        "SIGTERM ends the run cleanly: {status}\n{said}"
    );
}

/// Whether `child` still runs.
fn child_alive(child: &mut Child) -> bool {
    matches!(child.try_wait(), Ok(None))
}

/// `curl` of `url` with `args`: (status, HTTP version, body).
fn curl(url: &str, args: &[&str]) -> (String, String, String) {
    let out = Command::new("curl")
        .args([
            "-s",
            "--max-time",
            "10",
            "-w",
            "\n%{http_code} %{http_version}",
        ])
        .args(args)
        .arg(url)
        .output()
        .expect("curl runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, last) = stdout.rsplit_once('\n').unwrap_or(("", &stdout));
    let (status, version) = last.split_once(' ').unwrap_or((last, ""));
    (status.to_string(), version.to_string(), body.to_string())
}

#[test]
fn the_origin_answers_alike_over_http_1_1_h2c_and_h2_over_tls() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = make(dir.path(), 30);
    let (pem, key) = certs::self_signed(dir.path(), "o", "/CN=127.0.0.1", "IP:127.0.0.1");
    let start = |name: &str, tls: &[&Path]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_routecast"));
        cmd.arg("segment")
            .arg(&input)
            .arg("-o")
            .arg(dir.path().join(name))
            .args(["--realtime", "--target-duration", "1"])
            .args(["--part-target", "0.5", "--serve", "127.0.0.1:0"]);
        if let [pem, key] = tls {
            cmd.arg("--tls-cert").arg(pem).arg("--tls-key").arg(key);
        }
        serving(&mut cmd)
    };
    let (mut plain, plain_port, _) = start("plain", &[]);
    let (mut tls, tls_port, _) = start("tls", &[&pem, &key]);
    let checked = std::panic::catch_unwind(|| {
        let playlist = dir.path().join("tls/index.m3u8");
        let (msn, _) = within(15, || last_part_on_disk(&playlist)).expect("parts within 15 s");
        let cacert = pem.to_str().expect("utf-8");
        for (url, args, version) in [
            (
                format!("http://127.0.0.1:{plain_port}/index.m3u8"),
                vec!["--http1.1"],
                "1.1",
            ),
            (
                format!("http://127.0.0.1:{plain_port}/index.m3u8"),
                vec!["--http2-prior-knowledge"],
                "2",
            ),
            (
                format!("https://127.0.0.1:{tls_port}/index.m3u8"),
                vec!["--http2", "--cacert", cacert],
                "2",
            ),
            (
                format!("https://127.0.0.1:{tls_port}/index.m3u8"),
                vec!["--http1.1", "--cacert", cacert],
                "1.1",
            ),
            // A blocking reload for the next segment, held and answered.
            (
                format!(
                    "https://127.0.0.1:{tls_port}/index.m3u8?_HLS_msn={}",
                    msn + 1
                ),
                vec!["--http2", "--cacert", cacert],
                "2",
            ),
        ] {
            let (status, got, body) = curl(&url, &args);
            assert_eq!(
                (status.as_str(), got.as_str()),
                ("200", version),
                "{url} {args:?}: {body}"
            );
            assert!(
                body.starts_with("#EXTM3U") && body.contains("#EXT-X-PART:"),
                "{url}: {body}"
            );
        }
        // Plain HTTP to the TLS port is closed, and the origin serves on.
        let mut c = TcpStream::connect(("127.0.0.1", tls_port)).expect("connects");
        c.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let _ = c.write_all(b"GET /index.m3u8 HTTP/1.1\r\nHost: x\r\n\r\n");
        let mut out = Vec::new();
        let _ = c.read_to_end(&mut out);
        assert!(!out.starts_with(b"HTTP/"), "{out:?}");
        let url = format!("https://127.0.0.1:{tls_port}/index.m3u8");
        assert_eq!(curl(&url, &["--http2", "--cacert", cacert]).0, "200");
    });
    for child in [&mut plain, &mut tls] {
        let _ = child.kill();
        let _ = child.wait();
    }
    if let Err(e) = checked {
        std::panic::resume_unwind(e);
    }
}

/// The subject of the certificate the origin at `port` presents (curl's
/// verbose trace), with a request that must succeed.
fn presented(port: u16) -> String {
    let out = Command::new("curl")
        .args(["-skv", "--max-time", "10", "-o", "/dev/null"])
        .arg(format!("https://127.0.0.1:{port}/index.m3u8"))
        .output()
        .expect("curl runs");
    let trace = String::from_utf8_lossy(&out.stderr);
    let line = trace.lines().find(|l| l.contains("subject:"));
    line.unwrap_or_default().trim().to_string()
}

#[test]
fn the_origin_reloads_its_certificates() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = make(dir.path(), 40);
    let first = certs::self_signed(dir.path(), "first", "/CN=first", "IP:127.0.0.1");
    let second = certs::self_signed(dir.path(), "second", "/CN=second", "IP:127.0.0.1");
    let (pem, key) = (dir.path().join("o.pem"), dir.path().join("o.key"));
    std::fs::copy(&first.0, &pem).expect("copy");
    std::fs::copy(&first.1, &key).expect("copy");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_routecast"));
    cmd.arg("segment")
        .arg(&input)
        .arg("-o")
        .arg(dir.path().join("out"))
        .args([
            "--realtime",
            "--target-duration",
            "1",
            "--serve",
            "127.0.0.1:0",
        ])
        .arg("--tls-cert")
        .arg(&pem)
        .arg("--tls-key")
        .arg(&key);
    let (mut child, port, rest) = serving(&mut cmd);
    // The copies keep the files' times, so that only SIGHUP (not the
    // watch of changed files) can make the origin read them again.
    let stamp = dir.path().join("stamp");
    std::fs::write(&stamp, "").expect("stamp");
    let keep_times = || {
        let status = Command::new("touch")
            .arg("-r")
            .arg(&stamp)
            .arg(&pem)
            .arg(&key)
            .status();
        assert!(status.expect("touch").success());
    };
    keep_times();
    let hup = |child: &Child| {
        let pid = child.id().to_string();
        let sent = Command::new("kill").args(["-HUP", &pid]).status();
        assert!(sent.expect("kill").success());
    };
    let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        assert!(presented(port).contains("CN=first"), "{}", presented(port));
        // The second certificate with the first key: refused, the first
        // stays; then the second key too: new handshakes get the second.
        std::fs::copy(&second.0, &pem).expect("copy");
        keep_times();
        std::thread::sleep(Duration::from_secs(3));
        assert!(presented(port).contains("CN=first"), "not reloaded unasked");
        hup(&child);
        std::thread::sleep(Duration::from_millis(500));
        assert!(presented(port).contains("CN=first"), "{}", presented(port));
        std::fs::copy(&second.1, &key).expect("copy");
        keep_times();
        hup(&child);
        let seen = within(10, || {
            Some(presented(port)).filter(|s| s.contains("CN=second"))
        });
        assert!(seen.is_some(), "{}", presented(port));
        assert!(child_alive(&mut child), "SIGHUP does not end the segmenter");
    }));
    let _ = child.kill();
    let _ = child.wait();
    let log = rest.join().expect("stderr");
    if let Err(e) = checked {
        std::panic::resume_unwind(e);
    }
    assert!(
        log.contains("TLS certificates refused; keeping the running ones")
            && log.contains("o.pem with")
            && log.contains("TLS certificates reloaded"),
        "{log}"
    );
}
