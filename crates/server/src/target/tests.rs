use proptest::prelude::*;
use proptest::strategy::ValueTree;

use super::*;

#[test]
fn plain_targets_are_told_apart() {
    for plain in [
        "/",
        "/live/ch1/720p/seg1.ts",
        "/a/b/",
        "/a.b/c~d-e_f",
        "/x.m3u8",
    ] {
        assert!(super::is_plain(plain), "{plain}");
        assert_eq!(check(plain), super::general(plain), "{plain}");
    }
    for other in [
        "/a//b",
        "/.",
        "/a/..",
        "/a/.hidden",
        "/a?b",
        "/a;b",
        "/a%41",
        "/a b",
        "/é",
    ] {
        assert!(!super::is_plain(other), "{other}");
    }
}

#[test]
fn a_segment_that_only_looks_like_an_encoded_dot_passes() {
    // Found by the property test of the plain-target path: the dot-segment
    // rule read any byte before `2e` as a `%`, so `/22e` (a segment "22e")
    // was refused as `/%2e`.
    for target in ["/22e", "/v2E/x", "/a2e;p", "/x2ey2e/seg.ts"] {
        assert!(check(target).is_ok(), "{target}");
        assert!(super::general(target).is_ok(), "{target}");
    }
    assert_eq!(check("/%2e%2E"), Err(BadTarget::DotSegment));
}

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
        ("/live/a\"b.m3u8", BadTarget::Forbidden),
        ("/live/<script>.m3u8", BadTarget::Forbidden),
        ("/live/x.m3u8?t=\"1\"", BadTarget::Forbidden),
    ] {
        assert_eq!(check(t), Err(want), "{t:?}");
    }
    assert_eq!(
        check(&format!("/{}", "a".repeat(MAX_TARGET))),
        Err(BadTarget::TooLong)
    );
}

/// The examples (issue 13, point 1): each walks out of its prefix
/// once a server decodes `%2e` and `%2f` and removes the dot segments.
#[test]
fn encoded_dot_segments_and_slashes_are_refused() {
    use BadTarget::{DotSegment, EncodedSlash};
    for (t, want) in [
        ("/live/%2e%2e%2fprivate/x.m3u8", EncodedSlash),
        ("/vod/x/..%2fy", EncodedSlash),
        ("/vod/%2E%2e/private/x.mp4", DotSegment),
        ("/vod/%2e%2E/private/x.mp4", DotSegment),
        ("/live/a%2f..%2f..%2fb", EncodedSlash),
        ("/live/a%2F..%2F..%2Fprivate", EncodedSlash),
        ("/live/.%2e/private", DotSegment),
        ("/live/%2e./private", DotSegment),
        ("/live/%2e/x", DotSegment),
        ("/live/x%2fy.m3u8", EncodedSlash),
        ("/live/%2f/x", EncodedSlash),
    ] {
        assert_eq!(check(t), Err(want), "{t:?}");
    }
}

#[test]
fn encoded_control_characters_are_refused_in_path_and_query() {
    for t in [
        "/live/a%09b",
        "/live/a%1bb",
        "/live/%1B[31m",
        "/live/a%7fb",
        "/live/a%7F",
        "/live/a%01",
        "/live/a%1f",
        "/live/a?x=%09",
        "/live/a?x=%1b",
        "/live/a?x=%7F",
        "/live/a?x=%00",
    ] {
        assert_eq!(check(t), Err(BadTarget::Forbidden), "{t:?}");
    }
}

/// Encoded unreserved characters (RFC 3986 §2.3: producers never encode
/// them) would be routed as written and served decoded: `/l%69ve/` is not
/// under a `/live/` rule for routecast but is `/live/` for the site.
#[test]
fn encoded_unreserved_characters_are_refused() {
    for (t, character) in [
        ("/l%69ve/x.m3u8", 'i'),
        ("/live/x%2em3u8", '.'),
        ("/live/%41", 'A'),
        ("/live/a%7eb", '~'),
        ("/live/a%2Db", '-'),
        ("/live/%5F", '_'),
    ] {
        assert_eq!(
            check(t),
            Err(BadTarget::EncodedUnreserved { character }),
            "{t:?}"
        );
    }
}

/// Path parameters (`;…`) are stripped by Tomcat, Jetty and Spring before
/// the dot segments are removed: `..;x` is `..` there.
#[test]
fn dot_segments_with_path_parameters_are_refused() {
    for t in [
        "/live/..;/private/x",
        "/live/.;x/y",
        "/live/..;jsessionid=1/private",
        "/live/%2e%2e;/private/x",
    ] {
        assert_eq!(check(t), Err(BadTarget::DotSegment), "{t:?}");
    }
}

/// A `%` must start `%XY` in the path (nginx answers 400 otherwise).
#[test]
fn broken_escapes_in_the_path_are_refused() {
    for t in [
        "/live/a%",
        "/live/a%2",
        "/live/%zz/x",
        "/live/%g0",
        "/live/%%41",
    ] {
        assert_eq!(check(t), Err(BadTarget::BadEscape), "{t:?}");
    }
    // The query is the site's to read: nginx does not decode it.
    assert!(check("/live/a?x=%zz").is_ok());
}

#[test]
fn legitimate_encodings_pass_as_written() {
    for t in [
        "/live/a%20b/x.m3u8",
        "/live/100%25/x.m3u8",
        "/live/caf%C3%A9/x.m3u8",
        "/live/caf%c3%a9/x.m3u8",
        "/live/a%3Ab%40c%2C%3B%3D%26%2B%24%21%27%28%29%2A/x",
        "/live/a%3Fb%23c%5B%5D/x",
        "/live/%252e%252e%252f/x",
        "/live/a%22b%3Cc%3E%7B%7D%7C%5E%60",
        "/live/a;b=c/x.m3u8",
        "/live/.hidden/...//x",
        "/live/x.m3u8?sig=a%2Fb%2e%3D&t=%20",
    ] {
        let (path, query) = t.split_once('?').unwrap_or((t, ""));
        let want = path.replace("//", "/");
        let got = check(t).unwrap_or_else(|e| panic!("{t:?} refused: {e}"));
        assert_eq!(got.path, want, "{t:?}");
        assert_eq!(
            got.query.as_deref(),
            t.contains('?').then_some(query),
            "{t:?}"
        );
    }
}

/// An independent model of what a standard server (nginx with its defaults)
/// does with a request path, from nginx's `ngx_http_parse_complex_uri`:
/// every `%XY` decoded (a broken escape is a 400: `None`), slashes merged
/// and dot segments removed (RFC 3986 §5.2.4; above the root is a 400:
/// `None`). `merge_first` picks the order (nginx merges as it goes; RFC
/// 3986 tools remove dot segments first): the guard must not depend on it.
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

/// RFC 3986 §5.2.4 on an absolute path, segment by segment; `None` when a
/// `..` would climb above the root (nginx's 400).
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

#[test]
fn the_server_model_follows_rfc_3986_and_nginx() {
    // RFC 3986 §5.2.4's own examples, and nginx's answers.
    let s = |p: &str, m| served_path(p, m).map(|v| String::from_utf8_lossy(&v).into_owned());
    assert_eq!(s("/a/b/c/./../../g", false).as_deref(), Some("/a/g"));
    assert_eq!(s("/a/b/c/./../../g", true).as_deref(), Some("/a/g"));
    assert_eq!(
        s("/live/%2e%2e%2fprivate/x.m3u8", true).as_deref(),
        Some("/private/x.m3u8")
    );
    assert_eq!(s("/vod/x/..%2fy", false).as_deref(), Some("/vod/y"));
    assert_eq!(s("/live/a%2f..%2f..%2fb", true).as_deref(), Some("/b"));
    assert_eq!(s("/a%2f..%2f..%2fb", true), None);
    assert_eq!(s("/a//../b", true).as_deref(), Some("/b"));
    assert_eq!(s("/a//../b", false).as_deref(), Some("/a/b"));
    assert_eq!(s("/..", true), None);
    assert_eq!(s("/a%zz", true), None);
    assert_eq!(s("/caf%C3%A9", true).as_deref(), Some("/café"));
}

/// The first bytes of `path` that a configured prefix can name (letters,
/// digits, `-._~` and `/`): a prefix rule matches the routed path exactly
/// when it matches the served one if these agree.
fn plain_prefix(path: &[u8]) -> &[u8] {
    let end = path
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || b"-._~/".contains(b)))
        .unwrap_or(path.len());
    &path[..end]
}

const BASE: &str = "https://edge.cdn.example:8443/base";

/// Pieces of request targets, rich in what hostile ones are made of.
fn target_piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "/", "/", "/", ".", ".", "..", "%", "%", "2", "e", "E", "f", "F", "5", "c", "C", "0", "9",
        "1b", "7f", "3b", "a", "b", "x.m3u8", "live", ";", "?", "~", "-", "_", "%2e", "%2E", "%2f",
        "%2F", "%25", "%20", "%C3%A9", "%3A", "%41", "%09", "%1b", "%7F", "%5c", "&", "=",
    ])
}

/// Whether `t`'s path would leave its place on a server if not refused:
/// the hostile forms the property must meet.
fn hostile(t: &str) -> bool {
    let path = t.split('?').next().unwrap_or(t);
    match served_path(path, true) {
        Some(served) => {
            percent_decoded(path.as_bytes()).is_some_and(|d| merged_slashes(&d) != served)
                || path.to_ascii_lowercase().contains("%2f")
        }
        None => true,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    /// The one-scan path for plain targets answers as the general rules.
    #[test]
    fn plain_targets_take_the_general_rules_answer(pieces in prop::collection::vec(target_piece(), 0..14)) {
        let target = format!("/{}", pieces.concat());
        if super::is_plain(&target) {
            prop_assert_eq!(check(&target), super::general(&target), "{:?}", target);
        }
    }

    /// What the site serves for the `Location` we send (and what the
    /// origin serves for the playlist we fetch) is the path we routed,
    /// decoded: same segments, same prefix, whatever order the server
    /// normalises in; and `Location` is the site's base followed by the
    /// target as received (repeated slashes collapsed).
    #[test]
    fn accepted_targets_are_served_as_routed(pieces in prop::collection::vec(target_piece(), 1..14)) {
        let target = format!("/{}", pieces.concat());
        let Ok(routed) = check(&target) else { return Ok(()) };
        let location = match &routed.query {
            Some(q) => format!("{BASE}{}?{q}", routed.path),
            None => format!("{BASE}{}", routed.path),
        };
        prop_assert_eq!(&location, &format!("{BASE}{}", collapsed(&target)));
        let sent = location.strip_prefix(BASE).and_then(|p| p.split('?').next()).unwrap_or("");
        let decoded = percent_decoded(routed.path.as_bytes());
        prop_assert!(decoded.is_some(), "{:?} routed undecodable {:?}", target, routed);
        let decoded = decoded.unwrap_or_default();
        for merge_first in [true, false] {
            let served = served_path(sent, merge_first);
            prop_assert_eq!(served.as_deref(), Some(&decoded[..]), "{:?} -> {:?}", target, routed);
        }
        let slashes = |p: &[u8]| p.iter().filter(|b| **b == b'/').count();
        prop_assert_eq!(slashes(&decoded), slashes(routed.path.as_bytes()), "{:?}", target);
        prop_assert_eq!(plain_prefix(&decoded), plain_prefix(routed.path.as_bytes()), "{:?}", target);
        prop_assert!(!decoded.iter().any(|b| b.is_ascii_control()), "{:?}", target);
    }
}

/// `target` with its path's runs of `/` as one.
fn collapsed(target: &str) -> String {
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let path = String::from_utf8(merged_slashes(path.as_bytes())).unwrap_or_default();
    match query {
        Some(q) => format!("{path}?{q}"),
        None => path,
    }
}

/// The generator meets the hostile forms: of 4096 targets from the same
/// pieces, hundreds would leave their place on nginx, and the guard
/// refuses every one of them.
#[test]
fn the_generated_targets_include_hostile_ones_and_all_are_refused() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = prop::collection::vec(target_piece(), 1..14);
    let (mut hostile_seen, mut accepted) = (0, 0);
    for _ in 0..4096 {
        let pieces = strategy
            .new_tree(&mut runner)
            .map(|t| t.current())
            .unwrap_or_default();
        let target = format!("/{}", pieces.concat());
        if hostile(&target) {
            hostile_seen += 1;
            assert!(check(&target).is_err(), "{target:?} passed");
        } else if check(&target).is_ok() {
            accepted += 1;
        }
    }
    assert!(
        hostile_seen > 300,
        "{hostile_seen} hostile targets generated"
    );
    assert!(accepted > 300, "{accepted} targets accepted");
}
