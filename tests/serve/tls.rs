//! The front door: TLS (1.2, 1.3, SNI, resumed sessions, certificates
//! reloaded) and HTTP/2 (ALPN on TLS, h2c with prior knowledge on the plain
//! listener), judged by clients that are not ours: curl and OpenSSL's
//! s_client. Certificates are made by the openssl command.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::support::{example, example_in, logged, responder_for, Log, Server};

/// A self-signed certificate for `name` (the name in its subjectAltName,
/// `O=<file>` in its subject) as `<file>.pem` and `<file>.key` in `dir`.
fn certificate(dir: &Path, file: &str, name: &str) -> (PathBuf, PathBuf) {
    super::certs::self_signed(
        dir,
        file,
        &format!("/CN={name}/O={file}"),
        &format!("DNS:{name}"),
    )
}

/// A server with a plain and a TLS listener; the TLS address; its stderr.
struct Front {
    server: Server,
    tls: SocketAddr,
    log: Log,
    /// The admin listener, when `--admin-listen` was given.
    admin: Option<SocketAddr>,
}

fn launch(pairs: &[&(PathBuf, PathBuf)], extra: &[&str]) -> Front {
    launch_with(&example(), pairs, extra)
}

/// [`launch`] with the configuration `config`.
fn launch_with(config: &Path, pairs: &[&(PathBuf, PathBuf)], extra: &[&str]) -> Front {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_routecast"));
    cmd.arg("serve")
        .arg("-c")
        .arg(config)
        .args(["--listen", "127.0.0.1:0", "--tls-listen", "127.0.0.1:0"])
        .args(["--trusted-proxy", "127.0.0.1/32"]);
    for (cert, key) in pairs {
        cmd.arg("--tls-cert").arg(cert).arg("--tls-key").arg(key);
    }
    let mut child = cmd
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("routecast serve starts");
    let log = Log::default();
    let stderr = child.stderr.take().expect("piped");
    let sink = log.clone();
    std::thread::spawn(move || {
        for l in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(mut v) = sink.lock() {
                v.push(l);
            }
        }
    });
    let mut lines = BufReader::new(child.stdout.take().expect("piped"));
    let mut read = |prefix: &str| -> SocketAddr {
        let mut line = String::new();
        lines.read_line(&mut line).expect("an address line");
        line.trim()
            .strip_prefix(prefix)
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected line {line:?}"))
    };
    let addr = read("routecast: listening on http://");
    let tls = read("routecast: listening on https://");
    let admin = extra
        .contains(&"--admin-listen")
        .then(|| read("routecast: admin on http://"));
    Front {
        server: Server { child, addr },
        tls,
        log,
        admin,
    }
}

/// What curl saw: status, HTTP version, Location, the body, and its
/// verbose trace (TLS version, certificate subject, ALPN).
struct Seen {
    status: String,
    version: String,
    location: String,
    body: String,
    trace: String,
}

/// `curl` to `url` with `args`, the name `tr.example.net` (and
/// `tr2.example.org`) resolved to `at`.
fn curl(at: SocketAddr, url: &str, args: &[&str]) -> Seen {
    let port = at.port();
    let out = Command::new("curl")
        .args([
            "-sv",
            "--max-time",
            "10",
            "-w",
            "\n%{http_code} %{http_version} %{redirect_url}",
        ])
        .args(["--resolve", &format!("tr.example.net:{port}:127.0.0.1")])
        .args(["--resolve", &format!("tr2.example.org:{port}:127.0.0.1")])
        .args(["--resolve", &format!("other.example.com:{port}:127.0.0.1")])
        .args(args)
        .arg(url)
        .output()
        .expect("curl runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, last) = stdout.rsplit_once('\n').unwrap_or(("", &stdout));
    let mut parts = last.splitn(3, ' ');
    let mut next = || parts.next().unwrap_or("").to_string();
    Seen {
        status: next(),
        version: next(),
        location: next(),
        body: body.to_string(),
        trace: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

const SEGMENT: &str = "/live/ch1/720p/seg1.ts";

#[test]
fn every_protocol_gives_the_same_answers() {
    let dir = tempfile::tempdir().expect("dir");
    let pair = certificate(dir.path(), "tr", "tr.example.net");
    // The packager the example's live playlists come from.
    let origin = responder_for(|path| {
        let body = match path.split('?').next().unwrap_or("") {
            p if p.ends_with("master.m3u8") => {
                "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\nlow/index.m3u8\n".to_string()
            }
            _ => {
                "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:7\n#EXTINF:4.0,\nseg7.ts\n"
                    .to_string()
            }
        };
        Some(("200 OK", body))
    });
    let config = example_in(dir.path(), &format!("http://{origin}"));
    let front = launch_with(&config, &[&pair], &[]);
    let cacert = pair.0.to_str().expect("utf-8");
    let plain = format!("http://tr.example.net:{}", front.server.addr.port());
    let tls = format!("https://tr.example.net:{}", front.tls.port());
    let ways: [(&str, &str, Vec<&str>, &str); 5] = [
        ("HTTP/1.1", &plain, vec!["--http1.1"], "1.1"),
        (
            "h2c, prior knowledge",
            &plain,
            vec!["--http2-prior-knowledge"],
            "2",
        ),
        (
            "HTTPS/1.1, TLS 1.2",
            &tls,
            vec!["--http1.1", "--tlsv1.2", "--tls-max", "1.2"],
            "1.1",
        ),
        (
            "HTTPS/1.1, TLS 1.3",
            &tls,
            vec!["--http1.1", "--tlsv1.3"],
            "1.1",
        ),
        (
            "h2 by ALPN, TLS 1.3",
            &tls,
            vec!["--http2", "--tlsv1.3"],
            "2",
        ),
    ];
    for (target, headers) in [
        (SEGMENT, vec!["X-Forwarded-For: 81.2.69.142"]),
        (
            SEGMENT,
            vec!["X-Forwarded-For: 175.16.199.5", "Accept: application/json"],
        ),
        (
            "/vod/movie/seg1.ts?x=1",
            vec!["X-Forwarded-For: 2001:480::7"],
        ),
        // Playlists fetched from the packager and rewritten for the site,
        // a multivariant one pointing at the steering manifest, and the
        // manifest itself.
        ("/live/ch1/index.m3u8", vec!["X-Forwarded-For: 81.2.69.142"]),
        (
            "/live/ch1/master.m3u8",
            vec!["X-Forwarded-For: 89.160.20.128"],
        ),
        (
            "/.steering/live/ch1/master.m3u8?_HLS_pathway=ams",
            vec!["X-Forwarded-For: 81.2.69.142"],
        ),
        // Refused alike: an encoded way out of the path.
        ("/live/%2e%2e/%2e%2e/etc/passwd", vec![]),
    ] {
        let mut answers = Vec::new();
        for (what, base, args, version) in &ways {
            let mut args = args.clone();
            args.extend(["--cacert", cacert]);
            for h in &headers {
                args.extend(["-H", h]);
            }
            let at = if base.starts_with("https") {
                front.tls
            } else {
                front.server.addr
            };
            let seen = curl(at, &format!("{base}{target}"), &args);
            assert_eq!(&seen.version, version, "{what}: {}", seen.trace);
            if base.starts_with("https") {
                let tls = if args.contains(&"--tlsv1.3") {
                    "TLSv1.3"
                } else {
                    "TLSv1.2"
                };
                assert!(
                    seen.trace.contains(&format!("SSL connection using {tls}")),
                    "{what}: {}",
                    seen.trace
                );
            }
            answers.push((what.to_string(), seen.status, seen.location, seen.body));
        }
        let first = answers[0].clone();
        assert!(!first.1.is_empty() && first.1 != "000", "{first:?}");
        if target.contains(".m3u8") {
            assert_eq!(first.1, "200", "{target}: {first:?}");
            let whole = first.3.starts_with("#EXTM3U") || first.3.contains("PATHWAY-PRIORITY");
            assert!(whole, "{target}: {first:?}");
        }
        for a in &answers[1..] {
            assert_eq!(
                (&a.1, &a.2, &a.3),
                (&first.1, &first.2, &first.3),
                "{} vs {}",
                a.0,
                first.0
            );
        }
    }
}

#[test]
fn the_name_asked_for_picks_the_certificate() {
    let dir = tempfile::tempdir().expect("dir");
    let one = certificate(dir.path(), "one", "tr.example.net");
    let two = certificate(dir.path(), "two", "tr2.example.org");
    let front = launch(&[&one, &two], &[]);
    let port = front.tls.port();
    for (name, pem, subject) in [
        ("tr.example.net", &one.0, "O=one"),
        ("tr2.example.org", &two.0, "O=two"),
        // A name no certificate has gets the first (curl is told not to
        // verify it, to see which came).
        ("other.example.com", &one.0, "O=one"),
    ] {
        let url = format!("https://{name}:{port}{SEGMENT}");
        let pem = pem.to_str().expect("utf-8");
        let args = if name.starts_with("other") {
            vec!["-k"]
        } else {
            vec!["--cacert", pem]
        };
        let seen = curl(front.tls, &url, &args);
        assert_eq!(seen.status, "302", "{name}: {}", seen.trace);
        let line = seen
            .trace
            .lines()
            .find(|l| l.contains("subject:"))
            .unwrap_or("");
        assert!(line.contains(subject), "{name}: {}", seen.trace);
    }
}

/// `openssl s_client` to `at` for `name`, one GET on it; what it printed.
fn s_client(at: SocketAddr, args: &[&str]) -> String {
    let mut child = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &at.to_string(),
            "-servername",
            "tr.example.net",
        ])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl runs");
    let mut stdin = child.stdin.take().expect("piped");
    stdin
        .write_all(b"GET /live/ch1/720p/seg1.ts HTTP/1.1\r\nHost: tr.example.net\r\nConnection: close\r\n\r\n")
        .expect("writes");
    // The server closes after the answer; s_client then ends. TLS 1.3
    // tickets come after the handshake, with the answer.
    let mut out = String::new();
    child
        .stdout
        .take()
        .expect("piped")
        .read_to_string(&mut out)
        .expect("reads");
    drop(stdin);
    let _ = child.wait();
    out
}

#[test]
fn sessions_resume_on_tls_12_and_13() {
    let dir = tempfile::tempdir().expect("dir");
    let pair = certificate(dir.path(), "tr", "tr.example.net");
    let front = launch(&[&pair], &[]);
    // Tickets on TLS 1.2 and 1.3, the session cache (no ticket) on TLS 1.2.
    for (version, ticket) in [
        ("-tls1_2", "-ign_eof"),
        ("-tls1_3", "-ign_eof"),
        ("-tls1_2", "-no_ticket"),
    ] {
        let sess = dir.path().join(format!("session{version}{ticket}"));
        let sess = sess.to_str().expect("utf-8");
        let first = s_client(front.tls, &[version, ticket, "-sess_out", sess]);
        assert!(first.contains("302 Found"), "{version}: {first}");
        assert!(first.contains("New, TLSv1."), "{version}: {first}");
        let second = s_client(front.tls, &[version, ticket, "-sess_in", sess]);
        assert!(
            second.contains("Reused, TLSv1."),
            "{version}: not resumed: {second}"
        );
        assert!(second.contains("302 Found"), "{version}: {second}");
    }
}

#[test]
fn bad_tls_input_is_closed_and_logged() {
    let dir = tempfile::tempdir().expect("dir");
    let pair = certificate(dir.path(), "tr", "tr.example.net");
    let front = launch(&[&pair], &["--header-timeout", "1"]);
    // Plain HTTP on the TLS port, then random bytes: each closed, not hung.
    for garbage in [
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        &[0x16, 0x03, 0x01, 0xff, 0xff, 0, 1, 2, 3][..],
    ] {
        let mut s = TcpStream::connect(front.tls).expect("connects");
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        s.write_all(garbage).expect("writes");
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        assert!(out.len() < 64, "an alert at most, got {out:?}");
    }
    // A handshake that stops half-way is closed after the header timeout.
    let mut slow = TcpStream::connect(front.tls).expect("connects");
    slow.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    slow.write_all(&[0x16, 0x03, 0x01, 0x01, 0x00, 0x01])
        .expect("writes");
    let started = Instant::now();
    let mut out = Vec::new();
    let _ = slow.read_to_end(&mut out);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(4),
        "{took:?}"
    );
    // Still serving, and each was said.
    let url = format!("https://tr.example.net:{}{SEGMENT}", front.tls.port());
    let seen = curl(
        front.tls,
        &url,
        &["--cacert", pair.0.to_str().expect("utf-8")],
    );
    assert_eq!(seen.status, "302", "{}", seen.trace);
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && logged(&front.log, "within the header timeout").is_none() {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(logged(&front.log, "TLS handshake failed").is_some());
    assert!(logged(
        &front.log,
        "TLS handshake not finished within the header timeout"
    )
    .is_some());
}

#[test]
fn certificates_reload_without_dropping_connections() {
    let dir = tempfile::tempdir().expect("dir");
    let live = (dir.path().join("live.pem"), dir.path().join("live.key"));
    let old = certificate(dir.path(), "old", "tr.example.net");
    std::fs::copy(&old.0, &live.0).expect("copy");
    std::fs::copy(&old.1, &live.1).expect("copy");
    // The held connection idles across both reloads.
    let front = launch(&[&live], &["--header-timeout", "30"]);
    let subject = |front: &Front| {
        let url = format!("https://tr.example.net:{}{SEGMENT}", front.tls.port());
        let seen = curl(front.tls, &url, &["-k"]);
        assert_eq!(seen.status, "302", "{}", seen.trace);
        let line = seen.trace.lines().find(|l| l.contains("subject:"));
        line.unwrap_or("").to_string()
    };
    let before = subject(&front);
    // A connection open across the reloads (s_client, keep-alive).
    let mut held = Command::new("openssl")
        .args([
            "s_client",
            "-quiet",
            "-connect",
            &front.tls.to_string(),
            "-servername",
            "tr.example.net",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl runs");
    let mut held_in = held.stdin.take().expect("piped");
    let ask = b"GET /live/ch1/720p/seg1.ts HTTP/1.1\r\nHost: tr.example.net\r\n\r\n";
    held_in.write_all(ask).expect("writes");
    let hup = hangup;
    // A key that is not the certificate's: refused, the old one stays.
    let other = certificate(dir.path(), "other", "tr.example.net");
    std::fs::copy(&other.1, &live.1).expect("copy");
    hup(&front);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && logged(&front.log, "certificates refused").is_none() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let refused = logged(&front.log, "certificates refused").expect("the refusal is logged");
    assert!(
        refused.contains("live.pem") && refused.contains("live.key"),
        "{refused}"
    );
    assert_eq!(subject(&front), before, "the running certificate stays");
    // A whole new pair: new handshakes get it.
    std::fs::copy(&other.0, &live.0).expect("copy");
    hup(&front);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && logged(&front.log, "TLS certificates reloaded").is_none() {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(logged(&front.log, "TLS certificates reloaded").is_some());
    let after = subject(&front);
    assert_ne!(after, before, "new handshakes get the new certificate");
    // The connection opened before both reloads still answers.
    held_in
        .write_all(b"GET /live/ch1/720p/seg2.ts HTTP/1.1\r\nHost: tr.example.net\r\nConnection: close\r\n\r\n")
        .expect("writes");
    let mut out = String::new();
    held.stdout
        .take()
        .expect("piped")
        .read_to_string(&mut out)
        .expect("reads");
    drop(held_in);
    let _ = held.wait();
    assert_eq!(out.matches("HTTP/1.1 302").count(), 2, "{out}");
}

#[test]
fn chromium_follows_a_redirect_from_an_https_page() {
    let dir = tempfile::tempdir().expect("dir");
    let pair = certificate(dir.path(), "tr", "tr.example.net");
    let front = launch(&[&pair], &[]);
    let players = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/players");
    let page = format!("https://127.0.0.1:{}/healthz", front.tls.port());
    let out = Command::new("timeout")
        .args(["60", "node", "follow_redirect.mjs", &page, SEGMENT])
        .current_dir(&players)
        .output()
        .expect("node runs (scripts/test installs it and playwright-core)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("follow_redirect.mjs prints JSON");
    assert_eq!(
        seen["pageErrors"].as_array().map(Vec::len),
        Some(0),
        "{seen}"
    );
    let requests = seen["requests"].as_array().cloned().unwrap_or_default();
    let followed = requests
        .iter()
        .find(|r| !r["redirectedBy"].is_null())
        .unwrap_or_else(|| panic!("Chromium followed no redirect: {seen}"));
    let by = &followed["redirectedBy"];
    assert_eq!(by["status"], 302, "{seen}");
    assert_eq!(by["protocol"], "h2", "{seen}");
    assert_eq!(followed["url"], by["location"], "{seen}");
    let location = by["location"].as_str().unwrap_or("");
    assert!(
        location.starts_with("https://") && location.ends_with(SEGMENT),
        "{seen}"
    );
}

#[test]
fn a_tls_session_that_asks_nothing_is_closed_after_the_header_timeout() {
    let dir = tempfile::tempdir().expect("dir");
    let pair = certificate(dir.path(), "tr", "tr.example.net");
    let front = launch(&[&pair], &["--header-timeout", "2"]);
    for alpn in ["h2", "http/1.1"] {
        let started = Instant::now();
        let mut silent = Command::new("openssl")
            .args([
                "s_client",
                "-quiet",
                "-connect",
                &front.tls.to_string(),
                "-alpn",
                alpn,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl runs");
        // Its standard input stays open: it only ends when the server closes.
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut ended = None;
        while Instant::now() < deadline && ended.is_none() {
            ended = silent.try_wait().expect("waits");
            std::thread::sleep(Duration::from_millis(50));
        }
        let took = started.elapsed();
        let _ = silent.kill();
        let _ = silent.wait();
        assert!(ended.is_some(), "{alpn}: still open after {took:?}");
        assert!(
            took >= Duration::from_millis(1800) && took < Duration::from_secs(6),
            "{alpn}: {took:?}"
        );
    }
}

/// Sends SIGHUP to the server.
fn hangup(front: &Front) {
    let pid = front.server.child.id().to_string();
    let sent = Command::new("kill").args(["-HUP", &pid]).status();
    assert!(sent.expect("kill").success());
}

/// Sends SIGHUP to the server, then waits for a log line with `needle`
/// that was not there before; the line.
fn reload_and_wait(front: &Front, needle: &str) -> String {
    let count = |front: &Front| {
        front
            .log
            .lock()
            .map(|v| v.iter().filter(|l| l.contains(needle)).count())
            .unwrap_or(0)
    };
    let before = count(front);
    hangup(front);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && count(front) == before {
        std::thread::sleep(Duration::from_millis(50));
    }
    let lines = front.log.lock().map(|v| v.clone()).unwrap_or_default();
    let found = lines.iter().filter(|l| l.contains(needle)).nth(before);
    found
        .unwrap_or_else(|| panic!("no new {needle:?} in {lines:#?}"))
        .clone()
}

/// A metric's value in the admin listener's /metrics, for the sample line
/// starting with `sample`.
fn metric(front: &Front, sample: &str) -> Option<i64> {
    let admin = front.admin.expect("launched with --admin-listen");
    let text = super::support::get(admin, "/metrics", "");
    text.lines()
        .find(|l| l.starts_with(sample))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn unix_now() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map_or(0, |d| d.as_secs() as i64)
}

#[test]
fn expired_certificates_are_refused_at_start_and_at_reload() {
    let dir = tempfile::tempdir().expect("dir");
    let ca = super::certs::Authority::new(dir.path());
    let expired = [
        "-startdate",
        "20200101000000Z",
        "-enddate",
        "20200102000000Z",
    ];
    let old = ca.issue("old", "tr.example.net", &expired);
    let good = ca.issue("good", "tr.example.net", &["-days", "2"]);
    // At start: refused, the file and the date named, nothing served.
    let out = Command::new(env!("CARGO_BIN_EXE_routecast"))
        .args(["serve", "-c"])
        .arg(example())
        .args(["--listen", "127.0.0.1:0", "--tls-listen", "127.0.0.1:0"])
        .arg("--tls-cert")
        .arg(&old.0)
        .arg("--tls-key")
        .arg(&old.1)
        .output()
        .expect("routecast runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("old.pem") && err.contains("expired on Thu, 02 Jan 2020 00:00:00 GMT"),
        "{err}"
    );
    // At reload: refused, the running certificate stays, still trusted.
    let live = (dir.path().join("live.pem"), dir.path().join("live.key"));
    std::fs::copy(&good.0, &live.0).expect("copy");
    std::fs::copy(&good.1, &live.1).expect("copy");
    let front = launch(&[&live], &["--admin-listen", "127.0.0.1:0"]);
    let url = format!("https://tr.example.net:{}{SEGMENT}", front.tls.port());
    let cacert = ca.cert();
    let trusted = ["--cacert", cacert.to_str().expect("utf-8")];
    assert_eq!(curl(front.tls, &url, &trusted).status, "302");
    let sample = format!(
        "routecast_tls_certificate_expiry_timestamp_seconds{{cert=\"{}\"}}",
        live.0.display()
    );
    let expiry = metric(&front, &sample).expect("the expiry is a metric");
    let two_days = 2 * 86_400;
    assert!((expiry - unix_now() - two_days).abs() < 120, "{expiry}");
    std::fs::copy(&old.0, &live.0).expect("copy");
    std::fs::copy(&old.1, &live.1).expect("copy");
    let refused = reload_and_wait(&front, "certificates refused");
    assert!(
        refused.contains("live.pem") && refused.contains("expired on"),
        "{refused}"
    );
    let seen = curl(front.tls, &url, &trusted);
    assert_eq!(
        seen.status, "302",
        "the running certificate stays: {}",
        seen.trace
    );
    assert_eq!(metric(&front, &sample), Some(expiry));
}

#[test]
fn ocsp_responses_are_stapled_checked_and_reloaded() {
    let dir = tempfile::tempdir().expect("dir");
    let ca = super::certs::Authority::new(dir.path());
    let good = ca.issue("good", "tr.example.net", &["-days", "2"]);
    ca.issue("other", "tr.example.net", &["-days", "2"]);
    let staple = PathBuf::from(format!("{}.ocsp", good.0.display()));
    // At start, a response for another certificate (one left over from
    // before a renewal): the certificate is served, without a staple.
    ca.ocsp("other", &staple);
    let front = launch(&[&good], &["--admin-listen", "127.0.0.1:0"]);
    let warned = logged(&front.log, "OCSP response not stapled").expect("a warning");
    assert!(
        warned.contains("good.pem.ocsp") && warned.contains("no status for this certificate"),
        "{warned}"
    );
    let url = format!("https://tr.example.net:{}{SEGMENT}", front.tls.port());
    let cacert = ca.cert();
    let cacert = cacert.to_str().expect("utf-8");
    // curl asks for the staple and verifies it against the authority.
    let stapled = ["--cacert", cacert, "--cert-status"];
    assert_ne!(curl(front.tls, &url, &stapled).status, "302", "no staple");
    assert_eq!(curl(front.tls, &url, &["--cacert", cacert]).status, "302");
    let cert = good.0.display().to_string();
    let is_stapled = format!("routecast_tls_ocsp_stapled{{cert=\"{cert}\"}}");
    let next_update =
        format!("routecast_tls_ocsp_next_update_timestamp_seconds{{cert=\"{cert}\"}}");
    assert_eq!(metric(&front, &is_stapled), Some(0));
    assert_eq!(metric(&front, &next_update), None);
    // The right response: stapled from the next handshake on.
    ca.ocsp("good", &staple);
    reload_and_wait(&front, "TLS certificates reloaded");
    let seen = curl(front.tls, &url, &stapled);
    assert_eq!(seen.status, "302", "{}", seen.trace);
    let shown = s_client(front.tls, &["-status"]);
    assert!(
        shown.contains("OCSP Response Status: successful"),
        "{shown}"
    );
    assert!(shown.contains("Cert Status: good"), "{shown}");
    assert_eq!(metric(&front, &is_stapled), Some(1));
    let next = metric(&front, &next_update).expect("the staple's next update");
    assert!((next - unix_now() - 86_400).abs() < 120, "{next}");
    // Revoked: stapled as the responder said it, and logged as an error.
    ca.revoke("good");
    ca.ocsp("good", &staple);
    let revoked = reload_and_wait(&front, "the OCSP response says the certificate is revoked");
    assert!(revoked.contains("ERROR"), "{revoked}");
    let shown = s_client(front.tls, &["-status"]);
    assert!(shown.contains("Cert Status: revoked"), "{shown}");
    assert_ne!(
        curl(front.tls, &url, &stapled).status,
        "302",
        "curl refuses it"
    );
    // No response file: no staple.
    std::fs::remove_file(&staple).expect("remove");
    reload_and_wait(&front, "TLS certificates reloaded");
    let shown = s_client(front.tls, &["-status"]);
    assert!(shown.contains("OCSP response: no response sent"), "{shown}");
    assert_eq!(metric(&front, &is_stapled), Some(0));
    assert_eq!(metric(&front, &next_update), None);
}
