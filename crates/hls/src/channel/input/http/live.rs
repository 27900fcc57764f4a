//! The body of a live stream, reopened whenever it drops: async, on
//! tokio's clock, so that its waits are tested on paused time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use routecast_http::{BodyStream, RequestHead};

use super::{HttpUrl, StreamTimings};

/// What the segmenter's GET says.
const HEAD: RequestHead = RequestHead {
    user_agent: "routecast-segment",
    accept: Some("*/*"),
};

/// A live body that never ends: the next bytes, whatever it takes.
#[derive(Debug)]
pub(super) struct LiveBody {
    url: String,
    timings: StreamTimings,
    body: Option<BodyStream>,
    /// The next wait before reconnecting.
    backoff: Duration,
    reconnects: Arc<AtomicU64>,
}

impl LiveBody {
    /// The body of `url`, not yet asked for.
    pub(super) fn new(url: &HttpUrl, timings: StreamTimings) -> Self {
        Self {
            url: url.with_port(),
            timings,
            body: None,
            backoff: timings.backoff_min,
            reconnects: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Reconnections so far.
    pub(super) fn reconnects(&self) -> Arc<AtomicU64> {
        self.reconnects.clone()
    }

    /// The next bytes of the body (never empty). A connection that fails,
    /// answers other than 200, ends, or stays silent longer than the idle
    /// limit is reopened after the back-off.
    pub(super) async fn next(&mut self) -> Bytes {
        loop {
            let body = match &mut self.body {
                Some(body) => body,
                None => match BodyStream::open(&self.url, &HEAD, self.timings.idle).await {
                    Ok(body) => self.body.insert(body),
                    Err(_) => {
                        self.wait().await;
                        continue;
                    }
                },
            };
            match body.next_chunk().await {
                Ok(Some(data)) => {
                    self.backoff = self.timings.backoff_min;
                    return data;
                }
                Ok(None) | Err(_) => {
                    self.body = None;
                    self.wait().await;
                }
            }
        }
    }

    /// Counts a reconnection and waits the back-off, doubling it.
    async fn wait(&mut self) {
        self.reconnects.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(self.backoff).await;
        self.backoff = (self.backoff * 2).min(self.timings.backoff_max);
    }
}
