use std::sync::atomic::{AtomicU32, Ordering};

use routecast_engine::CountryCode;

use super::*;

/// Answers a country from the address's last byte; counts lookups.
struct Counting(AtomicU32);
impl Locator for Counting {
    fn locate(&self, addr: IpAddr) -> Location {
        self.0.fetch_add(1, Ordering::Relaxed);
        let b = match addr {
            IpAddr::V4(a) => a.octets()[3],
            IpAddr::V6(a) => a.octets()[15],
        };
        Location {
            country: (if b % 2 == 0 { "NL" } else { "DE" })
                .parse::<CountryCode>()
                .ok(),
            ..Location::default()
        }
    }
}

#[test]
fn cached_locations_are_exact_and_dropped_with_their_snapshot() {
    let l = Counting(AtomicU32::new(0));
    let mut c = PlaceCache {
        generation: 0,
        cache: LocationCache::with_slot_bits(12),
    };
    let addrs: Vec<IpAddr> = (0..20_000u32)
        .map(|i| IpAddr::from((0x0a00_0000 + i).to_be_bytes()))
        .collect();
    for a in &addrs {
        assert_eq!(c.locate(1, &l, *a), l.locate(*a), "{a}");
    }
    // Thousands of collisions in 4096 slots, never a wrong answer.
    let before = l.0.load(Ordering::Relaxed);
    let a = addrs[7];
    c.locate(1, &l, a);
    c.locate(1, &l, a);
    assert_eq!(
        l.0.load(Ordering::Relaxed),
        before + 1,
        "the second lookup is cached"
    );
    c.locate(2, &l, a);
    assert_eq!(
        l.0.load(Ordering::Relaxed),
        before + 2,
        "a new snapshot looks up again"
    );
}

// The answers below are pinned from the previous release's binary, run on
// the same platform (`routecast serve -c` with `two_sites("")`, curl).

use routecast_engine::SiteState;

use crate::testing::{body_text, state, two_sites};

const CLIENT: &str = "198.51.100.7";

/// `GET target` with `headers` from `peer`, answered at once.
fn get(state: &State, peer: &str, target: &str, headers: &[(&str, &str)]) -> Response<Body> {
    let mut request = Request::get(target);
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("host"))
    {
        request = request.header("host", "tr.example.net");
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(()).expect("request");
    match handle(state, peer.parse().expect("ip"), &request) {
        Reply::Ready(r) => r,
        Reply::Playlist(_) => panic!("{target}: a playlist job"),
    }
}

/// The head as `name: value` lines, and the body.
fn show(r: Response<Body>) -> (u16, Vec<String>, String) {
    let head = r
        .headers()
        .iter()
        .map(|(k, v)| format!("{k}: {}", v.to_str().expect("text")))
        .collect();
    let status = r.status().as_u16();
    let body = body_text(r.into_body());
    (status, head, body)
}

/// The request counter line of `/metrics` for these labels, if counted.
fn counted(state: &State, site: &str, group: &str, status: u16) -> Option<u64> {
    let snap = state.current();
    let text = state
        .metrics
        .render(snap.router.platform(), &snap.view.0, &[]);
    let line = format!(
        "routecast_requests_total{{site=\"{site}\",group=\"{group}\",status=\"{status}\"}} "
    );
    text.lines()
        .find_map(|l| l.strip_prefix(&line)?.parse().ok())
}

#[test]
fn a_redirect_names_the_site_and_keeps_path_and_query() {
    let s = state(&two_sites(""), &[]);
    let (status, head, body) = show(get(&s, CLIENT, "/live//x?token=t", &[]));
    assert_eq!(status, 302);
    assert_eq!(
        head,
        [
            "content-type: text/plain; charset=utf-8",
            "cache-control: no-store",
            "location: https://a.example.net/live/x?token=t",
            "x-routecast-site: a",
        ]
    );
    assert_eq!(body, "\n");
    assert_eq!(counted(&s, "a", "default", 302), Some(1));
}

#[test]
fn the_decision_as_json_explains_itself_only_to_trusted_peers() {
    let s = state(&two_sites(""), &["10.0.0.0/8"]);
    let plain = r#"{"fallbacks":[{"site":"b","url":"https://b.example.net/live/x?x=1"}],"group":"default","site":"a","url":"https://a.example.net/live/x?x=1"}"#;
    let (status, head, body) = show(get(&s, CLIENT, "/live/x?format=json&x=1", &[]));
    assert_eq!((status, body), (200, format!("{plain}\n")));
    assert_eq!(
        head,
        ["content-type: application/json", "cache-control: no-store"]
    );
    let accept = [("accept", "application/json")];
    let explained = r#"{"fallbacks":[{"site":"b","url":"https://b.example.net/live/x"}],"group":"default","matched_by":"default","outcome":"preferred","policy":"p","site":"a","url":"https://a.example.net/live/x"}"#;
    let (_, _, body) = show(get(&s, "10.1.2.3", "/live/x", &accept));
    assert_eq!(body, format!("{explained}\n"));
    assert_eq!(counted(&s, "a", "default", 200), Some(2));
}

#[test]
fn steering_manifests_rank_the_sites_and_name_their_reload_uri() {
    let s = state(&two_sites(""), &[]);
    let target = "/.steering/live/x.m3u8?_HLS_pathway=b";
    let (status, head, body) = show(get(&s, CLIENT, target, &[]));
    assert_eq!(status, 200);
    assert_eq!(
        head,
        ["content-type: application/json", "cache-control: no-store"]
    );
    let manifest = r#"{"PATHWAY-PRIORITY":["a","b"],"RELOAD-URI":"/.steering/live/x.m3u8","TTL":300,"VERSION":1}"#;
    assert_eq!(body, format!("{manifest}\n"));
    assert_eq!(counted(&s, "a", "default", 200), Some(1));
}

#[test]
fn refusals_say_why_and_count_under_no_site() {
    let s = state(&two_sites(""), &[]);
    for (target, status, why) in [
        (
            "/a/../b",
            400,
            "bad request target: the request target has dot segments",
        ),
        (
            "//evil.example/x",
            400,
            "bad request target: the request target starts with '//'",
        ),
        (
            "http://evil.example/x",
            400,
            "bad request target: absolute form is not accepted",
        ),
    ] {
        let (got, _, body) = show(get(&s, CLIENT, target, &[]));
        assert_eq!((got, body), (status, format!("{why}\n")), "{target}");
    }
    let post = Request::post("/live/x")
        .header("host", "tr.example.net")
        .body(())
        .expect("request");
    let Reply::Ready(r) = handle(&s, CLIENT.parse().expect("ip"), &post) else {
        panic!("refused at once");
    };
    let (status, head, body) = show(r);
    assert_eq!((status, body.as_str()), (405, "method not allowed\n"));
    assert_eq!(head.last().map(String::as_str), Some("allow: GET, HEAD"));
    assert_eq!(counted(&s, "-", "-", 400), Some(3));
    assert_eq!(counted(&s, "-", "-", 405), Some(1));
    let (status, _, body) = show(get(&s, CLIENT, "/healthz", &[]));
    assert_eq!((status, body.as_str()), (200, "ok\n"));
}

#[test]
fn with_every_site_disabled_the_answer_is_503_in_the_form_asked_for() {
    let s = state(&two_sites(""), &[]);
    for site in [SiteId(0), SiteId(1)] {
        s.current()
            .view
            .0
            .set_state(site, Some(SiteState::Disabled));
    }
    let (status, _, body) = show(get(&s, CLIENT, "/live/x", &[]));
    assert_eq!(
        (status, body.as_str()),
        (503, "no site can serve this request\n")
    );
    let (status, _, body) = show(get(&s, CLIENT, "/live/x?format=json", &[]));
    let json = "{\"error\":\"no site can serve this request\"}\n";
    assert_eq!((status, body.as_str()), (503, json));
    let (status, _, body) = show(get(&s, CLIENT, "/.steering/live/x", &[]));
    let json = "{\"error\":\"no site can serve this content\"}\n";
    assert_eq!((status, body.as_str()), (503, json));
    // Counted without site or group, as they always were; the steering
    // manifest under its decision's group.
    assert_eq!(counted(&s, "-", "-", 503), Some(2));
    assert_eq!(counted(&s, "-", "default", 503), Some(1));
}

#[test]
fn playlists_under_a_rule_become_jobs_and_json_still_answers_at_once() {
    let rule = "\n[[playlists]]\ncontent = [\"/live/\"]\norigin = \"http://127.0.0.1:9\"\n";
    let s = state(&format!("{}{rule}", two_sites("")), &[]);
    let request = Request::get("/live/x/index.m3u8")
        .header("host", "tr.example.net")
        .body(())
        .expect("request");
    let Reply::Playlist(job) = handle(&s, CLIENT.parse().expect("ip"), &request) else {
        panic!("a playlist job");
    };
    assert_eq!(
        (job.sites.as_slice(), job.path.as_str()),
        (&[SiteId(0), SiteId(1)][..], "/live/x/index.m3u8")
    );
    assert_eq!(
        counted(&s, "a", "default", 200),
        None,
        "counted once answered"
    );
    let (status, _, _) = show(get(&s, CLIENT, "/live/x/index.m3u8?format=json", &[]));
    assert_eq!(status, 200);
}

#[test]
fn a_request_needs_exactly_one_valid_host() {
    let s = state(&two_sites(""), &[]);
    let answer = |request: Request<()>| match handle(&s, CLIENT.parse().expect("ip"), &request) {
        Reply::Ready(r) => show(r),
        Reply::Playlist(_) => panic!("a playlist job"),
    };
    let (status, _, body) = answer(Request::get("/live/x").body(()).expect("request"));
    assert_eq!(
        (status, body.as_str()),
        (
            400,
            "bad Host header: an HTTP/1.1 request needs a Host header\n"
        )
    );
    let two = Request::get("/live/x")
        .header("host", "a.example")
        .header("host", "a.example")
        .body(())
        .expect("request");
    let (status, _, body) = answer(two);
    assert_eq!(
        (status, body.as_str()),
        (400, "bad Host header: more than one Host header\n")
    );
    for bad in ["a b", "a\"b", "a:99999", "[::1", "", "user@a"] {
        let (status, _, _) = show(get(&s, CLIENT, "/live/x", &[("host", bad)]));
        assert_eq!(status, 400, "{bad:?}");
    }
    // HTTP/1.0 may leave it out (RFC 9112 section 3.2 asks it of 1.1).
    let old = Request::get("/live/x")
        .version(hyper::Version::HTTP_10)
        .body(())
        .expect("request");
    assert_eq!(answer(old).0, 302);
    assert_eq!(counted(&s, "-", "-", 400), Some(8));
}
