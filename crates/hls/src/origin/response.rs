//! Building responses: the headers every answer carries (CORS, caching)
//! and the few bodies the origin makes itself.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

use super::handle::Stalled;
use super::{Published, PLAYLIST_TYPE};

/// The methods served (`Allow`, `Access-Control-Allow-Methods`).
pub(crate) const METHODS: &str = "GET, HEAD, OPTIONS";

/// Every response body: whole, in memory.
pub(crate) type Body = Full<Bytes>;

/// How long a response may be cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cache {
    /// `no-store`.
    NoStore,
    /// `max-age=N`.
    Seconds(u64),
    /// `max-age=N, immutable`.
    Immutable(u64),
}

impl Cache {
    fn header(self) -> HeaderValue {
        let text = match self {
            Cache::NoStore => return HeaderValue::from_static("no-store"),
            Cache::Seconds(s) => format!("max-age={s}"),
            Cache::Immutable(s) => format!("max-age={s}, immutable"),
        };
        // Letters, digits, `=`, `,` and spaces: always a valid value.
        HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("no-store"))
    }
}

/// A response with the headers every answer carries.
pub(crate) fn reply(
    status: StatusCode,
    content_type: &'static str,
    cache: Cache,
    body: Bytes,
) -> Response<Body> {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, cache.header());
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Age, Content-Range"),
    );
    r
}

/// A short plain-text answer (errors).
pub(crate) fn text(status: StatusCode, cache: Cache, message: &str) -> Response<Body> {
    reply(
        status,
        "text/plain; charset=utf-8",
        cache,
        Bytes::from(format!("{message}\n")),
    )
}

/// The live playlist (or its delta update) from `p`.
pub(crate) fn playlist(p: &Published, skip: bool, blocking: bool) -> Response<Body> {
    let text = match (&p.delta, skip) {
        (Some(delta), true) => delta,
        _ => &p.playlist,
    };
    let target = u64::from(p.target_duration);
    let cache = Cache::Seconds(if blocking { 6 * target } else { target / 2 });
    reply(
        StatusCode::OK,
        PLAYLIST_TYPE,
        cache,
        Bytes::copy_from_slice(text.as_bytes()),
    )
}

/// 503 for a held request let go (`timed_out` says what it waited for).
pub(crate) fn unavailable(why: Stalled, timed_out: &str) -> Response<Body> {
    let message = match why {
        Stalled::TimedOut => timed_out,
        Stalled::ShuttingDown => "shutting down",
        Stalled::ProducerGone => "the segmenter stopped",
    };
    text(StatusCode::SERVICE_UNAVAILABLE, Cache::NoStore, message)
}

/// A CORS preflight: any origin may `GET` and `HEAD`, with `Range`.
pub(crate) fn preflight() -> Response<Body> {
    let mut r = reply(
        StatusCode::NO_CONTENT,
        "text/plain; charset=utf-8",
        Cache::NoStore,
        Bytes::new(),
    );
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(METHODS),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Range"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    r
}
