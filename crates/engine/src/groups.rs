//! Client groups, and matching a client to its group: longest prefix
//! first, then ASN, country, continent, and the default group last.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::ids::{GroupId, SiteId};
use crate::location::{Continent, Coordinates, CountryCode, Location};
use crate::prefix::PrefixTable;

/// Where a client group was defined.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GroupOrigin {
    /// In the platform configuration.
    Config,
    /// Imported from a coverage-zone file.
    CoverageZone {
        /// The file.
        file: String,
    },
    /// The built-in default group.
    BuiltIn,
}

/// A set of clients routed alike.
#[derive(Debug, Clone)]
pub struct ClientGroup {
    /// Unique name.
    pub name: String,
    /// Where its clients are, when GeoIP does not say.
    pub location: Option<Coordinates>,
    /// Sites the group may use; `None` is all.
    pub allowed: Option<Vec<SiteId>>,
    /// Where it was defined.
    pub origin: GroupOrigin,
}

impl ClientGroup {
    /// True when the group may use `site`.
    pub fn allows(&self, site: SiteId) -> bool {
        self.allowed.as_ref().is_none_or(|a| a.contains(&site))
    }
}

/// Why a client is in its group: the rule that matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GroupMatch {
    /// The most specific configured network containing the address.
    Network(IpNet),
    /// The client's autonomous system.
    Asn(u32),
    /// The client's country.
    Country(CountryCode),
    /// The client's continent.
    Continent(Continent),
    /// Nothing else matched.
    Default,
}

impl fmt::Display for GroupMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupMatch::Network(n) => write!(f, "network {n}"),
            GroupMatch::Asn(a) => write!(f, "ASN {a}"),
            GroupMatch::Country(c) => write!(f, "country {c}"),
            GroupMatch::Continent(c) => write!(f, "continent {c}"),
            GroupMatch::Default => f.write_str("default"),
        }
    }
}

/// The compiled matching rules of all groups.
#[derive(Debug, Clone)]
pub struct GroupTable {
    pub(crate) networks: PrefixTable<GroupId>,
    /// Sorted by ASN, for binary search (no hashing on the hot path).
    pub(crate) asns: Vec<(u32, GroupId)>,
    /// Indexed by [`CountryCode::index`].
    pub(crate) countries: Vec<Option<GroupId>>,
    pub(crate) continents: [Option<GroupId>; 7],
    pub(crate) default: GroupId,
}

impl GroupTable {
    /// The group of a client at `addr` with what GeoIP knows of it.
    #[inline]
    pub fn classify(&self, addr: IpAddr, loc: &Location) -> (GroupId, GroupMatch) {
        if let Some((net, g)) = self.networks.longest_match(addr) {
            return (*g, GroupMatch::Network(net));
        }
        self.classify_located(loc)
    }

    /// The group of a client known by its location only (no address to
    /// match networks with, as a host name in a log): ASN, country,
    /// continent, else the default group.
    #[inline]
    pub fn classify_located(&self, loc: &Location) -> (GroupId, GroupMatch) {
        if let Some(asn) = loc.asn {
            if let Ok(i) = self.asns.binary_search_by_key(&asn, |e| e.0) {
                return (self.asns[i].1, GroupMatch::Asn(asn));
            }
        }
        if let Some(c) = loc.country {
            if let Some(Some(g)) = self.countries.get(c.index()) {
                return (*g, GroupMatch::Country(c));
            }
        }
        if let Some(c) = loc.continent {
            if let Some(g) = self.continents[c.index()] {
                return (g, GroupMatch::Continent(c));
            }
        }
        (self.default, GroupMatch::Default)
    }

    /// The network table (configured CIDRs and coverage zones).
    pub fn networks(&self) -> &PrefixTable<GroupId> {
        &self.networks
    }

    /// The default group.
    pub fn default_group(&self) -> GroupId {
        self.default
    }
}
