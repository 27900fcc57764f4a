//! HLS Content Steering: `/.steering/<content path>` answers the steering
//! manifest for that content, its pathways (site names) in the order the
//! engine ranks them for this client under current load. Playlists with
//! `steering = true` point at it ([`steering_uri`]). The client's
//! `_HLS_pathway` and `_HLS_throughput` parameters are accepted and not used.

use std::time::Instant;

use hyper::StatusCode;
use routecast_engine::{Decision, Facts, Outcome, Platform};
use serde::Serialize;

use crate::error::ServeError;
use crate::record::Answered;
use crate::response::{json, json_refusal};
use crate::state::{Snapshot, State};

/// Where steering manifests are served: `/.steering/<content path>`.
pub const STEERING_PREFIX: &str = "/.steering/";

/// The steering manifest's URI for the content at `path` (`/…`).
pub fn steering_uri(path: &str) -> String {
    format!("{STEERING_PREFIX}{}", path.trim_start_matches('/'))
}

/// The content path (`/…`) a steering request is about, `None` for other
/// requests.
pub(crate) fn content_path(path: &str) -> Option<String> {
    path.strip_prefix(STEERING_PREFIX)
        .map(|rest| format!("/{rest}"))
}

/// An HLS Content Steering manifest (the fields keep the specification's
/// names). They are declared in the order they are written, which is
/// alphabetical, as routecast has always written them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SteeringManifest<'a> {
    /// Pathways (site names), best first.
    #[serde(rename = "PATHWAY-PRIORITY")]
    pub pathway_priority: Vec<&'a str>,
    /// Where the client reloads the manifest.
    #[serde(rename = "RELOAD-URI")]
    pub reload_uri: String,
    /// Seconds the client keeps the manifest before reloading it.
    #[serde(rename = "TTL")]
    pub ttl: u64,
    /// The manifest format's version: 1.
    #[serde(rename = "VERSION")]
    pub version: u32,
}

impl<'a> SteeringManifest<'a> {
    /// The manifest for the content at `content` (`/…`) under `decision`:
    /// the chosen site, then the fallbacks. With neither, no site can serve
    /// the content.
    pub fn new(
        platform: &'a Platform,
        decision: &Decision,
        content: &str,
        ttl: u64,
    ) -> Result<Self, ServeError> {
        let pathway_priority: Vec<&str> = decision
            .site
            .iter()
            .chain(&decision.fallbacks)
            .map(|s| platform.site(*s).name.as_str())
            .collect();
        if pathway_priority.is_empty() {
            return Err(match decision.outcome {
                Outcome::NotServed => ServeError::NotServed,
                _ => ServeError::NoPathway,
            });
        }
        Ok(Self {
            pathway_priority,
            reload_uri: steering_uri(content),
            ttl,
            version: 1,
        })
    }
}

/// The answer to a steering request for the content at `content`: the
/// manifest, or 503 as JSON; counted under the decision's site and group,
/// not written to the access log.
pub(crate) fn answer(
    state: &State,
    snap: &Snapshot,
    facts: &Facts<'_>,
    content: &str,
    started: Instant,
) -> Answered<'static> {
    let decision = (snap.router).decide(
        facts,
        &snap.view.at(tokio::time::Instant::from_std(started)),
    );
    state.metrics.decision(started);
    let platform = snap.router.platform();
    let response = match SteeringManifest::new(platform, &decision, content, state.steering_ttl) {
        Ok(m) => json(StatusCode::OK, &m),
        Err(e) => json_refusal(&e),
    };
    Answered {
        response: response.into(),
        site: decision.site,
        group: Some(decision.group),
        visit: None,
        location: None,
    }
}
