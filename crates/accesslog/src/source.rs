//! A log ready to be read: opened, decompressed, its layout given or
//! detected from its first lines; and what is said of its lines that do
//! not parse.

use std::fmt;
use std::io::{self, BufRead};
use std::path::Path;

use crate::blocks::MAX_LINE;
use crate::reader::{self, ByteCounter, LogInput};
use crate::{Format, LineError, LineParser, LogFormat};

/// The format name of a log to be detected that holds no line but blank
/// ones (or no byte at all): it has no requests, whatever its format.
pub const EMPTY_LOG_FORMAT: &str = "empty";

/// How a log's lines are laid out.
#[derive(Debug, Clone)]
pub enum Layout {
    /// The format its first lines show ([`Format::detect_head`]).
    Detect,
    /// A named format.
    Format(Format),
    /// A compiled `log_format` / `LogFormat` string.
    Custom(LogFormat),
}

/// Why a log could not be opened or read. The system's reason is part of
/// the message (and not a [`source`](std::error::Error::source)), so it is
/// said once.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// The file could not be opened (or its compression read).
    #[error("{file}: cannot open: {error}")]
    Open {
        /// The log's name.
        file: String,
        /// What the system said.
        error: io::Error,
    },
    /// Its first bytes, read to detect the format, could not be read.
    #[error("{file}: read error: {error}")]
    Head {
        /// The log's name.
        file: String,
        /// What the reader said.
        error: io::Error,
    },
    /// Reading (or decompressing) failed at a line.
    #[error("{file}:{line}: read error: {error}")]
    Read {
        /// The log's name.
        file: String,
        /// The line that could not be read, from 1.
        line: u64,
        /// What the reader said.
        error: io::Error,
    },
    /// No known format ([`Format::ALL`]) parses most of its first lines.
    #[error("{file}: cannot tell the log format from the first lines")]
    UnknownFormat {
        /// The log's name.
        file: String,
    },
}

/// A line that does not parse: where it is, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedLine {
    /// The log's name.
    pub file: String,
    /// The line's number, from 1.
    pub line: u64,
    /// What is wrong with it.
    pub error: LineError,
    /// The name of the format it was read in.
    pub format: String,
}

impl fmt::Display for MalformedLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let MalformedLine {
            file,
            line,
            error,
            format,
        } = self;
        write!(f, "{file}:{line}: {error} (format {format})")
    }
}

/// An opened log: its name in messages, its decompressed bytes, and a
/// parser for its lines.
pub struct Log {
    pub(crate) name: String,
    pub(crate) input: LogInput,
    pub(crate) parser: LineParser,
    pub(crate) format: String,
    pub(crate) max_line: usize,
}

impl fmt::Debug for Log {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Log")
            .field("name", &self.name)
            .field("format", &self.format)
            .field("input", &self.input)
            .finish_non_exhaustive()
    }
}

impl Log {
    /// Opens `path` (`-`: standard input), plain, gzip or zstd, laid out
    /// as `layout` says.
    pub fn open(path: &Path, layout: Layout) -> Result<Log, LogError> {
        let file = path.display().to_string();
        match reader::open(path) {
            Ok(input) => Log::from_input(file, input, layout),
            Err(error) => Err(LogError::Open { file, error }),
        }
    }

    /// A log called `name` read from `input` (see [`reader::wrap`]).
    pub fn from_input(
        name: impl Into<String>,
        mut input: LogInput,
        layout: Layout,
    ) -> Result<Log, LogError> {
        let name = name.into();
        let (parser, format) = match layout {
            Layout::Custom(c) => (LineParser::Custom(c), "custom".to_string()),
            Layout::Format(f) => (f.parser(), f.to_string()),
            Layout::Detect => match input.reader.fill_buf() {
                // Nothing but blank lines: no requests, in any format.
                Ok(head) if Format::is_blank_head(head) => {
                    (Format::Common.parser(), EMPTY_LOG_FORMAT.to_string())
                }
                Ok(head) => match Format::detect_head(head) {
                    Some(f) => (f.parser(), f.to_string()),
                    None => return Err(LogError::UnknownFormat { file: name }),
                },
                Err(error) => return Err(LogError::Head { file: name, error }),
            },
        };
        Ok(Log {
            name,
            input,
            parser,
            format,
            max_line: MAX_LINE,
        })
    }

    /// The name in messages: the path as given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The format's name in messages (`custom` for a custom layout,
    /// [`EMPTY_LOG_FORMAT`] for a log to be detected that has nothing but blank lines).
    pub fn format(&self) -> &str {
        &self.format
    }

    /// The longest line read ([`MAX_LINE`] unless set): a longer one is
    /// one malformed line ([`LineError::TooLong`]), read past without
    /// being held (see [`BlockReader::with_max_line`](crate::blocks::BlockReader::with_max_line)).
    pub fn max_line(&self) -> usize {
        self.max_line
    }

    /// Sets [`Log::max_line`] (at least 1).
    pub fn set_max_line(&mut self, bytes: usize) {
        self.max_line = bytes.max(1);
    }

    /// The parser of its lines.
    pub fn parser(&self) -> &LineParser {
        &self.parser
    }

    /// Whether its lines carry byte counts (Traffic Router logs do not).
    pub fn logs_bytes(&self) -> bool {
        !matches!(self.parser, LineParser::TrafficRouter(_))
    }

    /// Size on disk, when known.
    pub fn size(&self) -> Option<u64> {
        self.input.size
    }

    /// Counts the bytes read from the file (before decompression).
    pub fn read_counter(&self) -> ByteCounter {
        self.input.read.clone()
    }

    /// The decompressed bytes.
    pub fn reader(&mut self) -> &mut (dyn BufRead + Send) {
        &mut *self.input.reader
    }

    /// Line `line` (from 1) of this log, malformed for `error`.
    pub fn malformed(&self, line: u64, error: LineError) -> MalformedLine {
        MalformedLine {
            file: self.name.clone(),
            line,
            error,
            format: self.format.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(text: &'static str) -> LogInput {
        reader::wrap(Box::new(text.as_bytes()), None).expect("in memory")
    }

    #[test]
    fn a_log_is_read_in_the_format_its_first_lines_show() {
        let line = "192.0.2.1 - - [25/Nov/2026:10:00:02 +0000] \"GET / HTTP/1.1\" 200 5\n";
        let log = Log::from_input("a.log", input(line), Layout::Detect).expect("detected");
        assert_eq!((log.name(), log.format()), ("a.log", "common"));
        assert!(log.logs_bytes());
        let tr = Log::from_input("tr.log", input(""), Layout::Format(Format::TrafficRouter));
        assert!(!tr.expect("named").logs_bytes());
    }

    #[test]
    fn an_empty_log_opens_with_no_requests() {
        for text in ["", "\n\n", "\r\n \n"] {
            let mut log = Log::from_input("e.log", input(text), Layout::Detect).expect("opens");
            assert_eq!(log.format(), EMPTY_LOG_FORMAT);
            let mut parsed = 0;
            crate::reader::for_each_line(log.reader(), |l| {
                parsed += usize::from(!l.is_empty() && log_parses(l));
                Ok::<(), ()>(())
            })
            .expect("reads");
            assert_eq!(parsed, 0);
        }
    }

    fn log_parses(l: &[u8]) -> bool {
        Format::Common.parser().parse(l).is_ok()
    }

    #[test]
    fn errors_name_the_file_and_what_went_wrong() {
        let e = Log::from_input("g.log", input("garbage\n"), Layout::Detect).expect_err("unknown");
        assert_eq!(
            e.to_string(),
            "g.log: cannot tell the log format from the first lines"
        );
        let absent = Path::new("/nonexistent/x.log");
        let e = Log::open(absent, Layout::Detect).expect_err("absent");
        let why = std::fs::File::open(absent).expect_err("absent");
        assert_eq!(
            e.to_string(),
            format!("/nonexistent/x.log: cannot open: {why}")
        );
        // The reason is in the message, not also a source: said once.
        assert!(std::error::Error::source(&e).is_none());
        let log = Log::from_input("a.log", input(""), Layout::Format(Format::Nginx));
        let m = log.expect("named").malformed(7, LineError::Status);
        assert_eq!(
            m.to_string(),
            "a.log:7: status is not a 3-digit number (format nginx)"
        );
    }
}
