//! The built-in HTTP origin: serves the segmenter's output directory over
//! HTTP/1.1 and HTTP/2 (tokio + hyper; h2c with prior knowledge, or TLS by
//! rustls with HTTP/2 by ALPN: [`OriginThread::spawn`] takes the
//! certificates) with the low-latency HLS delivery rules of
//! RFC 8216bis (draft-pantos-hls-rfc8216bis, "HTTP Live Streaming 2nd
//! Edition").
//!
//! The segmenter writes its files atomically, then publishes what it wrote
//! as a [`Published`] on a [`tokio::sync::watch`] channel; the origin reads
//! that channel. Held requests wake on `watch::Receiver::changed`, never by
//! polling.
//!
//! # Rules
//! * **The live playlist comes from memory.** `GET /index.m3u8` answers
//!   [`Published::playlist`] (or [`Published::delta`]), not the file, so
//!   the state a blocking request waited for and the text it gets are the
//!   same. Before anything is published it is 404.
//! * **Blocking playlist reload** (§6.2.5.2). `_HLS_msn=M` is held until
//!   segment `M` or a later one is complete; `_HLS_msn=M&_HLS_part=N` until
//!   part `N` of segment `M` or a later part is published (a part index past
//!   the end of a complete segment `M` waits for part 0 of `M + 1`). The
//!   whole playlist is answered, however far it has moved on.
//! * **400** (§6.2.5.2): `_HLS_part` without `_HLS_msn` (MUST); `_HLS_msn`
//!   more than the last segment plus two, or `_HLS_part` more than the
//!   Advance Part Limit (3 ÷ `PART-TARGET` under a second, else 3) beyond
//!   the last part (SHOULD); directives that are not decimal-integers or are
//!   repeated. Checked against the state when the request arrives.
//! * **503** when a held request is not satisfied within three target
//!   durations (§6.2.5.2, SHOULD), and for held requests at shutdown.
//! * **Ended input**: once [`Published::ended`], `_HLS_msn`, `_HLS_part`
//!   and `_HLS_skip` are ignored (§6.2.5.1, §6.2.5.2: MUST ignore them when
//!   the playlist has `EXT-X-ENDLIST`) and held requests are answered at
//!   once.
//! * **Delta updates** (§6.2.5.1): `_HLS_skip=YES` or `v2` answers
//!   [`Published::delta`] when the segmenter made one (it does only when
//!   the playlist has `CAN-SKIP-UNTIL`), else the full playlist.
//! * **Media from memory first.** A part or segment named in
//!   [`Published::pending_media`] is served from there: the segmenter
//!   publishes before its disk writes are done, so a file system that
//!   holds a rename for a second delays nothing a player waits for.
//! * **Hinted media** (§6.2.6): a request for `seg{M}.{N}.ts` or `seg{M}.ts`
//!   that is not on disk yet but is the next part or segment (at most one
//!   ahead of [`Published::last_part`] / [`Published::last_segment`]: what
//!   an `EXT-X-PRELOAD-HINT` names) is held until the segmenter publishes
//!   past it, then served whole, or 404 if it was never written (the cutter
//!   closed the segment first). Same three-target-duration limit (503).
//!   Anything else missing is 404 at once.
//! * **Renditions** ([`serve_renditions_on`]): several live streams, each
//!   the state of its own segmenter, each served as above under `/NAME/`
//!   from `DIR/NAME` (where `routecast segment` writes them, so the same
//!   URLs work from disk), with the plain files of `DIR` such as
//!   `master.m3u8` at the root. Each rendition's 400s, 503s and holds
//!   follow its own state; an unknown `/NAME/` is 404.
//! * **Only plain file names** in the directory are served: `/name` with
//!   ASCII letters, digits, `.`, `_`, `-`, no leading dot (so no `..`, no
//!   hidden or temporary files), no symbolic links. A percent-encoded
//!   unreserved character is first decoded (`/%69ndex.m3u8` is
//!   `/index.m3u8`, RFC 3986 §6.2.2.2, as nginx and caches read it); then
//!   `..` (also when decoded from `%2e%2e`), any other `%` and `\` in a
//!   path are 400; other paths 404.
//! * **Host**: an HTTP/1.1 request without exactly one `Host` is 400
//!   (RFC 9112 §3.2); an HTTP/2 one needs `:authority` or one `Host`.
//! * **Caching** follows RFC 8216bis Appendix B.1 in whole seconds:
//!   successful blocking playlist responses `max-age` = 6 × target
//!   duration; other playlist responses (and `.m3u8` files such as
//!   `archive.m3u8`) half the target duration; segments and parts, whose
//!   names are never reused, [`OriginConfig::segment_max_age`]
//!   (`immutable`); 404s one target duration. 400, 405, 416 and 503 depend
//!   on the moment and are `no-store`.
//! * **Browsers**: every response carries `Access-Control-Allow-Origin: *`
//!   (and exposes `Age` for the Appendix C tune-in); `OPTIONS` answers a
//!   CORS preflight. Other methods than `GET`, `HEAD` and `OPTIONS` are 405.
//! * **Limits** as in the redirector: a connection cap (connections over it
//!   are answered `503` with `Connection: close`, counted, and said on
//!   standard error at most every 10 s), a request-head read timeout, head
//!   size and header-count caps. The cap is never more than the descriptor
//!   limit less a reserve ([`connection_cap`]: a quarter of the limit, at
//!   least [`RESERVED_DESCRIPTORS`]) so that clients never take the
//!   descriptors the segmenter writes with; [`OriginThread`] first raises
//!   the soft limit to the hard one ([`raise_descriptor_limit`]). A failed
//!   accept (out of descriptors) is retried after 10 ms; nothing a client
//!   does stops the origin or the segmenter beside it. The listen backlog
//!   is the system's ([`bind`]). On shutdown the listener closes, held requests get
//!   503 and open connections have [`DRAIN_TIME`] to finish.
//! * **Not done**: files are read whole into memory, not streamed (a
//!   segment is a few MB); playlists are not gzip-encoded (§6.2.1 SHOULD);
//!   one byte range per request (several are answered with the whole file).
//!
//! # Example
//! ```
//! use routecast_hls::origin::{self, OriginConfig, Published};
//! # fn main() -> std::io::Result<()> {
//! # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//! let dir = tempfile::tempdir()?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let config = OriginConfig::new(listener.local_addr()?, dir.path());
//! let (publish, state) = tokio::sync::watch::channel(Published::default());
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let server = tokio::spawn(origin::serve_on(listener, config, state, async {
//!     let _ = stopped.await;
//! }));
//! // The segmenter writes seg0.ts, then publishes what it wrote:
//! publish.send_replace(Published {
//!     playlist: "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6.000,\nseg0.ts\n".into(),
//!     last_segment: Some(0),
//!     target_duration: 6,
//!     ..Published::default()
//! });
//! // GET /index.m3u8?_HLS_msn=1 would now be held until segment 1.
//! let _ = stop.send(());
//! server.await.expect("the server task")?;
//! # Ok(())
//! # })
//! # }
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::Request;
use routecast_http::tls::Tls;
use routecast_http::ConnLimits;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use handle::Origin;
use routes::{Routes, Stream};

pub use crate::publish::Published;
pub use limits::{bind, connection_cap, raise_descriptor_limit, RESERVED_DESCRIPTORS};
pub use routes::RenditionError;
pub use thread::{OriginStartError, OriginThread};

mod files;
mod handle;
mod limits;
mod refuse;
mod reload;
mod response;
mod routes;
#[cfg(test)]
mod tests;
mod thread;

/// Where the origin listens, what it serves, and its limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginConfig {
    /// Address to listen on ([`serve`]; [`serve_on`] takes a bound listener).
    pub listen: SocketAddr,
    /// The segmenter's output directory.
    pub dir: PathBuf,
    /// Connections served at once, at most (never more than
    /// [`connection_cap`] allows under the descriptor limit); more are
    /// answered `503` with `Connection: close`. Each held request keeps its
    /// connection for up to three target durations.
    pub max_connections: usize,
    /// Time allowed to send a request head (slowloris).
    pub header_timeout: Duration,
    /// Bytes of request head buffered at most (hyper's floor is 8 KiB).
    pub max_header_bytes: usize,
    /// Header fields at most.
    pub max_headers: usize,
    /// `Cache-Control: max-age` of segments and parts. Their names are
    /// never reused while the directory is kept (a restart resumes the
    /// media sequence); start a new stream in an empty directory *and*
    /// behind an emptied cache, or lower this.
    pub segment_max_age: Duration,
}

impl OriginConfig {
    /// Defaults: 10,000 connections, 10 s to send a request head, 16 KiB
    /// and 64 header fields at most, segments cached for a day.
    pub fn new(listen: SocketAddr, dir: impl Into<PathBuf>) -> Self {
        Self {
            listen,
            dir: dir.into(),
            max_connections: 10_000,
            header_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            max_headers: 64,
            segment_max_age: Duration::from_secs(86_400),
        }
    }
}

/// How long open connections may take to finish after shutdown.
pub const DRAIN_TIME: Duration = Duration::from_secs(10);

/// The pause after a failed accept.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// HTTP/2 streams a connection may have open at once.
const ORIGIN_MAX_STREAMS: u32 = 16;

/// `Content-Type` of playlists (RFC 8216bis §11.1).
const PLAYLIST_TYPE: &str = "application/vnd.apple.mpegurl";

/// Binds `config.listen` and serves until `shutdown` resolves; see
/// [`serve_on`].
pub async fn serve(
    config: OriginConfig,
    state: watch::Receiver<Published>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let listener = bind(config.listen)?;
    serve_on(listener, config, state, shutdown).await
}

/// Serves on `listener` (its address wins over `config.listen`) until
/// `shutdown` resolves; then stops accepting, answers held requests with
/// 503, lets open connections finish their request for up to
/// [`DRAIN_TIME`], and returns.
pub async fn serve_on(
    listener: TcpListener,
    config: OriginConfig,
    state: watch::Receiver<Published>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let stream = Stream {
        dir: config.dir.clone(),
        state,
        live: true,
    };
    let refused = Arc::default();
    let routes = Routes::Single(stream);
    run(listener, &config, routes, None, refused, shutdown).await
}

/// Serves several renditions on `listener` until `shutdown` resolves (as
/// [`serve_on`] does one stream): rendition `NAME` under `/NAME/` from
/// `config.dir/NAME` with the live playlist from its state, and the plain
/// files of `config.dir` (the multivariant playlist) at the root.
///
/// # Errors
/// [`io::ErrorKind::InvalidInput`] (carrying a [`RenditionError`]) for no
/// rendition, a name that is not letters, digits, `_` and `-`, or a name
/// given twice; otherwise as [`serve_on`].
pub async fn serve_renditions_on(
    listener: TcpListener,
    config: OriginConfig,
    renditions: Vec<(String, watch::Receiver<Published>)>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let routes = Routes::renditions(config.dir.clone(), renditions)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    run(listener, &config, routes, None, Arc::default(), shutdown).await
}

/// The accept loop of [`serve_on`] and [`serve_renditions_on`]: at most
/// [`connection_cap`] connections, the others refused and counted in
/// `refused`. An accept that fails (out of descriptors, a connection reset
/// before it was accepted) is retried after [`ACCEPT_BACKOFF`]: nothing a
/// client does stops the origin, nor the segmenter beside it. Each
/// connection speaks HTTP/1.1 or HTTP/2 (ALPN with `tls`, else h2c with
/// prior knowledge): LL-HLS's blocking playlist request and the part
/// downloads share one HTTP/2 connection.
pub(crate) async fn run(
    listener: TcpListener,
    config: &OriginConfig,
    routes: Routes,
    tls: Option<Arc<Tls>>,
    refused: Arc<AtomicU64>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let (close, closing) = watch::channel(false);
    let origin = Arc::new(Origin {
        routes,
        closing,
        segment_max_age: config.segment_max_age.as_secs(),
    });
    let cap = connection_cap(config.max_connections);
    let slots = Arc::new(Semaphore::new(cap));
    let refusals = refuse::Refusals::new(cap, refused);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let limits = ConnLimits {
        header_timeout: config.header_timeout,
        max_header_bytes: config.max_header_bytes,
        max_headers: Some(config.max_headers),
        // Each answer holds a whole segment in memory: an HTTP/2 client
        // gets a few streams at once (an LL-HLS player uses two or three),
        // not 128 segments' worth.
        max_streams: ORIGIN_MAX_STREAMS,
    };
    let builders = routecast_http::builder(&limits);
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of descriptors and the like: do not spin.
                Err(_) => {
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            match tls {
                // A plain-text 503 would be noise to a TLS client.
                Some(_) => drop(stream),
                None => refusals.refuse(stream),
            }
            continue;
        };
        let origin = origin.clone();
        let svc = service_fn(move |req: Request<Incoming>| {
            let origin = origin.clone();
            async move { Ok::<_, Infallible>(origin.respond(&req).await) }
        });
        let (tls, builders, watcher) = (tls.clone(), builders.clone(), graceful.watcher());
        tokio::spawn(async move {
            let tls = tls.as_deref();
            let _ = routecast_http::serve_connection(stream, tls, &builders, svc, watcher).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = close.send(true);
    let _ = tokio::time::timeout(DRAIN_TIME, graceful.shutdown()).await;
    Ok(())
}
