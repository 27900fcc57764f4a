//! The platform configuration file (`routecast.toml`) as written: serde types
//! that mirror the TOML, with the place of every value kept for errors.
//!
//! These types are only parsed here; [`crate::Platform::build`] validates them
//! into the typed model everything else uses ("parse, don't validate").

use serde::Deserialize;
use toml::Spanned;

use crate::error::{ConfigError, Source};

mod step_place;
#[cfg(test)]
mod tests;

/// A whole `routecast.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformConfig {
    /// The group for clients no other group matches; a built-in group named
    /// `default` when absent.
    pub default_group: Option<Spanned<String>>,
    /// The currency the sites' prices are written in (ISO 4217 code, e.g.
    /// `EUR`): reports label costs with it.
    pub currency: Option<Spanned<String>>,
    /// Optional MaxMind databases used to locate clients.
    #[serde(default)]
    pub geoip: GeoIpConfig,
    /// Apache Traffic Control coverage-zone files imported as client groups.
    #[serde(default)]
    pub coverage_zones: Vec<CoverageZoneConfig>,
    /// The sites (data centres) that serve viewers, in preference order for ties.
    #[serde(default)]
    pub sites: Vec<SiteConfig>,
    /// Client groups matched by network, ASN, country or continent.
    #[serde(default)]
    pub groups: Vec<GroupConfig>,
    /// Routing policies, chosen per client group and/or content prefix.
    #[serde(default)]
    pub policies: Vec<PolicyConfig>,
    /// Content whose HLS playlists `routecast serve` answers itself
    /// (fetched from an origin and rewritten to point at the chosen site)
    /// instead of redirecting.
    #[serde(default)]
    pub playlists: Vec<PlaylistConfig>,
    /// Session classes: the bit rate a redirect adds to its site's estimated
    /// load and how long that estimate lasts, by content prefix.
    #[serde(default)]
    pub sessions: Vec<SessionConfig>,
    /// Where this configuration came from (set by [`PlatformConfig::parse`]).
    #[serde(skip, default = "empty_source")]
    pub source: Source,
}

fn empty_source() -> Source {
    Source::new("<none>", "")
}

/// One `[[playlists]]` rule: `.m3u8` requests under its prefixes are served
/// by routecast, rewritten for the site the engine chooses.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaylistConfig {
    /// Path prefixes (e.g. `/live/`); requests under them whose path ends in
    /// `.m3u8` are answered with the rewritten playlist.
    pub content: Spanned<Vec<Spanned<String>>>,
    /// Where playlists are fetched: `"site"` (default) from the chosen
    /// site's first `http://` URL, or the `http://` base URL of one origin
    /// (e.g. `"http://origin.example.net"`).
    pub origin: Option<Spanned<String>>,
    /// Make multivariant playlists steerable: add `EXT-X-CONTENT-STEERING`
    /// pointing at routecast's steering manifest and one copy of every
    /// variant per site, tagged `PATHWAY-ID` (default false).
    pub steering: Option<bool>,
    /// Time a fetch from the origin may take, ms (default 2000, at most 60000).
    pub timeout_ms: Option<Spanned<u64>>,
    /// When no origin gives a usable playlist: `"redirect"` (default) a
    /// `302` to the chosen site's own URL for the playlist, as a plain
    /// redirect; `"error"` a `502` naming why each origin failed.
    pub fallback: Option<crate::platform::PlaylistFallback>,
}

/// One `[[sessions]]` class: what a redirect under its prefixes stands for
/// in the redirected site's estimated load (`routecast serve`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionConfig {
    /// Path prefixes (e.g. `/vod/`) of the class; the longest prefix over
    /// all classes wins. `["/"]` sets the default for everything else.
    pub content: Spanned<Vec<Spanned<String>>>,
    /// Mbit/s one redirect adds (default `routecast serve --session-mbps`).
    pub mbps: Option<Spanned<f64>>,
    /// Seconds the estimate lasts (default 10, 1 to 3600).
    pub hold_s: Option<Spanned<u64>>,
}

/// MaxMind DB files (paths relative to the configuration file).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeoIpConfig {
    /// A GeoIP2/GeoLite2 City or Country database: country, continent, coordinates.
    pub city: Option<Spanned<String>>,
    /// A GeoIP2/GeoLite2 ASN database: autonomous system numbers.
    pub asn: Option<Spanned<String>>,
}

/// One Traffic Control coverage-zone file to import.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoverageZoneConfig {
    /// Path of the JSON file (relative to the configuration file).
    pub file: Spanned<String>,
    /// Text put before every zone name to make the group name (default none).
    #[serde(default)]
    pub prefix: String,
    /// Sites the imported groups may use (default: all).
    #[serde(default)]
    pub sites: Vec<Spanned<String>>,
}

/// One site as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// Unique name, used in policies, metrics and redirect headers.
    pub name: Spanned<String>,
    /// Base URLs viewers are redirected to: `http://` or `https://`, a host,
    /// an optional port (1-65535) and base path; no credentials, query or
    /// fragment (checked by `Platform::build`).
    pub urls: Spanned<Vec<Spanned<String>>>,
    /// Where the site is, for distance ranking.
    pub location: Spanned<CoordinatesConfig>,
    /// Outbound capacity in Mbit/s; absent means unlimited.
    pub capacity_mbps: Option<Spanned<f64>>,
    /// What the site's traffic costs.
    #[serde(default)]
    pub cost: Option<Spanned<CostConfig>>,
    /// Relative weight for weighted and hashed ranking (default 1; 0 = last).
    pub weight: Option<Spanned<f64>>,
    /// Path prefixes the site serves (e.g. `/live/`); empty serves everything.
    #[serde(default)]
    pub content: Vec<Spanned<String>>,
    /// `active` (default), `draining` (only as a last resort) or `disabled`.
    #[serde(default)]
    pub state: Option<Spanned<String>>,
    /// An active HTTP health check run by `routecast serve`.
    pub health: Option<Spanned<HealthConfig>>,
    /// Where `routecast serve` reads the site's current bandwidth.
    pub load: Option<Spanned<LoadSourceConfig>>,
}

/// A site's own statistics endpoint, polled for its outbound bandwidth.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadSourceConfig {
    /// URL fetched with GET (`http://` only).
    pub url: String,
    /// `prometheus` (text exposition; `metric` is a counter of bytes sent,
    /// summed over its label sets, turned into a rate between polls),
    /// `json` (`field` is a dot path to a number of Mbit/s) or
    /// `stub_status` (nginx's `stub_status` page: the connections nginx is
    /// writing a response to, times `mbps_per_connection`).
    pub format: String,
    /// The Prometheus counter of bytes sent (format `prometheus`).
    pub metric: Option<String>,
    /// Dot path of the Mbit/s value (format `json`), e.g. `traffic.mbps`.
    pub field: Option<String>,
    /// Mbit/s one connection nginx is writing to stands for (format
    /// `stub_status`, required there; above 0), e.g. the mean bitrate of a
    /// viewer's session. stub_status counts connections, not bytes, so this
    /// is the only way to turn it into bandwidth.
    pub mbps_per_connection: Option<f64>,
    /// Time between polls, ms (default 5000).
    pub interval_ms: Option<u64>,
}

/// An active HTTP health check of a site.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthConfig {
    /// URL fetched with GET (`http://` only); 2xx and 3xx answers pass.
    pub url: String,
    /// Time between checks, ms (default 5000).
    pub interval_ms: Option<u64>,
    /// Time a check may take, ms (default 2000, at most the interval).
    pub timeout_ms: Option<u64>,
    /// Consecutive passes that bring a down site back (default 2).
    pub rise: Option<u32>,
    /// Consecutive failures that take a site out (default 3).
    pub fall: Option<u32>,
}

/// Latitude and longitude in decimal degrees.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoordinatesConfig {
    /// Latitude, −90 to 90.
    pub lat: f64,
    /// Longitude, −180 to 180.
    pub lon: f64,
}

/// A site's price: metered per GB, or a 95th-percentile commit.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostConfig {
    /// Metered price per GB delivered.
    pub per_gb: Option<f64>,
    /// Committed rate in Mbit/s (95th-percentile billing).
    pub commit_mbps: Option<f64>,
    /// Monthly price of the commit.
    pub commit_price: Option<f64>,
    /// Monthly price per Mbit/s of 95th percentile above the commit.
    pub overage_per_mbps: Option<f64>,
}

/// One client group as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    /// Unique name.
    pub name: Spanned<String>,
    /// IPv4 and IPv6 networks (CIDR) of the group; the most specific wins.
    #[serde(default)]
    pub cidrs: Vec<Spanned<String>>,
    /// Autonomous system numbers of the group.
    #[serde(default)]
    pub asns: Vec<Spanned<u32>>,
    /// ISO 3166-1 alpha-2 country codes of the group.
    #[serde(default)]
    pub countries: Vec<Spanned<String>>,
    /// Continent codes (AF, AN, AS, EU, NA, OC, SA) of the group.
    #[serde(default)]
    pub continents: Vec<Spanned<String>>,
    /// Where the group's clients are, when GeoIP does not say.
    pub location: Option<Spanned<CoordinatesConfig>>,
    /// Sites the group may use (default: all).
    #[serde(default)]
    pub sites: Vec<Spanned<String>>,
}

/// One routing policy as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Unique name.
    pub name: Spanned<String>,
    /// Groups the policy applies to (default: every group).
    #[serde(default)]
    pub groups: Vec<Spanned<String>>,
    /// Path prefixes the policy applies to (default: all content).
    #[serde(default)]
    pub content: Vec<Spanned<String>>,
    /// The chain of filters and rankers, applied in order.
    pub steps: Spanned<Vec<Spanned<StepConfig>>>,
}

/// One step of a policy chain, tagged by `step = "…"`.
///
/// (Fields inside a step carry no place of their own: serde buffers tagged
/// enums. A step that does not read is read again on its own, so that its
/// error points at the step, or at the key it names.)
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case", deny_unknown_fields)]
pub enum StepConfig {
    /// Filter: drop sites that are down or disabled; draining sites go last.
    Available,
    /// Filter: drop sites whose `content` prefixes do not cover the path.
    ServesContent,
    /// Filter: drop sites the client's group may not use.
    AllowedForGroup,
    /// Filter: move sites near capacity behind the others, in proportion.
    Capacity {
        /// Fraction of capacity kept free (0 to 1, default 0.1): between
        /// `capacity × (1 − headroom)` and `capacity` a rising share of
        /// requests spills to the next site.
        #[serde(default)]
        headroom: Option<f64>,
    },
    /// Ranker: cheapest marginal price per GB first (commits count as paid).
    LeastCost,
    /// Ranker: nearest by great-circle distance first.
    Closest {
        /// Distances within the same band of this many km tie (default 0: exact).
        #[serde(default)]
        bucket_km: Option<f64>,
    },
    /// Ranker: random in proportion to site weight, seeded by client and path.
    Weighted,
    /// Ranker: rendezvous hash of the content, weighted, for cache affinity.
    ConsistentHash {
        /// `path` (default) or `directory` (the path up to its last `/`, so
        /// all segments of one HLS rendition land on the same site).
        #[serde(default)]
        key: Option<String>,
    },
    /// Ranker: the listed sites first, in list order.
    Preference {
        /// Site names in order of preference.
        sites: Vec<String>,
    },
}

impl PlatformConfig {
    /// Parses TOML text; `name` is used in error messages (usually the path).
    pub fn parse(name: &str, text: &str) -> Result<Self, ConfigError> {
        let source = Source::new(name, text);
        let mut config: PlatformConfig = toml::from_str(text).map_err(|e| {
            let message = e.message().trim().replace('\n', " ");
            let within = |inner: &std::ops::Range<usize>| {
                e.span()
                    .is_some_and(|s| s.start <= inner.start && inner.end <= s.end)
            };
            match (e.span(), step_place::step_error(text)) {
                (_, Some((inner, message))) if within(&inner) => source.error(inner, message),
                (Some(span), _) => source.error(span, message),
                (None, _) => ConfigError::whole_file(name, message),
            }
        })?;
        config.source = source;
        Ok(config)
    }
}
