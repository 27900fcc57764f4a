//! Hostile request targets (security): never an off-platform `Location` or
//! playlist URI, 400 for tricks, limits on heads, no crash under 10,000
//! generated attacks.

use crate::nginx;
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

/// A path under `/private/` on nginx, readable from the platform's own
/// addresses only (loopback here): what a hostile target must never reach.
const SECRET: &str = "SECRET-7f3a";

/// nginx as the site and the playlist origin: `/live/` content, and an
/// internal-only `/private/` holding the secret (a playlist and a file);
/// every request's decoded, normalised path (nginx's `$uri`) is logged to
/// `uris.log`. Returns nginx and routecast's configuration for it.
fn nginx_with_a_private_location(dir: &std::path::Path) -> (nginx::Nginx, std::path::PathBuf) {
    let (root, logs) = (dir.join("www"), dir.join("nginx"));
    for d in ["live/show", "private"] {
        std::fs::create_dir_all(root.join(d)).expect("mkdir");
    }
    std::fs::create_dir_all(&logs).expect("mkdir");
    let playlist = |uri: &str| format!("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\n{uri}\n");
    let files = [
        ("live/show/index.m3u8", playlist("seg1.ts")),
        ("live/show/seg one.ts", "segment".to_string()),
        ("private/secret.m3u8", playlist(&format!("{SECRET}.ts"))),
        ("private/secret.txt", SECRET.to_string()),
    ];
    for (path, text) in files {
        std::fs::write(root.join(path), text).expect("write");
    }
    let site = nginx::Nginx::start(&logs, |port| {
        format!(
            "    log_format uris '$uri $status';\n    server {{\n        listen 127.0.0.1:{port};\n        \
             root {};\n        access_log {}/uris.log uris;\n        \
             location /live/ {{ }}\n        \
             location /private/ {{ allow 127.0.0.1; deny all; }}\n    }}",
            root.display(),
            logs.display()
        )
    });
    let config = dir.join("nginx-site.toml");
    let url = site.url("");
    let text = format!(
        "[[sites]]\nname = \"edge\"\nurls = [\"{url}\"]\nlocation = {{ lat = 0, lon = 0 }}\n\n\
         [[policies]]\nname = \"p\"\nsteps = [{{ step = \"closest\" }}]\n\n\
         [[playlists]]\ncontent = [\"/live/\"]\norigin = \"{url}\"\n"
    );
    std::fs::write(&config, text).expect("write config");
    (site, config)
}

/// What curl gets for `url`, sent exactly as written (`--path-as-is`).
fn curl_as_is(url: &str) -> String {
    let out = std::process::Command::new("curl")
        .args(["-s", "--path-as-is", "--max-time", "10", url])
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Issue 13, point 1: targets that nginx decodes and normalises out of
/// `/live/` into `/private/` get 400 from routecast; neither routecast's
/// own playlist fetch (from inside, past the origin's address rule) nor a
/// viewer following a `Location` as written ever reaches `/private/`.
#[test]
fn encoded_dot_segments_never_reach_a_private_location_on_nginx() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (site, config) = nginx_with_a_private_location(dir.path());
    // The secret is there for the platform's own addresses: a target that
    // resolved to it would get it.
    assert_eq!(curl_as_is(&site.url("/private/secret.txt")), SECRET);
    let uris = dir.path().join("nginx/uris.log");
    std::fs::write(&uris, "").expect("empty the log");
    let (s, _) = launch(&config, &[], false);
    let (mut leaks, mut passed) = (Vec::new(), Vec::new());
    for hostile in [
        "/live/%2e%2e%2fprivate/secret",
        "/live/..%2fprivate/secret",
        "/live/show/..%2f..%2fprivate/secret",
        "/live/a%2f..%2f..%2fprivate/secret",
        "/live/a%2F..%2F..%2Fprivate/secret",
        "/live/%2E%2e/private/secret",
        "/live/.%2e/private/secret",
    ] {
        for target in [format!("{hostile}.m3u8"), format!("{hostile}.txt")] {
            let r = get(s.addr, &target, "");
            if body(&r).contains(SECRET) {
                leaks.push(format!("{target}: the fetched playlist"));
            }
            if let Some(location) = header(&r, "location") {
                if curl_as_is(location).contains(SECRET) {
                    leaks.push(format!("{target}: {location}"));
                }
            }
            if status(&r) != 400 {
                passed.push(format!("{target}: {}", status(&r)));
            }
        }
    }
    let reached: Vec<String> = std::fs::read_to_string(&uris)
        .expect("nginx's log")
        .lines()
        .filter(|l| l.starts_with("/private"))
        .map(str::to_string)
        .collect();
    assert!(
        leaks.is_empty() && reached.is_empty() && passed.is_empty(),
        "secret leaked: {leaks:?}; nginx served {reached:?}; not refused: {passed:?}"
    );
    // Content under /live/ is fetched and redirected to as before.
    let r = get(s.addr, "/live/show/index.m3u8", "");
    assert_eq!(status(&r), 200, "{r}");
    assert!(body(&r).contains(&site.url("/live/show/seg1.ts")), "{r}");
    let r = get(s.addr, "/live/show/seg%20one.ts", "");
    let location = header(&r, "location").expect("a redirect");
    assert_eq!(location, site.url("/live/show/seg%20one.ts"));
    assert_eq!(curl_as_is(location), "segment");
}
