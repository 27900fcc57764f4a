//! `Forwarded` (RFC 7239) and `X-Forwarded-For` behind a trusted proxy, on
//! arbitrary header text: no panic, and the client routecast believes is
//! the one the walk from the right gives (an oracle over the readers'
//! nodes, walked the simple way): the rightmost untrusted entry when it is
//! an address, else the last trusted hop before it; never an address
//! written to the left of an untrusted entry. Every address a reader
//! returns is written in the header.
//!
//! The first byte picks the header(s); the rest is the value, its lines
//! split at `\n` (several header lines).
#![no_main]
use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use routecast_server::client::{forwarded_for, x_forwarded_for, Node};
use routecast_server::ClientResolver;

fn canonical(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(a, IpAddr::V4),
        a => a,
    }
}

/// The walk from the right, the simple way.
fn walked(resolver: &ClientResolver, peer: IpAddr, nodes: &[Node]) -> IpAddr {
    let mut reached = peer;
    for node in nodes.iter().rev() {
        match node.addr().map(canonical) {
            Some(a) if resolver.is_trusted(a) => reached = a,
            Some(a) => return a,
            None => return reached,
        }
    }
    reached
}

/// Addresses a token of `value` reads as (a port after an IPv4 dropped).
fn written(value: &str) -> Vec<IpAddr> {
    value
        .split(|c: char| c.is_whitespace() || ",;=\"[]".contains(c))
        .filter_map(|t| {
            t.parse()
                .ok()
                .or_else(|| t.rsplit_once(':').and_then(|(a, _)| a.parse().ok()))
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, value)) = data.split_first() else {
        return;
    };
    let value = String::from_utf8_lossy(value);
    let lines: Vec<&str> = value.split('\n').collect();
    let trusted = vec![
        "10.0.0.0/8".parse().expect("net"),
        "::1/128".parse().expect("net"),
    ];
    let resolver = ClientResolver::new(trusted);
    let peer: IpAddr = "10.0.0.1".parse().expect("address");
    let by_forwarded: Vec<Node> = lines.iter().flat_map(|l| forwarded_for(l)).collect();
    let by_xff: Vec<Node> = lines.iter().flat_map(|l| x_forwarded_for(l)).collect();
    let none: &[&str] = &[];
    let (client, expected) = match pick % 3 {
        0 => (
            resolver.client(peer, lines.iter().copied(), none.iter().copied()),
            walked(&resolver, peer, &by_forwarded),
        ),
        1 => (
            resolver.client(peer, none.iter().copied(), lines.iter().copied()),
            walked(&resolver, peer, &by_xff),
        ),
        _ => {
            let (f, x) = (
                walked(&resolver, peer, &by_forwarded),
                walked(&resolver, peer, &by_xff),
            );
            let both = resolver.client(peer, lines.iter().copied(), lines.iter().copied());
            (both, if f == x { f } else { peer })
        }
    };
    assert_eq!(client, expected, "{value:?}: {by_forwarded:?} {by_xff:?}");
    // The same, said as the issue says it: never left of an untrusted entry.
    let nodes = if pick % 3 == 1 {
        &by_xff
    } else {
        &by_forwarded
    };
    if let Some(stop) = nodes
        .iter()
        .rposition(|n| !n.addr().is_some_and(|a| resolver.is_trusted(a)))
    {
        let is_stop = nodes[stop].addr().map(canonical) == Some(client);
        let left = nodes[..stop]
            .iter()
            .filter_map(|n| n.addr().map(canonical))
            .filter(|a| !resolver.is_trusted(*a));
        for a in left {
            assert!(
                a != client || is_stop || pick % 3 == 2,
                "{value:?}: {client} is left of the stop"
            );
        }
    }
    let words = written(&value);
    for a in by_forwarded.iter().chain(&by_xff).filter_map(|n| n.addr()) {
        assert!(words.contains(&a), "{value:?}: {a} is not written there");
    }
});
