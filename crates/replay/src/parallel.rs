//! One log replayed with its parsing spread over several threads.
//!
//! A reader thread cuts the (decompressed) log into numbered [`Block`]s of
//! whole lines; worker threads parse and prepare every line of a block for
//! every replay (each worker with its own parser and [`Preparer`]s, whose
//! caches are exact, so who parsed what never shows in the results); the
//! calling thread takes the results in block order, names malformed lines
//! by their line in the file, and replays. A block and its results travel
//! together in a [`Slot`] that goes back to the reader once replayed: a
//! fixed number of slots in flight bound the memory, and their buffers are
//! reused.
//!
//! The replaying thread is one of the parsers: whenever the next block in
//! order is not ready, it parses a block no worker has taken rather than
//! wait. So `threads` threads keep `threads` cores busy, whichever of
//! parsing and replaying costs more; one worker per core besides would
//! make the replaying thread share its core when it is the slower side
//! (measured: 10–20 % longer on two cores).

use std::collections::BTreeMap;
use std::io::{self, BufRead};
use std::sync::mpsc::{channel, Receiver, Sender, TryRecvError};
use std::sync::{Mutex, PoisonError};
use std::thread::{Scope, ScopedJoinHandle};

use routecast_accesslog::blocks::{Block, BlockReader, BLOCK};
use routecast_accesslog::reader::ByteCounter;
use routecast_accesslog::{LineError, LineParser, Log, LogError, MalformedLine};

use crate::bounds::Plausible;
use crate::reading::{Damage, LineRules, LinesRead, Progress, Rejected, ReplayError};
use crate::replay::{PreparedRequest, Preparer, Replay};

/// How many threads parse a log, and in what blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parallel {
    /// Threads that parse, the replaying one included (at least one: then
    /// it does everything). Results are the same whatever the number.
    pub threads: usize,
    /// Bytes per block of lines (about: a longer line makes its block
    /// grow).
    pub block_bytes: usize,
}

impl Parallel {
    /// `threads` threads, blocks of [`BLOCK`] bytes.
    pub fn new(threads: usize) -> Self {
        Self {
            threads,
            block_bytes: BLOCK,
        }
    }

    /// One thread per core (as the system tells; one when it cannot),
    /// blocks of [`BLOCK`] bytes: `routecast simulate` without `--threads`.
    pub fn per_core() -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }
}

/// A block and what a worker made of it.
#[derive(Default)]
struct Slot {
    /// The block's place in the log, from 0.
    index: u64,
    block: Block,
    /// Lines in the block, empty ones included.
    lines: u64,
    /// `runs[i]`: the well-formed lines as replay `i` prepared them.
    runs: Vec<Vec<PreparedRequest>>,
    /// Malformed lines: index in the block (from 0), and why.
    errors: Vec<(u64, LineError)>,
}

/// What the replaying thread hears.
enum Message {
    /// A parsed block.
    Parsed(Slot),
    /// The reader's last word: how many blocks it sent, and why it stopped
    /// if not at the end of the log.
    End {
        blocks: u64,
        error: Option<io::Error>,
    },
    /// A block is waiting for a parser (the replaying thread may take it).
    Queued,
    /// A reader or worker thread panicked.
    Panicked,
}

/// Replays one log into each of `replays`, in log order, its parsing
/// spread over `parallel.threads` threads: the lines read, and the
/// malformed ones. The results are the same whatever the threads and
/// blocks. `progress` hears after each block, on this thread.
pub fn replay_parallel(
    log: &mut Log,
    replays: &mut [Replay],
    rules: LineRules,
    parallel: Parallel,
    mut progress: impl FnMut(Progress),
) -> Result<LinesRead, ReplayError> {
    let threads = parallel.threads.max(1);
    // This thread parses too: one worker fewer.
    let workers: Vec<Worker> = (1..threads)
        .map(|_| Worker::new(log, replays, &rules))
        .collect();
    let helper = Worker::new(log, replays, &rules);
    let (work_tx, work_rx) = channel::<Slot>();
    let work_rx = Mutex::new(work_rx);
    let mut order = InOrder {
        file: log.name().to_string(),
        format: log.format().to_string(),
        rules,
        replays,
        rejected: Rejected::default(),
        progress: &mut progress,
        read: log.read_counter(),
        lines: 0,
        work: &work_rx,
        helper,
    };
    let feed = BlockFeed {
        max_line: log.max_line(),
        input: log.reader(),
        block_bytes: parallel.block_bytes,
        slots: 2 * threads + 2,
        work: work_tx,
    };
    let (lines, damaged) = match run_threads(&mut order, workers, feed) {
        Ok(lines) => (lines, None),
        // Every block before the damage was replayed.
        Err(e) => (order.lines, Some(Damage::from_error(e)?)),
    };
    Ok(LinesRead {
        lines,
        rejected: order.rejected,
        damaged,
    })
}

/// What the reader thread reads, and where it sends the blocks.
struct BlockFeed<'a> {
    input: &'a mut (dyn BufRead + Send),
    block_bytes: usize,
    /// The longest line read ([`Log::max_line`]).
    max_line: usize,
    /// Slots (blocks and their results) in flight at most.
    slots: usize,
    work: Sender<Slot>,
}

/// Runs the reader and the workers while `order` replays on this thread;
/// the lines replayed.
fn run_threads(
    order: &mut InOrder<'_, '_>,
    workers: Vec<Worker>,
    feed: BlockFeed<'_>,
) -> Result<u64, ReplayError> {
    let (done_tx, done_rx) = channel::<Message>();
    let (free_tx, free_rx) = channel::<Slot>();
    let work = order.work;
    std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(workers.len() + 1);
        for (i, mut worker) in workers.into_iter().enumerate() {
            let tx = done_tx.clone();
            let name = format!("log-parse-{i}");
            handles.push(spawn(scope, name, move || worker.run(work, tx))?);
        }
        let slots = Slots {
            free: free_rx,
            made: 0,
            limit: feed.slots,
        };
        let read = move || read_blocks(feed, slots, done_tx);
        handles.push(spawn(scope, "log-read".into(), read)?);
        // Hanging up stops the reader and the workers, even after an error.
        let replayed = order.run(done_rx, free_tx);
        // Joined here (all of them), a panic is an error rather than the
        // scope's panic.
        let panics = handles.into_iter().map(|t| t.join()).filter(Result::is_err);
        if panics.count() > 0 {
            return Err(panicked());
        }
        replayed
    })
}

/// Starts a thread called `name` in `scope`.
fn spawn<'s>(
    scope: &'s Scope<'s, '_>,
    name: String,
    f: impl FnOnce() + Send + 's,
) -> Result<ScopedJoinHandle<'s, ()>, ReplayError> {
    std::thread::Builder::new()
        .name(name)
        .spawn_scoped(scope, f)
        .map_err(|error| ReplayError::Spawn { error })
}

/// Parses and prepares blocks.
struct Worker {
    parser: LineParser,
    preparers: Vec<Preparer>,
    no_bytes: bool,
    request_bytes: u64,
    plausible: Plausible,
}

impl Worker {
    /// A worker for `log`, preparing for each of `replays`.
    fn new(log: &Log, replays: &[Replay], rules: &LineRules) -> Self {
        Self {
            parser: log.parser().clone(),
            preparers: replays.iter().map(Replay::preparer).collect(),
            no_bytes: !log.logs_bytes(),
            request_bytes: rules.request_bytes,
            plausible: rules.plausible,
        }
    }

    /// Takes blocks from `work` until it closes, and sends them parsed.
    fn run(&mut self, work: &Mutex<Receiver<Slot>>, done: Sender<Message>) {
        let _notice = PanicNotice(done.clone());
        loop {
            let next = work.lock().unwrap_or_else(PoisonError::into_inner).recv();
            let Ok(mut slot) = next else { return };
            self.parse(&mut slot);
            if done.send(Message::Parsed(slot)).is_err() {
                return;
            }
        }
    }

    fn parse(&mut self, slot: &mut Slot) {
        slot.lines = 0;
        slot.errors.clear();
        slot.runs.resize_with(self.preparers.len(), Vec::new);
        for line in slot.block.lines() {
            let index = slot.lines;
            slot.lines += 1;
            if let Some(e) = slot.block.over_limit(line) {
                slot.errors.push((index, e));
                continue;
            }
            if line.is_empty() {
                continue;
            }
            // The request is checked where it was parsed (no move of it
            // through a `Result` per line).
            let mut r = match self.parser.parse(line) {
                Ok(r) => r,
                Err(e) => {
                    slot.errors.push((index, e));
                    continue;
                }
            };
            if let Err(e) = self.plausible.check(&r) {
                slot.errors.push((index, e));
                continue;
            }
            if self.no_bytes {
                r.bytes = self.request_bytes;
            }
            for (p, out) in self.preparers.iter_mut().zip(&mut slot.runs) {
                out.push(p.prepare(&r));
            }
        }
    }
}

/// Tells the replaying thread when the thread holding it panics, so that it
/// does not wait for a block that will never come.
struct PanicNotice(Sender<Message>);

impl Drop for PanicNotice {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = self.0.send(Message::Panicked);
        }
    }
}

/// Slots for the reader: new ones up to a limit, then those the replaying
/// thread gives back.
struct Slots {
    free: Receiver<Slot>,
    made: usize,
    limit: usize,
}

impl Slots {
    /// A slot to fill; `None` once the replaying thread has gone.
    fn take(&mut self) -> Option<Slot> {
        match self.free.try_recv() {
            Ok(slot) => Some(slot),
            Err(TryRecvError::Empty) if self.made < self.limit => {
                self.made += 1;
                Some(Slot::default())
            }
            Err(TryRecvError::Empty) => self.free.recv().ok(),
            Err(TryRecvError::Disconnected) => None,
        }
    }
}

/// The reader thread: numbered blocks of the feed's input to its workers,
/// in `slots`, then the end to `done`. Stops early when the replaying
/// thread has gone.
fn read_blocks(feed: BlockFeed<'_>, mut slots: Slots, done: Sender<Message>) {
    let _notice = PanicNotice(done.clone());
    let work = feed.work;
    let mut reader = BlockReader::new(feed.input, feed.block_bytes).with_max_line(feed.max_line);
    let mut index = 0;
    let error = loop {
        let Some(mut slot) = slots.take() else { return };
        match reader.next_into(&mut slot.block) {
            Ok(true) => {}
            Ok(false) => break None,
            Err(e) => break Some(e),
        }
        slot.index = index;
        index += 1;
        if work.send(slot).is_err() || done.send(Message::Queued).is_err() {
            return;
        }
    };
    let _ = done.send(Message::End {
        blocks: index,
        error,
    });
}

/// The replaying side: parsed blocks back in log order, into the replays.
struct InOrder<'a, 'p> {
    /// The log's name and format, for its malformed lines.
    file: String,
    format: String,
    rules: LineRules,
    replays: &'a mut [Replay],
    rejected: Rejected,
    progress: &'a mut dyn FnMut(Progress),
    /// Bytes read from the log file.
    read: ByteCounter,
    /// Lines replayed so far.
    lines: u64,
    /// Blocks for the workers, some of which this thread parses itself
    /// rather than wait.
    work: &'p Mutex<Receiver<Slot>>,
    helper: Worker,
}

impl InOrder<'_, '_> {
    /// Replays every block in order; the number of lines.
    fn run(&mut self, done: Receiver<Message>, free: Sender<Slot>) -> Result<u64, ReplayError> {
        let mut waiting: BTreeMap<u64, Slot> = BTreeMap::new();
        let mut next = 0;
        let mut end = None;
        loop {
            if let Some((blocks, _)) = &end {
                if next == *blocks {
                    break;
                }
            }
            match self.next_message(&done) {
                Some(Message::Parsed(slot)) => {
                    waiting.insert(slot.index, slot);
                }
                Some(Message::Queued) => {}
                Some(Message::End { blocks, error }) => end = Some((blocks, error)),
                Some(Message::Panicked) | None => return Err(panicked()),
            }
            while let Some(mut slot) = waiting.remove(&next) {
                self.take(&mut slot)?;
                next += 1;
                // The reader may have stopped already: then the slot is moot.
                let _ = free.send(slot);
            }
        }
        match end {
            Some((_, Some(error))) => Err(ReplayError::Log(LogError::Read {
                file: self.file.clone(),
                line: self.lines + 1,
                error,
            })),
            _ => Ok(self.lines),
        }
    }

    /// The next message; when there is none yet, a block that no worker
    /// has taken, parsed here: this thread would only wait, and the cores
    /// it leaves free go to parsing.
    fn next_message(&mut self, done: &Receiver<Message>) -> Option<Message> {
        if let Ok(m) = done.try_recv() {
            return Some(m);
        }
        // Nothing has come, or everyone has hung up; but blocks may wait
        // with no worker to take them (`threads` 1). A worker holding the
        // lock is waiting for blocks: then there are none.
        let unclaimed = self.work.try_lock().ok().and_then(|w| w.try_recv().ok());
        if let Some(mut slot) = unclaimed {
            self.helper.parse(&mut slot);
            return Some(Message::Parsed(slot));
        }
        done.recv().ok()
    }

    /// Replays one block (its malformed lines first, for a strict stop).
    fn take(&mut self, slot: &mut Slot) -> Result<(), ReplayError> {
        for (i, error) in slot.errors.drain(..) {
            let (file, format) = (&self.file, &self.format);
            self.rejected.record(&self.rules, || MalformedLine {
                file: file.clone(),
                line: self.lines + i + 1,
                error,
                format: format.clone(),
            })?;
        }
        for (replay, prepared) in self.replays.iter_mut().zip(&mut slot.runs) {
            for p in prepared.drain(..) {
                replay.push_prepared(p);
            }
        }
        self.lines += slot.lines;
        (self.progress)(Progress {
            lines: self.lines,
            bytes_read: self.read.get(),
        });
        Ok(())
    }
}

fn panicked() -> ReplayError {
    ReplayError::Panicked {
        thread: "a log reading or parsing thread",
    }
}

#[cfg(test)]
pub(crate) mod tests;
