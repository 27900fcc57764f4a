//! `--serve`: the built-in origin over the segmenters' publications.

use std::time::Duration;

use routecast_hls::origin::{self, Published};
use routecast_hls::segmenter;
use tokio::sync::watch::Sender;

use super::renditions::MASTER_PLAYLIST;
use crate::cli::Failure;

/// Starts the built-in origin on `addr` for `dir`: one stream at the root
/// or, with several renditions, each under `/NAME/` and `master.m3u8`.
/// Returns each rendition's publication channel (in the order of
/// `inputs`); the origin stops when `stop` is set.
pub(super) fn start_origin(
    addr: std::net::SocketAddr,
    dir: &std::path::Path,
    inputs: &[(String, String)],
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    quiet: bool,
) -> Result<(Vec<Sender<Published>>, std::thread::JoinHandle<()>), Failure> {
    let (senders, mut receivers): (Vec<_>, Vec<_>) = inputs
        .iter()
        .map(|_| tokio::sync::watch::channel(Published::default()))
        .unzip();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| Failure::Other(e.into()))?;
    let listener = rt
        .block_on(tokio::net::TcpListener::bind(addr))
        .map_err(|e| Failure::Usage(format!("--serve {addr}: {e}")))?;
    let single = inputs.len() == 1;
    if !quiet {
        if let Ok(local) = listener.local_addr() {
            let top = if single {
                segmenter::LIVE_PLAYLIST
            } else {
                MASTER_PLAYLIST
            };
            eprintln!("routecast segment: serving http://{local}/{top}");
        }
    }
    let config = routecast_hls::OriginConfig::new(addr, dir);
    let named: Vec<_> = inputs
        .iter()
        .map(|(n, _)| n.clone())
        .zip(receivers.iter().cloned())
        .collect();
    let handle = std::thread::Builder::new()
        .name("segment-origin".into())
        .spawn(move || {
            let shutdown = async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            };
            let served = rt.block_on(async move {
                match receivers.pop().filter(|_| single) {
                    Some(state) => origin::serve_on(listener, config, state, shutdown).await,
                    None => origin::serve_renditions_on(listener, config, named, shutdown).await,
                }
            });
            if let Err(e) = served {
                eprintln!("routecast segment: origin: {e}");
            }
        })
        .map_err(|e| Failure::Other(e.into()))?;
    Ok((senders, handle))
}
