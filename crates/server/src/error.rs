//! What a request can run into, whose fault it is, and the status it is
//! answered with (pingora-error's model: an error knows its source, and the
//! source gives the status unless the error names a more precise one).

use hyper::StatusCode;
use routecast_http::FetchError;

use crate::playlist::PlaylistError;
use crate::target::BadTarget;

/// Whose fault an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The client's: a request that is refused (4xx; 400 unless said).
    Client,
    /// An upstream's: a site or an origin that cannot serve (5xx; 502
    /// unless said).
    Upstream,
    /// Ours: a broken invariant (500).
    Ours,
}

impl Fault {
    /// The status of an error from this source that names none of its own.
    pub fn status(self) -> StatusCode {
        match self {
            Fault::Client => StatusCode::BAD_REQUEST,
            Fault::Upstream => StatusCode::BAD_GATEWAY,
            Fault::Ours => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Why a request is not answered as asked. The message is the body of the
/// answer (plain text, or `{"error": …}` for clients that asked for JSON).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// Only GET and HEAD are routed (405, with `Allow`).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// `GET http://host/…`: the absolute form is refused (400).
    #[error("bad request target: absolute form is not accepted")]
    AbsoluteForm,
    /// A target the guard refuses ([`crate::target`], 400).
    #[error("bad request target: {0}")]
    BadTarget(#[from] BadTarget),
    /// No `Host`, two, or one that is not a host (400; [`crate::host`]).
    #[error("bad Host header: {0}")]
    BadHost(#[from] crate::host::BadHost),
    /// Sites serve the request's content, but none can take it now (down,
    /// disabled, none the client's group may use: 503).
    #[error("no site can serve this request")]
    NoSite,
    /// No site is configured to serve the path (no site's `content`
    /// prefixes cover it: 404, whoever asks and whatever the sites' state).
    #[error("no site serves this path")]
    NotServed,
    /// No pathway for a steering manifest: no site can serve the content (503).
    #[error("no site can serve this content")]
    NoPathway,
    /// The origin has no such playlist (its 404 or 410, passed on as 404).
    #[error("no such playlist at the origin")]
    NoSuchPlaylist,
    /// Every upstream tried failed (502).
    #[error("bad gateway: {}", joined(.failures))]
    BadGateway {
        /// Each attempt's failure, in order.
        failures: Vec<UpstreamError>,
    },
    /// Something that cannot happen did (500).
    #[error("internal error")]
    Internal {
        /// What, for the operational log.
        what: &'static str,
    },
    /// Admin actions without a configured token (403).
    #[error("admin actions are disabled (start with --admin-token-file)")]
    AdminDisabled,
    /// An admin action without the right bearer token (401, with
    /// `WWW-Authenticate`).
    #[error("a valid bearer token is required")]
    Unauthorized,
    /// No such admin endpoint (404).
    #[error(
        "not found (admin: GET /metrics, GET /status, POST /reload, POST /sites/NAME/{{drain,disable,activate,reset}})"
    )]
    NoAdminEndpoint,
    /// `/sites/…` that is not `/sites/NAME/ACTION` (404).
    #[error("expected /sites/NAME/ACTION")]
    NotSiteAction,
    /// An admin action on a site the platform does not have (404).
    #[error("no site is named {name:?}")]
    NoSuchSite {
        /// The name asked for.
        name: String,
    },
    /// An admin action that does not exist (404).
    #[error("unknown action {action:?} (drain, disable, activate, reset)")]
    UnknownAction {
        /// The action asked for.
        action: String,
    },
}

/// Failures joined for the 502 body.
fn joined(failures: &[UpstreamError]) -> String {
    let all: Vec<String> = failures.iter().map(ToString::to_string).collect();
    all.join("; ")
}

impl ServeError {
    /// Whose fault it is.
    pub fn fault(&self) -> Fault {
        match self {
            ServeError::NoSite | ServeError::NoPathway | ServeError::BadGateway { .. } => {
                Fault::Upstream
            }
            ServeError::Internal { .. } => Fault::Ours,
            _ => Fault::Client,
        }
    }

    /// The status it is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ServeError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ServeError::NoSite | ServeError::NoPathway => StatusCode::SERVICE_UNAVAILABLE,
            ServeError::Unauthorized => StatusCode::UNAUTHORIZED,
            ServeError::AdminDisabled => StatusCode::FORBIDDEN,
            ServeError::NoSuchPlaylist
            | ServeError::NotServed
            | ServeError::NoAdminEndpoint
            | ServeError::NotSiteAction
            | ServeError::NoSuchSite { .. }
            | ServeError::UnknownAction { .. } => StatusCode::NOT_FOUND,
            _ => self.fault().status(),
        }
    }
}

/// Why one upstream (a site's origin, or the rule's fixed origin) gave no
/// usable playlist. `upstream` names it as the 502 body shows it: `site
/// "a" (URL)` for a site (its URL is public anyway), `the origin` for a
/// fixed origin (never its private URL).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpstreamError {
    /// The site has no `http://` URL to fetch playlists from.
    #[error("upstream {upstream}: no http:// URL to fetch from")]
    NoFetchUrl {
        /// The upstream, without a URL.
        upstream: String,
    },
    /// The fetch failed (connection, timeout, size, HTTP).
    #[error("upstream {upstream}: {error}")]
    Fetch {
        /// The upstream.
        upstream: String,
        /// What went wrong.
        error: FetchError,
    },
    /// It answered with a status other than 2xx, 404 and 410.
    #[error("upstream {upstream}: answered {status}")]
    Status {
        /// The upstream.
        upstream: String,
        /// Its status.
        status: u16,
    },
    /// The URL the playlist came from does not parse.
    #[error("upstream {upstream}: {error}")]
    Url {
        /// The upstream.
        upstream: String,
        /// Why it does not parse.
        error: url::ParseError,
    },
    /// The chosen site has no base URL to point the playlist at.
    #[error("upstream {upstream}: the site has no base URL")]
    NoBaseUrl {
        /// The upstream.
        upstream: String,
    },
    /// The answer is not a playlist that can be rewritten.
    #[error("upstream {upstream}: not a usable playlist: {error}")]
    NotPlaylist {
        /// The upstream.
        upstream: String,
        /// Why it is refused.
        error: PlaylistError,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_fault_unless_the_error_names_one() {
        let cases = [
            (ServeError::MethodNotAllowed, Fault::Client, 405),
            (ServeError::AbsoluteForm, Fault::Client, 400),
            (BadTarget::DotSegment.into(), Fault::Client, 400),
            (ServeError::NoSite, Fault::Upstream, 503),
            (ServeError::NoPathway, Fault::Upstream, 503),
            (ServeError::NotServed, Fault::Client, 404),
            (ServeError::NoSuchPlaylist, Fault::Client, 404),
            (
                ServeError::BadGateway { failures: vec![] },
                Fault::Upstream,
                502,
            ),
            (ServeError::Internal { what: "x" }, Fault::Ours, 500),
            (ServeError::AdminDisabled, Fault::Client, 403),
            (ServeError::Unauthorized, Fault::Client, 401),
            (ServeError::NoAdminEndpoint, Fault::Client, 404),
            (ServeError::NotSiteAction, Fault::Client, 404),
            (
                ServeError::NoSuchSite { name: "x".into() },
                Fault::Client,
                404,
            ),
            (
                ServeError::UnknownAction { action: "x".into() },
                Fault::Client,
                404,
            ),
        ];
        for (e, fault, status) in cases {
            assert_eq!((e.fault(), e.status().as_u16()), (fault, status), "{e}");
        }
    }

    #[test]
    fn a_bad_gateway_names_every_upstream_in_order() {
        let e = ServeError::BadGateway {
            failures: vec![
                UpstreamError::Fetch {
                    upstream: "site \"a\" (http://a/x.m3u8)".into(),
                    error: FetchError::Timeout {
                        limit: std::time::Duration::from_millis(500),
                    },
                },
                UpstreamError::Status {
                    upstream: "site \"b\" (http://b/x.m3u8)".into(),
                    status: 503,
                },
            ],
        };
        assert_eq!(
            e.to_string(),
            "bad gateway: upstream site \"a\" (http://a/x.m3u8): no answer within 500 ms; \
             upstream site \"b\" (http://b/x.m3u8): answered 503"
        );
    }
}
