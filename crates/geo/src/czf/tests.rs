use super::*;
use routecast_engine::Coordinates;

const CZF: &str = r#"{
  "revision": "2026-11-01", "customerName": "example",
  "coverageZones": {
    "ams-kpn": { "network": ["192.0.2.0/25", "198.51.100.0/24"], "network6": ["2001:db8:1::/48"],
                 "coordinates": { "latitude": "52.37", "longitude": 4.9 } },
    "fra-dt": { "network": ["192.0.2.128/25"] }
  },
  "deepCoverageZones": {
    "ams-kpn": { "network": ["203.0.113.0/24", "198.51.100.0/24"], "caches": ["edge-1"] }
  }
}"#;

fn nets(z: &CoverageZone) -> Vec<String> {
    z.networks.iter().map(ToString::to_string).collect()
}

#[test]
fn zones_networks_and_string_coordinates() {
    let czf = parse("czf.json", CZF).expect("valid file");
    let zones = czf.zones;
    assert_eq!(zones.len(), 2);
    let ams = &zones[0];
    assert_eq!(ams.name, "ams-kpn");
    assert_eq!(
        ams.networks.len(),
        4,
        "deep zone networks merged, duplicate kept once"
    );
    assert_eq!(ams.coordinates, Coordinates::new(52.37, 4.9).ok());
    assert_eq!(zones[1].coordinates, None);
    assert_eq!(czf.warnings, vec![], "nothing lenient in a clean file");
}

/// Traffic Router's own test file (`czf.json` of traffic_router/core's
/// tests) has `"2001:CAFE:F00D:0::/37"`, which has host bits below /37.
#[test]
fn host_bits_are_masked_with_a_warning_naming_file_line_and_network() {
    let text = r#"{
  "coverageZones": {
    "zone-1": {
      "network6": ["2001:CAFE:F00D:0::/37", "2001:db8::/32"],
      "network": [" 10.1.2.3/8", "192.0.2.9 / 24"]
    }
  }
}"#;
    let czf = parse("tr.json", text).expect("Traffic Router loads this file");
    assert_eq!(
        nets(&czf.zones[0]),
        [
            "10.0.0.0/8",
            "192.0.2.0/24",
            "2001:cafe:f000::/37",
            "2001:db8::/32"
        ]
    );
    let shown: Vec<String> = czf.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "tr.json:5:19: coverageZones.\"zone-1\".network[0]: \" 10.1.2.3/8\" has host bits set: read as 10.0.0.0/8 (as Traffic Router does)",
            "tr.json:5:34: coverageZones.\"zone-1\".network[1]: \"192.0.2.9 / 24\" has host bits set: read as 192.0.2.0/24 (as Traffic Router does)",
            "tr.json:4:20: coverageZones.\"zone-1\".network6[0]: \"2001:CAFE:F00D:0::/37\" has host bits set: read as 2001:cafe:f000::/37 (as Traffic Router does)",
        ]
    );
}

#[test]
fn leniencies_of_traffic_router_are_matched() {
    let text = r#"{
  "coverageZones": {
    "b-first": { "network": ["192.0.2.0/24", "192.0.2.0/24", "198.51.100.7"],
                 "coordinates": null },
    "a-later": { "network": ["192.0.2.0/24", "203.0.113.0/24"], "network6": ["10.0.0.0/8"],
                 "coordinates": { "latitude": " 48.8 " } },
    "empty": { "network": [], "network6": [] },
    "bare": { "caches": [] }
  }
}"#;
    let czf = parse("z.json", text).expect("Traffic Router loads this file");
    let zones = &czf.zones;
    let names: Vec<&str> = zones.iter().map(|z| z.name.as_str()).collect();
    assert_eq!(names, ["b-first", "a-later", "empty", "bare"], "file order");
    assert_eq!(nets(&zones[0]), ["192.0.2.0/24", "198.51.100.7/32"]);
    assert_eq!(nets(&zones[1]), ["203.0.113.0/24"]);
    assert!(zones[2].networks.is_empty() && zones[3].networks.is_empty());
    assert!(zones.iter().all(|z| z.coordinates.is_none()));
    let shown: Vec<String> = czf.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), 3, "{shown:#?}");
    assert!(shown[0].starts_with("z.json:5:30: coverageZones.\"a-later\".network[0]: network 192.0.2.0/24 is already in zone \"b-first\""), "{}", shown[0]);
    assert!(
        shown[1].starts_with(
            "z.json:5:78: coverageZones.\"a-later\".network6[0]: \"10.0.0.0/8\" is an IPv4 network"
        ),
        "{}",
        shown[1]
    );
    assert!(
        shown[2].starts_with("z.json:6:18: coverageZones.\"a-later\".coordinates: needs both"),
        "{}",
        shown[2]
    );
}

#[test]
fn a_bad_cidr_is_named_with_its_line_and_path() {
    let bad = CZF.replace("\"192.0.2.128/25\"", "\"192.0.2.300/25\"");
    let e = parse("czf.json", &bad).expect_err("bad CIDR");
    assert_eq!(e.place, Some((6, 29)));
    assert_eq!(e.path, "coverageZones.\"fra-dt\".network[0]");
    assert!(
        e.to_string().starts_with(
            "czf.json:6:29: coverageZones.\"fra-dt\".network[0]: \"192.0.2.300/25\" is not a CIDR"
        ),
        "{e}"
    );
}

#[test]
fn guesses_traffic_router_makes_silently_are_errors() {
    for (bad, why) in [
        ("[10]", "is not a string"),
        ("[\"cdn.example.net/24\"]", "is not a CIDR"),
        ("\"192.0.2.0/24\"", "expected an array"),
    ] {
        let text = format!("{{\"coverageZones\": {{\"z\": {{\"network\": {bad}}}}}}}");
        let e = parse("c", &text).expect_err(bad);
        assert!(e.message.contains(why), "{bad}: {e}");
    }
    let e = parse("c", "{\"coverageZones\": {\"z\": {\"coordinates\": {\"latitude\": \"north\", \"longitude\": 1}}}}")
        .expect_err("not a number");
    assert!(e.message.contains("numeric strings"), "{e}");
}

#[test]
fn broken_json_and_other_json_are_errors() {
    let e = parse("c", "{\"coverageZones\": [").expect_err("truncated");
    assert_eq!(e.place.map(|p| p.0), Some(1));
    // An empty file and one cut after a newline point at a column that
    // exists (serde_json says column 0 there); found by the fuzz target.
    assert_eq!(parse("c", "").expect_err("empty").place, Some((1, 1)));
    assert_eq!(parse("c", "{\n").expect_err("cut").place, Some((2, 1)));
    // serde_json counts bytes: the place is given in characters.
    let e = parse("c", "{\"coverageZones\": {\"z\u{e9}\u{e9}\": x").expect_err("bad value");
    assert_eq!(e.place, Some((1, 27)), "the x, 27th character, 29th byte");
    assert!(parse("c", "{\"foo\": 1}")
        .expect_err("not a czf")
        .message
        .contains("no \"coverageZones\""));
    assert!(parse("c", "[]").is_err());
}

/// The fuzz target's property over its committed seeds (the fuzz build is
/// heavy; this runs with `cargo test`): no panic, and every error and
/// warning place is a line that exists and a column on it.
#[test]
fn fuzz_seeds_parse_with_places_inside_the_text() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/corpus/coverage_zones"
    );
    let inside = |text: &str, place: Option<(usize, usize)>| {
        place.is_none_or(|(line, column)| {
            let lines: Vec<&str> = text.split('\n').collect();
            line >= 1
                && lines
                    .get(line - 1)
                    .is_some_and(|l| column >= 1 && column <= l.chars().count() + 1)
        })
    };
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).expect("the corpus") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("seed");
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        match parse("czf.json", text) {
            Ok(czf) => assert!(czf.warnings.iter().all(|w| inside(text, w.place))),
            Err(e) => assert!(inside(text, e.place), "{e}"),
        }
        seen += 1;
    }
    assert!(seen > 100, "{seen} seeds");
}

#[test]
fn a_zone_named_twice_keeps_its_last_value_as_in_traffic_router() {
    let text = r#"{"coverageZones": {"z": {"network": ["192.0.2.0/24"]}, "y": {}, "z": {"network": ["198.51.100.0/24"]}}}"#;
    let czf = parse("c", text).expect("loads");
    let names: Vec<&str> = czf.zones.iter().map(|z| z.name.as_str()).collect();
    assert_eq!(names, ["z", "y"]);
    assert_eq!(nets(&czf.zones[0]), ["198.51.100.0/24"]);
}
