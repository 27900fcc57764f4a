//! The entries of `Forwarded` (RFC 7239) and `X-Forwarded-For` header
//! lines, read one by one as [`Node`]s: an address, or an entry that names
//! none. Hand-written: no well-kept crate parses RFC 7239 node
//! identifiers, and the grammar is a page long.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One hop of a forwarding header, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Node {
    /// An IP address (its port, if any, dropped).
    Addr(IpAddr),
    /// Anything else: `unknown`, an obfuscated identifier (`_hidden`),
    /// `999.1.1.1`, an empty entry, an element without `for=`, garbage.
    Unusable,
}

impl Node {
    /// The address, if the entry is one.
    pub fn addr(self) -> Option<IpAddr> {
        match self {
            Node::Addr(a) => Some(a),
            Node::Unusable => None,
        }
    }
}

impl From<Option<IpAddr>> for Node {
    fn from(a: Option<IpAddr>) -> Self {
        a.map_or(Node::Unusable, Node::Addr)
    }
}

/// The nodes of one `Forwarded` header line, left to right: one per
/// element, from its `for=` parameter.
pub(super) fn forwarded_nodes(line: &str) -> impl Iterator<Item = Node> + '_ {
    Unquoted::new(line, b',').map(|element| forwarded_element(element).into())
}

/// The nodes of one `X-Forwarded-For` header line, left to right.
pub(super) fn x_forwarded_nodes(line: &str) -> impl Iterator<Item = Node> + '_ {
    line.split(',').map(|entry| xff_entry(entry).into())
}

/// Splits at `separator` outside quoted strings (RFC 9110 §5.6.4); an
/// unclosed quote runs to the end of the text.
struct Unquoted<'a> {
    rest: Option<&'a str>,
    separator: u8,
}

impl<'a> Unquoted<'a> {
    fn new(text: &'a str, separator: u8) -> Self {
        Self {
            rest: Some(text),
            separator,
        }
    }
}

impl<'a> Iterator for Unquoted<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let text = self.rest?;
        let (mut quoted, mut escaped) = (false, false);
        for (i, b) in text.bytes().enumerate() {
            match b {
                _ if escaped => escaped = false,
                b'\\' if quoted => escaped = true,
                b'"' => quoted = !quoted,
                b if b == self.separator && !quoted => {
                    self.rest = Some(&text[i + 1..]);
                    return Some(&text[..i]);
                }
                _ => {}
            }
        }
        self.rest = None;
        Some(text)
    }
}

/// The address of one `Forwarded` element's single `for=` parameter.
fn forwarded_element(element: &str) -> Option<IpAddr> {
    let mut node = None;
    for pair in Unquoted::new(element, b';') {
        let pair = pair.trim_matches([' ', '\t']);
        if pair.is_empty() {
            continue;
        }
        let (name, value) = pair.split_once('=')?;
        if !is_token(name) {
            return None;
        }
        if name.eq_ignore_ascii_case("for") {
            if node.is_some() {
                return None; // a parameter at most once per element
            }
            node = Some(value);
        }
    }
    forwarded_node(node?)
}

/// RFC 9110's token: what a parameter name is made of.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A `for=` value: `192.0.2.43`, `192.0.2.43:80` (a colon is not a token
/// character, but proxies write it unquoted), or quoted,
/// `"[2001:db8:cafe::17]:4711"`, `"192.0.2.43:_port"`. IPv6 must be
/// bracketed and quoted (RFC 7239 §6); a quoted string with escapes names
/// no address.
fn forwarded_node(value: &str) -> Option<IpAddr> {
    match value.strip_prefix('"') {
        Some(quoted) => {
            let inner = quoted.strip_suffix('"')?;
            if inner.contains(['"', '\\']) {
                return None;
            }
            node_with_port(inner, is_rfc7239_port)
        }
        None if value.contains('[') => None,
        None => node_with_port(value, is_rfc7239_port),
    }
}

/// An `X-Forwarded-For` entry: a bare address, or, as some proxies write
/// it, `192.0.2.43:80`, `[2001:db8::1]` or `[2001:db8::1]:80`.
fn xff_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim_matches([' ', '\t']);
    entry
        .parse()
        .ok()
        .or_else(|| node_with_port(entry, is_port))
}

/// `IPv4[:port]` or `[IPv6][:port]`, the port checked by `port_ok`.
fn node_with_port(node: &str, port_ok: fn(&str) -> bool) -> Option<IpAddr> {
    let (addr, port) = match node.strip_prefix('[') {
        Some(bracketed) => {
            let (v6, after) = bracketed.split_once(']')?;
            let port = if after.is_empty() {
                None
            } else {
                Some(after.strip_prefix(':')?)
            };
            (IpAddr::V6(v6.parse::<Ipv6Addr>().ok()?), port)
        }
        None => {
            let (v4, port) = match node.split_once(':') {
                Some((v4, port)) => (v4, Some(port)),
                None => (node, None),
            };
            (IpAddr::V4(v4.parse::<Ipv4Addr>().ok()?), port)
        }
    };
    port.is_none_or(port_ok).then_some(addr)
}

/// A TCP port: 1 to 5 digits, at most 65535.
fn is_port(s: &str) -> bool {
    (1..=5).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_digit())
        && s.parse::<u32>().is_ok_and(|p| p <= 65_535)
}

/// RFC 7239's node-port: a port, or an obfuscated one (`_` then letters,
/// digits, `.`, `_`, `-`).
fn is_rfc7239_port(s: &str) -> bool {
    is_port(s)
        || s.strip_prefix('_').is_some_and(|o| {
            !o.is_empty()
                && o.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        })
}
