//! The continent of a country, for clients whose country is known without
//! an address to look up (a host name's country-code domain): the
//! continents GeoIP databases give (MaxMind's GeoIP2 assignment, ISO 3166-1
//! alpha-2 codes). Hand-written: a table of 250 codes, smaller than any
//! crate that carries it.

use std::sync::OnceLock;

use crate::location::{Continent, CountryCode};

/// Each continent's countries, in code order within a continent.
const COUNTRIES: [(Continent, &str); 7] = [
    (
        Continent::Africa,
        "AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG EH ER ET GA GH GM GN GQ GW KE KM LR LS LY \
         MA MG ML MR MU MW MZ NA NE NG RE RW SC SD SH SL SN SO SS ST SZ TD TG TN TZ UG YT ZA ZM ZW",
    ),
    (Continent::Antarctica, "AQ BV GS HM TF"),
    (
        Continent::Asia,
        "AE AF AM AZ BD BH BN BT CC CN CX GE HK ID IL IN IO IQ IR JO JP KG KH KP KR KW KZ LA LB \
         LK MM MN MO MV MY NP OM PH PK PS QA SA SG SY TH TJ TL TM TR TW UZ VN YE",
    ),
    (
        Continent::Europe,
        "AD AL AT AX BA BE BG BY CH CY CZ DE DK EE ES FI FO FR GB GG GI GR HR HU IE IM IS IT JE \
         LI LT LU LV MC MD ME MK MT NL NO PL PT RO RS RU SE SI SJ SK SM UA VA XK",
    ),
    (
        Continent::NorthAmerica,
        "AG AI AW BB BL BM BQ BS BZ CA CR CU CW DM DO GD GL GP GT HN HT JM KN KY LC MF MQ MS MX \
         NI PA PM PR SV SX TC TT US VC VG VI",
    ),
    (
        Continent::Oceania,
        "AS AU CK FJ FM GU KI MH MP NC NF NR NU NZ PF PG PN PW SB TK TO TV UM VU WF WS",
    ),
    (
        Continent::SouthAmerica,
        "AR BO BR CL CO EC FK GF GY PE PY SR UY VE",
    ),
];

impl Continent {
    /// The continent of `country`, as GeoIP databases place it; `None`
    /// for a code no country has.
    pub fn of_country(country: CountryCode) -> Option<Continent> {
        static BY_INDEX: OnceLock<Vec<Option<Continent>>> = OnceLock::new();
        let table = BY_INDEX.get_or_init(|| {
            let mut t = vec![None; 26 * 26];
            for (continent, codes) in COUNTRIES {
                for code in codes.split_ascii_whitespace() {
                    if let Ok(c) = code.parse::<CountryCode>() {
                        t[c.index()] = Some(continent);
                    }
                }
            }
            t
        });
        table.get(country.index()).copied().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn continent(code: &str) -> Option<Continent> {
        Continent::of_country(code.parse().expect("a code"))
    }

    #[test]
    fn countries_are_on_the_continents_geoip_gives() {
        assert_eq!(continent("IL"), Some(Continent::Asia));
        assert_eq!(continent("GB"), Some(Continent::Europe));
        assert_eq!(continent("br"), Some(Continent::SouthAmerica));
        assert_eq!(continent("NZ"), Some(Continent::Oceania));
        assert_eq!(continent("ZA"), Some(Continent::Africa));
        assert_eq!(continent("US"), Some(Continent::NorthAmerica));
        assert_eq!(continent("AQ"), Some(Continent::Antarctica));
        assert_eq!(continent("ZZ"), None);
        // No country is on two continents.
        let mut all: Vec<&str> = COUNTRIES
            .iter()
            .flat_map(|(_, c)| c.split_ascii_whitespace())
            .collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n);
        assert!(n > 240, "{n}");
    }
}
