//! The one place where an answered request is recorded, redirects and
//! playlists alike: the request counter of its site, group and status, and,
//! for a routed request, its access-log line.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::IpAddr;
use std::sync::RwLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use hyper::Response;
use prometheus_client::metrics::counter::Counter;
use routecast_engine::{GroupId, Platform, SiteId};

use crate::metrics::Metrics;
use crate::response::{Answer, Body};
use crate::state::{Snapshot, State};

/// An answer, and what is recorded of it.
#[derive(Debug)]
pub(crate) struct Answered<'r> {
    /// What the client gets; its status is counted and logged.
    pub response: Answer,
    /// The site the request is counted under (`-` when `None`).
    pub site: Option<SiteId>,
    /// The group the request is counted under (`-` when `None`).
    pub group: Option<GroupId>,
    /// A routed request, written to the access log; `None`: counted only
    /// (refusals, `/healthz`, steering manifests).
    pub visit: Option<Visit<'r>>,
    /// Where the client was sent, for the access log, when the answer's
    /// `Location` does not say it (the decision as JSON).
    pub location: Option<String>,
}

impl Answered<'_> {
    /// An answer counted under no site and no group, and not logged.
    pub fn unrouted(response: Response<Body>) -> Answered<'static> {
        Answered {
            response: response.into(),
            site: None,
            group: None,
            visit: None,
            location: None,
        }
    }
}

/// A routed request as the access log writes it. Borrowed from the request
/// while it is answered at once; owned ([`Visit::into_owned`]) by a
/// playlist job that outlives it.
#[derive(Debug, Clone)]
pub(crate) struct Visit<'r> {
    /// The client (behind trusted proxies).
    pub client: IpAddr,
    /// The socket peer.
    pub peer: IpAddr,
    /// The `Host` header, `-` without one.
    pub host: Cow<'r, str>,
    /// The request target as received.
    pub target: Cow<'r, str>,
    /// The request method.
    pub method: Cow<'r, str>,
    /// The `User-Agent` header's bytes, if any.
    pub user_agent: Option<Cow<'r, [u8]>>,
    /// When routing started.
    pub started: Instant,
}

impl Visit<'_> {
    /// The same visit, owning its strings.
    pub fn into_owned(self) -> Visit<'static> {
        Visit {
            host: Cow::Owned(self.host.into_owned()),
            target: Cow::Owned(self.target.into_owned()),
            method: Cow::Owned(self.method.into_owned()),
            user_agent: self.user_agent.map(|a| Cow::Owned(a.into_owned())),
            ..self
        }
    }

    /// Its access-log line, written now.
    fn line(&self, status: u16, location: Option<&str>) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let took = self.started.elapsed().as_secs_f64() * 1000.0;
        crate::accesslog::line(&crate::accesslog::Entry {
            unix_s: now,
            client: self.client,
            peer: self.peer,
            host: &self.host,
            target: &self.target,
            method: &self.method,
            status,
            took_ms: took,
            location,
            user_agent: self.user_agent.as_deref(),
        })
    }
}

impl State {
    /// Records an answer: counts it and, when it was routed and there is
    /// an access log, logs it.
    pub(crate) fn record(&self, snap: &Snapshot, answered: &Answered<'_>) {
        let status = answered.response.status().as_u16();
        let platform = snap.router.platform();
        snap.counters.count(
            &self.metrics,
            platform,
            answered.site,
            answered.group,
            status,
        );
        if let (Some(log), Some(visit)) = (&self.access_log, &answered.visit) {
            let location = (answered.location.as_deref()).or_else(|| answered.response.location());
            log.write(visit.line(status, location));
        }
    }
}

impl State {
    /// Counts a request that hyper's HTTP/1.1 parser refused and answered
    /// itself (`status`: 400, 414 or 431), under no site and no group. Not
    /// written to the access log: its Traffic Router lines need a URL, and
    /// the request had none that could be read.
    pub(crate) fn record_unparsed(&self, status: u16) {
        let snap = self.current();
        let platform = snap.router.platform();
        snap.counters
            .count(&self.metrics, platform, None, None, status);
    }
}

/// One snapshot's request counters by (site, group, status) ids, so that
/// counting a request allocates nothing once its labels have been seen.
#[derive(Debug, Default)]
pub(crate) struct RequestCounters(RwLock<HashMap<u64, Counter, BuildHasherDefault<Mix>>>);

/// The hasher of [`RequestCounters`]' keys (site, group and status packed
/// in a word of our own making, not a client's: no need for SipHash's keyed
/// defence, which cost more than the count): a multiply, folded so that
/// the low bits hashbrown indexes by depend on every bit of the key.
#[derive(Debug, Default)]
struct Mix(u64);

impl Hasher for Mix {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u64(&mut self, x: u64) {
        let m = (self.0 ^ x).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = m ^ (m >> 29);
    }
}

impl RequestCounters {
    /// Counts one answered request (`-` for an unknown site or group).
    fn count(
        &self,
        metrics: &Metrics,
        platform: &Platform,
        site: Option<SiteId>,
        group: Option<GroupId>,
        status: u16,
    ) {
        let key = u64::from(site.map_or(u16::MAX, |s| s.0)) << 48
            | u64::from(group.map_or(u32::MAX, |g| g.0)) << 16
            | u64::from(status);
        if let Ok(map) = self.0.read() {
            if let Some(c) = map.get(&key) {
                c.inc();
                return;
            }
        }
        let site = site.map_or("-", |s| platform.site(s).name.as_str());
        let group = group.map_or("-", |g| platform.group(g).name.as_str());
        let counter = metrics.counter(site, group, status);
        counter.inc();
        if let Ok(mut map) = self.0.write() {
            map.insert(key, counter);
        }
    }
}
