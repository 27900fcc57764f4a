use std::io::{self, BufReader, Read};

use super::*;
use crate::reader::{ByteCounter, Compression, LogInput};
use crate::source::Layout;
use crate::{Client, Format, LineError};

fn line(ip: &str, second: u32, path: &str) -> String {
    format!("{ip} - - [24/Nov/2026:10:00:{second:02} +0000] \"GET {path} HTTP/1.1\" 200 5 \"-\" \"ua\" 0.001\n")
}

fn log(name: &str, text: impl Read + Send + 'static) -> Log {
    let input = LogInput {
        reader: Box::new(BufReader::with_capacity(7, text)),
        compression: Compression::Plain,
        size: None,
        read: ByteCounter::default(),
    };
    Log::from_input(name, input, Layout::Format(Format::Nginx)).expect("a named format")
}

/// 2026-11-24T10:00:00Z, ms (`date -u -d 2026-11-24T10:00:00Z +%s`).
const TEN_O_CLOCK_MS: i64 = 1_795_514_400_000;

/// What a merge gives, as text: `log path` per request, the line's place
/// per malformed one; then the lines read. Each request is checked against
/// the line [`line`] wrote: log `i`'s client is `192.0.2.(i + 1)`, and the
/// digits after a path's letter are its second.
fn merged(logs: &mut [Log]) -> (Vec<String>, u64) {
    let mut m = Merge::new(logs);
    let mut out = Vec::new();
    while let Some(next) = m.next_line().expect("in memory") {
        out.push(match next {
            MergedLine::Request { log, request } => {
                let path = String::from_utf8_lossy(request.path).into_owned();
                let second: i64 = path[2..].parse().expect("a second");
                let expected = Request {
                    client: Client::Ip(format!("192.0.2.{}", log + 1).parse().expect("an address")),
                    logged_ms: TEN_O_CLOCK_MS + second * 1000,
                    time_is: TimeIs::End,
                    duration_ms: Some(1),
                    // Not kept: no replay reads them.
                    method: "",
                    path: request.path,
                    status: 200,
                    bytes: 5,
                    user_agent: None,
                };
                assert_eq!(request, expected);
                format!("{log} {path}")
            }
            MergedLine::Malformed(e) => format!("{}:{} {:?}", e.file, e.line, e.error),
        });
    }
    (out, m.lines_read())
}

#[test]
fn requests_come_in_logged_time_order_the_first_log_first_on_a_tie() {
    let a = [
        line("192.0.2.1", 1, "/a1"),
        line("192.0.2.1", 3, "/a3"),
        line("192.0.2.1", 5, "/a5"),
    ];
    let b = [
        line("192.0.2.2", 2, "/b2"),
        line("192.0.2.2", 3, "/b3"),
        line("192.0.2.2", 9, "/b9"),
    ];
    let mut logs = [
        log("a", io::Cursor::new(a.concat())),
        log("b", io::Cursor::new(b.concat())),
    ];
    let (got, lines) = merged(&mut logs);
    assert_eq!(got, ["0 /a1", "1 /b2", "0 /a3", "1 /b3", "0 /a5", "1 /b9"]);
    assert_eq!(lines, 6);
}

#[test]
fn malformed_lines_come_as_they_are_read_and_empty_lines_are_counted() {
    let a = format!("garbage\n\n{}", line("192.0.2.1", 4, "/a4"));
    let b = format!(
        "{}\r\nbad\r\n{}",
        line("192.0.2.2", 1, "/b1").trim_end(),
        line("192.0.2.2", 6, "/b6")
    );
    let mut logs = [log("a", io::Cursor::new(a)), log("b", io::Cursor::new(b))];
    let (got, lines) = merged(&mut logs);
    assert_eq!(
        got,
        [
            // Each log's first request is looked for, in order, first.
            "a:1 Client",
            "1 /b1",
            "b:2 Client",
            "0 /a4",
            "1 /b6",
        ]
    );
    assert_eq!(lines, 6);
    let _ = LineError::Client;
}

/// Yields its text, then fails.
struct Failing(io::Cursor<Vec<u8>>);

impl Read for Failing {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match self.0.read(out)? {
            0 => Err(io::Error::other("broken")),
            n => Ok(n),
        }
    }
}

#[test]
fn a_read_error_names_the_log_and_the_line_it_could_not_read() {
    let text = format!(
        "{}{}",
        line("192.0.2.1", 1, "/a1"),
        &line("192.0.2.1", 2, "/cut")[..20]
    );
    let mut logs = [log("a.log.gz", Failing(io::Cursor::new(text.into_bytes())))];
    let mut m = Merge::new(&mut logs);
    assert!(matches!(
        m.next_line(),
        Ok(Some(MergedLine::Request { log: 0, .. }))
    ));
    let e = m.next_line().expect_err("the cut line");
    assert_eq!(e.to_string(), "a.log.gz:2: read error: broken");
}

#[test]
fn no_logs_or_empty_ones_give_nothing() {
    assert_eq!(merged(&mut []), (vec![], 0));
    let mut logs = [
        log("a", io::Cursor::new(String::new())),
        log("b", io::Cursor::new("\n".to_string())),
    ];
    assert_eq!(merged(&mut logs), (vec![], 1));
}
