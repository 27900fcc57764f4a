//! The segmenter's file-system work, done in order on a thread of its own
//! so that the live path (cut, list, publish) never waits for the disk.
//!
//! Why: creating, renaming and deleting files are metadata operations that
//! a busy file system may hold for a long time. On a shared 2-core machine
//! the low-latency player test saw `index.m3u8` renames take 0.6–0.7 s, in
//! both segmenters of the test at the same instant (a journal commit),
//! while the input thread woke on time: every part published in that time
//! came late, and hls.js, which holds about 1.2 s of media at a 1.5 s
//! PART-HOLD-BACK, ran dry. The segmenter now queues its writes here and
//! publishes at once; what the queue has not written yet is served by the
//! origin from memory ([`crate::Published::pending_media`]).
//!
//! Only a segmenter that publishes to an origin needs that: without one,
//! publishing *is* writing the playlist, and the jobs run at once on the
//! caller's thread (also faster: a thread of its own frees each segment's
//! memory away from the thread that allocates the next, and the allocator
//! then takes fresh pages from the kernel, which cost segmenting a file a
//! third more system time). [`DiskWriter::start_thread`] moves the jobs to a
//! thread when the segmenter starts publishing.
//!
//! Jobs run first in, first out, so a playlist reaches the disk after the
//! media it lists, as before. A write that fails (a full disk, a read-only
//! or removed directory) is retried with back-off until it succeeds
//! (`outage.rs`): the queue waits behind it, so the playlist on disk is
//! never one listing a file that is not there, and the segmenter, seeing
//! the disk stalled ([`DiskWriter::stalled`]), stops queuing. A removed
//! directory is created again. Only once the segmenter is finishing is a
//! write given up (after a few attempts); that failure is kept and
//! returned by the next call. Failed deletions are counted.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use bytes::Bytes;

use super::outage::{OutageLog, RetryPolicy};
use crate::store::{self, StoreError};

/// One piece of file-system work.
#[derive(Debug, Clone)]
pub(crate) enum Job {
    /// Write `bytes` to the file `name` of the directory, atomically.
    Write {
        /// The file name.
        name: String,
        /// Its content.
        bytes: Bytes,
    },
    /// Delete a file (a missing one is fine).
    Delete(PathBuf),
    /// Report when every job before it is done.
    Flush(mpsc::Sender<()>),
}

/// Runs one job; the thread's whole behaviour (a test puts a slow disk
/// here).
pub(crate) type Runner = Box<dyn FnMut(&Job) -> Result<(), StoreError> + Send>;

/// Shared between the writer thread and the segmenter.
#[derive(Debug, Default)]
struct Progress {
    /// Jobs finished (tickets up to this one are on disk).
    done: AtomicU64,
    /// Deletions that failed.
    delete_failures: AtomicU64,
    /// The first write that failed.
    failed: Mutex<Option<StoreError>>,
    /// A write failed and is being retried.
    stalled: AtomicBool,
    /// Give a failing write up after a few attempts (the segmenter is
    /// finishing).
    finishing: AtomicBool,
    /// A write was given up: later failing ones are not retried.
    gave_up: AtomicBool,
}

/// What runs the jobs, on the caller's thread or a thread of its own.
struct Worker {
    runner: Runner,
    policy: RetryPolicy,
    log: OutageLog,
    /// The directory, for the log.
    dir: PathBuf,
    progress: Arc<Progress>,
}

/// A queue of file-system jobs and the thread that runs them (or, until
/// [`DiskWriter::start_thread`], the runner that does them at once).
pub(crate) struct DiskWriter {
    /// Runs each job as it is queued, until a thread takes over.
    inline: Option<Worker>,
    tx: Option<mpsc::Sender<(u64, Job)>>,
    thread: Option<JoinHandle<()>>,
    progress: Arc<Progress>,
    queued: u64,
}

impl std::fmt::Debug for DiskWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskWriter")
            .field("queued", &self.queued)
            .field("done", &self.done())
            .finish_non_exhaustive()
    }
}

impl DiskWriter {
    /// A writer into `dir`, doing its jobs at once until
    /// [`start_thread`](Self::start_thread).
    pub(crate) fn new(dir: PathBuf) -> Self {
        let runner_dir = dir.clone();
        let runner: Runner = Box::new(move |job| run(&runner_dir, job));
        Self::inline(runner, dir, RetryPolicy::default())
    }

    /// A writer whose jobs `runner` does at once, on the caller's thread,
    /// retrying failed writes by `policy`.
    pub(crate) fn inline(runner: Runner, dir: PathBuf, policy: RetryPolicy) -> Self {
        let progress = Arc::new(Progress::default());
        let worker = Worker {
            runner,
            policy,
            log: OutageLog::default(),
            dir,
            progress: progress.clone(),
        };
        Self {
            inline: Some(worker),
            tx: None,
            thread: None,
            progress,
            queued: 0,
        }
    }

    /// A writer whose jobs `runner` does on a thread of its own.
    #[cfg(test)]
    pub(crate) fn with(runner: Runner, policy: RetryPolicy) -> std::io::Result<Self> {
        let mut w = Self::inline(runner, PathBuf::new(), policy);
        w.start_thread()?;
        Ok(w)
    }

    /// From now on, runs the jobs on a thread of its own (nothing when it
    /// does already). If no thread can be started, the jobs go on running
    /// at once, and the error says why.
    pub(crate) fn start_thread(&mut self) -> std::io::Result<()> {
        if self.inline.is_none() {
            return Ok(());
        }
        let (tx, rx) = mpsc::channel::<(u64, Job)>();
        // The runner is handed over once the thread exists, so that it
        // stays here if the thread cannot be made.
        let (hand, over) = mpsc::channel::<Worker>();
        let thread = std::thread::Builder::new()
            .name("segment-disk".into())
            .spawn(move || {
                let Ok(mut worker) = over.recv() else {
                    return;
                };
                for (ticket, job) in rx {
                    worker.run(ticket, job);
                }
            })?;
        if let Some(worker) = self.inline.take() {
            let _ = hand.send(worker);
        }
        self.tx = Some(tx);
        self.thread = Some(thread);
        Ok(())
    }

    /// Queues `job`; its ticket (compare with [`done`](Self::done)), or
    /// the first failure of an earlier job (of this one too, when the jobs
    /// run at once).
    pub(crate) fn queue(&mut self, job: Job) -> Result<u64, StoreError> {
        self.check()?;
        self.queued += 1;
        if let Some(worker) = &mut self.inline {
            worker.run(self.queued, job);
            self.check()?;
            return Ok(self.queued);
        }
        let sent = self.tx.as_ref().map(|tx| tx.send((self.queued, job)));
        if !matches!(sent, Some(Ok(()))) {
            // The thread is gone: only a panic in a job does that.
            return Err(gone());
        }
        Ok(self.queued)
    }

    /// The ticket of the last job done: every job up to it is on disk.
    pub(crate) fn done(&self) -> u64 {
        self.progress.done.load(Ordering::Acquire)
    }

    /// Whether a write failed and is being retried (the disk is full,
    /// read-only or gone): jobs queued now wait behind it.
    pub(crate) fn stalled(&self) -> bool {
        self.progress.stalled.load(Ordering::Acquire)
    }

    /// From now on a failing write is given up after a few attempts (see
    /// [`RetryPolicy::attempts_when_finishing`]), so that flushing ends.
    pub(crate) fn finishing(&self) {
        self.progress.finishing.store(true, Ordering::Release);
    }

    /// Deletions that failed so far.
    pub(crate) fn delete_failures(&self) -> u64 {
        self.progress.delete_failures.load(Ordering::Relaxed)
    }

    /// Waits until every job queued so far is done.
    pub(crate) fn flush(&mut self) -> Result<(), StoreError> {
        let (tx, rx) = mpsc::channel();
        self.queue(Job::Flush(tx))?;
        rx.recv().map_err(|_| gone())?;
        self.check()
    }

    /// The first failure, if any.
    fn check(&self) -> Result<(), StoreError> {
        let mut failed = self
            .progress
            .failed
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        match failed.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Drop for DiskWriter {
    /// Lets the thread finish the queue (files written so far reach the
    /// disk), then joins it.
    fn drop(&mut self) {
        self.finishing();
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Worker {
    /// Runs job `ticket`, a failing write retried (see the module
    /// documentation), and records the outcome.
    fn run(&mut self, ticket: u64, job: Job) {
        let result = match job {
            Job::Write { .. } => self.write(&job),
            _ => (self.runner)(&job),
        };
        done(&self.progress, ticket, result, job);
    }

    /// Writes until it works, or until it is given up while finishing.
    fn write(&mut self, job: &Job) -> Result<(), StoreError> {
        let progress = &*self.progress;
        let mut attempts = 0;
        loop {
            let error = match (self.runner)(job) {
                Ok(()) => {
                    progress.stalled.store(false, Ordering::Release);
                    self.log.succeeded(&self.dir);
                    return Ok(());
                }
                Err(e) => e,
            };
            attempts += 1;
            let finishing = progress.finishing.load(Ordering::Acquire);
            if progress.gave_up.load(Ordering::Acquire)
                || (finishing && attempts >= self.policy.attempts_when_finishing)
            {
                progress.gave_up.store(true, Ordering::Release);
                return Err(error);
            }
            progress.stalled.store(true, Ordering::Release);
            let wait = self.policy.wait_after(attempts);
            self.log.failed(&error, wait);
            std::thread::sleep(wait);
        }
    }
}

/// Records the outcome of job `ticket`.
fn done(progress: &Progress, ticket: u64, result: Result<(), StoreError>, job: Job) {
    match (result, &job) {
        (Ok(()), _) => {}
        (Err(_), Job::Delete(_)) => {
            progress.delete_failures.fetch_add(1, Ordering::Relaxed);
        }
        (Err(e), _) => {
            let mut failed = progress.failed.lock().unwrap_or_else(|p| p.into_inner());
            failed.get_or_insert(e);
        }
    }
    progress.done.store(ticket, Ordering::Release);
    if let Job::Flush(done) = job {
        let _ = done.send(());
    }
}

/// The error for a writer thread that died.
fn gone() -> StoreError {
    StoreError::Io {
        operation: store::Operation::Write,
        path: PathBuf::new(),
        error: std::io::Error::other("the disk writer thread stopped"),
    }
}

/// The real file system.
fn run(dir: &std::path::Path, job: &Job) -> Result<(), StoreError> {
    match job {
        Job::Write { name, bytes } => write_recreating(dir, name, bytes),
        Job::Delete(path) => match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::Io {
                operation: store::Operation::Delete,
                path: path.clone(),
                error: e,
            }),
            _ => Ok(()),
        },
        Job::Flush(_) => Ok(()),
    }
}

/// Writes `name`, creating the directory again first if it was removed.
fn write_recreating(dir: &std::path::Path, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
    match store::write_atomic(dir, name, bytes) {
        Err(StoreError::Io { error, .. }) if error.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(|error| StoreError::Io {
                operation: store::Operation::CreateDirectory,
                path: dir.to_path_buf(),
                error,
            })?;
            store::write_atomic(dir, name, bytes)
        }
        other => other,
    }
}
