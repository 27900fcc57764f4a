//! A small HTTP/1.1 client (hyper) for plain `http://` URLs: health checks,
//! statistics polls, `routecast check`, and playlists fetched from origins.
//! One connection per request; the whole exchange is bounded in time and
//! the body in size.

use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Why a fetch gave no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// Only `http://host[:port]/path` URLs are fetched.
    #[error("not an http:// URL")]
    NotHttp,
    /// The connection could not be made.
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    /// The exchange failed (reset, malformed answer, bad request line).
    #[error("HTTP exchange failed: {0}")]
    Http(String),
    /// No whole answer within the time allowed.
    #[error("no answer within {} ms", .0.as_millis())]
    Timeout(Duration),
    /// The body is larger than allowed.
    #[error("the answer is larger than {limit} bytes")]
    TooLarge {
        /// The limit, bytes.
        limit: usize,
    },
}

/// An answer: its status and body.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The HTTP status code.
    pub status: u16,
    /// The whole body.
    pub body: Bytes,
}

/// Fetches an `http://` URL with GET within `timeout`, refusing bodies over
/// `max_body` bytes. Redirects are not followed.
pub async fn fetch(url: &str, timeout: Duration, max_body: usize) -> Result<Fetched, FetchError> {
    let rest = url.strip_prefix("http://").ok_or(FetchError::NotHttp)?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(FetchError::NotHttp);
    }
    let addr = if authority.contains(':') && !authority.ends_with(']') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let attempt = async {
        let stream = TcpStream::connect(&addr)
            .await
            .map_err(FetchError::Connect)?;
        let http = |e: hyper::Error| FetchError::Http(e.to_string());
        let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(http)?;
        tokio::spawn(conn);
        let req = Request::get(path)
            .header(hyper::header::HOST, authority)
            .header(hyper::header::USER_AGENT, "routecast/1")
            .body(Empty::<Bytes>::new())
            .map_err(|e| FetchError::Http(e.to_string()))?;
        let res = send.send_request(req).await.map_err(http)?;
        let status = res.status().as_u16();
        let body = Limited::new(res.into_body(), max_body)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    FetchError::TooLarge { limit: max_body }
                } else {
                    FetchError::Http(e.to_string())
                }
            })?
            .to_bytes();
        Ok(Fetched { status, body })
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .map_err(|_| FetchError::Timeout(timeout))?
}

/// The largest answer [`get`] reads.
const GET_LIMIT: usize = 16 << 20;

/// Fetches an `http://` URL with GET: the status and the body as text, or
/// `None` when it cannot be had within `timeout` (used by the health checks,
/// the statistics polls and `routecast check`).
pub async fn get(url: &str, timeout: Duration) -> Option<(u16, String)> {
    let f = fetch(url, timeout, GET_LIMIT).await.ok()?;
    Some((f.status, String::from_utf8_lossy(&f.body).into_owned()))
}
