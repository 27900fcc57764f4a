//! The state file: the operators' overrides (drain, disable, activate),
//! saved on every admin change and read at start, so that they survive a
//! restart as they survive a reload.
//!
//! The file is JSON, `{"overrides":{"lon":"draining"}}`, written whole to a
//! temporary file beside it, synced, renamed over it and the directory
//! synced: a crash (even `kill -9` or a power cut) leaves the old file or
//! the new one, never part of one. Writes are serialised, so the last
//! change is the one on disk.
//!
//! At start ([`StateFile::restore`]), each override applied is logged; one
//! for a site no longer configured is warned about (and dropped at the next
//! write). A missing file means no overrides. A file that cannot be read or
//! understood is logged as an error naming the file and what is wrong, and
//! the server starts without overrides — as HAProxy does with a bad
//! `server-state-file` line: a redirector that refused to start over its
//! state file would take the whole platform down for an operator's drain.
//! The bad file is left as it was until the next admin change replaces it.
//!
//! Hand-written over `tempfile` rather than routecast-report's atomic
//! writer, which would bring the report's charts and RRD into the server.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use routecast_engine::{Platform, SiteId, SiteState};

use crate::health::Health;

/// Why the state file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateFileError {
    /// It exists but cannot be read.
    #[error("{}: cannot read the state file: {error}", .path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
    /// It is not a state file routecast wrote.
    #[error("{}: not a routecast state file ({reason})", .path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong, with its line and column.
        reason: String,
    },
    /// It cannot be written.
    #[error("{}: cannot write the state file: {error}", .path.display())]
    Unwritable {
        /// The file.
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
}

/// An override as saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum Saved {
    Active,
    Draining,
    Disabled,
}

impl From<SiteState> for Saved {
    fn from(s: SiteState) -> Self {
        match s {
            SiteState::Active => Saved::Active,
            SiteState::Draining => Saved::Draining,
            SiteState::Disabled => Saved::Disabled,
        }
    }
}

impl From<Saved> for SiteState {
    fn from(s: Saved) -> Self {
        match s {
            Saved::Active => SiteState::Active,
            Saved::Draining => SiteState::Draining,
            Saved::Disabled => SiteState::Disabled,
        }
    }
}

/// The file's contents.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Contents {
    /// Site name → its override.
    overrides: BTreeMap<String, Saved>,
}

/// Where the overrides are kept.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    /// One write at a time, so that the last change is the one on disk.
    writing: Mutex<()>,
}

impl StateFile {
    /// The state file at `path`.
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            writing: Mutex::new(()),
        }
    }

    /// The default place for the state of the server run with `config`:
    /// beside it, with `.state` appended (`routecast.toml.state`).
    pub fn beside(config: &Path) -> PathBuf {
        let mut name = config.as_os_str().to_owned();
        name.push(".state");
        PathBuf::from(name)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The overrides saved, by site name (none when there is no file).
    pub fn read(&self) -> Result<Vec<(String, SiteState)>, StateFileError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => {
                return Err(StateFileError::Unreadable {
                    path: self.path.clone(),
                    error,
                })
            }
        };
        let contents: Contents =
            serde_json::from_str(&text).map_err(|e| StateFileError::Malformed {
                path: self.path.clone(),
                reason: e.to_string(),
            })?;
        Ok(contents
            .overrides
            .into_iter()
            .map(|(name, s)| (name, s.into()))
            .collect())
    }

    /// Applies the saved overrides to the sites of `platform` in `health`,
    /// logging each, warning about sites no longer configured, and logging
    /// a file that cannot be used as an error (the server goes on without
    /// overrides). Returns how many were applied.
    pub fn restore(&self, platform: &Platform, health: &Health) -> usize {
        let saved = match self.read() {
            Ok(saved) => saved,
            Err(e) => {
                tracing::error!(error = %e, "admin overrides NOT restored: starting without any; the next admin action replaces the file");
                return 0;
            }
        };
        let file = self.path.display();
        let mut applied = 0;
        for (name, state) in saved {
            match platform.site_by_name(&name) {
                Some(site) => {
                    health.set_state(site, Some(state));
                    tracing::info!(site = %name, state = %state.as_str(), file = %file, "admin override restored");
                    applied += 1;
                }
                None => {
                    tracing::warn!(site = %name, state = %state.as_str(), file = %file, "admin override for a site no longer configured: ignored");
                }
            }
        }
        applied
    }

    /// Saves the overrides in force in `health` for the sites of `platform`.
    pub fn save(&self, platform: &Platform, health: &Health) -> Result<(), StateFileError> {
        let overrides = (0..platform.sites().len())
            .filter_map(|i| {
                let site = SiteId(i as u16);
                let state = health.override_of(site)?;
                Some((platform.site(site).name.clone(), Saved::from(state)))
            })
            .collect();
        let contents = Contents { overrides };
        // A poisoned lock only means a panic in another write; none is half done.
        let _one_at_a_time = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        write_atomically(&self.path, |w| {
            serde_json::to_writer_pretty(&mut *w, &contents)?;
            w.write_all(b"\n")
        })
        .map_err(|error| StateFileError::Unwritable {
            path: self.path.clone(),
            error,
        })
    }
}

/// Writes `path` through `fill`: to a temporary file beside it, synced, then
/// renamed over it, and the directory synced. On an error the old file
/// stays, and the temporary one is removed.
pub(crate) fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".routecast-state.")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    fill(tmp.as_file_mut())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    // The rename is on disk once the directory is.
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests;
