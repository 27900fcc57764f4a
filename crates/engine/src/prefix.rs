//! Longest-prefix match over IPv4 and IPv6 networks.
//!
//! Written by hand, on purpose: the general-purpose prefix tries on crates.io
//! (`prefix-trie`, `iptrie`) answer 5–9 million lookups a second on a table of
//! 500,000 mixed prefixes on our machines, short of the 10 million the
//! redirector and the simulator need (see BENCHMARKS.md; the bench
//! `prefix` measures them side by side). Our tables are built once from a
//! configuration and never change afterwards, so they can be compiled into a
//! flat form that a trie cannot beat:
//!
//! * the nested prefixes of each address family are flattened into sorted,
//!   disjoint address intervals, each carrying the most specific prefix that
//!   covers it (at most `2n + 1` intervals for `n` prefixes);
//! * a 65,536-entry index on the 16 leading bits that vary across the table
//!   (the top 16 for IPv4 tables spread over the whole space, the 16 after
//!   `2000::/3` for global IPv6) narrows the search to a few intervals;
//! * interval starts and answers are separate arrays: the binary search walks
//!   packed keys, then reads one answer. A lookup is one index load, one or
//!   two cache lines of keys, one answer: about three cache misses, whatever
//!   the table size.
//!
//! IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, as a dual-stack socket reports
//! IPv4 peers) are looked up as the IPv4 address they are.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// Marks an interval that no prefix covers.
const NONE: u32 = u32::MAX;

/// Collects networks and their values, then compiles a [`PrefixTable`].
#[derive(Debug, Clone)]
pub struct PrefixTableBuilder<T> {
    entries: BTreeMap<IpNet, T>,
}

impl<T> Default for PrefixTableBuilder<T> {
    fn default() -> Self {
        Self {
            entries: BTreeMap::new(),
        }
    }
}

impl<T> PrefixTableBuilder<T> {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `net` (host bits are cleared first). If the same network was
    /// already added, keeps the first value and returns the new one back.
    pub fn insert(&mut self, net: IpNet, value: T) -> Result<(), T> {
        use std::collections::btree_map::Entry;
        match self.entries.entry(net.trunc()) {
            Entry::Occupied(_) => Err(value),
            Entry::Vacant(v) => {
                v.insert(value);
                Ok(())
            }
        }
    }

    /// The value added for exactly this network.
    pub fn get(&self, net: &IpNet) -> Option<&T> {
        self.entries.get(&net.trunc())
    }

    /// Number of networks added so far.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no network was added.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Compiles the lookup structure.
    pub fn build(self) -> PrefixTable<T>
    where
        T: Clone,
    {
        let entries: Vec<(IpNet, T)> = self.entries.into_iter().collect();
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for (i, (net, _)) in entries.iter().enumerate() {
            // Entry indexes fit in u32: a table of 4 billion networks is not a
            // configuration anybody can load.
            let i = u32::try_from(i).unwrap_or(NONE - 1);
            match net {
                IpNet::V4(n) => v4.push(Span::new(
                    u32::from(n.network()),
                    u32::from(n.broadcast()),
                    i,
                )),
                IpNet::V6(n) => v6.push(Span::new(
                    u128::from(n.network()),
                    u128::from(n.broadcast()),
                    i,
                )),
            }
        }
        // Prefixes of /64 or shorter (all of GeoIP and BGP in practice) are
        // told apart by the top 64 bits: half the memory per interval.
        let short = entries
            .iter()
            .all(|(n, _)| matches!(n, IpNet::V4(_)) || n.prefix_len() <= 64);
        let v6 = if short {
            let top = |x: u128| (x >> 64) as u64;
            let spans: Vec<Span<u64>> = v6
                .iter()
                .map(|s| Span::new(top(s.first), top(s.last), s.entry))
                .collect();
            V6::Short(Intervals::from_spans(&spans, &entries))
        } else {
            V6::Long(Intervals::from_spans(&v6, &entries))
        };
        PrefixTable {
            v4: Intervals::from_spans(&v4, &entries),
            v6,
            entries,
        }
    }
}

impl<T> FromIterator<(IpNet, T)> for PrefixTableBuilder<T> {
    /// Collects networks; a repeated network keeps its first value.
    fn from_iter<I: IntoIterator<Item = (IpNet, T)>>(iter: I) -> Self {
        let mut b = Self::new();
        for (net, v) in iter {
            let _ = b.insert(net, v);
        }
        b
    }
}

/// A compiled, immutable table from IP networks to values, answering
/// longest-prefix-match queries.
#[derive(Clone)]
pub struct PrefixTable<T> {
    v4: Intervals<u32, T>,
    v6: V6<T>,
    entries: Vec<(IpNet, T)>,
}

/// The IPv6 intervals, keyed by the top 64 bits when every IPv6 prefix is
/// /64 or shorter.
#[derive(Debug, Clone)]
enum V6<T> {
    Short(Intervals<u64, T>),
    Long(Intervals<u128, T>),
}

impl<T: Clone> Default for PrefixTable<T> {
    fn default() -> Self {
        PrefixTableBuilder::new().build()
    }
}

impl<T> std::fmt::Debug for PrefixTable<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrefixTable")
            .field("networks", &self.entries.len())
            .field("v4_intervals", &self.v4.starts.len())
            .field(
                "v6_intervals",
                &match &self.v6 {
                    V6::Short(i) => i.starts.len(),
                    V6::Long(i) => i.starts.len(),
                },
            )
            .finish()
    }
}

impl<T> PrefixTable<T> {
    /// The most specific network containing `addr`, and its value.
    #[inline]
    pub fn longest_match(&self, addr: IpAddr) -> Option<(IpNet, &T)> {
        match addr {
            IpAddr::V4(a) => self.match_v4(a),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(a) => self.match_v4(a),
                None => {
                    let bits = u128::from(a);
                    let answer = match &self.v6 {
                        V6::Short(i) => i.find((bits >> 64) as u64),
                        V6::Long(i) => i.find(bits),
                    };
                    let (len, v) = answer.as_ref()?;
                    let net = Ipv6Net::new(a, *len).ok()?.trunc();
                    Some((IpNet::V6(net), v))
                }
            },
        }
    }

    #[inline]
    fn match_v4(&self, a: Ipv4Addr) -> Option<(IpNet, &T)> {
        let (len, v) = self.v4.find(u32::from(a)).as_ref()?;
        let net = Ipv4Net::new(a, *len).ok()?.trunc();
        Some((IpNet::V4(net), v))
    }

    /// The value stored for exactly this network.
    pub fn exact(&self, net: &IpNet) -> Option<&T> {
        let net = net.trunc();
        self.entries
            .binary_search_by(|(n, _)| n.cmp(&net))
            .ok()
            .map(|i| &self.entries[i].1)
    }

    /// Number of networks in the table.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the table holds no network.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every network and its value, in `IpNet` order (IPv4 first).
    pub fn iter(&self) -> impl Iterator<Item = (IpNet, &T)> {
        self.entries.iter().map(|(n, v)| (*n, v))
    }
}

/// An address type the interval index works on.
trait Key: Copy + Ord + std::fmt::Debug {
    const ZERO: Self;
    const BITS: u32;
    fn succ(self) -> Option<Self>;
    fn wrapping_sub(self, o: Self) -> Self;
    fn leading_zeros(self) -> u32;
    /// `self >> shift` as an index, `usize::MAX` when it does not fit.
    fn shr_index(self, shift: u32) -> usize;
    /// `b << shift`.
    fn shl_from(b: usize, shift: u32) -> Self;
    fn checked_add_to(self, base: Self) -> Option<Self>;
}

macro_rules! key {
    ($t:ty) => {
        impl Key for $t {
            const ZERO: Self = 0;
            const BITS: u32 = <$t>::BITS;
            fn succ(self) -> Option<Self> {
                self.checked_add(1)
            }
            fn wrapping_sub(self, o: Self) -> Self {
                <$t>::wrapping_sub(self, o)
            }
            fn leading_zeros(self) -> u32 {
                <$t>::leading_zeros(self)
            }
            #[inline]
            fn shr_index(self, shift: u32) -> usize {
                usize::try_from(self >> shift).unwrap_or(usize::MAX)
            }
            fn shl_from(b: usize, shift: u32) -> Self {
                (b as $t) << shift
            }
            fn checked_add_to(self, base: Self) -> Option<Self> {
                base.checked_add(self)
            }
        }
    };
}
key!(u32);
key!(u64);
key!(u128);

/// One prefix as an inclusive address range.
#[derive(Debug, Clone, Copy)]
struct Span<K> {
    first: K,
    last: K,
    entry: u32,
}

impl<K: Key> Span<K> {
    fn new(first: K, last: K, entry: u32) -> Self {
        Self { first, last, entry }
    }
}

/// Index buckets per address family: a 256 KiB index, small enough to stay
/// mostly in the second-level cache.
const BUCKET_BITS: u32 = 16;
const BUCKETS: usize = 1 << BUCKET_BITS;

/// Sorted disjoint intervals covering the whole address space: interval `i`
/// covers `starts[i]..starts[i + 1]` and carries the prefix length and value
/// of the most specific network covering it, if any.
///
/// Starts and answers are separate arrays so that the binary search walks
/// densely packed keys (sixteen IPv4 starts to a cache line) and touches the
/// answer only once, at the end.
#[derive(Debug, Clone)]
struct Intervals<K, T> {
    starts: Vec<K>,
    answers: Vec<Option<(u8, T)>>,
    /// The first start after the zero one: addresses below it are in
    /// interval 0. The index covers `base..base + 2^(shift + 16)`, the
    /// smallest aligned window holding every start, so that tables whose
    /// prefixes share leading bits (IPv6 in 2000::/3) still use every bucket.
    base: K,
    shift: u32,
    /// `index[b]`: the last interval starting at or before bucket `b`'s first
    /// address; `index[BUCKETS]` is the interval count.
    index: Vec<u32>,
}

/// The flattening in progress: interval starts and entry indexes.
struct Flat<K> {
    starts: Vec<K>,
    entry: Vec<u32>,
}

impl<K: Key, T: Clone> Intervals<K, T> {
    /// Flattens properly nested or disjoint spans (as prefixes always are).
    fn from_spans(spans: &[Span<K>], entries: &[(IpNet, T)]) -> Self {
        let mut sorted: Vec<&Span<K>> = spans.iter().collect();
        // Wider spans first at the same start, so parents precede children.
        sorted.sort_by(|a, b| a.first.cmp(&b.first).then(b.last.cmp(&a.last)));
        let mut flat = Flat {
            starts: vec![K::ZERO],
            entry: vec![NONE],
        };
        let mut open: Vec<&Span<K>> = Vec::new();
        for s in sorted {
            flat.close_before(&mut open, Some(s.first));
            flat.push(s.first, s.entry);
            open.push(s);
        }
        flat.close_before(&mut open, None);
        let answers = flat
            .entry
            .iter()
            .map(|e| {
                entries
                    .get(*e as usize)
                    .map(|(net, v)| (net.prefix_len(), v.clone()))
            })
            .collect();
        let base = flat.starts.get(1).copied().unwrap_or(K::ZERO);
        let last = flat.starts[flat.starts.len() - 1];
        // Bits that differ somewhere in base..=last, rounded up to at least
        // the 16 the index resolves.
        let width = K::BITS - last.wrapping_sub(base).leading_zeros();
        let shift = width.saturating_sub(BUCKET_BITS);
        let index = flat.index(base, shift);
        Intervals {
            starts: flat.starts,
            answers,
            base,
            shift,
            index,
        }
    }
}

impl<K: Key, T> Intervals<K, T> {
    #[inline]
    fn find(&self, addr: K) -> &Option<(u8, T)> {
        if addr < self.base {
            return &self.answers[0];
        }
        let b = addr.wrapping_sub(self.base).shr_index(self.shift);
        if b >= BUCKETS {
            // Past the last start: the last interval.
            return &self.answers[self.answers.len() - 1];
        }
        let lo = self.index[b] as usize;
        let hi = (self.index[b + 1] as usize + 1).min(self.starts.len());
        // starts[lo] <= addr always holds, so the partition point is >= 1.
        let pp = self.starts[lo..hi].partition_point(|s| *s <= addr);
        &self.answers[lo + pp - 1]
    }
}

impl<K: Key> Flat<K> {
    /// Pops the open spans that end before `next` (all of them for `None`),
    /// resuming the enclosing span's entry after each.
    fn close_before(&mut self, open: &mut Vec<&Span<K>>, next: Option<K>) {
        while let Some(top) = open.last() {
            if next.is_some_and(|n| top.last >= n) {
                break;
            }
            let end = top.last;
            open.pop();
            if let Some(after) = end.succ() {
                let resumed = open.last().map_or(NONE, |p| p.entry);
                self.push(after, resumed);
            }
        }
    }

    fn push(&mut self, start: K, entry: u32) {
        // Invariant: `starts` is never empty (it opens with ZERO).
        let last = self.starts.len() - 1;
        if self.starts[last] == start {
            self.entry[last] = entry;
        } else {
            self.starts.push(start);
            self.entry.push(entry);
        }
        // Merge with the previous interval when the entry did not change.
        let n = self.starts.len();
        if n >= 2 && self.entry[n - 1] == self.entry[n - 2] {
            self.starts.pop();
            self.entry.pop();
        }
    }

    fn index(&self, base: K, shift: u32) -> Vec<u32> {
        let mut index = Vec::with_capacity(BUCKETS + 1);
        let mut i = 0usize;
        for b in 0..BUCKETS {
            let Some(first) = K::shl_from(b, shift).checked_add_to(base) else {
                // Past the end of the address space: every interval starts
                // before this bucket (a search in the bucket below must
                // reach the last one).
                i = self.starts.len() - 1;
                index.push(i as u32);
                continue;
            };
            while i + 1 < self.starts.len() && self.starts[i + 1] <= first {
                i += 1;
            }
            index.push(i as u32);
        }
        index.push(self.starts.len() as u32);
        index
    }
}

#[cfg(test)]
mod tests;
