//! Ids of the platform's sites, client groups and policies: small indexes
//! into the [`Platform`](crate::Platform)'s tables, in declaration order.
//!
//! Their own module, below everything else, so that the modules that use
//! them (groups, policies, the platform, decisions) need not import one
//! another.

/// Index of a site in [`Platform::sites`](crate::Platform::sites)
/// (declaration order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SiteId(pub u16);

/// Index of a group in [`Platform::groups`](crate::Platform::groups).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId(pub u32);

/// Index of a policy in [`Platform::policies`](crate::Platform::policies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PolicyId(pub u16);

impl SiteId {
    /// As an index into per-site tables.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

impl GroupId {
    /// As an index into per-group tables.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl PolicyId {
    /// As an index into [`Platform::policies`](crate::Platform::policies).
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}
