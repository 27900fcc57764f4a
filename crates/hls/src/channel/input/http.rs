//! A live transport stream over HTTP: a GET whose body never ends,
//! reopened with back-off whenever it drops or stalls.
//!
//! Written by hand (on `httparse` for the response head): a live TS stream
//! needs an *idle* read timeout, so that a stalled connection is noticed
//! and reopened; `ureq` only bounds a whole body's duration, and an async
//! client would bring a runtime into a blocking reader thread. The head is
//! read by [`parse_response_head`], a pure function over bytes.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

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

/// How long an HTTP stream may stay silent before it is reopened.
const IDLE: Duration = Duration::from_secs(5);
/// First and longest wait between reconnection attempts.
const BACKOFF_MIN: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// An HTTP GET whose body is a live transport stream. When the connection
/// fails, ends or stays silent for 5 s, it is reopened after a back-off
/// (0.25 s doubling to 10 s, reset by data): [`Read::read`] waits through
/// outages and never reports the end of the stream.
#[derive(Debug)]
pub struct HttpStream {
    url: HttpUrl,
    body: Option<Body>,
    backoff: Duration,
    reconnects: Arc<AtomicU64>,
}

impl HttpStream {
    /// A stream of `url` (connected on the first read).
    pub fn new(url: HttpUrl) -> Self {
        Self {
            url,
            body: None,
            backoff: BACKOFF_MIN,
            reconnects: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Reconnections so far (shareable with another thread).
    pub fn reconnects(&self) -> Arc<AtomicU64> {
        self.reconnects.clone()
    }

    fn connect(&self) -> io::Result<Body> {
        let addr = (self.url.host.as_str(), self.url.port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| io::Error::other("no address"))?;
        let mut tcp = TcpStream::connect_timeout(&addr, IDLE)?;
        tcp.set_read_timeout(Some(IDLE))?;
        // One write: `write!` on a socket sends each piece of the format on
        // its own, and a server that reads the request once may close on
        // the rest (a reset that can discard the response).
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: routecast-segment\r\nAccept: */*\r\n\r\n",
            self.url.path, self.url.host, self.url.port
        );
        tcp.write_all(request.as_bytes())?;
        let mut reader = BufReader::with_capacity(64 * 1024, tcp);
        let chunked = read_head(&mut reader)?;
        Ok(Body {
            reader,
            chunked,
            left_in_chunk: 0,
        })
    }
}

impl Read for HttpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let body = match &mut self.body {
                Some(b) => b,
                None => match self.connect() {
                    Ok(b) => self.body.insert(b),
                    Err(_) => {
                        self.wait();
                        continue;
                    }
                },
            };
            match body.read(buf) {
                Ok(0) | Err(_) => {
                    self.body = None;
                    self.wait();
                }
                Ok(n) => {
                    self.backoff = BACKOFF_MIN;
                    return Ok(n);
                }
            }
        }
    }
}

impl HttpStream {
    fn wait(&mut self) {
        self.reconnects.fetch_add(1, Ordering::Relaxed);
        std::thread::sleep(self.backoff);
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
    }
}

/// Reads the response head up to its blank line; an error unless 200.
/// True when the body is chunked.
fn read_head(r: &mut impl BufRead) -> io::Result<bool> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > MAX_HEAD {
            return Err(io::Error::other("response head too large"));
        }
        let n = r.read_until(b'\n', &mut head)?;
        if n == 0 {
            return Err(io::Error::other(
                "connection closed before the response head",
            ));
        }
    }
    let head = parse_response_head(&head).map_err(io::Error::other)?;
    Ok(head.chunked)
}

/// Longest response head read (bytes before the last line that ends it).
const MAX_HEAD: usize = 64 * 1024;

/// What the stream needs of a response head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseHead {
    /// The body is sent with `Transfer-Encoding: chunked`.
    pub chunked: bool,
}

/// Why a response head does not start a stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseHeadError {
    /// Not an HTTP/1.x response head (`httparse`'s verdict).
    #[error("{0}")]
    Malformed(httparse::Error),
    /// A status other than 200 (`None`: the head ended before it).
    #[error("HTTP status {status:?}")]
    Status {
        /// The status code, if the head had one.
        status: Option<u16>,
    },
}

/// Reads a response head (status line and header fields, up to and
/// including the blank line): a 200 and whether its body is chunked.
/// Pure: any bytes give a value or an error, never a panic.
pub fn parse_response_head(head: &[u8]) -> Result<ResponseHead, ResponseHeadError> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut headers);
    resp.parse(head).map_err(ResponseHeadError::Malformed)?;
    if resp.code != Some(200) {
        return Err(ResponseHeadError::Status { status: resp.code });
    }
    let chunked = resp.headers.iter().any(|h| {
        h.name.eq_ignore_ascii_case("transfer-encoding")
            && String::from_utf8_lossy(h.value)
                .to_ascii_lowercase()
                .contains("chunked")
    });
    Ok(ResponseHead { chunked })
}

/// A response body, chunked or not.
#[derive(Debug)]
struct Body {
    reader: BufReader<TcpStream>,
    chunked: bool,
    left_in_chunk: u64,
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.chunked {
            return self.reader.read(buf);
        }
        if self.left_in_chunk == 0 {
            let mut line = String::new();
            // The CRLF after the previous chunk, then the size line.
            while line.trim().is_empty() {
                line.clear();
                if self.reader.read_line(&mut line)? == 0 {
                    return Ok(0);
                }
            }
            let size = line.trim().split(';').next().unwrap_or("");
            self.left_in_chunk = u64::from_str_radix(size, 16)
                .map_err(|_| io::Error::other(format!("bad chunk size {size:?}")))?;
            if self.left_in_chunk == 0 {
                return Ok(0);
            }
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left_in_chunk).unwrap_or(usize::MAX));
        let n = self.reader.read(&mut buf[..want])?;
        self.left_in_chunk -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests;
