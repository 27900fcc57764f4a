//! The origin on a thread of its own, for a program that is not async: a
//! one-worker tokio runtime serving one stream at the root, or several
//! renditions under `/NAME/` with the multivariant playlist, until a stop
//! flag is set.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;

use super::{serve_on, serve_renditions_on, OriginConfig, Published};
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
}

/// An origin serving on a thread of its own.
#[derive(Debug)]
pub struct OriginThread {
    local_addr: SocketAddr,
    handle: JoinHandle<()>,
}

impl OriginThread {
    /// Listens on `addr` and serves `dir`: the stream of the one name in
    /// `names` at the root, or each named rendition under `/NAME/`. Returns
    /// the origin and each rendition's publisher (in the order of `names`),
    /// to hand to its segmenter. The origin stops once `stop` is set; if
    /// serving fails before, `on_error` is told at once, on the origin's
    /// thread.
    pub fn spawn(
        addr: SocketAddr,
        dir: &Path,
        names: &[String],
        stop: Arc<AtomicBool>,
        on_error: impl FnOnce(std::io::Error) + Send + 'static,
    ) -> Result<(OriginThread, Vec<Publisher>), OriginStartError> {
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
            .block_on(tokio::net::TcpListener::bind(addr))
            .map_err(|error| OriginStartError::Bind { addr, error })?;
        let local_addr = listener.local_addr().unwrap_or(addr);
        let config = OriginConfig::new(addr, dir);
        let mut routes: Vec<_> = names.iter().cloned().zip(receivers).collect();
        let single = (routes.len() == 1).then(|| routes.pop()).flatten();
        let handle = std::thread::Builder::new()
            .name("segment-origin".into())
            .spawn(move || {
                let shutdown = async move {
                    while !stop.load(Ordering::Relaxed) {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                };
                let served = rt.block_on(async move {
                    match single {
                        Some((_, state)) => serve_on(listener, config, state, shutdown).await,
                        None => serve_renditions_on(listener, config, routes, shutdown).await,
                    }
                });
                if let Err(e) = served {
                    on_error(e);
                }
            })
            .map_err(OriginStartError::Runtime)?;
        let publishers = senders.into_iter().map(publisher).collect();
        Ok((OriginThread { local_addr, handle }, publishers))
    }

    /// The address it listens on (the port chosen when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Waits until it has stopped (a panic on its thread has been printed
    /// by the panic hook already).
    pub fn join(self) {
        let _ = self.handle.join();
    }
}

/// A publisher that hands each state to the origin's channel.
fn publisher(tx: watch::Sender<Published>) -> Publisher {
    Box::new(move |p| {
        // No receiver left: the origin has stopped, nobody is served.
        let _ = tx.send(p);
    })
}
