//! A log cut into blocks of whole lines, so that several threads can parse
//! it at once: each block ends at a newline (the start of a line cut by the
//! read is carried into the next block), a last line without a newline is
//! still a line, and a line longer than a block makes its block grow.
//! Blocks are filled straight from the reader and can be reused.

use std::io::{self, BufRead};

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

/// Every line of `text` without its ending, as
/// [`for_each_line`](routecast_accesslog::reader::for_each_line) splits them:
/// a final newline ends the last line, it does not start another.
pub fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (line, next) = match memchr::memchr(b'\n', rest) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        Some(without_cr(line))
    })
}

/// `line` without the `\r`s that end it (of a `\r\n` ending).
pub fn without_cr(line: &[u8]) -> &[u8] {
    let end = line.iter().rposition(|b| *b != b'\r').map_or(0, |i| i + 1);
    &line[..end]
}

/// Cuts a reader into [`Block`]s.
pub struct BlockReader<'a> {
    input: &'a mut dyn BufRead,
    size: usize,
    /// The start of a line the last block could not hold.
    carry: Vec<u8>,
    /// A read error, reported after the whole lines read before it.
    error: Option<io::Error>,
    done: bool,
}

impl<'a> BlockReader<'a> {
    /// Blocks of about `size` bytes (at least 1) of `input`.
    pub fn new(input: &'a mut dyn BufRead, size: usize) -> Self {
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

#[cfg(test)]
mod tests;
