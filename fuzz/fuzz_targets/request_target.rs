//! The redirector's request-target guard on arbitrary text: no panic, and
//! whatever it accepts is served as routed.
//!
//! Two independent readers of what the guard accepts:
//! * the `url` crate (the WHATWG URL standard browsers follow): the
//!   `Location` a redirect would carry, a site's base URL followed by the
//!   checked path and query, must resolve to that site (same scheme, host
//!   and port), under the base path, with as many path segments as the
//!   guard wrote (no dot segment left for a client or a site to resolve);
//! * a model of nginx (`ngx_http_parse_complex_uri` with its defaults):
//!   every `%XY` decoded, slashes merged and dot segments removed (RFC 3986
//!   §5.2.4), in either order. What it serves for the target as received
//!   and for the path sent is the routed path decoded, with as many
//!   segments, the same plain-text prefix (what a configured prefix can
//!   name) and no control character.
//!
//! `Location` is the base followed by the target as received, its repeated
//! slashes collapsed; the guard is idempotent.
#![no_main]
use libfuzzer_sys::fuzz_target;
use routecast_server::target::{check, Target};
use url::Url;

const BASE: &str = "https://edge.cdn.example:8443/base";

fuzz_target!(|target: &str| {
    let Ok(checked) = check(target) else {
        return;
    };
    assert!(checked.path.starts_with('/'), "{checked:?}");
    assert!(!checked.path.contains("//"), "{checked:?}");
    let again = match &checked.query {
        Some(q) => format!("{}?{q}", checked.path),
        None => checked.path.clone(),
    };
    assert_eq!(
        check(&again).as_ref(),
        Ok(&checked),
        "not idempotent on {again:?}"
    );
    if !target.contains('#') {
        assert_eq!(again, collapsed(target), "{target:?}");
    }
    let location = format!("{BASE}{again}");
    resolves_on_the_site(&location, &checked);
    served_as_routed(target, &checked);
});

/// The WHATWG reading of `location`: on the site, under its base, every
/// segment kept.
fn resolves_on_the_site(location: &str, checked: &Target) {
    let url = Url::parse(location).unwrap_or_else(|e| panic!("{location:?} is no URL: {e}"));
    assert_eq!(url.scheme(), "https", "{location:?}");
    assert_eq!(url.host_str(), Some("edge.cdn.example"), "{location:?}");
    assert_eq!(url.port(), Some(8443), "{location:?}");
    assert!(url.path().starts_with("/base/"), "{location:?} -> {url}");
    let segments = url.path_segments().map_or(0, Iterator::count);
    let written = checked.path.split('/').count() - 1;
    assert_eq!(
        segments,
        written + 1,
        "{location:?} -> {url}: a segment was resolved away"
    );
}

/// nginx's reading of the target received and of the path sent: the
/// routed path, decoded, segment for segment.
fn served_as_routed(target: &str, checked: &Target) {
    let routed = checked.path.as_bytes();
    let decoded = percent_decoded(routed)
        .unwrap_or_else(|| panic!("{target:?}: routed {routed:?} has a broken escape"));
    let received = target.split('?').next().unwrap_or(target);
    let received = received.split('#').next().unwrap_or(received);
    for path in [received, &checked.path] {
        for merge_first in [true, false] {
            let served = served_path(path, merge_first);
            assert_eq!(
                served.as_deref(),
                Some(&decoded[..]),
                "{target:?}: nginx serves {path:?} as another path than {:?}",
                checked.path
            );
        }
    }
    let slashes = |p: &[u8]| p.iter().filter(|b| **b == b'/').count();
    assert_eq!(slashes(&decoded), slashes(routed), "{target:?}");
    assert_eq!(plain_prefix(&decoded), plain_prefix(routed), "{target:?}");
    assert!(!decoded.iter().any(u8::is_ascii_control), "{target:?}");
}

/// `target` with its path's runs of `/` as one.
fn collapsed(target: &str) -> String {
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let path = String::from_utf8(merged_slashes(path.as_bytes())).expect("ASCII in, ASCII out");
    match query {
        Some(q) => format!("{path}?{q}"),
        None => path,
    }
}

/// What nginx serves for `path`: decoded, slashes merged and dot segments
/// removed (`merge_first` picks the order); `None` for nginx's 400s (a
/// broken escape, a `..` above the root).
fn served_path(path: &str, merge_first: bool) -> Option<Vec<u8>> {
    let decoded = percent_decoded(path.as_bytes())?;
    if merge_first {
        remove_dot_segments(&merged_slashes(&decoded))
    } else {
        Some(merged_slashes(&remove_dot_segments(&decoded)?))
    }
}

/// Every `%XY` decoded; `None` for a `%` without two hex digits.
fn percent_decoded(s: &[u8]) -> Option<Vec<u8>> {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            let (hi, lo) = (hex(*s.get(i + 1)?)?, hex(*s.get(i + 2)?)?);
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Runs of `/` as one.
fn merged_slashes(s: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(s.len());
    for &b in s {
        if !(b == b'/' && out.last() == Some(&b'/')) {
            out.push(b);
        }
    }
    out
}

/// RFC 3986 §5.2.4 on an absolute path; `None` when a `..` climbs above
/// the root.
fn remove_dot_segments(path: &[u8]) -> Option<Vec<u8>> {
    let segments: Vec<&[u8]> = path.split(|b| *b == b'/').skip(1).collect();
    let mut kept: Vec<&[u8]> = Vec::new();
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *seg {
            b"." if last => kept.push(b""),
            b"." => {}
            b".." => {
                kept.pop()?;
                if last {
                    kept.push(b"");
                }
            }
            s => kept.push(s),
        }
    }
    let mut out = Vec::with_capacity(path.len());
    for seg in kept {
        out.push(b'/');
        out.extend_from_slice(seg);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    Some(out)
}

/// The first bytes of `path` a configured prefix can name (letters,
/// digits, `-._~`, `/`).
fn plain_prefix(path: &[u8]) -> &[u8] {
    let end = path
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || b"-._~/".contains(b)))
        .unwrap_or(path.len());
    &path[..end]
}
