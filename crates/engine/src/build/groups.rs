//! Client groups: the configured ones, the imported coverage zones and the
//! default group, compiled into the table that matches a client to its
//! group; a network, ASN, country or continent belongs to one group.

use std::collections::HashMap;

use ipnet::IpNet;
use toml::Spanned;

use crate::config::{GroupConfig, PlatformConfig};
use crate::error::{ConfigError, Source};
use crate::groups::GroupTable;
use crate::ids::{GroupId, SiteId};
use crate::location::{Continent, Coordinates, CountryCode};
use crate::platform::{ClientGroup, GroupOrigin};
use crate::prefix::PrefixTableBuilder;

use super::{check_name, coordinates, err, site_ref};

/// The zones of one coverage-zone file, as `routecast-geo` parsed them.
#[derive(Debug, Clone)]
pub struct ImportedZones {
    /// Which `[[coverage_zones]]` entry of the configuration they belong to.
    pub entry: usize,
    /// The file they were read from (for messages).
    pub file: String,
    /// The zones.
    pub zones: Vec<CoverageZone>,
}

/// One coverage zone: a named set of networks, perhaps with coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverageZone {
    /// Zone name (the group name, after the entry's prefix).
    pub name: String,
    /// IPv4 and IPv6 networks of the zone.
    pub networks: Vec<IpNet>,
    /// Where the zone's clients are.
    pub coordinates: Option<Coordinates>,
}

/// The groups of `config` and of its imported coverage zones, and the table
/// that matches clients to them.
pub(super) fn build_groups(
    config: &PlatformConfig,
    imported: &[ImportedZones],
    site_ids: &HashMap<String, usize>,
) -> Result<(Vec<ClientGroup>, GroupTable), ConfigError> {
    let src = &config.source;
    let mut b = GroupsBuilder::new(src, site_ids);
    for g in &config.groups {
        b.add_config_group(g)?;
    }
    for z in imported {
        let entry = config.coverage_zones.get(z.entry).ok_or_else(|| {
            ConfigError::whole_file(
                src.name(),
                format!("coverage-zone entry {} does not exist", z.entry),
            )
        })?;
        let allowed = b.site_list(&entry.sites)?;
        for zone in &z.zones {
            b.add_zone(&entry.prefix, zone, &z.file, allowed.clone(), &entry.file)?;
        }
    }
    b.finish(config.default_group.as_ref())
}

/// Accumulates groups and their matching rules, rejecting ambiguity.
struct GroupsBuilder<'a> {
    src: &'a Source,
    sites: &'a HashMap<String, usize>,
    groups: Vec<ClientGroup>,
    by_name: HashMap<String, GroupId>,
    networks: PrefixTableBuilder<GroupId>,
    asns: HashMap<u32, GroupId>,
    countries: HashMap<CountryCode, GroupId>,
    continents: [Option<GroupId>; 7],
}

impl<'a> GroupsBuilder<'a> {
    fn new(src: &'a Source, sites: &'a HashMap<String, usize>) -> Self {
        Self {
            src,
            sites,
            groups: Vec::new(),
            by_name: HashMap::new(),
            networks: PrefixTableBuilder::new(),
            asns: HashMap::new(),
            countries: HashMap::new(),
            continents: [None; 7],
        }
    }

    fn site_list(&self, names: &[Spanned<String>]) -> Result<Option<Vec<SiteId>>, ConfigError> {
        if names.is_empty() {
            return Ok(None);
        }
        names
            .iter()
            .map(|n| site_ref(self.src, self.sites, n))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    fn new_group(&mut self, group: ClientGroup) -> Option<GroupId> {
        if self.by_name.contains_key(&group.name) {
            return None;
        }
        // Group ids fit in u32: a configuration has far fewer than 4 billion groups.
        let id = GroupId(u32::try_from(self.groups.len()).unwrap_or(u32::MAX));
        self.by_name.insert(group.name.clone(), id);
        self.groups.push(group);
        Some(id)
    }

    fn owner(&self, id: GroupId) -> &str {
        &self.groups[id.index()].name
    }

    fn add_config_group(&mut self, g: &GroupConfig) -> Result<(), ConfigError> {
        let src = self.src;
        check_name(src, &g.name, "group")?;
        let group = ClientGroup {
            name: g.name.get_ref().clone(),
            location: g
                .location
                .as_ref()
                .map(|l| coordinates(src, l))
                .transpose()?,
            allowed: self.site_list(&g.sites)?,
            origin: GroupOrigin::Config,
        };
        let id = self.new_group(group).ok_or_else(|| {
            err(
                src,
                &g.name,
                format!("group {:?} is defined twice", g.name.get_ref()),
            )
        })?;
        for c in &g.cidrs {
            let net = parse_cidr(c.get_ref()).map_err(|m| err(src, c, m))?;
            if let Some(other) = self.networks.get(&net).copied() {
                return Err(err(
                    src,
                    c,
                    format!("network {net} is already in group {:?}", self.owner(other)),
                ));
            }
            let _ = self.networks.insert(net, id);
        }
        for a in &g.asns {
            if let Some(other) = self.asns.insert(*a.get_ref(), id) {
                return Err(err(
                    src,
                    a,
                    format!(
                        "ASN {} is already in group {:?}",
                        a.get_ref(),
                        self.owner(other)
                    ),
                ));
            }
        }
        for c in &g.countries {
            let code: CountryCode = c.get_ref().parse().map_err(|m: String| err(src, c, m))?;
            if let Some(other) = self.countries.insert(code, id) {
                return Err(err(
                    src,
                    c,
                    format!("country {code} is already in group {:?}", self.owner(other)),
                ));
            }
        }
        for c in &g.continents {
            let cont: Continent = c.get_ref().parse().map_err(|m: String| err(src, c, m))?;
            if let Some(other) = self.continents[cont.index()].replace(id) {
                return Err(err(
                    src,
                    c,
                    format!(
                        "continent {cont} is already in group {:?}",
                        self.owner(other)
                    ),
                ));
            }
        }
        Ok(())
    }

    fn add_zone(
        &mut self,
        prefix: &str,
        zone: &CoverageZone,
        file: &str,
        allowed: Option<Vec<SiteId>>,
        at: &Spanned<String>,
    ) -> Result<(), ConfigError> {
        let name = format!("{prefix}{}", zone.name);
        let id = match self.by_name.get(&name) {
            // A zone listed in both coverageZones and deepCoverageZones is one group.
            Some(id)
                if self.groups[id.index()].origin
                    == (GroupOrigin::CoverageZone {
                        file: file.to_string(),
                    }) =>
            {
                *id
            }
            Some(_) => {
                return Err(err(self.src, at, format!("coverage zone {name:?} in {file} has the name of a group defined elsewhere")));
            }
            None => {
                let group = ClientGroup {
                    name: name.clone(),
                    location: zone.coordinates,
                    allowed,
                    origin: GroupOrigin::CoverageZone {
                        file: file.to_string(),
                    },
                };
                self.new_group(group).unwrap_or(GroupId(0))
            }
        };
        for net in &zone.networks {
            match self.networks.get(net) {
                Some(other) if *other == id => {}
                Some(other) => {
                    let msg = format!("network {net} of coverage zone {name:?} in {file} is already in group {:?}", self.owner(*other));
                    return Err(err(self.src, at, msg));
                }
                None => {
                    let _ = self.networks.insert(*net, id);
                }
            }
        }
        Ok(())
    }

    fn finish(
        mut self,
        default: Option<&Spanned<String>>,
    ) -> Result<(Vec<ClientGroup>, GroupTable), ConfigError> {
        let default = match default {
            Some(name) => *self.by_name.get(name.get_ref()).ok_or_else(|| {
                err(
                    self.src,
                    name,
                    format!("default_group {:?} is not a defined group", name.get_ref()),
                )
            })?,
            None => self
                .new_group(ClientGroup {
                    name: "default".into(),
                    location: None,
                    allowed: None,
                    origin: GroupOrigin::BuiltIn,
                })
                .or_else(|| self.by_name.get("default").copied())
                .unwrap_or(GroupId(0)),
        };
        let table = GroupTable {
            networks: self.networks.build(),
            asns: {
                let mut v: Vec<_> = self.asns.into_iter().collect();
                v.sort_unstable();
                v
            },
            countries: {
                let mut v = vec![None; 26 * 26];
                for (c, g) in self.countries {
                    v[c.index()] = Some(g);
                }
                v
            },
            continents: self.continents,
            default,
        };
        Ok((self.groups, table))
    }
}

/// Parses `a.b.c.d/len` or `v6::/len`; a bare address is a host route.
/// Host bits set are an error, as they usually mean a typo.
pub fn parse_cidr(s: &str) -> Result<IpNet, String> {
    let net: IpNet = match s.parse() {
        Ok(n) => n,
        Err(_) => match s.parse::<std::net::IpAddr>() {
            Ok(a) => IpNet::from(a),
            Err(_) => {
                return Err(format!(
                    "{s:?} is not a CIDR network (expected e.g. 192.0.2.0/24 or 2001:db8::/32)"
                ))
            }
        },
    };
    if net.trunc() != net {
        return Err(format!(
            "{s:?} has host bits set (did you mean {}?)",
            net.trunc()
        ));
    }
    Ok(net)
}
