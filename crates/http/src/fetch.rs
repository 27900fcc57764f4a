//! The bounded GET: a status and a whole body, within a time limit and a
//! size limit (health checks, statistics polls, `routecast check`,
//! playlists fetched from origins).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;

use crate::request::{send_get, RequestHead, Target};
use crate::FetchError;

/// An answer: its status and body.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The HTTP status code.
    pub status: u16,
    /// The whole body.
    pub body: Bytes,
}

/// The largest answer [`fetch_text`] reads, bytes.
pub const TEXT_LIMIT: usize = 16 << 20;

/// Fetches an `http://` URL with GET within `timeout` (connection, head and
/// body together), refusing bodies over `max_body` bytes. Any status is an
/// answer; redirects are not followed.
pub async fn fetch(url: &str, timeout: Duration, max_body: usize) -> Result<Fetched, FetchError> {
    let target = Target::parse(url)?;
    let exchange = async {
        // The connection lives until the body is read.
        let (response, _connection) = send_get(&target, &RequestHead::default()).await?;
        let status = response.status().as_u16();
        let body = read_body(response.into_body(), max_body).await?;
        Ok(Fetched { status, body })
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| FetchError::Timeout { limit: timeout })?
}

/// Fetches an `http://` URL with GET: the status and the body as text
/// (invalid UTF-8 replaced), or `None` when it cannot be had within
/// `timeout` or is over [`TEXT_LIMIT`] (the health checks, the statistics
/// polls and `routecast check`).
pub async fn fetch_text(url: &str, timeout: Duration) -> Option<(u16, String)> {
    let f = fetch(url, timeout, TEXT_LIMIT).await.ok()?;
    Some((f.status, String::from_utf8_lossy(&f.body).into_owned()))
}

/// The whole body, at most `limit` bytes.
async fn read_body(body: Incoming, limit: usize) -> Result<Bytes, FetchError> {
    let collected = Limited::new(body, limit).collect().await.map_err(|e| {
        if e.is::<LengthLimitError>() {
            FetchError::TooLarge { limit }
        } else {
            FetchError::http(e)
        }
    })?;
    Ok(collected.to_bytes())
}

#[cfg(test)]
mod tests;
