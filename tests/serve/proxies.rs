//! Trusted proxies: forwarded client addresses count only from them, and
//! only they see the decision's explanation.

use crate::support::{get, start};

#[test]
fn forwarded_addresses_count_only_from_trusted_proxies() {
    // Untrusted: 127.0.0.1 itself is the client (no GeoIP data: default group).
    let s = start(&[]);
    let r = get(
        s.addr,
        "/live/a/index.m3u8?format=json",
        "X-Forwarded-For: 81.2.69.142\r\n",
    );
    let body: serde_json::Value =
        serde_json::from_str(r.split("\r\n\r\n").nth(1).expect("body")).expect("JSON");
    assert_eq!(body["group"], "rest-of-world");
    assert!(
        body.get("policy").is_none(),
        "no explanation for untrusted clients"
    );
    drop(s);
    // Trusted: the forwarded address is the client (GB, group uk, prefers lon).
    let s = start(&["--trusted-proxy", "127.0.0.0/8"]);
    let r = get(
        s.addr,
        "/live/a/index.m3u8",
        "X-Forwarded-For: 81.2.69.142\r\nAccept: application/json\r\n",
    );
    let body: serde_json::Value =
        serde_json::from_str(r.split("\r\n\r\n").nth(1).expect("body")).expect("JSON");
    assert_eq!(
        (body["group"].as_str(), body["site"].as_str()),
        (Some("uk"), Some("lon")),
        "{body}"
    );
    assert_eq!(body["url"], "https://lon.cdn.example.net/live/a/index.m3u8");
    assert_eq!(body["policy"], "uk-live");
}

/// The decision for `/live/a/index.m3u8` with these header lines, as JSON.
fn decision(addr: std::net::SocketAddr, headers: &str) -> serde_json::Value {
    let r = get(
        addr,
        "/live/a/index.m3u8",
        &format!("{headers}Accept: application/json\r\n"),
    );
    serde_json::from_str(r.split("\r\n\r\n").nth(1).expect("body")).expect("JSON")
}

#[test]
fn nothing_left_of_an_unusable_forwarded_entry_is_believed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("access.log");
    let s = start(&[
        "--trusted-proxy",
        "127.0.0.0/8",
        "--access-log",
        log.to_str().expect("utf-8"),
    ]);
    // 81.2.69.142 is in GB (group uk); the peer, 127.0.0.1, is nowhere
    // (rest-of-world). Behind garbage, the last trusted hop (the peer) is
    // the client, never the address the client wrote.
    let group = |headers: &str| decision(s.addr, headers)["group"].clone();
    for headers in [
        "X-Forwarded-For: 81.2.69.142, garbage\r\n",
        "X-Forwarded-For: 81.2.69.142, 999.1.1.1\r\n",
        "X-Forwarded-For: 81.2.69.142\r\nX-Forwarded-For: unknown\r\n",
        "Forwarded: for=81.2.69.142, for=unknown\r\n",
        "Forwarded: for=81.2.69.142, for=\"_hidden\"\r\n",
        "Forwarded: for=81.2.69.142\r\nForwarded: for=2001:db8::1\r\n",
        // Both headers, saying different things: neither is believed.
        "Forwarded: for=81.2.69.142\r\nX-Forwarded-For: 175.16.199.5\r\n",
    ] {
        assert_eq!(group(headers), "rest-of-world", "{headers:?}");
    }
    // The node forms proxies write.
    for headers in [
        "Forwarded: for=\"81.2.69.142:4711\"\r\n",
        "Forwarded: for=81.2.69.142:4711;proto=https\r\n",
        "Forwarded: for=\"[::ffff:81.2.69.142]:_port\"\r\n",
        "X-Forwarded-For: 81.2.69.142:4711\r\n",
        "X-Forwarded-For: 6.6.6.6, 81.2.69.142, 127.0.0.9\r\n",
        "Forwarded: for=81.2.69.142\r\nX-Forwarded-For: 81.2.69.142\r\n",
    ] {
        assert_eq!(group(headers), "uk", "{headers:?}");
    }
    // The access log says which client was used.
    let r = get(
        s.addr,
        "/live/b.ts",
        "X-Forwarded-For: 81.2.69.142, garbage, 127.0.0.9\r\n",
    );
    assert_eq!(crate::support::status(&r), 302);
    let logged = || std::fs::read_to_string(&log).unwrap_or_default();
    crate::support::within(std::time::Duration::from_secs(5), || {
        logged().contains("/live/b.ts")
    })
    .expect("logged");
    let text = logged();
    let line = text
        .lines()
        .find(|l| l.contains("/live/b.ts"))
        .expect("line");
    assert!(
        line.contains(" chi=127.0.0.9 rhi=127.0.0.1 "),
        "the last trusted hop: {line}"
    );
}
