use super::*;
use crate::config::PlatformConfig;
use crate::groups::GroupMatch;
use crate::ids::SiteId;
use crate::location::{Continent, Coordinates, Location};
use crate::platform::{Mbps, SiteState};
use crate::policy::Step;
use proptest::prelude::*;

/// Five sites on three continents; `ams` and `fra` have capacity, `lon` a commit.
const PLATFORM: &str = r#"
[[sites]]
name = "ams"
urls = ["https://ams.example.net/"]
location = { lat = 52.37, lon = 4.90 }
capacity_mbps = 1000
cost = { per_gb = 0.010 }

[[sites]]
name = "fra"
urls = ["https://fra.example.net"]
location = { lat = 50.11, lon = 8.68 }
capacity_mbps = 1000
cost = { per_gb = 0.004 }

[[sites]]
name = "lon"
urls = ["https://lon.example.net"]
location = { lat = 51.51, lon = -0.13 }
cost = { commit_mbps = 500, commit_price = 1000, overage_per_mbps = 6.48 }
content = ["/live/"]

[[sites]]
name = "nyc"
urls = ["https://nyc.example.net"]
location = { lat = 40.71, lon = -74.01 }
weight = 3
cost = { per_gb = 0.015 }

[[sites]]
name = "sin"
urls = ["https://sin.example.net"]
location = { lat = 1.35, lon = 103.82 }
cost = { per_gb = 0.03 }

[[groups]]
name = "office"
cidrs = ["192.0.2.0/24", "2001:db8::/32"]
sites = ["ams", "fra"]

[[groups]]
name = "kpn"
asns = [1136]

[[groups]]
name = "germany"
countries = ["DE"]

[[groups]]
name = "europe"
continents = ["EU"]

[[policies]]
name = "nearest"
steps = [{ step = "serves_content" }, { step = "allowed_for_group" }, { step = "closest" }, { step = "capacity", headroom = 0.2 }]

[[policies]]
name = "cheap-live"
content = ["/live/"]
steps = [{ step = "serves_content" }, { step = "least_cost" }, { step = "closest" }]

[[policies]]
name = "german-vod"
groups = ["germany"]
content = ["/vod/"]
steps = [{ step = "preference", sites = ["fra", "ams"] }, { step = "consistent_hash", key = "directory" }]

[[policies]]
name = "us-weighted"
groups = ["default"]
content = ["/w/"]
steps = [{ step = "weighted" }]
"#;

fn router() -> Router {
    let config = PlatformConfig::parse("test.toml", PLATFORM).expect("test platform parses");
    Router::new(Arc::new(
        Platform::build(&config, &[]).expect("test platform is valid"),
    ))
}

fn name(r: &Router, s: Option<SiteId>) -> &str {
    s.map_or("-", |s| r.platform().site(s).name.as_str())
}

fn facts<'a>(addr: &str, path: &'a str, at: Option<(f64, f64)>) -> Facts<'a> {
    Facts {
        address: addr.parse().expect("test address"),
        location: Location {
            coordinates: at.map(|(lat, lon)| Coordinates::new(lat, lon).expect("test coordinates")),
            ..Location::default()
        },
        path,
        user_agent: None,
    }
}

const PARIS: Option<(f64, f64)> = Some((48.86, 2.35));

fn load(r: &Router, pairs: &[(&str, f64)]) -> StaticLoad {
    let mut l = StaticLoad {
        load: vec![Mbps(0.0); r.platform().sites().len()],
        down: vec![],
    };
    for (n, v) in pairs {
        let id = r.platform().site_by_name(n).expect("test site");
        l.load[id.index()] = Mbps(*v);
    }
    l
}

#[test]
fn closest_site_first_and_the_rest_by_distance() {
    let r = router();
    let d = r.decide(&facts("198.51.100.1", "/vod/film.mp4", PARIS), &Idle);
    assert_eq!(name(&r, d.site), "ams");
    let rest: Vec<_> = d.fallbacks.iter().map(|s| name(&r, Some(*s))).collect();
    // lon serves only /live/: dropped.
    assert_eq!(rest, ["fra", "nyc", "sin"]);
    assert_eq!(d.outcome, Outcome::Preferred);
    assert_eq!(r.platform().policy(d.policy).name, "nearest");
}

#[test]
fn down_and_disabled_sites_are_never_chosen() {
    let r = router();
    let mut l = load(&r, &[]);
    l.down.push(r.platform().site_by_name("ams").expect("ams"));
    let d = r.decide(&facts("198.51.100.1", "/vod/a", PARIS), &l);
    assert_eq!(name(&r, d.site), "fra");
    assert!(!d.fallbacks.contains(&l.down[0]));
    let ams = l.down[0];
    assert_eq!(d.explanation.dropped_by(ams), Some(0));
    assert_eq!(d.explanation.mark(0, ams).verdict, Verdict::Dropped);
    // Disabled by the operator (up, idle): dropped by `available` too.
    let mut state = vec![SiteState::Active; 5];
    state[ams.index()] = SiteState::Disabled;
    let disabled = Prop {
        load: vec![0.0; 5],
        up: vec![true; 5],
        state,
    };
    let d = r.decide(&facts("198.51.100.1", "/vod/a", PARIS), &disabled);
    assert_eq!(name(&r, d.site), "fra");
    assert!(!d.fallbacks.contains(&ams));
    assert_eq!(d.explanation.dropped_by(ams), Some(0));
}

#[test]
fn group_limits_sites_and_no_site_when_all_allowed_are_down() {
    let r = router();
    let d = r.decide(&facts("192.0.2.9", "/vod/a", None), &Idle);
    assert_eq!(r.platform().group(d.group).name, "office");
    assert_eq!(
        d.matched_by,
        GroupMatch::Network("192.0.2.0/24".parse().expect("net"))
    );
    // Only the office's two sites; no position, so no distance: they tie
    // and keep their declaration order.
    assert_eq!(order(&r, &d), ["ams", "fra"]);
    let mut l = load(&r, &[]);
    l.down = vec![SiteId(0), SiteId(1)];
    let d = r.decide(&facts("2001:db8::1", "/vod/a", None), &l);
    assert_eq!(d.site, None);
    assert_eq!(d.outcome, Outcome::NoSite);
}

/// Whether a request ended because no site serves its path
/// ([`Outcome::NotServed`]) or because none that does can take it now
/// ([`Outcome::NoSite`]), by `decide` and by `route_with` alike.
#[test]
fn a_path_no_site_serves_is_told_apart_from_sites_that_cannot_take_it() {
    let config = PlatformConfig::parse(
        "t.toml",
        r#"
        [[sites]]
        name = "live"
        urls = ["https://live.example.net"]
        location = { lat = 0, lon = 0 }
        content = ["/live/"]

        [[sites]]
        name = "vod"
        urls = ["https://vod.example.net"]
        location = { lat = 0, lon = 0 }
        content = ["/vod/"]

        [[policies]]
        name = "p"
        content = ["/live/", "/vod/", "/other/"]
        steps = [{ step = "serves_content" }, { step = "closest" }]

        [[policies]]
        name = "ignores-content"
        content = ["/any/"]
        steps = [{ step = "closest" }]
        "#,
    )
    .expect("parses");
    let r = Router::new(Arc::new(Platform::build(&config, &[]).expect("valid")));
    let both = |path: &str, view: &dyn LoadView| {
        let f = facts("198.51.100.1", path, None);
        let d = r.decide(&f, view);
        let route = r.route_with(&f, view, &mut Scratch::default());
        assert_eq!(route.outcome, d.outcome, "{path}");
        (name(&r, d.site).to_string(), d.outcome)
    };
    let live_down = StaticLoad {
        load: vec![Mbps(0.0); 2],
        down: vec![SiteId(0)],
    };
    assert_eq!(both("/other/x", &Idle), ("-".into(), Outcome::NotServed));
    assert_eq!(both("/", &Idle), ("-".into(), Outcome::NotServed));
    assert_eq!(both("/live/x", &live_down), ("-".into(), Outcome::NoSite));
    assert_eq!(
        both("/vod/x", &live_down),
        ("vod".into(), Outcome::Preferred)
    );
    // A policy that does not write `serves_content` has it implicitly: no
    // viewer is sent to a site without the content.
    assert_eq!(both("/any/x", &Idle), ("-".into(), Outcome::NotServed));
}

#[test]
fn least_cost_counts_commits_as_paid_until_exceeded() {
    let r = router();
    // lon's commit is unused: free. fra is cheaper than ams.
    let d = r.decide(&facts("198.51.100.1", "/live/a.m3u8", PARIS), &Idle);
    assert_eq!(r.platform().policy(d.policy).name, "cheap-live");
    assert_eq!(name(&r, d.site), "lon");
    // Past the commit, lon costs 6.48 / 324 = 0.02 per GB: the dearest.
    let d = r.decide(
        &facts("198.51.100.1", "/live/a.m3u8", PARIS),
        &load(&r, &[("lon", 600.0)]),
    );
    let order: Vec<_> = d
        .site
        .iter()
        .chain(&d.fallbacks)
        .map(|s| name(&r, Some(*s)))
        .collect();
    assert_eq!(order, ["fra", "ams", "nyc", "lon", "sin"]);
}

#[test]
fn preference_then_consistent_hash_for_a_country_and_content() {
    let r = router();
    let mut f = facts("198.51.100.7", "/vod/show/ep1.ts", None);
    f.location.country = Some("DE".parse().expect("DE"));
    let d = r.decide(&f, &Idle);
    assert_eq!(r.platform().policy(d.policy).name, "german-vod");
    assert_eq!(d.matched_by, GroupMatch::Country("DE".parse().expect("DE")));
    assert_eq!(name(&r, d.site), "fra");
    assert_eq!(name(&r, d.fallbacks.first().copied()), "ams");
}

#[test]
fn capacity_spills_only_the_excess_and_the_same_viewers_each_time() {
    let r = router();
    // nearest: headroom 0.2 → ramp from 800 to 1000 Mbit/s. At 900, half spill.
    let l = load(&r, &[("ams", 900.0)]);
    let clients: Vec<String> = (0..4000)
        .map(|i| format!("198.51.{}.{}", 100 + i / 250, i % 250))
        .collect();
    let spilled = |l: &StaticLoad| -> Vec<bool> {
        clients
            .iter()
            .map(|c| {
                let d = r.decide(&facts(c, "/vod/a", PARIS), l);
                d.outcome == Outcome::SpilledOver
            })
            .collect()
    };
    let at_900 = spilled(&l);
    assert_eq!(spilled(&l), at_900, "the same viewers each time");
    let n = at_900.iter().filter(|s| **s).count();
    assert!(
        (1800..2200).contains(&n),
        "{n} of 4000 spilled at 50% of the ramp"
    );
    // More load moves more viewers, never back: the set only grows.
    let at_950 = spilled(&load(&r, &[("ams", 950.0)]));
    assert!(at_900.iter().zip(&at_950).all(|(a, b)| !*a || *b));
    assert!(at_950.iter().filter(|s| **s).count() > n);
    // Under the threshold nobody moves; at capacity everybody does.
    assert!(spilled(&load(&r, &[("ams", 799.0)])).iter().all(|s| !*s));
    assert!(spilled(&load(&r, &[("ams", 1000.0)])).iter().all(|s| *s));
}

#[test]
fn all_full_goes_to_the_best_full_site_and_says_so() {
    let r = router();
    let l = load(&r, &[("ams", 1500.0), ("fra", 1200.0)]);
    let d = r.decide(&facts("192.0.2.1", "/vod/a", PARIS), &l);
    assert_eq!(name(&r, d.site), "ams");
    assert_eq!(d.outcome, Outcome::OverCapacity);
}

#[test]
fn weighted_choice_follows_weights_and_is_reproducible() {
    let r = router();
    let paths: Vec<String> = (0..3000).map(|i| format!("/w/{i}")).collect();
    let mut wins = 0;
    for p in &paths {
        let d = r.decide(&facts("203.0.113.5", p, None), &Idle);
        assert_eq!(d, r.decide(&facts("203.0.113.5", p, None), &Idle));
        wins += usize::from(name(&r, d.site) == "nyc");
    }
    // lon serves only /live/, so the implicit `serves_content` drops it
    // although the chain has no content filter: four sites compete, nyc
    // weighs 3 of 6. Expected 1500, standard deviation 27.
    assert!((1390..1610).contains(&wins), "{wins}");
}

#[test]
fn draining_sites_are_a_last_resort() {
    let cfg = PLATFORM.replacen(
        "cost = { per_gb = 0.010 }",
        "cost = { per_gb = 0.010 }\nstate = \"draining\"",
        1,
    );
    let config = PlatformConfig::parse("t.toml", &cfg).expect("parses");
    let r = Router::new(Arc::new(Platform::build(&config, &[]).expect("valid")));
    let d = r.decide(&facts("198.51.100.1", "/vod/a", PARIS), &Idle);
    assert_eq!(name(&r, d.site), "fra");
    assert_eq!(name(&r, d.fallbacks.last().copied()), "ams");
    let mut l = load(&r, &[]);
    l.down = (1..5).map(SiteId).collect();
    let d = r.decide(&facts("198.51.100.1", "/vod/a", PARIS), &l);
    assert_eq!((name(&r, d.site), d.outcome), ("ams", Outcome::LastResort));
}

#[test]
fn reused_scratch_changes_no_decision() {
    let r = router();
    let mut scratch = Scratch::default();
    let paths = ["/vod/a", "/live/b.m3u8", "/w/c", "/other"];
    for i in 0..400u32 {
        let addr = std::net::Ipv4Addr::from(i.wrapping_mul(2_654_435_761)).to_string();
        let l = load(
            &r,
            &[
                ("ams", f64::from(i % 11) * 100.0),
                ("fra", f64::from(i % 7) * 160.0),
            ],
        );
        let f = facts(
            &addr,
            paths[i as usize % 4],
            (i % 3 != 0).then_some((f64::from(i % 90), f64::from(i % 180))),
        );
        assert_eq!(
            r.decide_with(&f, &l, &mut scratch),
            r.decide(&f, &l),
            "request {i}"
        );
    }
}

fn arb_load() -> impl Strategy<Value = (Vec<f64>, Vec<bool>, Vec<u8>)> {
    (
        proptest::collection::vec(prop_oneof![Just(0.0), 0.0..1500.0, Just(1000.0)], 5),
        proptest::collection::vec(any::<bool>(), 5),
        proptest::collection::vec(0u8..3, 5),
    )
}

struct Prop {
    load: Vec<f64>,
    up: Vec<bool>,
    state: Vec<SiteState>,
}

impl LoadView for Prop {
    fn load(&self, s: SiteId) -> Mbps {
        Mbps(self.load[s.index()])
    }
    fn is_up(&self, s: SiteId) -> bool {
        self.up[s.index()]
    }
    fn state(&self, s: SiteId, _: SiteState) -> SiteState {
        self.state[s.index()]
    }
}

proptest! {
    #[test]
    fn never_down_disabled_or_full_while_a_better_candidate_exists(
        (load, up, states) in arb_load(),
        host in any::<u32>(),
        path in prop_oneof![Just("/vod/x"), Just("/live/y.m3u8"), Just("/w/z"), Just("/other")],
        lat in -60.0f64..70.0, lon in -180.0f64..180.0,
    ) {
        let r = router();
        let state = states.iter().map(|s| [SiteState::Active, SiteState::Draining, SiteState::Disabled][*s as usize]).collect();
        let view = Prop { load, up, state };
        let addr = std::net::Ipv4Addr::from(host).to_string();
        let f = facts(&addr, path, Some((lat, lon)));
        let d = r.decide(&f, &view);
        prop_assert_eq!(&d, &r.decide(&f, &view), "deterministic");
        let route = r.route_with(&f, &view, &mut Scratch::default());
        prop_assert_eq!(route, Route { group: d.group, site: d.site, preferred: d.preferred, outcome: d.outcome }, "route_with agrees with decide");
        let p = r.platform();
        let usable = |s: &SiteId| view.up[s.index()] && view.state[s.index()] != SiteState::Disabled;
        let all: Vec<SiteId> = d.site.into_iter().chain(d.fallbacks.iter().copied()).collect();
        prop_assert!(all.iter().all(usable), "a down or disabled site is a candidate");
        if let Some(s) = d.site {
            let active_exists = all.iter().any(|c| view.state[c.index()] == SiteState::Active);
            prop_assert!(!active_exists || view.state[s.index()] == SiteState::Active, "draining chosen over active");
            let room = |c: &SiteId| p.site(*c).capacity.is_none_or(|cap| view.load[c.index()] < cap.0);
            let active_room = all.iter().any(|c| view.state[c.index()] == SiteState::Active && room(c));
            prop_assert!(!active_room || room(&s), "full site chosen while {:?} has room", all);
        } else {
            prop_assert!(all.is_empty());
        }
    }
}

#[test]
fn a_prepared_request_stays_small() {
    // The simulator queues one per request in its reordering window.
    assert!(std::mem::size_of::<Prepared>() <= 80);
}

#[test]
fn more_distinct_content_lists_than_a_decision_carries_is_a_placed_error() {
    let mut text = String::new();
    for i in 0..=crate::platform::MAX_CONTENT_CLASSES {
        text.push_str(&format!(
            "[[sites]]\nname = \"s{i}\"\nurls = [\"https://s{i}.example.net\"]\nlocation = {{ lat = 0, lon = 0 }}\ncontent = [\"/c{i}/\"]\n\n"
        ));
    }
    let config = PlatformConfig::parse("many.toml", &text).expect("parses");
    let e = Platform::build(&config, &[]).expect_err("129 content lists");
    let msg = e.to_string();
    assert!(msg.contains("different `content` lists"), "{msg}");
    // Placed at the 129th site's name: line 6 × 128 + 2.
    assert!(msg.starts_with("many.toml:770:"), "{msg}");
}

#[test]
fn sites_sharing_a_content_list_share_a_class() {
    let r = router();
    let p = r.platform();
    let classes: Vec<u16> = p.sites().iter().map(|s| s.content_class).collect();
    // Only lon has a list of its own.
    assert_eq!(classes, [0, 0, 1, 0, 0]);
}

/// Loads that sit on every threshold of the test platform now and then:
/// the commit (500), the spill threshold (800) and capacity (1000).
fn arb_threshold_load() -> impl Strategy<Value = (Vec<f64>, Vec<bool>, Vec<u8>)> {
    let load = prop_oneof![
        Just(0.0),
        Just(500.0),
        Just(800.0),
        Just(1000.0),
        0.0..1500.0
    ];
    let state = prop_oneof![4 => Just(0u8), 1 => 0u8..3];
    (
        proptest::collection::vec(load, 5),
        proptest::collection::vec(proptest::bool::weighted(0.9), 5),
        proptest::collection::vec(state, 5),
    )
}

/// Request `p` (of four paths) of viewer `h` (of six, some without a
/// position), prepared: the few viewers the memo tests bring back.
fn returning_viewer(r: &Router, h: usize, p: usize) -> Prepared {
    r.prepare(&returning_facts(h, p))
}

/// The facts of [`returning_viewer`]'s request.
fn returning_facts(h: usize, p: usize) -> Facts<'static> {
    let hosts = [
        "192.0.2.7",
        "198.51.100.1",
        "203.0.113.9",
        "2001:db8::1",
        "10.1.2.3",
        "81.2.69.142",
    ];
    let at = [
        Some((52.0, 5.0)),
        Some((40.0, -70.0)),
        None,
        Some((1.0, 100.0)),
        PARIS,
        Some((50.0, 8.0)),
    ];
    let paths = ["/vod/x/a", "/live/y.m3u8", "/w/z", "/other"];
    facts(hosts[h % 6], paths[p % 4], at[h % 6])
}

/// Site states from their numbers (0 active, 1 draining, 2 disabled).
fn site_states(states: &[u8]) -> Vec<SiteState> {
    let all = [SiteState::Active, SiteState::Draining, SiteState::Disabled];
    states.iter().map(|s| all[usize::from(*s) % 3]).collect()
}

proptest! {
    /// A remembered route is the route: the same few viewers come back
    /// under loads that cross every threshold, with a memo small enough to
    /// evict, and `route_memo` always agrees with `route_prepared`.
    #[test]
    fn remembered_routes_are_the_routes(
        steps in proptest::collection::vec((0usize..6, 0usize..4, arb_threshold_load()), 1..150),
    ) {
        let r = router();
        let mut memo = RouteMemo::with_slot_bits(1);
        let mut scratch = Scratch::default();
        for (h, p, (load, up, states)) in steps {
            let view = Prop { load, up, state: site_states(&states) };
            let prep = returning_viewer(&r, h, p);
            let want = r.route_prepared(&prep, &view, &mut Scratch::default());
            prop_assert_eq!(r.route_memo(&prep, &view, &mut memo, &mut scratch), want);
            // Asked again at once: found, and still the route.
            let (_, hits) = memo.hits();
            prop_assert_eq!(r.route_memo(&prep, &view, &mut memo, &mut scratch), want);
            prop_assert_eq!(memo.hits().1, hits + 1, "the same request under the same view is remembered");
        }
    }
}

/// A view kept as integers, as the simulator keeps it.
struct Bps {
    bps: Vec<i64>,
    state: Vec<SiteState>,
}

impl LoadView for Bps {
    fn load(&self, s: SiteId) -> Mbps {
        Mbps::from_bps(self.bps[s.index()])
    }
    fn state(&self, s: SiteId, _: SiteState) -> SiteState {
        self.state[s.index()]
    }
    fn integer_view(&self) -> Option<crate::IntegerView<'_>> {
        Some(crate::IntegerView {
            bps: &self.bps,
            states: &self.state,
        })
    }
}

/// Loads in bit/s on and around every threshold of the test platform (a
/// capacity of 1000 Mbit/s, its spill band from 800, a commit of 500), and
/// anywhere.
fn arb_threshold_bps() -> impl Strategy<Value = (Vec<i64>, Vec<u8>)> {
    let near = |mbps: i64| (-3i64..=3).prop_map(move |d| mbps * 1_000_000 + d);
    let load = prop_oneof![
        near(0),
        near(500),
        near(800),
        near(1000),
        0i64..1_500_000_000,
        Just(i64::MAX),
    ];
    let state = prop_oneof![4 => Just(0u8), 1 => 0u8..3];
    (
        proptest::collection::vec(load, 5),
        proptest::collection::vec(state, 5),
    )
}

/// What `decision` says of each site's verdicts, where it says anything
/// (all sites up, as in an integer view): its state at the `available`
/// step, its capacity verdict where the `capacity` step saw it, and whether
/// it is past its commit where `least_cost` priced it (a commit's overage
/// is above 0 on the test platform). `None` where the decision does not say.
fn verdicts_of(r: &Router, d: &Decision) -> Vec<[Option<(&'static str, u8)>; 3]> {
    let p = r.platform();
    let steps = &p.policy(d.policy).steps;
    let at = |want: fn(&Step) -> bool| steps.iter().position(|s| want(&s.step));
    let available = at(|s| matches!(s, Step::Available));
    let capacity = at(|s| matches!(s, Step::Capacity { .. }));
    let least_cost = at(|s| matches!(s, Step::LeastCost));
    let mark = |step: Option<usize>, i: u16| step.map(|s| d.explanation.mark(s, SiteId(i)));
    (0..p.sites().len() as u16)
        .map(|i| {
            let state = mark(available, i).map(|m| match m.verdict {
                Verdict::Dropped => ("state", 2),
                Verdict::Draining => ("state", 1),
                _ => ("state", 0),
            });
            let room = mark(capacity, i).and_then(|m| match m.verdict {
                Verdict::Full => Some(("capacity", 2)),
                Verdict::Spilled => Some(("capacity", 1)),
                Verdict::Kept => Some(("capacity", 0)),
                _ => None,
            });
            let commit = matches!(p.sites()[usize::from(i)].cost, crate::Cost::Commit { .. });
            let past = match mark(least_cost, i) {
                None => Some(("past commit", 0)),
                Some(m) if m.verdict == Verdict::Kept && commit => {
                    m.score.map(|s| ("past commit", u8::from(s > 0.0)))
                }
                Some(m) if m.verdict == Verdict::Kept => Some(("past commit", 0)),
                Some(_) => None,
            };
            [state, room, past]
        })
        .collect()
}

/// The memo's verdicts in the form of [`verdicts_of`], where it says
/// something too.
fn memo_says(
    v: &[memo::SiteVerdicts],
    oracle: &[[Option<(&str, u8)>; 3]],
) -> Vec<[Option<(&'static str, u8)>; 3]> {
    v.iter()
        .zip(oracle)
        .map(|(v, o)| {
            let state = match v.state {
                SiteState::Active => 0,
                SiteState::Draining => 1,
                SiteState::Disabled => 2,
            };
            let capacity = match v.capacity {
                Some(Verdict::Full) => 2,
                Some(Verdict::Spilled) => 1,
                _ => 0,
            };
            [
                o[0].map(|_| ("state", state)),
                o[1].map(|_| ("capacity", capacity)),
                o[2].map(|_| ("past commit", u8::from(v.past_commit))),
            ]
        })
        .collect()
}

proptest! {
    /// From an integer view, the memo's verdicts (integer loads against
    /// integer thresholds) are what a plain decision on the same loads in
    /// Mbit/s says of each site, as are the verdicts it reads from a
    /// snapshot; and its routes are `route_prepared`'s on that snapshot.
    #[test]
    fn integer_views_give_the_verdicts_and_routes_of_their_mbps(
        steps in proptest::collection::vec((0usize..6, 0usize..4, arb_threshold_bps()), 1..100),
    ) {
        let r = router();
        let mut memo = RouteMemo::with_slot_bits(1);
        let mut scratch = Scratch::default();
        for (h, p, (bps, states)) in steps {
            let view = Bps { bps, state: site_states(&states) };
            // The same loads in Mbit/s, in a view without an integer one.
            let mbps = Prop {
                load: view.bps.iter().map(|b| Mbps::from_bps(*b).0).collect(),
                up: vec![true; view.bps.len()],
                state: view.state.clone(),
            };
            let f = returning_facts(h, p);
            let prep = r.prepare(&f);
            let oracle = verdicts_of(&r, &r.decide(&f, &mbps));
            let (integer, snapshot) = memo.verdicts_integer_and_snapshot(&r, &prep, &view);
            let (integer, snapshot) = (integer.expect("verdicts fit"), snapshot.expect("verdicts fit"));
            // Both readings agree with each other on every bit (including
            // what the oracle is silent on), and each with the oracle.
            prop_assert_eq!(&integer, &snapshot);
            prop_assert!(integer.iter().all(|v| v.up), "an integer view's sites are up");
            prop_assert_eq!(memo_says(&integer, &oracle), oracle.clone(), "integer view");
            prop_assert_eq!(memo_says(&snapshot, &oracle), oracle, "snapshot");
            let want = r.route_prepared(&prep, &mbps, &mut Scratch::default());
            prop_assert_eq!(r.route_memo(&prep, &view, &mut memo, &mut scratch), want);
        }
    }
}

#[test]
fn integer_thresholds_are_the_least_loads_past_them() {
    let r = router();
    let mut memo = RouteMemo::with_slot_bits(1);
    let prep = r.prepare(&facts("192.0.2.7", "/vod/x/a", None));
    let view = Bps {
        bps: vec![0; 5],
        state: vec![SiteState::Active; 5],
    };
    let _ = memo.verdicts_integer_and_snapshot(&r, &prep, &view);
    let mbps = |b: i128| Mbps::from_bps(b as i64).0;
    let mut checked = 0;
    for policy in 0..r.platform().policies.len() {
        for [(cap, full), (threshold, band), (commit, past)] in memo.integer_thresholds(policy) {
            if !cap.is_nan() {
                assert!(mbps(full) >= cap && mbps(full - 1) < cap, "{cap}: {full}");
                assert!(
                    mbps(band) > threshold && mbps(band - 1) <= threshold,
                    "{threshold}: {band}"
                );
                checked += 1;
            } else {
                assert_eq!((full, band), (i128::MAX, i128::MAX));
            }
            if !commit.is_nan() {
                assert!(
                    mbps(past) >= commit && mbps(past - 1) < commit,
                    "{commit}: {past}"
                );
                checked += 1;
            } else {
                assert_eq!(past, i128::MAX);
            }
        }
    }
    assert!(
        checked >= 3,
        "the test platform has capacities and a commit"
    );
}

/// Locates addresses by their last byte: a few countries, continents and
/// positions, some unknown.
struct ByLastByte;

impl crate::location::Locator for ByLastByte {
    fn locate(&self, addr: std::net::IpAddr) -> Location {
        let b = match addr {
            std::net::IpAddr::V4(a) => a.octets()[3],
            std::net::IpAddr::V6(a) => a.octets()[15],
        };
        let country = ["DE", "NL", "US", "SG"][usize::from(b % 4)];
        Location {
            country: country.parse().ok(),
            continent: None,
            asn: (b % 5 == 0).then_some(1136),
            coordinates: (b % 3 != 0)
                .then(|| Coordinates::new(f64::from(b % 90), f64::from(b) - 128.0).ok())
                .flatten(),
        }
    }
}

proptest! {
    /// Preparing through the memo gives, bit for bit, what `prepare` gives
    /// with the located facts, whatever mix of returning clients and paths
    /// (with a client table small enough to evict).
    #[test]
    fn remembered_preparation_is_the_preparation(
        requests in proptest::collection::vec((0u8..12, any::<bool>(), 0usize..9), 1..200),
    ) {
        let r = router();
        let mut memo = PrepareMemo::with_slot_bits(2);
        let paths = ["/vod/x/a.mp4", "/vod/", "/vod", "/live/y.m3u8", "/live/z/seg1.ts", "/w/z", "/other", "/", "/liv"];
        for (host, v6, p) in requests {
            let address: std::net::IpAddr = if v6 {
                format!("2001:db9::{host}").parse().expect("v6")
            } else {
                format!("198.51.100.{host}").parse().expect("v4")
            };
            let path = paths[p];
            let want = r.prepare(&Facts {
                address,
                location: crate::location::Locator::locate(&ByLastByte, address),
                path,
                user_agent: None,
            });
            let got = r.prepare_memo(address, path.as_bytes(), &ByLastByte, &mut memo);
            prop_assert_eq!(memo::key(&got), memo::key(&want), "{} {}", address, path);
        }
    }
}

/// The chosen site and the fallbacks, by name.
fn order(r: &Router, d: &Decision) -> Vec<String> {
    d.site
        .iter()
        .chain(&d.fallbacks)
        .map(|s| name(r, Some(*s)).to_string())
        .collect()
}

/// Which site a viewer of a `weighted` policy gets, and the order of the
/// rest, pinned: a change of hash, of the rendezvous key or of the seed
/// (the address and the whole path) moves viewers and fails here. The
/// orders were worked out apart from this code, in Python over the
/// reference xxHash library: each site's `-ln(unit(mix(seed, hash(name))))
/// / weight`, lowest first (`nyc` weighs 3). `lon` serves only `/live/`:
/// the implicit `serves_content` drops it, and the others keep the oracle's
/// order, as each site's score stands apart from the others'.
#[test]
fn weighted_decisions_are_pinned() {
    let r = router();
    let pinned = [
        ("203.0.113.5", "/w/0", ["nyc", "fra", "ams", "sin"]),
        ("203.0.113.5", "/w/1", ["sin", "nyc", "ams", "fra"]),
        ("203.0.113.6", "/w/1", ["fra", "nyc", "ams", "sin"]),
        (
            "198.51.100.77",
            "/w/show/ep1.ts",
            ["ams", "fra", "nyc", "sin"],
        ),
        (
            "2001:db9::7",
            "/w/show/ep1.ts",
            ["sin", "nyc", "ams", "fra"],
        ),
        ("2001:db9::8", "/w/a?x=1", ["nyc", "sin", "ams", "fra"]),
        ("::ffff:203.0.113.5", "/w/0", ["nyc", "fra", "ams", "sin"]),
        (
            "10.0.0.1",
            "/w/feature/720p/seg42.ts",
            ["nyc", "fra", "sin", "ams"],
        ),
    ];
    for (address, path, want) in pinned {
        let d = r.decide(&facts(address, path, None), &Idle);
        assert_eq!(r.platform().policy(d.policy).name, "us-weighted");
        assert_eq!(order(&r, &d), want, "{address} {path}");
    }
}

/// `german-vod`: the preferred sites in list order, then the others by a
/// weighted rendezvous hash of the path's directory (query left out),
/// pinned as worked out apart from this code (see above), `lon` (live
/// only) dropped by the implicit `serves_content`.
#[test]
fn consistent_hash_decisions_are_pinned() {
    let r = router();
    let pinned = [
        (
            "198.51.100.7",
            "/vod/show/ep1.ts",
            ["fra", "ams", "nyc", "sin"],
        ),
        (
            "198.51.100.8",
            "/vod/show/ep2.ts?t=1",
            ["fra", "ams", "nyc", "sin"],
        ),
        (
            "2001:db9::1",
            "/vod/film/720p/seg1.ts",
            ["fra", "ams", "nyc", "sin"],
        ),
        ("203.0.113.1", "/vod/x", ["fra", "ams", "nyc", "sin"]),
    ];
    for (address, path, want) in pinned {
        let mut f = facts(address, path, None);
        f.location.country = Some("DE".parse().expect("DE"));
        let d = r.decide(&f, &Idle);
        assert_eq!(r.platform().policy(d.policy).name, "german-vod");
        assert_eq!(order(&r, &d), want, "{address} {path}");
    }
}

/// With equal weights the engine ranks by `1 - unit(mix(seed, hash(name)))`
/// (no logarithm): the same order, pinned here from the Python oracle.
#[test]
fn consistent_hash_decisions_with_equal_weights_are_pinned() {
    let mut text = String::new();
    for n in ["a", "b", "c", "d"] {
        text.push_str(&format!(
            "[[sites]]\nname = \"{n}\"\nurls = [\"https://{n}.example.net\"]\nlocation = {{ lat = 0, lon = 0 }}\n\n"
        ));
    }
    text.push_str("[[policies]]\nname = \"hash\"\nsteps = [{ step = \"consistent_hash\" }]\n");
    let config = PlatformConfig::parse("equal.toml", &text).expect("parses");
    let r = Router::new(Arc::new(Platform::build(&config, &[]).expect("valid")));
    let pinned = [
        ("/v/one.ts", ["c", "b", "a", "d"]),
        ("/v/two.ts?tok=9", ["b", "d", "a", "c"]),
        ("/v/three.ts", ["d", "c", "a", "b"]),
        ("/live/x/seg7.ts", ["d", "b", "c", "a"]),
    ];
    for (path, want) in pinned {
        // The path alone decides: two clients, one order.
        for address in ["192.0.2.1", "2001:db8::5"] {
            let d = r.decide(&facts(address, path, None), &Idle);
            assert_eq!(order(&r, &d), want, "{address} {path}");
        }
    }
}

/// Which viewers spill from `ams` at 900 Mbit/s (half way up its band from
/// 800 to 1000): those whose `unit(mix(hash(address) ^ salt, hash("ams")))`
/// is at most 0.5, pinned from the Python oracle.
#[test]
fn spilled_viewers_are_pinned() {
    let r = router();
    let l = load(&r, &[("ams", 900.0)]);
    let pinned = [
        ("198.51.100.1", true),
        ("198.51.100.2", true),
        ("198.51.100.3", false),
        ("198.51.100.4", true),
        ("203.0.113.200", false),
        ("2001:db9::1", true),
        ("2001:db9::2", false),
        ("81.2.69.142", true),
    ];
    for (address, spills) in pinned {
        let d = r.decide(&facts(address, "/vod/a", PARIS), &l);
        let want = if spills {
            ("fra", Outcome::SpilledOver)
        } else {
            ("ams", Outcome::Preferred)
        };
        assert_eq!((name(&r, d.site), d.outcome), want, "{address}");
    }
}

/// A client known by name only (a host name in a log) is prepared as an
/// address no network matches with the same location would be, but for
/// its hash, which is the name's.
#[test]
fn a_named_client_is_grouped_by_its_location_alone() {
    let r = router();
    let mut memo = PrepareMemo::with_slot_bits(4);
    let at = |country: Option<&str>| Location {
        country: country.map(|c| c.parse().expect("test country")),
        continent: country.and_then(|c| Continent::of_country(c.parse().expect("test country"))),
        ..Location::default()
    };
    let group = |p: &Prepared| r.platform().group(p.group).name.clone();
    for (country, path, want) in [
        (Some("DE"), "/vod/a.mp4", "germany"),
        (Some("FR"), "/live/a.ts", "europe"),
        (Some("IL"), "/vod/a.mp4", "default"),
        (None, "/w/a", "default"),
    ] {
        let location = at(country);
        let name = b"gw.example.invalid";
        let named = r.prepare_memo_named(name, &location, path.as_bytes(), &mut memo);
        assert_eq!(group(&named), want, "{country:?}");
        let mut f = facts("203.0.113.1", path, None);
        f.location = location;
        let addressed = r.prepare(&f);
        assert_eq!(named.client_hash, crate::hash::hash_bytes(name));
        assert_eq!(
            Prepared {
                client_hash: addressed.client_hash,
                ..named
            }
            .bits(),
            addressed.bits()
        );
    }
}
