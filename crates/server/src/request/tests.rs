use std::sync::atomic::{AtomicU32, Ordering};

use routecast_engine::CountryCode;

use super::*;

/// Answers a country from the address's last byte; counts lookups.
struct Counting(AtomicU32);
impl Locator for Counting {
    fn locate(&self, addr: IpAddr) -> Location {
        self.0.fetch_add(1, Ordering::Relaxed);
        let b = match addr {
            IpAddr::V4(a) => a.octets()[3],
            IpAddr::V6(a) => a.octets()[15],
        };
        Location {
            country: (if b % 2 == 0 { "NL" } else { "DE" })
                .parse::<CountryCode>()
                .ok(),
            ..Location::default()
        }
    }
}

#[test]
fn cached_locations_are_exact_and_dropped_with_their_snapshot() {
    let l = Counting(AtomicU32::new(0));
    let mut c = PlaceCache {
        generation: 0,
        cache: LocationCache::with_slot_bits(12),
    };
    let addrs: Vec<IpAddr> = (0..20_000u32)
        .map(|i| IpAddr::from((0x0a00_0000 + i).to_be_bytes()))
        .collect();
    for a in &addrs {
        assert_eq!(c.locate(1, &l, *a), l.locate(*a), "{a}");
    }
    // Thousands of collisions in 4096 slots, never a wrong answer.
    let before = l.0.load(Ordering::Relaxed);
    let a = addrs[7];
    c.locate(1, &l, a);
    c.locate(1, &l, a);
    assert_eq!(
        l.0.load(Ordering::Relaxed),
        before + 1,
        "the second lookup is cached"
    );
    c.locate(2, &l, a);
    assert_eq!(
        l.0.load(Ordering::Relaxed),
        before + 2,
        "a new snapshot looks up again"
    );
}
