//! Files the way an HLS origin needs them: playlists and segments replaced
//! atomically, and segments deleted only after a grace period.
//!
//! # Rules
//! * **A reader sees the old file or the new one, never a part.**
//!   [`write_atomic`] writes a temporary file in the same directory
//!   (`.<name>.tmp.<random>`, created exclusively by the `tempfile` crate,
//!   so concurrent writers never share one; hidden, so the origin never
//!   serves it) and renames it over the target, which POSIX makes atomic.
//!   On any error the temporary file is removed and the old file is left
//!   as it was. The file gets the permissions a plain `File::create` would
//!   (0666 less the umask), not `tempfile`'s private 0600: an origin
//!   running as another user must be able to read the segments.
//! * **No fsync by default.** A live playlist is rewritten every target
//!   duration or faster and segments are worthless after a crash (the
//!   segmenter restarts the stream), so [`Durability::Atomic`] only makes
//!   the replacement atomic for readers while the machine is up. Use
//!   [`Durability::Synced`] (`sync_data` on the file before the rename,
//!   `sync_all` on the directory after it) for files that must survive a
//!   power loss.
//! * **Deletion waits.** RFC 8216 §6.2.2: a segment removed from a playlist
//!   must stay available for its duration plus that of the longest playlist
//!   that listed it. With [`MediaPlaylist`](crate::playlist::MediaPlaylist)'s
//!   window rule a live playlist lasts less than the window plus its first
//!   segment, so a grace period of the window plus twice the target duration
//!   (plus the clients' caching margin) is enough. [`DeletionQueue`] holds
//!   the paths; time is an argument, never read from a clock.
//!
//! # Example
//! ```
//! use routecast_hls::store::{write_atomic, DeletionQueue};
//! let dir = tempfile::tempdir()?;
//! write_atomic(dir.path(), "live.m3u8", b"#EXTM3U\n")?;
//! write_atomic(dir.path(), "seg0.ts", &[0x47; 188])?;
//! let mut queue = DeletionQueue::new(30_000);
//! queue.schedule(dir.path().join("seg0.ts"), 1_000);
//! assert!(queue.delete_due(30_999).deleted == 0);
//! assert!(queue.delete_due(31_000).deleted == 1);
//! assert!(!dir.path().join("seg0.ts").exists());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

use tempfile::NamedTempFile;

#[cfg(test)]
mod tests;

/// How hard [`write_atomic_with`] works to keep a file across a crash.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Durability {
    /// Atomic for readers; no fsync (the default, for live playlists and
    /// segments).
    #[default]
    Atomic,
    /// Also `sync_data` the file before the rename and, on Unix, `sync_all`
    /// the directory after it, so the new file survives a power loss.
    Synced,
}

/// The file-system operation that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// Creating the temporary file.
    CreateTemporary,
    /// Writing the temporary file.
    Write,
    /// `sync_data` on the temporary file.
    Sync,
    /// Renaming the temporary file over the target.
    Rename,
    /// `sync_all` on the directory after the rename.
    SyncDirectory,
    /// Deleting a file.
    Delete,
    /// Creating the directory again (it was removed).
    CreateDirectory,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::CreateTemporary => "create temporary file",
            Operation::Write => "write",
            Operation::Sync => "sync",
            Operation::Rename => "rename a temporary file over",
            Operation::SyncDirectory => "sync directory",
            Operation::Delete => "delete",
            Operation::CreateDirectory => "create directory",
        })
    }
}

/// Why a file could not be written or deleted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file-system call failed. The message includes the OS error, since
    /// these are usually logged on their own by a loop that carries on.
    #[error("cannot {operation} {}: {error}", path.display())]
    Io {
        /// What was being done.
        operation: Operation,
        /// The file (or directory) it was done to.
        path: PathBuf,
        /// The OS error.
        error: io::Error,
    },
    /// A name that is not a single path component (empty, `.`, `..`, or
    /// containing a separator), so its temporary file might land elsewhere.
    #[error("{name:?} is not a plain file name")]
    InvalidName {
        /// The name given.
        name: String,
    },
}

impl StoreError {
    /// The path an IO error is about.
    pub fn path(&self) -> Option<&Path> {
        match self {
            StoreError::Io { path, .. } => Some(path),
            StoreError::InvalidName { .. } => None,
        }
    }
}

fn io_error(operation: Operation, path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |error| StoreError::Io {
        operation,
        path: path.to_owned(),
        error,
    }
}

/// Writes `bytes` to `dir/name` atomically, without fsync
/// ([`Durability::Atomic`]); see the [module documentation](self).
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
    write_atomic_with(dir, name, bytes, Durability::Atomic)
}

/// Writes `bytes` to `dir/name` atomically with the given durability.
///
/// `name` must be a single path component. Readers of `dir/name` see either
/// its previous content or `bytes`. On error nothing is left behind.
pub fn write_atomic_with(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    durability: Durability,
) -> Result<(), StoreError> {
    let mut components = Path::new(name).components();
    let plain = matches!(components.next(), Some(Component::Normal(n)) if n == name);
    if !plain || components.next().is_some() {
        return Err(StoreError::InvalidName {
            name: name.to_owned(),
        });
    }
    let target = dir.join(name);
    let temporary = create_temporary(dir, name)?;
    fill(temporary.as_file(), temporary.path(), bytes, durability)?;
    // On error the temporary file is dropped, which removes it.
    temporary
        .persist(&target)
        .map_err(|e| io_error(Operation::Rename, &target)(e.error))?;
    if durability == Durability::Synced {
        sync_directory(dir)?;
    }
    Ok(())
}

/// Creates `.<name>.tmp.<random>` exclusively in `dir`, readable as a file
/// made by `File::create` would be.
fn create_temporary(dir: &Path, name: &str) -> Result<NamedTempFile, StoreError> {
    let prefix = format!(".{name}.tmp.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix);
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    builder.tempfile_in(dir).map_err(|e| {
        // The random part of the name is not known when creation fails.
        let template = dir.join(format!("{prefix}XXXXXX"));
        io_error(Operation::CreateTemporary, &template)(e)
    })
}

fn fill(
    mut file: &File,
    path: &Path,
    bytes: &[u8],
    durability: Durability,
) -> Result<(), StoreError> {
    file.write_all(bytes)
        .map_err(io_error(Operation::Write, path))?;
    if durability == Durability::Synced {
        file.sync_data().map_err(io_error(Operation::Sync, path))?;
    }
    Ok(())
}

#[cfg(unix)]
fn sync_directory(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(Operation::SyncDirectory, dir))
}

#[cfg(not(unix))]
fn sync_directory(_dir: &Path) -> Result<(), StoreError> {
    Ok(()) // Directories cannot be opened for syncing there.
}

/// Files to delete once a grace period has passed since their removal from
/// a playlist. Times are milliseconds on any monotonic clock the caller
/// chooses; the queue never reads a clock.
#[derive(Debug, Clone, Default)]
pub struct DeletionQueue {
    grace_ms: u64,
    /// Min-heap on (due time, order of scheduling): ties leave in FIFO order.
    pending: BinaryHeap<Reverse<(u64, u64, PathBuf)>>,
    scheduled: u64,
}

/// What [`DeletionQueue::delete_due`] did.
#[derive(Debug, Default)]
pub struct DeletionReport {
    /// Files deleted.
    pub deleted: usize,
    /// Files that were already gone (not an error).
    pub missing: usize,
    /// Files that could not be deleted; they are not retried unless
    /// scheduled again (the error names the path).
    pub failed: Vec<StoreError>,
}

impl DeletionQueue {
    /// A queue that keeps files `grace_ms` milliseconds after their removal.
    pub fn new(grace_ms: u64) -> DeletionQueue {
        DeletionQueue {
            grace_ms,
            ..DeletionQueue::default()
        }
    }

    /// The grace period in milliseconds.
    pub fn grace_ms(&self) -> u64 {
        self.grace_ms
    }

    /// Deletes `path` once `grace_ms` has passed since `removed_at_ms`.
    pub fn schedule(&mut self, path: impl Into<PathBuf>, removed_at_ms: u64) {
        let due = removed_at_ms.saturating_add(self.grace_ms);
        self.pending
            .push(Reverse((due, self.scheduled, path.into())));
        self.scheduled += 1;
    }

    /// Takes the paths whose grace period has passed by `now_ms`
    /// (`now_ms ≥ removed_at_ms + grace_ms`), earliest first, for the caller
    /// to delete.
    pub fn due(&mut self, now_ms: u64) -> Vec<PathBuf> {
        let mut due = Vec::new();
        while self
            .pending
            .peek()
            .is_some_and(|Reverse((at, _, _))| *at <= now_ms)
        {
            if let Some(Reverse((_, _, path))) = self.pending.pop() {
                due.push(path);
            }
        }
        due
    }

    /// Deletes the files [`due`](Self::due) at `now_ms`. A file already gone
    /// is counted, not reported as an error.
    pub fn delete_due(&mut self, now_ms: u64) -> DeletionReport {
        let mut report = DeletionReport::default();
        for path in self.due(now_ms) {
            match fs::remove_file(&path) {
                Ok(()) => report.deleted += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => report.missing += 1,
                Err(e) => report.failed.push(io_error(Operation::Delete, &path)(e)),
            }
        }
        report
    }

    /// Files waiting.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether no file is waiting.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}
