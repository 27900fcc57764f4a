//! The body of a live stream, reopened whenever it drops: async, on
//! tokio's clock, so that its waits are tested on paused time. Redirects
//! are followed at each connection; every failed attempt, connection and
//! giving up is posted as an [`InputNotice`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use routecast_http::{BodyStream, FetchError, RequestHead};
use tokio::time::Instant;

use super::redirect::{RedirectChain, RedirectError};
use super::{HttpUrl, StreamTimings};
use crate::channel::input::{InputNotice, NoticeSink};

/// What the segmenter's GET says.
const HEAD: RequestHead = RequestHead {
    user_agent: "routecast-segment",
    accept: Some("*/*"),
};

/// Why an attempt gave no stream, or a stream no more data.
#[derive(Debug, thiserror::Error)]
enum Failure {
    /// The HTTP client's failure (connection, status, reset, silence).
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// A redirect not followed.
    #[error(transparent)]
    Redirect(#[from] RedirectError),
    /// The body ended (the server closed it).
    #[error("the stream ended")]
    Ended,
}

impl Failure {
    /// The HTTP status, when the failure is one.
    fn status(&self) -> Option<u16> {
        match self {
            Failure::Fetch(FetchError::Status { status } | FetchError::Redirect { status, .. }) => {
                Some(*status)
            }
            _ => None,
        }
    }

    /// When the stream last gave data, if this failure says (a silence
    /// noticed at `now` began the idle limit earlier).
    fn last_data(&self, now: Instant) -> Instant {
        match self {
            Failure::Fetch(FetchError::Idle { limit }) => now.checked_sub(*limit).unwrap_or(now),
            _ => now,
        }
    }
}

/// A time without data.
#[derive(Debug, Clone, Copy)]
struct Outage {
    /// When the last data came (or the stream was made).
    since: Instant,
    /// Attempts failed since.
    retries: u64,
}

/// A live body that never ends (unless it gives up): the next bytes,
/// whatever it takes.
#[derive(Debug)]
pub(super) struct LiveBody {
    /// The input's URL, with its port written.
    url: String,
    /// The URL asked last (after redirects).
    asked: String,
    timings: StreamTimings,
    body: Option<BodyStream>,
    /// The next wait before reconnecting.
    backoff: Duration,
    reconnects: Arc<AtomicU64>,
    notices: NoticeSink,
    /// Since when no data came, if none came since the last attempt.
    outage: Option<Outage>,
    /// When the body being read was connected.
    connected_at: Instant,
    given_up: bool,
}

impl LiveBody {
    /// The body of `url`, not yet asked for; what happens is posted to
    /// `notices`.
    pub(super) fn new(url: &HttpUrl, timings: StreamTimings, notices: NoticeSink) -> Self {
        let url = url.with_port();
        Self {
            asked: url.clone(),
            url,
            timings,
            body: None,
            backoff: timings.backoff_min,
            reconnects: Arc::new(AtomicU64::new(0)),
            notices,
            outage: Some(Outage {
                since: Instant::now(),
                retries: 0,
            }),
            connected_at: Instant::now(),
            given_up: false,
        }
    }

    /// Reconnections so far.
    pub(super) fn reconnects(&self) -> Arc<AtomicU64> {
        self.reconnects.clone()
    }

    /// The next bytes of the body (never empty), or `None` once given up.
    /// A connection that fails, answers other than 200, ends, or stays
    /// silent longer than the idle limit is reopened after the back-off.
    pub(super) async fn next(&mut self) -> Option<Bytes> {
        while !self.given_up {
            let Some(body) = self.body.as_mut() else {
                match self.connect().await {
                    Ok(body) => self.body = Some(body),
                    Err(failure) => self.failed(failure).await,
                }
                continue;
            };
            match body.next_chunk().await {
                Ok(Some(data)) => {
                    self.delivered();
                    return Some(data);
                }
                Ok(None) => self.dropped(Failure::Ended).await,
                Err(e) => self.dropped(e.into()).await,
            }
        }
        None
    }

    /// A GET of the input's URL, following redirects; posts the
    /// connection.
    async fn connect(&mut self) -> Result<BodyStream, Failure> {
        let mut chain = RedirectChain::new(&self.url);
        loop {
            self.asked = chain.current().to_owned();
            match BodyStream::open(&self.asked, &HEAD, self.timings.idle).await {
                Ok(body) => {
                    self.connected();
                    return Ok(body);
                }
                Err(FetchError::Redirect { status, location }) => {
                    chain.follow(status, &location)?;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Data came: the outage is over; the back-off goes back to the
    /// shortest once this connection has lasted the longest wait (a
    /// source that answers a few bytes and closes is not retried in a
    /// tight loop; a stream that ran for long is retried at once).
    fn delivered(&mut self) {
        self.outage = None;
        if self.backoff > self.timings.backoff_min
            && self.connected_at.elapsed() >= self.timings.backoff_max
        {
            self.backoff = self.timings.backoff_min;
        }
    }

    /// Posts a connection, with the outage it ends.
    fn connected(&mut self) {
        self.connected_at = Instant::now();
        let (retries, down) = self
            .outage
            .map_or((0, Duration::ZERO), |o| (o.retries, o.since.elapsed()));
        self.notices.tell(InputNotice::Connected {
            url: self.asked.clone(),
            retries,
            down,
        });
    }

    /// The body failed or ended: it is dropped (its connection closed).
    async fn dropped(&mut self, failure: Failure) {
        self.body = None;
        self.failed(failure).await;
    }

    /// An attempt failed: posts it, then waits the back-off (doubling it)
    /// or gives up once the stream has been without data for the limit.
    async fn failed(&mut self, failure: Failure) {
        let now = Instant::now();
        let outage = self.outage.get_or_insert(Outage {
            since: failure.last_data(now),
            retries: 0,
        });
        outage.retries += 1;
        let since = outage.since;
        let wait = match self.timings.give_up_after {
            Some(limit) => match (since + limit).checked_duration_since(now) {
                Some(left) if !left.is_zero() => self.backoff.min(left),
                _ => return self.give_up(&failure, now - since),
            },
            None => self.backoff,
        };
        self.notices.tell(InputNotice::Failed {
            url: self.asked.clone(),
            status: failure.status(),
            error: failure.to_string(),
            retry_in: wait,
        });
        self.reconnects.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(wait).await;
        self.backoff = (self.backoff * 2).min(self.timings.backoff_max);
    }

    /// Gives up after `after` without data, `failure` being the last.
    fn give_up(&mut self, failure: &Failure, after: Duration) {
        self.given_up = true;
        self.notices.tell(InputNotice::GaveUp {
            url: self.asked.clone(),
            after,
            error: failure.to_string(),
        });
    }
}
