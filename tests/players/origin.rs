//! The origin the players load from: Debian's nginx on a free loopback
//! port (`common/nginx.rs`), serving a directory with the headers an HLS
//! origin sends, stopped when dropped. Also a page server (the player page
//! and hls.js only, when the stream comes from elsewhere) and a minimal
//! HTTP/1.1 client for the checker's downloads.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

pub use crate::nginx::{Nginx as Origin, Running};

/// The inside of nginx's `http {}` block for an HLS origin on `port`:
/// playlists never cached, every answer open to any origin (hls.js fetches
/// with CORS).
pub fn origin_http(root: &Path, port: u16) -> String {
    format!(
        r#"    types {{
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
    }}"#,
        root = root.display()
    )
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
