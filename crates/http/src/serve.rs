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
//!
//! A connection must bring its first request within the header timeout
//! (a silent socket, a half-sent HTTP/2 preface, a TLS session that never
//! asks for anything), and is closed after [`IDLE_TIMEOUT`] without a
//! request in progress (nginx's `keepalive_timeout`): idle sockets cannot
//! hold the connection cap.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::Service;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::Watcher;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::lean::{serve_lean, Lean, LeanAnswer, LeanRequest};
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

/// A connection with no request in progress is closed after this long
/// without a new one (nginx's `keepalive_timeout` default).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(75);

/// Connection builders for `limits`: one that tells HTTP/1.1 from HTTP/2
/// by the first bytes (plain TCP), and one for each protocol (TLS, where
/// ALPN said which).
#[derive(Clone)]
pub struct Builders {
    pub(crate) any: auto::Builder<TokioExecutor>,
    pub(crate) h1: auto::Builder<TokioExecutor>,
    pub(crate) h2: auto::Builder<TokioExecutor>,
    pub(crate) limits: ConnLimits,
}

impl std::fmt::Debug for Builders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builders")
            .field("limits", &self.limits)
            .finish()
    }
}

/// Connection builders for `limits` (see [`Builders`]).
pub fn builder(limits: &ConnLimits) -> Builders {
    let any = auto_builder(limits);
    Builders {
        h1: any.clone().http1_only(),
        h2: any.clone().http2_only(),
        any,
        limits: *limits,
    }
}

/// HTTP/1.1 and HTTP/2 with `limits`.
fn auto_builder(limits: &ConnLimits) -> auto::Builder<TokioExecutor> {
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
    /// No request came within the header timeout of the connection's
    /// start, or none within [`IDLE_TIMEOUT`] of the last one: closed.
    Idle,
}

/// Serves `stream` with `service` (TLS first when `tls` is given) until it
/// closes, idles (see the module text), `watcher`'s shutdown asks it to
/// finish, or it fails.
pub async fn serve_connection<S, B>(
    stream: TcpStream,
    tls: Option<&Tls>,
    builders: &Builders,
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
    let limits = &builders.limits;
    let started = Instant::now();
    let Some(tls) = tls else {
        let io = TokioIo::new(stream);
        return serve_io(io, &builders.any, limits, started, service, watcher).await;
    };
    let stream = handshake(stream, tls, limits).await?;
    // ALPN decides: no sniffing of the first bytes.
    let builder = match stream.get_ref().1.alpn_protocol() {
        Some(b"h2") => &builders.h2,
        _ => &builders.h1,
    };
    serve_io(
        TokioIo::new(stream),
        builder,
        limits,
        started,
        service,
        watcher,
    )
    .await
}

/// `stream`'s TLS handshake, within the header timeout.
async fn handshake(
    stream: TcpStream,
    tls: &Tls,
    limits: &ConnLimits,
) -> Result<tokio_rustls::server::TlsStream<TcpStream>, ConnEnd> {
    let handshake = tls.acceptor().accept(stream);
    match tokio::time::timeout(limits.header_timeout, handshake).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(ConnEnd::Handshake(e)),
        Err(_) => Err(ConnEnd::HandshakeTimeout),
    }
}

/// [`serve_connection`] with HTTP/1.1 on the lean path (see [`Lean`]):
/// its simple requests answered by `lean.answer`, every other request and
/// HTTP/2 by `service` through hyper.
pub async fn serve_connection_lean<S, B, L, F>(
    stream: TcpStream,
    tls: Option<&Tls>,
    builders: &Builders,
    service: S,
    watcher: Watcher,
    lean: Lean<L>,
) -> Result<(), ConnEnd>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    L: Fn(&LeanRequest<'_>) -> F,
    F: Future<Output: LeanAnswer>,
{
    let limits = &builders.limits;
    let started = Instant::now();
    let Some(tls) = tls else {
        return serve_lean(
            stream,
            (&builders.any, &builders.h1),
            limits,
            started,
            service,
            watcher,
            lean,
        )
        .await;
    };
    let stream = handshake(stream, tls, limits).await?;
    if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
        let io = TokioIo::new(stream);
        return serve_io(io, &builders.h2, limits, started, service, watcher).await;
    }
    serve_lean(
        stream,
        (&builders.h1, &builders.h1),
        limits,
        started,
        service,
        watcher,
        lean,
    )
    .await
}

/// When a connection's requests came and whether one is in progress.
#[derive(Debug)]
struct Activity {
    started: Instant,
    /// Requests begun, and those whose answer is not ready yet.
    requests: AtomicU64,
    in_progress: AtomicU64,
    /// When the last request began or was answered, ms after `started`.
    last_ms: AtomicU64,
}

impl Activity {
    fn touch(&self) {
        let ms = self.started.elapsed().as_millis();
        self.last_ms
            .store(u64::try_from(ms).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// When the connection is to be closed if nothing happens before.
    fn deadline(&self, header_timeout: Duration) -> Instant {
        if self.in_progress.load(Ordering::Relaxed) > 0 {
            return Instant::now() + IDLE_TIMEOUT;
        }
        if self.requests.load(Ordering::Relaxed) == 0 {
            return self.started + header_timeout;
        }
        self.started + Duration::from_millis(self.last_ms.load(Ordering::Relaxed)) + IDLE_TIMEOUT
    }
}

/// `S` with the connection's [`Activity`] kept.
#[derive(Debug, Clone)]
struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: Service<Request<Incoming>>> Service<Request<Incoming>> for Watched<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = Tracked<S::Future>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let a = &self.activity;
        a.requests.fetch_add(1, Ordering::Relaxed);
        a.in_progress.fetch_add(1, Ordering::Relaxed);
        a.touch();
        Tracked {
            inner: self.inner.call(req),
            done: Done(self.activity.clone()),
        }
    }
}

/// Marks a request answered (or given up) when dropped.
#[derive(Debug)]
struct Done(Arc<Activity>);

impl Drop for Done {
    fn drop(&mut self) {
        self.0.in_progress.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

pin_project_lite::pin_project! {
    /// A request's answer, its [`Activity`] updated when it is ready.
    #[derive(Debug)]
    struct Tracked<F> {
        #[pin]
        inner: F,
        done: Done,
    }
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.project().inner.poll(cx)
    }
}

pub(crate) async fn serve_io<I, S, B>(
    io: I,
    builder: &auto::Builder<TokioExecutor>,
    limits: &ConnLimits,
    started: Instant,
    service: S,
    watcher: Watcher,
) -> Result<(), ConnEnd>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let activity = Arc::new(Activity {
        started,
        requests: AtomicU64::new(0),
        in_progress: AtomicU64::new(0),
        last_ms: AtomicU64::new(0),
    });
    let service = Watched {
        inner: service,
        activity: activity.clone(),
    };
    let conn = watcher.watch(builder.serve_connection(io, service).into_owned());
    tokio::pin!(conn);
    loop {
        let deadline = activity.deadline(limits.header_timeout);
        tokio::select! {
            served = &mut conn => return served.map_err(ConnEnd::Http),
            () = tokio::time::sleep_until(deadline) => {
                // Dropping the connection closes the socket.
                if activity.deadline(limits.header_timeout) <= Instant::now() {
                    return Err(ConnEnd::Idle);
                }
            }
        }
    }
}
