//! The streaming GET: a 200 whose body may never end (a live transport
//! stream), read frame by frame, each within an idle limit so that a
//! stalled connection is noticed.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;

use crate::request::{send_get, Connection, RequestHead, Target};
use crate::FetchError;

/// The body of a 200 answer, read as it comes. Dropping it closes the
/// connection.
#[derive(Debug)]
pub struct BodyStream {
    body: Incoming,
    idle: Duration,
    /// Kept for as long as the body is read.
    _connection: Connection,
}

impl BodyStream {
    /// Sends a GET for `url` with `head`; the connection and the response
    /// head must come within `idle`, and the status must be 200: a
    /// redirect with a `Location` (301, 302, 303, 307, 308) is
    /// [`FetchError::Redirect`], not followed; any other status is
    /// [`FetchError::Status`].
    pub async fn open(url: &str, head: &RequestHead, idle: Duration) -> Result<Self, FetchError> {
        let target = Target::parse(url)?;
        let (response, connection) = tokio::time::timeout(idle, send_get(&target, head))
            .await
            .map_err(|_| FetchError::Idle { limit: idle })??;
        match response.status().as_u16() {
            200 => Ok(Self {
                body: response.into_body(),
                idle,
                _connection: connection,
            }),
            status @ (301 | 302 | 303 | 307 | 308) => match location(&response) {
                Some(location) => Err(FetchError::Redirect { status, location }),
                None => Err(FetchError::Status { status }),
            },
            status => Err(FetchError::Status { status }),
        }
    }

    /// The next bytes of the body (never empty), `None` at its end, or
    /// [`FetchError::Idle`] when nothing came within the idle limit.
    /// Chunked bodies arrive decoded; trailers are skipped.
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>, FetchError> {
        loop {
            let frame = tokio::time::timeout(self.idle, self.body.frame())
                .await
                .map_err(|_| FetchError::Idle { limit: self.idle })?;
            let Some(frame) = frame else {
                return Ok(None);
            };
            match frame.map_err(FetchError::http)?.into_data() {
                Ok(data) if !data.is_empty() => return Ok(Some(data)),
                _ => continue,
            }
        }
    }
}

/// The response's one `Location` field, if it is text.
fn location(response: &hyper::Response<Incoming>) -> Option<String> {
    let value = response.headers().get(hyper::header::LOCATION)?;
    value.to_str().ok().map(str::to_owned)
}

#[cfg(test)]
mod tests;
