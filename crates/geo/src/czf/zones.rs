//! Reading the zones of a parsed coverage-zone file, with the place of
//! every value found again in the text (serde_json's values carry none).

use std::collections::HashMap;

use ipnet::IpNet;
use routecast_engine::{Coordinates, CoverageZone, Source};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::network::parse_network;
use super::network::Network;
use super::{Czf, CzfError, CzfWarning};

/// The two maps of zones, in the order they are merged.
const MAPS: [&str; 2] = ["coverageZones", "deepCoverageZones"];

/// The zone maps with their zones in the order of the file (serde_json's
/// `Map` sorts its keys; the first zone of the file keeps a network).
#[derive(Deserialize, Default)]
struct InFileOrder {
    #[serde(rename = "coverageZones", default)]
    coverage: Option<OrderedMap>,
    #[serde(rename = "deepCoverageZones", default)]
    deep: Option<OrderedMap>,
}

/// A JSON object's members in the order of the text.
struct OrderedMap(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for OrderedMap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> serde::de::Visitor<'de> for Members {
            type Value = OrderedMap;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of zones")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<OrderedMap, A::Error> {
                // A name given twice keeps its last value at its first
                // place, as serde_json's and Traffic Router's (Jackson's) maps do.
                let mut members: Vec<(String, Value)> = Vec::new();
                let mut index: HashMap<String, usize> = HashMap::new();
                while let Some((name, zone)) = m.next_entry::<String, Value>()? {
                    match index.get(&name) {
                        Some(&i) => members[i].1 = zone,
                        None => {
                            index.insert(name.clone(), members.len());
                            members.push((name, zone));
                        }
                    }
                }
                Ok(OrderedMap(members))
            }
        }
        d.deserialize_map(Members)
    }
}

/// Reads zones, collecting warnings and which zone owns each network.
pub(super) struct Reader {
    source: Source,
    /// Byte offsets where lines start (places of many warnings in a large
    /// file are found without rescanning it).
    line_starts: Vec<usize>,
    warnings: Vec<CzfWarning>,
    owner: HashMap<IpNet, String>,
}

/// A value's JSON path and the byte offset its search starts from.
struct Here<'p> {
    path: &'p str,
    from: usize,
}

/// One network as written: its JSON path, text and offset.
#[derive(Clone, Copy)]
struct Written<'w> {
    path: &'w str,
    at: Option<usize>,
    text: &'w str,
}

impl Reader {
    pub(super) fn new(source: Source) -> Self {
        let line_starts = std::iter::once(0)
            .chain(source.text().match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            source,
            line_starts,
            warnings: Vec::new(),
            owner: HashMap::new(),
        }
    }

    /// Byte offset of `value` (as JSON text) at or after `from`.
    fn find(&self, from: usize, value: &str) -> Option<usize> {
        let needle = serde_json::to_string(value).ok()?;
        let text = self.source.text();
        text.get(from..)?.find(&needle).map(|at| from + at)
    }

    /// Byte offset of the object key `key` at or after `from`: its JSON
    /// text followed by a colon (not the same text as a value).
    fn find_key(&self, from: usize, key: &str) -> Option<usize> {
        let text = self.source.text();
        let mut at = from;
        loop {
            let found = self.find(at, key)?;
            let after = found + serde_json::to_string(key).ok()?.len();
            if text.get(after..)?.trim_start().starts_with(':') {
                return Some(found);
            }
            at = found + 1;
        }
    }

    /// 1-based line and column (in characters) of byte offset `at`.
    fn line_column(&self, at: usize) -> (usize, usize) {
        let text = self.source.text();
        let line = self.line_starts.partition_point(|start| *start <= at);
        let start = self.line_starts[line.saturating_sub(1)];
        let column = text.get(start..at).map_or(0, |s| s.chars().count());
        (line, column + 1)
    }

    fn place(&self, path: &str, at: Option<usize>, message: String) -> CzfWarning {
        CzfWarning {
            file: self.source.name().to_string(),
            place: at.map(|at| self.line_column(at)),
            path: path.to_string(),
            message,
        }
    }

    fn fail(&self, path: &str, at: Option<usize>, message: String) -> CzfError {
        self.place(path, at, message).into()
    }

    fn warn(&mut self, path: &str, at: Option<usize>, message: String) {
        let w = self.place(path, at, message);
        self.warnings.push(w);
    }

    /// Reads both maps of zones of `root`.
    pub(super) fn read(mut self, root: &Value) -> Result<Czf, CzfError> {
        let Some(root) = root.as_object() else {
            let m = "expected a JSON object with \"coverageZones\"".to_string();
            return Err(self.fail("$", None, m));
        };
        if !MAPS.iter().any(|k| root.contains_key(*k)) {
            let m = "no \"coverageZones\" (expected a Traffic Control coverage zone file)";
            return Err(self.fail("$", None, m.into()));
        }
        for key in MAPS {
            if root.get(key).is_some_and(|map| !map.is_object()) {
                let at = self.find_key(0, key);
                return Err(self.fail(key, at, "expected an object of zones".into()));
            }
        }
        // Both maps are objects: this second reading keeps their order.
        let ordered: InFileOrder = serde_json::from_str(self.source.text()).unwrap_or_default();
        let mut zones: Vec<CoverageZone> = Vec::new();
        for (key, map) in MAPS.into_iter().zip([ordered.coverage, ordered.deep]) {
            let Some(OrderedMap(map)) = map else { continue };
            let mut cursor = self.find_key(0, key).unwrap_or(0);
            for (name, zone) in &map {
                let from = self.find_key(cursor, name).unwrap_or(cursor);
                cursor = from;
                let z = self.zone(key, name, zone, from)?;
                match zones.iter_mut().find(|x| x.name == z.name) {
                    Some(existing) => {
                        existing.networks.extend(z.networks);
                        existing.coordinates = existing.coordinates.or(z.coordinates);
                    }
                    None => zones.push(z),
                }
            }
        }
        Ok(Czf {
            zones,
            warnings: self.warnings,
        })
    }

    fn zone(
        &mut self,
        map: &str,
        name: &str,
        zone: &Value,
        from: usize,
    ) -> Result<CoverageZone, CzfError> {
        let path = format!("{map}.{}", serde_json::to_string(name).unwrap_or_default());
        let here = Here { path: &path, from };
        let Some(zone) = zone.as_object() else {
            let m = "expected an object with \"network\" and/or \"network6\"";
            return Err(self.fail(&path, Some(from), m.into()));
        };
        let mut networks = Vec::new();
        for key in ["network", "network6"] {
            if let Some(list) = zone.get(key) {
                self.networks(&here, name, key, list, &mut networks)?;
            }
        }
        Ok(CoverageZone {
            name: name.to_string(),
            networks,
            coordinates: self.coordinates(&here, zone)?,
        })
    }

    /// Reads one list (`network` or `network6`) of zone `name` into `out`.
    fn networks(
        &mut self,
        zone: &Here<'_>,
        name: &str,
        key: &str,
        list: &Value,
        out: &mut Vec<IpNet>,
    ) -> Result<(), CzfError> {
        let mut cursor = self.find_key(zone.from, key).unwrap_or(zone.from);
        let Some(list) = list.as_array() else {
            let m = "expected an array of CIDR strings".to_string();
            return Err(self.fail(&format!("{}.{key}", zone.path), Some(cursor), m));
        };
        for (i, value) in list.iter().enumerate() {
            let path = format!("{}.{key}[{i}]", zone.path);
            let Some(text) = value.as_str() else {
                let m =
                    format!("{value} is not a string (expected a CIDR such as \"192.0.2.0/24\")");
                return Err(self.fail(&path, None, m));
            };
            let at = self.find(cursor, text);
            cursor = at.map_or(cursor, |a| a + 1);
            let n = parse_network(text).map_err(|m| self.fail(&path, at, m))?;
            let written = Written {
                path: &path,
                at,
                text,
            };
            if let Some(net) = self.network(&written, key, n, name) {
                out.push(net);
            }
        }
        Ok(())
    }

    /// The network `n` (as written `w`, in list `key` of zone `name`) as
    /// imported, or `None` when it is skipped; warns of either.
    fn network(&mut self, w: &Written<'_>, key: &str, n: Network, name: &str) -> Option<IpNet> {
        let Written { path, at, text } = *w;
        let want_v4 = key == "network";
        if matches!(n.net, IpNet::V4(_)) != want_v4 {
            let (want, other) = if want_v4 {
                ("IPv4", "IPv6")
            } else {
                ("IPv6", "IPv4")
            };
            let m = format!("{text:?} is an {other} network in \"{key}\", which holds {want}: skipped (Traffic Router never matches it)");
            self.warn(path, at, m);
            return None;
        }
        if n.masked {
            let m = format!(
                "{text:?} has host bits set: read as {} (as Traffic Router does)",
                n.net
            );
            self.warn(path, at, m);
        }
        match self.owner.get(&n.net) {
            Some(owner) if owner == name => None,
            Some(owner) => {
                let m = format!("network {} is already in zone {owner:?}: kept there (Traffic Router keeps the first)", n.net);
                self.warn(path, at, m);
                None
            }
            None => {
                self.owner.insert(n.net, name.to_string());
                Some(n.net)
            }
        }
    }

    fn coordinates(
        &mut self,
        zone: &Here<'_>,
        fields: &Map<String, Value>,
    ) -> Result<Option<Coordinates>, CzfError> {
        let c = match fields.get("coordinates") {
            None | Some(Value::Null) => return Ok(None),
            Some(c) => c,
        };
        let path = format!("{}.coordinates", zone.path);
        let at = self.find_key(zone.from, "coordinates");
        let Some(c) = c.as_object() else {
            let m = "expected {\"latitude\": number, \"longitude\": number}".to_string();
            return Err(self.fail(&path, at, m));
        };
        let (Some(lat), Some(lon)) = (c.get("latitude"), c.get("longitude")) else {
            let m = "needs both \"latitude\" and \"longitude\": the zone has no coordinates (as in Traffic Router)";
            self.warn(&path, at, m.into());
            return Ok(None);
        };
        let number = |v: &Value| match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
            _ => None,
        };
        match (number(lat), number(lon)) {
            (Some(lat), Some(lon)) => Coordinates::new(lat, lon)
                .map(Some)
                .map_err(|m| self.fail(&path, at, m)),
            _ => Err(self.fail(
                &path,
                at,
                "expected {\"latitude\": number, \"longitude\": number} (numbers or numeric strings)".into(),
            )),
        }
    }
}
