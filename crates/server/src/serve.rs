//! The HTTP/1.1 front end (tokio + hyper): one request in, one redirect out.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use routecast_engine::{Facts, Location, LocationCache, Locator, Router};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::client::ClientResolver;
use crate::target;

/// Protections against slow or oversized clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once; more are closed on accept.
    pub max_connections: usize,
    /// Time allowed to send the request head (slowloris).
    pub header_timeout: Duration,
    /// Bytes of request head buffered at most.
    pub max_header_bytes: usize,
    /// Header fields at most. The default, 100, is hyper's own: its parser
    /// then keeps the fields on the stack; any other value makes it allocate
    /// them on the heap for every request (a few % of the throughput).
    pub max_headers: usize,
}

/// hyper's default header count limit, the one it parses on the stack.
const HYPER_MAX_HEADERS: usize = 100;

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 10_000,
            header_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            max_headers: HYPER_MAX_HEADERS,
        }
    }
}

/// What one configuration gives: its router, locator and site health.
/// Replaced whole on reload.
pub struct Snapshot {
    /// Routes requests.
    pub router: Router,
    /// Locates clients.
    pub locator: Arc<dyn Locator>,
    /// Site health from the active checks, and operator overrides.
    pub view: crate::health::ServerView,
    /// Request counters by (site, group, status) indexes, so that counting a
    /// request allocates nothing once its labels have been seen.
    counters: std::sync::RwLock<
        std::collections::HashMap<(u16, u32, u16), prometheus_client::metrics::counter::Counter>,
    >,
    /// Site and origin base URLs, parsed for playlist rewriting.
    pub(crate) bases: crate::relay::Bases,
    /// Tells this snapshot's cached locations from an older one's (a reload
    /// may bring new GeoIP databases).
    generation: u64,
}

/// Snapshots built so far (their generations).
static GENERATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

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

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot").finish_non_exhaustive()
    }
}

impl Snapshot {
    /// A snapshot of a loaded platform, every site up.
    pub fn new(loaded: &routecast_geo::Loaded) -> Self {
        Self {
            router: Router::new(loaded.platform.clone()),
            locator: loaded.locator.clone(),
            view: crate::health::ServerView(Arc::new(crate::health::Health::new(&loaded.platform))),
            counters: std::sync::RwLock::new(std::collections::HashMap::new()),
            bases: crate::relay::Bases::new(&loaded.platform),
            generation: GENERATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
        }
    }

    /// Counts one answered request (site and group unknown for refused ones).
    pub(crate) fn count(
        &self,
        metrics: &crate::metrics::Metrics,
        site: Option<routecast_engine::SiteId>,
        group: Option<routecast_engine::GroupId>,
        status: u16,
    ) {
        let key = (
            site.map_or(u16::MAX, |s| s.0),
            group.map_or(u32::MAX, |g| g.0),
            status,
        );
        if let Ok(map) = self.counters.read() {
            if let Some(c) = map.get(&key) {
                c.inc();
                return;
            }
        }
        let platform = self.router.platform();
        let site = site.map_or("-", |s| platform.site(s).name.as_str());
        let group = group.map_or("-", |g| platform.group(g).name.as_str());
        let counter = metrics.counter(site, group, status);
        counter.inc();
        if let Ok(mut map) = self.counters.write() {
            map.insert(key, counter);
        }
    }
}

/// Everything a request needs: the current snapshot, who to trust, metrics.
pub struct State {
    snapshot: std::sync::RwLock<Arc<Snapshot>>,
    checks: std::sync::Mutex<Vec<tokio::task::AbortHandle>>,
    /// Resolves client addresses behind trusted proxies.
    pub clients: ClientResolver,
    /// Counters and histograms for `/metrics`.
    pub metrics: crate::metrics::Metrics,
    /// Where routed requests are logged, if anywhere.
    pub access_log: Option<crate::accesslog::AccessLog>,
    /// The bearer token admin actions need; without one they are refused.
    pub admin_token: Option<String>,
    /// Bit rate a redirected session adds to its site's estimated load
    /// until the site's next statistics poll, Mbit/s.
    pub session_mbps: f64,
    /// Seconds clients keep a steering manifest before reloading it.
    pub steering_ttl: u64,
    /// `POST /reload` wakes whoever reloads the configuration (the same as
    /// SIGHUP).
    pub reload_requested: tokio::sync::Notify,
    /// The outcome of the last reload (for `/status`): when (Unix ms),
    /// whether it was installed, and the error if not.
    pub last_reload: std::sync::Mutex<Option<(u64, bool, String)>>,
}

impl State {
    /// State serving `snapshot` (its health checks start with
    /// [`State::install`], inside a tokio runtime).
    pub fn new(
        snapshot: Snapshot,
        clients: ClientResolver,
        access_log: Option<crate::accesslog::AccessLog>,
        admin_token: Option<String>,
    ) -> Self {
        Self {
            snapshot: std::sync::RwLock::new(Arc::new(snapshot)),
            checks: std::sync::Mutex::new(Vec::new()),
            clients,
            metrics: crate::metrics::Metrics::default(),
            access_log,
            admin_token,
            session_mbps: 5.0,
            steering_ttl: 300,
            reload_requested: tokio::sync::Notify::new(),
            last_reload: std::sync::Mutex::new(None),
        }
    }

    /// Records a reload's outcome for `/status` and `/metrics`.
    pub fn reloaded(&self, at_ms: u64, result: Result<(), String>) {
        self.metrics.reload(result.is_ok());
        let entry = match result {
            Ok(()) => (at_ms, true, String::new()),
            Err(e) => (at_ms, false, e),
        };
        *self.last_reload.lock().unwrap_or_else(|p| p.into_inner()) = Some(entry);
    }

    /// The snapshot requests use now.
    pub fn current(&self) -> Arc<Snapshot> {
        // A poisoned lock only means a panic elsewhere; the Arc inside is whole.
        match self.snapshot.read() {
            Ok(s) => s.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Makes `snapshot` current and runs its health checks; the previous
    /// snapshot's checks stop. Requests in flight finish on the old one.
    pub fn install(&self, snapshot: Snapshot) {
        let snapshot = Arc::new(snapshot);
        let mut handles =
            crate::health::spawn_checks(snapshot.router.platform(), snapshot.view.0.clone());
        handles.extend(crate::load::spawn_polls(
            snapshot.router.platform(),
            snapshot.view.0.clone(),
        ));
        match self.snapshot.write() {
            Ok(mut s) => *s = snapshot,
            Err(p) => *p.into_inner() = snapshot,
        }
        let old = match self.checks.lock() {
            Ok(mut c) => std::mem::replace(&mut *c, handles),
            Err(p) => std::mem::replace(&mut *p.into_inner(), handles),
        };
        for h in old {
            h.abort();
        }
    }
}

/// Compares two byte strings in time independent of where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

type Body = Full<Bytes>;

thread_local! {
    /// Per worker thread: the engine's working memory, reused by every request.
    static SCRATCH: std::cell::RefCell<routecast_engine::Scratch> = std::cell::RefCell::new(routecast_engine::Scratch::default());
    /// Per worker thread: recent client locations.
    static PLACES: std::cell::RefCell<PlaceCache> = const {
        std::cell::RefCell::new(PlaceCache { generation: 0, cache: LocationCache::with_slot_bits(12) })
    };
}

pub(crate) fn text(status: StatusCode, body: &str) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(format!("{body}\n"))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn json(status: StatusCode, v: &serde_json::Value) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(format!("{v}\n"))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Where steering manifests are served: `/.steering/<content path>`.
pub const STEERING_PREFIX: &str = "/.steering/";

/// An HLS Content Steering manifest: pathways (site names) in the order the
/// engine ranks them for this client and content under current load.
fn steering_manifest(
    state: &State,
    snap: &Snapshot,
    d: &routecast_engine::Decision,
    content: &str,
    seen: &mut (
        Option<routecast_engine::SiteId>,
        Option<routecast_engine::GroupId>,
    ),
) -> Response<Body> {
    let platform = snap.router.platform();
    *seen = (d.site, Some(d.group));
    let pathways: Vec<&str> = d
        .site
        .iter()
        .chain(&d.fallbacks)
        .map(|s| platform.site(*s).name.as_str())
        .collect();
    if pathways.is_empty() {
        return json(
            StatusCode::SERVICE_UNAVAILABLE,
            &serde_json::json!({ "error": "no site can serve this content" }),
        );
    }
    json(
        StatusCode::OK,
        &serde_json::json!({
            "VERSION": 1,
            "TTL": state.steering_ttl,
            "RELOAD-URI": format!("{STEERING_PREFIX}{}", content.trim_start_matches('/')),
            "PATHWAY-PRIORITY": pathways,
        }),
    )
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

/// What a request gets: an answer at once (redirects, JSON, errors), or a
/// playlist to fetch and rewrite first.
#[derive(Debug)]
pub enum Reply {
    /// The answer, already counted.
    Ready(Response<Body>),
    /// A routed playlist request: [`PlaylistJob::run`](crate::PlaylistJob::run)
    /// fetches, rewrites, answers and counts it.
    Playlist(Box<crate::relay::PlaylistJob>),
}

impl From<Response<Body>> for Reply {
    fn from(r: Response<Body>) -> Self {
        Reply::Ready(r)
    }
}

/// One routed request, for the access log.
pub(crate) struct Visit<'a> {
    pub client: IpAddr,
    pub peer: IpAddr,
    pub host: &'a str,
    pub target: &'a str,
    pub method: &'a str,
    pub started: std::time::Instant,
}

impl Visit<'_> {
    /// Writes the access-log line, if there is an access log.
    pub fn log(&self, state: &State, status: u16, location: Option<&str>) {
        if let Some(l) = &state.access_log {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            let took = self.started.elapsed().as_secs_f64() * 1000.0;
            l.write(crate::accesslog::line(
                now,
                self.client,
                self.peer,
                self.host,
                self.target,
                self.method,
                status,
                took,
                location,
            ));
        }
    }
}

/// Answers one request (counted once answered).
pub fn handle(state: &State, peer: IpAddr, req: &Request<Incoming>) -> Reply {
    let snap = state.current();
    let mut seen = (None, None);
    match answer(state, &snap, peer, req, &mut seen) {
        Reply::Ready(r) => {
            snap.count(&state.metrics, seen.0, seen.1, r.status().as_u16());
            Reply::Ready(r)
        }
        job => job,
    }
}

/// The response; `seen` receives the site and group names when known.
fn answer(
    state: &State,
    snap: &Arc<Snapshot>,
    peer: IpAddr,
    req: &Request<Incoming>,
    seen: &mut (
        Option<routecast_engine::SiteId>,
        Option<routecast_engine::GroupId>,
    ),
) -> Reply {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r.into();
    }
    let raw = req.uri().path_and_query().map_or("/", |p| p.as_str());
    if req.uri().scheme().is_some() || req.uri().authority().is_some() {
        return text(
            StatusCode::BAD_REQUEST,
            "bad request target: absolute form is not accepted",
        )
        .into();
    }
    let t = match target::check(raw) {
        Ok(t) => t,
        Err(e) => return text(StatusCode::BAD_REQUEST, &format!("bad request target: {e}")).into(),
    };
    if t.path == "/healthz" {
        return text(StatusCode::OK, "ok").into();
    }
    // HLS Content Steering: `/.steering/<content path>` answers the steering
    // manifest for that content (the client's _HLS_pathway and
    // _HLS_throughput parameters are accepted and not used).
    let steering_path = t
        .path
        .strip_prefix(STEERING_PREFIX)
        .map(|rest| format!("/{rest}"));
    let steering_path = steering_path.as_deref();
    let header = |name: header::HeaderName| req.headers().get(name).and_then(|v| v.to_str().ok());
    let client = state.clients.client(
        peer,
        header(header::FORWARDED),
        req.headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok()),
    );
    let started = std::time::Instant::now();
    let facts = Facts {
        address: client,
        location: PLACES.with(|p| {
            p.borrow_mut()
                .locate(snap.generation, &*snap.locator, client)
        }),
        path: steering_path.unwrap_or(&t.path),
        user_agent: header(header::USER_AGENT),
    };
    if let Some(content) = steering_path {
        let d = snap.router.decide(&facts, &snap.view);
        state.metrics.decision(started.elapsed());
        return steering_manifest(state, snap, &d, content, seen).into();
    }
    let (as_json, query) = wants_json(t.query.as_deref(), header(header::ACCEPT));
    let platform = snap.router.platform();
    let playlist = (!as_json)
        .then(|| platform.playlist_rule(&t.path))
        .flatten();
    // Redirects need only the choice; JSON answers and playlists use the
    // fallbacks too.
    let (chosen, group, decision) = if as_json || playlist.is_some() {
        let d = snap.router.decide(&facts, &snap.view);
        (d.site, d.group, Some(d))
    } else {
        let r = SCRATCH.with(|s| {
            snap.router
                .route_with(&facts, &snap.view, &mut s.borrow_mut())
        });
        (r.site, r.group, None)
    };
    state.metrics.decision(started.elapsed());
    let url = |site: routecast_engine::SiteId| {
        let base = &platform.site(site).urls[0];
        match &query {
            Some(q) => format!("{base}{}?{q}", t.path),
            None => format!("{base}{}", t.path),
        }
    };
    let host = header(header::HOST).unwrap_or("-");
    let visit = Visit {
        client,
        peer,
        host,
        target: raw,
        method: req.method().as_str(),
        started,
    };
    let log = |status: u16, location: Option<&str>| visit.log(state, status, location);
    let Some(site) = chosen else {
        log(503, None);
        let r = if as_json {
            json(
                StatusCode::SERVICE_UNAVAILABLE,
                &serde_json::json!({ "error": "no site can serve this request" }),
            )
        } else {
            text(
                StatusCode::SERVICE_UNAVAILABLE,
                "no site can serve this request",
            )
        };
        return r.into();
    };
    let name = &platform.site(site).name;
    *seen = (Some(site), Some(group));
    if let Some((rule, _)) = playlist {
        let fallbacks = decision.map(|d| d.fallbacks).unwrap_or_default();
        return Reply::Playlist(Box::new(crate::relay::PlaylistJob {
            snap: snap.clone(),
            rule,
            sites: std::iter::once(site).chain(fallbacks).collect(),
            group,
            path: t.path,
            query,
            request: crate::relay::Request {
                client,
                peer,
                host: host.to_string(),
                target: raw.to_string(),
                method: req.method().as_str().to_string(),
                started,
            },
        }));
    }
    snap.view.0.add_session(site, state.session_mbps);
    if let Some(decision) = &decision {
        let mut v = serde_json::json!({
            "site": name,
            "url": url(site),
            "group": platform.group(decision.group).name,
            "fallbacks": decision.fallbacks.iter().map(|s| serde_json::json!({ "site": platform.site(*s).name, "url": url(*s) })).collect::<Vec<_>>(),
        });
        log(200, Some(&url(site)));
        if state.clients.is_trusted(peer) {
            v["policy"] = serde_json::json!(platform.policy(decision.policy).name);
            v["outcome"] = serde_json::json!(decision.outcome);
            v["matched_by"] = serde_json::json!(decision.matched_by.to_string());
        }
        return json(StatusCode::OK, &v).into();
    }
    log(302, Some(&url(site)));
    let mut r = text(StatusCode::FOUND, "");
    // The base URL was validated at load time and the path checked above: a
    // valid header value; should it not be, answer 500 rather than panic.
    match HeaderValue::from_str(&url(site)) {
        Ok(v) => r.headers_mut().insert(header::LOCATION, v),
        Err(_) => return text(StatusCode::INTERNAL_SERVER_ERROR, "internal error").into(),
    };
    if let Ok(v) = HeaderValue::from_str(name) {
        r.headers_mut().insert("x-routecast-site", v);
    }
    r.into()
}

/// Answers the admin listener: `/metrics` (Prometheus text) and `/status`
/// (JSON: every site, its state and health).
pub fn admin(state: &State, req: &Request<Incoming>) -> Response<Body> {
    let snap = state.current();
    let platform = snap.router.platform();
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/metrics") => {
            let mut r = text(
                StatusCode::OK,
                state.metrics.render(platform, &snap.view.0).trim_end(),
            );
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            );
            r
        }
        (&Method::GET, "/status") => {
            let sites: Vec<_> = platform
                .sites()
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let id = routecast_engine::SiteId(i as u16);
                    let health = &snap.view.0;
                    serde_json::json!({
                        "site": s.name,
                        "state": health.state(id, s.state),
                        "up": health.is_up(id),
                        "polled_mbps": health.polled(id),
                        "load_mbps": health.load(id),
                    })
                })
                .collect();
            let reload = state
                .last_reload
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone()
                .map(|(at, ok, error)| serde_json::json!({ "at_ms": at, "installed": ok, "error": error }));
            json(
                StatusCode::OK,
                &serde_json::json!({ "sites": sites, "last_reload": reload }),
            )
        }
        (&Method::POST, "/reload") => {
            if let Some(refused) = refusal(state, req) {
                return refused;
            }
            tracing::info!("reload requested through the admin API");
            state.reload_requested.notify_one();
            json(
                StatusCode::ACCEPTED,
                &serde_json::json!({ "reload": "requested", "outcome": "GET /status: last_reload" }),
            )
        }
        (&Method::POST, path) if path.starts_with("/sites/") => site_action(state, req, path),
        _ => text(
            StatusCode::NOT_FOUND,
            "not found (admin: GET /metrics, GET /status, POST /reload, POST /sites/NAME/{drain,disable,activate,reset})",
        ),
    }
}

/// Admin actions need `Authorization: Bearer TOKEN`: the refusal when the
/// request lacks it, `None` when it may proceed.
fn refusal(state: &State, req: &Request<Incoming>) -> Option<Response<Body>> {
    let Some(token) = &state.admin_token else {
        return Some(text(
            StatusCode::FORBIDDEN,
            "admin actions are disabled (start with --admin-token-file)",
        ));
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !given.is_some_and(|g| same_secret(g.as_bytes(), token.as_bytes())) {
        let mut r = text(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return Some(r);
    }
    None
}

/// `POST /sites/NAME/ACTION` with `Authorization: Bearer TOKEN`.
fn site_action(state: &State, req: &Request<Incoming>, path: &str) -> Response<Body> {
    if let Some(refused) = refusal(state, req) {
        return refused;
    }
    let mut parts = path.trim_start_matches("/sites/").split('/');
    let (Some(name), Some(action), None) = (parts.next(), parts.next(), parts.next()) else {
        return text(StatusCode::NOT_FOUND, "expected /sites/NAME/ACTION");
    };
    let snap = state.current();
    let platform = snap.router.platform();
    let Some(site) = platform.site_by_name(name) else {
        return text(StatusCode::NOT_FOUND, &format!("no site is named {name:?}"));
    };
    let new = match action {
        "drain" => Some(routecast_engine::SiteState::Draining),
        "disable" => Some(routecast_engine::SiteState::Disabled),
        "activate" => Some(routecast_engine::SiteState::Active),
        "reset" => None,
        other => {
            return text(
                StatusCode::NOT_FOUND,
                &format!("unknown action {other:?} (drain, disable, activate, reset)"),
            )
        }
    };
    snap.view.0.set_state(site, new);
    let now = snap.view.0.state(site, platform.site(site).state);
    tracing::info!(site = name, action, state = ?now, "admin action");
    json(
        StatusCode::OK,
        &serde_json::json!({ "site": name, "state": now }),
    )
}

/// Serves the admin endpoints until `shutdown` completes.
pub async fn serve_admin(
    listener: TcpListener,
    state: Arc<State>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let state = state.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<Incoming>| {
                        let r = admin(&state, &req);
                        async move { Ok::<_, Infallible>(r) }
                    });
                    let _ = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(Duration::from_secs(10))
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        }
    }
}

/// How long open connections may take to finish after a shutdown signal.
pub const DRAIN_TIME: Duration = Duration::from_secs(10);

/// Serves until `shutdown` completes; then stops accepting, lets open
/// connections finish their request (idle keep-alive connections close at
/// once) for up to [`DRAIN_TIME`], and returns.
pub async fn serve(
    listener: TcpListener,
    state: Arc<State>,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                // Over the connection cap: close at once.
                let Ok(permit) = slots.clone().try_acquire_owned() else { continue };
                let state = state.clone();
                let svc = service_fn(move |req: Request<Incoming>| {
                    // Redirects are answered here, without allocating; only
                    // playlists take the state along to await their origin.
                    let reply = match handle(&state, peer.ip(), &req) {
                        Reply::Ready(r) => Ok(r),
                        Reply::Playlist(job) => Err((job, state.clone())),
                    };
                    async move {
                        Ok::<_, Infallible>(match reply {
                            Ok(r) => r,
                            Err((job, state)) => Box::pin(job.run(&state)).await,
                        })
                    }
                });
                let mut builder = http1::Builder::new();
                builder
                    .timer(TokioTimer::new())
                    .header_read_timeout(limits.header_timeout)
                    .max_buf_size(limits.max_header_bytes);
                if limits.max_headers != HYPER_MAX_HEADERS {
                    builder.max_headers(limits.max_headers);
                }
                let conn = builder.serve_connection(TokioIo::new(stream), svc);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                    drop(permit);
                });
            }
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN_TIME, graceful.shutdown()).await;
    Ok(())
}

#[cfg(test)]
mod place_tests {
    use super::*;
    use routecast_engine::{CountryCode, Location};
    use std::sync::atomic::{AtomicU32, Ordering};

    /// Answers a country from the address's last byte; counts lookups.
    struct Counting(AtomicU32);
    impl Locator for Counting {
        fn locate(&self, addr: IpAddr) -> Location {
            self.0.fetch_add(1, Ordering::Relaxed);
            let b = match addr {
                IpAddr::V4(a) => a.octets()[3],
                IpAddr::V6(a) => a.octets()[15],
            };
            Location {
                country: (if b % 2 == 0 { "NL" } else { "DE" })
                    .parse::<CountryCode>()
                    .ok(),
                ..Location::default()
            }
        }
    }

    #[test]
    fn cached_locations_are_exact_and_dropped_with_their_snapshot() {
        let l = Counting(AtomicU32::new(0));
        let mut c = PlaceCache {
            generation: 0,
            cache: LocationCache::with_slot_bits(12),
        };
        let addrs: Vec<IpAddr> = (0..20_000u32)
            .map(|i| IpAddr::from((0x0a00_0000 + i).to_be_bytes()))
            .collect();
        for a in &addrs {
            assert_eq!(c.locate(1, &l, *a), l.locate(*a), "{a}");
        }
        // Thousands of collisions in 4096 slots, never a wrong answer.
        let before = l.0.load(Ordering::Relaxed);
        let a = addrs[7];
        c.locate(1, &l, a);
        c.locate(1, &l, a);
        assert_eq!(
            l.0.load(Ordering::Relaxed),
            before + 1,
            "the second lookup is cached"
        );
        c.locate(2, &l, a);
        assert_eq!(
            l.0.load(Ordering::Relaxed),
            before + 2,
            "a new snapshot looks up again"
        );
    }
}
