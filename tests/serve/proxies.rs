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
