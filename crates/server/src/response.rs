//! Answers as the client receives them: plain text and JSON, redirects,
//! playlists and refusals, all with `Cache-Control: no-store` (each is one
//! client's decision and must not be cached), and the decision as JSON.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

use crate::error::ServeError;

/// The body of every answer: whole, in memory.
pub type Body = Full<Bytes>;

/// `body` and a newline as `text/plain`.
pub(crate) fn text(status: StatusCode, body: &str) -> Response<Body> {
    let mut text = String::with_capacity(body.len() + 1);
    text.push_str(body);
    text.push('\n');
    with_type(status, text.into(), "text/plain; charset=utf-8")
}

/// `value` serialized and a newline as `application/json`.
pub(crate) fn json(status: StatusCode, value: &impl serde::Serialize) -> Response<Body> {
    match serde_json::to_vec(value) {
        Ok(mut body) => {
            body.push(b'\n');
            with_type(status, body.into(), "application/json")
        }
        Err(_) => refusal(&ServeError::Internal {
            what: "an answer cannot be written as JSON",
        }),
    }
}

/// An answer with this content type and `Cache-Control: no-store`.
fn with_type(status: StatusCode, body: Bytes, content_type: &'static str) -> Response<Body> {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    // Room for a redirect's four fields in one allocation.
    h.reserve(4);
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// `302` to `location`, naming the site in `X-Routecast-Site` (`site`:
/// its name as a header value, see [`site_header`]).
pub(crate) fn redirect(location: String, site: Option<&HeaderValue>) -> Response<Body> {
    // The base URL was validated at load time and the path checked by the
    // target guard: a valid header value. Should it not be, 500, not a panic.
    let Ok(location) = HeaderValue::from_maybe_shared(Bytes::from(location)) else {
        return refusal(&ServeError::Internal {
            what: "a Location that is not a header value",
        });
    };
    let mut r = with_type(
        StatusCode::FOUND,
        Bytes::from_static(b"\n"),
        "text/plain; charset=utf-8",
    );
    let h = r.headers_mut();
    h.insert(header::LOCATION, location);
    if let Some(site) = site {
        h.insert(X_ROUTECAST_SITE, site.clone());
    }
    r
}

/// The `X-Routecast-Site` header.
const X_ROUTECAST_SITE: header::HeaderName = header::HeaderName::from_static("x-routecast-site");

/// A site's name as an `X-Routecast-Site` value (names are checked at
/// load time; one that is not a header value is left out).
pub(crate) fn site_header(site: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(site).ok()
}

/// `200` with a rewritten playlist from `site`.
pub(crate) fn playlist(body: String, site: &str) -> Response<Body> {
    let mut r = with_type(StatusCode::OK, body.into(), "application/vnd.apple.mpegurl");
    name_site(&mut r, site);
    r
}

/// `X-Routecast-Site: <site>` (site names are checked at load time; one
/// that is not a header value is left out).
fn name_site(r: &mut Response<Body>, site: &str) {
    if let Some(v) = site_header(site) {
        r.headers_mut().insert(X_ROUTECAST_SITE, v);
    }
}

/// The answer to a refused request, as plain text.
pub(crate) fn refusal(e: &ServeError) -> Response<Body> {
    let mut r = text(e.status(), &e.to_string());
    add_refusal_headers(&mut r, e);
    r
}

/// The answer to a refused request, as `{"error": "…"}`.
pub(crate) fn json_refusal(e: &ServeError) -> Response<Body> {
    let mut r = json(e.status(), &serde_json::json!({ "error": e.to_string() }));
    add_refusal_headers(&mut r, e);
    r
}

/// The headers some refusals need: `Allow` with a 405, `WWW-Authenticate`
/// with a 401. A refusal that is our fault (a broken invariant) is written
/// to the operational log too: the client is told only "internal error".
fn add_refusal_headers(r: &mut Response<Body>, e: &ServeError) {
    if let ServeError::Internal { what } = e {
        tracing::error!(what, "internal error answered with 500");
    }
    let (name, value) = match e {
        ServeError::MethodNotAllowed => (header::ALLOW, "GET, HEAD"),
        ServeError::Unauthorized => (header::WWW_AUTHENTICATE, "Bearer"),
        _ => return,
    };
    r.headers_mut()
        .insert(name, HeaderValue::from_static(value));
}
