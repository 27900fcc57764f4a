//! What every area's tests share: a `routecast serve` child process on
//! loopback (port 0, its address read back from stdout), raw HTTP/1.1 on
//! TCP, stand-in upstreams (health endpoints, statistics), and polling.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running server, stopped when dropped.
pub struct Server {
    /// The child process.
    pub child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `routecast serve -c config --listen 127.0.0.1:0 extra…`; with
/// `admin`, also an admin listener. Returns the server and the admin address.
pub fn launch(config: &Path, extra: &[&str], admin: bool) -> (Server, Option<SocketAddr>) {
    let (s, admin, _) = launch_inner(config, extra, admin, false);
    (s, admin)
}

/// Lines the server wrote to stderr, collected as they come.
pub type Log = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// [`launch`] (without an admin listener), collecting its stderr.
pub fn launch_logged(config: &Path, extra: &[&str]) -> (Server, Log) {
    let (s, _, log) = launch_inner(config, extra, false, true);
    (s, log)
}

pub fn logged(log: &Log, needle: &str) -> Option<String> {
    log.lock()
        .ok()?
        .iter()
        .find(|l| l.contains(needle))
        .cloned()
}

pub fn launch_inner(
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

pub fn example() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/routecast.toml")
}

/// A copy of the example in `dir` whose playlists come from `origin`.
pub fn example_in(dir: &Path, origin: &str) -> std::path::PathBuf {
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
pub fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

pub fn start(extra: &[&str]) -> Server {
    launch(&example(), extra, false).0
}

/// Sends raw bytes, returns the whole response (the server closes after it).
pub fn raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).expect("connects");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s.write_all(request).expect("writes");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

pub fn get(addr: SocketAddr, target: &str, headers: &str) -> String {
    raw(
        addr,
        format!(
            "GET {target} HTTP/1.1\r\nHost: tr.example.net\r\n{headers}Connection: close\r\n\r\n"
        )
        .as_bytes(),
    )
}

pub fn header<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    response.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

pub fn status(response: &str) -> u16 {
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

pub const SITES: [&str; 7] = ["ams", "fra", "lon", "nyc", "sjc", "sin", "gru"];

/// A tiny HTTP server on loopback answering every request with `answer()`
/// (status line and body), for stand-in health and statistics endpoints.
pub fn responder(
    answer: impl Fn() -> (&'static str, String) + Send + Sync + 'static,
) -> SocketAddr {
    responder_for(move |_| Some(answer()))
}

/// A loopback HTTP server answering each request with `answer(path)`; `None`
/// keeps the connection open without a word for 3 s (a hung origin).
pub fn responder_for(
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

/// A stand-in for a site's health endpoint: answers 200 or 503 on demand,
/// and remembers when it gave each answer.
pub struct Upstream {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Whether it answers 200 (else 503).
    pub healthy: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Every answer: when it was written, and whether it was a pass.
    pub answers: std::sync::Arc<std::sync::Mutex<Vec<(std::time::Instant, bool)>>>,
}

impl Upstream {
    /// Waits (up to `limit`) until this endpoint has answered `n` checks
    /// with `passing` after `since`; the instant of the `n`-th.
    ///
    /// A site's checks run one after the other (probe, count, sleep, probe),
    /// so once the `(fall + 1)`-th failing check is answered, the server has
    /// already counted the `fall`-th: the site is out of rotation for every
    /// request sent after that instant, however loaded the machine is.
    /// Timing tests wait on this instead of on the wall clock.
    pub fn nth_answer(
        &self,
        since: std::time::Instant,
        passing: bool,
        n: usize,
        limit: Duration,
    ) -> Option<std::time::Instant> {
        let mut found = None;
        within(limit, || {
            let answers = self.answers.lock().map(|a| a.clone()).unwrap_or_default();
            found = answers
                .iter()
                .filter(|(at, pass)| *at >= since && *pass == passing)
                .nth(n.saturating_sub(1))
                .map(|(at, _)| *at);
            found.is_some()
        });
        found
    }
}

pub fn upstream() -> Upstream {
    use std::sync::atomic::{AtomicBool, Ordering};
    let healthy = std::sync::Arc::new(AtomicBool::new(true));
    let answers = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (flag, log) = (healthy.clone(), answers.clone());
    let addr = responder(move || {
        let pass = flag.load(Ordering::Relaxed);
        if let Ok(mut log) = log.lock() {
            log.push((std::time::Instant::now(), pass));
        }
        let status = if pass {
            "200 OK"
        } else {
            "503 Service Unavailable"
        };
        (status, String::new())
    });
    Upstream {
        addr,
        healthy,
        answers,
    }
}

/// The site a request for `/live/x` is sent to, by its X-Routecast-Site header.
pub fn site_of(s: &Server) -> String {
    header(&get(s.addr, "/live/x", ""), "x-routecast-site")
        .unwrap_or("none")
        .to_string()
}

/// Polls until `f` holds or `limit` passes; returns the time it took.
pub fn within(limit: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if f() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// A redirector over two health-checked sites `a` and `b` (prefers `a`), with
/// an admin listener; returns it and the admin address.
pub fn start_checked(a: &Upstream, b: &Upstream, dir: &Path) -> (Server, SocketAddr) {
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

pub fn post(addr: SocketAddr, path: &str, token: Option<&str>) -> String {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    raw(addr, format!("POST {path} HTTP/1.1\r\nHost: admin\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n").as_bytes())
}
