//! Reading the written database back, with the `maxminddb` crate and with
//! routecast's own locator.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use routecast_engine::hash::SplitMix64;
use serde::Deserialize;

use crate::{Error, Rng, LANGUAGES};

/// What reading the file back found.
#[derive(Debug)]
pub(crate) struct Checked {
    pub(crate) nodes: u32,
    pub(crate) v4_tried: u32,
    pub(crate) v4_found: u32,
    pub(crate) v6_tried: u32,
    pub(crate) v6_found: u32,
}

/// The parts of a record read back (owned: decoded from a file read whole).
#[derive(Debug, Deserialize)]
pub(crate) struct ReadBack {
    pub(crate) city: Option<ReadPlace>,
    pub(crate) continent: ReadContinent,
    pub(crate) country: ReadCountry,
    pub(crate) location: ReadLocation,
    #[serde(default)]
    pub(crate) subdivisions: Vec<ReadPlace>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ReadPlace {
    pub(crate) names: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ReadContinent {
    pub(crate) code: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ReadCountry {
    pub(crate) iso_code: String,
    pub(crate) names: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ReadLocation {
    pub(crate) latitude: f64,
    pub(crate) longitude: f64,
    pub(crate) time_zone: String,
}

/// Reads `path` back with `maxminddb` (metadata, random lookups decoding
/// whole records) and with routecast's locator (country, continent and
/// coordinates agree).
pub(crate) fn check(path: &Path, seed: u64, v6_samples: &[Ipv6Addr]) -> Result<Checked, Error> {
    use routecast_engine::Locator;
    let reader = maxminddb::Reader::open_readfile(path)?;
    let m = reader.metadata();
    let expect = |ok: bool, what: &str| {
        if ok {
            Ok(())
        } else {
            Err(format!("wrong {what}"))
        }
    };
    expect(m.database_type == "GeoLite2-City", "database_type")?;
    expect(m.record_size == 28, "record_size")?;
    expect(m.ip_version == 6, "ip_version")?;
    expect(m.languages == LANGUAGES, "languages")?;
    expect(m.binary_format_major_version == 2, "format version")?;
    let geoip = routecast_geo::GeoIp::open(Some(path), None)?;
    let found = |addr: IpAddr| -> Result<bool, Error> {
        let Some(r) = reader.lookup(addr)?.decode::<ReadBack>()? else {
            return Ok(false);
        };
        expect(r.country.names.len() == LANGUAGES.len(), "country names")?;
        expect(
            r.city.is_none_or(|c| c.names.contains_key("en")),
            "city names",
        )?;
        expect(
            r.subdivisions.iter().all(|s| s.names.contains_key("en")),
            "subdivisions",
        )?;
        expect(r.location.time_zone.contains('/'), "time zone")?;
        let loc = geoip.locate(addr);
        let iso = loc.country.map(|c| c.to_string());
        expect(
            iso.as_deref() == Some(r.country.iso_code.as_str()),
            "country in routecast",
        )?;
        expect(
            loc.continent.is_some() && r.continent.code.len() == 2,
            "continent in routecast",
        )?;
        let at = loc.coordinates.map(|c| (c.lat, c.lon));
        expect(
            at == Some((r.location.latitude, r.location.longitude)),
            "coordinates in routecast",
        )?;
        Ok(true)
    };
    let mut rng = Rng(SplitMix64::new(seed ^ 0xC4EC));
    let eights: Vec<u32> = (1..224).filter(|o| ![10, 127].contains(o)).collect();
    let mut c = Checked {
        nodes: m.node_count,
        v4_tried: 0,
        v4_found: 0,
        v6_tried: 0,
        v6_found: 0,
    };
    for _ in 0..20_000 {
        let octet = eights[rng.below(eights.len() as u64) as usize];
        let addr = IpAddr::V4(Ipv4Addr::from((octet << 24) | rng.below(1 << 24) as u32));
        c.v4_tried += 1;
        c.v4_found += u32::from(found(addr)?);
    }
    for a in v6_samples {
        c.v6_tried += 1;
        c.v6_found += u32::from(found(IpAddr::V6(*a))?);
    }
    Ok(c)
}
