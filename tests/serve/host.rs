//! The `Host` header (RFC 9112 §3.2) on the wire: exactly one in an
//! HTTP/1.1 request, an RFC 3986 host with an optional port; else 400,
//! not routed and not logged.

use std::time::Duration;

use crate::support::{raw, start, status, within};

/// `GET /live/x` with these header lines (each ending in CRLF).
fn get_with(addr: std::net::SocketAddr, version: &str, headers: &[u8]) -> u16 {
    let mut request = format!("GET /live/x {version}\r\n").into_bytes();
    request.extend_from_slice(headers);
    request.extend_from_slice(b"Connection: close\r\n\r\n");
    status(&raw(addr, &request))
}

#[test]
fn a_request_without_exactly_one_valid_host_gets_400() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("access.log");
    let s = start(&["--access-log", log.to_str().expect("utf-8")]);
    let v11 = "HTTP/1.1";
    assert_eq!(get_with(s.addr, v11, b""), 400, "no Host");
    assert_eq!(
        get_with(s.addr, v11, b"Host: a.example\r\nHost: a.example\r\n"),
        400,
        "two Hosts"
    );
    assert_eq!(
        get_with(
            s.addr,
            v11,
            b"Host: a.example\r\nX-A: 1\r\nhost: b.example\r\n"
        ),
        400,
        "two Hosts, apart"
    );
    for bad in [
        &b"a b"[..],
        b"a\"b",
        b"a\tb",
        b"a/b",
        b"user@a.example",
        b"a.example:99999",
        b"a.example:",
        b"[::1",
        b"[::1]x",
        b"::1",
        b"\xc3\xa9.example",
        b"",
    ] {
        let mut h = b"Host: ".to_vec();
        h.extend_from_slice(bad);
        h.extend_from_slice(b"\r\n");
        assert_eq!(
            get_with(s.addr, v11, &h),
            400,
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    for good in [
        "tr.example.net",
        "TR.example.net:8080",
        "192.0.2.1:80",
        "[::1]",
        "[2001:db8::1]:443",
        "xn--bcher-kva.example",
    ] {
        let h = format!("Host: {good}\r\n");
        assert_eq!(get_with(s.addr, v11, h.as_bytes()), 302, "{good}");
    }
    // HTTP/1.0 needs none (RFC 9112 asks it of HTTP/1.1), but one it sends
    // is checked alike.
    assert_eq!(get_with(s.addr, "HTTP/1.0", b""), 302);
    assert_eq!(get_with(s.addr, "HTTP/1.0", b"Host: a b\r\n"), 400);
    // Only the 7 routed requests are logged; the refused Hosts are not.
    let lines = || {
        std::fs::read_to_string(&log)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    within(Duration::from_secs(5), || lines() >= 7).expect("seven lines");
    std::thread::sleep(Duration::from_millis(200));
    let text = std::fs::read_to_string(&log).expect("log");
    assert_eq!(text.lines().count(), 7, "{text}");
    assert!(
        text.contains("url=\"http://[2001:db8::1]:443/live/x\""),
        "{text}"
    );
}
