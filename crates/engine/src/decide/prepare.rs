//! Preparation: the part of a decision that does not depend on load or
//! health (the client's group, policy and position, the path's content
//! classes and hashes), as a small [`Prepared`] value.

use std::net::IpAddr;

use crate::groups::GroupMatch;
use crate::hash::{hash_addr, hash_bytes};
use crate::ids::{GroupId, PolicyId};
use crate::location::{Coordinates, Location};
use crate::policy::{HashKey, Policy, Step};

use super::Router;

/// Everything known about one request, as the caller found it.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// The client's address (after trusted-proxy resolution).
    pub address: IpAddr,
    /// What GeoIP knows of the address.
    pub location: Location,
    /// The request path, query included or not.
    pub path: &'a str,
    /// The client's User-Agent, if any.
    pub user_agent: Option<&'a str>,
}

impl Router {
    /// The part of a decision that does not depend on load or health: the
    /// client's group and policy, its position, and what the path selects.
    /// [`Router::route_prepared`] finishes it; `route_prepared(&prepare(f))`
    /// is `route_with(f)`. The simulator prepares on its parsing thread and
    /// routes on its replay thread.
    pub fn prepare(&self, facts: &Facts<'_>) -> Prepared {
        self.prepare_explained(facts).0
    }

    /// [`Router::prepare`], and what only an explanation needs: the rule
    /// that matched the group and the coordinates distances start from.
    pub(super) fn prepare_explained(
        &self,
        facts: &Facts<'_>,
    ) -> (Prepared, GroupMatch, Option<Coordinates>) {
        let p = &*self.platform;
        let (group, matched_by) = p.table.classify(facts.address, &facts.location);
        let policy_id = self.policy_for(group, facts.path);
        let coords = facts.location.coordinates.or(p.group(group).location);
        let needs = Needs::of(&p.policies[policy_id.index()]);
        // Kept whatever the policy: the simulator measures how far clients
        // are from the sites that serve them.
        let xyz = coords.map_or([f64::NAN; 3], |c| c.unit_vector());
        let serves = if needs.serves {
            let m = self.serves_mask(facts.path.as_bytes());
            [m as u64, (m >> 64) as u64]
        } else {
            [0; 2]
        };
        let prep = needs.assemble(
            (group, policy_id),
            hash_addr(facts.address),
            xyz,
            serves,
            facts.path.as_bytes(),
        );
        (prep, matched_by, coords)
    }

    /// Bit `c` set when the sites of content class `c` serve `path`.
    pub(super) fn serves_mask(&self, path: &[u8]) -> u128 {
        let p = &*self.platform;
        let mut serves = 0u128;
        for (class, site) in p.class_sites.iter().enumerate() {
            serves |= u128::from(p.sites[site.index()].serves(path)) << class;
        }
        serves
    }
}

/// The load-independent part of a decision ([`Router::prepare`]): plain
/// data, no borrow of the request. Small (80 bytes): the simulator queues one per request in flight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prepared {
    /// The client's group.
    pub group: GroupId,
    /// The policy that applies.
    pub policy: PolicyId,
    /// The client's position as a unit vector, when known (GeoIP, else its
    /// group's location); NaN when not: no `Option`, to keep the struct small.
    pub(super) client_xyz: [f64; 3],
    pub(super) client_hash: u64,
    /// Hash of the path, when a weighted step needs it.
    pub(super) path_hash: u64,
    /// Hashes of the consistent-hash keys the policy uses.
    pub(super) key_path: u64,
    pub(super) key_dir: u64,
    /// Bit `c`: the sites of content class `c` serve the path.
    pub(super) serves: [u64; 2],
}

impl Prepared {
    /// The prepared request as exact bits (floats by their bit patterns):
    /// requests with equal bits are routed alike under any view.
    pub fn bits(&self) -> [u64; 10] {
        super::memo::key(self)
    }

    /// Whether it carries a hash of its whole path (for a `weighted` or a
    /// `consistent_hash` by path step), which makes it nearly unique to its
    /// request; otherwise it is shared by a client's requests for a content
    /// class (or directory).
    pub fn hashes_whole_path(&self) -> bool {
        self.path_hash != 0 || self.key_path != 0
    }

    /// The client's position, if known.
    pub(super) fn xyz(&self) -> Option<&[f64; 3]> {
        (!self.client_xyz[0].is_nan()).then_some(&self.client_xyz)
    }

    /// The client's position as a unit vector (see
    /// [`Coordinates::unit_vector`](crate::Coordinates::unit_vector)), if
    /// GeoIP or its group's location gives one.
    pub fn client_position(&self) -> Option<[f64; 3]> {
        self.xyz().copied()
    }

    /// A hash of the client's address (the same for all its requests).
    pub fn client_hash(&self) -> u64 {
        self.client_hash
    }

    /// Whether some site serves the path (every chain tests content, at
    /// least implicitly): when not, the request is
    /// [`Outcome::NotServed`](crate::Outcome::NotServed) whatever the load.
    pub fn served_by_some_site(&self) -> bool {
        self.serves != [0; 2]
    }
}

/// What a policy needs of a request beyond its group and policy id.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Needs {
    pub(super) serves: bool,
    path_hash: bool,
    key_path: bool,
    key_dir: bool,
}

impl Needs {
    /// What `policy` needs.
    pub(super) fn of(policy: &Policy) -> Needs {
        let mut n = Needs::default();
        for s in &policy.steps {
            match s.step {
                Step::ServesContent => n.serves = true,
                Step::Weighted => n.path_hash = true,
                Step::ConsistentHash { key: HashKey::Path } => n.key_path = true,
                Step::ConsistentHash {
                    key: HashKey::Directory,
                } => n.key_dir = true,
                _ => {}
            }
        }
        n
    }

    /// The prepared request: the serving content lists kept only where
    /// the policy needs them (the client's position always), the path's
    /// hashes computed only where it does.
    pub(super) fn assemble(
        self,
        (group, policy): (GroupId, PolicyId),
        client_hash: u64,
        xyz: [f64; 3],
        serves: [u64; 2],
        path: &[u8],
    ) -> Prepared {
        let hash = |on: bool, key: HashKey| if on { hash_bytes(key.of(path)) } else { 0 };
        Prepared {
            group,
            policy,
            client_xyz: xyz,
            client_hash,
            path_hash: if self.path_hash { hash_bytes(path) } else { 0 },
            key_path: hash(self.key_path, HashKey::Path),
            key_dir: hash(self.key_dir, HashKey::Directory),
            serves: if self.serves { serves } else { [0; 2] },
        }
    }
}
