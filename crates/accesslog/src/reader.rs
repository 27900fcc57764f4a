//! Opening logs: plain, gzip (multi-member, as nginx and logrotate write
//! them) or zstd, detected from the first bytes; `-` is standard input.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

use flate2::read::MultiGzDecoder;

use crate::blocks::{LineReader, BLOCK};

/// How a log is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Not compressed.
    Plain,
    /// gzip (RFC 1952), any number of members.
    Gzip,
    /// Zstandard frames.
    Zstd,
}

impl Compression {
    /// Recognises the magic number at the start of a stream.
    pub fn detect(head: &[u8]) -> Compression {
        match head {
            [0x1f, 0x8b, ..] => Compression::Gzip,
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
            _ => Compression::Plain,
        }
    }
}

/// Size of the read buffers (large reads keep decompressors efficient).
const BUFFER: usize = 256 * 1024;

/// Counts the bytes read from the underlying (compressed) stream, for
/// progress reports: shareable with another thread.
#[derive(Debug, Clone, Default)]
pub struct ByteCounter(Arc<AtomicU64>);

impl ByteCounter {
    /// Bytes read so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

struct Counting<R> {
    inner: R,
    count: ByteCounter,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.0.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// An opened log: its lines, how it was compressed, and its size on disk.
pub struct LogInput {
    /// The decompressed bytes.
    pub reader: Box<dyn BufRead + Send>,
    /// Detected compression.
    pub compression: Compression,
    /// Bytes on disk, when known (for progress).
    pub size: Option<u64>,
    /// Bytes of the file (before decompression) read so far.
    pub read: ByteCounter,
}

impl std::fmt::Debug for LogInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogInput")
            .field("compression", &self.compression)
            .field("size", &self.size)
            .finish()
    }
}

/// Opens `path` (`-` for standard input) and detects its compression.
pub fn open(path: &Path) -> io::Result<LogInput> {
    if path == Path::new("-") {
        return wrap(Box::new(io::stdin()), None);
    }
    let file = File::open(path)?;
    let size = file.metadata().ok().map(|m| m.len());
    wrap(Box::new(file), size)
}

/// Detects the compression of `raw` and wraps it in a decoder.
pub fn wrap(raw: Box<dyn Read + Send>, size: Option<u64>) -> io::Result<LogInput> {
    let read = ByteCounter::default();
    let raw = Counting {
        inner: raw,
        count: read.clone(),
    };
    let mut buffered = BufReader::with_capacity(BUFFER, raw);
    let compression = Compression::detect(buffered.fill_buf()?);
    let reader: Box<dyn BufRead + Send> = match compression {
        Compression::Plain => Box::new(buffered),
        Compression::Gzip => ReadAhead::spawn(MultiGzDecoder::new(buffered))?,
        Compression::Zstd => ReadAhead::spawn(zstd::Decoder::with_buffer(buffered)?)?,
    };
    Ok(LogInput {
        reader,
        compression,
        size,
        read,
    })
}

/// Decompressed chunks a [`ReadAhead`] may hold before its reader takes them.
const AHEAD: usize = 4;

/// Decompresses on a thread of its own, a few chunks ahead of the reader:
/// on a machine with two cores, inflating then overlaps parsing instead of
/// adding to it. Errors arrive in order, after the data before them. The
/// thread stops at the end of the input or when the reader is dropped.
struct ReadAhead {
    chunks: Receiver<io::Result<Vec<u8>>>,
    /// Emptied chunks go back to the thread for reuse.
    spare: SyncSender<Vec<u8>>,
    chunk: Vec<u8>,
    pos: usize,
    done: bool,
}

impl ReadAhead {
    /// Reads `inner` on a new thread.
    fn spawn<R: Read + Send + 'static>(inner: R) -> io::Result<Box<dyn BufRead + Send>> {
        let (tx, chunks) = sync_channel(AHEAD);
        let (spare, spares) = sync_channel::<Vec<u8>>(AHEAD + 2);
        std::thread::Builder::new()
            .name("log-decompress".into())
            .spawn(move || fill_chunks(inner, &tx, &spares))?;
        Ok(Box::new(ReadAhead {
            chunks,
            spare,
            chunk: Vec::new(),
            pos: 0,
            done: false,
        }))
    }
}

/// The read-ahead thread: full chunks of `r` into `tx` until the end (an
/// empty chunk) or an error.
fn fill_chunks(mut r: impl Read, tx: &SyncSender<io::Result<Vec<u8>>>, spares: &Receiver<Vec<u8>>) {
    loop {
        let mut buf = spares.try_recv().unwrap_or_default();
        buf.resize(BUFFER, 0);
        let mut filled = 0;
        while filled < buf.len() {
            match r.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    buf.truncate(filled);
                    if filled > 0 && tx.send(Ok(buf)).is_err() {
                        return;
                    }
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
        buf.truncate(filled);
        // The reader hung up: nobody wants the rest.
        if tx.send(Ok(buf)).is_err() || filled == 0 {
            return;
        }
    }
}

impl Read for ReadAhead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = {
            let have = self.fill_buf()?;
            let n = have.len().min(out.len());
            out[..n].copy_from_slice(&have[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for ReadAhead {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos >= self.chunk.len() && !self.done {
            let next = match self.chunks.recv() {
                Ok(Ok(c)) => c,
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Err(io::Error::other("the decompression thread stopped"));
                }
            };
            self.done = next.is_empty();
            let old = std::mem::replace(&mut self.chunk, next);
            let _ = self.spare.try_send(old);
            self.pos = 0;
        }
        Ok(&self.chunk[self.pos.min(self.chunk.len())..])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.chunk.len());
    }
}

/// Why [`for_each_line`] stopped early.
#[derive(Debug)]
pub enum LinesError<E> {
    /// Reading (or decompressing) failed.
    Read(io::Error),
    /// The callback returned an error.
    Stopped(E),
}

/// Calls `f` with every line of `input`, without its line ending (`\n`,
/// `\r\n`), in order. Lines are read a block at a time
/// ([`LineReader`], as every log is) and handed
/// over in place in the block. A last line without a newline is still a
/// line. Stops at the first error; a read error comes after the whole
/// lines before it.
pub fn for_each_line<E>(
    input: &mut dyn BufRead,
    mut f: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), LinesError<E>> {
    let mut lines = LineReader::new(input, BLOCK);
    while let Some(line) = lines.next_line().map_err(LinesError::Read)? {
        f(line).map_err(LinesError::Stopped)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn lines(input: LogInput) -> Vec<String> {
        input
            .reader
            .lines()
            .collect::<io::Result<_>>()
            .expect("readable")
    }

    #[test]
    fn plain_gzip_multi_member_and_zstd_read_the_same_lines() {
        let text = b"line one\nline two\n";
        let plain = wrap(Box::new(&text[..]), None).expect("plain");
        assert_eq!(plain.compression, Compression::Plain);
        assert_eq!(lines(plain), ["line one", "line two"]);

        // Two gzip members back to back, as `cat a.gz b.gz` or nginx's gzip= buffer writes.
        let mut gz = Vec::new();
        for part in [&b"line one\n"[..], b"line two\n"] {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(part).expect("compress");
            gz.extend(e.finish().expect("finish"));
        }
        let input = wrap(Box::new(io::Cursor::new(gz)), None).expect("gzip");
        assert_eq!(input.compression, Compression::Gzip);
        assert_eq!(lines(input), ["line one", "line two"]);

        let zst = zstd::encode_all(&text[..], 3).expect("zstd");
        let input = wrap(Box::new(io::Cursor::new(zst)), None).expect("zstd");
        assert_eq!(input.compression, Compression::Zstd);
        assert_eq!(lines(input), ["line one", "line two"]);
    }

    #[test]
    fn corrupt_gzip_is_an_error_not_a_panic() {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&[b'x'; 10_000]).expect("compress");
        let mut gz = e.finish().expect("finish");
        let n = gz.len();
        gz[n / 2] ^= 0xff;
        gz.truncate(n - 4);
        let input = wrap(Box::new(io::Cursor::new(gz)), None).expect("header is fine");
        let mut out = Vec::new();
        let mut r = input.reader;
        assert!(r.read_to_end(&mut out).is_err());
    }

    /// Many chunks of pseudo-random text (incompressible enough to need
    /// several reads of the compressed stream too).
    fn big_text() -> Vec<u8> {
        let mut x = 0x1234_5678_9abc_def0u64;
        let mut text = Vec::new();
        while text.len() < (AHEAD + 3) * BUFFER + 12_345 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            text.extend_from_slice(format!("{x:x} {}\n", x % 997).as_bytes());
        }
        text
    }

    #[test]
    fn read_ahead_delivers_every_byte_in_order_across_many_chunks() {
        let text = big_text();
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&text).expect("compress");
        let gz = e.finish().expect("finish");
        let input = wrap(Box::new(io::Cursor::new(gz)), None).expect("gzip");
        let mut out = Vec::new();
        let mut r = input.reader;
        r.read_to_end(&mut out).expect("readable");
        assert!(out == text, "{} bytes out, {} in", out.len(), text.len());

        let zst = zstd::encode_all(&text[..], 1).expect("zstd");
        let mut r = wrap(Box::new(io::Cursor::new(zst)), None)
            .expect("zstd")
            .reader;
        let mut n = 0;
        for_each_line(&mut *r, |_| {
            n += 1;
            Ok::<(), ()>(())
        })
        .expect("readable");
        assert_eq!(n, text.iter().filter(|b| **b == b'\n').count());
    }

    #[test]
    fn read_ahead_hands_over_the_data_before_a_corruption_then_the_error() {
        let text = big_text();
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&text).expect("compress");
        let mut gz = e.finish().expect("finish");
        let n = gz.len();
        gz[n * 3 / 4] ^= 0xff;
        // What the decoder yields before it notices, read on this thread.
        let mut want = Vec::new();
        let mut direct = MultiGzDecoder::new(&gz[..]);
        let mut buf = [0u8; 4096];
        let want_err = loop {
            match direct.read(&mut buf) {
                Ok(0) => panic!("a corrupt stream read to its end"),
                Ok(k) => want.extend_from_slice(&buf[..k]),
                Err(e) => break e,
            }
        };
        let mut r = wrap(Box::new(io::Cursor::new(gz)), None)
            .expect("header is fine")
            .reader;
        let mut good = 0usize;
        let err = loop {
            match r.fill_buf() {
                Ok([]) => panic!("a corrupt stream read to its end"),
                Ok(b) => {
                    let k = b.len();
                    assert!(want[good..].starts_with(b), "bytes out of order at {good}");
                    good += k;
                    r.consume(k);
                }
                Err(e) => break e,
            }
        };
        assert!(good > 0, "nothing before the error");
        assert_eq!(good, want.len());
        assert_eq!(err.kind(), want_err.kind(), "{err}");
        // Dropping the reader mid-stream stops the thread (no hang).
        drop(r);
    }

    /// Every line, split by `for_each_line` reading through a buffer of
    /// `cap` bytes (so lines straddle reads).
    fn split(text: &[u8], cap: usize) -> Vec<Vec<u8>> {
        let mut r = BufReader::with_capacity(cap, text);
        let mut out = Vec::new();
        for_each_line(&mut r, |l| {
            out.push(l.to_vec());
            Ok::<(), ()>(())
        })
        .expect("in memory");
        out
    }

    proptest::proptest! {
        #[test]
        fn for_each_line_equals_lines_whatever_the_buffer(
            text in proptest::collection::vec(proptest::prop_oneof![
                proptest::prelude::Just(b'\n'), proptest::prelude::Just(b'\r'),
                proptest::prelude::Just(b'a'), proptest::prelude::Just(b'b')
            ], 0..200),
            cap in 1usize..40,
        ) {
            // The lines between newlines, every trailing '\r' stripped.
            let want: Vec<Vec<u8>> = text
                .split(|b| *b == b'\n')
                .map(|l| {
                    let end = l.iter().rposition(|b| *b != b'\r').map_or(0, |i| i + 1);
                    l[..end].to_vec()
                })
                .collect();
            let mut want = want;
            // A final newline ends the last line; it does not start another.
            if text.last().is_none_or(|b| *b == b'\n') {
                want.pop();
            }
            proptest::prop_assert_eq!(split(&text, cap), want);
        }
    }

    #[test]
    fn for_each_line_stops_at_the_first_error() {
        let mut r = BufReader::new(&b"a\nb\nc\n"[..]);
        let mut seen = 0;
        let e = for_each_line(&mut r, |l| {
            seen += 1;
            if l == b"b" {
                Err("stop")
            } else {
                Ok(())
            }
        });
        assert!(matches!(e, Err(LinesError::Stopped("stop"))));
        assert_eq!(seen, 2);
    }
}
