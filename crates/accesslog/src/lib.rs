//! Request logs for routecast: formats, a fast line parser, and readers for
//! plain, gzip and zstd files.
//!
//! A [`Log`] is a file (or standard input) opened and decompressed
//! ([`reader`]), its format given or detected from its first lines
//! ([`Format::detect_head`]). Its bytes are read in [`blocks`] of whole
//! lines: several threads can parse a block each, or one thread can take
//! them line by line. Several logs (one per server) are read as one, in
//! order of logged time, by a [`Merge`] (which holds, of each log's next
//! request, what a replay reads); a line that does not parse is a
//! [`MalformedLine`] naming its file and line.
//!
//! # Rules
//! * Parsers take `&[u8]` and return a [`Request`] borrowing from the line or
//!   a [`LineError`] naming the bad field; they never panic, whatever the bytes.
//! * Time semantics are explicit: nginx `$time_local` is the end of a
//!   request, Apache `%t` its start ([`TimeIs`]); [`Request::interval`] places
//!   the duration accordingly.
//! * Compression is detected from the bytes, never from the file name.
//! * One way to read lines: blocks of whole lines filled straight from the
//!   reader ([`blocks::BlockReader`]); [`reader::for_each_line`], the merge
//!   and the simulator's parallel parsing all read through it.
//! * Only what the replay reads is checked: the request target and the
//!   User-Agent are kept as the bytes logged, not checked for UTF-8.
//!
//! # Example
//! ```
//! use routecast_accesslog::{Format, TimeIs};
//! let line = br#"192.0.2.1 - - [25/Nov/2026:10:00:02 +0000] "GET /vod/a.mp4 HTTP/1.1" 200 5000000 "-" "curl/8" 4.000"#;
//! let mut parser = Format::Nginx.parser();
//! let r = parser.parse(line)?;
//! assert_eq!(r.time_is, TimeIs::End);
//! assert_eq!(r.interval(0).1 - r.interval(0).0, 4000);
//! # Ok::<(), routecast_accesslog::LineError>(())
//! ```

pub mod blocks;
mod format;
mod jsonl;
mod line;
mod logformat;
mod merge;
pub mod reader;
mod source;
pub mod time;
mod trafficrouter;

pub use format::Format;
pub use jsonl::JsonLines;
pub use line::{Client, CombinedParser, Duration, HostName, LineError, Request, TimeIs};
pub use logformat::{FormatError, LogFormat};
pub use merge::{Merge, MergedLine};
pub use source::{Layout, Log, LogError, MalformedLine, EMPTY_LOG_FORMAT};
pub use trafficrouter::TrafficRouter;

/// A parser for any supported layout: a named format or a compiled custom one.
#[derive(Debug, Clone)]
pub enum LineParser {
    /// A combined-family format ([`Format::parser`]).
    Combined(CombinedParser),
    /// A `log_format` / `LogFormat` string.
    Custom(LogFormat),
    /// JSON lines.
    Json(JsonLines),
    /// Traffic Router access log.
    TrafficRouter(TrafficRouter),
}

impl LineParser {
    /// Parses one line (without its newline).
    pub fn parse<'a>(&mut self, line: &'a [u8]) -> Result<Request<'a>, LineError> {
        match self {
            LineParser::Combined(p) => p.parse(line),
            LineParser::Custom(p) => p.parse(line),
            LineParser::Json(p) => p.parse(line),
            LineParser::TrafficRouter(p) => p.parse(line),
        }
    }
}
