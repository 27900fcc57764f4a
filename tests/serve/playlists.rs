//! Playlists answered by routecast: fetched from a stand-in origin,
//! rewritten for the chosen site, steerable, handed over to the fallback
//! site when the origin fails, and never pointing off the platform.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::support::{body, get, header, launch, post, responder_for, status, within, Server};

/// A stand-in origin behind one site: serves playlists by path, or fails.
struct Origin {
    addr: SocketAddr,
    /// 0: serves; 1: answers 503; 2: hangs.
    mode: std::sync::Arc<std::sync::atomic::AtomicU8>,
    /// Paths asked for, in order.
    asked: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

const SERVES: u8 = 0;
const FAILS: u8 = 1;
const HANGS: u8 = 2;

/// A live media playlist: relative, absolute-path and absolute URIs on the
/// origin itself, a key and an init segment.
fn media_playlist(me: SocketAddr) -> String {
    format!(
        "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:100\n\
         #EXT-X-KEY:METHOD=AES-128,URI=\"key.bin\"\n#EXT-X-MAP:URI=\"init.mp4\"\n\
         #EXTINF:4.0,\nseg100.ts\n#EXTINF:4.0,\n/live/show/seg101.ts\n\
         #EXTINF:4.0,\nhttp://{me}/live/show/seg102.ts?v=1\n#EXTINF:4.0,\n720p/../seg103.ts\n"
    )
}

const MULTIVARIANT: &str = "#EXTM3U\n#EXT-X-VERSION:6\n\
    #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"en\",DEFAULT=YES,URI=\"audio/index.m3u8\"\n\
    #EXT-X-STREAM-INF:BANDWIDTH=800000,AUDIO=\"aud\"\nlow/index.m3u8\n\
    #EXT-X-STREAM-INF:BANDWIDTH=3000000,AUDIO=\"aud\"\nhigh/index.m3u8\n";

/// What a hostile origin writes: other hosts, other schemes, tricks.
const HOSTILE_URIS: [&str; 6] = [
    "https://evil.example/steal.ts",
    "javascript:alert(1)",
    "//evil.example/x.ts",
    "http://127.0.0.1@evil.example/live/x.ts",
    "data:text/html,<script>alert(1)</script>",
    "HTTPS://EVIL.EXAMPLE/Y.TS",
];

fn origin() -> Origin {
    use std::sync::atomic::{AtomicU8, Ordering};
    let mode = std::sync::Arc::new(AtomicU8::new(SERVES));
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (m, a) = (mode.clone(), asked.clone());
    let me = std::sync::Arc::new(std::sync::OnceLock::<SocketAddr>::new());
    let me2 = me.clone();
    let addr = responder_for(move |path| {
        if let Ok(mut a) = a.lock() {
            a.push(path.to_string());
        }
        let me = *me2.get().expect("address known");
        match m.load(Ordering::Relaxed) {
            FAILS => return Some(("503 Service Unavailable", "down".into())),
            HANGS => return None,
            _ => {}
        }
        let body = match path.split('?').next().unwrap_or("") {
            "/live/show/index.m3u8" => media_playlist(me),
            "/live/show/master.m3u8" => MULTIVARIANT.to_string(),
            "/live/hostile.m3u8" => {
                let mut t = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n".to_string();
                for u in HOSTILE_URIS {
                    t.push_str(&format!(
                        "#EXT-X-KEY:METHOD=AES-128,URI=\"{u}\"\n#EXTINF:4,\n{u}\n"
                    ));
                }
                t + "#EXTINF:4,\nseg1.ts\n"
            }
            "/live/cr.m3u8" => {
                "#EXTM3U\n#EXTINF:4,\nseg1.ts\rhttps://evil.example/x.ts\n".to_string()
            }
            "/live/html.m3u8" => "<html>maintenance</html>".to_string(),
            _ => return Some(("404 Not Found", String::new())),
        };
        Some(("200 OK", body))
    });
    let _ = me.set(addr);
    Origin { addr, mode, asked }
}

/// Sites `a` and `b` (preferred in that order), each with a public URL and
/// a loopback `http://` URL where its origin answers; `/live/` playlists
/// served by routecast with steering. Admin listener with a token.
fn start_playlists(a: &Origin, b: &Origin, dir: &Path) -> (Server, SocketAddr) {
    start_playlists_with(a, b, dir, &[], "")
}

/// [`start_playlists`] with `extra` arguments and `rule` lines added to
/// the `[[playlists]]` rule.
fn start_playlists_with(
    a: &Origin,
    b: &Origin,
    dir: &Path,
    extra: &[&str],
    rule: &str,
) -> (Server, SocketAddr) {
    let site = |name: &str, o: &Origin| {
        format!(
            "[[sites]]\nname = \"{name}\"\nurls = [\"https://{name}.example.net\", \"http://{}\"]\nlocation = {{ lat = 0, lon = 0 }}\n\n",
            o.addr
        )
    };
    let config = dir.join("playlists.toml");
    let text = format!(
        "{}{}[[policies]]\nname = \"p\"\nsteps = [{{ step = \"preference\", sites = [\"a\", \"b\"] }}]\n\n\
         [[playlists]]\ncontent = [\"/live/\"]\norigin = \"site\"\nsteering = true\ntimeout_ms = 500\n{rule}",
        site("a", a),
        site("b", b)
    );
    std::fs::write(&config, text).expect("write config");
    let token = dir.join("token");
    std::fs::write(&token, "s3cret-token-for-tests\n").expect("write token");
    let mut args = vec!["--admin-token-file", token.to_str().expect("utf-8")];
    args.extend_from_slice(extra);
    let (s, admin) = launch(&config, &args, true);
    (s, admin.expect("admin listener"))
}

/// Every URI of a playlist: URI lines and `URI="…"` attributes.
fn playlist_uris(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        if !line.starts_with('#') && !line.trim().is_empty() {
            out.push(line.to_string());
        }
        for part in line.split("URI=\"").skip(1) {
            out.push(part.split('"').next().unwrap_or("").to_string());
        }
    }
    out
}

/// The segment URIs (lines after `#EXTINF`).
fn segments(text: &str) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().collect();
    lines
        .windows(2)
        .filter(|w| w[0].starts_with("#EXTINF"))
        .map(|w| w[1])
        .collect()
}

#[test]
fn a_media_playlist_comes_back_with_every_segment_at_the_chosen_site() {
    let (a, b) = (origin(), origin());
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("access.log");
    let (s, _) = start_playlists_with(
        &a,
        &b,
        dir.path(),
        &["--access-log", log.to_str().expect("utf-8")],
        "",
    );
    let r = get(s.addr, "/live/show/index.m3u8?token=t1", "");
    assert_eq!(status(&r), 200, "{r}");
    assert_eq!(
        header(&r, "content-type"),
        Some("application/vnd.apple.mpegurl")
    );
    assert_eq!(header(&r, "cache-control"), Some("no-store"));
    assert_eq!(header(&r, "x-routecast-site"), Some("a"));
    assert_eq!(
        segments(body(&r)),
        [
            "https://a.example.net/live/show/seg100.ts",
            "https://a.example.net/live/show/seg101.ts",
            "https://a.example.net/live/show/seg102.ts?v=1",
            "https://a.example.net/live/show/seg103.ts",
        ]
    );
    assert!(body(&r)
        .contains("#EXT-X-KEY:METHOD=AES-128,URI=\"https://a.example.net/live/show/key.bin\"\n"));
    assert!(body(&r).contains("#EXT-X-MAP:URI=\"https://a.example.net/live/show/init.mp4\"\n"));
    // Tags other than URIs are as the origin wrote them.
    assert!(body(&r).starts_with(
        "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:100\n"
    ));
    // Fetched from a's origin with the query; b was not asked.
    assert_eq!(
        a.asked.lock().map(|v| v.clone()).unwrap_or_default(),
        ["/live/show/index.m3u8?token=t1"]
    );
    assert!(b.asked.lock().map(|v| v.is_empty()).unwrap_or(false));
    // Outside a rule and with ?format=json, still a redirect / a decision.
    assert_eq!(status(&get(s.addr, "/live/show/seg100.ts", "")), 302);
    let j = get(s.addr, "/live/show/index.m3u8?format=json", "");
    assert_eq!(header(&j, "content-type"), Some("application/json"));
    // No such playlist at the origin: 404.
    assert_eq!(status(&get(s.addr, "/live/missing.m3u8", "")), 404);
    // Logged like a redirect, with the answer's status and the site's URL.
    let first = || {
        std::fs::read_to_string(&log)
            .ok()
            .and_then(|t| t.lines().next().map(str::to_string))
    };
    within(Duration::from_secs(5), || first().is_some()).expect("logged");
    let line = first().unwrap_or_default();
    assert!(
        line.contains(" pssc=200 ")
            && line.ends_with(
                " rurl=\"https://a.example.net/live/show/index.m3u8?token=t1\" uas=\"-\""
            ),
        "{line}"
    );
}

#[test]
fn a_live_session_moves_to_another_site_within_one_playlist_reload_when_its_site_is_drained() {
    let (a, b) = (origin(), origin());
    let dir = tempfile::tempdir().expect("temp dir");
    let (s, admin) = start_playlists(&a, &b, dir.path());
    let reload = || get(s.addr, "/live/show/index.m3u8", "");
    let before = reload();
    assert_eq!(header(&before, "x-routecast-site"), Some("a"));
    assert!(segments(body(&before))
        .iter()
        .all(|u| u.starts_with("https://a.example.net/")));
    let r = post(admin, "/sites/a/drain", Some("s3cret-token-for-tests"));
    assert_eq!(status(&r), 200, "{r}");
    // The very next reload: every segment at b, fetched from b's origin.
    let after = reload();
    assert_eq!(status(&after), 200, "{after}");
    assert_eq!(header(&after, "x-routecast-site"), Some("b"));
    let segs = segments(body(&after));
    assert_eq!(segs.len(), 4);
    assert!(
        segs.iter()
            .all(|u| u.starts_with("https://b.example.net/live/show/seg10")),
        "{segs:?}"
    );
    assert!(!body(&after).contains("a.example.net"), "{after}");
    assert_eq!(b.asked.lock().map(|v| v.len()).unwrap_or(0), 1);
    // Back to a when it is restored.
    assert_eq!(
        status(&post(
            admin,
            "/sites/a/reset",
            Some("s3cret-token-for-tests")
        )),
        200
    );
    assert_eq!(header(&reload(), "x-routecast-site"), Some("a"));
}

#[test]
fn multivariant_playlists_point_at_a_steering_manifest_the_server_answers() {
    let (a, b) = (origin(), origin());
    let dir = tempfile::tempdir().expect("temp dir");
    let (s, _) = start_playlists(&a, &b, dir.path());
    let r = get(s.addr, "/live/show/master.m3u8", "");
    assert_eq!(status(&r), 200, "{r}");
    let text = body(&r);
    let steering: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("#EXT-X-CONTENT-STEERING:"))
        .collect();
    assert_eq!(
        steering,
        ["#EXT-X-CONTENT-STEERING:SERVER-URI=\"/.steering/live/show/master.m3u8\",PATHWAY-ID=\"a\""]
    );
    assert!(text.starts_with("#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-CONTENT-STEERING:"));
    // One copy of each variant per site, each pointing at its own site and
    // its own copy of the audio group.
    let lines: Vec<&str> = text.lines().collect();
    let variants: Vec<(&str, &str)> = lines
        .windows(2)
        .filter(|w| w[0].starts_with("#EXT-X-STREAM-INF:"))
        .map(|w| (w[0], w[1]))
        .collect();
    assert_eq!(variants.len(), 4, "{text}");
    for (inf, uri) in &variants {
        let (site, group) = if inf.ends_with("PATHWAY-ID=\"a\"") {
            ("a", "AUDIO=\"aud\"")
        } else {
            assert!(inf.ends_with("PATHWAY-ID=\"b\""), "{inf}");
            ("b", "AUDIO=\"aud@b\"")
        };
        assert!(inf.contains(group), "{inf}");
        assert!(
            uri.starts_with(&format!("https://{site}.example.net/live/show/")),
            "{uri}"
        );
    }
    assert!(text.contains(
        "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud@b\",NAME=\"en\",DEFAULT=YES,URI=\"https://b.example.net/live/show/audio/index.m3u8\""
    ));
    // The SERVER-URI, resolved against the playlist's URL (this server),
    // answers a steering manifest naming the same pathways.
    let server_uri = steering[0]
        .split("SERVER-URI=\"")
        .nth(1)
        .and_then(|v| v.split('"').next())
        .expect("SERVER-URI");
    let m = get(s.addr, &format!("{server_uri}?_HLS_pathway=a"), "");
    assert_eq!(status(&m), 200, "{m}");
    let manifest: serde_json::Value = serde_json::from_str(body(&m)).expect("JSON");
    assert_eq!(manifest["VERSION"], 1);
    assert_eq!(manifest["RELOAD-URI"], server_uri);
    assert_eq!(manifest["PATHWAY-PRIORITY"], serde_json::json!(["a", "b"]));
}

#[test]
fn an_origin_that_fails_hands_over_to_the_fallback_site_and_all_failing_is_502() {
    use std::sync::atomic::Ordering;
    let (a, b) = (origin(), origin());
    let dir = tempfile::tempdir().expect("temp dir");
    let (s, admin) = start_playlists_with(&a, &b, dir.path(), &[], "fallback = \"error\"\n");
    for mode in [FAILS, HANGS] {
        a.mode.store(mode, Ordering::Relaxed);
        let r = get(s.addr, "/live/show/index.m3u8", "");
        assert_eq!(status(&r), 200, "{r}");
        assert_eq!(header(&r, "x-routecast-site"), Some("b"));
        assert!(segments(body(&r))
            .iter()
            .all(|u| u.starts_with("https://b.example.net/")));
    }
    b.mode.store(FAILS, Ordering::Relaxed);
    let started = std::time::Instant::now();
    let r = get(s.addr, "/live/show/index.m3u8", "");
    assert_eq!(status(&r), 502, "{r}");
    // a's origin hangs until the rule's 500 ms timeout, b's answers 503 at
    // once: 0.50-0.51 s measured at load average 6-10 on 2 cores; 3 s bound.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "bounded by the timeouts"
    );
    assert!(header(&r, "location").is_none() && header(&r, "x-routecast-site").is_none());
    assert!(body(&r).contains("upstream site \"a\""), "{r}");
    assert!(body(&r).contains("no answer within 500 ms"), "{r}");
    assert!(body(&r).contains("upstream site \"b\""), "{r}");
    assert!(body(&r).contains("answered 503"), "{r}");
    // Not valid M3U8: 502 naming the upstream.
    a.mode.store(SERVES, Ordering::Relaxed);
    b.mode.store(SERVES, Ordering::Relaxed);
    let r = get(s.addr, "/live/html.m3u8", "");
    assert_eq!(status(&r), 502, "{r}");
    assert!(body(&r).contains("upstream site \"a\""), "{r}");
    assert!(body(&r).contains("first line is not #EXTM3U"), "{r}");
    let m = get(admin, "/metrics", "");
    assert!(
        m.contains(r#"routecast_requests_total{site="a",group="default",status="502"} 2"#),
        "{m}"
    );
    assert!(
        m.contains(r#"routecast_requests_total{site="b",group="default",status="200"} 2"#),
        "{m}"
    );
}

#[test]
fn a_hostile_origin_never_gets_a_rewritten_uri_off_platform() {
    let (a, b) = (origin(), origin());
    let dir = tempfile::tempdir().expect("temp dir");
    let (s, _) = start_playlists_with(&a, &b, dir.path(), &[], "fallback = \"error\"\n");
    let r = get(s.addr, "/live/hostile.m3u8", "");
    assert_eq!(status(&r), 200, "{r}");
    let uris = playlist_uris(body(&r));
    assert_eq!(uris.len(), 2 * HOSTILE_URIS.len() + 1, "{uris:?}");
    let mut rewritten = 0;
    for uri in &uris {
        if uri.starts_with("https://a.example.net/") {
            rewritten += 1;
        } else {
            // Anything else is a foreign URI exactly as the origin wrote it.
            assert!(HOSTILE_URIS.contains(&uri.as_str()), "{uri:?}");
        }
    }
    assert_eq!(rewritten, 1, "only seg1.ts is on the origin: {uris:?}");
    // A carriage return inside a line (which some players take as a line
    // break) makes the playlist unusable: 502 from both sites, nothing relayed.
    let r = get(s.addr, "/live/cr.m3u8", "");
    assert_eq!(status(&r), 502, "{r}");
    assert!(body(&r).contains("carriage return"), "{r}");
    assert!(!r.contains("evil.example"), "{r}");
}

#[test]
fn when_every_origin_fails_viewers_are_redirected_to_the_chosen_sites_playlist_by_default() {
    use std::sync::atomic::Ordering;
    let (a, b) = (origin(), origin());
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("access.log");
    let (s, admin) = start_playlists_with(
        &a,
        &b,
        dir.path(),
        &["--access-log", log.to_str().expect("utf-8")],
        "",
    );
    // Both origins down (503, then a hang), then an unusable playlist:
    // each time the chosen site's own URL for the playlist, as a plain
    // redirect would give it.
    a.mode.store(FAILS, Ordering::Relaxed);
    b.mode.store(HANGS, Ordering::Relaxed);
    let r = get(s.addr, "/live/show/index.m3u8?token=t1", "");
    assert_eq!(status(&r), 302, "{r}");
    assert_eq!(
        header(&r, "location"),
        Some("https://a.example.net/live/show/index.m3u8?token=t1")
    );
    assert_eq!(header(&r, "x-routecast-site"), Some("a"));
    assert_eq!(header(&r, "cache-control"), Some("no-store"));
    a.mode.store(SERVES, Ordering::Relaxed);
    b.mode.store(SERVES, Ordering::Relaxed);
    let r = get(s.addr, "/live/cr.m3u8", "");
    assert_eq!(status(&r), 302, "{r}");
    assert_eq!(
        header(&r, "location"),
        Some("https://a.example.net/live/cr.m3u8")
    );
    assert!(!r.contains("evil.example"), "{r}");
    // The origin's 404 is still 404: nothing to redirect to.
    assert_eq!(status(&get(s.addr, "/live/missing.m3u8", "")), 404);
    // Counted as the 302 the viewers got, and as origin failures.
    let m = get(admin, "/metrics", "");
    assert!(
        m.contains(r#"routecast_requests_total{site="a",group="default",status="302"} 2"#),
        "{m}"
    );
    assert!(
        m.contains(r#"routecast_playlist_origin_failures_total{site="a",answer="302"} 2"#),
        "{m}"
    );
    // Logged with the status and the Location the viewer got.
    let first = || {
        std::fs::read_to_string(&log)
            .ok()
            .and_then(|t| t.lines().next().map(str::to_string))
    };
    within(Duration::from_secs(5), || first().is_some()).expect("logged");
    let line = first().unwrap_or_default();
    assert!(
        line.contains(" pssc=302 ")
            && line.ends_with(
                " rurl=\"https://a.example.net/live/show/index.m3u8?token=t1\" uas=\"-\""
            ),
        "{line}"
    );
}
