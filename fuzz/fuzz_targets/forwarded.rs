//! `Forwarded` (RFC 7239) and `X-Forwarded-For` behind a trusted proxy, on
//! arbitrary header text: no panic, and the client routecast believes is
//! the peer or an address written in the header, never a trusted proxy's,
//! and the nearest (rightmost) untrusted one.
//!
//! The first byte picks the header; the rest is its value.
#![no_main]
use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use routecast_server::client::{forwarded_for, x_forwarded_for};
use routecast_server::ClientResolver;

fn canonical(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(a, IpAddr::V4),
        a => a,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, value)) = data.split_first() else {
        return;
    };
    let value = String::from_utf8_lossy(value);
    let trusted = vec![
        "10.0.0.0/8".parse().expect("net"),
        "::1/128".parse().expect("net"),
    ];
    let resolver = ClientResolver::new(trusted);
    let peer: IpAddr = "10.0.0.1".parse().expect("address");
    let (forwarded, xff) = if pick % 2 == 0 {
        (Some(value.as_ref()), None)
    } else {
        (None, Some(value.as_ref()))
    };
    let chain: Vec<IpAddr> = match forwarded {
        Some(f) => forwarded_for(f),
        None => x_forwarded_for(&value),
    };
    let client = resolver.client(peer, forwarded, xff);
    if client == peer {
        // Only when every address in the chain is a trusted proxy's.
        assert!(
            chain.iter().all(|a| resolver.is_trusted(*a)),
            "{value:?}: {chain:?}"
        );
        return;
    }
    assert!(
        !resolver.is_trusted(client),
        "{value:?} gave a trusted {client}"
    );
    // The nearest (rightmost) untrusted address of the chain.
    let nearest = chain
        .iter()
        .rev()
        .map(|a| canonical(*a))
        .find(|a| !resolver.is_trusted(*a));
    assert_eq!(nearest, Some(client), "{value:?}: {chain:?}");
    // Every address of the chain is written in the header: some token
    // between its delimiters or white space reads as it (a port after an
    // IPv4 dropped).
    let written: Vec<IpAddr> = value
        .split(|c: char| c.is_whitespace() || ",;=\"[]".contains(c))
        .filter_map(|t| {
            t.parse()
                .ok()
                .or_else(|| t.rsplit_once(':').and_then(|(a, _)| a.parse().ok()))
        })
        .collect();
    for a in &chain {
        assert!(written.contains(a), "{value:?}: {a} is not written there");
    }
});
