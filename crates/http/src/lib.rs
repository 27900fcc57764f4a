//! routecast's one HTTP client, on hyper and tokio: the redirector's
//! health checks, statistics polls and playlists fetched from origins,
//! `routecast check`, and the segmenter's `http://` inputs all go through it.
//!
//! Two ways to GET:
//! * [`fetch`] (and [`fetch_text`]): a bounded GET, the status and the
//!   whole body, the exchange within a time limit and the body within a
//!   size limit.
//! * [`BodyStream`]: a streaming GET for bodies that never end (a live
//!   transport stream), read frame by frame with an *idle* limit between
//!   frames, so that a stalled connection is noticed while a live one may
//!   run for days. Reconnecting is the caller's business.
//!
//! And the serving half the redirector and the segmenter's origin share:
//! [`Refusal`] answers a connection a server will not serve (over its cap)
//! and closes it without a reset; with the `server` feature, `tls` holds
//! certificates (rustls, chosen by SNI, reloadable) and
//! `serve_connection` serves an accepted connection as HTTP/1.1 or
//! HTTP/2 (ALPN on TLS, prior knowledge on plain TCP) within `ConnLimits`;
//! `serve_connection_lean` does the same with HTTP/1.1's bodiless requests
//! answered on a lean path (`httparse`, one write per batch of answers)
//! and everything else handed to hyper, byte for byte as hyper answers.
//!
//! Failures are [`FetchError`]s, whose messages are those the redirector
//! writes into its 502 answers.
//!
//! # Rules
//! * **The client speaks plain `http://` only**: `http://host[:port][/path]`; the `Host`
//!   field is the URL's authority as written, port 80 when none is written.
//!   Anything else is [`FetchError::NotHttp`] (TLS is not spoken).
//! * **One connection per request**: HTTP/1.1, no pool, no keep-alive
//!   reuse; the connection closes when the answer is read or given up.
//! * **Bounded**: a [`fetch`] has a total time limit and a body limit; a
//!   [`BodyStream`] has an idle limit on connecting, on the head and on
//!   every frame.
//! * **No redirects followed**: a 3xx is an answer like any other; a
//!   [`BodyStream`] tells a redirect's `Location`
//!   ([`FetchError::Redirect`]) for its caller to follow or not.
//! * hyper reads the response heads and chunked bodies: no HTTP parsing is
//!   written here.
//!
//! # Example
//! A server on a loopback port that answers one request, and a GET of it:
//! ```
//! use std::time::Duration;
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! runtime.block_on(async {
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//!     let url = format!("http://{}/status", listener.local_addr()?);
//!     tokio::spawn(async move {
//!         let (mut socket, _) = listener.accept().await?;
//!         let mut request = [0u8; 1024];
//!         let _ = socket.read(&mut request).await?; // one read holds the head
//!         socket.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").await
//!     });
//!     let answer = routecast_http::fetch(&url, Duration::from_secs(5), 1024).await?;
//!     assert_eq!((answer.status, &answer.body[..]), (200, &b"ok"[..]));
//!     Ok(())
//! })
//! # }
//! ```

mod error;
mod fetch;
#[cfg(feature = "server")]
mod lean;
mod refusal;
mod request;
#[cfg(feature = "server")]
mod serve;
mod stream;
#[cfg(test)]
mod testing;
#[cfg(feature = "server")]
pub mod tls;

pub use error::{FetchError, HttpFailure};
pub use fetch::{fetch, fetch_text, Fetched, TEXT_LIMIT};
/// The lean path against hyper alone, for the property test and the fuzz
/// target; not a stable interface.
#[cfg(feature = "server")]
#[doc(hidden)]
pub use lean::fuzzing as lean_fuzzing;
#[cfg(feature = "server")]
pub use lean::{end_answer, Framing, Lean, LeanAnswer, LeanRequest};
pub use refusal::{Refusal, REFUSAL_LINGER, REFUSAL_READ_BYTES};
pub use request::RequestHead;
#[cfg(feature = "server")]
pub use serve::{
    builder, serve_connection, serve_connection_lean, Builders, ConnEnd, ConnLimits,
    H2_MAX_PENDING_RESETS, IDLE_TIMEOUT,
};
pub use stream::BodyStream;
