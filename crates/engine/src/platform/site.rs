//! Sites: where a site is, what it serves, its capacity and cost, its
//! operator state, and the probes `routecast serve` runs on it.

use std::fmt;

use crate::location::Coordinates;

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
        // Pushed, not format!ted: this is every redirect's one allocation,
        // and the formatting machinery cost more than the routing decision.
        let q = query.map_or(0, |q| q.len() + 1);
        let mut url = String::with_capacity(base.len() + path.len() + q);
        url.push_str(base);
        url.push_str(path);
        if let Some(q) = query {
            url.push('?');
            url.push_str(q);
        }
        url
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

#[cfg(test)]
mod tests {
    use super::*;

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
