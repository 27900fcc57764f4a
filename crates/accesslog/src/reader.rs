//! Opening logs: plain, gzip (multi-member, as nginx and logrotate write
//! them) or zstd, detected from the first bytes; `-` is standard input.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use flate2::read::MultiGzDecoder;

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
        Compression::Gzip => Box::new(BufReader::with_capacity(
            BUFFER,
            MultiGzDecoder::new(buffered),
        )),
        Compression::Zstd => Box::new(BufReader::with_capacity(
            BUFFER,
            zstd::Decoder::with_buffer(buffered)?,
        )),
    };
    Ok(LogInput {
        reader,
        compression,
        size,
        read,
    })
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
/// `\r\n`), in order. Lines are handed over in place in the reader's
/// buffer: one is copied only when it straddles two reads. A last line
/// without a newline is still a line. Stops at the first error.
pub fn for_each_line<E>(
    input: &mut dyn BufRead,
    mut f: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), LinesError<E>> {
    let mut line = |l: &[u8]| {
        let end = l.iter().rposition(|b| *b != b'\r').map_or(0, |i| i + 1);
        f(&l[..end]).map_err(LinesError::Stopped)
    };
    // The start of a line the last read ended inside.
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let chunk = match input.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(LinesError::Read(e)),
        };
        let read = chunk.len();
        if read == 0 {
            break;
        }
        let mut rest = chunk;
        if !carry.is_empty() {
            let Some(i) = memchr::memchr(b'\n', rest) else {
                carry.extend_from_slice(rest);
                input.consume(read);
                continue;
            };
            carry.extend_from_slice(&rest[..i]);
            rest = &rest[i + 1..];
            line(&carry)?;
            carry.clear();
        }
        while let Some(i) = memchr::memchr(b'\n', rest) {
            line(&rest[..i])?;
            rest = &rest[i + 1..];
        }
        carry.extend_from_slice(rest);
        input.consume(read);
    }
    if !carry.is_empty() {
        line(&carry)?;
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
