//! Validation: [`PlatformConfig`] → [`Platform`], with every error placed.

use std::collections::HashMap;

use ipnet::IpNet;
use toml::Spanned;

use crate::config::{
    CoordinatesConfig, CostConfig, HealthConfig, LoadSourceConfig, PlatformConfig, PlaylistConfig,
    SiteConfig, StepConfig,
};
use crate::error::{ConfigError, Source};
use crate::groups::GroupTable;
use crate::hash::hash_str;
use crate::ids::{GroupId, SiteId};
use crate::location::{Continent, Coordinates, CountryCode};
use crate::platform::{
    ClientGroup, Cost, GeoIpFiles, GroupOrigin, HealthCheck, LoadReading, LoadSource, Mbps,
    Platform, PlaylistOrigin, PlaylistRule, Site, SiteState,
};
use crate::policy::{HashKey, Policy, PolicyStep, Step};
use crate::prefix::PrefixTableBuilder;

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

/// Steps in one policy (explanations keep a 64-bit mask per policy).
const MAX_STEPS: usize = 62;

/// Sites and groups are addressed by 16- and 32-bit ids.
const MAX_SITES: usize = u16::MAX as usize;

impl Platform {
    /// Validates a parsed configuration together with the coverage zones
    /// imported for its `[[coverage_zones]]` entries.
    pub fn build(
        config: &PlatformConfig,
        imported: &[ImportedZones],
    ) -> Result<Platform, ConfigError> {
        let src = &config.source;
        let sites = build_sites(src, &config.sites)?;
        let site_ids = name_index(sites.iter().map(|s| s.name.as_str()));
        let mut b = GroupsBuilder::new(src, &site_ids);
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
        let (groups, table) = b.finish(config.default_group.as_ref())?;
        let group_ids = name_index(groups.iter().map(|g| g.name.as_str()));
        let policies = build_policies(src, config, &site_ids, &group_ids, sites.len())?;
        let playlists = build_playlists(src, &config.playlists, &sites)?;
        let uniform_weights = sites.windows(2).all(|w| w[0].weight == w[1].weight);
        let mut class_sites: Vec<SiteId> = Vec::new();
        for (i, site) in sites.iter().enumerate() {
            if usize::from(site.content_class) == class_sites.len() {
                class_sites.push(SiteId(i as u16));
            }
        }
        Ok(Platform {
            class_sites,
            playlists,
            uniform_weights,
            sites,
            groups,
            policies,
            table,
            geoip: GeoIpFiles {
                city: config.geoip.city.as_ref().map(|s| s.get_ref().clone()),
                asn: config.geoip.asn.as_ref().map(|s| s.get_ref().clone()),
            },
        })
    }
}

fn name_index<'a>(names: impl Iterator<Item = &'a str>) -> HashMap<String, usize> {
    names.enumerate().map(|(i, n)| (n.to_string(), i)).collect()
}

fn err<T>(src: &Source, at: &Spanned<T>, message: impl Into<String>) -> ConfigError {
    src.error(at.span(), message)
}

fn check_name(src: &Source, name: &Spanned<String>, what: &str) -> Result<(), ConfigError> {
    let n = name.get_ref();
    let ok = !n.is_empty()
        && n.len() <= 64
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(err(src, name, format!(
            "{what} name {n:?} is not valid (expected 1-64 characters: letters, digits, '-', '_', '.')"
        )))
    }
}

fn build_sites(src: &Source, configs: &[SiteConfig]) -> Result<Vec<Site>, ConfigError> {
    if configs.is_empty() {
        return Err(ConfigError::whole_file(
            src.name(),
            "no [[sites]] defined (expected at least one site)",
        ));
    }
    if configs.len() > MAX_SITES {
        return Err(ConfigError::whole_file(
            src.name(),
            format!("too many sites (at most {MAX_SITES})"),
        ));
    }
    let mut seen: HashMap<&str, ()> = HashMap::new();
    let mut sites = Vec::with_capacity(configs.len());
    for c in configs {
        check_name(src, &c.name, "site")?;
        if seen.insert(c.name.get_ref(), ()).is_some() {
            return Err(err(
                src,
                &c.name,
                format!("site {:?} is defined twice", c.name.get_ref()),
            ));
        }
        sites.push(build_site(src, c)?);
    }
    // Dense content classes: sites with equal `content` lists share one, so
    // that a decision tests each distinct list once (a bit per class).
    let mut classes = 0u16;
    for i in 0..sites.len() {
        let class = match sites[..i].iter().find(|s| s.content == sites[i].content) {
            Some(s) => s.content_class,
            None => {
                classes += 1;
                classes - 1
            }
        };
        if usize::from(class) >= crate::platform::MAX_CONTENT_CLASSES {
            return Err(err(
                src,
                &configs[i].name,
                format!(
                    "more than {} different `content` lists among sites",
                    crate::platform::MAX_CONTENT_CLASSES
                ),
            ));
        }
        sites[i].content_class = class;
    }
    Ok(sites)
}

fn build_site(src: &Source, c: &SiteConfig) -> Result<Site, ConfigError> {
    let name = c.name.get_ref().clone();
    if c.urls.get_ref().is_empty() {
        return Err(err(
            src,
            &c.urls,
            format!("site {name:?} has no URL (expected urls = [\"https://host\", ...])"),
        ));
    }
    let urls = c
        .urls
        .get_ref()
        .iter()
        .map(|u| base_url(u.get_ref()).map_err(|m| err(src, u, m)))
        .collect::<Result<Vec<_>, _>>()?;
    let capacity = match &c.capacity_mbps {
        Some(v) if !(v.get_ref().is_finite() && *v.get_ref() > 0.0) => {
            return Err(err(
                src,
                v,
                "capacity_mbps must be a positive number of Mbit/s",
            ));
        }
        Some(v) => Some(Mbps(*v.get_ref())),
        None => None,
    };
    let weight = match &c.weight {
        Some(w) if !(w.get_ref().is_finite() && *w.get_ref() >= 0.0) => {
            return Err(err(src, w, "weight must be a number >= 0"));
        }
        Some(w) => *w.get_ref(),
        None => 1.0,
    };
    let content = c
        .content
        .iter()
        .map(|p| content_prefix(src, p))
        .collect::<Result<Vec<_>, _>>()?;
    let location = coordinates(src, &c.location)?;
    Ok(Site {
        xyz: location.unit_vector(),
        content_class: 0,
        location,
        cost: match &c.cost {
            Some(cost) => build_cost(src, cost)?,
            None => Cost::PerGb(0.0),
        },
        state: match &c.state {
            Some(s) => site_state(src, s)?,
            None => SiteState::Active,
        },
        health: c
            .health
            .as_ref()
            .map(|h| health_check(src, h))
            .transpose()?,
        load_source: c.load.as_ref().map(|l| load_source(src, l)).transpose()?,
        name_hash: hash_str(&name),
        name,
        urls,
        capacity,
        weight,
        content,
    })
}

/// Checks a redirect base URL: `http(s)://host[:port][/path]`, no query,
/// fragment, credentials or white space; the trailing `/` is removed.
fn base_url(u: &str) -> Result<String, String> {
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))
        .ok_or_else(|| format!("URL {u:?} must start with http:// or https://"))?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') {
        return Err(format!("URL {u:?} has no host"));
    }
    if let Some(bad) = u
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || "?#@\\".contains(*c))
    {
        return Err(format!("URL {u:?} contains {bad:?} (expected a base URL without query, fragment or credentials)"));
    }
    Ok(u.trim_end_matches('/').to_string())
}

fn content_prefix(src: &Source, p: &Spanned<String>) -> Result<String, ConfigError> {
    if p.get_ref().starts_with('/') {
        Ok(p.get_ref().clone())
    } else {
        Err(err(
            src,
            p,
            format!("content prefix {:?} must start with '/'", p.get_ref()),
        ))
    }
}

/// Longest time a playlist fetch may be given, ms.
const MAX_PLAYLIST_TIMEOUT_MS: u64 = 60_000;

fn build_playlists(
    src: &Source,
    configs: &[PlaylistConfig],
    sites: &[Site],
) -> Result<Vec<PlaylistRule>, ConfigError> {
    let mut seen: HashMap<String, ()> = HashMap::new();
    let mut rules = Vec::with_capacity(configs.len());
    for c in configs {
        if c.content.get_ref().is_empty() {
            return Err(err(
                src,
                &c.content,
                "a playlist rule needs content = [\"/prefix/\", ...]",
            ));
        }
        let mut content = Vec::with_capacity(c.content.get_ref().len());
        for p in c.content.get_ref() {
            let prefix = content_prefix(src, p)?;
            if seen.insert(prefix.clone(), ()).is_some() {
                return Err(err(
                    src,
                    p,
                    format!("content prefix {prefix:?} is already in a playlist rule"),
                ));
            }
            content.push(prefix);
        }
        let origin = playlist_origin(src, c, &content, sites)?;
        let timeout_ms = match &c.timeout_ms {
            Some(t) if !(1..=MAX_PLAYLIST_TIMEOUT_MS).contains(t.get_ref()) => {
                return Err(err(
                    src,
                    t,
                    format!("playlist timeout_ms must be between 1 and {MAX_PLAYLIST_TIMEOUT_MS}"),
                ));
            }
            Some(t) => *t.get_ref(),
            None => 2000,
        };
        rules.push(PlaylistRule {
            content,
            origin,
            steering: c.steering.unwrap_or(false),
            timeout_ms,
        });
    }
    Ok(rules)
}

/// `"site"` (every site that may serve the content needs an `http://` URL to
/// fetch from) or the `http://` base URL of one origin.
fn playlist_origin(
    src: &Source,
    c: &PlaylistConfig,
    content: &[String],
    sites: &[Site],
) -> Result<PlaylistOrigin, ConfigError> {
    match &c.origin {
        Some(o) if o.get_ref() != "site" => {
            let url = base_url(o.get_ref()).map_err(|m| err(src, o, m))?;
            if url.starts_with("http://") {
                Ok(PlaylistOrigin::Url(url))
            } else {
                Err(err(src, o, format!(
                    "playlist origin {url:?} must be \"site\" or an http:// URL (https origins are not supported yet)"
                )))
            }
        }
        _ => {
            let overlaps = |site: &Site| {
                site.content.is_empty()
                    || site.content.iter().any(|s| {
                        content
                            .iter()
                            .any(|p| p.starts_with(s.as_str()) || s.starts_with(p.as_str()))
                    })
            };
            match sites.iter().find(|s| overlaps(s) && s.http_url().is_none()) {
                Some(s) => {
                    let message = format!(
                        "playlists with origin \"site\" are fetched over http://, but site {:?} has no http:// URL (add one to its urls, or set origin = \"http://...\")",
                        s.name
                    );
                    Err(match &c.origin {
                        Some(o) => err(src, o, message),
                        None => err(src, &c.content, message),
                    })
                }
                None => Ok(PlaylistOrigin::Site),
            }
        }
    }
}

fn coordinates(src: &Source, c: &Spanned<CoordinatesConfig>) -> Result<Coordinates, ConfigError> {
    Coordinates::new(c.get_ref().lat, c.get_ref().lon).map_err(|m| err(src, c, m))
}

/// `http://host…` with no white space or control characters (the polling
/// client speaks plain HTTP only).
fn plain_http_url(url: &str) -> bool {
    let host = url
        .strip_prefix("http://")
        .and_then(|r| r.split('/').next())
        .unwrap_or("");
    !host.is_empty() && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn health_check(src: &Source, h: &Spanned<HealthConfig>) -> Result<HealthCheck, ConfigError> {
    let v = h.get_ref();
    let bad = |m: String| Err(err(src, h, m));
    if !plain_http_url(&v.url) {
        return bad(format!(
            "health url {:?} must be an http:// URL (https checks are not supported yet)",
            v.url
        ));
    }
    let interval_ms = v.interval_ms.unwrap_or(5000);
    let timeout_ms = v.timeout_ms.unwrap_or(2000.min(interval_ms));
    let (rise, fall) = (v.rise.unwrap_or(2), v.fall.unwrap_or(3));
    if interval_ms < 100 || timeout_ms == 0 || timeout_ms > interval_ms {
        return bad(
            "health interval_ms must be at least 100 and timeout_ms between 1 and interval_ms"
                .into(),
        );
    }
    if rise == 0 || fall == 0 {
        return bad("health rise and fall must be at least 1".into());
    }
    Ok(HealthCheck {
        url: v.url.clone(),
        interval_ms,
        timeout_ms,
        rise,
        fall,
    })
}

fn load_source(src: &Source, l: &Spanned<LoadSourceConfig>) -> Result<LoadSource, ConfigError> {
    let v = l.get_ref();
    let bad = |m: &str| Err(err(src, l, m.to_string()));
    if !plain_http_url(&v.url) {
        return bad("load url must be an http:// URL");
    }
    let per_connection = v.mbps_per_connection;
    if per_connection.is_some() && v.format != "stub_status" {
        return bad("mbps_per_connection is only for format \"stub_status\"");
    }
    let reading = match (v.format.as_str(), &v.metric, &v.field) {
        ("prometheus", Some(m), None) if !m.is_empty() => {
            LoadReading::PrometheusBytes { metric: m.clone() }
        }
        ("json", None, Some(f)) if !f.is_empty() => LoadReading::JsonMbps { field: f.clone() },
        ("stub_status", None, None) => match per_connection {
            Some(x) if x.is_finite() && x > 0.0 => LoadReading::StubStatusWriting {
                per_connection: Mbps(x),
            },
            _ => return bad(
                "format \"stub_status\" needs mbps_per_connection = <Mbit/s per writing connection, above 0> (and no metric or field)",
            ),
        },
        ("prometheus", ..) => {
            return bad(
                "format \"prometheus\" needs metric = \"<counter of bytes sent>\" (and no field)",
            )
        }
        ("json", ..) => {
            return bad("format \"json\" needs field = \"<dot path to Mbit/s>\" (and no metric)")
        }
        ("stub_status", ..) => {
            return bad("format \"stub_status\" takes no metric or field (it reads Writing:)")
        }
        _ => return bad("load format must be \"prometheus\", \"json\" or \"stub_status\""),
    };
    let interval_ms = v.interval_ms.unwrap_or(5000);
    if interval_ms < 100 {
        return bad("load interval_ms must be at least 100");
    }
    Ok(LoadSource {
        url: v.url.clone(),
        reading,
        interval_ms,
    })
}

fn site_state(src: &Source, s: &Spanned<String>) -> Result<SiteState, ConfigError> {
    match s.get_ref().as_str() {
        "active" => Ok(SiteState::Active),
        "draining" => Ok(SiteState::Draining),
        "disabled" => Ok(SiteState::Disabled),
        other => Err(err(
            src,
            s,
            format!("state {other:?} is not one of active, draining, disabled"),
        )),
    }
}

fn build_cost(src: &Source, c: &Spanned<CostConfig>) -> Result<Cost, ConfigError> {
    let v = c.get_ref();
    let bad = |m: &str| Err(err(src, c, m.to_string()));
    let nonneg = |x: f64| x.is_finite() && x >= 0.0;
    match (v.per_gb, v.commit_mbps, v.commit_price, v.overage_per_mbps) {
        (Some(p), None, None, None) if nonneg(p) => Ok(Cost::PerGb(p)),
        (Some(_), None, None, None) => bad("per_gb must be a number >= 0"),
        (None, Some(m), p, o) if m.is_finite() && m > 0.0 => {
            let (price, over) = (p.unwrap_or(0.0), o.unwrap_or(0.0));
            if nonneg(price) && nonneg(over) {
                Ok(Cost::Commit { mbps: m, price, overage_per_mbps: over })
            } else {
                bad("commit_price and overage_per_mbps must be numbers >= 0")
            }
        }
        (None, Some(_), _, _) => bad("commit_mbps must be a positive number of Mbit/s"),
        _ => bad("cost must be either { per_gb = ... } or { commit_mbps = ..., commit_price = ..., overage_per_mbps = ... }"),
    }
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

    fn add_config_group(&mut self, g: &crate::config::GroupConfig) -> Result<(), ConfigError> {
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

fn site_ref(
    src: &Source,
    sites: &HashMap<String, usize>,
    name: &Spanned<String>,
) -> Result<SiteId, ConfigError> {
    sites
        .get(name.get_ref())
        .and_then(|i| u16::try_from(*i).ok())
        .map(SiteId)
        .ok_or_else(|| {
            err(
                src,
                name,
                format!(
                    "no site is named {:?} (expected one of the [[sites]] names)",
                    name.get_ref()
                ),
            )
        })
}

fn build_policies(
    src: &Source,
    config: &PlatformConfig,
    sites: &HashMap<String, usize>,
    groups: &HashMap<String, usize>,
    site_count: usize,
) -> Result<Vec<Policy>, ConfigError> {
    let mut seen = HashMap::new();
    let mut out = Vec::with_capacity(config.policies.len() + 1);
    for p in &config.policies {
        check_name(src, &p.name, "policy")?;
        if seen.insert(p.name.get_ref().clone(), ()).is_some() {
            return Err(err(
                src,
                &p.name,
                format!("policy {:?} is defined twice", p.name.get_ref()),
            ));
        }
        let group_ids = p
            .groups
            .iter()
            .map(|g| {
                groups
                    .get(g.get_ref())
                    .map(|i| GroupId(*i as u32))
                    .ok_or_else(|| err(src, g, format!("no group is named {:?}", g.get_ref())))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if p.steps.get_ref().is_empty() {
            return Err(err(src, &p.steps, "a policy needs at least one step"));
        }
        if p.steps.get_ref().len() > MAX_STEPS {
            return Err(err(
                src,
                &p.steps,
                format!("a policy has at most {MAX_STEPS} steps"),
            ));
        }
        let steps = p
            .steps
            .get_ref()
            .iter()
            .map(|s| build_step(src, s, sites, site_count))
            .collect::<Result<Vec<_>, _>>()?;
        out.push(Policy {
            name: p.name.get_ref().clone(),
            groups: (!group_ids.is_empty()).then_some(group_ids),
            content: p
                .content
                .iter()
                .map(|c| content_prefix(src, c))
                .collect::<Result<_, _>>()?,
            steps: with_implicit_steps(steps),
        });
    }
    if !out
        .iter()
        .any(|p| p.groups.is_none() && p.content.is_empty())
    {
        out.push(Policy {
            name: "built-in-default".into(),
            groups: None,
            content: Vec::new(),
            steps: with_implicit_steps(vec![
                Step::ServesContent,
                Step::AllowedForGroup,
                Step::closest(0.0),
            ]),
        });
    }
    if out.len() > usize::from(u16::MAX) {
        return Err(ConfigError::whole_file(src.name(), "too many policies"));
    }
    Ok(out)
}

/// `available` first and a `capacity` step last unless the chain has them.
fn with_implicit_steps(steps: Vec<Step>) -> Vec<PolicyStep> {
    let mut out = Vec::with_capacity(steps.len() + 2);
    if !steps.contains(&Step::Available) {
        out.push(PolicyStep {
            step: Step::Available,
            implicit: true,
        });
    }
    let has_capacity = steps.iter().any(|s| matches!(s, Step::Capacity { .. }));
    out.extend(steps.into_iter().map(|step| PolicyStep {
        step,
        implicit: false,
    }));
    if !has_capacity {
        out.push(PolicyStep {
            step: Step::Capacity { headroom: 0.0 },
            implicit: true,
        });
    }
    out
}

fn build_step(
    src: &Source,
    s: &Spanned<StepConfig>,
    sites: &HashMap<String, usize>,
    site_count: usize,
) -> Result<Step, ConfigError> {
    Ok(match s.get_ref() {
        StepConfig::Available => Step::Available,
        StepConfig::ServesContent => Step::ServesContent,
        StepConfig::AllowedForGroup => Step::AllowedForGroup,
        StepConfig::LeastCost => Step::LeastCost,
        StepConfig::Weighted => Step::Weighted,
        StepConfig::Capacity { headroom } => {
            let h = headroom.unwrap_or(0.1);
            if !(0.0..1.0).contains(&h) {
                return Err(err(
                    src,
                    s,
                    "capacity headroom must be at least 0 and below 1 (a fraction of capacity)",
                ));
            }
            Step::Capacity { headroom: h }
        }
        StepConfig::Closest { bucket_km } => {
            let b = bucket_km.unwrap_or(0.0);
            if !(b.is_finite() && b >= 0.0) {
                return Err(err(src, s, "bucket_km must be a number of km >= 0"));
            }
            Step::closest(b)
        }
        StepConfig::ConsistentHash { key } => Step::ConsistentHash {
            key: match key.as_deref() {
                None | Some("path") => HashKey::Path,
                Some("directory") => HashKey::Directory,
                Some(other) => {
                    return Err(err(
                        src,
                        s,
                        format!("consistent_hash key {other:?} is not one of path, directory"),
                    ))
                }
            },
        },
        StepConfig::Preference { sites: names } => {
            if names.is_empty() {
                return Err(err(src, s, "preference needs a list of sites"));
            }
            let last = u16::try_from(names.len()).unwrap_or(u16::MAX);
            let mut rank = vec![last; site_count];
            for (pos, n) in names.iter().enumerate() {
                let id = sites
                    .get(n)
                    .and_then(|i| u16::try_from(*i).ok())
                    .map(SiteId)
                    .ok_or_else(|| err(src, s, format!("preference names no site {n:?} (expected one of the [[sites]] names)")))?;
                rank[id.index()] = rank[id.index()].min(pos as u16);
            }
            Step::Preference { rank }
        }
    })
}
