//! The views against what the starting commit's binary printed for the
//! same platform and requests: its `routecast route` table and `--json`
//! (made with `--load` and `--down` as each test's load), and the JSON
//! answers of its `routecast serve` (no load sources, so an idle view; the
//! client given in `X-Forwarded-For` by a trusted proxy, or the loopback
//! peer untrusted). Literals, not this code's output.

use std::sync::Arc;

use crate::config::PlatformConfig;
use crate::decide::{Decision, Facts, Idle, Router, StaticLoad};
use crate::location::Location;
use crate::platform::{Mbps, Platform};

use super::{DecisionView, RedirectView};

/// Three sites: `ams` with a capacity and a commit, `fra` for live only,
/// `nyc` draining; an office network placed in Paris; a live policy.
const PLATFORM: &str = r#"
[[sites]]
name = "ams"
urls = ["https://ams.example.net/"]
location = { lat = 52.37, lon = 4.90 }
capacity_mbps = 1000
cost = { commit_mbps = 500, commit_price = 400, overage_per_mbps = 1.30 }

[[sites]]
name = "fra"
urls = ["https://fra.example.net"]
location = { lat = 50.11, lon = 8.68 }
capacity_mbps = 800
cost = { per_gb = 0.003 }
content = ["/live/"]

[[sites]]
name = "nyc"
urls = ["https://nyc.example.net", "http://nyc.example.net"]
location = { lat = 40.71, lon = -74.01 }
state = "draining"

[[groups]]
name = "office"
cidrs = ["192.0.2.0/24"]
location = { lat = 48.86, lon = 2.35 }

[[policies]]
name = "live"
content = ["/live/"]
steps = [{ step = "serves_content" }, { step = "closest", bucket_km = 500 }, { step = "least_cost" }, { step = "capacity", headroom = 0.2 }]
"#;

fn platform() -> Arc<Platform> {
    let config = PlatformConfig::parse("small.toml", PLATFORM).expect("test platform parses");
    Arc::new(Platform::build(&config, &[]).expect("test platform is valid"))
}

/// A client nothing locates (the platform names no GeoIP database).
fn facts<'a>(address: &str, path: &'a str) -> Facts<'a> {
    Facts {
        address: address.parse().expect("test address"),
        location: Location::default(),
        path,
        user_agent: None,
    }
}

/// `--load` and `--down`, as `routecast route` builds them.
fn load(p: &Platform, loads: &[(&str, f64)], down: &[&str]) -> StaticLoad {
    let site = |name: &str| p.site_by_name(name).expect("test site");
    let mut view = StaticLoad {
        load: vec![Mbps(0.0); p.sites().len()],
        down: down.iter().map(|n| site(n)).collect(),
    };
    for (name, mbps) in loads {
        view.load[site(name).index()] = Mbps(*mbps);
    }
    view
}

/// The decision and its table and JSON.
fn shown(address: &str, path: &str, view: &StaticLoad) -> (String, String) {
    let p = platform();
    let f = facts(address, path);
    let d = Router::new(p.clone()).decide(&f, view);
    let shown = DecisionView::new(&p, &f, view, &d);
    let json = serde_json::to_string(&shown).expect("serialises");
    (shown.to_string(), json)
}

/// `routecast route -c small.toml 192.0.2.7 '/live/a.m3u8?token=1' --load ams=900,fra=100`
const SPILLED_TABLE: &str = "\
client     192.0.2.7
geoip      country unknown, continent unknown, ASN unknown, coordinates unknown
group      office (matched by network 192.0.2.0/24)
policy     live (any group; /live/)
decision   fra -> https://fra.example.net/live/a.m3u8?token=1 [preferred]
fallbacks  ams, nyc
distances  from 48.8600,2.3500 (km)

site  load  capacity  (available)  (allowed_for_group)  serves_content  closest(bucket=500km)  least_cost  capacity(headroom=0.2)  rank
ams   900   1000      ok           ok                   ok              430                    0.0040      spilled 0.9000          2
fra   100   800       ok           ok                   ok              478                    0.0030      0.1250                  1 (chosen)
nyc   0     -         draining     ok                   ok              5837                   0.0000      ok                      3

Scores: closest = km, least_cost = price per GB, weighted/consistent_hash = key (lower first),
preference = position, capacity = utilisation; (step) = implicit. Ranks: lower first.
";

/// The same with `--json` (white space outside strings removed).
const SPILLED_JSON: &str = concat!(
    r#"{"client":{"address":"192.0.2.7","asn":null,"continent":null,"coordinates":null,"#,
    r#""country":null},"down":[],"fallbacks":["ams","nyc"],"group":"office","#,
    r#""load_mbps":{"ams":900.0,"fra":100.0,"nyc":0.0},"matched_by":"network 192.0.2.0/24","#,
    r#""outcome":"preferred","path":"/live/a.m3u8?token=1","policy":"live","#,
    r#""preferred":"fra","site":"fra","steps":[{"display":"available","implicit":true,"#,
    r#""sites":[{"score":null,"site":"ams","verdict":"kept"},{"score":null,"site":"fra","#,
    r#""verdict":"kept"},{"score":null,"site":"nyc","verdict":"draining"}],"#,
    r#""step":"available"},{"display":"allowed_for_group","implicit":true,"#,
    r#""sites":[{"score":null,"site":"ams","verdict":"kept"},{"score":null,"site":"fra","#,
    r#""verdict":"kept"},{"score":null,"site":"nyc","verdict":"kept"}],"#,
    r#""step":"allowed_for_group"},{"display":"serves_content","implicit":false,"#,
    r#""sites":[{"score":null,"site":"ams","verdict":"kept"},{"score":null,"site":"fra","#,
    r#""verdict":"kept"},{"score":null,"site":"nyc","verdict":"kept"}],"#,
    r#""step":"serves_content"},{"display":"closest(bucket=500km)","implicit":false,"#,
    r#""sites":[{"score":429.69973990213794,"site":"ams","verdict":"kept"},"#,
    r#"{"score":477.74835850437967,"site":"fra","verdict":"kept"},{"score":5837.40729797998,"#,
    r#""site":"nyc","verdict":"kept"}],"step":"closest"},{"display":"least_cost","#,
    r#""implicit":false,"sites":[{"score":0.004012345802038908,"site":"ams","#,
    r#""verdict":"kept"},{"score":0.003000000026077032,"site":"fra","verdict":"kept"},"#,
    r#"{"score":0.0,"site":"nyc","verdict":"kept"}],"step":"least_cost"},"#,
    r#"{"display":"capacity(headroom=0.2)","implicit":false,"#,
    r#""sites":[{"score":0.8999999761581421,"site":"ams","verdict":"spilled"},"#,
    r#"{"score":0.125,"site":"fra","verdict":"kept"},{"score":null,"site":"nyc","#,
    r#""verdict":"kept"}],"step":"capacity"}],"#,
    r#""url":"https://fra.example.net/live/a.m3u8?token=1"}"#,
);

#[test]
fn a_spilled_request_shows_as_route_showed_it() {
    let p = platform();
    let view = load(&p, &[("ams", 900.0), ("fra", 100.0)], &[]);
    let (table, json) = shown("192.0.2.7", "/live/a.m3u8?token=1", &view);
    assert_eq!(table, SPILLED_TABLE);
    assert_eq!(json, SPILLED_JSON);
}

/// `routecast route -c small.toml 198.51.100.1 /vod/x --down fra,ams`
const LAST_RESORT_TABLE: &str = "\
client     198.51.100.1
geoip      country unknown, continent unknown, ASN unknown, coordinates unknown
group      default (matched by default)
policy     built-in-default (any group; any content)
decision   nyc -> https://nyc.example.net/vod/x [lastresort]
fallbacks  none

site  load  capacity  (available)  serves_content  allowed_for_group  closest  (capacity(headroom=0))  rank
ams   0     1000      DROPPED                                                                          -
fra   0     800       DROPPED                                                                          -
nyc   0     -         draining     ok              ok                 ok       ok                      1 (chosen)

Scores: closest = km, least_cost = price per GB, weighted/consistent_hash = key (lower first),
preference = position, capacity = utilisation; (step) = implicit. Ranks: lower first.
";

/// The same with `--json`: `down` in the order given.
const LAST_RESORT_JSON: &str = concat!(
    r#"{"client":{"address":"198.51.100.1","asn":null,"continent":null,"coordinates":null,"#,
    r#""country":null},"down":["fra","ams"],"fallbacks":[],"group":"default","#,
    r#""load_mbps":{"ams":0.0,"fra":0.0,"nyc":0.0},"matched_by":"default","#,
    r#""outcome":"last_resort","path":"/vod/x","policy":"built-in-default","#,
    r#""preferred":"nyc","site":"nyc","steps":[{"display":"available","implicit":true,"#,
    r#""sites":[{"score":null,"site":"ams","verdict":"dropped"},{"score":null,"site":"fra","#,
    r#""verdict":"dropped"},{"score":null,"site":"nyc","verdict":"draining"}],"#,
    r#""step":"available"},{"display":"serves_content","implicit":false,"#,
    r#""sites":[{"score":null,"site":"ams","verdict":"skipped"},{"score":null,"site":"fra","#,
    r#""verdict":"skipped"},{"score":null,"site":"nyc","verdict":"kept"}],"#,
    r#""step":"serves_content"},{"display":"allowed_for_group","implicit":false,"#,
    r#""sites":[{"score":null,"site":"ams","verdict":"skipped"},{"score":null,"site":"fra","#,
    r#""verdict":"skipped"},{"score":null,"site":"nyc","verdict":"kept"}],"#,
    r#""step":"allowed_for_group"},{"display":"closest","implicit":false,"#,
    r#""sites":[{"score":null,"site":"ams","verdict":"skipped"},{"score":null,"site":"fra","#,
    r#""verdict":"skipped"},{"score":null,"site":"nyc","verdict":"kept"}],"step":"closest"},"#,
    r#"{"display":"capacity(headroom=0)","implicit":true,"sites":[{"score":null,"#,
    r#""site":"ams","verdict":"skipped"},{"score":null,"site":"fra","verdict":"skipped"},"#,
    r#"{"score":null,"site":"nyc","verdict":"kept"}],"step":"capacity"}],"#,
    r#""url":"https://nyc.example.net/vod/x"}"#,
);

#[test]
fn a_last_resort_shows_as_route_showed_it() {
    let p = platform();
    let view = load(&p, &[], &["fra", "ams"]);
    let (table, json) = shown("198.51.100.1", "/vod/x", &view);
    assert_eq!(table, LAST_RESORT_TABLE);
    assert_eq!(json, LAST_RESORT_JSON);
}

/// `routecast route -c small.toml 198.51.100.1 /vod/x --down fra,ams,nyc`
const NO_SITE_TABLE: &str = "\
client     198.51.100.1
geoip      country unknown, continent unknown, ASN unknown, coordinates unknown
group      default (matched by default)
policy     built-in-default (any group; any content)
decision   no site can serve this request [nosite]
fallbacks  none

site  load  capacity  (available)  serves_content  allowed_for_group  closest  (capacity(headroom=0))  rank
ams   0     1000      DROPPED                                                                          -
fra   0     800       DROPPED                                                                          -
nyc   0     -         DROPPED                                                                          -

Scores: closest = km, least_cost = price per GB, weighted/consistent_hash = key (lower first),
preference = position, capacity = utilisation; (step) = implicit. Ranks: lower first.
";

/// The same with `--json`: no site, no URL.
const NO_SITE_JSON: &str = concat!(
    r#"{"client":{"address":"198.51.100.1","asn":null,"continent":null,"coordinates":null,"#,
    r#""country":null},"down":["fra","ams","nyc"],"fallbacks":[],"group":"default","#,
    r#""load_mbps":{"ams":0.0,"fra":0.0,"nyc":0.0},"matched_by":"default","#,
    r#""outcome":"no_site","path":"/vod/x","policy":"built-in-default","preferred":null,"#,
    r#""site":null,"steps":[{"display":"available","implicit":true,"sites":[{"score":null,"#,
    r#""site":"ams","verdict":"dropped"},{"score":null,"site":"fra","verdict":"dropped"},"#,
    r#"{"score":null,"site":"nyc","verdict":"dropped"}],"step":"available"},"#,
    r#"{"display":"serves_content","implicit":false,"sites":[{"score":null,"site":"ams","#,
    r#""verdict":"skipped"},{"score":null,"site":"fra","verdict":"skipped"},{"score":null,"#,
    r#""site":"nyc","verdict":"skipped"}],"step":"serves_content"},"#,
    r#"{"display":"allowed_for_group","implicit":false,"sites":[{"score":null,"site":"ams","#,
    r#""verdict":"skipped"},{"score":null,"site":"fra","verdict":"skipped"},{"score":null,"#,
    r#""site":"nyc","verdict":"skipped"}],"step":"allowed_for_group"},{"display":"closest","#,
    r#""implicit":false,"sites":[{"score":null,"site":"ams","verdict":"skipped"},"#,
    r#"{"score":null,"site":"fra","verdict":"skipped"},{"score":null,"site":"nyc","#,
    r#""verdict":"skipped"}],"step":"closest"},{"display":"capacity(headroom=0)","#,
    r#""implicit":true,"sites":[{"score":null,"site":"ams","verdict":"skipped"},"#,
    r#"{"score":null,"site":"fra","verdict":"skipped"},{"score":null,"site":"nyc","#,
    r#""verdict":"skipped"}],"step":"capacity"}],"url":null}"#,
);

#[test]
fn no_site_shows_as_route_showed_it() {
    let p = platform();
    let view = load(&p, &[], &["fra", "ams", "nyc"]);
    let (table, json) = shown("198.51.100.1", "/vod/x", &view);
    assert_eq!(table, NO_SITE_TABLE);
    assert_eq!(json, NO_SITE_JSON);
}

/// `routecast serve`'s JSON answer for `path` and `query` from `address`.
fn answer(address: &str, path: &str, query: Option<&str>, details: bool) -> String {
    let p = platform();
    let d: Decision = Router::new(p.clone()).decide(&facts(address, path), &Idle);
    let view = RedirectView::new(&p, &d, path, query).with_details(details);
    serde_json::to_string(&view).expect("serialises")
}

#[test]
fn redirect_answers_are_what_serve_answered() {
    // GET /live/a.m3u8?token=1&format=json, X-Forwarded-For: 192.0.2.7
    // from a trusted proxy.
    let trusted = concat!(
        r#"{"fallbacks":[{"site":"fra","url":"https://fra.example.net/live/a.m3u8?token=1"},"#,
        r#"{"site":"nyc","url":"https://nyc.example.net/live/a.m3u8?token=1"}],"group":"office","#,
        r#""matched_by":"network 192.0.2.0/24","outcome":"preferred","policy":"live","#,
        r#""site":"ams","url":"https://ams.example.net/live/a.m3u8?token=1"}"#,
    );
    assert_eq!(
        answer("192.0.2.7", "/live/a.m3u8", Some("token=1"), true),
        trusted
    );
    // GET /vod/b/c.ts?format=json, X-Forwarded-For: 198.51.100.1 from a
    // trusted proxy.
    let default_group = concat!(
        r#"{"fallbacks":[{"site":"nyc","url":"https://nyc.example.net/vod/b/c.ts"}],"#,
        r#""group":"default","matched_by":"default","outcome":"preferred","#,
        r#""policy":"built-in-default","site":"ams","url":"https://ams.example.net/vod/b/c.ts"}"#,
    );
    assert_eq!(
        answer("198.51.100.1", "/vod/b/c.ts", None, true),
        default_group
    );
    // GET /vod/b/c.ts?format=json&x=1 from 127.0.0.1, untrusted.
    let untrusted = concat!(
        r#"{"fallbacks":[{"site":"nyc","url":"https://nyc.example.net/vod/b/c.ts?x=1"}],"#,
        r#""group":"default","site":"ams","url":"https://ams.example.net/vod/b/c.ts?x=1"}"#,
    );
    assert_eq!(
        answer("127.0.0.1", "/vod/b/c.ts", Some("x=1"), false),
        untrusted
    );
    // GET /live/d.ts with Accept: application/json from 127.0.0.1, untrusted.
    let accept = concat!(
        r#"{"fallbacks":[{"site":"fra","url":"https://fra.example.net/live/d.ts"},{"site":"nyc","#,
        r#""url":"https://nyc.example.net/live/d.ts"}],"group":"default","site":"ams","#,
        r#""url":"https://ams.example.net/live/d.ts"}"#,
    );
    assert_eq!(answer("127.0.0.1", "/live/d.ts", None, false), accept);
}
