use super::*;
use proptest::prelude::*;
use std::net::IpAddr;

const NGINX: &str = r#"203.0.113.7 - - [25/Nov/2026:10:00:02 +0000] "GET /live/ch1/720p/seg123.ts?tok=a HTTP/1.1" 200 1250000 "-" "Mozilla/5.0 (X11; Linux x86_64) \"quoted\"" 0.532"#;

fn nginx() -> CombinedParser {
    CombinedParser::new(true, Duration::Seconds, TimeIs::End)
}

#[test]
fn nginx_combined_with_request_time_ends_at_the_logged_time() {
    let r = nginx().parse(NGINX.as_bytes()).expect("valid line");
    assert_eq!(
        r.client,
        Client::Ip("203.0.113.7".parse::<IpAddr>().expect("ip"))
    );
    // 2026-11-25T10:00:02Z is the end; it started 532 ms before.
    assert_eq!(r.logged_ms, 1_795_600_802_000);
    assert_eq!(r.interval(0), (1_795_600_802_000 - 532, 1_795_600_802_000));
    assert_eq!(r.duration_ms, Some(532));
    assert_eq!(
        (r.method, r.path, r.status, r.bytes),
        (
            "GET",
            &b"/live/ch1/720p/seg123.ts?tok=a"[..],
            200,
            1_250_000
        )
    );
    assert_eq!(
        r.user_agent,
        Some(&br#"Mozilla/5.0 (X11; Linux x86_64) \"quoted\""#[..])
    );
}

#[test]
fn apache_combined_with_micros_starts_at_the_logged_time() {
    let line = br#"2001:db8::1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)" 1500000"#;
    let r = CombinedParser::new(true, Duration::Micros, TimeIs::Start)
        .parse(line)
        .expect("valid");
    assert_eq!(r.interval(0), (971_211_336_000, 971_211_337_500));
    assert_eq!(r.duration_ms, Some(1500));
    assert_eq!(
        r.user_agent,
        Some(&b"Mozilla/4.08 [en] (Win98; I ;Nav)"[..])
    );
}

#[test]
fn common_log_format_and_dash_bytes() {
    let line = br#"127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "HEAD /x HTTP/1.0" 304 -"#;
    let r = CombinedParser::new(false, Duration::None, TimeIs::Start)
        .parse(line)
        .expect("valid");
    assert_eq!(
        (r.status, r.bytes, r.duration_ms, r.user_agent),
        (304, 0, None, None)
    );
}

#[test]
fn each_broken_field_is_named() {
    let cases: [(&str, &str, LineError); 8] = [
        ("203.0.113.7", "203.0.113.777", LineError::Client),
        (
            "[25/Nov/2026:10:00:02 +0000]",
            "[25/Nov/2026:10:00:02]",
            LineError::Time,
        ),
        ("\"GET /live", "\"/live", LineError::Request),
        (" 200 ", " 20x ", LineError::Status),
        (" 1250000 ", " 12k ", LineError::Bytes),
        (" 0.532", " 0.5x2", LineError::Duration),
        (" 0.532", " 0.532 extra", LineError::Trailing),
        ("\"-\" \"Mozilla", "\"- \"Mozilla", LineError::Quotes),
    ];
    for (from, to, want) in cases {
        let line = NGINX.replacen(from, to, 1);
        assert_eq!(nginx().parse(line.as_bytes()), Err(want), "{line}");
    }
    assert_eq!(nginx().parse(b""), Err(LineError::Client));
    assert_eq!(nginx().parse(b"\xff\xfe"), Err(LineError::Client));
}

#[test]
fn dash_request_time_means_unknown_duration() {
    let line = NGINX.replacen(" 0.532", " -", 1);
    let r = nginx().parse(line.as_bytes()).expect("valid");
    assert_eq!(r.duration_ms, None);
    // Without a logged duration, the model's duration ends at the logged time.
    assert_eq!(r.interval(4000), (1_795_600_798_000, 1_795_600_802_000));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(line in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = nginx().parse(&line);
    }

    #[test]
    fn mutated_valid_lines_never_panic(pos in 0usize..NGINX.len(), byte in any::<u8>(), cut in 0usize..NGINX.len()) {
        let mut line = NGINX.as_bytes().to_vec();
        line[pos] = byte;
        let _ = nginx().parse(&line);
        let _ = nginx().parse(&line[..cut]);
    }

    #[test]
    fn seconds_parse_like_floats(ms in 0u64..10_000_000) {
        let text = format!("{}.{:03}", ms / 1000, ms % 1000);
        prop_assert_eq!(parse_seconds_ms(text.as_bytes()), Some(ms));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]
    /// The hand-written IPv4 and IPv6 readers agree with `std` on dotted
    /// quads, near-misses (leading zeros, 256, five parts, empty parts),
    /// hex groups with and without `::` (too many, too long, two gaps, a
    /// zone) and noise.
    #[test]
    fn client_addresses_read_as_std_reads_them(
        text in prop_oneof![
            (any::<[u8; 4]>()).prop_map(|o| std::net::Ipv4Addr::from(o).to_string()),
            "[0-9.]{0,20}",
            "(0|00|01|[1-9][0-9]{0,3})(\\.(0|00|01|[1-9][0-9]{0,3})){2,4}",
            any::<std::net::Ipv6Addr>().prop_map(|a| a.to_string()),
            any::<[u16; 8]>().prop_map(|g| g.map(|x| format!("{x:x}")).join(":")),
            "[0-9a-fA-F:]{0,42}",
            "([0-9a-f]{0,5}:){0,9}(:[0-9a-f]{0,5}){0,9}",
            "(::)?([0-9a-f]{1,4}(:|::)){0,8}[0-9a-f]{0,4}(%[a-z0-9]{1,3})?",
            ".{0,24}",
        ],
    ) {
        let want: Option<IpAddr> = text.parse().ok();
        prop_assert_eq!(parse_ip(text.as_bytes()), want, "{:?}", text);
    }
}

#[test]
fn ipv6_shapes_clients_have_take_the_fast_path() {
    for ok in [
        "2001:db8:1f3:6ac:4973:5c5:d1aa:b99f",
        "2001:DB8::1",
        "::",
        "::1",
        "1::",
        "fe80::1:2",
        "1:2:3:4:5:6:7::",
    ] {
        assert_eq!(parse_ipv6(ok.as_bytes()), ok.parse().ok(), "{ok}");
        assert!(parse_ipv6(ok.as_bytes()).is_some(), "{ok}");
    }
    // Left to std (which takes the first), or refused by both.
    for other in [
        "::ffff:192.0.2.1",
        "1::2::3",
        "1:2:3:4:5:6:7:8:9",
        "12345::",
        ":1",
        "1:",
        "fe80::1%eth0",
    ] {
        assert_eq!(parse_ipv6(other.as_bytes()), None, "{other}");
        assert_eq!(parse_ip(other.as_bytes()), other.parse().ok(), "{other}");
    }
}

#[test]
fn client_address_edge_cases() {
    for ok in ["0.0.0.0", "255.255.255.255", "10.0.0.1", "192.168.100.200"] {
        assert_eq!(parse_ip(ok.as_bytes()), ok.parse().ok(), "{ok}");
        assert!(parse_ipv4(ok.as_bytes()).is_some(), "{ok}");
    }
    for bad in [
        "",
        ".",
        "1.2.3",
        "1.2.3.4.",
        ".1.2.3.4",
        "1..2.3",
        "256.0.0.1",
        "01.2.3.4",
        "1.2.3.4.5",
        "1.2.3.-4",
        "1.2.3.4 ",
    ] {
        assert_eq!(parse_ip(bad.as_bytes()), None, "{bad}");
    }
}

/// `quoted` the slow, obvious way: the first quote not escaped by an odd
/// number of backslashes.
fn quoted_reference(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut backslashes = 0;
    for (i, c) in s.iter().enumerate() {
        match c {
            b'"' if backslashes % 2 == 0 => return Some((&s[..i], &s[i + 1..])),
            b'\\' => backslashes += 1,
            _ => backslashes = 0,
        }
    }
    None
}

proptest! {
    /// Quoted fields end where the obvious reading says, an empty referer
    /// (`-"`, answered without a search) or anything else, whatever the
    /// escapes.
    #[test]
    fn quoted_fields_end_at_the_first_unescaped_quote(s in "[a\\\\\" -]{0,40}") {
        prop_assert_eq!(quoted(s.as_bytes()), quoted_reference(s.as_bytes()));
    }
}

/// `parse_seconds_ms` the plain way: split at the point, whole seconds by
/// `parse_u64`, then the first three fractional digits.
fn seconds_reference(b: &[u8]) -> Option<u64> {
    let (int, frac) = match b.iter().position(|c| *c == b'.') {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &b""[..]),
    };
    if !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let ms = (0..3).fold(0, |ms, i| {
        ms * 10 + frac.get(i).map_or(0, |c| u64::from(c - b'0'))
    });
    parse_u64(int)?.checked_mul(1000)?.checked_add(ms)
}

proptest! {
    /// The one-pass duration reader agrees with the plain reading on
    /// numbers, points in odd places, long digit runs and junk.
    #[test]
    fn seconds_read_in_one_pass_as_in_two(s in prop_oneof!["[0-9]{0,21}(\\.[0-9]{0,6})?", "[0-9.x-]{0,12}"]) {
        prop_assert_eq!(parse_seconds_ms(s.as_bytes()), seconds_reference(s.as_bytes()), "{:?}", s);
    }
}

proptest! {
    /// Reading the client while finding its space gives what finding the
    /// space and then reading the field gives.
    #[test]
    fn the_client_field_reads_as_field_then_address(
        s in prop_oneof![
            "(0|01|[1-9][0-9]{0,3})(\\.(0|01|[1-9][0-9]{0,3})){2,4}[ x.:]{0,2}[a-z ]{0,3}",
            "[0-9a-f.: ]{0,20}",
        ],
    ) {
        let b = s.as_bytes();
        let want = b.iter().position(|c| *c == b' ').and_then(|sp| Some((parse_client(&b[..sp])?, sp)));
        prop_assert_eq!(client_field(b), want, "{:?}", s);
    }
}

/// `request_line` the plain way: method to the first space, target to the
/// last one (or the end, for HTTP/0.9); the method uppercase ASCII.
fn request_line_reference(r: &[u8]) -> Option<(&str, &[u8])> {
    let sp = r.iter().position(|c| *c == b' ')?;
    let end = match r[sp + 1..].iter().rposition(|c| *c == b' ') {
        Some(i) => sp + 1 + i,
        None => r.len(),
    };
    let method = std::str::from_utf8(&r[..sp]).ok()?;
    let target = &r[sp + 1..end];
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) || target.is_empty() {
        return None;
    }
    Some((method, target))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]
    /// Request lines split as the plain reading splits them, whether or
    /// not they end with a protocol the fast path recognises.
    #[test]
    fn request_lines_split_as_the_plain_reading_splits_them(
        method in "[A-Z]{0,3}|[a-z ]{0,2}",
        target in "[/a H]{0,6}",
        protocol in prop_oneof![
            Just(String::new()),
            "HTTP/[0-9 ]\\.[0-9 ]",
            " HTTP/[0-9 ]\\.[0-9 ]",
            "[HTP/ ]{0,9}",
        ],
        spaces in 0usize..3,
    ) {
        let line = format!("{method}{}{target} {protocol}", " ".repeat(spaces));
        prop_assert_eq!(request_line(line.as_bytes()), request_line_reference(line.as_bytes()), "{:?}", line);
    }
}

#[test]
fn request_line_edge_cases() {
    for (line, want) in [
        ("GET / HTTP/1.1", Some(("GET", "/"))),
        ("GET HTTP/1.1", Some(("GET", "HTTP/1.1"))),
        ("GET  HTTP/1.1", None),
        ("GET /a b HTTP/1.1", Some(("GET", "/a b"))),
        ("GET /x HTTP/1 1", Some(("GET", "/x HTTP/1"))),
        ("GET /x", Some(("GET", "/x"))),
        ("PURGE /x HTTP/1.1", Some(("PURGE", "/x"))),
        ("get /x HTTP/1.1", None),
        ("G\u{e9}T /x HTTP/1.1", None),
    ] {
        let want = want.map(|(m, t): (&str, &str)| (m, t.as_bytes()));
        assert_eq!(request_line(line.as_bytes()), want, "{line}");
        assert_eq!(request_line_reference(line.as_bytes()), want, "{line}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8192))]
    /// Sixteen bytes at once read a dotted quad as a byte at a time does:
    /// the address and where it ends, or nothing.
    #[test]
    fn a_word_at_a_time_reads_addresses_as_a_byte_at_a_time(
        s in prop_oneof![
            "(0|00|01|[1-9][0-9]{0,3})(\\.(0|00|01|[1-9][0-9]{0,3})){1,4}\\.?[ x.:/]{0,2}",
            "[0-9.]{0,17}",
            "[0-9. \u{80}-\u{ff}/:]{0,17}",
        ],
        pad in "[0-9. a]{16}",
    ) {
        let line = format!("{s}{pad}");
        let b = line.as_bytes();
        let head = b.first_chunk::<16>().expect("16 bytes of padding");
        prop_assert_eq!(ipv4_in_16(head), ipv4_prefix_bytewise(b), "{:?}", line);
    }

    /// Any bytes at all, those around `.` and the digits most of all.
    #[test]
    fn a_word_at_a_time_reads_any_bytes_as_a_byte_at_a_time(
        b in proptest::collection::vec(prop_oneof![
            4 => b'-'..=b':',
            1 => any::<u8>(),
            1 => 0xaeu8..=0xb9,
        ], 16..20),
    ) {
        let head = b.first_chunk::<16>().expect("16 bytes");
        prop_assert_eq!(ipv4_in_16(head), ipv4_prefix_bytewise(&b), "{:?}", b);
    }
}

#[test]
fn word_at_a_time_address_edge_cases() {
    for line in [
        "255.255.255.255 x",
        "255.255.255.256 x",
        "0.0.0.0 - - [01/",
        "1.2.3.4.5 - - [01",
        "01.2.3.4 - - [01/",
        "1.2.3.04 - - [01/",
        "1.2.3. - - [01/Oc",
        ".1.2.3 - - [01/Oc",
        "1..2.3 - - [01/Oc",
        "1.2.3.4/- - [01/O",
        "123.123.123.1234",
        "9.9.9.9999999999 x",
        "1.2.3.4\u{e9} - - [0",
    ] {
        let b = line.as_bytes();
        let head = b.first_chunk::<16>().expect("16 bytes");
        assert_eq!(ipv4_in_16(head), ipv4_prefix_bytewise(b), "{line}");
    }
    let head = b"203.0.113.7 - - [";
    assert_eq!(
        ipv4_in_16(head.first_chunk::<16>().expect("16")),
        Some(("203.0.113.7".parse().expect("ip"), 11))
    );
}

proptest! {
    /// nginx's shape, read at fixed places, gives what the one-pass reading
    /// gives, and takes every `s.mmm` with up to six digits of seconds.
    #[test]
    fn nginx_seconds_read_at_fixed_places_as_in_one_pass(
        s in prop_oneof!["[0-9]{0,8}\\.[0-9x.]{2,4}", "[0-9]{1,6}\\.[0-9]{3}"],
    ) {
        let b = s.as_bytes();
        match seconds_ms_nginx(b) {
            Some(ms) => prop_assert_eq!(Some(ms), seconds_ms_any(b), "{:?}", s),
            None => {
                let nginx_shape = b.len() >= 5
                    && b.len() <= 10
                    && b[b.len() - 4] == b'.'
                    && b.iter().filter(|c| c.is_ascii_digit()).count() == b.len() - 1;
                prop_assert!(!nginx_shape, "{:?} not taken", s);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]
    /// The status and byte-count fields read at fixed places give what
    /// `field` and the number parsers give, whenever they answer; and they
    /// answer for the usual shapes.
    #[test]
    fn status_and_count_fields_read_as_field_then_number(
        s in prop_oneof![
            " [0-9]{3} [0-9]{1,22} [-\"a ]{0,3}",
            "[ 0-9x-]{0,8}",
            " [0-9]{1,21}",
        ],
    ) {
        let b = s.as_bytes();
        if let Some((status, rest)) = status_field(b) {
            let (f, r) = field(b).expect("a field");
            prop_assert_eq!(Some(status), parse_status(f));
            prop_assert_eq!(rest, r);
        }
        if let Some((count, rest)) = count_field(b) {
            let (f, r) = field(b).expect("a field");
            prop_assert_eq!(Some(count), parse_u64(f));
            prop_assert_eq!(rest, r);
        }
        let usual = b.len() >= 5 && b[0] == b' ' && b[4] == b' ' && b[1..4].iter().all(u8::is_ascii_digit);
        prop_assert_eq!(status_field(b).is_some(), usual, "{:?}", s);
        // The byte count as the parser reads it: after the status, whose
        // space `status_field` took.
        if let Some((_, rest)) = status_field(b) {
            if let Some((count, after)) = count_field(rest) {
                let (f, r) = field(rest).expect("a field");
                prop_assert_eq!(Some(count), parse_u64(f));
                prop_assert_eq!(after, r);
            }
        }
    }
}

#[test]
fn count_field_edge_cases() {
    assert_eq!(count_field(b" 0 x"), Some((0, &b"x"[..])));
    // After the status, whose space `status_field` has taken.
    assert_eq!(count_field(b"737 \"-\""), Some((737, &b"\"-\""[..])));
    assert_eq!(
        count_field(b" 1234567890123456789 "),
        Some((1_234_567_890_123_456_789, &b""[..]))
    );
    // Twenty digits overflow: left to the long way, which refuses them.
    assert_eq!(count_field(b" 12345678901234567890 "), None);
    assert_eq!(parse_u64(b"12345678901234567890"), None);
    assert_eq!(count_field(b" - "), None);
    assert_eq!(count_field(b"  5 "), None);
    assert_eq!(count_field(b" 5"), None);
}

proptest! {
    /// A byte count of up to nineteen digits, with or without the space
    /// before it (the status reader takes that space), is read at once.
    #[test]
    fn usual_byte_counts_take_the_fast_path(
        digits in "[0-9]{1,19}",
        space in any::<bool>(),
        rest in "[-\" a-z]{0,4}",
    ) {
        let s = format!("{}{digits} {rest}", if space { " " } else { "" });
        let want = digits.parse::<u64>().expect("19 digits fit");
        prop_assert_eq!(count_field(s.as_bytes()), Some((want, rest.as_bytes())));
    }
}

#[test]
fn a_target_that_is_not_utf8_is_kept_as_its_bytes() {
    // nginx escapes such bytes (`\xE9`); a log written otherwise still
    // delivered the bytes, and prefixes and hashes compare bytes.
    let mut line = NGINX.as_bytes().to_vec();
    let at = NGINX.find("seg123").expect("in the line");
    line[at] = 0xE9;
    let r = nginx().parse(&line).expect("valid line");
    assert_eq!(r.path, &b"/live/ch1/720p/\xE9eg123.ts?tok=a"[..]);
}
