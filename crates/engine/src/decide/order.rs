//! Ordering the candidates: sort tiers first (room, spilled, full,
//! draining), then the rankers' keys in chain order, then declaration
//! order. Policies with a few rankers sort packed integer keys.

use crate::ids::SiteId;

use super::evaluate::{Work, DROPPED, TIER_DRAINING};

/// Policies with up to this many rankers sort on packed integer keys.
pub(super) const PACKED_RANKERS: usize = 3;

/// Maps an f64 to a u64 whose unsigned order is `f64::total_cmp`'s order.
#[inline]
fn ordered_bits(x: f64) -> u64 {
    // Negative: all bits flipped; positive: the sign bit set. Branch-free,
    // as the sign of random keys is not predictable.
    let b = x.to_bits();
    let negative = ((b as i64) >> 63) as u64;
    b ^ (negative | 1 << 63)
}

impl Work<'_> {
    /// The key columns of the first [`PACKED_RANKERS`] rankers (empty
    /// slices past the policy's rankers), each one key per site.
    fn columns(&self) -> [&[f64]; PACKED_RANKERS] {
        let n = self.sites.len();
        std::array::from_fn(|r| self.keys.get(r * n..(r + 1) * n).unwrap_or(&[]))
    }

    /// Ranker `r`'s key for site `site`.
    #[inline]
    fn key(&self, site: usize, r: usize) -> f64 {
        self.keys[r * self.sites.len() + site]
    }

    /// Lexicographic order of two sites by the rankers' keys, then by
    /// declaration order: the first ranker decides, later ones break ties.
    fn by_keys(&self, rankers: usize, a: SiteId, b: SiteId) -> std::cmp::Ordering {
        for r in 0..rankers {
            let o = self.key(a.index(), r).total_cmp(&self.key(b.index(), r));
            if o.is_ne() {
                return o;
            }
        }
        a.cmp(&b)
    }

    /// The first candidate and the site preferred before capacity, without
    /// ordering the rest: one linear scan over packed keys.
    pub(super) fn best(&self) -> (Option<SiteId>, Option<SiteId>) {
        let rankers = self.rankers;
        let alive = (0..self.sites.len())
            .filter(|i| self.tier[*i] != DROPPED)
            .map(|i| SiteId(i as u16));
        let tier = |s: SiteId| self.tier[s.index()];
        let draining = |s: SiteId| u8::from(tier(s) == TIER_DRAINING);
        if rankers > PACKED_RANKERS {
            let site = alive.clone().min_by(|a, b| {
                tier(*a)
                    .cmp(&tier(*b))
                    .then_with(|| self.by_keys(rankers, *a, *b))
            });
            let preferred = alive.min_by(|a, b| {
                draining(*a)
                    .cmp(&draining(*b))
                    .then_with(|| self.by_keys(rankers, *a, *b))
            });
            return (site, preferred);
        }
        const ID: usize = PACKED_RANKERS + 1;
        let (mut site, mut preferred): (Option<[u64; ID + 1]>, Option<[u64; ID + 1]>) =
            (None, None);
        for (i, t) in self.tier[..self.sites.len()].iter().enumerate() {
            if *t == DROPPED {
                continue;
            }
            // `packed_key`'s key, built here from the policy's own rankers:
            // through `columns` this scan measured 5 % slower.
            let mut k = [0u64; ID + 1];
            for (r, slot) in k[1..=rankers].iter_mut().enumerate() {
                *slot = ordered_bits(self.key(i, r));
            }
            k[ID] = i as u64;
            k[0] = u64::from(*t);
            if site.is_none_or(|b| packed_cmp(&k, &b).is_lt()) {
                site = Some(k);
            }
            k[0] = u64::from(*t == TIER_DRAINING);
            if preferred.is_none_or(|b| packed_cmp(&k, &b).is_lt()) {
                preferred = Some(k);
            }
        }
        let id = |k: [u64; ID + 1]| SiteId(k[ID] as u16);
        (site.map(id), preferred.map(id))
    }

    /// The chosen site, the other candidates in order (the fallbacks), and
    /// the site preferred before capacity.
    pub(super) fn order(
        &mut self,
        rankers: usize,
    ) -> (Option<SiteId>, Vec<SiteId>, Option<SiteId>) {
        let n = self.sites.len();
        let alive = (0..n)
            .filter(|i| self.tier[*i] != DROPPED)
            .map(|i| SiteId(i as u16));
        let tier = |s: SiteId| self.tier[s.index()];
        if rankers > PACKED_RANKERS {
            let draining = |s: SiteId| u8::from(tier(s) == TIER_DRAINING);
            let mut order: Vec<SiteId> = Vec::with_capacity(n);
            order.extend(alive);
            let preferred = order.iter().copied().min_by(|a, b| {
                draining(*a)
                    .cmp(&draining(*b))
                    .then_with(|| self.by_keys(rankers, *a, *b))
            });
            // Unstable is deterministic here: no two sites compare equal.
            order.sort_unstable_by(|a, b| {
                tier(*a)
                    .cmp(&tier(*b))
                    .then_with(|| self.by_keys(rankers, *a, *b))
            });
            let site = (!order.is_empty()).then(|| order.remove(0));
            return (site, order, preferred);
        }
        // Fast path: one integer array per site, compared lexicographically:
        // [tier, ranker keys…, site index].
        const ID: usize = PACKED_RANKERS + 1;
        let mut packed = std::mem::take(&mut self.packed);
        packed.clear();
        packed.reserve(n);
        let cols = self.columns();
        let tiers = &self.tier[..n];
        for (i, t) in tiers.iter().enumerate() {
            if *t != DROPPED {
                packed.push(packed_key(*t, &cols, i));
            }
        }
        packed.sort_unstable_by(packed_cmp);
        // The preferred site orders first by keys alone among the sites
        // that are not draining (among all when every one drains). Within a
        // tier the keys are sorted, so only each tier's first can be it.
        let mut preferred: Option<&[u64; ID + 1]> = None;
        let mut last_tier = None;
        for k in &packed {
            if last_tier == Some(k[0]) {
                continue;
            }
            last_tier = Some(k[0]);
            if k[0] != u64::from(TIER_DRAINING)
                && preferred.is_none_or(|p| {
                    packed_cmp(&[0, k[1], k[2], k[3], k[4]], &[0, p[1], p[2], p[3], p[4]]).is_lt()
                })
            {
                preferred = Some(k);
            }
        }
        let preferred = preferred.or(packed.first()).map(|k| SiteId(k[ID] as u16));
        let id = |k: &[u64; ID + 1]| SiteId(k[ID] as u16);
        let site = packed.first().map(id);
        let mut fallbacks = Vec::with_capacity(packed.len().saturating_sub(1));
        fallbacks.extend(packed.iter().skip(1).map(id));
        self.packed = packed;
        (site, fallbacks, preferred)
    }
}

/// A site's sort key when the policy has at most [`PACKED_RANKERS`]
/// rankers: `[tier, ranker keys…, site index]`, compared lexicographically.
#[inline(always)]
fn packed_key(tier: u8, cols: &[&[f64]; PACKED_RANKERS], site: usize) -> [u64; PACKED_RANKERS + 2] {
    let mut k = [0u64; PACKED_RANKERS + 2];
    k[0] = u64::from(tier);
    for (slot, col) in k[1..=PACKED_RANKERS].iter_mut().zip(cols) {
        *slot = col.get(site).map_or(0, |x| ordered_bits(*x));
    }
    k[PACKED_RANKERS + 1] = site as u64;
    k
}

/// The lexicographic order of two packed keys, unrolled: the standard
/// array comparison goes through a generic slice loop, several times slower
/// on these five-word keys (sorting them is a good part of a decision).
#[inline(always)]
fn packed_cmp(a: &[u64; PACKED_RANKERS + 2], b: &[u64; PACKED_RANKERS + 2]) -> std::cmp::Ordering {
    // As two 128-bit words and one 64-bit word: each compares branch-free.
    let wide = |k: &[u64; PACKED_RANKERS + 2]| {
        (
            u128::from(k[0]) << 64 | u128::from(k[1]),
            u128::from(k[2]) << 64 | u128::from(k[3]),
            k[4],
        )
    };
    wide(a).cmp(&wide(b))
}

#[cfg(test)]
mod tests {
    use super::ordered_bits;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn ordered_bits_agrees_with_total_cmp(a in any::<f64>(), b in any::<f64>()) {
            prop_assert_eq!(ordered_bits(a).cmp(&ordered_bits(b)), a.total_cmp(&b));
        }
    }
}
