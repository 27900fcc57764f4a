//! The listeners (tokio + hyper): the public ones, which route
//! ([`crate::handle`]) within [`Limits`] and drain on shutdown — plain TCP
//! (HTTP/1.1, and HTTP/2 with prior knowledge: h2c) and TLS (HTTP/1.1 or
//! HTTP/2 by ALPN), one connection cap over both; HTTP/1.1's bodiless
//! requests (every redirect) on routecast-http's lean path, the rest on
//! hyper — and the admin one
//! ([`crate::admin()`], HTTP/1.1); and [`run`], which serves them with the
//! health checks, load polls and reloads until SIGINT or SIGTERM.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use routecast_http::tls::Tls;
use routecast_http::{Builders, ConnEnd, ConnLimits, Lean, LeanRequest, Refusal};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::reload::{reload_loop, reload_on_hangup};
use crate::request::{handle, Reply};
use crate::response::{Answer, Body};
use crate::state::{Snapshot, State};

/// Protections against slow or oversized clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once; more are answered `503` with
    /// `Connection: close` and closed, and counted in
    /// `routecast_connections_refused_total`.
    pub max_connections: usize,
    /// Time allowed to send the request head (slowloris).
    pub header_timeout: Duration,
    /// Bytes of request head buffered at most.
    pub max_header_bytes: usize,
    /// Header fields at most. The default, 100, is hyper's own: its parser
    /// then keeps the fields on the stack; any other value makes it allocate
    /// them on the heap for every request (a few % of the throughput).
    pub max_headers: usize,
    /// HTTP/2 streams open at once on one connection.
    pub max_streams: u32,
}

/// hyper's default header count limit, the one it parses on the stack.
const HYPER_MAX_HEADERS: usize = 100;

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 10_000,
            header_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            max_headers: HYPER_MAX_HEADERS,
            max_streams: ConnLimits::default().max_streams,
        }
    }
}

impl Limits {
    /// The limits of each connection.
    fn conn(&self) -> ConnLimits {
        ConnLimits {
            header_timeout: self.header_timeout,
            max_header_bytes: self.max_header_bytes,
            max_headers: (self.max_headers != HYPER_MAX_HEADERS).then_some(self.max_headers),
            max_streams: self.max_streams,
        }
    }
}

/// A public listener: plain TCP, or TLS with its certificates.
#[derive(Debug)]
pub struct Public {
    /// The bound socket.
    pub listener: TcpListener,
    /// Its TLS, if it speaks TLS.
    pub tls: Option<Arc<Tls>>,
}

impl Public {
    /// A plain listener.
    pub fn plain(listener: TcpListener) -> Self {
        Self {
            listener,
            tls: None,
        }
    }
}

/// What every public connection shares.
struct Shared {
    state: Arc<State>,
    slots: Arc<Semaphore>,
    refusal: Refusal,
    builders: Builders,
    graceful: GracefulShutdown,
    /// Set at shutdown: HTTP/1.1 connections on the lean path close when
    /// idle, or after the answer in progress (hyper's are told by
    /// `graceful`).
    closing: tokio::sync::watch::Sender<bool>,
    /// Failed and timed-out handshakes, each said at most every
    /// [`HANDSHAKE_LOG_EVERY`] (a port scanner must not flood the log).
    handshake_logs: Arc<[Quiet; 2]>,
}

/// The shortest time between two log lines of one kind of failed handshake.
const HANDSHAKE_LOG_EVERY: Duration = Duration::from_secs(10);

/// A log line said at most every [`HANDSHAKE_LOG_EVERY`], with the number
/// of events since the last one (the `/metrics` counter has them all).
#[derive(Default)]
struct Quiet {
    last: std::sync::Mutex<Option<tokio::time::Instant>>,
    since: std::sync::atomic::AtomicU64,
}

impl Quiet {
    /// Counts an event; calls `say` with the count when a line is due.
    fn say(&self, say: impl FnOnce(u64)) {
        use std::sync::atomic::Ordering;
        self.since.fetch_add(1, Ordering::Relaxed);
        let now = tokio::time::Instant::now();
        // A poisoned lock only means a panic elsewhere; the value is whole.
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|t| now.duration_since(t) < HANDSHAKE_LOG_EVERY) {
            return;
        }
        *last = Some(now);
        say(self.since.swap(0, Ordering::Relaxed));
    }
}

/// How long open connections may take to finish after a shutdown signal.
pub const DRAIN_TIME: Duration = Duration::from_secs(10);

/// Serves `listeners` until `shutdown` completes; then stops accepting,
/// lets open connections finish their request (idle keep-alive
/// connections close at once, HTTP/2 ones get a `GOAWAY`) for up to
/// [`DRAIN_TIME`], and returns.
pub async fn serve(
    listeners: Vec<Public>,
    state: Arc<State>,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let conn = limits.conn();
    let shared = Shared {
        state,
        slots: Arc::new(Semaphore::new(limits.max_connections)),
        refusal: Refusal::new(OVER_CAP, REFUSING_AT_ONCE),
        builders: routecast_http::builder(&conn),
        handshake_logs: Arc::default(),
        graceful: GracefulShutdown::new(),
        closing: tokio::sync::watch::Sender::new(false),
    };
    {
        let mut loops: Vec<_> = listeners
            .into_iter()
            .map(|l| Box::pin(accept(l, &shared)))
            .collect();
        let mut first = 0;
        let all = std::future::poll_fn(|cx| {
            // The loops never end; each is polled for its new connections,
            // starting with another one each time: accepts share the task's
            // budget, and a flood on one listener must not starve another.
            let n = loops.len();
            for i in 0..n {
                let _ = loops[(first + i) % n].as_mut().poll(cx);
            }
            first = (first + 1) % n.max(1);
            std::task::Poll::<()>::Pending
        });
        tokio::select! {
            _ = shutdown => {}
            _ = all => {}
        }
        // The listeners close here, with their loops.
    }
    shared.closing.send_replace(true);
    let closing = shared.closing;
    let drained = async move { tokio::join!(shared.graceful.shutdown(), closing.closed()) };
    let _ = tokio::time::timeout(DRAIN_TIME, drained).await;
    Ok(())
}

/// The pause after a failed accept (out of descriptors, say): without it
/// the loop would spin on the error.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// Accepts `public`'s connections forever, each served on a task of its own.
async fn accept(public: Public, shared: &Shared) {
    loop {
        let Ok((stream, peer)) = public.listener.accept().await else {
            tokio::time::sleep(ACCEPT_BACKOFF).await;
            continue;
        };
        let Ok(permit) = shared.slots.clone().try_acquire_owned() else {
            shared.state.metrics.connection_refused();
            match public.tls {
                Some(_) => drop(stream), // a 503 in plain text would be noise to a TLS client
                None => shared.refusal.refuse(stream),
            }
            continue;
        };
        let task = connection(stream, peer.ip(), public.tls.clone(), shared);
        tokio::spawn(async move {
            task.await;
            drop(permit);
        });
    }
}

/// Serves one connection from `peer`; what ended it badly is counted.
fn connection(
    stream: TcpStream,
    peer: IpAddr,
    tls: Option<Arc<Tls>>,
    shared: &Shared,
) -> impl Future<Output = ()> + Send + 'static {
    let state = shared.state.clone();
    let builders = shared.builders.clone();
    let quiet = shared.handshake_logs.clone();
    let watcher = shared.graceful.watcher();
    let closing = shared.closing.subscribe();
    async move {
        let svc = service(&state, peer);
        let lean = Lean {
            answer: lean_answer(&state, peer),
            closing,
        };
        let served = routecast_http::serve_connection_lean(
            stream,
            tls.as_deref(),
            &builders,
            svc,
            watcher,
            lean,
        )
        .await;
        match served {
            Ok(()) => {}
            Err(ConnEnd::Handshake(e)) => {
                state.metrics.tls_handshake_failed();
                quiet[0].say(|n| tracing::info!(peer = %peer, error = %e, failures = n, "TLS handshake failed; connection closed"));
            }
            Err(ConnEnd::HandshakeTimeout) => {
                state.metrics.tls_handshake_failed();
                quiet[1].say(|n| tracing::info!(peer = %peer, failures = n, "TLS handshake not finished within the header timeout; connection closed"));
            }
            Err(ConnEnd::Idle) => {}
            Err(ConnEnd::Http(e)) => {
                if let Some(status) = e.downcast_ref::<hyper::Error>().and_then(parser_refusal) {
                    state.record_unparsed(status);
                }
            }
        }
    }
}

/// The public service of one connection from `peer`. Redirects are
/// answered in the call, without allocating; only playlists take the state
/// along to await their origin.
fn service(
    state: &Arc<State>,
    peer: IpAddr,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = Response<Body>,
    Error = Infallible,
    Future = impl Future<Output = Result<Response<Body>, Infallible>> + Send,
> + Clone {
    let state = state.clone();
    service_fn(move |req: Request<Incoming>| {
        let reply = match handle(&state, peer, &req) {
            Reply::Ready(r) => Ok(r),
            Reply::Playlist(job) => Err((job, state.clone())),
        };
        async move {
            Ok::<_, Infallible>(match reply {
                Ok(r) => r,
                Err((job, state)) => Box::pin(job.run(&state)).await,
            })
        }
    })
}

/// The answers of one connection from `peer` on the lean HTTP/1.1 path
/// (bodiless HTTP/1.1 requests; see [`routecast_http::Lean`]): the same
/// [`handle`] as [`service`]'s.
fn lean_answer(
    state: &Arc<State>,
    peer: IpAddr,
) -> impl Fn(&LeanRequest<'_>) -> LeanAnswer + Send + 'static {
    let state = state.clone();
    move |req: &LeanRequest<'_>| match crate::request::answer(&state, peer, req) {
        Ok(a) => LeanAnswer::Ready(Some(a)),
        Err(job) => {
            let state = state.clone();
            LeanAnswer::Later(Box::pin(async move { job.run(&state).await }))
        }
    }
}

/// A lean-path answer: ready at once (a redirect is written straight out),
/// or a playlist's, awaited.
enum LeanAnswer {
    Ready(Option<Answer>),
    Later(std::pin::Pin<Box<dyn Future<Output = Response<Body>> + Send>>),
}

impl Future for LeanAnswer {
    type Output = Answer;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Answer> {
        match self.get_mut() {
            // Polled once: a finished future is not polled again.
            LeanAnswer::Ready(a) => std::task::Poll::Ready(a.take().unwrap_or_else(|| {
                Answer::Whole(crate::response::refusal(
                    &crate::error::ServeError::Internal {
                        what: "an answer polled twice",
                    },
                ))
            })),
            LeanAnswer::Later(f) => f.as_mut().poll(cx).map(Answer::Whole),
        }
    }
}

/// The status hyper answered a request its parser refused with (it writes
/// the answer itself and ends the connection with the error): 431 for a
/// head over [`Limits::max_header_bytes`] or [`Limits::max_headers`], 414
/// for a URI over hyper's limit, 400 for anything else malformed. `None`
/// for errors it answers nothing to (a timeout, a reset).
fn parser_refusal(e: &hyper::Error) -> Option<u16> {
    if !e.is_parse() || e.is_parse_version_h2() || e.is_parse_status() {
        return None;
    }
    if !e.is_parse_too_large() {
        return Some(400);
    }
    // hyper tells a long URI from a large head only by its message.
    Some(if e.to_string().contains("URI") {
        414
    } else {
        431
    })
}

/// What a connection over the cap reads before it is closed.
const OVER_CAP: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
    Content-Type: text/plain; charset=utf-8\r\nContent-Length: 21\r\n\
    Cache-Control: no-store\r\nRetry-After: 1\r\nConnection: close\r\n\r\n\
    too many connections\n";

/// Refused connections kept open at once to read what their client sends
/// before closing (more are closed right after the 503 is written).
const REFUSING_AT_ONCE: usize = 64;

/// Serves the admin endpoints until `shutdown` completes.
pub async fn serve_admin(
    listener: TcpListener,
    state: Arc<State>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let state = state.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<Incoming>| {
                        let r = crate::admin::admin(&state, &req);
                        async move { Ok::<_, Infallible>(r) }
                    });
                    let _ = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(Duration::from_secs(10))
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        }
    }
}

/// Runs a redirector until SIGINT or SIGTERM: `loaded` installed in `state`
/// (its health checks and load polls started), reloads of `config` (and of
/// `state`'s TLS certificates) on SIGHUP, `POST /reload` and file changes
/// ([`crate::reload`]), the admin endpoints on `admin`, requests on
/// `public` within `limits`; then drains ([`serve`]).
pub async fn run(
    state: Arc<State>,
    loaded: &routecast_geo::Loaded,
    config: PathBuf,
    (public, admin): (Vec<Public>, Option<TcpListener>),
    limits: Limits,
) -> io::Result<()> {
    if let Some(admin) = admin {
        tokio::spawn(serve_admin(admin, state.clone(), shutdown_signal()));
    }
    state.install(Snapshot::new(loaded));
    tokio::spawn(reload_on_hangup(state.clone()));
    tokio::spawn(reload_loop(config, loaded.files.clone(), state.clone()));
    serve(public, state, limits, shutdown_signal()).await
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}
