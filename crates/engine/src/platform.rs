//! The validated platform model: sites, client groups and policies.
//!
//! Built once from a [`PlatformConfig`](crate::config::PlatformConfig) by
//! [`Platform::build`]; everything downstream trusts these types.

use std::fmt;

use crate::groups::GroupTable;
pub use crate::ids::{GroupId, PolicyId, SiteId};
use crate::location::Coordinates;
use crate::policy::Policy;

/// A bit rate in megabits per second (10^6 bit/s).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default, serde::Serialize)]
pub struct Mbps(pub f64);

impl Mbps {
    /// A rate in bit/s as Mbit/s: the one conversion everything that keeps
    /// loads as integer bit/s uses (see [`crate::IntegerView`]).
    #[inline]
    pub fn from_bps(bps: i64) -> Mbps {
        Mbps(bps as f64 / 1e6)
    }
}

impl fmt::Display for Mbps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.1} Mbit/s", self.0)
    }
}

/// An operator's setting for a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SiteState {
    /// In rotation.
    Active,
    /// Taking no new viewers while another site can serve them: ranked last.
    Draining,
    /// Out of rotation.
    Disabled,
}

impl SiteState {
    /// The configuration keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            SiteState::Active => "active",
            SiteState::Draining => "draining",
            SiteState::Disabled => "disabled",
        }
    }
}

/// GB delivered by one Mbit/s sustained for a 30-day month:
/// 10^6 bit/s × 2,592,000 s ÷ 8 ÷ 10^9.
pub const GB_PER_MBPS_MONTH: f64 = 324.0;

/// What delivering traffic from a site costs.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cost {
    /// Metered: a price per GB delivered.
    PerGb(f64),
    /// Burstable billing: `mbps` at the 95th percentile are paid for by
    /// `price` a month; each Mbit/s above costs `overage_per_mbps` a month.
    Commit {
        /// Committed rate.
        mbps: f64,
        /// Monthly price of the commit.
        price: f64,
        /// Monthly price per Mbit/s above the commit.
        overage_per_mbps: f64,
    },
}

impl Cost {
    /// Price per GB of one more unit of traffic at `load`: zero under a
    /// commit (already paid for), the overage converted to per-GB above it.
    /// (`RouteMemo` relies on the answer changing only where `load`
    /// crosses a commit's `mbps`: keep it so, or teach the memo.)
    pub fn marginal_per_gb(&self, load: Mbps) -> f64 {
        match *self {
            Cost::PerGb(p) => p,
            Cost::Commit {
                mbps,
                overage_per_mbps,
                ..
            } => {
                if load.0 < mbps {
                    0.0
                } else {
                    overage_per_mbps / GB_PER_MBPS_MONTH
                }
            }
        }
    }
}

/// An active HTTP health check: a site leaves rotation after `fall`
/// consecutive failures (within `interval × fall`) and returns after `rise`
/// consecutive passes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    /// `http://host[:port]/path` fetched with GET.
    pub url: String,
    /// Time between checks, ms.
    pub interval_ms: u64,
    /// Time a check may take, ms.
    pub timeout_ms: u64,
    /// Passes needed to come back.
    pub rise: u32,
    /// Failures needed to leave.
    pub fall: u32,
}

/// A site's statistics endpoint and how to read its bandwidth from it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadSource {
    /// `http://` URL fetched with GET.
    pub url: String,
    /// How to read the answer.
    pub reading: LoadReading,
    /// Time between polls, ms.
    pub interval_ms: u64,
}

/// How a statistics answer gives bandwidth.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum LoadReading {
    /// Prometheus text: a counter of bytes sent (summed over label sets),
    /// turned into Mbit/s from two polls.
    PrometheusBytes {
        /// The metric name.
        metric: String,
    },
    /// JSON: the number of Mbit/s at a dot path.
    JsonMbps {
        /// Dot path, e.g. `traffic.mbps`.
        field: String,
    },
    /// nginx's `stub_status` page: the `Writing:` connections (those nginx
    /// is sending a response on) times a configured rate per connection.
    /// `Writing`, not `Active connections`: Active also counts idle
    /// keep-alive connections (`Waiting:`) and requests still being read
    /// (`Reading:`), which carry no outbound bytes.
    StubStatusWriting {
        /// What one writing connection stands for (finite, above 0).
        per_connection: Mbps,
    },
}

/// A site (data centre) that serves viewers.
#[derive(Debug, Clone)]
pub struct Site {
    /// Unique name.
    pub name: String,
    /// Base URLs (no trailing slash): the first is the one redirects use.
    pub urls: Vec<String>,
    /// Where the site is.
    pub location: Coordinates,
    /// Outbound capacity; `None` is unlimited.
    pub capacity: Option<Mbps>,
    /// What its traffic costs.
    pub cost: Cost,
    /// Relative weight for weighted and hashed ranking.
    pub weight: f64,
    /// Path prefixes served; empty serves everything.
    pub content: Vec<String>,
    /// Operator setting.
    pub state: SiteState,
    /// The active health check, if configured.
    pub health: Option<HealthCheck>,
    /// Where the site's current bandwidth is read, if configured.
    pub load_source: Option<LoadSource>,
    /// A hash of the name, the site's stable identity in hashed rankings.
    pub(crate) name_hash: u64,
    /// `location` as a unit vector, for fast distances.
    pub(crate) xyz: [f64; 3],
    /// Sites with equal `content` lists share a class (decisions test each
    /// list once); classes are numbered densely from 0 in declaration order.
    pub(crate) content_class: u16,
}

impl Site {
    /// True when the site serves `path` (by its `content` prefixes; a path
    /// is compared as bytes).
    pub fn serves<P: AsRef<[u8]> + ?Sized>(&self, path: &P) -> bool {
        self.content.is_empty()
            || self
                .content
                .iter()
                .any(|p| crate::policy::has_prefix(path, p))
    }

    /// The URL a viewer is sent to for `path` (and `query`, after a `?`):
    /// the site's first URL followed by them.
    pub fn redirect_url(&self, path: &str, query: Option<&str>) -> String {
        // A built site has at least one URL (Platform::build refuses none).
        let base = self.urls.first().map_or("", String::as_str);
        match query {
            Some(q) => format!("{base}{path}?{q}"),
            None => format!("{base}{path}"),
        }
    }

    /// The first of the site's URLs that is plain `http://` (where playlists
    /// are fetched from the site itself).
    pub fn http_url(&self) -> Option<&str> {
        self.urls
            .iter()
            .map(String::as_str)
            .find(|u| u.starts_with("http://"))
    }
}

/// Where a playlist rule fetches playlists.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlaylistOrigin {
    /// From the chosen site itself, at its first `http://` URL
    /// ([`Site::http_url`]).
    Site,
    /// From one origin: an `http://` base URL without trailing slash.
    Url(String),
}

/// A `[[playlists]]` rule: `.m3u8` requests under its prefixes are answered
/// by the server with the playlist, rewritten for the chosen site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaylistRule {
    /// Path prefixes covered.
    pub content: Vec<String>,
    /// Where playlists come from.
    pub origin: PlaylistOrigin,
    /// Whether multivariant playlists get Content Steering.
    pub steering: bool,
    /// Time a fetch may take, ms.
    pub timeout_ms: u64,
}

/// Where a client group was defined.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GroupOrigin {
    /// In the platform configuration.
    Config,
    /// Imported from a coverage-zone file.
    CoverageZone {
        /// The file.
        file: String,
    },
    /// The built-in default group.
    BuiltIn,
}

/// A set of clients routed alike.
#[derive(Debug, Clone)]
pub struct ClientGroup {
    /// Unique name.
    pub name: String,
    /// Where its clients are, when GeoIP does not say.
    pub location: Option<Coordinates>,
    /// Sites the group may use; `None` is all.
    pub allowed: Option<Vec<SiteId>>,
    /// Where it was defined.
    pub origin: GroupOrigin,
}

impl ClientGroup {
    /// True when the group may use `site`.
    pub fn allows(&self, site: SiteId) -> bool {
        self.allowed.as_ref().is_none_or(|a| a.contains(&site))
    }
}

/// Distinct site `content` lists a platform may have (a decision carries one
/// bit per list).
pub const MAX_CONTENT_CLASSES: usize = 128;

/// The whole validated platform: what the engine routes over.
#[derive(Debug, Clone)]
pub struct Platform {
    pub(crate) sites: Vec<Site>,
    pub(crate) groups: Vec<ClientGroup>,
    pub(crate) policies: Vec<Policy>,
    pub(crate) table: GroupTable,
    pub(crate) geoip: GeoIpFiles,
    pub(crate) playlists: Vec<PlaylistRule>,
    /// Every site has the same weight.
    pub(crate) uniform_weights: bool,
    /// One site of each content class, by class: what a decision tests a
    /// path against.
    pub(crate) class_sites: Vec<SiteId>,
}

/// The MaxMind database files a configuration names (resolved by the loader).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GeoIpFiles {
    /// City or Country database path, as written.
    pub city: Option<String>,
    /// ASN database path, as written.
    pub asn: Option<String>,
}

impl Platform {
    /// All sites, in declaration order (`SiteId` is the index).
    pub fn sites(&self) -> &[Site] {
        &self.sites
    }

    /// One site.
    pub fn site(&self, id: SiteId) -> &Site {
        &self.sites[id.index()]
    }

    /// The site called `name`.
    pub fn site_by_name(&self, name: &str) -> Option<SiteId> {
        self.sites
            .iter()
            .position(|s| s.name == name)
            .and_then(|i| u16::try_from(i).ok())
            .map(SiteId)
    }

    /// All client groups.
    pub fn groups(&self) -> &[ClientGroup] {
        &self.groups
    }

    /// One group.
    pub fn group(&self, id: GroupId) -> &ClientGroup {
        &self.groups[id.index()]
    }

    /// All policies, in declaration order.
    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }

    /// One policy.
    pub fn policy(&self, id: PolicyId) -> &Policy {
        &self.policies[id.index()]
    }

    /// How clients are matched to groups.
    pub fn group_table(&self) -> &GroupTable {
        &self.table
    }

    /// The GeoIP databases the configuration names.
    pub fn geoip_files(&self) -> &GeoIpFiles {
        &self.geoip
    }

    /// The playlist rules, in declaration order.
    pub fn playlists(&self) -> &[PlaylistRule] {
        &self.playlists
    }

    /// The rule that has routecast serve `path` as a playlist: the path ends
    /// in `.m3u8` (any case) and lies under one of the rule's prefixes (the
    /// longest prefix wins): its index in [`Platform::playlists`] and the
    /// rule. Allocation-free; `None` for everything else.
    pub fn playlist_rule(&self, path: &str) -> Option<(usize, &PlaylistRule)> {
        if self.playlists.is_empty() || !has_m3u8_extension(path) {
            return None;
        }
        self.playlists
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                r.content
                    .iter()
                    .filter(|p| crate::policy::has_prefix(path, p))
                    .map(|p| (p.len(), i, r))
                    .max_by_key(|(len, ..)| *len)
            })
            .max_by_key(|(len, ..)| *len)
            .map(|(_, i, r)| (i, r))
    }
}

fn has_m3u8_extension(path: &str) -> bool {
    let b = path.as_bytes();
    b.len() >= 5 && b[b.len() - 5..].eq_ignore_ascii_case(b".m3u8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playlist_rules_cover_m3u8_under_their_prefixes_longest_first() {
        let toml = r#"
[[sites]]
name = "a"
urls = ["https://a.example.net", "http://a.example.net"]
location = { lat = 0, lon = 0 }

[[playlists]]
content = ["/live/"]

[[playlists]]
content = ["/live/sports/", "/events/"]
origin = "http://origin.example.net/hls/"
steering = true
timeout_ms = 900
"#;
        let config = crate::PlatformConfig::parse("t.toml", toml).expect("parses");
        let p = Platform::build(&config, &[]).expect("builds");
        assert_eq!(p.playlists().len(), 2);
        let rule = |path: &str| p.playlist_rule(path).map(|(_, r)| r.timeout_ms);
        assert_eq!(rule("/live/news/index.m3u8"), Some(2000));
        assert_eq!(rule("/live/sports/x/INDEX.M3U8"), Some(900));
        assert_eq!(rule("/events/a.m3u8"), Some(900));
        assert_eq!(rule("/live/news/seg1.ts"), None);
        assert_eq!(rule("/vod/a.m3u8"), None);
        assert_eq!(rule("/live/.m3u8x"), None);
        let (index, sports) = p.playlist_rule("/events/a.m3u8").expect("rule");
        assert_eq!(index, 1);
        assert_eq!(
            sports.origin,
            PlaylistOrigin::Url("http://origin.example.net/hls".into())
        );
        assert!(sports.steering);
        assert_eq!(p.playlists()[0].origin, PlaylistOrigin::Site);
        assert!(!p.playlists()[0].steering);
        let twice = format!("{toml}\n[[playlists]]\ncontent = [\"/events/\"]\n");
        let config = crate::PlatformConfig::parse("t.toml", &twice).expect("parses");
        let e = Platform::build(&config, &[]).expect_err("a prefix in two rules");
        assert!(e.to_string().starts_with("t.toml:17:12:"), "{e}");
        assert!(e.to_string().contains("already in a playlist rule"), "{e}");
    }

    #[test]
    fn commit_traffic_is_already_paid_for() {
        let c = Cost::Commit {
            mbps: 1000.0,
            price: 500.0,
            overage_per_mbps: 3.24,
        };
        assert_eq!(c.marginal_per_gb(Mbps(999.0)), 0.0);
        assert!((c.marginal_per_gb(Mbps(1000.0)) - 0.01).abs() < 1e-12);
        assert_eq!(Cost::PerGb(0.02).marginal_per_gb(Mbps(1e9)), 0.02);
    }
}
