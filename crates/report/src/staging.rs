//! The output directory written as a whole ([`OutputDir`]): prepared
//! before the replay (names checked, a temporary sibling made), written
//! after it, then renamed into place, so that `DIR` holds the old report
//! or the new one, never a mix or half of one.
//!
//! The steps, as nginx and logrotate replace files, at directory scale:
//! 1. `prepare`: the configurations' directory names ([`output_names`]),
//!    `DIR` checked (absent, empty, or a report directory: it holds
//!    `summary.json` or `report.html`; anything else is refused rather
//!    than deleted), and the sibling `.DIR.tmp-PID` made;
//! 2. `write`: every file written into the sibling and synced;
//! 3. an old `DIR` renamed to `.DIR.old-PID`, the sibling renamed to
//!    `DIR`, the parent directory synced, the old one removed.
//!
//! A run that fails before step 3 removes its sibling; one killed (e.g.
//! `kill -9`) leaves `.DIR.tmp-PID` beside an untouched `DIR`, which may
//! be removed. Between the two renames of step 3 `DIR` is absent for an
//! instant (Linux's `RENAME_EXCHANGE` would avoid that but needs unsafe
//! code, which the workspace forbids).

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use routecast_replay::{Damage, Rejected};

use crate::dir::{create_dir, write_outputs, WriteError};
use crate::html::ReportInput;
use crate::names::output_names;

/// An output directory being made: checked and staged before the replay
/// ([`OutputDir::prepare`]), written and put in place after it
/// ([`OutputDir::write`]). Dropped unwritten, it removes its staging
/// directory.
#[derive(Debug)]
pub struct OutputDir {
    /// Where the report goes.
    target: PathBuf,
    /// The temporary sibling it is written in.
    staging: PathBuf,
    /// Each configuration's directory name (used when there are several).
    names: Vec<String>,
}

impl OutputDir {
    /// Checks that `dir` can take the report of the configurations
    /// labelled `labels` (one directory name each, [`output_names`]) and
    /// makes its staging directory beside it (parents made): every
    /// problem with the output is found before the replay.
    pub fn prepare(dir: &Path, labels: &[impl AsRef<str>]) -> Result<OutputDir, WriteError> {
        let target = std::path::absolute(dir).map_err(|error| WriteError::CreateDir {
            path: dir.to_path_buf(),
            error,
        })?;
        check_replaceable(&target, dir)?;
        let staging = sibling(&target, "tmp");
        create_dir(&staging).map_err(|e| match e {
            WriteError::CreateDir { error, .. } => WriteError::CreateDir {
                path: dir.to_path_buf(),
                error,
            },
            other => other,
        })?;
        Ok(OutputDir {
            target,
            staging,
            names: output_names(labels),
        })
    }

    /// The directory name of each configuration, in the order of the
    /// labels given to [`prepare`](Self::prepare).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Writes every output of `replays` (those of the labels given to
    /// [`prepare`](Self::prepare)), marked incomplete at `damaged` if
    /// given, then puts the directory in place, replacing any old one.
    pub fn write(
        self,
        replays: &[ReportInput<'_>],
        malformed: &Rejected,
        damaged: Option<&Damage>,
    ) -> Result<(), WriteError> {
        write_outputs(&self.staging, &self.names, replays, malformed, damaged)?;
        self.put_in_place()
    }

    /// Step 3: the old directory out, the new one in, the old removed.
    fn put_in_place(self) -> Result<(), WriteError> {
        let failed = |error| WriteError::Replace {
            path: self.target.clone(),
            error,
        };
        sync_dir(&self.staging).map_err(failed)?;
        let old = sibling(&self.target, "old");
        let had_old = match std::fs::rename(&self.target, &old) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(failed(e)),
        };
        if let Err(e) = std::fs::rename(&self.staging, &self.target) {
            if had_old {
                let _ = std::fs::rename(&old, &self.target);
            }
            return Err(failed(e));
        }
        if let Some(parent) = self.target.parent() {
            sync_dir(parent).map_err(failed)?;
        }
        if had_old {
            std::fs::remove_dir_all(&old)
                .map_err(|error| WriteError::Write { path: old, error })?;
        }
        Ok(())
    }
}

impl Drop for OutputDir {
    /// Removes the staging directory unless it was put in place.
    fn drop(&mut self) {
        if self.staging.exists() {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

/// `dir` (absolute `target`) is absent, an empty directory or a report
/// directory.
fn check_replaceable(target: &Path, dir: &Path) -> Result<(), WriteError> {
    let refused = || WriteError::NotReportDir {
        path: dir.to_path_buf(),
    };
    let entries = match std::fs::read_dir(target) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(_) if target.exists() => return Err(refused()),
        Err(error) => {
            return Err(WriteError::CreateDir {
                path: dir.to_path_buf(),
                error,
            })
        }
    };
    let mut empty = true;
    for entry in entries.flatten() {
        empty = false;
        if ["summary.json", "report.html"].contains(&&*entry.file_name().to_string_lossy()) {
            return Ok(());
        }
    }
    if empty {
        Ok(())
    } else {
        Err(refused())
    }
}

/// `.NAME.KIND-PID` beside `target`.
fn sibling(target: &Path, kind: &str) -> PathBuf {
    let name = target
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let pid = std::process::id();
    target.with_file_name(format!(".{name}.{kind}-{pid}"))
}

/// Syncs a directory's entries to disk (the renames in it).
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests;
