//! Several logs (one per server) read as one, in order of logged time:
//! always the line with the earliest logged time next (on a tie, the first
//! log's).
//!
//! Each log is read line by line in blocks ([`LineReader`]); only each
//! log's next well-formed request is held, and of it only what a replay
//! reads: its times, client, status, byte count and path, the path copied
//! into a buffer that is reused, so merging allocates nothing per line.

use std::io::BufRead;

use crate::blocks::{LineReader, BLOCK};
use crate::source::{Log, LogError, MalformedLine};
use crate::{Client, HostName, LineError, LineParser, Request, TimeIs};

/// What the merge reads next.
#[derive(Debug, Clone, PartialEq)]
pub enum MergedLine<'a> {
    /// The well-formed request with the earliest logged time of all the
    /// logs' next ones. Its method is empty and its User-Agent `None`: the
    /// merge keeps what a replay reads, not those.
    Request {
        /// Which log it comes from (its index in the merged logs).
        log: usize,
        /// The request.
        request: Request<'a>,
    },
    /// A line that does not parse, met while looking for a log's next
    /// request.
    Malformed(MalformedLine),
}

/// Several logs merged by logged time: call [`Merge::next_line`] until it
/// gives `None`.
pub struct Merge<'a> {
    heads: Vec<Head<'a>>,
    /// The log whose next request is being looked for.
    advancing: Option<usize>,
    /// Logs whose first request has been looked for (they are, in order,
    /// before any request is given).
    primed: usize,
}

impl std::fmt::Debug for Merge<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Merge")
            .field("logs", &self.heads.len())
            .field("advancing", &self.advancing)
            .finish_non_exhaustive()
    }
}

impl<'a> Merge<'a> {
    /// Merges `logs`.
    pub fn new(logs: &'a mut [Log]) -> Self {
        let heads: Vec<Head<'a>> = logs.iter_mut().map(Head::new).collect();
        Self {
            advancing: (!heads.is_empty()).then_some(0),
            heads,
            primed: 0,
        }
    }

    /// The next request in time order, or a malformed line met on the way
    /// (in the order they are read); `None` at the end of every log.
    pub fn next_line(&mut self) -> Result<Option<MergedLine<'_>>, LogError> {
        while let Some(i) = self.advancing {
            match self.heads[i].advance()? {
                Some(m) => return Ok(Some(MergedLine::Malformed(m))),
                None => self.advanced(),
            }
        }
        let next = self
            .heads
            .iter()
            .enumerate()
            .filter_map(|(i, h)| h.ready.then_some((h.held.fields.logged_ms, i)))
            .min();
        let Some((_, i)) = next else { return Ok(None) };
        self.advancing = Some(i);
        Ok(Some(MergedLine::Request {
            log: i,
            request: self.heads[i].request(),
        }))
    }

    /// The log being advanced has its next request (or has ended).
    fn advanced(&mut self) {
        if self.primed < self.heads.len() {
            self.primed += 1;
            self.advancing = (self.primed < self.heads.len()).then_some(self.primed);
        } else {
            self.advancing = None;
        }
    }

    /// Takes lines logged outside `[from_ms, to_ms)` as malformed
    /// ([`LineError::TimeOutOfRange`]) rather than as requests: one far-off
    /// line would otherwise hold its log back (or ahead) of the others.
    pub fn with_time_range(mut self, from_ms: i64, to_ms: i64) -> Self {
        for h in &mut self.heads {
            h.time_range = (from_ms, to_ms);
        }
        self
    }

    /// The line number of log `log`'s request just given by
    /// [`Merge::next_line`] (0 for a log out of range).
    pub fn line_of(&self, log: usize) -> u64 {
        self.heads.get(log).map_or(0, |h| h.lines.line_no())
    }

    /// Lines read so far from every log, empty and malformed ones included.
    pub fn lines_read(&self) -> u64 {
        self.heads.iter().map(|h| h.lines.line_no()).sum()
    }
}

/// One log of a merge and its next request.
struct Head<'a> {
    name: &'a str,
    format: &'a str,
    parser: &'a mut LineParser,
    lines: LineReader<&'a mut (dyn BufRead + Send)>,
    /// Whether `held` is the log's next request.
    ready: bool,
    /// Requests logged outside `[.0, .1)` are malformed.
    time_range: (i64, i64),
    held: Held,
}

impl<'a> Head<'a> {
    fn new(log: &'a mut Log) -> Self {
        Self {
            name: &log.name,
            format: &log.format,
            parser: &mut log.parser,
            lines: LineReader::with_max_line(&mut *log.input.reader, BLOCK, log.max_line),
            ready: false,
            time_range: (i64::MIN, i64::MAX),
            held: Held::default(),
        }
    }

    /// Reads up to the next well-formed request, or the first malformed
    /// line before it; `None` once the request is there (or the log ended).
    fn advance(&mut self) -> Result<Option<MalformedLine>, LogError> {
        self.ready = false;
        loop {
            let line = match self.lines.next_line_within() {
                Ok(Some(Ok(line))) => line,
                Ok(Some(Err((_, error)))) => return Ok(Some(self.malformed(error))),
                Ok(None) => return Ok(None),
                Err(error) => {
                    return Err(LogError::Read {
                        file: self.name.to_string(),
                        line: self.lines.line_no() + 1,
                        error,
                    })
                }
            };
            if line.is_empty() {
                continue;
            }
            let (from_ms, to_ms) = self.time_range;
            let parsed = self.parser.parse(line).and_then(|r| match r.logged_ms {
                ms if ms < from_ms || ms >= to_ms => {
                    Err(LineError::TimeOutOfRange { ms, from_ms, to_ms })
                }
                _ => Ok(r),
            });
            return Ok(match parsed {
                Ok(r) => {
                    self.held.hold(&r);
                    self.ready = true;
                    None
                }
                Err(error) => Some(self.malformed(error)),
            });
        }
    }

    /// The line last read, malformed for `error`.
    fn malformed(&self, error: LineError) -> MalformedLine {
        MalformedLine {
            file: self.name.to_string(),
            line: self.lines.line_no(),
            error,
            format: self.format.to_string(),
        }
    }

    /// The held request.
    fn request(&self) -> Request<'_> {
        self.held.request()
    }
}

/// A request kept after its line is gone, as a replay reads it: the
/// fields that borrow nothing, and copies of its path and client host
/// name in buffers reused from request to request. Its method and
/// User-Agent are not kept.
struct Held {
    /// The request, its method empty, its path empty, no User-Agent, its
    /// client an address (the one logged, or a placeholder for `host`).
    fields: Request<'static>,
    path: Vec<u8>,
    /// The client's host name, when the log named it (`named`).
    host: Vec<u8>,
    named: bool,
}

impl Default for Held {
    fn default() -> Self {
        Self {
            fields: Request {
                client: Client::Ip(std::net::Ipv4Addr::UNSPECIFIED.into()),
                logged_ms: 0,
                time_is: TimeIs::End,
                duration_ms: None,
                method: "",
                path: b"",
                status: 0,
                bytes: 0,
                user_agent: None,
            },
            path: Vec::new(),
            host: Vec::new(),
            named: false,
        }
    }
}

impl Held {
    /// Keeps what a replay reads of `r`.
    fn hold(&mut self, r: &Request<'_>) {
        let kept = &mut self.fields;
        match r.client {
            Client::Ip(a) => {
                kept.client = Client::Ip(a);
                self.named = false;
            }
            Client::Host(h) => {
                self.host.clear();
                self.host.extend_from_slice(h.as_str().as_bytes());
                self.named = true;
            }
        }
        kept.logged_ms = r.logged_ms;
        kept.time_is = r.time_is;
        kept.duration_ms = r.duration_ms;
        kept.status = r.status;
        kept.bytes = r.bytes;
        self.path.clear();
        self.path.extend_from_slice(r.path);
    }

    /// The request kept, its path borrowed from the buffer.
    fn request(&self) -> Request<'_> {
        // The name was a checked host name when it was kept.
        let host = self.named.then(|| HostName::parse(&self.host)).flatten();
        Request {
            path: &self.path,
            client: host.map_or(self.fields.client, Client::Host),
            ..self.fields.clone()
        }
    }
}

#[cfg(test)]
mod tests;
