use proptest::prelude::*;

use super::*;

const ORIGIN: &str = "http://origin.test/o";
const PLAYLIST: &str = "http://origin.test/o/live/show/index.m3u8?t=1";

fn base(s: &str) -> BaseUrl {
    BaseUrl::parse(s).expect("base URL")
}

/// Sites `a` (chosen) and `b`, and the origin; `a_is_origin` makes `a`'s
/// base one of the origins too (as with `origin = "site"`).
struct Setup {
    url: Url,
    origins: Vec<BaseUrl>,
    a: BaseUrl,
    b: BaseUrl,
}

impl Setup {
    fn new(a_is_origin: bool) -> Self {
        let a = base("https://a.cdn.test");
        let mut origins = vec![base(ORIGIN)];
        if a_is_origin {
            origins.push(a.clone());
        }
        Self {
            url: Url::parse(PLAYLIST).expect("URL"),
            origins,
            a,
            b: base("http://b.cdn.test:8080/edge/"),
        }
    }

    fn run(&self, text: &str, steering: bool) -> Result<String, PlaylistError> {
        let pathways = [
            Pathway {
                name: "a",
                base: &self.a,
            },
            Pathway {
                name: "b",
                base: &self.b,
            },
        ];
        let how = Rewrite {
            playlist_url: &self.url,
            origins: &self.origins,
            pathways: &pathways,
            steering_uri: steering.then_some("/.steering/live/show/index.m3u8"),
        };
        rewrite(text.as_bytes(), &how)
    }
}

fn rw(text: &str) -> String {
    Setup::new(false).run(text, false).expect("rewrites")
}

/// Every URI of a playlist: URI lines and quoted `URI` attributes, in order.
fn uris(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in lines(text.as_bytes()).expect("valid") {
        match line.kind() {
            Kind::Uri => out.push(line.text.to_string()),
            Kind::Tag(_, Some(v)) => {
                for (name, r) in attributes(v).unwrap_or_default() {
                    if name == "URI" {
                        out.push(v[r].trim_matches('"').to_string());
                    }
                }
            }
            _ => {}
        }
    }
    out
}

#[test]
fn media_playlist_uris_point_at_the_chosen_site() {
    let input = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:10\n\
                 #EXT-X-KEY:METHOD=AES-128,URI=\"key.bin?k=1\",IV=0x1\n#EXT-X-MAP:URI=\"init.mp4\"\n\
                 # a comment\n\n#EXTINF:4.0,\nseg10.ts\n#EXTINF:4.0,\n../other/seg11.ts\n\
                 #EXTINF:4.0,\n/o/live/show/seg12.ts\n#EXTINF:4.0,\nhttp://ORIGIN.test:80/o/live/show/seg13.ts?x=1#f\n\
                 #EXT-X-PART:DURATION=1.0,URI=\"part14.0.mp4\"\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part14.1.mp4\"\n\
                 #EXT-X-RENDITION-REPORT:URI=\"../720p/index.m3u8\",LAST-MSN=14\n";
    let out = rw(input);
    let want = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:10\n\
                #EXT-X-KEY:METHOD=AES-128,URI=\"https://a.cdn.test/live/show/key.bin?k=1\",IV=0x1\n\
                #EXT-X-MAP:URI=\"https://a.cdn.test/live/show/init.mp4\"\n# a comment\n\n\
                #EXTINF:4.0,\nhttps://a.cdn.test/live/show/seg10.ts\n#EXTINF:4.0,\nhttps://a.cdn.test/live/other/seg11.ts\n\
                #EXTINF:4.0,\nhttps://a.cdn.test/live/show/seg12.ts\n#EXTINF:4.0,\nhttps://a.cdn.test/live/show/seg13.ts?x=1#f\n\
                #EXT-X-PART:DURATION=1.0,URI=\"https://a.cdn.test/live/show/part14.0.mp4\"\n\
                #EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"https://a.cdn.test/live/show/part14.1.mp4\"\n\
                #EXT-X-RENDITION-REPORT:URI=\"https://a.cdn.test/live/720p/index.m3u8\",LAST-MSN=14\n";
    assert_eq!(out, want);
}

#[test]
fn uris_off_the_origin_are_left_untouched() {
    for uri in [
        "https://elsewhere.test/o/x.ts",
        "javascript:alert(1)",
        "data:text/plain,hello",
        "skd://key-id",
        "//evil.test/o/x.ts",
        "http://origin.test@evil.test/o/x.ts",
        "http://origin.test.evil.test/o/x.ts",
        "http://origin.test:8080/o/x.ts",
        "https://origin.test/o/x.ts",
        "http://origin.test/other/x.ts",
        "http://origin.test/oo/x.ts",
        "{$cdn}/x.ts",
        "http://[::1/x.ts",
    ] {
        let input =
            format!("#EXTM3U\n#EXTINF:4,\n{uri}\n#EXT-X-KEY:METHOD=AES-128,URI=\"{uri}\"\n");
        assert_eq!(rw(&input), input, "{uri}");
    }
    // Credentials on the origin are dropped, never carried to the site.
    assert_eq!(
        rw("#EXTM3U\nhttp://user:pw@origin.test/o/x.ts\n"),
        "#EXTM3U\nhttps://a.cdn.test/x.ts\n"
    );
}

#[test]
fn line_endings_and_everything_else_are_kept() {
    let input = "#EXTM3U\r\n#EXT-X-TARGETDURATION:4\r\n#EXT-X-DATERANGE:ID=\"a\",START-DATE=\"2020-01-01T00:00:00Z\",X-URI=\"u.ts\"\r\n\r\n#EXTINF:4,title\r\n  seg.ts\r\n#EXTINF:4,\r\nlast.ts";
    let out = rw(input);
    assert_eq!(
        out,
        "#EXTM3U\r\n#EXT-X-TARGETDURATION:4\r\n#EXT-X-DATERANGE:ID=\"a\",START-DATE=\"2020-01-01T00:00:00Z\",X-URI=\"u.ts\"\r\n\r\n#EXTINF:4,title\r\nhttps://a.cdn.test/live/show/seg.ts\r\n#EXTINF:4,\r\nhttps://a.cdn.test/live/show/last.ts"
    );
}

#[test]
fn malformed_playlists_are_refused() {
    let s = Setup::new(false);
    for (input, want) in [
        (&b"<html>not a playlist</html>"[..], PlaylistError::NotM3u8),
        (b"", PlaylistError::NotM3u8),
        (b"#EXTM3U-X\nseg.ts\n", PlaylistError::NotM3u8),
        ("\u{feff}#EXTM3U\n".as_bytes(), PlaylistError::ByteOrderMark),
        (
            b"#EXTM3U\nseg.ts\rhttp://evil.test/x.ts\n",
            PlaylistError::LoneCarriageReturn { line: 2 },
        ),
        (
            b"#EXTM3U\n#EXT-X-KEY:URI=\"a\rb\"\n",
            PlaylistError::LoneCarriageReturn { line: 2 },
        ),
        (
            b"#EXTM3U\nseg\0.ts\n",
            PlaylistError::ControlCharacter { line: 2 },
        ),
        (
            "#EXTM3U\nseg.ts\u{2028}http://evil.test/x.ts\n".as_bytes(),
            PlaylistError::ControlCharacter { line: 2 },
        ),
        (b"#EXTM3U\n\xff\n", PlaylistError::NotUtf8 { offset: 8 }),
    ] {
        let how = Rewrite {
            playlist_url: &s.url,
            origins: &s.origins,
            pathways: &[],
            steering_uri: None,
        };
        assert_eq!(rewrite(input, &how), Err(want.clone()), "{input:?}");
    }
}

#[test]
fn malformed_attribute_lists_are_left_alone() {
    for line in [
        "#EXT-X-KEY:METHOD=AES-128,URI=\"key.bin",
        "#EXT-X-KEY:METHOD=AES-128 URI=\"key.bin\"",
        "#EXT-X-MAP:uri=\"init.mp4\"",
        "#EXT-X-MAP:URI=\"a\"x,URI=\"b\"",
    ] {
        let input = format!("#EXTM3U\n{line}\n");
        assert_eq!(rw(&input), input);
    }
}

const MULTIVARIANT: &str = "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n\
    #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"en\",DEFAULT=YES,URI=\"audio/en.m3u8\"\n\
    #EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID=\"cc\",NAME=\"en\",INSTREAM-ID=\"CC1\"\n\
    #EXT-X-STREAM-INF:BANDWIDTH=800000,AUDIO=\"aud\",CLOSED-CAPTIONS=\"cc\"\n\
    low/index.m3u8\n\
    #EXT-X-STREAM-INF:BANDWIDTH=3000000,AUDIO=\"aud\",CLOSED-CAPTIONS=\"cc\"\n\
    https://other.test/high/index.m3u8\n\
    #EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,URI=\"low/iframes.m3u8\"\n";

#[test]
fn multivariant_playlists_get_one_pathway_per_site() {
    let out = Setup::new(false).run(MULTIVARIANT, true).expect("rewrites");
    let want = "#EXTM3U\n#EXT-X-VERSION:6\n\
        #EXT-X-CONTENT-STEERING:SERVER-URI=\"/.steering/live/show/index.m3u8\",PATHWAY-ID=\"a\"\n\
        #EXT-X-INDEPENDENT-SEGMENTS\n\
        #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"en\",DEFAULT=YES,URI=\"https://a.cdn.test/live/show/audio/en.m3u8\"\n\
        #EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID=\"cc\",NAME=\"en\",INSTREAM-ID=\"CC1\"\n\
        #EXT-X-STREAM-INF:BANDWIDTH=800000,AUDIO=\"aud\",CLOSED-CAPTIONS=\"cc\",PATHWAY-ID=\"a\"\n\
        https://a.cdn.test/live/show/low/index.m3u8\n\
        #EXT-X-STREAM-INF:BANDWIDTH=3000000,AUDIO=\"aud\",CLOSED-CAPTIONS=\"cc\",PATHWAY-ID=\"a\"\n\
        https://other.test/high/index.m3u8\n\
        #EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,URI=\"https://a.cdn.test/live/show/low/iframes.m3u8\",PATHWAY-ID=\"a\"\n\
        #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud@b\",NAME=\"en\",DEFAULT=YES,URI=\"http://b.cdn.test:8080/edge/live/show/audio/en.m3u8\"\n\
        #EXT-X-STREAM-INF:BANDWIDTH=800000,AUDIO=\"aud@b\",CLOSED-CAPTIONS=\"cc\",PATHWAY-ID=\"b\"\n\
        http://b.cdn.test:8080/edge/live/show/low/index.m3u8\n\
        #EXT-X-STREAM-INF:BANDWIDTH=3000000,AUDIO=\"aud@b\",CLOSED-CAPTIONS=\"cc\",PATHWAY-ID=\"b\"\n\
        https://other.test/high/index.m3u8\n\
        #EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,URI=\"http://b.cdn.test:8080/edge/live/show/low/iframes.m3u8\",PATHWAY-ID=\"b\"\n";
    assert_eq!(out, want);
    // Without steering: URIs only.
    let plain = Setup::new(false)
        .run(MULTIVARIANT, false)
        .expect("rewrites");
    assert!(!plain.contains("STEERING") && !plain.contains("PATHWAY-ID"));
    assert_eq!(plain.lines().count(), MULTIVARIANT.lines().count());
}

#[test]
fn a_playlist_that_steers_itself_keeps_its_steering() {
    let input = "#EXTM3U\n#EXT-X-CONTENT-STEERING:SERVER-URI=\"https://steer.test/x\"\n\
                 #EXT-X-STREAM-INF:BANDWIDTH=1,PATHWAY-ID=\"cdn1\"\nlow.m3u8\n";
    let out = Setup::new(false).run(input, true).expect("rewrites");
    assert_eq!(
        out,
        "#EXTM3U\n#EXT-X-CONTENT-STEERING:SERVER-URI=\"https://steer.test/x\"\n\
         #EXT-X-STREAM-INF:BANDWIDTH=1,PATHWAY-ID=\"cdn1\"\nhttps://a.cdn.test/live/show/low.m3u8\n"
    );
}

#[test]
fn steering_goes_after_extm3u_when_version_is_not_second_and_on_unterminated_files() {
    let out = Setup::new(false).run("#EXTM3U", true).expect("rewrites");
    assert_eq!(out, "#EXTM3U");
    let out = Setup::new(false)
        .run("#EXTM3U\r\n#EXT-X-STREAM-INF:BANDWIDTH=1\r\nlow.m3u8", true)
        .expect("rewrites");
    assert_eq!(
        out,
        "#EXTM3U\r\n#EXT-X-CONTENT-STEERING:SERVER-URI=\"/.steering/live/show/index.m3u8\",PATHWAY-ID=\"a\"\r\n\
         #EXT-X-STREAM-INF:BANDWIDTH=1,PATHWAY-ID=\"a\"\r\nhttps://a.cdn.test/live/show/low.m3u8\r\n\
         #EXT-X-STREAM-INF:BANDWIDTH=1,PATHWAY-ID=\"b\"\r\nhttp://b.cdn.test:8080/edge/live/show/low.m3u8\r\n"
    );
}

#[test]
fn base_urls_are_checked() {
    for bad in [
        "ftp://a.test",
        "https://",
        "https://a.test/x?y",
        "https://u@a.test",
        "https://a.test/\"",
        "https://a .test",
        "",
    ] {
        assert!(BaseUrl::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(base("http://a.test:81/p/").as_str(), "http://a.test:81/p");
}

// ------------------------------------------------------------ properties ----

/// URIs a hostile or careless origin could write.
fn uri() -> impl Strategy<Value = String> {
    prop_oneof![known_uri(), "[ -~&&[^\"]]{0,20}"]
}

/// [`uri`] without random text: always a URI line.
fn known_uri() -> impl Strategy<Value = String> {
    let path = "[a-z0-9]{1,6}(/[a-z0-9._%-]{1,8}){0,3}";
    prop_oneof![
        path.prop_map(|p| format!("{p}.ts")),
        path.prop_map(|p| format!("../{p}.ts?x=1")),
        path.prop_map(|p| format!("/o/{p}.ts")),
        path.prop_map(|p| format!("http://origin.test/o/{p}.ts#t")),
        path.prop_map(|p| format!("https://elsewhere.test/{p}.ts")),
        path.prop_map(|p| format!("//evil.test/o/{p}")),
        path.prop_map(|p| format!("http://origin.test@evil.test/o/{p}")),
        path.prop_map(|p| format!("http://origin.test.evil.test/o/{p}")),
        Just("javascript:alert(1)".to_string()),
        Just("data:,x".to_string()),
        Just("{$v}/x.ts".to_string()),
    ]
}

/// Media playlist lines: each is (line, is a segment).
fn media_line() -> impl Strategy<Value = (String, bool)> {
    prop_oneof![
        uri().prop_map(|u| (format!("#EXTINF:4.0,\n{u}"), true)),
        uri().prop_map(|u| (format!("#EXT-X-KEY:METHOD=AES-128,URI=\"{u}\""), false)),
        uri().prop_map(|u| (format!("#EXT-X-MAP:URI=\"{u}\",BYTERANGE=\"1@0\""), false)),
        uri().prop_map(|u| (format!("#EXT-X-PART:DURATION=1,URI=\"{u}\""), false)),
        Just(("# comment".to_string(), false)),
        Just((String::new(), false)),
        Just(("#EXT-X-DISCONTINUITY".to_string(), false)),
    ]
}

fn media_playlist() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(media_line(), 0..30),
        prop_oneof![Just("\n"), Just("\r\n")],
    )
        .prop_map(|(lines, eol)| {
            let mut text = format!("#EXTM3U{eol}#EXT-X-TARGETDURATION:4{eol}");
            for (l, _) in lines {
                text.push_str(&l.replace('\n', eol));
                text.push_str(eol);
            }
            text
        })
}

fn multivariant_playlist() -> impl Strategy<Value = String> {
    prop::collection::vec((known_uri(), uri(), any::<bool>()), 1..8).prop_map(|vs| {
        let mut text = "#EXTM3U\n#EXT-X-VERSION:6\n".to_string();
        for (i, (u, m, audio)) in vs.iter().enumerate() {
            if *audio {
                text.push_str(&format!(
                    "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"g{i}\",NAME=\"n\",URI=\"{m}\"\n"
                ));
            }
            let group = if *audio {
                format!(",AUDIO=\"g{i}\"")
            } else {
                String::new()
            };
            text.push_str(&format!(
                "#EXT-X-STREAM-INF:BANDWIDTH={}{group}\n{u}\n",
                1000 * (i + 1)
            ));
        }
        text
    })
}

/// Whether `uri`, written in the playlist, lies under the origin (an
/// oracle independent of the rewriter's own matching).
fn on_origin(uri: &str) -> bool {
    let Ok(u) = Url::parse(PLAYLIST).and_then(|b| b.join(uri.trim())) else {
        return false;
    };
    !uri.contains("{$")
        && u.scheme() == "http"
        && u.host_str() == Some("origin.test")
        && u.port_or_known_default() == Some(80)
        && (u.path() == "/o" || u.path().starts_with("/o/"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_uri_points_at_the_site_or_is_an_untouched_foreign_uri(
        text in media_playlist(),
        a_is_origin in any::<bool>(),
    ) {
        let out = Setup::new(a_is_origin).run(&text, false).expect("rewrites");
        let (before, after) = (uris(&text), uris(&out));
        prop_assert_eq!(before.len(), after.len());
        for (b, a) in before.iter().zip(&after) {
            if on_origin(b) {
                prop_assert!(a.starts_with("https://a.cdn.test/"), "{b:?} -> {a:?}");
            } else if a != b {
                // Only the site's own URLs (origin = "site") may change.
                prop_assert!(a_is_origin && a.starts_with("https://a.cdn.test/"), "{b:?} -> {a:?}");
            }
            prop_assert!(!a.contains('"'));
        }
    }

    #[test]
    fn segments_keep_their_number_and_order(text in media_playlist()) {
        let out = rw(&text);
        let segments = |t: &str| {
            lines(t.as_bytes()).expect("valid").iter().filter(|l| l.kind() == Kind::Uri).count()
        };
        prop_assert_eq!(segments(&text), segments(&out));
        prop_assert_eq!(text.lines().count(), out.lines().count());
        // Line by line: a line changes only if it carries a URI, and a
        // segment's file name survives.
        for (b, a) in text.lines().zip(out.lines()) {
            if b.starts_with('#') && !b.contains("URI=") {
                prop_assert_eq!(a, b);
            }
            if !b.starts_with('#') && on_origin(b) {
                let name = b.rsplit('/').next().unwrap_or(b).split(['?', '#']).next().unwrap_or("");
                let plain = name.bytes().all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c));
                if plain && !name.trim_matches('.').is_empty() {
                    prop_assert!(a.contains(name), "{b:?} -> {a:?}");
                }
            }
        }
    }

    #[test]
    fn rewriting_twice_for_the_same_site_changes_nothing(
        text in prop_oneof![media_playlist(), multivariant_playlist()],
        a_is_origin in any::<bool>(),
        steering in any::<bool>(),
    ) {
        let s = Setup::new(a_is_origin);
        let once = s.run(&text, steering).expect("rewrites");
        let twice = s.run(&once, steering).expect("rewrites again");
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn steered_variants_point_at_their_own_pathway(text in multivariant_playlist()) {
        let out = Setup::new(false).run(&text, true).expect("rewrites");
        // (PATHWAY-ID, AUDIO group, URI) of every variant, in order.
        let variants = |t: &str| {
            let ls: Vec<&str> = t.lines().collect();
            ls.windows(2)
                .filter_map(|w| {
                    let inf = w[0].strip_prefix("#EXT-X-STREAM-INF:")?;
                    let pathway = inf.split("PATHWAY-ID=\"").nth(1).map(|p| p.trim_end_matches('"'));
                    let audio = inf.split("AUDIO=\"").nth(1).and_then(|g| g.split('"').next());
                    Some((pathway.map(str::to_string), audio.map(str::to_string), w[1].to_string()))
                })
                .collect::<Vec<_>>()
        };
        let (before, after) = (variants(&text), variants(&out));
        prop_assert_eq!(after.len(), 2 * before.len());
        let (a, b) = after.split_at(before.len());
        for ((site, base), copies) in [(("a", "https://a.cdn.test/"), a), (("b", "http://b.cdn.test:8080/edge/"), b)] {
            for ((_, group, uri), (pathway, out_group, out_uri)) in before.iter().zip(copies) {
                prop_assert_eq!(pathway.as_deref(), Some(site));
                if on_origin(uri) {
                    prop_assert!(out_uri.starts_with(base), "{uri:?} -> {out_uri:?}");
                } else {
                    prop_assert_eq!(uri, out_uri);
                }
                let want = match (group, site) {
                    (Some(g), "b") => Some(format!("{g}@b")),
                    (g, _) => g.clone(),
                };
                prop_assert_eq!(out_group, &want);
            }
        }
        prop_assert_eq!(out.matches("#EXT-X-CONTENT-STEERING:").count(), 1);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), prefix in any::<bool>()) {
        let mut input = if prefix { b"#EXTM3U\n".to_vec() } else { Vec::new() };
        input.extend_from_slice(&bytes);
        let s = Setup::new(true);
        if let Ok(out) = s.run(&String::from_utf8_lossy(&input), true) {
            for u in uris(&out) {
                prop_assert!(!u.contains('\r') && !u.contains('"'));
            }
        }
        let how = Rewrite { playlist_url: &s.url, origins: &s.origins, pathways: &[], steering_uri: None };
        let _ = rewrite(&input, &how);
    }
}
