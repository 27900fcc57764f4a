//! Answering one request: the live playlist with its delivery directives,
//! files of the directory, hinted media held until published.

use std::path::Path;
use std::time::Duration;

use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use tokio::sync::watch;

use super::response::{playlist, preflight, reply, text, unavailable, Body, Cache, METHODS};
use super::routes::{Routes, Stream};
use super::{files, reload, Published, PLAYLIST_TYPE};
use crate::segmenter::LIVE_PLAYLIST;

/// The bytes of `name` if `p` holds it in memory.
fn pending(p: &Published, name: &str) -> Option<Bytes> {
    p.pending_media
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, bytes)| bytes.clone())
}

/// Why a held request was let go without what it waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stalled {
    /// Three target durations passed.
    TimedOut,
    /// The origin is shutting down.
    ShuttingDown,
    /// The segmenter dropped its sender: nothing more will be published.
    ProducerGone,
}

/// Everything a request needs.
pub(crate) struct Origin {
    pub(crate) routes: Routes,
    pub(crate) closing: watch::Receiver<bool>,
    pub(crate) segment_max_age: u64,
}

impl Origin {
    /// The answer to `req`.
    pub(crate) async fn respond(&self, req: &Request<Incoming>) -> Response<Body> {
        match *req.method() {
            Method::GET | Method::HEAD => {}
            Method::OPTIONS => return preflight(),
            _ => {
                let mut r = text(
                    StatusCode::METHOD_NOT_ALLOWED,
                    Cache::NoStore,
                    "method not allowed",
                );
                r.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static(METHODS));
                return r;
            }
        }
        if !host_as_required(req) {
            return text(
                StatusCode::BAD_REQUEST,
                Cache::NoStore,
                "bad request: exactly one Host header is required",
            );
        }
        // Allocates only for a path with a percent sign.
        let path = files::decode_unreserved(req.uri().path());
        let (stream, name) = self.routes.route(&path);
        let name = match name {
            Ok(name) => name,
            Err(files::BadPath::Suspicious) => {
                return text(
                    StatusCode::BAD_REQUEST,
                    Cache::NoStore,
                    "bad path: plain file names only",
                )
            }
            Err(files::BadPath::NotFound) => return not_found(stream),
        };
        if stream.live && name == LIVE_PLAYLIST {
            return self.live_playlist(stream, req.uri().query()).await;
        }
        let range = req
            .headers()
            .get(header::RANGE)
            .and_then(|v| v.to_str().ok());
        self.file(stream, name, range).await
    }

    /// `index.m3u8`: the published playlist, held per the delivery
    /// directives (module rules).
    async fn live_playlist(&self, stream: &Stream, query: Option<&str>) -> Response<Body> {
        let mut state = stream.state.clone();
        let (decision, target) = {
            let p = state.borrow_and_update();
            if p.playlist.is_empty() {
                return text(
                    StatusCode::NOT_FOUND,
                    Cache::NoStore,
                    "no playlist published yet",
                );
            }
            (reload::decide(query, &p), p.target_duration)
        };
        match decision {
            reload::Reload::Now { skip, blocking } => playlist(&state.borrow(), skip, blocking),
            reload::Reload::Refuse(why) => {
                text(StatusCode::BAD_REQUEST, Cache::NoStore, &why.to_string())
            }
            reload::Reload::Hold(d) => {
                match self
                    .hold(&mut state, target, |p| reload::satisfied(&d, p))
                    .await
                {
                    Ok(()) => {
                        let p = state.borrow();
                        playlist(&p, d.skip && !p.ended, true)
                    }
                    Err(why) => unavailable(
                        why,
                        "the playlist did not reach the requested segment or part in time",
                    ),
                }
            }
        }
    }

    /// A file of the directory, or media still in memory; a hinted part or
    /// segment not published yet is waited for (module rules).
    async fn file(&self, stream: &Stream, name: &str, range: Option<&str>) -> Response<Body> {
        let path = stream.dir.join(name);
        if let Some(media) = files::media(name).filter(|_| stream.live) {
            let mut state = stream.state.clone();
            // The segmenter publishes what it made (with the media its disk
            // has not written yet), and `hold` reads (and marks seen) the
            // state before each wait, so no publication is missed.
            let (upcoming, target, held) = {
                let p = state.borrow_and_update();
                (
                    files::upcoming(media, &p),
                    p.target_duration,
                    pending(&p, name),
                )
            };
            if let Some(bytes) = held {
                return self.send_bytes(stream, name, bytes, range);
            }
            if upcoming && tokio::fs::symlink_metadata(&path).await.is_err() {
                let held = self
                    .hold(&mut state, target, |p| !files::upcoming(media, p))
                    .await;
                if let Err(why @ (Stalled::TimedOut | Stalled::ShuttingDown)) = held {
                    return unavailable(
                        why,
                        "the hinted part or segment was not published in time",
                    );
                }
                if let Some(bytes) = pending(&state.borrow(), name) {
                    return self.send_bytes(stream, name, bytes, range);
                }
            }
        }
        self.send_file(stream, &path, name, range).await
    }

    async fn send_file(
        &self,
        stream: &Stream,
        path: &Path,
        name: &str,
        range: Option<&str>,
    ) -> Response<Body> {
        // A regular file only: no directories, no symbolic links out.
        let regular = tokio::fs::symlink_metadata(path)
            .await
            .is_ok_and(|m| m.file_type().is_file());
        let bytes = match regular {
            true => tokio::fs::read(path).await.ok(),
            false => None,
        };
        match bytes {
            Some(bytes) => self.send_bytes(stream, name, Bytes::from(bytes), range),
            None => not_found(stream),
        }
    }

    /// `bytes`, the content of `name`, whole or the range asked for.
    fn send_bytes(
        &self,
        stream: &Stream,
        name: &str,
        bytes: Bytes,
        range: Option<&str>,
    ) -> Response<Body> {
        let content_type = files::content_type(name);
        let cache = if content_type == PLAYLIST_TYPE {
            Cache::Seconds(u64::from(stream.state.borrow().target_duration / 2))
        } else if name.ends_with(".key") {
            // An AES-128 key (`--encrypt`): no shared cache keeps a copy.
            Cache::NoStore
        } else {
            Cache::Immutable(self.segment_max_age)
        };
        let len = bytes.len() as u64;
        let mut r = match files::range(range, len) {
            files::Range::Whole => reply(StatusCode::OK, content_type, cache, bytes),
            files::Range::Bytes { start, end } => {
                let mut r = reply(
                    StatusCode::PARTIAL_CONTENT,
                    content_type,
                    cache,
                    // In bounds: `range` keeps start < end <= len.
                    bytes.slice(start as usize..end as usize),
                );
                if let Ok(v) = format!("bytes {start}-{}/{len}", end - 1).parse() {
                    r.headers_mut().insert(header::CONTENT_RANGE, v);
                }
                r
            }
            files::Range::Unsatisfiable => {
                let mut r = text(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    Cache::NoStore,
                    "range not satisfiable",
                );
                if let Ok(v) = format!("bytes */{len}").parse() {
                    r.headers_mut().insert(header::CONTENT_RANGE, v);
                }
                r
            }
        };
        r.headers_mut()
            .insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        r
    }

    /// Waits, without polling, until `ready` holds for the published state;
    /// gives up after three target durations, at shutdown, or when the
    /// segmenter is gone.
    async fn hold(
        &self,
        state: &mut watch::Receiver<Published>,
        target_duration: u32,
        ready: impl Fn(&Published) -> bool,
    ) -> Result<(), Stalled> {
        let limit = Duration::from_secs(3 * u64::from(target_duration.max(1)));
        let wait = async {
            loop {
                if ready(&state.borrow_and_update()) {
                    return Ok(());
                }
                if state.changed().await.is_err() {
                    return Err(Stalled::ProducerGone);
                }
            }
        };
        let mut closing = self.closing.clone();
        tokio::select! {
            done = tokio::time::timeout(limit, wait) => done.unwrap_or(Err(Stalled::TimedOut)),
            // A closed channel also means the server is gone.
            _ = closing.wait_for(|c| *c) => Err(Stalled::ShuttingDown),
        }
    }
}

/// Whether `req` has the `Host` header HTTP requires: exactly one in
/// HTTP/1.1 (RFC 9112 §3.2: a server MUST answer 400 to a request without
/// one, or with several), at most one before. HTTP/2 names the host in
/// `:authority` (RFC 9113 §8.3.1), which hyper puts in the URI: one of
/// the two, and at most one `Host`.
fn host_as_required(req: &Request<Incoming>) -> bool {
    let hosts = req.headers().get_all(header::HOST).iter().count();
    match req.version() {
        hyper::Version::HTTP_09 | hyper::Version::HTTP_10 => hosts <= 1,
        hyper::Version::HTTP_2 => hosts <= 1 && (hosts == 1 || req.uri().authority().is_some()),
        _ => hosts == 1,
    }
}

/// 404, cached for one target duration of `stream` (Appendix B.1).
fn not_found(stream: &Stream) -> Response<Body> {
    let target = u64::from(stream.state.borrow().target_duration);
    let cache = match target {
        0 => Cache::NoStore,
        t => Cache::Seconds(t),
    };
    text(StatusCode::NOT_FOUND, cache, "not found")
}
