//! Connections over the origin's cap: answered `503` with
//! `Connection: close` and closed, counted, and said in a log line at most
//! every [`LOG_EVERY`].
//!
//! The answer and the lingering close are routecast-http's [`Refusal`], as
//! for the redirector; the origin keeps fewer refusals lingering at once
//! (each holds a descriptor the segment writer may need).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use routecast_http::Refusal;
use tokio::net::TcpStream;

/// What a connection over the cap reads before it is closed.
const OVER_CAP: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
    Content-Type: text/plain; charset=utf-8\r\nContent-Length: 21\r\n\
    Cache-Control: no-store\r\nRetry-After: 1\r\n\
    Access-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n\
    too many connections\n";

/// Refused connections kept open at once to read what their client sends
/// before closing (more are closed right after the 503 is written).
const REFUSING_AT_ONCE: usize = 16;
/// The least time between two log lines about refused connections.
pub(crate) const LOG_EVERY: Duration = Duration::from_secs(10);

/// The refusals of one origin: how many, and when they were last said.
#[derive(Debug)]
pub(crate) struct Refusals {
    cap: usize,
    total: Arc<AtomicU64>,
    refusal: Refusal,
    /// When the last log line was written and the total it said.
    said: Mutex<Option<(Instant, u64)>>,
}

impl Refusals {
    /// Refusals past `cap` connections, counted in `total`.
    pub(crate) fn new(cap: usize, total: Arc<AtomicU64>) -> Self {
        Self {
            cap,
            total,
            refusal: Refusal::new(OVER_CAP, REFUSING_AT_ONCE),
            said: Mutex::new(None),
        }
    }

    /// Answers `stream` with the 503 and closes it, never with a bare
    /// reset ([`Refusal::refuse`]), counted and said.
    pub(crate) fn refuse(&self, stream: TcpStream) {
        let total = self.total.fetch_add(1, Ordering::Relaxed) + 1;
        self.log(total);
        self.refusal.refuse(stream);
    }

    /// One line on standard error for the first refusal and then at most
    /// every [`LOG_EVERY`].
    fn log(&self, total: u64) {
        let Ok(mut said) = self.said.lock() else {
            return;
        };
        let now = Instant::now();
        let since = match *said {
            Some((at, _)) if now.duration_since(at) < LOG_EVERY => return,
            Some((_, before)) => total.saturating_sub(before),
            None => total,
        };
        *said = Some((now, total));
        eprintln!(
            "origin: {since} connection(s) refused with 503 over the cap of {} \
             ({total} in all): raise the descriptor limit (ulimit -n) or add origins",
            self.cap
        );
    }
}
