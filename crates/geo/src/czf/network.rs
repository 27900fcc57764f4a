//! One network of a coverage-zone file, read as Traffic Router reads it.
//!
//! Hand-written (a few lines over `std` and `ipnet`) because the leniencies
//! are Traffic Router's, not those of a general CIDR parser: spaces around
//! the address and the prefix length, a bare address for one host, and host
//! bits below the prefix ignored.

use std::net::IpAddr;

use ipnet::IpNet;

/// A network as written and as it is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Network {
    /// The network with its host bits cleared.
    pub net: IpNet,
    /// Whether the text had host bits set (`10.1.2.3/8`), now cleared.
    pub masked: bool,
}

/// Reads `"ADDRESS/LENGTH"` or `"ADDRESS"` (one host), spaces allowed
/// around both parts, hexadecimal digits of IPv6 in either case.
pub(super) fn parse_network(text: &str) -> Result<Network, String> {
    let expected = "expected a CIDR such as \"192.0.2.0/24\" or \"2001:db8::/32\"";
    let (address, length) = match text.split_once('/') {
        Some((a, l)) => (a.trim(), Some(l.trim())),
        None => (text.trim(), None),
    };
    let address: IpAddr = address
        .parse()
        .map_err(|_| format!("{text:?} is not a CIDR network ({expected})"))?;
    let most = if address.is_ipv4() { 32 } else { 128 };
    let length = match length {
        None => most,
        Some(l) => l.parse::<u8>().ok().filter(|l| *l <= most).ok_or_else(|| {
            format!("{text:?} has prefix length {l:?} (expected 0 to {most}; {expected})")
        })?,
    };
    let written =
        IpNet::new(address, length).map_err(|e| format!("{text:?} is not a CIDR network: {e}"))?;
    let net = written.trunc();
    Ok(Network {
        net,
        masked: net != written,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> (String, bool) {
        let n = parse_network(s).expect(s);
        (n.net.to_string(), n.masked)
    }

    #[test]
    fn traffic_routers_own_host_bits_example_is_masked() {
        assert_eq!(
            net("2001:CAFE:F00D:0::/37"),
            ("2001:cafe:f000::/37".to_string(), true)
        );
        assert_eq!(net("10.1.2.3/8"), ("10.0.0.0/8".to_string(), true));
        assert_eq!(net("10.0.0.0/8"), ("10.0.0.0/8".to_string(), false));
    }

    #[test]
    fn spaces_bare_hosts_and_upper_case_hex_are_read() {
        assert_eq!(net(" 192.0.2.0 / 24 "), ("192.0.2.0/24".to_string(), false));
        assert_eq!(net("192.0.2.7"), ("192.0.2.7/32".to_string(), false));
        assert_eq!(net("2001:DB8::1"), ("2001:db8::1/128".to_string(), false));
    }

    #[test]
    fn bad_addresses_and_lengths_are_refused() {
        for bad in [
            "",
            "/24",
            "192.0.2.0/33",
            "2001:db8::/129",
            "192.0.2.0/-1",
            "192.0.2.0/x",
            "192.0.2.0/24/1",
            "example.net/24",
            "192.0.2.300/24",
        ] {
            assert!(parse_network(bad).is_err(), "{bad:?} accepted");
        }
    }
}
