//! What is known about where a client is: country, continent, network, coordinates.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An ISO 3166-1 alpha-2 country code, upper case (`NL`, `US`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// A dense index (0..676) for tables.
    pub fn index(&self) -> usize {
        usize::from(self.0[0] - b'A') * 26 + usize::from(self.0[1] - b'A')
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Invariant: both bytes are ASCII upper-case letters (checked in from_str).
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl FromStr for CountryCode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.as_bytes() {
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                Ok(Self([a.to_ascii_uppercase(), b.to_ascii_uppercase()]))
            }
            _ => Err(format!(
                "{s:?} is not a country code (expected two letters, ISO 3166-1 alpha-2, e.g. \"NL\")"
            )),
        }
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A continent, as GeoIP databases code them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Continent {
    /// Africa (`AF`).
    Africa,
    /// Antarctica (`AN`).
    Antarctica,
    /// Asia (`AS`).
    Asia,
    /// Europe (`EU`).
    Europe,
    /// North America (`NA`).
    NorthAmerica,
    /// Oceania (`OC`).
    Oceania,
    /// South America (`SA`).
    SouthAmerica,
}

impl Continent {
    /// All continents, in code order.
    pub const ALL: [Continent; 7] = [
        Continent::Africa,
        Continent::Antarctica,
        Continent::Asia,
        Continent::Europe,
        Continent::NorthAmerica,
        Continent::Oceania,
        Continent::SouthAmerica,
    ];

    /// The two-letter code (`EU`).
    pub fn code(self) -> &'static str {
        match self {
            Continent::Africa => "AF",
            Continent::Antarctica => "AN",
            Continent::Asia => "AS",
            Continent::Europe => "EU",
            Continent::NorthAmerica => "NA",
            Continent::Oceania => "OC",
            Continent::SouthAmerica => "SA",
        }
    }

    /// A small dense index (0..7), for tables.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl FromStr for Continent {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Continent::ALL
            .into_iter()
            .find(|c| c.code().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!(
                    "{s:?} is not a continent code (expected one of AF, AN, AS, EU, NA, OC, SA)"
                )
            })
    }
}

impl fmt::Display for Continent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A point on Earth in decimal degrees (WGS 84).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Coordinates {
    /// Latitude, −90 to 90.
    pub lat: f64,
    /// Longitude, −180 to 180.
    pub lon: f64,
}

impl Coordinates {
    /// Checked constructor: latitude in −90..=90, longitude in −180..=180.
    pub fn new(lat: f64, lon: f64) -> Result<Self, String> {
        if !(-90.0..=90.0).contains(&lat) {
            return Err(format!(
                "latitude {lat} is out of range (expected -90 to 90)"
            ));
        }
        if !(-180.0..=180.0).contains(&lon) {
            return Err(format!(
                "longitude {lon} is out of range (expected -180 to 180)"
            ));
        }
        Ok(Self { lat, lon })
    }

    /// The point as a unit vector from the Earth's centre: distances between
    /// unit vectors need no trigonometry (see [`km_from_chord`]).
    pub fn unit_vector(&self) -> [f64; 3] {
        let (lat, lon) = (self.lat.to_radians(), self.lon.to_radians());
        [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
    }

    /// Great-circle distance in kilometres (haversine, mean Earth radius 6371 km).
    pub fn distance_km(&self, other: &Coordinates) -> f64 {
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
    }
}

/// Mean Earth radius used for distances.
pub const EARTH_RADIUS_KM: f64 = 6371.0;

/// Straight-line (chord) distance between two unit vectors.
#[inline]
pub fn chord(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    let (x, y, z) = (a[0] - b[0], a[1] - b[1], a[2] - b[2]);
    (x * x + y * y + z * z).sqrt()
}

/// Great-circle distance in km for a chord between unit vectors.
#[inline]
pub fn km_from_chord(c: f64) -> f64 {
    2.0 * EARTH_RADIUS_KM * (c / 2.0).min(1.0).asin()
}

impl fmt::Display for Coordinates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.4},{:.4}", self.lat, self.lon)
    }
}

/// What a [`Locator`] knows of a client address; every part may be unknown.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Location {
    /// Country of the address.
    pub country: Option<CountryCode>,
    /// Continent of the address.
    pub continent: Option<Continent>,
    /// Autonomous system number that announces the address.
    pub asn: Option<u32>,
    /// Approximate coordinates of the address.
    pub coordinates: Option<Coordinates>,
}

/// Finds the [`Location`] of a client address (GeoIP, in `routecast-geo`).
pub trait Locator: Send + Sync {
    /// What is known about `addr`; unknown parts are `None`, never an error.
    fn locate(&self, addr: IpAddr) -> Location;
}

/// A locator that knows nothing: every address has an unknown location.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLocator;

impl Locator for NoLocator {
    fn locate(&self, _addr: IpAddr) -> Location {
        Location::default()
    }
}

/// Remembers the locations of recent client addresses: a viewer makes
/// requests every few seconds, and a GeoIP lookup decodes database records
/// each time. Direct-mapped by address hash, exact (keyed by the full
/// address); allocated on first use.
#[derive(Debug, Clone)]
pub struct LocationCache {
    slots: Vec<Option<(IpAddr, Location)>>,
    size: usize,
}

impl LocationCache {
    /// A cache of `2^bits` slots.
    pub const fn with_slot_bits(bits: u32) -> Self {
        Self {
            slots: Vec::new(),
            size: 1 << bits,
        }
    }

    /// The location of `addr`, from the cache or from `locator`.
    pub fn locate(&mut self, locator: &dyn Locator, addr: IpAddr) -> Location {
        if self.slots.is_empty() {
            self.slots.resize(self.size, None);
        }
        let i = crate::hash::hash_addr(addr) as usize & (self.size - 1);
        match self.slots.get_mut(i) {
            Some(Some((a, loc))) if *a == addr => *loc,
            Some(slot) => {
                let loc = locator.locate(addr);
                *slot = Some((addr, loc));
                loc
            }
            None => locator.locate(addr),
        }
    }

    /// Forgets everything (e.g. when the GeoIP databases change).
    pub fn clear(&mut self) {
        self.slots.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_amsterdam_new_york_is_about_5860_km() {
        let ams = Coordinates::new(52.37, 4.90).expect("valid");
        let nyc = Coordinates::new(40.71, -74.01).expect("valid");
        let d = ams.distance_km(&nyc);
        assert!((5830.0..5890.0).contains(&d), "{d}");
        assert_eq!(ams.distance_km(&ams), 0.0);
        let by_chord = km_from_chord(chord(&ams.unit_vector(), &nyc.unit_vector()));
        assert!((by_chord - d).abs() < 1e-6, "{by_chord} vs {d}");
    }

    #[test]
    fn codes_parse_case_insensitively_and_reject_junk() {
        assert_eq!(
            "nl".parse::<CountryCode>().map(|c| c.to_string()),
            Ok("NL".into())
        );
        assert!("NLD".parse::<CountryCode>().is_err());
        assert!("N1".parse::<CountryCode>().is_err());
        assert_eq!("eu".parse::<Continent>(), Ok(Continent::Europe));
        assert!("XX".parse::<Continent>().is_err());
        assert!(Coordinates::new(91.0, 0.0).is_err());
        assert!(Coordinates::new(0.0, -181.0).is_err());
    }
}
