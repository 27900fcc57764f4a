//! A log cut into blocks of whole lines: the one way logs are read.
//!
//! Each block ends at a newline (the start of a line cut by the read is
//! carried into the next block), a last line without a newline is still a
//! line, and a line longer than a block makes its block grow. Blocks are
//! filled straight from the reader and can be reused, so that several
//! threads can parse a log a block each ([`BlockReader`]), or one thread
//! can take it line by line ([`LineReader`], which
//! [`for_each_line`](crate::reader::for_each_line) and the merge of
//! several logs use).

use std::io::{self, Read};

use crate::LineError;

/// Bytes of a block, unless a line is longer (1 MiB: a few thousand lines).
pub const BLOCK: usize = 1 << 20;

/// The longest line a log's lines may have by default (64 KiB: a request
/// line with a long query and User-Agent is a few KiB); a longer line is
/// one malformed line ([`LineError::TooLong`]).
pub const MAX_LINE: usize = 64 << 10;

/// Whole lines of a log, with their line endings.
#[derive(Debug)]
pub struct Block {
    /// Always initialised up to its length; the lines are `bytes[..len]`.
    bytes: Vec<u8>,
    len: usize,
    /// The longest line the reader lets through ([`BlockReader::with_max_line`]).
    max_line: usize,
    /// The length of the block's first line when it was over `max_line`
    /// and only its first `max_line + 1` bytes were kept.
    cut_line: Option<u64>,
}

impl Default for Block {
    fn default() -> Self {
        Self {
            bytes: Vec::new(),
            len: 0,
            max_line: usize::MAX,
            cut_line: None,
        }
    }
}

impl Block {
    /// Why `line` (one of this block's lines) is not read: it is longer
    /// than the reader's limit. One comparison for a line within it.
    #[inline]
    pub fn over_limit(&self, line: &[u8]) -> Option<LineError> {
        if line.len() <= self.max_line {
            return None;
        }
        let first = std::ptr::eq(line.as_ptr(), self.bytes.as_ptr());
        let bytes = self.cut_line.filter(|_| first);
        Some(LineError::TooLong {
            bytes: bytes.unwrap_or(line.len() as u64),
            limit: self.max_line as u64,
        })
    }

    /// The lines' bytes, endings included.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Every line without its ending (`\n`, `\r\n`), in order.
    pub fn lines(&self) -> impl Iterator<Item = &[u8]> {
        lines(self.as_bytes())
    }
}

/// Every line of `text` without its ending: a final newline ends the last
/// line, it does not start another.
pub fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (line, next) = split_line(rest);
        rest = next;
        Some(line)
    })
}

/// The first line of non-empty `text` without its ending, and the rest.
fn split_line(text: &[u8]) -> (&[u8], &[u8]) {
    let (line, rest) = match memchr::memchr(b'\n', text) {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (text, &text[text.len()..]),
    };
    (without_cr(line), rest)
}

/// `line` without the `\r`s that end it (of a `\r\n` ending).
pub fn without_cr(line: &[u8]) -> &[u8] {
    let end = line.iter().rposition(|b| *b != b'\r').map_or(0, |i| i + 1);
    &line[..end]
}

/// Cuts a reader into [`Block`]s.
#[derive(Debug)]
pub struct BlockReader<R> {
    input: R,
    size: usize,
    /// The start of a line the last block could not hold.
    carry: Vec<u8>,
    /// A read error, reported after the whole lines read before it.
    error: Option<io::Error>,
    done: bool,
    /// The longest line kept whole (see [`BlockReader::with_max_line`]).
    max_line: usize,
}

impl<R: Read> BlockReader<R> {
    /// Blocks of about `size` bytes (at least 1) of `input`.
    pub fn new(input: R, size: usize) -> Self {
        Self {
            input,
            size: size.max(1),
            carry: Vec::new(),
            error: None,
            done: false,
            max_line: usize::MAX,
        }
    }

    /// Lines longer than `max_line` bytes are not held: only their first
    /// `max_line + 1` bytes are kept (memory stays bounded whatever the
    /// line, even gigabytes without a newline), the rest is read and
    /// dropped up to its newline, and [`Block::over_limit`] tells the
    /// line's length. Without it, a block grows to hold any line.
    pub fn with_max_line(mut self, max_line: usize) -> Self {
        self.max_line = max_line;
        self
    }

    /// Fills `block` with the next whole lines; false at the end of the
    /// input. A read error comes after the whole lines before it (the line
    /// it cut is lost); then the input counts as ended.
    pub fn next_into(&mut self, block: &mut Block) -> io::Result<bool> {
        block.len = 0;
        block.max_line = self.max_line;
        block.cut_line = None;
        if let Some(e) = self.error.take() {
            self.done = true;
            return Err(e);
        }
        if self.done {
            return Ok(false);
        }
        let want = self.size.max(2 * self.carry.len());
        if block.bytes.len() < want {
            block.bytes.resize(want, 0);
        }
        block.bytes[..self.carry.len()].copy_from_slice(&self.carry);
        block.len = self.carry.len();
        self.carry.clear();
        self.fill(block)
    }

    /// Reads until `block` is full and holds a newline, or the input ends.
    fn fill(&mut self, block: &mut Block) -> io::Result<bool> {
        // Bytes at the start of the block known to hold no newline.
        let mut searched = 0;
        loop {
            if block.len == block.bytes.len() {
                if let Some(i) = memchr::memrchr(b'\n', &block.bytes[searched..block.len]) {
                    let end = searched + i + 1;
                    self.carry.extend_from_slice(&block.bytes[end..block.len]);
                    block.len = end;
                    return Ok(true);
                }
                // No newline in the whole block: it is one line's start.
                if block.len > self.max_line {
                    return self.cut_long_line(block);
                }
                // A line longer than the block: make room for more of it.
                searched = block.len;
                block.bytes.resize(2 * block.len, 0);
            }
            match self.input.read(&mut block.bytes[block.len..]) {
                Ok(0) => {
                    self.done = true;
                    return Ok(block.len > 0);
                }
                Ok(n) => block.len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.failed(block, e),
            }
        }
    }

    /// Keeps the first `max_line + 1` bytes of the line that fills `block`
    /// and drops the rest of it up to its newline, using the block's room
    /// past them to read into; then fills the block on from the next line.
    fn cut_long_line(&mut self, block: &mut Block) -> io::Result<bool> {
        let kept = self.max_line.saturating_add(1).min(block.len);
        // Read room: at least 64 KiB past the kept bytes.
        let room = block.bytes.len().max(kept + (64 << 10));
        block.bytes.resize(room, 0);
        // The kept bytes stay over the limit as lines are read (without `\r`).
        block.bytes[kept - 1] = 0;
        let mut length = block.len as u64;
        block.len = kept;
        loop {
            match self.input.read(&mut block.bytes[kept..]) {
                Ok(0) => {
                    self.done = true;
                    break;
                }
                Ok(n) => match memchr::memchr(b'\n', &block.bytes[kept..kept + n]) {
                    Some(i) => {
                        length += i as u64;
                        // The newline and what follows it stay in place.
                        block.len = kept + n;
                        block.cut_line = Some(length);
                        return self.fill(block);
                    }
                    None => length += n as u64,
                },
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.error = Some(e);
                    break;
                }
            }
        }
        block.cut_line = Some(length);
        Ok(true)
    }

    /// Keeps the whole lines of `block` and `e` for the next call.
    fn failed(&mut self, block: &mut Block, e: io::Error) -> io::Result<bool> {
        block.len = memchr::memrchr(b'\n', block.as_bytes()).map_or(0, |i| i + 1);
        if block.len == 0 {
            self.done = true;
            return Err(e);
        }
        self.error = Some(e);
        Ok(true)
    }
}

/// A log line by line, read a block at a time: lines are handed over in
/// place in the block, never copied one by one.
#[derive(Debug)]
pub struct LineReader<R> {
    blocks: BlockReader<R>,
    block: Block,
    /// Where the next line starts in `block`.
    pos: usize,
    /// Lines handed over so far.
    line_no: u64,
}

impl<R: Read> LineReader<R> {
    /// Lines of `input`, read in blocks of about `block_size` bytes.
    pub fn new(input: R, block_size: usize) -> Self {
        Self {
            blocks: BlockReader::new(input, block_size),
            block: Block::default(),
            pos: 0,
            line_no: 0,
        }
    }

    /// The next line without its ending; `None` at the end of the input.
    /// A read error comes after the whole lines before it.
    pub fn next_line(&mut self) -> io::Result<Option<&[u8]>> {
        Ok(self.next_line_within()?.map(|line| match line {
            Ok(line) | Err((line, _)) => line,
        }))
    }

    /// [`LineReader::next_line`], a line over the limit
    /// ([`BlockReader::with_max_line`]) with the error saying so (and
    /// only the start of it).
    #[allow(clippy::type_complexity)]
    pub fn next_line_within(&mut self) -> io::Result<Option<Result<&[u8], (&[u8], LineError)>>> {
        if self.pos == self.block.len {
            self.pos = 0;
            if !self.blocks.next_into(&mut self.block)? {
                return Ok(None);
            }
        }
        let (line, rest) = split_line(&self.block.as_bytes()[self.pos..]);
        self.pos = self.block.len - rest.len();
        self.line_no += 1;
        Ok(Some(match self.block.over_limit(line) {
            Some(e) => Err((line, e)),
            None => Ok(line),
        }))
    }

    /// Lines of `input` as [`LineReader::new`], no line longer than
    /// `max_line` kept (see [`BlockReader::with_max_line`]).
    pub fn with_max_line(input: R, block_size: usize, max_line: usize) -> Self {
        let mut lines = Self::new(input, block_size);
        lines.blocks.max_line = max_line;
        lines
    }

    /// Lines handed over so far (the number of the last one, from 1).
    pub fn line_no(&self) -> u64 {
        self.line_no
    }
}

#[cfg(test)]
mod tests;
