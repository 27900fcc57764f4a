//! The redirector's access log, one line per routed request in Traffic
//! Router's format, so that `routecast simulate --format traffic-router`
//! replays it directly (fields escaped as nginx escapes them, see
//! [`line()`]):
//!
//! ```text
//! 1795600802.125 qtype=HTTP chi=81.2.69.142 rhi=127.0.0.1 url="http://tr.example.net/live/a.m3u8" cqhm=GET cqhv=HTTP/1.1 rtype=ROUTECAST rloc="-" rdtl=- rerr="-" pssc=302 ttms=0.041 rurl="https://lon.cdn.example.net/live/a.m3u8" uas="VLC/3.0.20 LibVLC/3.0.20"
//! ```
//!
//! Lines go through a bounded queue to a writer task that flushes whenever
//! the queue runs dry; a full queue (a disk slower than the traffic) drops
//! the line and counts it, never blocking a request.

use std::fmt::Write as _;
use std::io::Write;
use std::net::IpAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

/// Lines waiting for the disk at most.
const QUEUE: usize = 65_536;

/// Why the access log cannot be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccessLogError {
    /// The file cannot be opened for appending.
    #[error("{}: cannot open the access log: {error}", .path.display())]
    Open {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        error: std::io::Error,
    },
}

/// A handle to the access log.
#[derive(Debug, Clone)]
pub struct AccessLog {
    tx: mpsc::Sender<String>,
    dropped: Arc<AtomicU64>,
}

impl AccessLog {
    /// Opens `path` for appending and starts the writer task (call inside a
    /// tokio runtime).
    pub fn open(path: &Path) -> Result<Self, AccessLogError> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|error| AccessLogError::Open {
                path: path.to_path_buf(),
                error,
            })?;
        let (tx, mut rx) = mpsc::channel::<String>(QUEUE);
        tokio::task::spawn_blocking(move || {
            let mut w = std::io::BufWriter::with_capacity(64 * 1024, file);
            while let Some(line) = rx.blocking_recv() {
                let _ = w.write_all(line.as_bytes());
                while let Ok(more) = rx.try_recv() {
                    let _ = w.write_all(more.as_bytes());
                }
                let _ = w.flush();
            }
        });
        Ok(Self {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Queues one line (with its newline).
    pub fn write(&self, line: String) {
        if self.tx.try_send(line).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Lines dropped because the writer fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// One routed request, as its access-log line records it.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// When it was answered, Unix seconds.
    pub unix_s: f64,
    /// The client (behind trusted proxies).
    pub client: IpAddr,
    /// The socket peer.
    pub peer: IpAddr,
    /// The `Host` header (checked), `-` without one.
    pub host: &'a str,
    /// The request target as received.
    pub target: &'a str,
    /// The request method.
    pub method: &'a str,
    /// The answer's status.
    pub status: u16,
    /// Time taken, milliseconds.
    pub took_ms: f64,
    /// Where the client was sent, if anywhere.
    pub location: Option<&'a str>,
    /// The `User-Agent` header's bytes, if any.
    pub user_agent: Option<&'a [u8]>,
}

/// One line (with its newline): when (Unix seconds), client, peer,
/// request, status, time taken (ms), where it was sent, and the User-Agent
/// (`uas`, as Traffic Router logs it).
///
/// Every text that came from the request or the configuration is escaped
/// as nginx's `log_format` escapes variables by default (`escape=default`):
/// `"`, `\` and bytes below 0x20 or above 0x7e as `\xHH`, so that no
/// request can end a quoted field or a line, and the logged bytes are the
/// bytes received. Absent values are `-`.
pub fn line(e: &Entry<'_>) -> String {
    let mut out = String::with_capacity(256);
    let _ = write!(out, "{:.3} qtype=HTTP chi={} rhi=", e.unix_s, e.client);
    if e.client == e.peer {
        out.push('-');
    } else {
        let _ = write!(out, "{}", e.peer);
    }
    out.push_str(" url=\"http://");
    escape_into(&mut out, e.host.as_bytes());
    escape_into(&mut out, e.target.as_bytes());
    out.push_str("\" cqhm=");
    // Unquoted: a space would end it (hyper passes only tokens, which hold
    // none, but the function takes any text).
    for (i, word) in e.method.split(' ').enumerate() {
        if i > 0 {
            out.push_str("\\x20");
        }
        escape_into(&mut out, word.as_bytes());
    }
    let _ = write!(
        out,
        " cqhv=HTTP/1.1 rtype=ROUTECAST rloc=\"-\" rdtl=- rerr=\"-\" pssc={} ttms={:.3} rurl=\"",
        e.status, e.took_ms
    );
    escape_into(&mut out, e.location.map_or(b"-", str::as_bytes));
    out.push_str("\" uas=\"");
    escape_into(&mut out, e.user_agent.unwrap_or(b"-"));
    out.push_str("\"\n");
    out
}

/// Appends `bytes` as nginx's `escape=default` writes a variable: `"`,
/// `\`, and bytes below 0x20 or above 0x7e as `\xHH` (upper-case hex),
/// the rest as they are.
pub fn escape_into(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        if b == b'"' || b == b'\\' || !(0x20..0x7f).contains(&b) {
            out.push_str("\\x");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push(char::from(b));
        }
    }
}

#[cfg(test)]
mod tests;
