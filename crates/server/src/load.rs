//! Live load: each site's own statistics polled for its outbound bandwidth
//! (Prometheus text with a counter of bytes sent, or JSON with Mbit/s), plus
//! routecast's estimate of the sessions it sent there since the last poll,
//! so that a burst of redirects does not overfill a site before its
//! statistics catch up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use routecast_engine::{LoadReading, LoadSource, Platform, SiteId};

use crate::health::Health;

/// Sum of the samples of `metric` (all label sets) in Prometheus text.
pub fn prometheus_sum(text: &str, metric: &str) -> Option<f64> {
    let mut found = false;
    let mut sum = 0.0;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(metric) else {
            continue;
        };
        let value = match rest.as_bytes().first() {
            Some(b'{') => rest.rsplit_once('}').map(|(_, v)| v),
            Some(b' ') => Some(rest),
            _ => None,
        };
        // "value [timestamp]"
        if let Some(v) = value
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
        {
            if v.is_finite() {
                sum += v;
                found = true;
            }
        }
    }
    found.then_some(sum)
}

/// The number at a dot path of a JSON document.
pub fn json_number(text: &str, path: &str) -> Option<f64> {
    let mut v: serde_json::Value = serde_json::from_str(text).ok()?;
    for key in path.split('.') {
        v = v.get_mut(key)?.take();
    }
    v.as_f64().filter(|x| x.is_finite() && *x >= 0.0)
}

/// Polls one site forever.
async fn poll(source: LoadSource, site: SiteId, health: Arc<Health>) {
    let interval = Duration::from_millis(source.interval_ms);
    let mut every = tokio::time::interval(interval);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last: Option<(f64, Instant)> = None;
    // Whether the last poll failed (failures are logged once per outage).
    let mut failing = false;
    loop {
        every.tick().await;
        let Some((200, body)) = crate::health::get(&source.url, interval).await else {
            if !failing {
                tracing::warn!(site = site.0, url = %source.url, "load statistics unavailable; using the last reading and the recent sessions");
            }
            failing = true;
            continue;
        };
        if failing {
            tracing::info!(site = site.0, url = %source.url, "load statistics available again");
        }
        failing = false;
        match &source.reading {
            LoadReading::JsonMbps { field } => {
                if let Some(mbps) = json_number(&body, field) {
                    health.set_polled(site, mbps);
                }
            }
            LoadReading::PrometheusBytes { metric } => {
                let Some(bytes) = prometheus_sum(&body, metric) else {
                    continue;
                };
                let now = Instant::now();
                if let Some((before, at)) = last {
                    let secs = now.duration_since(at).as_secs_f64();
                    // A counter that went down was reset: wait for the next poll.
                    if bytes >= before && secs > 0.0 {
                        health.set_polled(site, (bytes - before) * 8.0 / secs / 1e6);
                    }
                }
                last = Some((bytes, now));
            }
            _ => {}
        }
    }
}

/// Starts polling every site that has a load source; returns the handles.
pub fn spawn_polls(platform: &Platform, health: Arc<Health>) -> Vec<tokio::task::AbortHandle> {
    platform
        .sites()
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let source = s.load_source.clone()?;
            Some(tokio::spawn(poll(source, SiteId(i as u16), health.clone())).abort_handle())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_counters_are_summed_over_label_sets() {
        let text = "# HELP x bytes\n# TYPE x counter\nnginx_bytes_sent_total{server=\"a\"} 1000\nnginx_bytes_sent_total{server=\"b\",x=\"}\"} 500 1700000000\nnginx_bytes_sent_total_created 5\nother 7\n";
        assert_eq!(prometheus_sum(text, "nginx_bytes_sent_total"), Some(1500.0));
        assert_eq!(prometheus_sum("node_tx 2.5e3\n", "node_tx"), Some(2500.0));
        assert_eq!(prometheus_sum("other 1\n", "node_tx"), None);
    }

    #[test]
    fn json_paths_reach_numbers() {
        assert_eq!(
            json_number(r#"{"traffic":{"mbps":150.5}}"#, "traffic.mbps"),
            Some(150.5)
        );
        assert_eq!(
            json_number(r#"{"traffic":{"mbps":"x"}}"#, "traffic.mbps"),
            None
        );
        assert_eq!(json_number("not json", "a"), None);
    }
}
