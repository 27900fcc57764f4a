//! Request targets: what the redirector accepts and appends to a site URL.
//!
//! Only origin-form targets (`/path?query`) are accepted; anything that
//! could make a `Location` header point elsewhere, split a header, or walk
//! out of a path is refused with 400: control characters and CR/LF (also
//! percent-encoded), backslashes, `//` at the start, dot segments, absolute
//! or authority forms, and targets over 8 KiB. Repeated slashes inside the
//! path are collapsed.

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
    /// A control character, space, backslash or encoded CR/LF/NUL.
    #[error("the request target contains a forbidden character")]
    Forbidden,
    /// `.` or `..` path segments.
    #[error("the request target has dot segments")]
    DotSegment,
    /// Longer than [`MAX_TARGET`].
    #[error("the request target is too long")]
    TooLong,
}

/// A checked target: a clean path and the query, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The path, starting with `/`, no repeated slashes.
    pub path: String,
    /// The query without `?`.
    pub query: Option<String>,
}

/// True when `s` holds `%XY` for one of `codes` (two lower-case hex
/// digits), in either case, without allocating.
fn has_encoded(s: &str, codes: &[&[u8; 2]]) -> bool {
    let b = s.as_bytes();
    b.windows(3).any(|w| {
        w[0] == b'%'
            && codes
                .iter()
                .any(|c| w[1].to_ascii_lowercase() == c[0] && w[2].to_ascii_lowercase() == c[1])
    })
}

/// `.` or `..`, plain or percent-encoded (`%2e`, `.%2E`, …).
fn is_dot_segment(seg: &str) -> bool {
    let b = seg.as_bytes();
    let mut dots = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'.' {
            i += 1;
        } else if b[i] == b'%'
            && b.get(i + 1) == Some(&b'2')
            && b.get(i + 2).is_some_and(|c| c.eq_ignore_ascii_case(&b'e'))
        {
            i += 3;
        } else {
            return false;
        }
        dots += 1;
    }
    dots == 1 || dots == 2
}

/// Checks and normalises a request target.
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
    if target
        .bytes()
        .any(|b| b.is_ascii_control() || b == b' ' || b == b'\\' || b >= 0x80)
    {
        return Err(BadTarget::Forbidden);
    }
    if has_encoded(target, &[b"0d", b"0a", b"00", b"5c"]) {
        return Err(BadTarget::Forbidden);
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q.to_string())),
        None => (target, None),
    };
    let path = path.split('#').next().unwrap_or(path);
    let mut clean = String::with_capacity(path.len());
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        if is_dot_segment(seg) {
            return Err(BadTarget::DotSegment);
        }
        clean.push('/');
        clean.push_str(seg);
    }
    if clean.is_empty() || path.ends_with('/') {
        clean.push('/');
    }
    Ok(Target { path: clean, query })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_targets_pass_and_repeated_slashes_collapse() {
        assert_eq!(
            check("/live/a/index.m3u8?t=1"),
            Ok(Target {
                path: "/live/a/index.m3u8".into(),
                query: Some("t=1".into())
            })
        );
        assert_eq!(
            check("/vod//films///a.mp4").map(|t| t.path),
            Ok("/vod/films/a.mp4".into())
        );
        assert_eq!(check("/live/").map(|t| t.path), Ok("/live/".into()));
        assert_eq!(check("/").map(|t| t.path), Ok("/".into()));
    }

    #[test]
    fn tricks_are_refused() {
        for (t, want) in [
            ("//evil.example/x", BadTarget::SchemeRelative),
            ("http://evil.example/x", BadTarget::NotOriginForm),
            ("evil.example:443", BadTarget::NotOriginForm),
            ("*", BadTarget::NotOriginForm),
            ("/a\r\nSet-Cookie: x", BadTarget::Forbidden),
            ("/a%0d%0aLocation:%20http://evil", BadTarget::Forbidden),
            ("/a%0D%0A", BadTarget::Forbidden),
            ("/\\evil.example", BadTarget::Forbidden),
            ("/a%5c..%5cb", BadTarget::Forbidden),
            ("/a/../../etc/passwd", BadTarget::DotSegment),
            ("/a/%2e%2e/b", BadTarget::DotSegment),
            ("/a/./b", BadTarget::DotSegment),
            ("/a b", BadTarget::Forbidden),
            ("/caf\u{e9}", BadTarget::Forbidden),
        ] {
            assert_eq!(check(t), Err(want), "{t:?}");
        }
        assert_eq!(
            check(&format!("/{}", "a".repeat(MAX_TARGET))),
            Err(BadTarget::TooLong)
        );
    }
}
