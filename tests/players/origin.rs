//! The origin the players load from: Debian's nginx on a free loopback
//! port, serving a directory with the headers an HLS origin sends, started
//! with a generated configuration and stopped when dropped. Also a page
//! server (the player page and hls.js only, when the stream comes from
//! elsewhere) and a minimal HTTP/1.1 client for the checker's downloads.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed (and reaped) when dropped.
#[derive(Debug)]
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// nginx serving `root` on 127.0.0.1; stopped when dropped.
#[derive(Debug)]
pub struct Origin {
    /// Where it listens.
    pub addr: SocketAddr,
    _nginx: Running,
}

/// The configuration: one process in the foreground, everything it writes
/// under `dir`, playlists never cached, every answer open to any origin
/// (hls.js fetches with CORS).
fn config(dir: &Path, root: &Path, port: u16) -> String {
    let d = dir.display();
    format!(
        r#"daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    types {{
        application/vnd.apple.mpegurl m3u8;
        video/mp2t ts;
        text/html html;
        application/javascript js mjs;
    }}
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        add_header Access-Control-Allow-Origin * always;
        location ~ \.m3u8$ {{
            add_header Cache-Control no-cache always;
            add_header Access-Control-Allow-Origin * always;
        }}
    }}
}}
"#,
        root = root.display()
    )
}

impl Origin {
    /// Starts nginx on `root`, its files in `dir`; panics with nginx's
    /// error log if it does not answer within 10 s.
    pub fn start(dir: &Path, root: &Path) -> Origin {
        let port = free_port();
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, config(dir, root, port)).expect("write nginx.conf");
        let nginx = ["/usr/sbin/nginx", "nginx"]
            .into_iter()
            .find(|p| !p.starts_with('/') || Path::new(p).exists())
            .unwrap_or("nginx");
        let child = Command::new(nginx)
            .arg("-p")
            .arg(dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("nginx must be installed (scripts/test installs Debian's nginx): {e}")
            });
        let nginx = Running(child);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(addr).is_err() {
            let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
            assert!(Instant::now() < deadline, "nginx did not start: {log}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Origin {
            addr,
            _nginx: nginx,
        }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// Serves the files of a directory on a loopback port, one request per
/// connection, for as long as the test process lives: the player page and
/// hls.js, when the stream comes from routecast's own origin. (Chromium
/// lets a page reach a loopback address only if the page itself came from
/// one, so the page cannot be handed to it from memory.)
pub fn serve_page(dir: &Path) -> SocketAddr {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a loopback port");
    let addr = listener.local_addr().expect("bound address");
    let dir = dir.to_path_buf();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = answer_page(stream, &dir);
        }
    });
    addr
}

fn answer_page(mut s: TcpStream, dir: &Path) -> std::io::Result<()> {
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte)? == 1 {
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    let name = head
        .split(' ')
        .nth(1)
        .and_then(|p| p.split('?').next())
        .and_then(|p| p.strip_prefix('/'))
        .filter(|n| !n.contains('/') && !n.starts_with('.'))
        .unwrap_or("");
    let (status, body) = match std::fs::read(dir.join(name)) {
        Ok(b) if !name.is_empty() => ("200 OK", b),
        _ => ("404 Not Found", b"not found\n".to_vec()),
    };
    let kind = match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "application/javascript",
        _ => "application/octet-stream",
    };
    write!(
        s,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    s.write_all(&body)
}

/// A loopback port free a moment ago (the server takes it right after).
pub fn free_port() -> u16 {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a loopback port");
    l.local_addr().expect("bound address").port()
}

/// An answer: status and body (whose length matched Content-Length).
#[derive(Debug)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

/// `GET path` on `addr` with `Connection: close`; an error for a transport
/// failure or a body shorter or longer than its Content-Length.
pub fn get(addr: SocketAddr, path: &str) -> Result<Response, String> {
    let fail = |e: std::io::Error| format!("GET {path}: {e}");
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(fail)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(fail)?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(fail)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(fail)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or(format!("GET {path}: no end of head"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let body = raw[split + 4..].to_vec();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or(format!("GET {path}: bad status line in {head:?}"))?;
    let length = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())?
    });
    match length {
        Some(n) if n != body.len() => Err(format!(
            "GET {path}: {} bytes of a {n}-byte body",
            body.len()
        )),
        None if status == 200 => Err(format!("GET {path}: 200 without Content-Length")),
        _ => Ok(Response { status, body }),
    }
}
