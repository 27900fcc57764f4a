//! The validated platform model: sites, client groups and policies.
//!
//! Built once from a [`PlatformConfig`](crate::config::PlatformConfig) by
//! [`Platform::build`]; everything downstream trusts these types. Sites are
//! in `site`, playlist rules in `playlist`, session classes in `sessions`; client groups live in
//! [`crate::groups`] and policies in [`crate::policy`] (re-exported here).

use crate::groups::GroupTable;
use crate::policy::Policy;

mod playlist;
mod sessions;
mod site;

pub use crate::groups::{ClientGroup, GroupOrigin};
pub use crate::ids::{GroupId, PolicyId, SiteId};
pub use playlist::{PlaylistFallback, PlaylistOrigin, PlaylistRule};
pub use sessions::SessionClass;
pub use site::{
    Cost, HealthCheck, LoadReading, LoadSource, Mbps, Site, SiteState, GB_PER_MBPS_MONTH,
};

/// Distinct site `content` lists a platform may have (a decision carries one
/// bit per list).
pub const MAX_CONTENT_CLASSES: usize = 128;

/// The whole validated platform: what the engine routes over.
#[derive(Debug, Clone)]
pub struct Platform {
    pub(crate) sites: Vec<Site>,
    pub(crate) groups: Vec<ClientGroup>,
    pub(crate) policies: Vec<Policy>,
    pub(crate) table: GroupTable,
    pub(crate) geoip: GeoIpFiles,
    pub(crate) playlists: Vec<PlaylistRule>,
    pub(crate) sessions: Vec<SessionClass>,
    /// Every site has the same weight.
    pub(crate) uniform_weights: bool,
    /// One site of each content class, by class: what a decision tests a
    /// path against.
    pub(crate) class_sites: Vec<SiteId>,
    /// The currency of the prices (ISO 4217), if configured.
    pub(crate) currency: Option<String>,
}

/// The MaxMind database files a configuration names (resolved by the loader).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GeoIpFiles {
    /// City or Country database path, as written.
    pub city: Option<String>,
    /// ASN database path, as written.
    pub asn: Option<String>,
}

impl Platform {
    /// The currency the prices are written in (ISO 4217, e.g. `EUR`), if
    /// the configuration says.
    pub fn currency(&self) -> Option<&str> {
        self.currency.as_deref()
    }

    /// All sites, in declaration order (`SiteId` is the index).
    pub fn sites(&self) -> &[Site] {
        &self.sites
    }

    /// One site.
    pub fn site(&self, id: SiteId) -> &Site {
        &self.sites[id.index()]
    }

    /// The site called `name`.
    pub fn site_by_name(&self, name: &str) -> Option<SiteId> {
        self.sites
            .iter()
            .position(|s| s.name == name)
            .and_then(|i| u16::try_from(i).ok())
            .map(SiteId)
    }

    /// All client groups.
    pub fn groups(&self) -> &[ClientGroup] {
        &self.groups
    }

    /// One group.
    pub fn group(&self, id: GroupId) -> &ClientGroup {
        &self.groups[id.index()]
    }

    /// All policies, in declaration order.
    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }

    /// One policy.
    pub fn policy(&self, id: PolicyId) -> &Policy {
        &self.policies[id.index()]
    }

    /// How clients are matched to groups.
    pub fn group_table(&self) -> &GroupTable {
        &self.table
    }

    /// The GeoIP databases the configuration names.
    pub fn geoip_files(&self) -> &GeoIpFiles {
        &self.geoip
    }

    /// The playlist rules, in declaration order.
    pub fn playlists(&self) -> &[PlaylistRule] {
        &self.playlists
    }
}
