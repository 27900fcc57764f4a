use std::net::IpAddr;

use super::*;
use crate::Client;
use proptest::prelude::*;

const NGINX_MAIN: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" rt=$request_time uct="$upstream_connect_time""#;

#[test]
fn an_nginx_log_format_with_extra_fields() {
    let mut f = LogFormat::nginx(NGINX_MAIN).expect("compiles");
    let line = br#"198.51.100.7 - - [25/Nov/2026:10:00:02 +0000] "GET /vod/a.mp4 HTTP/1.1" 206 1048576 "-" "VLC/3 \"x\"" rt=2.500 uct="0.001""#;
    let r = f.parse(line).expect("parses");
    assert_eq!(
        r.client,
        Client::Ip("198.51.100.7".parse::<IpAddr>().expect("ip"))
    );
    assert_eq!(
        (r.path, r.status, r.bytes, r.duration_ms),
        (&b"/vod/a.mp4"[..], 206, 1_048_576, Some(2500))
    );
    assert_eq!(r.user_agent, Some(&br#"VLC/3 \"x\""#[..]));
    assert_eq!(r.interval(0), (1_795_600_802_000 - 2500, 1_795_600_802_000));
}

#[test]
fn an_nginx_format_with_msec_and_uri() {
    let mut f = LogFormat::nginx("$msec $remote_addr $uri $bytes_sent").expect("compiles");
    let r = f
        .parse(b"1795600802.250 2001:db8::5 /live/x.ts 1000")
        .expect("parses");
    assert_eq!(r.logged_ms, 1_795_600_802_250);
    assert_eq!(r.path, b"/live/x.ts");
}

#[test]
fn an_apache_log_format_with_micros() {
    let mut f =
        LogFormat::apache(r#"%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\" %D"#)
            .expect("compiles");
    let line = br#"192.0.2.9 - - [10/Oct/2000:13:55:36 -0700] "GET /x HTTP/1.0" 200 2326 "-" "curl/8" 1500000"#;
    let r = f.parse(line).expect("parses");
    assert_eq!(r.interval(0), (971_211_336_000, 971_211_337_500));
    assert_eq!(r.user_agent, Some(&b"curl/8"[..]));
}

#[test]
fn unknown_variables_and_unusable_formats_are_errors() {
    assert_eq!(
        LogFormat::nginx("$remote_addr $time_local $request $body_bytes_sent $remote_adr")
            .map(|_| ()),
        Err(FormatError::Unknown {
            name: "$remote_adr".into(),
            at: 51
        })
    );
    assert!(matches!(
        LogFormat::apache("%h %t %r %b %Z"),
        Err(FormatError::Unknown { .. })
    ));
    assert!(matches!(
        LogFormat::nginx("$remote_addr$status [$time_local] $request $bytes_sent"),
        Err(FormatError::Adjacent(..))
    ));
    assert!(matches!(
        LogFormat::nginx("$remote_addr [$time_local] $request"),
        Err(FormatError::Missing("byte count", _))
    ));
    assert!(LogFormat::compile(NGINX_MAIN).is_ok());
}

#[test]
fn lines_that_do_not_fit_name_the_field() {
    let mut f = LogFormat::nginx(NGINX_MAIN).expect("compiles");
    let good = r#"198.51.100.7 - - [25/Nov/2026:10:00:02 +0000] "GET /a HTTP/1.1" 200 5 "-" "ua" rt=0.1 uct="-""#;
    assert!(f.parse(good.as_bytes()).is_ok());
    for (from, to, want) in [
        ("198.51.100.7", "x", LineError::Client),
        ("+0000]", "+0000 ]", LineError::Time),
        (" 200 ", " 2x0 ", LineError::Status),
        (" 5 ", " five ", LineError::Bytes),
        ("rt=0.1", "rt=abc", LineError::Duration),
    ] {
        assert_eq!(
            f.parse(good.replacen(from, to, 1).as_bytes()).map(|_| ()),
            Err(want),
            "{from} -> {to}"
        );
    }
}

proptest! {
    #[test]
    fn compiling_any_string_never_panics(spec in "\\PC{0,60}") {
        let _ = LogFormat::nginx(&spec);
        let _ = LogFormat::apache(&spec);
    }

    #[test]
    fn parsing_any_bytes_never_panics(line in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut f = LogFormat::nginx(NGINX_MAIN).expect("compiles");
        let _ = f.parse(&line);
    }
}
