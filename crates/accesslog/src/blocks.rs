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

/// Bytes of a block, unless a line is longer (1 MiB: a few thousand lines).
pub const BLOCK: usize = 1 << 20;

/// Whole lines of a log, with their line endings.
#[derive(Debug, Default)]
pub struct Block {
    /// Always initialised up to its length; the lines are `bytes[..len]`.
    bytes: Vec<u8>,
    len: usize,
}

impl Block {
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
        }
    }

    /// Fills `block` with the next whole lines; false at the end of the
    /// input. A read error comes after the whole lines before it (the line
    /// it cut is lost); then the input counts as ended.
    pub fn next_into(&mut self, block: &mut Block) -> io::Result<bool> {
        block.len = 0;
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
        if self.pos == self.block.len {
            self.pos = 0;
            if !self.blocks.next_into(&mut self.block)? {
                return Ok(None);
            }
        }
        let (line, rest) = split_line(&self.block.as_bytes()[self.pos..]);
        self.pos = self.block.len - rest.len();
        self.line_no += 1;
        Ok(Some(line))
    }

    /// Lines handed over so far (the number of the last one, from 1).
    pub fn line_no(&self) -> u64 {
        self.line_no
    }
}

#[cfg(test)]
mod tests;
