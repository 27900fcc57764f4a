//! The origin on a thread of its own, for a program that is not async: a
//! one-worker tokio runtime serving one stream at the root, or several
//! renditions under `/NAME/` with the multivariant playlist, until a stop
//! flag is set.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use routecast_http::tls::Tls;
use tokio::sync::watch;

use super::routes::{Routes, Stream};
use super::{bind, raise_descriptor_limit, run, OriginConfig, Published};
use crate::channel::Publisher;

/// Why the origin could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OriginStartError {
    /// The address cannot be listened on.
    #[error("{addr}: {error}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        error: std::io::Error,
    },
    /// The runtime or its thread could not be made.
    #[error(transparent)]
    Runtime(std::io::Error),
    /// A rendition set that cannot be served.
    #[error(transparent)]
    Renditions(#[from] super::RenditionError),
}

/// An origin serving on a thread of its own.
#[derive(Debug)]
pub struct OriginThread {
    local_addr: SocketAddr,
    handle: JoinHandle<()>,
    refused: Arc<AtomicU64>,
}

impl OriginThread {
    /// Listens on `addr` (speaking TLS with `tls`) and serves `dir`: the
    /// stream of the one name in `names` at the root, or each named
    /// rendition under `/NAME/`. Returns
    /// the origin and each rendition's publisher (in the order of `names`),
    /// to hand to its segmenter. The origin stops once `stop` is set; if
    /// serving fails before, `on_error` is told at once, on the origin's
    /// thread.
    ///
    /// First the process's soft descriptor limit is raised to its hard one
    /// ([`raise_descriptor_limit`]; if refused, the limit stays as it is);
    /// connections are then capped below it
    /// ([`connection_cap`](super::connection_cap)) so that clients never
    /// take the descriptors the segmenter writes with. The listen backlog
    /// is the system's.
    pub fn spawn(
        addr: SocketAddr,
        dir: &Path,
        names: &[String],
        tls: Option<Arc<Tls>>,
        stop: Arc<AtomicBool>,
        on_error: impl FnOnce(std::io::Error) + Send + 'static,
    ) -> Result<(OriginThread, Vec<Publisher>), OriginStartError> {
        // Refused (a container's seccomp, say): the cap follows the limit
        // in force, which is all that matters.
        let _ = raise_descriptor_limit();
        let (senders, receivers): (Vec<_>, Vec<_>) = names
            .iter()
            .map(|_| watch::channel(Published::default()))
            .unzip();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(OriginStartError::Runtime)?;
        let listener = rt
            .block_on(async { bind(addr) })
            .map_err(|error| OriginStartError::Bind { addr, error })?;
        let local_addr = listener.local_addr().unwrap_or(addr);
        let config = OriginConfig::new(addr, dir);
        let routes = routes(&config, names, receivers)?;
        let refused = Arc::new(AtomicU64::new(0));
        let counted = refused.clone();
        let handle = std::thread::Builder::new()
            .name("segment-origin".into())
            .spawn(move || {
                let shutdown = async move {
                    while !stop.load(Ordering::Relaxed) {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                };
                let served = rt.block_on(run(listener, &config, routes, tls, counted, shutdown));
                if let Err(e) = served {
                    on_error(e);
                }
            })
            .map_err(OriginStartError::Runtime)?;
        let publishers = senders.into_iter().map(publisher).collect();
        let origin = OriginThread {
            local_addr,
            handle,
            refused,
        };
        Ok((origin, publishers))
    }

    /// The address it listens on (the port chosen when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Connections refused with 503 over the connection cap so far.
    pub fn refused_connections(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Waits until it has stopped (a panic on its thread has been printed
    /// by the panic hook already).
    pub fn join(self) {
        let _ = self.handle.join();
    }
}

/// One stream at the root, or each named rendition under `/NAME/`.
fn routes(
    config: &OriginConfig,
    names: &[String],
    receivers: Vec<watch::Receiver<Published>>,
) -> Result<Routes, OriginStartError> {
    let mut named: Vec<_> = names.iter().cloned().zip(receivers).collect();
    if named.len() == 1 {
        if let Some((_, state)) = named.pop() {
            let dir = config.dir.clone();
            return Ok(Routes::Single(Stream {
                dir,
                state,
                live: true,
            }));
        }
    }
    Ok(Routes::renditions(config.dir.clone(), named)?)
}

/// A publisher that hands each state to the origin's channel.
fn publisher(tx: watch::Sender<Published>) -> Publisher {
    Box::new(move |p| {
        // No receiver left: the origin has stopped, nobody is served.
        let _ = tx.send(p);
    })
}
