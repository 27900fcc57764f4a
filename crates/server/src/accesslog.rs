//! The redirector's access log, one line per routed request in Traffic
//! Router's format, so that `routecast simulate --format traffic-router`
//! replays it directly:
//!
//! ```text
//! 1795600802.125 qtype=HTTP chi=81.2.69.142 rhi=127.0.0.1 url="http://tr.example.net/live/a.m3u8" cqhm=GET cqhv=HTTP/1.1 rtype=ROUTECAST rloc="-" rdtl=- rerr="-" pssc=302 ttms=0.041 rurl="https://lon.cdn.example.net/live/a.m3u8"
//! ```
//!
//! Lines go through a bounded queue to a writer task that flushes whenever
//! the queue runs dry; a full queue (a disk slower than the traffic) drops
//! the line and counts it, never blocking a request.

use std::io::Write;
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

/// One line: when (Unix seconds), client, peer, request, status, time taken
/// (ms), where it was sent.
#[allow(clippy::too_many_arguments)]
pub fn line(
    unix_s: f64,
    client: std::net::IpAddr,
    peer: std::net::IpAddr,
    host: &str,
    target: &str,
    method: &str,
    status: u16,
    took_ms: f64,
    location: Option<&str>,
) -> String {
    let clean = |s: &str| s.replace(['"', '\n', '\r'], "");
    let rhi = if client == peer {
        "-".to_string()
    } else {
        peer.to_string()
    };
    format!(
        "{unix_s:.3} qtype=HTTP chi={client} rhi={rhi} url=\"http://{}{}\" cqhm={method} cqhv=HTTP/1.1 rtype=ROUTECAST rloc=\"-\" rdtl=- rerr=\"-\" pssc={status} ttms={took_ms:.3} rurl=\"{}\"\n",
        clean(host),
        clean(target),
        location.map_or_else(|| "-".to_string(), clean)
    )
}
