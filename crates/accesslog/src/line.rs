//! The line parser for the combined-log family (nginx and Apache).
//!
//! `client ident user [time] "request" status bytes ["referer" "agent"] [duration]`
//!
//! Parsers take `&[u8]` and return a typed [`Request`] borrowing from the
//! line, or a [`LineError`] saying which field is wrong. They never panic.

use std::net::IpAddr;

use memchr::memchr;

use crate::time::TimestampParser;

/// One request as logged.
#[derive(Debug, Clone, PartialEq)]
pub struct Request<'a> {
    /// The client address.
    pub client: IpAddr,
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
    /// The first field is not an IP address.
    #[error("client address is not an IP address")]
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

/// The client address. Dotted-quad IPv4 (what most log lines hold) is read
/// by hand in one pass over the bytes, as `std`'s parser does the same work
/// through UTF-8 validation and a general state machine at about three
/// times the cost; anything else (IPv6, or IPv4 this does not take) goes to
/// `std`, whose answer is the reference (property-tested equal).
fn parse_ip(b: &[u8]) -> Option<IpAddr> {
    parse_ipv4(b)
        .map(IpAddr::V4)
        .or_else(|| parse_ipv6(b).map(IpAddr::V6))
        .or_else(|| std::str::from_utf8(b).ok()?.parse().ok())
}

/// IPv6 in hex groups of one to four digits, with at most one `::` that
/// stands for at least one group: the address, or `None` for anything else
/// (embedded IPv4, zone ids, junk), which `std` then reads. Hand-written
/// for the same reason as [`parse_ipv4`] (about ten times `std`'s speed on
/// the eight-group addresses clients have); property-tested equal.
fn parse_ipv6(b: &[u8]) -> Option<std::net::Ipv6Addr> {
    let mut groups = [0u16; 8];
    let (mut n, mut gap) = (0usize, None);
    let mut i = 0;
    if b.starts_with(b"::") {
        gap = Some(0);
        i = 2;
    }
    while i < b.len() {
        let (value, digits) = hex_group(&b[i..])?;
        *groups.get_mut(n)? = value;
        n += 1;
        i += digits;
        match b.get(i..i + 2) {
            _ if i == b.len() => break,
            Some(b"::") if gap.is_none() => {
                gap = Some(n);
                i += 2;
            }
            _ if b[i] == b':' && i + 1 < b.len() => i += 1,
            _ => return None,
        }
    }
    match gap {
        None if n == 8 => {}
        // `::` stands for at least one group.
        Some(at) if n < 8 => {
            groups.copy_within(at..n, 8 - (n - at));
            groups[at..8 - (n - at)].fill(0);
        }
        _ => return None,
    }
    Some(std::net::Ipv6Addr::from(groups))
}

/// One to four hex digits: their value and how many.
fn hex_group(b: &[u8]) -> Option<(u16, usize)> {
    let mut value = 0u16;
    let mut digits = 0;
    for &c in b.iter().take(5) {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => break,
        };
        if digits == 4 {
            return None;
        }
        value = value << 4 | u16::from(d);
        digits += 1;
    }
    (digits > 0).then_some((value, digits))
}

/// `a.b.c.d` with each part 0–255 in decimal, no leading zeros (as `std`
/// requires): the address, or `None` for anything else.
fn parse_ipv4(b: &[u8]) -> Option<std::net::Ipv4Addr> {
    ipv4_prefix(b).and_then(|(a, n)| (n == b.len()).then_some(a))
}

/// The first field of a line, the client address, and where its space
/// is: a dotted quad is read in the same pass that finds the space.
fn client_field(line: &[u8]) -> Option<(IpAddr, usize)> {
    if let Some((a, n)) = ipv4_prefix(line) {
        if line.get(n) == Some(&b' ') {
            return Some((IpAddr::V4(a), n));
        }
    }
    // IPv6 (or junk): tens of bytes to the space, which `memchr` finds
    // faster than a loop.
    let sp = memchr(b' ', line)?;
    Some((parse_ip(&line[..sp])?, sp))
}

/// A dotted quad at the start of `b` (up to the first byte that is neither
/// a digit nor a point), and its length.
fn ipv4_prefix(b: &[u8]) -> Option<(std::net::Ipv4Addr, usize)> {
    match b.first_chunk::<16>() {
        Some(head) => ipv4_in_16(head),
        None => ipv4_prefix_bytewise(b),
    }
}

/// `0x0101…01` times a byte: that byte in every lane of a `u128`.
const fn lanes(byte: u8) -> u128 {
    u128::from_ne_bytes([byte; 16])
}

/// The top bit of each byte lane.
const HIGH: u128 = lanes(0x80);
/// The low seven bits of each byte lane.
const LOW7: u128 = lanes(0x7f);

/// The top bit of each byte of `x` that is zero (exact: no borrow crosses
/// lanes, as each lane's sum stays under 0x100).
#[inline]
fn zero_bytes(x: u128) -> u128 {
    !(((x & LOW7) + LOW7) | x) & HIGH
}

/// [`ipv4_prefix`] for a line of at least 16 bytes, which hold any dotted
/// quad and the byte after it: all sixteen are classified at once, bit
/// tricks on one 128-bit word (SWAR: no `unsafe`, no branch per byte),
/// as the byte-at-a-time loop mispredicted a branch at every point and
/// was a third of the line parser's time. Property-tested equal to
/// [`ipv4_prefix_bytewise`].
#[inline]
fn ipv4_in_16(head: &[u8; 16]) -> Option<(std::net::Ipv4Addr, usize)> {
    let x = u128::from_le_bytes(*head);
    // Digits become 0..=9 in `u`; a lane is a digit when it is at most 9.
    let u = x ^ lanes(b'0');
    let digits = !(((u & LOW7) + lanes(0x7f - 9)) | u) & HIGH;
    let points = zero_bytes(x ^ lanes(b'.'));
    let other = HIGH & !(digits | points);
    if other == 0 {
        return None;
    }
    // The field ends at the first byte that is neither; the points before
    // it are those under its lowest bit.
    let len = (other.trailing_zeros() / 8) as usize;
    let mut points = points & ((other & other.wrapping_neg()) - 1);
    // Each lane's digit (0..=9 where a digit is), after two zero lanes, so
    // that a part's tens and hundreds can be read whatever its length.
    let mut d = [0u8; 18];
    d[2..].copy_from_slice(&u.to_le_bytes());
    let mut address = 0u32;
    let mut from = 0usize;
    for part in 0..4 {
        let to = if part < 3 {
            if points == 0 {
                return None;
            }
            let p = (points.trailing_zeros() / 8) as usize;
            points &= points - 1;
            p
        } else if points != 0 {
            return None; // a fourth point
        } else {
            len
        };
        let n = to.wrapping_sub(from);
        if !(1..=3).contains(&n) {
            return None;
        }
        // `d[to + 1]` is the part's last digit (ones), `d[to]` the one
        // before it, `d[to - 1]` the one before that.
        let ones = u32::from(d[to + 1]);
        let tens = u32::from(d[to]) * u32::from(n >= 2);
        let hundreds = u32::from(d[to - 1]) * u32::from(n == 3);
        if n > 1 && d[from + 2] == 0 {
            return None; // a leading zero
        }
        let value = hundreds * 100 + tens * 10 + ones;
        if value > 255 {
            return None;
        }
        address = address << 8 | value;
        from = to + 1;
    }
    Some((std::net::Ipv4Addr::from(address), len))
}

/// [`ipv4_prefix`] a byte at a time, for fields at the very end of a short
/// input (and the reference the word-at-a-time reading is tested against).
fn ipv4_prefix_bytewise(b: &[u8]) -> Option<(std::net::Ipv4Addr, usize)> {
    // The octets gather in one integer: bytes stored one by one and then
    // read as a word stall the read (no store forwarding).
    let mut address = 0u32;
    let mut part = 0;
    let mut value: u32 = 0;
    let mut digits = 0;
    let mut n = 0;
    for &c in b {
        match c {
            b'0'..=b'9' => {
                if digits == 1 && value == 0 {
                    return None; // a leading zero
                }
                value = value * 10 + u32::from(c - b'0');
                digits += 1;
                if value > 255 {
                    return None;
                }
            }
            b'.' if digits > 0 && part < 3 => {
                address = address << 8 | value;
                part += 1;
                (value, digits) = (0, 0);
            }
            b'.' => return None,
            _ => break,
        }
        n += 1;
    }
    if part != 3 || digits == 0 {
        return None;
    }
    Some((std::net::Ipv4Addr::from(address << 8 | value), n))
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
