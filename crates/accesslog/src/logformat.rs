//! User-defined layouts: nginx `log_format` strings (`$remote_addr - …`)
//! and Apache `LogFormat` strings (`%h %l %u %t \"%r\" …`), compiled once
//! into fields and the literal text between them.
//!
//! A line is read left to right: each field runs up to the next occurrence
//! of the literal that follows it (skipping `\"` inside quotes), the last one
//! to the end of the line. Variables routecast has no use for are skipped;
//! variables neither server defines are an error when the format is compiled.

use memchr::memmem;

use crate::line::{LineError, Request, TimeIs};
use crate::time::TimestampParser;

mod parsed;

use parsed::Parsed;

/// What a field of a custom format holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    /// Client address (`$remote_addr`, `%h`, `%a`).
    Client,
    /// `dd/Mon/yyyy:HH:MM:SS +zone` without brackets (`$time_local`).
    TimeLocal,
    /// The same in brackets (`%t`).
    TimeBracketed,
    /// Unix seconds with milliseconds (`$msec`).
    Msec,
    /// `METHOD target PROTOCOL` (`$request`, `%r`).
    Request,
    /// The target alone (`$request_uri`, `$uri`, `%U`).
    Path,
    /// Status (`$status`, `%>s`, `%s`).
    Status,
    /// Body bytes (`$body_bytes_sent`, `$bytes_sent`, `%b`, `%B`, `%O`).
    Bytes,
    /// Seconds with milliseconds (`$request_time`).
    Seconds,
    /// Microseconds (`%D`).
    Micros,
    /// Whole seconds (`%T`).
    WholeSeconds,
    /// User-Agent (`$http_user_agent`, `%{User-Agent}i`).
    UserAgent,
    /// Known but unused.
    Skip,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(Vec<u8>),
    Field(Field),
}

/// A format string that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// A variable neither nginx nor Apache defines.
    #[error("unknown variable {name:?} at character {at} of the log format")]
    Unknown {
        /// The variable as written.
        name: String,
        /// Its position (0-based, in characters).
        at: usize,
    },
    /// Two fields with nothing between them cannot be told apart.
    #[error("fields {0:?} and {1:?} have no text between them, so a line cannot be split")]
    Adjacent(String, String),
    /// Without a client, a time and a byte count nothing can be replayed.
    #[error("the log format has no {0} (expected e.g. {1})")]
    Missing(&'static str, &'static str),
}

/// A compiled custom format.
#[derive(Debug, Clone)]
pub struct LogFormat {
    tokens: Vec<Token>,
    time_is: TimeIs,
    clock: TimestampParser,
}

/// nginx variables that are known but not used by the replay.
const NGINX_SKIP: &[&str] = &[
    "remote_user",
    "http_referer",
    "host",
    "server_name",
    "server_addr",
    "server_port",
    "server_protocol",
    "scheme",
    "connection",
    "connection_requests",
    "pipe",
    "request_length",
    "request_method",
    "args",
    "query_string",
    "upstream_addr",
    "upstream_status",
    "upstream_response_time",
    "upstream_connect_time",
    "upstream_header_time",
    "upstream_cache_status",
    "http_x_forwarded_for",
    "http_host",
    "sent_http_content_type",
    "time_iso8601",
    "hostname",
    "remote_port",
    "request_id",
    "ssl_protocol",
    "ssl_cipher",
    "gzip_ratio",
    "http_range",
    "content_type",
    "content_length",
    "realip_remote_addr",
    "binary_remote_addr",
];

fn nginx_field(name: &str) -> Option<Field> {
    Some(match name {
        "remote_addr" => Field::Client,
        "time_local" => Field::TimeLocal,
        "msec" => Field::Msec,
        "request" => Field::Request,
        "request_uri" | "uri" => Field::Path,
        "status" => Field::Status,
        "body_bytes_sent" | "bytes_sent" => Field::Bytes,
        "request_time" => Field::Seconds,
        "http_user_agent" => Field::UserAgent,
        n if NGINX_SKIP.contains(&n)
            || n.starts_with("http_")
            || n.starts_with("sent_http_")
            || n.starts_with("cookie_")
            || n.starts_with("arg_") =>
        {
            Field::Skip
        }
        _ => return None,
    })
}

fn apache_field(spec: &str) -> Option<Field> {
    Some(match spec {
        "h" | "a" | "{c}a" => Field::Client,
        "t" => Field::TimeBracketed,
        "r" => Field::Request,
        "U" => Field::Path,
        ">s" | "s" | "<s" => Field::Status,
        "b" | "B" | "O" => Field::Bytes,
        "D" => Field::Micros,
        "T" => Field::WholeSeconds,
        "{User-Agent}i" | "{User-agent}i" | "{user-agent}i" => Field::UserAgent,
        "l" | "u" | "v" | "V" | "p" | "P" | "q" | "m" | "H" | "k" | "L" | "R" | "X" | "I" | "S"
        | "f" | "e" | "A" => Field::Skip,
        s if s.starts_with('{')
            && (s.ends_with('i')
                || s.ends_with('o')
                || s.ends_with('e')
                || s.ends_with('n')
                || s.ends_with('C')
                || s.ends_with('p')
                || s.ends_with('P')) =>
        {
            Field::Skip
        }
        _ => return None,
    })
}

impl LogFormat {
    /// Compiles an nginx `log_format` string (the time is the end).
    pub fn nginx(spec: &str) -> Result<Self, FormatError> {
        let mut tokens = Vec::new();
        let mut lit = Vec::new();
        let chars: Vec<char> = spec.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] == '$' {
                let braced = chars.get(i + 1) == Some(&'{');
                let start = if braced { i + 2 } else { i + 1 };
                let mut j = start;
                while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
                    j += 1;
                }
                let name: String = chars[start..j].iter().collect();
                let field = nginx_field(&name).ok_or(FormatError::Unknown {
                    name: format!("${name}"),
                    at: i,
                })?;
                push_field(&mut tokens, &mut lit, field, &name)?;
                i = if braced && chars.get(j) == Some(&'}') {
                    j + 1
                } else {
                    j
                };
            } else {
                let mut b = [0; 4];
                lit.extend_from_slice(chars[i].encode_utf8(&mut b).as_bytes());
                i += 1;
            }
        }
        finish(tokens, lit, TimeIs::End)
    }

    /// Compiles an Apache `LogFormat` string (the time is the start).
    pub fn apache(spec: &str) -> Result<Self, FormatError> {
        let mut tokens = Vec::new();
        let mut lit = Vec::new();
        let chars: Vec<char> = spec.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '%' if chars.get(i + 1) == Some(&'%') => {
                    lit.push(b'%');
                    i += 2;
                }
                '%' => {
                    let mut j = i + 1;
                    // Conditions like %400,501{...}i and modifiers < > are part of the spec.
                    while j < chars.len()
                        && (chars[j] == '<'
                            || chars[j] == '>'
                            || chars[j] == '!'
                            || chars[j] == ','
                            || chars[j].is_ascii_digit())
                    {
                        j += 1;
                    }
                    if chars.get(j) == Some(&'{') {
                        while j < chars.len() && chars[j] != '}' {
                            j += 1;
                        }
                        j += 1; // the letter after the braces
                    }
                    let end = (j + 1).min(chars.len());
                    let raw: String = chars[i + 1..end].iter().collect();
                    let key: String = raw
                        .trim_start_matches(|c: char| c.is_ascii_digit() || c == ',' || c == '!')
                        .to_string();
                    let field = apache_field(&key).ok_or(FormatError::Unknown {
                        name: format!("%{raw}"),
                        at: i,
                    })?;
                    push_field(&mut tokens, &mut lit, field, &raw)?;
                    i = end;
                }
                '\\' if chars.get(i + 1).is_some() => {
                    let c = match chars[i + 1] {
                        'n' => '\n',
                        't' => '\t',
                        c => c,
                    };
                    let mut b = [0; 4];
                    lit.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                    i += 2;
                }
                c => {
                    let mut b = [0; 4];
                    lit.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                    i += 1;
                }
            }
        }
        finish(tokens, lit, TimeIs::Start)
    }

    /// Compiles `spec` as nginx when it has `$variables`, else as Apache.
    pub fn compile(spec: &str) -> Result<Self, FormatError> {
        if spec.contains('$') {
            Self::nginx(spec)
        } else {
            Self::apache(spec)
        }
    }

    /// Parses one line (without its newline).
    pub fn parse<'a>(&mut self, line: &'a [u8]) -> Result<Request<'a>, LineError> {
        let mut req = Parsed::default();
        let mut pos = 0;
        let n = self.tokens.len();
        for k in 0..n {
            match &self.tokens[k] {
                Token::Literal(l) => {
                    if !line[pos..].starts_with(l) {
                        return Err(req.error_here());
                    }
                    pos += l.len();
                }
                Token::Field(f) => {
                    let end = match self.tokens.get(k + 1) {
                        Some(Token::Literal(l)) => find_end(&line[pos..], l)
                            .map(|e| pos + e)
                            .ok_or_else(|| req.error_for(*f))?,
                        _ => line.len(),
                    };
                    req.set(*f, &line[pos..end], &mut self.clock)?;
                    pos = end;
                }
            }
        }
        if pos != line.len() {
            return Err(LineError::Trailing);
        }
        req.finish(self.time_is)
    }
}

fn push_field(
    tokens: &mut Vec<Token>,
    lit: &mut Vec<u8>,
    field: Field,
    name: &str,
) -> Result<(), FormatError> {
    if lit.is_empty() {
        if let Some(Token::Field(prev)) = tokens.last() {
            return Err(FormatError::Adjacent(format!("{prev:?}"), name.to_string()));
        }
    } else {
        tokens.push(Token::Literal(std::mem::take(lit)));
    }
    tokens.push(Token::Field(field));
    Ok(())
}

fn finish(mut tokens: Vec<Token>, lit: Vec<u8>, time_is: TimeIs) -> Result<LogFormat, FormatError> {
    if !lit.is_empty() {
        tokens.push(Token::Literal(lit));
    }
    let has = |fs: &[Field]| {
        tokens
            .iter()
            .any(|t| matches!(t, Token::Field(f) if fs.contains(f)))
    };
    if !has(&[Field::Client]) {
        return Err(FormatError::Missing("client address", "$remote_addr or %h"));
    }
    if !has(&[Field::TimeLocal, Field::TimeBracketed, Field::Msec]) {
        return Err(FormatError::Missing("time", "$time_local, $msec or %t"));
    }
    if !has(&[Field::Request, Field::Path]) {
        return Err(FormatError::Missing("request", "$request or %r"));
    }
    if !has(&[Field::Bytes]) {
        return Err(FormatError::Missing("byte count", "$body_bytes_sent or %b"));
    }
    Ok(LogFormat {
        tokens,
        time_is,
        clock: TimestampParser::default(),
    })
}

/// Where a field followed by `lit` ends: the first `lit`, skipping `\"` when
/// the literal begins with a quote.
fn find_end(s: &[u8], lit: &[u8]) -> Option<usize> {
    let mut from = 0;
    loop {
        let at = memmem::find(&s[from..], lit)? + from;
        let escaped = lit.first() == Some(&b'"')
            && s[..at].iter().rev().take_while(|b| **b == b'\\').count() % 2 == 1;
        if !escaped {
            return Some(at);
        }
        from = at + 1;
    }
}

#[cfg(test)]
mod tests;
