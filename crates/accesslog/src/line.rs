//! The line parser for the combined-log family (nginx and Apache).
//!
//! `client ident user [time] "request" status bytes ["referer" "agent"] [duration]`
//!
//! Parsers take `&[u8]` and return a typed [`Request`] borrowing from the
//! line, or a [`LineError`] saying which field is wrong. They never panic.

use memchr::memchr;

use crate::time::{iso8601, TimestampParser};

mod client;
mod host;

use client::client_field;
#[cfg(test)]
use client::{ipv4_in_16, ipv4_prefix_bytewise, parse_ip, parse_ipv4, parse_ipv6};
pub(crate) use host::parse_client;
pub use host::{Client, HostName};

/// One request as logged.
#[derive(Debug, Clone, PartialEq)]
pub struct Request<'a> {
    /// The client: its address, or the host name logged instead.
    pub client: Client<'a>,
    /// The logged time, ms since the Unix epoch (see `time_is`).
    pub logged_ms: i64,
    /// Whether `logged_ms` is the start or the end of the request.
    pub time_is: TimeIs,
    /// How long it took, when the log says.
    pub duration_ms: Option<u64>,
    /// HTTP method.
    pub method: &'a str,
    /// Request target (path and query), as logged: not checked for UTF-8.
    /// nginx and Apache write other bytes escaped (`\xHH`), and what reads
    /// the target (content prefixes, hashes) compares bytes.
    pub path: &'a [u8],
    /// HTTP status.
    pub status: u16,
    /// Response body bytes sent.
    pub bytes: u64,
    /// The User-Agent, when logged, as logged: not checked for UTF-8, as
    /// nothing downstream reads it as text (and a request with an odd
    /// User-Agent still delivered its bytes).
    pub user_agent: Option<&'a [u8]>,
}

impl Request<'_> {
    /// Start and end in ms, with `duration_ms` (or `model_ms` when the log
    /// has no duration) placed before or after the logged time.
    pub fn interval(&self, model_ms: u64) -> (i64, i64) {
        let d = self.duration_ms.unwrap_or(model_ms) as i64;
        match self.time_is {
            TimeIs::Start => (self.logged_ms, self.logged_ms + d),
            TimeIs::End => (self.logged_ms - d, self.logged_ms),
        }
    }
}

/// Why a line was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LineError {
    /// The first field is neither an IP address nor a host name.
    #[error("client is neither an IP address nor a host name")]
    Client,
    /// No `[time]`, or a time that is not `dd/Mon/yyyy:HH:MM:SS ±hhmm`.
    #[error("timestamp missing or not dd/Mon/yyyy:HH:MM:SS +zone")]
    Time,
    /// No quoted request, or one that is not `METHOD target PROTOCOL`.
    #[error("request line missing or not \"METHOD /path PROTOCOL\"")]
    Request,
    /// Status is not a 3-digit number.
    #[error("status is not a 3-digit number")]
    Status,
    /// Bytes is not a number (or `-`).
    #[error("byte count is not a number")]
    Bytes,
    /// The referer or User-Agent quotes are not closed.
    #[error("referer/user-agent quotes not closed")]
    Quotes,
    /// The duration field is not a number.
    #[error("request duration is not a number")]
    Duration,
    /// The line is not UTF-8 where text is expected.
    #[error("not UTF-8 text")]
    Utf8,
    /// Text after the last field that the format does not have.
    #[error("unexpected text after the last field")]
    Trailing,
    /// A well-formed time outside the range a replay takes as plausible
    /// (times in ms since the Unix epoch; the range is `[from_ms, to_ms)`).
    #[error(
        "time {} is outside the plausible range {}..{} (--time-range)",
        iso8601(.ms.div_euclid(1000)),
        iso8601(.from_ms.div_euclid(1000)),
        iso8601(.to_ms.div_euclid(1000))
    )]
    TimeOutOfRange {
        /// The line's time.
        ms: i64,
        /// The first plausible time.
        from_ms: i64,
        /// The first time after the plausible range.
        to_ms: i64,
    },
    /// A duration longer than a replay takes as plausible.
    #[error(
        "request duration {} s is beyond the plausible maximum of {} s (--max-duration)",
        *.ms as f64 / 1000.0,
        *.max_ms as f64 / 1000.0
    )]
    DurationTooLong {
        /// The line's duration, ms.
        ms: u64,
        /// The longest plausible duration, ms.
        max_ms: u64,
    },
    /// A byte count larger than a replay takes as plausible for one request.
    #[error(
        "byte count {bytes} is beyond the plausible maximum of {max} per request (--max-request-bytes)"
    )]
    TooManyBytes {
        /// The line's byte count.
        bytes: u64,
        /// The largest plausible byte count.
        max: u64,
    },
    /// The line is longer than the reader's limit
    /// ([`BlockReader::with_max_line`](crate::blocks::BlockReader::with_max_line)):
    /// it was not read, only skipped to its newline.
    #[error("line of {bytes} bytes is over the limit of {limit} bytes (--max-line-bytes)")]
    TooLong {
        /// The line's length, without its newline.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
}

/// How the trailing duration field of a combined line is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duration {
    /// No duration field.
    None,
    /// nginx `$request_time`: seconds with millisecond resolution (`0.532`).
    Seconds,
    /// Apache `%D`: whole microseconds.
    Micros,
    /// Apache `%T`: whole seconds.
    WholeSeconds,
}

/// Whether the logged time is when the request started or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeIs {
    /// Apache `%t`: the time the request was received.
    Start,
    /// nginx `$time_local`: the time the log line was written, at the end.
    End,
}

/// A parser for one combined-family layout; keeps a date cache between lines.
#[derive(Debug, Clone)]
pub struct CombinedParser {
    /// Whether referer and agent follow the byte count (combined) or not (common).
    pub combined: bool,
    /// The trailing duration field.
    pub duration: Duration,
    /// What the logged time means.
    pub time_is: TimeIs,
    clock: TimestampParser,
}

impl CombinedParser {
    /// A parser for the given layout.
    pub fn new(combined: bool, duration: Duration, time_is: TimeIs) -> Self {
        Self {
            combined,
            duration,
            time_is,
            clock: TimestampParser::default(),
        }
    }

    /// Parses one line (without its newline).
    pub fn parse<'a>(&mut self, line: &'a [u8]) -> Result<Request<'a>, LineError> {
        let (client, sp) = client_field(line).ok_or(LineError::Client)?;
        // Ident and user are nearly always `-`.
        let open = match line.get(sp..sp + 6) {
            Some(b" - - [") => sp + 5,
            _ => find(b'[', &line[sp..]).ok_or(LineError::Time)? + sp,
        };
        // `dd/Mon/yyyy:HH:MM:SS +zone` is 26 bytes: look there first.
        let close = match line.get(open + 27) {
            Some(b']') => open + 27,
            _ => find(b']', &line[open..]).ok_or(LineError::Time)? + open,
        };
        let logged_ms = self
            .clock
            .parse(&line[open + 1..close])
            .ok_or(LineError::Time)?;
        let rest = line.get(close + 1..).ok_or(LineError::Request)?;
        let rest = rest.strip_prefix(b" \"").ok_or(LineError::Request)?;
        let (request, rest) = quoted(rest).ok_or(LineError::Request)?;
        let (method, path) = request_line(request).ok_or(LineError::Request)?;
        let (status, rest) = match status_field(rest) {
            Some(found) => found,
            None => {
                let (status, rest) = field(rest).ok_or(LineError::Status)?;
                (parse_status(status).ok_or(LineError::Status)?, rest)
            }
        };
        let (bytes, mut rest) = match count_field(rest) {
            Some(found) => found,
            None => {
                let (bytes, rest) = field(rest).ok_or(LineError::Bytes)?;
                let bytes = if bytes == b"-" {
                    0
                } else {
                    parse_u64(bytes).ok_or(LineError::Bytes)?
                };
                (bytes, rest)
            }
        };
        let mut user_agent = None;
        if self.combined {
            let r = rest.strip_prefix(b"\"").ok_or(LineError::Quotes)?;
            let (_referer, r) = quoted(r).ok_or(LineError::Quotes)?;
            let r = r.strip_prefix(b" \"").ok_or(LineError::Quotes)?;
            let (agent, r) = quoted(r).ok_or(LineError::Quotes)?;
            user_agent = Some(agent);
            rest = r.strip_prefix(b" ").unwrap_or(r);
        }
        let duration_ms = self.duration_ms(&mut rest)?;
        if !rest.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(LineError::Trailing);
        }
        Ok(Request {
            client,
            logged_ms,
            time_is: self.time_is,
            duration_ms,
            method,
            path,
            status,
            bytes,
            user_agent,
        })
    }

    fn duration_ms(&self, rest: &mut &[u8]) -> Result<Option<u64>, LineError> {
        if self.duration == Duration::None {
            return Ok(None);
        }
        if self.duration == Duration::Seconds {
            // nginx's `s.mmm` as the whole rest of the line.
            if let Some(ms) = seconds_ms_nginx(rest) {
                *rest = &[];
                return Ok(Some(ms));
            }
        }
        let (f, r) = field(rest).ok_or(LineError::Duration)?;
        *rest = r;
        if f == b"-" {
            return Ok(None);
        }
        let ms = match self.duration {
            Duration::Seconds => parse_seconds_ms(f),
            Duration::Micros => parse_u64(f).map(|us| us / 1000),
            Duration::WholeSeconds => parse_u64(f).and_then(|s| s.checked_mul(1000)),
            Duration::None => None,
        };
        ms.map(Some).ok_or(LineError::Duration)
    }
}

/// The first `b` in `s`, by a plain loop: the fields it looks through are a
/// few bytes long, where `memchr`'s vector set-up costs more than it saves.
#[inline]
fn find(b: u8, s: &[u8]) -> Option<usize> {
    s.iter().position(|c| *c == b)
}

/// The next space-separated field, and what follows its space.
fn field(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let s = s.strip_prefix(b" ").unwrap_or(s);
    match find(b' ', s) {
        Some(i) => Some((&s[..i], &s[i + 1..])),
        None if !s.is_empty() => Some((s, &[])),
        None => None,
    }
}

/// ` ddd ` (what nearly every status field is): the status and what
/// follows its space, read at fixed places; `None` for anything else, which
/// [`field`] and [`parse_status`] then read (property-tested to agree).
#[inline]
fn status_field(s: &[u8]) -> Option<(u16, &[u8])> {
    match s {
        [b' ', a, b, c, b' ', rest @ ..] => Some((parse_status(&[*a, *b, *c])?, rest)),
        _ => None,
    }
}

/// `digits ` (a byte count): its value and what follows its space, in one
/// pass; `None` for anything else (`-`, the last field of a line, junk),
/// which [`field`] and [`parse_u64`] then read (property-tested to agree).
#[inline]
fn count_field(s: &[u8]) -> Option<(u64, &[u8])> {
    // As in `field`, one space before the field is optional.
    let s = s.strip_prefix(b" ").unwrap_or(s);
    let mut value = 0u64;
    for (i, &c) in s.iter().enumerate().take(20) {
        match c {
            // Nineteen digits fit; a twentieth goes the long way (and fails).
            b'0'..=b'9' if i < 19 => value = value * 10 + u64::from(c - b'0'),
            b' ' if i > 0 => return Some((value, &s[i + 1..])),
            _ => return None,
        }
    }
    None
}

/// The text up to the closing quote (skipping `\"`), and what follows it.
/// An empty referer, `-"`, is answered at once; anything else (requests and
/// User-Agents are long) is searched with `memchr`.
fn quoted(s: &[u8]) -> Option<(&[u8], &[u8])> {
    if let [b'-', b'"', rest @ ..] = s {
        return Some((&s[..1], rest));
    }
    let mut from = 0;
    loop {
        let q = memchr(b'"', &s[from..])? + from;
        let escaped = q > 0
            && s[q - 1] == b'\\'
            && s[..q].iter().rev().take_while(|b| **b == b'\\').count() % 2 == 1;
        if !escaped {
            return Some((&s[..q], &s[q + 1..]));
        }
        from = q + 1;
    }
}

/// `METHOD target [PROTOCOL]`: the method (uppercase ASCII) and the target
/// (bytes, see [`Request::path`]).
fn request_line(r: &[u8]) -> Option<(&str, &[u8])> {
    let sp = find(b' ', r)?;
    let end = match protocol_at(r) {
        // The protocol's space is the last one: no need to look for it.
        Some(p) if p > sp => p,
        _ => match r[sp + 1..].iter().rposition(|c| *c == b' ') {
            Some(i) => sp + 1 + i,
            None => r.len(), // HTTP/0.9: no protocol
        },
    };
    let (method, target) = (&r[..sp], &r[sp + 1..end]);
    if method.is_empty() || !method.iter().all(u8::is_ascii_uppercase) || target.is_empty() {
        return None;
    }
    // Uppercase ASCII is UTF-8; the usual methods need no check at all.
    let method = match method {
        b"GET" => "GET",
        b"HEAD" => "HEAD",
        _ => std::str::from_utf8(method).ok()?,
    };
    Some((method, target))
}

/// Where ` HTTP/x.y` (nine bytes, no space after its first) ends the
/// request line, which is how nearly every request line ends.
#[inline]
fn protocol_at(r: &[u8]) -> Option<usize> {
    let p = r.len().checked_sub(9)?;
    let (head, version) = r[p..].split_at(6);
    (head == b" HTTP/" && !version.contains(&b' ')).then_some(p)
}

fn parse_status(b: &[u8]) -> Option<u16> {
    match b {
        [a, b, c] if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
            Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => None,
    }
}

fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 19 {
        return None;
    }
    b.iter().try_fold(0u64, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + u64::from(c - b'0'))
    })
}

/// `12.345` seconds → 12345 ms (digits past milliseconds are truncated).
fn parse_seconds_ms(b: &[u8]) -> Option<u64> {
    seconds_ms_nginx(b).or_else(|| seconds_ms_any(b))
}

/// The way nginx writes `$request_time`, one to six digits of seconds and
/// exactly three decimals, read at fixed places (property-tested to agree
/// with [`seconds_ms_any`], which reads anything else).
#[inline]
fn seconds_ms_nginx(b: &[u8]) -> Option<u64> {
    let [whole @ .., b'.', a, b, c] = b else {
        return None;
    };
    if whole.is_empty() || whole.len() > 6 {
        return None;
    }
    let digit = |c: u8| c.is_ascii_digit().then(|| u64::from(c - b'0'));
    let ms = digit(*a)? * 100 + digit(*b)? * 10 + digit(*c)?;
    let secs = whole
        .iter()
        .try_fold(0u64, |acc, c| Some(acc * 10 + digit(*c)?))?;
    Some(secs * 1000 + ms)
}

/// Seconds with any number of decimals, in one pass.
fn seconds_ms_any(b: &[u8]) -> Option<u64> {
    let (mut secs, mut ms) = (0u64, 0u64);
    // Digits seen before the point; after it (None: no point yet).
    let (mut int_digits, mut frac_digits) = (0usize, None::<usize>);
    for &c in b {
        match (c, frac_digits) {
            (b'0'..=b'9', None) => {
                // Nineteen digits fit in a u64; a twentieth is refused
                // before it could overflow.
                int_digits += 1;
                if int_digits > 19 {
                    return None;
                }
                secs = secs * 10 + u64::from(c - b'0');
            }
            (b'0'..=b'9', Some(n)) => {
                if n < 3 {
                    ms = ms * 10 + u64::from(c - b'0');
                }
                frac_digits = Some(n + 1);
            }
            (b'.', None) => frac_digits = Some(0),
            _ => return None,
        }
    }
    if int_digits == 0 {
        return None;
    }
    // Fewer than three digits: scale up (`0.5` is 500 ms).
    for _ in frac_digits.unwrap_or(0)..3 {
        ms *= 10;
    }
    secs.checked_mul(1000)?.checked_add(ms)
}

#[cfg(test)]
mod tests;
