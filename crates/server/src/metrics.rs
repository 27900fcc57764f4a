//! Prometheus metrics (OpenMetrics text, via the `prometheus-client` crate):
//! requests by site, group and status, decision latency, site health and
//! load (polled and estimated).

use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use routecast_engine::{Platform, SiteId};

use crate::health::Health;

type Labels = Vec<(&'static str, String)>;

/// The redirector's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    latency: Histogram,
    up: Family<Labels, Gauge<i64, std::sync::atomic::AtomicI64>>,
    load: Family<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    reloads: Family<Labels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<Labels, Counter>::default();
        registry.register(
            "routecast_requests",
            "Requests answered, by site, client group and HTTP status",
            requests.clone(),
        );
        // 1 µs to about 33 ms.
        let latency = Histogram::new(exponential_buckets(1e-6, 2.0, 16));
        registry.register(
            "routecast_decision_seconds",
            "Time to locate the client and decide",
            latency.clone(),
        );
        let up = Family::<Labels, Gauge<i64, std::sync::atomic::AtomicI64>>::default();
        registry.register(
            "routecast_site_up",
            "1 when the site passes its health checks (or has none)",
            up.clone(),
        );
        let load = Family::<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        registry.register(
            "routecast_site_load_mbps",
            "Site load, Mbit/s: source=polled (its last statistics poll) or estimate (recent redirects not yet in a poll)",
            load.clone(),
        );
        let reloads = Family::<Labels, Counter>::default();
        registry.register(
            "routecast_reloads",
            "Configuration reloads, by result",
            reloads.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            up,
            load,
            reloads,
        }
    }
}

impl Metrics {
    /// The request counter for these labels (created on first use).
    pub fn counter(&self, site: &str, group: &str, status: u16) -> Counter {
        let labels = vec![
            ("site", site.to_string()),
            ("group", group.to_string()),
            ("status", status.to_string()),
        ];
        self.requests.get_or_create(&labels).clone()
    }

    /// Counts a reload, accepted or rejected.
    pub fn reload(&self, ok: bool) {
        let result = if ok { "accepted" } else { "rejected" };
        self.reloads
            .get_or_create(&vec![("result", result.to_string())])
            .inc();
    }

    /// Records how long a decision took.
    pub fn decision(&self, took: Duration) {
        self.latency.observe(took.as_secs_f64());
    }

    /// The exposition text, with site health as of now.
    pub fn render(&self, platform: &Platform, health: &Health) -> String {
        for (i, s) in platform.sites().iter().enumerate() {
            let id = SiteId(i as u16);
            let up = i64::from(health.is_up(id));
            self.up
                .get_or_create(&vec![("site", s.name.clone())])
                .set(up);
            for (source, mbps) in [
                ("polled", health.polled(id)),
                ("estimate", health.estimate(id)),
            ] {
                let labels = vec![("site", s.name.clone()), ("source", source.to_string())];
                self.load.get_or_create(&labels).set(mbps);
            }
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
