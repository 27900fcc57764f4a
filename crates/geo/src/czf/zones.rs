//! Reading the zones of a parsed coverage-zone file, with the place of
//! every value found again in the text (serde_json's values carry none).

use std::collections::HashMap;

use ipnet::IpNet;
use routecast_engine::{Coordinates, CoverageZone, Source};
use serde_json::{Map, Value};

use super::network::parse_network;
use super::network::Network;
use super::{Czf, CzfError, CzfWarning};

/// The two maps of zones, in the order they are merged.
const MAPS: [&str; 2] = ["coverageZones", "deepCoverageZones"];

/// Reads zones, collecting warnings and which zone owns each network.
pub(super) struct Reader {
    source: Source,
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
        Self {
            source,
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

    fn place(&self, path: &str, at: Option<usize>, message: String) -> CzfWarning {
        CzfWarning {
            file: self.source.name().to_string(),
            place: at.map(|at| self.source.line_column(at)),
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
        let mut zones: Vec<CoverageZone> = Vec::new();
        for key in MAPS {
            let Some(map) = root.get(key) else { continue };
            let at = self.find(0, key);
            let Some(map) = map.as_object() else {
                return Err(self.fail(key, at, "expected an object of zones".into()));
            };
            for (name, zone, from) in self.in_file_order(map, at.unwrap_or(0)) {
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

    /// The zones of `map` in the order of the file (serde_json sorts them),
    /// each with the offset of its name.
    fn in_file_order<'v>(
        &self,
        map: &'v Map<String, Value>,
        from: usize,
    ) -> Vec<(&'v str, &'v Value, usize)> {
        let mut zones: Vec<_> = map
            .iter()
            .map(|(name, zone)| {
                let at = self.find(from, name).unwrap_or(usize::MAX);
                (name.as_str(), zone, at)
            })
            .collect();
        zones.sort_by_key(|z| z.2);
        zones
            .into_iter()
            .map(|(n, z, at)| (n, z, if at == usize::MAX { from } else { at }))
            .collect()
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
        let mut cursor = self.find(zone.from, key).unwrap_or(zone.from);
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
        let at = self.find(zone.from, "coordinates");
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
