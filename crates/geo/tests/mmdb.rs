//! Lookups against MaxMind's test databases, with answers from their source data
//! (MaxMind-DB `source-data/*.json`).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use routecast_engine::{Continent, Coordinates, Locator};
use routecast_geo::mmdb::{open, DbKind, MmdbError};
use routecast_geo::GeoIp;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/geoip")
        .join(name)
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn geo(city: &str) -> GeoIp {
    GeoIp::open(
        Some(&fixture(city)),
        Some(&fixture("GeoLite2-ASN-Test.mmdb")),
    )
    .expect("fixtures open")
}

fn assert_city(
    g: &GeoIp,
    addr: &str,
    country: Option<&str>,
    continent: Continent,
    at: Option<(f64, f64)>,
) {
    let loc = g.locate(ip(addr));
    assert_eq!(
        loc.country.map(|c| c.to_string()).as_deref(),
        country,
        "{addr} country"
    );
    assert_eq!(loc.continent, Some(continent), "{addr} continent");
    let want = at.map(|(lat, lon)| Coordinates::new(lat, lon).expect("valid"));
    assert_eq!(loc.coordinates, want, "{addr} coordinates");
}

#[test]
fn geolite2_city_known_answers() {
    let g = geo("GeoLite2-City-Test.mmdb");
    assert_city(
        &g,
        "81.2.69.142",
        Some("GB"),
        Continent::Europe,
        Some((51.5142, -0.0931)),
    );
    assert_city(
        &g,
        "2.125.160.216",
        Some("GB"),
        Continent::Europe,
        Some((51.75, -1.25)),
    );
    assert_city(
        &g,
        "175.16.199.1",
        Some("CN"),
        Continent::Asia,
        Some((43.88, 125.3228)),
    );
    assert_city(
        &g,
        "67.43.156.1",
        Some("BT"),
        Continent::Asia,
        Some((27.5, 90.5)),
    );
    assert_city(
        &g,
        "2001:480::1",
        Some("US"),
        Continent::NorthAmerica,
        Some((32.7203, -117.1552)),
    );
    // Coordinates and continent, but no country.
    assert_city(
        &g,
        "2a02:d500::1",
        None,
        Continent::Europe,
        Some((48.69096, 9.14062)),
    );
}

#[test]
fn geoip2_city_known_answers_including_ipv4_mapped_ipv6() {
    let g = geo("GeoIP2-City-Test.mmdb");
    assert_city(
        &g,
        "216.160.83.56",
        Some("US"),
        Continent::NorthAmerica,
        Some((47.2513, -122.3149)),
    );
    assert_city(
        &g,
        "89.160.20.128",
        Some("SE"),
        Continent::Europe,
        Some((58.4167, 15.6167)),
    );
    assert_city(
        &g,
        "2001:218::1",
        Some("JP"),
        Continent::Asia,
        Some((35.68536, 139.75309)),
    );
    assert_city(
        &g,
        "::ffff:81.2.69.142",
        Some("GB"),
        Continent::Europe,
        Some((51.5142, -0.0931)),
    );
    // Only a continent is known for 2.3.3.0/24.
    assert_city(&g, "2.3.3.1", None, Continent::Europe, None);
}

#[test]
fn geolite2_country_has_no_coordinates() {
    let g = geo("GeoLite2-Country-Test.mmdb");
    assert_city(&g, "81.2.69.142", Some("GB"), Continent::Europe, None);
    assert_city(&g, "217.65.48.1", Some("GI"), Continent::Europe, None);
    assert_city(&g, "2001:218::1", Some("JP"), Continent::Asia, None);
}

#[test]
fn asn_known_answers() {
    let g = geo("GeoLite2-City-Test.mmdb");
    for (addr, asn) in [
        ("1.0.0.1", 15169),
        ("12.81.92.1", 7018),
        ("89.160.20.112", 29518),
        ("149.101.100.1", 6167),
        ("2600:7000::1", 6939),
        ("2001:1700::1", 6730),
        // An entry without an organisation name still has its number.
        ("12.81.96.1", 7018),
    ] {
        assert_eq!(g.locate(ip(addr)).asn, Some(asn), "{addr}");
    }
    assert_eq!(
        g.locate(ip("81.2.69.142")).asn,
        None,
        "not in the ASN database"
    );
}

#[test]
fn unknown_addresses_are_unknown_not_errors() {
    let g = geo("GeoIP2-City-Test.mmdb");
    for a in ["10.0.0.1", "127.0.0.1", "81.2.69.141", "::1"] {
        assert_eq!(
            g.locate(ip(a)),
            routecast_engine::Location::default(),
            "{a}"
        );
    }
}

#[test]
fn wrong_kind_missing_and_non_mmdb_files_are_clear_errors() {
    let e = open(&fixture("GeoLite2-ASN-Test.mmdb"), DbKind::City).expect_err("ASN given as city");
    assert!(matches!(e, MmdbError::WrongKind { .. }), "{e}");
    assert!(
        e.to_string().contains(
            "is a GeoLite2-ASN database (expected a GeoIP2/GeoLite2 City or Country database)"
        ),
        "{e}"
    );
    let e = open(&fixture("GeoLite2-City-Test.mmdb"), DbKind::Asn).expect_err("city given as ASN");
    assert!(matches!(e, MmdbError::WrongKind { .. }));
    let e = open(&fixture("nope.mmdb"), DbKind::City).expect_err("missing");
    assert!(
        e.to_string()
            .contains("nope.mmdb is not a readable MaxMind DB file"),
        "{e}"
    );
    let e = open(&fixture("README.md"), DbKind::City).expect_err("not a database");
    assert!(matches!(e, MmdbError::Open { .. }), "{e}");
}
