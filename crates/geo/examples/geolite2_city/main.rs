//! Writes a stand-in for MaxMind's GeoLite2-City database at its real size,
//! for measuring the redirector's memory with a full-size City database
//! (`scripts/bench-serve-memory`): the real file cannot be downloaded here
//! and its licence forbids committing it.
//!
//! What is real: the format and the schema. A MaxMind DB, `database_type`
//! "GeoLite2-City", record size 28, an IPv6 tree with the IPv4 networks
//! under `::/96` (and MaxMind's aliases of it at `::ffff:0:0/96`, 2002::/16
//! and 2001::/32), the eight languages; records with `city`, `continent`,
//! `country`, `location`, `postal`, `registered_country` and `subdivisions`
//! maps, names in several scripts, shared parts stored once behind
//! pointers. About 3.5 million networks (3.2 M IPv4, 0.3 M IPv6) and a
//! file of 60–70 MB, like the real one. What is made up: the names, places
//! and which network is where (real ISO country and continent codes, so
//! that routing groups by country still match).
//!
//! ```sh
//! cargo run --release -p routecast-geo --example geolite2_city -- OUT.mmdb [SEED]
//! ```
//!
//! The same seed always gives the same file (the random numbers come from
//! a SplitMix64 written here, not from a crate whose algorithm may change).
//! After writing, the file is read back with the `maxminddb` crate and with
//! routecast's own locator: metadata, and lookups of random addresses.
//!
//! The writer is `writer.rs` beside this file (why not a crate: see there).

mod check;
mod networks;
mod records;
mod writer;

use std::path::Path;

use check::check;
use networks::write;
use routecast_engine::hash::SplitMix64;

pub(crate) type Error = Box<dyn std::error::Error>;

/// How big a database to make.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Size {
    pub(crate) ipv4_networks: u64,
    pub(crate) ipv6_networks: u64,
    pub(crate) cities: usize,
}

/// GeoLite2-City's size (2025–26 editions: about 3.5 M networks, 60–70 MB).
const FULL: Size = Size {
    ipv4_networks: 3_200_000,
    ipv6_networks: 300_000,
    cities: 170_000,
};

pub(crate) const LANGUAGES: [&str; 8] = ["de", "en", "es", "fr", "ja", "pt-BR", "ru", "zh-CN"];

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let out = args.next().ok_or("usage: geolite2_city OUT.mmdb [SEED]")?;
    let seed = args
        .next()
        .map(|s| s.parse::<u64>())
        .transpose()?
        .unwrap_or(1);
    let started = std::time::Instant::now();
    let written = write(Path::new(&out), FULL, seed)?;
    println!(
        "wrote {out}: {} networks ({} IPv4, {} IPv6), {} distinct records, {:.1} MB in {:.1} s",
        written.ipv4 + written.ipv6,
        written.ipv4,
        written.ipv6,
        written.records,
        std::fs::metadata(&out)?.len() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let checked = check(Path::new(&out), seed, &written.v6_samples)?;
    println!(
        "checked with maxminddb: {} nodes, record size 28, {}/{} random IPv4 addresses and {}/{} IPv6 network starts found; routecast locates them",
        checked.nodes, checked.v4_found, checked.v4_tried, checked.v6_found, checked.v6_tried
    );
    Ok(())
}

/// SplitMix64: small, fast, and fixed forever, so a seed names a file.
#[derive(Debug, Clone)]
pub(crate) struct Rng(SplitMix64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0.next_u64()
    }
    /// Uniform in `0..n` (`n` > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// An index in `0..n` skewed towards 0 (a few big places, many small).
    pub(crate) fn skewed(&mut self, n: usize) -> usize {
        let u = self.unit();
        ((u * u * u) * n as f64) as usize % n.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small database of the same shape: written, read back, the same
    /// bytes from the same seed.
    #[test]
    fn a_small_database_reads_back_and_is_deterministic() -> Result<(), Error> {
        let dir = tempfile::tempdir()?;
        let small = Size {
            ipv4_networks: 20_000,
            ipv6_networks: 2_000,
            cities: 2_000,
        };
        let (a, b) = (dir.path().join("a.mmdb"), dir.path().join("b.mmdb"));
        let written = write(&a, small, 7)?;
        assert_eq!((written.ipv4, written.ipv6), (20_000, 2_000));
        write(&b, small, 7)?;
        assert_eq!(std::fs::read(&a)?, std::fs::read(&b)?);
        let c = check(&a, 7, &written.v6_samples)?;
        assert_eq!(c.v4_found, c.v4_tried, "the IPv4 unicast space is covered");
        assert!(c.v6_tried > 0 && c.v6_found == c.v6_tried, "{c:?}");
        Ok(())
    }
}
