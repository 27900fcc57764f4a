//! Deterministic hashing: the engine's only source of randomness.
//!
//! Weighted ranking, consistent hashing and capacity spill-over draw their
//! "random" numbers from hashes of the request's facts (client address, path)
//! and the site's name, with xxHash3 (a specified, stable algorithm), so a
//! replay makes exactly the decisions the server made.

use std::net::IpAddr;

use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

/// Hash of a string.
#[inline]
pub fn hash_str(s: &str) -> u64 {
    hash_bytes(s.as_bytes())
}

/// [`hash_str`] of bytes that need not be UTF-8 (a path from a log): the
/// same hash for the same bytes.
#[inline]
pub fn hash_bytes(b: &[u8]) -> u64 {
    xxh3_64(b)
}

/// Hash of a client address (IPv4-mapped IPv6 hashes as the IPv4 address).
#[inline]
pub fn hash_addr(a: IpAddr) -> u64 {
    match a {
        IpAddr::V4(v4) => xxh3_64(&v4.octets()),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => xxh3_64(&v4.octets()),
            None => xxh3_64(&v6.octets()),
        },
    }
}

/// Combines two hashes into a new, well-mixed one.
#[inline]
pub fn mix(a: u64, b: u64) -> u64 {
    xxh3_64_with_seed(&b.to_le_bytes(), a)
}

/// A number in (0, 1] from a hash, uniform over 2^53 steps.
#[inline]
pub fn unit(h: u64) -> f64 {
    ((h >> 11) as f64 + 1.0) / (1u64 << 53) as f64
}

/// The weighted-rendezvous key of a site (lower ranks first): an exponential
/// variate divided by the weight, so that each site comes first with
/// probability proportional to its weight; weight 0 always comes last.
#[inline]
pub fn rendezvous_key(seed: u64, site: u64, weight: f64) -> f64 {
    if weight <= 0.0 {
        return f64::INFINITY;
    }
    -unit(mix(seed, site)).ln() / weight
}

/// SplitMix64 (Steele, Lea, Flood 2014): a small, fast generator whose
/// sequence is fixed forever, so that a seed names an output (the
/// synthetic logs of `routecast synth`, benchmark and test data). Not for
/// decisions: those hash the request's facts (above).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// The generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_is_in_the_half_open_interval() {
        assert!(unit(0) > 0.0);
        assert_eq!(unit(u64::MAX), 1.0);
    }

    #[test]
    fn splitmix64_gives_the_reference_sequence() {
        // The first outputs for seed 1234567 of the authors' C reference.
        let mut r = SplitMix64::new(1_234_567);
        assert_eq!(r.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(r.next_u64(), 3_203_168_211_198_807_973);
    }

    /// Changing any of these moves viewers between sites in every replay
    /// and every server: bump with care. The values are the reference C
    /// library's (libxxhash 0.8.1: `XXH3_64bits`, `XXH3_64bits_withSeed`),
    /// not this crate's output.
    #[test]
    fn hashes_are_stable_across_releases() {
        assert_eq!(hash_str("ams"), 6_819_174_000_969_251_138);
        assert_eq!(
            hash_bytes(b"/live/news/index.m3u8"),
            15_485_323_561_093_462_025
        );
        let addr = |a: &str| hash_addr(a.parse().expect("ip"));
        // The four bytes of an IPv4 address, mapped or not; the sixteen of IPv6.
        assert_eq!(addr("192.0.2.1"), 3_178_573_899_526_495_306);
        assert_eq!(addr("::ffff:192.0.2.1"), 3_178_573_899_526_495_306);
        assert_eq!(addr("2001:db8::1"), 2_836_299_806_520_711_584);
        // Seeded by the first, over the second's little-endian bytes.
        assert_eq!(mix(1, 2), 1_667_139_887_444_314_012);
        assert_eq!(
            mix(hash_str("ams"), hash_str("fra")),
            3_792_024_609_407_113_939
        );
    }

    /// The rendezvous key, `-ln(unit(mix(seed, site))) / weight`, worked
    /// out in Python's doubles from the reference library's hashes.
    #[test]
    fn rendezvous_keys_are_stable_across_releases() {
        let key = |seed, site: &str, weight| rendezvous_key(seed, hash_str(site), weight).to_bits();
        assert_eq!(key(42, "nyc", 3.0), 4_595_016_102_942_448_536); // 0.16231690025162204
        assert_eq!(
            key(hash_str("seed"), "ams", 1.0),
            4_596_442_781_684_387_684 // 0.2019151899527244
        );
        assert_eq!(rendezvous_key(7, hash_str("ams"), 0.0), f64::INFINITY);
    }

    #[test]
    fn rendezvous_wins_in_proportion_to_weight() {
        let (a, b) = (hash_str("a"), hash_str("b"));
        let wins = (0..20_000u64)
            .filter(|i| rendezvous_key(*i, a, 3.0) < rendezvous_key(*i, b, 1.0))
            .count();
        // Expected 15,000 (3 / (3 + 1)); 5 standard deviations is about 300.
        assert!((14_700..15_300).contains(&wins), "{wins}");
    }
}
