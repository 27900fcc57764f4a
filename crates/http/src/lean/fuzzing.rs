//! The lean path against hyper, for the property test and the fuzz target
//! (`fuzz/fuzz_targets/lean_http1.rs`): the same bytes to a connection
//! served on the lean path and to one served by hyper alone, in memory, on
//! paused time (a timeout passes as soon as both sides wait), and what
//! each wrote back, its `date` values blanked. Not a stable interface.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderName, HeaderValue};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tokio::time::Instant;

use super::{serve_lean, Lean, LeanRequest};
use crate::serve::{builder, serve_io, ConnLimits};

/// What both servers answer: the request as they saw it (method, target,
/// version, every field in the header map's order), with a status and
/// fields chosen by the path.
pub fn echo<B>(req: &Request<B>) -> Response<Full<Bytes>> {
    let mut text = format!("{} {} {:?}\n", req.method(), req.uri(), req.version());
    for (name, value) in req.headers() {
        let value = String::from_utf8_lossy(value.as_bytes());
        text.push_str(&format!("{name}: {value}\n"));
    }
    let mut r = Response::new(Full::new(Bytes::from(text)));
    match req.uri().path() {
        "/missing" => *r.status_mut() = StatusCode::NOT_FOUND,
        "/empty" => *r.body_mut() = Full::new(Bytes::new()),
        "/moved" => {
            *r.status_mut() = StatusCode::FOUND;
            r.headers_mut()
                .insert("location", HeaderValue::from_static("https://a.example/x"));
        }
        _ => {}
    }
    r.headers_mut()
        .append("x-seen", HeaderValue::from(req.headers().len()));
    r
}

/// The request hyper would have built from the same head.
pub fn as_request(lean: &LeanRequest<'_>) -> Request<()> {
    let mut req = Request::new(());
    *req.method_mut() = lean.method().clone();
    *req.uri_mut() = lean.uri().clone();
    for (name, value) in lean.fields() {
        // httparse read them: both are valid (see `request`).
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
            req.headers_mut().append(n, v);
        }
    }
    req
}

/// The limits of both servers.
pub fn limits() -> ConnLimits {
    ConnLimits {
        header_timeout: Duration::from_millis(800),
        ..ConnLimits::default()
    }
}

/// Writes `chunks` to one end of an in-memory connection whose other end
/// is served (`lean` or hyper alone), and reads until it closes; `date`
/// values blanked.
async fn exchange(lean: bool, chunks: &[Vec<u8>]) -> String {
    let (mut client, server) = tokio::io::duplex(64 * 1024);
    let builders = builder(&limits());
    let graceful = GracefulShutdown::new();
    let watcher = graceful.watcher();
    let (_closing, closing) = watch::channel(false);
    let svc =
        service_fn(
            |req: Request<hyper::body::Incoming>| async move { Ok::<_, Infallible>(echo(&req)) },
        );
    let served = tokio::spawn(async move {
        let started = Instant::now();
        if lean {
            let answer = |l: &LeanRequest<'_>| {
                let req = as_request(l);
                async move { echo(&req) }
            };
            let lean = Lean { answer, closing };
            let both = (&builders.any, &builders.h1);
            let _ = serve_lean(server, both, &builders.limits, started, svc, watcher, lean).await;
        } else {
            let io = TokioIo::new(server);
            let _ = serve_io::<_, _, Full<Bytes>>(
                io,
                &builders.any,
                &builders.limits,
                started,
                svc,
                watcher,
            )
            .await;
        }
    });
    let mut got = Vec::new();
    let talk = async {
        for c in chunks {
            if client.write_all(c).await.is_err() {
                break;
            }
            tokio::task::yield_now().await;
        }
        let _ = client.read_to_end(&mut got).await;
    };
    let _ = tokio::time::timeout(Duration::from_secs(600), talk).await;
    drop(client);
    let _ = served.await;
    dateless(&got)
}

/// HTTP/1.1 answers as text, each `date` field's value blanked (it is the
/// clock's, not the server's doing).
pub fn dateless(answers: &[u8]) -> String {
    let text = String::from_utf8_lossy(answers).into_owned();
    let lines: Vec<&str> = (text.split("\r\n"))
        .map(|l| {
            if l.starts_with("date: ") {
                "date: -"
            } else {
                l
            }
        })
        .collect();
    lines.join("\r\n")
}

/// What the lean path and hyper alone answer to `chunks` (written one
/// after the other). Run it on a runtime of paused time (tokio's
/// `start_paused`): a connection left waiting then times out at once.
pub async fn lean_and_hyper(chunks: &[Vec<u8>]) -> (String, String) {
    (exchange(true, chunks).await, exchange(false, chunks).await)
}
