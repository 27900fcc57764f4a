//! Hostile request targets (security): never an off-platform `Location` or
//! playlist URI, 400 for tricks, limits on heads, no crash under 10,000
//! generated attacks.

use crate::support::{
    body, example_in, get, header, launch, raw, responder_for, start, status, SITES,
};

#[test]
fn hostile_requests_get_400_and_never_an_off_platform_location() {
    let s = start(&[]);
    for target in [
        "//evil.example/x",
        "/a/../../etc/passwd",
        "/a/%2e%2e/b",
        "/a%0d%0aLocation:%20http://evil.example/",
        "/\\evil.example/",
        "http://evil.example/x",
    ] {
        let r = get(s.addr, target, "");
        assert_eq!(status(&r), 400, "{target}: {r}");
        assert!(header(&r, "location").is_none(), "{target}");
    }
    let r = raw(
        s.addr,
        b"POST /live/x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status(&r), 405);
    // A 20 KB header is refused (431), and so is a flood of header fields.
    let big = format!("X-Big: {}\r\n", "a".repeat(20_000));
    assert_eq!(status(&get(s.addr, "/live/x", &big)), 431);
    let many: String = (0..200).map(|i| format!("X-H{i}: v\r\n")).collect();
    assert_eq!(status(&get(s.addr, "/live/x", &many)), 431);
    // Raw CR/LF or spaces in the request line are not even HTTP.
    assert_eq!(
        status(&raw(s.addr, b"GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n")),
        400
    );
}

#[test]
fn ten_thousand_hostile_requests_never_crash_or_redirect_off_platform() {
    // The example, its /live/ playlists fetched from a loopback origin.
    let dir = tempfile::tempdir().expect("temp dir");
    let origin = responder_for(|_| {
        Some((
            "200 OK",
            "#EXTM3U\n#EXTINF:4,\nseg.ts\n#EXTINF:4,\nhttps://elsewhere.example/x.ts\n".to_string(),
        ))
    });
    let config = example_in(dir.path(), &format!("http://{origin}"));
    let (s, _) = launch(&config, &["--trusted-proxy", "127.0.0.0/8"], false);
    let mut playlists = 0;
    // A fixed-seed generator of nasty targets and headers (SplitMix64).
    let mut rng = routecast_engine::hash::SplitMix64::new(0x5eed);
    let mut next = move || rng.next_u64();
    let pieces: [&[u8]; 22] = [
        b"/",
        b"//",
        b"/live/",
        b"/vod/",
        b"..",
        b"%2e%2E",
        b"%0d%0a",
        b"\\",
        b"@evil.example",
        b"http://evil.example",
        b"?",
        b"#",
        b"%",
        b"%zz",
        b"\xff\xfe",
        b" ",
        b"\t",
        b"Location: x",
        b";",
        b"a",
        b"index.m3u8",
        b"%5C",
    ];
    let headers: [&str; 6] = [
        "X-Forwarded-For: evil.example\r\n",
        "X-Forwarded-For: 81.2.69.142, ::1\r\n",
        "Forwarded: for=\"[::1\r\n",
        "Host: evil.example\r\n",
        "Accept: application/json\r\n",
        "",
    ];
    let mut statuses = std::collections::BTreeMap::new();
    for _ in 0..10_000 {
        let mut target = Vec::new();
        for _ in 0..(1 + next() % 6) {
            target.extend_from_slice(pieces[(next() % pieces.len() as u64) as usize]);
        }
        let mut req = b"GET ".to_vec();
        req.extend_from_slice(&target);
        req.extend_from_slice(b" HTTP/1.1\r\nHost: tr.example.net\r\n");
        req.extend_from_slice(headers[(next() % headers.len() as u64) as usize].as_bytes());
        req.extend_from_slice(b"Connection: close\r\n\r\n");
        let r = raw(s.addr, &req);
        let code = status(&r);
        *statuses.entry(code).or_insert(0u32) += 1;
        assert!(
            [200, 302, 400, 404, 431, 503, 0].contains(&code),
            "unexpected {code} for {:?}: {r}",
            String::from_utf8_lossy(&req)
        );
        if header(&r, "content-type") == Some("application/vnd.apple.mpegurl") {
            playlists += 1;
            for uri in body(&r).lines().filter(|l| !l.starts_with('#')) {
                assert!(
                    uri == "https://elsewhere.example/x.ts"
                        || SITES.iter().any(|site| uri
                            .starts_with(&format!("https://{site}.cdn.example.net/live/"))),
                    "off-platform URI {uri:?} for {:?}",
                    String::from_utf8_lossy(&target)
                );
            }
        }
        if let Some(location) = header(&r, "location") {
            assert!(
                SITES
                    .iter()
                    .any(|site| location.starts_with(&format!("https://{site}.cdn.example.net/"))),
                "off-platform Location {location:?} for {:?}",
                String::from_utf8_lossy(&target)
            );
        }
    }
    // Still serving.
    assert_eq!(status(&get(s.addr, "/healthz", "")), 200);
    assert!(playlists > 0, "some targets were playlists: {statuses:?}");
    assert!(
        statuses.get(&400).copied().unwrap_or(0) > 1000
            && statuses.get(&302).copied().unwrap_or(0) > 100,
        "{statuses:?}"
    );
}
