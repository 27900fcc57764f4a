//! Live load: each site's own statistics polled for its outbound bandwidth
//! (Prometheus text with a counter of bytes sent, JSON with Mbit/s, or
//! nginx's stub_status page with the connections it is writing to, times a
//! configured rate each), plus routecast's estimate of the sessions it sent
//! there since the last poll (in 1 s slots, lazily swept), so that a burst of
//! redirects does not overfill a site before its statistics catch up. A
//! poll's figure replaces the estimates made before the poll asked.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use routecast_engine::{LoadReading, LoadSource};
use tokio::time::Instant;

use crate::health::{Clock, SiteStatus};

/// Sum of the samples of `metric` (all label sets) in Prometheus text.
///
/// Hand-written rather than the `prometheus-parse` crate (0.2.5), which
/// does not read everything this does: it drops a sample whose label value
/// holds `}` (`m{path="/a}"} 500` is valid exposition text), so a sum over
/// label sets would come out short (1000 for the 1500 of
/// `prometheus_counters_are_summed_over_label_sets`).
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

/// Turns successive statistics answers into a site's bandwidth.
#[derive(Debug, Default)]
struct Meter {
    /// The last Prometheus byte counter and when it was read.
    last: Option<(f64, Instant)>,
}

impl Meter {
    /// The bandwidth, Mbit/s, that `body` (read at `now`) gives, if any. A
    /// byte counter gives one from its second reading on; one that went
    /// down was reset, and gives one again at the next poll.
    fn mbps(&mut self, reading: &LoadReading, body: &str, now: Instant) -> Option<f64> {
        match reading {
            LoadReading::JsonMbps { field } => json_number(body, field),
            LoadReading::StubStatusWriting { per_connection } => {
                stub_status_writing(body).map(|writing| writing as f64 * per_connection.0)
            }
            LoadReading::PrometheusBytes { metric } => {
                let bytes = prometheus_sum(body, metric)?;
                let before = self.last.replace((bytes, now));
                let (before, at) = before?;
                let secs = now.duration_since(at).as_secs_f64();
                (bytes >= before && secs > 0.0).then(|| (bytes - before) * 8.0 / secs / 1e6)
            }
            _ => None,
        }
    }
}

/// Polls site `name` forever: `fetch` every interval, its 200 answers read
/// for the site's bandwidth, kept in `status` with the second the poll
/// asked in (estimates made before then leave). A failed poll keeps the
/// last reading (and the estimates); failures are logged once per outage.
async fn poll<G, F>(
    source: LoadSource,
    name: String,
    status: Arc<SiteStatus>,
    clock: Clock,
    mut fetch: G,
) where
    G: FnMut() -> F,
    F: Future<Output = Option<(u16, String)>>,
{
    let mut every = tokio::time::interval(Duration::from_millis(source.interval_ms));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut meter = Meter::default();
    let mut failing = false;
    loop {
        every.tick().await;
        let asked = Instant::now();
        let Some((200, body)) = fetch().await else {
            if !failing {
                tracing::warn!(site = %name, url = %source.url, "load statistics unavailable; using the last reading and the recent sessions");
            }
            failing = true;
            continue;
        };
        if failing {
            tracing::info!(site = %name, url = %source.url, "load statistics available again");
        }
        failing = false;
        if let Some(mbps) = meter.mbps(&source.reading, &body, Instant::now()) {
            status.set_polled(mbps, clock.second(asked));
        }
    }
}

/// Starts polling site `name`'s load `source`, keeping its figure in
/// `status`; abort the handle to stop.
pub(crate) fn spawn_poll(
    source: LoadSource,
    name: String,
    status: Arc<SiteStatus>,
    clock: Clock,
) -> tokio::task::AbortHandle {
    // A poll may take the interval: the next one is due then.
    let (url, timeout) = (
        source.url.clone(),
        Duration::from_millis(source.interval_ms),
    );
    let fetch = move || {
        let url = url.clone();
        async move { routecast_http::fetch_text(&url, timeout).await }
    };
    tokio::spawn(poll(source, name, status, clock, fetch)).abort_handle()
}

#[cfg(test)]
mod tests;
