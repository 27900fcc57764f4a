//! MaxMind DB lookups (GeoIP2 / GeoLite2 City, Country and ASN) through the
//! `maxminddb` crate, memory-mapped.

use std::net::IpAddr;
use std::path::Path;

use maxminddb::{Mmap, Reader};
use routecast_engine::{Continent, Coordinates, CountryCode, Location, Locator};
use serde::Deserialize;

/// Which schema a database must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    /// City or Country: country, continent, maybe coordinates.
    City,
    /// ASN: autonomous system number.
    Asn,
}

/// Why a database could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MmdbError {
    /// The file could not be opened or is not a MaxMind DB.
    #[error("{path} is not a readable MaxMind DB file: {source}")]
    Open {
        /// The file.
        path: String,
        /// What the reader said.
        source: maxminddb::MaxMindDbError,
    },
    /// A MaxMind DB of another kind (e.g. an ASN database given as `city`).
    #[error("{path} is a {found} database (expected {expected})")]
    WrongKind {
        /// The file.
        path: String,
        /// Its `database_type` metadata.
        found: String,
        /// What was expected.
        expected: &'static str,
    },
}

/// Opens a database and checks that its schema is the expected one.
pub fn open(path: &Path, kind: DbKind) -> Result<Reader<Mmap>, MmdbError> {
    let shown = path.display().to_string();
    let reader = map(path).map_err(|source| MmdbError::Open {
        path: shown.clone(),
        source,
    })?;
    let ty = reader.metadata().database_type.clone();
    let (ok, expected) = match kind {
        DbKind::City => (
            ty.contains("City") || ty.contains("Country") || ty.contains("Enterprise"),
            "a GeoIP2/GeoLite2 City or Country database",
        ),
        DbKind::Asn => (
            ty.contains("ASN") || ty.contains("ISP"),
            "a GeoIP2/GeoLite2 ASN or ISP database",
        ),
    };
    if ok {
        Ok(reader)
    } else {
        Err(MmdbError::WrongKind {
            path: shown,
            found: ty,
            expected,
        })
    }
}

#[allow(unsafe_code)]
fn map(path: &Path) -> Result<Reader<Mmap>, maxminddb::MaxMindDbError> {
    // SAFETY: the mapped file must not be modified in place while mapped.
    // MaxMind's geoipupdate (and any sane deployment) replaces database files
    // by renaming a new file over the old one, which leaves our mapping valid;
    // a reload maps the new file. This is the only unsafe code in routecast.
    unsafe { Reader::open_mmap(path) }
}

#[derive(Deserialize)]
struct IsoCode<'a> {
    #[serde(borrow)]
    iso_code: Option<&'a str>,
}

#[derive(Deserialize)]
struct ContinentCode<'a> {
    #[serde(borrow)]
    code: Option<&'a str>,
}

#[derive(Deserialize)]
struct Loc {
    latitude: Option<f64>,
    longitude: Option<f64>,
}

/// The fields of a City/Country record routecast uses.
#[derive(Deserialize)]
struct CityRecord<'a> {
    #[serde(borrow)]
    country: Option<IsoCode<'a>>,
    #[serde(borrow)]
    registered_country: Option<IsoCode<'a>>,
    #[serde(borrow)]
    continent: Option<ContinentCode<'a>>,
    location: Option<Loc>,
}

#[derive(Deserialize)]
struct AsnRecord {
    autonomous_system_number: Option<u32>,
}

/// A [`Locator`] over optional City/Country and ASN databases.
pub struct GeoIp {
    city: Option<Reader<Mmap>>,
    asn: Option<Reader<Mmap>>,
}

impl std::fmt::Debug for GeoIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ty = |r: &Option<Reader<Mmap>>| r.as_ref().map(|r| r.metadata().database_type.clone());
        f.debug_struct("GeoIp")
            .field("city", &ty(&self.city))
            .field("asn", &ty(&self.asn))
            .finish()
    }
}

impl GeoIp {
    /// A locator over the given databases (either may be absent).
    pub fn new(city: Option<Reader<Mmap>>, asn: Option<Reader<Mmap>>) -> Self {
        Self { city, asn }
    }

    /// Opens the databases at the given paths.
    pub fn open(city: Option<&Path>, asn: Option<&Path>) -> Result<Self, MmdbError> {
        Ok(Self {
            city: city.map(|p| open(p, DbKind::City)).transpose()?,
            asn: asn.map(|p| open(p, DbKind::Asn)).transpose()?,
        })
    }

    /// The `database_type` of each database in use.
    pub fn database_types(&self) -> (Option<&str>, Option<&str>) {
        fn ty(r: &Option<Reader<Mmap>>) -> Option<&str> {
            r.as_ref().map(|r| r.metadata().database_type.as_str())
        }
        (ty(&self.city), ty(&self.asn))
    }

    fn city_facts(&self, addr: IpAddr, loc: &mut Location) {
        let Some(db) = &self.city else { return };
        // A lookup or decoding error (a corrupt record) leaves the facts unknown:
        // routing must go on, with the default group if need be.
        let Ok(Some(rec)) = db.lookup(addr).and_then(|r| r.decode::<CityRecord<'_>>()) else {
            return;
        };
        let iso = rec
            .country
            .and_then(|c| c.iso_code)
            .or_else(|| rec.registered_country.and_then(|c| c.iso_code));
        loc.country = iso.and_then(|c| c.parse::<CountryCode>().ok());
        loc.continent = rec
            .continent
            .and_then(|c| c.code)
            .and_then(|c| c.parse::<Continent>().ok());
        loc.coordinates = rec
            .location
            .and_then(|l| Some((l.latitude?, l.longitude?)))
            .and_then(|(lat, lon)| Coordinates::new(lat, lon).ok());
    }

    fn asn_facts(&self, addr: IpAddr, loc: &mut Location) {
        let Some(db) = &self.asn else { return };
        if let Ok(Some(rec)) = db.lookup(addr).and_then(|r| r.decode::<AsnRecord>()) {
            loc.asn = rec.autonomous_system_number;
        }
    }
}

impl Locator for GeoIp {
    fn locate(&self, addr: IpAddr) -> Location {
        // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d.
        let addr = match addr {
            IpAddr::V6(a) => a.to_ipv4_mapped().map_or(addr, IpAddr::V4),
            a => a,
        };
        let mut loc = Location::default();
        self.city_facts(addr, &mut loc);
        self.asn_facts(addr, &mut loc);
        loc
    }
}
