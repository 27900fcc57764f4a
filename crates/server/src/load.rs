//! Live load: each site's own statistics polled for its outbound bandwidth
//! (Prometheus text with a counter of bytes sent, JSON with Mbit/s, or
//! nginx's stub_status page with the connections it is writing to, times a
//! configured rate each), plus routecast's estimate of the sessions it sent
//! there since the last poll, so that a burst of redirects does not overfill
//! a site before its statistics catch up.

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

/// The `Writing:` figure of nginx's stub_status page: the connections
/// nginx is sending a response on (the request for the page itself
/// included). `None` unless `text` is a whole stub_status page:
///
/// ```text
/// Active connections: 3
/// server accepts handled requests
///  10 10 42
/// Reading: 0 Writing: 2 Waiting: 1
/// ```
pub fn stub_status_writing(text: &str) -> Option<u64> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let mut tokens = || {
        lines
            .next()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
    };
    let number = |t: &str| t.parse::<u64>().ok();
    let active = tokens()?;
    let ["Active", "connections:", n] = active[..] else {
        return None;
    };
    number(n)?;
    if tokens()? != ["server", "accepts", "handled", "requests"] {
        return None;
    }
    let counters = tokens()?;
    if counters.len() != 3 || counters.iter().any(|t| number(t).is_none()) {
        return None;
    }
    let states = tokens()?;
    let ["Reading:", r, "Writing:", w, "Waiting:", x] = states[..] else {
        return None;
    };
    let (_, writing, _) = (number(r)?, number(w)?, number(x)?);
    tokens().is_none().then_some(writing)
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
            LoadReading::StubStatusWriting { per_connection } => {
                if let Some(writing) = stub_status_writing(&body) {
                    health.set_polled(site, writing as f64 * per_connection.0);
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

    /// What nginx 1.22 answers, byte for byte (with its trailing spaces).
    const PAGE: &str = "Active connections: 5 \nserver accepts handled requests\n 17 17 40 \nReading: 0 Writing: 3 Waiting: 2 \n";

    #[test]
    fn stub_status_gives_the_writing_connections() {
        assert_eq!(stub_status_writing(PAGE), Some(3));
        assert_eq!(stub_status_writing(&PAGE.replace('\n', "\r\n")), Some(3));
        let idle = "Active connections: 1\nserver accepts handled requests\n 1 1 1\nReading: 0 Writing: 1 Waiting: 0\n";
        assert_eq!(stub_status_writing(idle), Some(1));
    }

    #[test]
    fn stub_status_is_strict() {
        for bad in [
            "",
            "Active connections: 5\n",
            // A JSON or Prometheus page, or an HTML error page.
            r#"{"traffic":{"mbps":1}}"#,
            "nginx_connections_writing 3\n",
            "<html><body>502 Bad Gateway</body></html>",
            // Each line altered in turn.
            &PAGE.replace("Active connections", "Idle connections"),
            &PAGE.replace("Active connections: 5", "Active connections: -5"),
            &PAGE.replace("accepts handled", "handled accepts"),
            &PAGE.replace(" 17 17 40", " 17 17"),
            &PAGE.replace(" 17 17 40", " 17 x 40"),
            &PAGE.replace("Writing: 3", "Writing: three"),
            &PAGE.replace("Writing: 3", "Writing: 3.5"),
            &PAGE.replace("Writing: 3 Waiting: 2", "Waiting: 2 Writing: 3"),
            &PAGE.replace("Waiting: 2 ", "Waiting: 2 Closing: 1"),
            &format!("{PAGE}trailing garbage\n"),
            &PAGE.replace("Writing: 3", "Writing: 99999999999999999999999"),
        ] {
            assert_eq!(stub_status_writing(bad), None, "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn stub_status_never_panics(text in "\\PC*") {
            let _ = stub_status_writing(&text);
        }

        #[test]
        fn stub_status_never_panics_on_near_pages(
            cut in 0usize..90,
            insert in "[ -~\n]{0,8}",
        ) {
            let at = PAGE.char_indices().nth(cut).map_or(PAGE.len(), |(i, _)| i);
            let text = format!("{}{insert}{}", &PAGE[..at], &PAGE[at..]);
            let _ = stub_status_writing(&text);
        }

        #[test]
        fn stub_status_reads_back_what_it_is_given(
            counts in proptest::array::uniform7(0u64..u64::MAX),
        ) {
            let [a, b, c, d, r, w, x] = counts;
            let page = format!("Active connections: {a} \nserver accepts handled requests\n {b} {c} {d} \nReading: {r} Writing: {w} Waiting: {x} \n");
            proptest::prop_assert_eq!(stub_status_writing(&page), Some(w));
        }
    }
}
