//! The lean HTTP/1.1 path: the requests a redirector lives on — HTTP/1.1,
//! no body, no upgrade, no `Expect` — read with `httparse` and answered
//! straight into one write, without hyper's connection machinery (its
//! dispatcher, buffers, per-request timers and encoder were a third of the
//! redirector's own CPU per redirect against nginx; issue 16, point 4).
//!
//! Written by hand because no crate serves HTTP/1.1 this way; it parses
//! nothing itself: `httparse` reads the head (as it does inside hyper) and
//! `http` checks the method, target and header values.
//!
//! # Rules
//! * **Anything else goes to hyper, unchanged.** A head that `httparse`
//!   refuses or that does not fit, HTTP/1.0, `CONNECT`, a request with a
//!   body (`Content-Length`, `Transfer-Encoding`), `Expect`, `Upgrade`, an
//!   HTTP/2 preface: the connection from that request on, with every byte
//!   already read, is served by hyper exactly as before — its answers and
//!   errors (400, 414, 431) are hyper's own.
//! * **The same answer as hyper's**: status line, the response's headers,
//!   `content-length` (no body for `HEAD`, 1xx, 204, 304), `date`, and
//!   `connection: close` when the request asked to close; pipelined
//!   requests answered in order, all that are whole written at once (up
//!   to 64 KiB of answers per write).
//! * **The same limits as hyper's**: the first request within the header
//!   timeout of the connection's start, each later head within the header
//!   timeout of the previous answers' write (an idle keep-alive connection
//!   closes then), a head of at most the header bytes (8 KiB at least, as
//!   hyper's buffer); an answer that cannot be written within
//!   [`IDLE_TIMEOUT`], or a close not done within the header timeout, ends
//!   the connection. hyper
//!   refuses a head over the limit only when its buffer fills first, so a
//!   head a little over it could pass when it came in one read; here it
//!   is refused however it comes (hyper's 431).
//! * **Shutdown**: an idle connection closes at once; one answering
//!   finishes that answer with `connection: close`.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use http_body_util::Full;
use hyper::body::{Body, Incoming};
use hyper::header::{self, HeaderName};
use hyper::service::Service;
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::Watcher;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::serve::{serve_io, ConnEnd, ConnLimits, IDLE_TIMEOUT};

/// The lean path's answerer and shutdown signal.
#[derive(Debug)]
pub struct Lean<L> {
    /// Answers a request that has no body (see the module text).
    pub answer: L,
    /// Becomes `true` when the server shuts down (a dropped sender too).
    pub closing: watch::Receiver<bool>,
}

/// A bodiless HTTP/1.1 request on the lean path: its method, its target
/// (checked by `http` as hyper checks it) and its header fields as sent,
/// borrowed from the read buffer — no header map is built.
#[derive(Debug)]
pub struct LeanRequest<'a> {
    method: Method,
    uri: Uri,
    head: &'a [u8],
    fields: &'a [Field],
}

/// A header field's name and value, as offsets into the head.
type Field = ((usize, usize), (usize, usize));

impl LeanRequest<'_> {
    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The request target.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// Every field, in order: its name as sent (any case) and its value.
    pub fn fields(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.fields
            .iter()
            .map(|&((ns, ne), (vs, ve))| (&self.head[ns..ne], &self.head[vs..ve]))
    }

    /// The values of every field named `name`, in order.
    pub fn values<'s>(&'s self, name: &'s HeaderName) -> impl Iterator<Item = &'s [u8]> + 's {
        let name = name.as_str().as_bytes();
        self.fields()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

/// hyper's limit on a request target; longer ones are its 414.
const MAX_URI_LEN: usize = (u16::MAX - 1) as usize;

/// `http`'s limit on a header name's length.
const MAX_NAME_LEN: usize = (1 << 16) - 1;

/// Header fields parsed on the stack (hyper's default limit).
const STACK_HEADERS: usize = 100;

/// Answers held for one write at most: pipelined requests beyond it are
/// answered in more writes (memory per connection stays bounded).
const MAX_PENDING_OUT: usize = 64 * 1024;

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 8 * 1024;

/// What the head at the start of the buffer is.
enum Head {
    /// Not whole yet.
    Partial,
    /// Not for the lean path: hyper serves it.
    Hyper,
    /// A request the lean path answers, `len` bytes of head.
    Lean(Simple),
}

/// A lean request's parsed head, as offsets into the buffer.
struct Simple {
    len: usize,
    method: Method,
    target: (usize, usize),
    close: bool,
}

/// The HTTP/2 connection preface (RFC 9113 §3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Reads the head at the start of `buf` (see [`Head`]); a lean request's
/// fields go to `headers` (emptied first).
fn parse(buf: &[u8], max_headers: usize, max_head: usize, headers: &mut Vec<Field>) -> Head {
    // Uninitialised, as hyper does: filling 100 fields first cost more
    // than parsing a redirect's head.
    let mut stack = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; STACK_HEADERS];
    let mut heap;
    let fields: &mut [MaybeUninit<httparse::Header<'_>>] = if max_headers == STACK_HEADERS {
        &mut stack
    } else {
        heap = vec![MaybeUninit::uninit(); max_headers];
        &mut heap
    };
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(buf, fields) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Head::Partial,
        // httparse refuses `PRI * HTTP/2` before the preface is whole;
        // hyper closes silently on a whole preface but answers 400 to a
        // part of one: wait for all of it, as hyper reading it would.
        Err(_) if buf.len() < H2_PREFACE.len() && H2_PREFACE.starts_with(buf) => {
            return Head::Partial
        }
        Err(_) => return Head::Hyper,
    };
    let (Some(method), Some(target), Some(1)) = (req.method, req.path, req.version) else {
        return Head::Hyper;
    };
    if len > max_head || target.len() > MAX_URI_LEN {
        return Head::Hyper;
    }
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return Head::Hyper;
    };
    if method == Method::CONNECT {
        return Head::Hyper;
    }
    // httparse's slices are within `buf`; should one not be, hyper serves
    // the request rather than a wrong offset being taken.
    let base = buf.as_ptr() as usize;
    let offset = |s: &[u8]| {
        if s.is_empty() {
            return Some((0, 0));
        }
        let start = (s.as_ptr() as usize).checked_sub(base)?;
        let end = start.checked_add(s.len())?;
        (end <= len).then_some((start, end))
    };
    let mut close = false;
    headers.clear();
    for h in req.headers.iter() {
        let name = h.name.as_bytes();
        // By length first: most fields are none of these.
        let is = |n: &[u8]| name.len() == n.len() && name.eq_ignore_ascii_case(n);
        let body_or_upgrade = match name.len() {
            14 => is(b"content-length"),
            17 => is(b"transfer-encoding"),
            6 => is(b"expect"),
            7 => is(b"upgrade"),
            _ => false,
        };
        if body_or_upgrade {
            return Head::Hyper;
        }
        if is(b"connection") {
            // As hyper: a value that is not visible ASCII is not read.
            let visible = h
                .value
                .iter()
                .all(|&b| (32..127).contains(&b) || b == b'\t');
            close |= visible
                && std::str::from_utf8(h.value)
                    .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")));
        }
        let (Some(n), Some(v)) = (offset(name), offset(h.value)) else {
            return Head::Hyper;
        };
        headers.push((n, v));
    }
    Head::Lean(Simple {
        len,
        method,
        target: match offset(target.as_bytes()) {
            Some(t) => t,
            None => return Head::Hyper,
        },
        close,
    })
}

/// The request `simple` describes, its bytes in `head`; `None` when
/// `http` refuses its target or a field (hyper then serves it).
fn request<'a>(simple: &Simple, head: &'a Bytes, fields: &'a [Field]) -> Option<LeanRequest<'a>> {
    let (s, e) = simple.target;
    let uri = Uri::from_maybe_shared(head.slice(s..e)).ok()?;
    // httparse allows exactly the bytes `http` allows in names (tokens)
    // and values (visible ASCII, obs-text, tab): hyper itself builds its
    // header map from them unchecked. `http` alone limits a name's length.
    let valid = fields.iter().all(|&((ns, ne), _)| ne - ns <= MAX_NAME_LEN);
    valid.then(|| LeanRequest {
        method: simple.method.clone(),
        uri,
        head,
        fields,
    })
}

thread_local! {
    /// This thread's `Date` value and the second it is for.
    static DATE: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// Appends the current `date: …` line (RFC 9110 §6.6.1), formatted once
/// per second per thread.
fn date_line(out: &mut Vec<u8>) {
    let now = SystemTime::now();
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    DATE.with(|d| {
        let mut d = d.borrow_mut();
        if d.0 != secs {
            *d = (secs, httpdate::fmt_http_date(now));
        }
        out.extend_from_slice(b"date: ");
        out.extend_from_slice(d.1.as_bytes());
        out.extend_from_slice(b"\r\n");
    });
}

/// The whole body of `body`: a `Full` gives its one frame at once (polled
/// without a waker to wake: it is never pending).
fn whole(mut body: Full<Bytes>) -> Bytes {
    let mut cx = Context::from_waker(std::task::Waker::noop());
    let mut all = Bytes::new();
    loop {
        let frame = match Pin::new(&mut body).poll_frame(&mut cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            Poll::Ready(None) => break,
            // A `Full` never waits and never fails.
            Poll::Pending => {
                debug_assert!(false, "a Full body that is not ready");
                break;
            }
        };
        if let Ok(data) = frame.into_data() {
            all = if all.is_empty() {
                data
            } else {
                [&all[..], &data[..]].concat().into()
            };
        }
    }
    all
}

/// An answer the lean path writes: appended to the connection's output as
/// HTTP/1.1, byte for byte as hyper would write the same response.
pub trait LeanAnswer {
    /// Appends the answer to `out`; `head`: the request was `HEAD` (no
    /// body); `close`: the connection closes after it.
    fn write(self, out: &mut Vec<u8>, head: bool, close: bool);
}

impl LeanAnswer for Response<Full<Bytes>> {
    fn write(self, out: &mut Vec<u8>, head: bool, close: bool) {
        let (parts, body) = self.into_parts();
        let body = whole(body);
        let h = &parts.headers;
        let status = parts.status;
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(status.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(status.canonical_reason().unwrap_or("<none>").as_bytes());
        out.extend_from_slice(b"\r\n");
        for (name, value) in h {
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        let framing = Framing {
            connection: h.contains_key(header::CONNECTION),
            content_length: h.contains_key(header::CONTENT_LENGTH),
            date: h.contains_key(header::DATE),
        };
        end_answer(out, status, framing, &body, head, close);
    }
}

/// Which of hyper's framing fields a response already has.
#[derive(Debug, Clone, Copy, Default)]
pub struct Framing {
    /// It has `connection`.
    pub connection: bool,
    /// It has `content-length`.
    pub content_length: bool,
    /// It has `date`.
    pub date: bool,
}

/// Ends an answer whose status line and fields are in `out` as hyper
/// does: `connection: close` when closing (unless the response has a
/// `connection` field), `content-length` (none for 1xx, 204 and 304, none
/// for an empty answer to `HEAD`), `date`, the blank line, and the body
/// (left out for `HEAD`) — each framing field only if the response lacks it.
pub fn end_answer(
    out: &mut Vec<u8>,
    status: StatusCode,
    has: Framing,
    body: &[u8],
    head: bool,
    close: bool,
) {
    if close && !has.connection {
        out.extend_from_slice(b"connection: close\r\n");
    }
    let bodiless = status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let implicit_zero = head && body.is_empty();
    if !bodiless && !implicit_zero && !has.content_length {
        out.extend_from_slice(b"content-length: ");
        out.extend_from_slice(itoa::Buffer::new().format(body.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !has.date {
        date_line(out);
    }
    out.extend_from_slice(b"\r\n");
    if !head && !bodiless {
        out.extend_from_slice(body);
    }
}

/// Writes `out` (and flushes: TLS buffers) within [`IDLE_TIMEOUT`].
async fn send<IO: AsyncWrite + Unpin>(io: &mut IO, out: &mut Vec<u8>) -> Result<(), ConnEnd> {
    let write = async {
        io.write_all(out).await?;
        io.flush().await
    };
    match tokio::time::timeout(IDLE_TIMEOUT, write).await {
        Ok(Ok(())) => {
            out.clear();
            Ok(())
        }
        Ok(Err(e)) => Err(ConnEnd::Http(Box::new(e))),
        Err(_) => Err(ConnEnd::Idle),
    }
}

/// Serves `io` on the lean path until it closes, idles or hands over to
/// hyper with what is left in the buffer: `first` before any answer (on
/// plain TCP the builder that also takes HTTP/2's preface), `later` after
/// one (HTTP/1.1 only, as hyper alone would be by then).
#[allow(clippy::too_many_arguments)] // the connection's parts, passed once
pub(crate) async fn serve_lean<IO, S, B, L, F>(
    mut io: IO,
    (first, later): (&auto::Builder<TokioExecutor>, &auto::Builder<TokioExecutor>),
    limits: &ConnLimits,
    started: Instant,
    service: S,
    watcher: Watcher,
    lean: Lean<L>,
) -> Result<(), ConnEnd>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    L: Fn(&LeanRequest<'_>) -> F,
    F: Future<Output: LeanAnswer>,
{
    let max_headers = limits.max_headers.unwrap_or(STACK_HEADERS);
    // hyper's read buffer limit, the largest head it reads.
    let max_head = limits.max_header_bytes.max(8192);
    let Lean { answer, closing } = lean;
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut out = Vec::with_capacity(512);
    // The fields of the request being answered, reused.
    let mut fields = Vec::new();
    // As hyper: the first head is due within the header timeout of the
    // connection's start, each later one within the header timeout of the
    // last answers' write (an idle keep-alive connection closes then). The
    // timer is moved forward lazily: one that fires early is set again.
    let mut waiting_since = started;
    let mut answered = false;
    let timer = tokio::time::sleep_until(started + limits.header_timeout);
    tokio::pin!(timer);
    let mut shutting = *closing.borrow();
    // Answers written in this pass by the 64 KiB rule.
    let mut out_sent = false;
    // Waits for the shutdown once for the whole connection (a new wait per
    // read would register and drop a waiter every time).
    let mut watch = closing.clone();
    let shutdown = async move {
        let _ = watch.changed().await;
    };
    tokio::pin!(shutdown);
    loop {
        // Answer every whole request in the buffer, in order.
        loop {
            let simple = match parse(&buf, max_headers, max_head, &mut fields) {
                Head::Partial => break,
                Head::Hyper => None,
                Head::Lean(s) => Some(s),
            };
            let pending = simple.and_then(|s| {
                let head = buf.split_to(s.len).freeze();
                match request(&s, &head, &fields) {
                    // The answer owns what it needs: the head may go.
                    Some(req) => Some((answer(&req), s.close, s.method == Method::HEAD)),
                    None => {
                        // Put the head back for hyper: nothing is lost.
                        let mut back = BytesMut::from(&head[..]);
                        back.extend_from_slice(&buf);
                        buf = back;
                        None
                    }
                }
            });
            let Some((pending, asked_close, head_only)) = pending else {
                let before = answered || out_sent || !out.is_empty();
                send(&mut io, &mut out).await?;
                let (builder, since) = match before {
                    false => (first, started),
                    true => (later, Instant::now()),
                };
                let io = TokioIo::new(Prefixed {
                    prefix: buf.freeze(),
                    io,
                });
                return serve_io(io, builder, limits, since, service, watcher).await;
            };
            let answer = pending.await;
            shutting |= *closing.borrow();
            let close = asked_close || shutting;
            answer.write(&mut out, head_only, close);
            if close {
                send(&mut io, &mut out).await?;
                close_within(&mut io, limits).await;
                return Ok(());
            }
            if out.len() >= MAX_PENDING_OUT {
                // A client that pipelines without reading waits here.
                send(&mut io, &mut out).await?;
                out_sent = true;
            }
        }
        if !out.is_empty() || out_sent {
            send(&mut io, &mut out).await?;
            answered = true;
            out_sent = false;
            waiting_since = Instant::now();
        }
        if buf.len() >= max_head {
            // Too large for a head: hyper says so (431).
            let (builder, since) = match answered {
                false => (first, started),
                true => (later, waiting_since),
            };
            let io = TokioIo::new(Prefixed {
                prefix: buf.freeze(),
                io,
            });
            return serve_io(io, builder, limits, since, service, watcher).await;
        }
        let due = waiting_since + limits.header_timeout;
        if due < timer.deadline() {
            timer.as_mut().reset(due);
        }
        buf.reserve(READ_CHUNK);
        tokio::select! {
            biased;
            read = io.read_buf(&mut buf) => match read {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(ConnEnd::Http(Box::new(e))),
            },
            () = &mut timer => {
                if Instant::now() >= due {
                    return Err(ConnEnd::Idle);
                }
                timer.as_mut().reset(due);
            }
            () = &mut shutdown, if buf.is_empty() && !shutting => {
                // Idle at shutdown (or the server is gone): close now.
                close_within(&mut io, limits).await;
                return Ok(());
            }
        }
    }
}

/// Ends the connection's writing (TLS: `close_notify`), for at most the
/// header timeout: a client that stops reading cannot hold it.
async fn close_within<IO: AsyncWrite + Unpin>(io: &mut IO, limits: &ConnLimits) {
    let _ = tokio::time::timeout(limits.header_timeout, io.shutdown()).await;
}

/// `io` with `prefix` read first: what the lean path read before it
/// handed the connection to hyper.
struct Prefixed<IO> {
    prefix: Bytes,
    io: IO,
}

impl<IO: AsyncRead + Unpin> AsyncRead for Prefixed<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        dst: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(dst.remaining());
            dst.put_slice(&self.prefix.split_to(n));
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.io).poll_read(cx, dst)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Prefixed<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[doc(hidden)]
pub mod fuzzing;
#[cfg(test)]
mod tests;
