//! The request path: a request is checked ([`crate::target`]), its client
//! found ([`crate::client`]) and located, routed by the engine, and
//! answered — a redirect, the decision as JSON, a steering manifest, or a
//! playlist to fetch first ([`Reply::Playlist`]). Every answer is recorded
//! in one place ([`State::record`]).

use std::borrow::Cow;
use std::cell::RefCell;
use std::net::IpAddr;
use std::sync::Arc;

use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode, Uri, Version};
use routecast_engine::{
    Decision, Facts, GroupId, Location, LocationCache, Locator, Outcome, Platform, RedirectView,
    Scratch, SiteId,
};
use routecast_http::LeanRequest;

use crate::error::ServeError;
use crate::host::BadHost;
use crate::record::{Answered, Visit};
use crate::relay::PlaylistJob;
use crate::response::{json, json_refusal, redirect, refusal, text, Answer, Body};
use crate::state::{Snapshot, State};
use crate::target::{self, Target};

/// What a request gets: an answer at once (redirects, JSON, errors), or a
/// playlist to fetch and rewrite first.
#[derive(Debug)]
pub enum Reply {
    /// The answer, already recorded.
    Ready(Response<Body>),
    /// A routed playlist request: [`PlaylistJob::run`] fetches, rewrites,
    /// answers and records it.
    Playlist(Box<PlaylistJob>),
}

/// What the request path reads of a request: a hyper [`Request`]
/// (HTTP/2, and HTTP/1.1 requests hyper serves), or a request of the lean
/// HTTP/1.1 path ([`LeanRequest`]), read without a header map.
pub trait Head {
    /// The method.
    fn method(&self) -> &Method;
    /// The protocol version.
    fn version(&self) -> Version;
    /// The request target (HTTP/2: with scheme and authority).
    fn uri(&self) -> &Uri;
    /// The values of every field named `name`, in order.
    fn values<'s>(&'s self, name: &'s HeaderName) -> impl Iterator<Item = &'s [u8]> + 's;
}

impl<B> Head for Request<B> {
    fn method(&self) -> &Method {
        self.method()
    }

    fn version(&self) -> Version {
        self.version()
    }

    fn uri(&self) -> &Uri {
        self.uri()
    }

    fn values<'s>(&'s self, name: &'s HeaderName) -> impl Iterator<Item = &'s [u8]> + 's {
        self.headers()
            .get_all(name)
            .into_iter()
            .map(HeaderValue::as_bytes)
    }
}

impl Head for LeanRequest<'_> {
    fn method(&self) -> &Method {
        self.method()
    }

    fn version(&self) -> Version {
        Version::HTTP_11
    }

    fn uri(&self) -> &Uri {
        self.uri()
    }

    fn values<'s>(&'s self, name: &'s HeaderName) -> impl Iterator<Item = &'s [u8]> + 's {
        self.values(name)
    }
}

/// Answers one request (recorded once answered). Only the request's head is
/// read. Redirects are answered without awaiting anything.
pub fn handle(state: &State, peer: IpAddr, req: &impl Head) -> Reply {
    match answer(state, peer, req) {
        Ok(answer) => Reply::Ready(answer.into_response()),
        Err(job) => Reply::Playlist(job),
    }
}

/// [`handle`], with the answer as the request path made it (a redirect not
/// yet a [`Response`]: the lean HTTP/1.1 path writes it straight out).
pub(crate) fn answer(
    state: &State,
    peer: IpAddr,
    req: &impl Head,
) -> Result<Answer, Box<PlaylistJob>> {
    let snap = state.current();
    match respond(state, &snap, peer, req) {
        Routed::Now(answered) => {
            state.record(&snap, &answered);
            Ok(answered.response)
        }
        Routed::Later(job) => Err(job),
    }
}

/// An answer, or a playlist job that answers later.
// Boxing the answer, the common case, would allocate for every redirect;
// this lives on the stack for one call.
#[allow(clippy::large_enum_variant)]
enum Routed<'r> {
    Now(Answered<'r>),
    Later(Box<PlaylistJob>),
}

impl<'r> From<Answered<'r>> for Routed<'r> {
    fn from(a: Answered<'r>) -> Self {
        Routed::Now(a)
    }
}

thread_local! {
    /// Per worker thread: the engine's working memory, reused by every request.
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
    /// Per worker thread: recent client locations.
    static PLACES: RefCell<PlaceCache> = const {
        RefCell::new(PlaceCache { generation: 0, cache: LocationCache::with_slot_bits(12) })
    };
}

/// Recent client locations, per worker thread (see [`LocationCache`]),
/// emptied when the snapshot changes.
struct PlaceCache {
    generation: u64,
    cache: LocationCache,
}

impl PlaceCache {
    fn locate(&mut self, generation: u64, locator: &dyn Locator, addr: IpAddr) -> Location {
        if self.generation != generation {
            self.cache.clear();
            self.generation = generation;
        }
        self.cache.locate(locator, addr)
    }
}

/// Where `client` is, from this thread's recent locations when it can.
fn locate(snap: &Snapshot, client: IpAddr) -> Location {
    PLACES.with(|p| {
        p.borrow_mut()
            .locate(snap.generation, &*snap.locator, client)
    })
}

/// A field's value as text: visible ASCII and tabs only (as `http`'s
/// `HeaderValue::to_str`), else `None`.
fn text_value(v: &[u8]) -> Option<&str> {
    let visible = v.iter().all(|&b| (32..127).contains(&b) || b == b'\t');
    visible.then(|| std::str::from_utf8(v).ok()).flatten()
}

/// A header's (first) value, when it is text.
fn header<'r>(req: &'r impl Head, name: &'r HeaderName) -> Option<&'r str> {
    req.values(name).next().and_then(text_value)
}

/// Every line of a header, in order; a line that is not text as empty.
fn header_lines<'r>(req: &'r impl Head, name: &'r HeaderName) -> impl Iterator<Item = &'r str> {
    req.values(name).map(|v| text_value(v).unwrap_or(""))
}

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The answer to one request, or its playlist job.
fn respond<'r>(
    state: &State,
    snap: &Arc<Snapshot>,
    peer: IpAddr,
    req: &'r impl Head,
) -> Routed<'r> {
    let (host, raw, t) = match admit(req) {
        Ok(admitted) => admitted,
        Err(e) => return Answered::unrouted(refusal(&e)).into(),
    };
    if t.path == "/healthz" {
        return Answered::unrouted(text(StatusCode::OK, "ok")).into();
    }
    let steering = crate::steering::content_path(&t.path);
    let forwarded = header_lines(req, &header::FORWARDED);
    let client = (state.clients).client(peer, forwarded, header_lines(req, &X_FORWARDED_FOR));
    // tokio's clock (paused in tests) is the load estimates' clock; read
    // once, it also times the decision and the access log's `ttms`.
    let started = tokio::time::Instant::now().into_std();
    let facts = Facts {
        address: client,
        location: locate(snap, client),
        path: steering.as_deref().unwrap_or(&t.path),
        user_agent: header(req, &header::USER_AGENT),
    };
    if let Some(content) = &steering {
        return crate::steering::answer(state, snap, &facts, content, started).into();
    }
    let visit = Visit {
        client,
        peer,
        host: Cow::Borrowed(host.unwrap_or("-")),
        target: Cow::Borrowed(raw),
        method: Cow::Borrowed(req.method().as_str()),
        user_agent: req.values(&header::USER_AGENT).next().map(Cow::Borrowed),
        started,
    };
    route(state, snap, &t, &facts, visit, header(req, &header::ACCEPT))
}

/// The `Host` (checked; `None` for HTTP/1.0 without one), the request
/// target as received and checked, or why the request is refused.
fn admit(req: &impl Head) -> Result<(Option<&str>, &str, Target), ServeError> {
    let h2 = req.version() == Version::HTTP_2;
    let host = if h2 { authority(req)? } else { host(req)? };
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Err(ServeError::MethodNotAllowed);
    }
    // HTTP/2 always sends the scheme and usually the authority (hyper
    // puts them in the URI); the path is what HTTP/1.1's origin form is.
    if !h2 && (req.uri().scheme().is_some() || req.uri().authority().is_some()) {
        return Err(ServeError::AbsoluteForm);
    }
    let raw = req.uri().path_and_query().map_or("/", |p| p.as_str());
    Ok((host, raw, target::check(raw)?))
}

/// The request's one `Host`, checked (RFC 9112 §3.2): required from
/// HTTP/1.1 on, optional before.
fn host(req: &impl Head) -> Result<Option<&str>, BadHost> {
    let mut lines = req.values(&header::HOST);
    match (lines.next(), lines.next()) {
        (Some(_), Some(_)) => Err(BadHost::Repeated),
        (Some(value), None) => crate::host::check(value).map(Some),
        (None, _) if req.version() < Version::HTTP_11 => Ok(None),
        (None, _) => Err(BadHost::Missing),
    }
}

/// An HTTP/2 request's host: its `:authority` (RFC 9113 §8.3.1: clients
/// send it rather than `Host`), checked as a `Host` is, else its `Host`.
fn authority(req: &impl Head) -> Result<Option<&str>, BadHost> {
    match req.uri().authority() {
        Some(a) => crate::host::check(a.as_str().as_bytes()).map(Some),
        None => host(req),
    }
}

/// The engine's choice for a request: the site, the client's group, and
/// the whole decision when the answer needs the fallbacks.
pub(crate) struct Choice {
    /// The chosen site, if any can serve.
    pub site: Option<SiteId>,
    /// The client's group.
    pub group: GroupId,
    /// How the request ended (without a site: why none).
    pub outcome: Outcome,
    /// The whole decision, when it was asked for.
    pub decision: Option<Decision>,
}

/// Decides, in full (`whole`: JSON answers and playlists use the fallbacks
/// too) or just the choice (redirects), with this thread's working memory.
fn choose(snap: &Snapshot, facts: &Facts<'_>, whole: bool, now: tokio::time::Instant) -> Choice {
    let view = snap.view.at(now);
    if whole {
        let d = snap.router.decide(facts, &view);
        return Choice {
            site: d.site,
            group: d.group,
            outcome: d.outcome,
            decision: Some(d),
        };
    }
    let r = SCRATCH.with(|s| snap.router.route_with(facts, &view, &mut s.borrow_mut()));
    Choice {
        site: r.site,
        group: r.group,
        outcome: r.outcome,
        decision: None,
    }
}

/// Routes a checked request: a redirect, the decision as JSON, or a
/// playlist job; 404 when no site serves the path, 503 when none that
/// does can take it now.
fn route<'r>(
    state: &State,
    snap: &Arc<Snapshot>,
    t: &Target,
    facts: &Facts<'_>,
    visit: Visit<'r>,
    accept: Option<&str>,
) -> Routed<'r> {
    let (as_json, query) = wants_json(t.query.as_deref(), accept);
    let platform = snap.router.platform();
    let playlist = (!as_json)
        .then(|| platform.playlist_rule(&t.path))
        .flatten();
    // The request's one clock reading, for the decision and the estimate.
    let now = tokio::time::Instant::from_std(visit.started);
    let choice = choose(snap, facts, as_json || playlist.is_some(), now);
    state.metrics.decision(visit.started);
    let Some(site) = choice.site else {
        return no_site(choice.outcome, as_json, visit).into();
    };
    if let Some((rule, _)) = playlist {
        let target = (t.path.clone(), query);
        let job = PlaylistJob::new(snap.clone(), rule, site, choice, target, visit.into_owned());
        return Routed::Later(Box::new(job));
    }
    state.add_session_at(snap, site, &t.path, now);
    let site_header = snap.site_headers.get(site.index()).and_then(Option::as_ref);
    sent(
        state,
        (platform, site_header),
        site,
        &choice,
        (&t.path, query.as_deref()),
        visit,
    )
    .into()
}

/// 404 (no site serves the path) or 503 (none that does can take it now),
/// in the form asked for. Logged, counted under no site and no group.
fn no_site(outcome: Outcome, as_json: bool, visit: Visit<'_>) -> Answered<'_> {
    let e = match outcome {
        Outcome::NotServed => ServeError::NotServed,
        _ => ServeError::NoSite,
    };
    let response = if as_json {
        json_refusal(&e)
    } else {
        refusal(&e)
    };
    Answered {
        visit: Some(visit),
        ..Answered::unrouted(response)
    }
}

/// The redirect to `site` for `target` (path and query), or the decision as
/// JSON when the whole decision was asked for (with the policy, outcome
/// and what matched the group for trusted clients).
fn sent<'r>(
    state: &State,
    (platform, site_header): (&Platform, Option<&HeaderValue>),
    site: SiteId,
    choice: &Choice,
    (path, query): (&str, Option<&str>),
    visit: Visit<'r>,
) -> Answered<'r> {
    let location = platform.site(site).redirect_url(path, query);
    let (response, location) = match &choice.decision {
        Some(d) => {
            let details = state.clients.is_trusted(visit.peer);
            let view = RedirectView::new(platform, d, path, query).with_details(details);
            (json(StatusCode::OK, &view).into(), Some(location))
        }
        // The access log reads the Location header.
        None => (redirect(location, site_header), None),
    };
    Answered {
        response,
        site: Some(site),
        group: Some(choice.group),
        visit: Some(visit),
        location,
    }
}

/// Whether the client asked for the decision as JSON (`?format=json` or
/// `Accept: application/json`); the query without `format=json`.
fn wants_json(query: Option<&str>, accept: Option<&str>) -> (bool, Option<String>) {
    let mut json = accept.is_some_and(|a| a.contains("application/json"));
    let rest: Vec<&str> = query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let f = *p == "format=json";
            json |= f;
            !f
        })
        .collect();
    (json, (!rest.is_empty()).then(|| rest.join("&")))
}

#[cfg(test)]
mod tests;
