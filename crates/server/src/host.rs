//! The `Host` header (RFC 9112 §3.2, RFC 9110 §7.2): an HTTP/1.1 request
//! has exactly one, and its value is an RFC 3986 host with an optional
//! port; anything else is refused with 400 before the value is used or
//! logged, as nginx does ("client sent invalid host header").
//!
//! Accepted: a reg-name (letters, digits, `-._~`, the sub-delims
//! `!$&'()*+,;=`, `%HH`; IPv4 addresses are reg-names too), or an IPv6
//! address in brackets; then `:` and 1 to 5 digits up to 65535. Refused: an
//! empty host (as nginx), an empty port (`host:`), IPvFuture literals
//! (`[v1.x]`, which no client sends), user information, spaces, quotes,
//! control bytes, bytes over 0x7e.
//!
//! Hand-written: `http::uri::Authority` also takes user information
//! (`user@host`) and the `url` crate applies WHATWG and IDNA rules, not
//! RFC 3986's grammar.

use std::net::Ipv6Addr;

/// Why a request's `Host` is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BadHost {
    /// An HTTP/1.1 request without `Host`.
    #[error("an HTTP/1.1 request needs a Host header")]
    Missing,
    /// More than one `Host` header line.
    #[error("more than one Host header")]
    Repeated,
    /// `Host:` with nothing in it (or only a port).
    #[error("the Host header names no host")]
    Empty,
    /// A byte that a host name cannot hold, or a `%` not followed by two
    /// hexadecimal digits.
    #[error("the Host header has a byte not allowed in a host name at offset {offset}")]
    Forbidden {
        /// Where, counted in bytes from the value's start.
        offset: usize,
    },
    /// `[…]` that is not a whole IPv6 address in brackets.
    #[error("the Host header's address in brackets is not an IPv6 address")]
    IpLiteral,
    /// The port is empty, not digits, or over 65535.
    #[error("the Host header's port is not a number from 0 to 65535")]
    Port,
}

/// The `Host` value `value`, checked: as text, or why it is refused.
pub fn check(value: &[u8]) -> Result<&str, BadHost> {
    let (host, port) = split_port(value)?;
    if let Some(port) = port {
        if !is_port(port) {
            return Err(BadHost::Port);
        }
    }
    if host.is_empty() {
        return Err(BadHost::Empty);
    }
    if host.starts_with(b"[") {
        ip_literal(host)?;
    } else {
        reg_name(host)?;
    }
    // Every byte was checked to be ASCII above.
    std::str::from_utf8(value).map_err(|e| BadHost::Forbidden {
        offset: e.valid_up_to(),
    })
}

/// The host and, after the last `:` outside brackets, the port.
fn split_port(value: &[u8]) -> Result<(&[u8], Option<&[u8]>), BadHost> {
    let colon = match value.iter().rposition(|&b| b == b']') {
        Some(close) => match &value[close + 1..] {
            [] => None,
            [b':', ..] => Some(close + 1),
            _ => return Err(BadHost::IpLiteral),
        },
        None => value.iter().rposition(|&b| b == b':'),
    };
    Ok(match colon {
        Some(i) => (&value[..i], Some(&value[i + 1..])),
        None => (value, None),
    })
}

/// 1 to 5 digits, at most 65535.
fn is_port(port: &[u8]) -> bool {
    (1..=5).contains(&port.len())
        && port.iter().all(u8::is_ascii_digit)
        && port.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')) <= 65_535
}

/// `[IPv6]`.
fn ip_literal(host: &[u8]) -> Result<(), BadHost> {
    let inner = host
        .strip_prefix(b"[")
        .and_then(|h| h.strip_suffix(b"]"))
        .ok_or(BadHost::IpLiteral)?;
    std::str::from_utf8(inner)
        .ok()
        .and_then(|s| s.parse::<Ipv6Addr>().ok())
        .map(|_| ())
        .ok_or(BadHost::IpLiteral)
}

/// The bytes a reg-name takes as they are: unreserved and sub-delims (a
/// table: a host is checked on every request).
const REG_NAME: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
            );
        b += 1;
    }
    table
};

/// RFC 3986's reg-name: unreserved, sub-delims and `%HH`.
fn reg_name(host: &[u8]) -> Result<(), BadHost> {
    let mut i = 0;
    while i < host.len() {
        let b = host[i];
        let ok = if b == b'%' {
            let hex = host.get(i + 1..i + 3);
            i += 2;
            hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
        } else {
            REG_NAME[usize::from(b)]
        };
        if !ok {
            return Err(BadHost::Forbidden {
                offset: if b == b'%' { i - 2 } else { i },
            });
        }
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
