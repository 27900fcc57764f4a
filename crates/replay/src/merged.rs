//! Several logs (one per server) merged by time and replayed: read,
//! merged, parsed and prepared on one thread, always taking the line with
//! the earliest logged time next ([`Merge`]), and replayed on the calling
//! one. Prepared requests cross in batches of plain data, so
//! decompression, parsing and GeoIP overlap the load-dependent routing and
//! the accounting.

use std::sync::mpsc::{sync_channel, SyncSender};

use routecast_accesslog::reader::ByteCounter;
use routecast_accesslog::{Log, MalformedLine, Merge, MergedLine, Request};

use crate::reading::{Damage, LineRules, LinesRead, Progress, Rejected, ReplayError};
use crate::replay::{PreparedRequest, Preparer, Replay};

/// Requests per batch.
const BATCH: usize = 8192;

/// Replays `logs` merged by logged time into each of `replays`: the lines
/// read, and the malformed ones. `progress` hears after each batch of
/// requests, on this thread.
pub fn replay_merged(
    logs: &mut [Log],
    replays: &mut [Replay],
    rules: LineRules,
    mut progress: impl FnMut(Progress),
) -> Result<LinesRead, ReplayError> {
    let counters: Vec<ByteCounter> = logs.iter().map(Log::read_counter).collect();
    let preparers = replays.iter().map(Replay::preparer).collect();
    let (tx, rx) = sync_channel::<Batch>(4);
    let produced = std::thread::scope(|scope| {
        let producer = scope.spawn(move || read_merged(logs, BatchSink::new(tx, preparers), rules));
        for batch in rx {
            for (replay, requests) in replays.iter_mut().zip(batch.runs) {
                for p in requests {
                    replay.push_prepared(p);
                }
            }
            progress(Progress {
                lines: batch.lines,
                bytes_read: counters.iter().map(ByteCounter::get).sum(),
            });
        }
        producer.join()
    });
    produced.map_err(|_| ReplayError::Panicked {
        thread: "the log reader thread",
    })?
}

/// The reading thread: every request of `logs` in time order into `sink`.
fn read_merged(
    logs: &mut [Log],
    mut sink: BatchSink,
    rules: LineRules,
) -> Result<LinesRead, ReplayError> {
    let logs_bytes: Vec<bool> = logs.iter().map(Log::logs_bytes).collect();
    let names: Vec<String> = logs.iter().map(|l| l.name().to_string()).collect();
    let formats: Vec<String> = logs.iter().map(|l| l.format().to_string()).collect();
    let mut rejected = Rejected::default();
    let (from_ms, to_ms) = (rules.plausible.from_ms, rules.plausible.to_ms);
    let mut merge = Merge::new(logs).with_time_range(from_ms, to_ms);
    let mut damaged = None;
    loop {
        let next = match merge.next_line() {
            Ok(Some(next)) => next,
            Ok(None) => break,
            // The requests before the damage are replayed; the merge ends.
            Err(e) => {
                damaged = Some(Damage::from_error(e.into())?);
                break;
            }
        };
        match next {
            MergedLine::Request { log, mut request } => {
                if let Err(error) = rules.plausible.check(&request) {
                    rejected.record(&rules, || MalformedLine {
                        file: names[log].clone(),
                        line: merge.line_of(log),
                        error,
                        format: formats[log].clone(),
                    })?;
                    continue;
                }
                if !logs_bytes[log] {
                    request.bytes = rules.request_bytes;
                }
                sink.push(&request);
            }
            MergedLine::Malformed(line) => rejected.record(&rules, || line)?,
        }
    }
    sink.flush();
    Ok(LinesRead {
        lines: merge.lines_read(),
        rejected,
        damaged,
    })
}

/// Prepared requests in log order, one list per replay.
struct Batch {
    /// `runs[i]`: the requests as replay `i` prepared them.
    runs: Vec<Vec<PreparedRequest>>,
    /// Requests sent so far, these included.
    lines: u64,
}

/// Prepares requests for every replay, and sends them in batches.
struct BatchSink {
    tx: SyncSender<Batch>,
    preparers: Vec<Preparer>,
    current: Batch,
    sent: u64,
}

impl BatchSink {
    /// Sends batches to `tx`, one list per preparer (in replay order).
    fn new(tx: SyncSender<Batch>, preparers: Vec<Preparer>) -> Self {
        let current = Self::empty(preparers.len());
        Self {
            tx,
            preparers,
            current,
            sent: 0,
        }
    }

    fn empty(runs: usize) -> Batch {
        Batch {
            runs: (0..runs).map(|_| Vec::with_capacity(BATCH)).collect(),
            lines: 0,
        }
    }

    /// Adds one request (the replaying side has gone away only after an
    /// error of its own, which it reports; lines sent then are moot).
    fn push(&mut self, r: &Request<'_>) {
        for (p, out) in self.preparers.iter_mut().zip(&mut self.current.runs) {
            out.push(p.prepare(r));
        }
        self.sent += 1;
        if self.current.runs.first().is_some_and(|r| r.len() >= BATCH) {
            self.flush();
        }
    }

    /// Sends what is collected.
    fn flush(&mut self) {
        if self.current.runs.first().is_some_and(|r| !r.is_empty()) {
            let next = Self::empty(self.preparers.len());
            let mut batch = std::mem::replace(&mut self.current, next);
            batch.lines = self.sent;
            let _ = self.tx.send(batch);
        }
    }
}

#[cfg(test)]
mod tests;
