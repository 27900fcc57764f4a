//! Prometheus metrics (OpenMetrics text, via the `prometheus-client` crate):
//! requests by site, group and status, decision latency (since start, and
//! over the last minute: [`RecentLatency`]), site health and load (polled
//! and estimated), refused connections and playlist origin failures.

use std::time::Instant;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use routecast_engine::{Platform, SiteId};

use crate::health::Health;

mod recent;
pub use recent::{RecentLatency, RecentSummary};

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
    connections_refused: Counter,
    tls_handshake_failures: Counter,
    tls_expiry: Family<Labels, Gauge<i64, std::sync::atomic::AtomicI64>>,
    tls_ocsp_next_update: Family<Labels, Gauge<i64, std::sync::atomic::AtomicI64>>,
    tls_ocsp_stapled: Family<Labels, Gauge<i64, std::sync::atomic::AtomicI64>>,
    playlist_origin_failures: Family<Labels, Counter>,
    recent: RecentLatency,
    recent_mean: Gauge<f64, std::sync::atomic::AtomicU64>,
    recent_count: Gauge<i64, std::sync::atomic::AtomicI64>,
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
        let connections_refused = Counter::default();
        registry.register(
            "routecast_connections_refused",
            "Connections refused at --max-connections (answered 503 and closed)",
            connections_refused.clone(),
        );
        let tls_handshake_failures = Counter::default();
        registry.register(
            "routecast_tls_handshake_failures",
            "TLS handshakes that failed or did not finish within --header-timeout (the connection closed)",
            tls_handshake_failures.clone(),
        );
        let tls_expiry = Family::<Labels, Gauge<i64, std::sync::atomic::AtomicI64>>::default();
        registry.register(
            "routecast_tls_certificate_expiry_timestamp_seconds",
            "When each TLS certificate in use expires (its notAfter), Unix seconds, by certificate file",
            tls_expiry.clone(),
        );
        let tls_ocsp_next_update =
            Family::<Labels, Gauge<i64, std::sync::atomic::AtomicI64>>::default();
        registry.register(
            "routecast_tls_ocsp_next_update_timestamp_seconds",
            "The nextUpdate of each certificate's loaded OCSP response, Unix seconds, by certificate file; absent without a usable response",
            tls_ocsp_next_update.clone(),
        );
        let tls_ocsp_stapled =
            Family::<Labels, Gauge<i64, std::sync::atomic::AtomicI64>>::default();
        registry.register(
            "routecast_tls_ocsp_stapled",
            "1 when handshakes with the certificate get an OCSP staple (a usable response, 5 min or more before its nextUpdate), else 0",
            tls_ocsp_stapled.clone(),
        );
        let playlist_origin_failures = Family::<Labels, Counter>::default();
        registry.register(
            "routecast_playlist_origin_failures",
            "Playlist requests no origin gave a usable playlist for, by chosen site and the status answered (302: the fallback redirect; 502)",
            playlist_origin_failures.clone(),
        );
        let recent_mean = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "routecast_decision_recent_seconds",
            "Mean time to locate the client and decide, over the last 60 s (0 without decisions)",
            recent_mean.clone(),
        );
        let recent_count = Gauge::<i64, std::sync::atomic::AtomicI64>::default();
        registry.register(
            "routecast_decision_recent_decisions",
            "Decisions in the last 60 s (what routecast_decision_recent_seconds averages)",
            recent_count.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            up,
            load,
            reloads,
            connections_refused,
            tls_handshake_failures,
            tls_expiry,
            tls_ocsp_next_update,
            tls_ocsp_stapled,
            playlist_origin_failures,
            recent: RecentLatency::new(Instant::now()),
            recent_mean,
            recent_count,
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

    /// Counts a connection refused at the connection cap.
    pub fn connection_refused(&self) {
        self.connections_refused.inc();
    }

    /// Counts a TLS handshake that failed or timed out.
    pub fn tls_handshake_failed(&self) {
        self.tls_handshake_failures.inc();
    }

    /// Counts a playlist request that no origin gave a usable playlist for,
    /// under the chosen site and the status it was answered with.
    pub fn playlist_origin_failed(&self, site: &str, answer: u16) {
        let labels = vec![("site", site.to_string()), ("answer", answer.to_string())];
        self.playlist_origin_failures.get_or_create(&labels).inc();
    }

    /// Records a decision that started at `started` and ends now: in the
    /// histogram since start and in the last minute's window.
    pub fn decision(&self, started: Instant) {
        let now = Instant::now();
        let took = now.saturating_duration_since(started);
        self.latency.observe(took.as_secs_f64());
        self.recent.record(now, took);
    }

    /// Decisions over the last minute, as of `now`.
    pub fn recent(&self, now: Instant) -> RecentSummary {
        self.recent.summary(now)
    }

    /// The exposition text, with site health as of now and the TLS
    /// certificates in use.
    pub fn render(
        &self,
        platform: &Platform,
        health: &Health,
        certificates: &[routecast_http::tls::InUse],
    ) -> String {
        // Set, never cleared: a scrape at the same time must not see a
        // family half empty (the certificate files are fixed for the run).
        let secs = |d: std::time::Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        for c in certificates {
            let labels = vec![("cert", c.cert.display().to_string())];
            for (family, value) in [
                (&self.tls_expiry, c.not_after),
                (&self.tls_ocsp_next_update, c.ocsp_next_update),
            ] {
                match value {
                    Some(t) => {
                        family.get_or_create(&labels).set(secs(t));
                    }
                    None => {
                        family.remove(&labels);
                    }
                }
            }
            self.tls_ocsp_stapled
                .get_or_create(&labels)
                .set(i64::from(c.stapled(now)));
        }
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
        let recent = self.recent(Instant::now());
        let mean = recent.mean.map_or(0.0, |m| m.as_secs_f64());
        self.recent_mean.set(mean);
        self.recent_count
            .set(i64::try_from(recent.count).unwrap_or(i64::MAX));
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
