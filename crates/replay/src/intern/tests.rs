use std::sync::Arc;

use proptest::prelude::*;
use routecast_engine::{Facts, Location, Platform, PlatformConfig, Router};

use super::*;

/// One policy hashes directories (shared by a client's requests for a
/// title), one whole paths (nearly unique per request).
const PLATFORM: &str = r#"
[[sites]]
name = "a"
urls = ["https://a.example.net"]
location = { lat = 0, lon = 0 }
content = ["/vod/", "/live/"]

[[sites]]
name = "b"
urls = ["https://b.example.net"]
location = { lat = 10, lon = 10 }

[[policies]]
name = "vod"
content = ["/vod/"]
steps = [{ step = "consistent_hash", key = "directory" }]

[[policies]]
name = "live"
content = ["/live/"]
steps = [{ step = "weighted" }]
"#;

fn router() -> Router {
    let config = PlatformConfig::parse("t.toml", PLATFORM).expect("parses");
    Router::new(Arc::new(Platform::build(&config, &[]).expect("valid")))
}

fn prepared(r: &Router, client: u8, path: &str) -> Prepared {
    r.prepare(&Facts {
        address: std::net::Ipv4Addr::new(192, 0, 2, client).into(),
        location: Location::default(),
        path,
        user_agent: None,
    })
}

proptest! {
    /// Whatever the order of adds and takes, each id gives back the bits it
    /// was added with, equal requests share a slot, and a slot is freed
    /// (and reused) once every request that referred to it has taken it.
    #[test]
    fn ids_give_back_what_was_added(
        ops in proptest::collection::vec((any::<bool>(), 0u8..4, 0usize..4, any::<prop::sample::Index>()), 1..300),
    ) {
        let r = router();
        let paths = ["/vod/t1/a.mp4", "/vod/t1/b.mp4", "/live/c/seg1.ts", "/live/c/seg2.ts"];
        let mut interned = Interned::default();
        let mut waiting: Vec<(u32, [u64; 10])> = Vec::new();
        for (add, client, path, pick) in ops {
            if add || waiting.is_empty() {
                let p = prepared(&r, client, paths[path]);
                let id = interned.add(&p);
                // A request equal to one waiting that is shared shares its slot.
                if !p.hashes_whole_path() {
                    if let Some((other, _)) = waiting.iter().find(|(_, b)| *b == p.bits()) {
                        prop_assert_eq!(*other, id);
                    }
                }
                waiting.push((id, p.bits()));
            } else {
                let (id, bits) = waiting.swap_remove(pick.index(waiting.len()));
                prop_assert_eq!(interned.take(id).bits(), bits);
            }
            let distinct_shared: std::collections::HashSet<u32> = waiting.iter().map(|(id, _)| *id).collect();
            prop_assert_eq!(interned.len(), distinct_shared.len());
        }
        for (id, bits) in waiting.drain(..) {
            prop_assert_eq!(interned.take(id).bits(), bits);
        }
        prop_assert_eq!(interned.len(), 0);
        prop_assert!(interned.ids.is_empty());
    }
}

#[test]
fn whole_path_hashes_are_not_shared_directories_are() {
    let r = router();
    let mut interned = Interned::default();
    let (a, b) = (
        prepared(&r, 1, "/vod/t1/a.mp4"),
        prepared(&r, 1, "/vod/t1/b.mp4"),
    );
    assert!(!a.hashes_whole_path());
    assert_eq!(
        interned.add(&a),
        interned.add(&b),
        "one directory, one slot"
    );
    let (c, d) = (
        prepared(&r, 1, "/live/c/seg1.ts"),
        prepared(&r, 1, "/live/c/seg1.ts"),
    );
    assert!(c.hashes_whole_path());
    assert_ne!(
        interned.add(&c),
        interned.add(&d),
        "whole-path requests get their own"
    );
    assert!(!interned.ids.contains_key(&Bits(c.bits())));
}
