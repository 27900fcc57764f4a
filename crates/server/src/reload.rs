//! Configuration reloads. The configuration (and every file it names:
//! coverage zones, GeoIP databases) is loaded again when asked — SIGHUP or
//! `POST /reload` ([`State::reload_requested`]) — and when one of its files
//! changes (modification times compared every [`WATCH_INTERVAL`]). A
//! configuration that loads is installed ([`State::install`]); one that does
//! not is refused with its error, and the running one stays. The TLS
//! certificates ([`State::tls`]) are read again at the same moments and
//! watched the same way: new ones serve new handshakes (open connections
//! keep theirs); ones that do not load (unreadable, not PEM, a key that is
//! not the certificate's, expired) are refused and the running ones stay. Either way
//! the outcome shows in `/status` and `/metrics` ([`State::reloaded`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::signal::unix::{signal, SignalKind};

use crate::state::{Snapshot, State};

/// How often the configuration's files are checked for changes.
pub const WATCH_INTERVAL: Duration = Duration::from_secs(2);

/// Reloads `config` whenever asked or whenever one of `files` (those it was
/// read from, as [`routecast_geo::Loaded::files`] lists them) changes; runs
/// forever.
pub async fn reload_loop(config: PathBuf, files: Vec<PathBuf>, state: Arc<State>) {
    let with_certs = |mut files: Vec<PathBuf>| {
        files.extend(state.tls.iter().flat_map(|t| t.files()));
        files
    };
    let mut watched = with_certs(files);
    let mut seen = routecast_http::tls::modified(&watched);
    let mut tick = tokio::time::interval(WATCH_INTERVAL);
    loop {
        let asked = tokio::select! {
            _ = state.reload_requested.notified() => true,
            _ = tick.tick() => false,
        };
        let now = routecast_http::tls::modified(&watched);
        if !asked && now == seen {
            continue;
        }
        seen = now;
        if let Some(files) = reload(&config, &state) {
            watched = with_certs(files);
            seen = routecast_http::tls::modified(&watched);
        }
    }
}

/// Loads `config` and installs it, and reads the TLS certificates again;
/// the files the configuration was read from, or `None` when it was
/// refused. The outcome is an error when either was refused.
fn reload(config: &Path, state: &State) -> Option<Vec<PathBuf>> {
    let certs = match state.tls.as_deref().map(|t| t.reload()) {
        Some(Err(e)) => {
            tracing::warn!(error = %e, "certificates refused; keeping the running ones");
            Err(format!("TLS certificates: {e}"))
        }
        Some(Ok(())) => {
            tracing::info!("TLS certificates reloaded");
            Ok(())
        }
        None => Ok(()),
    };
    match routecast_geo::load(config) {
        Ok(loaded) => {
            state.install(Snapshot::new(&loaded));
            state.reloaded(unix_ms(), certs);
            tracing::info!(config = %config.display(), "configuration reloaded");
            Some(loaded.files)
        }
        Err(e) => {
            let error = match certs {
                Ok(()) => e.to_string(),
                Err(c) => format!("{e}; {c}"),
            };
            state.reloaded(unix_ms(), Err(error));
            tracing::warn!(config = %config.display(), error = %e, "reload rejected; keeping the running configuration");
            None
        }
    }
}

/// Asks for a reload on every SIGHUP; runs forever (returns at once if the
/// signal cannot be caught).
pub async fn reload_on_hangup(state: Arc<State>) {
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        return;
    };
    while hangups.recv().await.is_some() {
        state.reload_requested.notify_one();
    }
}

/// Wall-clock milliseconds since the Unix epoch.
fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests;
