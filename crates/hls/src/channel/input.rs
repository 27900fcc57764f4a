//! Where transport streams come from: a file, standard input, UDP (unicast
//! or multicast), or an HTTP URL that streams TS without end, reconnected
//! with back-off whenever it drops or stalls (module `http`, feature
//! `http-input`; a build without it refuses `http://` inputs).

use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::time::Duration;

use crate::ts::PACKET_SIZE;
#[cfg(feature = "http-input")]
pub use http::{HttpStream, HttpUrl, StreamTimings};
pub use notice::{InputNotice, NoticeSink};
pub(crate) use notice::{InputOpener, NoticedInputs};

#[cfg(feature = "http-input")]
pub mod http;
mod notice;

/// How live inputs that can be lost (HTTP) behave, besides reconnecting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InputOptions {
    /// Give up an HTTP input after this long without data (never
    /// reachable, or gone): it then ends as a file does. `None`: retry for
    /// ever (a live encoder may come back).
    pub give_up_after: Option<Duration>,
}

/// An input named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSpec {
    /// `-`.
    Stdin,
    /// A file path.
    File(PathBuf),
    /// `udp://[@]HOST:PORT`: listen there (joining the group if multicast).
    Udp(SocketAddr),
    /// `http://HOST[:PORT]/PATH` (feature `http-input`).
    #[cfg(feature = "http-input")]
    Http(HttpUrl),
}

/// Why an input cannot be read as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputSpecError {
    /// `udp://` without a numeric address and port.
    #[error("{input}: expected udp://HOST:PORT with a numeric address: {error}")]
    Udp {
        /// The input as written.
        input: String,
        /// Why the address does not parse.
        error: std::net::AddrParseError,
    },
    /// An `http://` URL whose port is not a number up to 65535.
    #[error("{input}: bad port {port:?}")]
    Port {
        /// The input as written.
        input: String,
        /// The port as written.
        port: String,
    },
    /// An `http://` URL without a host, or with spaces or control
    /// characters in its path.
    #[error("{input}: expected http://HOST[:PORT]/PATH")]
    Http {
        /// The input as written.
        input: String,
    },
    /// An `http://` input in a build without the feature `http-input`.
    #[error("{input}: built without HTTP input (cargo feature http-input)")]
    NoHttpInput {
        /// The input as written.
        input: String,
    },
    /// A scheme other than `udp://` and `http://`.
    #[error("{input}: unsupported scheme (file, -, udp:// or http://)")]
    Scheme {
        /// The input as written.
        input: String,
    },
}

impl InputSpec {
    /// Parses `-`, `udp://…`, `http://…` or a file path.
    pub fn parse(s: &str) -> Result<InputSpec, InputSpecError> {
        if s == "-" {
            return Ok(InputSpec::Stdin);
        }
        if let Some(rest) = s.strip_prefix("udp://") {
            let addr = rest.trim_start_matches('@');
            return addr
                .parse()
                .map(InputSpec::Udp)
                .map_err(|error| InputSpecError::Udp {
                    input: s.to_owned(),
                    error,
                });
        }
        if let Some(rest) = s.strip_prefix("http://") {
            return http_input(s, rest);
        }
        if s.contains("://") {
            return Err(InputSpecError::Scheme {
                input: s.to_owned(),
            });
        }
        Ok(InputSpec::File(PathBuf::from(s)))
    }

    /// Opens the input with the default options, telling nobody what
    /// happens. HTTP never ends: it reconnects (`HttpStream`).
    pub fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        self.open_with(&InputOptions::default(), NoticeSink::ignore())
    }

    /// Opens the input with `options`; an HTTP input posts its failures,
    /// connections and giving up to `notices`.
    #[cfg_attr(not(feature = "http-input"), allow(unused_variables))]
    pub fn open_with(
        &self,
        options: &InputOptions,
        notices: NoticeSink,
    ) -> io::Result<Box<dyn Read + Send>> {
        Ok(match self {
            InputSpec::Stdin => Box::new(io::stdin()),
            InputSpec::File(p) => Box::new(std::fs::File::open(p)?),
            InputSpec::Udp(addr) => Box::new(Datagrams(udp(*addr)?)),
            #[cfg(feature = "http-input")]
            InputSpec::Http(url) => {
                let timings = StreamTimings {
                    give_up_after: options.give_up_after,
                    ..StreamTimings::default()
                };
                Box::new(HttpStream::with_timings(url.clone(), timings, notices)?)
            }
        })
    }
}

/// `input`, an `http://` URL (`rest` follows the scheme).
#[cfg(feature = "http-input")]
fn http_input(input: &str, rest: &str) -> Result<InputSpec, InputSpecError> {
    HttpUrl::parse(input, rest).map(InputSpec::Http)
}

/// `input`, an `http://` URL, refused: this build has no HTTP input.
#[cfg(not(feature = "http-input"))]
fn http_input(input: &str, _rest: &str) -> Result<InputSpec, InputSpecError> {
    Err(InputSpecError::NoHttpInput {
        input: input.to_owned(),
    })
}

fn udp(addr: SocketAddr) -> io::Result<UdpSocket> {
    if !addr.ip().is_multicast() {
        return UdpSocket::bind(addr);
    }
    let s = UdpSocket::bind(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), addr.port()))?;
    match addr.ip() {
        std::net::IpAddr::V4(g) => s.join_multicast_v4(&g, &Ipv4Addr::UNSPECIFIED)?,
        std::net::IpAddr::V6(g) => s.join_multicast_v6(&g, 0)?,
    }
    Ok(s)
}

/// A UDP socket read as a byte stream (a datagram holds whole packets).
struct Datagrams(UdpSocket);

impl Read for Datagrams {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.len() < 7 * PACKET_SIZE {
            return Err(io::Error::other("buffer smaller than a datagram"));
        }
        self.0.recv(buf)
    }
}

#[cfg(test)]
mod tests;
