//! Requests no site serves, by path prefix and reason: what a replay left
//! out, said where an operator can see why (`/presentations/`: no site's
//! content covers it).
//!
//! Whether any site serves a path does not depend on load, so it is known
//! when the request is prepared ([`Prepared::served_by_some_site`]); only
//! then is the path's prefix looked up in a bounded table (at most
//! [`MAX_PREFIXES`] distinct prefixes, the rest counted together). Served
//! requests cost one test; no allocation but for a new prefix.
//!
//! [`Prepared::served_by_some_site`]: routecast_engine::Prepared::served_by_some_site

use std::collections::HashMap;

use routecast_engine::Platform;
use serde::Serialize;

/// Distinct prefixes counted one by one; beyond, together as "other".
pub const MAX_PREFIXES: usize = 1024;

/// Prefixes listed in a report (the most bytes first).
pub const LISTED_PREFIXES: usize = 20;

/// Longest prefix kept, bytes.
const MAX_PREFIX_LEN: usize = 96;

/// Site content prefixes named in a reason, at most.
const NAMED_CONTENT: usize = 8;

/// Requests and bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Requests.
    pub requests: u64,
    /// Bytes.
    pub bytes: u64,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.requests = self.requests.saturating_add(other.requests);
        self.bytes = self.bytes.saturating_add(other.bytes);
    }
}

/// Unserved requests by path prefix, bounded.
#[derive(Debug, Default)]
pub(crate) struct UnservedPaths {
    by_prefix: HashMap<Box<[u8]>, Tally>,
    other: Tally,
}

impl UnservedPaths {
    /// Counts a request for `path` of `bytes` that no site serves.
    pub(crate) fn count(&mut self, path: &[u8], bytes: u64) {
        self.add(path_prefix(path), Tally { requests: 1, bytes });
    }

    fn add(&mut self, prefix: &[u8], t: Tally) {
        if let Some(have) = self.by_prefix.get_mut(prefix) {
            have.add(t);
        } else if self.by_prefix.len() < MAX_PREFIXES {
            self.by_prefix.insert(prefix.into(), t);
        } else {
            self.other.add(t);
        }
    }

    /// Whether nothing was counted.
    pub(crate) fn is_empty(&self) -> bool {
        self.by_prefix.is_empty() && self.other.requests == 0
    }

    /// Adds `other`'s counts to these.
    pub(crate) fn merge(&mut self, other: UnservedPaths) {
        for (prefix, t) in other.by_prefix {
            self.add(&prefix, t);
        }
        self.other.add(other.other);
    }

    /// The [`LISTED_PREFIXES`] prefixes with the most bytes (ties by
    /// prefix), the rest together, with the reason `platform` gives.
    pub(crate) fn top(&self, platform: &Platform) -> (Vec<UnservedPrefix>, Tally) {
        let mut all: Vec<(&[u8], Tally)> = self.by_prefix.iter().map(|(p, t)| (&**p, *t)).collect();
        all.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then(a.0.cmp(b.0)));
        let reason = not_served_reason(platform);
        let mut other = self.other;
        for (_, t) in all.iter().skip(LISTED_PREFIXES) {
            other.add(*t);
        }
        let listed = all
            .iter()
            .take(LISTED_PREFIXES)
            .map(|(p, t)| UnservedPrefix {
                prefix: String::from_utf8_lossy(p).into_owned(),
                requests: t.requests,
                bytes: t.bytes,
                gb: t.bytes as f64 / 1e9,
                reason: reason.clone(),
            })
            .collect();
        (listed, other)
    }
}

/// The first segment of `path` (`/presentations/` of
/// `/presentations/2009/a.pdf?x=1`), `/` for a file at the top; a path
/// that does not start with `/` up to its first `/`. At most
/// `MAX_PREFIX_LEN` bytes.
pub(crate) fn path_prefix(path: &[u8]) -> &[u8] {
    let path = path.split(|b| *b == b'?').next().unwrap_or(path);
    let from = usize::from(path.first() == Some(&b'/'));
    let end = match path[from..].iter().position(|b| *b == b'/') {
        Some(i) => from + i + 1,
        None if from == 1 => 1,
        None => path.len(),
    };
    &path[..end.min(MAX_PREFIX_LEN)]
}

/// Why a path no site's content covers is not served, naming what the
/// sites do serve.
fn not_served_reason(platform: &Platform) -> String {
    let mut content: Vec<&str> = platform
        .sites()
        .iter()
        .flat_map(|s| s.content.iter().map(String::as_str))
        .collect();
    content.sort_unstable();
    content.dedup();
    let more = content.len().saturating_sub(NAMED_CONTENT);
    let mut named = content
        .iter()
        .take(NAMED_CONTENT)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if more > 0 {
        named.push_str(&format!(" and {more} more"));
    }
    format!("no site's content covers it (sites serve {named})")
}

/// A path prefix no site serves (`summary.json`: `left_out.unserved`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnservedPrefix {
    /// The paths' first segment, e.g. `/presentations/` (bytes that are
    /// not UTF-8 shown as U+FFFD).
    pub prefix: String,
    /// Requests.
    pub requests: u64,
    /// Bytes.
    pub bytes: u64,
    /// Gigabytes.
    pub gb: f64,
    /// Why no site serves them.
    pub reason: String,
}

/// What a replay routed to no site, and why (`summary.json`: `left_out`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LeftOut {
    /// Requests whose path no site's content covers.
    pub not_served: Tally,
    /// The prefixes with the most of those bytes (at most
    /// [`LISTED_PREFIXES`]), most first.
    pub not_served_prefixes: Vec<UnservedPrefix>,
    /// Those of `not_served` in no listed prefix.
    pub not_served_other: Tally,
    /// Requests whose content sites serve but none could take (all down,
    /// disabled, or none the client's group may use).
    pub no_site_available: Tally,
    /// Requests whose start came later than the reordering window allowed
    /// (routed at once, not dropped).
    pub late: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_is_the_first_segment() {
        assert_eq!(
            path_prefix(b"/presentations/2009/a.pdf?x=1"),
            b"/presentations/"
        );
        assert_eq!(path_prefix(b"/index.html"), b"/");
        assert_eq!(path_prefix(b"/a?b/c"), b"/");
        assert_eq!(path_prefix(b"*"), b"*");
        assert_eq!(path_prefix(b""), b"");
        assert_eq!(path_prefix(&[b'/'; 300]), b"//");
        assert_eq!(path_prefix(&[b'a'; 300]).len(), MAX_PREFIX_LEN);
    }

    #[test]
    fn the_table_is_bounded() {
        let mut u = UnservedPaths::default();
        for i in 0..MAX_PREFIXES + 10 {
            u.count(format!("/p{i}/x").as_bytes(), 1);
        }
        assert_eq!(u.by_prefix.len(), MAX_PREFIXES);
        assert_eq!(
            u.other,
            Tally {
                requests: 10,
                bytes: 10
            }
        );
    }
}
