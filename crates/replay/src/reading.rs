//! What reading logs into a replay is told and tells: the rules for
//! malformed lines, the lines it rejected, its progress, and why it
//! stopped.

use std::io;

use routecast_accesslog::{LogError, MalformedLine};
use serde::{Serialize, Serializer};

use crate::bounds::Plausible;

/// What to make of a log's lines. The defaults are `routecast
/// simulate`'s (its flags take them from the `DEFAULT_*` constants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineRules {
    /// Bytes of each request when the format logs none (Traffic Router
    /// logs record redirects, not deliveries).
    pub request_bytes: u64,
    /// Stop at the first malformed line ([`ReplayError::Malformed`])
    /// instead of counting it.
    pub strict: bool,
    /// How many malformed lines to list in [`Rejected::first`].
    pub show_errors: usize,
    /// What a plausible line is: lines outside these bounds are malformed.
    pub plausible: Plausible,
}

impl Default for LineRules {
    /// No bytes for logs without them, malformed lines counted, the first
    /// ten listed, [`Plausible::default`] bounds.
    fn default() -> Self {
        Self {
            request_bytes: Self::DEFAULT_REQUEST_BYTES,
            strict: false,
            show_errors: Self::DEFAULT_SHOW_ERRORS,
            plausible: Plausible::default(),
        }
    }
}

impl LineRules {
    /// Default bytes of a request in a log without byte counts: none.
    pub const DEFAULT_REQUEST_BYTES: u64 = 0;
    /// Default number of malformed lines listed: ten.
    pub const DEFAULT_SHOW_ERRORS: usize = 10;
}

/// Malformed lines: how many, and the first few.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// Count of malformed lines.
    pub count: u64,
    /// The first ones, in the order they were read (written out as
    /// `file:line: reason (format F)`).
    #[serde(serialize_with = "as_text")]
    pub first: Vec<MalformedLine>,
}

fn as_text<S: Serializer>(lines: &[MalformedLine], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(lines.iter().map(ToString::to_string))
}

impl Rejected {
    /// Counts a malformed line (made by `line` only when it is listed), or
    /// with [`LineRules::strict`] stops at it.
    pub fn record(
        &mut self,
        rules: &LineRules,
        line: impl FnOnce() -> MalformedLine,
    ) -> Result<(), ReplayError> {
        if rules.strict {
            return Err(ReplayError::Malformed(line()));
        }
        self.count += 1;
        if self.first.len() < rules.show_errors {
            self.first.push(line());
        }
        Ok(())
    }
}

/// What reading the logs of a replay came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinesRead {
    /// Lines read, empty and malformed ones included.
    pub lines: u64,
    /// The malformed ones.
    pub rejected: Rejected,
    /// Where reading stopped early: a log that could not be read (or
    /// decompressed) to its end, e.g. a truncated or corrupt gzip. The
    /// lines before the damage were replayed; none after it.
    pub damaged: Option<Damage>,
}

/// A log damaged part way: the replay has every whole line before the
/// damage, and stops there. Written out as `file:line: read error: …`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{file}:{line}: read error: {error}")]
pub struct Damage {
    /// The log's name.
    pub file: String,
    /// The line that could not be read, from 1.
    pub line: u64,
    /// What the reader (or decompressor) said.
    pub error: String,
}

impl Damage {
    /// The damage a read error of a log is; any other error is returned
    /// as it is (the replay cannot go on after it).
    pub(crate) fn from_error(e: ReplayError) -> Result<Damage, ReplayError> {
        match e {
            ReplayError::Log(LogError::Read { file, line, error }) => Ok(Damage {
                file,
                line,
                error: error.to_string(),
            }),
            other => Err(other),
        }
    }
}

/// How far a replay has come: told once per block or batch of lines, on
/// the calling thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Lines replayed so far.
    pub lines: u64,
    /// Bytes read from the log files so far (before decompression; see
    /// [`Log::size`](routecast_accesslog::Log::size) for the whole).
    pub bytes_read: u64,
}

/// Why a replay stopped before the end of its logs. A system's reason is
/// part of the message (and not a [`source`](std::error::Error::source)),
/// so it is said once.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// A log could not be read ([`LogError::Read`] names the file and the
    /// line).
    #[error(transparent)]
    Log(#[from] LogError),
    /// A malformed line, with [`LineRules::strict`].
    #[error("{0}")]
    Malformed(MalformedLine),
    /// A thread reading or parsing the logs panicked (every thread was
    /// joined first).
    #[error("{thread} panicked")]
    Panicked {
        /// Which: a log reading or parsing thread, or the log reader thread.
        thread: &'static str,
    },
    /// A thread could not be started (the message is the system's reason).
    #[error("{error}")]
    Spawn {
        /// What the system said.
        error: io::Error,
    },
}

#[cfg(test)]
mod tests {
    use routecast_accesslog::LineError;

    use super::*;

    fn line(n: u64) -> MalformedLine {
        MalformedLine {
            file: "a.log".into(),
            line: n,
            error: LineError::Client,
            format: "nginx".into(),
        }
    }

    /// The defaults of `routecast simulate --help` (the baseline binary's:
    /// request bytes 0, show errors 10, not strict).
    #[test]
    fn the_defaults_are_the_commands() {
        let r = LineRules::default();
        assert_eq!((r.request_bytes, r.strict, r.show_errors), (0, false, 10));
    }

    #[test]
    fn the_first_few_are_listed_and_all_counted() {
        let rules = LineRules {
            show_errors: 2,
            ..LineRules::default()
        };
        let mut r = Rejected::default();
        for n in 1..=5 {
            r.record(&rules, || line(n)).expect("not strict");
        }
        assert_eq!(r.count, 5);
        assert_eq!(r.first, [line(1), line(2)]);
    }

    #[test]
    fn a_thread_that_cannot_start_says_why_once() {
        let e = ReplayError::Spawn {
            error: io::Error::other("no more threads"),
        };
        assert_eq!(e.to_string(), "no more threads");
        assert!(std::error::Error::source(&e).is_none());
    }

    #[test]
    fn a_read_error_is_damage_and_other_errors_stay_errors() {
        let read = ReplayError::Log(LogError::Read {
            file: "a.log.gz".into(),
            line: 12,
            error: io::Error::other("incomplete deflate stream"),
        });
        let d = Damage::from_error(read).expect("damage");
        assert_eq!(
            d.to_string(),
            "a.log.gz:12: read error: incomplete deflate stream"
        );
        let panicked = ReplayError::Panicked { thread: "a reader" };
        assert!(Damage::from_error(panicked).is_err());
    }

    #[test]
    fn strict_stops_at_the_line() {
        let rules = LineRules {
            strict: true,
            ..LineRules::default()
        };
        let e = Rejected::default()
            .record(&rules, || line(7))
            .expect_err("strict");
        assert_eq!(
            e.to_string(),
            "a.log:7: client is neither an IP address nor a host name (format nginx)"
        );
    }
}
