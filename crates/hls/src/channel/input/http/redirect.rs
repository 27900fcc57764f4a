//! Following redirects: each `Location` is resolved against the URL that
//! answered it (the `url` crate, RFC 3986 §5.2), at most
//! [`MAX_REDIRECTS`] in a row, and a URL met twice in one chain is a loop.
//!
//! Every reconnection starts again from the URL given on the command line
//! (a redirector in front of encoders may send the next attempt elsewhere),
//! so a permanent redirect is not remembered.

use url::Url;

/// The most redirects followed for one connection (as Go's `net/http`;
/// curl allows 50, browsers about 20: a live input that needs more is
/// misconfigured).
pub const MAX_REDIRECTS: usize = 10;

/// Why a redirect was not followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedirectError {
    /// The chain came back to a URL it had already asked.
    #[error("redirect loop: {}", chain.join(" -> "))]
    Loop {
        /// Every URL asked, the first again at the end.
        chain: Vec<String>,
    },
    /// More than [`MAX_REDIRECTS`] redirects in a row.
    #[error("more than {MAX_REDIRECTS} redirects: {}", chain.join(" -> "))]
    TooMany {
        /// Every URL asked, and where the last one pointed.
        chain: Vec<String>,
    },
    /// The redirect leads out of plain HTTP (routecast's HTTP client
    /// speaks no TLS).
    #[error("{from} redirected ({status}) to {to}: only http:// is supported (no TLS)")]
    NotHttp {
        /// The URL that answered with the redirect.
        from: String,
        /// Its status.
        status: u16,
        /// Where it pointed, resolved.
        to: String,
    },
    /// The `Location` (or the URL it is resolved against) is no URL.
    #[error("{from} redirected ({status}) to {location:?}, which is no URL: {error}")]
    BadLocation {
        /// The URL that answered with the redirect.
        from: String,
        /// Its status.
        status: u16,
        /// The `Location` field as sent.
        location: String,
        /// Why it does not resolve.
        error: url::ParseError,
    },
}

/// The URLs asked for one connection, from the input's own.
#[derive(Debug, Clone)]
pub struct RedirectChain {
    /// The input's URL, as requested (with its port written).
    first: String,
    /// Where each redirect led, in order.
    hops: Vec<Url>,
}

impl RedirectChain {
    /// A chain that starts at `first`.
    pub fn new(first: &str) -> Self {
        Self {
            first: first.to_owned(),
            hops: Vec::new(),
        }
    }

    /// The URL to ask next.
    pub fn current(&self) -> &str {
        self.hops.last().map_or(&self.first, Url::as_str)
    }

    /// Redirects followed so far.
    pub fn redirects(&self) -> usize {
        self.hops.len()
    }

    /// Follows a `status` answer's `location` (relative or absolute): the
    /// URL to ask next, or why not.
    pub fn follow(&mut self, status: u16, location: &str) -> Result<&str, RedirectError> {
        let from = self.current().to_owned();
        let bad = |error| RedirectError::BadLocation {
            from: from.clone(),
            status,
            location: location.to_owned(),
            error,
        };
        let mut to = Url::parse(&from)
            .and_then(|base| base.join(location))
            .map_err(bad)?;
        to.set_fragment(None);
        if to.scheme() != "http" {
            let to = to.to_string();
            return Err(RedirectError::NotHttp { from, status, to });
        }
        if self.asked().any(|asked| asked == to) {
            return Err(RedirectError::Loop {
                chain: self.chain_to(&to),
            });
        }
        if self.hops.len() == MAX_REDIRECTS {
            return Err(RedirectError::TooMany {
                chain: self.chain_to(&to),
            });
        }
        self.hops.push(to);
        Ok(self.current())
    }

    /// Every URL asked so far, as the `url` crate reads them (so that
    /// `http://h:80/a` and `http://h/a` are one).
    fn asked(&self) -> impl Iterator<Item = Url> + '_ {
        Url::parse(&self.first)
            .ok()
            .into_iter()
            .chain(self.hops.iter().cloned())
    }

    /// The chain as text, ending with `to`.
    fn chain_to(&self, to: &Url) -> Vec<String> {
        std::iter::once(self.first.clone())
            .chain(self.hops.iter().map(Url::to_string))
            .chain(std::iter::once(to.to_string()))
            .collect()
    }
}
