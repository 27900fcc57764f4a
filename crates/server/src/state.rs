//! What requests are answered with: the [`Snapshot`] of one configuration
//! (router, locator, site health), swapped whole on reload, inside the
//! [`State`] that lives as long as the server (who to trust, metrics, the
//! access log, the admin token, the last reload's outcome).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use routecast_engine::{Locator, Platform, Router, SiteId};

use crate::accesslog::AccessLog;
use crate::admin::AdminToken;
use crate::client::ClientResolver;
use crate::health::{Health, ServerView};
use crate::metrics::Metrics;
use crate::probes::Probes;
use crate::record::RequestCounters;
use crate::relay::Bases;
use crate::statefile::StateFile;

/// What one configuration gives: its router, locator and site health.
/// Replaced whole on reload.
pub struct Snapshot {
    /// Routes requests.
    pub router: Router,
    /// Locates clients.
    pub locator: Arc<dyn Locator>,
    /// Site health from the active checks, and operator overrides.
    pub view: ServerView,
    /// Request counters, cached by ids.
    pub(crate) counters: RequestCounters,
    /// Site and origin base URLs, parsed for playlist rewriting.
    pub(crate) bases: Bases,
    /// Each site's name as an `X-Routecast-Site` value, by site id.
    pub(crate) site_headers: Vec<Option<hyper::header::HeaderValue>>,
    /// Tells this snapshot's cached locations from an older one's (a reload
    /// may bring new GeoIP databases).
    pub(crate) generation: u64,
}

/// Snapshots built so far (their generations).
static GENERATIONS: AtomicU64 = AtomicU64::new(0);

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot").finish_non_exhaustive()
    }
}

impl Snapshot {
    /// A snapshot of a loaded platform, every site up.
    pub fn new(loaded: &routecast_geo::Loaded) -> Self {
        Self::with_locator(loaded.platform.clone(), loaded.locator.clone())
    }

    /// A snapshot of `platform` locating clients with `locator`, every
    /// site up.
    pub fn with_locator(platform: Arc<Platform>, locator: Arc<dyn Locator>) -> Self {
        Self {
            view: ServerView(Arc::new(Health::new(&platform))),
            counters: RequestCounters::default(),
            bases: Bases::new(&platform),
            site_headers: (platform.sites().iter())
                .map(|s| crate::response::site_header(&s.name))
                .collect(),
            router: Router::new(platform),
            locator,
            generation: GENERATIONS.fetch_add(1, Ordering::Relaxed) + 1,
        }
    }
}

/// The outcome of a configuration reload, for `/status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadOutcome {
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// Whether the new configuration was installed.
    pub installed: bool,
    /// Why not (empty when installed).
    pub error: String,
}

/// Everything a request needs: the current snapshot, who to trust, metrics.
pub struct State {
    snapshot: RwLock<Arc<Snapshot>>,
    probes: Mutex<Probes>,
    last_reload: Mutex<Option<ReloadOutcome>>,
    /// Resolves client addresses behind trusted proxies.
    pub clients: ClientResolver,
    /// Counters and histograms for `/metrics`.
    pub metrics: Metrics,
    /// Where routed requests are logged, if anywhere.
    pub access_log: Option<AccessLog>,
    /// The bearer token admin actions need; without one they are refused.
    pub admin_token: Option<AdminToken>,
    /// Where admin overrides are saved, if anywhere ([`StateFile`]).
    pub state_file: Option<StateFile>,
    /// Bit rate a redirect of a session class without a rate of its own
    /// adds to its site's estimated load, Mbit/s.
    pub session_mbps: f64,
    /// Seconds clients keep a steering manifest before reloading it.
    pub steering_ttl: u64,
    /// `POST /reload` and SIGHUP wake the reload loop ([`crate::reload`]).
    pub reload_requested: tokio::sync::Notify,
    /// The TLS listener's certificates, reloaded with the configuration.
    pub tls: Option<Arc<routecast_http::tls::Tls>>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("clients", &self.clients)
            .field("session_mbps", &self.session_mbps)
            .field("steering_ttl", &self.steering_ttl)
            .finish_non_exhaustive()
    }
}

impl State {
    /// State serving `snapshot` (its health checks start with
    /// [`State::install`], inside a tokio runtime).
    pub fn new(
        snapshot: Snapshot,
        clients: ClientResolver,
        access_log: Option<AccessLog>,
        admin_token: Option<AdminToken>,
    ) -> Self {
        Self {
            snapshot: RwLock::new(Arc::new(snapshot)),
            probes: Mutex::new(Probes::default()),
            last_reload: Mutex::new(None),
            clients,
            metrics: Metrics::default(),
            access_log,
            admin_token,
            state_file: None,
            session_mbps: 5.0,
            steering_ttl: 300,
            reload_requested: tokio::sync::Notify::new(),
            tls: None,
        }
    }

    /// Records a reload's outcome for `/status` and `/metrics`.
    pub fn reloaded(&self, at_ms: u64, result: Result<(), String>) {
        self.metrics.reload(result.is_ok());
        let outcome = ReloadOutcome {
            at_ms,
            installed: result.is_ok(),
            error: result.err().unwrap_or_default(),
        };
        // A poisoned lock only means a panic elsewhere; the value is whole.
        *self.last_reload.lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome);
    }

    /// The last reload's outcome, if there was one.
    pub fn last_reload(&self) -> Option<ReloadOutcome> {
        self.last_reload
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The snapshot requests use now.
    pub fn current(&self) -> Arc<Snapshot> {
        // A poisoned lock only means a panic elsewhere; the Arc inside is whole.
        match self.snapshot.read() {
            Ok(s) => s.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Makes `snapshot` current, carrying over the live state of every site
    /// that remains (health, check streaks, overrides, polled figures and
    /// estimates: [`Health::carried`]), and brings the health checks and
    /// load polls in line with it (unchanged ones keep running). Requests
    /// in flight finish on the old snapshot, sharing the sites' state.
    pub fn install(&self, mut snapshot: Snapshot) {
        // A poisoned lock only means a panic elsewhere; the tasks are whole.
        let mut probes = self.probes.lock().unwrap_or_else(|p| p.into_inner());
        let platform = snapshot.router.platform().clone();
        let old = self.current();
        snapshot.view = ServerView(Arc::new(Health::carried(&platform, &old.view.0)));
        probes.update(&platform, &snapshot.view.0);
        let snapshot = Arc::new(snapshot);
        match self.snapshot.write() {
            Ok(mut s) => *s = snapshot,
            Err(p) => *p.into_inner() = snapshot,
        }
    }

    /// Adds a redirect for `path` to `site` to the site's estimated load,
    /// at its session class's rate (or [`State::session_mbps`]) for the
    /// class's hold. No lock, no allocation.
    pub fn add_session(&self, snap: &Snapshot, site: SiteId, path: &str) {
        self.add_session_at(snap, site, path, tokio::time::Instant::now());
    }

    /// [`State::add_session`] at `at` (the request's own clock reading).
    pub fn add_session_at(
        &self,
        snap: &Snapshot,
        site: SiteId,
        path: &str,
        at: tokio::time::Instant,
    ) {
        let platform = snap.router.platform();
        let class = platform.session_class(path);
        let mbps = class
            .and_then(|c| platform.sessions().get(c))
            .and_then(|c| c.mbps)
            .map_or(self.session_mbps, |m| m.0);
        snap.view.0.add_session_at(site, class, mbps, at);
    }
}
