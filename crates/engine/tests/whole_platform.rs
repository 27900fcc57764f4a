//! The routing engine judged over the whole platform, not over its own list
//! of candidates.
//!
//! Random platforms (sites with and without capacity or content lists,
//! groups limited to some sites, policies with any chain of steps, in any
//! order, with or without the filters), random health, operator states and
//! loads, a random viewer. The oracle below knows only the configuration as
//! written and the view: which sites the viewer's group may use, which are
//! up, active, serve the path and have room. Then:
//!
//! * the chosen site is always one the group allows, that is up, not
//!   disabled, and serves the content (a viewer never lands where the
//!   platform said it may not go, or where the content is not);
//! * while a *good* site exists (allowed, up, active, serves, has room), the
//!   answer is never "no site", "not served", "last resort" or "over
//!   capacity", and the chosen site is itself active with room;
//! * "not served" (the server's 404) exactly when no site of the platform
//!   serves the path.
//!
//! The engine's own candidate list is not used to judge it: a site wrongly
//! left out of that list, or a wrong "no site", fails here.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use proptest::prelude::*;
use routecast_engine::{
    Coordinates, Facts, LoadView, Location, Mbps, Outcome, Platform, PlatformConfig, RouteMemo,
    Router, Scratch, SiteId, SiteState,
};

const PATHS: [&str; 3] = ["/live/ch1/index.m3u8", "/vod/film/seg1.ts", "/other/x"];
const PREFIXES: [&str; 2] = ["/live/", "/vod/"];

#[derive(Debug, Clone)]
struct SiteSpec {
    lat: f64,
    lon: f64,
    capacity: Option<f64>,
    /// Indices into [`PREFIXES`]; empty: serves everything.
    content: Vec<usize>,
    weight: u32,
    per_gb: f64,
}

#[derive(Debug, Clone)]
struct GroupSpec {
    /// Indices of the sites the group may use; empty: all.
    sites: Vec<usize>,
}

#[derive(Debug, Clone)]
enum StepSpec {
    Available,
    ServesContent,
    AllowedForGroup,
    Capacity(f64),
    LeastCost,
    Closest,
    Weighted,
    ConsistentHash,
    Preference(Vec<usize>),
}

#[derive(Debug, Clone)]
struct PolicySpec {
    /// Indices of groups; `groups.len()` of the platform means "default".
    groups: Vec<usize>,
    content: Vec<usize>,
    steps: Vec<StepSpec>,
}

#[derive(Debug, Clone)]
struct PlatformSpec {
    sites: Vec<SiteSpec>,
    groups: Vec<GroupSpec>,
    policies: Vec<PolicySpec>,
}

fn subset(n: usize) -> impl Strategy<Value = Vec<usize>> {
    proptest::sample::subsequence((0..n).collect::<Vec<_>>(), 0..=n)
}

fn arb_site() -> impl Strategy<Value = SiteSpec> {
    (
        -60.0f64..70.0,
        -180.0f64..180.0,
        prop_oneof![Just(None), Just(Some(100.0)), Just(Some(1000.0))],
        subset(PREFIXES.len()),
        1u32..4,
        0.001f64..0.05,
    )
        .prop_map(|(lat, lon, capacity, content, weight, per_gb)| SiteSpec {
            lat,
            lon,
            capacity,
            content,
            weight,
            per_gb,
        })
}

fn arb_step(sites: usize) -> impl Strategy<Value = StepSpec> {
    prop_oneof![
        Just(StepSpec::Available),
        Just(StepSpec::ServesContent),
        Just(StepSpec::AllowedForGroup),
        (0.0f64..0.5).prop_map(StepSpec::Capacity),
        Just(StepSpec::LeastCost),
        Just(StepSpec::Closest),
        Just(StepSpec::Weighted),
        Just(StepSpec::ConsistentHash),
        proptest::sample::subsequence((0..sites).collect::<Vec<_>>(), 1..=sites)
            .prop_shuffle()
            .prop_map(StepSpec::Preference),
    ]
}

fn arb_platform() -> impl Strategy<Value = PlatformSpec> {
    (1usize..=5, 0usize..=3).prop_flat_map(|(n_sites, n_groups)| {
        let policy = (
            subset(n_groups + 1),
            subset(PREFIXES.len()),
            proptest::collection::vec(arb_step(n_sites), 1..6),
        )
            .prop_map(|(groups, content, steps)| PolicySpec {
                groups,
                content,
                steps,
            });
        (
            proptest::collection::vec(arb_site(), n_sites),
            proptest::collection::vec(
                subset(n_sites).prop_map(|sites| GroupSpec { sites }),
                n_groups,
            ),
            proptest::collection::vec(policy, 0..4),
        )
            .prop_map(|(sites, groups, policies)| PlatformSpec {
                sites,
                groups,
                policies,
            })
    })
}

fn quoted(names: impl Iterator<Item = String>) -> String {
    names
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn group_name(spec: &PlatformSpec, g: usize) -> String {
    if g == spec.groups.len() {
        "default".to_owned()
    } else {
        format!("g{g}")
    }
}

fn step_toml(step: &StepSpec) -> String {
    match step {
        StepSpec::Available => r#"{ step = "available" }"#.into(),
        StepSpec::ServesContent => r#"{ step = "serves_content" }"#.into(),
        StepSpec::AllowedForGroup => r#"{ step = "allowed_for_group" }"#.into(),
        StepSpec::Capacity(h) => format!(r#"{{ step = "capacity", headroom = {h:?} }}"#),
        StepSpec::LeastCost => r#"{ step = "least_cost" }"#.into(),
        StepSpec::Closest => r#"{ step = "closest" }"#.into(),
        StepSpec::Weighted => r#"{ step = "weighted" }"#.into(),
        StepSpec::ConsistentHash => r#"{ step = "consistent_hash", key = "directory" }"#.into(),
        StepSpec::Preference(sites) => format!(
            r#"{{ step = "preference", sites = [{}] }}"#,
            quoted(sites.iter().map(|s| format!("s{s}")))
        ),
    }
}

/// The platform as an operator would write it.
fn toml(spec: &PlatformSpec) -> String {
    let mut t = String::new();
    for (i, s) in spec.sites.iter().enumerate() {
        let _ = writeln!(t, "[[sites]]\nname = \"s{i}\"");
        let _ = writeln!(t, "urls = [\"https://s{i}.example.net\"]");
        let _ = writeln!(t, "location = {{ lat = {:?}, lon = {:?} }}", s.lat, s.lon);
        let _ = writeln!(
            t,
            "weight = {}\ncost = {{ per_gb = {:?} }}",
            s.weight, s.per_gb
        );
        if let Some(c) = s.capacity {
            let _ = writeln!(t, "capacity_mbps = {c:?}");
        }
        if !s.content.is_empty() {
            let _ = writeln!(
                t,
                "content = [{}]",
                quoted(s.content.iter().map(|c| PREFIXES[*c].to_owned()))
            );
        }
    }
    for (g, group) in spec.groups.iter().enumerate() {
        let _ = writeln!(
            t,
            "[[groups]]\nname = \"g{g}\"\ncidrs = [\"10.{g}.0.0/16\"]"
        );
        if !group.sites.is_empty() {
            let _ = writeln!(
                t,
                "sites = [{}]",
                quoted(group.sites.iter().map(|s| format!("s{s}")))
            );
        }
    }
    for (p, policy) in spec.policies.iter().enumerate() {
        let _ = writeln!(t, "[[policies]]\nname = \"p{p}\"");
        if !policy.groups.is_empty() {
            let names = policy.groups.iter().map(|g| group_name(spec, *g));
            let _ = writeln!(t, "groups = [{}]", quoted(names));
        }
        if !policy.content.is_empty() {
            let prefixes = policy.content.iter().map(|c| PREFIXES[*c].to_owned());
            let _ = writeln!(t, "content = [{}]", quoted(prefixes));
        }
        let steps: Vec<String> = policy.steps.iter().map(step_toml).collect();
        let _ = writeln!(t, "steps = [{}]", steps.join(", "));
    }
    t
}

/// Health, operator state and load, per site.
#[derive(Debug, Clone)]
struct View {
    up: Vec<bool>,
    state: Vec<SiteState>,
    load: Vec<f64>,
}

impl LoadView for View {
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

fn arb_view(sites: usize) -> impl Strategy<Value = View> {
    let state = prop_oneof![
        3 => Just(SiteState::Active),
        1 => Just(SiteState::Draining),
        1 => Just(SiteState::Disabled),
    ];
    // On and around both capacities the generator uses, and anywhere.
    let load = prop_oneof![
        Just(0.0),
        Just(99.0),
        Just(100.0),
        Just(900.0),
        Just(999.0),
        Just(1000.0),
        Just(5000.0),
        0.0f64..2000.0,
    ];
    (
        proptest::collection::vec(prop::bool::weighted(0.8), sites),
        proptest::collection::vec(state, sites),
        proptest::collection::vec(load, sites),
    )
        .prop_map(|(up, state, load)| View { up, state, load })
}

/// What the configuration as written says about one viewer and one site.
struct Oracle<'a> {
    spec: &'a PlatformSpec,
    view: &'a View,
    group: usize,
    path: &'a str,
}

impl Oracle<'_> {
    fn allowed(&self, s: usize) -> bool {
        self.spec
            .groups
            .get(self.group)
            .is_none_or(|g| g.sites.is_empty() || g.sites.contains(&s))
    }
    fn serves(&self, s: usize) -> bool {
        let content = &self.spec.sites[s].content;
        content.is_empty() || content.iter().any(|c| self.path.starts_with(PREFIXES[*c]))
    }
    fn has_room(&self, s: usize) -> bool {
        self.spec.sites[s]
            .capacity
            .is_none_or(|c| self.view.load[s] < c)
    }
    fn good(&self, s: usize) -> bool {
        self.allowed(s)
            && self.view.up[s]
            && self.view.state[s] == SiteState::Active
            && self.serves(s)
            && self.has_room(s)
    }
}

fn viewer(group: usize, host: u16) -> IpAddr {
    let [a, b] = host.to_be_bytes();
    // Groups own 10.g.0.0/16; 192.0.2.0/24 is in none of them: "default".
    IpAddr::V4(if group < 4 {
        Ipv4Addr::new(10, group as u8, a, b)
    } else {
        Ipv4Addr::new(192, 0, 2, b)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, max_shrink_iters: 2000, ..ProptestConfig::default() })]

    #[test]
    fn a_viewer_goes_where_the_platform_allows_and_never_away_from_a_good_site(
        (spec, view) in arb_platform().prop_flat_map(|spec| {
            let n = spec.sites.len();
            (Just(spec), arb_view(n))
        }),
        group_pick in 0usize..4,
        host in any::<u16>(),
        path in proptest::sample::select(PATHS.to_vec()),
        at in proptest::option::of((-60.0f64..70.0, -180.0f64..180.0)),
    ) {
        let text = toml(&spec);
        let config = PlatformConfig::parse("random.toml", &text)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let platform = Platform::build(&config, &[])
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let router = Router::new(Arc::new(platform));
        // A group of the platform, or the default group.
        let group = if group_pick < spec.groups.len() { group_pick } else { spec.groups.len() };
        let address = viewer(if group < spec.groups.len() { group } else { 4 }, host);
        let facts = Facts {
            address,
            location: Location {
                coordinates: at.and_then(|(lat, lon)| Coordinates::new(lat, lon).ok()),
                ..Location::default()
            },
            path,
            user_agent: None,
        };
        let d = router.decide(&facts, &view);
        let p = router.platform();
        prop_assert_eq!(&p.group(d.group).name, &group_name(&spec, group), "group\n{}", text);
        let oracle = Oracle { spec: &spec, view: &view, group, path };
        // Site ids are declaration order: s{i} is SiteId(i).
        prop_assert_eq!(p.site(SiteId(0)).name.as_str(), "s0");
        if let Some(s) = d.site {
            let i = s.index();
            prop_assert!(oracle.allowed(i), "s{} is not allowed for the group: {:?}\n{}", i, d.outcome, text);
            prop_assert!(view.up[i], "s{} is down\n{}", i, text);
            prop_assert!(view.state[i] != SiteState::Disabled, "s{} is disabled\n{}", i, text);
            prop_assert!(oracle.serves(i), "s{} does not serve {}\n{}", i, path, text);
        }
        let good: Vec<usize> = (0..spec.sites.len()).filter(|s| oracle.good(*s)).collect();
        if !good.is_empty() {
            prop_assert!(
                !matches!(d.outcome, Outcome::NoSite | Outcome::NotServed | Outcome::LastResort | Outcome::OverCapacity),
                "{:?} (site {:?}) while {:?} are good\n{}", d.outcome, d.site, good, text
            );
            let chosen = d.site.map(SiteId::index);
            prop_assert!(
                chosen.is_some_and(|i| view.state[i] == SiteState::Active && oracle.has_room(i)),
                "chose {:?} while {:?} are good\n{}", chosen, good, text
            );
        }
        // "Not served" (404) exactly when no site of the platform serves the
        // path, whoever asks and whatever the sites' state.
        let served_somewhere = (0..spec.sites.len()).any(|s| oracle.serves(s));
        prop_assert_eq!(d.outcome == Outcome::NotServed, !served_somewhere, "{:?}\n{}", d.outcome, text);
        // The server's and the simulator's paths answer the same.
        let route = router.route_with(&facts, &view, &mut Scratch::default());
        prop_assert_eq!((route.site, route.outcome), (d.site, d.outcome));
        let prepared = router.prepare(&facts);
        let mut memo = RouteMemo::with_slot_bits(2);
        let remembered = router.route_memo(&prepared, &view, &mut memo, &mut Scratch::default());
        prop_assert_eq!((remembered.site, remembered.outcome), (d.site, d.outcome));
    }
}
