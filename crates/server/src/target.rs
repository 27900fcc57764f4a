//! Request targets: what the redirector accepts and appends to a site URL.
//!
//! Only origin-form targets (`/path?query`) are accepted. The rule is about
//! what the site (for a redirect) or the origin (for a playlist fetch)
//! will serve: a standard server (nginx) percent-decodes the path, removes
//! dot segments (RFC 3986 §5.2.4) and merges slashes before it looks the
//! path up, so a path that would change under any of these is refused with
//! 400, and what the server resolves is the path routecast routed, decoded,
//! segment for segment. Refused:
//! * control characters, space, backslash and bytes above 0x7F, raw or
//!   percent-encoded (`%00`–`%1F`, `%7F`, `%5C`), anywhere in the target;
//! * dot segments, `.` and `..`, raw or encoded (`%2e%2E`), also before a
//!   path parameter (`..;x`: Tomcat, Jetty and Spring strip `;x` first);
//! * an encoded `/` (`%2F`): nginx decodes it into a real separator;
//! * encoded unreserved characters (`%41`, `%2E`, `%7E`, …: RFC 3986 §2.3
//!   says producers never encode them): the site would serve `/live/`
//!   for `/l%69ve/`, which no `/live/` rule of routecast matches;
//! * a `%` in the path that does not start `%XY` (nginx answers 400);
//! * `//` at the start (another host), absolute and authority forms, and
//!   targets over [`MAX_TARGET`].
//!
//! Other encodings pass as written: `%20`, `%25`, encoded UTF-8
//! (`%C3%A9`), and the delimiters other than `/` (`%3A`, `%3F`, `%3B`, …),
//! which a server decodes into a file name, not into path structure. The
//! query is the site's to read: only encoded control characters and
//! backslashes are refused there.
//!
//! Repeated slashes inside the path are collapsed, not refused: the path
//! routed and sent is the collapsed one, so what a site does with `//`
//! (nginx merges them, object stores keep them) never matters; nginx
//! itself serves `/a//b` as `/a/b`, and players that join URLs sloppily
//! keep playing.

/// The longest target accepted.
pub const MAX_TARGET: usize = 8192;

/// Why a target was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BadTarget {
    /// Not `/…` (absolute-form, authority-form, `*`).
    #[error("the request target must be a path starting with '/'")]
    NotOriginForm,
    /// `//host/…` would be read as another host.
    #[error("the request target starts with '//'")]
    SchemeRelative,
    /// A control character, space, backslash, `"`, `<`, `>` or byte above
    /// 0x7F, or a percent-encoded control character or backslash.
    #[error("the request target contains a forbidden character")]
    Forbidden,
    /// `.` or `..` path segments, plain or percent-encoded, also before a
    /// path parameter (`..;x`).
    #[error("the request target has dot segments")]
    DotSegment,
    /// Longer than [`MAX_TARGET`].
    #[error("the request target is too long")]
    TooLong,
    /// `%2F` in the path: a server decodes it into a path separator.
    #[error("the request target's path has an encoded '/' (%2F)")]
    EncodedSlash,
    /// A percent-encoded unreserved character (letter, digit, `-._~`) in
    /// the path: a server decodes it, and would serve another path than
    /// the one routed.
    #[error("the request target's path encodes {character:?}, which is sent as it is")]
    EncodedUnreserved {
        /// The character encoded.
        character: char,
    },
    /// A `%` in the path not followed by two hex digits.
    #[error("the request target's path has a '%' not followed by two hex digits")]
    BadEscape,
}

/// A checked target: a clean path and the query, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The path, starting with `/`, no repeated slashes.
    pub path: String,
    /// The query without `?`.
    pub query: Option<String>,
}

/// Checks and normalises a request target (see the [module](self) for
/// the rules). Allocates the checked path and query, nothing else.
pub fn check(target: &str) -> Result<Target, BadTarget> {
    if target.len() > MAX_TARGET {
        return Err(BadTarget::TooLong);
    }
    if !target.starts_with('/') {
        return Err(BadTarget::NotOriginForm);
    }
    if target.starts_with("//") {
        return Err(BadTarget::SchemeRelative);
    }
    if is_plain(target) {
        // Nothing to refuse and nothing to collapse: the target is its
        // own clean path (the property test holds it to the general rules).
        return Ok(Target {
            path: target.to_string(),
            query: None,
        });
    }
    general(target)
}

/// Whether `target` (which starts with one `/`) is made of unreserved
/// characters and `/` alone, with no empty segment and no segment that
/// starts with `.` — the common case, which every rule lets through as
/// it is. One scan: the general rules take several.
fn is_plain(target: &str) -> bool {
    let Some(rest) = target.strip_prefix('/') else {
        return false;
    };
    let mut previous = b'/';
    for &b in rest.as_bytes() {
        let fine = match b {
            b'/' | b'.' => previous != b'/',
            b'-' | b'_' | b'~' => true,
            _ => b.is_ascii_alphanumeric(),
        };
        if !fine {
            return false;
        }
        previous = b;
    }
    true
}

/// [`check`] after its first checks, for any target.
fn general(target: &str) -> Result<Target, BadTarget> {
    if target.bytes().any(is_forbidden) {
        return Err(BadTarget::Forbidden);
    }
    let (path, query) = cut(target, b'?');
    let path = cut(path, b'#').0;
    if let Some(q) = query {
        check_query(q)?;
    }
    let mut clean = String::with_capacity(path.len());
    let mut rest = Some(path);
    while let Some(r) = rest {
        let (seg, tail) = cut(r, b'/');
        rest = tail;
        if seg.is_empty() {
            continue;
        }
        check_segment(seg)?;
        clean.push('/');
        clean.push_str(seg);
    }
    if clean.is_empty() || path.ends_with('/') {
        clean.push('/');
    }
    Ok(Target {
        path: clean,
        query: query.map(str::to_string),
    })
}

/// `s` up to the first `sep` (an ASCII byte, so both sides are text), and
/// what follows it, if it is there. A plain scan: the parts are short, and
/// `str::split` on a `char` cost more here than all the checks.
fn cut(s: &str, sep: u8) -> (&str, Option<&str>) {
    match s.bytes().position(|b| b == sep) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    }
}

/// A byte refused anywhere, as it is: controls, space, `\`, non-ASCII,
/// and `"`, `<`, `>` — not in RFC 3986, always percent-encoded by browsers
/// (WHATWG's path and query percent-encode sets), and the characters that
/// end an attribute or a quoted field wherever a `Location` is shown.
fn is_forbidden(b: u8) -> bool {
    b.is_ascii_control() || b >= 0x80 || matches!(b, b' ' | b'\\' | b'"' | b'<' | b'>')
}

/// A byte refused anywhere once decoded: control characters and `\`.
fn is_forbidden_encoded(b: u8) -> bool {
    b.is_ascii_control() || b == b'\\'
}

/// RFC 3986 §2.3 unreserved: `ALPHA / DIGIT / "-" / "." / "_" / "~"`.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~".contains(&b)
}

/// The byte `%XY` at `i` of `s` stands for, if `s[i..]` starts so.
fn escape_at(s: &[u8], i: usize) -> Option<u8> {
    if s.get(i) != Some(&b'%') {
        return None;
    }
    let hex = |c: &u8| char::from(*c).to_digit(16);
    let (hi, lo) = (hex(s.get(i + 1)?)?, hex(s.get(i + 2)?)?);
    // Two hex digits are at most 0xFF.
    u8::try_from(hi << 4 | lo).ok()
}

/// The query: no encoded control character or backslash (a `%` without
/// two hex digits is the site's business there).
fn check_query(query: &str) -> Result<(), BadTarget> {
    let b = query.as_bytes();
    let encoded_forbidden = b
        .iter()
        .enumerate()
        .any(|(i, c)| *c == b'%' && escape_at(b, i).is_some_and(is_forbidden_encoded));
    if encoded_forbidden {
        Err(BadTarget::Forbidden)
    } else {
        Ok(())
    }
}

/// One non-empty path segment: not a dot segment, and no escape that a
/// server would decode into path structure or into another routed path
/// (an encoded `/` is named before an encoded unreserved character).
fn check_segment(seg: &str) -> Result<(), BadTarget> {
    let before_parameter = cut(seg, b';').0;
    if is_dot_segment(before_parameter) {
        return Err(BadTarget::DotSegment);
    }
    let b = seg.as_bytes();
    let mut unreserved = None;
    for (i, _) in b.iter().enumerate().filter(|(_, c)| **c == b'%') {
        match escape_at(b, i) {
            None => return Err(BadTarget::BadEscape),
            Some(c) if is_forbidden_encoded(c) => return Err(BadTarget::Forbidden),
            Some(b'/') => return Err(BadTarget::EncodedSlash),
            Some(c) if is_unreserved(c) => unreserved = unreserved.or(Some(char::from(c))),
            Some(_) => {}
        }
    }
    match unreserved {
        Some(character) => Err(BadTarget::EncodedUnreserved { character }),
        None => Ok(()),
    }
}

/// `.` or `..`, plain or percent-encoded (`%2e`, `.%2E`, …).
fn is_dot_segment(seg: &str) -> bool {
    let b = seg.as_bytes();
    let mut dots = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'.' {
            i += 1;
        } else if escape_at(b, i) == Some(b'.') {
            i += 3;
        } else {
            return false;
        }
        dots += 1;
    }
    dots == 1 || dots == 2
}

#[cfg(test)]
mod tests;
