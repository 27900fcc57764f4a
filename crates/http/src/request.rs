//! One GET on a connection of its own: the URL taken apart, the request
//! head, the connection driven by a task that ends with the exchange.

use bytes::Bytes;
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper::header::{ACCEPT, HOST, USER_AGENT};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use crate::FetchError;

/// What a GET says besides its request line and `Host` (the URL's
/// authority as written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestHead {
    /// The `User-Agent` field.
    pub user_agent: &'static str,
    /// The `Accept` field, if any.
    pub accept: Option<&'static str>,
}

impl Default for RequestHead {
    /// `User-Agent: routecast/1`, no `Accept`: what [`fetch`](crate::fetch)
    /// sends.
    fn default() -> Self {
        Self {
            user_agent: "routecast/1",
            accept: None,
        }
    }
}

/// An `http://` URL taken apart: where to connect, the `Host` field and
/// the request target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target<'a> {
    /// `host[:port]` as written (the `Host` field).
    authority: &'a str,
    /// Path and query, `/` when the URL has none.
    path: &'a str,
    /// `host:port` to connect to (port 80 when not written).
    address: String,
}

impl<'a> Target<'a> {
    /// Splits `http://authority[/path]`; anything else is
    /// [`FetchError::NotHttp`]. The port is not checked here: a bad one
    /// fails to connect.
    pub(crate) fn parse(url: &'a str) -> Result<Self, FetchError> {
        let not_http = || FetchError::NotHttp { url: url.into() };
        let rest = url.strip_prefix("http://").ok_or_else(not_http)?;
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, "/"),
        };
        if authority.is_empty() {
            return Err(not_http());
        }
        let address = if authority.contains(':') && !authority.ends_with(']') {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        Ok(Self {
            authority,
            path,
            address,
        })
    }
}

/// The task that drives one connection; dropping it closes the connection
/// (a stream given up, or an exchange that ran out of time, leaves no
/// socket behind).
#[derive(Debug)]
pub(crate) struct Connection(JoinHandle<()>);

impl Drop for Connection {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Connects to `target` and sends one GET: the response head, its body to
/// read, and the connection (keep it while reading the body).
pub(crate) async fn send_get(
    target: &Target<'_>,
    head: &RequestHead,
) -> Result<(Response<Incoming>, Connection), FetchError> {
    let stream = TcpStream::connect(&target.address)
        .await
        .map_err(|source| FetchError::Connect { source })?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(FetchError::http)?;
    let connection = Connection(tokio::spawn(async move {
        // Its failures reach the response or the body being read.
        let _ = connection.await;
    }));
    let mut request = Request::get(target.path)
        .header(HOST, target.authority)
        .header(USER_AGENT, head.user_agent);
    if let Some(accept) = head.accept {
        request = request.header(ACCEPT, accept);
    }
    let request = request
        .body(Empty::<Bytes>::new())
        .map_err(FetchError::http)?;
    let response = sender
        .send_request(request)
        .await
        .map_err(FetchError::http)?;
    Ok((response, connection))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_gives_its_authority_as_written_its_path_and_an_address_with_a_port() {
        let t = Target::parse("http://origin.example:8080/live/a.m3u8?x=1").expect("http");
        assert_eq!(
            (t.authority, t.path, t.address.as_str()),
            (
                "origin.example:8080",
                "/live/a.m3u8?x=1",
                "origin.example:8080"
            )
        );
        let t = Target::parse("http://origin.example").expect("http");
        assert_eq!(
            (t.authority, t.path, t.address.as_str()),
            ("origin.example", "/", "origin.example:80")
        );
        let t = Target::parse("http://[::1]/x").expect("http");
        assert_eq!((t.authority, t.address.as_str()), ("[::1]", "[::1]:80"));
        let t = Target::parse("http://[::1]:81/x").expect("http");
        assert_eq!(t.address, "[::1]:81");
    }

    #[test]
    fn only_http_urls_with_a_host_are_taken() {
        for url in ["https://a/x", "ftp://a/x", "http:///x", "http://", "a/x"] {
            assert!(
                matches!(Target::parse(url), Err(FetchError::NotHttp { url: u }) if u == url),
                "{url}"
            );
        }
    }
}
