//! A log as `routecast simulate` reads it: opened, decompressed, its format
//! given or detected from its first lines; read line by line when several
//! are merged, or handed over whole to [`super::parallel`].

use std::io::BufRead;
use std::path::Path;

use routecast_accesslog::{reader, Format, LineParser, LogFormat};

use super::Failure;
use routecast_accesslog::blocks;

/// A log being read, one line ahead for the merge.
pub struct Source {
    /// The name in messages: the path as given.
    pub name: String,
    /// The decompressed bytes.
    pub lines: Box<dyn BufRead + Send>,
    read: reader::ByteCounter,
    size: Option<u64>,
    /// The last line [`Source::next_line`] read, without its ending.
    pub buf: Vec<u8>,
    /// Lines read so far by [`Source::next_line`].
    pub line_no: u64,
    /// A parser for the log's format.
    pub parser: LineParser,
    /// The format's name in messages.
    pub format: String,
    /// The format logs no byte counts (Traffic Router).
    pub no_bytes: bool,
}

/// What progress needs to know of an input.
pub trait SourceInfo {
    /// Bytes read so far (before decompression).
    fn counter(&self) -> reader::ByteCounter;
    /// Size on disk, when known.
    fn size(&self) -> Option<u64>;
}

impl SourceInfo for Source {
    fn counter(&self) -> reader::ByteCounter {
        self.read.clone()
    }
    fn size(&self) -> Option<u64> {
        self.size
    }
}

impl Source {
    /// Opens `path` (`-`: standard input) in `format`, the `custom` one,
    /// or the one its first lines show.
    pub fn open(
        path: &Path,
        format: Option<Format>,
        custom: Option<&LogFormat>,
    ) -> Result<Source, Failure> {
        let name = path.display().to_string();
        let input = reader::open(path)
            .map_err(|e| Failure::Other(anyhow::anyhow!("{name}: cannot open: {e}")))?;
        let (read, size) = (input.read.clone(), input.size);
        let mut lines = input.reader;
        let (parser, format) = match (custom, format) {
            (Some(c), _) => (LineParser::Custom(c.clone()), "custom".to_string()),
            (None, Some(f)) => (f.parser(), f.to_string()),
            (None, None) => {
                let f = detect(&name, &mut lines)?;
                (f.parser(), f.to_string())
            }
        };
        Ok(Source {
            name,
            lines,
            read,
            size,
            buf: Vec::with_capacity(4096),
            line_no: 0,
            no_bytes: matches!(parser, LineParser::TrafficRouter(_)),
            parser,
            format,
        })
    }

    /// Reads the next line into `buf`; false at the end.
    pub fn next_line(&mut self) -> Result<bool, Failure> {
        self.buf.clear();
        let n = self.lines.read_until(b'\n', &mut self.buf).map_err(|e| {
            Failure::Data(format!(
                "{}:{}: read error: {e}",
                self.name,
                self.line_no + 1
            ))
        })?;
        if n == 0 {
            return Ok(false);
        }
        self.line_no += 1;
        while self.buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            self.buf.pop();
        }
        Ok(true)
    }
}

/// Detects the format from the first lines without consuming them.
fn detect(name: &str, lines: &mut Box<dyn BufRead + Send>) -> Result<Format, Failure> {
    let head = lines
        .fill_buf()
        .map_err(|e| Failure::Data(format!("{name}: read error: {e}")))?;
    // Lines as they will be parsed: without `\r\n` endings.
    let sample: Vec<&[u8]> = head
        .split(|b| *b == b'\n')
        .map(blocks::without_cr)
        .take(50)
        .collect();
    // The last piece may be a cut line: leave it out when there are others.
    let sample = if sample.len() > 1 {
        &sample[..sample.len() - 1]
    } else {
        &sample[..]
    };
    Format::detect(sample.iter().copied()).ok_or_else(|| {
        Failure::Data(format!(
            "{name}: cannot tell the log format from the first lines (use --format: {})",
            Format::ALL.map(|f| f.name()).join(", ")
        ))
    })
}
