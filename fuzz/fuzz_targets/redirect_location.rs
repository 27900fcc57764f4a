//! An HTTP input's redirects on arbitrary `Location` fields: no panic;
//! what is followed is the `url` crate's resolution of the field against
//! the URL that answered (RFC 3986 §5.2), as a plain `http://` URL without
//! fragment; a chain never follows more than 10 redirects, and comes back
//! to no URL it asked.
//!
//! The input is up to four `Location` fields separated by newlines,
//! followed in turn, the last again until the chain refuses.
#![no_main]
use libfuzzer_sys::fuzz_target;
use routecast_hls::channel::input::http::redirect::{RedirectChain, RedirectError, MAX_REDIRECTS};
use url::Url;

const START: &str = "http://encoder.example:8080/live/a.ts?k=1";

fuzz_target!(|text: &str| {
    let locations: Vec<&str> = text.split('\n').take(4).collect();
    let mut chain = RedirectChain::new(START);
    let mut asked = vec![Url::parse(START).expect("a URL")];
    for step in 0..=MAX_REDIRECTS + 1 {
        let location = locations[step.min(locations.len() - 1)];
        let from = chain.current().to_owned();
        let expected = Url::parse(&from).and_then(|b| b.join(location));
        match chain.follow(302, location) {
            Ok(next) => {
                let mut resolved = expected.expect("followed: it resolves");
                resolved.set_fragment(None);
                assert_eq!(next, resolved.as_str());
                assert_eq!(resolved.scheme(), "http");
                assert!(!asked.contains(&resolved), "{next} asked twice");
                asked.push(resolved);
                assert!(chain.redirects() <= MAX_REDIRECTS);
            }
            Err(RedirectError::BadLocation { .. }) => {
                assert!(expected.is_err());
                assert_eq!(chain.current(), from, "nothing followed");
                return;
            }
            Err(RedirectError::NotHttp { to, .. }) => {
                assert_ne!(
                    Url::parse(&to)
                        .map(|u| u.scheme().to_owned())
                        .ok()
                        .as_deref(),
                    Some("http")
                );
                return;
            }
            Err(RedirectError::Loop { chain: c }) => {
                assert_eq!(c.len(), asked.len() + 1);
                return;
            }
            Err(RedirectError::TooMany { chain: c }) => {
                assert_eq!(chain.redirects(), MAX_REDIRECTS);
                assert_eq!(c.len(), MAX_REDIRECTS + 2);
                return;
            }
            Err(e) => panic!("unexpected: {e}"),
        }
        assert_eq!(chain.current(), asked.last().expect("one").as_str());
    }
    panic!("more than {MAX_REDIRECTS} redirects followed");
});
