//! What requests are answered with: the [`Snapshot`] of one configuration
//! (router, locator, site health), swapped whole on reload, inside the
//! [`State`] that lives as long as the server (who to trust, metrics, the
//! access log, the admin token, the last reload's outcome).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use routecast_engine::{Locator, Platform, Router};
use tokio::task::AbortHandle;

use crate::accesslog::AccessLog;
use crate::admin::AdminToken;
use crate::client::ClientResolver;
use crate::health::{Health, ServerView};
use crate::metrics::Metrics;
use crate::record::RequestCounters;
use crate::relay::Bases;

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
    checks: Mutex<Vec<AbortHandle>>,
    last_reload: Mutex<Option<ReloadOutcome>>,
    /// Resolves client addresses behind trusted proxies.
    pub clients: ClientResolver,
    /// Counters and histograms for `/metrics`.
    pub metrics: Metrics,
    /// Where routed requests are logged, if anywhere.
    pub access_log: Option<AccessLog>,
    /// The bearer token admin actions need; without one they are refused.
    pub admin_token: Option<AdminToken>,
    /// Bit rate a redirected session adds to its site's estimated load
    /// until the site's next statistics poll, Mbit/s.
    pub session_mbps: f64,
    /// Seconds clients keep a steering manifest before reloading it.
    pub steering_ttl: u64,
    /// `POST /reload` and SIGHUP wake the reload loop ([`crate::reload`]).
    pub reload_requested: tokio::sync::Notify,
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
            checks: Mutex::new(Vec::new()),
            last_reload: Mutex::new(None),
            clients,
            metrics: Metrics::default(),
            access_log,
            admin_token,
            session_mbps: 5.0,
            steering_ttl: 300,
            reload_requested: tokio::sync::Notify::new(),
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

    /// Makes `snapshot` current and runs its health checks and load polls;
    /// the previous snapshot's stop. Requests in flight finish on the old one.
    pub fn install(&self, snapshot: Snapshot) {
        let snapshot = Arc::new(snapshot);
        let platform = snapshot.router.platform();
        let mut handles = crate::health::spawn_checks(platform, snapshot.view.0.clone());
        handles.extend(crate::load::spawn_polls(platform, snapshot.view.0.clone()));
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
