//! Apache Traffic Control Coverage Zone Files: client networks grouped into
//! named zones, imported as routecast client groups.
//!
//! The format (Traffic Router's `czf.json`):
//! ```json
//! { "revision": "…", "customerName": "…",
//!   "coverageZones": {
//!     "zone-a": { "network": ["192.0.2.0/24"], "network6": ["2001:db8::/48"],
//!                 "coordinates": { "latitude": 52.1, "longitude": "4.3" } } },
//!   "deepCoverageZones": { "zone-a": { "network": […], "caches": […] } } }
//! ```
//! Coordinates may be numbers or numeric strings (Traffic Ops has written
//! both). A zone in both maps is one group with the networks of both.

use routecast_engine::{parse_cidr, Coordinates, CoverageZone, Source};
use serde_json::{Map, Value};

/// A coverage-zone file that cannot be imported: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {path}: {message}", place.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
#[non_exhaustive]
pub struct CzfError {
    /// The file.
    pub file: String,
    /// Line and column of the offending value, when it can be found.
    pub place: Option<(usize, usize)>,
    /// JSON path of the offending value (`coverageZones."a".network[2]`).
    pub path: String,
    /// What is wrong and what was expected.
    pub message: String,
}

/// Line and column, in characters as editors count them, of serde_json's
/// error place: serde_json counts the column in bytes, and 0 at the start
/// of a line (an empty file, or the end just after a newline).
fn json_place(file: &str, text: &str, line: usize, byte_column: usize) -> (usize, usize) {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let mut at = (line_start + byte_column.saturating_sub(1)).min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    Source::new(file, text).line_column(at)
}

/// Parses a coverage-zone file. `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Vec<CoverageZone>, CzfError> {
    let fail = |path: String, needle: Option<&str>, message: String| CzfError {
        file: file.to_string(),
        place: needle
            .and_then(|n| text.find(n))
            .map(|at| Source::new(file, text).line_column(at)),
        path,
        message,
    };
    let root: Value = serde_json::from_str(text).map_err(|e| CzfError {
        file: file.to_string(),
        place: Some(json_place(file, text, e.line(), e.column())),
        path: "$".into(),
        message: format!("not valid JSON: {e}"),
    })?;
    let Some(root) = root.as_object() else {
        return Err(fail(
            "$".into(),
            None,
            "expected a JSON object with \"coverageZones\"".into(),
        ));
    };
    let mut zones: Vec<CoverageZone> = Vec::new();
    let mut found = false;
    for key in ["coverageZones", "deepCoverageZones"] {
        let Some(map) = root.get(key) else { continue };
        found = true;
        let Some(map) = map.as_object() else {
            return Err(fail(
                key.into(),
                Some(&format!("\"{key}\"")),
                "expected an object of zones".into(),
            ));
        };
        for (name, zone) in map {
            let z = parse_zone(key, name, zone, &fail)?;
            match zones.iter_mut().find(|x| x.name == z.name) {
                Some(existing) => {
                    for n in z.networks {
                        if !existing.networks.contains(&n) {
                            existing.networks.push(n);
                        }
                    }
                    existing.coordinates = existing.coordinates.or(z.coordinates);
                }
                None => zones.push(z),
            }
        }
    }
    if !found {
        return Err(fail(
            "$".into(),
            None,
            "no \"coverageZones\" (expected a Traffic Control coverage zone file)".into(),
        ));
    }
    Ok(zones)
}

type Fail<'a> = dyn Fn(String, Option<&str>, String) -> CzfError + 'a;

fn parse_zone(
    map: &str,
    name: &str,
    zone: &Value,
    fail: &Fail<'_>,
) -> Result<CoverageZone, CzfError> {
    let here = format!("{map}.{name:?}");
    let Some(zone) = zone.as_object() else {
        return Err(fail(
            here,
            Some(&format!("{name:?}")),
            "expected an object with \"network\" and/or \"network6\"".into(),
        ));
    };
    let mut networks = Vec::new();
    for key in ["network", "network6"] {
        let Some(list) = zone.get(key) else { continue };
        let Some(list) = list.as_array() else {
            return Err(fail(
                format!("{here}.{key}"),
                None,
                "expected an array of CIDR strings".into(),
            ));
        };
        for (i, v) in list.iter().enumerate() {
            let path = format!("{here}.{key}[{i}]");
            let Some(s) = v.as_str() else {
                return Err(fail(
                    path,
                    None,
                    format!("{v} is not a string (expected a CIDR such as \"192.0.2.0/24\")"),
                ));
            };
            let net =
                parse_cidr(s.trim()).map_err(|m| fail(path.clone(), Some(&format!("{s:?}")), m))?;
            let family_ok = (key == "network") == matches!(net, ipnet::IpNet::V4(_));
            if !family_ok {
                let want = if key == "network" { "IPv4" } else { "IPv6" };
                return Err(fail(
                    path,
                    Some(&format!("{s:?}")),
                    format!("{s:?} is not an {want} network (\"{key}\" holds {want})"),
                ));
            }
            networks.push(net);
        }
    }
    Ok(CoverageZone {
        name: name.to_string(),
        networks,
        coordinates: coordinates(&here, zone, fail)?,
    })
}

fn coordinates(
    here: &str,
    zone: &Map<String, Value>,
    fail: &Fail<'_>,
) -> Result<Option<Coordinates>, CzfError> {
    let Some(c) = zone.get("coordinates") else {
        return Ok(None);
    };
    let path = format!("{here}.coordinates");
    let num = |k: &str| -> Option<f64> {
        match c.get(k)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    };
    match (num("latitude"), num("longitude")) {
        (Some(lat), Some(lon)) => Coordinates::new(lat, lon)
            .map(Some)
            .map_err(|m| fail(path, None, m)),
        _ => Err(fail(
            path,
            None,
            "expected {\"latitude\": number, \"longitude\": number} (numbers or numeric strings)"
                .into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn zones_networks_and_string_coordinates() {
        let zones = parse("czf.json", CZF).expect("valid file");
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
    }

    #[test]
    fn a_bad_cidr_is_named_with_its_line_and_path() {
        let bad = CZF.replace("\"192.0.2.128/25\"", "\"192.0.2.300/25\"");
        let e = parse("czf.json", &bad).expect_err("bad CIDR");
        assert_eq!(e.place, Some((6, 29)));
        assert_eq!(e.path, "coverageZones.\"fra-dt\".network[0]");
        assert!(e.to_string().starts_with("czf.json:6:29: coverageZones.\"fra-dt\".network[0]: \"192.0.2.300/25\" is not a CIDR"), "{e}");
    }

    #[test]
    fn wrong_family_broken_json_and_other_json_are_errors() {
        let v6_in_v4 = CZF.replace("\"192.0.2.128/25\"", "\"2001:db8::/32\"");
        assert!(parse("c", &v6_in_v4)
            .expect_err("family")
            .message
            .contains("not an IPv4 network"));
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
}
