//! Who the client is: the socket peer, or — only when the peer is a trusted
//! proxy — the address it reports in `X-Forwarded-For` or `Forwarded`.
//!
//! The header readers ([`forwarded_for`], [`x_forwarded_for`]) are pure
//! functions of the header's text: they take whatever a client sends and
//! never panic.

use std::net::IpAddr;

use ipnet::IpNet;

/// Resolves client addresses behind trusted proxies.
#[derive(Debug, Clone, Default)]
pub struct ClientResolver {
    trusted: Vec<IpNet>,
}

fn canonical(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(a, IpAddr::V4),
        a => a,
    }
}

/// The `for=` addresses of a `Forwarded` header (RFC 7239), nearest hop
/// last; values that are not addresses (`unknown`, obfuscated names,
/// garbage) are left out.
pub fn forwarded_for(h: &str) -> Vec<IpAddr> {
    h.split(',')
        .flat_map(|element| element.split(';'))
        .filter_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            if !k.trim().eq_ignore_ascii_case("for") {
                return None;
            }
            let v = v.trim().trim_matches('"');
            // "[2001:db8::1]:4711" or "192.0.2.1:4711" or bare.
            let host = if let Some(rest) = v.strip_prefix('[') {
                rest.split(']').next()?
            } else {
                v.split(':')
                    .next()
                    .filter(|_| v.matches(':').count() <= 1)
                    .unwrap_or(v)
            };
            host.parse().ok()
        })
        .collect()
}

/// The addresses of an `X-Forwarded-For` header, nearest hop last; what is
/// not an address is left out.
pub fn x_forwarded_for(h: &str) -> Vec<IpAddr> {
    h.split(',').filter_map(|a| a.trim().parse().ok()).collect()
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

    /// The client behind `peer`: walking the forwarding chain from the
    /// nearest hop, the first address that is not a trusted proxy.
    pub fn client(
        &self,
        peer: IpAddr,
        forwarded: Option<&str>,
        x_forwarded_for: Option<&str>,
    ) -> IpAddr {
        let peer = canonical(peer);
        if !self.is_trusted(peer) {
            return peer;
        }
        let chain: Vec<IpAddr> = match (forwarded, x_forwarded_for) {
            (Some(f), _) => forwarded_for(f),
            (None, Some(x)) => self::x_forwarded_for(x),
            (None, None) => Vec::new(),
        };
        chain
            .into_iter()
            .rev()
            .map(canonical)
            .find(|a| !self.is_trusted(*a))
            .unwrap_or(peer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn headers_count_only_from_trusted_proxies() {
        let r = ClientResolver::new(vec!["10.0.0.0/8".parse().expect("net")]);
        // Untrusted peer: its headers are ignored.
        assert_eq!(
            r.client(ip("198.51.100.1"), None, Some("81.2.69.142")),
            ip("198.51.100.1")
        );
        // Trusted proxy: the nearest untrusted address in the chain.
        assert_eq!(
            r.client(ip("10.0.0.5"), None, Some("1.2.3.4, 81.2.69.142, 10.0.0.9")),
            ip("81.2.69.142")
        );
        assert_eq!(
            r.client(
                ip("::ffff:10.0.0.5"),
                Some("for=\"[2001:db8::7]:4711\";proto=https"),
                None
            ),
            ip("2001:db8::7")
        );
        assert_eq!(
            r.client(
                ip("10.0.0.5"),
                Some("for=192.0.2.60:80, for=10.1.1.1"),
                None
            ),
            ip("192.0.2.60")
        );
        // Garbage or an all-trusted chain: the peer.
        assert_eq!(
            r.client(ip("10.0.0.5"), None, Some("not an ip")),
            ip("10.0.0.5")
        );
        assert_eq!(
            r.client(ip("10.0.0.5"), None, Some("10.2.2.2")),
            ip("10.0.0.5")
        );
    }

    #[test]
    fn header_readers_take_the_rfc_7239_examples_and_skip_the_rest() {
        // RFC 7239 section 4's examples.
        assert_eq!(forwarded_for("for=\"_gazonk\""), Vec::<IpAddr>::new());
        assert_eq!(
            forwarded_for("For=\"[2001:db8:cafe::17]:4711\""),
            [ip("2001:db8:cafe::17")]
        );
        assert_eq!(
            forwarded_for("for=192.0.2.60;proto=http;by=203.0.113.43"),
            [ip("192.0.2.60")]
        );
        assert_eq!(
            forwarded_for("for=192.0.2.43, for=198.51.100.17"),
            [ip("192.0.2.43"), ip("198.51.100.17")]
        );
        assert_eq!(
            forwarded_for("for=unknown, by=192.0.2.1, for"),
            Vec::<IpAddr>::new()
        );
        assert_eq!(
            x_forwarded_for(" 203.0.113.195, 2001:db8::1,garbage,,70.41.3.18 "),
            [ip("203.0.113.195"), ip("2001:db8::1"), ip("70.41.3.18")]
        );
    }
}
