//! Clients logged by name: Apache with `HostnameLookups On`, many CDNs
//! and most public logs of the 1990s write `dialup7.example.net` where an
//! address should be. A name is checked (RFC 1123 syntax) and never
//! resolved; its country is its country-code top-level domain, as AWStats
//! and Webalizer read it.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Who sent a request, as the log names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Client<'a> {
    /// An IP address (IPv4 or IPv6).
    Ip(IpAddr),
    /// A host name, where the server logged the name it looked up.
    Host(HostName<'a>),
}

impl Client<'_> {
    /// The address, when the log gave one.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Client::Ip(a) => Some(*a),
            Client::Host(_) => None,
        }
    }
}

impl From<IpAddr> for Client<'_> {
    fn from(a: IpAddr) -> Self {
        Client::Ip(a)
    }
}

impl From<Ipv4Addr> for Client<'_> {
    fn from(a: Ipv4Addr) -> Self {
        Client::Ip(a.into())
    }
}

impl From<Ipv6Addr> for Client<'_> {
    fn from(a: Ipv6Addr) -> Self {
        Client::Ip(a.into())
    }
}

impl fmt::Display for Client<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Client::Ip(a) => a.fmt(f),
            Client::Host(h) => f.write_str(h.as_str()),
        }
    }
}

/// A host name checked to be one (RFC 1123: letters, digits, hyphens and
/// dots; labels of 1 to 63 bytes that neither start nor end with a hyphen;
/// at most 253 bytes), with at least two labels and a top-level label that
/// is not all digits, so that a lone word or a broken address (`999.1.1.1`)
/// is not taken for a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HostName<'a>(&'a str);

/// The longest host name (RFC 1035, without the final dot).
const MAX_NAME: usize = 253;
/// The longest label.
const MAX_LABEL: usize = 63;

impl<'a> HostName<'a> {
    /// `b` as a host name, or `None` when it is not one (see the type).
    #[inline(never)]
    pub fn parse(b: &'a [u8]) -> Option<Self> {
        if b.is_empty() || b.len() > MAX_NAME {
            return None;
        }
        let mut labels = 0;
        let mut last: &[u8] = &[];
        for label in b.split(|c| *c == b'.') {
            if !valid_label(label) {
                return None;
            }
            labels += 1;
            last = label;
        }
        if labels < 2 || last.iter().all(u8::is_ascii_digit) {
            return None;
        }
        // Checked above: ASCII letters, digits, hyphens and dots only.
        std::str::from_utf8(b).ok().map(HostName)
    }

    /// The name as logged.
    pub fn as_str(&self) -> &'a str {
        self.0
    }

    /// The country its top-level domain names, as an ISO 3166-1 alpha-2
    /// code in upper case (`.uk` is `GB`); `None` for generic domains
    /// (`.com`, `.net`, `.edu`, …) and `.eu`.
    pub fn country(&self) -> Option<[u8; 2]> {
        let tld = self.0.rsplit('.').next()?.as_bytes();
        let [a, b] = tld else { return None };
        let code = [a.to_ascii_uppercase(), b.to_ascii_uppercase()];
        match &code {
            // Not a country.
            b"EU" => None,
            // ccTLDs whose ISO code differs (`.ac` is Ascension, part of
            // SH), and the retired ones of old logs, as their successors.
            b"UK" => Some(*b"GB"),
            b"AC" => Some(*b"SH"),
            b"SU" => Some(*b"RU"),
            b"TP" => Some(*b"TL"),
            b"YU" => Some(*b"RS"),
            b"ZR" => Some(*b"CD"),
            _ => code.iter().all(u8::is_ascii_uppercase).then_some(code),
        }
    }
}

/// One label: 1 to 63 letters, digits and hyphens, no hyphen at its ends.
fn valid_label(l: &[u8]) -> bool {
    match l {
        [] => false,
        [first, .., last] if *first == b'-' || *last == b'-' => false,
        [b'-'] => false,
        _ => l.len() <= MAX_LABEL && l.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-'),
    }
}

/// The client field `b`: an address, else a host name.
#[inline]
pub(crate) fn parse_client(b: &[u8]) -> Option<Client<'_>> {
    match super::client::parse_ip(b) {
        Some(a) => Some(Client::Ip(a)),
        None => HostName::parse(b).map(Client::Host),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(s: &str) -> Option<HostName<'_>> {
        HostName::parse(s.as_bytes())
    }

    #[test]
    fn names_are_checked_as_rfc_1123_says() {
        for good in [
            "dialup7.example.net",
            "Host-9.Example.COM",
            "199.0.0.1.example.edu",
            "a.b",
            "xn--bcher-kva.example",
        ] {
            assert_eq!(host(good).map(|h| h.as_str()), Some(good), "{good}");
        }
        let long_label = format!("{}.com", "a".repeat(64));
        let long_name = format!("{}com", "abcdefghi.".repeat(25));
        assert_eq!(long_name.len(), 253);
        assert!(host(&long_name).is_some());
        let too_long = format!("a{long_name}");
        for bad in [
            "",
            "localhost",
            "999.1.1.1",
            "1.2.3",
            "a..b",
            ".a.b",
            "a.b.",
            "-a.b",
            "a-.b",
            "a.-",
            "a_b.com",
            "a b.com",
            "ä.com",
            "1.2.3.4:80",
            "-",
        ] {
            assert_eq!(host(bad), None, "{bad:?}");
        }
        assert_eq!(host(&long_label), None);
        assert_eq!(host(&too_long), None);
    }

    #[test]
    fn the_country_is_the_country_code_tld() {
        let country = |s: &str| host(s).and_then(|h| h.country());
        assert_eq!(country("www.cs.example.ac.uk"), Some(*b"GB"));
        assert_eq!(country("gw.example.co.il"), Some(*b"IL"));
        assert_eq!(country("proxy.example.DE"), Some(*b"DE"));
        assert_eq!(country("old.example.yu"), Some(*b"RS"));
        for generic in ["a.example.com", "a.example.net", "a.example.org", "a.edu"] {
            assert_eq!(country(generic), None, "{generic}");
        }
        assert_eq!(country("agency.europa.eu"), None);
        assert_eq!(country("a.example.c1"), None);
    }

    #[test]
    fn a_client_is_an_address_first() {
        let ip = "192.0.2.1".parse().expect("ip");
        assert_eq!(parse_client(b"192.0.2.1"), Some(Client::Ip(ip)));
        assert_eq!(parse_client(b"::1").map(|c| c.ip().is_some()), Some(true));
        let h = parse_client(b"dialup7.example.net").expect("a host");
        assert_eq!(
            (h.ip(), h.to_string()),
            (None, "dialup7.example.net".into())
        );
        assert_eq!(parse_client(b"999.1.1.1"), None);
    }
}
