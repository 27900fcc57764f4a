//! Playlists answered by routecast (`[[playlists]]` rules): the request is
//! routed like a redirect, then the playlist is fetched from the origin,
//! rewritten for the chosen site ([`crate::playlist`]) and answered `200`.
//!
//! * `origin = "site"`: fetched from the chosen site's `http://` URL; if that
//!   fails, once from the decision's first fallback site, and the answer
//!   then points at that site. With one fixed origin there is one attempt
//!   (another site would fetch from the same origin).
//! * The origin's `404`/`410` is passed on as `404`. When every origin tried
//!   fails otherwise (no connection, no answer in `timeout_ms`, another
//!   status, a body over [`MAX_PLAYLIST_BYTES`], something that is not a
//!   playlist), the rule's [`PlaylistFallback`] says what the viewer gets:
//!   by default a `302` to the chosen site's own URL for the playlist (the
//!   Location a plain redirect gives), so that it keeps playing; with
//!   `fallback = "error"`, a `502` naming every upstream and why. Either
//!   way the failure is counted in
//!   `routecast_playlist_origin_failures_total{site, answer}` and written
//!   to the operational log.
//! * Answers carry `Cache-Control: no-store`: like the redirects, they are
//!   one client's decision and must not be cached (a cached playlist would
//!   also keep a live viewer on a site after it was drained).

use std::sync::Arc;
use std::time::Duration;

use hyper::Response;
use routecast_engine::{GroupId, Platform, PlaylistFallback, PlaylistOrigin, SiteId};

use crate::error::{ServeError, UpstreamError};
use crate::playlist::{BaseUrl, Pathway, Rewrite};
use crate::record::{Answered, Visit};
use crate::request::Choice;
use crate::response::{playlist, redirect, refusal, Body};
use crate::state::{Snapshot, State};
use crate::steering::steering_uri;

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
    /// The client's group.
    pub(crate) group: GroupId,
    /// The checked path.
    pub(crate) path: String,
    /// The query, passed on to the origin and the site.
    pub(crate) query: Option<String>,
    /// The request, for the access log.
    pub(crate) visit: Visit<'static>,
}

/// Why one attempt gave no playlist.
enum Miss {
    /// The origin has no such playlist.
    NotFound,
    /// Anything else.
    Failed(UpstreamError),
}

impl From<UpstreamError> for Miss {
    fn from(e: UpstreamError) -> Self {
        Miss::Failed(e)
    }
}

impl PlaylistJob {
    /// The job for a request for `path` and `query`, routed to `site`
    /// under playlist rule `rule` of `snap`'s platform.
    pub(crate) fn new(
        snap: Arc<Snapshot>,
        rule: usize,
        site: SiteId,
        choice: Choice,
        (path, query): (String, Option<String>),
        visit: Visit<'static>,
    ) -> Self {
        let fallbacks = choice.decision.map(|d| d.fallbacks).unwrap_or_default();
        Self {
            snap,
            rule,
            sites: std::iter::once(site).chain(fallbacks).collect(),
            group: choice.group,
            path,
            query,
            visit,
        }
    }

    /// Fetches, rewrites and answers; records the request.
    pub async fn run(self, state: &State) -> Response<Body> {
        let relayed = self.answer(state).await;
        self.finish(state, relayed)
    }

    /// The answer, the site it is counted under and where the viewer was
    /// sent: the playlist from the first site whose origin gives one (up to
    /// two with `origin = "site"`), 404 when the origin has no such
    /// playlist, else the rule's fallback.
    async fn answer(&self, state: &State) -> Relayed {
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
                    state.add_session(&self.snap, site, &self.path);
                    let location = self.snap.bases.sites.get(site.index());
                    let location = location.and_then(|b| b.first()).map(|b| self.under(b));
                    let response = playlist(body, &platform.site(site).name);
                    return (Some(site), response, location);
                }
                Err(Miss::NotFound) => {
                    return (Some(site), refusal(&ServeError::NoSuchPlaylist), None);
                }
                Err(Miss::Failed(e)) => failures.push(e),
            }
        }
        self.fall_back(state, rule.fallback, failures)
    }

    /// The answer when every origin tried failed: a redirect to the chosen
    /// site (counted under it, as a redirect) or 502; counted and logged as
    /// an origin failure either way.
    fn fall_back(
        &self,
        state: &State,
        fallback: PlaylistFallback,
        failures: Vec<UpstreamError>,
    ) -> Relayed {
        let platform = self.snap.router.platform();
        let chosen = self.sites.first().copied();
        let name = chosen.map_or("-", |s| platform.site(s).name.as_str());
        let e = ServeError::BadGateway { failures };
        let relayed = match (fallback, chosen) {
            (PlaylistFallback::Redirect, Some(site)) => {
                state.add_session(&self.snap, site, &self.path);
                let query = self.query.as_deref();
                let location = platform.site(site).redirect_url(&self.path, query);
                let named = crate::response::site_header(name);
                (
                    chosen,
                    redirect(location, named.as_ref()).into_response(),
                    None,
                )
            }
            _ => (chosen, refusal(&e), None),
        };
        let answer = relayed.1.status().as_u16();
        state.metrics.playlist_origin_failed(name, answer);
        tracing::warn!(site = name, answer, path = %self.path, "playlist origin failed: {e}");
        relayed
    }

    /// Where `site`'s playlist comes from: the URL to fetch, the base URLs
    /// whose URIs are rewritten, and how to name the upstream in errors
    /// (with its URL only when it is a site's, public anyway, never a
    /// private origin's).
    fn source(&self, site: SiteId) -> Result<(String, &[BaseUrl], String), UpstreamError> {
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
            let upstream = upstream.map_or("the origin".into(), |n| format!("site {n:?}"));
            return Err(UpstreamError::NoFetchUrl { upstream });
        };
        let url = self.under(origin);
        let who = upstream.map_or("the origin".into(), |n| format!("site {n:?} ({url})"));
        Ok((url, origins, who))
    }

    /// This request's path and query under `base`.
    fn under(&self, base: &BaseUrl) -> String {
        match &self.query {
            Some(q) => format!("{}{}?{q}", base.as_str(), self.path),
            None => format!("{}{}", base.as_str(), self.path),
        }
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
    async fn attempt(&self, site: SiteId) -> Result<String, Miss> {
        let rule = &self.snap.router.platform().playlists()[self.rule]; // In range: see `rule`.
        let (url, origins, upstream) = self.source(site)?;
        let timeout = Duration::from_millis(rule.timeout_ms);
        let fetched = routecast_http::fetch(&url, timeout, MAX_PLAYLIST_BYTES)
            .await
            .map_err(|error| UpstreamError::Fetch {
                upstream: upstream.clone(),
                error,
            })?;
        match fetched.status {
            200..=299 => {}
            404 | 410 => return Err(Miss::NotFound),
            status => return Err(UpstreamError::Status { upstream, status }.into()),
        }
        let playlist_url = url::Url::parse(&url).map_err(|error| UpstreamError::Url {
            upstream: upstream.clone(),
            error,
        })?;
        let pathways = self.pathways(site);
        if pathways.first().map(|p| p.name)
            != Some(self.snap.router.platform().site(site).name.as_str())
        {
            return Err(UpstreamError::NoBaseUrl { upstream }.into());
        }
        let steering_uri = rule.steering.then(|| steering_uri(&self.path));
        let how = Rewrite {
            playlist_url: &playlist_url,
            origins,
            pathways: &pathways,
            steering_uri: steering_uri.as_deref(),
        };
        crate::playlist::rewrite(&fetched.body, &how)
            .map_err(|error| UpstreamError::NotPlaylist { upstream, error }.into())
    }

    /// Records the answer: counted under its site and the client's group,
    /// logged with where the viewer was sent (the site's URL for the
    /// playlist, or the redirect's Location).
    fn finish(self, state: &State, (site, response, location): Relayed) -> Response<Body> {
        let answered = Answered {
            response: response.into(),
            site,
            group: Some(self.group),
            visit: Some(self.visit),
            location,
        };
        state.record(&self.snap, &answered);
        answered.response.into_response()
    }
}

/// A relayed answer: the site it is counted under, the response, and where
/// the viewer was sent, for the access log.
type Relayed = (Option<SiteId>, Response<Body>, Option<String>);
