//! Configuration reloads. The configuration (and every file it names:
//! coverage zones, GeoIP databases) is loaded again when asked — SIGHUP or
//! `POST /reload` ([`State::reload_requested`]) — and when one of its files
//! changes (modification times compared every [`WATCH_INTERVAL`]). A
//! configuration that loads is installed ([`State::install`]); one that does
//! not is refused with its error, and the running one stays. Either way the
//! outcome shows in `/status` and `/metrics` ([`State::reloaded`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::signal::unix::{signal, SignalKind};

use crate::state::{Snapshot, State};

/// How often the configuration's files are checked for changes.
pub const WATCH_INTERVAL: Duration = Duration::from_secs(2);

/// The modification times of `files` (`None` for one that cannot be read).
fn mtimes(files: &[PathBuf]) -> Vec<Option<SystemTime>> {
    files
        .iter()
        .map(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok())
        .collect()
}

/// Reloads `config` whenever asked or whenever one of `files` (those it was
/// read from, as [`routecast_geo::Loaded::files`] lists them) changes; runs
/// forever.
pub async fn reload_loop(config: PathBuf, files: Vec<PathBuf>, state: Arc<State>) {
    let mut watched = files;
    let mut seen = mtimes(&watched);
    let mut tick = tokio::time::interval(WATCH_INTERVAL);
    loop {
        let asked = tokio::select! {
            _ = state.reload_requested.notified() => true,
            _ = tick.tick() => false,
        };
        let now = mtimes(&watched);
        if !asked && now == seen {
            continue;
        }
        seen = now;
        if let Some(files) = reload(&config, &state) {
            watched = files;
            seen = mtimes(&watched);
        }
    }
}

/// Loads `config` and installs it; the files it was read from, or `None`
/// when it was refused.
fn reload(config: &Path, state: &State) -> Option<Vec<PathBuf>> {
    match routecast_geo::load(config) {
        Ok(loaded) => {
            state.install(Snapshot::new(&loaded));
            state.reloaded(unix_ms(), Ok(()));
            tracing::info!(config = %config.display(), "configuration reloaded");
            Some(loaded.files)
        }
        Err(e) => {
            state.reloaded(unix_ms(), Err(e.to_string()));
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
