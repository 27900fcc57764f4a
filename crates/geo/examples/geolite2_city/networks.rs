//! The networks of the stand-in database: address blocks split into
//! networks, each pointing at a record, written as a MaxMind DB tree.

use std::net::Ipv6Addr;
use std::path::Path;

use routecast_engine::hash::SplitMix64;

use crate::records::world;
use crate::writer::{self, Value};
use crate::{Error, Rng, Size, LANGUAGES};

/// Splits the block `start/len` into `budget` contiguous networks (at most
/// `max_len` long), by random binary splits: a few large networks, many
/// small ones, every address of the block covered.
pub(crate) fn split(
    rng: &mut Rng,
    start: u128,
    len: u8,
    max_len: u8,
    budget: u64,
    out: &mut impl FnMut(u128, u8),
) {
    if budget <= 1 || len >= max_len {
        out(start, len);
        return;
    }
    let half_capacity = 1u64
        .checked_shl(u32::from(max_len - len - 1))
        .unwrap_or(u64::MAX);
    let share = 0.15 + rng.unit() * 0.7;
    // Each half holds at most `half_capacity` networks, and at least one.
    let least = budget.saturating_sub(half_capacity).max(1);
    let left = ((budget as f64 * share) as u64).clamp(least, half_capacity.min(budget - 1));
    let right = budget - left;
    let bits = if max_len <= 32 { 32 } else { 128 };
    let half = 1u128 << (bits - u32::from(len) - 1);
    split(rng, start, len + 1, max_len, left, out);
    split(rng, start + half, len + 1, max_len, right, out);
}

/// What was written.
#[derive(Debug)]
pub(crate) struct Written {
    pub(crate) ipv4: u64,
    pub(crate) ipv6: u64,
    pub(crate) records: usize,
    /// Addresses inside some of the IPv6 networks (most of 2400::/6 is empty).
    pub(crate) v6_samples: Vec<Ipv6Addr>,
}

pub(crate) fn write(path: &Path, size: Size, seed: u64) -> Result<Written, Error> {
    let mut rng = Rng(SplitMix64::new(seed));
    let w = world(&mut rng, size.cities);
    let mut tree = writer::Tree::new();
    // The network's record: mostly from the block's country, a few from anywhere.
    let pick = |rng: &mut Rng, country: usize| -> u32 {
        let c = if rng.below(10) == 0 {
            rng.skewed(w.by_country.len())
        } else {
            country
        };
        let list = &w.by_country[c];
        // Half the networks go to the big places, half anywhere.
        let i = if rng.below(2) == 0 {
            rng.skewed(list.len())
        } else {
            rng.below(list.len() as u64) as usize
        };
        list[i]
    };
    // IPv4 (under ::/96): every /8 of unicast space but 0, 10 and 127,
    // split into networks.
    let eights: Vec<u32> = (1..224).filter(|o| ![10, 127].contains(o)).collect();
    let mut ipv4 = 0;
    for (i, octet) in eights.iter().enumerate() {
        let budget = size.ipv4_networks * (i as u64 + 1) / eights.len() as u64
            - size.ipv4_networks * i as u64 / eights.len() as u64;
        let country = rng.skewed(w.by_country.len());
        let mut nets = Vec::new();
        split(
            &mut rng,
            u128::from(*octet) << 24,
            8,
            32,
            budget,
            &mut |s, l| nets.push((s, l)),
        );
        for (s, l) in nets {
            tree.insert(s, 96 + l, pick(&mut rng, country))?;
            ipv4 += 1;
        }
    }
    // IPv6: clusters of networks in random /32s of 2400::–2c0f::, each
    // split into /32–/64 networks.
    let clusters = size.ipv6_networks / 20;
    let mut tops: Vec<u32> = (0..clusters)
        .map(|_| 0x2400_0000 + rng.below(0x0810_0000) as u32)
        .collect();
    tops.sort_unstable();
    tops.dedup();
    let (mut ipv6, mut v6_samples) = (0, Vec::new());
    for (i, top) in tops.iter().enumerate() {
        let budget = size.ipv6_networks * (i as u64 + 1) / tops.len() as u64
            - size.ipv6_networks * i as u64 / tops.len() as u64;
        let country = rng.skewed(w.by_country.len());
        let mut nets = Vec::new();
        split(
            &mut rng,
            u128::from(*top) << 96,
            32,
            64,
            budget,
            &mut |s, l| nets.push((s, l)),
        );
        for (s, l) in nets {
            tree.insert(s, l, pick(&mut rng, country))?;
            if ipv6 % 997 == 0 {
                v6_samples.push(Ipv6Addr::from(s + 1));
            }
            ipv6 += 1;
        }
    }
    // MaxMind's aliases of the IPv4 space: IPv4-mapped, Teredo, 6to4.
    tree.alias_ipv4(0xffff << 32, 96)?;
    tree.alias_ipv4(0x2001 << 112, 32)?;
    tree.alias_ipv4(0x2002 << 112, 16)?;
    // The records that networks use, in order of first use.
    let mut data = writer::Data::default();
    let mut offsets = vec![u32::MAX; w.records.len()];
    let mut used = 0;
    for id in tree.data_ids() {
        if offsets[id as usize] == u32::MAX {
            offsets[id as usize] = data.add(&w.records[id as usize].value());
            used += 1;
        }
    }
    let metadata = Value::Map(vec![
        ("binary_format_major_version", Value::U16(2)),
        ("binary_format_minor_version", Value::U16(0)),
        ("build_epoch", Value::U64(1_760_000_000 + seed % 1000)),
        ("database_type", Value::Str("GeoLite2-City".into())),
        (
            "description",
            Value::Map(vec![("en", Value::Str("GeoLite2City database".into()))]),
        ),
        ("ip_version", Value::U16(6)),
        (
            "languages",
            Value::Array(LANGUAGES.iter().map(|l| Value::Str((*l).into())).collect()),
        ),
        ("node_count", Value::U32(tree.node_count())),
        ("record_size", Value::U16(28)),
    ]);
    let bytes = writer::file(
        &tree.encode(|id| offsets[id as usize]),
        &data.bytes,
        &metadata,
    );
    std::fs::write(path, bytes)?;
    Ok(Written {
        ipv4,
        ipv6,
        records: used,
        v6_samples,
    })
}
