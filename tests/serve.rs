//! `routecast serve` on loopback: redirects, JSON decisions, trusted
//! proxies, and hostile requests, through raw TCP and a real client (curl);
//! live load from a real nginx's stub_status (Debian's nginx is required:
//! scripts/test installs it, a missing one fails, never skips).

#[path = "common/nginx.rs"]
mod nginx;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running server, stopped when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `routecast serve -c config --listen 127.0.0.1:0 extra…`; with
/// `admin`, also an admin listener. Returns the server and the admin address.
fn launch(config: &Path, extra: &[&str], admin: bool) -> (Server, Option<SocketAddr>) {
    let (s, admin, _) = launch_inner(config, extra, admin, false);
    (s, admin)
}

/// Lines the server wrote to stderr, collected as they come.
type Log = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// [`launch`] (without an admin listener), collecting its stderr.
fn launch_logged(config: &Path, extra: &[&str]) -> (Server, Log) {
    let (s, _, log) = launch_inner(config, extra, false, true);
    (s, log)
}

fn logged(log: &Log, needle: &str) -> Option<String> {
    log.lock()
        .ok()?
        .iter()
        .find(|l| l.contains(needle))
        .cloned()
}

fn launch_inner(
    config: &Path,
    extra: &[&str],
    admin: bool,
    capture: bool,
) -> (Server, Option<SocketAddr>, Log) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_routecast"))
        .args([
            "serve",
            "-c",
            config.to_str().expect("utf-8"),
            "--listen",
            "127.0.0.1:0",
        ])
        .args(if admin {
            &["--admin-listen", "127.0.0.1:0"][..]
        } else {
            &[]
        })
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(if capture {
            Stdio::piped()
        } else {
            Stdio::inherit()
        })
        .spawn()
        .expect("routecast serve starts");
    let log = Log::default();
    if let Some(stderr) = child.stderr.take() {
        let sink = log.clone();
        std::thread::spawn(move || {
            for l in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(mut v) = sink.lock() {
                    v.push(l);
                }
            }
        });
    }
    let mut lines = BufReader::new(child.stdout.take().expect("piped"));
    let mut read = |prefix: &str| -> SocketAddr {
        let mut line = String::new();
        lines.read_line(&mut line).expect("reads an address line");
        line.trim()
            .strip_prefix(prefix)
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected line {line:?}"))
    };
    let addr = read("routecast: listening on http://");
    let admin = admin.then(|| read("routecast: admin on http://"));
    (Server { child, addr }, admin, log)
}

fn example() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/routecast.toml")
}

/// A copy of the example in `dir` whose playlists come from `origin`.
fn example_in(dir: &Path, origin: &str) -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(example())
        .expect("example")
        .replace(
            "../tests/fixtures",
            &root.join("tests/fixtures").display().to_string(),
        )
        .replace("http://origin.example.net", origin);
    std::fs::copy(root.join("examples/czf.json"), dir.join("czf.json")).expect("czf");
    let config = dir.join("routecast.toml");
    std::fs::write(&config, text).expect("write");
    config
}

/// The body of a whole response.
fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

fn start(extra: &[&str]) -> Server {
    launch(&example(), extra, false).0
}

/// Sends raw bytes, returns the whole response (the server closes after it).
fn raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).expect("connects");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s.write_all(request).expect("writes");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn get(addr: SocketAddr, target: &str, headers: &str) -> String {
    raw(
        addr,
        format!(
            "GET {target} HTTP/1.1\r\nHost: tr.example.net\r\n{headers}Connection: close\r\n\r\n"
        )
        .as_bytes(),
    )
}

fn header<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    response.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn status(response: &str) -> u16 {
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

const SITES: [&str; 7] = ["ams", "fra", "lon", "nyc", "sjc", "sin", "gru"];

#[test]
fn redirects_to_a_configured_site_with_the_path_and_query() {
    let s = start(&[]);
    let r = get(s.addr, "/vod/news/720p/index.m3u8?token=abc", "");
    assert_eq!(status(&r), 302, "{r}");
    let location = header(&r, "location").expect("Location");
    let site = header(&r, "x-routecast-site").expect("site header");
    assert!(SITES.contains(&site));
    assert_eq!(
        location,
        format!("https://{site}.cdn.example.net/vod/news/720p/index.m3u8?token=abc")
    );
    assert_eq!(header(&r, "cache-control"), Some("no-store"));
    assert_eq!(status(&get(s.addr, "/healthz", "")), 200);
}

#[test]
fn forwarded_addresses_count_only_from_trusted_proxies() {
    // Untrusted: 127.0.0.1 itself is the client (no GeoIP data: default group).
    let s = start(&[]);
    let r = get(
        s.addr,
        "/live/a/index.m3u8?format=json",
        "X-Forwarded-For: 81.2.69.142\r\n",
    );
    let body: serde_json::Value =
        serde_json::from_str(r.split("\r\n\r\n").nth(1).expect("body")).expect("JSON");
    assert_eq!(body["group"], "rest-of-world");
    assert!(
        body.get("policy").is_none(),
        "no explanation for untrusted clients"
    );
    drop(s);
    // Trusted: the forwarded address is the client (GB, group uk, prefers lon).
    let s = start(&["--trusted-proxy", "127.0.0.0/8"]);
    let r = get(
        s.addr,
        "/live/a/index.m3u8",
        "X-Forwarded-For: 81.2.69.142\r\nAccept: application/json\r\n",
    );
    let body: serde_json::Value =
        serde_json::from_str(r.split("\r\n\r\n").nth(1).expect("body")).expect("JSON");
    assert_eq!(
        (body["group"].as_str(), body["site"].as_str()),
        (Some("uk"), Some("lon")),
        "{body}"
    );
    assert_eq!(body["url"], "https://lon.cdn.example.net/live/a/index.m3u8");
    assert_eq!(body["policy"], "uk-live");
}

#[test]
fn hostile_requests_get_400_and_never_an_off_platform_location() {
    let s = start(&[]);
    for target in [
        "//evil.example/x",
        "/a/../../etc/passwd",
        "/a/%2e%2e/b",
        "/a%0d%0aLocation:%20http://evil.example/",
        "/\\evil.example/",
        "http://evil.example/x",
    ] {
        let r = get(s.addr, target, "");
        assert_eq!(status(&r), 400, "{target}: {r}");
        assert!(header(&r, "location").is_none(), "{target}");
    }
    let r = raw(
        s.addr,
        b"POST /live/x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status(&r), 405);
    // A 20 KB header is refused (431), and so is a flood of header fields.
    let big = format!("X-Big: {}\r\n", "a".repeat(20_000));
    assert_eq!(status(&get(s.addr, "/live/x", &big)), 431);
    let many: String = (0..200).map(|i| format!("X-H{i}: v\r\n")).collect();
    assert_eq!(status(&get(s.addr, "/live/x", &many)), 431);
    // Raw CR/LF or spaces in the request line are not even HTTP.
    assert_eq!(
        status(&raw(s.addr, b"GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n")),
        400
    );
}

#[test]
fn curl_gets_the_redirect() {
    let s = start(&[]);
    let url = format!("http://{}/vod/films/title001/720p.mp4", s.addr);
    let o = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{redirect_url}",
            &url,
        ])
        .output()
        .expect("curl runs (scripts/test installs Debian's curl)");
    let out = String::from_utf8_lossy(&o.stdout);
    let (code, to) = out.split_once(' ').expect("code and URL");
    assert_eq!(code, "302");
    assert!(SITES.iter().any(|site| to == format!("https://{site}.cdn.example.net/vod/films/title001/720p.mp4")), "{to}");
}

#[test]
fn slow_clients_are_cut_off() {
    let s = start(&["--header-timeout", "1"]);
    let mut c = TcpStream::connect(s.addr).expect("connects");
    c.write_all(b"GET /live/x HTTP/1.1\r\nHost: a\r\n")
        .expect("writes");
    c.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let started = std::time::Instant::now();
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "closed after the header timeout"
    );
    let text = String::from_utf8_lossy(&out);
    assert!(text.is_empty() || status(&text) == 408, "{text}");
}

/// A tiny HTTP server on loopback answering every request with `answer()`
/// (status line and body), for stand-in health and statistics endpoints.
fn responder(answer: impl Fn() -> (&'static str, String) + Send + Sync + 'static) -> SocketAddr {
    responder_for(move |_| Some(answer()))
}

/// A loopback HTTP server answering each request with `answer(path)`; `None`
/// keeps the connection open without a word for 3 s (a hung origin).
fn responder_for(
    answer: impl Fn(&str) -> Option<(&'static str, String)> + Send + Sync + 'static,
) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let addr = listener.local_addr().expect("addr");
    let answer = std::sync::Arc::new(answer);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut c) = conn else { continue };
            let answer = answer.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 2048];
                let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
                let n = c.read(&mut buf).unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]);
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                match answer(&path) {
                    Some((status, body)) => {
                        let _ = c.write_all(
                            format!(
                                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                                body.len()
                            )
                            .as_bytes(),
                        );
                    }
                    None => std::thread::sleep(Duration::from_secs(3)),
                }
            });
        }
    });
    addr
}

/// A stand-in for a site's health endpoint: answers 200 or 503 on demand.
struct Upstream {
    addr: SocketAddr,
    healthy: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

fn upstream() -> Upstream {
    use std::sync::atomic::{AtomicBool, Ordering};
    let healthy = std::sync::Arc::new(AtomicBool::new(true));
    let flag = healthy.clone();
    let addr = responder(move || {
        let status = if flag.load(Ordering::Relaxed) {
            "200 OK"
        } else {
            "503 Service Unavailable"
        };
        (status, String::new())
    });
    Upstream { addr, healthy }
}

/// The site a request for `/live/x` is sent to, by its X-Routecast-Site header.
fn site_of(s: &Server) -> String {
    header(&get(s.addr, "/live/x", ""), "x-routecast-site")
        .unwrap_or("none")
        .to_string()
}

/// Polls until `f` holds or `limit` passes; returns the time it took.
fn within(limit: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if f() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn a_failing_site_leaves_rotation_within_interval_times_fall_and_comes_back() {
    use std::sync::atomic::Ordering;
    let (a, b) = (upstream(), upstream());
    let dir = tempfile::tempdir().expect("temp dir");
    let (s, _admin) = start_checked(&a, &b, dir.path());
    assert_eq!(site_of(&s), "a");
    a.healthy.store(false, Ordering::Relaxed);
    // interval × fall = 400 ms, plus at most one interval until the first
    // failing check, the check's timeout (150 ms) and 250 ms of scheduling
    // slack for a loaded 2-core test machine: 1 s.
    let limit = Duration::from_millis(400 + 200 + 150 + 250);
    let out = within(Duration::from_secs(5), || site_of(&s) == "b").expect("a leaves rotation");
    assert!(out <= limit, "took {out:?}");
    assert_eq!(
        status(&get(s.addr, "/live/x", "")),
        302,
        "b still serves: no 5xx"
    );
    a.healthy.store(true, Ordering::Relaxed);
    let back = within(Duration::from_secs(5), || site_of(&s) == "a").expect("a comes back");
    assert!(back <= limit, "took {back:?}");
    // Both down: no site, 503 (never a redirect to a dead site).
    a.healthy.store(false, Ordering::Relaxed);
    b.healthy.store(false, Ordering::Relaxed);
    within(Duration::from_secs(5), || {
        status(&get(s.addr, "/live/x", "")) == 503
    })
    .expect("503 when every site is down");
}

#[test]
fn metrics_and_status_are_on_the_admin_listener_only() {
    let (s, admin) = launch(&example(), &["--trusted-proxy", "127.0.0.0/8"], true);
    let admin = admin.expect("admin listener");
    assert_eq!(
        status(&get(
            s.addr,
            "/live/a/seg1.ts",
            "X-Forwarded-For: 81.2.69.142\r\n"
        )),
        302
    );
    assert_eq!(status(&get(s.addr, "//evil", "")), 400);
    let m = get(admin, "/metrics", "");
    assert_eq!(status(&m), 200, "{m}");
    assert!(
        m.contains(r#"routecast_requests_total{site="lon",group="uk",status="302"} 1"#),
        "{m}"
    );
    assert!(
        m.contains(r#"routecast_requests_total{site="-",group="-",status="400"} 1"#),
        "{m}"
    );
    assert!(m.contains("routecast_decision_seconds_count 1"), "{m}");
    assert!(m.contains(r#"routecast_site_up{site="gru"} 1"#), "{m}");
    let st = get(admin, "/status", "");
    let body: serde_json::Value =
        serde_json::from_str(st.split("\r\n\r\n").nth(1).expect("body")).expect("JSON");
    assert_eq!(body["sites"].as_array().map(Vec::len), Some(7));
    assert_eq!(body["sites"][6]["state"], "draining");
    // The public listener has no admin endpoints: /metrics is just a path.
    assert!(!get(s.addr, "/metrics", "").contains("routecast_requests"));
}

/// A redirector over two health-checked sites `a` and `b` (prefers `a`), with
/// an admin listener; returns it and the admin address.
fn start_checked(a: &Upstream, b: &Upstream, dir: &Path) -> (Server, SocketAddr) {
    let site = |name: &str, up: &Upstream| {
        format!(
            "[[sites]]\nname = \"{name}\"\nurls = [\"https://{name}.example.net\"]\nlocation = {{ lat = 0, lon = 0 }}\n\
             health = {{ url = \"http://{}/healthz\", interval_ms = 200, timeout_ms = 150, rise = 2, fall = 2 }}\n\n",
            up.addr
        )
    };
    let config = dir.join("checked.toml");
    let text = format!("{}{}[[policies]]\nname = \"p\"\nsteps = [{{ step = \"preference\", sites = [\"a\", \"b\"] }}]\n", site("a", a), site("b", b));
    std::fs::write(&config, text).expect("write config");
    let (s, admin) = launch(&config, &[], true);
    (s, admin.expect("admin listener"))
}

fn check(admin: &str) -> (i32, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_routecast"))
        .args(["check", "--url", admin, "--timeout", "5"])
        .output()
        .expect("check runs");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

#[test]
fn routecast_check_reports_ok_warning_critical_and_unknown() {
    use std::sync::atomic::Ordering;
    let (a, b) = (upstream(), upstream());
    let dir = tempfile::tempdir().expect("temp dir");
    let (s, admin) = start_checked(&a, &b, dir.path());
    let admin = format!("http://{admin}");
    assert_eq!(site_of(&s), "a");
    let (code, out) = check(&admin);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("ROUTECAST OK - 2/2 sites up, all sites up, mean decision "),
        "{out}"
    );
    assert!(
        out.contains("| sites_up=2;1;0;0;2 sites_down=0;1;2;0;2 decision_ms="),
        "{out}"
    );
    assert_eq!(out.lines().count(), 1);
    a.healthy.store(false, Ordering::Relaxed);
    within(Duration::from_secs(5), || check(&admin).0 == 1).expect("WARNING with one site down");
    assert!(check(&admin).1.contains("sites down: a"));
    b.healthy.store(false, Ordering::Relaxed);
    within(Duration::from_secs(5), || check(&admin).0 == 2).expect("CRITICAL with both down");
    drop(s);
    let (code, out) = check(&admin);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.starts_with("ROUTECAST UNKNOWN - no answer from"),
        "{out}"
    );
}

#[test]
fn the_access_log_is_replayed_by_simulate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("access.log");
    let s = start(&[
        "--access-log",
        log.to_str().expect("utf-8"),
        "--trusted-proxy",
        "127.0.0.0/8",
    ]);
    for client in ["81.2.69.142", "175.16.199.5", "2001:480::7"] {
        assert_eq!(
            status(&get(
                s.addr,
                "/live/ch1/720p/seg1.ts",
                &format!("X-Forwarded-For: {client}\r\n")
            )),
            302
        );
    }
    assert_eq!(
        status(&get(s.addr, "//evil", "")),
        400,
        "not routed, not logged"
    );
    let lines = || {
        std::fs::read_to_string(&log)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    within(Duration::from_secs(5), || lines() == 3).expect("three lines written");
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(
        text.lines().next().is_some_and(
            |l| l.contains(" chi=81.2.69.142 rhi=127.0.0.1 ") && l.contains("pssc=302")
        ),
        "{text}"
    );
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/routecast.toml");
    let out = dir.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_routecast"))
        .args([
            "simulate",
            "-q",
            "--request-bytes",
            "1000000",
            "-c",
            config.to_str().expect("utf-8"),
            "-o",
            out.to_str().expect("utf-8"),
            log.to_str().expect("utf-8"),
        ])
        .output()
        .expect("simulate runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).expect("summary"))
            .expect("JSON");
    assert_eq!(summary["summary"]["stats"]["requests"], 3);
    let lon = summary["summary"]["sites"]
        .as_array()
        .expect("sites")
        .iter()
        .find(|s| s["name"] == "lon")
        .expect("lon");
    assert_eq!(
        lon["requests"], 1,
        "the GB client goes to lon in the replay as in the server"
    );
}

fn post(addr: SocketAddr, path: &str, token: Option<&str>) -> String {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    raw(addr, format!("POST {path} HTTP/1.1\r\nHost: admin\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n").as_bytes())
}

#[test]
fn operators_drain_and_restore_a_site_with_a_token() {
    let dir = tempfile::tempdir().expect("temp dir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "s3cret-token-for-tests\n").expect("write token");
    let token = token_file.to_str().expect("utf-8");
    let (s, admin) = launch(
        &example(),
        &[
            "--trusted-proxy",
            "127.0.0.0/8",
            "--admin-token-file",
            token,
        ],
        true,
    );
    let admin = admin.expect("admin listener");
    let uk = |s: &Server| {
        header(
            &get(
                s.addr,
                "/live/a/seg1.ts",
                "X-Forwarded-For: 81.2.69.142\r\n",
            ),
            "x-routecast-site",
        )
        .map(str::to_string)
    };
    assert_eq!(uk(&s).as_deref(), Some("lon"));
    assert_eq!(status(&post(admin, "/sites/lon/drain", None)), 401);
    assert_eq!(
        status(&post(
            admin,
            "/sites/lon/drain",
            Some("wrong-token-of-same-size")
        )),
        401
    );
    let r = post(admin, "/sites/lon/drain", Some("s3cret-token-for-tests"));
    assert_eq!(status(&r), 200, "{r}");
    assert!(r.contains("\"state\":\"draining\""), "{r}");
    assert_eq!(
        uk(&s).as_deref(),
        Some("ams"),
        "a draining site takes no new viewers"
    );
    let st = get(admin, "/status", "");
    let body: serde_json::Value =
        serde_json::from_str(st.split("\r\n\r\n").nth(1).expect("body")).expect("JSON");
    let lon = body["sites"]
        .as_array()
        .expect("sites")
        .iter()
        .find(|x| x["site"] == "lon")
        .expect("lon");
    assert_eq!(lon["state"], "draining");
    assert_eq!(
        status(&post(
            admin,
            "/sites/lon/reset",
            Some("s3cret-token-for-tests")
        )),
        200
    );
    assert_eq!(uk(&s).as_deref(), Some("lon"));
    assert_eq!(
        status(&post(
            admin,
            "/sites/paris/drain",
            Some("s3cret-token-for-tests")
        )),
        404
    );
    // The public listener has no admin actions.
    assert_ne!(
        status(&post(
            s.addr,
            "/sites/lon/drain",
            Some("s3cret-token-for-tests")
        )),
        200
    );
    drop(s);
    // Without a token file, actions are refused outright.
    let (a, b) = (upstream(), upstream());
    let (s2, admin2) = start_checked(&a, &b, dir.path());
    assert_eq!(
        status(&post(admin2, "/sites/a/drain", Some("anything"))),
        403
    );
    drop(s2);
}

#[test]
fn configuration_reloads_on_sighup_and_on_change_and_bad_ones_are_refused() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("routecast.toml");
    let example = std::fs::read_to_string(root.join("examples/routecast.toml"))
        .expect("example")
        .replace(
            "../tests/fixtures",
            &root.join("tests/fixtures").display().to_string(),
        );
    std::fs::copy(root.join("examples/czf.json"), dir.path().join("czf.json")).expect("czf");
    std::fs::write(&config, &example).expect("write");
    let (s, log) = launch_logged(&config, &["--trusted-proxy", "127.0.0.0/8"]);
    let addr = s.addr;
    let pid = s.child.id().to_string();
    let uk = || {
        header(
            &get(addr, "/live/a/seg1.ts", "X-Forwarded-For: 81.2.69.142\r\n"),
            "x-routecast-site",
        )
        .map(str::to_string)
    };
    let hup = || {
        assert!(Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .expect("kill runs")
            .success())
    };
    assert_eq!(uk().as_deref(), Some("lon"));
    // SIGHUP with a new preference: the UK now goes to ams.
    std::fs::write(
        &config,
        example.replace(
            "sites = [\"lon\", \"ams\"] }",
            "sites = [\"ams\", \"lon\"] }",
        ),
    )
    .expect("write");
    hup();
    within(Duration::from_secs(5), || uk().as_deref() == Some("ams")).expect("reloaded on SIGHUP");
    // A broken configuration is refused, loudly, and the running one stays.
    std::fs::write(
        &config,
        example.replace(
            "sites = [\"lon\", \"ams\"] }",
            "sites = [\"ams\", \"paris\"] }",
        ),
    )
    .expect("write");
    hup();
    within(Duration::from_secs(5), || {
        logged(&log, "reload rejected").is_some()
    })
    .expect("rejection logged");
    assert!(logged(&log, "preference names no site \"paris\"").is_some());
    for _ in 0..20 {
        assert_eq!(
            uk().as_deref(),
            Some("ams"),
            "no failed request while a bad configuration is pushed"
        );
    }
    // Without a signal, a changed file is picked up within a few seconds.
    std::thread::sleep(Duration::from_millis(1100)); // a new modification time
    std::fs::write(&config, &example).expect("write");
    within(Duration::from_secs(8), || uk().as_deref() == Some("lon")).expect("reloaded on change");
    drop(s);
}

#[test]
fn sigterm_stops_gracefully_closing_idle_keep_alive_connections() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("access.log");
    let mut s = start(&["--access-log", log.to_str().expect("utf-8")]);
    // A keep-alive connection that made one request and stays open.
    let mut c = TcpStream::connect(s.addr).expect("connects");
    c.write_all(b"GET /live/x/seg1.ts HTTP/1.1\r\nHost: a\r\n\r\n")
        .expect("writes");
    let mut buf = [0u8; 1024];
    let n = c.read(&mut buf).expect("reads the answer");
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 302"));
    let pid = s.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs")
        .success());
    let stopped = within(Duration::from_secs(5), || {
        matches!(s.child.try_wait(), Ok(Some(_)))
    });
    assert!(
        stopped.is_some(),
        "exits without waiting for the idle connection"
    );
    assert_eq!(
        s.child.try_wait().ok().flatten().and_then(|st| st.code()),
        Some(0)
    );
    let text = std::fs::read_to_string(&log).expect("access log");
    assert_eq!(
        text.lines().count(),
        1,
        "the access log was flushed: {text:?}"
    );
}

/// A stand-in statistics endpoint answering `{"traffic":{"mbps": X}}`.
struct Stats {
    addr: SocketAddr,
    mbps: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

fn stats() -> Stats {
    use std::sync::atomic::{AtomicU64, Ordering};
    let mbps = std::sync::Arc::new(AtomicU64::new(0));
    let value = mbps.clone();
    let addr = responder(move || {
        (
            "200 OK",
            format!(
                "{{\"traffic\":{{\"mbps\":{}}}}}",
                value.load(Ordering::Relaxed)
            ),
        )
    });
    Stats { addr, mbps }
}

#[test]
fn polled_load_and_recent_sessions_move_viewers_off_a_full_site() {
    use std::sync::atomic::Ordering;
    let s_a = stats();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("load.toml");
    let text = format!(
        "[[sites]]\nname = \"a\"\nurls = [\"https://a.example.net\"]\nlocation = {{ lat = 0, lon = 0 }}\ncapacity_mbps = 100\n\
         load = {{ url = \"http://{}/stats\", format = \"json\", field = \"traffic.mbps\", interval_ms = 200 }}\n\n\
         [[sites]]\nname = \"b\"\nurls = [\"https://b.example.net\"]\nlocation = {{ lat = 0, lon = 0 }}\n\n\
         [[policies]]\nname = \"p\"\nsteps = [{{ step = \"preference\", sites = [\"a\", \"b\"] }}, {{ step = \"capacity\", headroom = 0.0 }}]\n",
        s_a.addr
    );
    std::fs::write(&config, text).expect("write");
    let (s, _) = launch(&config, &["--session-mbps", "10"], false);
    // Idle: a. Each redirect adds 10 Mbit/s until the next poll, so a burst
    // of more than 10 requests between two polls spills to b.
    // 30 requests take a few ms: at most one poll falls inside, leaving a run
    // of at least 15 that must spill after the 10th.
    let burst: Vec<String> = (0..30).map(|_| site_of(&s)).collect();
    assert_eq!(burst[0], "a");
    assert!(
        burst.iter().any(|x| x == "b"),
        "a burst overfills a before its statistics say so: {burst:?}"
    );
    // a reports 150 Mbit/s of its own: everybody goes to b.
    s_a.mbps.store(150, Ordering::Relaxed);
    within(Duration::from_secs(5), || {
        (0..5).all(|_| site_of(&s) == "b")
    })
    .expect("a full site takes nobody");
    // a reports 0 again: back to a after the next poll.
    s_a.mbps.store(0, Ordering::Relaxed);
    within(Duration::from_secs(5), || site_of(&s) == "a").expect("a is preferred again");
}

/// A slow download from nginx: the response head read, then the body read
/// as it comes until `stop`, when the connection is dropped mid-body.
fn slow_download(
    addr: SocketAddr,
    path: &str,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let mut s = TcpStream::connect(addr).expect("connects to nginx");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: origin\r\nConnection: close\r\n\r\n"
    )
    .expect("writes");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut byte).expect("reads the head"), 1, "{head:?}");
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 200"), "{head:?}");
    std::thread::spawn(move || {
        let mut buf = [0u8; 16384];
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            if matches!(s.read(&mut buf), Ok(0) | Err(_)) {
                break;
            }
        }
    })
}

/// The `polled_mbps` of site `i` in the admin listener's `/status`.
fn polled_mbps(admin: SocketAddr, i: usize) -> Option<f64> {
    let r = get(admin, "/status", "");
    let v: serde_json::Value = serde_json::from_str(body(&r)).ok()?;
    v["sites"][i]["polled_mbps"].as_f64()
}

#[test]
fn nginx_stub_status_counts_the_connections_it_is_writing_to() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().expect("temp dir");
    let (root, logs) = (dir.path().join("root"), dir.path().join("nginx"));
    for d in [&root, &logs] {
        std::fs::create_dir(d).expect("mkdir");
    }
    // 20 MB sent at 1 MB/s: every download takes 20 s, far longer than the
    // test holds them.
    std::fs::write(root.join("big.bin"), vec![0u8; 20 << 20]).expect("write big.bin");
    let site = nginx::Nginx::start(&logs, |port| {
        format!(
            "    server {{\n        listen 127.0.0.1:{port};\n        root {};\n        \
             location = /nginx_status {{ stub_status; }}\n        \
             location = /big.bin {{ limit_rate 1m; }}\n    }}",
            root.display()
        )
    });
    let config = dir.path().join("stub.toml");
    let text = format!(
        "[[sites]]\nname = \"a\"\nurls = [\"https://a.example.net\"]\nlocation = {{ lat = 0, lon = 0 }}\ncapacity_mbps = 10\n\
         load = {{ url = \"{}\", format = \"stub_status\", mbps_per_connection = 2.5, interval_ms = 100 }}\n\n\
         [[sites]]\nname = \"b\"\nurls = [\"https://b.example.net\"]\nlocation = {{ lat = 0, lon = 0 }}\n\n\
         [[policies]]\nname = \"p\"\nsteps = [{{ step = \"preference\", sites = [\"a\", \"b\"] }}, {{ step = \"capacity\", headroom = 0.0 }}]\n",
        site.url("/nginx_status")
    );
    std::fs::write(&config, text).expect("write");
    // Sessions add nothing: the load is nginx's figure alone.
    let (s, admin) = launch(&config, &["--session-mbps", "0"], true);
    let admin = admin.expect("admin listener");
    let settles_at = |mbps: f64| {
        within(Duration::from_secs(5), || {
            polled_mbps(admin, 0) == Some(mbps)
        })
        .unwrap_or_else(|| panic!("polled {:?}, expected {mbps}", polled_mbps(admin, 0)))
    };
    // Idle, nginx is writing to one connection: the poll's own request.
    settles_at(2.5);
    assert_eq!(site_of(&s), "a");
    // K slow downloads: K + 1 writing connections, 12.5 Mbit/s > capacity 10.
    const K: usize = 4;
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let downloads: Vec<_> = (0..K)
        .map(|_| slow_download(site.addr, "/big.bin", stop.clone()))
        .collect();
    settles_at((K + 1) as f64 * 2.5);
    assert_eq!(site_of(&s), "b", "a full site takes nobody");
    // Several polls later it still reads K + 1 (nginx is still sending).
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(polled_mbps(admin, 0), Some((K + 1) as f64 * 2.5));
    // The downloads end (clients gone mid-body): back to the poll alone.
    stop.store(true, Ordering::Relaxed);
    for d in downloads {
        d.join().expect("download thread");
    }
    settles_at(2.5);
    assert_eq!(site_of(&s), "a");
}

#[test]
fn steering_manifests_rank_pathways_for_the_client_and_the_load() {
    let s = start(&["--trusted-proxy", "127.0.0.0/8", "--steering-ttl", "30"]);
    let r = get(
        s.addr,
        "/.steering/live/news/master.m3u8?_HLS_pathway=ams&_HLS_throughput=5000000",
        "X-Forwarded-For: 81.2.69.142\r\n",
    );
    assert_eq!(status(&r), 200, "{r}");
    assert_eq!(header(&r, "content-type"), Some("application/json"));
    let m: serde_json::Value =
        serde_json::from_str(r.split("\r\n\r\n").nth(1).expect("body")).expect("JSON");
    assert_eq!(m["VERSION"], 1);
    assert_eq!(m["TTL"], 30);
    assert_eq!(m["RELOAD-URI"], "/.steering/live/news/master.m3u8");
    let pathways: Vec<&str> = m["PATHWAY-PRIORITY"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|p| p.as_str())
        .collect();
    // The UK client under uk-live: lon, then ams, then by price; all sites serve /live/.
    assert_eq!(pathways.first(), Some(&"lon"));
    assert_eq!(pathways.get(1), Some(&"ams"));
    assert_eq!(pathways.len(), 7);
    // The draining site comes last.
    assert_eq!(pathways.last(), Some(&"gru"));
}

#[test]
fn ten_thousand_hostile_requests_never_crash_or_redirect_off_platform() {
    // The example, its /live/ playlists fetched from a loopback origin.
    let dir = tempfile::tempdir().expect("temp dir");
    let origin = responder_for(|_| {
        Some((
            "200 OK",
            "#EXTM3U\n#EXTINF:4,\nseg.ts\n#EXTINF:4,\nhttps://elsewhere.example/x.ts\n".to_string(),
        ))
    });
    let config = example_in(dir.path(), &format!("http://{origin}"));
    let (s, _) = launch(&config, &["--trusted-proxy", "127.0.0.0/8"], false);
    let mut playlists = 0;
    // A fixed-seed generator of nasty targets and headers (SplitMix64).
    let mut rng = routecast_engine::hash::SplitMix64::new(0x5eed);
    let mut next = move || rng.next_u64();
    let pieces: [&[u8]; 22] = [
        b"/",
        b"//",
        b"/live/",
        b"/vod/",
        b"..",
        b"%2e%2E",
        b"%0d%0a",
        b"\\",
        b"@evil.example",
        b"http://evil.example",
        b"?",
        b"#",
        b"%",
        b"%zz",
        b"\xff\xfe",
        b" ",
        b"\t",
        b"Location: x",
        b";",
        b"a",
        b"index.m3u8",
        b"%5C",
    ];
    let headers: [&str; 6] = [
        "X-Forwarded-For: evil.example\r\n",
        "X-Forwarded-For: 81.2.69.142, ::1\r\n",
        "Forwarded: for=\"[::1\r\n",
        "Host: evil.example\r\n",
        "Accept: application/json\r\n",
        "",
    ];
    let mut statuses = std::collections::BTreeMap::new();
    for _ in 0..10_000 {
        let mut target = Vec::new();
        for _ in 0..(1 + next() % 6) {
            target.extend_from_slice(pieces[(next() % pieces.len() as u64) as usize]);
        }
        let mut req = b"GET ".to_vec();
        req.extend_from_slice(&target);
        req.extend_from_slice(b" HTTP/1.1\r\nHost: tr.example.net\r\n");
        req.extend_from_slice(headers[(next() % headers.len() as u64) as usize].as_bytes());
        req.extend_from_slice(b"Connection: close\r\n\r\n");
        let r = raw(s.addr, &req);
        let code = status(&r);
        *statuses.entry(code).or_insert(0u32) += 1;
        assert!(
            [200, 302, 400, 404, 431, 503, 0].contains(&code),
            "unexpected {code} for {:?}: {r}",
            String::from_utf8_lossy(&req)
        );
        if header(&r, "content-type") == Some("application/vnd.apple.mpegurl") {
            playlists += 1;
            for uri in body(&r).lines().filter(|l| !l.starts_with('#')) {
                assert!(
                    uri == "https://elsewhere.example/x.ts"
                        || SITES.iter().any(|site| uri
                            .starts_with(&format!("https://{site}.cdn.example.net/live/"))),
                    "off-platform URI {uri:?} for {:?}",
                    String::from_utf8_lossy(&target)
                );
            }
        }
        if let Some(location) = header(&r, "location") {
            assert!(
                SITES
                    .iter()
                    .any(|site| location.starts_with(&format!("https://{site}.cdn.example.net/"))),
                "off-platform Location {location:?} for {:?}",
                String::from_utf8_lossy(&target)
            );
        }
    }
    // Still serving.
    assert_eq!(status(&get(s.addr, "/healthz", "")), 200);
    assert!(playlists > 0, "some targets were playlists: {statuses:?}");
    assert!(
        statuses.get(&400).copied().unwrap_or(0) > 1000
            && statuses.get(&302).copied().unwrap_or(0) > 100,
        "{statuses:?}"
    );
}

// ------------------------------------------------------------ playlists ----

/// A stand-in origin behind one site: serves playlists by path, or fails.
struct Origin {
    addr: SocketAddr,
    /// 0: serves; 1: answers 503; 2: hangs.
    mode: std::sync::Arc<std::sync::atomic::AtomicU8>,
    /// Paths asked for, in order.
    asked: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

const SERVES: u8 = 0;
const FAILS: u8 = 1;
const HANGS: u8 = 2;

/// A live media playlist: relative, absolute-path and absolute URIs on the
/// origin itself, a key and an init segment.
fn media_playlist(me: SocketAddr) -> String {
    format!(
        "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:100\n\
         #EXT-X-KEY:METHOD=AES-128,URI=\"key.bin\"\n#EXT-X-MAP:URI=\"init.mp4\"\n\
         #EXTINF:4.0,\nseg100.ts\n#EXTINF:4.0,\n/live/show/seg101.ts\n\
         #EXTINF:4.0,\nhttp://{me}/live/show/seg102.ts?v=1\n#EXTINF:4.0,\n720p/../seg103.ts\n"
    )
}

const MULTIVARIANT: &str = "#EXTM3U\n#EXT-X-VERSION:6\n\
    #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"en\",DEFAULT=YES,URI=\"audio/index.m3u8\"\n\
    #EXT-X-STREAM-INF:BANDWIDTH=800000,AUDIO=\"aud\"\nlow/index.m3u8\n\
    #EXT-X-STREAM-INF:BANDWIDTH=3000000,AUDIO=\"aud\"\nhigh/index.m3u8\n";

/// What a hostile origin writes: other hosts, other schemes, tricks.
const HOSTILE_URIS: [&str; 6] = [
    "https://evil.example/steal.ts",
    "javascript:alert(1)",
    "//evil.example/x.ts",
    "http://127.0.0.1@evil.example/live/x.ts",
    "data:text/html,<script>alert(1)</script>",
    "HTTPS://EVIL.EXAMPLE/Y.TS",
];

fn origin() -> Origin {
    use std::sync::atomic::{AtomicU8, Ordering};
    let mode = std::sync::Arc::new(AtomicU8::new(SERVES));
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (m, a) = (mode.clone(), asked.clone());
    let me = std::sync::Arc::new(std::sync::OnceLock::<SocketAddr>::new());
    let me2 = me.clone();
    let addr = responder_for(move |path| {
        if let Ok(mut a) = a.lock() {
            a.push(path.to_string());
        }
        let me = *me2.get().expect("address known");
        match m.load(Ordering::Relaxed) {
            FAILS => return Some(("503 Service Unavailable", "down".into())),
            HANGS => return None,
            _ => {}
        }
        let body = match path.split('?').next().unwrap_or("") {
            "/live/show/index.m3u8" => media_playlist(me),
            "/live/show/master.m3u8" => MULTIVARIANT.to_string(),
            "/live/hostile.m3u8" => {
                let mut t = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n".to_string();
                for u in HOSTILE_URIS {
                    t.push_str(&format!(
                        "#EXT-X-KEY:METHOD=AES-128,URI=\"{u}\"\n#EXTINF:4,\n{u}\n"
                    ));
                }
                t + "#EXTINF:4,\nseg1.ts\n"
            }
            "/live/cr.m3u8" => {
                "#EXTM3U\n#EXTINF:4,\nseg1.ts\rhttps://evil.example/x.ts\n".to_string()
            }
            "/live/html.m3u8" => "<html>maintenance</html>".to_string(),
            _ => return Some(("404 Not Found", String::new())),
        };
        Some(("200 OK", body))
    });
    let _ = me.set(addr);
    Origin { addr, mode, asked }
}

/// Sites `a` and `b` (preferred in that order), each with a public URL and
/// a loopback `http://` URL where its origin answers; `/live/` playlists
/// served by routecast with steering. Admin listener with a token.
fn start_playlists(a: &Origin, b: &Origin, dir: &Path) -> (Server, SocketAddr) {
    start_playlists_with(a, b, dir, &[])
}

fn start_playlists_with(
    a: &Origin,
    b: &Origin,
    dir: &Path,
    extra: &[&str],
) -> (Server, SocketAddr) {
    let site = |name: &str, o: &Origin| {
        format!(
            "[[sites]]\nname = \"{name}\"\nurls = [\"https://{name}.example.net\", \"http://{}\"]\nlocation = {{ lat = 0, lon = 0 }}\n\n",
            o.addr
        )
    };
    let config = dir.join("playlists.toml");
    let text = format!(
        "{}{}[[policies]]\nname = \"p\"\nsteps = [{{ step = \"preference\", sites = [\"a\", \"b\"] }}]\n\n\
         [[playlists]]\ncontent = [\"/live/\"]\norigin = \"site\"\nsteering = true\ntimeout_ms = 500\n",
        site("a", a),
        site("b", b)
    );
    std::fs::write(&config, text).expect("write config");
    let token = dir.join("token");
    std::fs::write(&token, "s3cret-token-for-tests\n").expect("write token");
    let mut args = vec!["--admin-token-file", token.to_str().expect("utf-8")];
    args.extend_from_slice(extra);
    let (s, admin) = launch(&config, &args, true);
    (s, admin.expect("admin listener"))
}

/// Every URI of a playlist: URI lines and `URI="…"` attributes.
fn playlist_uris(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        if !line.starts_with('#') && !line.trim().is_empty() {
            out.push(line.to_string());
        }
        for part in line.split("URI=\"").skip(1) {
            out.push(part.split('"').next().unwrap_or("").to_string());
        }
    }
    out
}

/// The segment URIs (lines after `#EXTINF`).
fn segments(text: &str) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().collect();
    lines
        .windows(2)
        .filter(|w| w[0].starts_with("#EXTINF"))
        .map(|w| w[1])
        .collect()
}

#[test]
fn a_media_playlist_comes_back_with_every_segment_at_the_chosen_site() {
    let (a, b) = (origin(), origin());
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("access.log");
    let (s, _) = start_playlists_with(
        &a,
        &b,
        dir.path(),
        &["--access-log", log.to_str().expect("utf-8")],
    );
    let r = get(s.addr, "/live/show/index.m3u8?token=t1", "");
    assert_eq!(status(&r), 200, "{r}");
    assert_eq!(
        header(&r, "content-type"),
        Some("application/vnd.apple.mpegurl")
    );
    assert_eq!(header(&r, "cache-control"), Some("no-store"));
    assert_eq!(header(&r, "x-routecast-site"), Some("a"));
    assert_eq!(
        segments(body(&r)),
        [
            "https://a.example.net/live/show/seg100.ts",
            "https://a.example.net/live/show/seg101.ts",
            "https://a.example.net/live/show/seg102.ts?v=1",
            "https://a.example.net/live/show/seg103.ts",
        ]
    );
    assert!(body(&r)
        .contains("#EXT-X-KEY:METHOD=AES-128,URI=\"https://a.example.net/live/show/key.bin\"\n"));
    assert!(body(&r).contains("#EXT-X-MAP:URI=\"https://a.example.net/live/show/init.mp4\"\n"));
    // Tags other than URIs are as the origin wrote them.
    assert!(body(&r).starts_with(
        "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:100\n"
    ));
    // Fetched from a's origin with the query; b was not asked.
    assert_eq!(
        a.asked.lock().map(|v| v.clone()).unwrap_or_default(),
        ["/live/show/index.m3u8?token=t1"]
    );
    assert!(b.asked.lock().map(|v| v.is_empty()).unwrap_or(false));
    // Outside a rule and with ?format=json, still a redirect / a decision.
    assert_eq!(status(&get(s.addr, "/live/show/seg100.ts", "")), 302);
    let j = get(s.addr, "/live/show/index.m3u8?format=json", "");
    assert_eq!(header(&j, "content-type"), Some("application/json"));
    // No such playlist at the origin: 404.
    assert_eq!(status(&get(s.addr, "/live/missing.m3u8", "")), 404);
    // Logged like a redirect, with the answer's status and the site's URL.
    let first = || {
        std::fs::read_to_string(&log)
            .ok()
            .and_then(|t| t.lines().next().map(str::to_string))
    };
    within(Duration::from_secs(5), || first().is_some()).expect("logged");
    let line = first().unwrap_or_default();
    assert!(
        line.contains(" pssc=200 ")
            && line.ends_with(" rurl=\"https://a.example.net/live/show/index.m3u8?token=t1\""),
        "{line}"
    );
}

#[test]
fn a_live_session_moves_to_another_site_within_one_playlist_reload_when_its_site_is_drained() {
    let (a, b) = (origin(), origin());
    let dir = tempfile::tempdir().expect("temp dir");
    let (s, admin) = start_playlists(&a, &b, dir.path());
    let reload = || get(s.addr, "/live/show/index.m3u8", "");
    let before = reload();
    assert_eq!(header(&before, "x-routecast-site"), Some("a"));
    assert!(segments(body(&before))
        .iter()
        .all(|u| u.starts_with("https://a.example.net/")));
    let r = post(admin, "/sites/a/drain", Some("s3cret-token-for-tests"));
    assert_eq!(status(&r), 200, "{r}");
    // The very next reload: every segment at b, fetched from b's origin.
    let after = reload();
    assert_eq!(status(&after), 200, "{after}");
    assert_eq!(header(&after, "x-routecast-site"), Some("b"));
    let segs = segments(body(&after));
    assert_eq!(segs.len(), 4);
    assert!(
        segs.iter()
            .all(|u| u.starts_with("https://b.example.net/live/show/seg10")),
        "{segs:?}"
    );
    assert!(!body(&after).contains("a.example.net"), "{after}");
    assert_eq!(b.asked.lock().map(|v| v.len()).unwrap_or(0), 1);
    // Back to a when it is restored.
    assert_eq!(
        status(&post(
            admin,
            "/sites/a/reset",
            Some("s3cret-token-for-tests")
        )),
        200
    );
    assert_eq!(header(&reload(), "x-routecast-site"), Some("a"));
}

#[test]
fn multivariant_playlists_point_at_a_steering_manifest_the_server_answers() {
    let (a, b) = (origin(), origin());
    let dir = tempfile::tempdir().expect("temp dir");
    let (s, _) = start_playlists(&a, &b, dir.path());
    let r = get(s.addr, "/live/show/master.m3u8", "");
    assert_eq!(status(&r), 200, "{r}");
    let text = body(&r);
    let steering: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("#EXT-X-CONTENT-STEERING:"))
        .collect();
    assert_eq!(
        steering,
        ["#EXT-X-CONTENT-STEERING:SERVER-URI=\"/.steering/live/show/master.m3u8\",PATHWAY-ID=\"a\""]
    );
    assert!(text.starts_with("#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-CONTENT-STEERING:"));
    // One copy of each variant per site, each pointing at its own site and
    // its own copy of the audio group.
    let lines: Vec<&str> = text.lines().collect();
    let variants: Vec<(&str, &str)> = lines
        .windows(2)
        .filter(|w| w[0].starts_with("#EXT-X-STREAM-INF:"))
        .map(|w| (w[0], w[1]))
        .collect();
    assert_eq!(variants.len(), 4, "{text}");
    for (inf, uri) in &variants {
        let (site, group) = if inf.ends_with("PATHWAY-ID=\"a\"") {
            ("a", "AUDIO=\"aud\"")
        } else {
            assert!(inf.ends_with("PATHWAY-ID=\"b\""), "{inf}");
            ("b", "AUDIO=\"aud@b\"")
        };
        assert!(inf.contains(group), "{inf}");
        assert!(
            uri.starts_with(&format!("https://{site}.example.net/live/show/")),
            "{uri}"
        );
    }
    assert!(text.contains(
        "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud@b\",NAME=\"en\",DEFAULT=YES,URI=\"https://b.example.net/live/show/audio/index.m3u8\""
    ));
    // The SERVER-URI, resolved against the playlist's URL (this server),
    // answers a steering manifest naming the same pathways.
    let server_uri = steering[0]
        .split("SERVER-URI=\"")
        .nth(1)
        .and_then(|v| v.split('"').next())
        .expect("SERVER-URI");
    let m = get(s.addr, &format!("{server_uri}?_HLS_pathway=a"), "");
    assert_eq!(status(&m), 200, "{m}");
    let manifest: serde_json::Value = serde_json::from_str(body(&m)).expect("JSON");
    assert_eq!(manifest["VERSION"], 1);
    assert_eq!(manifest["RELOAD-URI"], server_uri);
    assert_eq!(manifest["PATHWAY-PRIORITY"], serde_json::json!(["a", "b"]));
}

#[test]
fn an_origin_that_fails_hands_over_to_the_fallback_site_and_all_failing_is_502() {
    use std::sync::atomic::Ordering;
    let (a, b) = (origin(), origin());
    let dir = tempfile::tempdir().expect("temp dir");
    let (s, admin) = start_playlists(&a, &b, dir.path());
    for mode in [FAILS, HANGS] {
        a.mode.store(mode, Ordering::Relaxed);
        let r = get(s.addr, "/live/show/index.m3u8", "");
        assert_eq!(status(&r), 200, "{r}");
        assert_eq!(header(&r, "x-routecast-site"), Some("b"));
        assert!(segments(body(&r))
            .iter()
            .all(|u| u.starts_with("https://b.example.net/")));
    }
    b.mode.store(FAILS, Ordering::Relaxed);
    let started = std::time::Instant::now();
    let r = get(s.addr, "/live/show/index.m3u8", "");
    assert_eq!(status(&r), 502, "{r}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "bounded by the timeouts"
    );
    assert!(header(&r, "location").is_none() && header(&r, "x-routecast-site").is_none());
    assert!(body(&r).contains("upstream site \"a\""), "{r}");
    assert!(body(&r).contains("no answer within 500 ms"), "{r}");
    assert!(body(&r).contains("upstream site \"b\""), "{r}");
    assert!(body(&r).contains("answered 503"), "{r}");
    // Not valid M3U8: 502 naming the upstream.
    a.mode.store(SERVES, Ordering::Relaxed);
    b.mode.store(SERVES, Ordering::Relaxed);
    let r = get(s.addr, "/live/html.m3u8", "");
    assert_eq!(status(&r), 502, "{r}");
    assert!(body(&r).contains("upstream site \"a\""), "{r}");
    assert!(body(&r).contains("first line is not #EXTM3U"), "{r}");
    let m = get(admin, "/metrics", "");
    assert!(
        m.contains(r#"routecast_requests_total{site="a",group="default",status="502"} 2"#),
        "{m}"
    );
    assert!(
        m.contains(r#"routecast_requests_total{site="b",group="default",status="200"} 2"#),
        "{m}"
    );
}

#[test]
fn a_hostile_origin_never_gets_a_rewritten_uri_off_platform() {
    let (a, b) = (origin(), origin());
    let dir = tempfile::tempdir().expect("temp dir");
    let (s, _) = start_playlists(&a, &b, dir.path());
    let r = get(s.addr, "/live/hostile.m3u8", "");
    assert_eq!(status(&r), 200, "{r}");
    let uris = playlist_uris(body(&r));
    assert_eq!(uris.len(), 2 * HOSTILE_URIS.len() + 1, "{uris:?}");
    let mut rewritten = 0;
    for uri in &uris {
        if uri.starts_with("https://a.example.net/") {
            rewritten += 1;
        } else {
            // Anything else is a foreign URI exactly as the origin wrote it.
            assert!(HOSTILE_URIS.contains(&uri.as_str()), "{uri:?}");
        }
    }
    assert_eq!(rewritten, 1, "only seg1.ts is on the origin: {uris:?}");
    // A carriage return inside a line (which some players take as a line
    // break) makes the playlist unusable: 502 from both sites, nothing relayed.
    let r = get(s.addr, "/live/cr.m3u8", "");
    assert_eq!(status(&r), 502, "{r}");
    assert!(body(&r).contains("carriage return"), "{r}");
    assert!(!r.contains("evil.example"), "{r}");
}

#[test]
fn post_reload_reloads_the_configuration_and_status_reports_the_outcome() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = example_in(dir.path(), "http://127.0.0.1:9");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "reload-token-for-tests\n").expect("write token");
    let (s, admin) = launch(
        &config,
        &[
            "--trusted-proxy",
            "127.0.0.0/8",
            "--admin-token-file",
            token_file.to_str().expect("utf-8"),
        ],
        true,
    );
    let admin = admin.expect("admin listener");
    let uk = || {
        header(
            &get(
                s.addr,
                "/live/a/seg1.ts",
                "X-Forwarded-For: 81.2.69.142\r\n",
            ),
            "x-routecast-site",
        )
        .map(str::to_string)
    };
    let original = std::fs::read_to_string(&config).expect("config");
    let modified = std::fs::metadata(&config)
        .and_then(|m| m.modified())
        .expect("mtime");
    // Rewrite the file but keep its mtime: only POST /reload can notice.
    let rewrite = |text: &str| {
        std::fs::write(&config, text).expect("write");
        let f = std::fs::File::options()
            .write(true)
            .open(&config)
            .expect("open");
        f.set_modified(modified).expect("set mtime");
    };
    let last_reload = || -> serde_json::Value {
        let r = get(admin, "/status", "");
        serde_json::from_str::<serde_json::Value>(body(&r)).expect("status JSON")["last_reload"]
            .clone()
    };
    assert_eq!(uk().as_deref(), Some("lon"));
    assert!(last_reload().is_null());
    // Without the token: refused, nothing happens.
    assert_eq!(status(&post(admin, "/reload", None)), 401);
    // A broken configuration: refused, with its place; traffic unchanged.
    rewrite(&format!("{original}\n[[sites]]\nname = 42\n"));
    assert_eq!(
        status(&post(admin, "/reload", Some("reload-token-for-tests"))),
        202
    );
    let refused = within(Duration::from_secs(5), || {
        last_reload()["installed"] == false
    });
    assert!(refused.is_some(), "{:?}", last_reload());
    let error = last_reload()["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(error.contains("routecast.toml:"), "{error}");
    assert_eq!(uk().as_deref(), Some("lon"));
    // A good one: installed.
    rewrite(&original.replace(
        "sites = [\"lon\", \"ams\"] }",
        "sites = [\"ams\", \"lon\"] }",
    ));
    assert_eq!(
        status(&post(admin, "/reload", Some("reload-token-for-tests"))),
        202
    );
    let installed = within(Duration::from_secs(5), || {
        last_reload()["installed"] == true
    });
    assert!(installed.is_some(), "{:?}", last_reload());
    assert_eq!(uk().as_deref(), Some("ams"));
}

#[test]
fn a_site_going_down_is_logged_as_structured_json() {
    let a = upstream();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("checked.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[[sites]]
name = "a"
urls = ["http://a.example.net"]
location = {{ lat = 52.37, lon = 4.90 }}
health = {{ url = "http://{}/health", interval_ms = 200, timeout_ms = 150, rise = 2, fall = 2 }}

[[sites]]
name = "b"
urls = ["http://b.example.net"]
location = {{ lat = 50.11, lon = 8.68 }}

[[policies]]
name = "nearest"
steps = [{{ step = "available" }}, {{ step = "closest" }}]
"#,
            a.addr
        ),
    )
    .expect("write");
    let (s, log) = launch_logged(&config, &["--log-format", "json"]);
    a.healthy.store(false, std::sync::atomic::Ordering::Relaxed);
    let down = within(Duration::from_secs(5), || {
        logged(&log, "site down").is_some()
    });
    drop(s);
    assert!(
        down.is_some(),
        "no 'site down' event: {:?}",
        log.lock().map(|v| v.clone())
    );
    let line = logged(&log, "site down").expect("found");
    let event: serde_json::Value = serde_json::from_str(&line).expect("one JSON object per line");
    assert_eq!(event["level"], "WARN");
    assert_eq!(event["fields"]["site"], "a");
    assert!(
        event["fields"]["url"]
            .as_str()
            .unwrap_or("")
            .ends_with("/health"),
        "{event}"
    );
}

/// One keep-alive client sending `GET /live/x` in a loop until `stop`:
/// (milliseconds since `t0`, status, site) per answer, and IO failures.
fn load_client(
    addr: SocketAddr,
    t0: std::time::Instant,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> (Vec<(u128, u16, String)>, u64) {
    use std::io::{Read, Write};
    let (mut seen, mut failures) = (Vec::new(), 0u64);
    'connect: while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let Ok(c) = std::net::TcpStream::connect(addr) else {
            failures += 1;
            continue;
        };
        let mut w = c.try_clone().expect("clone");
        let mut r = BufReader::new(c);
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            if w.write_all(b"GET /live/x HTTP/1.1\r\nHost: load\r\n\r\n")
                .is_err()
            {
                failures += 1;
                continue 'connect;
            }
            let (mut head, mut line) = (String::new(), String::new());
            loop {
                line.clear();
                match r.read_line(&mut line) {
                    Ok(0) | Err(_) => {
                        failures += 1;
                        continue 'connect;
                    }
                    Ok(_) if line == "\r\n" => break,
                    Ok(_) => head.push_str(&line),
                }
            }
            let length = header(&head, "content-length")
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            let mut body = vec![0u8; length];
            if r.read_exact(&mut body).is_err() {
                failures += 1;
                continue 'connect;
            }
            let site = header(&head, "x-routecast-site").unwrap_or("").to_string();
            seen.push((t0.elapsed().as_millis(), status(&head), site));
        }
    }
    (seen, failures)
}

#[test]
fn under_load_a_site_going_down_and_a_bad_configuration_fail_no_request() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let (a, b) = (upstream(), upstream());
    let dir = tempfile::tempdir().expect("temp dir");
    let (s, admin) = start_checked(&a, &b, dir.path());
    let config = dir.path().join("checked.toml");
    assert_eq!(site_of(&s), "a");
    let t0 = std::time::Instant::now();
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let stop = stop.clone();
            let addr = s.addr;
            std::thread::spawn(move || load_client(addr, t0, stop))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(800));
    let down_at = t0.elapsed().as_millis();
    a.healthy.store(false, Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(1500));
    // An invalid configuration pushed while serving (the file watcher finds
    // it within 2 s and refuses it).
    let good = std::fs::read_to_string(&config).expect("config");
    std::fs::write(&config, format!("{good}\n[[sites]]\nname = 7\n")).expect("write");
    std::thread::sleep(Duration::from_millis(3000));
    stop.store(true, Ordering::Relaxed);
    let mut answers = Vec::new();
    let mut failures = 0;
    for c in clients {
        let (seen, failed) = c.join().expect("client");
        answers.extend(seen);
        failures += failed;
    }
    assert_eq!(failures, 0, "failed requests");
    assert!(answers.len() > 1_000, "only {} requests", answers.len());
    let not_302: Vec<_> = answers.iter().filter(|a| a.1 != 302).collect();
    assert!(
        not_302.is_empty(),
        "{} answers were not 302: {:?}",
        not_302.len(),
        &not_302[..not_302.len().min(5)]
    );
    // interval × fall (400 ms) + one interval + timeout + slack: 1 s.
    let late: Vec<_> = answers
        .iter()
        .filter(|x| x.0 > down_at + 1_000 && x.2 == "a")
        .collect();
    assert!(
        late.is_empty(),
        "{} requests still sent to the down site",
        late.len()
    );
    assert!(answers.iter().any(|x| x.0 > down_at + 1_000 && x.2 == "b"));
    // The bad configuration was seen and refused: the server still routes
    // with the good one.
    let metrics = get(admin, "/metrics", "");
    assert!(
        metrics.contains("routecast_reloads_total{result=\"rejected\"} 1"),
        "{}",
        metrics
            .lines()
            .filter(|l| l.contains("reload"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(site_of(&s), "b");
    eprintln!(
        "{} requests in {:.1} s under load, 0 failed, 0 non-302; site a out of rotation after {} ms",
        answers.len(),
        t0.elapsed().as_secs_f64(),
        answers.iter().filter(|x| x.2 == "b" && x.0 > down_at).map(|x| x.0).min().unwrap_or(0) - down_at
    );
}
