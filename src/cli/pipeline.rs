//! Reading, parsing and preparing on one thread, replaying on another: each
//! parsed line is prepared for every replay (client located and classified,
//! policy picked: the load-independent half of a decision) and crosses in
//! batches of plain data, so decompression, parsing and GeoIP overlap the
//! load-dependent routing and the accounting.

use std::sync::mpsc::SyncSender;

use routecast_accesslog::Request;
use routecast_replay::{PreparedRequest, Preparer};

/// Lines per batch.
const BATCH: usize = 8192;

/// Prepared requests in log order, one list per replay.
pub struct Batch {
    /// `runs[i]`: the requests as replay `i` prepared them.
    pub runs: Vec<Vec<PreparedRequest>>,
}

/// Prepares requests for every replay, and sends them in batches.
pub struct BatchSink {
    tx: SyncSender<Batch>,
    preparers: Vec<Preparer>,
    current: Batch,
}

impl BatchSink {
    /// Sends batches to `tx`, one list per preparer (in replay order).
    pub fn new(tx: SyncSender<Batch>, preparers: Vec<Preparer>) -> Self {
        let current = Self::empty(preparers.len());
        Self {
            tx,
            preparers,
            current,
        }
    }

    fn empty(runs: usize) -> Batch {
        Batch {
            runs: (0..runs).map(|_| Vec::with_capacity(BATCH)).collect(),
        }
    }

    /// Adds one request (the replaying side has gone away only after an
    /// error of its own, which it reports; lines sent then are moot).
    pub fn push(&mut self, r: &Request<'_>) {
        for (p, out) in self.preparers.iter_mut().zip(&mut self.current.runs) {
            out.push(p.prepare(r));
        }
        if self.current.runs.first().is_some_and(|r| r.len() >= BATCH) {
            self.flush();
        }
    }

    /// Sends what is collected.
    pub fn flush(&mut self) {
        if self.current.runs.first().is_some_and(|r| !r.is_empty()) {
            let next = Self::empty(self.preparers.len());
            let batch = std::mem::replace(&mut self.current, next);
            let _ = self.tx.send(batch);
        }
    }
}
