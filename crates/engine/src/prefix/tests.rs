use super::*;
use ipnet::{Ipv4Net, Ipv6Net};
use proptest::prelude::*;
use std::net::{Ipv4Addr, Ipv6Addr};

fn net(s: &str) -> IpNet {
    s.parse().expect("test network")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn table(nets: &[&str]) -> PrefixTable<usize> {
    nets.iter()
        .enumerate()
        .map(|(i, n)| (net(n), i))
        .collect::<PrefixTableBuilder<_>>()
        .build()
}

#[test]
fn most_specific_wins_and_parent_resumes_after_child() {
    let t = table(&["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "2001:db8::/32"]);
    assert_eq!(
        t.longest_match(ip("10.1.2.3")),
        Some((net("10.1.2.0/24"), &2))
    );
    assert_eq!(
        t.longest_match(ip("10.1.3.3")),
        Some((net("10.1.0.0/16"), &1))
    );
    assert_eq!(
        t.longest_match(ip("10.2.0.1")),
        Some((net("10.0.0.0/8"), &0))
    );
    assert_eq!(t.longest_match(ip("11.0.0.0")), None);
    assert_eq!(t.longest_match(ip("9.255.255.255")), None);
    assert_eq!(
        t.longest_match(ip("2001:db8:ffff::1")),
        Some((net("2001:db8::/32"), &3))
    );
    assert_eq!(t.longest_match(ip("2001:db9::1")), None);
}

#[test]
fn ipv4_mapped_ipv6_is_looked_up_as_ipv4() {
    let t = table(&["192.0.2.0/24"]);
    assert_eq!(
        t.longest_match(ip("::ffff:192.0.2.7")),
        Some((net("192.0.2.0/24"), &0))
    );
}

#[test]
fn default_routes_and_host_routes_at_the_edges() {
    let t = table(&[
        "0.0.0.0/0",
        "255.255.255.255/32",
        "0.0.0.0/32",
        "::/0",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
    ]);
    assert_eq!(t.longest_match(ip("0.0.0.0")).map(|m| m.1), Some(&2));
    assert_eq!(t.longest_match(ip("0.0.0.1")).map(|m| m.1), Some(&0));
    assert_eq!(
        t.longest_match(ip("255.255.255.255")).map(|m| m.1),
        Some(&1)
    );
    assert_eq!(
        t.longest_match(ip("255.255.255.254")).map(|m| m.1),
        Some(&0)
    );
    assert_eq!(
        t.longest_match(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))
            .map(|m| m.1),
        Some(&4)
    );
    assert_eq!(t.longest_match(ip("::1")).map(|m| m.1), Some(&3));
}

#[test]
fn duplicate_network_keeps_the_first_value() {
    let mut b = PrefixTableBuilder::new();
    assert_eq!(b.insert(net("10.0.0.0/8"), 1), Ok(()));
    assert_eq!(b.insert(net("10.1.2.3/8"), 2), Err(2));
    let t = b.build();
    assert_eq!(t.exact(&net("10.0.0.0/8")), Some(&1));
    assert_eq!(t.len(), 1);
}

#[test]
fn empty_table_matches_nothing() {
    let t: PrefixTable<u8> = PrefixTable::default();
    assert!(t.is_empty());
    assert_eq!(t.longest_match(ip("1.2.3.4")), None);
    assert_eq!(t.longest_match(ip("::1")), None);
}

/// The obvious answer: scan every network, keep the longest that contains the address.
fn naive(nets: &[IpNet], addr: IpAddr) -> Option<IpNet> {
    let addr = match addr {
        IpAddr::V6(a) => a.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        a => a,
    };
    nets.iter()
        .filter(|n| n.contains(&addr))
        .max_by_key(|n| n.prefix_len())
        .copied()
}

fn arb_v4_net() -> impl Strategy<Value = IpNet> {
    // A narrow address space so that prefixes nest and collide often.
    (0u32..64, 0u8..=32).prop_map(|(hi, len)| {
        let a = Ipv4Addr::from(hi.rotate_right(6) | (hi & 3));
        IpNet::V4(Ipv4Net::new(a, len).expect("len <= 32").trunc())
    })
}

fn arb_v6_net() -> impl Strategy<Value = IpNet> {
    arb_v6_net_upto(128)
}

fn arb_v6_net_upto(max: u8) -> impl Strategy<Value = IpNet> {
    (0u128..64, 0u8..=max).prop_map(|(hi, len)| {
        let a = Ipv6Addr::from(hi.rotate_right(6) | (hi & 3));
        IpNet::V6(Ipv6Net::new(a, len).expect("len <= 128").trunc())
    })
}

fn arb_addr() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        (0u32..64, any::<u32>())
            .prop_map(|(hi, lo)| IpAddr::V4(Ipv4Addr::from(hi.rotate_right(6) | (lo >> 6)))),
        (0u128..64, any::<u128>())
            .prop_map(|(hi, lo)| IpAddr::V6(Ipv6Addr::from(hi.rotate_right(6) | (lo >> 6)))),
        any::<u32>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
    ]
}

/// Prefixes packed into a window of `2^width` addresses at `base`, so that
/// the index has to skip the shared leading bits; addresses inside, just
/// around and far outside the window.
fn clustered(base: u128, width: u32, v4: bool) -> impl Strategy<Value = (Vec<IpNet>, Vec<IpAddr>)> {
    let bits = if v4 { 32 } else { 128 };
    let base = if v4 {
        base & u128::from(u32::MAX)
    } else {
        base
    };
    let window = move |off: u128| base.wrapping_add(off & ((1u128 << width) - 1));
    let to_addr = move |x: u128| {
        if v4 {
            IpAddr::V4(Ipv4Addr::from(x as u32))
        } else {
            IpAddr::V6(Ipv6Addr::from(x))
        }
    };
    let lo = bits - width as u8;
    (
        proptest::collection::vec((any::<u128>(), lo..=bits), 0..40).prop_map(move |v| {
            v.into_iter()
                .map(|(off, len)| {
                    IpNet::new(to_addr(window(off)), len)
                        .expect("len <= bits")
                        .trunc()
                })
                .collect()
        }),
        proptest::collection::vec(
            prop_oneof![
                any::<u128>().prop_map(window),
                (0u128..4).prop_map(move |d| base.wrapping_sub(d)),
                (0u128..4).prop_map(move |d| base.wrapping_add(1u128 << width).wrapping_add(d)),
                any::<u128>(),
            ]
            .prop_map(move |x| to_addr(if v4 { x & u128::from(u32::MAX) } else { x })),
            1..40,
        ),
    )
}

fn check_against_scan(nets: &[IpNet], addrs: &[IpAddr]) -> Result<(), TestCaseError> {
    let t: PrefixTable<IpNet> = nets
        .iter()
        .map(|n| (*n, *n))
        .collect::<PrefixTableBuilder<_>>()
        .build();
    for a in addrs {
        let want = naive(nets, *a);
        let got = t.longest_match(*a);
        prop_assert_eq!(got.map(|g| g.0), want, "address {}", a);
        if let Some((n, v)) = got {
            prop_assert_eq!(n, *v);
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn agrees_with_a_linear_scan_when_ipv6_is_at_most_64_bits(
        nets in proptest::collection::vec(prop_oneof![arb_v4_net(), arb_v6_net_upto(64)], 0..60),
        addrs in proptest::collection::vec(arb_addr(), 1..40),
    ) {
        check_against_scan(&nets, &addrs)?;
    }

    #[test]
    fn agrees_with_a_linear_scan(
        nets in proptest::collection::vec(prop_oneof![arb_v4_net(), arb_v6_net()], 0..60),
        addrs in proptest::collection::vec(arb_addr(), 1..40),
    ) {
        check_against_scan(&nets, &addrs)?;
    }

    #[test]
    fn agrees_with_a_linear_scan_when_prefixes_share_leading_bits(
        (nets, addrs) in (
            // Windows anywhere, and near the top of the space (where the
            // index window runs past the end).
            prop_oneof![any::<u128>(), (0u128..1 << 26).prop_map(|d| u128::MAX - d)],
            1u32..=24,
            any::<bool>(),
        )
            .prop_flat_map(|(base, width, v4)| clustered(base, width, v4)),
    ) {
        check_against_scan(&nets, &addrs)?;
    }
}

/// Regression (found by the coverage-zone import proptest): when the index
/// window runs past the top of the address space, the last bucket inside it
/// must still reach the intervals that start after its first address.
#[test]
fn a_network_near_the_top_of_the_space_is_found() {
    let nets = [
        "10.58.40.0/22",
        "30.240.0.0/12",
        "33.41.26.0/28",
        "37.9.29.0/24",
        "37.87.12.8/30",
        "37.171.7.160/27",
        "38.26.240.0/21",
        "41.0.0.0/9",
        "46.208.224.0/19",
        "48.19.3.0/25",
        "49.124.112.0/20",
        "50.200.202.110/31",
        "63.61.144.0/20",
        "63.90.0.0/16",
        "64.32.0.0/12",
        "67.96.37.175/32",
        "255.255.212.0/22",
        "135.0.0.0/8",
        "136.133.144.0/20",
        "219.0.0.0/8",
        "243.252.144.0/23",
    ];
    let t = table(&nets);
    for n in nets {
        let net: IpNet = n.parse().expect("net");
        for a in [net.network(), net.broadcast()] {
            assert_eq!(t.longest_match(a).map(|m| m.0), Some(net), "{a}");
        }
    }
}
