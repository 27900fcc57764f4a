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

mod writer;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use routecast_engine::hash::SplitMix64;
use serde::Deserialize;
use writer::Value;

type Error = Box<dyn std::error::Error>;

/// How big a database to make.
#[derive(Debug, Clone, Copy)]
struct Size {
    ipv4_networks: u64,
    ipv6_networks: u64,
    cities: usize,
}

/// GeoLite2-City's size (2025–26 editions: about 3.5 M networks, 60–70 MB).
const FULL: Size = Size {
    ipv4_networks: 3_200_000,
    ipv6_networks: 300_000,
    cities: 170_000,
};

const LANGUAGES: [&str; 8] = ["de", "en", "es", "fr", "ja", "pt-BR", "ru", "zh-CN"];

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
struct Rng(SplitMix64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }
    /// Uniform in `0..n` (`n` > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// An index in `0..n` skewed towards 0 (a few big places, many small).
    fn skewed(&mut self, n: usize) -> usize {
        let u = self.unit();
        ((u * u * u) * n as f64) as usize % n.max(1)
    }
}

// ---------------------------------------------------------------- records

type Names = BTreeMap<&'static str, String>;

#[derive(Debug, Clone)]
struct Continent {
    code: String,
    geoname_id: u32,
    names: Names,
}

#[derive(Debug, Clone)]
struct Country {
    geoname_id: u32,
    is_in_european_union: Option<bool>,
    iso_code: String,
    names: Names,
}

#[derive(Debug, Clone)]
struct Place {
    geoname_id: u32,
    iso_code: Option<String>,
    names: Names,
}

#[derive(Debug, Clone)]
struct Location {
    accuracy_radius: u16,
    latitude: f64,
    longitude: f64,
    metro_code: Option<u16>,
    time_zone: String,
}

#[derive(Debug, Clone)]
struct Postal {
    code: String,
}

/// One record, GeoLite2-City's schema.
#[derive(Debug, Clone)]
struct Record {
    city: Option<Place>,
    continent: Continent,
    country: Country,
    location: Location,
    postal: Option<Postal>,
    registered_country: Country,
    subdivisions: Vec<Place>,
}

fn names_value(names: &Names) -> Value {
    Value::Map(
        names
            .iter()
            .map(|(k, v)| (*k, Value::Str(v.clone())))
            .collect(),
    )
}

impl Place {
    fn value(&self) -> Value {
        let mut m = vec![("geoname_id", Value::U32(self.geoname_id))];
        if let Some(iso) = &self.iso_code {
            m.push(("iso_code", Value::Str(iso.clone())));
        }
        m.push(("names", names_value(&self.names)));
        Value::Map(m)
    }
}

impl Country {
    fn value(&self) -> Value {
        let mut m = vec![("geoname_id", Value::U32(self.geoname_id))];
        if let Some(eu) = self.is_in_european_union {
            m.push(("is_in_european_union", Value::Bool(eu)));
        }
        m.push(("iso_code", Value::Str(self.iso_code.clone())));
        m.push(("names", names_value(&self.names)));
        Value::Map(m)
    }
}

impl Record {
    /// The record as GeoLite2-City lays it out (keys in its order).
    fn value(&self) -> Value {
        let mut m = Vec::new();
        if let Some(city) = &self.city {
            m.push(("city", city.value()));
        }
        let c = &self.continent;
        m.push((
            "continent",
            Value::Map(vec![
                ("code", Value::Str(c.code.clone())),
                ("geoname_id", Value::U32(c.geoname_id)),
                ("names", names_value(&c.names)),
            ]),
        ));
        m.push(("country", self.country.value()));
        let l = &self.location;
        let mut location = vec![
            ("accuracy_radius", Value::U16(l.accuracy_radius)),
            ("latitude", Value::F64(l.latitude)),
            ("longitude", Value::F64(l.longitude)),
        ];
        if let Some(metro) = l.metro_code {
            location.push(("metro_code", Value::U16(metro)));
        }
        location.push(("time_zone", Value::Str(l.time_zone.clone())));
        m.push(("location", Value::Map(location)));
        if let Some(p) = &self.postal {
            m.push((
                "postal",
                Value::Map(vec![("code", Value::Str(p.code.clone()))]),
            ));
        }
        m.push(("registered_country", self.registered_country.value()));
        if !self.subdivisions.is_empty() {
            let subs = self.subdivisions.iter().map(Place::value).collect();
            m.push(("subdivisions", Value::Array(subs)));
        }
        Value::Map(m)
    }
}

/// Real ISO 3166 codes with their continents, roughly by address space.
const COUNTRIES: &str = "US:NA CN:AS JP:AS DE:EU GB:EU KR:AS BR:SA FR:EU CA:NA IT:EU AU:OC \
    NL:EU RU:EU IN:AS TW:AS SE:EU ES:EU MX:NA PL:EU ZA:AF CH:EU TR:AS AR:SA IR:AS BE:EU \
    FI:EU NO:EU DK:EU AT:EU ID:AS VN:AS HK:AS CO:SA EG:AF SG:AS TH:AS UA:EU CZ:EU IL:AS \
    RO:EU MY:AS CL:SA SA:AS NZ:OC PT:EU PH:AS HU:EU IE:EU GR:EU VE:SA PK:AS BG:EU KZ:AS \
    AE:AS MA:AF PE:SA SK:EU DZ:AF TN:AF NG:AF KE:AF BY:EU RS:EU HR:EU LT:EU SI:EU LV:EU \
    EE:EU EC:SA UY:SA CR:NA BD:AS LK:AS NP:AS QA:AS KW:AS OM:AS JO:AS LB:AS GE:AS AM:AS \
    AZ:AS UZ:AS MN:AS KH:AS MM:AS LA:AS PA:NA DO:NA GT:NA HN:NA SV:NA NI:NA BO:SA PY:SA \
    GH:AF CI:AF SN:AF CM:AF UG:AF TZ:AF ET:AF AO:AF MZ:AF ZM:AF ZW:AF NA:AF BW:AF MU:AF \
    IS:EU LU:EU MT:EU CY:EU MD:EU AL:EU MK:EU BA:EU ME:EU PR:NA JM:NA TT:NA FJ:OC PG:OC AQ:AN";

const EU_MEMBERS: &str =
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE";

fn continent_id(code: &str) -> u32 {
    // GeoNames ids of the continents, as GeoLite2 has them.
    match code {
        "AF" => 6_255_146,
        "AS" => 6_255_147,
        "EU" => 6_255_148,
        "NA" => 6_255_149,
        "SA" => 6_255_150,
        "OC" => 6_255_151,
        _ => 6_255_152,
    }
}

/// A made-up place name: Latin syllables, then the same name in Cyrillic,
/// katakana and CJK characters (as many bytes as real names in those
/// scripts), with small spelling changes in the other Latin languages.
fn names(rng: &mut Rng, languages: &[&'static str]) -> Names {
    const SYLLABLES: [&str; 24] = [
        "ka", "ro", "mi", "sa", "ten", "vel", "or", "an", "bur", "gen", "li", "mo", "na", "pol",
        "ri", "stad", "ta", "ur", "vi", "wen", "zal", "berg", "dor", "es",
    ];
    let n = 2 + rng.below(3) as usize;
    let mut base = String::new();
    for _ in 0..n {
        base.push_str(SYLLABLES[rng.below(SYLLABLES.len() as u64) as usize]);
    }
    let mut first = base.chars();
    let en: String = first
        .next()
        .map(|c| c.to_ascii_uppercase())
        .into_iter()
        .chain(first)
        .collect();
    let script = |from: u32, span: u32, per: usize| -> String {
        let bytes = base.as_bytes();
        bytes
            .chunks(per)
            .map(|c| {
                let h = c
                    .iter()
                    .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(*b)));
                char::from_u32(from + h % span).unwrap_or('?')
            })
            .collect()
    };
    languages
        .iter()
        .map(|&lang| {
            let name = match lang {
                "en" => en.clone(),
                "ru" => script(0x0430, 32, 1),
                "ja" => script(0x30A2, 80, 2),
                "zh-CN" => script(0x4E00, 20_000, 3),
                "de" if en.ends_with('a') => format!("{en}u"),
                "fr" if en.ends_with("en") => format!("{en}ne"),
                "es" | "pt-BR" if en.ends_with("berg") => format!("{}burgo", &en[..en.len() - 4]),
                _ => en.clone(),
            };
            (lang, name)
        })
        .collect()
}

/// Countries, their subdivisions and cities, and the records of every city.
struct World {
    /// Per country, indices into `records`.
    by_country: Vec<Vec<u32>>,
    records: Vec<Record>,
}

fn world(rng: &mut Rng, cities: usize) -> World {
    let all: Vec<(&str, &str)> = COUNTRIES
        .split_whitespace()
        .filter_map(|c| c.split_once(':'))
        .collect();
    let mut geoname = 1_000_000u32;
    let mut next_id = || {
        geoname += 1 + (geoname % 7);
        geoname
    };
    let continents: BTreeMap<&str, Continent> = ["AF", "AN", "AS", "EU", "NA", "OC", "SA"]
        .into_iter()
        .map(|code| {
            let c = Continent {
                code: code.into(),
                geoname_id: continent_id(code),
                names: names(rng, &LANGUAGES),
            };
            (code, c)
        })
        .collect();
    let mut by_country = Vec::new();
    let mut records = Vec::new();
    for (rank, (iso, continent)) in all.iter().enumerate() {
        let country = Country {
            geoname_id: next_id(),
            is_in_european_union: EU_MEMBERS
                .split_whitespace()
                .any(|m| m == *iso)
                .then_some(true),
            iso_code: (*iso).into(),
            names: names(rng, &LANGUAGES),
        };
        let continent = continents[continent].clone();
        let (lat0, lon0) = (rng.unit() * 120.0 - 55.0, rng.unit() * 340.0 - 170.0);
        let zones: Vec<String> = (0..1 + rng.below(3))
            .map(|_| {
                format!(
                    "{}/{}",
                    ["Europe", "America", "Asia", "Africa", "Australia"][rng.below(5) as usize],
                    names(rng, &["en"])["en"]
                )
            })
            .collect();
        let subdivisions: Vec<Place> = (0..4 + rng.below(30))
            .map(|i| Place {
                geoname_id: next_id(),
                iso_code: Some(format!("{}{i}", (b'A' + (i % 26) as u8) as char)),
                names: names(
                    rng,
                    if i < 5 {
                        &LANGUAGES[..]
                    } else {
                        &["en", "de", "fr"][..]
                    },
                ),
            })
            .collect();
        // Cities in proportion to the country's share of addresses (Zipf).
        let share = 1.0 / (rank as f64 + 2.0) / 4.3;
        let n_cities = ((cities as f64 * share) as usize).max(3);
        let mut mine = Vec::new();
        for c in 0..n_cities {
            let big = c < n_cities / 20 + 1;
            let city = Place {
                geoname_id: next_id(),
                iso_code: None,
                names: names(rng, if big { &LANGUAGES[..] } else { &["en"][..] }),
            };
            let sub = subdivisions[rng.skewed(subdivisions.len())].clone();
            let (lat, lon) = (
                lat0 + rng.unit() * 10.0 - 5.0,
                lon0 + rng.unit() * 10.0 - 5.0,
            );
            let tz = zones[rng.below(zones.len() as u64) as usize].clone();
            // Several records per city: postal codes, accuracy, position.
            let variants = 1 + rng.skewed(if big { 64 } else { 10 });
            for v in 0..=variants {
                let country_only = v == variants;
                let round = |x: f64| (x * 1e4).round() / 1e4;
                records.push(Record {
                    city: (!country_only).then(|| city.clone()),
                    continent: continent.clone(),
                    country: country.clone(),
                    location: Location {
                        accuracy_radius: [1, 5, 10, 20, 50, 100, 200, 500, 1000]
                            [rng.below(9) as usize],
                        latitude: round(if country_only {
                            lat0
                        } else {
                            lat + rng.unit() * 0.1
                        }),
                        longitude: round(if country_only {
                            lon0
                        } else {
                            lon + rng.unit() * 0.1
                        }),
                        metro_code: (*iso == "US" && !country_only)
                            .then(|| 500 + rng.below(382) as u16),
                        time_zone: tz.clone(),
                    },
                    postal: (!country_only && rank % 3 != 2).then(|| Postal {
                        code: format!("{:05}", rng.below(100_000)),
                    }),
                    registered_country: country.clone(),
                    subdivisions: if country_only {
                        Vec::new()
                    } else {
                        vec![sub.clone()]
                    },
                });
                mine.push((records.len() - 1) as u32);
            }
        }
        by_country.push(mine);
    }
    World {
        by_country,
        records,
    }
}

// --------------------------------------------------------------- networks

/// Splits the block `start/len` into `budget` contiguous networks (at most
/// `max_len` long), by random binary splits: a few large networks, many
/// small ones, every address of the block covered.
fn split(
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
struct Written {
    ipv4: u64,
    ipv6: u64,
    records: usize,
    /// Addresses inside some of the IPv6 networks (most of 2400::/6 is empty).
    v6_samples: Vec<Ipv6Addr>,
}

fn write(path: &Path, size: Size, seed: u64) -> Result<Written, Error> {
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

// ------------------------------------------------------------------ check

/// What reading the file back found.
#[derive(Debug)]
struct Checked {
    nodes: u32,
    v4_tried: u32,
    v4_found: u32,
    v6_tried: u32,
    v6_found: u32,
}

/// The parts of a record read back (owned: decoded from a file read whole).
#[derive(Debug, Deserialize)]
struct ReadBack {
    city: Option<ReadPlace>,
    continent: ReadContinent,
    country: ReadCountry,
    location: ReadLocation,
    #[serde(default)]
    subdivisions: Vec<ReadPlace>,
}

#[derive(Debug, Deserialize)]
struct ReadPlace {
    names: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct ReadContinent {
    code: String,
}

#[derive(Debug, Deserialize)]
struct ReadCountry {
    iso_code: String,
    names: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct ReadLocation {
    latitude: f64,
    longitude: f64,
    time_zone: String,
}

/// Reads `path` back with `maxminddb` (metadata, random lookups decoding
/// whole records) and with routecast's locator (country, continent and
/// coordinates agree).
fn check(path: &Path, seed: u64, v6_samples: &[Ipv6Addr]) -> Result<Checked, Error> {
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
