use std::io::{self, BufReader, Read};

use proptest::prelude::*;

use super::*;

/// The lines of `text`, worked out independently: the pieces between
/// newlines, every trailing `\r` stripped; a final newline ends the last
/// line, it does not start another.
fn reference(text: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = text
        .split(|b| *b == b'\n')
        .map(|l| {
            let end = l.iter().rposition(|b| *b != b'\r').map_or(0, |i| i + 1);
            l[..end].to_vec()
        })
        .collect();
    if text.last().is_none_or(|b| *b == b'\n') {
        out.pop();
    }
    out
}

/// Every line of `text` through a [`LineReader`] of blocks of `size`
/// bytes, reading through a buffer of `cap` bytes.
fn line_reader(text: &[u8], size: usize, cap: usize) -> Vec<Vec<u8>> {
    let mut lines = LineReader::new(BufReader::with_capacity(cap, text), size);
    let mut out = Vec::new();
    while let Some(l) = lines.next_line().expect("in memory") {
        out.push(l.to_vec());
    }
    assert_eq!(lines.line_no(), out.len() as u64);
    out
}

/// Every block of `text` cut into blocks of `size` bytes, read through a
/// buffer of `cap` bytes, reusing one block.
fn blocks(text: &[u8], size: usize, cap: usize) -> Vec<Vec<u8>> {
    let mut input = BufReader::with_capacity(cap, text);
    let mut reader = BlockReader::new(&mut input, size);
    let mut block = Block::default();
    let mut out = Vec::new();
    while reader.next_into(&mut block).expect("in memory") {
        out.push(block.as_bytes().to_vec());
    }
    out
}

/// The lines of every block of `text`, in order.
fn block_lines(text: &[u8], size: usize, cap: usize) -> Vec<Vec<u8>> {
    blocks(text, size, cap)
        .iter()
        .flat_map(|b| lines(b).map(<[u8]>::to_vec).collect::<Vec<_>>())
        .collect()
}

#[test]
fn lines_cross_block_boundaries_whole() {
    let text = b"first line\nsecond\nthird line here\nfourth\n";
    let got = blocks(text, 8, 3);
    assert!(got.len() > 2, "{got:?}");
    assert!(got.iter().all(|b| b.ends_with(b"\n")), "whole lines");
    assert_eq!(got.concat(), text);
    assert_eq!(block_lines(text, 8, 3), reference(text));
}

#[test]
fn a_last_line_without_newline_is_a_line() {
    let text = b"a\nbb\nlast";
    assert_eq!(block_lines(text, 3, 2), [&b"a"[..], b"bb", b"last"]);
    assert_eq!(blocks(text, 1 << 20, 8192), [text.to_vec()]);
}

#[test]
fn crlf_endings_are_stripped_and_empty_lines_kept() {
    let text = b"one\r\n\r\ntwo\r\n\nthree\r";
    assert_eq!(
        block_lines(text, 4, 5),
        [&b"one"[..], b"", b"two", b"", b"three"]
    );
}

#[test]
fn a_line_longer_than_the_block_grows_it() {
    let long = vec![b'x'; 10_000];
    let mut text = b"short\n".to_vec();
    text.extend_from_slice(&long);
    text.extend_from_slice(b"\nafter\n");
    let got = blocks(&text, 16, 7);
    assert!(got.iter().any(|b| b.len() > 10_000), "one grown block");
    assert_eq!(block_lines(&text, 16, 7), [&b"short"[..], &long, b"after"]);
}

#[test]
fn empty_input_has_no_block() {
    assert!(blocks(b"", 16, 4).is_empty());
    assert_eq!(block_lines(b"\n", 16, 4), [b""]);
}

/// Yields its text, then fails.
struct Failing<'a>(&'a [u8]);

impl Read for Failing<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.0.is_empty() {
            return Err(io::Error::other("broken"));
        }
        let n = self.0.len().min(out.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn a_read_error_comes_after_the_whole_lines_before_it() {
    let mut reader = BlockReader::new(BufReader::with_capacity(4, Failing(b"a\nb\ncut")), 1 << 20);
    let mut block = Block::default();
    assert!(reader.next_into(&mut block).expect("lines first"));
    assert_eq!(block.as_bytes(), b"a\nb\n", "the cut line is lost");
    let e = reader.next_into(&mut block).expect_err("then the error");
    assert_eq!(e.to_string(), "broken");
    assert!(!reader.next_into(&mut block).expect("then the end"));
}

proptest! {
    #[test]
    fn blocks_and_line_readers_hold_every_line(
        text in proptest::collection::vec(prop_oneof![
            Just(b'\n'), Just(b'\r'), Just(b'a'), Just(b'b')
        ], 0..300),
        size in 1usize..50,
        cap in 1usize..40,
    ) {
        let got = blocks(&text, size, cap);
        prop_assert_eq!(got.concat(), text.clone());
        // Every block but the last ends at a newline.
        for b in got.iter().rev().skip(1) {
            prop_assert!(b.ends_with(b"\n"));
        }
        prop_assert_eq!(block_lines(&text, size, cap), reference(&text));
        prop_assert_eq!(line_reader(&text, size, cap), reference(&text));
    }
}

#[test]
fn a_line_reader_gives_the_whole_lines_then_the_read_error_then_the_end() {
    let mut lines = LineReader::new(BufReader::with_capacity(4, Failing(b"a\r\nb\ncut")), 3);
    assert_eq!(lines.next_line().expect("a"), Some(&b"a"[..]));
    assert_eq!(lines.next_line().expect("b"), Some(&b"b"[..]));
    let e = lines.next_line().expect_err("then the error");
    assert_eq!(e.to_string(), "broken");
    assert_eq!(lines.line_no(), 2, "the cut line is lost");
    assert_eq!(lines.next_line().expect("then the end"), None);
}

/// `zeros` NUL bytes with no newline, then `tail`: a gzip bomb's line.
struct Zeros {
    left: u64,
    tail: &'static [u8],
}

impl Read for Zeros {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return self.tail.read(buf);
        }
        let n = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        buf[..n].fill(0);
        self.left -= n as u64;
        Ok(n)
    }
}

#[test]
fn a_line_over_the_limit_is_read_past_without_being_held() {
    let three_gb = 3 << 30;
    let input = Zeros {
        left: three_gb,
        tail: b"\nnext line\nlast",
    };
    let mut lines = LineReader::with_max_line(input, 1 << 20, 64 << 10);
    match lines.next_line_within().expect("reads") {
        Some(Err((start, e))) => {
            let want = LineError::TooLong {
                bytes: three_gb,
                limit: 64 << 10,
            };
            assert_eq!(e, want);
            assert_eq!(
                e.to_string(),
                "line of 3221225472 bytes is over the limit of 65536 bytes (--max-line-bytes)"
            );
            // Only its start is held.
            assert!(start.len() < 2 << 20, "{}", start.len());
        }
        other => panic!("{other:?}"),
    }
    // Memory stayed at about a block.
    assert!(lines.block.bytes.capacity() < 4 << 20);
    let mut rest = Vec::new();
    while let Some(line) = lines.next_line_within().expect("reads") {
        rest.push(line.expect("within the limit").to_vec());
    }
    assert_eq!(rest, [b"next line".to_vec(), b"last".to_vec()]);
    assert_eq!(lines.line_no(), 3);
}

#[test]
fn lines_over_the_limit_anywhere_in_a_block_are_each_one_error() {
    let long = "x".repeat(100);
    let text = format!("a\n{long}\nb\n{long}");
    let mut lines = LineReader::with_max_line(text.as_bytes(), 16, 10);
    let mut got = Vec::new();
    while let Some(line) = lines.next_line_within().expect("reads") {
        got.push(match line {
            Ok(l) => String::from_utf8_lossy(l).into_owned(),
            Err((_, e)) => e.to_string(),
        });
    }
    let too_long = "line of 100 bytes is over the limit of 10 bytes (--max-line-bytes)";
    assert_eq!(got, ["a", too_long, "b", too_long]);
    // Without a limit, lines are whole whatever their length.
    let mut lines = LineReader::new(text.as_bytes(), 16);
    lines.next_line().expect("reads");
    assert_eq!(lines.next_line().expect("reads"), Some(long.as_bytes()));
}

proptest! {
    /// With a limit, each line is the reference's line when it is within
    /// it, else the error with its length; the lines after are unchanged.
    #[test]
    fn lines_over_the_limit_are_errors_and_the_others_whole(
        text in proptest::collection::vec(prop_oneof![
            Just(b'\n'), Just(b'a'), Just(b'b')
        ], 0..300),
        size in 1usize..50,
        cap in 1usize..40,
        limit in 1usize..30,
    ) {
        let input = BufReader::with_capacity(cap, &text[..]);
        let mut lines = LineReader::with_max_line(input, size, limit);
        let mut got = Vec::new();
        while let Some(line) = lines.next_line_within().expect("in memory") {
            got.push(line.map(<[u8]>::to_vec).map_err(|(_, e)| e));
        }
        let want: Vec<_> = reference(&text)
            .into_iter()
            .map(|l| match l.len() {
                n if n > limit => Err(LineError::TooLong { bytes: n as u64, limit: limit as u64 }),
                _ => Ok(l),
            })
            .collect();
        prop_assert_eq!(got, want);
    }
}
