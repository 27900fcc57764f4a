//! Playlists answered by routecast (`[[playlists]]` rules): the request is
//! routed like a redirect, then the playlist is fetched from the origin,
//! rewritten for the chosen site ([`crate::playlist`]) and answered `200`.
//!
//! * `origin = "site"`: fetched from the chosen site's `http://` URL; if that
//!   fails, once from the decision's first fallback site, and the answer
//!   then points at that site. With one fixed origin there is one attempt
//!   (another site would fetch from the same origin).
//! * The origin's `404`/`410` is passed on as `404`; any other failure (no
//!   answer in `timeout_ms`, another status, a body over
//!   [`MAX_PLAYLIST_BYTES`], something that is not a playlist) is `502`.
//! * Answers carry `Cache-Control: no-store`: like the redirects, they are
//!   one client's decision and must not be cached (a cached playlist would
//!   also keep a live viewer on a site after it was drained).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};
use routecast_engine::{GroupId, Platform, PlaylistOrigin, SiteId};

use crate::playlist::{BaseUrl, Pathway, Rewrite};
use crate::serve::{Snapshot, State, Visit, STEERING_PREFIX};

/// The largest playlist fetched from an origin.
pub const MAX_PLAYLIST_BYTES: usize = 8 << 20;

/// Every site's base URLs and every rule's origin, parsed once per
/// configuration.
#[derive(Debug, Default)]
pub(crate) struct Bases {
    /// Per site: the URL redirects use, then its other URLs.
    sites: Vec<Vec<BaseUrl>>,
    /// Per site: its first `http://` URL, where playlists are fetched.
    fetch: Vec<Option<BaseUrl>>,
    /// Per playlist rule: its fixed origin, if it has one.
    origins: Vec<Option<BaseUrl>>,
}

impl Bases {
    pub(crate) fn new(platform: &Platform) -> Self {
        let parse = |u: &str| BaseUrl::parse(u).ok();
        Self {
            sites: platform
                .sites()
                .iter()
                .map(|s| s.urls.iter().filter_map(|u| parse(u)).collect())
                .collect(),
            fetch: platform
                .sites()
                .iter()
                .map(|s| s.http_url().and_then(parse))
                .collect(),
            origins: platform
                .playlists()
                .iter()
                .map(|r| match &r.origin {
                    PlaylistOrigin::Url(u) => parse(u),
                    _ => None,
                })
                .collect(),
        }
    }
}

/// The owned parts of a request that the access log needs.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub client: IpAddr,
    pub peer: IpAddr,
    pub host: String,
    pub target: String,
    pub method: String,
    pub started: Instant,
}

/// A routed playlist request waiting for its origin; [`PlaylistJob::run`]
/// answers it.
#[derive(Debug)]
pub struct PlaylistJob {
    pub(crate) snap: Arc<Snapshot>,
    /// Index of the rule in `snap`'s [`Platform::playlists`] (from that same
    /// platform's [`Platform::playlist_rule`], so always in range).
    pub(crate) rule: usize,
    /// The chosen site, then the fallbacks, best first.
    pub(crate) sites: Vec<SiteId>,
    pub(crate) group: GroupId,
    pub(crate) path: String,
    pub(crate) query: Option<String>,
    pub(crate) request: Request,
}

/// Why one attempt failed.
enum Failure {
    /// The origin has no such playlist.
    NotFound,
    /// Anything else, described for the 502 body.
    Other(String),
}

impl PlaylistJob {
    /// Fetches, rewrites and answers; counts and logs the request.
    pub async fn run(self, state: &State) -> Response<Full<Bytes>> {
        let platform = self.snap.router.platform();
        let rule = &platform.playlists()[self.rule]; // In range: see `rule`.
        let tries = match rule.origin {
            PlaylistOrigin::Site => 2,
            _ => 1,
        };
        let mut failures = Vec::new();
        for &site in self.sites.iter().take(tries) {
            match self.attempt(site).await {
                Ok(body) => {
                    self.snap.view.0.add_session(site, state.session_mbps);
                    let r = playlist_response(body, &platform.site(site).name);
                    return self.finish(state, Some(site), r);
                }
                Err(Failure::NotFound) => {
                    let r =
                        crate::serve::text(StatusCode::NOT_FOUND, "no such playlist at the origin");
                    return self.finish(state, Some(site), r);
                }
                Err(Failure::Other(why)) => failures.push(why),
            }
        }
        let body = format!("bad gateway: {}", failures.join("; "));
        let r = crate::serve::text(StatusCode::BAD_GATEWAY, &body);
        self.finish(state, self.sites.first().copied(), r)
    }

    /// Where `site`'s playlist comes from: the URL to fetch, the base URLs
    /// whose URIs are rewritten, and how to name the upstream in errors
    /// (with its URL only when it is a site's, public anyway, never a
    /// private origin's).
    fn source(&self, site: SiteId) -> Result<(String, &[BaseUrl], String), Failure> {
        let platform = self.snap.router.platform();
        let bases = &self.snap.bases;
        let (origin, origins, upstream) = match &platform.playlists()[self.rule].origin {
            PlaylistOrigin::Url(_) => {
                let o = bases.origins.get(self.rule).and_then(Option::as_ref);
                let all = o.map(std::slice::from_ref).unwrap_or_default();
                (o, all, None)
            }
            _ => {
                let o = bases.fetch.get(site.index()).and_then(Option::as_ref);
                let all = bases.sites.get(site.index()).map_or(&[][..], Vec::as_slice);
                (o, all, Some(&platform.site(site).name))
            }
        };
        let Some(origin) = origin else {
            let who = upstream.map_or("the origin".into(), |n| format!("site {n:?}"));
            return Err(Failure::Other(format!(
                "upstream {who}: no http:// URL to fetch from"
            )));
        };
        let url = match &self.query {
            Some(q) => format!("{}{}?{q}", origin.as_str(), self.path),
            None => format!("{}{}", origin.as_str(), self.path),
        };
        let who = upstream.map_or("the origin".into(), |n| format!("site {n:?} ({url})"));
        Ok((url, origins, who))
    }

    /// `site` first, then the other candidates: the Content Steering pathways.
    fn pathways(&self, site: SiteId) -> Vec<Pathway<'_>> {
        let platform = self.snap.router.platform();
        std::iter::once(site)
            .chain(self.sites.iter().copied().filter(|s| *s != site))
            .filter_map(|s| {
                let base = self.snap.bases.sites.get(s.index())?.first()?;
                Some(Pathway {
                    name: &platform.site(s).name,
                    base,
                })
            })
            .collect()
    }

    /// One fetch from `site`'s origin and the rewrite for `site`.
    async fn attempt(&self, site: SiteId) -> Result<String, Failure> {
        let rule = &self.snap.router.platform().playlists()[self.rule]; // In range: see `rule`.
        let (url, origins, upstream) = self.source(site)?;
        let fail = |why: String| Failure::Other(format!("upstream {upstream}: {why}"));
        let timeout = Duration::from_millis(rule.timeout_ms);
        let fetched = crate::fetch::fetch(&url, timeout, MAX_PLAYLIST_BYTES)
            .await
            .map_err(|e| fail(e.to_string()))?;
        match fetched.status {
            200..=299 => {}
            404 | 410 => return Err(Failure::NotFound),
            s => return Err(fail(format!("answered {s}"))),
        }
        let playlist_url = url::Url::parse(&url).map_err(|e| fail(e.to_string()))?;
        let pathways = self.pathways(site);
        if pathways.first().map(|p| p.name)
            != Some(self.snap.router.platform().site(site).name.as_str())
        {
            return Err(fail("the site has no base URL".into()));
        }
        let steering_uri = rule
            .steering
            .then(|| format!("{STEERING_PREFIX}{}", self.path.trim_start_matches('/')));
        let how = Rewrite {
            playlist_url: &playlist_url,
            origins,
            pathways: &pathways,
            steering_uri: steering_uri.as_deref(),
        };
        crate::playlist::rewrite(&fetched.body, &how)
            .map_err(|e| fail(format!("not a usable playlist: {e}")))
    }

    /// Counts and logs the answer.
    fn finish(
        &self,
        state: &State,
        site: Option<SiteId>,
        r: Response<Full<Bytes>>,
    ) -> Response<Full<Bytes>> {
        let status = r.status().as_u16();
        self.snap
            .count(&state.metrics, site, Some(self.group), status);
        let location = site
            .filter(|_| status == 200)
            .and_then(|s| self.snap.bases.sites.get(s.index())?.first())
            .map(|base| match &self.query {
                Some(q) => format!("{}{}?{q}", base.as_str(), self.path),
                None => format!("{}{}", base.as_str(), self.path),
            });
        let q = &self.request;
        Visit {
            client: q.client,
            peer: q.peer,
            host: &q.host,
            target: &q.target,
            method: &q.method,
            started: q.started,
        }
        .log(state, status, location.as_deref());
        r
    }
}

/// `200` with the playlist.
fn playlist_response(body: String, site: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.apple.mpegurl"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(site) {
        h.insert("x-routecast-site", v);
    }
    r
}
