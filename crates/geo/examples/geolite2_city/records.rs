//! The records of the stand-in database: countries, their subdivisions and
//! cities with names in eight languages, in GeoLite2-City's schema.

use std::collections::BTreeMap;

use crate::writer::Value;
use crate::{Rng, LANGUAGES};

pub(crate) type Names = BTreeMap<&'static str, String>;

#[derive(Debug, Clone)]
pub(crate) struct Continent {
    pub(crate) code: String,
    pub(crate) geoname_id: u32,
    pub(crate) names: Names,
}

#[derive(Debug, Clone)]
pub(crate) struct Country {
    pub(crate) geoname_id: u32,
    pub(crate) is_in_european_union: Option<bool>,
    pub(crate) iso_code: String,
    pub(crate) names: Names,
}

#[derive(Debug, Clone)]
pub(crate) struct Place {
    pub(crate) geoname_id: u32,
    pub(crate) iso_code: Option<String>,
    pub(crate) names: Names,
}

#[derive(Debug, Clone)]
pub(crate) struct Location {
    pub(crate) accuracy_radius: u16,
    pub(crate) latitude: f64,
    pub(crate) longitude: f64,
    pub(crate) metro_code: Option<u16>,
    pub(crate) time_zone: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Postal {
    pub(crate) code: String,
}

/// One record, GeoLite2-City's schema.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) city: Option<Place>,
    pub(crate) continent: Continent,
    pub(crate) country: Country,
    pub(crate) location: Location,
    pub(crate) postal: Option<Postal>,
    pub(crate) registered_country: Country,
    pub(crate) subdivisions: Vec<Place>,
}

pub(crate) fn names_value(names: &Names) -> Value {
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
    pub(crate) fn value(&self) -> Value {
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
pub(crate) const COUNTRIES: &str =
    "US:NA CN:AS JP:AS DE:EU GB:EU KR:AS BR:SA FR:EU CA:NA IT:EU AU:OC \
    NL:EU RU:EU IN:AS TW:AS SE:EU ES:EU MX:NA PL:EU ZA:AF CH:EU TR:AS AR:SA IR:AS BE:EU \
    FI:EU NO:EU DK:EU AT:EU ID:AS VN:AS HK:AS CO:SA EG:AF SG:AS TH:AS UA:EU CZ:EU IL:AS \
    RO:EU MY:AS CL:SA SA:AS NZ:OC PT:EU PH:AS HU:EU IE:EU GR:EU VE:SA PK:AS BG:EU KZ:AS \
    AE:AS MA:AF PE:SA SK:EU DZ:AF TN:AF NG:AF KE:AF BY:EU RS:EU HR:EU LT:EU SI:EU LV:EU \
    EE:EU EC:SA UY:SA CR:NA BD:AS LK:AS NP:AS QA:AS KW:AS OM:AS JO:AS LB:AS GE:AS AM:AS \
    AZ:AS UZ:AS MN:AS KH:AS MM:AS LA:AS PA:NA DO:NA GT:NA HN:NA SV:NA NI:NA BO:SA PY:SA \
    GH:AF CI:AF SN:AF CM:AF UG:AF TZ:AF ET:AF AO:AF MZ:AF ZM:AF ZW:AF NA:AF BW:AF MU:AF \
    IS:EU LU:EU MT:EU CY:EU MD:EU AL:EU MK:EU BA:EU ME:EU PR:NA JM:NA TT:NA FJ:OC PG:OC AQ:AN";

pub(crate) const EU_MEMBERS: &str =
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE";

pub(crate) fn continent_id(code: &str) -> u32 {
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
pub(crate) fn names(rng: &mut Rng, languages: &[&'static str]) -> Names {
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
pub(crate) struct World {
    /// Per country, indices into `records`.
    pub(crate) by_country: Vec<Vec<u32>>,
    pub(crate) records: Vec<Record>,
}

pub(crate) fn world(rng: &mut Rng, cities: usize) -> World {
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
