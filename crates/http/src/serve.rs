//! One accepted connection served on whichever protocol it speaks:
//! HTTP/1.1, or HTTP/2 (ALPN `h2` on TLS; on plain TCP, a client that
//! opens with HTTP/2's preface: "prior knowledge" h2c), within
//! [`ConnLimits`], TLS first where the listener has it.
//!
//! hyper reads both protocols (hyper-util's automatic builder picks by the
//! first bytes); no HTTP is parsed here. What HTTP/2 needs beyond HTTP/1.1
//! is bounded here: concurrent streams, the header list, the window sizes,
//! and streams reset by the client before they are answered (the 2023
//! "rapid reset" attack, CVE-2023-44487): past [`H2_MAX_PENDING_RESETS`] at
//! once the connection is closed with `GOAWAY`.

use std::future::Future;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::Service;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::Watcher;
use tokio::net::TcpStream;

use crate::tls::Tls;

/// HTTP/2 streams reset by the client while still being answered, at once,
/// before the connection is closed (h2's default; nginx closes such
/// connections too).
pub const H2_MAX_PENDING_RESETS: usize = 20;

/// What a connection is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// Time for the TLS handshake, and for each HTTP/1.1 request head.
    pub header_timeout: Duration,
    /// Bytes of an HTTP/1.1 request head, or of an HTTP/2 header list.
    pub max_header_bytes: usize,
    /// HTTP/1.1 header fields at most (`None`: hyper's own 100, parsed on
    /// the stack; any other value makes it allocate per request).
    pub max_headers: Option<usize>,
    /// HTTP/2 streams open at once on a connection (nginx: 128).
    pub max_streams: u32,
}

impl Default for ConnLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            max_headers: None,
            max_streams: 128,
        }
    }
}

/// HTTP/2 flow-control window of a stream and of a connection: the
/// answers here are small, and requests have no body worth a large window.
const H2_WINDOW: u32 = 64 * 1024;

/// Answer bytes buffered per HTTP/2 stream at most.
const H2_SEND_BUFFER: usize = 64 * 1024;

/// Idle HTTP/2 connections are pinged this often, and closed when a ping
/// is not answered within the same time.
const H2_KEEP_ALIVE: Duration = Duration::from_secs(30);

/// A connection builder for `limits`: HTTP/1.1 and HTTP/2.
pub fn builder(limits: &ConnLimits) -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    let mut h1 = b.http1();
    h1.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192));
    if let Some(n) = limits.max_headers {
        h1.max_headers(n);
    }
    b.http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_streams)
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        .max_pending_accept_reset_streams(H2_MAX_PENDING_RESETS)
        .max_local_error_reset_streams(1024)
        .initial_stream_window_size(H2_WINDOW)
        .initial_connection_window_size(H2_WINDOW)
        .max_send_buf_size(H2_SEND_BUFFER)
        .keep_alive_interval(H2_KEEP_ALIVE)
        .keep_alive_timeout(H2_KEEP_ALIVE);
    b
}

/// Why a connection ended before or while it was served.
#[derive(Debug)]
pub enum ConnEnd {
    /// The TLS handshake failed (garbage instead of a ClientHello, no
    /// common version or cipher, a client that refused our certificate).
    Handshake(std::io::Error),
    /// The TLS handshake did not finish within the header timeout.
    HandshakeTimeout,
    /// HTTP failed (hyper's error: a parse error, a reset, a timeout).
    Http(Box<dyn std::error::Error + Send + Sync>),
}

/// Serves `stream` with `service` (TLS first when `tls` is given) until it
/// closes, `watcher`'s shutdown asks it to finish, or it fails.
pub async fn serve_connection<S, B>(
    stream: TcpStream,
    tls: Option<&Tls>,
    builder: &auto::Builder<TokioExecutor>,
    limits: &ConnLimits,
    service: S,
    watcher: Watcher,
) -> Result<(), ConnEnd>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let Some(tls) = tls else {
        return serve_io(TokioIo::new(stream), builder, service, watcher).await;
    };
    let handshake = tls.acceptor().accept(stream);
    let stream = match tokio::time::timeout(limits.header_timeout, handshake).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(ConnEnd::Handshake(e)),
        Err(_) => return Err(ConnEnd::HandshakeTimeout),
    };
    serve_io(TokioIo::new(stream), builder, service, watcher).await
}

fn serve_io<I, S, B>(
    io: I,
    builder: &auto::Builder<TokioExecutor>,
    service: S,
    watcher: Watcher,
) -> impl Future<Output = Result<(), ConnEnd>>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let conn = builder.serve_connection(io, service).into_owned();
    let conn = watcher.watch(conn);
    async move { conn.await.map_err(ConnEnd::Http) }
}
