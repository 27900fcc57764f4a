//! Policies: which chain of steps applies to a request, and the steps.

use std::fmt;

use crate::ids::GroupId;

/// A validated routing policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Unique name.
    pub name: String,
    /// Groups it applies to; `None` is every group.
    pub groups: Option<Vec<GroupId>>,
    /// Path prefixes it applies to; empty is all content.
    pub content: Vec<String>,
    /// The chain, with the implicit steps in place (see [`Step`]).
    pub steps: Vec<PolicyStep>,
}

/// A step in a chain, and whether the configuration wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyStep {
    /// What the step does.
    pub step: Step,
    /// Added by routecast: `available`, `serves_content` and
    /// `allowed_for_group` first and `capacity` (headroom 0) last are always
    /// part of a chain, so that no policy can send viewers to a down site, to
    /// a site without the content, to one their group may not use, or to a
    /// full one while another has room.
    pub implicit: bool,
}

/// What a step does. Filters drop (or demote) sites; rankers order them.
///
/// Order of the result: sites demoted by `available` (draining) and
/// `capacity` come after the others; within that, the first ranker in the
/// chain decides, later rankers break its ties, and remaining ties keep the
/// order in which sites are declared in the configuration.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Step {
    /// Drops down and disabled sites; draining sites go last.
    Available,
    /// Drops sites whose content prefixes do not cover the path.
    ServesContent,
    /// Drops sites the client's group may not use.
    AllowedForGroup,
    /// Above `capacity × (1 − headroom)` a site keeps a falling share of
    /// requests (linearly to none at capacity); the rest spill behind the
    /// sites with room. Which requests spill is decided by a hash of the
    /// client address, so a viewer keeps its site while load is steady.
    Capacity {
        /// Fraction of capacity kept free, 0 to 1.
        headroom: f64,
    },
    /// Cheapest marginal price per GB first.
    LeastCost,
    /// Nearest first; distances within the same `bucket_km` band tie.
    /// Build it with [`Step::closest`].
    Closest {
        /// Band width in km (0: exact).
        bucket_km: f64,
        /// The bands as chord lengths between unit vectors, so that ranking
        /// needs no trigonometry.
        bands: Bands,
    },
    /// Weighted random order, seeded by the client address and path.
    Weighted,
    /// Weighted rendezvous hash of the content key.
    ConsistentHash {
        /// What part of the path is hashed.
        key: HashKey,
    },
    /// Listed sites first, in list order; `rank[site]` is the position.
    Preference {
        /// Position of each site (index by `SiteId`); unlisted sites share the last.
        rank: Vec<u16>,
    },
}

/// Distance bands of a `closest` step, in chord space: band `k` holds the
/// chords in `[bounds[k - 1], bounds[k])`. A table over 1,024 equal chord
/// cells gives the band at each cell's start and the next bound, so that
/// finding a band is one table load and one comparison (more only in the
/// cells that hold several bounds: narrow bands, or near the antipode, where
/// a cell spans hundreds of kilometres).
#[derive(Debug, Clone, PartialEq)]
pub struct Bands {
    /// The band bounds, then one `+∞` so that `bounds[band]` exists for
    /// every band.
    bounds: Vec<f64>,
    /// Per cell: the band at the cell's start, the bound that ends it, and
    /// how many bounds lie inside the cell.
    cells: Vec<Cell>,
}

/// One cell of the band table.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Cell {
    /// The band at the cell's start.
    band: u32,
    /// Bounds inside the cell: past one, the lookup compares further.
    inside: u32,
    /// The first bound after the cell's start (`+∞` past the last).
    next: f64,
}

/// Cells of the band table over chords 0..=2.
const CELLS: usize = 1024;

impl Bands {
    /// Bands `bucket_km` wide (none when `bucket_km` is 0).
    pub fn new(bucket_km: f64) -> Self {
        use crate::location::EARTH_RADIUS_KM;
        let mut bounds = Vec::new();
        if bucket_km > 0.0 {
            let half_circumference = std::f64::consts::PI * EARTH_RADIUS_KM;
            let mut k = 1.0;
            while k * bucket_km < half_circumference {
                bounds.push(2.0 * (k * bucket_km / (2.0 * EARTH_RADIUS_KM)).sin());
                k += 1.0;
            }
        }
        let cell_start: Vec<u32> = (0..=CELLS)
            .map(|i| {
                let c = 2.0 * i as f64 / CELLS as f64;
                bounds.partition_point(|b| *b <= c) as u32
            })
            .collect();
        bounds.push(f64::INFINITY);
        let cells = cell_start
            .iter()
            .enumerate()
            .map(|(i, b)| Cell {
                band: *b,
                inside: cell_start.get(i + 1).map_or(0, |e| e - b),
                next: bounds[*b as usize],
            })
            .collect();
        Self { bounds, cells }
    }

    /// True when distances are exact (no bands).
    pub fn is_empty(&self) -> bool {
        self.bounds.len() <= 1
    }

    /// The band of a chord length (0 ..= 2).
    #[inline]
    pub fn band(&self, chord: f64) -> u32 {
        // Through u32: a shorter saturating conversion than to usize.
        let cell = ((chord * (CELLS as f64 / 2.0)) as u32 as usize).min(CELLS);
        let Some(c) = self.cells.get(cell) else {
            return 0; // not reached: `cells` has CELLS + 1 entries
        };
        let mut band = c.band + u32::from(c.next <= chord);
        if c.inside > 1 {
            // `bounds` ends with +∞: `band` stops at the last band.
            while self.bounds.get(band as usize).is_some_and(|b| *b <= chord) {
                band += 1;
            }
        }
        band
    }
}

/// `path.starts_with(prefix)` as an inline byte loop: content prefixes are a
/// few bytes long, and for those a call into the C library's `memcmp` (what
/// `starts_with` becomes) costs more than the comparison, once per policy and
/// request.
/// Paths are compared as bytes: a path from a log need not be UTF-8.
#[inline]
pub fn has_prefix<P: AsRef<[u8]> + ?Sized>(path: &P, prefix: &str) -> bool {
    let (path, prefix) = (path.as_ref(), prefix.as_bytes());
    path.len() >= prefix.len() && path.iter().zip(prefix).all(|(a, b)| a == b)
}

/// The part of a request path a consistent hash uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashKey {
    /// The whole path (query excluded).
    Path,
    /// The path up to and including its last `/`.
    Directory,
}

impl HashKey {
    /// The key of `path` (as bytes: a path from a log need not be UTF-8).
    pub fn of(self, path: &[u8]) -> &[u8] {
        let end = path.iter().position(|b| *b == b'?' || *b == b'#');
        let path = end.map_or(path, |e| &path[..e]);
        match self {
            HashKey::Path => path,
            HashKey::Directory => path
                .iter()
                .rposition(|b| *b == b'/')
                .map_or(path, |i| &path[..=i]),
        }
    }
}

impl Step {
    /// A `closest` step with bands of `bucket_km` (0: exact distances).
    pub fn closest(bucket_km: f64) -> Step {
        Step::Closest {
            bucket_km,
            bands: Bands::new(bucket_km),
        }
    }

    /// The configuration keyword.
    pub fn name(&self) -> &'static str {
        match self {
            Step::Available => "available",
            Step::ServesContent => "serves_content",
            Step::AllowedForGroup => "allowed_for_group",
            Step::Capacity { .. } => "capacity",
            Step::LeastCost => "least_cost",
            Step::Closest { .. } => "closest",
            Step::Weighted => "weighted",
            Step::ConsistentHash { .. } => "consistent_hash",
            Step::Preference { .. } => "preference",
        }
    }

    /// True for steps that order sites rather than drop them.
    pub fn is_ranker(&self) -> bool {
        matches!(
            self,
            Step::LeastCost
                | Step::Closest { .. }
                | Step::Weighted
                | Step::ConsistentHash { .. }
                | Step::Preference { .. }
        )
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Capacity { headroom } => write!(f, "capacity(headroom={headroom})"),
            Step::Closest { bucket_km, .. } if *bucket_km > 0.0 => {
                write!(f, "closest(bucket={bucket_km}km)")
            }
            Step::ConsistentHash {
                key: HashKey::Directory,
            } => f.write_str("consistent_hash(directory)"),
            s => f.write_str(s.name()),
        }
    }
}

impl Policy {
    /// How specifically this policy matches `group` and `path`, or `None` when
    /// it does not apply. Higher wins: group-specific beats content-specific
    /// beats catch-all; then the longer content prefix.
    pub fn specificity<P: AsRef<[u8]> + ?Sized>(
        &self,
        group: GroupId,
        path: &P,
    ) -> Option<(u8, usize)> {
        let by_group = match &self.groups {
            Some(gs) if !gs.contains(&group) => return None,
            Some(_) => 2,
            None => 0,
        };
        if self.content.is_empty() {
            return Some((by_group, 0));
        }
        self.content
            .iter()
            .filter(|p| has_prefix(path, p))
            .map(|p| (by_group + 1, p.len()))
            .max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    proptest::proptest! {
        #[test]
        fn chord_bands_are_distance_bands(
            lat1 in -90.0f64..90.0, lon1 in -180.0f64..180.0,
            lat2 in -90.0f64..90.0, lon2 in -180.0f64..180.0,
            bucket in 1.0f64..5000.0,
        ) {
            use crate::location::{chord, Coordinates};
            let (a, b) = (Coordinates::new(lat1, lon1).expect("in range"), Coordinates::new(lat2, lon2).expect("in range"));
            let Step::Closest { bands, .. } = Step::closest(bucket) else { unreachable!() };
            let band = bands.band(chord(&a.unit_vector(), &b.unit_vector()));
            let km = a.distance_km(&b);
            let want = (km / bucket).floor() as u32;
            // Equal but where the distance sits within a metre of a band edge.
            let edge = (km - (want as f64) * bucket).abs() < 1e-3 || (km - ((want + 1) as f64) * bucket).abs() < 1e-3;
            proptest::prop_assert!(band == want || edge, "{} km, bucket {}: band {} want {}", km, bucket, band, want);
        }
    }

    proptest::proptest! {
        /// The table and its fixed number of comparisons find exactly the
        /// band a binary search over the bounds finds, bounds included,
        /// also with buckets so narrow that many bounds share a cell.
        #[test]
        fn band_is_the_partition_point(
            bucket in proptest::prop_oneof![0.5f64..20.0, 20.0f64..20_000.0],
            chord in proptest::prop_oneof![0.0f64..=2.0, (0usize..4000).prop_map(|k| k as f64 / 2000.0)],
            on_bound in proptest::prelude::any::<proptest::sample::Index>(),
            use_bound in proptest::prelude::any::<bool>(),
        ) {
            let b = Bands::new(bucket);
            let bounds = &b.bounds[..b.bounds.len() - 1];
            let c = if use_bound && !bounds.is_empty() { bounds[on_bound.index(bounds.len())] } else { chord };
            proptest::prop_assert_eq!(b.band(c) as usize, bounds.partition_point(|x| *x <= c));
        }
    }

    #[test]
    fn no_bands_without_a_bucket() {
        let b = Bands::new(0.0);
        assert!(b.is_empty());
        assert_eq!(b.band(1.3), 0);
        assert!(!Bands::new(500.0).is_empty());
    }

    #[test]
    fn hash_keys_ignore_the_query() {
        assert_eq!(
            HashKey::Path.of(b"/live/a/480p/seg1.ts?tok=1"),
            b"/live/a/480p/seg1.ts"
        );
        assert_eq!(
            HashKey::Directory.of(b"/live/a/480p/seg1.ts?x=/y"),
            b"/live/a/480p/"
        );
        assert_eq!(HashKey::Directory.of(b"noslash"), b"noslash");
    }

    #[test]
    fn group_and_content_policy_beats_group_only_beats_content_only() {
        let p = |groups: Option<Vec<GroupId>>, content: &[&str]| Policy {
            name: String::new(),
            groups,
            content: content.iter().map(|s| s.to_string()).collect(),
            steps: vec![],
        };
        let g = GroupId(1);
        let both = p(Some(vec![g]), &["/live/"]);
        let group = p(Some(vec![g]), &[]);
        let content = p(None, &["/live/"]);
        let all = p(None, &[]);
        let s = |p: &Policy| p.specificity(g, "/live/x.m3u8");
        assert!(s(&both) > s(&group));
        assert!(s(&group) > s(&content));
        assert!(s(&content) > s(&all));
        assert_eq!(both.specificity(GroupId(2), "/live/x"), None);
        assert_eq!(content.specificity(g, "/vod/x"), None);
    }
}
