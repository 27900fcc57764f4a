//! Playlist rewriting on arbitrary bytes: a typed error or a playlist whose
//! every rewritten URI starts with a site's base URL; never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use routecast_server::playlist::{rewrite, BaseUrl, Pathway, Rewrite, Url};

fuzz_target!(|bytes: &[u8]| {
    let (Ok(origin), Ok(a), Ok(b), Ok(url)) = (
        BaseUrl::parse("http://origin.test/o"),
        BaseUrl::parse("https://a.cdn.test"),
        BaseUrl::parse("http://b.cdn.test:8080/edge"),
        Url::parse("http://origin.test/o/live/show/index.m3u8?t=1"),
    ) else {
        return;
    };
    let origins = [origin];
    let pathways = [
        Pathway {
            name: "a",
            base: &a,
        },
        Pathway {
            name: "b",
            base: &b,
        },
    ];
    for steering_uri in [None, Some("/.steering/live/show/index.m3u8")] {
        let how = Rewrite {
            playlist_url: &url,
            origins: &origins,
            pathways: &pathways,
            steering_uri,
        };
        if let Ok(out) = rewrite(bytes, &how) {
            assert!(out.starts_with("#EXTM3U"));
            // Every URI line is one the origin wrote, or starts with a site.
            let text = String::from_utf8_lossy(bytes);
            let input: Vec<&str> = text.lines().collect();
            for line in out.lines().filter(|l| !l.starts_with('#')) {
                assert!(
                    input.contains(&line)
                        || line.starts_with("https://a.cdn.test/")
                        || line.starts_with("http://b.cdn.test:8080/edge/"),
                    "{line:?}"
                );
            }
            // Rewriting is idempotent.
            assert_eq!(
                rewrite(out.as_bytes(), &how).ok().as_deref(),
                Some(out.as_str())
            );
        }
    }
});
