//! Answers as the client receives them: plain text and JSON, redirects,
//! playlists and refusals, all with `Cache-Control: no-store` (each is one
//! client's decision and must not be cached), and the decision as JSON.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

use routecast_http::{end_answer, Framing, LeanAnswer};

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

/// An answer as the request path makes it: whole, or a redirect not yet
/// made into a [`Response`]. The lean HTTP/1.1 path writes a redirect
/// straight out ([`LeanAnswer`]: building and dropping a header map was a
/// tenth of a redirect's instructions); hyper's paths take
/// [`Answer::into_response`]. Both put the same bytes on the wire (tested).
#[derive(Debug)]
pub(crate) enum Answer {
    /// A whole response.
    Whole(Response<Body>),
    /// `302`, as [`Redirect::into_response`] makes it.
    Redirect(Redirect),
}

/// A `302` to `location` (a valid header value), naming the site in
/// `X-Routecast-Site`, with a one-line body.
#[derive(Debug)]
pub(crate) struct Redirect {
    location: String,
    site: Option<HeaderValue>,
}

/// A redirect's body.
const REDIRECT_BODY: &[u8] = b"\n";

impl Redirect {
    /// The response: `content-type`, `cache-control`, `location`,
    /// `x-routecast-site`, in that order (hyper writes a header map's
    /// fields in the order they were inserted).
    fn into_response(self) -> Response<Body> {
        let mut r = with_type(
            StatusCode::FOUND,
            Bytes::from_static(REDIRECT_BODY),
            "text/plain; charset=utf-8",
        );
        let h = r.headers_mut();
        // Checked by `redirect`: a valid header value.
        match HeaderValue::from_maybe_shared(Bytes::from(self.location)) {
            Ok(location) => h.insert(header::LOCATION, location),
            Err(_) => {
                return refusal(&ServeError::Internal {
                    what: "a Location that is not a header value",
                })
            }
        };
        if let Some(site) = self.site {
            h.insert(X_ROUTECAST_SITE, site);
        }
        r
    }
}

impl Answer {
    /// The status the client gets.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Answer::Whole(r) => r.status(),
            Answer::Redirect(_) => StatusCode::FOUND,
        }
    }

    /// Where the answer sends the client (its `Location`), if anywhere.
    pub(crate) fn location(&self) -> Option<&str> {
        match self {
            Answer::Whole(r) => r.headers().get(header::LOCATION)?.to_str().ok(),
            // As `HeaderValue::to_str`: visible ASCII only.
            Answer::Redirect(r) => {
                let visible = r
                    .location
                    .bytes()
                    .all(|b| b == b'\t' || (32..127).contains(&b));
                visible.then_some(r.location.as_str())
            }
        }
    }

    /// The answer as a response.
    pub(crate) fn into_response(self) -> Response<Body> {
        match self {
            Answer::Whole(r) => r,
            Answer::Redirect(r) => r.into_response(),
        }
    }
}

impl From<Response<Body>> for Answer {
    fn from(r: Response<Body>) -> Self {
        Answer::Whole(r)
    }
}

impl LeanAnswer for Answer {
    fn write(self, out: &mut Vec<u8>, head: bool, close: bool) {
        let r = match self {
            Answer::Whole(r) => return r.write(out, head, close),
            Answer::Redirect(r) => r,
        };
        out.extend_from_slice(
            b"HTTP/1.1 302 Found\r\ncontent-type: text/plain; charset=utf-8\r\n\
              cache-control: no-store\r\nlocation: ",
        );
        out.extend_from_slice(r.location.as_bytes());
        out.extend_from_slice(b"\r\n");
        if let Some(site) = &r.site {
            out.extend_from_slice(b"x-routecast-site: ");
            out.extend_from_slice(site.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        let none = Framing::default();
        end_answer(out, StatusCode::FOUND, none, REDIRECT_BODY, head, close);
    }
}

/// `302` to `location`, naming the site in `X-Routecast-Site` (`site`:
/// its name as a header value, see [`site_header`]).
pub(crate) fn redirect(location: String, site: Option<&HeaderValue>) -> Answer {
    // The base URL was validated at load time and the path checked by the
    // target guard: a valid header value (the bytes `http` allows). Should
    // it not be, 500, not a panic.
    // Folded without an early exit, so that it vectorises.
    let invalid = |b: u8| (b < 32 && b != b'\t') | (b == 127);
    if location.bytes().fold(false, |bad, b| bad | invalid(b)) {
        return Answer::Whole(refusal(&ServeError::Internal {
            what: "a Location that is not a header value",
        }));
    }
    Answer::Redirect(Redirect {
        location,
        site: site.cloned(),
    })
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use routecast_http::LeanAnswer;

    use routecast_http::lean_fuzzing::dateless;

    use super::{redirect, site_header, Answer};

    /// A redirect written straight out and the same redirect as a
    /// response (which the lean path writes as hyper does: its property
    /// test) are the same bytes.
    fn same(
        location: &str,
        site: Option<&str>,
        head: bool,
        close: bool,
    ) -> Result<(), TestCaseError> {
        let site = site.and_then(site_header);
        let made = || redirect(location.to_string(), site.as_ref());
        let mut direct = Vec::new();
        made().write(&mut direct, head, close);
        let mut whole = Vec::new();
        Answer::Whole(made().into_response()).write(&mut whole, head, close);
        prop_assert_eq!(dateless(&direct), dateless(&whole));
        Ok(())
    }

    #[test]
    fn a_redirect_written_straight_out_is_the_response_hyper_would_write() {
        for (location, site) in [
            (
                "https://lon.cdn.example.net/live/ch1/720p/seg1.ts",
                Some("lon"),
            ),
            ("http://[2001:db8::1]:8080/a?b=c&d", None),
            ("https://x/\tobs-text-\u{e9}", Some("fra")),
            ("https://x/bad\u{7f}", Some("lon")),
            ("https://x/bad\r\n", None),
        ] {
            for (head, close) in [(false, false), (true, false), (false, true), (true, true)] {
                same(location, site, head, close).expect("the same bytes");
            }
        }
        let mut out = Vec::new();
        redirect("https://x/bad\u{7f}".into(), None).write(&mut out, false, false);
        assert!(out.starts_with(b"HTTP/1.1 500 "), "{}", dateless(&out));
    }

    proptest! {
        #[test]
        fn any_redirect_is_written_as_its_response(
            location in "[ -~\t\u{80}-\u{ff}\u{0}-\u{1f}\u{7f}]{0,80}",
            site in proptest::option::of("[a-z0-9-]{1,12}"),
            head: bool,
            close: bool,
        ) {
            same(&location, site.as_deref(), head, close)?;
            let invalid = location.bytes().any(|b| (b < 32 && b != b'\t') || b == 127);
            let mut out = Vec::new();
            redirect(location.clone(), None).write(&mut out, head, close);
            prop_assert_eq!(out.starts_with(b"HTTP/1.1 500 "), invalid);
        }
    }
}
