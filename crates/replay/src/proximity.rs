//! How near the serving sites are to the clients: the proximity side of
//! a configuration's trade-off (a cheaper platform may send viewers
//! further away).
//!
//! For every request served, the great-circle distance from the client's
//! position (GeoIP, else its group's `location`; the same position a
//! `closest` step uses) to the serving site's configured location, weighted
//! by the request's bytes, and whether that site is the client's nearest
//! (of all configured sites: the nearest a planner could have chosen).
//! Clients without a position are left out of both and counted.
//!
//! Distances depend only on the client's position, so they are worked out
//! once per position (to every site) and remembered in a direct-mapped
//! table keyed by the position's exact bits ([`Distances`]): per request, a
//! lookup and a few additions; no allocation.

use routecast_engine::{Platform, Prepared, SiteId};
use serde::Serialize;

/// Mean Earth radius, km: the engine's (`closest` steps rank by it).
const EARTH_RADIUS_KM: f64 = 6371.0;

/// Positions remembered (2^12): a log's clients have far fewer distinct
/// positions (cities, group locations) than addresses.
const POSITION_SLOT_BITS: u32 = 12;

/// Two distances closer than this (km) are equal: the serving site is the
/// nearest when it ties with it.
const TIE_KM: f64 = 1e-6;

/// Proximity accounts of one site or client group over a replay.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Proximity {
    /// Bytes served to clients with a known position.
    pub located_bytes: u64,
    /// Sum over those requests of bytes × distance to the serving site, km.
    pub byte_km: f64,
    /// Bytes served by the client's nearest site.
    pub nearest_bytes: u64,
    /// Requests served to clients without a position (left out).
    pub unlocated_requests: u64,
    /// Their bytes.
    pub unlocated_bytes: u64,
}

impl Proximity {
    /// Adds `other`'s accounts to these.
    pub fn merge(&mut self, other: &Proximity) {
        self.located_bytes = self.located_bytes.saturating_add(other.located_bytes);
        self.byte_km += other.byte_km;
        self.nearest_bytes = self.nearest_bytes.saturating_add(other.nearest_bytes);
        self.unlocated_requests = self
            .unlocated_requests
            .saturating_add(other.unlocated_requests);
        self.unlocated_bytes = self.unlocated_bytes.saturating_add(other.unlocated_bytes);
    }

    /// The accounts as a planner reads them.
    pub fn summary(&self) -> ProximitySummary {
        let located = self.located_bytes as f64;
        ProximitySummary {
            mean_km: (self.located_bytes > 0).then(|| self.byte_km / located),
            nearest_share: (self.located_bytes > 0).then(|| self.nearest_bytes as f64 / located),
            located_gb: located / 1e9,
            unlocated_requests: self.unlocated_requests,
            unlocated_gb: self.unlocated_bytes as f64 / 1e9,
        }
    }
}

/// How near the serving sites were (`summary.json`: `proximity`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ProximitySummary {
    /// Traffic-weighted mean great-circle distance from client to serving
    /// site, km (`None` when no byte had a located client).
    pub mean_km: Option<f64>,
    /// Share (0–1) of the located bytes served by the client's nearest site.
    pub nearest_share: Option<f64>,
    /// Gigabytes served to clients with a known position.
    pub located_gb: f64,
    /// Requests served to clients without a position (not in the above).
    pub unlocated_requests: u64,
    /// Their gigabytes.
    pub unlocated_gb: f64,
}

/// One remembered position: its bits, and its distance to the nearest site.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// The position's bits; [`EMPTY`] (a NaN, never a position) when free.
    bits: [u64; 3],
    nearest_km: f64,
}

/// The bits of a free slot: NaNs, which no client position is.
const EMPTY: [u64; 3] = [u64::MAX; 3];

/// Distances from client positions to every site, remembered per position.
#[derive(Debug)]
pub(crate) struct Distances {
    /// The sites' positions as unit vectors.
    sites: Vec<[f64; 3]>,
    /// `1 << POSITION_SLOT_BITS` slots.
    slots: Vec<Slot>,
    /// `sites.len()` distances (km) per slot.
    km: Vec<f64>,
}

impl Distances {
    /// Distances to `platform`'s sites.
    pub(crate) fn new(platform: &Platform) -> Self {
        Self::to(
            platform
                .sites()
                .iter()
                .map(|s| s.location.unit_vector())
                .collect(),
        )
    }

    /// Distances to sites at `sites` (unit vectors).
    fn to(sites: Vec<[f64; 3]>) -> Self {
        let n = sites.len();
        Self {
            sites,
            slots: vec![
                Slot {
                    bits: EMPTY,
                    nearest_km: f64::NAN,
                };
                1 << POSITION_SLOT_BITS
            ],
            km: vec![0.0; n << POSITION_SLOT_BITS],
        }
    }

    /// Distance (km) from `position` to `site`, and whether `site` is the
    /// nearest to it.
    #[inline]
    fn km_to_site(&mut self, position: &[f64; 3], site: SiteId) -> (f64, bool) {
        let n = self.sites.len();
        let bits = position.map(f64::to_bits);
        let fold = bits[0] ^ bits[1].rotate_left(21) ^ bits[2].rotate_left(42);
        let i = (fold.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - POSITION_SLOT_BITS)) as usize;
        let row = i * n..(i + 1) * n;
        let slot = &mut self.slots[i];
        if slot.bits != bits {
            let mut nearest = f64::INFINITY;
            for (km, site) in self.km[row.clone()].iter_mut().zip(&self.sites) {
                *km = great_circle_km(position, site);
                nearest = nearest.min(*km);
            }
            *slot = Slot {
                bits,
                nearest_km: nearest,
            };
        }
        let nearest_km = slot.nearest_km;
        let km = self.km[row].get(site.index()).copied().unwrap_or(f64::NAN);
        (km, km <= nearest_km + TIE_KM)
    }
}

/// Great-circle distance (km) between two unit vectors, from their chord.
fn great_circle_km(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    let (x, y, z) = (a[0] - b[0], a[1] - b[1], a[2] - b[2]);
    let chord = (x * x + y * y + z * z).sqrt();
    2.0 * EARTH_RADIUS_KM * (chord / 2.0).min(1.0).asin()
}

/// The proximity accounts of a replay: per site, per group.
#[derive(Debug)]
pub(crate) struct ProximityAccounts {
    distances: Distances,
    pub(crate) sites: Vec<Proximity>,
    pub(crate) groups: Vec<Proximity>,
}

impl ProximityAccounts {
    /// Empty accounts for `platform`'s sites and groups.
    pub(crate) fn new(platform: &Platform) -> Self {
        Self {
            distances: Distances::new(platform),
            sites: vec![Proximity::default(); platform.sites().len()],
            groups: vec![Proximity::default(); platform.groups().len()],
        }
    }

    /// Accounts a request of `bytes` prepared as `prep`, served by `site`.
    pub(crate) fn serve(&mut self, prep: &Prepared, site: SiteId, bytes: u64) {
        let (s, g) = (site.index(), prep.group.index());
        let Some(position) = prep.client_position() else {
            let unlocated = |p: &mut Proximity| {
                p.unlocated_requests = p.unlocated_requests.saturating_add(1);
                p.unlocated_bytes = p.unlocated_bytes.saturating_add(bytes);
            };
            self.sites.get_mut(s).map(unlocated);
            self.groups.get_mut(g).map(unlocated);
            return;
        };
        let (km, nearest) = self.distances.km_to_site(&position, site);
        let byte_km = bytes as f64 * km;
        let nearest_bytes = if nearest { bytes } else { 0 };
        // Saturating, as every byte total of a replay (issue 15, point 7).
        let located = |p: &mut Proximity| {
            p.located_bytes = p.located_bytes.saturating_add(bytes);
            p.byte_km += byte_km;
            p.nearest_bytes = p.nearest_bytes.saturating_add(nearest_bytes);
        };
        if let Some(p) = self.sites.get_mut(s) {
            located(p);
        }
        if let Some(p) = self.groups.get_mut(g) {
            located(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn unit(lat: f64, lon: f64) -> [f64; 3] {
        let (lat, lon) = (lat.to_radians(), lon.to_radians());
        [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
    }

    proptest! {
        /// Remembered distances are the ones worked out afresh, whatever
        /// positions share a slot; the nearest site is the one no other
        /// site is nearer than.
        #[test]
        fn remembered_distances_are_exact(
            sites in proptest::collection::vec((-90f64..90.0, -180f64..180.0), 1..6),
            asks in proptest::collection::vec((0usize..40, 0usize..6), 1..200),
        ) {
            let sites: Vec<[f64; 3]> = sites.iter().map(|(a, o)| unit(*a, *o)).collect();
            let positions: Vec<[f64; 3]> =
                (0..40).map(|i| unit(i as f64 * 4.0 - 80.0, i as f64 * 9.0 - 180.0)).collect();
            let mut d = Distances::to(sites.clone());
            for (p, s) in asks {
                let s = s % sites.len();
                let (km, nearest) = d.km_to_site(&positions[p], SiteId(s as u16));
                let want = great_circle_km(&positions[p], &sites[s]);
                prop_assert_eq!(km.to_bits(), want.to_bits());
                let min = sites.iter().map(|x| great_circle_km(&positions[p], x)).fold(f64::INFINITY, f64::min);
                prop_assert_eq!(nearest, want <= min + TIE_KM);
            }
        }
    }

    #[test]
    fn great_circle_of_amsterdam_to_new_york_is_5863_km() {
        let unit = |lat: f64, lon: f64| {
            let (lat, lon) = (lat.to_radians(), lon.to_radians());
            [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
        };
        // Haversine by hand (python3: 5863.32 km with R = 6371).
        let km = great_circle_km(&unit(52.37, 4.90), &unit(40.71, -74.01));
        assert!((km - 5863.32).abs() < 0.01, "{km}");
    }
}
