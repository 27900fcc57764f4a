//! Why a GET gave no answer (or, for a stream, no more data).

use std::time::Duration;

/// What the HTTP layer (hyper) reported: a reset, a malformed answer, a
/// request line that cannot be sent.
pub type HttpFailure = Box<dyn std::error::Error + Send + Sync>;

/// Why a GET gave no answer, or a stream no more data. The messages are
/// those of the 502 bodies that name a failed origin.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// Only `http://host[:port]/path` URLs are fetched.
    #[error("not an http:// URL")]
    NotHttp {
        /// The URL as given.
        url: String,
    },
    /// The connection could not be made.
    #[error("cannot connect: {source}")]
    Connect {
        /// The socket's error.
        source: std::io::Error,
    },
    /// The exchange failed (reset, malformed answer, bad request line).
    #[error("HTTP exchange failed: {source}")]
    Http {
        /// hyper's (or the http crate's) error.
        source: HttpFailure,
    },
    /// No whole answer within the time allowed.
    #[error("no answer within {} ms", .limit.as_millis())]
    Timeout {
        /// The time allowed for the whole exchange.
        limit: Duration,
    },
    /// The body is larger than allowed.
    #[error("the answer is larger than {limit} bytes")]
    TooLarge {
        /// The limit, bytes.
        limit: usize,
    },
    /// A stream was answered with a status other than 200.
    #[error("HTTP status {status}")]
    Status {
        /// The status code.
        status: u16,
    },
    /// A stream was answered with a redirect (301, 302, 303, 307 or 308)
    /// naming where to go; following it is the caller's choice.
    #[error("HTTP status {status} to {location}")]
    Redirect {
        /// The status code.
        status: u16,
        /// The `Location` field as sent (possibly relative).
        location: String,
    },
    /// A stream stayed silent (no connection, head or data) for too long.
    #[error("no data within {} ms", .limit.as_millis())]
    Idle {
        /// The longest silence allowed.
        limit: Duration,
    },
}

impl FetchError {
    /// An HTTP-layer failure.
    pub(crate) fn http(source: impl Into<HttpFailure>) -> Self {
        FetchError::Http {
            source: source.into(),
        }
    }
}
