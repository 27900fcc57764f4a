//! The redirector's request-target guard on arbitrary text: no panic, and
//! whatever it accepts stays on the site it is sent to.
//!
//! The effect is checked with an independent URL parser (the `url` crate,
//! the WHATWG URL standard browsers follow): the `Location` a redirect
//! would carry, a site's base URL followed by the checked path and query,
//! must resolve to that site (same scheme, host and port), under the base
//! path, with as many path segments as the guard wrote (no dot segment left
//! for a client or a site to resolve). The guard is idempotent.
#![no_main]
use libfuzzer_sys::fuzz_target;
use routecast_server::target::check;
use url::Url;

const BASE: &str = "https://edge.cdn.example:8443/base";

fuzz_target!(|target: &str| {
    let Ok(checked) = check(target) else {
        return;
    };
    assert!(checked.path.starts_with('/'), "{checked:?}");
    assert!(!checked.path.contains("//"), "{checked:?}");
    let again = match &checked.query {
        Some(q) => format!("{}?{q}", checked.path),
        None => checked.path.clone(),
    };
    assert_eq!(
        check(&again).as_ref(),
        Ok(&checked),
        "not idempotent on {again:?}"
    );
    let location = format!("{BASE}{again}");
    let url = Url::parse(&location).unwrap_or_else(|e| panic!("{location:?} is no URL: {e}"));
    assert_eq!(url.scheme(), "https", "{location:?}");
    assert_eq!(url.host_str(), Some("edge.cdn.example"), "{location:?}");
    assert_eq!(url.port(), Some(8443), "{location:?}");
    assert!(url.path().starts_with("/base/"), "{location:?} -> {url}");
    let segments = url.path_segments().map_or(0, Iterator::count);
    let written = checked.path.split('/').count() - 1;
    assert_eq!(
        segments,
        written + 1,
        "{location:?} -> {url}: a segment was resolved away"
    );
});
