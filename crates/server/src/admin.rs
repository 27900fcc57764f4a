//! The admin listener's endpoints: `GET /metrics` (OpenMetrics text),
//! `GET /status` (every site's state, health and load, and the last
//! reload), and the actions that need `Authorization: Bearer TOKEN`:
//! `POST /reload` and `POST /sites/NAME/{drain,disable,activate,reset}`.
//! A site action is saved in the state file, if there is one; when it
//! cannot be, the override is in force but the answer is a 500 that says
//! so (a restart would lose it).

use std::path::{Path, PathBuf};

use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use routecast_engine::{SiteId, SiteState};
use subtle::ConstantTimeEq;

use crate::error::ServeError;
use crate::response::{json, refusal, text, Body};
use crate::state::State;

/// The bearer token admin actions need. Compared in constant time
/// (`subtle`); never shown by `Debug`.
#[derive(Clone)]
pub struct AdminToken(String);

/// Why an admin token was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token file cannot be read.
    #[error("{}: cannot read the admin token: {error}", .path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// Fewer than [`AdminToken::MIN_LEN`] characters.
    #[error("{}: the admin token must be at least 16 characters", .path.display())]
    TooShort {
        /// The file.
        path: PathBuf,
    },
}

impl AdminToken {
    /// The shortest token accepted, bytes.
    pub const MIN_LEN: usize = 16;

    /// The token in the file at `path`, without surrounding white space.
    pub fn read(path: &Path) -> Result<Self, TokenError> {
        let text = std::fs::read_to_string(path).map_err(|error| TokenError::Unreadable {
            path: path.to_path_buf(),
            error,
        })?;
        let token = text.trim();
        if token.len() < Self::MIN_LEN {
            return Err(TokenError::TooShort {
                path: path.to_path_buf(),
            });
        }
        Ok(Self(token.to_string()))
    }

    /// Whether `given` is the token, in time that does not depend on where
    /// they differ.
    pub fn matches(&self, given: &[u8]) -> bool {
        self.0.as_bytes().ct_eq(given).into()
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(…)")
    }
}

/// Answers the admin listener.
pub fn admin<B>(state: &State, req: &Request<B>) -> Response<Body> {
    let answer = match (req.method(), req.uri().path()) {
        (&Method::GET, "/metrics") => Ok(metrics(state)),
        (&Method::GET, "/status") => Ok(status(state)),
        (&Method::POST, "/reload") => reload(state, req),
        (&Method::POST, path) if path.starts_with("/sites/") => site_action(state, req, path),
        _ => Err(ServeError::NoAdminEndpoint),
    };
    answer.unwrap_or_else(|e| refusal(&e))
}

/// `/metrics`: the exposition text, with site health as of now.
fn metrics(state: &State) -> Response<Body> {
    let snap = state.current();
    let certificates = state
        .tls
        .as_ref()
        .map(|t| t.certificates())
        .unwrap_or_default();
    let exposition = state
        .metrics
        .render(snap.router.platform(), &snap.view.0, &certificates);
    let mut r = text(StatusCode::OK, exposition.trim_end());
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    r
}

/// `/status`: every site's state, health and load (polled, estimated from
/// recent redirects, and their sum); the last reload.
fn status(state: &State) -> Response<Body> {
    let snap = state.current();
    let health = &snap.view.0;
    let sites: Vec<_> = snap
        .router
        .platform()
        .sites()
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let id = SiteId(i as u16);
            serde_json::json!({
                "site": s.name,
                "state": health.state(id, s.state),
                "up": health.is_up(id),
                "polled_mbps": health.polled(id),
                "estimate_mbps": health.estimate(id),
                "load_mbps": health.load(id),
            })
        })
        .collect();
    let reload = state.last_reload().map(
        |r| serde_json::json!({ "at_ms": r.at_ms, "installed": r.installed, "error": r.error }),
    );
    json(
        StatusCode::OK,
        &serde_json::json!({ "sites": sites, "last_reload": reload }),
    )
}

/// `POST /reload`: wakes the reload loop; the outcome shows in `/status`.
fn reload<B>(state: &State, req: &Request<B>) -> Result<Response<Body>, ServeError> {
    authorize(state, req)?;
    tracing::info!("reload requested through the admin API");
    state.reload_requested.notify_one();
    Ok(json(
        StatusCode::ACCEPTED,
        &serde_json::json!({ "reload": "requested", "outcome": "GET /status: last_reload" }),
    ))
}

/// Admin actions need `Authorization: Bearer TOKEN`.
fn authorize<B>(state: &State, req: &Request<B>) -> Result<(), ServeError> {
    let token = state
        .admin_token
        .as_ref()
        .ok_or(ServeError::AdminDisabled)?;
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(g) if token.matches(g.as_bytes()) => Ok(()),
        _ => Err(ServeError::Unauthorized),
    }
}

/// `POST /sites/NAME/ACTION`: an operator's state for a site, or back to
/// the configured one (`reset`).
fn site_action<B>(
    state: &State,
    req: &Request<B>,
    path: &str,
) -> Result<Response<Body>, ServeError> {
    authorize(state, req)?;
    let mut parts = path.trim_start_matches("/sites/").split('/');
    let (Some(name), Some(action), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(ServeError::NotSiteAction);
    };
    let snap = state.current();
    let platform = snap.router.platform();
    let site = platform
        .site_by_name(name)
        .ok_or_else(|| ServeError::NoSuchSite { name: name.into() })?;
    let new = match action {
        "drain" => Some(SiteState::Draining),
        "disable" => Some(SiteState::Disabled),
        "activate" => Some(SiteState::Active),
        "reset" => None,
        other => {
            return Err(ServeError::UnknownAction {
                action: other.into(),
            })
        }
    };
    snap.view.0.set_state(site, new);
    let now = snap.view.0.state(site, platform.site(site).state);
    tracing::info!(site = name, action, state = ?now, "admin action");
    let saved = state
        .state_file
        .as_ref()
        .map(|f| f.save(platform, &snap.view.0));
    if let Some(Err(e)) = saved {
        tracing::error!(site = name, error = %e, "admin override in force but NOT saved: a restart would lose it");
        let answer = serde_json::json!({ "site": name, "state": now, "saved": false, "error": e.to_string() });
        return Ok(json(StatusCode::INTERNAL_SERVER_ERROR, &answer));
    }
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "site": name, "state": now }),
    ))
}

#[cfg(test)]
mod tests;
