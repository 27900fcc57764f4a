//! A live transport stream over HTTP: a GET whose body never ends,
//! reopened with back-off whenever it drops, stalls or is refused.
//!
//! The GET is routecast-http's [`BodyStream`](routecast_http::BodyStream):
//! the workspace has one HTTP client, and hyper reads the response heads
//! and chunked bodies, so nothing here parses HTTP. A live stream needs an
//! *idle* limit between frames (a stalled encoder is noticed while a
//! healthy stream may run for days), which that client gives. The reader
//! thread is blocking, so [`HttpStream`] drives the async client on a
//! current-thread tokio runtime of its own; the reconnection loop itself is
//! async (`live.rs`) and tested on paused time.
//!
//! Redirects (301, 302, 303, 307, 308) are followed, each `Location`
//! resolved against the URL that answered it, up to
//! [`MAX_REDIRECTS`](redirect::MAX_REDIRECTS) (`redirect.rs`); a loop or
//! a longer chain is a failed attempt like a refused connection. Every
//! failed attempt, connection and giving up is posted to the stream's
//! [`NoticeSink`] (once per attempt: as often as the back-off allows).

use std::io::{self, Read};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use live::LiveBody;

use super::{InputSpecError, NoticeSink};

mod live;
pub mod redirect;

/// A parsed `http://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// Host name or address (as written, for the Host header).
    pub host: String,
    /// Port (80 when not written).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl HttpUrl {
    /// Reads `input`, which starts with `http://` (`rest` follows it).
    pub(super) fn parse(input: &str, rest: &str) -> Result<Self, InputSpecError> {
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || p.parse::<u16>().is_ok() => (
                h,
                p.parse::<u16>().map_err(|_| InputSpecError::Port {
                    input: input.to_owned(),
                    port: p.to_owned(),
                })?,
            ),
            _ => (authority, 80),
        };
        if host.is_empty() || path.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return Err(InputSpecError::Http {
                input: input.to_owned(),
            });
        }
        Ok(HttpUrl {
            host: host.to_string(),
            port,
            path: path.to_string(),
        })
    }

    /// The URL with its port written, so that the `Host` field is
    /// `host:port`.
    fn with_port(&self) -> String {
        format!("http://{}:{}{}", self.host, self.port, self.path)
    }
}

/// How an [`HttpStream`] waits: the longest silence before the stream is
/// reopened, the back-off between attempts (doubling from the shortest
/// to the longest, back to the shortest once a connection has given data
/// for as long as the longest wait), and how long
/// without data before it gives up, if ever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamTimings {
    /// Longest silence on connecting, before the response head, or between
    /// two pieces of the body.
    pub idle: Duration,
    /// The first wait before reconnecting.
    pub backoff_min: Duration,
    /// The longest wait before reconnecting.
    pub backoff_max: Duration,
    /// Give up (the stream then ends) after this long without data, since
    /// the start or the last data; `None`: never. The last wait is cut
    /// short so that the last attempt is made at the limit.
    pub give_up_after: Option<Duration>,
}

impl Default for StreamTimings {
    /// 5 s of silence; waits of 0.25 s doubling to 10 s; never gives up.
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(5),
            backoff_min: Duration::from_millis(250),
            backoff_max: Duration::from_secs(10),
            give_up_after: None,
        }
    }
}

/// An HTTP GET whose body is a live transport stream. When the connection
/// fails, ends, answers other than 200 (after redirects) or stays silent
/// for 5 s, it is reopened after a back-off (0.25 s doubling to 10 s,
/// back to 0.25 s once a connection has given data for 10 s): [`Read::read`] waits through outages and reports the
/// end of the stream only when it gives up
/// ([`StreamTimings::give_up_after`]).
#[derive(Debug)]
pub struct HttpStream {
    runtime: tokio::runtime::Runtime,
    live: LiveBody,
    /// What the last piece of the body holds beyond the last read.
    pending: Bytes,
}

impl HttpStream {
    /// A stream of `url` with the default [`StreamTimings`] (connected on
    /// the first read), telling nobody what happens. Fails only if its
    /// runtime cannot be made.
    pub fn new(url: HttpUrl) -> io::Result<Self> {
        Self::with_timings(url, StreamTimings::default(), NoticeSink::ignore())
    }

    /// A stream of `url` that waits as `timings` say and posts what
    /// happens to `notices`.
    pub fn with_timings(
        url: HttpUrl,
        timings: StreamTimings,
        notices: NoticeSink,
    ) -> io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Self {
            runtime,
            live: LiveBody::new(&url, timings, notices),
            pending: Bytes::new(),
        })
    }

    /// Reconnections so far (shareable with another thread).
    pub fn reconnects(&self) -> Arc<AtomicU64> {
        self.live.reconnects()
    }
}

impl Read for HttpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.pending.is_empty() {
            match self.runtime.block_on(self.live.next()) {
                Some(data) => self.pending = data,
                // Given up: the end of the stream.
                None => return Ok(0),
            }
        }
        let piece = self.pending.split_to(buf.len().min(self.pending.len()));
        buf[..piece.len()].copy_from_slice(&piece);
        Ok(piece.len())
    }
}

#[cfg(test)]
mod tests;
