//! Reading and parsing on one thread, replaying on another: parsed lines
//! cross in batches (owned copies, paths packed in one string per batch), so
//! decompression and parsing overlap the replay.

use std::net::IpAddr;
use std::sync::mpsc::SyncSender;

use routecast_accesslog::{Request, TimeIs};

/// Lines per batch.
const BATCH: usize = 8192;

/// One parsed line without its borrowed text.
struct Record {
    client: IpAddr,
    logged_ms: i64,
    time_is: TimeIs,
    duration_ms: Option<u64>,
    status: u16,
    bytes: u64,
    path: (u32, u32),
}

/// Parsed lines, in log order.
#[derive(Default)]
pub struct Batch {
    records: Vec<Record>,
    paths: String,
}

impl Batch {
    /// Calls `f` with each request of the batch.
    pub fn for_each(&self, mut f: impl FnMut(&Request<'_>)) {
        for r in &self.records {
            let (at, len) = (r.path.0 as usize, r.path.1 as usize);
            let req = Request {
                client: r.client,
                logged_ms: r.logged_ms,
                time_is: r.time_is,
                duration_ms: r.duration_ms,
                method: "GET",
                path: self.paths.get(at..at + len).unwrap_or("/"),
                status: r.status,
                bytes: r.bytes,
                user_agent: None,
            };
            f(&req);
        }
    }
}

/// Collects requests into batches and sends each when full.
pub struct BatchSink {
    tx: SyncSender<Batch>,
    current: Batch,
}

impl BatchSink {
    /// Sends batches to `tx`.
    pub fn new(tx: SyncSender<Batch>) -> Self {
        Self {
            tx,
            current: Batch::default(),
        }
    }

    /// Adds one request (the replaying side has gone away only after an
    /// error of its own, which it reports; lines sent then are moot).
    pub fn push(&mut self, r: &Request<'_>) {
        let at = self.current.paths.len();
        self.current.paths.push_str(r.path);
        self.current.records.push(Record {
            client: r.client,
            logged_ms: r.logged_ms,
            time_is: r.time_is,
            duration_ms: r.duration_ms,
            status: r.status,
            bytes: r.bytes,
            // A batch holds at most BATCH paths of a line each: far below 4 GiB.
            path: (at as u32, r.path.len() as u32),
        });
        if self.current.records.len() >= BATCH {
            self.flush();
        }
    }

    /// Sends what is collected.
    pub fn flush(&mut self) {
        if !self.current.records.is_empty() {
            let batch = std::mem::take(&mut self.current);
            let _ = self.tx.send(batch);
        }
    }
}
