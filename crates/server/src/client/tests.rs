use proptest::prelude::*;

use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

fn behind_10_8() -> ClientResolver {
    ClientResolver::new(vec!["10.0.0.0/8".parse().expect("net")])
}

const NONE: Option<&str> = None;

#[test]
fn headers_count_only_from_trusted_proxies() {
    let r = behind_10_8();
    // Untrusted peer: its headers are ignored.
    assert_eq!(
        r.client(ip("198.51.100.1"), NONE, Some("81.2.69.142")),
        ip("198.51.100.1")
    );
    // Trusted proxy: the nearest untrusted address in the chain.
    assert_eq!(
        r.client(ip("10.0.0.5"), NONE, Some("1.2.3.4, 81.2.69.142, 10.0.0.9")),
        ip("81.2.69.142")
    );
    assert_eq!(
        r.client(
            ip("::ffff:10.0.0.5"),
            Some("for=\"[2001:db8::7]:4711\";proto=https"),
            NONE
        ),
        ip("2001:db8::7")
    );
    assert_eq!(
        r.client(
            ip("10.0.0.5"),
            Some("for=192.0.2.60:80, for=10.1.1.1"),
            NONE
        ),
        ip("192.0.2.60")
    );
    // Garbage: the peer, the last trusted hop.
    assert_eq!(
        r.client(ip("10.0.0.5"), NONE, Some("not an ip")),
        ip("10.0.0.5")
    );
    // An all-trusted chain: the leftmost hop (it was the peer before the
    // walk's rule was settled; nginx's realip takes the leftmost too).
    assert_eq!(
        r.client(ip("10.0.0.5"), NONE, Some("10.2.2.2")),
        ip("10.2.2.2")
    );
    assert_eq!(
        r.client(ip("10.0.0.5"), NONE, Some("10.3.3.3, 10.2.2.2")),
        ip("10.3.3.3")
    );
}

#[test]
fn nothing_left_of_garbage_is_believed() {
    let r = behind_10_8();
    let peer = ip("10.0.0.5");
    assert_eq!(r.client(peer, NONE, Some("1.2.3.4, garbage")), peer);
    assert_eq!(r.client(peer, NONE, Some("1.2.3.4, 999.1.1.1")), peer);
    assert_eq!(r.client(peer, NONE, Some("1.2.3.4, ")), peer);
    assert_eq!(
        r.client(peer, NONE, Some("1.2.3.4, unknown, 10.0.0.9")),
        ip("10.0.0.9"),
        "the last trusted hop"
    );
    assert_eq!(r.client(peer, Some("for=1.2.3.4, for=unknown"), NONE), peer);
    assert_eq!(
        r.client(peer, Some("for=1.2.3.4, for=\"_hidden\""), NONE),
        peer
    );
    assert_eq!(
        r.client(peer, Some("for=1.2.3.4, for=2001:db8::1"), NONE),
        peer,
        "unquoted IPv6 is not RFC 7239"
    );
    assert_eq!(
        r.client(peer, Some("for=1.2.3.4, by=10.0.0.9"), NONE),
        peer,
        "an element without for="
    );
}

#[test]
fn several_header_lines_are_one_list_in_order() {
    let r = behind_10_8();
    let peer = ip("10.0.0.5");
    assert_eq!(r.client(peer, NONE, ["1.2.3.4", "garbage"]), peer);
    assert_eq!(r.client(peer, NONE, ["1.2.3.4", "10.0.0.9"]), ip("1.2.3.4"));
    assert_eq!(r.client(peer, NONE, ["garbage", "1.2.3.4"]), ip("1.2.3.4"));
    assert_eq!(r.client(peer, ["for=1.2.3.4", "for=unknown"], NONE), peer);
    // An unclosed quote does not run into the next line.
    assert_eq!(
        r.client(peer, ["for=\"1.2.3.4", "for=5.6.7.8"], NONE),
        ip("5.6.7.8")
    );
}

#[test]
fn both_headers_count_only_when_they_agree() {
    let r = behind_10_8();
    let peer = ip("10.0.0.5");
    let client = |f: &str, x: &str| r.client(peer, Some(f), Some(x));
    assert_eq!(client("for=1.2.3.4", "1.2.3.4"), ip("1.2.3.4"));
    assert_eq!(
        client("for=1.2.3.4", "6.6.6.6, 1.2.3.4"),
        ip("1.2.3.4"),
        "the same client, whatever lies left of it"
    );
    assert_eq!(client("for=6.6.6.6", "1.2.3.4"), peer);
    assert_eq!(client("for=unknown", "1.2.3.4"), peer);
}

#[test]
fn header_readers_take_the_rfc_7239_examples() {
    use Node::{Addr, Unusable};
    let a = |s: &str| Addr(ip(s));
    // RFC 7239 section 4's and 7.4's examples.
    assert_eq!(forwarded_for("for=\"_gazonk\""), [Unusable]);
    assert_eq!(
        forwarded_for("For=\"[2001:db8:cafe::17]:4711\""),
        [a("2001:db8:cafe::17")]
    );
    assert_eq!(
        forwarded_for("for=192.0.2.60;proto=http;by=203.0.113.43"),
        [a("192.0.2.60")]
    );
    assert_eq!(
        forwarded_for("for=192.0.2.43, for=198.51.100.17"),
        [a("192.0.2.43"), a("198.51.100.17")]
    );
    assert_eq!(
        forwarded_for("for=192.0.2.43,for=\"[2001:db8:cafe::17]\",for=unknown"),
        [a("192.0.2.43"), a("2001:db8:cafe::17"), Unusable]
    );
    assert_eq!(
        forwarded_for("for=unknown, by=192.0.2.1, for"),
        [Unusable, Unusable, Unusable]
    );
}

#[test]
fn forwarded_nodes_follow_rfc_7239_section_6() {
    use Node::{Addr, Unusable};
    let one = |v: &str| forwarded_for(v)[..].to_vec();
    for (value, node) in [
        ("for=192.0.2.1:80", Addr(ip("192.0.2.1"))),
        ("for=\"192.0.2.1\"", Addr(ip("192.0.2.1"))),
        ("for=\"192.0.2.1:_abc\"", Addr(ip("192.0.2.1"))),
        ("for=\"[2001:db8::1]\"", Addr(ip("2001:db8::1"))),
        ("for=\"[2001:db8::1]:_x-1.y\"", Addr(ip("2001:db8::1"))),
        (" proto=https ; for=192.0.2.1 ", Addr(ip("192.0.2.1"))),
        ("for=2001:db8::1", Unusable),
        ("for=\"2001:db8::1\"", Unusable),
        ("for=[2001:db8::1]", Unusable),
        ("for=\"[2001:db8::1]:99999\"", Unusable),
        ("for=192.0.2.1:", Unusable),
        ("for=192.0.2.1:_", Unusable),
        ("for=\"192.0.2.1", Unusable),
        ("for=\"192.0.2\\.1\"", Unusable),
        ("for=999.1.1.1", Unusable),
        ("for=01.2.3.4", Unusable),
        ("for=", Unusable),
        ("", Unusable),
        ("for=1.2.3.4;for=5.6.7.8", Unusable),
        ("proto=https", Unusable),
        ("for=1.2.3.4;b@d=1", Unusable),
    ] {
        assert_eq!(one(value), [node], "{value:?}");
    }
    // A quoted comma or semicolon does not split.
    assert_eq!(forwarded_for("for=\"1.2.3.4, for=5.6.7.8\""), [Unusable]);
    assert_eq!(
        forwarded_for("by=\"a;for=1.2.3.4\";for=5.6.7.8"),
        [Addr(ip("5.6.7.8"))]
    );
}

#[test]
fn x_forwarded_for_takes_bare_addresses_and_the_forms_proxies_write() {
    use Node::{Addr, Unusable};
    assert_eq!(
        x_forwarded_for(" 203.0.113.195, 2001:db8::1,garbage,,70.41.3.18 "),
        [
            Addr(ip("203.0.113.195")),
            Addr(ip("2001:db8::1")),
            Unusable,
            Unusable,
            Addr(ip("70.41.3.18"))
        ]
    );
    assert_eq!(
        x_forwarded_for("192.0.2.1:8080,[2001:db8::1],[2001:db8::2]:443"),
        [
            Addr(ip("192.0.2.1")),
            Addr(ip("2001:db8::1")),
            Addr(ip("2001:db8::2"))
        ]
    );
    for bad in [
        "unknown",
        "_hidden",
        "999.1.1.1",
        "1.2.3.4:99999",
        "1.2.3.4:",
        "[2001:db8::1",
        "[1.2.3.4]",
        "\"1.2.3.4\"",
        "1.2.3.4 5.6.7.8",
    ] {
        assert_eq!(x_forwarded_for(bad), [Unusable], "{bad:?}");
    }
}

/// One hop of a generated chain.
#[derive(Debug, Clone)]
enum Hop {
    /// A trusted proxy's address (10.0.0.0/8 or fd00::/8).
    Trusted(IpAddr),
    /// Any other address.
    Untrusted(IpAddr),
    /// An entry that names no address (its index picks how it is written).
    Bad(usize),
}

fn hop() -> impl Strategy<Value = Hop> {
    prop_oneof![
        (any::<[u8; 3]>()).prop_map(|[a, b, c]| Hop::Trusted(IpAddr::from([10, a, b, c]))),
        any::<u128>().prop_map(|x| Hop::Trusted(IpAddr::from(std::net::Ipv6Addr::from(
            (0xfd_u128 << 120) | (x >> 8)
        )))),
        (1u8..10, any::<[u8; 3]>())
            .prop_map(|(a, [b, c, d])| Hop::Untrusted(IpAddr::from([a, b, c, d]))),
        any::<u128>().prop_map(|x| Hop::Untrusted(IpAddr::from(std::net::Ipv6Addr::from(
            (0x2001_0db8_u128 << 96) | (x >> 32)
        )))),
        (0usize..8).prop_map(Hop::Bad),
    ]
}

/// How a hop is written: in `Forwarded` (`forwarded`) or `X-Forwarded-For`,
/// in one of the forms the readers accept (`form`).
fn write(hop: &Hop, forwarded: bool, form: u8) -> String {
    const BAD_FORWARDED: [&str; 8] = [
        "for=unknown",
        "for=\"_hidden\"",
        "for=999.1.1.1",
        "for=2001:db8::1",
        "proto=https",
        "",
        "for=",
        "for=\"[::1]\"x",
    ];
    const BAD_XFF: [&str; 8] = [
        "unknown",
        "_hidden",
        "999.1.1.1",
        "garbage",
        "",
        "1.2.3.4:99999",
        "[::1",
        "\"1.2.3.4\"",
    ];
    let (Hop::Trusted(a) | Hop::Untrusted(a)) = hop else {
        let Hop::Bad(i) = hop else { unreachable!() };
        return if forwarded {
            BAD_FORWARDED[*i]
        } else {
            BAD_XFF[*i]
        }
        .to_string();
    };
    match (forwarded, a, form % 3) {
        (true, IpAddr::V4(a), 0) => format!("for={a}"),
        (true, IpAddr::V4(a), 1) => format!("for={a}:8080;proto=https"),
        (true, IpAddr::V4(a), _) => format!("by=x;for=\"{a}:_port\""),
        (true, IpAddr::V6(a), 0) => format!("for=\"[{a}]\""),
        (true, IpAddr::V6(a), _) => format!("For=\"[{a}]:4711\""),
        (false, IpAddr::V4(a), 0) => format!("{a}:443"),
        (false, IpAddr::V6(a), 1) => format!("[{a}]:443"),
        (false, a, _) => a.to_string(),
    }
}

/// The rule, walked from the right over the hops themselves.
fn expected(peer: IpAddr, hops: &[Hop]) -> IpAddr {
    let mut reached = peer;
    for hop in hops.iter().rev() {
        match hop {
            Hop::Trusted(a) => reached = *a,
            Hop::Untrusted(a) => return *a,
            Hop::Bad(_) => return reached,
        }
    }
    reached
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// Whatever the chain and however it is written and split into lines,
    /// the client is the walk's: never an address written left of an
    /// untrusted entry; always the peer, a trusted proxy's address, or the
    /// rightmost untrusted entry when that is an address.
    #[test]
    fn the_client_is_never_left_of_an_untrusted_entry(
        hops in proptest::collection::vec(hop(), 0..8),
        forms in proptest::collection::vec(any::<u8>(), 8),
        breaks in proptest::collection::vec(any::<bool>(), 8),
        forwarded in any::<bool>(),
    ) {
        let r = ClientResolver::new(vec![
            "10.0.0.0/8".parse().expect("net"),
            "fd00::/8".parse().expect("net"),
        ]);
        let peer = ip("10.9.9.9");
        let mut lines = vec![String::new()];
        for (i, h) in hops.iter().enumerate() {
            let last = lines.last_mut().expect("a line");
            if i > 0 && breaks[i] {
                lines.push(write(h, forwarded, forms[i]));
            } else {
                if i > 0 {
                    last.push_str(", ");
                }
                last.push_str(&write(h, forwarded, forms[i]));
            }
        }
        let lines: Vec<&str> = if hops.is_empty() { vec![] } else { lines.iter().map(String::as_str).collect() };
        let client = if forwarded {
            r.client(peer, lines.iter().copied(), NONE)
        } else {
            r.client(peer, NONE, lines.iter().copied())
        };
        prop_assert_eq!(client, expected(peer, &hops), "{:?}", lines);
        // The same, said as the issue says it.
        let stop = hops.iter().rposition(|h| !matches!(h, Hop::Trusted(_)));
        let allowed = client == peer
            || r.is_trusted(client)
            || stop.is_some_and(|i| matches!(hops[i], Hop::Untrusted(a) if a == client));
        prop_assert!(allowed, "{:?} gave {}", lines, client);
        if let Some(i) = stop {
            let left: Vec<IpAddr> = hops[..i]
                .iter()
                .filter_map(|h| match h {
                    Hop::Untrusted(a) => Some(*a),
                    _ => None,
                })
                .collect();
            prop_assert!(!left.contains(&client) || matches!(hops[i], Hop::Untrusted(a) if a == client));
        }
    }
}
