//! Remembered preparation. [`Router::prepare`] does two kinds of work: on
//! the client (GeoIP location, group, the position as a unit vector — two
//! sines and two cosines — and the address hash) and on the path (the
//! policy for the group and path, which content lists serve the path, path
//! hashes for hashing steps). A viewer sends hundreds of requests, and a
//! platform has a handful of content prefixes; [`PrepareMemo`] keeps the
//! client part by address and the policy and content part by group and
//! *path class* — which of the platform's content prefixes the path starts
//! with, all that `policy_for` and `serves` look at. Only the path hashes a
//! policy asks for are computed per request. Exact: the same [`Prepared`]
//! as `prepare` with the located facts (property-tested).

use std::net::IpAddr;
use std::sync::Arc;

use super::prepare::Needs;
use super::{Prepared, Router};
use crate::hash::{hash_addr, hash_bytes, mix};
use crate::ids::{GroupId, PolicyId};
use crate::location::{Location, Locator};
use crate::platform::Platform;

/// What a request's preparation takes from its client.
#[derive(Debug, Clone, Copy)]
struct ClientPart {
    address: IpAddr,
    group: GroupId,
    /// The position as a unit vector (NaN when unknown).
    xyz: [f64; 3],
    hash: u64,
}

/// What a request's preparation takes from its group and path class.
#[derive(Debug, Clone, Copy)]
struct PathPart {
    group: GroupId,
    class: u64,
    policy: PolicyId,
    serves: [u64; 2],
}

/// Slots of the group-and-path-class table (at most; no more than client
/// slots).
const PATH_SLOTS: usize = 1024;

/// Remembered client and path-class parts of preparation; see the module
/// text. Direct-mapped tables, exact.
#[derive(Debug)]
pub struct PrepareMemo {
    platform: Option<Arc<Platform>>,
    clients: Vec<Option<ClientPart>>,
    client_bits: u32,
    paths: Vec<Option<PathPart>>,
    /// Every content prefix of the platform (policies' and sites'); `None`
    /// when there are more than a class has bits: paths then go the long way.
    prefixes: Option<Vec<String>>,
    needs: Vec<Needs>,
}

impl PrepareMemo {
    /// A memo of `2^bits` client addresses (allocated on first use).
    pub fn with_slot_bits(bits: u32) -> Self {
        Self {
            platform: None,
            clients: Vec::new(),
            client_bits: bits.clamp(1, 24),
            paths: Vec::new(),
            prefixes: None,
            needs: Vec::new(),
        }
    }

    /// Starts over for `platform` (on first use, or a router of another one).
    fn reset(&mut self, platform: &Arc<Platform>) {
        let mut prefixes: Vec<String> = platform
            .policies
            .iter()
            .flat_map(|p| p.content.iter())
            .chain(platform.sites.iter().flat_map(|s| s.content.iter()))
            .cloned()
            .collect();
        prefixes.sort();
        prefixes.dedup();
        self.prefixes = (prefixes.len() <= 64).then_some(prefixes);
        self.needs = platform.policies.iter().map(Needs::of).collect();
        self.clients = vec![None; 1 << self.client_bits];
        self.paths = vec![None; PATH_SLOTS.min(self.clients.len())];
        self.platform = Some(platform.clone());
    }

    /// Which of the platform's content prefixes `path` starts with.
    fn class(&self, path: &[u8]) -> Option<u64> {
        let prefixes = self.prefixes.as_ref()?;
        let bits = prefixes
            .iter()
            .enumerate()
            .map(|(i, p)| u64::from(crate::policy::has_prefix(path, p)) << i);
        Some(bits.fold(0, |a, b| a | b))
    }
}

/// A cheap hash of `address` for picking its slot, good in its top bits
/// (the address hash the engine routes by, xxh3, is computed only for a new
/// client).
fn slot_hash(address: IpAddr) -> u64 {
    let bits = match address {
        IpAddr::V4(a) => u64::from(u32::from(a)),
        IpAddr::V6(a) => {
            let x = u128::from(a);
            (x >> 64) as u64 ^ x as u64
        }
    };
    // Fibonacci hashing: the top bits of the product pick the slot.
    bits.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl Router {
    /// [`Router::prepare`] of the request from `address` for `path`, the
    /// address located by `locator`, with the client and path-class parts
    /// remembered in `memo` (see [`PrepareMemo`]). The path is bytes, as a
    /// log has it: prefixes and hashes never needed it to be UTF-8.
    pub fn prepare_memo(
        &self,
        address: IpAddr,
        path: &[u8],
        locator: &dyn Locator,
        memo: &mut PrepareMemo,
    ) -> Prepared {
        self.memo_for_platform(memo);
        let client = self.client_part(address, locator, memo);
        self.prepare_for_client(&client, path, memo)
    }

    /// [`Router::prepare_memo`] of a request from a client known by name,
    /// not by address (a host name in a log, never resolved), with what is
    /// known of where it is: its group from `location` alone
    /// ([`GroupTable::classify_located`](crate::GroupTable::classify_located)),
    /// its position its group's (as for an address GeoIP does not place),
    /// and, for consistent hashing by client, a hash of the name's bytes.
    pub fn prepare_memo_named(
        &self,
        name: &[u8],
        location: &Location,
        path: &[u8],
        memo: &mut PrepareMemo,
    ) -> Prepared {
        self.memo_for_platform(memo);
        let p = &*self.platform;
        let (group, _) = p.table.classify_located(location);
        let coords = location.coordinates.or(p.group(group).location);
        let client = ClientPart {
            address: IpAddr::from([0u8; 4]),
            group,
            xyz: coords.map_or([f64::NAN; 3], |c| c.unit_vector()),
            hash: hash_bytes(name),
        };
        self.prepare_for_client(&client, path, memo)
    }

    /// Starts `memo` over when it was for another platform.
    #[inline]
    fn memo_for_platform(&self, memo: &mut PrepareMemo) {
        if !memo
            .platform
            .as_ref()
            .is_some_and(|p| Arc::ptr_eq(p, &self.platform))
        {
            memo.reset(&self.platform);
        }
    }

    /// The prepared request of `client` for `path`.
    #[inline]
    fn prepare_for_client(
        &self,
        client: &ClientPart,
        path: &[u8],
        memo: &mut PrepareMemo,
    ) -> Prepared {
        let (policy, serves) = self.path_part(client, path, memo);
        let needs = memo.needs.get(policy.index()).copied().unwrap_or_default();
        needs.assemble(
            (client.group, policy),
            client.hash,
            client.xyz,
            serves,
            path,
        )
    }

    /// The client part of `address`, remembered or worked out.
    fn client_part(
        &self,
        address: IpAddr,
        locator: &dyn Locator,
        memo: &mut PrepareMemo,
    ) -> ClientPart {
        let i = (slot_hash(address) >> (64 - memo.client_bits)) as usize;
        if let Some(Some(c)) = memo.clients.get(i) {
            if c.address == address {
                return *c;
            }
        }
        let hash = hash_addr(address);
        let location = locator.locate(address);
        let p = &*self.platform;
        let (group, _) = p.table.classify(address, &location);
        let coords = location.coordinates.or(p.group(group).location);
        let c = ClientPart {
            address,
            group,
            xyz: coords.map_or([f64::NAN; 3], |c| c.unit_vector()),
            hash,
        };
        if let Some(slot) = memo.clients.get_mut(i) {
            *slot = Some(c);
        }
        c
    }

    /// The policy and serving content lists for the client's group and the
    /// path's class, remembered or worked out.
    fn path_part(
        &self,
        client: &ClientPart,
        path: &[u8],
        memo: &mut PrepareMemo,
    ) -> (PolicyId, [u64; 2]) {
        let work_out = || {
            let m = self.serves_mask(path);
            (
                self.policy_for(client.group, path),
                [m as u64, (m >> 64) as u64],
            )
        };
        let Some(class) = memo.class(path) else {
            return work_out();
        };
        // Both table sizes are powers of two.
        let i = mix(u64::from(client.group.0), class) as usize & (memo.paths.len().max(1) - 1);
        if let Some(Some(p)) = memo.paths.get(i) {
            if p.group == client.group && p.class == class {
                return (p.policy, p.serves);
            }
        }
        let (policy, serves) = work_out();
        if let Some(slot) = memo.paths.get_mut(i) {
            *slot = Some(PathPart {
                group: client.group,
                class,
                policy,
                serves,
            });
        }
        (policy, serves)
    }
}
