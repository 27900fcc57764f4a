use proptest::prelude::*;

use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

/// A routed request with these request-borne fields.
fn entry<'a>(host: &'a str, target: &'a str, method: &'a str, ua: Option<&'a [u8]>) -> Entry<'a> {
    Entry {
        unix_s: 1_795_600_802.125,
        client: ip("81.2.69.142"),
        peer: ip("127.0.0.1"),
        host,
        target,
        method,
        status: 302,
        took_ms: 0.041,
        location: Some("https://lon.cdn.example.net/live/a.m3u8"),
        user_agent: ua,
    }
}

#[test]
fn a_plain_request_reads_as_traffic_router_writes_it() {
    let ua = b"VLC/3.0.20 LibVLC/3.0.20";
    assert_eq!(
        line(&entry("tr.example.net", "/live/a.m3u8", "GET", Some(ua))),
        "1795600802.125 qtype=HTTP chi=81.2.69.142 rhi=127.0.0.1 \
         url=\"http://tr.example.net/live/a.m3u8\" cqhm=GET cqhv=HTTP/1.1 \
         rtype=ROUTECAST rloc=\"-\" rdtl=- rerr=\"-\" pssc=302 ttms=0.041 \
         rurl=\"https://lon.cdn.example.net/live/a.m3u8\" \
         uas=\"VLC/3.0.20 LibVLC/3.0.20\"\n"
    );
}

#[test]
fn hostile_fields_are_escaped_as_nginx_escapes_them() {
    // The escaped forms are nginx 1.22's (Debian's), logged with
    // `log_format … escape=default` for the same bytes (see the serve
    // test `the_access_log_escapes_fields_as_nginx_does`).
    let ua = b"x\" pssc=200 rurl=\"https://evil.example/\\ \t\x01\x7f \xc3\xa9\xff";
    let l = line(&entry(
        "tr.example.net",
        "/live/a\"b?q=\"z'",
        "GET",
        Some(ua),
    ));
    assert!(
        l.ends_with(
            " url=\"http://tr.example.net/live/a\\x22b?q=\\x22z'\" cqhm=GET cqhv=HTTP/1.1 \
             rtype=ROUTECAST rloc=\"-\" rdtl=- rerr=\"-\" pssc=302 ttms=0.041 \
             rurl=\"https://lon.cdn.example.net/live/a.m3u8\" \
             uas=\"x\\x22 pssc=200 rurl=\\x22https://evil.example/\\x5C \\x09\\x01\\x7F \\xC3\\xA9\\xFF\"\n"
        ),
        "{l}"
    );
    let l = line(&Entry {
        location: None,
        user_agent: None,
        client: ip("127.0.0.1"),
        ..entry("-", "/x", "GET", None)
    });
    assert!(
        l.contains(" chi=127.0.0.1 rhi=- url=\"http://-/x\" ")
            && l.ends_with(" rurl=\"-\" uas=\"-\"\n"),
        "{l}"
    );
}

/// The line's fields as Traffic Router's readers split it: the time, then
/// ` key=value` pairs, a value in quotes running to the next quote.
fn fields(line: &str) -> Option<Vec<(&str, &str)>> {
    let body = line.strip_suffix('\n')?;
    let (time, mut rest) = body.split_once(' ')?;
    let mut out = vec![("time", time)];
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let (value, next) = match after.strip_prefix('"') {
            Some(q) => {
                let (v, n) = q.split_once('"')?;
                (v, n)
            }
            None => after
                .split_once(' ')
                .map_or((after, ""), |(v, _)| (v, &after[v.len()..])),
        };
        out.push((key, value));
        rest = next.strip_prefix(' ').unwrap_or(next);
        if !next.is_empty() && !next.starts_with(' ') {
            return None;
        }
    }
    Some(out)
}

/// nginx's escapes undone.
fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'x') {
            let hex = std::str::from_utf8(&b[i + 2..i + 4]).expect("ascii");
            out.push(u8::from_str_radix(hex, 16).expect("hex"));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

const KEYS: [&str; 15] = [
    "time", "qtype", "chi", "rhi", "url", "cqhm", "cqhv", "rtype", "rloc", "rdtl", "rerr", "pssc",
    "ttms", "rurl", "uas",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// No request forges a field: whatever the host, target, method and
    /// User-Agent, the line has the same fields in the same order, on one
    /// line, and each field reads back as the bytes received.
    #[test]
    fn no_request_forges_a_field(
        host in ".*",
        target in ".*",
        method in ".*",
        location in proptest::option::of(".*"),
        ua in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
    ) {
        let e = Entry {
            location: location.as_deref(),
            ..entry(&host, &target, &method, ua.as_deref())
        };
        let l = line(&e);
        prop_assert_eq!(l.matches('\n').count(), 1);
        let f = fields(&l).unwrap_or_default();
        let keys: Vec<&str> = f.iter().map(|(k, _)| *k).collect();
        prop_assert_eq!(&keys[..], &KEYS[..], "{}", l);
        let value = |k: &str| f.iter().find(|(key, _)| *key == k).map(|(_, v)| unescape(v));
        prop_assert_eq!(value("url"), Some(format!("http://{host}{target}").into_bytes()));
        prop_assert_eq!(value("cqhm"), Some(method.into_bytes()));
        prop_assert_eq!(value("rurl"), Some(location.unwrap_or("-".into()).into_bytes()));
        prop_assert_eq!(value("uas"), Some(ua.unwrap_or(b"-".to_vec())));
    }
}
