//! Who the client is: the socket peer, or — only when the peer is a
//! trusted proxy — what the forwarding headers say, as far as trusted
//! proxies vouch for it.
//!
//! # The walk
//! `Forwarded` (RFC 7239) and `X-Forwarded-For` list the hops a request
//! came through, nearest last; several header lines are one list, in order
//! (RFC 9110 §5.3). Only the entries appended by trusted proxies can be
//! believed: everything further left was written by whoever a trusted
//! proxy talked to. So the list is walked from the right, starting at the
//! peer:
//!
//! * an untrusted peer is the client (its headers are not read);
//! * an entry that is a trusted proxy's address is a hop: the walk goes on;
//! * the first entry that is not is where the walk stops. If it is an
//!   address, that address is the client. If it is not usable (`unknown`,
//!   `_hidden`, `999.1.1.1`, an empty entry, an element without `for=`,
//!   IPv6 not bracketed and quoted in `Forwarded`, garbage), nothing to its
//!   left is believed and the client is **the last trusted hop** (the entry
//!   to its right, or the peer);
//! * when every entry is a trusted proxy's, the client is the leftmost one
//!   (the hop nearest the client; the peer when the list is empty).
//!
//! This is nginx's realip with `real_ip_recursive on`: a bad entry keeps
//! the address reached so far. Routing needs an address to locate the
//! client, and the last trusted hop is one the platform owns and
//! configured, the same for every request that comes that way: never an
//! address the client chose.
//!
//! # Which header
//! When a request carries only one of the two headers, that one is read.
//! When it carries both, each is walked and the client is their common
//! answer; if they differ, the client is the peer. A proxy that writes one
//! header passes the other on from the client as it came: believing either
//! one alone would let a client choose its address behind a proxy that
//! writes the other. (Proxies should drop the header they do not write.)
//!
//! # Node forms
//! `Forwarded`: `for=192.0.2.43`, `for=192.0.2.43:80`,
//! `for="192.0.2.43:_port"`, `for="[2001:db8::1]:4711"`; IPv6 must be
//! bracketed and quoted (RFC 7239 §6); one `for=` per element.
//! `X-Forwarded-For`: bare addresses, and `192.0.2.43:80`,
//! `[2001:db8::1]`, `[2001:db8::1]:80` as some proxies write them. IPv4
//! addresses mapped into IPv6 (`::ffff:192.0.2.43`) are read as IPv4.
//!
//! The header readers ([`forwarded_for`], [`x_forwarded_for`]) are pure
//! functions of a header line's text: they take whatever a client sends
//! and never panic.

use std::net::IpAddr;

use ipnet::IpNet;

mod node;

pub use node::Node;

/// Resolves client addresses behind trusted proxies.
#[derive(Debug, Clone, Default)]
pub struct ClientResolver {
    trusted: Vec<IpNet>,
}

/// An IPv4 address mapped into IPv6 as IPv4, others as they are.
fn canonical(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(a, IpAddr::V4),
        a => a,
    }
}

/// The nodes of one `Forwarded` header line (RFC 7239), nearest hop last:
/// each element's `for=` address, or [`Node::Unusable`].
pub fn forwarded_for(line: &str) -> Vec<Node> {
    node::forwarded_nodes(line).collect()
}

/// The nodes of one `X-Forwarded-For` header line, nearest hop last.
pub fn x_forwarded_for(line: &str) -> Vec<Node> {
    node::x_forwarded_nodes(line).collect()
}

impl ClientResolver {
    /// Trusts the proxies in `trusted`.
    pub fn new(trusted: Vec<IpNet>) -> Self {
        Self { trusted }
    }

    /// True when `a` is a trusted proxy (or trusted client, for explanations).
    pub fn is_trusted(&self, a: IpAddr) -> bool {
        let a = canonical(a);
        self.trusted.iter().any(|n| n.contains(&a))
    }

    /// The client behind `peer`, given the request's `Forwarded` and
    /// `X-Forwarded-For` header lines in the order received (see the
    /// module's docs for the walk). Allocates nothing.
    pub fn client<'h>(
        &self,
        peer: IpAddr,
        forwarded: impl IntoIterator<Item = &'h str>,
        x_forwarded_for: impl IntoIterator<Item = &'h str>,
    ) -> IpAddr {
        let peer = canonical(peer);
        if !self.is_trusted(peer) {
            return peer;
        }
        let by_forwarded = self.walk(peer, forwarded, node::forwarded_nodes);
        let by_xff = self.walk(peer, x_forwarded_for, node::x_forwarded_nodes);
        match (by_forwarded, by_xff) {
            (Some(f), Some(x)) if f == x => f,
            (Some(_), Some(_)) | (None, None) => peer,
            (Some(one), None) | (None, Some(one)) => one,
        }
    }

    /// The walk over one header's `lines` (`None` without any).
    fn walk<'h, I: Iterator<Item = Node> + 'h>(
        &self,
        peer: IpAddr,
        lines: impl IntoIterator<Item = &'h str>,
        nodes: fn(&'h str) -> I,
    ) -> Option<IpAddr> {
        let mut walk = Walk::default();
        let mut any = false;
        for line in lines {
            any = true;
            nodes(line).for_each(|n| walk.push(n, self));
        }
        any.then(|| walk.client(peer))
    }
}

/// The walk from the right, computed left to right in one pass without
/// keeping the list: what matters is the rightmost entry that is not a
/// trusted address, and the trusted hop just right of it.
#[derive(Debug, Default)]
struct Walk {
    /// The rightmost entry so far that is not a trusted proxy's address.
    stop: Option<Node>,
    /// The first trusted address after `stop` (after the start without it).
    hop: Option<IpAddr>,
}

impl Walk {
    fn push(&mut self, node: Node, resolver: &ClientResolver) {
        match node.addr().map(canonical) {
            Some(a) if resolver.is_trusted(a) => {
                self.hop.get_or_insert(a);
            }
            a => {
                self.stop = Some(a.into());
                self.hop = None;
            }
        }
    }

    fn client(self, peer: IpAddr) -> IpAddr {
        match self.stop {
            Some(Node::Addr(client)) => client,
            Some(Node::Unusable) | None => self.hop.unwrap_or(peer),
        }
    }
}

#[cfg(test)]
mod tests;
